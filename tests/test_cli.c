/* The built binary against the fake engine: what a caller sees.  Exit
 * statuses, one error line naming the step, the --json records, and that a
 * failure leaves nothing behind, neither on the engine nor on disk.  Volume
 * mode too: the mounts asked for, the archives sent and fetched, the faults
 * of each step, kept volumes, and gc. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "fake_engine.h"
#include "backend.h"
#include "docker/engine.h"
#include "testutil.h"
#include "error.h"
#include "volume.h"

/* The binary under test: $JOBCELL_BIN (the Makefile's, of the build
 * directory being tested), else build/jobcell from the top of the tree. */
static const char *jobcell_bin(void)
{
	const char *p = getenv("JOBCELL_BIN");
	return p && *p ? p : "build/jobcell";
}

struct fx {
	struct fake_engine *fe;
	char dir[64];
	char ws[128];
	char ini[160];
	char xfer[128]; /* volume mode: [volume] transfer_dir */
	size_t nsite;   /* volume mode: site volumes the fake holds */
	char out[8192];
	char err[8192];
	char rec[8192]; /* what the child wrote on descriptor 3 (--status-fd 3) */
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
		 "[job]\nimage = img\nuser = 0:0\nallow_root = true\nstop_grace = 1s\ntimeout = 1h\n%s",
		 endpoint, f->ws, extra);
	write_file(f->ini, text);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char ep[256];

	assert_non_null(f);
	assert_int_equal(test_workspace_make(f->dir, "/tmp/jobcell-cli.XXXXXX", f->ws), 0);
	snprintf(f->ini, sizeof(f->ini), "%s/site.ini", f->dir);
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

/* One run of the binary in the background: its pid and where its stdout
 * and stderr go. */
struct child {
	pid_t pid;
	int o, e, s; /* the child's 1, 2 and 3 */
};

static void spawn_v(struct fx *f, struct child *c, const char *arg, va_list ap)
{
	const char *argv[32] = { jobcell_bin() };
	int n = 1;

	for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	argv[n] = NULL;
	c->o = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	c->e = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	c->s = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	assert_true(c->o >= 0 && c->e >= 0 && c->s >= 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(c->o, 1);
		dup2(c->e, 2);
		dup2(c->s, 3);
		unsetenv("DOCKER_HOST");
		setenv("JOBCELL_CONFIG_DIR", f->dir, 1);
		execv(jobcell_bin(), (char **)argv);
		_exit(99);
	}
}

static void spawn(struct fx *f, struct child *c, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	spawn_v(f, c, arg, ap);
	va_end(ap);
}

/* Wait for a spawned run; fills f's out, err and status. */
static void reap(struct fx *f, struct child *c)
{
	assert_int_equal(waitpid(c->pid, &f->status, 0), c->pid);
	assert_true(WIFEXITED(f->status));
	f->status = WEXITSTATUS(f->status);
	slurp(c->o, f->out, sizeof(f->out));
	slurp(c->e, f->err, sizeof(f->err));
	slurp(c->s, f->rec, sizeof(f->rec));
	close(c->o);
	close(c->e);
	close(c->s);
}

/* Run the binary with NULL-terminated arguments; fills out, err, status. */
static void run(struct fx *f, const char *arg, ...)
{
	struct child c;
	va_list ap;

	va_start(ap, arg);
	spawn_v(f, &c, arg, ap);
	va_end(ap);
	reap(f, &c);
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

/* POSTs whose path ends with `suffix`. */
static size_t count_posts(struct fake_engine *fe, const char *suffix)
{
	size_t k = 0, sl = strlen(suffix);

	for (size_t i = 0; i < fake_engine_request_count(fe); i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		size_t n = strlen(r->path);
		k += !strcmp(r->method, "POST") && n > sl && !strcmp(r->path + n - sl, suffix);
	}
	return k;
}

static bool started(struct fake_engine *fe)
{
	return count_posts(fe, "/start") > 0;
}

static size_t count_stops(struct fake_engine *fe)
{
	return count_posts(fe, "/stop");
}

/* The parent dies while the job runs: jobcell, reparented (to this test,
 * a subreaper), sees it through its pidfd of the parent while it sleeps
 * in the wait, stops the job and removes the container. */
static void test_parent_dies_mid_run(void **state)
{
	struct fx *f = *state;
	char errp[200], err[512];
	int pp[2], st, fd;
	pid_t parent, pid;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(pp), 0);
	parent = fork();
	assert_true(parent >= 0);
	snprintf(errp, sizeof(errp), "%s/stderr", f->dir);
	if (parent == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* not left behind by a failed test */
		pid = fork();
		if (pid == 0) {
			fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, 2) < 0)
				_exit(99);
			unsetenv("DOCKER_HOST");
			setenv("JOBCELL_CONFIG_DIR", f->dir, 1);
			execl(jobcell_bin(), jobcell_bin(), "-c", f->ini, "run", "j", "--", "sleep",
			      "30", (char *)NULL);
			_exit(99);
		}
		(void)!write(pp[1], &pid, sizeof(pid));
		pause();
		_exit(0);
	}
	close(pp[1]);
	assert_int_equal(read(pp[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid));
	close(pp[0]);
	/* the job runs: jobcell is in its wait */
	for (int i = 0; i < 500 && !started(f->fe); i++)
		usleep(10000);
	assert_true(started(f->fe));
	kill(parent, SIGKILL);
	assert_int_equal(waitpid(parent, &st, 0), parent);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	assert_true((fd = open(errp, O_RDONLY)) >= 0);
	slurp(fd, err, sizeof(err));
	close(fd);
	/* stopped (the fake's SIGTERM: 143), not the 30 s sleep's 0; the
	 * inspect after it is given up, the parent being gone */
	if (!WIFEXITED(st) || !strstr(err, "exited 143"))
		fail_msg("status %d, stderr `%s`", st, err);
	assert_int_equal(count_stops(f->fe), 1);
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
	run(f, "-c", f->ini, "--status-fd", "3", "run", "fresh", "--", "true", NULL);
	assert_one_error(f, 125, "create container `jobcell-s-fresh`: engine said 500: boom");
	assert_string_equal(f->out, "");
	assert_string_equal(
	    f->rec, "{\"schema\":1,\"error\":{\"kind\":\"engine\",\"message\":\"create container "
		    "`jobcell-s-fresh`: engine said 500: boom\",\"errno\":\"EIO\",\"retry\":"
		    "true},\"exit_code\":125}\n");
	assert_false(job_dir_exists(f, "fresh"));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The run's record goes to --status-fd only: what the job prints, even a
 * forged record, stays on stdout, and nothing is glued to its last byte. */
static void test_json_run_record(void **state)
{
	struct fx *f = *state;
	const char *forged = "{\"schema\":1,\"job\":\"j\",\"exit_code\":0}";

	run(f, "-c", f->ini, "--json", "--status-fd", "3", "run", "j", "--", "exit", "3", NULL);
	assert_int_equal(f->status, 3);
	assert_string_equal(f->out, "");
	assert_non_null(strstr(f->rec, "\"job\":\"j\""));
	assert_non_null(strstr(f->rec, "\"exit_code\":3,\"job_status\":3,\"timed_out\":false"));

	run(f, "-c", f->ini, "--status-fd", "3", "run", "j", "--", "echo", forged, NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->out, "{\"schema\":1,\"job\":\"j\",\"exit_code\":0}\n");
	assert_true(starts_with(f->rec, "{\"schema\":1,\"job\":\"j\",\"container\":"));
	assert_non_null(strstr(f->rec, "\"exit_code\":0,"));
	assert_ptr_equal(strchr(f->rec, '\n'), f->rec + strlen(f->rec) - 1);
}

/* Records may not share stdout with a job's output; --status-fd must name
 * a descriptor of 3 or more that is open for writing.  Nothing is run. */
static void test_status_fd_refusals(void **state)
{
	static const struct {
		const char *fd, *cmd, *msg;
	} cases[] = {
		{ NULL, "run", "--json run writes its record with --status-fd N only" },
		{ NULL, "logs", "--json logs writes its record with --status-fd N only" },
		{ "1", "run", "--status-fd `1`: not a descriptor number of 3 or more" },
		{ "2", "run", "--status-fd `2`: not a descriptor number of 3 or more" },
		{ "0", "ps", "--status-fd `0`: not a descriptor number of 3 or more" },
		{ "3x", "ps", "--status-fd `3x`: not a descriptor number of 3 or more" },
		{ "99", "ps", "--status-fd 99: not a descriptor open for writing" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_engine_reset_requests(f->fe);
		if (cases[i].fd)
			run(f, "-c", f->ini, "--status-fd", cases[i].fd, cases[i].cmd, "j", NULL);
		else
			run(f, "-c", f->ini, "--json", cases[i].cmd, "j", NULL);
		assert_one_error(f, 125, cases[i].msg);
		assert_int_equal(fake_engine_request_count(f->fe), 0);
	}
	/* start prints no job output: its record may stay on stdout */
	run(f, "-c", f->ini, "--json", "start", "j", "--", "sleep", "1", NULL);
	assert_int_equal(f->status, 0);
	assert_true(starts_with(f->out, "{\"schema\":1,\"job\":\"j\","));
	run(f, "-c", f->ini, "rm", "j", NULL);
	assert_int_equal(f->status, 0);
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
		  "job request sets `timeout` = `2h`: 7200000ms is above the site's limit of "
		  "3600000ms" },
		{ "ok", "--timeout", "0", "0 (no limit) would lift the site's limit of 3600000ms" },
		{ "ok", "--set", "memory=1g",
		  "job request sets `memory`, which the site does not list in [job] overridable" },
		{ "ok", "--set", "cap_add=SYS_ADMIN", "cap_add" },
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
	/* -i on a started job: nothing would pass the input */
	run(f, "-c", f->ini, "start", "ok", "-i", "--", "cat", NULL);
	assert_one_error(f, 125, "start: `-i` needs `run`: nothing passes stdin to a started job");
	run(f, "-c", f->ini, "start", "--stdin", "ok", "--", "cat", NULL);
	assert_one_error(f, 125, "start: `-i` needs `run`");
	run(f, "-c", f->ini, "run", "ok", "-i=1", "--", "cat", NULL);
	assert_one_error(f, 125, "run: `-i` takes no value");
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

/* A job name from a request goes after --job and is taken as it is: names
 * shaped like options are refused as names, never obeyed as options (a
 * kept volume, a spoofed tenant, another's file sent in). */
static void test_job_option_takes_any_name(void **state)
{
	static const char *const names[] = { "--keep", "--tenant=victim", "--input=b/secret.txt" };
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		run(f, "-c", f->ini, "run", "--job", names[i], "--", "true", NULL);
		assert_one_error(f, 125, "job name");
		run(f, "-c", f->ini, "start", "--job", names[i], "--", "true", NULL);
		assert_one_error(f, 125, "job name");
		run(f, "-c", f->ini, "rm", "--job", names[i], NULL);
		assert_one_error(f, 125, "job name");
	}
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	/* --job and the command after it; a second name is refused */
	run(f, "-c", f->ini, "run", "--job", "j", "--", "exit", "4", NULL);
	assert_int_equal(f->status, 4);
	run(f, "-c", f->ini, "run", "j", "--job", "k", "--", "true", NULL);
	assert_one_error(f, 125, "JOB given twice");
}

static void test_detached_commands(void **state)
{
	struct fx *f = *state;
	struct jc_backend *e;
	jc_error err = { 0 };
	char ep[256], *id = NULL;

	run(f, "-c", f->ini, "start", "d", "--", "sleep", "0.3", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(strlen(f->out), 65); /* the id and a newline */
	/* --all: under load the 0.3 s job may have exited before ps looks */
	run(f, "-c", f->ini, "--json", "ps", "--all", NULL);
	assert_non_null(strstr(f->out, "[{\"schema\":1,\"job\":\"d\",\"container\":\""));
	run(f, "-c", f->ini, "wait", "d", "--timeout", "10s", NULL);
	assert_int_equal(f->status, 0);
	run(f, "-c", f->ini, "rm", "d", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	run(f, "-c", f->ini, "wait", "d", NULL);
	assert_one_error(f, 125, "inspect container `jobcell-s-d`: engine said 404");

	/* rm leaves alone a container of that name that jobcell did not make */
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	assert_int_equal(test_docker_open(ep, 2000, &e, &err), 0);
	assert_int_equal(jc_backend_ping(e, &err), 0);
	assert_int_equal(
	    jc_docker_create_json(e, "jobcell-s-foreign", "{\"Image\":\"img\"}", &id, &err), 0);
	/* a name alone is not proof: every detached command checks the labels */
	static const char *const cmds[] = { "rm", "stop", "wait", "logs" };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		run(f, "-c", f->ini, cmds[i], "foreign", NULL);
		assert_one_error(f, 125, "not labelled as job `foreign` of site `s`");
	}
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(jc_backend_remove(e, id, NULL, &err), 0);
	free(id);
	jc_backend_close(e);
}

/* Poll up to 5 s for `cond`. */
#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		for (int w_ = 0; w_ < 500 && !(cond); w_++)                                         \
			usleep(10000);                                                             \
		assert_true(cond);                                                                 \
	} while (0)

/* Issue 11 item 4: two runs of one new job.  A's create is held back 1.5 s;
 * B starts once A has made the job directory.  Before: B found it, won the
 * container's name and ran; A's create failed with 409 and A's undo removed
 * the directory under B's running job, whose results were gone.  Now B is
 * refused before it makes anything, and A runs in the directory it holds. */
static void test_two_runs_one_job(void **state)
{
	struct fx *f = *state;
	struct child a, b;
	int sa, sb;
	char ea[8192], eb[8192];

	fake_engine_fail(f->fe, "POST", "/containers/create", FAKE_FAULT_DELAY, 1500, NULL, 1);
	spawn(f, &a, "-c", f->ini, "run", "dup", "--", "sleep", "1", NULL);
	WAIT_FOR(job_dir_exists(f, "dup"));
	/* longer than A's delay: on the old code B still ran when A met 409 */
	spawn(f, &b, "-c", f->ini, "run", "dup", "--", "sleep", "3", NULL);
	reap(f, &b);
	sb = f->status;
	snprintf(eb, sizeof(eb), "%s", f->err);
	reap(f, &a);
	sa = f->status;
	snprintf(ea, sizeof(ea), "%s", f->err);
	if (!job_dir_exists(f, "dup"))
		fail_msg("the job directory is gone: A exited %d (%s), B exited %d (%s)", sa, ea,
			 sb, eb);
	/* the first run holds the directory and runs; the second is refused */
	if (sa != 0 || sb != 125)
		fail_msg("A exited %d (%s), B exited %d (%s): want 0 and 125", sa, ea, sb, eb);
	f->status = sb;
	snprintf(f->err, sizeof(f->err), "%s", eb);
	assert_one_error(f, 125, "job `dup` is running: another jobcell holds its directory");
	/* B asked the engine for nothing that makes anything */
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 1);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

/* A detached `start` holds no lock once it returned: its container, found
 * by name, refuses a run of the same job before anything is made; so does
 * any container of that name, for a job that has no directory yet. */
static void test_run_refused_while_container_exists(void **state)
{
	struct fx *f = *state;
	struct jc_backend *e;
	jc_error err = { 0 };
	char ep[256], *id = NULL;

	run(f, "-c", f->ini, "start", "d", "--", "sleep", "5", NULL);
	assert_int_equal(f->status, 0);
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "d", "--", "true", NULL);
	assert_one_error(f, 125, "job `d` is running: its container `jobcell-s-d` exists");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	run(f, "-c", f->ini, "rm", "d", NULL);
	assert_int_equal(f->status, 0);

	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	assert_int_equal(test_docker_open(ep, 2000, &e, &err), 0);
	assert_int_equal(jc_backend_ping(e, &err), 0);
	assert_int_equal(jc_docker_create_json(e, "jobcell-s-y", "{\"Image\":\"img\"}", &id, &err),
			 0);
	run(f, "-c", f->ini, "run", "y", "--", "true", NULL);
	assert_one_error(f, 125,
			 "job `y` has a container already: `jobcell-s-y` is created (remove it with "
			 "`jobcell rm y`)");
	assert_false(job_dir_exists(f, "y"));
	assert_int_equal(jc_backend_remove(e, id, NULL, &err), 0);
	free(id);
	jc_backend_close(e);
}

/* ---- volume mode ---- */

#define VOL_USER_UID 1234
#define VOL_USER_GID 5678

/* Rewrite the site for volume mode: site_volume (one volume, subpaths) or
 * startup_volume and local_volume, which are added to the fake first so
 * that a create mounts them rather than making them. */
static void write_vol_site(struct fx *f, bool one_site_volume, const char *extra)
{
	char text[2048], ep[256];

	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	snprintf(text, sizeof(text),
		 "[engine]\nendpoint = %s\ntimeout = 3s\n[site]\nname = s\n[workspace]\n"
		 "mode = volume\n[job]\nimage = img\nuser = %d:%d\nstop_grace = 1s\n"
		 "timeout = 1h\n[volume]\n%stransfer_dir = %s\n%s",
		 ep, VOL_USER_UID, VOL_USER_GID,
		 one_site_volume ? "site_volume = s_site\n"
				 : "startup_volume = s_startup\nlocal_volume = s_local\n",
		 f->xfer, extra);
	write_file(f->ini, text);
	if (one_site_volume) {
		fake_engine_add_volume(f->fe, "s_site", NULL);
	} else {
		fake_engine_add_volume(f->fe, "s_startup", NULL);
		fake_engine_add_volume(f->fe, "s_local", NULL);
	}
	f->nsite = fake_engine_volume_count(f->fe);
}

static int setup_vol(void **state, const char *api, bool one_site_volume)
{
	struct fx *f;

	setup(state);
	f = *state;
	fake_engine_stop(f->fe);
	f->fe = fake_engine_start(api);
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "");
	snprintf(f->xfer, sizeof(f->xfer), "%s/xfer", f->dir);
	assert_int_equal(mkdir(f->xfer, 0755), 0);
	write_vol_site(f, one_site_volume, "");
	return 0;
}

/* Docker 20.10 and Podman 4.3: two site volumes. */
static int setup_vol41(void **state)
{
	return setup_vol(state, "1.41", false);
}

/* An engine with subpaths: one site volume. */
static int setup_vol45(void **state)
{
	return setup_vol(state, "1.45", true);
}

/* Nothing left on the engine: no container (job or transfer), no volume but
 * the site's. */
static void assert_vol_clean(struct fx *f)
{
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite);
}

static void xfer_file(const struct fx *f, const char *rel, const void *data, size_t len,
		      mode_t mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", f->xfer, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void xfer_dir(const struct fx *f, const char *rel, mode_t mode)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", f->xfer, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* The n-th (from 0) recorded request with this method, whose path starts
 * with `prefix` and whose query contains `query_part`; NULL when none. */
static const struct fake_request *nth_req(struct fake_engine *fe, const char *method,
					  const char *prefix, const char *query_part, size_t n)
{
	for (size_t i = 0; i < fake_engine_request_count(fe); i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		if (!strcmp(r->method, method) && !strncmp(r->path, prefix, strlen(prefix)) &&
		    strstr(r->query, query_part) && n-- == 0)
			return r;
	}
	return NULL;
}

/* Requests with this method whose path ends with `suffix`. */
static size_t count_suffix(struct fake_engine *fe, const char *method, const char *suffix)
{
	size_t n = 0, sl = strlen(suffix);

	for (size_t i = 0; i < fake_engine_request_count(fe); i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		size_t pl = strlen(r->path);
		n += !strcmp(r->method, method) && pl >= sl && !strcmp(r->path + pl - sl, suffix);
	}
	return n;
}

/* The Name of the n-th POST /volumes/create: the job's volume.  Caller frees. */
static char *created_volume(struct fake_engine *fe, size_t n)
{
	const struct fake_request *r = nth_req(fe, "POST", "/volumes/create", "", n);
	cJSON *b;
	char *name;

	assert_non_null(r);
	b = cJSON_Parse(r->body);
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, "Name")));
	name = strdup(cJSON_GetObjectItemCaseSensitive(b, "Name")->valuestring);
	assert_non_null(name);
	cJSON_Delete(b);
	return name;
}

/* The id of the transfer container: the engine names it, so it is taken
 * from the path of the first archive PUT that does not go to the job. */
static void transfer_id(struct fake_engine *fe, const char *job_container, char *out, size_t cap)
{
	for (size_t i = 0; i < fake_engine_request_count(fe); i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		const char *ref = r->path + strlen("/containers/"), *slash;
		if (strcmp(r->method, "PUT") || strncmp(r->path, "/containers/", 12) ||
		    !(slash = strchr(ref, '/')) || strcmp(slash, "/archive") ||
		    !strncmp(ref, job_container, strlen(job_container)))
			continue;
		snprintf(out, cap, "%.*s", (int)(slash - ref), ref);
		return;
	}
	fail_msg("no archive PUT to a transfer container");
}

/* Exactly one error line, as assert_one_error, and nothing on the engine. */
static void assert_vol_error(struct fx *f, const char *part)
{
	assert_one_error(f, 125, part);
	assert_vol_clean(f);
}

/* ---- tar streams ---- */

struct member {
	char name[256];
	mode_t type;
	unsigned perm;
	int64_t uid, gid;
	bool owner_names;
	char data[8192];
	size_t len;
};

static size_t read_tar(const void *buf, size_t len, struct member *m, size_t max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;
	int r;

	assert_non_null(a);
	assert_non_null(buf);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, buf, len), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		size_t size = (size_t)archive_entry_size(e), got = 0;
		assert_true(n < max);
		assert_true(size <= sizeof(m[n].data));
		snprintf(m[n].name, sizeof(m[n].name), "%s", archive_entry_pathname(e));
		m[n].type = archive_entry_filetype(e);
		m[n].perm = (unsigned)archive_entry_mode(e) & 07777;
		m[n].uid = archive_entry_uid(e);
		m[n].gid = archive_entry_gid(e);
		m[n].owner_names = (archive_entry_uname(e) && *archive_entry_uname(e)) ||
				   (archive_entry_gname(e) && *archive_entry_gname(e));
		while (got < size) {
			la_ssize_t k = archive_read_data(a, m[n].data + got, size - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		m[n].len = size;
		n++;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	return n;
}

static const struct member *member(const struct member *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	fail_msg("no member `%s` in the archive", name);
	return NULL;
}

/* Every member owned by the site's user, by number, without names. */
static void assert_owned_by_site_user(const struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].uid != VOL_USER_UID || m[i].gid != VOL_USER_GID || m[i].owner_names)
			fail_msg("member `%s` is owned by %lld:%lld%s", m[i].name,
				 (long long)m[i].uid, (long long)m[i].gid,
				 m[i].owner_names ? " with names" : "");
}

struct tbuf {
	char *data;
	size_t len;
};

static la_ssize_t tbuf_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct tbuf *b = ctx;
	char *d = realloc(b->data, b->len + len);

	(void)a;
	assert_non_null(d);
	memcpy(d + b->len, buf, len);
	b->data = d;
	b->len += len;
	return (la_ssize_t)len;
}

struct tar_member {
	const char *name;
	mode_t type;
	unsigned mode;
	const char *data;
	size_t len;
};

static void build_tar(const struct tar_member *m, size_t n, struct tbuf *out)
{
	struct archive *a = archive_write_new();

	memset(out, 0, sizeof(*out));
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, out, NULL, tbuf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, m[i].type);
		archive_entry_set_perm(e, m[i].mode);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_size(e, m[i].type == AE_IFREG ? (la_int64_t)m[i].len : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].type == AE_IFREG && m[i].len)
			assert_int_equal(archive_write_data(a, m[i].data, m[i].len),
					 (la_ssize_t)m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void assert_file_bytes(const char *path, const void *data, size_t len)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		fail_msg("open `%s`: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, data, len);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- 1. subpaths need 1.45 ---- */

/* An engine older than 1.45 would ignore Subpath and mount the whole site
 * volume: refused before anything is made. */
static void test_vol_subpath_refused_before_1_45(void **state)
{
	struct fx *f = *state;

	write_vol_site(f, true, "");
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_vol_error(f, "mount volume `s_site` subpath `startup`: volume subpaths need "
			    "Engine API 1.45, the engine speaks 1.41");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 0);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_true(fake_engine_has_volume(f->fe, "s_site"));
}

/* ---- 2. one run on 1.45 ---- */

static const cJSON *mount_at(const cJSON *body, const char *target)
{
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(body, "HostConfig");
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(hc, "Mounts"), *m;

	cJSON_ArrayForEach(m, mounts)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "Target");
		if (cJSON_IsString(t) && !strcmp(t->valuestring, target))
			return m;
	}
	return NULL;
}

static void assert_volume_mount(const cJSON *body, const char *target, const char *source,
				const char *subpath, bool ro)
{
	const cJSON *m = mount_at(body, target);
	const cJSON *vo = cJSON_GetObjectItemCaseSensitive(m, "VolumeOptions");
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(vo, "Subpath");

	if (!m)
		fail_msg("no mount at `%s`", target);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Type")->valuestring, "volume");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Source")->valuestring, source);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ReadOnly")), ro);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vo, "NoCopy")));
	if (subpath) {
		assert_true(cJSON_IsString(sp));
		assert_string_equal(sp->valuestring, subpath);
	} else {
		assert_null(sp);
	}
}

static void test_vol_run_site_volume_subpaths(void **state)
{
	struct fx *f = *state;
	const struct fake_request *create;
	const cJSON *hc, *tmpfs, *labels;
	char *vol;
	cJSON *body;

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "3", NULL);
	assert_int_equal(f->status, 3); /* the fake's `exit 3` */
	assert_string_equal(f->err, "");
	assert_string_equal(f->out, "");

	vol = created_volume(f->fe, 0);
	assert_int_equal(strncmp(vol, "tenant-default-run-default-", 27), 0);
	create = nth_req(f->fe, "POST", "/containers/create", "name=jobcell-s-j", 0);
	assert_non_null(create);
	assert_string_equal(create->version, "1.45");
	body = cJSON_Parse(create->body);
	assert_non_null(body);
	assert_volume_mount(body, "/workspace/startup", "s_site", "startup", true);
	assert_volume_mount(body, "/workspace/local", "s_site", "local", true);
	assert_volume_mount(body, "/workspace/j", vol, NULL, false);
	assert_null(mount_at(body, "/workspace")); /* the root is no entry of Mounts */
	hc = cJSON_GetObjectItemCaseSensitive(body, "HostConfig");
	tmpfs = cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs");
	assert_true(cJSON_IsObject(tmpfs));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(tmpfs, "/workspace")));
	assert_non_null(
	    strstr(cJSON_GetObjectItemCaseSensitive(tmpfs, "/workspace")->valuestring, "ro"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "WorkingDir")->valuestring,
			    "/workspace/j");
	labels = cJSON_GetObjectItemCaseSensitive(body, "Labels");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(labels, "jobcell.volume")->valuestring,
			    vol);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(labels, "jobcell.keep")->valuestring,
			    "");
	cJSON_Delete(body);

	/* what the engine made of it */
	assert_string_equal(fake_engine_volume_subpath(f->fe, "jobcell-s-j", "s_site"), "startup");
	assert_string_equal(
	    fake_engine_mount_subpath(f->fe, "jobcell-s-j", "s_site", "/workspace/startup"),
	    "startup");
	assert_string_equal(
	    fake_engine_mount_subpath(f->fe, "jobcell-s-j", "s_site", "/workspace/local"), "local");
	assert_string_equal(fake_engine_volume_subpath(f->fe, "jobcell-s-j", vol), "");

	/* the job's volume went with the run; the site's stayed */
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_true(fake_engine_has_volume(f->fe, "s_site"));
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 1);
	assert_vol_clean(f);
	free(vol);

	/* the --json record names the volume */
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "--status-fd", "3", "run", "j", "--tenant", "acme", "--run", "wf-1",
	    "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	vol = created_volume(f->fe, 0);
	assert_int_equal(strncmp(vol, "tenant-acme-run-wf-1-", 21), 0);
	body = cJSON_Parse(f->rec);
	assert_non_null(body);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "job")->valuestring, "j");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(body, "volume")->valuestring, vol);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(body, "exit_code")->valueint, 0);
	cJSON_Delete(body);
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_vol_clean(f);
	free(vol);
}

/* ---- 3. files in and out ---- */

static void test_vol_inputs_and_outputs(void **state)
{
	struct fx *f = *state;
	static const char alpha[] = "alpha\n";
	char bin[3000], good[5000], p[512];
	struct member m[16];
	struct tbuf tar;
	const void *put;
	size_t len, n;
	struct stat st;

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i * 7 + (i >> 8));
	for (size_t i = 0; i < sizeof(good); i++)
		good[i] = (char)(i % 251);
	xfer_dir(f, "in", 0750);
	xfer_file(f, "in/a.txt", alpha, strlen(alpha), 0640);
	xfer_dir(f, "in/sub", 0755);
	xfer_file(f, "in/sub/b.bin", bin, sizeof(bin), 0755);
	xfer_file(f, "c.txt", "gamma", 5, 04644); /* setuid is dropped */

	const struct tar_member out_members[] = {
		{ "./", AE_IFDIR, 0755, NULL, 0 },
		{ "./good.bin", AE_IFREG, 0644, good, sizeof(good) },
		{ "../evil", AE_IFREG, 0644, "evil", 4 },
		{ "./sub/", AE_IFDIR, 0755, NULL, 0 },
		{ "./sub/deep.txt", AE_IFREG, 0600, "deep\n", 5 },
	};
	build_tar(out_members, sizeof(out_members) / sizeof(out_members[0]), &tar);
	fake_engine_set_archive(f->fe, "/workspace/j/.", tar.data, tar.len);
	free(tar.data);

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--input", "in", "--input", "c.txt:docs/c.txt", "--output",
	    "out", "--", "exit", "4", NULL);
	assert_int_equal(f->status, 4); /* refused members are warnings only */
	assert_string_equal(f->out, "");

	/* inputs into the job container, before it started, behind a "/"
	 * member that gives the volume root to the job's user: one archive,
	 * the job's the only container */
	put = fake_engine_archive_put(f->fe, "jobcell-s-j", "/workspace/j", &len);
	assert_non_null(put);
	assert_non_null(
	    nth_req(f->fe, "PUT", "/containers/jobcell-s-j/archive", "path=%2Fworkspace%2Fj", 0));
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/containers/"), 1);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 1);
	n = read_tar(put, len, m, 16);
	assert_int_equal(n, 7);
	assert_string_equal(m[0].name, "/");
	assert_int_equal(m[0].type, AE_IFDIR);
	assert_int_equal(m[0].perm, 0700); /* job_mode */
	assert_int_equal(member(m, n, "in/")->perm, 0750);
	assert_int_equal(member(m, n, "in/a.txt")->len, strlen(alpha));
	assert_memory_equal(member(m, n, "in/a.txt")->data, alpha, strlen(alpha));
	assert_int_equal(member(m, n, "in/a.txt")->perm, 0640);
	assert_int_equal(member(m, n, "in/sub/")->type, AE_IFDIR);
	assert_int_equal(member(m, n, "in/sub/b.bin")->len, sizeof(bin));
	assert_memory_equal(member(m, n, "in/sub/b.bin")->data, bin, sizeof(bin));
	assert_int_equal(member(m, n, "docs/")->perm, 0755);
	assert_int_equal(member(m, n, "docs/c.txt")->len, 5);
	assert_memory_equal(member(m, n, "docs/c.txt")->data, "gamma", 5);
	assert_int_equal(member(m, n, "docs/c.txt")->perm, 0644);
	assert_owned_by_site_user(m, n);
	/* the PUT came before the start */
	assert_int_equal(count_suffix(f->fe, "POST", "/start"), 1);
	for (size_t i = 0, seen_put = 0; i < fake_engine_request_count(f->fe); i++) {
		const struct fake_request *r = fake_engine_request(f->fe, i);
		size_t pl = strlen(r->path);
		if (!strcmp(r->method, "PUT") && strstr(r->path, "jobcell-s-j"))
			seen_put = 1;
		if (!strcmp(r->method, "POST") && pl > 6 && !strcmp(r->path + pl - 6, "/start"))
			assert_true(seen_put);
	}

	/* outputs: the good members land, the hostile one is refused */
	assert_non_null(nth_req(f->fe, "GET", "/containers/", "path=%2Fworkspace%2Fj%2F.", 0));
	snprintf(p, sizeof(p), "%s/out", f->xfer);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700); /* made by jobcell, after the job */
	snprintf(p, sizeof(p), "%s/out/good.bin", f->xfer);
	assert_file_bytes(p, good, sizeof(good));
	snprintf(p, sizeof(p), "%s/out/sub/deep.txt", f->xfer);
	assert_file_bytes(p, "deep\n", 5);
	snprintf(p, sizeof(p), "%s/evil", f->xfer);
	assert_false(exists(p));
	snprintf(p, sizeof(p), "%s/evil", f->dir);
	assert_false(exists(p));
	assert_false(exists("evil"));
	assert_string_equal(f->err,
			    "jobcell: warning: output: refused `../evil`: name contains `..`\n"
			    "jobcell: warning: output: 1 member refused, 3 written\n");
	assert_vol_clean(f);
}

/* ---- 4. faults, each leaving nothing behind ---- */

static void test_vol_volume_create_fails(void **state)
{
	struct fx *f = *state;

	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "POST", "/volumes/create", FAKE_FAULT_STATUS, 500, "boom", 1);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_vol_error(f, "create volume `tenant-default-run-default-");
	assert_non_null(strstr(f->err, "engine said 500: boom"));
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);

	/* a name taken every time: four draws, then give up */
	fake_engine_reset_requests(f->fe);
	fake_engine_volume_collide(f->fe, 4);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_vol_error(f, "create volume for tenant `default` run `default`: every name tried "
			    "was taken already");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 4);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 0); /* not ours */

	/* three taken, the fourth is ours */
	fake_engine_reset_requests(f->fe);
	fake_engine_volume_collide(f->fe, 3);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "2", NULL);
	assert_int_equal(f->status, 2);
	assert_string_equal(f->err, "");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 4);
	assert_vol_clean(f);
}

/* The job container's PUT fails, every one of its 3 tries: there is no
 * other archive, and the job never starts. */
static void test_vol_input_put_fails(void **state)
{
	struct fx *f = *state;
	char *vol;

	xfer_file(f, "c.txt", "gamma", 5, 0644);
	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "PUT", "/containers/jobcell-s-j/archive", FAKE_FAULT_STATUS, 500,
			 "no space left on device", 3);
	run(f, "-c", f->ini, "run", "j", "--input", "c.txt", "--", "exit", "0", NULL);
	assert_vol_error(f, "write files into container `jobcell-s-j`: engine said 500: no space "
			    "left on device");
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/containers/"), 3);
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/containers/jobcell-s-j/archive"), 3);
	assert_int_equal(count_suffix(f->fe, "POST", "/start"), 0); /* the job never ran */
	vol = created_volume(f->fe, 0);
	assert_false(fake_engine_has_volume(f->fe, vol));
	free(vol);
}

/* One 5xx on an archive PUT is tried again (Podman 4.3 answers a passing
 * 500 now and then); a 4xx is not. */
static void test_vol_input_put_retried(void **state)
{
	struct fx *f = *state;

	xfer_file(f, "c.txt", "gamma", 5, 0644);
	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "PUT", "/containers/jobcell-s-j/archive", FAKE_FAULT_STATUS, 500,
			 "passing bulk input to subprocess: write |1: broken pipe", 1);
	run(f, "-c", f->ini, "run", "j", "--input", "c.txt", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/containers/jobcell-s-j/archive"), 2);
	assert_vol_clean(f);

	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "PUT", "/containers/jobcell-s-j/archive", FAKE_FAULT_STATUS, 400,
			 "bad parameter", 1);
	run(f, "-c", f->ini, "run", "j", "--input", "c.txt", "--", "exit", "0", NULL);
	assert_vol_error(f, "engine said 400: bad parameter");
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/containers/jobcell-s-j/archive"), 1);
}

/* Without inputs the archive still goes in: its "/" member gives the
 * volume's root to the job's user.  When it fails, the job never starts.
 * volume put sends the same one archive through its transfer container. */
static void test_vol_root_archive(void **state)
{
	struct fx *f = *state;
	struct member m[4];
	const void *put;
	char vol[200], tid[80];
	const char *e;
	size_t len, n;

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	put = fake_engine_archive_put(f->fe, "jobcell-s-j", "/workspace/j", &len);
	assert_non_null(put);
	n = read_tar(put, len, m, 4);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].name, "/");
	assert_int_equal(m[0].type, AE_IFDIR);
	assert_int_equal(m[0].perm, 0700);
	assert_owned_by_site_user(m, n);
	assert_vol_clean(f);

	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "PUT", "/archive", FAKE_FAULT_STATUS, 500, "root refused", 3);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_vol_error(f, "write files into container `jobcell-s-j`: engine said 500: root "
			    "refused");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 1);
	assert_int_equal(count_suffix(f->fe, "POST", "/start"), 0);

	xfer_file(f, "c.txt", "gamma", 5, 0644);
	run(f, "-c", f->ini, "volume", "create", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(e = strchr(f->out, '\n'));
	snprintf(vol, sizeof(vol), "%.*s", (int)(e - f->out), f->out);
	f->nsite++;
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "volume", "put", vol, "c.txt", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/containers/"), 1);
	transfer_id(f->fe, "jobcell-s-j", tid, sizeof(tid));
	put = fake_engine_archive_put(f->fe, tid, "/v", &len);
	assert_non_null(put);
	n = read_tar(put, len, m, 4);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].name, "/");
	assert_int_equal(m[0].perm, 0700);
	assert_string_equal(m[1].name, "c.txt");
	assert_int_equal(m[1].len, 5);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

/* libarchive cannot be loaded (it is loaded only when files move): one
 * error line naming it, exit 125, nothing left.  A file of that name that
 * is not a library, first on the loader's path, stands in for a broken
 * install. */
static void test_vol_libarchive_unloadable(void **state)
{
	struct fx *f = *state;
	char lib[200];

	snprintf(lib, sizeof(lib), "%s/libarchive.so.13", f->dir);
	write_file(lib, "not a library\n");
	xfer_file(f, "c.txt", "gamma", 5, 0644);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(setenv("LD_LIBRARY_PATH", f->dir, 1), 0);
	run(f, "-c", f->ini, "run", "j", "--input", "c.txt", "--", "exit", "0", NULL);
	unsetenv("LD_LIBRARY_PATH");
	assert_vol_error(f, "load libarchive.so.13 (it moves files): ");
	assert_int_equal(count_suffix(f->fe, "POST", "/start"), 0);
}

/* A bind-mode run moves no files, and starts without libarchive: the same
 * broken stand-in is never loaded. */
static void test_run_without_libarchive(void **state)
{
	struct fx *f = *state;
	char lib[200];

	snprintf(lib, sizeof(lib), "%s/libarchive.so.13", f->dir);
	write_file(lib, "not a library\n");
	assert_int_equal(setenv("LD_LIBRARY_PATH", f->dir, 1), 0);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "3", NULL);
	unsetenv("LD_LIBRARY_PATH");
	assert_int_equal(f->status, 3);
	assert_string_equal(f->err, "");
}

/* The job ran but its output did not come back whole: one error line, the
 * job's status beside it, exit 125, nothing left. */
static void assert_output_error(struct fx *f, const char *part, int job_status)
{
	static const char head[] = "jobcell: error: output of job `j` into `out`: ";
	char want[200];
	const char *nl = strchr(f->err, '\n');

	snprintf(want, sizeof(want), "jobcell: job `j` exited with status %d\n", job_status);
	if (f->status != 125 || strncmp(f->err, head, strlen(head)) != 0 || !nl ||
	    !strstr(f->err, part) || strcmp(nl + 1, want) != 0)
		fail_msg("status %d, stderr `%s`, want an error line with `%s`, then `%s`",
			 f->status, f->err, part, want);
	assert_vol_clean(f);
}

/* The output stream breaks off halfway: an error, not a warning; the job's
 * status is still reported. */
static void test_vol_output_get_drops(void **state)
{
	struct fx *f = *state;
	static char big[6000];
	struct tbuf tar;
	char *vol;

	memset(big, 'x', sizeof(big));
	const struct tar_member ms[] = {
		{ "./", AE_IFDIR, 0755, NULL, 0 },
		{ "./big.txt", AE_IFREG, 0644, big, sizeof(big) },
	};
	build_tar(ms, 2, &tar);
	fake_engine_set_archive(f->fe, "/workspace/j/.", tar.data, tar.len);
	free(tar.data);
	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "GET", "/archive", FAKE_FAULT_DROP, 0, NULL, 1);
	run(f, "-c", f->ini, "run", "j", "--output", "out", "--", "exit", "0", NULL);
	assert_output_error(f, "read files from container `jobcell-s-j`", 0);
	assert_int_equal(count_suffix(f->fe, "GET", "/archive"), 1);
	vol = created_volume(f->fe, 0);
	assert_false(fake_engine_has_volume(f->fe, vol));
	free(vol);
}

/* [output] max_bytes: one error naming the limit; the job's status in the
 * --json record beside the error; what the output wrote is taken back. */
static void test_vol_output_limit_bytes(void **state)
{
	struct fx *f = *state;
	static char big[64 * 1024];
	struct tbuf tar;
	char p[300];
	struct stat st;
	cJSON *rec, *e;

	write_vol_site(f, false, "[output]\nmax_bytes = 16k\n");
	memset(big, 'x', sizeof(big));
	const struct tar_member ms[] = {
		{ "./", AE_IFDIR, 0755, NULL, 0 },
		{ "./a.txt", AE_IFREG, 0644, "first", 5 },
		{ "./big.txt", AE_IFREG, 0644, big, sizeof(big) },
	};
	build_tar(ms, 3, &tar);
	fake_engine_set_archive(f->fe, "/workspace/j/.", tar.data, tar.len);
	free(tar.data);
	run(f, "-c", f->ini, "--status-fd", "3", "run", "j", "--output", "out", "--", "exit", "3",
	    NULL);
	assert_output_error(f, "more than 16384 bytes ([output] max_bytes)", 3);
	assert_non_null(rec = cJSON_Parse(f->rec));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(rec, "exit_code")->valueint, 125);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(rec, "job_status")->valueint, 3);
	e = cJSON_GetObjectItemCaseSensitive(rec, "error");
	assert_non_null(e);
	assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring,
			       "([output] max_bytes)"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "errno")->valuestring, "EFBIG");
	cJSON_Delete(rec);
	/* what the cut output wrote is taken back; the directory stays */
	snprintf(p, sizeof(p), "%s/out/a.txt", f->xfer);
	assert_true(stat(p, &st) < 0 && errno == ENOENT);
	snprintf(p, sizeof(p), "%s/out/big.txt", f->xfer);
	assert_true(stat(p, &st) < 0 && errno == ENOENT);
	snprintf(p, sizeof(p), "%s/out", f->xfer);
	assert_int_equal(stat(p, &st), 0);
}

/* [output] max_members: a job's many empty files stop at the limit. */
static void test_vol_output_limit_members(void **state)
{
	struct fx *f = *state;
	struct tar_member ms[40];
	char names[40][16];
	struct tbuf tar;

	write_vol_site(f, false, "[output]\nmax_members = 10\n");
	ms[0] = (struct tar_member){ "./", AE_IFDIR, 0755, NULL, 0 };
	for (int i = 1; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "./e%d", i);
		ms[i] = (struct tar_member){ names[i], AE_IFREG, 0644, NULL, 0 };
	}
	build_tar(ms, 40, &tar);
	fake_engine_set_archive(f->fe, "/workspace/j/.", tar.data, tar.len);
	free(tar.data);
	run(f, "-c", f->ini, "run", "j", "--output", "out", "--", "exit", "0", NULL);
	assert_output_error(f, "more than 10 members ([output] max_members)", 0);
}

/* volume get: the same limits, over every PATH together; one error line,
 * the transfer container removed. */
static void test_vol_get_limit(void **state)
{
	struct fx *f = *state;
	static char big[8 * 1024];
	struct tbuf tar;
	char vol[200];
	const char *e;

	write_vol_site(f, false, "[output]\nmax_bytes = 12k\n");
	memset(big, 'g', sizeof(big));
	const struct tar_member ms[] = { { "g.bin", AE_IFREG, 0644, big, sizeof(big) } };
	build_tar(ms, 1, &tar);
	fake_engine_set_archive(f->fe, "/v/a", tar.data, tar.len);
	fake_engine_set_archive(f->fe, "/v/b", tar.data, tar.len);
	free(tar.data);
	run(f, "-c", f->ini, "volume", "create", NULL);
	assert_int_equal(f->status, 0);
	e = strchr(f->out, '\n');
	assert_non_null(e);
	snprintf(vol, sizeof(vol), "%.*s", (int)(e - f->out), f->out);
	f->nsite++;
	run(f, "-c", f->ini, "volume", "get", vol, "a", "--to", "out", NULL);
	assert_int_equal(f->status, 0); /* one PATH: under the limit */
	run(f, "-c", f->ini, "volume", "get", vol, "a", "b", "--to", "out2", NULL);
	assert_vol_error(f, "into `out2`: more than 12288 bytes ([output] max_bytes)");
}

/* [volume] size: the job's volume is created with the local driver's
 * o=size=BYTES; without it, no DriverOpts at all. */
static void test_vol_size_driver_opts(void **state)
{
	struct fx *f = *state;
	const struct fake_request *r;
	cJSON *b;

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(r = nth_req(f->fe, "POST", "/volumes/create", "", 0));
	assert_non_null(b = cJSON_Parse(r->body));
	assert_null(cJSON_GetObjectItemCaseSensitive(b, "DriverOpts"));
	cJSON_Delete(b);

	write_vol_site(f, false, "size = 64m\n");
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(r = nth_req(f->fe, "POST", "/volumes/create", "", 0));
	assert_non_null(b = cJSON_Parse(r->body));
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "DriverOpts"), "o")
		->valuestring,
	    "size=67108864");
	cJSON_Delete(b);
	assert_vol_clean(f);
}

/* A volume still in use after the run: a warning; the status stands.  Ten
 * tries, half a second apart: ~4.5 s. */
static void test_vol_remove_busy_warns(void **state)
{
	struct fx *f = *state;
	char want[300], *vol;

	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "DELETE", "/volumes/", FAKE_FAULT_STATUS, 409,
			 "remove it: volume is in use - [abc]", -1);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "6", NULL);
	assert_int_equal(f->status, 6);
	vol = created_volume(f->fe, 0);
	snprintf(want, sizeof(want), "jobcell: warning: volume `%s` left behind: ", vol);
	if (strncmp(f->err, want, strlen(want)) != 0 || !strstr(f->err, "409") ||
	    strchr(f->err, '\n') != f->err + strlen(f->err) - 1)
		fail_msg("stderr `%s`, want one line `%s...409...`", f->err, want);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 10);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_true(fake_engine_has_volume(f->fe, vol)); /* what the warning says */
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite + 1);
	free(vol);
}

/* ---- 5. kept volumes and the volume commands ---- */

static void test_vol_keep_ls_rm(void **state)
{
	struct fx *f = *state;
	char vol[200];
	const char *b, *e;
	cJSON *ls, *it;
	bool listed = false;

	run(f, "-c", f->ini, "run", "j", "--keep", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	b = strchr(f->err, '`');
	e = b ? strchr(b + 1, '`') : NULL;
	if (strncmp(f->err, "jobcell: kept volume `", 22) != 0 || !e || strcmp(e, "`\n") != 0)
		fail_msg("stderr `%s`", f->err);
	snprintf(vol, sizeof(vol), "%.*s", (int)(e - b - 1), b + 1);
	assert_true(fake_engine_has_volume(f->fe, vol));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 0);

	run(f, "-c", f->ini, "--json", "volume", "ls", NULL);
	assert_int_equal(f->status, 0);
	ls = cJSON_Parse(f->out);
	assert_true(cJSON_IsArray(ls));
	assert_int_equal(cJSON_GetArraySize(ls), 1); /* not the site's unlabelled ones */
	cJSON_ArrayForEach(it, ls)
	{
		if (strcmp(cJSON_GetObjectItemCaseSensitive(it, "volume")->valuestring, vol))
			continue;
		listed = true;
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "tenant")->valuestring,
				    "default");
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "job")->valuestring, "j");
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "keep")));
	}
	cJSON_Delete(ls);
	assert_true(listed);
	run(f, "-c", f->ini, "volume", "ls", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(strstr(f->out, vol));
	assert_non_null(strstr(f->out, "kept"));

	run(f, "-c", f->ini, "volume", "rm", vol, NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_vol_clean(f);

	/* another site's volume, and the site's own unlabelled ones, stay */
	fake_engine_add_volume(f->fe, "tenant-default-run-default-1-0badf00d",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"other\"}");
	run(f, "-c", f->ini, "volume", "rm", "tenant-default-run-default-1-0badf00d", NULL);
	assert_one_error(f, 125,
			 "volume `tenant-default-run-default-1-0badf00d` is not labelled as a "
			 "volume of site `s`");
	assert_true(fake_engine_has_volume(f->fe, "tenant-default-run-default-1-0badf00d"));
	run(f, "-c", f->ini, "volume", "rm", "s_startup", NULL);
	assert_one_error(f, 125, "volume `s_startup` is not labelled as a volume of site `s`");
	assert_true(fake_engine_has_volume(f->fe, "s_startup"));
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 1);
}

/* A kept volume stays after a failure too, and the error says so first. */
static void test_vol_keep_after_failure(void **state)
{
	struct fx *f = *state;
	char want[300], *vol;

	xfer_file(f, "c.txt", "gamma", 5, 0644);
	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "PUT", "/containers/jobcell-s-j/archive", FAKE_FAULT_STATUS, 500,
			 "no space left on device", 3);
	run(f, "-c", f->ini, "run", "j", "--keep", "--input", "c.txt", "--", "exit", "0", NULL);
	vol = created_volume(f->fe, 0);
	snprintf(want, sizeof(want), "jobcell: error: volume `%s` kept: write files into container",
		 vol);
	assert_one_error(f, 125, "engine said 500: no space left on device");
	if (strncmp(f->err, want, strlen(want)) != 0)
		fail_msg("stderr `%s`, want it to begin `%s`", f->err, want);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_true(fake_engine_has_volume(f->fe, vol));
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 0);
	free(vol);
}

/* start leaves the container and its volume; rm takes both, unless kept. */
static void test_vol_start_then_rm(void **state)
{
	struct fx *f = *state;
	const struct fake_request *r;
	cJSON *b;
	char *vol;

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "--json", "start", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	vol = created_volume(f->fe, 0);
	b = cJSON_Parse(f->out);
	assert_non_null(b);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "volume")->valuestring, vol);
	assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(b, "container")->valuestring), 64);
	cJSON_Delete(b);
	/* detached: no supervisor on the volume (gc leaves it to rm) */
	r = nth_req(f->fe, "POST", "/volumes/create", "", 0);
	assert_non_null(strstr(r->body, "\"jobcell.supervisor\":\"\""));
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_true(fake_engine_has_volume(f->fe, vol));
	run(f, "-c", f->ini, "gc", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_true(fake_engine_has_volume(f->fe, vol));
	run(f, "-c", f->ini, "rm", "j", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_vol_clean(f);
	free(vol);

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "start", "k", "--keep", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	vol = created_volume(f->fe, 0);
	run(f, "-c", f->ini, "rm", "k", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_true(fake_engine_has_volume(f->fe, vol));
	free(vol);
}

/* Volume mode, two runs of one job at once: each run has its own volume, so
 * the run whose create meets the other's container (409) removes its own
 * volume and nothing of the other's.  A's volume create is held back; B,
 * started meanwhile, takes the container's name and runs. */
static size_t count_path_part(struct fake_engine *fe, const char *method, const char *part)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_engine_request_count(fe); i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		n += !strcmp(r->method, method) && strstr(r->path, part);
	}
	return n;
}

static void test_vol_two_runs_one_job(void **state)
{
	struct fx *f = *state;
	struct child a, b;

	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "POST", "/volumes/create", FAKE_FAULT_DELAY, 1500, NULL, 1);
	spawn(f, &a, "-c", f->ini, "run", "j", "--run", "ra", "--", "exit", "0", NULL);
	WAIT_FOR(fake_engine_count(f->fe, "POST", "/volumes/create") >= 1);
	spawn(f, &b, "-c", f->ini, "run", "j", "--run", "rb", "--", "sleep", "3", NULL);
	reap(f, &a);
	/* A made its volume, met B's container and took back only its own */
	assert_one_error(f, 125, "create container `jobcell-s-j`: engine said 409");
	assert_int_equal(count_path_part(f->fe, "DELETE", "/volumes/tenant-default-run-ra-"), 1);
	assert_int_equal(count_path_part(f->fe, "DELETE", "/volumes/tenant-default-run-rb-"), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 1); /* B's, running */
	reap(f, &b);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	assert_int_equal(count_path_part(f->fe, "DELETE", "/volumes/tenant-default-run-rb-"), 1);
	assert_vol_clean(f);
}

/* ---- 6. gc ---- */

/* A supervisor label that names a process of this boot and pid namespace
 * that is gone: a child forked and reaped. */
static void dead_supervisor(char *out, size_t cap)
{
	char boot[64] = "";
	struct stat st;
	FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "r");
	pid_t pid;
	int status;

	assert_non_null(fp);
	assert_non_null(fgets(boot, sizeof(boot), fp));
	fclose(fp);
	boot[strcspn(boot, "\n")] = '\0';
	assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(out, cap, "%s/%llu/%d/12345", boot, (unsigned long long)st.st_ino, (int)pid);
}

static const cJSON *gc_item(const cJSON *doc, const char *kind, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "items"))
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "kind");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (cJSON_IsString(k) && cJSON_IsString(n) && !strcmp(k->valuestring, kind) &&
		    !strcmp(n->valuestring, name))
			return it;
	}
	fail_msg("gc did not report %s `%s`", kind, name);
	return NULL;
}

static bool gc_line(const char *out, const char *verdict, const char *kind, const char *name)
{
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char v[16], k[16], n[128];
		if (sscanf(l, "%15s %15s %127s", v, k, n) == 3 && !strcmp(v, verdict) &&
		    !strcmp(k, kind) && !strcmp(n, name))
			return true;
	}
	return false;
}

static void test_gc_dry_run_and_gc(void **state)
{
	static const char dead_vol[] = "tenant-a-run-b-1000000000000-deadbeef";
	static const char live_vol[] = "tenant-a-run-b-1000000000000-0a11fe00";
	static const char kept_vol[] = "tenant-a-run-b-1000000000000-0000cafe";
	struct fx *f = *state;
	struct jc_backend *e;
	jc_error err = { 0 };
	char dead[200], labels[600], json[1200], ep[256], *self = NULL, *id = NULL;
	cJSON *doc;

	dead_supervisor(dead, sizeof(dead));
	assert_int_equal(jc_supervisor_self(&self, &err), 0);
	snprintf(labels, sizeof(labels),
		 "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\",\"jobcell.created\":"
		 "\"1000000000\",\"jobcell.supervisor\":\"%s\"}",
		 dead);
	fake_engine_add_volume(f->fe, dead_vol, labels);
	snprintf(labels, sizeof(labels),
		 "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\",\"jobcell.created\":"
		 "\"1000000000\",\"jobcell.supervisor\":\"%s\"}",
		 self);
	fake_engine_add_volume(f->fe, live_vol, labels);
	snprintf(labels, sizeof(labels),
		 "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\",\"jobcell.created\":"
		 "\"1000000000\",\"jobcell.supervisor\":\"%s\",\"jobcell.keep\":\"true\"}",
		 dead);
	fake_engine_add_volume(f->fe, kept_vol, labels);
	/* a dead run's container, holding its volume */
	snprintf(json, sizeof(json),
		 "{\"Image\":\"img\",\"Labels\":{\"jobcell.managed\":\"true\",\"jobcell.site\":"
		 "\"s\",\"jobcell.job\":\"ghost\",\"jobcell.created\":\"1000000000\","
		 "\"jobcell.supervisor\":\"%s\",\"jobcell.volume\":\"%s\"},\"HostConfig\":{"
		 "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"%s\",\"Target\":\"/workspace/"
		 "ghost\"}]}}",
		 dead, dead_vol, dead_vol);
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	assert_int_equal(test_docker_open(ep, 2000, &e, &err), 0);
	assert_int_equal(jc_backend_ping(e, &err), 0);
	assert_int_equal(jc_docker_create_json(e, "jobcell-s-ghost", json, &id, &err), 0);
	jc_backend_close(e);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite + 3);

	run(f, "-c", f->ini, "gc", "--dry-run", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	if (!gc_line(f->out, "removed", "container", "jobcell-s-ghost") ||
	    !gc_line(f->out, "removed", "volume", dead_vol) ||
	    !gc_line(f->out, "kept", "volume", live_vol) ||
	    !gc_line(f->out, "kept", "volume", kept_vol))
		fail_msg("gc --dry-run said `%s`", f->out);
	assert_int_equal(strncmp(f->out, "dry run: ", 9), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite + 3);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 0);

	run(f, "-c", f->ini, "--json", "gc", "--dry-run", NULL);
	assert_int_equal(f->status, 0);
	doc = cJSON_Parse(f->out);
	assert_non_null(doc);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "dry_run")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "items")), 4);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    gc_item(doc, "container", "jobcell-s-ghost"), "removed")));
	assert_true(cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(gc_item(doc, "volume", dead_vol), "removed")));
	cJSON_Delete(doc);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite + 3);

	run(f, "-c", f->ini, "--json", "gc", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	doc = cJSON_Parse(f->out);
	assert_non_null(doc);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "dry_run")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    gc_item(doc, "container", "jobcell-s-ghost"), "removed")));
	assert_true(cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(gc_item(doc, "volume", dead_vol), "removed")));
	assert_true(cJSON_IsFalse(
	    cJSON_GetObjectItemCaseSensitive(gc_item(doc, "volume", live_vol), "removed")));
	assert_true(cJSON_IsFalse(
	    cJSON_GetObjectItemCaseSensitive(gc_item(doc, "volume", kept_vol), "removed")));
	cJSON_Delete(doc);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_false(fake_engine_has_volume(f->fe, dead_vol));
	assert_true(fake_engine_has_volume(f->fe, live_vol));
	assert_true(fake_engine_has_volume(f->fe, kept_vol));
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite + 2);
	free(self);
	free(id);
}

/* ---- 7. refusals before anything is made ---- */

static void test_vol_refusals_reach_nothing(void **state)
{
	static const struct {
		const char *opt, *val, *msg;
	} cases[] = {
		{ "--input", "/etc/passwd", "source `/etc/passwd`: absolute path is not allowed" },
		{ "--input", "link", "input `link`: `link` is a symlink" },
		{ "--input", "d", "symlink" },
		{ "--input", "d/../c.txt", "path component `..` is not allowed" },
		{ "--input", "missing", "input `missing`" },
		{ "--input", "c.txt:/abs", "destination `/abs`: absolute path is not allowed" },
		{ "--tenant", "a/b", "tenant has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "--tenant", "..", "tenant `..` must start with a letter or digit" },
		{ "--run", "", "run is empty" },
		{ "--output", "../up", "output directory `../up`: path component `..`" },
		{ "--output", "link", "output directory `link`" },
		{ "--output", "nothere/out", "output directory `nothere/out`: `nothere`" },
	};
	struct fx *f = *state;
	char p[300];

	xfer_file(f, "c.txt", "gamma", 5, 0644);
	snprintf(p, sizeof(p), "%s/link", f->xfer);
	assert_int_equal(symlink("c.txt", p), 0);
	xfer_dir(f, "d", 0755);
	snprintf(p, sizeof(p), "%s/d/inner", f->xfer);
	assert_int_equal(symlink("../c.txt", p), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_engine_reset_requests(f->fe);
		run(f, "-c", f->ini, "run", "j", cases[i].opt, cases[i].val, "--", "exit", "0",
		    NULL);
		assert_vol_error(f, cases[i].msg);
		/* at most a ping reached the engine */
		if (fake_engine_request_count(f->fe) > 1 ||
		    (fake_engine_request_count(f->fe) == 1 &&
		     strcmp(fake_engine_request(f->fe, 0)->path, "/_ping")))
			fail_msg("case %zu (%s %s) reached the engine beyond ping", i, cases[i].opt,
				 cases[i].val);
	}
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "start", "j", "--output", "out", "--", "exit", "0", NULL);
	assert_vol_error(f, "start: unknown option `--output`");
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	snprintf(p, sizeof(p), "%s/out", f->xfer);
	assert_false(exists(p));
}

static void test_vol_volume_create_answer_lost(void **state)
{
	struct fx *f = *state;
	char *vol;

	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "POST", "/volumes/create", FAKE_FAULT_LOST, 0, NULL, 1);
	run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
	assert_vol_error(f, "create volume `tenant-default-run-default-");
	vol = created_volume(f->fe, 0);
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	free(vol);
}

/* The label `key` of a create request's body (containers: Labels; volumes:
 * Labels too), as a number; -1 when "" (none). */
static long long body_label(const struct fake_request *r, const char *key)
{
	cJSON *b = cJSON_Parse(r->body);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(b, "Labels"), key);
	long long n;

	if (!cJSON_IsString(v))
		fail_msg("create request without a string label `%s`: %s", key, r->body);
	n = *v->valuestring ? strtoll(v->valuestring, NULL, 10) : -1;
	cJSON_Delete(b);
	return n;
}

/* The n-th container create whose body is (or is not) a transfer's. */
static const struct fake_request *nth_create(struct fake_engine *fe, bool transfer, size_t n)
{
	for (size_t i = 0;; i++) {
		const struct fake_request *r = nth_req(fe, "POST", "/containers/create", "", i);
		if (!r)
			return NULL;
		if (!!strstr(r->body, "\"jobcell.role\":\"transfer\"") == transfer && n-- == 0)
			return r;
	}
}

/* jobcell.deadline on all a run or start makes: created + 1 + timeout +
 * stop_grace + transfer_timeout; none on a kept volume; volume put's
 * transfer container: created + 1 + transfer_timeout.  ps shows it and what
 * gc would do. */
static void test_vol_deadline_labels(void **state)
{
	struct fx *f = *state;
	const struct fake_request *r;
	char vol[200];
	const char *e;
	cJSON *doc, *it;
	long long c;

	/* site: timeout 1h, stop_grace 1s, [engine] timeout 3s (twice: 6),
	 * transfer_timeout 10m (default) */
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "--timeout", "5s", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(r = nth_create(f->fe, false, 0));
	c = body_label(r, "jobcell.created");
	assert_int_equal(body_label(r, "jobcell.deadline"), c + 1 + 5 + 1 + 6 + 600);
	assert_null(nth_create(f->fe, true, 0)); /* the job's is the only container */
	assert_non_null(r = nth_req(f->fe, "POST", "/volumes/create", "", 0));
	assert_int_equal(body_label(r, "jobcell.deadline"), c + 1 + 5 + 1 + 6 + 600);

	/* kept: the volume has none, the container has the site's */
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "--keep", "k", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(r = nth_req(f->fe, "POST", "/volumes/create", "", 0));
	assert_int_equal(body_label(r, "jobcell.deadline"), -1);
	assert_non_null(r = nth_create(f->fe, false, 0));
	c = body_label(r, "jobcell.created");
	assert_int_equal(body_label(r, "jobcell.deadline"), c + 1 + 3600 + 1 + 6 + 600);

	/* volume create: none; volume put's transfer container: its own */
	fake_engine_reset_requests(f->fe);
	xfer_file(f, "c.txt", "gamma", 5, 0644);
	run(f, "-c", f->ini, "volume", "create", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(e = strchr(f->out, '\n'));
	snprintf(vol, sizeof(vol), "%.*s", (int)(e - f->out), f->out);
	assert_non_null(r = nth_req(f->fe, "POST", "/volumes/create", "", 0));
	assert_int_equal(body_label(r, "jobcell.deadline"), -1);
	run(f, "-c", f->ini, "volume", "put", vol, "c.txt", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(r = nth_create(f->fe, true, 0));
	c = body_label(r, "jobcell.created");
	assert_int_equal(body_label(r, "jobcell.deadline"), c + 1 + 600);

	/* a start: a deadline, no supervisor; ps says gc keeps it for now */
	run(f, "-c", f->ini, "start", "s1", "--", "sleep", "60", NULL);
	assert_int_equal(f->status, 0);
	run(f, "-c", f->ini, "--json", "ps", "--all", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(doc = cJSON_Parse(f->out));
	it = NULL;
	for (int i = 0; i < cJSON_GetArraySize(doc); i++) {
		cJSON *o = cJSON_GetArrayItem(doc, i);
		if (!strcmp(cJSON_GetObjectItemCaseSensitive(o, "job")->valuestring, "s1"))
			it = o;
	}
	assert_non_null(it);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "supervisor")->valuestring,
			    "detached");
	assert_true(strlen(cJSON_GetObjectItemCaseSensitive(it, "deadline")->valuestring) >= 10);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "gc")->valuestring, "keep");
	assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(it, "gc_why")->valuestring,
			       "started detached, its caller removes it; past "));
	cJSON_Delete(doc);
	run(f, "-c", f->ini, "ps", NULL);
	assert_int_equal(f->status, 0);
	if (!strstr(f->out, "SUPERVISOR DEADLINE") || !strstr(f->out, " detached   20") ||
	    !strstr(f->out, "Z keep ") || strncmp(f->out, "ENGINE unix:///", 15) != 0 ||
	    !strstr(f->out, ", reached by unix socket `/"))
		fail_msg("ps said `%s`", f->out);
	run(f, "-c", f->ini, "rm", "s1", NULL);
	assert_int_equal(f->status, 0);
}

/* gc --others-gone: in the JSON record; a flag of gc alone. */
static void test_vol_gc_others_gone_option(void **state)
{
	struct fx *f = *state;
	cJSON *doc;

	run(f, "-c", f->ini, "--json", "gc", "--others-gone", "--dry-run", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(doc = cJSON_Parse(f->out));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "others_gone")));
	cJSON_Delete(doc);
	run(f, "-c", f->ini, "--json", "gc", "--dry-run", NULL);
	assert_non_null(doc = cJSON_Parse(f->out));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "others_gone")));
	cJSON_Delete(doc);
	run(f, "-c", f->ini, "gc", "--others-gone=1", NULL);
	assert_one_error(f, 125, "gc: `--others-gone` takes no value");
	run(f, "-c", f->ini, "ps", "--others-gone", NULL);
	assert_one_error(f, 125, "ps: unknown option `--others-gone`");
	run(f, "-c", f->ini, "run", "--set", "transfer_timeout=1h", "j", "--", "true", NULL);
	assert_one_error(f, 125, "transfer_timeout");
	assert_vol_clean(f);
}

/* ---- 8. an image cannot set jobcell's labels ---- */

/* Any label under jobcell. on the site's image (or --image's) is refused by
 * every command that makes a container from it, before anything is made:
 * run, start, check, volume put and volume get. */
static void test_vol_image_with_jobcell_labels_refused(void **state)
{
	static const struct {
		const char *labels, *key;
	} cases[] = {
		{ "{\"jobcell.keep\":\"true\"}", "jobcell.keep" },
		{ "{\"a\":\"b\",\"jobcell.volume\":\"tenant-b-run-r-1000000000000-0000cafe\"}",
		  "jobcell.volume" },
		{ "{\"jobcell.supervisor\":\"x/1/2/3\"}", "jobcell.supervisor" },
		/* a far deadline would keep every container from gc */
		{ "{\"jobcell.deadline\":\"99999999999\"}", "jobcell.deadline" },
		{ "{\"JobCell.Site\":\"s\"}", "JobCell.Site" },
	};
	struct fx *f = *state;
	char vol[200], want[200], out[300];
	const char *b, *e;

	xfer_file(f, "c.txt", "gamma", 5, 0644);
	snprintf(out, sizeof(out), "%s/out", f->xfer);
	assert_int_equal(mkdir(out, 0755), 0);
	/* a kept volume to put into and get from, made while the image was clean */
	run(f, "-c", f->ini, "volume", "create", NULL);
	assert_int_equal(f->status, 0);
	b = f->out;
	e = strchr(b, '\n');
	assert_non_null(e);
	snprintf(vol, sizeof(vol), "%.*s", (int)(e - b), b);
	assert_true(fake_engine_has_volume(f->fe, vol));
	f->nsite++;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_engine_set_image_labels(f->fe, "img", cases[i].labels, true);
		snprintf(want, sizeof(want), "image `img` carries label `%s`", cases[i].key);
		fake_engine_reset_requests(f->fe);
		run(f, "-c", f->ini, "run", "j", "--", "exit", "0", NULL);
		assert_vol_error(f, want);
		run(f, "-c", f->ini, "start", "j", "--", "exit", "0", NULL);
		assert_vol_error(f, want);
		run(f, "-c", f->ini, "volume", "put", vol, "c.txt", NULL);
		assert_vol_error(f, want);
		run(f, "-c", f->ini, "volume", "get", vol, "--to", "out", NULL);
		assert_vol_error(f, want);
		run(f, "-c", f->ini, "check", NULL);
		if (f->status != 125 || !strstr(f->err, want))
			fail_msg("check: status %d, stderr `%s`", f->status, f->err);
		assert_vol_clean(f);
		assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
		assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 0);
		assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 0);
	}
	assert_true(fake_engine_has_volume(f->fe, vol));
}

/* Defence in depth: an image whose labels inspect did not show (retagged
 * between jobcell's inspect and its create) sets none of jobcell's.  Its
 * jobcell.keep does not keep a started job's volume from rm. */
static void test_vol_hidden_image_keep_label_keeps_nothing(void **state)
{
	struct fx *f = *state;
	char *vol;

	fake_engine_set_image_labels(f->fe, "img", "{\"jobcell.keep\":\"true\"}", false);
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "start", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	vol = created_volume(f->fe, 0);
	run(f, "-c", f->ini, "rm", "j", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	assert_false(fake_engine_has_volume(f->fe, vol));
	assert_vol_clean(f);
	free(vol);
}

/* ... and its jobcell.supervisor naming a dead process does not get a
 * detached job collected by gc. */
static void test_vol_hidden_image_supervisor_label_collects_nothing(void **state)
{
	struct fx *f = *state;
	char dead[200], labels[400], *vol;

	dead_supervisor(dead, sizeof(dead));
	snprintf(labels, sizeof(labels),
		 "{\"jobcell.supervisor\":\"%s\",\"jobcell.created\":\"1000000000\"}", dead);
	fake_engine_set_image_labels(f->fe, "img", labels, false);
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "start", "j", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	vol = created_volume(f->fe, 0);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	run(f, "-c", f->ini, "gc", NULL);
	assert_int_equal(f->status, 0);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_true(fake_engine_has_volume(f->fe, vol));
	run(f, "-c", f->ini, "rm", "j", NULL);
	assert_int_equal(f->status, 0);
	assert_vol_clean(f);
	free(vol);
}

/* Bind mode: an image's jobcell.volume naming another tenant's kept volume
 * of the same site, unseen by inspect, does not make rm remove it. */
static void test_hidden_image_volume_label_removes_nothing(void **state)
{
	static const char theirs[] = "tenant-b-run-r-1000000000000-0000cafe";
	struct fx *f = *state;

	fake_engine_add_volume(f->fe, theirs,
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","
			       "\"jobcell.tenant\":\"b\",\"jobcell.run\":\"r\",\"jobcell.keep\":"
			       "\"true\",\"jobcell.nonce\":\"00000000000000aa\"}");
	fake_engine_set_image_labels(
	    f->fe, "img",
	    "{\"jobcell.volume\":\"tenant-b-run-r-1000000000000-0000cafe\"}", false);
	run(f, "-c", f->ini, "start", "d", "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	run(f, "-c", f->ini, "rm", "d", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->err, "");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_true(fake_engine_has_volume(f->fe, theirs));
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/"), 0);
}

/* The same through the image that inspect does show: refused (bind mode). */
/* The create body's Entrypoint and Cmd, as compact JSON arrays ("null"
 * when absent), of the last create the fake engine was sent. */
static void create_argv(struct fx *f, char *ep, char *cmd, size_t size)
{
	const struct fake_request *rq = fake_engine_find(f->fe, "POST", "/containers/create");
	cJSON *body, *e, *c;
	char *s;

	assert_non_null(rq);
	body = cJSON_Parse(rq->body);
	assert_non_null(body);
	e = cJSON_GetObjectItemCaseSensitive(body, "Entrypoint");
	c = cJSON_GetObjectItemCaseSensitive(body, "Cmd");
	s = e ? cJSON_PrintUnformatted(e) : strdup("null");
	snprintf(ep, size, "%s", s);
	free(s);
	s = c ? cJSON_PrintUnformatted(c) : strdup("null");
	snprintf(cmd, size, "%s", s);
	free(s);
	cJSON_Delete(body);
}

/* --entrypoint: refused unless the site lists it in [job] overridable, as
 * every override is, and refused in a bad shape; nothing is made. */
static void test_entrypoint_refusals(void **state)
{
	static const struct {
		const char *word, *msg;
	} bad[] = {
		{ "/bin/tool a", "--entrypoint: not one word of printable characters" },
		{ "bin/tool", "--entrypoint `bin/tool`: an absolute path or a name" },
		{ "", "--entrypoint '' clears the image's entrypoint and gives no command" },
	};
	struct fx *f = *state;
	char ep[256];

	run(f, "-c", f->ini, "run", "j", "--entrypoint", "/bin/tool", "--", "true", NULL);
	assert_one_error(
	    f, 125,
	    "job request sets `entrypoint`, which the site does not list in [job] overridable");
	run(f, "-c", f->ini, "plan", "j", "--entrypoint", "/bin/tool", NULL);
	assert_one_error(f, 125, "does not list in [job] overridable");
	run(f, "-c", f->ini, "run", "j", "--set", "entrypoint=/bin/tool", "--", "true", NULL);
	assert_one_error(f, 125, "give it with --entrypoint");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_false(job_dir_exists(f, "j"));

	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	write_site(f, ep, "overridable = image, entrypoint\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run(f, "-c", f->ini, "run", "j", "--entrypoint", bad[i].word, NULL);
		assert_one_error(f, 125, bad[i].msg);
	}
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_false(job_dir_exists(f, "j"));
}

/* A listed entrypoint is the create body's Entrypoint (through the mount
 * gate in bind mode, the job's command after it); '' clears the image's. */
static void test_entrypoint(void **state)
{
	struct fx *f = *state;
	char ep[256], cmd[256];

	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	write_site(f, ep, "overridable = entrypoint\n");
	run(f, "-c", f->ini, "plan", "j", "--entrypoint", "/bin/tool", "--", "a", "b", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(strstr(f->out, "\"Entrypoint\":\t[\"/bin/tool\"]"));
	run(f, "-c", f->ini, "plan", "j", "--entrypoint=", "--", "echo", "x", NULL);
	assert_int_equal(f->status, 0);
	assert_non_null(strstr(f->out, "\"Entrypoint\":\t[\"\"]"));

	/* the fake engine runs Cmd: the gate hands the entrypoint the command */
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--entrypoint", "echo", "--", "hi", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->out, "hi\n");
	create_argv(f, ep, cmd, sizeof(ep));
	if (strstr(ep, "jobcell-gate")) /* bind mode: the gate, then the job */
		assert_non_null(strstr(cmd, "[\"echo\",\"hi\"]"));
	else
		assert_string_equal(ep, "[\"echo\"]");
	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--entrypoint", "", "--", "echo", "cleared", NULL);
	assert_int_equal(f->status, 0);
	assert_string_equal(f->out, "cleared\n");
	create_argv(f, ep, cmd, sizeof(ep));
	if (!strstr(ep, "jobcell-gate"))
		assert_string_equal(ep, "[\"\"]");
	assert_null(strstr(cmd, "\"\""));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

/* --ready-fd N: checked as --status-fd is, before anything is asked. */
static void test_ready_fd_refusals(void **state)
{
	static const struct {
		const char *fd, *msg;
	} cases[] = {
		{ "1", "--ready-fd `1`: not a descriptor number of 3 or more" },
		{ "2", "--ready-fd `2`: not a descriptor number of 3 or more" },
		{ "x", "--ready-fd `x`: not a descriptor number of 3 or more" },
		{ "99", "--ready-fd 99: not a descriptor open for writing" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_engine_reset_requests(f->fe);
		run(f, "-c", f->ini, "run", "j", "--ready-fd", cases[i].fd, "--", "true", NULL);
		assert_one_error(f, 125, cases[i].msg);
		assert_int_equal(fake_engine_request_count(f->fe), 0);
	}
	run(f, "-c", f->ini, "--status-fd", "3", "run", "j", "--ready-fd", "3", "--", "true", NULL);
	assert_one_error(f, 125, "--ready-fd 3: the descriptor of --status-fd");
	run(f, "-c", f->ini, "start", "j", "--ready-fd", "3", "--", "true", NULL);
	assert_one_error(f, 125, "start: unknown option `--ready-fd`");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_false(job_dir_exists(f, "j"));
}

/* The started container's id and a newline, once; a run that fails before
 * the start writes nothing. */
static void test_ready_fd(void **state)
{
	struct fx *f = *state;
	size_t n;

	run(f, "-c", f->ini, "run", "j", "--ready-fd", "3", "--", "exit", "3", NULL);
	assert_int_equal(f->status, 3);
	n = strlen(f->rec);
	assert_int_equal(n, 65);
	assert_int_equal(strspn(f->rec, "0123456789abcdef"), 64);
	assert_int_equal(f->rec[64], '\n');

	/* refused before the start: the descriptor is closed unwritten */
	fake_engine_fail(f->fe, "POST", "/containers/create", FAKE_FAULT_STATUS, 500, "boom", 1);
	run(f, "-c", f->ini, "run", "k", "--ready-fd", "3", "--", "true", NULL);
	assert_one_error(f, 125, "boom");
	assert_string_equal(f->rec, "");
	fake_engine_fail(f->fe, "POST", "/start", FAKE_FAULT_STATUS, 500, "no start", 1);
	run(f, "-c", f->ini, "run", "k", "--ready-fd", "3", "--", "true", NULL);
	assert_one_error(f, 125, "no start");
	assert_string_equal(f->rec, "");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

/* --mount-volume VOLUME:PATH: a kept volume of the job's tenant, mounted
 * read-only; any other volume, a bad path or bind mode is refused with one
 * line before anything is made. */
static void test_vol_mount_volume(void **state)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "kept-acme", "--mount-volume `kept-acme`: want VOLUME:PATH" },
		{ "kept-acme:src", "path `src` must be an absolute path below `/`" },
		{ "kept-acme:/proc/x", "is at or under `/proc`" },
		{ "kept-acme:/workspace/src",
		  "must not be at, under or above [workspace] mount_point" },
		{ "kept-acme:/", "path `/` must be an absolute path below `/`" },
		{ "-bad:/src", "--mount-volume: volume name" },
		{ "other-tenant:/src", "volume `other-tenant` is not tenant `acme`'s" },
		{ "unmanaged:/src", "volume `unmanaged` is not labelled as a volume of site `s`" },
		{ "other-site:/src",
		  "volume `other-site` is not labelled as a volume of site `s`" },
		{ "running-acme:/src", "volume `running-acme` is not kept" },
		{ "missing-vol:/src", "--mount-volume `missing-vol`" },
	};
	struct fx *f = *state;
	const struct fake_request *rq;
	cJSON *body, *m;
	bool found = false;

	fake_engine_add_volume(f->fe, "kept-acme",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","
			       "\"jobcell.tenant\":\"acme\",\"jobcell.keep\":\"true\"}");
	fake_engine_add_volume(f->fe, "other-tenant",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","
			       "\"jobcell.tenant\":\"rival\",\"jobcell.keep\":\"true\"}");
	fake_engine_add_volume(f->fe, "unmanaged", "{\"jobcell.tenant\":\"acme\"}");
	fake_engine_add_volume(f->fe, "other-site",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"t\","
			       "\"jobcell.tenant\":\"acme\",\"jobcell.keep\":\"true\"}");
	fake_engine_add_volume(f->fe, "running-acme",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","
			       "\"jobcell.tenant\":\"acme\"}");
	f->nsite = fake_engine_volume_count(f->fe);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_engine_reset_requests(f->fe);
		run(f, "-c", f->ini, "run", "j", "--tenant", "acme", "--mount-volume", bad[i].spec,
		    "--", "true", NULL);
		assert_vol_error(f, bad[i].msg);
		assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
		assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 0);
	}
	run(f, "-c", f->ini, "run", "j", "--tenant", "acme", "--mount-volume", "kept-acme:/a",
	    "--mount-volume", "kept-acme:/a/b", "--", "true", NULL);
	assert_vol_error(f, "must not be at, under or above another --mount-volume's path");

	fake_engine_reset_requests(f->fe);
	run(f, "-c", f->ini, "run", "j", "--tenant", "acme", "--mount-volume", "kept-acme:/src",
	    "--", "exit", "0", NULL);
	assert_int_equal(f->status, 0);
	/* the job's create */
	rq = NULL;
	for (size_t i = 0; i < fake_engine_request_count(f->fe); i++) {
		const struct fake_request *r = fake_engine_request(f->fe, i);
		if (!strcmp(r->method, "POST") && !strcmp(r->path, "/containers/create") &&
		    strstr(r->body, "\"/src\""))
			rq = r;
	}
	assert_non_null(rq);
	body = cJSON_Parse(rq->body);
	assert_non_null(body);
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(
				  cJSON_GetObjectItemCaseSensitive(body, "HostConfig"), "Mounts"))
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "Target");
		if (!cJSON_IsString(t) || strcmp(t->valuestring, "/src") != 0)
			continue;
		found = true;
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Type")->valuestring,
				    "volume");
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "Source")->valuestring,
				    "kept-acme");
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ReadOnly")));
	}
	cJSON_Delete(body);
	assert_true(found);
	assert_vol_clean(f);
}

/* Chained volumes are volume mode's: a bind site refuses them. */
static void test_mount_volume_bind_refused(void **state)
{
	struct fx *f = *state;

	run(f, "-c", f->ini, "run", "j", "--mount-volume", "v:/src", "--", "true", NULL);
	assert_one_error(f, 125, "chained volumes need [workspace] mode = volume");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_false(job_dir_exists(f, "j"));
}

static void test_image_with_jobcell_labels_refused(void **state)
{
	struct fx *f = *state;

	fake_engine_set_image_labels(f->fe, "img", "{\"jobcell.volume\":\"x\"}", true);
	run(f, "-c", f->ini, "run", "d", "--", "exit", "0", NULL);
	assert_one_error(f, 125, "image `img` carries label `jobcell.volume`");
	run(f, "-c", f->ini, "start", "d", "--", "exit", "0", NULL);
	assert_one_error(f, 125, "image `img` carries label `jobcell.volume`");
	assert_false(job_dir_exists(f, "d"));
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_passes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_dies_mid_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_option_takes_any_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_engine_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_failure_json_and_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_fd_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_run_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_reach_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detached_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_runs_one_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_refused_while_container_exists, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_subpath_refused_before_1_45, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_run_site_volume_subpaths, setup_vol45,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_inputs_and_outputs, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_volume_create_fails, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_input_put_fails, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_input_put_retried, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_root_archive, setup_vol45, teardown),
		cmocka_unit_test_setup_teardown(test_vol_libarchive_unloadable, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_without_libarchive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vol_output_get_drops, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_output_limit_bytes, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_output_limit_members, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_get_limit, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_size_driver_opts, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_remove_busy_warns, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_keep_ls_rm, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_keep_after_failure, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_start_then_rm, setup_vol45, teardown),
		cmocka_unit_test_setup_teardown(test_vol_deadline_labels, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_gc_others_gone_option, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_two_runs_one_job, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_gc_dry_run_and_gc, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_volume_create_answer_lost, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_refusals_reach_nothing, setup_vol41,
						teardown),
		cmocka_unit_test_setup_teardown(test_vol_image_with_jobcell_labels_refused,
						setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_vol_hidden_image_keep_label_keeps_nothing,
						setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(
		    test_vol_hidden_image_supervisor_label_collects_nothing, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_image_volume_label_removes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_with_jobcell_labels_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_entrypoint_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entrypoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ready_fd_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ready_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vol_mount_volume, setup_vol41, teardown),
		cmocka_unit_test_setup_teardown(test_mount_volume_bind_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
