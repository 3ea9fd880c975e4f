/* Site configuration (config.c): defaults, layering, every key, and each
 * refusal with its `file:line`; and the reference file config/jobcell.ini. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "error.h"
#include "names.h"
#include "util.h"
#include "testutil.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture: a temporary directory for INI files -------------------------- */

struct fx {
	char dir[64];
	char path[128]; /* dir/f.ini */
	struct jc_config cfg;
	jc_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/jc-test-config-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/f.ini", f->dir);
	if (jc_config_init(&f->cfg, &f->err) < 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
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

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Write `text` to dir/<name> and load it on top of f->cfg. */
static int load_named(struct fx *f, const char *name, const char *text)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	write_file(path, text);
	return jc_config_load(&f->cfg, path, &f->err);
}

static int load(struct fx *f, const char *text)
{
	return load_named(f, "f.ini", text);
}

/* A config refusal whose message holds "f.ini:<line>: <rest>". */
static void expect_problem_at(struct fx *f, int rc, int line, const char *rest, const char *file,
			      int srcline)
{
	char want[512];

	snprintf(want, sizeof(want), "f.ini:%d: %s", line, rest);
	_assert_int_equal((LargestIntegralType)rc, (LargestIntegralType)-1, file, srcline);
	if (!f->err.msg || f->err.kind != JC_ERR_CONFIG || f->err.status != EINVAL) {
		print_error("want a config/EINVAL error, got %s/%d `%s`\n",
			    jc_error_kind_name(f->err.kind), f->err.status,
			    f->err.msg ? f->err.msg : "(none)");
		_fail(file, srcline);
	}
	if (!strstr(f->err.msg, want)) {
		print_error("message `%s` lacks `%s`\n", f->err.msg, want);
		_fail(file, srcline);
	}
	if (f->cfg.problems.n < 1 || !strstr(f->cfg.problems.v[0], want)) {
		print_error("cfg.problems[0] is `%s`, want `%s`\n",
			    f->cfg.problems.n ? f->cfg.problems.v[0] : "(none)", want);
		_fail(file, srcline);
	}
	/* the message names the file as given */
	if (strncmp(f->err.msg, f->dir, strlen(f->dir)) != 0) {
		print_error("message `%s` does not start with the file's path\n", f->err.msg);
		_fail(file, srcline);
	}
}
#define expect_problem(f, rc, line, rest)                                                          \
	expect_problem_at((f), (rc), (line), (rest), __FILE__, __LINE__)

static void expect_loaded_at(struct fx *f, int rc, const char *file, int line)
{
	if (rc != 0 || f->cfg.problems.n != 0) {
		print_error("load failed: %s\n", f->err.msg ? f->err.msg : "(no message)");
		_fail(file, line);
	}
}
#define expect_loaded(f, rc) expect_loaded_at((f), (rc), __FILE__, __LINE__)

static void assert_strv(const struct jc_strv *v, const char *const *want, size_t n)
{
	assert_int_equal(v->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v->v[i], want[i]);
	if (n)
		assert_null(v->v[n]);
}

/* ---- defaults --------------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct fx *f = *state;
	const struct jc_config *c = &f->cfg;
	static const char *const all[] = { "ALL" };

	assert_null(c->endpoint); /* resolved when a site loads: test_endpoint.c */
	assert_null(c->tls_ca);
	assert_false(c->insecure_plaintext);
	assert_null(c->ssh_identity);
	assert_int_equal(c->engine_timeout_ms, 30000);
	assert_null(c->site_name);
	assert_int_equal(c->ws_mode, JC_WS_BIND);
	assert_null(c->ws_path);
	assert_null(c->ws_host_path); /* unset: the engine gets path */
	assert_string_equal(c->mount_point, "/workspace");
	assert_int_equal(c->root_mode, 0555);
	assert_true(c->root_readonly);
	assert_int_equal(c->root_size, 1 << 20);
	assert_int_equal(c->job_mode, 0700);
	assert_int_equal(c->reserved.n, 0);
	assert_null(c->image);
	assert_null(c->user);
	assert_string_equal(c->network, "none");
	assert_int_equal(c->stop_grace_ms, 10000);
	assert_int_equal(c->timeout_ms, 0);
	assert_int_equal(c->transfer_timeout_ms, 600000);
	assert_int_equal(c->clock_skew_ms, 60000);
	assert_strv(&c->cap_drop, all, 1);
	assert_int_equal(c->cap_add.n, 0);
	assert_true(c->no_new_privileges);
	assert_true(c->readonly_rootfs);
	assert_int_equal(c->tmp_size, 64 << 20);
	assert_int_equal(c->pids_limit, 512);
	assert_int_equal(c->memory, 0);
	assert_int_equal(c->nano_cpus, 0);
	assert_int_equal(c->shm_size, 64 << 20);
	assert_int_equal(c->gpus.count, 0);
	assert_int_equal(c->gpus.ids.n, 0);
	assert_int_equal(c->pass_env.n, 0);
	{
		static const char *const over[] = { "image", "timeout", "env" };
		assert_strv(&c->overridable, over, 3);
	}
	assert_int_equal(c->env.n, 0);
	assert_int_equal(c->labels.n, 0);
	assert_string_equal(c->tenant, "default");
	assert_string_equal(c->run, "default");
	assert_null(c->startup_volume);
	assert_null(c->local_volume);
	assert_null(c->site_volume);
	assert_false(c->keep);
	assert_null(c->transfer_dir);
	assert_int_equal(c->volume_size, 0);
	assert_int_equal(c->output_max_bytes, INT64_C(1) << 30);
	assert_int_equal(c->output_max_members, 100000);
	assert_int_equal(c->output_max_depth, 64);
	assert_string_equal(c->lock_dir, "/run/jobcell");
	assert_int_equal(c->problems.n, 0);
}

static void test_keys_table(void **state)
{
	static const struct jc_config_key want[] = {
		{ "engine", "endpoint", "" },
		{ "engine", "tls_ca", "" },
		{ "engine", "tls_cert", "" },
		{ "engine", "tls_key", "" },
		{ "engine", "insecure_plaintext", "false" },
		{ "engine", "ssh_identity", "" },
		{ "engine", "ssh_known_hosts", "" },
		{ "engine", "ssh_config", "" },
		{ "engine", "timeout", "30s" },
		{ "engine", "lock_dir", "/run/jobcell" },
		{ "site", "name", "" },
		{ "workspace", "mode", "bind" },
		{ "workspace", "path", "" },
		{ "workspace", "host_path", "" },
		{ "workspace", "mount_point", "/workspace" },
		{ "workspace", "root_mode", "0555" },
		{ "workspace", "root_readonly", "true" },
		{ "workspace", "root_size", "1m" },
		{ "workspace", "job_mode", "0700" },
		{ "workspace", "reserved", "" },
		{ "workspace", "job_path", "" },
		{ "workspace", "scratch", "" },
		{ "workspace", "scratch_size", "64m" },
		{ "job", "image", "" },
		{ "job", "user", "" },
		{ "job", "allow_root", "false" },
		{ "job", "network", "none" },
		{ "job", "stop_grace", "10s" },
		{ "job", "timeout", "0" },
		{ "job", "timeout_from", "" },
		{ "job", "transfer_timeout", "10m" },
		{ "job", "cap_drop", "ALL" },
		{ "job", "cap_add", "" },
		{ "job", "no_new_privileges", "true" },
		{ "job", "readonly_rootfs", "true" },
		{ "job", "tmp_size", "64m" },
		{ "job", "run_size", "0" },
		{ "job", "pids_limit", "512" },
		{ "job", "memory", "0" },
		{ "job", "cpus", "0" },
		{ "job", "shm_size", "64m" },
		{ "job", "gpus", "" },
		{ "job", "cgroup_parent", "" },
		{ "job", "pass_env", "" },
		{ "job", "overridable", "image, timeout, env" },
		{ "job", "data_prefixes", "" },
		{ "job", "data_mount_point", "/data" },
		{ "volume", "tenant", "default" },
		{ "volume", "run", "default" },
		{ "volume", "startup_volume", "" },
		{ "volume", "local_volume", "" },
		{ "volume", "site_volume", "" },
		{ "volume", "keep", "false" },
		{ "volume", "transfer_dir", "" },
		{ "volume", "size", "0" },
		{ "output", "max_bytes", "1g" },
		{ "output", "max_members", "100000" },
		{ "output", "max_depth", "64" },
		{ "gc", "clock_skew", "1m" },
		{ "slurm", "kill_wait", "0" },
		{ "slurm", "stop_margin", "5s" },
	};
	size_t n = 0;
	const struct jc_config_key *k = jc_config_keys(&n);

	(void)state;
	assert_non_null(k);
	assert_int_equal(n, N(want));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(k[i].section, want[i].section);
		assert_string_equal(k[i].key, want[i].key);
		assert_string_equal(k[i].def, want[i].def);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(k[i].section, k[j].section) && !strcmp(k[i].key, k[j].key))
				fail_msg("[%s] %s listed twice", k[i].section, k[i].key);
	}
}

/* Each default as written in the table loads from a file and gives exactly
 * the value jc_config_init set. */
static void test_table_defaults_load(void **state)
{
	struct fx *f = *state;
	size_t n = 0;
	const struct jc_config_key *k = jc_config_keys(&n);
	char text[512];

	for (size_t i = 0; i < n; i++) {
		struct jc_config c;
		jc_error e = { 0 };

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", k[i].section, k[i].key, k[i].def);
		write_file(f->path, text);
		assert_int_equal(jc_config_init(&c, &e), 0);
		if (jc_config_load(&c, f->path, &e) != 0)
			fail_msg("default of [%s] %s does not load: %s", k[i].section, k[i].key,
				 e.msg);
		assert_int_equal(c.problems.n, 0);
		jc_config_free(&c);
	}
}

/* ---- layering and every key ------------------------------------------------ */

static void test_layering(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load_named(f, "a.ini",
				    "[site]\nname = a_site\n"
				    "[job]\nimage = alpine:3\nuser = 1000\npids_limit = 100\n"
				    "cap_add = CAP_CHOWN\n"));
	expect_loaded(f, load_named(f, "b.ini",
				    "[job]\nimage = debian:12\npids_limit = 200\n"
				    "cap_add =\n"));
	assert_string_equal(f->cfg.image, "debian:12");  /* B wins */
	assert_int_equal(f->cfg.pids_limit, 200);        /* B wins */
	assert_int_equal(f->cfg.cap_add.n, 0);           /* B's empty list wins */
	assert_string_equal(f->cfg.site_name, "a_site"); /* A's stays */
	assert_string_equal(f->cfg.user, "1000");        /* A's stays */
	assert_string_equal(f->cfg.network, "none");     /* the default stays */
}

/* The same key in two files is layering, not "set twice". */
static void test_layering_same_key_not_twice(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load_named(f, "a.ini", "[job]\nimage = a\n"));
	expect_loaded(f, load_named(f, "b.ini", "[job]\nimage = b\n"));
	assert_string_equal(f->cfg.image, "b");
}

static void test_every_key_from_file(void **state)
{
	struct fx *f = *state;
	const struct jc_config *c = &f->cfg;
	static const char *const reserved[] = { "shared", "inbox" };
	static const char *const drop[] = { "CAP_NET_RAW", "MKNOD" };
	static const char *const add[] = { "CAP_CHOWN" };
	static const char *const gpu_ids[] = { "0", "GPU-fef8089b" };
	static const char *const pass[] = { "API_TOKEN", "_X1" };
	static const char *const over[] = { "memory", "cpus", "gpus", "env" };
	static const char *const env[] = { "LANG=C.UTF-8", "PATH=/usr/bin:/bin" };
	static const char *const labels[] = { "org.example.team=lab 1" };

	expect_loaded(f, load(f, "; a site file\n"
				 "# with comments\n"
				 "[engine]\n"
				 "endpoint = tcp://127.0.0.1:2375\n"
				 "timeout = 5m\n"
				 "\n"
				 "[site]\n"
				 "name = lab1\n"
				 "[workspace]\n"
				 "mode = volume\n"
				 "path = /srv/jobcell/ws\n"
				 "host_path = /var/lib/docker-host/ws\n"
				 "mount_point = /work\n"
				 "root_mode = 0755\n"
				 "root_readonly = false\n"
				 "root_size = 2m\n"
				 "job_mode = 0770\n"
				 "reserved = shared, inbox\n"
				 "[job]\n"
				 "image = alpine:3.20\n"
				 "user = 65532:1000\n"
				 "network = bridge\n"
				 "stop_grace = 2500ms\n"
				 "timeout = 1h\n"
				 "transfer_timeout = 90s\n"
				 "cap_drop = CAP_NET_RAW MKNOD\n"
				 "cap_add = CAP_CHOWN\n"
				 "no_new_privileges = no\n"
				 "readonly_rootfs = off\n"
				 "tmp_size = 128m\n"
				 "pids_limit = 0\n"
				 "memory = 2g\n"
				 "cpus = 1.5\n"
				 "shm_size = 0\n"
				 "gpus = 0, GPU-fef8089b\n"
				 "pass_env = API_TOKEN, _X1\n"
				 "overridable = memory cpus gpus, env\n"
				 "[env]\n"
				 "LANG = C.UTF-8\n"
				 "PATH = /usr/bin:/bin\n"
				 "[labels]\n"
				 "org.example.team = lab 1\n"
				 "[volume]\n"
				 "tenant = acme\n"
				 "run = nightly-2025.11_01\n"
				 "startup_volume = acme_startup\n"
				 "local_volume = acme.local-1\n"
				 "site_volume = acme-site\n"
				 "keep = yes\n"
				 "transfer_dir = /srv/transfer\n"
				 "[gc]\n"
				 "clock_skew = 0\n"));
	assert_string_equal(c->endpoint, "tcp://127.0.0.1:2375");
	assert_int_equal(c->engine_timeout_ms, 300000);
	assert_string_equal(c->site_name, "lab1");
	assert_string_equal(c->ws_path, "/srv/jobcell/ws");
	assert_string_equal(c->ws_host_path, "/var/lib/docker-host/ws");
	assert_string_equal(c->mount_point, "/work");
	assert_int_equal(c->root_mode, 0755);
	assert_false(c->root_readonly);
	assert_int_equal(c->root_size, 2 << 20);
	assert_int_equal(c->job_mode, 0770);
	assert_strv(&c->reserved, reserved, 2);
	assert_string_equal(c->image, "alpine:3.20");
	assert_string_equal(c->user, "65532:1000");
	assert_string_equal(c->network, "bridge");
	assert_int_equal(c->stop_grace_ms, 2500);
	assert_int_equal(c->timeout_ms, 3600000);
	assert_int_equal(c->transfer_timeout_ms, 90000);
	assert_int_equal(c->clock_skew_ms, 0);
	assert_strv(&c->cap_drop, drop, 2);
	assert_strv(&c->cap_add, add, 1);
	assert_false(c->no_new_privileges);
	assert_false(c->readonly_rootfs);
	assert_int_equal(c->tmp_size, 128 << 20);
	assert_int_equal(c->pids_limit, 0);
	assert_int_equal(c->memory, INT64_C(2) << 30);
	assert_int_equal(c->nano_cpus, 1500000000);
	assert_int_equal(c->shm_size, 0);
	assert_int_equal(c->gpus.count, 0);
	assert_strv(&c->gpus.ids, gpu_ids, 2);
	assert_strv(&c->pass_env, pass, 2);
	assert_strv(&c->overridable, over, 4);
	assert_strv(&c->env, env, 2);
	assert_strv(&c->labels, labels, 1);
	assert_int_equal(c->ws_mode, JC_WS_VOLUME);
	assert_string_equal(c->tenant, "acme");
	assert_string_equal(c->run, "nightly-2025.11_01");
	assert_string_equal(c->startup_volume, "acme_startup");
	assert_string_equal(c->local_volume, "acme.local-1");
	assert_string_equal(c->site_volume, "acme-site");
	assert_true(c->keep);
	assert_string_equal(c->transfer_dir, "/srv/transfer");
}

/* "" unsets a string key; inline comments are not part of the value. */
static void test_empty_and_inline_comment(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load_named(f, "a.ini", "[job]\nimage = alpine\nuser = 1\n"));
	expect_loaded(f, load(f, "[job]\nimage = busybox ; the small one\nuser =\n"));
	assert_string_equal(f->cfg.image, "busybox");
	assert_null(f->cfg.user);
}

/* ---- refusals, each with file:line ----------------------------------------- */

static void test_unknown_section(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[engine]\ntimeout = 5s\n[nope]\nx = 1\n"), 3,
		       "unknown section [nope]");
	/* reported once, not again for each key inside it */
	assert_int_equal(f->cfg.problems.n, 1);
	assert_null(strstr(f->err.msg, "more)"));
}

static void test_unknown_section_case(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[JOB]\nimage = x\n"), 1, "unknown section [JOB]");
	assert_null(f->cfg.image);
}

static void test_unknown_key(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job]\nimage = a\nprivileged = true\n"), 3,
		       "unknown key `privileged` in [job]");
}

/* A key in the wrong section is an unknown key there. */
static void test_key_in_wrong_section(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[engine]\nimage = a\n"), 2, "unknown key `image` in [engine]");
	assert_null(f->cfg.image);
}

/* A key before any `[section]` line belongs nowhere: an unknown key. */
static void test_key_before_any_section(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "image = evil\n[job]\nuser = 1\n"), 1,
		       "key `image` stands before any [section]");
	assert_int_equal(f->cfg.problems.n, 1);
	assert_null(f->cfg.image);
}

/* Regression (fixed): config.c:286 (reader) only looks for `[` in column 0; inih strips a
 * UTF-8 byte order mark first, so "\xEF\xBB\xBF[nope]" on line 1 opens an
 * unknown section that nobody reports and its keys are silently skipped. */
static void test_unknown_section_after_bom(void **state)
{
	struct fx *f = *state;
	int rc = load(f, "\xEF\xBB\xBF[nope]\nx = 1\n");

	assert_int_equal(rc, -1);
	assert_int_equal(f->err.kind, JC_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "f.ini:1: unknown section [nope]"));
}

static void test_malformed_values(void **state)
{
	static const struct {
		const char *section, *key, *value, *why;
	} cases[] = {
		{ "engine", "timeout", "10x", "not a duration: want a number with ms, s, m or h" },
		{ "engine", "timeout", "-1s", "not a duration" },
		{ "job", "stop_grace", "1.5s", "not a duration" },
		{ "job", "timeout", "forever", "not a duration" },
		{ "job", "transfer_timeout", "-1s", "not a duration" },
		{ "job", "transfer_timeout", "", "not a duration" },
		{ "gc", "clock_skew", "1d", "not a duration" },
		{ "gc", "clock_skew", "soon", "not a duration" },
		{ "job", "tmp_size", "1t", "not a size: want a number with k, m or g" },
		{ "workspace", "root_size", "-1", "not a size" },
		{ "workspace", "root_mode", "0o755", "not an octal mode: want e.g. 0555" },
		{ "workspace", "job_mode", "8", "not an octal mode" },
		{ "workspace", "job_mode", "10000", "not an octal mode" },
		{ "workspace", "root_readonly", "maybe",
		  "not a boolean: want true/false, yes/no, on/off or 1/0" },
		{ "job", "no_new_privileges", "2", "not a boolean" },
		{ "job", "readonly_rootfs", "", "not a boolean" },
		{ "job", "pids_limit", "-1", "not a non-negative whole number" },
		{ "job", "pids_limit", "1k", "not a non-negative whole number" },
		{ "job", "user", "root", "not auto, a numeric uid or uid:gid" },
		{ "job", "user", "1:", "not auto, a numeric uid or uid:gid" },
		{ "job", "allow_root", "maybe", "not a boolean" },
		{ "job", "cap_add", "SYS_admin", "not a capability name such as ALL or CAP_CHOWN" },
		{ "job", "cap_add", "CAP_", "not a capability name" },
		{ "job", "cap_drop", "ALL, cap_chown", "not a capability name" },
		{ "job", "network", "container:victim",
		  "refused: `container:...` shares another container's network namespace" },
		{ "job", "network", "host",
		  "refused: `host` shares the host's network namespace, from which a job could "
		  "reach the engine and other tenants" },
		{ "job", "network", "HOST", "refused: `host` shares the host's network namespace" },
		{ "job", "network", "a/b",
		  "not a network name: want none, bridge or [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 "
		  "characters" },
		{ "job", "network", "", "not a network name" },
		{ "job", "network", "-net", "not a network name" },
		{ "job", "network", "a:b", "not a network name" },
		{ "job", "network",
		  "n1234567890123456789012345678901234567890123456789012345678901234",
		  "not a network name" }, /* 65 characters */
		{ "job", "image", "alpine latest",
		  "not an image reference: image has a character outside [A-Za-z0-9._/:@-]" },
		{ "job", "image", "a/../b",
		  "not an image reference: image `a/../b` contains `..`" },
		{ "job", "memory", "1t", "not a size: want a number with k, m or g" },
		{ "job", "memory", "-1", "not a size" },
		{ "job", "memory", "6291455",
		  "below the engine's least memory limit of 6m; 0 means no limit" },
		{ "job", "memory", "5m", "below the engine's least memory limit" },
		{ "job", "memory", "1", "below the engine's least memory limit" },
		{ "job", "cpus", "-1",
		  "not a number of CPUs: want 0 (no limit) or 0.01 to 1024, at most three "
		  "decimals" },
		{ "job", "cpus", "1.2345", "not a number of CPUs" },
		{ "job", "cpus", "1025", "not a number of CPUs" },
		{ "job", "cpus", "0.001", "not a number of CPUs" },
		{ "job", "cpus", "", "not a number of CPUs" },
		{ "job", "shm_size", "64x", "not a size" },
		{ "job", "gpus", "0,,1",
		  "not a GPU request: want all, slurm, a count, or up to 16 device "
		  "ids [A-Za-z0-9][A-Za-z0-9_-]* separated by commas" },
		{ "job", "gpus", "GPU/0", "not a GPU request" },
		{ "job", "gpus", "0,0", "not a GPU request" },
		{ "job", "gpus", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "not a GPU request" },
		{ "job", "pass_env", "OK, 1BAD",
		  "not a list of environment names: environment name `1BAD` must start with a "
		  "letter or `_`" },
		{ "job", "pass_env", "A-B", "not a list of environment names" },
		{ "job", "overridable", "image, privileged",
		  "`privileged` is not a key of [job] (nor `env` or `entrypoint`)" },
		{ "job", "overridable", "endpoint",
		  "`endpoint` is not a key of [job] (nor `env` or `entrypoint`)" },
		{ "job", "overridable", "timeout network",
		  "`network` is one of the keys a job request may never change" },
		{ "job", "overridable", "cap_add", "`cap_add` is one of the keys" },
		{ "job", "overridable", "overridable", "`overridable` is one of the keys" },
		{ "job", "overridable", "pass_env", "`pass_env` is one of the keys" },
		{ "job", "overridable", "user", "`user` is one of the keys" },
		{ "job", "overridable", "labels", "`labels` is not a key of [job]" },
		{ "workspace", "path", "srv/ws",
		  "not an absolute path without `.` or `..` components" },
		{ "workspace", "path", "/srv/../etc", "not an absolute path without" },
		{ "workspace", "path", "/srv/./ws", "not an absolute path without" },
		{ "workspace", "path", "/srv/ws/..", "not an absolute path without" },
		{ "workspace", "path", "/srv/ws/.", "not an absolute path without" },
		{ "workspace", "host_path", "srv/ws",
		  "not an absolute path without `.` or `..` components" },
		{ "workspace", "host_path", "./ws", "not an absolute path without" },
		{ "workspace", "host_path", "/srv/../etc", "not an absolute path without" },
		{ "workspace", "host_path", "/srv/ws/.", "not an absolute path without" },
		{ "workspace", "host_path", "/srv/ws/..", "not an absolute path without" },
		{ "workspace", "mount_point", "workspace", "not an absolute path without" },
		{ "workspace", "mount_point", "/a/../var/run", "not an absolute path without" },
		{ "site", "name", "a b", "not a site name: want [A-Za-z0-9][A-Za-z0-9_.]*" },
		{ "site", "name", "..", "not a site name" },
		/* a `-` would make jobcell-<site>-<job> ambiguous */
		{ "site", "name", "x-y", "not a site name" },
		{ "workspace", "reserved", "ok, -bad", "not a list of names" },
		{ "workspace", "mode", "Volume", "want bind or volume" },
		{ "workspace", "mode", "", "want bind or volume" },
		{ "workspace", "mode", "volumes", "want bind or volume" },
		{ "volume", "tenant", "-x",
		  "not a name: want [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters" },
		{ "volume", "tenant", "a/b", "not a name" },
		{ "volume", "tenant", "", "not a name" },
		{ "volume", "tenant", "..", "not a name" },
		{ "volume", "run", "a b", "not a name" },
		{ "volume", "run", ".hidden", "not a name" },
		{ "volume", "run", "", "not a name" },
		{ "volume", "startup_volume", "-x",
		  "not a volume name: want [A-Za-z0-9][A-Za-z0-9_.-]+, 2 to 255 characters" },
		{ "volume", "startup_volume", "a/b", "not a volume name" },
		{ "volume", "local_volume", "_x", "not a volume name" },
		{ "volume", "local_volume", "L", "not a volume name" },
		{ "volume", "local_volume", "x:y", "not a volume name" },
		{ "volume", "site_volume", ".x", "not a volume name" },
		{ "volume", "site_volume", "/srv/vol", "not a volume name" },
		{ "volume", "keep", "maybe", "not a boolean" },
		{ "volume", "transfer_dir", "in", "not an absolute path without" },
		{ "volume", "transfer_dir", "./in", "not an absolute path without" },
		{ "volume", "transfer_dir", "/srv/../etc", "not an absolute path without" },
	};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct fx *f = NULL;
		void *st;

		assert_int_equal(setup(&st), 0);
		f = st;
		snprintf(text, sizeof(text), "; case %zu\n[%s]\n%s = %s\n", i, cases[i].section,
			 cases[i].key, cases[i].value);
		snprintf(want, sizeof(want), "[%s] %s = `%s`: %s", cases[i].section, cases[i].key,
			 cases[i].value, cases[i].why);
		expect_problem(f, load(f, text), 3, want);
		assert_int_equal(f->cfg.problems.n, 1);
		teardown(&st);
	}
}

/* [workspace] mode: the two words, either way round across files; anything
 * else refused with its line. */
static void test_ws_mode(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load_named(f, "a.ini", "[workspace]\nmode = volume\n"));
	assert_int_equal(f->cfg.ws_mode, JC_WS_VOLUME);
	expect_loaded(f, load_named(f, "b.ini", "[workspace]\nmode = bind\n"));
	assert_int_equal(f->cfg.ws_mode, JC_WS_BIND);
	expect_loaded(f, load_named(f, "c.ini", "[workspace]\nmode = volume ; the new way\n"));
	assert_int_equal(f->cfg.ws_mode, JC_WS_VOLUME);
	expect_problem(f, load(f, "[site]\nname = s\n[workspace]\nmode = tmpfs\n"), 4,
		       "[workspace] mode = `tmpfs`: want bind or volume");
	assert_int_equal(f->cfg.problems.n, 1);
	assert_int_equal(f->cfg.ws_mode, JC_WS_VOLUME); /* the refused value changed nothing */
}

/* Names at their limits: a tenant or run of 64 characters is taken, 65 is
 * not. */
static void test_tenant_run_length(void **state)
{
	struct fx *f = *state;
	char name[JC_NAME_MAX + 2], text[256];

	memset(name, 't', sizeof(name));
	name[JC_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[volume]\ntenant = %s\nrun = 1\n", name);
	expect_loaded(f, load_named(f, "a.ini", text));
	assert_int_equal(strlen(f->cfg.tenant), JC_NAME_MAX);
	assert_string_equal(f->cfg.run, "1");

	name[JC_NAME_MAX] = 't';
	name[JC_NAME_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "[volume]\nrun = %s\n", name);
	expect_problem(f, load(f, text), 2, "[volume] run = `");
	assert_non_null(strstr(f->err.msg, "`: not a name: want"));
	assert_string_equal(f->cfg.run, "1");
}

/* Volume names: two characters (Docker's least) and the longest line the
 * reader takes are fine, one is not; a name of 256 characters cannot even
 * be written on one line, so the line limit refuses it before the
 * 255-character rule would. */
static void test_volume_name_length(void **state)
{
	struct fx *f = *state;
	char name[300], text[400];
	size_t longest = 198 - strlen("startup_volume = ");

	expect_loaded(f, load_named(f, "a.ini", "[volume]\nlocal_volume = LV\n"));
	assert_string_equal(f->cfg.local_volume, "LV");

	memset(name, 'v', longest);
	name[longest] = '\0';
	snprintf(text, sizeof(text), "[volume]\nstartup_volume = %s\n", name);
	expect_loaded(f, load_named(f, "b.ini", text));
	assert_int_equal(strlen(f->cfg.startup_volume), longest);

	memset(name, 'w', 256);
	name[256] = '\0';
	snprintf(text, sizeof(text), "[volume]\nsite_volume = %s\n", name);
	expect_problem(f, load(f, text), 2, "line longer than 198 characters");
	assert_null(f->cfg.site_volume);
}

/* An empty value unsets a volume and transfer_dir again. */
static void test_volume_unset(void **state)
{
	struct fx *f = *state;

	expect_loaded(
	    f, load_named(f, "a.ini", "[volume]\nsite_volume = sv\ntransfer_dir = /srv/t\n"));
	assert_string_equal(f->cfg.site_volume, "sv");
	assert_string_equal(f->cfg.transfer_dir, "/srv/t");
	expect_loaded(f, load(f, "[volume]\nsite_volume =\ntransfer_dir =\n"));
	assert_null(f->cfg.site_volume);
	assert_null(f->cfg.transfer_dir);
}

/* A refused value leaves the earlier value in place. */
static void test_malformed_keeps_old_value(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load_named(f, "a.ini",
				    "[job]\npids_limit = 7\nuser = 5\n"
				    "cap_drop = MKNOD\n[workspace]\npath = /srv/ws\n"));
	assert_int_equal(load(f, "[job]\npids_limit = lots\nuser = root\ncap_drop = x\n"
				 "[workspace]\npath = srv\n"),
			 -1);
	assert_int_equal(f->cfg.pids_limit, 7);
	assert_string_equal(f->cfg.user, "5");
	assert_int_equal(f->cfg.cap_drop.n, 1);
	assert_string_equal(f->cfg.cap_drop.v[0], "MKNOD");
	assert_string_equal(f->cfg.ws_path, "/srv/ws");
}

static void test_paths_that_are_fine(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load(f, "[workspace]\npath = /srv/..ws/.x/a..b\nmount_point = /w/\n"));
	assert_string_equal(f->cfg.ws_path, "/srv/..ws/.x/a..b");
	assert_string_equal(f->cfg.mount_point, "/w/");
}

static void test_set_twice(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job]\nimage = a\nuser = 1\nimage = b\n"), 4,
		       "[job] image: set twice (first at line 2)");
	assert_string_equal(f->cfg.image, "a");
}

static void test_set_twice_across_sections(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job]\nimage = a\n[engine]\ntimeout = 1s\n[job]\nimage = b\n"),
		       6, "[job] image: set twice (first at line 2)");
}

static void test_indented_continuation(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job]\nimage = alpine\n  :latest\n"), 3,
		       "indented line: continuation lines are not supported");
	assert_string_equal(f->cfg.image, "alpine");
}

static void test_indented_comment_is_fine(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load(f, "[job]\n   ; a comment\n\t# another\n   \nimage = a\n"));
	assert_string_equal(f->cfg.image, "a");
}

/* The reader's buffer holds 198 characters and the newline; one more is
 * refused, the rest of the line is skipped, and later lines keep their
 * numbers. */
static void test_long_line(void **state)
{
	struct fx *f = *state;
	char text[1200], val[1001];

	memset(val, 'a', 1000);
	val[1000] = '\0';
	snprintf(text, sizeof(text), "[job]\nimage = %s\nbogus = 1\n", val);
	expect_problem(f, load(f, text), 2, "line longer than 198 characters");
	assert_int_equal(f->cfg.problems.n, 2);
	assert_non_null(strstr(f->cfg.problems.v[1], "f.ini:3: unknown key `bogus` in [job]"));
	assert_null(f->cfg.image); /* no truncated value was taken */
}

static void test_long_line_limit(void **state)
{
	struct fx *f = *state;
	char text[400], line[300];

	/* "image = " + 190 = 198 characters: accepted */
	memset(line, 'a', sizeof(line));
	memcpy(line, "image = ", 8);
	line[198] = '\0';
	snprintf(text, sizeof(text), "[job]\n%s\n", line);
	expect_loaded(f, load(f, text));
	assert_int_equal(strlen(f->cfg.image), 190);
	/* 199: refused */
	jc_config_free(&f->cfg);
	assert_int_equal(jc_config_init(&f->cfg, &f->err), 0);
	memset(line, 'a', sizeof(line));
	memcpy(line, "image = ", 8);
	line[199] = '\0';
	snprintf(text, sizeof(text), "[job]\n%s\n", line);
	expect_problem(f, load(f, text), 2, "line longer than 198 characters");
}

static void test_no_equals(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job]\nimage = a\nprivileged\n"), 3,
		       "syntax error: want `key = value`, `[section]` or a comment");
}

/* Regression (fixed): config.c:340 (the `problems.n == before` condition) drops inih's
 * syntax error when another problem was found: here the key on line 2 is
 * reported as standing before any section, and the cause, the unclosed
 * `[job` on line 1, is not reported at all.  The first problem should be
 * line 1's. */
static void test_unclosed_section(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job\nimage = a\n"), 1, "syntax error: want `key = value`");
}

static void test_several_problems(void **state)
{
	struct fx *f = *state;

	expect_problem(f,
		       load(f, "[job]\nbogus = 1\nuser = root\n[nope]\ntimeout = 10x\n[job]\n"
			       "tmp_size = 32m\n"),
		       2, "unknown key `bogus` in [job]");
	assert_non_null(strstr(f->err.msg, "f.ini:2: unknown key `bogus` in [job] (and 2 more)"));
	assert_int_equal(f->cfg.problems.n, 3);
	assert_non_null(strstr(f->cfg.problems.v[0], "f.ini:2: unknown key `bogus` in [job]"));
	assert_non_null(
	    strstr(f->cfg.problems.v[1], "f.ini:3: [job] user = `root`: not auto, a numeric"));
	assert_non_null(strstr(f->cfg.problems.v[2], "f.ini:4: unknown section [nope]"));
	/* timeout in [nope] is not judged; tmp_size on line 7 is in [job] again and taken */
	assert_int_equal(f->cfg.timeout_ms, 0);
	assert_int_equal(f->cfg.tmp_size, 32 << 20);
}

/* Each load reports its own problems; earlier ones stay in cfg.problems. */
static void test_problems_accumulate_across_files(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load_named(f, "a.ini", "[job]\nbogus = 1\n"), -1);
	assert_int_equal(load(f, "[job]\nuser = x\n"), -1);
	assert_int_equal(f->cfg.problems.n, 2);
	assert_non_null(strstr(f->err.msg, "f.ini:2: [job] user = `x`"));
	assert_null(strstr(f->err.msg, "more)"));
	assert_non_null(strstr(f->cfg.problems.v[0], "a.ini:2: unknown key `bogus`"));
}

/* Regression (fixed): config.c:340 reports inih's syntax error only when no other problem
 * was found, and inih returns only the first bad line, so a file with an
 * unknown key and two lines without `=` yields one problem instead of three
 * (jobcell.h: "Every problem is appended to cfg->problems"). */
static void test_syntax_error_not_dropped(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f, "[job]\nbogus = 1\nnoequals\nalso\n"), -1);
	assert_int_equal(f->cfg.problems.n, 3);
	assert_non_null(strstr(f->err.msg, "(and 2 more)"));
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/absent.ini", f->dir);
	assert_int_equal(jc_config_load(&f->cfg, path, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_CONFIG);
	assert_int_equal(f->err.status, ENOENT);
	assert_non_null(strstr(f->err.msg, "read config `"));
	assert_non_null(strstr(f->err.msg, "absent.ini`: No such file or directory"));
}

static void test_directory_as_file(void **state)
{
	struct fx *f = *state;

	assert_int_equal(jc_config_load(&f->cfg, f->dir, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "read config `"));
}

/* ---- validate --------------------------------------------------------------- */

static void test_validate(void **state)
{
	struct fx *f = *state;
	jc_error e = { 0 };

	/* bind mode hands the engine paths checked here: a local socket only */
	expect_loaded(f, load_named(f, "0.ini",
				    "[site]\nname = s\n[workspace]\npath = /srv/ws\n"
				    "[engine]\nendpoint = tcp://127.0.0.1:2375\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), -1);
	assert_int_equal(e.kind, JC_ERR_CONFIG);
	assert_string_equal(e.msg, "config: [workspace] mode = bind needs an engine on a local "
				   "unix socket, and `tcp://127.0.0.1:2375` is not: use mode = "
				   "volume");
	jc_error_clear(&e);
	jc_config_free(&f->cfg);
	assert_int_equal(jc_config_init(&f->cfg, &f->err), 0);

	assert_int_equal(jc_config_validate(&f->cfg, &e), -1);
	assert_int_equal(e.kind, JC_ERR_CONFIG);
	assert_int_equal(e.status, EINVAL);
	assert_string_equal(e.msg, "config: [site] name is not set");
	jc_error_clear(&e);

	expect_loaded(f, load_named(f, "a.ini", "[site]\nname = s\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), -1);
	assert_int_equal(e.kind, JC_ERR_CONFIG);
	assert_string_equal(e.msg, "config: [workspace] path is not set");
	jc_error_clear(&e);

	expect_loaded(f, load_named(f, "b.ini", "[workspace]\npath = /srv/ws\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), 0);
	assert_null(e.msg);

	expect_loaded(f, load_named(f, "c.ini", "[workspace]\nmount_point = /\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), -1);
	assert_string_equal(e.msg, "config: [workspace] mount_point must be below `/`");
	jc_error_clear(&e);

	expect_loaded(f, load_named(f, "d.ini",
				    "[workspace]\nmount_point = /w\n"
				    "[engine]\ntimeout = 0\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), -1);
	assert_string_equal(e.msg, "config: [engine] timeout must be more than 0");
	jc_error_clear(&e);
}

/* Load `text` on a fresh configuration and validate it: `want` is the
 * message, or NULL for success. */
static void expect_validate_at(const char *dir, const char *text, const char *want,
			       const char *file, int line)
{
	struct jc_config c;
	jc_error e = { 0 };
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "%s/v.ini", dir);
	write_file(path, text);
	_assert_int_equal(jc_config_init(&c, &e), 0, file, line);
	if (jc_config_load(&c, path, &e) != 0) {
		print_error("load failed: %s\n", e.msg);
		_fail(file, line);
	}
	rc = jc_config_validate(&c, &e);
	if (!want && rc != 0) {
		print_error("validate refused: %s\n", e.msg ? e.msg : "(no message)");
		_fail(file, line);
	}
	if (want && (rc != -1 || !e.msg || e.kind != JC_ERR_CONFIG || e.status != EINVAL ||
		     strcmp(e.msg, want) != 0)) {
		print_error("validate gave %d %s/%d `%s`, want -1 config/EINVAL `%s`\n", rc,
			    jc_error_kind_name(e.kind), e.status, e.msg ? e.msg : "(none)", want);
		_fail(file, line);
	}
	if (!want && e.msg) {
		print_error("validate succeeded but left a message `%s`\n", e.msg);
		_fail(file, line);
	}
	jc_error_clear(&e);
	jc_config_free(&c);
}
#define expect_validate(f, text, want)                                                             \
	expect_validate_at((f)->dir, (text), (want), __FILE__, __LINE__)

#define NEEDS_VOLUMES                                                                              \
	"config: [workspace] mode = volume needs [volume] startup_volume and local_volume, or "    \
	"site_volume"
#define VOLUMES_MIXED "config: [volume] site_volume excludes startup_volume and local_volume"

static void test_validate_volume_mode(void **state)
{
	struct fx *f = *state;

	/* no volumes at all, or only half of the pair */
	expect_validate(f, "[site]\nname = s\n[workspace]\nmode = volume\n", NEEDS_VOLUMES);
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nstartup_volume = st\n",
			NEEDS_VOLUMES);
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nlocal_volume = lo\n",
			NEEDS_VOLUMES);
	/* a workspace path does not stand in for the volumes */
	expect_validate(f, "[site]\nname = s\n[workspace]\nmode = volume\npath = /srv/ws\n",
			NEEDS_VOLUMES);
	/* the pair, with no workspace path */
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nstartup_volume = st\nlocal_volume = lo\n",
			NULL);
	/* a fresh volume has no owner for user = auto to take */
	expect_validate(
	    f,
	    "[site]\nname = s\n[workspace]\nmode = volume\n"
	    "[volume]\nstartup_volume = st\nlocal_volume = lo\n[job]\nuser = auto\n",
	    "config: [job] user = auto is for bind mode: it takes the job directory's owner");
	/* one site volume */
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nsite_volume = sv\n",
			NULL);
	/* a site volume with either of the pair, or both */
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nsite_volume = sv\nstartup_volume = st\n",
			VOLUMES_MIXED);
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nsite_volume = sv\nlocal_volume = lo\n",
			VOLUMES_MIXED);
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nsite_volume = sv\nstartup_volume = st\nlocal_volume = lo\n",
			VOLUMES_MIXED);
	/* the checks before and after still apply in volume mode */
	expect_validate(f, "[workspace]\nmode = volume\n[volume]\nsite_volume = sv\n",
			"config: [site] name is not set");
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\nmount_point = /\n"
			"[volume]\nsite_volume = sv\n",
			"config: [workspace] mount_point must be below `/`");
	/* the root written another way is still the root */
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\nmount_point = //\n"
			"[volume]\nsite_volume = sv\n",
			"config: [workspace] mount_point must be below `/`");
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\nmount_point = ///\n"
			"[volume]\nsite_volume = sv\n",
			"config: [workspace] mount_point must be below `/`");
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nsite_volume = sv\n[job]\ndata_mount_point = //\n"
			"[mounts]\nd = /srv/d\n",
			"config: [job] data_mount_point must be an absolute path below `/`");
}

static void test_validate_bind_mode(void **state)
{
	struct fx *f = *state;

	/* volumes do not stand in for the path in bind mode, and a mix of them
	 * is not judged there */
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = bind\n"
			"[volume]\nstartup_volume = st\nlocal_volume = lo\n",
			"config: [workspace] path is not set");
	expect_validate(f, "[site]\nname = s\n[volume]\nsite_volume = sv\n",
			"config: [workspace] path is not set");
	expect_validate(f,
			"[site]\nname = s\n[workspace]\npath = /srv/ws\n"
			"[volume]\nsite_volume = sv\nstartup_volume = st\n",
			NULL);
}

/* [workspace] host_path: optional in bind mode (the engine then gets path),
 * never a stand-in for path, and refused in volume mode. */
static void test_validate_host_path(void **state)
{
	struct fx *f = *state;

	expect_validate(f, "[site]\nname = s\n[workspace]\npath = /site\nhost_path = /srv/ws\n",
			NULL);
	expect_validate(f, "[site]\nname = s\n[workspace]\nhost_path = /srv/ws\n",
			"config: [workspace] path is not set");
	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\nhost_path = /srv/ws\n"
			"[volume]\nsite_volume = sv\n",
			"config: [workspace] host_path is for bind mode");
	/* however the files are layered: volume mode in a later file */
	expect_loaded(f, load_named(f, "a.ini",
				    "[site]\nname = s\n[workspace]\npath = /site\n"
				    "host_path = /srv/ws\n[volume]\nsite_volume = sv\n"));
	assert_string_equal(f->cfg.ws_host_path, "/srv/ws");
	assert_int_equal(jc_config_validate(&f->cfg, &f->err), 0);
	expect_loaded(f, load_named(f, "b.ini", "[workspace]\nmode = volume\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_CONFIG);
	assert_int_equal(f->err.status, EINVAL);
	assert_string_equal(f->err.msg, "config: [workspace] host_path is for bind mode");
	jc_error_clear(&f->err);
	/* an empty value unsets it again, and volume mode is fine */
	expect_loaded(f, load_named(f, "c.ini", "[workspace]\nhost_path =\n"));
	assert_null(f->cfg.ws_host_path);
	assert_int_equal(jc_config_validate(&f->cfg, &f->err), 0);
}

/* [volume] size caps a job's volume; a bound job directory has no cap to
 * set, so bind mode refuses it.  [output] keys take sizes and numbers. */
static void test_validate_volume_size_and_output(void **state)
{
	struct fx *f = *state;

	expect_validate(f,
			"[site]\nname = s\n[workspace]\nmode = volume\n"
			"[volume]\nsite_volume = sv\nsize = 1g\n",
			NULL);
	expect_validate(f, "[site]\nname = s\n[workspace]\npath = /site\n[volume]\nsize = 1g\n",
			"config: [volume] size is for volume mode: a bound job directory cannot "
			"be capped");
	expect_loaded(f, load_named(f, "o.ini",
				    "[site]\nname = s\n[workspace]\npath = /site\n"
				    "[volume]\nsize = 2m\n"
				    "[output]\nmax_bytes = 0\nmax_members = 0\nmax_depth = 0\n"));
	assert_int_equal(f->cfg.volume_size, 2 << 20);
	assert_int_equal(f->cfg.output_max_bytes, 0);
	assert_int_equal(f->cfg.output_max_members, 0);
	assert_int_equal(f->cfg.output_max_depth, 0);
}

/* A later file that goes back to bind mode needs the path again. */
static void test_validate_mode_layered(void **state)
{
	struct fx *f = *state;
	jc_error e = { 0 };

	expect_loaded(f, load_named(f, "a.ini",
				    "[site]\nname = s\n[workspace]\nmode = volume\n"
				    "[volume]\nsite_volume = sv\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), 0);
	expect_loaded(f, load_named(f, "b.ini", "[workspace]\nmode = bind\n"));
	assert_int_equal(jc_config_validate(&f->cfg, &e), -1);
	assert_string_equal(e.msg, "config: [workspace] path is not set");
	jc_error_clear(&e);
}

/* ---- the reference file ----------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp)
		return NULL;
	n = getdelim(&buf, &cap, '\0', fp);
	fclose(fp);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Does `text` have a line "key =" (or "; key =", documented but commented
 * out) inside [section]? */
static bool file_has_key(const char *text, const char *section, const char *key)
{
	char cur[64] = "";
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *p = line;

		if (*p == '[') {
			const char *end = memchr(p, ']', len);
			if (end && (size_t)(end - p - 1) < sizeof(cur))
				snprintf(cur, sizeof(cur), "%.*s", (int)(end - p - 1), p + 1);
		} else if (strcmp(cur, section) == 0) {
			if (*p == ';' || *p == '#')
				p++;
			while (*p == ' ')
				p++;
			if ((size_t)(p - line) + klen <= len && strncmp(p, key, klen) == 0) {
				p += klen;
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p == '=')
					return true;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

static void test_reference_file(void **state)
{
	const char *path = SRCDIR "/config/jobcell.ini";
	struct jc_config c;
	jc_error e = { 0 };
	size_t n = 0;
	const struct jc_config_key *k = jc_config_keys(&n);
	char *text;
	int missing = 0;

	(void)state;
	text = slurp(path);
	if (!text)
		fail_msg("cannot read the reference file %s", path);
	assert_int_equal(jc_config_init(&c, &e), 0);
	if (jc_config_load(&c, path, &e) != 0)
		print_error("%s does not load: %s\n", path, e.msg);
	for (size_t i = 0; i < c.problems.n; i++)
		print_error("  %s\n", c.problems.v[i]);
	for (size_t i = 0; i < n; i++) {
		if (!file_has_key(text, k[i].section, k[i].key)) {
			print_error("%s lacks `%s =` in [%s]\n", path, k[i].key, k[i].section);
			missing++;
		}
	}
	assert_null(e.msg);
	assert_int_equal(c.problems.n, 0);
	assert_int_equal(missing, 0);
	jc_config_free(&c);
	free(text);
}

/* The example site files load and validate as they are shipped. */
static void test_example_files(void **state)
{
	static const char *const files[] = { SRCDIR "/config/examples/demo.ini",
					     SRCDIR "/config/examples/demo-volume.ini" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct jc_config c;
		jc_error e = { 0 };

		assert_int_equal(jc_config_init(&c, &e), 0);
		if (jc_config_load(&c, files[i], &e) != 0 || jc_config_validate(&c, &e) != 0)
			fail_msg("%s: %s", files[i], e.msg);
		jc_config_free(&c);
	}
}

/* The helper itself, so a broken helper cannot make the test above pass. */
static void test_file_has_key_helper(void **state)
{
	const char *t = "[engine]\nendpoint = x\n[job]\n; image = alpine\nuser=1\n"
			"imagefoo = 2\n[site]\n";

	(void)state;
	assert_true(file_has_key(t, "engine", "endpoint"));
	assert_true(file_has_key(t, "job", "image"));
	assert_true(file_has_key(t, "job", "user"));
	assert_false(file_has_key(t, "job", "endpoint"));
	assert_false(file_has_key(t, "site", "name"));
	assert_false(file_has_key(t, "job", "imagef"));
	assert_false(file_has_key(t, "job", "network"));
}

/* ---- [env] and [labels] ------------------------------------------------------ */

static void test_env_section(void **state)
{
	struct fx *f = *state;
	static const char *const layered[] = { "LANG=C.UTF-8", "_X=a = b;c", "NEW=1" };

	/* inih ends a value at " ;": what follows is a comment */
	expect_loaded(f, load_named(f, "a.ini", "[env]\nLANG = C\nHOME = /tmp\n_X = a = b ;c\n"));
	assert_string_equal(f->cfg.env.v[2], "_X=a = b");
	/* values keep `=`, spaces inside and a `;` with no space before it */
	jc_strv_free(&f->cfg.env);
	expect_loaded(f, load_named(f, "a2.ini", "[env]\nLANG = C\nHOME = /tmp\n_X = a = b;c\n"));
	assert_string_equal(f->cfg.env.v[2], "_X=a = b;c");
	/* a later file replaces a NAME in place, an empty value removes it, new
	 * names come last */
	expect_loaded(f, load_named(f, "b.ini", "[env]\nHOME =\nLANG = C.UTF-8\nNEW = 1\n"));
	assert_strv(&f->cfg.env, layered, 3);
	/* removing what is not there is fine */
	expect_loaded(f, load_named(f, "c.ini", "[env]\nABSENT =\n"));
	assert_int_equal(f->cfg.env.n, 3);
	/* names are case-sensitive */
	expect_loaded(f, load_named(f, "d.ini", "[env]\nlang = x\n"));
	assert_int_equal(f->cfg.env.n, 4);
	assert_string_equal(f->cfg.env.v[3], "lang=x");
}

static void test_env_section_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[env]\n1A = x\n", "f.ini:2: [env] 1A = `x`: environment name `1A` must start "
				     "with a letter or `_`" },
		{ "[env]\nA-B = x\n",
		  "f.ini:2: [env] A-B = `x`: environment name has a character outside [A-Za-z0-9_] "
		  "at offset 1" },
		{ "[env]\nA.B = x\n",
		  "f.ini:2: [env] A.B = `x`: environment name has a character" },
		{ "[env]\nA = \x01x\n",
		  "f.ini:2: [env] A = `\x01x`: environment value of `A` has a control character" },
		{ "[env]\nA = x\x7f\x1b\n", "environment value of `A` has a control character" },
		{ "[env]\nA = 1\nB = 2\nA = 3\n", "f.ini:4: [env] A: set twice (first at line 2)" },
		{ "[env]\nA = 1\n[labels]\nA = 2\n[env]\nA =\n",
		  "f.ini:6: [env] A: set twice (first at line 2)" },
		/* a bad name is refused even with an empty value */
		{ "[env]\n9 =\n", "f.ini:2: [env] 9 = ``: environment name `9` must start" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		void *st;
		struct fx *f;
		int rc;

		assert_int_equal(setup(&st), 0);
		f = st;
		rc = load(f, cases[i].text);
		assert_int_equal(rc, -1);
		assert_int_equal(f->err.kind, JC_ERR_CONFIG);
		if (!strstr(f->err.msg, cases[i].want))
			fail_msg("case %zu: `%s` lacks `%s`", i, f->err.msg, cases[i].want);
		teardown(&st);
	}
}

/* ---- [mounts] and data_prefixes ------------------------------------------------ */

static void test_mounts_section(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load_named(f, "a.ini",
				    "[site]\nname = lab\n[workspace]\npath = /srv/ws\n"
				    "[job]\ndata_prefixes = /srv/data, /mnt/ref/\n"
				    "[mounts]\nmodels = /srv/data/models\nref.v2 = /mnt/ref\n"
				    "gone = /srv/data/x\n"));
	expect_loaded(f, load_named(f, "b.ini", "[mounts]\ngone =\n"));
	assert_int_equal(f->cfg.data_prefixes.n, 2);
	assert_string_equal(f->cfg.data_prefixes.v[1], "/mnt/ref/");
	assert_string_equal(f->cfg.data_mount_point, "/data");
	assert_int_equal(f->cfg.mounts.n, 2);
	assert_string_equal(f->cfg.mounts.v[0], "models=/srv/data/models");
	assert_string_equal(f->cfg.mounts.v[1], "ref.v2=/mnt/ref");
	assert_int_equal(f->cfg.mounts_origin.n, 2);
	assert_non_null(strstr(f->cfg.mounts_origin.v[1], "a.ini:9"));
	assert_int_equal(jc_config_validate(&f->cfg, &f->err), 0);

	/* component-wise: /srv/data2 is not under /srv/data */
	assert_true(jc_path_within("/srv/data/x", "/srv/data"));
	assert_true(jc_path_within("/srv//data/", "/srv/data"));
	assert_true(jc_path_within("/srv/data", "/"));
	assert_false(jc_path_within("/srv/data2", "/srv/data"));
	assert_false(jc_path_within("/srv", "/srv/data"));
}

static void test_mounts_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[mounts]\n-x = /srv/data/x\n",
		  "f.ini:2: [mounts] -x = `/srv/data/x`: mount name" },
		{ "[mounts]\n.. = /srv/data/x\n", "f.ini:2: [mounts] .. = `/srv/data/x`:" },
		{ "[mounts]\nm = srv/data\n",
		  "f.ini:2: [mounts] m = `srv/data`: not an absolute path" },
		{ "[mounts]\nm = /srv/data/../etc\n", "f.ini:2: [mounts] m = `/srv/data/../etc`: "
						      "not an absolute path" },
		{ "[mounts]\nm = /var/run\n",
		  "data mount `/var/run` contains the engine socket `/var/run/docker.sock`" },
		{ "[mounts]\nm = /run/docker.sock\n",
		  "data mount `/run/docker.sock` is the engine socket `/run/docker.sock`" },
		{ "[mounts]\nm = /run/podman/podman.sock/x\n", "lies under the engine socket" },
		{ "[engine]\nendpoint = unix:///srv/eng/e.sock\n[mounts]\nm = /srv/eng\n",
		  "f.ini:4: [mounts] m = `/srv/eng`: data mount `/srv/eng` contains the engine "
		  "socket `/srv/eng/e.sock`" },
		{ "[workspace]\npath = /srv/ws\n[mounts]\nm = /srv/ws/startup\n",
		  "lies under the site workspace `/srv/ws`" },
		{ "[job]\ndata_prefixes = /\n", "f.ini:2: [job] data_prefixes = `/`: data prefix "
						"`/` contains the engine socket" },
		{ "[job]\ndata_prefixes = /srv/data, rel\n", "`rel` is not an absolute path" },
		{ "[workspace]\npath = /srv/ws\n[job]\ndata_prefixes = /srv\n",
		  "data prefix `/srv` contains the site workspace `/srv/ws`" },
		{ "[mounts]\na = /x\na = /y\n",
		  "f.ini:3: [mounts] a: set twice (first at line 2)" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		void *st;
		struct fx *f;
		int rc;

		assert_int_equal(setup(&st), 0);
		f = st;
		rc = load(f, cases[i].text);
		assert_int_equal(rc, -1);
		assert_int_equal(f->err.kind, JC_ERR_CONFIG);
		if (!strstr(f->err.msg, cases[i].want))
			fail_msg("case %zu: `%s` lacks `%s`", i, f->err.msg, cases[i].want);
		teardown(&st);
	}
}

/* What only validate can judge, once every file is read: the prefix rule,
 * and the socket and workspace rules against keys set after the mount. */
static void test_mounts_validate(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[job]\ndata_prefixes = /srv/data\n[mounts]\nm = /srv/data2/x\n",
		  "f.ini:4: [mounts] m = `/srv/data2/x`: not under any of [job] data_prefixes" },
		{ "[mounts]\nm = /srv/data/x\n",
		  "f.ini:2: [mounts] m = `/srv/data/x`: not under any of [job] data_prefixes" },
		{ "[mounts]\nm = /srv/ws/x\n[workspace]\npath = /srv/ws\n",
		  "f.ini:2: [mounts] m: data mount `/srv/ws/x` lies under the site workspace" },
		{ "[job]\ndata_prefixes = /srv\n[engine]\nendpoint = unix:///srv/d.sock\n",
		  "[job] data_prefixes: data prefix `/srv` contains the engine socket" },
		{ "[job]\ndata_prefixes = /srv/data\ndata_mount_point = /workspace/d\n"
		  "[mounts]\nm = /srv/data/x\n",
		  "data_mount_point `/workspace/d` must not be at, under or above" },
		{ "[job]\ndata_prefixes = /srv/data\ndata_mount_point =\n"
		  "[mounts]\nm = /srv/data/x\n",
		  "data_mount_point must be an absolute path below `/`" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		void *st;
		struct fx *f;

		assert_int_equal(setup(&st), 0);
		f = st;
		if (load(f, "[site]\nname = lab\n[workspace]\npath = /w0\n") != 0 ||
		    load_named(f, "f.ini", cases[i].text) != 0)
			fail_msg("case %zu loads with %s", i, f->err.msg);
		assert_int_equal(jc_config_validate(&f->cfg, &f->err), -1);
		assert_int_equal(f->err.kind, JC_ERR_CONFIG);
		if (!strstr(f->err.msg, cases[i].want))
			fail_msg("case %zu: `%s` lacks `%s`", i, f->err.msg, cases[i].want);
		teardown(&st);
	}
}

/* [workspace] job_path and scratch: what only validate can judge.  A
 * job_path clear of everything else mounted and scratch names clear of the
 * root's own children load and validate. */
static void test_job_path_scratch_validate(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "job_path = /\n", "job_path `/` must be an absolute path below `/`" },
		{ "job_path = ///\n", "job_path `///` must be an absolute path below `/`" },
		{ "job_path = /proc\n", "job_path `/proc` is at or under `/proc`" },
		{ "job_path = /sys/x\n", "is at or under `/sys`" },
		{ "job_path = /dev/shm\n", "is at or under `/dev`" },
		{ "job_path = /etc/\n", "is at or under `/etc`" },
		{ "job_path = /tmp/in\n", "is at or under `/tmp`" },
		{ "job_path = /run\n", "is at or under `/run`" },
		{ "job_path = /var/tmp\n", "is at or under `/var/tmp`" },
		{ "job_path = /workspace\n",
		  "must not be at, under or above [workspace] mount_point" },
		{ "job_path = /workspace/startup\n", "must not be at, under or above" },
		{ "job_path = /workspace/j\n", "must not be at, under or above" },
		{ "mount_point = /w/root\njob_path = /w\n", "must not be at, under or above" },
		{ "job_path = /data/in\n",
		  "must not be at, under or above [job] data_mount_point" },
		{ "job_path = /.jobcell-gate\n", "is the mount gate's path" },
		{ "scratch = startup\n", "[workspace] scratch: job name `startup` is reserved" },
		{ "scratch = Local\n", "job name `Local` is reserved" },
		{ "reserved = inbox\nscratch = inbox\n", "job name `inbox` is reserved" },
		{ "scratch = a, b, a\n", "[workspace] scratch names `a` twice" },
		{ "scratch = a\nscratch_size = 0\n", "scratch_size must be more than 0" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		void *st;
		struct fx *f;
		char text[256];

		assert_int_equal(setup(&st), 0);
		f = st;
		snprintf(text, sizeof(text), "[site]\nname = lab\n[workspace]\npath = /w0\n%s",
			 cases[i].text);
		if (load_named(f, "f.ini", text) != 0) {
			fail_msg("case %zu loads with %s", i, f->err.msg);
		}
		assert_int_equal(jc_config_validate(&f->cfg, &f->err), -1);
		assert_int_equal(f->err.kind, JC_ERR_CONFIG);
		if (!strstr(f->err.msg, cases[i].want))
			fail_msg("case %zu: `%s` lacks `%s`", i, f->err.msg, cases[i].want);
		teardown(&st);
	}
	/* a name that is no name never gets as far: the list's parser */
	{
		void *st;
		assert_int_equal(setup(&st), 0);
		assert_int_equal(load_named(st, "f.ini", "[workspace]\nscratch = .x\n"), -1);
		assert_non_null(
		    strstr(((struct fx *)st)->err.msg, "scratch = `.x`: not a list of names"));
		teardown(&st);
	}
	/* `..` never gets as far */
	{
		void *st;
		assert_int_equal(setup(&st), 0);
		assert_int_equal(load_named(st, "f.ini", "[workspace]\njob_path = /in/../etc\n"),
				 -1);
		assert_non_null(strstr(((struct fx *)st)->err.msg, "job_path"));
		teardown(&st);
	}
	/* fine: a path elsewhere, scratch names of their own */
	{
		void *st;
		struct fx *f;
		assert_int_equal(setup(&st), 0);
		f = st;
		assert_int_equal(load_named(f, "f.ini",
					    "[site]\nname = lab\n[workspace]\npath = /w0\n"
					    "job_path = /inputs\nscratch = snapshot-storage, "
					    "jobs-storage\nscratch_size = 8m\n"),
				 0);
		assert_int_equal(jc_config_validate(&f->cfg, &f->err), 0);
		assert_string_equal(f->cfg.job_path, "/inputs");
		assert_int_equal(f->cfg.scratch.n, 2);
		assert_int_equal(f->cfg.scratch_size, 8 << 20);
		/* no request changes them */
		assert_int_equal(jc_config_override(&f->cfg, "job_path", "/x", &f->err), -1);
		assert_int_equal(f->err.status, EPERM);
		jc_error_clear(&f->err);
		assert_int_equal(jc_config_override(&f->cfg, "scratch", "x", &f->err), -1);
		assert_int_equal(f->err.status, EPERM);
		teardown(&st);
	}
}

/* No job request may change what is mounted. */
static void test_mounts_not_overridable(void **state)
{
	struct fx *f = *state;

	assert_int_equal(jc_config_override(&f->cfg, "data_prefixes", "/", &f->err), -1);
	assert_int_equal(f->err.status, EPERM);
	jc_error_clear(&f->err);
	assert_int_equal(jc_config_override(&f->cfg, "data_mount_point", "/x", &f->err), -1);
	assert_int_equal(f->err.status, EPERM);
	jc_error_clear(&f->err);
	assert_int_equal(jc_config_override(&f->cfg, "mounts", "/", &f->err), -1);
	assert_int_equal(f->err.status, EPERM);
	expect_problem(f, load(f, "[job]\noverridable = data_prefixes\n"), 2,
		       "[job] overridable = `data_prefixes`: `data_prefixes` is one of the keys");
}

/* A tab is the one control character a value may hold. */
static void test_env_tab(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load(f, "[env]\nA = x\ty\n"));
	assert_string_equal(f->cfg.env.v[0], "A=x\ty");
}

static void test_labels_section(void **state)
{
	struct fx *f = *state;
	static const char *const want[] = { "org.example.team=lab", "a=x y", "9_-.=v" };
	char text[600], key[200];

	expect_loaded(f, load_named(f, "a.ini",
				    "[labels]\norg.example.team = lab\na = x y\n9_-. = v\n"
				    "gone = soon\n"));
	expect_loaded(f, load_named(f, "b.ini", "[labels]\ngone =\n"));
	assert_strv(&f->cfg.labels, want, 3);

	/* a key of 128 characters is fine; so is a value of 180 (a line holds 198) */
	memset(key, 'k', 128);
	key[128] = '\0';
	snprintf(text, sizeof(text), "[labels]\n%s = v\n", key);
	expect_loaded(f, load_named(f, "c.ini", text));
	assert_int_equal(f->cfg.labels.n, 4);
}

static void test_labels_section_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[labels]\njobcell.managed = false\n",
		  "f.ini:2: [labels] jobcell.managed = `false`: refused: labels that would "
		  "overwrite jobcell's own (`jobcell.*`)" },
		{ "[labels]\njobcell.site = other\n", "refused: labels that would overwrite" },
		{ "[labels]\nJobCell.supervisor = x\n", "refused: labels that would overwrite" },
		{ "[labels]\njobcell. = x\n", "refused: labels that would overwrite" },
		/* refused even to remove */
		{ "[labels]\njobcell.keep =\n", "refused: labels that would overwrite" },
		{ "[labels]\n.a = x\n",
		  "f.ini:2: [labels] .a = `x`: not a label key: want [A-Za-z0-9][A-Za-z0-9_.-]*" },
		{ "[labels]\n-a = x\n", "not a label key" },
		{ "[labels]\na/b = x\n", "not a label key" },
		{ "[labels]\na b = x\n", "not a label key" },
		{ "[labels]\na = \x01\n",
		  "f.ini:2: [labels] a = `\x01`: label value has a character that is not printable "
		  "ASCII" },
		{ "[labels]\na = caf\xc3\xa9\n",
		  "label value has a character that is not printable" },
		{ "[labels]\na = x\ty\n", "label value has a character that is not printable" },
		{ "[labels]\na = 1\na = 2\n", "f.ini:3: [labels] a: set twice (first at line 2)" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		void *st;
		struct fx *f;

		assert_int_equal(setup(&st), 0);
		f = st;
		assert_int_equal(load(f, cases[i].text), -1);
		assert_int_equal(f->err.kind, JC_ERR_CONFIG);
		if (!strstr(f->err.msg, cases[i].want))
			fail_msg("case %zu: `%s` lacks `%s`", i, f->err.msg, cases[i].want);
		/* nothing refused was taken; set twice keeps the first */
		assert_int_equal(f->cfg.labels.n, strstr(cases[i].want, "set twice") ? 1 : 0);
		teardown(&st);
	}
}

/* Keys and values past the limits; lines hold at most 198 characters, so
 * a value of 257 cannot be written at all. */
static void test_labels_limits(void **state)
{
	struct fx *f = *state;
	char text[600], key[200];

	memset(key, 'k', 129);
	key[129] = '\0';
	snprintf(text, sizeof(text), "[labels]\n%s = v\n", key);
	assert_int_equal(load(f, text), -1);
	assert_non_null(strstr(f->err.msg, "f.ini:2: [labels] kkkk"));
	assert_non_null(strstr(f->err.msg, "k = `v`: not a label key: want 1 to 128 characters"));
}

/* [env] and [labels] are sections without keys: any other section still
 * refuses unknown keys, and the two are not keys of [job]. */
static void test_entry_sections_are_not_keys(void **state)
{
	struct fx *f = *state;

	expect_problem(f, load(f, "[job]\nenv = A=1\n"), 2, "unknown key `env` in [job]");
	jc_strv_free(&f->cfg.problems);
	expect_problem(f, load(f, "[job]\nlabels = a\n"), 2, "unknown key `labels` in [job]");
	jc_strv_free(&f->cfg.problems);
	expect_problem(f, load(f, "[ENV]\nA = 1\n"), 1, "unknown section [ENV]");
}

/* ---- network ------------------------------------------------------------------ */

static void test_network_names(void **state)
{
	static const char *const good[] = {
		"none",
		"bridge",
		"my-net",
		"net_1.x",
		"a",
		"n123456789012345678901234567890123456789012345678901234567890123", /* 64 */
	};
	struct fx *f = *state;
	jc_error e = { 0 };

	for (size_t i = 0; i < N(good); i++) {
		char text[128];
		snprintf(text, sizeof(text), "[job]\nnetwork = %s\n", good[i]);
		expect_loaded(f, load_named(f, "n.ini", text));
		assert_string_equal(f->cfg.network, good[i]);
		assert_int_equal(jc_config_check_network(good[i], &e), 0);
	}
	assert_int_equal(jc_config_check_network("host", &e), -1);
	assert_int_equal(e.kind, JC_ERR_CONFIG);
	assert_int_equal(e.status, EINVAL);
	assert_non_null(strstr(e.msg, "host's network namespace"));
	jc_error_clear(&e);
	assert_int_equal(jc_config_check_network("container:abc", &e), -1);
	assert_non_null(strstr(e.msg, "another container's network namespace"));
	jc_error_clear(&e);
	/* a refused value leaves the earlier one */
	assert_int_equal(load(f, "[job]\nnetwork = host\n"), -1);
	assert_string_equal(f->cfg.network, good[N(good) - 1]);
}

/* ---- job requests: jc_config_override ----------------------------------------- */

static void set_overridable(struct fx *f, const char *words)
{
	char text[256];

	snprintf(text, sizeof(text), "[job]\noverridable = %s\n", words);
	expect_loaded(f, load_named(f, "over.ini", text));
}

/* An override refused: kind, status and a part of the message; cfg as it
 * was (checked by the caller). */
static void expect_override_refused_at(struct fx *f, const char *key, const char *value, int status,
				       const char *part, const char *file, int line)
{
	jc_error e = { 0 };
	int rc = jc_config_override(&f->cfg, key, value, &e);

	if (rc != -1 || e.kind != JC_ERR_INPUT || e.status != status || !e.msg ||
	    !strstr(e.msg, part)) {
		print_error("override %s=%s gave %d %s/%d `%s`, want -1 input/%d with `%s`\n", key,
			    value, rc, jc_error_kind_name(e.kind), e.status,
			    e.msg ? e.msg : "(none)", status, part);
		_fail(file, line);
	}
	jc_error_clear(&e);
}
#define expect_override_refused(f, key, value, status, part)                                       \
	expect_override_refused_at((f), (key), (value), (status), (part), __FILE__, __LINE__)

static void expect_override_at(struct fx *f, const char *key, const char *value, const char *file,
			       int line)
{
	jc_error e = { 0 };

	if (jc_config_override(&f->cfg, key, value, &e) != 0 || e.msg) {
		print_error("override %s=%s refused: %s\n", key, value, e.msg ? e.msg : "");
		_fail(file, line);
	}
}
#define expect_override(f, key, value) expect_override_at((f), (key), (value), __FILE__, __LINE__)

/* The default list keeps today's command line working. */
static void test_override_defaults(void **state)
{
	struct fx *f = *state;

	expect_override(f, "image", "busybox:1.36");
	assert_string_equal(f->cfg.image, "busybox:1.36");
	expect_override(f, "timeout", "90s");
	assert_int_equal(f->cfg.timeout_ms, 90000);
	assert_true(jc_config_overridable(&f->cfg, "image"));
	assert_true(jc_config_overridable(&f->cfg, "timeout"));
	assert_true(jc_config_overridable(&f->cfg, "env"));
	assert_false(jc_config_overridable(&f->cfg, "memory"));
	assert_false(jc_config_overridable(&f->cfg, "network"));
	assert_false(jc_config_overridable(&f->cfg, "endpoint"));
	/* the site's timeout was 0 (none): any is a tightening; now 90s is the
	 * limit the next setting is held to */
	expect_override_refused(f, "timeout", "91s", EPERM,
				"job request sets `timeout` = `91s`: 91000ms is above the site's "
				"limit of 90000ms: a request may lower a limit, never raise it");
	assert_int_equal(f->cfg.timeout_ms, 90000);
}

/* A key the site does not list: refused with EPERM, naming the key. */
static void test_override_not_listed(void **state)
{
	struct fx *f = *state;

	expect_override_refused(f, "memory", "1g", EPERM,
				"job request sets `memory`, which the site does not list in [job] "
				"overridable");
	assert_int_equal(f->cfg.memory, 0);
	set_overridable(f, "memory");
	/* image is no longer listed */
	expect_override_refused(f, "image", "busybox", EPERM,
				"job request sets `image`, which the site does not list");
	assert_null(f->cfg.image);
	expect_override(f, "memory", "1g");
	assert_int_equal(f->cfg.memory, INT64_C(1) << 30);
}

/* The keys no request may change, even when the list names them (a list
 * built by other means than the loader, which refuses them). */
static void test_override_never(void **state)
{
	/* transfer_timeout is part of the deadline gc trusts (jobcell.deadline) */
	static const char *const never[] = { "user",     "network",           "cap_drop",
					     "cap_add",  "no_new_privileges", "readonly_rootfs",
					     "pass_env", "overridable",       "transfer_timeout" };
	static const char *const other[] = {
		"endpoint",    "name",      "mode",          "path",           "host_path",
		"mount_point", "root_mode", "root_readonly", "root_size",      "job_mode",
		"reserved",    "tenant",    "run",           "startup_volume", "local_volume",
		"site_volume", "keep",      "transfer_dir",  "labels",         "lock_dir",
		"clock_skew",
	};
	struct fx *f = *state;
	char want[160];

	for (size_t i = 0; i < N(never); i++)
		assert_int_equal(jc_strv_push(&f->cfg.overridable, never[i]), 0);
	for (size_t i = 0; i < N(other); i++)
		assert_int_equal(jc_strv_push(&f->cfg.overridable, other[i]), 0);
	for (size_t i = 0; i < N(never); i++) {
		snprintf(want, sizeof(want),
			 "job request sets `%s`, which a job request may never change", never[i]);
		expect_override_refused(f, never[i], "1", EPERM, want);
		assert_false(jc_config_overridable(&f->cfg, never[i]));
	}
	for (size_t i = 0; i < N(other); i++) {
		snprintf(want, sizeof(want),
			 "job request sets `%s`, which is no key of [job]: a job request may never "
			 "change it",
			 other[i]);
		expect_override_refused(f, other[i], "x", EPERM, want);
		assert_false(jc_config_overridable(&f->cfg, other[i]));
	}
	/* the workspace, the network and the user are as the site set them */
	assert_string_equal(f->cfg.network, "none");
	assert_null(f->cfg.user);
	assert_string_equal(f->cfg.mount_point, "/workspace");
	/* [engine] timeout is no [job] key: `timeout` is [job]'s */
	expect_override(f, "timeout", "5s");
	assert_int_equal(f->cfg.engine_timeout_ms, 30000);
	assert_int_equal(f->cfg.timeout_ms, 5000);
}

static void test_override_unknown(void **state)
{
	struct fx *f = *state;

	expect_override_refused(f, "privileged", "true", EINVAL,
				"job request sets `privileged`, which is not a key of [job]");
	expect_override_refused(f, "", "x", EINVAL, "job request sets ``, which is not a key");
	expect_override_refused(f, "a\nb", "x", EINVAL,
				"job request sets `(not printable)`, which is not a key");
	expect_override_refused(f, "Image", "x", EINVAL, "`Image`, which is not a key of [job]");
	expect_override_refused(f, "job.image", "x", EINVAL, "`job.image`, which is not a key");
	expect_override_refused(f, "env", "A=1", EINVAL,
				"job request sets `env`: give environment variables as NAME=VALUE "
				"entries (--env), not as a key");
}

/* Values are parsed as in a site file, with the same reasons; cfg stays. */
static void test_override_bad_values(void **state)
{
	static const struct {
		const char *key, *value, *why;
	} cases[] = {
		{ "memory", "lots", "not a size: want a number with k, m or g" },
		{ "memory", "1m", "below the engine's least memory limit of 6m; 0 means no limit" },
		{ "cpus", "1.2345",
		  "not a number of CPUs: want 0 (no limit) or 0.01 to 1024, at most three "
		  "decimals" },
		{ "cpus", "-1", "not a number of CPUs" },
		{ "pids_limit", "-5", "not a non-negative whole number" },
		{ "timeout", "1d", "not a duration: want a number with ms, s, m or h" },
		{ "stop_grace", "1.5s", "not a duration" },
		{ "tmp_size", "1t", "not a size" },
		{ "shm_size", "", "not a size" },
		{ "gpus", "0,,1", "not a GPU request" },
		{ "image", "alpine latest",
		  "not an image reference: image has a character outside [A-Za-z0-9._/:@-]" },
		{ "image", "../../x", "not an image reference: image must start with a letter" },
	};
	struct fx *f = *state;
	char want[300];

	set_overridable(f,
			"memory cpus pids_limit timeout stop_grace tmp_size shm_size gpus image");
	expect_loaded(f, load_named(f, "img.ini", "[job]\nimage = alpine\n"));
	for (size_t i = 0; i < N(cases); i++) {
		snprintf(want, sizeof(want), "job request sets `%s` = `%s`: %s", cases[i].key,
			 cases[i].value, cases[i].why);
		expect_override_refused(f, cases[i].key, cases[i].value, EINVAL, want);
	}
	/* a value that is not printable is not echoed */
	expect_override_refused(f, "memory", "1\n2", EINVAL,
				"job request sets `memory` = `(not printable)`: not a size");
	expect_override_refused(f, "image", "", EINVAL, "job request sets `image` to nothing");
	assert_string_equal(f->cfg.image, "alpine");
	assert_int_equal(f->cfg.memory, 0);
	assert_int_equal(f->cfg.nano_cpus, 0);
	assert_int_equal(f->cfg.pids_limit, 512);
	assert_int_equal(f->cfg.timeout_ms, 0);
	assert_int_equal(f->cfg.shm_size, 64 << 20);
}

/* Limits may be lowered, never raised or lifted. */
static void test_override_limits(void **state)
{
	struct fx *f = *state;

	set_overridable(f, "memory cpus pids_limit timeout stop_grace tmp_size");
	expect_loaded(f, load_named(f, "lim.ini",
				    "[job]\nmemory = 1g\ncpus = 2\npids_limit = 100\ntimeout = 1h\n"
				    "stop_grace = 10s\ntmp_size = 64m\n"));

	expect_override_refused(
	    f, "memory", "2g", EPERM,
	    "job request sets `memory` = `2g`: 2147483648 bytes is above the "
	    "site's limit of 1073741824 bytes: a request may lower a limit, never "
	    "raise it");
	expect_override_refused(
	    f, "memory", "0", EPERM,
	    "job request sets `memory` = `0`: 0 (no limit) would lift the site's "
	    "limit of 1073741824 bytes: a request may lower a limit, never raise "
	    "or lift it");
	expect_override_refused(f, "cpus", "2.001", EPERM,
				"2.001 CPUs is above the site's limit of 2 CPUs");
	expect_override_refused(f, "cpus", "0", EPERM, "would lift the site's limit of 2 CPUs");
	expect_override_refused(f, "pids_limit", "101", EPERM,
				"101 is above the site's limit of 100");
	expect_override_refused(f, "pids_limit", "0", EPERM, "would lift the site's limit of 100");
	expect_override_refused(f, "timeout", "61m", EPERM,
				"3660000ms is above the site's limit of 3600000ms");
	expect_override_refused(f, "timeout", "0", EPERM, "0 (no limit) would lift");
	expect_override_refused(f, "stop_grace", "11s", EPERM,
				"11000ms is above the site's limit of 10000ms");
	expect_override_refused(f, "tmp_size", "65m", EPERM,
				"68157440 bytes is above the site's limit of 67108864 bytes");
	assert_int_equal(f->cfg.memory, INT64_C(1) << 30);
	assert_int_equal(f->cfg.nano_cpus, 2000000000);
	assert_int_equal(f->cfg.pids_limit, 100);
	assert_int_equal(f->cfg.timeout_ms, 3600000);
	assert_int_equal(f->cfg.stop_grace_ms, 10000);
	assert_int_equal(f->cfg.tmp_size, 64 << 20);

	/* equal and lower are fine; 0 is the least for stop_grace and tmp_size */
	expect_override(f, "memory", "1g");
	expect_override(f, "memory", "512m");
	assert_int_equal(f->cfg.memory, 512 << 20);
	expect_override(f, "cpus", "0.5");
	assert_int_equal(f->cfg.nano_cpus, 500000000);
	expect_override(f, "pids_limit", "1");
	assert_int_equal(f->cfg.pids_limit, 1);
	expect_override(f, "timeout", "30s");
	assert_int_equal(f->cfg.timeout_ms, 30000);
	expect_override(f, "stop_grace", "0");
	assert_int_equal(f->cfg.stop_grace_ms, 0);
	expect_override(f, "tmp_size", "0");
	assert_int_equal(f->cfg.tmp_size, 0);
	/* what was lowered is the new limit */
	expect_override_refused(f, "memory", "1g", EPERM, "above the site's limit of 536870912");
}

/* With no limit at the site, any value is a tightening, 0 included. */
static void test_override_no_site_limit(void **state)
{
	struct fx *f = *state;

	set_overridable(f, "memory cpus pids_limit timeout");
	expect_loaded(f, load_named(f, "lim.ini", "[job]\npids_limit = 0\n"));
	expect_override(f, "memory", "0");
	expect_override(f, "memory", "64g");
	assert_int_equal(f->cfg.memory, INT64_C(64) << 30);
	expect_override(f, "cpus", "1024");
	assert_int_equal(f->cfg.nano_cpus, INT64_C(1024) * 1000000000);
	expect_override(f, "pids_limit", "0");
	expect_override(f, "pids_limit", "100000");
	expect_override(f, "timeout", "0");
	expect_override(f, "timeout", "24h");
}

/* shm_size 0 is the engine's 64m, not "no limit". */
static void test_override_shm(void **state)
{
	struct fx *f = *state;

	set_overridable(f, "shm_size");
	expect_override(f, "shm_size", "64m");
	expect_override(f, "shm_size", "0");
	expect_override(f, "shm_size", "1m");
	expect_override_refused(
	    f, "shm_size", "0", EPERM,
	    "67108864 bytes (the engine's default) is above the site's limit of "
	    "1048576 bytes");
	expect_override_refused(f, "shm_size", "2m", EPERM, "above the site's limit");
	assert_int_equal(f->cfg.shm_size, 1 << 20);
	expect_loaded(f, load_named(f, "shm.ini", "[job]\nshm_size = 0\n"));
	expect_override_refused(f, "shm_size", "65m", EPERM,
				"68157440 bytes is above the site's limit of 67108864 bytes (the "
				"engine's default)");
	expect_override(f, "shm_size", "64m");
}

static void test_override_gpus(void **state)
{
	static const struct {
		const char *site, *req;
		bool ok;
	} cases[] = {
		{ "", "", true },           { "", "0", true },           { "", "1", false },
		{ "", "all", false },       { "", "0,1", false },        { "all", "all", true },
		{ "all", "8", true },       { "all", "GPU-a", true },    { "all", "", true },
		{ "2", "2", true },         { "2", "1", true },          { "2", "3", false },
		{ "2", "all", false },      { "2", "0,1", true },        { "2", "0,1,2", false },
		{ "2", "", true },          { "0,1", "1", false },       { "0,1", "1,0", true },
		{ "0,1", "0", true },  /* a lone number is a count: 0 is none */
		{ "0,1", "2", false }, /* a count lets the engine choose */
		{ "0,1", "0,2", false },    { "0,1", "all", false },     { "0,1", "", true },
		{ "GPU-a", "GPU-a", true }, { "GPU-a", "GPU-b", false },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		void *st;
		struct fx *f;
		char text[128];
		jc_error e = { 0 };
		int rc;

		assert_int_equal(setup(&st), 0);
		f = st;
		snprintf(text, sizeof(text), "[job]\noverridable = gpus\ngpus = %s\n",
			 cases[i].site);
		expect_loaded(f, load(f, text));
		rc = jc_config_override(&f->cfg, "gpus", cases[i].req, &e);
		if (cases[i].ok && rc != 0)
			fail_msg("site `%s`, request `%s` refused: %s", cases[i].site, cases[i].req,
				 e.msg);
		if (!cases[i].ok && (rc != -1 || e.status != EPERM || !e.msg ||
				     !strstr(e.msg, "a request may ask for no GPUs, fewer, or "
						    "some of the site's devices")))
			fail_msg("site `%s`, request `%s`: %d `%s`", cases[i].site, cases[i].req,
				 rc, e.msg ? e.msg : "");
		jc_error_clear(&e);
		teardown(&st);
	}
}

static void test_override_gpus_message(void **state)
{
	struct fx *f = *state;

	expect_loaded(f, load(f, "[job]\noverridable = gpus\ngpus = 0,GPU-a\n"));
	expect_override_refused(f, "gpus", "all", EPERM,
				"job request sets `gpus` = `all`: more than the site's `0,GPU-a`");
	expect_override(f, "gpus", "GPU-a");
	assert_int_equal(f->cfg.gpus.ids.n, 1);
	assert_string_equal(f->cfg.gpus.ids.v[0], "GPU-a");
	expect_override_refused(f, "gpus", "1", EPERM, "more than the site's `GPU-a`");
	expect_override(f, "gpus", "");
	assert_int_equal(f->cfg.gpus.ids.n, 0);
	assert_int_equal(f->cfg.gpus.count, 0);
	expect_override_refused(f, "gpus", "1", EPERM, "more than the site's `none`");
}

static void test_override_entry(void **state)
{
	struct fx *f = *state;
	jc_error e = { 0 };

	assert_int_equal(jc_config_override_entry(&f->cfg, "timeout=2m", &e), 0);
	assert_int_equal(f->cfg.timeout_ms, 120000);
	/* split at the first `=` */
	assert_int_equal(jc_config_override_entry(&f->cfg, "image=a=b", &e), -1);
	assert_non_null(strstr(e.msg, "job request sets `image` = `a=b`: not an image reference"));
	jc_error_clear(&e);
	assert_int_equal(jc_config_override_entry(&f->cfg, "timeout", &e), -1);
	assert_int_equal(e.kind, JC_ERR_INPUT);
	assert_int_equal(e.status, EINVAL);
	assert_string_equal(e.msg, "job request setting `timeout` has no `=`: want KEY=VALUE");
	jc_error_clear(&e);
	assert_int_equal(jc_config_override_entry(&f->cfg, "memory=1g", &e), -1);
	assert_int_equal(e.status, EPERM);
	assert_non_null(strstr(e.msg, "`memory`, which the site does not list"));
	jc_error_clear(&e);
}

/* An empty overridable: the request may change nothing. */
static void test_override_nothing_listed(void **state)
{
	struct fx *f = *state;

	set_overridable(f, "");
	assert_int_equal(f->cfg.overridable.n, 0);
	expect_override_refused(f, "image", "x", EPERM, "does not list in [job] overridable");
	expect_override_refused(f, "timeout", "1s", EPERM, "does not list in [job] overridable");
	assert_false(jc_config_overridable(&f->cfg, "env"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		cmocka_unit_test(test_keys_table),
		T(test_table_defaults_load),
		T(test_layering),
		T(test_layering_same_key_not_twice),
		T(test_every_key_from_file),
		T(test_empty_and_inline_comment),
		T(test_unknown_section),
		T(test_unknown_section_case),
		T(test_unknown_key),
		T(test_key_in_wrong_section),
		T(test_key_before_any_section),
		T(test_unknown_section_after_bom),
		cmocka_unit_test(test_malformed_values),
		T(test_ws_mode),
		T(test_tenant_run_length),
		T(test_volume_name_length),
		T(test_volume_unset),
		T(test_malformed_keeps_old_value),
		T(test_paths_that_are_fine),
		T(test_set_twice),
		T(test_set_twice_across_sections),
		T(test_indented_continuation),
		T(test_indented_comment_is_fine),
		T(test_long_line),
		T(test_long_line_limit),
		T(test_no_equals),
		T(test_unclosed_section),
		T(test_several_problems),
		T(test_problems_accumulate_across_files),
		T(test_syntax_error_not_dropped),
		T(test_missing_file),
		T(test_directory_as_file),
		T(test_validate),
		T(test_validate_volume_mode),
		T(test_validate_bind_mode),
		T(test_validate_host_path),
		T(test_validate_mode_layered),
		cmocka_unit_test(test_reference_file),
		cmocka_unit_test(test_example_files),
		cmocka_unit_test(test_file_has_key_helper),
		T(test_env_section),
		cmocka_unit_test(test_env_section_refused),
		T(test_mounts_section),
		cmocka_unit_test(test_mounts_refused),
		cmocka_unit_test(test_mounts_validate),
		T(test_mounts_not_overridable),
		T(test_job_path_scratch_validate),
		T(test_env_tab),
		T(test_labels_section),
		cmocka_unit_test(test_labels_section_refused),
		T(test_labels_limits),
		T(test_entry_sections_are_not_keys),
		T(test_validate_volume_size_and_output),
		T(test_network_names),
		T(test_override_defaults),
		T(test_override_not_listed),
		T(test_override_never),
		T(test_override_unknown),
		T(test_override_bad_values),
		T(test_override_limits),
		T(test_override_no_site_limit),
		T(test_override_shm),
		cmocka_unit_test(test_override_gpus),
		T(test_override_gpus_message),
		T(test_override_entry),
		T(test_override_nothing_listed),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
