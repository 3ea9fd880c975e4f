/* Where the engine is and how to reach it.  Two steps: resolution fills the
 * config from where the Docker CLI would look when the site files name no
 * endpoint; parsing turns the config into a jc_endpoint and refuses what
 * would hand the engine's host to whoever sits on the network. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <openssl/sha.h>

#include "cleanup.h"
#include "config.h"
#include "endpoint.h"
#include "fsutil.h"

#define DEFAULT_ENDPOINT "unix:///var/run/docker.sock"
/* config.json and a context's meta.json are small; a bigger one is not theirs */
#define META_MAX (1u << 20)

/* ---- resolution ---- */

/* $DOCKER_CONFIG, else ~/.docker.  Caller frees. */
static char *docker_config_dir(jc_error *err)
{
	const char *d = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	char *out = NULL;

	if (d && *d) {
		if (d[0] != '/') {
			jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				     "$DOCKER_CONFIG `%s`: not an absolute path", d);
			return NULL;
		}
		if (!(out = strdup(d)))
			jc_error_oom(err);
		return out;
	}
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/') {
		jc_error_set(err, JC_ERR_CONFIG, ENOENT,
			     "no home directory for ~/.docker: set $DOCKER_CONFIG");
		return NULL;
	}
	if (asprintf(&out, "%s/.docker", home) < 0) {
		jc_error_oom(err);
		return NULL;
	}
	return out;
}

/* The JSON document in `path`, or NULL with *absent when there is none. */
/* The JSON document in `path`, or NULL with *absent when there is none. */
static cJSON *read_json(const char *path, const char *what, bool *absent, jc_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	cleanup_free char *text = NULL;
	struct stat st;
	size_t len;
	cJSON *doc;

	*absent = false;
	if (fd < 0) {
		if (errno == ENOENT) {
			*absent = true;
			return NULL;
		}
		jc_error_set(err, JC_ERR_CONFIG, errno, "%s `%s`: %s", what, path, strerror(errno));
		return NULL;
	}
	if (jc_fs_read_small(fd, META_MAX, &text, &len, &st) < 0) {
		jc_error_set(err, JC_ERR_CONFIG, errno, "%s `%s`: %s", what, path,
			     errno == EINVAL || errno == EFBIG ? "not a regular file of at most 1 MiB"
							       : strerror(errno));
		return NULL;
	}
	if (!(doc = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		jc_error_set(err, JC_ERR_CONFIG, EINVAL, "%s `%s`: not a JSON object", what, path);
		return NULL;
	}
	return doc;
}

static int set_string(char **field, const char *value, jc_error *err)
{
	char *s = strdup(value);

	if (!s)
		return jc_error_oom(err);
	free(*field);
	*field = s;
	return 0;
}

/* Set `*field` to DIR/NAME when the site files left it unset and, when
 * `only_if_there`, the file exists. */
static int fill_file(char **field, const char *dir, const char *name, bool only_if_there,
		     jc_error *err)
{
	cleanup_free char *path = NULL;

	if (*field && **field)
		return 0;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return jc_error_oom(err);
	if (only_if_there && access(path, F_OK) != 0)
		return 0;
	return set_string(field, path, err);
}

/* A context name as the Docker CLI allows them. */
static bool context_name_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]) || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.+-", *p))
			return false;
	return true;
}

/* The context `name` under `dir`: its docker endpoint and TLS files. */
static int from_context(struct jc_config *cfg, const char *dir, const char *name, jc_error *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	cleanup_free char *meta = NULL;
	cleanup_free char *tls = NULL;
	cleanup_free char *from = NULL;
	const cJSON *ep, *host, *skip;
	bool absent;
	cJSON *doc;
	int r = -1;

	if (!context_name_ok(name))
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "Docker context `%.64s`: not a context name", name);
	SHA256((const unsigned char *)name, strlen(name), md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (asprintf(&meta, "%s/contexts/meta/%s/meta.json", dir, hex) < 0 ||
	    asprintf(&tls, "%s/contexts/tls/%s/docker", dir, hex) < 0 ||
	    asprintf(&from, "Docker context `%s`", name) < 0)
		return jc_error_oom(err);
	if (!(doc = read_json(meta, "Docker context", &absent, err))) {
		if (absent)
			jc_error_set(err, JC_ERR_CONFIG, ENOENT,
				     "Docker context `%s`: no such context (no `%s`)", name, meta);
		return -1;
	}
	ep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "Endpoints"),
					      "docker");
	host = cJSON_GetObjectItemCaseSensitive(ep, "Host");
	skip = cJSON_GetObjectItemCaseSensitive(ep, "SkipTLSVerify");
	if (!cJSON_IsString(host) || !*host->valuestring) {
		jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			     "Docker context `%s`: `%s` has no Endpoints.docker.Host", name, meta);
		goto out;
	}
	if (cJSON_IsTrue(skip)) {
		jc_error_set(err, JC_ERR_CONFIG, EPERM,
			     "Docker context `%s`: SkipTLSVerify is set; jobcell always verifies the "
			     "engine",
			     name);
		goto out;
	}
	if (set_string(&cfg->endpoint, host->valuestring, err) < 0 ||
	    set_string(&cfg->endpoint_from, from, err) < 0)
		goto out;
	/* the CLI uses what the context's TLS folder holds */
	if (strncmp(host->valuestring, "tcp://", 6) == 0 &&
	    (fill_file(&cfg->tls_ca, tls, "ca.pem", true, err) < 0 ||
	     fill_file(&cfg->tls_cert, tls, "cert.pem", true, err) < 0 ||
	     fill_file(&cfg->tls_key, tls, "key.pem", true, err) < 0))
		goto out;
	r = 0;
out:
	cJSON_Delete(doc);
	return r;
}

/* $DOCKER_CONTEXT, else config.json's currentContext; NULL for none. */
static int context_name(const char *dir, char **name, jc_error *err)
{
	const char *env = getenv("DOCKER_CONTEXT");
	cleanup_free char *path = NULL;
	const cJSON *cur;
	bool absent;
	cJSON *doc;
	int r = 0;

	*name = NULL;
	if (env && *env)
		return set_string(name, env, err);
	if (asprintf(&path, "%s/config.json", dir) < 0)
		return jc_error_oom(err);
	if (!(doc = read_json(path, "Docker config", &absent, err)))
		return absent ? 0 : -1;
	cur = cJSON_GetObjectItemCaseSensitive(doc, "currentContext");
	if (cJSON_IsString(cur) && *cur->valuestring)
		r = set_string(name, cur->valuestring, err);
	cJSON_Delete(doc);
	return r;
}

int jc_endpoint_resolve(struct jc_config *cfg, jc_error *err)
{
	const char *host = getenv("DOCKER_HOST");
	cleanup_free char *dir = NULL;
	cleanup_free char *name = NULL;

	if (cfg->endpoint && *cfg->endpoint) /* the site files said */
		return cfg->endpoint_from ? 0 : set_string(&cfg->endpoint_from, "the site file", err);
	if (host && *host) {
		const char *verify = getenv("DOCKER_TLS_VERIFY");
		const char *certs = getenv("DOCKER_CERT_PATH");

		if (set_string(&cfg->endpoint, host, err) < 0 ||
		    set_string(&cfg->endpoint_from, "$DOCKER_HOST", err) < 0)
			return -1;
		if (!verify || !*verify)
			return 0;
		if (certs && *certs) {
			if (certs[0] != '/')
				return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
						    "$DOCKER_CERT_PATH `%s`: not an absolute path",
						    certs);
		} else if (!(dir = docker_config_dir(err))) {
			return -1;
		}
		certs = certs && *certs ? certs : dir;
		if (fill_file(&cfg->tls_ca, certs, "ca.pem", false, err) < 0 ||
		    fill_file(&cfg->tls_cert, certs, "cert.pem", false, err) < 0 ||
		    fill_file(&cfg->tls_key, certs, "key.pem", false, err) < 0)
			return -1;
		return 0;
	}
	if (!(dir = docker_config_dir(err))) {
		/* no home and no $DOCKER_CONFIG: no context either */
		if (getenv("DOCKER_CONTEXT") && *getenv("DOCKER_CONTEXT"))
			return -1;
		jc_error_clear(err);
	} else if (context_name(dir, &name, err) < 0) {
		return -1;
	}
	/* "default" is the CLI's name for its default endpoint */
	if (name && strcmp(name, "default") != 0)
		return from_context(cfg, dir, name, err);
	if (set_string(&cfg->endpoint, DEFAULT_ENDPOINT, err) < 0 ||
	    set_string(&cfg->endpoint_from, "the default", err) < 0)
		return -1;
	return 0;
}

/* ---- parsing ---- */

static bool host_ok(const char *s, size_t len)
{
	if (!len || len > 253 || s[0] == '-' || s[0] == '.')
		return false;
	if (s[0] == '[') { /* an IPv6 address */
		if (len < 3 || s[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return false;
		return true;
	}
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool user_ok(const char *s, size_t len)
{
	if (!len || len > 32 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* A path the far side's shell takes as one word, unquoted. */
static bool remote_path_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) > 107 || strstr(s, "/../") || strstr(s, "/./"))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._-", *p))
			return false;
	return true;
}

static bool loopback(const char *host)
{
	struct in_addr a;

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	/* 127.0.0.0/8 as an address: "127.999.0.1" would be a name to resolve */
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* HOST[:PORT] of `s` (up to `end`) into ep->host and ep->port. */
static int host_port(struct jc_endpoint *ep, const char *s, const char *end, int defport,
		     const char *want, jc_error *err)
{
	const char *colon = NULL;
	long port = defport;

	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		if (close && close + 1 < end && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
	}
	if (colon) {
		char *stop;
		errno = 0;
		port = strtol(colon + 1, &stop, 10);
		if (stop != end || colon + 1 == end || errno || port < 1 || port > 65535)
			goto bad;
	}
	if (!host_ok(s, (size_t)((colon ? colon : end) - s)))
		goto bad;
	if (!(ep->host = strndup(s, (size_t)((colon ? colon : end) - s))))
		return jc_error_oom(err);
	ep->port = (int)port;
	return 0;
bad:
	return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "engine endpoint `%s`: want %s", ep->url,
			    want);
}

static int parse_url(struct jc_endpoint *ep, bool tls, jc_error *err)
{
	const char *u = ep->url;

	if (strncmp(u, "unix://", 7) == 0) {
		if (u[7] != '/' || strlen(u + 7) > 107)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "engine endpoint `%s`: want unix:///absolute/path", u);
		ep->transport = JC_TRANSPORT_UNIX;
		if (!(ep->path = strdup(u + 7)))
			return jc_error_oom(err);
		return 0;
	}
	if (strncmp(u, "tcp://", 6) == 0) {
		const char *s = u + 6, *end = s + strlen(s);
		/* Docker's ports: 2376 for TLS, 2375 in the clear */
		if (host_port(ep, s, end, tls ? 2376 : 2375, "tcp://host[:port]", err) < 0)
			return -1;
		ep->transport = tls ? JC_TRANSPORT_TLS : JC_TRANSPORT_TCP;
		ep->loopback = loopback(ep->host);
		return 0;
	}
	if (strncmp(u, "ssh://", 6) == 0) {
		const char *s = u + 6, *slash = strchr(s, '/'), *at;
		const char *end = slash ? slash : s + strlen(s);
		const char *want = "ssh://[user@]host[:port][/socket]";

		at = memchr(s, '@', (size_t)(end - s));
		if (at) {
			if (!user_ok(s, (size_t)(at - s)))
				return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
						    "engine endpoint `%s`: want %s", u, want);
			if (!(ep->user = strndup(s, (size_t)(at - s))))
				return jc_error_oom(err);
			s = at + 1;
		}
		if (host_port(ep, s, end, 0, want, err) < 0)
			return -1;
		if (slash && slash[1]) {
			if (!remote_path_ok(slash))
				return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
						    "engine endpoint `%s`: the socket must be an "
						    "absolute path of letters, digits and `/._-`",
						    u);
			if (!(ep->path = strdup(slash)))
				return jc_error_oom(err);
		}
		ep->transport = JC_TRANSPORT_SSH;
		ep->loopback = loopback(ep->host);
		return 0;
	}
	return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			    "engine endpoint `%s`: want unix:///path, tcp://host:port or "
			    "ssh://[user@]host[:port][/socket]",
			    u);
}

static bool set(const char *s)
{
	return s && *s;
}

int jc_endpoint_parse(const struct jc_config *cfg, struct jc_endpoint *ep, jc_error *err)
{
	bool tls = set(cfg->tls_ca);

	memset(ep, 0, sizeof(*ep));
	if (!set(cfg->endpoint))
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "engine endpoint is not set: [engine] endpoint");
	if (!(ep->url = strdup(cfg->endpoint)))
		return jc_error_oom(err);
	if (parse_url(ep, tls, err) < 0)
		goto fail;
	if (ep->transport == JC_TRANSPORT_TCP && (set(cfg->tls_cert) || set(cfg->tls_key))) {
		jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			     "engine endpoint `%s`: a client certificate without [engine] tls_ca: "
			     "jobcell verifies every TLS engine",
			     ep->url);
		goto fail;
	}
	if (ep->transport != JC_TRANSPORT_TLS &&
	    (set(cfg->tls_ca) || set(cfg->tls_cert) || set(cfg->tls_key))) {
		jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			     "engine endpoint `%s`: [engine] tls_ca, tls_cert and tls_key are for "
			     "a tcp:// endpoint",
			     ep->url);
		goto fail;
	}
	if (set(cfg->tls_cert) != set(cfg->tls_key)) {
		jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			     "engine endpoint `%s`: [engine] tls_cert and tls_key go together",
			     ep->url);
		goto fail;
	}
	if (ep->transport != JC_TRANSPORT_SSH &&
	    (set(cfg->ssh_identity) || set(cfg->ssh_known_hosts) || set(cfg->ssh_config))) {
		jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			     "engine endpoint `%s`: [engine] ssh_identity, ssh_known_hosts and "
			     "ssh_config are for an ssh:// endpoint",
			     ep->url);
		goto fail;
	}
	if (ep->transport == JC_TRANSPORT_TCP && !ep->loopback && !cfg->insecure_plaintext) {
		jc_error_set(err, JC_ERR_CONFIG, EPERM,
			     "engine endpoint `%s`: plaintext TCP to a host that is not loopback "
			     "(whoever reaches it is root there): set [engine] tls_ca, tls_cert "
			     "and tls_key, use ssh://, or set [engine] insecure_plaintext = true",
			     ep->url);
		goto fail;
	}
	if (tls) {
		ep->tls_ca = cfg->tls_ca;
		ep->tls_cert = set(cfg->tls_cert) ? cfg->tls_cert : NULL;
		ep->tls_key = set(cfg->tls_key) ? cfg->tls_key : NULL;
	}
	ep->ssh_identity = set(cfg->ssh_identity) ? cfg->ssh_identity : NULL;
	ep->ssh_known_hosts = set(cfg->ssh_known_hosts) ? cfg->ssh_known_hosts : NULL;
	ep->ssh_config = set(cfg->ssh_config) ? cfg->ssh_config : NULL;
	return 0;
fail:
	jc_endpoint_free(ep);
	return -1;
}

int jc_endpoint_parse_url(const char *url, struct jc_endpoint *ep, jc_error *err)
{
	struct jc_config cfg = { .endpoint = (char *)url };

	return jc_endpoint_parse(&cfg, ep, err);
}

void jc_endpoint_free(struct jc_endpoint *ep)
{
	free(ep->url);
	free(ep->host);
	free(ep->path);
	free(ep->user);
	memset(ep, 0, sizeof(*ep));
}
