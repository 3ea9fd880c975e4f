/* The engine lock (enginelock.c): taken and released, free again when its
 * holder dies, a holder that keeps it is named in one error line after the
 * timeout, a signal or a parent's death ends the wait, and the lock
 * directory's checks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "enginelock.h"
#include "error.h"
#include "testutil.h"
#include "util.h"

#define EP   "unix:///run/podman/podman.sock"
#define WHAT "create container `jobcell-s-j`"

struct fx {
	char base[64];
	char dir[96]; /* base/locks: made by the lock */
	jc_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->base, "/tmp/jc-test-lock-XXXXXX");
	if (!mkdtemp(f->base)) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/locks", f->base);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	jc_error_clear(&f->err);
	rm_tree(f->base);
	free(f);
	return 0;
}

/* Is the lock file of site `s` free, as another process would find it? */
static bool lock_free(const char *dir, const char *site)
{
	char *path = jc_enginelock_path(dir, site, EP);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool free_now;

	free(path);
	assert_true(fd >= 0);
	free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_now;
}

static void test_path(void **state)
{
	char *a = jc_enginelock_path("/run/jobcell", "site1", EP);
	char *b = jc_enginelock_path("/run/jobcell/", "site1", "tcp://10.0.0.1:2375");

	(void)state;
	/* the site by name, the endpoint by a hash of 16 hex digits */
	assert_int_equal(strncmp(a, "/run/jobcell/site1-", 19), 0);
	assert_int_equal(strlen(a), 19 + 16 + 5);
	assert_string_equal(a + strlen(a) - 5, ".lock");
	assert_int_equal(strncmp(b, "/run/jobcell/site1-", 19), 0);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void test_take_release(void **state)
{
	struct fx *f = *state;
	struct stat st;
	int fd = -1, other = -1;
	char buf[64] = "";
	char *path;

	assert_int_equal(
	    jc_enginelock_take(f->dir, "s", EP, 1000, -1, 0, WHAT, &fd, &f->err), 0);
	assert_true(fd >= 0);
	/* the directory was made 0700, the file 0600 */
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	path = jc_enginelock_path(f->dir, "s", EP);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* the holder's pid is in it */
	{
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
		assert_int_equal(atol(buf), (long)getpid());
	}
	free(path);
	assert_false(lock_free(f->dir, "s"));
	/* another site's lock is another lock */
	assert_int_equal(
	    jc_enginelock_take(f->dir, "t", EP, 1000, -1, 0, WHAT, &other, &f->err), 0);
	jc_enginelock_release(&other);
	assert_int_equal(other, -1);
	jc_enginelock_release(&fd);
	assert_int_equal(fd, -1);
	assert_true(lock_free(f->dir, "s"));
	jc_enginelock_release(&fd); /* twice: nothing */
}

/* A holder that dies leaves the lock free, whatever killed it. */
static void test_dead_holder(void **state)
{
	struct fx *f = *state;
	int pipefd[2], fd = -1, status;
	char c;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		jc_error e = { 0 };
		int held = -1;
		if (jc_enginelock_take(f->dir, "s", EP, 1000, -1, 0, WHAT, &held, &e) < 0)
			_exit(1);
		(void)!write(pipefd[1], "x", 1);
		pause(); /* holds it until killed */
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	assert_false(lock_free(f->dir, "s"));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(jc_enginelock_take(f->dir, "s", EP, 1000, -1, 0, WHAT, &fd, &f->err), 0);
	jc_enginelock_release(&fd);
}

/* Fork a child that takes the lock of site `s` and keeps it until killed;
 * returns its pid once it holds it. */
static pid_t hold_in_child(const struct fx *f)
{
	int pipefd[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		jc_error e = { 0 };
		int held = -1;
		if (jc_enginelock_take(f->dir, "s", EP, 1000, -1, 0, WHAT, &held, &e) < 0)
			_exit(1);
		(void)!write(pipefd[1], "x", 1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A holder that keeps it: one error after the timeout, naming the step,
 * the lock file and the holder's pid. */
static void test_timeout(void **state)
{
	struct fx *f = *state;
	pid_t pid = hold_in_child(f);
	char want[256], *path = jc_enginelock_path(f->dir, "s", EP);
	int fd = -1;

	assert_int_equal(
	    jc_enginelock_take(f->dir, "s", EP, 1000, -1, 0, WHAT, &fd, &f->err), -1);
	assert_int_equal(fd, -1);
	assert_int_equal(f->err.status, ETIMEDOUT);
	snprintf(want, sizeof(want),
		 WHAT ": engine lock `%s` held by pid %ld for 1s: is that jobcell stopped?", path,
		 (long)pid);
	assert_string_equal(f->err.msg, want);
	free(path);
	reap(pid);
}

/* A signal ends the wait at once, and is named. */
static void test_signal(void **state)
{
	struct fx *f = *state;
	pid_t pid = hold_in_child(f);
	sigset_t set;
	int sfd, fd = -1;
	int64_t t0;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	assert_true(sfd >= 0);
	raise(SIGUSR1);
	t0 = jc_mono_ms();
	assert_int_equal(
	    jc_enginelock_take(f->dir, "s", EP, 60000, sfd, 0, WHAT, &fd, &f->err), -1);
	assert_true(jc_mono_ms() - t0 < 5000); /* not the 60 s of the timeout */
	assert_int_equal(f->err.status, EINTR);
	assert_non_null(strstr(f->err.msg, "got User defined signal 1 while waiting"));
	close(sfd);
	assert_int_equal(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	reap(pid);
}

/* A parent that is not ours any more ends the wait too. */
static void test_parent(void **state)
{
	struct fx *f = *state;
	pid_t pid = hold_in_child(f);
	int fd = -1;

	/* getppid() is never 1 here unless reparented: as if the parent died */
	assert_int_equal(
	    jc_enginelock_take(f->dir, "s", EP, 60000, -1, getppid() + 100000, WHAT, &fd, &f->err),
	    -1);
	assert_int_equal(f->err.status, ESRCH);
	assert_non_null(strstr(f->err.msg, WHAT ": parent exited while waiting for engine lock"));
	reap(pid);
}

/* The lock directory: another's mode, a symlink, a relative path. */
static void test_dir_checks(void **state)
{
	struct fx *f = *state;
	char link[128], want[256];
	int fd = -1;

	assert_int_equal(mkdir(f->dir, 0755), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(jc_enginelock_take(f->dir, "s", EP, 100, -1, 0, WHAT, &fd, &f->err), -1);
	snprintf(want, sizeof(want),
		 WHAT ": [engine] lock_dir `%s`: mode 0755: others could hold its locks (want 0700)",
		 f->dir);
	assert_string_equal(f->err.msg, want);
	assert_int_equal(f->err.kind, JC_ERR_CONFIG);
	jc_error_clear(&f->err);

	assert_int_equal(chmod(f->dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", f->base);
	assert_int_equal(symlink(f->dir, link), 0);
	assert_int_equal(jc_enginelock_take(link, "s", EP, 100, -1, 0, WHAT, &fd, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "(symlinks are not followed)"));
	jc_error_clear(&f->err);

	assert_int_equal(jc_enginelock_take(NULL, "s", EP, 100, -1, 0, WHAT, &fd, &f->err), -1);
	assert_string_equal(f->err.msg,
			    WHAT ": [engine] lock_dir is not set: this engine needs its lock");
	jc_error_clear(&f->err);

	assert_int_equal(jc_enginelock_take("run/jobcell", "s", EP, 100, -1, 0, WHAT, &fd, &f->err),
			 -1);
	assert_string_equal(f->err.msg, WHAT ": [engine] lock_dir `run/jobcell`: not an absolute "
					    "path");
	jc_error_clear(&f->err);

	/* a lock "file" that is a directory */
	{
		char *path = jc_enginelock_path(f->dir, "s", EP);
		assert_int_equal(mkdir(path, 0700), 0);
		assert_int_equal(
		    jc_enginelock_take(f->dir, "s", EP, 100, -1, 0, WHAT, &fd, &f->err), -1);
		assert_int_equal(fd, -1);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test_setup_teardown(test_take_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
