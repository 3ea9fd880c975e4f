/* endpoint.c: the forms, the rules, and where an unset endpoint is found
 * (the site file, $DOCKER_HOST, a Docker context, the default); and the
 * TLS files as http.c reads them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "endpoint.h"
#include "docker/engine.h"
#include "testutil.h"

static void assert_has(const char *msg, const char *part)
{
	if (!msg || !strstr(msg, part))
		fail_msg("message `%s` lacks `%s`", msg ? msg : "(none)", part);
}

static void test_forms(void **state)
{
	static const struct {
		const char *url;
		enum jc_transport t;
		const char *host, *path, *user;
		int port;
		bool loopback;
	} good[] = {
		{ "unix:///var/run/docker.sock", JC_TRANSPORT_UNIX, NULL, "/var/run/docker.sock",
		  NULL, 0, false },
		{ "tcp://127.0.0.1:2375", JC_TRANSPORT_TCP, "127.0.0.1", NULL, NULL, 2375, true },
		{ "tcp://localhost", JC_TRANSPORT_TCP, "localhost", NULL, NULL, 2375, true },
		{ "tcp://[::1]:9", JC_TRANSPORT_TCP, "[::1]", NULL, NULL, 9, true },
		{ "ssh://engine.example", JC_TRANSPORT_SSH, "engine.example", NULL, NULL, 0, false },
		{ "ssh://ops@10.1.2.3:2222/run/podman/podman.sock", JC_TRANSPORT_SSH, "10.1.2.3",
		  "/run/podman/podman.sock", "ops", 2222, false },
	};
	static const char *const bad[] = {
		"unix://relative.sock", "ftp://host", "tcp://", "tcp://host/path",
		"/var/run/docker.sock", "http://127.0.0.1:2375", "tcp://-oProxyCommand=x:1",
		"tcp://host:0", "tcp://host:65536", "tcp://host:", "tcp://ho st:1",
		"ssh://-oProxyCommand=x", "ssh://a;b@host", "ssh://host/run/x;rm",
		"ssh://host/run/$(id)", "ssh://host/../x", "ssh://@host", "tcp://[::1:2375",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct jc_endpoint ep;
		jc_error err = { 0 };
		if (jc_endpoint_parse_url(good[i].url, &ep, &err) < 0)
			fail_msg("`%s` refused: %s", good[i].url, err.msg);
		assert_int_equal(ep.transport, good[i].t);
		assert_string_equal(ep.url, good[i].url);
		if (good[i].host)
			assert_string_equal(ep.host, good[i].host);
		if (good[i].path)
			assert_string_equal(ep.path, good[i].path);
		else
			assert_null(ep.path);
		if (good[i].user)
			assert_string_equal(ep.user, good[i].user);
		else
			assert_null(ep.user);
		assert_int_equal(ep.port, good[i].port);
		assert_int_equal(ep.loopback, good[i].loopback);
		jc_endpoint_free(&ep);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jc_endpoint ep;
		jc_error err = { 0 };
		if (jc_endpoint_parse_url(bad[i], &ep, &err) == 0)
			fail_msg("`%s` taken", bad[i]);
		assert_int_equal(err.kind, JC_ERR_CONFIG);
		assert_has(err.msg, "engine endpoint `");
		jc_error_clear(&err);
	}
}

/* Plaintext TCP only to loopback, or when the site says so in words. */
static void test_plaintext_rule(void **state)
{
	struct jc_config cfg = { .endpoint = "tcp://192.0.2.7:2375" };
	struct jc_endpoint ep;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_endpoint_parse(&cfg, &ep, &err), -1);
	assert_int_equal(err.status, EPERM);
	assert_has(err.msg, "engine endpoint `tcp://192.0.2.7:2375`: plaintext TCP to a host that "
			    "is not loopback");
	assert_has(err.msg, "insecure_plaintext = true");
	jc_error_clear(&err);
	cfg.endpoint = "tcp://127.0.0.2:2375";
	assert_int_equal(jc_endpoint_parse(&cfg, &ep, &err), 0);
	jc_endpoint_free(&ep);
	/* not an address: a name that could resolve anywhere */
	cfg.endpoint = "tcp://127.999.0.1:2375";
	assert_int_equal(jc_endpoint_parse(&cfg, &ep, &err), -1);
	assert_int_equal(err.status, EPERM);
	jc_error_clear(&err);
	cfg.endpoint = "tcp://192.0.2.7:2375";
	cfg.insecure_plaintext = true;
	assert_int_equal(jc_endpoint_parse(&cfg, &ep, &err), 0);
	assert_int_equal(ep.transport, JC_TRANSPORT_TCP);
	assert_false(ep.loopback);
	jc_endpoint_free(&ep);
	/* with a CA it is TLS, on Docker's TLS port unless named */
	cfg.insecure_plaintext = false;
	cfg.endpoint = "tcp://192.0.2.7";
	cfg.tls_ca = "/etc/ca.pem";
	assert_int_equal(jc_endpoint_parse(&cfg, &ep, &err), 0);
	assert_int_equal(ep.transport, JC_TRANSPORT_TLS);
	assert_int_equal(ep.port, 2376);
	assert_string_equal(ep.tls_ca, "/etc/ca.pem");
	assert_null(ep.tls_cert);
	jc_endpoint_free(&ep);
	assert_null(err.msg);
}

static void test_key_combinations(void **state)
{
	static const struct {
		struct jc_config cfg;
		const char *msg;
	} bad[] = {
		{ { .endpoint = "tcp://h:1", .tls_ca = "/c", .tls_cert = "/x" },
		  "tls_cert and tls_key go together" },
		{ { .endpoint = "tcp://h:1", .tls_ca = "/c", .tls_key = "/x" },
		  "tls_cert and tls_key go together" },
		{ { .endpoint = "tcp://127.0.0.1:1", .tls_cert = "/x", .tls_key = "/y" },
		  "a client certificate without [engine] tls_ca" },
		{ { .endpoint = "unix:///s", .tls_ca = "/c" }, "are for a tcp:// endpoint" },
		{ { .endpoint = "ssh://h", .tls_ca = "/c" }, "are for a tcp:// endpoint" },
		{ { .endpoint = "tcp://127.0.0.1:1", .ssh_identity = "/k" },
		  "are for an ssh:// endpoint" },
		{ { .endpoint = "" }, "engine endpoint is not set" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jc_endpoint ep;
		jc_error err = { 0 };
		assert_int_equal(jc_endpoint_parse(&bad[i].cfg, &ep, &err), -1);
		assert_int_equal(err.kind, JC_ERR_CONFIG);
		assert_has(err.msg, bad[i].msg);
		jc_error_clear(&err);
	}
}

/* ---- resolution ---- */

struct fx {
	char dir[64];
	struct jc_config cfg;
	jc_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/jc-endpoint-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(jc_config_init(&f->cfg, &f->err), 0);
	unsetenv("DOCKER_HOST");
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
	unsetenv("DOCKER_CONTEXT");
	setenv("DOCKER_CONFIG", f->dir, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	jc_config_free(&f->cfg);
	jc_error_clear(&f->err);
	rm_tree(f->dir);
	free(f);
	return 0;
}

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char path[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* sha256("remote"), as the docker CLI names the context's folders */
#define REMOTE_SHA "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"

static void test_resolve_default(void **state)
{
	struct fx *f = *state;

	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.endpoint, "unix:///var/run/docker.sock");
	assert_string_equal(f->cfg.endpoint_from, "the default");
	/* the "default" context is the same */
	setenv("DOCKER_CONTEXT", "default", 1);
	free(f->cfg.endpoint);
	f->cfg.endpoint = NULL;
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.endpoint, "unix:///var/run/docker.sock");
}

/* The site file wins over $DOCKER_HOST and every context. */
static void test_resolve_site_wins(void **state)
{
	struct fx *f = *state;

	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	setenv("DOCKER_CONTEXT", "nosuch", 1);
	f->cfg.endpoint = strdup("unix:///run/site.sock");
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.endpoint, "unix:///run/site.sock");
	assert_string_equal(f->cfg.endpoint_from, "the site file");
}

static void test_resolve_docker_host(void **state)
{
	struct fx *f = *state;
	char want[256];

	setenv("DOCKER_HOST", "tcp://engine.example:2376", 1);
	setenv("DOCKER_CONTEXT", "nosuch", 1); /* $DOCKER_HOST comes first */
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.endpoint, "tcp://engine.example:2376");
	assert_string_equal(f->cfg.endpoint_from, "$DOCKER_HOST");
	assert_null(f->cfg.tls_ca); /* no DOCKER_TLS_VERIFY: no TLS, and so refused later */

	/* DOCKER_TLS_VERIFY: the files of DOCKER_CERT_PATH, else of DOCKER_CONFIG */
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	free(f->cfg.endpoint);
	f->cfg.endpoint = NULL;
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	snprintf(want, sizeof(want), "%s/ca.pem", f->dir);
	assert_string_equal(f->cfg.tls_ca, want);
	snprintf(want, sizeof(want), "%s/key.pem", f->dir);
	assert_string_equal(f->cfg.tls_key, want);

	jc_config_free(&f->cfg);
	assert_int_equal(jc_config_init(&f->cfg, &f->err), 0);
	setenv("DOCKER_CERT_PATH", "/etc/docker-certs", 1);
	f->cfg.tls_cert = strdup("/site/cert.pem"); /* a site's own file stays */
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.tls_ca, "/etc/docker-certs/ca.pem");
	assert_string_equal(f->cfg.tls_cert, "/site/cert.pem");
	assert_string_equal(f->cfg.tls_key, "/etc/docker-certs/key.pem");

	free(f->cfg.endpoint);
	f->cfg.endpoint = NULL;
	setenv("DOCKER_CERT_PATH", "certs", 1);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), -1);
	assert_has(f->err.msg, "$DOCKER_CERT_PATH `certs`: not an absolute path");
}

static void test_resolve_context(void **state)
{
	struct fx *f = *state;
	char want[256];

	put(f->dir, "config.json", "{\"auths\":{},\"currentContext\":\"remote\"}", 0600);
	put(f->dir, "contexts/meta/" REMOTE_SHA "/meta.json",
	    "{\"Name\":\"remote\",\"Metadata\":{},\"Endpoints\":{\"docker\":"
	    "{\"Host\":\"tcp://engine.example:2376\",\"SkipTLSVerify\":false}}}",
	    0600);
	put(f->dir, "contexts/tls/" REMOTE_SHA "/docker/ca.pem", "x", 0600);
	put(f->dir, "contexts/tls/" REMOTE_SHA "/docker/cert.pem", "x", 0600);
	put(f->dir, "contexts/tls/" REMOTE_SHA "/docker/key.pem", "x", 0600);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), 0);
	assert_string_equal(f->cfg.endpoint, "tcp://engine.example:2376");
	assert_string_equal(f->cfg.endpoint_from, "Docker context `remote`");
	snprintf(want, sizeof(want), "%s/contexts/tls/" REMOTE_SHA "/docker/ca.pem", f->dir);
	assert_string_equal(f->cfg.tls_ca, want);
	snprintf(want, sizeof(want), "%s/contexts/tls/" REMOTE_SHA "/docker/cert.pem", f->dir);
	assert_string_equal(f->cfg.tls_cert, want);

	/* $DOCKER_CONTEXT comes before config.json */
	jc_config_free(&f->cfg);
	assert_int_equal(jc_config_init(&f->cfg, &f->err), 0);
	setenv("DOCKER_CONTEXT", "other", 1);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), -1);
	assert_int_equal(f->err.status, ENOENT);
	assert_has(f->err.msg, "Docker context `other`: no such context");
	jc_error_clear(&f->err);

	setenv("DOCKER_CONTEXT", "-x", 1);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), -1);
	assert_has(f->err.msg, "Docker context `-x`: not a context name");
	jc_error_clear(&f->err);

	/* jobcell always verifies */
	unsetenv("DOCKER_CONTEXT");
	put(f->dir, "contexts/meta/" REMOTE_SHA "/meta.json",
	    "{\"Name\":\"remote\",\"Endpoints\":{\"docker\":"
	    "{\"Host\":\"tcp://engine.example:2376\",\"SkipTLSVerify\":true}}}",
	    0600);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), -1);
	assert_has(f->err.msg, "Docker context `remote`: SkipTLSVerify is set");
	jc_error_clear(&f->err);

	put(f->dir, "contexts/meta/" REMOTE_SHA "/meta.json", "{\"Name\":\"remote\"}", 0600);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), -1);
	assert_has(f->err.msg, "has no Endpoints.docker.Host");
	jc_error_clear(&f->err);

	put(f->dir, "config.json", "{\"currentContext\":", 0600);
	assert_int_equal(jc_endpoint_resolve(&f->cfg, &f->err), -1);
	assert_has(f->err.msg, "Docker config `");
	assert_has(f->err.msg, "config.json`: not a JSON object");
}

/* ---- the TLS files, as http.c reads them ---- */

static void test_tls_files(void **state)
{
	struct fx *f = *state;
	char ca[256], cert[256], key[256];
	struct jc_endpoint ep = { .transport = JC_TRANSPORT_TLS, .url = "tcp://127.0.0.1:1",
				  .host = "127.0.0.1", .port = 1, .loopback = true };
	struct jc_backend *b = NULL;

	snprintf(ca, sizeof(ca), "%s/ca.pem", f->dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", f->dir);
	snprintf(key, sizeof(key), "%s/key.pem", f->dir);
	put(f->dir, "ca.pem", "ca", 0644);
	put(f->dir, "cert.pem", "cert", 0644);
	put(f->dir, "key.pem", "key", 0640);
	ep.tls_ca = ca;
	ep.tls_cert = cert;
	ep.tls_key = key;
	assert_int_equal(jc_docker_open(&ep, 1000, &b, &f->err), -1);
	assert_int_equal(f->err.status, EPERM);
	assert_has(f->err.msg, "tls_key `");
	assert_has(f->err.msg, "is open to group or others (mode 0640): make it 0600");
	jc_error_clear(&f->err);

	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(jc_docker_open(&ep, 1000, &b, &f->err), 0);
	jc_backend_close(b);

	assert_int_equal(unlink(cert), 0);
	assert_int_equal(jc_docker_open(&ep, 1000, &b, &f->err), -1);
	assert_has(f->err.msg, "[engine] tls_cert `");
	assert_has(f->err.msg, "No such file or directory");
	jc_error_clear(&f->err);

	ep.tls_cert = ep.tls_key = NULL;
	ep.tls_ca = f->dir; /* a directory */
	assert_int_equal(jc_docker_open(&ep, 1000, &b, &f->err), -1);
	assert_has(f->err.msg, "not a regular file");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_plaintext_rule),
		cmocka_unit_test(test_key_combinations),
		T(test_resolve_default),
		T(test_resolve_site_wins),
		T(test_resolve_docker_host),
		T(test_resolve_context),
		T(test_tls_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
