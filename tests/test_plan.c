/* Config + request -> plan (plan.c) -> create body (request.c), checked by
 * parsing the JSON back; and the parsers of the engine's answers, fed both
 * good and hostile input. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "error.h"
#include "plan.h"
#include "backend.h"
#include "docker/json.h"
#include "units.h"
#include "util.h"

#define N(a)    (sizeof(a) / sizeof((a)[0]))
#define CREATED INT64_C(1700000000)

/* ---- fixture: a site config and a job request ------------------------------- */

struct fx {
	struct jc_config cfg;
	struct jc_job_request req;
	struct jc_strv cmd, env;
	struct jc_plan *plan;
	char *json;
	cJSON *root;
	jc_error err;
};

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? strdup(value) : NULL;
	if (value)
		assert_non_null(*field);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || jc_config_init(&f->cfg, &f->err) < 0) {
		free(f);
		return -1;
	}
	f->cfg.site_name = strdup("lab");
	f->cfg.ws_path = strdup("/srv/ws");
	f->cfg.image = strdup("alpine:3.20");
	if (!f->cfg.site_name || !f->cfg.ws_path || !f->cfg.image || jc_strv_push(&f->cmd, "sh") ||
	    jc_strv_push(&f->cmd, "-c") || jc_strv_push(&f->cmd, "echo hi > out.txt") ||
	    jc_strv_push(&f->env, "A=1") || jc_strv_push(&f->env, "GREETING=hello world"))
		return -1;
	f->req = (struct jc_job_request){
		.job = "job1", .cmd = f->cmd, .env = f->env, .timeout_ms = -1
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cJSON_Delete(f->root);
	free(f->json);
	jc_plan_free(f->plan);
	jc_strv_free(&f->cmd);
	jc_strv_free(&f->env);
	jc_config_free(&f->cfg);
	jc_error_clear(&f->err);
	free(f);
	return 0;
}

/* Build the plan and its create body; parse the body back into f->root. */
static void build(struct fx *f, const char *user)
{
	if (jc_plan_build(&f->cfg, &f->req, user, CREATED, &f->plan, &f->err) != 0)
		fail_msg("jc_plan_build: %s", f->err.msg);
	f->json = jc_docker_create_body(f->plan, false, &f->err);
	assert_non_null(f->json);
	assert_null(f->err.msg);
	f->root = cJSON_Parse(f->json);
	if (!cJSON_IsObject(f->root))
		fail_msg("create body is not a JSON object: %s", f->json);
}

/* ---- JSON assertions ---------------------------------------------------------- */

static const cJSON *get_at(const cJSON *o, const char *key, const char *file, int line)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j) {
		print_error("no key `%s`\n", key);
		_fail(file, line);
	}
	return j;
}
#define get(o, key) get_at((o), (key), __FILE__, __LINE__)

static void json_str_at(const cJSON *o, const char *key, const char *want, const char *file,
			int line)
{
	const cJSON *j = get_at(o, key, file, line);

	if (!cJSON_IsString(j)) {
		print_error("`%s` is not a string\n", key);
		_fail(file, line);
	}
	_assert_string_equal(j->valuestring, want, file, line);
}
#define json_str(o, key, want) json_str_at((o), (key), (want), __FILE__, __LINE__)

static void json_num_at(const cJSON *o, const char *key, double want, const char *file, int line)
{
	const cJSON *j = get_at(o, key, file, line);

	if (!cJSON_IsNumber(j) || j->valuedouble != want) {
		print_error("`%s` is %s, want %.0f\n", key,
			    cJSON_IsNumber(j) ? "another number" : "not a number", want);
		_fail(file, line);
	}
}
#define json_num(o, key, want) json_num_at((o), (key), (want), __FILE__, __LINE__)

static void json_bool_at(const cJSON *o, const char *key, bool want, const char *file, int line)
{
	const cJSON *j = get_at(o, key, file, line);

	if (!cJSON_IsBool(j) || cJSON_IsTrue(j) != want) {
		print_error("`%s` is not %s\n", key, want ? "true" : "false");
		_fail(file, line);
	}
}
#define json_bool(o, key, want) json_bool_at((o), (key), (want), __FILE__, __LINE__)

/* An array of exactly these strings, in order. */
static void json_strs_at(const cJSON *o, const char *key, const char *const *want, size_t n,
			 const char *file, int line)
{
	const cJSON *a = get_at(o, key, file, line);
	size_t i = 0;
	const cJSON *it;

	if (!cJSON_IsArray(a)) {
		print_error("`%s` is not an array\n", key);
		_fail(file, line);
	}
	_assert_int_equal((LargestIntegralType)cJSON_GetArraySize(a), n, file, line);
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it)) {
			print_error("`%s`[%zu] is not a string\n", key, i);
			_fail(file, line);
		}
		_assert_string_equal(it->valuestring, want[i], file, line);
		i++;
	}
}
#define json_strs(o, key, ...)                                                                     \
	json_strs_at((o), (key), (const char *const[]){ __VA_ARGS__ },                             \
		     sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *),          \
		     __FILE__, __LINE__)
#define json_empty_array(o, key) json_strs_at((o), (key), NULL, 0, __FILE__, __LINE__)

/* The object has exactly these keys (in any order). */
static void json_keys_at(const cJSON *o, const char *const *want, size_t n, const char *file,
			 int line)
{
	const cJSON *it;

	if (!cJSON_IsObject(o)) {
		print_error("not an object\n");
		_fail(file, line);
	}
	cJSON_ArrayForEach(it, o)
	{
		size_t i;
		for (i = 0; i < n && strcmp(it->string, want[i]) != 0; i++)
			;
		if (i == n) {
			print_error("unexpected key `%s`\n", it->string);
			_fail(file, line);
		}
	}
	for (size_t i = 0; i < n; i++)
		get_at(o, want[i], file, line);
	_assert_int_equal((LargestIntegralType)cJSON_GetArraySize(o), n, file, line);
}
#define json_keys(o, ...)                                                                          \
	json_keys_at((o), (const char *const[]){ __VA_ARGS__ },                                    \
		     sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *),          \
		     __FILE__, __LINE__)

/* jobcell's labels in `labels`: every key jc_labels_build knows is there
 * (one left out would be the image's to set), those of `set` ("key=value")
 * with that value, every other one "".  Other keys are not looked at. */
static void own_labels_at(const cJSON *labels, const char *const *set, size_t n,
			  const char *file, int line)
{
	struct jc_label all[JC_LABELS_MAX];
	size_t nall = jc_labels_build(&(struct jc_labels){ 0 }, all);

	for (size_t k = 0; k < nall; k++) {
		const char *want = "";
		size_t kl = strlen(all[k].key);
		for (size_t i = 0; i < n; i++)
			if (!strncmp(set[i], all[k].key, kl) && set[i][kl] == '=')
				want = set[i] + kl + 1;
		json_str_at(labels, all[k].key, want, file, line);
	}
}
#define own_labels(o, ...)                                                                         \
	own_labels_at((o), (const char *const[]){ __VA_ARGS__ },                                   \
		      sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *),         \
		      __FILE__, __LINE__)

static void bind_mount_at(const cJSON *m, const char *src, const char *dst, bool ro,
			  const char *file, int line)
{
	json_keys_at(m,
		     (const char *const[]){ "Type", "Source", "Target", "ReadOnly", "BindOptions" },
		     5, file, line);
	json_str_at(m, "Type", "bind", file, line);
	json_str_at(m, "Source", src, file, line);
	json_str_at(m, "Target", dst, file, line);
	json_bool_at(m, "ReadOnly", ro, file, line);
	json_keys_at(get_at(m, "BindOptions", file, line), (const char *const[]){ "Propagation" },
		     1, file, line);
	json_str_at(get_at(m, "BindOptions", file, line), "Propagation", "rprivate", file, line);
}
#define bind_mount(m, src, dst, ro) bind_mount_at((m), (src), (dst), (ro), __FILE__, __LINE__)

static void tmpfs_mount_at(const cJSON *m, const char *dst, bool ro, double mode, double size,
			   const char *file, int line)
{
	const cJSON *t;

	json_keys_at(m, (const char *const[]){ "Type", "Target", "ReadOnly", "TmpfsOptions" }, 4,
		     file, line);
	json_str_at(m, "Type", "tmpfs", file, line);
	json_str_at(m, "Target", dst, file, line);
	json_bool_at(m, "ReadOnly", ro, file, line);
	t = get_at(m, "TmpfsOptions", file, line);
	json_keys_at(t, (const char *const[]){ "SizeBytes", "Mode" }, 2, file, line);
	json_num_at(t, "Mode", mode, file, line);
	json_num_at(t, "SizeBytes", size, file, line);
}
#define tmpfs_mount(m, dst, ro, mode, size)                                                        \
	tmpfs_mount_at((m), (dst), (ro), (mode), (size), __FILE__, __LINE__)

/* HostConfig.Tmpfs holds the read-only workspace root, and /run and /var/tmp. */
static void ro_root_at(const cJSON *hc, const char *target, const char *opts, const char *file,
		       int line)
{
	const cJSON *t = get_at(hc, "Tmpfs", file, line);

	/* on a read-only root (the fixture's), /run and /var/tmp are named too,
	 * read-only with run_size 0, so that no engine adds its own */
	json_keys_at(t, (const char *const[]){ target, "/run", "/var/tmp" }, 3, file, line);
	json_str_at(t, target, opts, file, line);
	json_str_at(t, "/run", "ro,mode=0755,size=65536", file, line);
	json_str_at(t, "/var/tmp", "ro,mode=0755,size=65536", file, line);
}
#define ro_root(hc, target, opts) ro_root_at((hc), (target), (opts), __FILE__, __LINE__)

/* A named volume; `subpath` NULL: the whole volume. */
static void volume_mount_at(const cJSON *m, const char *src, const char *subpath, const char *dst,
			    bool ro, const char *file, int line)
{
	const cJSON *vo;

	json_keys_at(
	    m, (const char *const[]){ "Type", "Source", "Target", "ReadOnly", "VolumeOptions" }, 5,
	    file, line);
	json_str_at(m, "Type", "volume", file, line);
	json_str_at(m, "Source", src, file, line);
	json_str_at(m, "Target", dst, file, line);
	json_bool_at(m, "ReadOnly", ro, file, line);
	vo = get_at(m, "VolumeOptions", file, line);
	if (subpath) {
		json_keys_at(vo, (const char *const[]){ "NoCopy", "Subpath" }, 2, file, line);
		json_str_at(vo, "Subpath", subpath, file, line);
	} else {
		json_keys_at(vo, (const char *const[]){ "NoCopy" }, 1, file, line);
	}
	/* never fill a volume from the image */
	json_bool_at(vo, "NoCopy", true, file, line);
}
#define volume_mount(m, src, subpath, dst, ro)                                                     \
	volume_mount_at((m), (src), (subpath), (dst), (ro), __FILE__, __LINE__)

static const cJSON *mounts(const struct fx *f, int n)
{
	const cJSON *m = get(get(f->root, "HostConfig"), "Mounts");

	assert_true(cJSON_IsArray(m));
	assert_int_equal(cJSON_GetArraySize(m), n);
	return m;
}

/* Forget the last build so that the same fixture can build again. */
static void unbuild(struct fx *f)
{
	cJSON_Delete(f->root);
	free(f->json);
	jc_plan_free(f->plan);
	f->root = NULL;
	f->json = NULL;
	f->plan = NULL;
}

/* ---- the create body ------------------------------------------------------------- */

/* An entrypoint in the request replaces the image's; none leaves it be
 * (no key at all: an empty Entrypoint would also clear the image's). */
static void test_entrypoint(void **state)
{
	struct fx *f = *state;

	build(f, NULL);
	assert_null(cJSON_GetObjectItemCaseSensitive(f->root, "Entrypoint"));
	unbuild(f);
	assert_int_equal(jc_strv_push(&f->req.entrypoint, "./jobcell-probe"), 0);
	build(f, NULL);
	json_strs(f->root, "Entrypoint", "./jobcell-probe");
	json_strs(f->root, "Cmd", "sh", "-c", "echo hi > out.txt");
	jc_strv_free(&f->req.entrypoint);
}

/* run -i: the container's stdin is open for one attach, closed at its end */
static void test_create_body_stdin(void **state)
{
	struct fx *f = *state;
	char *json;
	cJSON *root;

	build(f, NULL);
	f->plan->open_stdin = true;
	json = jc_docker_create_body(f->plan, false, &f->err);
	assert_non_null(json);
	root = cJSON_Parse(json);
	assert_non_null(root);
	json_bool(root, "OpenStdin", true);
	json_bool(root, "StdinOnce", true);
	json_bool(root, "AttachStdin", true);
	json_bool(root, "Tty", false);
	cJSON_Delete(root);
	free(json);
}

static void test_create_body_defaults(void **state)
{
	struct fx *f = *state;
	const cJSON *hc, *labels, *m;

	build(f, "65532:65532");
	json_keys(f->root, "Image", "Cmd", "Env", "User", "WorkingDir", "Tty", "OpenStdin",
		  "StdinOnce", "AttachStdin", "StopTimeout", "Labels", "HostConfig");
	json_str(f->root, "Image", "alpine:3.20");
	json_strs(f->root, "Cmd", "sh", "-c", "echo hi > out.txt");
	json_strs(f->root, "Env", "A=1", "GREETING=hello world");
	json_str(f->root, "User", "65532:65532");
	json_str(f->root, "WorkingDir", "/workspace/job1");
	json_bool(f->root, "Tty", false);
	json_bool(f->root, "OpenStdin", false);
	json_bool(f->root, "StdinOnce", false);
	json_bool(f->root, "AttachStdin", false);
	json_num(f->root, "StopTimeout", 10);

	labels = get(f->root, "Labels");
	/* every key of jobcell's, "" for none: no image label can stand in */
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	own_labels(labels, "jobcell.managed=true", "jobcell.site=lab", "jobcell.job=job1",
		   "jobcell.created=1700000000");

	hc = get(f->root, "HostConfig");
	/* the read-only root is in HostConfig.Tmpfs: Docker refuses archive
	 * writes beneath a read-only entry of Mounts.  The writable /tmp stays a
	 * typed tmpfs mount (commit 2be669e) */
	json_keys(hc, "NetworkMode", "Tmpfs", "Mounts", "ReadonlyRootfs", "CapDrop", "CapAdd",
		  "SecurityOpt", "PidsLimit", "ShmSize", "AutoRemove");
	json_str(hc, "NetworkMode", "none");
	json_num(hc, "ShmSize", 67108864);
	ro_root(hc, "/workspace", "ro,mode=0555,size=1048576");
	m = mounts(f, 4);
	bind_mount(cJSON_GetArrayItem(m, 0), "/srv/ws/startup", "/workspace/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 1), "/srv/ws/local", "/workspace/local", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/srv/ws/job1", "/workspace/job1", false);
	tmpfs_mount(cJSON_GetArrayItem(m, 3), "/tmp", false, 1023 /* 01777 */, 67108864);
	json_bool(hc, "ReadonlyRootfs", true);
	json_strs(hc, "CapDrop", "ALL");
	json_empty_array(hc, "CapAdd");
	json_strs(hc, "SecurityOpt", "no-new-privileges");
	json_num(hc, "PidsLimit", 512);
	json_bool(hc, "AutoRemove", false);
}

static void test_plan_fields(void **state)
{
	struct fx *f = *state;
	struct jc_plan *p;

	build(f, NULL);
	p = f->plan;
	assert_string_equal(p->name, "jobcell-lab-job1");
	assert_string_equal(p->site, "lab");
	assert_string_equal(p->job, "job1");
	assert_string_equal(p->image, "alpine:3.20");
	assert_string_equal(p->user, "");
	assert_string_equal(p->workdir, "/workspace/job1");
	assert_string_equal(p->network, "none");
	/* the plan keeps the root as its first mount; only the JSON moves it */
	assert_int_equal(p->nmounts, 7); /* with /run and /var/tmp */
	assert_int_equal(p->mounts[0].type, JC_MOUNT_TMPFS);
	assert_string_equal(p->mounts[0].target, "/workspace");
	assert_true(p->mounts[0].readonly);
	assert_null(p->mounts[0].source);
	assert_int_equal(p->mounts[0].mode, 0555);
	assert_int_equal(p->mounts[0].size, 1 << 20);
	for (size_t i = 1; i <= 3; i++) {
		assert_int_equal(p->mounts[i].type, JC_MOUNT_BIND);
		assert_null(p->mounts[i].subpath);
	}
	assert_int_equal(p->mounts[4].type, JC_MOUNT_TMPFS);
	assert_string_equal(p->mounts[4].target, "/tmp");
	assert_int_equal(p->mounts[4].mode, 01777);
	assert_int_equal(p->tmp_size, 64 << 20);
	assert_int_equal(p->nlabels, JC_LABELS_MAX);
	assert_int_equal(p->stop_grace_ms, 10000);
	assert_int_equal(p->timeout_ms, 0);
	/* the plan holds copies, not the request's strings */
	assert_ptr_not_equal(p->cmd.v, f->cmd.v);
	assert_ptr_not_equal(p->job, f->req.job);
}

static void test_container_name(void **state)
{
	char *n = jc_container_name("lab", "job1");

	(void)state;
	assert_string_equal(n, "jobcell-lab-job1");
	free(n);
}

/* No user anywhere, no command: the image's own. */
static void test_no_user_no_cmd(void **state)
{
	struct fx *f = *state;

	jc_strv_free(&f->cmd);
	f->req.cmd = f->cmd;
	build(f, NULL);
	assert_null(cJSON_GetObjectItemCaseSensitive(f->root, "User"));
	assert_null(cJSON_GetObjectItemCaseSensitive(f->root, "Cmd"));
	json_strs(f->root, "Env", "A=1", "GREETING=hello world");
}

static void test_user_sources(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.user, "1000");
	build(f, NULL);
	json_str(f->root, "User", "1000");
	unbuild(f);
	/* the caller's user wins over the site's */
	build(f, "2000:3000");
	json_str(f->root, "User", "2000:3000");
}

static void test_relaxed_site(void **state)
{
	struct fx *f = *state;
	const cJSON *hc, *m;

	f->cfg.root_readonly = false;
	f->cfg.readonly_rootfs = false;
	f->cfg.no_new_privileges = false;
	jc_strv_free(&f->cfg.cap_drop);
	assert_int_equal(jc_strv_push(&f->cfg.cap_add, "CAP_CHOWN"), 0);
	f->cfg.pids_limit = 0;
	f->cfg.tmp_size = 0;
	f->cfg.shm_size = 0; /* the engine's default: no ShmSize */
	set_str(&f->cfg.network, "bridge");
	f->cfg.root_mode = 0755;
	f->cfg.root_size = 2 << 20;
	f->cfg.stop_grace_ms = 2500;
	build(f, NULL);

	hc = get(f->root, "HostConfig");
	json_keys(hc, "NetworkMode", "Mounts", "ReadonlyRootfs", "CapDrop", "CapAdd", "AutoRemove");
	json_str(hc, "NetworkMode", "bridge");
	json_bool(hc, "ReadonlyRootfs", false);
	json_empty_array(hc, "CapDrop");
	json_strs(hc, "CapAdd", "CAP_CHOWN");
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "SecurityOpt"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "PidsLimit"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs"));
	m = mounts(f, 4); /* tmp_size 0: no /tmp mount */
	tmpfs_mount(cJSON_GetArrayItem(m, 0), "/workspace", false, 493 /* 0755 */, 2097152);
	/* the children keep their modes whatever the root's */
	bind_mount(cJSON_GetArrayItem(m, 1), "/srv/ws/startup", "/workspace/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 3), "/srv/ws/job1", "/workspace/job1", false);
	json_num(f->root, "StopTimeout", 3); /* 2.5 s rounds up */
}

static void test_tmp_size_exact(void **state)
{
	struct fx *f = *state;

	f->cfg.tmp_size = 1000;
	build(f, NULL);
	tmpfs_mount(cJSON_GetArrayItem(mounts(f, 4), 3), "/tmp", false, 1023, 1000);
	ro_root(get(f->root, "HostConfig"), "/workspace", "ro,mode=0555,size=1048576");
}

/* Every writable mount has the site's size: on a read-only root /run and
 * /var/tmp are named (Podman's read_only_tmpfs would add them of half the
 * host's memory), read-only with run_size 0, else writable of run_size;
 * tmp_size 0 makes /tmp read-only the same way. */
static void test_run_size_and_no_tmp(void **state)
{
	struct fx *f = *state;
	const cJSON *t, *m;

	f->cfg.tmp_size = 0;
	f->cfg.run_size = 2 << 20;
	build(f, NULL);
	t = get(get(f->root, "HostConfig"), "Tmpfs");
	json_keys(t, "/workspace", "/tmp");
	json_str(t, "/tmp", "ro,mode=0755,size=65536");
	m = mounts(f, 5);
	tmpfs_mount(cJSON_GetArrayItem(m, 3), "/run", false, 1023, 2097152);
	tmpfs_mount(cJSON_GetArrayItem(m, 4), "/var/tmp", false, 1023, 2097152);
	unbuild(f);
	/* a writable root: the engine adds no tmpfs of its own, nor does jobcell */
	f->cfg.readonly_rootfs = false;
	build(f, NULL);
	json_keys(get(get(f->root, "HostConfig"), "Tmpfs"), "/workspace");
	mounts(f, 3);
}

static void test_custom_mount_point(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	set_str(&f->cfg.mount_point, "/work/area");
	set_str(&f->cfg.ws_path, "/data/sites/lab/");
	build(f, NULL);
	json_str(f->root, "WorkingDir", "/work/area/job1");
	ro_root(get(f->root, "HostConfig"), "/work/area", "ro,mode=0555,size=1048576");
	m = mounts(f, 4);
	bind_mount(cJSON_GetArrayItem(m, 0), "/data/sites/lab/startup", "/work/area/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 1), "/data/sites/lab/local", "/work/area/local", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/data/sites/lab/job1", "/work/area/job1", false);
	tmpfs_mount(cJSON_GetArrayItem(m, 3), "/tmp", false, 1023, 67108864);
}

static void test_mount_point_trailing_slash(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.mount_point, "/w/");
	build(f, NULL);
	json_str(f->root, "WorkingDir", "/w/job1");
	/* the root's target is the mount point as configured */
	ro_root(get(f->root, "HostConfig"), "/w/", "ro,mode=0555,size=1048576");
	bind_mount(cJSON_GetArrayItem(mounts(f, 4), 2), "/srv/ws/job1", "/w/job1", false);
}

/* jobcell in a container on the host's engine: the bind sources are the
 * workspace as the engine sees it (host_path); the targets, the working
 * directory and everything else stay as they were. */
static void test_host_path_bind_sources(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	set_str(&f->cfg.ws_host_path, "/var/lib/sites/lab");
	build(f, NULL);
	json_str(f->root, "WorkingDir", "/workspace/job1");
	ro_root(get(f->root, "HostConfig"), "/workspace", "ro,mode=0555,size=1048576");
	m = mounts(f, 4);
	bind_mount(cJSON_GetArrayItem(m, 0), "/var/lib/sites/lab/startup", "/workspace/startup",
		   true);
	bind_mount(cJSON_GetArrayItem(m, 1), "/var/lib/sites/lab/local", "/workspace/local", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/var/lib/sites/lab/job1", "/workspace/job1", false);
	tmpfs_mount(cJSON_GetArrayItem(m, 3), "/tmp", false, 1023, 67108864);
	/* the path jobcell sees is in no mount: the engine would not find it */
	assert_null(strstr(f->json, "/srv/ws"));
	/* the plan says the same as the body */
	assert_string_equal(f->plan->mounts[3].source, "/var/lib/sites/lab/job1");
	assert_string_equal(f->plan->mounts[3].target, "/workspace/job1");
	unbuild(f);

	/* with a trailing slash and another mount point */
	set_str(&f->cfg.ws_host_path, "/host/ws/");
	set_str(&f->cfg.mount_point, "/w");
	build(f, NULL);
	json_str(f->root, "WorkingDir", "/w/job1");
	m = mounts(f, 4);
	bind_mount(cJSON_GetArrayItem(m, 0), "/host/ws/startup", "/w/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 1), "/host/ws/local", "/w/local", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/host/ws/job1", "/w/job1", false);
	unbuild(f);

	/* unset again: the sources are path's */
	set_str(&f->cfg.ws_host_path, NULL);
	build(f, NULL);
	bind_mount(cJSON_GetArrayItem(mounts(f, 4), 2), "/srv/ws/job1", "/w/job1", false);
}

/* [mounts] reach the create body as read-only binds at /data/NAME, with
 * HOST_PATH as the source in every mode. */
static void volume_mode(struct fx *f);

static void test_data_mounts(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	assert_int_equal(jc_strv_push(&f->cfg.data_prefixes, "/srv/data"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.mounts, "models=/srv/data/models"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.mounts, "ref.v2=/srv/data/ref/genome.fa"), 0);
	build(f, NULL);
	m = mounts(f, 6);
	bind_mount(cJSON_GetArrayItem(m, 3), "/srv/data/models", "/data/models", true);
	bind_mount(cJSON_GetArrayItem(m, 4), "/srv/data/ref/genome.fa", "/data/ref.v2", true);
	tmpfs_mount(cJSON_GetArrayItem(m, 5), "/tmp", false, 1023, 67108864);
	unbuild(f);

	/* jobcell in a container: the data source is still HOST_PATH */
	set_str(&f->cfg.ws_host_path, "/var/lib/sites/lab");
	set_str(&f->cfg.data_mount_point, "/in");
	build(f, NULL);
	m = mounts(f, 6);
	bind_mount(cJSON_GetArrayItem(m, 3), "/srv/data/models", "/in/models", true);
	unbuild(f);
	set_str(&f->cfg.ws_host_path, NULL);

	/* a data mount point inside the workspace tree, or /, is refused */
	set_str(&f->cfg.data_mount_point, "/workspace/data");
	assert_int_equal(jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &f->plan, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "data_mount_point"));
	jc_error_clear(&f->err);
	set_str(&f->cfg.data_mount_point, "/");
	assert_int_equal(jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &f->plan, &f->err), -1);
	jc_error_clear(&f->err);
	set_str(&f->cfg.data_mount_point, "/data");

	/* volume mode: a data mount is still a host bind */
	volume_mode(f);
	build(f, NULL);
	m = get(get(f->root, "HostConfig"), "Mounts");
	bind_mount(cJSON_GetArrayItem(m, 3), "/srv/data/models", "/data/models", true);
	unbuild(f);

	/* outside every prefix: refused, never dropped */
	assert_int_equal(jc_strv_push(&f->cfg.mounts, "x=/srv/data2/x"), 0);
	assert_int_equal(jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &f->plan, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "not under any of [job] data_prefixes"));
}

/* A writable root stays in Mounts with TmpfsOptions: only a read-only
 * tmpfs moves to HostConfig.Tmpfs. */
static void test_root_writable_stays_in_mounts(void **state)
{
	struct fx *f = *state;
	const cJSON *hc, *m;

	f->cfg.root_readonly = false;
	build(f, NULL);
	hc = get(f->root, "HostConfig");
	json_keys(hc, "NetworkMode", "Tmpfs", "Mounts", "ReadonlyRootfs", "CapDrop", "CapAdd",
		  "SecurityOpt", "PidsLimit", "ShmSize", "AutoRemove");
	json_keys(get(hc, "Tmpfs"), "/run", "/var/tmp");
	m = mounts(f, 5);
	tmpfs_mount(cJSON_GetArrayItem(m, 0), "/workspace", false, 365 /* 0555 */, 1048576);
	bind_mount(cJSON_GetArrayItem(m, 1), "/srv/ws/startup", "/workspace/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/srv/ws/local", "/workspace/local", true);
	bind_mount(cJSON_GetArrayItem(m, 3), "/srv/ws/job1", "/workspace/job1", false);
	tmpfs_mount(cJSON_GetArrayItem(m, 4), "/tmp", false, 1023, 67108864);
}

/* The Tmpfs options string: mode as four octal digits, size in bytes. */
static void test_root_tmpfs_options(void **state)
{
	static const struct {
		unsigned mode;
		int64_t size;
		const char *want;
	} cases[] = {
		{ 0750, INT64_C(2) << 20, "ro,mode=0750,size=2097152" },
		{ 05, 4096, "ro,mode=0005,size=4096" },
		{ 0, 1, "ro,mode=0000,size=1" },
		{ 01555, INT64_C(8) << 30, "ro,mode=1555,size=8589934592" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < N(cases); i++) {
		f->cfg.root_mode = cases[i].mode;
		f->cfg.root_size = cases[i].size;
		build(f, NULL);
		ro_root(get(f->root, "HostConfig"), "/workspace", cases[i].want);
		mounts(f, 4);
		unbuild(f);
	}
}

/* ---- volume mode ---------------------------------------------------------------- */

#define VOL "tenant-acme-run-r1-1700000000000-0000abcd"
#define SUP "b1946ac9-2491-4d0c-9f6d-1b5e0c3b6c1e/4026531836/1234/98765"

/* Volume mode with separate startup and local volumes; no workspace path,
 * so nothing can be bound from the host. */
static void volume_mode(struct fx *f)
{
	f->cfg.ws_mode = JC_WS_VOLUME;
	set_str(&f->cfg.ws_path, NULL);
	set_str(&f->cfg.startup_volume, "lab-startup");
	set_str(&f->cfg.local_volume, "lab-local");
	f->req.volume = VOL;
	f->req.tenant = "acme";
	f->req.run = "r1";
}

static void test_volume_mode_body(void **state)
{
	struct fx *f = *state;
	const cJSON *hc, *labels, *m;
	const struct jc_plan *p;

	volume_mode(f);
	build(f, "65532:65532");
	json_keys(f->root, "Image", "Cmd", "Env", "User", "WorkingDir", "Tty", "OpenStdin",
		  "StdinOnce", "AttachStdin", "StopTimeout", "Labels", "HostConfig");
	json_str(f->root, "WorkingDir", "/workspace/job1");
	labels = get(f->root, "Labels");
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	own_labels(labels, "jobcell.managed=true", "jobcell.site=lab", "jobcell.job=job1",
		   "jobcell.created=1700000000", "jobcell.tenant=acme", "jobcell.run=r1",
		   "jobcell.volume=" VOL);

	hc = get(f->root, "HostConfig");
	json_keys(hc, "NetworkMode", "Tmpfs", "Mounts", "ReadonlyRootfs", "CapDrop", "CapAdd",
		  "SecurityOpt", "PidsLimit", "ShmSize", "AutoRemove");
	ro_root(hc, "/workspace", "ro,mode=0555,size=1048576");
	m = mounts(f, 4);
	volume_mount(cJSON_GetArrayItem(m, 0), "lab-startup", NULL, "/workspace/startup", true);
	volume_mount(cJSON_GetArrayItem(m, 1), "lab-local", NULL, "/workspace/local", true);
	volume_mount(cJSON_GetArrayItem(m, 2), VOL, NULL, "/workspace/job1", false);
	tmpfs_mount(cJSON_GetArrayItem(m, 3), "/tmp", false, 1023, 67108864);

	p = f->plan;
	assert_int_equal(p->nmounts, 7); /* with /run and /var/tmp */
	assert_int_equal(p->mounts[0].type, JC_MOUNT_TMPFS);
	assert_string_equal(p->mounts[0].target, "/workspace");
	assert_true(p->mounts[0].readonly);
	for (size_t i = 1; i <= 3; i++) {
		assert_int_equal(p->mounts[i].type, JC_MOUNT_VOLUME);
		assert_null(p->mounts[i].subpath);
	}
	assert_string_equal(p->mounts[1].source, "lab-startup");
	assert_string_equal(p->mounts[2].source, "lab-local");
	assert_string_equal(p->mounts[3].source, VOL);
	assert_false(p->mounts[3].readonly);
	assert_int_equal(p->nlabels, JC_LABELS_MAX);
	/* the plan holds a copy of the request's volume name */
	assert_ptr_not_equal(p->mounts[3].source, f->req.volume);
}

/* One site volume: startup/ and local/ are its subpaths. */
static void test_volume_mode_site_volume(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	volume_mode(f);
	set_str(&f->cfg.startup_volume, NULL);
	set_str(&f->cfg.local_volume, NULL);
	set_str(&f->cfg.site_volume, "lab-site");
	set_str(&f->cfg.mount_point, "/w");
	build(f, NULL);
	json_str(f->root, "WorkingDir", "/w/job1");
	ro_root(get(f->root, "HostConfig"), "/w", "ro,mode=0555,size=1048576");
	m = mounts(f, 4);
	volume_mount(cJSON_GetArrayItem(m, 0), "lab-site", "startup", "/w/startup", true);
	volume_mount(cJSON_GetArrayItem(m, 1), "lab-site", "local", "/w/local", true);
	volume_mount(cJSON_GetArrayItem(m, 2), VOL, NULL, "/w/job1", false);
	tmpfs_mount(cJSON_GetArrayItem(m, 3), "/tmp", false, 1023, 67108864);
	assert_string_equal(f->plan->mounts[1].subpath, "startup");
	assert_string_equal(f->plan->mounts[2].subpath, "local");
	assert_null(f->plan->mounts[3].subpath);
}

static void test_volume_mode_keep_supervisor(void **state)
{
	struct fx *f = *state;
	const cJSON *labels;

	volume_mode(f);
	f->req.keep = true;
	f->req.supervisor = SUP;
	f->req.nonce = "0123abcd";
	f->req.volume_nonce = "00ff00ff00ff00ff";
	build(f, NULL);
	labels = get(f->root, "Labels");
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	own_labels(labels, "jobcell.managed=true", "jobcell.site=lab", "jobcell.job=job1",
		   "jobcell.created=1700000000", "jobcell.tenant=acme", "jobcell.run=r1",
		   "jobcell.volume=" VOL, "jobcell.volume_nonce=00ff00ff00ff00ff",
		   "jobcell.keep=true", "jobcell.supervisor=" SUP, "jobcell.nonce=0123abcd");
	assert_int_equal(f->plan->nlabels, JC_LABELS_MAX);

}

/* The supervisor label is not tied to volume mode; the volume-mode fields
 * of a request are ignored in bind mode. */
static void test_bind_mode_supervisor(void **state)
{
	struct fx *f = *state;
	const cJSON *labels, *m;

	f->req.supervisor = SUP;
	f->req.volume = VOL;
	f->req.tenant = "acme";
	f->req.run = "r1";
	f->req.keep = true;
	f->req.volume_nonce = "00ff00ff00ff00ff";
	build(f, NULL);
	labels = get(f->root, "Labels");
	/* bind mode: no volume and no keep, said as "" */
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	own_labels(labels, "jobcell.managed=true", "jobcell.site=lab", "jobcell.job=job1",
		   "jobcell.created=1700000000", "jobcell.supervisor=" SUP);
	m = mounts(f, 4);
	bind_mount(cJSON_GetArrayItem(m, 0), "/srv/ws/startup", "/workspace/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 1), "/srv/ws/local", "/workspace/local", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/srv/ws/job1", "/workspace/job1", false);
}

/* ---- jc_plan_check_backend ------------------------------------------------------ */

/* A backend that only answers what the plan check asks: the seam, not an
 * engine.  It speaks `api` and has subpaths from 1.45 on. */
struct stub_backend {
	struct jc_backend b;
	const char *api;
};

static const char *stub_api(const struct jc_backend *b)
{
	return ((const struct stub_backend *)b)->api;
}

static bool stub_supports(const struct jc_backend *b, enum jc_feature f, const char **need)
{
	if (need)
		*need = "Engine API 1.45";
	return f == JC_FEATURE_VOLUME_SUBPATH && strcmp(stub_api(b), "1.45") >= 0;
}

static const struct jc_backend_ops stub_ops = {
	.name = "stub",
	.api_version = stub_api,
	.supports = stub_supports,
};

static int check_api(const struct fx *f, const char *api, jc_error *err)
{
	struct stub_backend sb = { { .ops = &stub_ops, .timeout_ms = 1000 }, api };
	return jc_plan_check_backend(&f->cfg, &sb.b, err);
}

static void test_check_api_subpath(void **state)
{
	static const char *const old[] = { "1.41", "1.44" };
	struct fx *f = *state;
	jc_error err = { 0 };

	volume_mode(f);
	set_str(&f->cfg.startup_volume, NULL);
	set_str(&f->cfg.local_volume, NULL);
	set_str(&f->cfg.site_volume, "lab-site");
	build(f, NULL);
	for (size_t i = 0; i < N(old); i++) {
		assert_int_equal(check_api(f, old[i], &err), -1);
		assert_int_equal(err.kind, JC_ERR_ENGINE);
		assert_int_equal(err.status, ENOTSUP);
		assert_non_null(err.msg);
		if (!strstr(err.msg, "volume subpaths need Engine API 1.45") ||
		    !strstr(err.msg, old[i]) || !strstr(err.msg, "`lab-site`"))
			fail_msg("message `%s` lacks 1.45, %s or the volume", err.msg, old[i]);
		jc_error_clear(&err);
	}
	assert_int_equal(check_api(f, "1.45", &err), 0);
	assert_null(err.msg);
}

static void test_check_api_no_subpath(void **state)
{
	struct fx *f = *state;
	jc_error err = { 0 };

	build(f, NULL); /* bind mode */
	assert_int_equal(check_api(f, "1.41", &err), 0);
	assert_null(err.msg);
	unbuild(f);
	volume_mode(f); /* whole volumes, no subpath */
	build(f, NULL);
	assert_int_equal(check_api(f, "1.41", &err), 0);
	assert_int_equal(check_api(f, "1.44", &err), 0);
	assert_null(err.msg);
}

static void test_request_image_overrides(void **state)
{
	struct fx *f = *state;

	f->req.image = "busybox:1.36";
	build(f, NULL);
	json_str(f->root, "Image", "busybox:1.36");
	assert_string_equal(f->plan->image, "busybox:1.36");
}

static void test_image_from_request_only(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.image, NULL);
	f->req.image = "busybox";
	build(f, NULL);
	json_str(f->root, "Image", "busybox");
}

static void test_timeout_sources(void **state)
{
	static const struct {
		int64_t site, req, want;
	} cases[] = { { 60000, -1, 60000 },
		      { 60000, 5000, 5000 },
		      { 60000, 60000, 60000 },
		      { 0, -1, 0 },
		      { 0, 7200000, 7200000 } };

	for (size_t i = 0; i < N(cases); i++) {
		struct fx *f = *state;
		struct jc_plan *p = NULL;
		jc_error e = { 0 };

		f->cfg.timeout_ms = cases[i].site;
		f->req.timeout_ms = cases[i].req;
		assert_int_equal(jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &p, &e), 0);
		if (p->timeout_ms != cases[i].want)
			fail_msg("case %zu: timeout %lld, want %lld", i, (long long)p->timeout_ms,
				 (long long)cases[i].want);
		jc_plan_free(p);
	}
}

/* The site's timeout is a limit: a request may shorten it, never lengthen
 * or lift it (0 is no limit at all). */
static void test_timeout_request_cannot_lengthen(void **state)
{
	static const int64_t reqs[] = { 0, 60001, 7200000 };
	struct fx *f = *state;

	for (size_t i = 0; i < N(reqs); i++) {
		struct jc_plan *p = NULL;
		jc_error e = { 0 };

		f->cfg.timeout_ms = 60000;
		f->req.timeout_ms = reqs[i];
		assert_int_equal(jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &p, &e), -1);
		assert_null(p);
		assert_int_equal(e.kind, JC_ERR_INPUT);
		assert_int_equal(e.status, EPERM);
		assert_non_null(strstr(e.msg, "exceeds the site's [job] timeout of 60000ms"));
		jc_error_clear(&e);
	}
}

/* jobcell.deadline: created + 1 + timeout + stop_grace + 2 x engine timeout
 * + transfer_timeout,
 * each rounded up to seconds; none without a timeout or transfer_timeout. */
static void test_deadline(void **state)
{
	static const struct {
		int64_t timeout, req, grace, transfer, want;
	} cases[] = {
		{ 60000, -1, 10000, 600000, CREATED + 1 + 60 + 10 + 4 + 600 },
		{ 60000, 5000, 10000, 600000, CREATED + 1 + 5 + 10 + 4 + 600 }, /* the request's */
		{ 2500, -1, 1, 1001, CREATED + 1 + 3 + 1 + 4 + 2 },              /* rounded up */
		{ 60000, -1, 0, 1000, CREATED + 1 + 60 + 0 + 4 + 1 },
		{ 0, -1, 10000, 600000, 0 },           /* no timeout: may run for ever */
		{ 0, 7200000, 10000, 600000, CREATED + 1 + 7200 + 10 + 4 + 600 },
		{ 60000, -1, 10000, 0, 0 },            /* no transfer bound: no deadline */
	};
	struct fx *f = *state;
	const cJSON *labels;
	char want[64];

	for (size_t i = 0; i < N(cases); i++) {
		int64_t got;

		f->cfg.timeout_ms = cases[i].timeout;
		f->req.timeout_ms = cases[i].req;
		f->cfg.stop_grace_ms = cases[i].grace;
		f->cfg.transfer_timeout_ms = cases[i].transfer;
		f->cfg.engine_timeout_ms = 2000; /* twice: the kill and the wait after it */
		got = jc_plan_deadline(&f->cfg, &f->req, CREATED);
		if (got != cases[i].want)
			fail_msg("case %zu: deadline %lld, want %lld", i, (long long)got,
				 (long long)cases[i].want);
	}
	assert_int_equal(jc_plan_deadline(&f->cfg, &f->req, 0), 0);
	/* beyond any clock: as good as none */
	f->cfg.timeout_ms = 60000;
	f->cfg.transfer_timeout_ms = 1000;
	assert_int_equal(jc_plan_deadline(&f->cfg, &f->req, INT64_MAX - 5), 0);
	f->cfg.transfer_timeout_ms = 90000;
	assert_int_equal(jc_transfer_deadline(&f->cfg, CREATED), CREATED + 1 + 90);
	f->cfg.transfer_timeout_ms = 0;
	assert_int_equal(jc_transfer_deadline(&f->cfg, CREATED), 0);

	/* in the labels as given; 0 is "" */
	f->cfg.stop_grace_ms = 10000;
	f->cfg.timeout_ms = 0;
	f->req.timeout_ms = -1;
	f->req.deadline = CREATED + 700;
	build(f, NULL);
	labels = get(f->root, "Labels");
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	snprintf(want, sizeof(want), "%lld", (long long)(CREATED + 700));
	json_str(labels, "jobcell.deadline", want);
}

static void test_deadline_absent(void **state)
{
	struct fx *f = *state;

	build(f, NULL);
	json_str(get(f->root, "Labels"), "jobcell.deadline", "");
}

static void test_pretty(void **state)
{
	struct fx *f = *state;
	char *pretty;
	cJSON *a;

	build(f, NULL);
	pretty = jc_docker_create_body(f->plan, true, &f->err);
	assert_non_null(pretty);
	assert_non_null(strchr(pretty, '\n'));
	a = cJSON_Parse(pretty);
	assert_true(cJSON_Compare(a, f->root, true));
	cJSON_Delete(a);
	free(pretty);
}

/* ---- refusals ----------------------------------------------------------------- */

static void expect_refused_at(struct fx *f, enum jc_error_kind kind, const char *part,
			      const char *file, int line)
{
	struct jc_plan *p = (struct jc_plan *)(uintptr_t)0x1;
	int rc = jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &p, &f->err);

	_assert_int_equal((LargestIntegralType)rc, (LargestIntegralType)-1, file, line);
	if (p != (struct jc_plan *)(uintptr_t)0x1) {
		print_error("out-parameter assigned on failure\n");
		_fail(file, line);
	}
	if (!f->err.msg || f->err.kind != kind || f->err.status != EINVAL) {
		print_error("got %s/%d `%s`, want %s/EINVAL\n", jc_error_kind_name(f->err.kind),
			    f->err.status, f->err.msg ? f->err.msg : "(none)",
			    jc_error_kind_name(kind));
		_fail(file, line);
	}
	if (!strstr(f->err.msg, part)) {
		print_error("message `%s` lacks `%s`\n", f->err.msg, part);
		_fail(file, line);
	}
	jc_error_clear(&f->err);
}
#define expect_refused(f, kind, part) expect_refused_at((f), (kind), (part), __FILE__, __LINE__)

static void test_refuse_bad_job(void **state)
{
	static const struct {
		const char *job, *part;
	} cases[] = {
		{ "", "job name is empty" },
		{ "..", "job name `..` must start with a letter or digit" },
		{ "../etc", "job name `../etc` must start with a letter or digit" },
		{ "a/../../etc", "job name has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "job\n1", "job name has a character outside [A-Za-z0-9_.-] at offset 3" },
		{ "startup", "job name `startup` is reserved" },
		{ "Local", "job name `Local` is reserved" },
		{ "shared", "job name `shared` is reserved" },
	};
	struct fx *f = *state;

	assert_int_equal(jc_strv_push(&f->cfg.reserved, "Shared"), 0);
	for (size_t i = 0; i < N(cases); i++) {
		f->req.job = cases[i].job;
		expect_refused(f, JC_ERR_INPUT, cases[i].part);
	}
}

/* [workspace] job_path: the job's directory there, and the working
 * directory; startup/ and local/ stay beneath the root. */
static void test_job_path(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	set_str(&f->cfg.job_path, "/inputs");
	build(f, NULL);
	json_str(f->root, "WorkingDir", "/inputs");
	m = mounts(f, 4);
	bind_mount(cJSON_GetArrayItem(m, 0), "/srv/ws/startup", "/workspace/startup", true);
	bind_mount(cJSON_GetArrayItem(m, 1), "/srv/ws/local", "/workspace/local", true);
	bind_mount(cJSON_GetArrayItem(m, 2), "/srv/ws/job1", "/inputs", false);
	unbuild(f);
	volume_mode(f);
	build(f, "65532:65532");
	json_str(f->root, "WorkingDir", "/inputs");
	m = mounts(f, 4);
	volume_mount(cJSON_GetArrayItem(m, 2), VOL, NULL, "/inputs", false);
}

/* [workspace] scratch: a writable tmpfs of scratch_size each, beneath the
 * read-only root; a job may not take a scratch name. */
static void test_scratch(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	assert_int_equal(jc_strv_push(&f->cfg.scratch, "snapshot-storage"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.scratch, "jobs-storage"), 0);
	f->cfg.scratch_size = 8 << 20;
	build(f, NULL);
	ro_root(get(f->root, "HostConfig"), "/workspace", "ro,mode=0555,size=1048576");
	m = mounts(f, 6);
	tmpfs_mount(cJSON_GetArrayItem(m, 0), "/workspace/snapshot-storage", false, 1023, 8388608);
	tmpfs_mount(cJSON_GetArrayItem(m, 1), "/workspace/jobs-storage", false, 1023, 8388608);
	bind_mount(cJSON_GetArrayItem(m, 4), "/srv/ws/job1", "/workspace/job1", false);
	unbuild(f);
	f->req.job = "Jobs-Storage";
	expect_refused(f, JC_ERR_INPUT, "job name `Jobs-Storage` is a scratch directory");
}

/* --entrypoint '': the image's entrypoint cleared, sent as [""]; without a
 * command nothing would run, refused before anything is made. */
static void test_entrypoint_cleared(void **state)
{
	struct fx *f = *state;

	assert_int_equal(jc_strv_push(&f->req.entrypoint, ""), 0);
	build(f, NULL);
	json_strs(f->root, "Entrypoint", "");
	json_strs(f->root, "Cmd", "sh", "-c", "echo hi > out.txt");
	unbuild(f);
	f->req.cmd = (struct jc_strv){ 0 };
	expect_refused(f, JC_ERR_INPUT, "--entrypoint '' clears the image's entrypoint");
	jc_strv_free(&f->req.entrypoint);
}

/* --mount-volume: a kept volume read-only at its path, after the job's own;
 * volume mode only, and its path clear of job_path and of each other. */
static void test_chained_volumes(void **state)
{
	struct fx *f = *state;
	const cJSON *m;

	volume_mode(f);
	assert_int_equal(jc_strv_push(&f->req.chained, "tenant-acme-run-clone-1:/src"), 0);
	build(f, "65532:65532");
	m = mounts(f, 5);
	volume_mount(cJSON_GetArrayItem(m, 2), VOL, NULL, "/workspace/job1", false);
	volume_mount(cJSON_GetArrayItem(m, 3), "tenant-acme-run-clone-1", NULL, "/src", true);
	unbuild(f);
	set_str(&f->cfg.job_path, "/src/in");
	expect_refused(f, JC_ERR_INPUT,
		       "path `/src` must not be at, under or above [workspace] job_path");
	set_str(&f->cfg.job_path, NULL);
	assert_int_equal(jc_strv_push(&f->req.chained, "other:/src/deeper"), 0);
	expect_refused(f, JC_ERR_INPUT,
		       "must not be at, under or above another --mount-volume's path");
	jc_strv_free(&f->req.chained);
	f->cfg.ws_mode = JC_WS_BIND;
	set_str(&f->cfg.ws_path, "/srv/ws");
	assert_int_equal(jc_strv_push(&f->req.chained, "v:/src"), 0);
	expect_refused(f, JC_ERR_INPUT, "chained volumes need [workspace] mode = volume");
	jc_strv_free(&f->req.chained);
}

static void test_refuse_bad_env(void **state)
{
	struct fx *f = *state;
	struct jc_strv env = { 0 };

	assert_int_equal(jc_strv_push(&env, "OK=1"), 0);
	assert_int_equal(jc_strv_push(&env, "1A=x"), 0);
	f->req.env = env;
	expect_refused(f, JC_ERR_INPUT,
		       "job request --env: environment name `1A` must start with a letter or `_`");
	jc_strv_free(&env);
	assert_int_equal(jc_strv_push(&env, "A=a\nb"), 0);
	f->req.env = env;
	expect_refused(f, JC_ERR_INPUT,
		       "job request --env: environment value of `A` has a control character");
	jc_strv_free(&env);
	assert_int_equal(jc_strv_push(&env, "NOEQUALS"), 0);
	f->req.env = env;
	expect_refused(f, JC_ERR_INPUT, "environment entry has no `=`");
	jc_strv_free(&env);
}

static void test_refuse_bad_image(void **state)
{
	struct fx *f = *state;

	f->req.image = "alpine latest";
	expect_refused(f, JC_ERR_INPUT,
		       "image has a character outside [A-Za-z0-9._/:@-] at offset 6");
	f->req.image = "../../containers/x";
	expect_refused(f, JC_ERR_INPUT, "image must start with a letter or digit");
	f->req.image = "a/../b";
	expect_refused(f, JC_ERR_INPUT, "image `a/../b` contains `..`");
	f->req.image = NULL;
	set_str(&f->cfg.image, "bad?image");
	expect_refused(f, JC_ERR_INPUT, "image has a character outside");
}

static void test_refuse_no_image(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.image, NULL);
	expect_refused(f, JC_ERR_CONFIG, "no image: set [job] image or pass --image");
}

static void test_refuse_bad_request(void **state)
{
	struct fx *f = *state;
	struct jc_strv cmd = { 0 };

	assert_int_equal(jc_strv_push(&cmd, ""), 0);
	f->req.cmd = cmd;
	expect_refused(f, JC_ERR_INPUT, "job command is empty");
	jc_strv_free(&cmd);
	f->req.cmd = f->cmd;
	f->req.timeout_ms = -2;
	expect_refused(f, JC_ERR_INPUT, "job timeout is negative");
	f->req.timeout_ms = -1;
	f->req.deadline = -1;
	expect_refused(f, JC_ERR_INPUT, "job deadline is negative");
}

static void test_refuse_invalid_config(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.site_name, NULL);
	expect_refused(f, JC_ERR_CONFIG, "config: [site] name is not set");
	set_str(&f->cfg.site_name, "lab");
	set_str(&f->cfg.ws_path, NULL);
	expect_refused(f, JC_ERR_CONFIG, "config: [workspace] path is not set");
}

/* A plan runs as root only where the site allows it: a program linked
 * against the library cannot pass "0:0" past allow_root. */
static void test_refuse_root_without_allow_root(void **state)
{
	struct fx *f = *state;
	struct jc_plan *p = NULL;

	f->cfg.allow_root = false;
	assert_int_equal(jc_plan_build(&f->cfg, &f->req, "0:0", CREATED, &p, &f->err), -1);
	assert_null(p);
	assert_int_equal(f->err.kind, JC_ERR_CONFIG);
	assert_int_equal(f->err.status, EPERM);
	assert_non_null(strstr(f->err.msg, "would run as root"));
	jc_error_clear(&f->err);
	assert_int_equal(jc_plan_build(&f->cfg, &f->req, "0", CREATED, &p, &f->err), -1);
	jc_error_clear(&f->err);
	f->cfg.allow_root = true;
	build(f, "0:0");
	json_str(f->root, "User", "0:0");
}

static void test_refuse_volume_mode_missing(void **state)
{
	struct fx *f = *state;

	volume_mode(f);
	f->req.volume = NULL;
	expect_refused(f, JC_ERR_INPUT, "volume mode: the request names no volume, tenant or run");
	volume_mode(f);
	f->req.tenant = NULL;
	expect_refused(f, JC_ERR_INPUT, "volume mode: the request names no volume, tenant or run");
	volume_mode(f);
	f->req.run = NULL;
	expect_refused(f, JC_ERR_INPUT, "volume mode: the request names no volume, tenant or run");
}

static void test_refuse_volume_mode_bad_tenant_run(void **state)
{
	static const char n65[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const struct {
		const char *tenant, *run, *part;
	} cases[] = {
		{ "../x", "r1", "tenant `../x` must start with a letter or digit" },
		{ "", "r1", "tenant is empty" },
		{ n65, "r1", "tenant is longer than 64 characters" },
		{ "a/b", "r1", "tenant has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "acme", "../x", "run `../x` must start with a letter or digit" },
		{ "acme", "", "run is empty" },
		{ "acme", n65, "run is longer than 64 characters" },
		{ "acme", "r\n1", "run has a character outside [A-Za-z0-9_.-] at offset 1" },
	};
	struct fx *f = *state;

	assert_int_equal(strlen(n65), 65);
	volume_mode(f);
	for (size_t i = 0; i < N(cases); i++) {
		f->req.tenant = cases[i].tenant;
		f->req.run = cases[i].run;
		expect_refused(f, JC_ERR_INPUT, cases[i].part);
	}
}

static void test_refuse_volume_mode_bad_volume(void **state)
{
	static const struct {
		const char *volume, *part;
	} cases[] = {
		{ "-x", "volume name must start with a letter or digit" },
		{ "a/b", "volume name has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "x", "have two characters or more" },
		{ "", "volume name is empty" },
		{ "../x", "volume name must start with a letter or digit" },
	};
	struct fx *f = *state;
	char v256[257];

	volume_mode(f);
	for (size_t i = 0; i < N(cases); i++) {
		f->req.volume = cases[i].volume;
		expect_refused(f, JC_ERR_INPUT, cases[i].part);
	}
	memset(v256, 'v', 256);
	v256[256] = '\0';
	f->req.volume = v256;
	expect_refused(f, JC_ERR_INPUT, "volume name is longer than 255 characters");
}

static void test_refuse_bad_supervisor(void **state)
{
	struct fx *f = *state;
	char s129[130];
	const char *bad[] = { "ABCDEF/1/2", "ab cd/1/2", "", "ab/1\n", s129 };

	memset(s129, 'a', 129);
	s129[129] = '\0';
	/* in either mode */
	for (int mode = 0; mode < 2; mode++) {
		if (mode)
			volume_mode(f);
		for (size_t i = 0; i < N(bad); i++) {
			f->req.supervisor = bad[i];
			expect_refused(f, JC_ERR_INPUT,
				       "supervisor label must be 1..128 of [0-9a-f/-]");
		}
	}
	/* 128 is the most */
	s129[128] = '\0';
	f->req.supervisor = s129;
	build(f, NULL);
	json_str(get(f->root, "Labels"), "jobcell.supervisor", s129);
}

static void test_refuse_volume_mode_config(void **state)
{
	struct fx *f = *state;

	volume_mode(f);
	set_str(&f->cfg.local_volume, NULL);
	expect_refused(f, JC_ERR_CONFIG,
		       "config: [workspace] mode = volume needs [volume] startup_volume and "
		       "local_volume, or site_volume");
	set_str(&f->cfg.site_volume, "lab-site");
	expect_refused(f, JC_ERR_CONFIG,
		       "config: [volume] site_volume excludes startup_volume and local_volume");
}

/* host_path does not stand in for path: jobcell must see the workspace to
 * check it. */
static void test_host_path_needs_path(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.ws_host_path, "/host/ws");
	set_str(&f->cfg.ws_path, NULL);
	expect_refused(f, JC_ERR_CONFIG, "config: [workspace] path is not set");
}

/* Volume mode binds nothing from the host: a host_path there is refused,
 * not ignored. */
static void test_host_path_volume_mode(void **state)
{
	struct fx *f = *state;

	volume_mode(f);
	set_str(&f->cfg.ws_host_path, "/host/ws");
	expect_refused(f, JC_ERR_CONFIG, "config: [workspace] host_path is for bind mode");
}

/* ---- engine answers -------------------------------------------------------------- */

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_engine_err_at(int rc, jc_error *err, int status, const char *part,
				 const char *file, int line)
{
	_assert_int_equal((LargestIntegralType)rc, (LargestIntegralType)-1, file, line);
	if (!err->msg || err->kind != JC_ERR_ENGINE || err->status != status) {
		print_error("got %s/%d `%s`, want engine/%d\n", jc_error_kind_name(err->kind),
			    err->status, err->msg ? err->msg : "(none)", status);
		_fail(file, line);
	}
	if (!strstr(err->msg, part)) {
		print_error("message `%s` lacks `%s`\n", err->msg, part);
		_fail(file, line);
	}
	jc_error_clear(err);
}
#define expect_engine_err(rc, err, status, part)                                                   \
	expect_engine_err_at((rc), (err), (status), (part), __FILE__, __LINE__)

static void test_parse_inspect_good(void **state)
{
	const char *json = "{\"Id\":\"" ID64 "\",\"Name\":\"/jobcell-lab-job1\","
			   "\"State\":{\"Status\":\"exited\",\"Running\":false,"
			   "\"OOMKilled\":true,\"ExitCode\":137},"
			   "\"Config\":{\"Labels\":{\"jobcell.job\":\"job1\","
			   "\"jobcell.site\":\"lab\",\"jobcell.managed\":\"true\","
			   "\"jobcell.created\":\"1700000000\",\"other\":\"x\","
			   "\"jobcell.supervisor\":\"" SUP "\",\"jobcell.volume\":\"" VOL "\","
			   "\"jobcell.role\":\"job\",\"jobcell.keep\":\"true\","
			   "\"jobcell.nonce\":\"0123abcd\"}}}";
	struct jc_inspect in;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_inspect(json, &in, &err), 0);
	assert_null(err.msg);
	assert_string_equal(in.id, ID64);
	assert_string_equal(in.name, "jobcell-lab-job1");
	assert_string_equal(in.status, "exited");
	assert_false(in.running);
	assert_true(in.oom_killed);
	assert_int_equal(in.exit_code, 137);
	assert_string_equal(in.labels.job, "job1");
	assert_string_equal(in.labels.site, "lab");
	assert_true(in.labels.managed);
	assert_string_equal(in.labels.created, "1700000000");
	assert_string_equal(in.labels.supervisor, SUP);
	assert_string_equal(in.labels.volume, VOL);
	assert_string_equal(in.labels.role, "job");
	assert_true(in.labels.keep);
	assert_string_equal(in.labels.nonce, "0123abcd");
	jc_inspect_free(&in);
	assert_null(in.id);
	assert_null(in.labels.volume);
	assert_false(in.labels.keep);
}

static void test_parse_inspect_minimal(void **state)
{
	const char *json = "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"running\","
			   "\"Running\":\"yes\",\"ExitCode\":0},\"Config\":{\"Labels\":[1]}}";
	struct jc_inspect in;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_inspect(json, &in, &err), 0);
	assert_null(in.name);
	assert_false(in.running); /* "yes" is not JSON true */
	assert_false(in.oom_killed);
	assert_null(in.labels.job);
	assert_null(in.labels.site);
	assert_false(in.labels.managed);
	assert_null(in.labels.created);
	assert_null(in.labels.supervisor);
	assert_null(in.labels.volume);
	assert_null(in.labels.role);
	assert_false(in.labels.keep);
	jc_inspect_free(&in);
}

/* Labels are "true" exactly, or strings at all. */
static void test_parse_inspect_label_types(void **state)
{
	const char *json = "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\","
			   "\"ExitCode\":0},\"Config\":{\"Labels\":{\"jobcell.keep\":\"True\","
			   "\"jobcell.managed\":true,\"jobcell.supervisor\":7,"
			   "\"jobcell.volume\":null,\"jobcell.role\":[\"job\"]}}}";
	struct jc_inspect in;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_inspect(json, &in, &err), 0);
	assert_false(in.labels.keep);
	assert_false(in.labels.managed);
	assert_null(in.labels.supervisor);
	assert_null(in.labels.volume);
	assert_null(in.labels.role);
	jc_inspect_free(&in);
}

static void test_parse_inspect_hostile(void **state)
{
	static const struct {
		const char *json, *part;
	} cases[] = {
		{ "not json", "engine answer is not valid JSON: container inspect" },
		{ "", "engine answer is not valid JSON: container inspect" },
		{ "[]", "engine answer is not valid JSON: container inspect" },
		{ "\"str\"", "engine answer is not valid JSON: container inspect" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\",\"ExitCode\":0}",
		  "not valid JSON: container inspect" }, /* truncated */
		{ "{\"Id\":\"" ID64 "\"}", "container inspect has no State" },
		{ "{\"Id\":\"" ID64 "\",\"State\":\"exited\"}", "container inspect has no State" },
		{ "{\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}",
		  "container inspect lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":7,\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}",
		  "lacks Id, State.Status or State.ExitCode" },
		/* ids go into URL paths and output: lowercase hex, 12..128 */
		{ "{\"Id\":\"../../x/abcdef\",\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"abc\",\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"ABCDEF012345\",\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"ExitCode\":0}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":1,\"ExitCode\":0}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\"}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\",\"ExitCode\":\"0\"}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\",\"ExitCode\":1.5}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\",\"ExitCode\":1e12}}",
		  "lacks Id, State.Status or State.ExitCode" },
		{ "{\"Id\":\"" ID64 "\",\"State\":{\"Status\":\"exited\",\"ExitCode\":null}}",
		  "lacks Id, State.Status or State.ExitCode" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct jc_inspect in = { .exit_code = 99 };
		jc_error err = { 0 };

		expect_engine_err(jc_docker_parse_inspect(cases[i].json, &in, &err), &err, EBADMSG,
				  cases[i].part);
		/* out untouched */
		assert_int_equal(in.exit_code, 99);
		assert_null(in.id);
	}
}

static void test_parse_id(void **state)
{
	static const struct {
		const char *json, *part;
	} bad[] = {
		{ "not json", "engine answer is not valid JSON: create answer has no Id" },
		{ "{}", "create answer has no Id" },
		{ "{\"Id\":12}", "create answer has no Id" },
		{ "{\"id\":\"" ID64 "\"}", "create answer has no Id" },
		{ "[\"" ID64 "\"]", "create answer has no Id" },
		{ "{\"Id\":\"\"}", "engine returned a malformed id" },
		{ "{\"Id\":\"0123456789a\"}", "engine returned a malformed id" }, /* 11 */
		{ "{\"Id\":\"0123456789ABCDEF\"}", "engine returned a malformed id" },
		{ "{\"Id\":\"0123456789abcdeg\"}", "engine returned a malformed id" },
		{ "{\"Id\":\"../../../etc/passwd\"}", "engine returned a malformed id" },
		{ "{\"Id\":\"0123456789ab/start\"}", "engine returned a malformed id" },
		{ "{\"Id\":\"0123456789ab?x=1\"}", "engine returned a malformed id" },
		{ "{\"Id\":\"" ID64 ID64 "0\"}", "engine returned a malformed id" }, /* 129 */
	};
	jc_error err = { 0 };
	char *id = NULL;

	(void)state;
	assert_int_equal(jc_docker_parse_id("{\"Id\":\"" ID64 "\",\"Warnings\":[]}", &id, &err),
			 0);
	assert_string_equal(id, ID64);
	free(id);
	id = NULL;
	assert_int_equal(jc_docker_parse_id("{\"Id\":\"0123456789ab\"}", &id, &err), 0); /* 12 */
	assert_string_equal(id, "0123456789ab");
	free(id);
	id = NULL;
	assert_int_equal(jc_docker_parse_id("{\"Id\":\"" ID64 ID64 "\"}", &id, &err), 0); /* 128 */
	free(id);
	id = NULL;
	for (size_t i = 0; i < N(bad); i++) {
		expect_engine_err(jc_docker_parse_id(bad[i].json, &id, &err), &err, EBADMSG,
				  bad[i].part);
		assert_null(id);
	}
}

static void test_parse_wait(void **state)
{
	static const struct {
		const char *json;
		int status;
		const char *part;
	} bad[] = {
		{ "not json", EBADMSG,
		  "engine answer is not valid JSON: wait answer has no StatusCode" },
		{ "{}", EBADMSG, "wait answer has no StatusCode" },
		{ "[0]", EBADMSG, "wait answer has no StatusCode" },
		{ "{\"StatusCode\":\"0\"}", EBADMSG, "wait answer has no StatusCode" },
		{ "{\"StatusCode\":0.5}", EBADMSG, "wait answer has no StatusCode" },
		{ "{\"StatusCode\":1e300}", EBADMSG, "wait answer has no StatusCode" },
		{ "{\"StatusCode\":256}", ERANGE,
		  "engine reported exit status 256, outside 0..255" },
		{ "{\"StatusCode\":-1}", ERANGE, "engine reported exit status -1, outside 0..255" },
		{ "{\"StatusCode\":0,\"Error\":{\"Message\":\"container vanished\"}}", EIO,
		  "engine said: container vanished" },
		{ "{\"StatusCode\":137,\"Error\":{\"Message\":\"x\"}}", EIO, "engine said: x" },
	};
	jc_error err = { 0 };
	int st;

	(void)state;
	st = -5;
	assert_int_equal(jc_docker_parse_wait("{\"StatusCode\":0}", &st, &err), 0);
	assert_int_equal(st, 0);
	assert_int_equal(jc_docker_parse_wait("{\"StatusCode\":255,\"Error\":null}", &st, &err),
			 0);
	assert_int_equal(st, 255);
	assert_int_equal(
	    jc_docker_parse_wait("{\"StatusCode\":3,\"Error\":{\"Message\":\"\"}}", &st, &err), 0);
	assert_int_equal(st, 3);
	assert_int_equal(
	    jc_docker_parse_wait("{\"StatusCode\":4,\"Error\":{\"Message\":7}}", &st, &err), 0);
	assert_int_equal(st, 4);
	assert_null(err.msg);
	for (size_t i = 0; i < N(bad); i++) {
		st = -5;
		expect_engine_err(jc_docker_parse_wait(bad[i].json, &st, &err), &err,
				  bad[i].status, bad[i].part);
		assert_int_equal(st, -5);
	}
}

static void test_error_message(void **state)
{
	char *m;

	(void)state;
	m = jc_docker_error_message("{\"message\":\"No such container: x\"}");
	assert_string_equal(m, "No such container: x");
	free(m);
	assert_null(jc_docker_error_message(NULL));
	assert_null(jc_docker_error_message(""));
	assert_null(jc_docker_error_message("not json"));
	assert_null(jc_docker_error_message("{\"message\":42}"));
	assert_null(jc_docker_error_message("{\"Message\":\"x\"}"));
	assert_null(jc_docker_error_message("[\"message\"]"));
	assert_null(jc_docker_error_message("{\"message\":null}"));
}

static void test_parse_list(void **state)
{
	const char *json =
	    "[{\"Id\":\"" ID64 "\",\"Names\":[\"/jobcell-lab-a\"],\"State\":\"running\","
	    "\"Labels\":{\"jobcell.job\":\"a\",\"jobcell.created\":\"1\","
	    "\"jobcell.role\":\"transfer\",\"jobcell.volume\":\"" VOL "\","
	    "\"jobcell.supervisor\":\"" SUP "\"}},"
	    "{\"Id\":\"abcdefabcdef\",\"Names\":[],\"State\":\"exited\",\"Labels\":{}},"
	    "{\"Id\":\"bbbbbbbbbbbb\",\"State\":\"created\"}]";
	struct jc_container_list l = { 0 };
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_list(json, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].id, ID64);
	assert_string_equal(l.items[0].name, "jobcell-lab-a");
	assert_string_equal(l.items[0].status, "running");
	assert_string_equal(l.items[0].labels.job, "a");
	assert_string_equal(l.items[0].labels.created, "1");
	/* gc tells transfer containers and their owners by these */
	assert_string_equal(l.items[0].labels.role, "transfer");
	assert_string_equal(l.items[0].labels.volume, VOL);
	assert_string_equal(l.items[0].labels.supervisor, SUP);
	assert_null(l.items[1].labels.role);
	assert_string_equal(l.items[1].id, "abcdefabcdef");
	assert_null(l.items[1].name);
	assert_string_equal(l.items[1].status, "exited");
	assert_null(l.items[1].labels.job);
	assert_null(l.items[2].name);
	assert_null(l.items[2].labels.created);
	jc_container_list_free(&l);
	assert_int_equal(l.n, 0);

	assert_int_equal(jc_docker_parse_list("[]", &l, &err), 0);
	assert_int_equal(l.n, 0);
	jc_container_list_free(&l);
}

static void test_parse_list_hostile(void **state)
{
	static const struct {
		const char *json, *part;
	} bad[] = {
		{ "not json", "engine answer is not valid JSON: container list is not an array" },
		{ "{}", "container list is not an array" },
		{ "null", "container list is not an array" },
		{ "[{\"Id\":\"abcdefabcdef\",\"State\":\"running\"}",
		  "container list is not an array" },
		{ "[1]", "engine answer is not valid JSON: container list item" },
		{ "[{\"State\":\"running\"}]", "container list item" },
		{ "[{\"Id\":\"abcdefabcdef\"}]", "container list item" },
		{ "[{\"Id\":\"abcdefabcdef\",\"State\":{\"Status\":\"running\"}}]",
		  "container list item" },
		{ "[{\"Id\":\"abcdefabcde\\\"\",\"State\":\"running\"}]", "container list item" },
		{ "[{\"Id\":\"abcdef abcdef\",\"State\":\"running\"}]", "container list item" },
		{ "[{\"Id\":\"short\",\"State\":\"running\"}]", "container list item" },
		/* a bad item after good ones: nothing is handed out */
		{ "[{\"Id\":\"abcdefabcdef\",\"State\":\"running\"},{\"Id\":3,\"State\":\"x\"}]",
		  "container list item" },
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct jc_container_list l = { .n = 77 };
		expect_engine_err(jc_docker_parse_list(bad[i].json, &l, &err), &err, EBADMSG,
				  bad[i].part);
		assert_int_equal(l.n, 77);
		assert_null(l.items);
	}
}

/* ---- volumes ------------------------------------------------------------------- */

static void test_volume_json(void **state)
{
	struct jc_labels labels = { .managed = true,
				    .tenant = (char *)"acme",
				    .nonce = (char *)"quote\" and\nnewline" };
	jc_error err = { 0 };
	cJSON *root;
	char *json;

	(void)state;
	json = jc_docker_volume_body(VOL, &labels, 0, &err);
	assert_non_null(json);
	assert_null(err.msg);
	root = cJSON_Parse(json);
	json_keys(root, "Name", "Driver", "Labels");
	json_str(root, "Name", VOL);
	json_str(root, "Driver", "local");
	assert_int_equal(cJSON_GetArraySize(get(root, "Labels")), JC_LABELS_MAX);
	own_labels(get(root, "Labels"), "jobcell.managed=true", "jobcell.tenant=acme",
		   "jobcell.nonce=quote\" and\nnewline");
	cJSON_Delete(root);
	free(json);

	/* no labels: every key still, empty */
	json = jc_docker_volume_body("ab", &(struct jc_labels){ 0 }, 0, &err);
	assert_non_null(json);
	root = cJSON_Parse(json);
	json_keys(root, "Name", "Driver", "Labels");
	assert_true(cJSON_IsObject(get(root, "Labels")));
	assert_int_equal(cJSON_GetArraySize(get(root, "Labels")), JC_LABELS_MAX);
	own_labels(get(root, "Labels"), "jobcell.managed=");
	cJSON_Delete(root);
	free(json);

	/* [volume] size: the local driver's o=size=BYTES, nothing else */
	json = jc_docker_volume_body("ab", &(struct jc_labels){ 0 }, INT64_C(1) << 30, &err);
	assert_non_null(json);
	root = cJSON_Parse(json);
	json_keys(root, "Name", "Driver", "DriverOpts", "Labels");
	json_keys(get(root, "DriverOpts"), "o");
	json_str(get(root, "DriverOpts"), "o", "size=1073741824");
	cJSON_Delete(root);
	free(json);
}

static void test_parse_volume_good(void **state)
{
	const char *json =
	    "{\"CreatedAt\":\"2024-05-01T10:00:00Z\",\"Driver\":\"local\","
	    "\"Labels\":{\"jobcell.managed\":\"true\",\"jobcell.keep\":\"true\","
	    "\"jobcell.tenant\":\"acme\",\"jobcell.run\":\"r1\",\"jobcell.site\":\"lab\","
	    "\"jobcell.job\":\"job1\",\"jobcell.created\":\"1700000000\","
	    "\"jobcell.nonce\":\"0123abcd\",\"jobcell.supervisor\":\"" SUP "\",\"other\":\"x\"},"
	    "\"Mountpoint\":\"/var/lib/docker/volumes/" VOL "/_data\",\"Name\":\"" VOL "\","
	    "\"Options\":null,\"Scope\":\"local\"}";
	struct jc_volume v;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_volume(json, &v, &err), 0);
	assert_null(err.msg);
	assert_string_equal(v.name, VOL);
	assert_string_equal(v.created_at, "2024-05-01T10:00:00Z");
	assert_true(v.labels.managed);
	assert_true(v.labels.keep);
	assert_string_equal(v.labels.tenant, "acme");
	assert_string_equal(v.labels.run, "r1");
	assert_string_equal(v.labels.site, "lab");
	assert_string_equal(v.labels.job, "job1");
	assert_string_equal(v.labels.created, "1700000000");
	assert_string_equal(v.labels.nonce, "0123abcd");
	assert_string_equal(v.labels.supervisor, SUP);
	jc_volume_free(&v);
	assert_null(v.name);
	assert_false(v.labels.managed);
}

/* A volume jobcell did not make: no labels, nothing managed. */
static void test_parse_volume_unlabelled(void **state)
{
	static const char *const cases[] = {
		"{\"Name\":\"plain\",\"Labels\":null}",
		"{\"Name\":\"plain\"}",
		"{\"Name\":\"plain\",\"Labels\":{}}",
		"{\"Name\":\"plain\",\"Labels\":{\"jobcell.managed\":\"yes\",\"jobcell.keep\":"
		"\"1\",\"jobcell.tenant\":5,\"jobcell.supervisor\":null}}",
		"{\"Name\":\"plain\",\"Labels\":[\"jobcell.managed\"],\"CreatedAt\":7}",
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct jc_volume v;
		jc_error err = { 0 };

		if (jc_docker_parse_volume(cases[i], &v, &err) != 0)
			fail_msg("case %zu refused: %s", i, err.msg);
		assert_string_equal(v.name, "plain");
		assert_false(v.labels.managed);
		assert_false(v.labels.keep);
		assert_null(v.created_at);
		assert_null(v.labels.tenant);
		assert_null(v.labels.run);
		assert_null(v.labels.site);
		assert_null(v.labels.job);
		assert_null(v.labels.created);
		assert_null(v.labels.nonce);
		assert_null(v.labels.supervisor);
		jc_volume_free(&v);
	}
}

static void test_parse_volume_hostile(void **state)
{
	static const struct {
		const char *json, *part;
	} cases[] = {
		{ "not json", "engine answer is not valid JSON: volume" },
		{ "", "engine answer is not valid JSON: volume" },
		{ "[]", "engine answer is not valid JSON: volume" },
		{ "null", "engine answer is not valid JSON: volume" },
		{ "\"" VOL "\"", "engine answer is not valid JSON: volume" },
		{ "{\"Name\":\"ab\"", "engine answer is not valid JSON: volume" }, /* truncated */
		{ "{}", "engine answer is not valid JSON: volume lacks a valid Name" },
		{ "{\"name\":\"ab\"}", "volume lacks a valid Name" },
		{ "{\"Name\":5}", "volume lacks a valid Name" },
		{ "{\"Name\":null}", "volume lacks a valid Name" },
		{ "{\"Name\":\"\"}", "volume lacks a valid Name" },
		{ "{\"Name\":\"../x\"}", "volume lacks a valid Name" },
		{ "{\"Name\":\"a/../../b\"}", "volume lacks a valid Name" },
		{ "{\"Name\":\"x\"}", "volume lacks a valid Name" },
		{ "{\"Name\":\"a\\nb\"}", "volume lacks a valid Name" },
		{ "{\"Name\":\"a\\u0000b\"}", "volume lacks a valid Name" },
	};
	char *sentinel = (char *)"sentinel";

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct jc_volume v = { .name = sentinel, .labels.keep = true };
		jc_error err = { 0 };

		expect_engine_err(jc_docker_parse_volume(cases[i].json, &v, &err), &err, EBADMSG,
				  cases[i].part);
		/* out-parameters are assigned only on success (jobcell.h) */
		if (v.name != sentinel || !v.labels.keep)
			fail_msg("case %zu: out-parameter changed on failure", i);
	}
}

static void test_parse_volume_list(void **state)
{
	const char *json = "{\"Volumes\":[{\"Name\":\"" VOL "\",\"Driver\":\"local\","
			   "\"Labels\":{\"jobcell.managed\":\"true\",\"jobcell.tenant\":\"acme\"}},"
			   "{\"Name\":\"plain\",\"Labels\":null}],\"Warnings\":null}";
	static const char *const empty[] = {
		"{\"Volumes\":null}",
		"{\"Volumes\":[]}",
		"{\"Volumes\":null,\"Warnings\":[\"something\"]}",
	};
	struct jc_volume_list l = { 0 };
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_volume_list(json, &l, &err), 0);
	assert_null(err.msg);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].name, VOL);
	assert_true(l.items[0].labels.managed);
	assert_string_equal(l.items[0].labels.tenant, "acme");
	assert_string_equal(l.items[1].name, "plain");
	assert_false(l.items[1].labels.managed);
	assert_null(l.items[1].labels.tenant);
	jc_volume_list_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.items);

	for (size_t i = 0; i < N(empty); i++) {
		l = (struct jc_volume_list){ .n = 77 };
		if (jc_docker_parse_volume_list(empty[i], &l, &err) != 0)
			fail_msg("case %zu refused: %s", i, err.msg);
		assert_int_equal(l.n, 0);
		jc_volume_list_free(&l);
	}
}

static void test_parse_volume_list_hostile(void **state)
{
	static const struct {
		const char *json, *part;
	} bad[] = {
		{ "not json", "engine answer is not valid JSON: volume list has no Volumes array" },
		{ "", "volume list has no Volumes array" },
		{ "[]", "volume list has no Volumes array" },
		{ "null", "volume list has no Volumes array" },
		{ "{}", "volume list has no Volumes array" },
		{ "{\"volumes\":[]}", "volume list has no Volumes array" },
		{ "{\"Volumes\":{}}", "volume list has no Volumes array" },
		{ "{\"Volumes\":\"x\"}", "volume list has no Volumes array" },
		{ "{\"Volumes\":[]", "volume list has no Volumes array" }, /* truncated */
		{ "{\"Volumes\":[1]}", "engine answer is not valid JSON: volume list item" },
		{ "{\"Volumes\":[null]}", "volume list item" },
		{ "{\"Volumes\":[\"" VOL "\"]}", "volume list item" },
		{ "{\"Volumes\":[[]]}", "volume list item" },
		{ "{\"Volumes\":[{}]}", "volume list item" },
		{ "{\"Volumes\":[{\"Name\":\"../x\"}]}", "volume list item" },
		/* a bad item after good ones: nothing is handed out */
		{ "{\"Volumes\":[{\"Name\":\"ab\"},{\"Name\":\"cd\"},{\"Name\":5}]}",
		  "volume list item" },
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct jc_volume_list l = { .n = 77 };
		expect_engine_err(jc_docker_parse_volume_list(bad[i].json, &l, &err), &err,
				  EBADMSG, bad[i].part);
		assert_int_equal(l.n, 77);
		assert_null(l.items);
	}
}

/* ---- resource limits, GPUs, network, labels ------------------------------------ */

static void test_limits_in_body(void **state)
{
	struct fx *f = *state;
	const cJSON *hc;

	f->cfg.memory = INT64_C(1) << 30;
	f->cfg.nano_cpus = 1500000000;
	f->cfg.shm_size = 128 << 20;
	f->cfg.pids_limit = 100;
	build(f, NULL);
	hc = get(f->root, "HostConfig");
	json_keys(hc, "NetworkMode", "Tmpfs", "Mounts", "ReadonlyRootfs", "CapDrop", "CapAdd",
		  "SecurityOpt", "PidsLimit", "Memory", "MemorySwap", "NanoCpus", "ShmSize",
		  "AutoRemove");
	json_num(hc, "Memory", 1073741824);
	/* memory + swap: the same value, so no swap at all */
	json_num(hc, "MemorySwap", 1073741824);
	json_num(hc, "NanoCpus", 1500000000);
	json_num(hc, "ShmSize", 134217728);
	json_num(hc, "PidsLimit", 100);
	/* whole numbers, as the engine's int64 fields want them */
	assert_non_null(strstr(f->json, "\"Memory\":1073741824,"));
	assert_non_null(strstr(f->json, "\"NanoCpus\":1500000000,"));
	assert_non_null(strstr(f->json, "\"ShmSize\":134217728,"));
	assert_int_equal(f->plan->memory, INT64_C(1) << 30);
	assert_int_equal(f->plan->nano_cpus, 1500000000);
	assert_int_equal(f->plan->shm_size, 128 << 20);
}

/* Numbers past 2^53 (and past 1e17, where cJSON would write an exponent)
 * reach the body digit for digit. */
static void test_big_numbers_exact(void **state)
{
	struct fx *f = *state;

	assert_int_equal(jc_parse_size("8589934591g", &f->cfg.memory), 0);
	assert_int_equal(jc_parse_size("8589934591g", &f->cfg.tmp_size), 0);
	assert_int_equal(jc_parse_size("4611686018427387903", &f->cfg.shm_size), 0);
	f->cfg.pids_limit = INT64_MAX;
	f->cfg.nano_cpus = JC_NANO_CPUS_MAX;
	build(f, NULL);
	assert_non_null(strstr(f->json, "\"Memory\":9223372035781033984,"));
	assert_non_null(strstr(f->json, "\"MemorySwap\":9223372035781033984,"));
	assert_non_null(strstr(f->json, "\"SizeBytes\":9223372035781033984,"));
	assert_non_null(strstr(f->json, "\"ShmSize\":4611686018427387903,"));
	assert_non_null(strstr(f->json, "\"PidsLimit\":9223372036854775807,"));
	assert_non_null(strstr(f->json, "\"NanoCpus\":1024000000000,"));
	assert_null(strstr(f->json, "e+"));
}

/* Unset limits are absent, not 0: the engine's own defaults apply. */
static void test_no_limits(void **state)
{
	struct fx *f = *state;
	const cJSON *hc;

	f->cfg.shm_size = 0;
	f->cfg.pids_limit = 0;
	build(f, NULL);
	hc = get(f->root, "HostConfig");
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "Memory"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "MemorySwap"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "NanoCpus"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "ShmSize"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "PidsLimit"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "DeviceRequests"));
}

/* One device request; `ids` NULL: the count form with an empty DeviceIDs. */
static void device_request_at(const cJSON *hc, double count, const char *const *ids, size_t n,
			      const char *file, int line)
{
	const cJSON *dr = get_at(hc, "DeviceRequests", file, line), *d, *caps;

	if (!cJSON_IsArray(dr) || cJSON_GetArraySize(dr) != 1) {
		print_error("DeviceRequests is not an array of one\n");
		_fail(file, line);
	}
	d = cJSON_GetArrayItem(dr, 0);
	json_keys_at(
	    d, (const char *const[]){ "Driver", "Count", "DeviceIDs", "Capabilities", "Options" },
	    5, file, line);
	json_str_at(d, "Driver", "", file, line);
	json_num_at(d, "Count", count, file, line);
	json_strs_at(d, "DeviceIDs", ids, n, file, line);
	caps = get_at(d, "Capabilities", file, line);
	if (!cJSON_IsArray(caps) || cJSON_GetArraySize(caps) != 1) {
		print_error("Capabilities is not an array of one\n");
		_fail(file, line);
	}
	/* [["gpu"]]: an OR list of AND lists */
	{
		const cJSON *and = cJSON_GetArrayItem(caps, 0);
		const cJSON *one = cJSON_GetArrayItem(and, 0);
		if (!cJSON_IsArray(and) || cJSON_GetArraySize(and) != 1 || !cJSON_IsString(one) ||
		    strcmp(one->valuestring, "gpu") != 0) {
			print_error("Capabilities is not [[\"gpu\"]]\n");
			_fail(file, line);
		}
	}
	json_keys_at(get_at(d, "Options", file, line), NULL, 0, file, line);
}
#define device_request(hc, count, ids, n)                                                          \
	device_request_at((hc), (count), (ids), (n), __FILE__, __LINE__)

static void test_gpus_in_body(void **state)
{
	static const char *const two[] = { "0", "GPU-fef8089b-4820-abfc-e83e-94318197576e" };
	struct fx *f = *state;

	assert_int_equal(jc_parse_gpus("all", &f->cfg.gpus), 0);
	build(f, NULL);
	device_request(get(f->root, "HostConfig"), -1, NULL, 0);
	assert_non_null(strstr(f->json, "\"Count\":-1,"));
	unbuild(f);

	assert_int_equal(jc_parse_gpus("2", &f->cfg.gpus), 0);
	build(f, NULL);
	device_request(get(f->root, "HostConfig"), 2, NULL, 0);
	unbuild(f);

	assert_int_equal(jc_parse_gpus("0, GPU-fef8089b-4820-abfc-e83e-94318197576e", &f->cfg.gpus),
			 0);
	build(f, NULL);
	/* ids with Count 0: the engine refuses both at once */
	device_request(get(f->root, "HostConfig"), 0, two, 2);
	assert_int_equal(f->plan->gpus.ids.n, 2);
	assert_ptr_not_equal(f->plan->gpus.ids.v, f->cfg.gpus.ids.v);
	unbuild(f);

	assert_int_equal(jc_parse_gpus("", &f->cfg.gpus), 0);
	build(f, NULL);
	assert_null(cJSON_GetObjectItemCaseSensitive(get(f->root, "HostConfig"), "DeviceRequests"));
}

static void test_network_in_body(void **state)
{
	static const char *const good[] = { "bridge", "lab_net.1", "none" };
	struct fx *f = *state;

	for (size_t i = 0; i < N(good); i++) {
		set_str(&f->cfg.network, good[i]);
		build(f, NULL);
		json_str(get(f->root, "HostConfig"), "NetworkMode", good[i]);
		unbuild(f);
	}
}

/* A configuration built other than by the loader is judged again. */
static void test_refuse_network(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg.network, "host");
	expect_refused(f, JC_ERR_CONFIG,
		       "config: [job] network: refused: `host` shares the host's network "
		       "namespace");
	set_str(&f->cfg.network, "container:db");
	expect_refused(f, JC_ERR_CONFIG,
		       "config: [job] network: refused: `container:...` shares another "
		       "container's network namespace");
	set_str(&f->cfg.network, "a b");
	expect_refused(f, JC_ERR_CONFIG, "config: [job] network: not a network name");
	set_str(&f->cfg.network, NULL);
	expect_refused(f, JC_ERR_CONFIG, "config: [job] network: not a network name");
}

static void test_site_labels(void **state)
{
	struct fx *f = *state;
	const cJSON *labels;

	assert_int_equal(jc_strv_push(&f->cfg.labels, "org.example.team=lab"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.labels, "cost-centre=a=b c"), 0);
	f->req.nonce = "0123abcd";
	build(f, NULL);
	labels = get(f->root, "Labels");
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX + 2);
	json_str(labels, "org.example.team", "lab");
	json_str(labels, "cost-centre", "a=b c");
	own_labels(labels, "jobcell.managed=true", "jobcell.site=lab", "jobcell.job=job1",
		   "jobcell.created=1700000000", "jobcell.nonce=0123abcd");
	/* jobcell's own first, the site's after */
	assert_int_equal(f->plan->nlabels, JC_LABELS_MAX + 2);
	assert_string_equal(f->plan->labels[JC_LABELS_MAX].key, "org.example.team");
	assert_string_equal(f->plan->labels[JC_LABELS_MAX + 1].key, "cost-centre");
	unbuild(f);

	/* in volume mode too, with the most labels jobcell sets */
	volume_mode(f);
	f->req.keep = true;
	f->req.supervisor = SUP;
	build(f, NULL);
	assert_int_equal(f->plan->nlabels, JC_LABELS_MAX + 2);
	json_str(get(f->root, "Labels"), "cost-centre", "a=b c");
}

/* The volume's nonce goes into a label as the nonce does: hex only. */
static void test_refuse_volume_nonce(void **state)
{
	static const char *const bad[] = { "", "0A", "0a\"}", "0a b" };
	struct fx *f = *state;

	volume_mode(f);
	for (size_t i = 0; i < N(bad); i++) {
		f->req.volume_nonce = bad[i];
		expect_refused(f, JC_ERR_INPUT, "volume nonce must be lowercase hex");
	}
	f->req.volume_nonce = NULL;
}

static void test_refuse_site_labels(void **state)
{
	static const char *const bad[] = { "jobcell.managed=false", "JobCell.site=x", "noequals" };
	struct fx *f = *state;

	for (size_t i = 0; i < N(bad); i++) {
		jc_strv_free(&f->cfg.labels);
		assert_int_equal(jc_strv_push(&f->cfg.labels, "ok=1"), 0);
		assert_int_equal(jc_strv_push(&f->cfg.labels, bad[i]), 0);
		expect_refused(f, JC_ERR_CONFIG,
			       "config: [labels] entry 2 is refused: not KEY=VALUE, or a key of "
			       "jobcell's own");
	}
}

/* ---- the job's environment ---------------------------------------------------- */

static void set_env(struct jc_strv *v, const char *const *entries, size_t n)
{
	jc_strv_free(v);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(jc_strv_push(v, entries[i]), 0);
}

/* [env], then pass_env, then --env; each NAME once, the later wins, in the
 * place where the NAME first appeared. */
static void test_env_layers(void **state)
{
	static const char *const site[] = { "A=site", "B=site", "LANG=C" };
	static const char *const passed[] = { "SECRET=s3=cr et", "B=passed" };
	static const char *const req[] = { "C=req", "A=req", "C=req2" };
	struct fx *f = *state;
	struct jc_strv env = { 0 }, pass = { 0 };

	set_env(&f->cfg.env, site, N(site));
	assert_int_equal(jc_strv_push(&f->cfg.pass_env, "SECRET"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.pass_env, "B"), 0);
	set_env(&pass, passed, N(passed));
	set_env(&env, req, N(req));
	f->req.passed_env = pass;
	f->req.env = env;
	build(f, NULL);
	json_strs(f->root, "Env", "A=req", "B=passed", "LANG=C", "SECRET=s3=cr et", "C=req2");
	/* the plan holds its own copies */
	assert_ptr_not_equal(f->plan->env.v, f->cfg.env.v);
	jc_strv_free(&env);
	jc_strv_free(&pass);
}

/* With no site environment, the request's alone, duplicates folded. */
static void test_env_request_duplicates(void **state)
{
	static const char *const req[] = { "A=1", "B=2", "A=3", "A=" };
	struct fx *f = *state;
	struct jc_strv env = { 0 };

	set_env(&env, req, N(req));
	f->req.env = env;
	build(f, NULL);
	json_strs(f->root, "Env", "A=", "B=2");
	jc_strv_free(&env);
}

/* `env` not in overridable: a request may add variables, never replace
 * the site's ([env] or pass_env, set at run time or not). */
static void test_env_not_overridable(void **state)
{
	static const char *const site[] = { "PROXY=http://proxy:3128" };
	static const struct {
		const char *entry, *name;
	} bad[] = { { "PROXY=http://evil:1", "PROXY" }, { "TOKEN=guess", "TOKEN" } };
	struct fx *f = *state;
	struct jc_strv env = { 0 };

	set_env(&f->cfg.env, site, N(site));
	assert_int_equal(jc_strv_push(&f->cfg.pass_env, "TOKEN"), 0);
	jc_strv_free(&f->cfg.overridable);
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "image"), 0);
	for (size_t i = 0; i < N(bad); i++) {
		struct jc_plan *p = (struct jc_plan *)(uintptr_t)0x1;
		char want[200];

		set_env(&env, (const char *const[]){ "OK=1", bad[i].entry }, 2);
		f->req.env = env;
		assert_int_equal(jc_plan_build(&f->cfg, &f->req, NULL, CREATED, &p, &f->err), -1);
		assert_ptr_equal(p, (struct jc_plan *)(uintptr_t)0x1);
		assert_int_equal(f->err.kind, JC_ERR_INPUT);
		assert_int_equal(f->err.status, EPERM);
		snprintf(want, sizeof(want),
			 "job request --env sets `%s`, which the site sets ([env] or pass_env) and "
			 "does not let a request replace (`env` is not in [job] overridable)",
			 bad[i].name);
		assert_string_equal(f->err.msg, want);
		jc_error_clear(&f->err);
	}
	/* new names are fine */
	set_env(&env, (const char *const[]){ "OK=1", "PROXYX=2" }, 2);
	f->req.env = env;
	build(f, NULL);
	json_strs(f->root, "Env", "PROXY=http://proxy:3128", "OK=1", "PROXYX=2");
	unbuild(f);
	/* and with `env` listed, the request wins */
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "env"), 0);
	set_env(&env, (const char *const[]){ "PROXY=http://other:1" }, 1);
	f->req.env = env;
	build(f, NULL);
	json_strs(f->root, "Env", "PROXY=http://other:1");
	jc_strv_free(&env);
}

static void test_refuse_passed_env(void **state)
{
	struct fx *f = *state;
	struct jc_strv pass = { 0 };

	assert_int_equal(jc_strv_push(&f->cfg.pass_env, "TOKEN"), 0);
	set_env(&pass, (const char *const[]){ "TOKEN=1", "OTHER=2" }, 2);
	f->req.passed_env = pass;
	expect_refused(f, JC_ERR_INPUT,
		       "passed environment `OTHER` is not named in [job] pass_env");
	set_env(&pass, (const char *const[]){ "TOKEN=a\nb" }, 1);
	f->req.passed_env = pass;
	expect_refused(f, JC_ERR_INPUT,
		       "passed environment: environment value of `TOKEN` has a control character");
	jc_strv_free(&pass);
}

static void test_pass_env_collect(void **state)
{
	char *envp[] = { "A=1",        "SECRET=s3=cr et", "B=2", "SECRET=second", "EMPTY=", "NOEQ",
			 "SECRETX=no", "SECRE=no",        NULL };
	static const char *const names[] = { "SECRET", "MISSING", "EMPTY", "B", "NOEQ" };
	struct jc_config cfg;
	struct jc_strv out = { 0 };
	jc_error e = { 0 };

	(void)state;
	assert_int_equal(jc_config_init(&cfg, &e), 0);
	set_env(&cfg.pass_env, names, N(names));
	assert_int_equal(jc_strv_push(&out, "OLD=1"), 0);
	assert_int_equal(jc_pass_env_collect(&cfg, envp, &out, &e), 0);
	assert_null(e.msg);
	/* in pass_env's order; unset names skipped; the first of a name wins */
	assert_int_equal(out.n, 3);
	assert_string_equal(out.v[0], "SECRET=s3=cr et");
	assert_string_equal(out.v[1], "EMPTY=");
	assert_string_equal(out.v[2], "B=2");
	jc_strv_free(&out);

	/* an empty environment, and none at all */
	assert_int_equal(jc_pass_env_collect(&cfg, (char *[]){ NULL }, &out, &e), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(jc_pass_env_collect(&cfg, NULL, &out, &e), 0);
	assert_int_equal(out.n, 0);

	/* a control character is an error naming the variable; out stays */
	assert_int_equal(jc_strv_push(&out, "OLD=1"), 0);
	assert_int_equal(jc_pass_env_collect(&cfg, (char *[]){ "B=x\ny", NULL }, &out, &e), -1);
	assert_string_equal(e.msg,
			    "[job] pass_env `B`: environment value of `B` has a control character");
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0], "OLD=1");
	jc_error_clear(&e);
	jc_strv_free(&out);
	jc_config_free(&cfg);
}

/* Site < request, through jc_config_override, into the body. */
static void test_override_reaches_body(void **state)
{
	struct fx *f = *state;
	const cJSON *hc;

	jc_strv_free(&f->cfg.overridable);
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "memory"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "cpus"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "shm_size"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "gpus"), 0);
	assert_int_equal(jc_strv_push(&f->cfg.overridable, "image"), 0);
	f->cfg.memory = INT64_C(4) << 30;
	f->cfg.nano_cpus = 4000000000;
	assert_int_equal(jc_parse_gpus("all", &f->cfg.gpus), 0);
	assert_int_equal(jc_config_override(&f->cfg, "memory", "512m", &f->err), 0);
	assert_int_equal(jc_config_override(&f->cfg, "cpus", "0.5", &f->err), 0);
	assert_int_equal(jc_config_override(&f->cfg, "shm_size", "16m", &f->err), 0);
	assert_int_equal(jc_config_override(&f->cfg, "gpus", "1", &f->err), 0);
	assert_int_equal(jc_config_override(&f->cfg, "image", "busybox:1.36", &f->err), 0);
	build(f, NULL);
	hc = get(f->root, "HostConfig");
	json_num(hc, "Memory", 536870912);
	json_num(hc, "MemorySwap", 536870912);
	json_num(hc, "NanoCpus", 500000000);
	json_num(hc, "ShmSize", 16777216);
	device_request(hc, 1, NULL, 0);
	json_str(f->root, "Image", "busybox:1.36");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_entrypoint),
		T(test_create_body_defaults),
		T(test_create_body_stdin),
		T(test_plan_fields),
		cmocka_unit_test(test_container_name),
		T(test_no_user_no_cmd),
		T(test_user_sources),
		T(test_relaxed_site),
		T(test_tmp_size_exact),
		T(test_run_size_and_no_tmp),
		T(test_custom_mount_point),
		T(test_job_path),
		T(test_scratch),
		T(test_entrypoint_cleared),
		T(test_chained_volumes),
		T(test_mount_point_trailing_slash),
		T(test_host_path_bind_sources),
		T(test_data_mounts),
		T(test_host_path_needs_path),
		T(test_host_path_volume_mode),
		T(test_root_writable_stays_in_mounts),
		T(test_root_tmpfs_options),
		T(test_volume_mode_body),
		T(test_volume_mode_site_volume),
		T(test_volume_mode_keep_supervisor),
		T(test_bind_mode_supervisor),
		T(test_deadline),
		T(test_deadline_absent),
		T(test_check_api_subpath),
		T(test_check_api_no_subpath),
		T(test_request_image_overrides),
		T(test_image_from_request_only),
		T(test_timeout_sources),
		T(test_timeout_request_cannot_lengthen),
		T(test_pretty),
		T(test_refuse_bad_job),
		T(test_refuse_bad_env),
		T(test_refuse_bad_image),
		T(test_refuse_no_image),
		T(test_refuse_bad_request),
		T(test_refuse_invalid_config),
		T(test_refuse_root_without_allow_root),
		T(test_refuse_volume_mode_missing),
		T(test_refuse_volume_mode_bad_tenant_run),
		T(test_refuse_volume_mode_bad_volume),
		T(test_refuse_bad_supervisor),
		T(test_refuse_volume_mode_config),
		T(test_limits_in_body),
		T(test_big_numbers_exact),
		T(test_no_limits),
		T(test_gpus_in_body),
		T(test_network_in_body),
		T(test_refuse_network),
		T(test_site_labels),
		T(test_refuse_volume_nonce),
		T(test_refuse_site_labels),
		T(test_env_layers),
		T(test_env_request_duplicates),
		T(test_env_not_overridable),
		T(test_refuse_passed_env),
		cmocka_unit_test(test_pass_env_collect),
		T(test_override_reaches_body),
		cmocka_unit_test(test_parse_inspect_good),
		cmocka_unit_test(test_parse_inspect_minimal),
		cmocka_unit_test(test_parse_inspect_label_types),
		cmocka_unit_test(test_parse_inspect_hostile),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_parse_wait),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_list_hostile),
		cmocka_unit_test(test_volume_json),
		cmocka_unit_test(test_parse_volume_good),
		cmocka_unit_test(test_parse_volume_unlabelled),
		cmocka_unit_test(test_parse_volume_hostile),
		cmocka_unit_test(test_parse_volume_list),
		cmocka_unit_test(test_parse_volume_list_hostile),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
