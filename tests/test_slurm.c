/* The Slurm allocation (slurm.c) and the cgroup parent (cgroup.c): the
 * values of the keys, the job's cgroup in Slurm's v1 and v2 layouts, the
 * GPUs of the environment, the judgement against the engine's driver, the
 * exact create body, and each refusal with nothing sent to create. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <jobcell.h>

#include "cgroup.h"
#include "check.h"
#include "config.h"
#include "docker/engine.h"
#include "docker/json.h"
#include "fake_engine.h"
#include "plan.h"
#include "slurm.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_error(const jc_error *err, enum jc_error_kind kind, int status, const char *text)
{
	assert_int_equal(err->kind, kind);
	assert_int_equal(err->status, status);
	assert_non_null(err->msg);
	if (!strstr(err->msg, text))
		fail_msg("message `%s` lacks `%s`", err->msg, text);
}

/* ---- the key's values ---- */

static void test_parent_values(void **state)
{
	static const char *const good[] = {
		"",
		"slurm",
		"/jobcell",
		"/slurm/uid_0/job_42",
		"/system.slice/x@1.scope/job_7",
		"jobs.slice",
		"machine-jobcell.slice",
	};
	static const char *const bad[] = {
		"/",     "relative/path", "/a/../b", "/a/./b",    "/a//b", "/a/",
		"/a b",  "/a\nb",         "/a;b",    "x.slice/y", "/$x",   ".slice",
		"Slurm", "slurm ",        "/a/\x01", "job.scope",
	};
	char longp[JC_CGROUP_PATH_MAX + 8];

	(void)state;
	for (size_t i = 0; i < N(good); i++)
		if (jc_cgroup_parent_why(good[i]))
			fail_msg("`%s` refused", good[i]);
	for (size_t i = 0; i < N(bad); i++)
		if (!jc_cgroup_parent_why(bad[i]))
			fail_msg("`%s` taken", bad[i]);
	longp[0] = '/';
	memset(longp + 1, 'a', sizeof(longp) - 2);
	longp[sizeof(longp) - 1] = '\0';
	assert_non_null(jc_cgroup_parent_why(longp));
}

static void test_config_key(void **state)
{
	struct jc_config c;
	jc_error err = { 0 };
	char path[] = "/tmp/jobcell-slurm-ini.XXXXXX";
	int fd;
	FILE *f;

	(void)state;
	assert_int_equal(jc_config_init(&c, &err), 0);
	assert_null(c.cgroup_parent);
	assert_int_equal(jc_config_override(&c, "cgroup_parent", "/x", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "may never change");
	jc_error_clear(&err);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "[job]\ncgroup_parent = /a/../b\ngpus = slurm\ntimeout_from = allocation\n"
		   "[slurm]\nkill_wait = 30x\n");
	fclose(f);
	assert_int_equal(jc_config_load(&c, path, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL,
		     ":2: [job] cgroup_parent = `/a/../b`: want slurm");
	assert_non_null(strstr(err.msg, "(and 2 more)"));
	assert_int_equal(c.problems.n, 3);
	assert_non_null(
	    strstr(c.problems.v[1], ":4: [job] timeout_from = `allocation`: want slurm"));
	assert_non_null(strstr(c.problems.v[2], ":6: [slurm] kill_wait = `30x`: not a duration"));
	jc_error_clear(&err);
	assert_int_equal(jc_config_override(&c, "timeout_from", "slurm", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "may never change");
	jc_error_clear(&err);
	assert_int_equal(jc_config_override(&c, "kill_wait", "1h", &err), -1);
	expect_error(&err, JC_ERR_INPUT, EPERM, "no key of [job]");
	jc_error_clear(&err);
	assert_int_equal(c.gpus.count, JC_GPUS_SLURM);
	jc_config_free(&c);

	/* slurm needs the engine on this host */
	assert_int_equal(jc_config_init(&c, &err), 0);
	f = fopen(path, "w");
	fprintf(f, "[engine]\nendpoint = tcp://127.0.0.1:2376\n[site]\nname = s\n"
		   "[workspace]\nmode = volume\n[volume]\nsite_volume = v1\n"
		   "[job]\ncgroup_parent = slurm\n");
	fclose(f);
	assert_int_equal(jc_config_load(&c, path, &err), 0);
	assert_int_equal(jc_config_validate(&c, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL,
		     "cgroup_parent = slurm needs an engine on a local");
	jc_error_clear(&err);
	jc_config_free(&c);
	unlink(path);
}

/* A request may ask for no GPUs, or the allocation's again; under
 * `all`, for the allocation's; never more than the site's. */
static void test_gpus_override(void **state)
{
	static const struct {
		const char *site, *req;
		int ok;
	} cases[] = {
		{ "slurm", "", 1 },    { "slurm", "slurm", 1 }, { "slurm", "0", 1 /* none */ },
		{ "slurm", "1", 0 },   { "slurm", "2,3", 0 },   { "slurm", "all", 0 },
		{ "all", "slurm", 1 }, { "2", "slurm", 0 },     { "0,1", "slurm", 0 },
		{ "", "slurm", 0 },
	};
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct jc_config c;
		jc_error err = { 0 };
		int r;

		assert_int_equal(jc_config_init(&c, &err), 0);
		assert_int_equal(jc_parse_gpus(cases[i].site, &c.gpus), 0);
		jc_strv_free(&c.overridable);
		assert_int_equal(jc_strv_push(&c.overridable, "gpus"), 0);
		r = jc_config_override(&c, "gpus", cases[i].req, &err);
		if ((r == 0) != cases[i].ok)
			fail_msg("site `%s`, request `%s`: %s", cases[i].site, cases[i].req,
				 err.msg ? err.msg : "taken");
		if (r < 0)
			expect_error(&err, JC_ERR_INPUT, EPERM, "more than the site's");
		jc_error_clear(&err);
		jc_config_free(&c);
	}
}

/* ---- the job's cgroup ---- */

/* Slurm 22.05 cgroup/v2: the step's task under slurmstepd's scope. */
static const char v2_text[] = "0::/system.slice/slurmstepd.scope/job_42/step_batch/user/task_0\n";
/* Slurm 22.05 cgroup/v1 on a hybrid host: every v1 controller, then the
 * empty v2 hierarchy. */
static const char v1_text[] = "12:pids:/slurm/uid_1000/job_42/step_0/task_0\n"
			      "11:cpu,cpuacct:/slurm/uid_1000/job_42/step_0/task_0\n"
			      "9:memory:/slurm_node1/uid_1000/job_42/step_0/task_0\n"
			      "8:cpuset:/slurm/uid_1000/job_42/step_0\n"
			      "1:name=systemd:/system.slice/slurmd.service\n"
			      "0::/system.slice/slurmd.service\n";

static void test_slurm_parent(void **state)
{
	jc_error err = { 0 };
	char *p = NULL;

	(void)state;
	assert_true(jc_cgroup_text_v2(v2_text));
	assert_true(jc_cgroup_text_v2("0::/"));
	assert_false(jc_cgroup_text_v2(v1_text));
	assert_false(jc_cgroup_text_v2("4:memory:/x\n0::/\n"));

	assert_int_equal(jc_cgroup_slurm_parent(v2_text, "42", true, &p, &err), 0);
	assert_string_equal(p, "/system.slice/slurmstepd.scope/job_42");
	free(p);
	assert_int_equal(jc_cgroup_slurm_parent(v1_text, "42", false, &p, &err), 0);
	assert_string_equal(p, "/slurm_node1/uid_1000/job_42");
	free(p);
	/* memory joined with others in one hierarchy */
	assert_int_equal(jc_cgroup_slurm_parent("3:cpu,memory:/slurm/uid_0/job_9/step_0\n", "9",
						false, &p, &err),
			 0);
	assert_string_equal(p, "/slurm/uid_0/job_9");
	free(p);
	/* a job's own level, with no step below it (salloc's shell) */
	assert_int_equal(jc_cgroup_slurm_parent("0::/x/job_5\n", "5", true, &p, &err), 0);
	assert_string_equal(p, "/x/job_5");
	free(p);
}

static void test_slurm_parent_refusals(void **state)
{
	static const struct {
		const char *text, *id;
		bool v2;
		int status;
		const char *msg;
	} bad[] = {
		/* another job, whose id starts with this one's */
		{ "0::/s/job_420/step_0\n", "42", true, ENOENT, "not in Slurm job 42's cgroup" },
		{ "0::/s/xjob_42/step_0\n", "42", true, ENOENT, "no `/job_42`" },
		{ "0::/user.slice/session-1.scope\n", "42", true, ENOENT, "not in Slurm job" },
		{ "0::/a/job_42/b/job_42/c\n", "42", true, EINVAL, "not one Slurm job cgroup" },
		{ "0::/a/job_42/b c\n", "42", true, EINVAL, "not one Slurm job cgroup" },
		{ "0::/a/job_42/\x1b[2J\n", "42", true, EINVAL, "not one Slurm job cgroup" },
		{ "4:pids:/slurm/uid_0/job_42\n", "42", false, ENOENT, "no the v1 memory" },
		{ v1_text, "42", true, ENOENT, "not in Slurm job" },
		{ "", "42", true, ENOENT, "has no the cgroup v2 line" },
		{ "4:memoryx:/slurm/job_42\n", "42", false, ENOENT, "has no" },
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		jc_error err = { 0 };
		char *p = NULL;
		if (jc_cgroup_slurm_parent(bad[i].text, bad[i].id, bad[i].v2, &p, &err) != -1)
			fail_msg("case %zu taken: %s", i, p);
		assert_null(p);
		assert_int_equal(err.kind, JC_ERR_CONFIG);
		if (err.status != bad[i].status || !strstr(err.msg, "cgroup_parent = slurm"))
			fail_msg("case %zu: %d %s", i, err.status, err.msg);
		jc_error_clear(&err);
	}
}

static void test_read_self(void **state)
{
	jc_error err = { 0 };
	char *t = NULL;

	(void)state;
	assert_int_equal(jc_cgroup_read_self(&t, &err), 0);
	assert_non_null(strstr(t, "::"));
	free(t);
}

static void test_parent_against_engine(void **state)
{
	const struct jc_engine_cgroups fs1 = { JC_CGROUP_DRIVER_CGROUPFS, "cgroupfs", 1 };
	const struct jc_engine_cgroups fs2 = { JC_CGROUP_DRIVER_CGROUPFS, "cgroupfs", 2 };
	const struct jc_engine_cgroups sd2 = { JC_CGROUP_DRIVER_SYSTEMD, "systemd", 2 };
	const struct jc_engine_cgroups other = { JC_CGROUP_DRIVER_OTHER, "weird", 2 };
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_cgroup_parent_check("/slurm/uid_0/job_1", true, 1, &fs1, &err), 0);
	assert_int_equal(jc_cgroup_parent_check("/s/job_1", true, 2, &fs2, &err), 0);
	assert_int_equal(jc_cgroup_parent_check("/explicit", false, 0, &fs2, &err), 0);
	assert_int_equal(jc_cgroup_parent_check("jobs.slice", false, 0, &sd2, &err), 0);

	assert_int_equal(jc_cgroup_parent_check("/s/job_1", true, 2, &sd2, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, ENOTSUP, "driver is systemd, which takes only a slice");
	jc_error_clear(&err);
	assert_int_equal(jc_cgroup_parent_check("/explicit", false, 0, &sd2, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, ENOTSUP,
		     "`/explicit`: the engine's cgroup driver is systemd");
	jc_error_clear(&err);
	assert_int_equal(jc_cgroup_parent_check("jobs.slice", false, 0, &fs1, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, ENOTSUP, "cgroupfs, which takes an absolute path");
	jc_error_clear(&err);
	assert_int_equal(jc_cgroup_parent_check("/x", false, 0, &other, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, ENOTSUP, "driver is `weird`");
	jc_error_clear(&err);
	/* the engine makes its cgroups in another hierarchy than this host's */
	assert_int_equal(jc_cgroup_parent_check("/s/job_1", true, 2, &fs1, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, ENOTSUP, "engine reports cgroup v1 and this host's");
	jc_error_clear(&err);
}

static void test_parse_info(void **state)
{
	struct jc_engine_cgroups c;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_docker_parse_cgroups(
			     "{\"CgroupDriver\":\"systemd\",\"CgroupVersion\":\"2\"}", &c, &err),
			 0);
	assert_int_equal(c.driver, JC_CGROUP_DRIVER_SYSTEMD);
	assert_int_equal(c.version, 2);
	assert_int_equal(jc_docker_parse_cgroups("{\"CgroupDriver\":\"cgroupfs\"}", &c, &err), 0);
	assert_int_equal(c.driver, JC_CGROUP_DRIVER_CGROUPFS);
	assert_int_equal(c.version, 0);
	assert_int_equal(jc_docker_parse_cgroups("{\"CgroupDriver\":\"x\\u001b\"}", &c, &err), 0);
	assert_int_equal(c.driver, JC_CGROUP_DRIVER_OTHER);
	assert_null(strchr(c.driver_name, '\x1b'));
	assert_int_equal(jc_docker_parse_cgroups("{\"CgroupVersion\":\"2\"}", &c, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, EPROTO, "names no CgroupDriver");
	jc_error_clear(&err);
	assert_int_equal(jc_docker_parse_cgroups(
			     "{\"CgroupDriver\":\"cgroupfs\",\"CgroupVersion\":\"3\"}", &c, &err),
			 -1);
	expect_error(&err, JC_ERR_ENGINE, EPROTO, "neither 1 nor 2");
	jc_error_clear(&err);
	assert_int_equal(jc_docker_parse_cgroups("[1", &c, &err), -1);
	assert_int_equal(err.status, EBADMSG);
	jc_error_clear(&err);
}

/* ---- the environment ---- */

static void test_job_id(void **state)
{
	static const char *const bad[] = {
		"SLURM_JOB_ID=",   "SLURM_JOB_ID=0",           "SLURM_JOB_ID=01",
		"SLURM_JOB_ID=4x", "SLURM_JOB_ID=12345678901", "SLURM_JOB_ID=-1",
		"SLURM_JOB_ID=1 "
	};
	char *none[] = { "PATH=/bin", NULL };
	char *good[] = { "SLURM_JOB_ID=4294967294", NULL };
	jc_error err = { 0 };
	const char *id = NULL;

	(void)state;
	assert_int_equal(jc_slurm_job_id(good, "k", &id, &err), 0);
	assert_string_equal(id, "4294967294");
	assert_int_equal(jc_slurm_job_id(none, "[job] gpus = slurm", &id, &err), -1);
	expect_error(
	    &err, JC_ERR_CONFIG, ESRCH,
	    "[job] gpus = slurm: SLURM_JOB_ID is not set: jobcell runs outside a Slurm job");
	jc_error_clear(&err);
	for (size_t i = 0; i < N(bad); i++) {
		char *env[] = { (char *)bad[i], NULL };
		assert_int_equal(jc_slurm_job_id(env, "k", &id, &err), -1);
		expect_error(&err, JC_ERR_CONFIG, EINVAL, "not a Slurm job id");
		jc_error_clear(&err);
	}
}

static void test_gpus_from_env(void **state)
{
	static const char uuid[] = "GPU-6f1d3d8e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";
	char env_uuid[128];
	jc_error err = { 0 };
	struct jc_gpus g = { 0 };
	const char *from = NULL;

	(void)state;
	{
		char *env[] = { "SLURM_JOB_GPUS=0,2", "CUDA_VISIBLE_DEVICES=0,1", NULL };
		assert_int_equal(jc_slurm_gpus(env, &g, &from, &err), 0);
		assert_string_equal(from, "SLURM_JOB_GPUS");
		assert_int_equal(g.count, 0);
		assert_int_equal(g.ids.n, 2);
		assert_string_equal(g.ids.v[0], "0");
		assert_string_equal(g.ids.v[1], "2");
	}
	{
		/* an srun step's own GPUs before the job's it inherits */
		char *env[] = { "SLURM_JOB_GPUS=0,2", "SLURM_STEP_GPUS=2", NULL };
		assert_int_equal(jc_slurm_gpus(env, &g, &from, &err), 0);
		assert_string_equal(from, "SLURM_STEP_GPUS");
		assert_int_equal(g.ids.n, 1);
		assert_string_equal(g.ids.v[0], "2");
	}
	snprintf(env_uuid, sizeof(env_uuid), "CUDA_VISIBLE_DEVICES=%s", uuid);
	{
		char *env[] = { env_uuid, NULL };
		assert_int_equal(jc_slurm_gpus(env, &g, &from, &err), 0);
		assert_string_equal(from, "CUDA_VISIBLE_DEVICES");
		assert_int_equal(g.ids.n, 1);
		assert_string_equal(g.ids.v[0], uuid);
	}
	{
		/* none allocated: none asked */
		char *env[] = { "PATH=/bin", NULL };
		assert_int_equal(jc_slurm_gpus(env, &g, &from, &err), 0);
		assert_null(from);
		assert_int_equal(g.count, 0);
		assert_int_equal(g.ids.n, 0);
		char *empty[] = { "SLURM_JOB_GPUS=", NULL };
		assert_int_equal(jc_slurm_gpus(empty, &g, &from, &err), 0);
		assert_int_equal(g.ids.n, 0);
	}
	jc_gpus_free(&g);
}

static void test_gpus_from_env_refused(void **state)
{
	static const struct {
		const char *entry;
		int status;
		const char *msg;
	} bad[] = {
		{ "SLURM_JOB_GPUS=all", EINVAL, "SLURM_JOB_GPUS is not a list of GPU ids" },
		{ "SLURM_JOB_GPUS=-1", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=0,,1", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=0,", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS= 0", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=0;1", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=12345", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=GPU-", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=GPU-xyz", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=MIG-1234", EINVAL, "not a list" },
		{ "SLURM_JOB_GPUS=1,1", EINVAL, "names GPU `1` twice" },
		{ "SLURM_JOB_GPUS=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", E2BIG,
		  "more than 16" },
		{ "CUDA_VISIBLE_DEVICES=NoDevFiles", EINVAL, "CUDA_VISIBLE_DEVICES is not a list" },
		{ "CUDA_VISIBLE_DEVICES=0,1", EINVAL,
		  "numbers from 0 inside the step's device cgroup" },
		{ "SLURM_STEP_GPUS=x", EINVAL, "SLURM_STEP_GPUS is not a list" },
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		char *env[] = { (char *)bad[i].entry, NULL };
		struct jc_gpus g = { 0 };
		const char *from = NULL;
		jc_error err = { 0 };

		assert_int_equal(jc_parse_gpus("3", &g), 0);
		if (jc_slurm_gpus(env, &g, &from, &err) != -1)
			fail_msg("`%s` taken", bad[i].entry);
		/* left alone on failure */
		assert_int_equal(g.count, 3);
		expect_error(&err, JC_ERR_CONFIG, bad[i].status, bad[i].msg);
		jc_error_clear(&err);
		jc_gpus_free(&g);
	}
}

/* ---- time ---- */

static void test_end_time(void **state)
{
	static const char *const bad[] = { "SLURM_JOB_END_TIME=",
					   "SLURM_JOB_END_TIME=x",
					   "SLURM_JOB_END_TIME=-5",
					   "SLURM_JOB_END_TIME=1e9",
					   "SLURM_JOB_END_TIME=1234567890123",
					   "SLURM_JOB_END_TIME=Unknown" };
	char *good[] = { "SLURM_JOB_END_TIME=1765000000", NULL };
	char *none[] = { "SLURM_JOB_ID=1", NULL };
	jc_error err = { 0 };
	int64_t t = 0;

	(void)state;
	assert_int_equal(jc_slurm_end_time(good, &t, &err), 0);
	assert_int_equal(t, 1765000000);
	assert_int_equal(jc_slurm_end_time(none, &t, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ESRCH, "SLURM_JOB_END_TIME is not set");
	jc_error_clear(&err);
	for (size_t i = 0; i < N(bad); i++) {
		char *env[] = { (char *)bad[i], NULL };
		assert_int_equal(jc_slurm_end_time(env, &t, &err), -1);
		expect_error(&err, JC_ERR_CONFIG, EINVAL, "not a unix time in seconds");
		jc_error_clear(&err);
	}
}

/* timeout = end - now - stop_grace - stop_margin, capped by the site's */
static void test_timeout_arithmetic(void **state)
{
	struct jc_config c;
	jc_error err = { 0 };
	int64_t t = 0, now = INT64_C(1765000000000);

	(void)state;
	assert_int_equal(jc_config_init(&c, &err), 0);
	c.stop_grace_ms = 10000;
	c.slurm_stop_margin_ms = 5000;
	/* an hour left: 3600 - 10 - 5 */
	assert_int_equal(jc_slurm_timeout(&c, 1765000000 + 3600, now, 0, &t, &err), 0);
	assert_int_equal(t, 3585000);
	/* the site's own timeout is shorter: it stands */
	assert_int_equal(jc_slurm_timeout(&c, 1765000000 + 3600, now, 60000, &t, &err), 0);
	assert_int_equal(t, 60000);
	/* the allocation's is shorter than the site's */
	assert_int_equal(jc_slurm_timeout(&c, 1765000000 + 20, now + 500, 60000, &t, &err), 0);
	assert_int_equal(t, 4500);
	/* less than a second left after the grace and the margin */
	assert_int_equal(jc_slurm_timeout(&c, 1765000000 + 15, now + 500, 0, &t, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ETIME,
		     "the Slurm allocation ends in 14.500s, which leaves the job no time before "
		     "[job] stop_grace (10s) and [slurm] stop_margin (5s)");
	jc_error_clear(&err);
	/* an end already past */
	assert_int_equal(jc_slurm_timeout(&c, 1765000000 - 60, now, 0, &t, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ETIME, "ends in 0s");
	jc_error_clear(&err);
	jc_config_free(&c);
}

static void test_kill_wait(void **state)
{
	struct jc_config c;
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_config_init(&c, &err), 0);
	/* not given: not checked */
	assert_int_equal(c.slurm_kill_wait_ms, 0);
	assert_int_equal(c.slurm_stop_margin_ms, 5000);
	assert_int_equal(jc_slurm_check_kill_wait(&c, &err), 0);
	/* 10s + 5s fit in Slurm's default KillWait of 30s, and in 15s */
	c.slurm_kill_wait_ms = 30000;
	assert_int_equal(jc_slurm_check_kill_wait(&c, &err), 0);
	c.slurm_kill_wait_ms = 15000;
	assert_int_equal(jc_slurm_check_kill_wait(&c, &err), 0);
	c.slurm_kill_wait_ms = 14999;
	assert_int_equal(jc_slurm_check_kill_wait(&c, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL,
		     "[job] stop_grace (10s) + [slurm] stop_margin (5s) exceed [slurm] kill_wait "
		     "(14.999s): Slurm's SIGKILL would end jobcell");
	jc_error_clear(&err);
	jc_config_free(&c);
}

/* ---- the plan and the body ---- */

static struct jc_config base_config(void)
{
	struct jc_config c;
	jc_error err = { 0 };

	assert_int_equal(jc_config_init(&c, &err), 0);
	c.site_name = strdup("s");
	c.ws_path = strdup("/srv/ws");
	c.image = strdup("img");
	return c;
}

static cJSON *host_config(const struct jc_plan *p, cJSON **root)
{
	jc_error err = { 0 };
	char *body = jc_docker_create_body(p, false, &err);

	assert_non_null(body);
	*root = cJSON_Parse(body);
	free(body);
	assert_non_null(*root);
	return cJSON_GetObjectItemCaseSensitive(*root, "HostConfig");
}

static void test_create_body(void **state)
{
	struct jc_config c = base_config();
	struct jc_gpus alloc = { 0 };
	struct jc_job_request req = { .job = "j", .timeout_ms = -1 };
	struct jc_plan *p = NULL;
	jc_error err = { 0 };
	cJSON *root, *hc;
	char *dr;

	(void)state;
	assert_int_equal(jc_parse_gpus("slurm", &c.gpus), 0);
	c.cgroup_parent = strdup("slurm");
	/* not collected: refused, never "no GPUs" by default */
	assert_int_equal(jc_plan_check(&c, &req, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL, "the allocation's GPUs were not read");
	jc_error_clear(&err);
	assert_int_equal(jc_parse_gpus("1,GPU-ab12", &alloc), 0);
	req.slurm_gpus = &alloc;
	assert_int_equal(jc_plan_check(&c, &req, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL, "the Slurm job's cgroup was not read");
	jc_error_clear(&err);
	req.slurm_cgroup = "/slurm/uid_0/job_42";
	assert_int_equal(jc_plan_check(&c, &req, &err), 0);
	assert_int_equal(jc_plan_build(&c, &req, "1000:1000", 1, &p, &err), 0);
	hc = host_config(p, &root);
	dr = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(hc, "DeviceRequests"));
	assert_string_equal(dr, "[{\"Driver\":\"\",\"Count\":0,\"DeviceIDs\":[\"1\",\"GPU-ab12\"],"
				"\"Capabilities\":[[\"gpu\"]],\"Options\":{}}]");
	free(dr);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(hc, "CgroupParent")->valuestring,
			    "/slurm/uid_0/job_42");
	cJSON_Delete(root);
	jc_plan_free(p);

	/* no GPUs allocated: no DeviceRequests at all; an explicit parent */
	jc_gpus_free(&alloc);
	free(c.cgroup_parent);
	c.cgroup_parent = strdup("/jobcell/jobs");
	req.slurm_cgroup = NULL;
	assert_int_equal(jc_plan_build(&c, &req, "1000:1000", 1, &p, &err), 0);
	hc = host_config(p, &root);
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "DeviceRequests"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(hc, "CgroupParent")->valuestring,
			    "/jobcell/jobs");
	cJSON_Delete(root);
	jc_plan_free(p);

	/* no key: no CgroupParent */
	free(c.cgroup_parent);
	c.cgroup_parent = NULL;
	jc_gpus_free(&c.gpus);
	assert_int_equal(jc_plan_build(&c, &req, "1000:1000", 1, &p, &err), 0);
	hc = host_config(p, &root);
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "CgroupParent"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "DeviceRequests"));
	cJSON_Delete(root);
	jc_plan_free(p);
	jc_config_free(&c);
}

/* ---- through the pipeline, on the fake engine ---- */

struct fx {
	struct fake_engine *fe;
	char dir[64];
	char ws[128];
	char ini[160];
	jc_site *site;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_workspace_make(f->dir, "/tmp/jobcell-slurm.XXXXXX", f->ws), 0);
	snprintf(f->ini, sizeof(f->ini), "%s/site.ini", f->dir);
	f->fe = fake_engine_start("1.41");
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "1000");
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOB_GPUS");
	unsetenv("SLURM_JOB_END_TIME");
	unsetenv("CUDA_VISIBLE_DEVICES");
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
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOB_GPUS");
	unsetenv("SLURM_JOB_END_TIME");
	unsetenv("CUDA_VISIBLE_DEVICES");
	free(f);
	return 0;
}

static void open_site(struct fx *f, const char *job_keys)
{
	jc_error err = { 0 };
	FILE *o = fopen(f->ini, "w");

	assert_non_null(o);
	fprintf(o,
		"[engine]\nendpoint = unix://%s\ntimeout = 3s\n[site]\nname = s\n"
		"[workspace]\npath = %s\n[job]\nimage = img\nstop_grace = 1s\n%s",
		fake_engine_socket(f->fe), f->ws, job_keys);
	fclose(o);
	jc_site_close(f->site);
	f->site = NULL;
	if (jc_site_open(f->dir, f->ini, NULL, &f->site, &err) < 0)
		fail_msg("jc_site_open: %s", err.msg);
}

static int run_job(struct fx *f, struct jc_job_outcome *out, jc_error *err)
{
	jc_job *j = NULL;
	int r;

	assert_int_equal(jc_job_new(f->site, "j", &j, err), 0);
	assert_int_equal(jc_job_add_arg(j, "exit", err), 0);
	assert_int_equal(jc_job_add_arg(j, "0", err), 0);
	r = jc_job_run(j, out, err);
	jc_job_free(j);
	return r;
}

static cJSON *created_host_config(struct fx *f, cJSON **root)
{
	const struct fake_request *rq = fake_engine_find(f->fe, "POST", "/containers/create");

	assert_non_null(rq);
	*root = cJSON_Parse(rq->body);
	assert_non_null(*root);
	return cJSON_GetObjectItemCaseSensitive(*root, "HostConfig");
}

static void test_job_gpus(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	cJSON *root, *hc;
	char *dr;

	open_site(f, "gpus = slurm\n");
	/* outside a Slurm job: one line, nothing asked of the engine */
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ESRCH, "[job] gpus = slurm: SLURM_JOB_ID is not set");
	assert_int_equal(jc_exit_status_of_error(&err), JC_EXIT_JOBCELL);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);

	setenv("SLURM_JOB_ID", "77", 1);
	setenv("SLURM_JOB_GPUS", "3,1", 1);
	setenv("CUDA_VISIBLE_DEVICES", "0,1", 1);
	fake_engine_reset_requests(f->fe);
	if (run_job(f, &out, &err) < 0)
		fail_msg("run: %s", err.msg);
	assert_int_equal(out.exit_status, 0);
	hc = created_host_config(f, &root);
	dr = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(hc, "DeviceRequests"));
	assert_string_equal(dr, "[{\"Driver\":\"\",\"Count\":0,\"DeviceIDs\":[\"3\",\"1\"],"
				"\"Capabilities\":[[\"gpu\"]],\"Options\":{}}]");
	free(dr);
	/* gpus alone asks nothing of the engine's cgroups */
	assert_null(fake_engine_find(f->fe, "GET", "/info"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "CgroupParent"));
	cJSON_Delete(root);

	/* a bad id: refused before anything reaches the engine */
	setenv("SLURM_JOB_GPUS", "0,all", 1);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL, "SLURM_JOB_GPUS is not a list of GPU ids");
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_job_cgroup_parent(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	cJSON *root, *hc;

	open_site(f, "cgroup_parent = /jobcell-test/jobs\n");
	fake_engine_reset_requests(f->fe);
	if (run_job(f, &out, &err) < 0)
		fail_msg("run: %s", err.msg);
	assert_non_null(fake_engine_find(f->fe, "GET", "/info"));
	hc = created_host_config(f, &root);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(hc, "CgroupParent")->valuestring,
			    "/jobcell-test/jobs");
	cJSON_Delete(root);

	/* a driver that cannot take it: refused after /info, nothing created */
	fake_engine_set_cgroups(f->fe, "systemd", "2");
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, ENOTSUP, "driver is systemd, which takes only a slice");
	assert_int_equal(jc_exit_status_of_error(&err), JC_EXIT_JOBCELL);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	jc_error_clear(&err);

	/* a slice goes to systemd */
	open_site(f, "cgroup_parent = jobcell.slice\n");
	fake_engine_reset_requests(f->fe);
	if (run_job(f, &out, &err) < 0)
		fail_msg("run: %s", err.msg);
	hc = created_host_config(f, &root);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(hc, "CgroupParent")->valuestring,
			    "jobcell.slice");
	cJSON_Delete(root);

	/* an engine whose /info fails: the run fails, nothing created */
	fake_engine_fail(f->fe, "GET", "/info", FAKE_FAULT_STATUS, 500, "boom", 1);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_ENGINE, EIO, "boom");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	jc_error_clear(&err);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_job_cgroup_slurm_refusals(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };

	open_site(f, "cgroup_parent = slurm\n");
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ESRCH,
		     "[job] cgroup_parent = slurm: SLURM_JOB_ID is not set: jobcell runs outside "
		     "a Slurm job");
	assert_int_equal(jc_exit_status_of_error(&err), JC_EXIT_JOBCELL);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);

	/* this test runs in no Slurm job's cgroup: SLURM_JOB_ID alone is not enough */
	setenv("SLURM_JOB_ID", "4242424242", 1);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ENOENT, "is not in Slurm job 4242424242's cgroup");
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);
}

static void set_end(int64_t from_now_s)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)(time(NULL) + from_now_s));
	setenv("SLURM_JOB_END_TIME", v, 1);
}

static void test_job_timeout_from(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };
	jc_job *j = NULL;
	cJSON *root, *labels;
	long long created, deadline;

	open_site(f, "timeout_from = slurm\n[slurm]\nstop_margin = 2s\n");
	setenv("SLURM_JOB_ID", "77", 1);
	/* unset: refused, nothing asked of the engine */
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ESRCH, "SLURM_JOB_END_TIME is not set");
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);
	/* too close to the end: 3 s left, 1 s grace + 2 s margin */
	set_end(3);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, ETIME, "leaves the job no time");
	assert_int_equal(jc_exit_status_of_error(&err), JC_EXIT_JOBCELL);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);

	/* 6 s left: the job is stopped by its timeout about 3 s in, the
	 * graceful stop ending before the allocation's end */
	set_end(6);
	assert_int_equal(jc_job_new(f->site, "j", &j, &err), 0);
	assert_int_equal(jc_job_add_arg(j, "sleep", &err), 0);
	assert_int_equal(jc_job_add_arg(j, "30", &err), 0);
	if (jc_job_run(j, &out, &err) < 0)
		fail_msg("run: %s", err.msg);
	jc_job_free(j);
	assert_true(out.timed_out);
	assert_int_equal(out.exit_status, JC_EXIT_TIMEOUT);
	/* the deadline gc trusts counts the derived timeout, not none */
	(void)created_host_config(f, &root);
	labels = cJSON_GetObjectItemCaseSensitive(root, "Labels");
	created = atoll(cJSON_GetObjectItemCaseSensitive(labels, "jobcell.created")->valuestring);
	deadline = atoll(cJSON_GetObjectItemCaseSensitive(labels, "jobcell.deadline")->valuestring);
	/* 1 + <=3 (timeout) + 1 (grace) + 2 x 3 (engine) + 600 (transfer) */
	assert_true(deadline - created >= 1 + 1 + 1 + 6 + 600);
	assert_true(deadline - created <= 1 + 3 + 1 + 6 + 600);
	cJSON_Delete(root);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_job_kill_wait(void **state)
{
	struct fx *f = *state;
	struct jc_job_outcome out = { 0 };
	jc_error err = { 0 };

	/* stop_grace 1s + stop_margin 5s > 5s */
	open_site(f, "[slurm]\nkill_wait = 5s\n");
	fake_engine_reset_requests(f->fe);
	assert_int_equal(run_job(f, &out, &err), -1);
	expect_error(&err, JC_ERR_CONFIG, EINVAL, "exceed [slurm] kill_wait (5s)");
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);
	open_site(f, "[slurm]\nkill_wait = 6s\n");
	if (run_job(f, &out, &err) < 0)
		fail_msg("run: %s", err.msg);
	assert_int_equal(out.exit_status, 0);
}

/* ---- jobcell check's rows ---- */

static const struct jc_check_row *row(const struct jc_check_report *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->rows[i].name, name) == 0)
			return &r->rows[i];
	fail_msg("no row `%s`", name);
	return NULL;
}

static void slurm_rows(const char *driver, const char *parent, char *const *envp,
		       struct jc_check_report *r)
{
	struct fake_engine *fe = fake_engine_start("1.41");
	struct jc_backend *e = NULL;
	struct jc_config c;
	jc_error err = { 0 };
	char ep[300];

	assert_non_null(fe);
	fake_engine_set_cgroups(fe, driver, "1");
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(fe));
	assert_int_equal(jc_config_init(&c, &err), 0);
	c.cgroup_parent = strdup(parent);
	assert_int_equal(jc_parse_gpus("slurm", &c.gpus), 0);
	c.timeout_from = strdup("slurm");
	c.slurm_kill_wait_ms = 30000;
	assert_int_equal(test_docker_open(ep, 5000, &e, &err), 0);
	assert_int_equal(jc_backend_ping(e, &err), 0);
	assert_int_equal(jc_check_slurm(e, &c, envp, r, &err), 0);
	jc_backend_close(e);
	fake_engine_stop(fe);
	jc_config_free(&c);
}

static void test_check_rows_in_job(void **state)
{
	char end[64];
	char *env[] = { "SLURM_JOB_ID=42", "SLURM_JOB_GPUS=1,3", end, NULL };
	struct jc_check_report r = { 0 };

	(void)state;
	snprintf(end, sizeof(end), "SLURM_JOB_END_TIME=%lld", (long long)time(NULL) + 3600);
	slurm_rows("cgroupfs", "/jc/explicit", env, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(row(&r, "cgroup-parent")->state, JC_CHECK_KEPT);
	assert_string_equal(row(&r, "cgroup-parent")->detail,
			    "containers are made under `/jc/explicit` (engine: cgroupfs driver, "
			    "cgroup v1)");
	assert_int_equal(row(&r, "slurm-gpus")->state, JC_CHECK_KEPT);
	assert_non_null(strstr(row(&r, "slurm-gpus")->detail, "GPUs 1,3 (from SLURM_JOB_GPUS)"));
	assert_int_equal(row(&r, "slurm-timeout")->state, JC_CHECK_KEPT);
	assert_non_null(strstr(row(&r, "slurm-timeout")->detail, "gets a timeout of 35"));
	assert_int_equal(row(&r, "slurm-kill-wait")->state, JC_CHECK_KEPT);
	assert_true(jc_check_ok(&r));
	jc_check_report_free(&r);

	/* this test is in no Slurm job's cgroup: slurm is broken here */
	memset(&r, 0, sizeof(r));
	slurm_rows("cgroupfs", "slurm", env, &r);
	assert_int_equal(row(&r, "cgroup-parent")->state, JC_CHECK_BROKEN);
	assert_non_null(
	    strstr(row(&r, "cgroup-parent")->detail, "is not in Slurm job 42's cgroup"));
	assert_false(jc_check_ok(&r));
	jc_check_report_free(&r);
}

static void test_check_rows_outside(void **state)
{
	char *env[] = { "PATH=/bin", "SLURM_JOB_GPUS=0", NULL };
	struct jc_check_report r = { 0 };

	(void)state;
	slurm_rows("cgroupfs", "slurm", env, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(row(&r, "cgroup-parent")->state, JC_CHECK_UNKNOWN);
	assert_non_null(strstr(row(&r, "cgroup-parent")->detail, "outside a Slurm job"));
	assert_int_equal(row(&r, "slurm-gpus")->state, JC_CHECK_UNKNOWN);
	assert_int_equal(row(&r, "slurm-timeout")->state, JC_CHECK_UNKNOWN);
	assert_int_equal(row(&r, "slurm-kill-wait")->state, JC_CHECK_KEPT);
	assert_false(jc_check_ok(&r));
	jc_check_report_free(&r);

	/* a driver that can never take the job's cgroup: broken anywhere */
	memset(&r, 0, sizeof(r));
	slurm_rows("systemd", "slurm", env, &r);
	assert_int_equal(row(&r, "cgroup-parent")->state, JC_CHECK_BROKEN);
	assert_non_null(strstr(row(&r, "cgroup-parent")->detail, "driver is systemd"));
	jc_check_report_free(&r);
}

static void test_check_row_kill_wait(void **state)
{
	struct jc_config c;
	struct jc_check_report r = { 0 };
	jc_error err = { 0 };
	char *env[] = { NULL };

	(void)state;
	assert_int_equal(jc_config_init(&c, &err), 0);
	/* no key: no row */
	assert_int_equal(jc_check_slurm_time(&c, env, false, &r, &err), 0);
	assert_int_equal(r.n, 0);
	c.slurm_kill_wait_ms = 12000;
	assert_int_equal(jc_check_slurm_time(&c, env, false, &r, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(row(&r, "slurm-kill-wait")->state, JC_CHECK_BROKEN);
	assert_non_null(strstr(row(&r, "slurm-kill-wait")->detail,
			       "[job] stop_grace (10s) + [slurm] stop_margin (5s) exceed [slurm] "
			       "kill_wait (12s)"));
	jc_check_report_free(&r);
	jc_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parent_values),
		cmocka_unit_test(test_config_key),
		cmocka_unit_test(test_gpus_override),
		cmocka_unit_test(test_slurm_parent),
		cmocka_unit_test(test_slurm_parent_refusals),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_parent_against_engine),
		cmocka_unit_test(test_parse_info),
		cmocka_unit_test(test_job_id),
		cmocka_unit_test(test_gpus_from_env),
		cmocka_unit_test(test_gpus_from_env_refused),
		cmocka_unit_test(test_end_time),
		cmocka_unit_test(test_timeout_arithmetic),
		cmocka_unit_test(test_kill_wait),
		cmocka_unit_test(test_create_body),
		cmocka_unit_test(test_check_rows_in_job),
		cmocka_unit_test(test_check_rows_outside),
		cmocka_unit_test(test_check_row_kill_wait),
		cmocka_unit_test_setup_teardown(test_job_gpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_cgroup_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_cgroup_slurm_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_timeout_from, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_kill_wait, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
