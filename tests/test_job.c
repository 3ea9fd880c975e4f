/* The job pipeline through the public API alone (include/jobcell.h), as a
 * program linked against libjobcell calls it: the site's policy holds
 * without the command line.  A root job without allow_root, an override
 * that the site does not allow, a container or volume that is not the
 * site's: each is refused, and nothing is created or removed. */
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
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <jobcell.h>

#include "fake_engine.h"
#include "testutil.h"

struct fx {
	struct fake_engine *fe;
	char dir[64];
	char ws[128];
	char ini[160];
	char ep[256];
	jc_site *site;
};

static void write_site(struct fx *f, const char *job_keys)
{
	FILE *o = fopen(f->ini, "w");

	assert_non_null(o);
	fprintf(o,
		"[engine]\nendpoint = %s\ntimeout = 3s\n[site]\nname = s\n[workspace]\npath = %s\n"
		"[job]\nimage = img\nstop_grace = 1s\ntimeout = 1h\n%s",
		f->ep, f->ws, job_keys);
	fclose(o);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_workspace_make(f->dir, "/tmp/jobcell-job.XXXXXX", f->ws), 0);
	snprintf(f->ini, sizeof(f->ini), "%s/site.ini", f->dir);
	f->fe = fake_engine_start("1.41");
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "");     /* runs as root by default */
	fake_engine_add_image(f->fe, "app", "1000"); /* a numeric user */
	snprintf(f->ep, sizeof(f->ep), "unix://%s", fake_engine_socket(f->fe));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	jc_site_close(f->site);
	fake_engine_stop(f->fe);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void open_site(struct fx *f, const char *job_keys)
{
	jc_error err = { 0 };

	write_site(f, job_keys);
	if (jc_site_open(f->dir, f->ini, NULL, &f->site, &err) < 0)
		fail_msg("jc_site_open: %s", err.msg);
}

static void expect_error(const jc_error *err, enum jc_error_kind kind, int status,
			 const char *text)
{
	assert_int_equal(err->kind, kind);
	assert_int_equal(err->status, status);
	assert_non_null(err->msg);
	if (!strstr(err->msg, text))
		fail_msg("message `%s` lacks `%s`", err->msg, text);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* A container made behind jobcell's back, by the engine's own API. */
static void engine_create(struct fx *f, const char *name, const char *body)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256];
	long code = 0;

	assert_non_null(h);
	snprintf(url, sizeof(url), "http://localhost/v1.41/containers/create?name=%s", name);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, fake_engine_socket(f->fe));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 201);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
}

/* ---- a job that runs ---- */

static void test_run_through_the_api(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	jc_job *j = NULL;

	open_site(f, "user = 1000:1000\n");
	assert_string_equal(jc_site_name(f->site), "s");
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "exit", &err), 0);
	assert_int_equal(jc_job_add_arg(j, "3", &err), 0);
	if (jc_job_run(j, &out, &err) < 0)
		fail_msg("jc_job_run: %s", err.msg);
	assert_int_equal(out.exit_status, 3);
	assert_int_equal(out.job_status, 3);
	assert_false(out.timed_out);
	assert_non_null(jc_job_container(j));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	/* a job runs once */
	assert_int_equal(jc_job_run(j, &out, &err), -1);
	expect_error(&err, JC_ERR_INPUT, EALREADY, "launched already");
	jc_error_clear(&err);
	jc_job_free(j);
	assert_string_equal(jc_version(), JC_VERSION);
}

/* Standard input: a started job would have no one to pass it, and a bad
 * descriptor is refused; both before anything reaches the engine. */
static void test_stdin_refusals(void **state)
{
	struct fx *f = *state;
	jc_error err = { 0 };
	jc_job *j = NULL;

	open_site(f, "user = 1000:1000\n");
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_set_stdin(j, -2, &err), -1);
	expect_error(&err, JC_ERR_INPUT, EBADF, "stdin: bad descriptor -2");
	jc_error_clear(&err);
	assert_int_equal(jc_job_set_stdin(j, 0, &err), 0);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(jc_job_start(j, &err), -1);
	expect_error(&err, JC_ERR_INPUT, EINVAL, "stdin needs `run`");
	jc_error_clear(&err);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_job_free(j);
}

/* Bind mode: the container starts through the mount gate, with the
 * device and inode of each directory jobcell checked, then the job's
 * command; the gate is bound read-only from beside the test binary. */
static void test_create_goes_through_the_gate(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	jc_job *j = NULL;
	const struct fake_request *rq;
	char p[200], want[256];
	struct stat st;
	cJSON *body, *ep, *cmd, *m;
	bool bound = false;

	open_site(f, "user = 1000:1000\n");
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "exit", &err), 0);
	assert_int_equal(jc_job_add_arg(j, "3", &err), 0);
	if (jc_job_run(j, &out, &err) < 0)
		fail_msg("jc_job_run: %s", err.msg);
	assert_int_equal(out.exit_status, 3);
	assert_non_null(rq = fake_engine_find(f->fe, "POST", "/containers/create"));
	assert_non_null(body = cJSON_Parse(rq->body));
	ep = cJSON_GetObjectItemCaseSensitive(body, "Entrypoint");
	cmd = cJSON_GetObjectItemCaseSensitive(body, "Cmd");
	assert_int_equal(cJSON_GetArraySize(ep), 6);
	assert_string_equal(cJSON_GetArrayItem(ep, 0)->valuestring, "/.jobcell-gate");
	assert_int_equal(strlen(cJSON_GetArrayItem(ep, 1)->valuestring), 16); /* the nonce */
	const char *names[] = { "startup", "local", "j" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->ws, names[i]);
		assert_int_equal(stat(p, &st), 0);
		snprintf(want, sizeof(want), "/workspace/%s=%ju:%ju", names[i], (uintmax_t)st.st_dev,
			 (uintmax_t)st.st_ino);
		assert_string_equal(cJSON_GetArrayItem(ep, 2 + i)->valuestring, want);
	}
	assert_string_equal(cJSON_GetArrayItem(ep, 5)->valuestring, "--");
	assert_int_equal(cJSON_GetArraySize(cmd), 2);
	assert_string_equal(cJSON_GetArrayItem(cmd, 0)->valuestring, "exit");
	assert_string_equal(cJSON_GetArrayItem(cmd, 1)->valuestring, "3");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(body, "HostConfig"), "Mounts"))
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "Target");
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "Source");
		if (!cJSON_IsString(t) || strcmp(t->valuestring, "/.jobcell-gate") != 0)
			continue;
		bound = true;
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ReadOnly")));
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Type")->valuestring, "bind");
		size_t sl = strlen(src->valuestring);
		assert_true(sl > 13 && !strcmp(src->valuestring + sl - 13, "/jobcell-gate"));
	}
	assert_true(bound);
	cJSON_Delete(body);
	jc_job_free(j);
	/* without a command of the request's, the image's; this one has none */
	fake_engine_reset_requests(f->fe);
	assert_int_equal(jc_job_new(f->site, "k", &j, &err), 0);
	assert_int_equal(jc_job_run(j, &out, &err), -1);
	expect_error(&err, JC_ERR_INPUT, EINVAL,
		     "image `img` has no command and the request gives none");
	jc_error_clear(&err);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_int_equal(fake_engine_count(f->fe, "GET", "/images/img/json"), 1);
	jc_job_free(j);
}

/* How many container starts were asked for. */
static size_t starts(struct fx *f)
{
	size_t n = 0;
	for (size_t i = 0; i < fake_engine_request_count(f->fe); i++) {
		const struct fake_request *r = fake_engine_request(f->fe, i);
		size_t l = strlen(r->path);
		n += !strcmp(r->method, "POST") && l > 6 && !strcmp(r->path + l - 6, "/start");
	}
	return n;
}

/* No proof file is left in `dir`. */
static void assert_no_proof_file(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s' -name '.jobcell-proof-*' 2>/dev/null)\"",
		 dir);
	assert_int_equal(system(cmd), 0);
}

/* The site of the mount proof's tests: a data prefix with a directory and
 * a regular file in it, both in [mounts]. */
static void open_proof_site(struct fx *f)
{
	char p[256], keys[512];
	FILE *o;

	snprintf(p, sizeof(p), "%s/data", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/data/dd", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/data/ff", f->dir);
	assert_non_null(o = fopen(p, "w"));
	fputs("data\n", o);
	fclose(o);
	snprintf(p, sizeof(p), "%s/empty", f->dir); /* what a wrong source shows */
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/other", f->dir); /* another file */
	assert_non_null(o = fopen(p, "w"));
	fputs("other data\n", o);
	fclose(o);
	snprintf(keys, sizeof(keys),
		 "user = 1000:1000\ndata_prefixes = %s/data\n[mounts]\ndd = %s/data/dd\n"
		 "ff = %s/data/ff\n",
		 f->dir, f->dir, f->dir);
	open_site(f, keys);
}

/* Before the start the engine is asked, for the created container, for a
 * proof file in each directory mount and for the stat of a file mount;
 * each proof file is gone again. */
static void test_mount_proof_present(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	jc_job *j = NULL;
	const char *want[] = { "%2Fworkspace%2Fj%2F.jobcell-proof-",
			       "%2Fworkspace%2Fstartup%2F.jobcell-proof-",
			       "%2Fworkspace%2Flocal%2F.jobcell-proof-",
			       "%2Fdata%2Fdd%2F.jobcell-proof-", "%2Fdata%2Fff" };
	size_t seen = 0;

	open_proof_site(f);
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "true", &err), 0);
	if (jc_job_run(j, &out, &err) < 0)
		fail_msg("jc_job_run: %s", err.msg);
	assert_int_equal(out.exit_status, 0);
	jc_job_free(j);
	for (size_t i = 0; i < fake_engine_request_count(f->fe); i++) {
		const struct fake_request *r = fake_engine_request(f->fe, i);
		if (strcmp(r->method, "HEAD") || !strstr(r->path, "/archive"))
			continue;
		assert_true(seen < 5);
		if (strncmp(r->query + 5, want[seen], strlen(want[seen])))
			fail_msg("HEAD %d asks for `%s`, want `%s`", (int)seen, r->query, want[seen]);
		/* the proof file's name: the prefix and 16 hex digits */
		if (seen < 4)
			assert_int_equal(strlen(r->query + 5), strlen(want[seen]) + 16);
		seen++;
	}
	assert_int_equal(seen, 5);
	assert_no_proof_file(f->dir);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

/* A mount whose source the engine resolves elsewhere than jobcell checked
 * it (jobcell in a container with a wrong host_path, a source Podman made
 * empty): refused before the start with one error naming the mount, the
 * container removed, the new job directory gone, no proof file left. */
static void test_mount_proof_missing(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	char from[256], to[256], p[256];
	/* in the order jobcell asks: once mapped a mount stays so, so the
	 * later cases fail at a mount asked of earlier */
	const struct {
		const char *job, *from, *to, *text;
	} cases[] = {
		{ "ja", "ws/ja", "empty",
		  "mount `ja` of job `ja`: the engine did not mount the directory jobcell checked "
		  "(no proof file at /workspace/ja; does the engine see [workspace] path as "
		  "jobcell does? jobcell in a container needs host_path)" },
		{ "jc", "data/ff", "other",
		  "data mount `ff` of job `jc`: the engine did not mount the file jobcell checked "
		  "(/data/ff shows mode 100644, 11 bytes" },
		{ "jb", "data/dd", "empty",
		  "data mount `dd` of job `jb`: the engine did not mount the directory jobcell "
		  "checked (no proof file at /data/dd; does the engine see [mounts] at the paths "
		  "jobcell checked?)" },
		{ "jd", "ws/local", "empty",
		  "mount `local` of job `jd`: the engine did not mount the directory jobcell "
		  "checked (no proof file at /workspace/local;" },
		{ "je", "ws/startup", "empty",
		  "mount `startup` of job `je`: the engine did not mount the directory jobcell "
		  "checked (no proof file at /workspace/startup;" },
	};

	open_proof_site(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jc_error err = { 0 };
		jc_job *j = NULL;

		snprintf(from, sizeof(from), "%s/%s", f->dir, cases[i].from);
		snprintf(to, sizeof(to), "%s/%s", f->dir, cases[i].to);
		fake_engine_map_path(f->fe, from, to);
		fake_engine_reset_requests(f->fe);
		assert_int_equal(jc_job_new(f->site, cases[i].job, &j, &err), 0);
		assert_int_equal(jc_job_add_arg(j, "true", &err), 0);
		assert_int_equal(jc_job_run(j, &out, &err), -1);
		expect_error(&err, JC_ERR_WORKSPACE, EXDEV, cases[i].text);
		jc_error_clear(&err);
		jc_job_free(j);
		assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 1);
		assert_int_equal(starts(f), 0);
		assert_int_equal(fake_engine_container_count(f->fe), 0);
		snprintf(p, sizeof(p), "%s/%s", f->ws, cases[i].job);
		assert_int_equal(access(p, F_OK), -1);
		assert_no_proof_file(f->dir);
	}
}

/* The engine fails the stat: its error, wrapped with the mount, and
 * nothing left. */
static void test_mount_proof_engine_error(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	jc_job *j = NULL;
	char p[256];

	open_proof_site(f);
	fake_engine_fail(f->fe, "HEAD", "/archive", FAKE_FAULT_STATUS, 500, "engine broke", -1);
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "true", &err), 0);
	assert_int_equal(jc_job_run(j, &out, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, EIO,
		     "mount `j` of job `j`: mount proof: stat `/workspace/j/.jobcell-proof-");
	/* an answer to HEAD has no body: the status alone */
	if (!strstr(err.msg, "in container `jobcell-s-j`: engine said 500"))
		fail_msg("message `%s` lacks the engine's", err.msg);
	jc_error_clear(&err);
	jc_job_free(j);
	assert_int_equal(starts(f), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	snprintf(p, sizeof(p), "%s/j", f->ws);
	assert_int_equal(access(p, F_OK), -1);
	assert_no_proof_file(f->dir);
}

/* A bind of a single file that the engine cannot stat (Podman 4.3): in
 * bind mode without host_path the gate compares it at start, so it passes;
 * in volume mode nothing else would, so it is refused.  Volume mode proves
 * its [mounts] directories as bind mode does. */
static void test_mount_proof_file_bind_and_volume_mode(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	jc_job *j = NULL;
	char from[256], to[256];
	FILE *o;

	open_proof_site(f);
	fake_engine_file_binds_fail(f->fe, true);
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "true", &err), 0);
	if (jc_job_run(j, &out, &err) < 0)
		fail_msg("jc_job_run: %s", err.msg);
	assert_int_equal(out.exit_status, 0);
	jc_job_free(j);
	jc_site_close(f->site);
	f->site = NULL;

	/* volume mode, the same [mounts] */
	fake_engine_add_volume(f->fe, "s_startup", NULL);
	fake_engine_add_volume(f->fe, "s_local", NULL);
	assert_non_null(o = fopen(f->ini, "w"));
	fprintf(o,
		"[engine]\nendpoint = %s\ntimeout = 3s\n[site]\nname = s\n[workspace]\n"
		"mode = volume\n[volume]\nstartup_volume = s_startup\nlocal_volume = s_local\n"
		"[job]\nimage = img\nuser = 1000:1000\nstop_grace = 1s\ntimeout = 1h\n"
		"data_prefixes = %s/data\n[mounts]\ndd = %s/data/dd\nff = %s/data/ff\n",
		f->ep, f->dir, f->dir, f->dir);
	fclose(o);
	if (jc_site_open(f->dir, f->ini, NULL, &f->site, &err) < 0)
		fail_msg("jc_site_open: %s", err.msg);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(jc_job_new(f->site, "v", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "true", &err), 0);
	assert_int_equal(jc_job_run(j, &out, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, EIO,
		     "data mount `ff` of job `v`: mount proof of a single file (an engine that "
		     "cannot show one, as Podman 4.3, needs its directory mounted): stat `/data/ff` "
		     "in container `jobcell-s-v`: engine said 500");
	jc_error_clear(&err);
	jc_job_free(j);
	assert_int_equal(starts(f), 0);
	/* the directory was proven by its file first */
	assert_int_equal(fake_engine_count(f->fe, "HEAD", "/containers/jobcell-s-v/archive"), 2);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_int_equal(fake_engine_volume_count(f->fe), 2);

	/* a directory the engine sees elsewhere */
	fake_engine_file_binds_fail(f->fe, false);
	snprintf(from, sizeof(from), "%s/data/dd", f->dir);
	snprintf(to, sizeof(to), "%s/empty", f->dir);
	fake_engine_map_path(f->fe, from, to);
	assert_int_equal(jc_job_new(f->site, "w", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "true", &err), 0);
	assert_int_equal(jc_job_run(j, &out, &err), -1);
	expect_error(&err, JC_ERR_WORKSPACE, EXDEV,
		     "data mount `dd` of job `w`: the engine did not mount the directory jobcell "
		     "checked (no proof file at /data/dd;");
	jc_error_clear(&err);
	jc_job_free(j);
	assert_int_equal(starts(f), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_int_equal(fake_engine_volume_count(f->fe), 2);
	assert_no_proof_file(f->dir);
}

/* A site is a file or a name, never both; a missing one says which. */
static void test_site_refusals(void **state)
{
	struct fx *f = *state;
	jc_site *site = NULL;
	jc_error err = { 0 };

	write_site(f, "");
	assert_int_equal(jc_site_open(f->dir, f->ini, "s", &site, &err), -1);
	expect_error(&err, JC_ERR_INPUT, EINVAL, "a site file and a site name exclude each other");
	jc_error_clear(&err);
	assert_int_equal(jc_site_open(f->dir, NULL, "nosuch", &site, &err), -1);
	assert_int_equal(err.kind, JC_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "nosuch.ini"));
	jc_error_clear(&err);
	assert_int_equal(jc_site_open(f->dir, NULL, NULL, &site, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL, "no site: pass -c FILE or --site NAME");
	jc_error_clear(&err);
	assert_null(site);
}

/* ---- policy ---- */

/* No root job unless the site says so: from the site's user, from the
 * image's, and whatever the request asks. */
static void test_root_refused_without_allow_root(void **state)
{
	static const char *const sites[] = { "user = 0:0\n", "" /* the image's: root */ };
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		struct jc_job_outcome out = { 0 };
		jc_error err = { 0 };
		jc_job *j = NULL;

		jc_site_close(f->site);
		open_site(f, sites[i]);
		assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
		assert_int_equal(jc_job_run(j, &out, &err), -1);
		expect_error(&err, JC_ERR_CONFIG, EPERM, "would run as root");
		assert_int_equal(jc_exit_status_of_error(&err), JC_EXIT_JOBCELL);
		assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
		assert_int_equal(fake_engine_container_count(f->fe), 0);
		jc_error_clear(&err);
		jc_job_free(j);
	}
}

/* The request cannot make itself root or take a key the site keeps. */
static void test_override_outside_allowlist_refused(void **state)
{
	struct fx *f = *state;
	jc_error err = { 0 };
	jc_job *j = NULL;

	open_site(f, "user = 1000:1000\nmemory = 1g\noverridable = memory\n");
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	/* never a request's to change, whatever overridable lists */
	assert_int_equal(jc_job_set(j, "user", "0:0", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "user");
	jc_error_clear(&err);
	/* not listed */
	assert_int_equal(jc_job_set(j, "image", "app", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "image");
	jc_error_clear(&err);
	/* listed, but a limit may only be lowered */
	assert_int_equal(jc_job_set(j, "memory", "2g", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "memory");
	jc_error_clear(&err);
	assert_int_equal(jc_job_set(j, "memory", "512m", &err), 0);
	/* the site's variables are the site's */
	assert_int_equal(jc_job_add_env(j, "BAD NAME=1", &err), -1);
	assert_int_equal(err.kind, JC_ERR_INPUT);
	jc_error_clear(&err);
	/* volume-mode requests on a bind-mode site */
	assert_int_equal(jc_job_set_tenant(j, "acme", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EINVAL, "need [workspace] mode = volume");
	jc_error_clear(&err);
	assert_int_equal(jc_job_add_input(j, "a.txt", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EINVAL, "need [workspace] mode = volume");
	jc_error_clear(&err);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_job_free(j);
	/* a job name the site reserves */
	assert_int_equal(jc_job_new(f->site, "startup", &j, &err), -1);
	assert_int_equal(err.kind, JC_ERR_INPUT);
	jc_error_clear(&err);
}

/* A container named like a job of the site, labelled for another site, is
 * not the site's to wait for, stop or remove. */
static void test_foreign_container_refused(void **state)
{
	struct fx *f = *state;
	jc_error err = { 0 };
	int status = -1;

	open_site(f, "user = 1000:1000\n");
	engine_create(f, "jobcell-s-x",
		      "{\"Image\":\"img\",\"Labels\":{\"jobcell.managed\":\"true\","
		      "\"jobcell.site\":\"other\",\"jobcell.job\":\"x\"}}");
	engine_create(f, "jobcell-s-y", "{\"Image\":\"img\"}");
	for (int k = 0; k < 2; k++) {
		const char *job = k ? "y" : "x";
		assert_int_equal(jc_job_stop(f->site, job, 0, &err), -1);
		expect_error(&err, JC_ERR_INPUT, EPERM, "is not labelled as job");
		jc_error_clear(&err);
		assert_int_equal(jc_job_wait(f->site, job, 1000, &status, &err), -1);
		expect_error(&err, JC_ERR_INPUT, EPERM, "is not labelled as job");
		jc_error_clear(&err);
		assert_int_equal(jc_job_remove(f->site, job, &err), -1);
		expect_error(&err, JC_ERR_INPUT, EPERM, "is not labelled as job");
		jc_error_clear(&err);
	}
	assert_int_equal(fake_engine_container_count(f->fe), 2);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/containers/"), 0);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/jobcell-s-x/stop"), 0);
}

/* A job container of the site whose jobcell.volume label names a volume of
 * another site: removing the job does not remove that volume. */
static void test_foreign_volume_refused(void **state)
{
	struct fx *f = *state;
	jc_error err = { 0 };

	open_site(f, "user = 1000:1000\n");
	fake_engine_add_volume(f->fe, "theirs",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"other\"}");
	engine_create(f, "jobcell-s-v",
		      "{\"Image\":\"img\",\"Labels\":{\"jobcell.managed\":\"true\","
		      "\"jobcell.site\":\"s\",\"jobcell.job\":\"v\",\"jobcell.volume\":\"theirs\"}}");
	assert_int_equal(jc_job_remove(f->site, "v", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "is not labelled as a volume of site `s`");
	jc_error_clear(&err);
	assert_true(fake_engine_has_volume(f->fe, "theirs"));
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 0);
}

/* rm removes the job's own volume only: of the site, tenant, run and job the
 * container is labelled with, with the nonce the container names, not kept.
 * Any other volume the container's jobcell.volume names stays (EPERM). */
#define CONTAINER_OF_V                                                                             \
	"{\"Image\":\"img\",\"Labels\":{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","       \
	"\"jobcell.job\":\"v\",\"jobcell.tenant\":\"a\",\"jobcell.run\":\"r\",\"jobcell.volume\":"     \
	"\"tenant-a-run-r-1000000000000-0000cafe\",\"jobcell.volume_nonce\":\"00000000000000aa\"}}"
static void test_rm_takes_only_the_jobs_own_volume(void **state)
{
	static const struct {
		const char *vol_labels, *why;
	} cases[] = {
		/* another tenant's, of this site */
		{ "\"jobcell.tenant\":\"b\",\"jobcell.run\":\"r\",\"jobcell.job\":\"v\","
		  "\"jobcell.nonce\":\"00000000000000aa\"",
		  "is not job `v`'s own volume" },
		/* another run's */
		{ "\"jobcell.tenant\":\"a\",\"jobcell.run\":\"q\",\"jobcell.job\":\"v\","
		  "\"jobcell.nonce\":\"00000000000000aa\"",
		  "is not job `v`'s own volume" },
		/* another job's */
		{ "\"jobcell.tenant\":\"a\",\"jobcell.run\":\"r\",\"jobcell.job\":\"w\","
		  "\"jobcell.nonce\":\"00000000000000aa\"",
		  "is not job `v`'s own volume" },
		/* the same names, another volume's nonce */
		{ "\"jobcell.tenant\":\"a\",\"jobcell.run\":\"r\",\"jobcell.job\":\"v\","
		  "\"jobcell.nonce\":\"00000000000000bb\"",
		  "is not job `v`'s own volume" },
		/* kept */
		{ "\"jobcell.tenant\":\"a\",\"jobcell.run\":\"r\",\"jobcell.job\":\"v\","
		  "\"jobcell.nonce\":\"00000000000000aa\",\"jobcell.keep\":\"true\"",
		  "is kept" },
	};
	static const char vol[] = "tenant-a-run-r-1000000000000-0000cafe";
	struct fx *f = *state;
	char labels[600];
	jc_error err = { 0 };

	open_site(f, "user = 1000:1000\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(labels, sizeof(labels),
			 "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\",%s}",
			 cases[i].vol_labels);
		fake_engine_add_volume(f->fe, vol, labels);
		engine_create(f, "jobcell-s-v", CONTAINER_OF_V);
		assert_int_equal(jc_job_remove(f->site, "v", &err), -1);
		expect_error(&err, JC_ERR_INPUT, EPERM, cases[i].why);
		assert_non_null(strstr(err.msg, "job `v` removed, its volume label left alone"));
		jc_error_clear(&err);
		/* the job's container goes; the volume stays */
		assert_int_equal(fake_engine_container_count(f->fe), 0);
		assert_true(fake_engine_has_volume(f->fe, vol));
		assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 0);
	}
	/* a volume that is gone already: the container goes, rm succeeds */
	engine_create(f, "jobcell-s-v",
		      "{\"Image\":\"img\",\"Labels\":{\"jobcell.managed\":\"true\","
		      "\"jobcell.site\":\"s\",\"jobcell.job\":\"v\",\"jobcell.volume\":"
		      "\"tenant-a-run-r-1000000000000-0000dead\"}}");
	if (jc_job_remove(f->site, "v", &err) < 0)
		fail_msg("jc_job_remove: %s", err.msg);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	/* its own: goes, with the container */
	fake_engine_add_volume(f->fe, vol,
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","
			       "\"jobcell.tenant\":\"a\",\"jobcell.run\":\"r\",\"jobcell.job\":\"v\","
			       "\"jobcell.nonce\":\"00000000000000aa\",\"jobcell.keep\":\"\"}");
	engine_create(f, "jobcell-s-v", CONTAINER_OF_V);
	if (jc_job_remove(f->site, "v", &err) < 0)
		fail_msg("jc_job_remove: %s", err.msg);
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run_through_the_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_goes_through_the_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_proof_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_proof_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_proof_engine_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_proof_file_bind_and_volume_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_refused_without_allow_root, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_override_outside_allowlist_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_container_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_volume_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_takes_only_the_jobs_own_volume, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
