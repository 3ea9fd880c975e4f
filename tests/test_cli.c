/* The built binary against the fake engine: what a caller sees.  Exit
 * statuses, one error line naming the step, the --json records, and that a
 * failure leaves nothing behind, neither on the engine nor on disk. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "jobcell.h"

#define JOBCELL "build/jobcell"

struct fx {
	struct fake_engine *fe;
	char dir[64];
	char ws[128];
	char ini[160];
	char out[8192];
	char err[8192];
	int status;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void write_site(struct fx *f, const char *endpoint, const char *extra)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "[engine]\nendpoint = %s\ntimeout = 3s\n[site]\nname = s\n[workspace]\npath = %s\n"
		 "[job]\nimage = img\nuser = 0:0\nstop_grace = 1s\ntimeout = 1h\n%s",
		 endpoint, f->ws, extra);
	write_file(f->ini, text);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char ep[256], p[200];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/jobcell-cli.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(f->ws, sizeof(f->ws), "%s/ws", f->dir);
	snprintf(f->ini, sizeof(f->ini), "%s/site.ini", f->dir);
	assert_int_equal(mkdir(f->ws, 0755), 0);
	snprintf(p, sizeof(p), "%s/startup", f->ws);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/local", f->ws);
	assert_int_equal(mkdir(p, 0755), 0);
	f->fe = fake_engine_start("1.41");
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "");
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	write_site(f, ep, "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];
	fake_engine_stop(f->fe);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	lseek(fd, 0, SEEK_SET);
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run the binary with NULL-terminated arguments; fills out, err, status. */
static void run(struct fx *f, const char *arg, ...)
{
	const char *argv[32] = { JOBCELL };
	int n = 1, o, e;
	va_list ap;
	pid_t pid;

	va_start(ap, arg);
	for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	o = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	e = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	assert_true(o >= 0 && e >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		unsetenv("DOCKER_HOST");
		setenv("JOBCELL_CONFIG_DIR", f->dir, 1);
		execv(JOBCELL, (char **)argv);
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &f->status, 0), pid);
	assert_true(WIFEXITED(f->status));
	f->status = WEXITSTATUS(f->status);
	slurp(o, f->out, sizeof(f->out));
	slurp(e, f->err, sizeof(f->err));
	close(o);
	close(e);
}

/* Exactly one line on stderr, the error, containing `part`. */
static void assert_one_error(const struct fx *f, int status, const char *part)
{
	const char *nl = strchr(f->err, '\n');
	if (f->status != status || strncmp(f->err, "jobcell: error: ", 16) != 0 || !nl ||
	    nl[1] != '\0' || !strstr(f->err, part))
		fail_msg("status %d (want %d), stderr `%s`, want one error line with `%s`",
			 f->status, status, f->err, part);
}

static bool job_dir_exists(const struct fx *f, const char *job)
{
	char p[200];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", f->ws, job);
	return stat(p, &st) == 0;
}

static void test_status_passes_through(void **state)
{
	struct fx *f = *state;

	run(f, "-c", f->ini, "run", "j", "--", "exit", "7", NULL);
	assert_int_equal(f->status, 7);
	assert_string_equal(f->err, "");
	run(f, "-c", f->ini, "run", "j", "--", "echo", "hi", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->out, "hi\n");
	assert_true(job_dir_exists(f, "j")); /* kept: it holds the job's results */
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_command_statuses(void **state)
{
	struct fx *f = *state;

	run(f, "-c", f->ini, "run", "j", "--", "missing", NULL);
	assert_one_error(f, 127, "executable file not found");
	run(f, "-c", f->ini, "run", "j", "--", "noexec", NULL);
	assert_one_error(f, 126, "permission denied");
	run(f, "-c", f->ini, "run", "j", "--", "oom", NULL);
	assert_int_equal(f->status, 137);
	assert_non_null(strstr(f->err, "killed for running out of memory"));
	run(f, "-c", f->ini, "run", "j", "--timeout", "300ms", "--", "sleep", "30", NULL);
	assert_int_equal(f->status, 124);
	assert_non_null(strstr(f->err, "timed out"));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_engine_down(void **state)
{
	struct fx *f = *state;
	char ep[200];

	snprintf(ep, sizeof(ep), "unix://%s/nothing.sock", f->dir);
	write_site(f, ep, "");
	run(f, "-c", f->ini, "run", "fresh", "--", "true", NULL);
	assert_one_error(f, 125, "ping engine `unix://");
	assert_non_null(strstr(f->err, "engine is not answering"));
	assert_false(job_dir_exists(f, "fresh"));
}

static void test_old_engine_refused(void **state)
{
	struct fx *f = *state;
	struct fake_engine *old = fake_engine_start("1.40");
	char ep[256];

	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(old));
	write_site(f, ep, "");
	run(f, "-c", f->ini, "run", "fresh", "--", "true", NULL);
	assert_one_error(f, 125, "API 1.40 is older than 1.41");
	assert_int_equal(fake_engine_count(old, "POST", "/containers/create"), 0);
	fake_engine_stop(old);
}

/* A failed create leaves no container and takes back the job directory
 * jobcell made for it; --json adds a machine-readable record. */
static void test_create_failure_json_and_undo(void **state)
{
	struct fx *f = *state;

	fake_engine_fail(f->fe, "POST", "/containers/create", FAKE_FAULT_STATUS, 500, "boom", 1);
	run(f, "-c", f->ini, "--json", "run", "fresh", "--", "true", NULL);
	assert_one_error(f, 125, "create container `jobcell-s-fresh`: engine said 500: boom");
	assert_string_equal(
	    f->out, "{\"error\":{\"kind\":\"engine\",\"message\":\"create container "
		    "`jobcell-s-fresh`: engine said 500: boom\",\"errno\":\"EIO\",\"retry\":"
		    "true},\"exit_code\":125}\n");
	assert_false(job_dir_exists(f, "fresh"));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_json_run_record(void **state)
{
	struct fx *f = *state;

	run(f, "-c", f->ini, "--json", "run", "j", "--", "exit", "3", NULL);
	assert_int_equal(f->status, 3);
	assert_non_null(strstr(f->out, "\"job\":\"j\""));
	assert_non_null(strstr(f->out, "\"exit_code\":3,\"job_status\":3,\"timed_out\":false"));
}

/* Refusals before any engine call: nothing reaches the engine. */
static void test_refusals_reach_nothing(void **state)
{
	static const struct {
		const char *job, *opt, *val, *msg;
	} cases[] = {
		{ "..", NULL, NULL, "job name `..` must start with a letter or digit" },
		{ "startup", NULL, NULL, "job name `startup` is reserved" },
		{ "a/b", NULL, NULL, "job name has a character outside [A-Za-z0-9_.-]" },
		{ "ok", "--env", "X-Y=1", "environment name has a character outside" },
		{ "ok", "--env", "NOEQUALS", "environment entry has no `=`" },
		{ "ok", "--image", "../x", "image must start with a letter or digit" },
		{ "ok", "--timeout", "soon", "--timeout `soon`: not a duration" },
		{ "ok", "--grace", "1s", "run: unknown option `--grace`" },
		{ "ok", "--timeout", "2h",
		  "--timeout of 7200000ms exceeds the site's [job] timeout of 3600000ms" },
		{ "ok", "--timeout", "0", "--timeout of 0ms exceeds the site's [job] timeout" },
	};
	struct fx *f = *state;

	fake_engine_reset_requests(f->fe);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].opt)
			run(f, "-c", f->ini, "run", cases[i].job, cases[i].opt, cases[i].val, "--",
			    "true", NULL);
		else
			run(f, "-c", f->ini, "run", cases[i].job, "--", "true", NULL);
		assert_one_error(f, 125, cases[i].msg);
	}
	assert_int_equal(fake_engine_request_count(f->fe), 0);
}

static void test_config_refusals(void **state)
{
	struct fx *f = *state;
	char path[200];

	snprintf(path, sizeof(path), "%s/bad.ini", f->dir);
	write_file(path, "[site]\nname = s\n[job]\nimage = img\nroot_mode = 0555\n");
	run(f, "-c", path, "plan", "j", NULL);
	assert_one_error(f, 125, "bad.ini:5: unknown key `root_mode` in [job]");
	write_file(path, "[workspace]\nroot_mode = 999\n");
	run(f, "-c", path, "plan", "j", NULL);
	assert_one_error(f, 125, "bad.ini:2: [workspace] root_mode = `999`: not an octal mode");
	run(f, "plan", "j", NULL);
	assert_one_error(f, 125, "no site: pass -c FILE or --site NAME");
	run(f, "-c", f->ini, "--site", "s", "plan", "j", NULL);
	assert_one_error(f, 125, "-c and --site exclude each other");
	run(f, "--site", "x-y", "plan", "z", NULL);
	assert_one_error(f, 125, "site name `x-y` has a `-`");
	/* control bytes from the request never reach the terminal */
	run(f, "-c", f->ini, "run", "j", "--timeout", "5\x1b[31mRED", NULL);
	assert_one_error(f, 125, "--timeout `5?[31mRED`: not a duration");
	run(f, "-c", f->ini, "frobnicate", NULL);
	assert_one_error(f, 125, "unknown command `frobnicate`");
}

static void test_detached_commands(void **state)
{
	struct fx *f = *state;
	struct jc_engine *e;
	jc_error err = { 0 };
	char ep[256], *id = NULL;

	run(f, "-c", f->ini, "start", "d", "--", "sleep", "0.3", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(strlen(f->out), 65); /* the id and a newline */
	run(f, "-c", f->ini, "--json", "ps", NULL);
	assert_non_null(strstr(f->out, "[{\"job\":\"d\",\"container\":\""));
	run(f, "-c", f->ini, "wait", "d", "--timeout", "10s", NULL);
	assert_int_equal(f->status, 0);
	run(f, "-c", f->ini, "rm", "d", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	run(f, "-c", f->ini, "wait", "d", NULL);
	assert_one_error(f, 125, "inspect container `jobcell-s-d`: engine said 404");

	/* rm leaves alone a container of that name that jobcell did not make */
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	assert_int_equal(jc_engine_open(ep, 2000, &e, &err), 0);
	assert_int_equal(jc_engine_ping(e, &err), 0);
	assert_int_equal(jc_engine_create(e, "jobcell-s-foreign", "{\"Image\":\"img\"}", &id, &err),
			 0);
	/* a name alone is not proof: every detached command checks the labels */
	static const char *const cmds[] = { "rm", "stop", "wait", "logs" };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		run(f, "-c", f->ini, cmds[i], "foreign", NULL);
		assert_one_error(f, 125, "not labelled as job `foreign` of site `s`");
	}
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(jc_engine_remove(e, id, NULL, &err), 0);
	free(id);
	jc_engine_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_passes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_engine_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_failure_json_and_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_run_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_reach_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detached_commands, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
