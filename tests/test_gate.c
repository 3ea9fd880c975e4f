/* The mount gate: the gate program's comparison (launcher/gate/match.c,
 * built into the static gate and compiled in here), and jobcell's side
 * (mount_gate.c): the job's command, the plan through the gate, and the
 * reading of the gate's report. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "gate/match.c"
#include "mount_gate.h"

static struct jc_strv sv(const char **v, size_t n)
{
	struct jc_strv s = { 0 };
	for (size_t i = 0; i < n; i++)
		assert_int_equal(jc_strv_push(&s, v[i]), 0);
	return s;
}

/* ---- the gate program's comparison ---- */

static void test_parse_want(void **state)
{
	(void)state;
	struct gate_want w;
	char ok[] = "/workspace/j=2049:131074", eq[] = "/data/a=b=1:2", big[] =
		"/x=18446744073709551615:1";

	assert_int_equal(gate_parse_want(ok, &w), 0);
	assert_string_equal(w.path, "/workspace/j");
	assert_true(w.dev == 2049 && w.ino == 131074);
	assert_int_equal(gate_parse_want(eq, &w), 0); /* the last `=` splits */
	assert_string_equal(w.path, "/data/a=b");
	assert_int_equal(gate_parse_want(big, &w), 0);
	assert_true(w.dev == UINT64_MAX);
	const char *bad[] = { "",	      "/x",	"x=1:2",    "/x=1",	"/x=:2", "/x=1:",
			      "/x=1:2:3", "/x=-1:2", "/x=1: 2", "=1:2",  "/x=a:2",
			      "/x=18446744073709551616:1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char b[64];
		strcpy(b, bad[i]);
		if (gate_parse_want(b, &w) == 0)
			fail_msg("`%s` parsed", bad[i]);
	}
}

static void test_compare(void **state)
{
	(void)state;
	struct gate_want w = { "/workspace/j", 2049, 77 };
	struct stat st = { 0 };
	char found[64] = "";

	st.st_dev = 2049;
	st.st_ino = 77;
	assert_int_equal(gate_compare(&w, &st, 0, found, sizeof(found)), 0);
	st.st_ino = 78; /* the same file system, another directory: a swap */
	assert_int_equal(gate_compare(&w, &st, 0, found, sizeof(found)), 1);
	assert_string_equal(found, "2049:78");
	st.st_ino = 77;
	st.st_dev = 2050; /* the same inode number elsewhere */
	assert_int_equal(gate_compare(&w, &st, 0, found, sizeof(found)), 1);
	assert_string_equal(found, "2050:77");
	assert_int_equal(gate_compare(&w, &st, ENOENT, found, sizeof(found)), 1);
	assert_string_equal(found, "errno=2");
}

/* ---- jobcell's side ---- */

static void test_argv(void **state)
{
	(void)state;
	const char *ep[] = { "/entry", "-x" }, *cmd[] = { "run", "it" }, *rcmd[] = { "mine" },
		   *rep[] = { "/bin/sh", "-c" };
	struct jc_strv iep = sv(ep, 2), icmd = sv(cmd, 2), qcmd = sv(rcmd, 1), qep = sv(rep, 2),
		       none = { 0 }, out = { 0 };
	jc_error err = { 0 };

	/* the image's entrypoint and command */
	assert_int_equal(jc_gate_argv(&none, &none, &iep, &icmd, "img", &out, &err), 0);
	assert_int_equal(out.n, 4);
	assert_string_equal(out.v[0], "/entry");
	assert_string_equal(out.v[3], "it");
	/* the request's command replaces the image's, after its entrypoint */
	assert_int_equal(jc_gate_argv(&none, &qcmd, &iep, &icmd, "img", &out, &err), 0);
	assert_int_equal(out.n, 3);
	assert_string_equal(out.v[2], "mine");
	/* the request's entrypoint drops the image's entrypoint and command */
	assert_int_equal(jc_gate_argv(&qep, &none, &iep, &icmd, "img", &out, &err), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "/bin/sh");
	/* a cleared entrypoint (--entrypoint ''): the request's command alone */
	{
		struct jc_strv cleared = { 0 };
		assert_int_equal(jc_strv_push(&cleared, ""), 0);
		assert_int_equal(jc_gate_argv(&cleared, &qcmd, &iep, &icmd, "img", &out, &err), 0);
		assert_int_equal(out.n, 1);
		assert_string_equal(out.v[0], "mine");
		jc_strv_free(&cleared);
	}
	/* nothing to run */
	assert_int_equal(jc_gate_argv(&none, &none, &none, &none, "img", &out, &err), -1);
	assert_int_equal(err.kind, JC_ERR_INPUT);
	assert_string_equal(err.msg, "image `img` has no command and the request gives none");
	assert_int_equal(out.n, 1); /* untouched on failure */
	jc_error_clear(&err);
	jc_strv_free(&iep);
	jc_strv_free(&icmd);
	jc_strv_free(&qcmd);
	jc_strv_free(&qep);
	jc_strv_free(&out);
}

static struct jc_gate_mount *three(size_t *n)
{
	struct jc_gate_mount *m = NULL;
	jc_error err = { 0 };

	*n = 0;
	assert_int_equal(jc_gate_mounts_add(&m, n, NULL, "/workspace", "startup", 2049, 10, &err), 0);
	assert_int_equal(jc_gate_mounts_add(&m, n, "job directory", "/workspace/", "j", 2049, 12, &err), 0);
	assert_int_equal(jc_gate_mounts_add(&m, n, "data mount", "/data", "ref", 2050, 5, &err), 0);
	return m;
}

static void test_apply(void **state)
{
	(void)state;
	const char *cmd[] = { "sh", "-c", "echo hi" };
	struct jc_strv argv = sv(cmd, 3);
	struct jc_plan *p = calloc(1, sizeof(*p));
	struct jc_gate_mount *m;
	jc_error err = { 0 };
	size_t n;

	assert_non_null(p);
	m = three(&n);
	assert_string_equal(m[0].what, "`startup`");
	assert_string_equal(m[1].what, "job directory `j`");
	assert_string_equal(m[1].target, "/workspace/j");
	assert_int_equal(jc_strv_push(&p->entrypoint, "/old"), 0);
	assert_int_equal(jc_gate_apply(p, "/usr/libexec/jobcell/jobcell-gate", "00ff00ff00ff00ff",
				       m, n, &argv, &err),
			 0);
	const char *want[] = { "/.jobcell-gate", "00ff00ff00ff00ff", "/workspace/startup=2049:10",
			       "/workspace/j=2049:12", "/data/ref=2050:5", "--" };
	assert_int_equal(p->entrypoint.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(p->entrypoint.v[i], want[i]);
	assert_int_equal(p->cmd.n, 3);
	assert_string_equal(p->cmd.v[2], "echo hi");
	assert_int_equal(p->nmounts, 1);
	assert_int_equal(p->mounts[0].type, JC_MOUNT_BIND);
	assert_true(p->mounts[0].readonly);
	assert_string_equal(p->mounts[0].source, "/usr/libexec/jobcell/jobcell-gate");
	assert_string_equal(p->mounts[0].target, "/.jobcell-gate");
	jc_plan_free(p);
	jc_gate_mounts_free(m, n);
	jc_strv_free(&argv);
}

static void test_report(void **state)
{
	(void)state;
	const char *nonce = "00ff00ff00ff00ff";
	jc_error err = { 0 };
	size_t n;
	struct jc_gate_mount *m = three(&n);

	/* not the gate's, or another run's */
	assert_int_equal(jc_gate_report("hello", nonce, "c", m, n, &err), 0);
	assert_int_equal(jc_gate_report("jobcell-gate 1111111111111111 mount /workspace/j 1:2",
					nonce, "c", m, n, &err),
			 0);
	assert_int_equal(jc_gate_report("jobcell-gate 00ff00ff00ff00ffmount /workspace/j 1:2",
					nonce, "c", m, n, &err),
			 0);
	assert_int_equal(err.kind, JC_ERR_NONE);
	/* a mount that is not the one checked */
	assert_int_equal(jc_gate_report("jobcell-gate 00ff00ff00ff00ff mount /workspace/j 2049:99",
					nonce, "c", m, n, &err),
			 1);
	assert_int_equal(err.kind, JC_ERR_WORKSPACE);
	assert_string_equal(err.msg, "mount check: job directory `j` in the container is not the "
				     "one checked (dev:ino 2049:99, expected 2049:12)");
	jc_error_clear(&err);
	assert_int_equal(jc_gate_report("jobcell-gate 00ff00ff00ff00ff mount /data/ref errno=2",
					nonce, "c", m, n, &err),
			 1);
	assert_string_equal(err.msg, "mount check: data mount `ref` in the container is not the "
				     "one checked (No such file or directory, expected 2050:5)");
	jc_error_clear(&err);
	/* the command, as runc's start error says it */
	assert_int_equal(jc_gate_report("jobcell-gate 00ff00ff00ff00ff exec 2 no-such", nonce,
					"jobcell-s-j", m, n, &err),
			 1);
	assert_int_equal(err.kind, JC_ERR_CMD_NOT_FOUND);
	assert_string_equal(err.msg, "start container `jobcell-s-j`: exec: \"no-such\": executable "
				     "file not found in $PATH");
	jc_error_clear(&err);
	assert_int_equal(jc_gate_report("jobcell-gate 00ff00ff00ff00ff exec 13 /w/x", nonce, "c", m,
					n, &err),
			 1);
	assert_int_equal(err.kind, JC_ERR_CMD_NOT_EXEC);
	assert_non_null(strstr(err.msg, "permission denied"));
	jc_error_clear(&err);
	/* this run's nonce, but a path it never asked about, or garbage */
	const char *bad[] = { "jobcell-gate 00ff00ff00ff00ff mount /elsewhere 1:2",
			      "jobcell-gate 00ff00ff00ff00ff mount",
			      "jobcell-gate 00ff00ff00ff00ff exec x y",
			      "jobcell-gate 00ff00ff00ff00ff what" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jc_gate_report(bad[i], nonce, "c", m, n, &err), 1);
		assert_int_equal(err.status, EBADMSG);
		jc_error_clear(&err);
	}
	jc_gate_mounts_free(m, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_want), cmocka_unit_test(test_compare),
		cmocka_unit_test(test_argv),	   cmocka_unit_test(test_apply),
		cmocka_unit_test(test_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
