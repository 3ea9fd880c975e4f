/* The workspace on disk (workspace.c).  make unit runs this file twice: as
 * the kernel is (openat2), and under tests/no-openat2, where fsutil.c opens
 * children with its O_NOFOLLOW walk; every case holds on both. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "data.h"
#include "error.h"
#include "util.h"
#include "workspace.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture --------------------------------------------------------------- */

/* base/            mkdtemp, 0700
 * base/ws/         the workspace root, 0755
 * base/ws/startup/ base/ws/local/ base/ws/job1/ base/ws/other/
 * base/elsewhere/  a directory outside the workspace */
struct fx {
	char base[64];
	char root[96];
	struct jc_workspace ws;
	bool opened;
	jc_error err;
};

static void mkdir_at(const struct fx *f, const char *rel, mode_t mode)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", f->base, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0); /* whatever the umask */
}

static char *at(const struct fx *f, const char *rel, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", f->base, rel);
	return buf;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->base, "/tmp/jc-test-ws-XXXXXX");
	if (!mkdtemp(f->base)) {
		free(f);
		return -1;
	}
	snprintf(f->root, sizeof(f->root), "%s/ws", f->base);
	f->ws =
	    (struct jc_workspace){ .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 };
	mkdir_at(f, "ws", 0755);
	mkdir_at(f, "ws/startup", 0755);
	mkdir_at(f, "ws/local", 0755);
	mkdir_at(f, "ws/job1", 0700);
	mkdir_at(f, "ws/other", 0700);
	mkdir_at(f, "elsewhere", 0755);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->opened)
		jc_ws_close(&f->ws);
	jc_error_clear(&f->err);
	rm_tree(f->base);
	free(f);
	return 0;
}

/* A case takes the fixture; cmocka wants void **. */
#define CASE(fn)                                                                                   \
	static void fn##_test(void **state)                                                        \
	{                                                                                          \
		fn(*state);                                                                        \
	}
#define TEST(fn) cmocka_unit_test_setup_teardown(fn##_test, setup, teardown)

static void expect_err_at(int rc, jc_error *err, enum jc_error_kind kind, int status,
			  const char *part, const char *file, int line)
{
	_assert_int_equal((LargestIntegralType)rc, (LargestIntegralType)-1, file, line);
	if (!err->msg || err->kind != kind || err->status != status) {
		print_error("got %s/%d `%s`, want %s/%d\n", jc_error_kind_name(err->kind),
			    err->status, err->msg ? err->msg : "(none)", jc_error_kind_name(kind),
			    status);
		_fail(file, line);
	}
	if (!strstr(err->msg, part)) {
		print_error("message `%s` lacks `%s`\n", err->msg, part);
		_fail(file, line);
	}
	jc_error_clear(err);
}
#define expect_err(rc, err, kind, status, part)                                                    \
	expect_err_at((rc), (err), (kind), (status), (part), __FILE__, __LINE__)

static void open_ok(struct fx *f)
{
	if (jc_ws_open(&f->ws, f->root, &f->err) != 0)
		fail_msg("jc_ws_open: %s", f->err.msg);
	f->opened = true;
}

static bool exists(const struct fx *f, const char *rel)
{
	char p[256];
	struct stat st;

	return lstat(at(f, rel, p, sizeof(p)), &st) == 0;
}

/* ---- jc_ws_open ------------------------------------------------------------ */

static void good_layout(struct fx *f)
{
	struct stat a, b;
	char p[256];

	open_ok(f);
	assert_true(f->ws.root_fd >= 0);
	assert_true(f->ws.startup_fd >= 0);
	assert_true(f->ws.local_fd >= 0);
	assert_int_equal(f->ws.job_fd, -1);
	assert_null(f->ws.job);
	/* the descriptors hold the directories on disk */
	assert_int_equal(fstat(f->ws.startup_fd, &a), 0);
	assert_int_equal(stat(at(f, "ws/startup", p, sizeof(p)), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(jc_ws_recheck(&f->ws, &f->err), 0);

	assert_int_equal(jc_ws_prepare_job(&f->ws, "job1", false, 0700, 0, 0, &f->err), 0);
	assert_null(f->err.msg);
	assert_true(f->ws.job_fd >= 0);
	assert_string_equal(f->ws.job, "job1");
	assert_false(f->ws.job_created);
	assert_int_equal(fstat(f->ws.job_fd, &a), 0);
	assert_int_equal(stat(at(f, "ws/job1", p, sizeof(p)), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(jc_ws_recheck(&f->ws, &f->err), 0);
	/* not created by us: undo leaves it */
	jc_ws_undo_job(&f->ws);
	assert_true(exists(f, "ws/job1"));

	jc_ws_close(&f->ws);
	f->opened = false;
	assert_int_equal(f->ws.root_fd, -1);
	assert_int_equal(f->ws.job_fd, -1);
	assert_null(f->ws.job);
}
CASE(good_layout)

/* A second job replaces the first in the struct without leaking. */
static void prepare_twice(struct fx *f)
{
	open_ok(f);
	assert_int_equal(jc_ws_prepare_job(&f->ws, "job1", false, 0700, 0, 0, &f->err), 0);
	assert_int_equal(jc_ws_prepare_job(&f->ws, "other", false, 0700, 0, 0, &f->err), 0);
	assert_string_equal(f->ws.job, "other");
	assert_int_equal(jc_ws_recheck(&f->ws, &f->err), 0);
}
CASE(prepare_twice)

static void root_missing(struct fx *f)
{
	char p[256], want[512];

	at(f, "absent", p, sizeof(p));
	snprintf(want, sizeof(want), "open workspace root `%s`: No such file or directory", p);
	expect_err(jc_ws_open(&f->ws, p, &f->err), &f->err, JC_ERR_WORKSPACE, ENOENT, want);
}
CASE(root_missing)

/* Regression (fixed): workspace.c:100-106 opens the root with O_PATH|O_DIRECTORY|O_NOFOLLOW,
 * which fails with ENOTDIR (not ELOOP) on a symlink, so the message reads
 * "workspace root `...` is not a directory, not a directory" instead of
 * naming the symlink.  The refusal itself is right. */
static void root_symlink(struct fx *f)
{
	char link[256];
	int rc;

	at(f, "wslink", link, sizeof(link));
	assert_int_equal(symlink(f->root, link), 0);
	rc = jc_ws_open(&f->ws, link, &f->err);
	assert_int_equal(rc, -1);
	assert_int_equal(f->err.kind, JC_ERR_WORKSPACE);
	assert_non_null(strstr(f->err.msg, "workspace root `"));
	if (!strstr(f->err.msg, "is a symlink"))
		fail_msg("message `%s` does not say the root is a symlink", f->err.msg);
	jc_error_clear(&f->err);
}
CASE(root_symlink)

static void root_regular_file(struct fx *f)
{
	char p[256];
	int fd;

	at(f, "file", p, sizeof(p));
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_err(jc_ws_open(&f->ws, p, &f->err), &f->err, JC_ERR_WORKSPACE, ENOTDIR,
		   "not a directory");
}
CASE(root_regular_file)

static void root_writable(struct fx *f)
{
	static const struct {
		mode_t mode;
		const char *text;
	} cases[] = { { 0775, "(mode 0775)" },
		      { 0757, "(mode 0757)" },
		      { 0777, "(mode 0777)" },
		      { 0770, "(mode 0770)" },
		      { 01777, "(mode 1777)" } };
	char want[512];

	for (size_t i = 0; i < N(cases); i++) {
		assert_int_equal(chmod(f->root, cases[i].mode), 0);
		snprintf(want, sizeof(want), "workspace root `%s` is group- or world-writable %s",
			 f->root, cases[i].text);
		expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
			   want);
	}
	/* read and search for others is fine */
	assert_int_equal(chmod(f->root, 0755), 0);
	open_ok(f);
}
CASE(root_writable)

static void root_foreign_owner(struct fx *f)
{
	char want[512];

	if (geteuid() != 0)
		skip(); /* cannot give a directory away */
	assert_int_equal(chown(f->root, 65532, 65532), 0);
	snprintf(want, sizeof(want),
		 "workspace root `%s` is owned by uid 65532, not by root or jobcell's user",
		 f->root);
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM, want);
}
CASE(root_foreign_owner)

static void replace_with_symlink(const struct fx *f, const char *rel, const char *target)
{
	char p[256];

	at(f, rel, p, sizeof(p));
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(target, p), 0);
}

static void startup_symlink(struct fx *f)
{
	char target[256];

	replace_with_symlink(f, "ws/startup", at(f, "elsewhere", target, sizeof(target)));
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, ELOOP,
		   "workspace child `startup` is a symlink, not a directory");
	assert_int_equal(f->ws.root_fd, -1); /* nothing handed out */
}
CASE(startup_symlink)

static void local_symlink(struct fx *f)
{
	replace_with_symlink(f, "ws/local", "startup"); /* relative, to a sibling */
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, ELOOP,
		   "workspace child `local` is a symlink, not a directory");
}
CASE(local_symlink)

static void local_regular_file(struct fx *f)
{
	char p[256];
	int fd;

	at(f, "ws/local", p, sizeof(p));
	assert_int_equal(rmdir(p), 0);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, ENOTDIR,
		   "workspace child `local` is a regular file, not a directory");
}
CASE(local_regular_file)

static void startup_missing(struct fx *f)
{
	char p[256];

	assert_int_equal(rmdir(at(f, "ws/startup", p, sizeof(p))), 0);
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, ENOENT,
		   "workspace child `startup` does not exist");
}
CASE(startup_missing)

/* ---- jc_ws_prepare_job: what is on disk under the job's name --------------- */

static void job_symlinks(struct fx *f)
{
	static const struct {
		const char *name;
		const char *target;
	} cases[] = {
		{ "to-root", "/" },          { "to-sibling", "other" },
		{ "to-sibling-abs", NULL }, /* absolute path of ws/other */
		{ "to-startup", "startup" }, { "dangling", "nowhere" },
		{ "to-self", "to-self" },    { "to-dotdot", ".." },
	};
	char p[256], target[256], want[256];

	open_ok(f);
	for (size_t i = 0; i < N(cases); i++) {
		const char *t =
		    cases[i].target ? cases[i].target : at(f, "ws/other", target, sizeof(target));
		snprintf(p, sizeof(p), "%s/%s", f->root, cases[i].name);
		assert_int_equal(symlink(t, p), 0);
		snprintf(want, sizeof(want), "job directory `%s` is a symlink, not a directory",
			 cases[i].name);
		/* with create too: a symlink is never "missing" */
		for (int create = 0; create < 2; create++) {
			expect_err(
			    jc_ws_prepare_job(&f->ws, cases[i].name, create, 0700, 0, 0, &f->err),
			    &f->err, JC_ERR_WORKSPACE, ELOOP, want);
			assert_int_equal(f->ws.job_fd, -1);
			assert_null(f->ws.job);
		}
	}
	/* nothing was made at the dangling link's target */
	assert_false(exists(f, "ws/nowhere"));
}
CASE(job_symlinks)

static void job_regular_file(struct fx *f)
{
	char p[256];
	int fd;

	fd = open(at(f, "ws/jfile", p, sizeof(p)), O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	open_ok(f);
	expect_err(jc_ws_prepare_job(&f->ws, "jfile", true, 0700, 0, 0, &f->err), &f->err,
		   JC_ERR_WORKSPACE, ENOTDIR,
		   "job directory `jfile` is a regular file, not a directory");
	assert_int_equal(f->ws.job_fd, -1);
}
CASE(job_regular_file)

static void job_socket(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/jsock", f->root);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	open_ok(f);
	expect_err(jc_ws_prepare_job(&f->ws, "jsock", true, 0700, 0, 0, &f->err), &f->err,
		   JC_ERR_WORKSPACE, ENOTDIR, "job directory `jsock` is a socket, not a directory");
}
CASE(job_socket)

/* A fifo must be refused at once: opening one for reading waits for a
 * writer.  The check runs in a child so that a hang fails the test instead
 * of stopping the suite; the child uses no cmocka calls. */
static int fifo_child(struct fx *f)
{
	jc_error err = { 0 };
	int rc;

	if (jc_ws_open(&f->ws, f->root, &err) < 0)
		return 2;
	rc = jc_ws_prepare_job(&f->ws, "jfifo", true, 0700, 0, 0, &err);
	if (rc != -1 || err.kind != JC_ERR_WORKSPACE || err.status != ENOTDIR || !err.msg ||
	    !strstr(err.msg, "job directory `jfifo` is a fifo, not a directory"))
		return 3;
	return 0;
}

/* Regression (fixed; fallback only): workspace.c:80 opens the job directory with
 * openat(O_RDONLY|O_NOFOLLOW) and no O_DIRECTORY or O_NONBLOCK, so a fifo
 * named like the job blocks jc_ws_prepare_job until some writer opens it
 * (a job can plant one in a shared workspace and hang the launcher).  It
 * should fail at once with "is a fifo, not a directory", as the openat2
 * path does. */
static void job_fifo(struct fx *f)
{
	char p[256];
	pid_t pid;
	int status = 0;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	assert_int_equal(mkfifo(at(f, "ws/jfifo", p, sizeof(p)), 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fifo_child(f));
	for (int i = 0; i < 150; i++) { /* 3 s */
		pid_t r = waitpid(pid, &status, WNOHANG);
		assert_true(r >= 0);
		if (r == pid)
			break;
		if (i == 149) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("jc_ws_prepare_job still blocked on a fifo after 3 s");
		}
		nanosleep(&ts, NULL);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
CASE(job_fifo)

static void job_missing_no_create(struct fx *f)
{
	open_ok(f);
	expect_err(jc_ws_prepare_job(&f->ws, "job9", false, 0700, 0, 0, &f->err), &f->err,
		   JC_ERR_WORKSPACE, ENOENT, "job directory `job9` does not exist");
	assert_false(exists(f, "ws/job9"));
	assert_int_equal(f->ws.job_fd, -1);
	assert_null(f->ws.job);
}
CASE(job_missing_no_create)

static void create_and_check(struct fx *f, const char *job, unsigned mode, uid_t uid, gid_t gid)
{
	char rel[128], p[256];
	struct stat st, held;

	assert_int_equal(jc_ws_prepare_job(&f->ws, job, true, mode, uid, gid, &f->err), 0);
	assert_null(f->err.msg);
	assert_true(f->ws.job_created);
	assert_string_equal(f->ws.job, job);
	snprintf(rel, sizeof(rel), "ws/%s", job);
	assert_int_equal(lstat(at(f, rel, p, sizeof(p)), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(fstat(f->ws.job_fd, &held), 0);
	assert_int_equal(held.st_ino, st.st_ino);
	assert_int_equal(jc_ws_recheck(&f->ws, &f->err), 0);
}

static void job_create(struct fx *f)
{
	open_ok(f);
	create_and_check(f, "new1", 0700, getuid(), getgid());
	/* a mode wider than the umask allows is still given exactly */
	create_and_check(f, "new2", 0770, getuid(), getgid());
	if (geteuid() == 0)
		create_and_check(f, "new3", 0700, 65532, 65532);
}
CASE(job_create)

static void undo_removes_empty(struct fx *f)
{
	open_ok(f);
	create_and_check(f, "new1", 0700, getuid(), getgid());
	jc_ws_undo_job(&f->ws);
	assert_false(exists(f, "ws/new1"));
	assert_false(f->ws.job_created);
	/* a second undo is harmless */
	jc_ws_undo_job(&f->ws);
	assert_false(exists(f, "ws/new1"));
}
CASE(undo_removes_empty)

static void undo_keeps_nonempty(struct fx *f)
{
	char p[256];
	int fd;

	open_ok(f);
	create_and_check(f, "new1", 0700, getuid(), getgid());
	fd = open(at(f, "ws/new1/output.txt", p, sizeof(p)), O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	jc_ws_undo_job(&f->ws);
	assert_true(exists(f, "ws/new1"));
	assert_true(exists(f, "ws/new1/output.txt"));
}
CASE(undo_keeps_nonempty)

static void case_duplicate(struct fx *f)
{
	mkdir_at(f, "ws/Job2", 0700);
	open_ok(f);
	for (int create = 0; create < 2; create++)
		expect_err(jc_ws_prepare_job(&f->ws, "job2", create, 0700, 0, 0, &f->err), &f->err,
			   JC_ERR_INPUT, EEXIST,
			   "job name `job2` differs only by case from existing `Job2`");
	assert_false(exists(f, "ws/job2"));
	expect_err(jc_ws_prepare_job(&f->ws, "JOB1", true, 0700, 0, 0, &f->err), &f->err,
		   JC_ERR_INPUT, EEXIST,
		   "job name `JOB1` differs only by case from existing `job1`");
	/* the exact name is fine */
	assert_int_equal(jc_ws_prepare_job(&f->ws, "Job2", false, 0700, 0, 0, &f->err), 0);
}
CASE(case_duplicate)

/* ---- jc_ws_recheck ---------------------------------------------------------- */

/* A directory above the root that others can rename entries in: the whole
 * workspace could be swapped.  Sticky (as /tmp) is fine. */
static void parent_writable_refused(struct fx *f)
{
	assert_int_equal(chmod(f->base, 0777), 0);
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "is group- or world-writable (mode 0777, uid 0): it could be swapped");
	jc_error_clear(&f->err);
	assert_int_equal(chmod(f->base, 01777), 0);
	open_ok(f);
}
CASE(parent_writable_refused)

static void parent_of_another_user_refused(struct fx *f)
{
	if (geteuid() != 0)
		skip(); /* needs chown */
	assert_int_equal(chown(f->base, 65532, 65532), 0);
	expect_err(jc_ws_open(&f->ws, f->root, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "is owned by another user");
}
CASE(parent_of_another_user_refused)

/* A symlink in the configured path: the directories it leads through are
 * checked too, and the link itself must not belong to another user. */
static void parent_through_symlink_refused(struct fx *f)
{
	char p[256], link[256], ws[300];

	if (geteuid() != 0)
		skip(); /* needs chown */
	mkdir_at(f, "evil", 0755);
	mkdir_at(f, "evil/sub", 0755);
	mkdir_at(f, "evil/sub/ws", 0755);
	mkdir_at(f, "evil/sub/ws/startup", 0755);
	mkdir_at(f, "evil/sub/ws/local", 0755);
	assert_int_equal(chown(at(f, "evil", p, sizeof(p)), 65532, 65532), 0);
	assert_int_equal(symlink("evil/sub", at(f, "link", link, sizeof(link))), 0);
	snprintf(ws, sizeof(ws), "%s/ws", link);
	expect_err(jc_ws_open(&f->ws, ws, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "/evil` is owned by another user");
	jc_error_clear(&f->err);

	/* a link owned by someone else could be replaced by its owner */
	assert_int_equal(chown(at(f, "evil", p, sizeof(p)), 0, 0), 0);
	assert_int_equal(lchown(link, 65532, 65532), 0);
	expect_err(jc_ws_open(&f->ws, ws, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "/link` is a symlink owned by uid 65532");
	jc_error_clear(&f->err);
	assert_int_equal(lchown(link, 0, 0), 0);
	if (jc_ws_open(&f->ws, ws, &f->err) != 0)
		fail_msg("a root-owned link into root-owned directories: %s", f->err.msg);
	f->opened = true;
}
CASE(parent_through_symlink_refused)

/* Issue 11 item 2: base/link (root's) -> base/mid/l (uid 65534's, in a
 * root-owned directory) -> base/real.  The path as written and its
 * realpath() are both root's all the way; the link in between is not, and
 * its owner can point it elsewhere after the check.  Every link met on the
 * way is held to the rule, at whatever depth of the chain. */
static void chain_through_foreign_link_refused(struct fx *f)
{
	char p[256], q[256], ws[300];

	if (geteuid() != 0)
		skip(); /* needs lchown */
	mkdir_at(f, "mid", 0755);
	mkdir_at(f, "real", 0755);
	mkdir_at(f, "real/ws", 0755);
	mkdir_at(f, "real/ws/startup", 0755);
	mkdir_at(f, "real/ws/local", 0755);
	assert_int_equal(symlink(at(f, "real", q, sizeof(q)), at(f, "mid/l", p, sizeof(p))), 0);
	assert_int_equal(lchown(p, 65534, 65534), 0);
	assert_int_equal(symlink("mid/l", at(f, "link", q, sizeof(q))), 0);
	snprintf(ws, sizeof(ws), "%s/ws", q);
	expect_err(jc_ws_open(&f->ws, ws, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "/mid/l` is a symlink owned by uid 65534");

	/* deeper: a root link to a root link to the foreign one */
	assert_int_equal(symlink("link", at(f, "link2", q, sizeof(q))), 0);
	snprintf(ws, sizeof(ws), "%s/ws", q);
	expect_err(jc_ws_open(&f->ws, ws, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "/mid/l` is a symlink owned by uid 65534");

	/* the same chain with every link root's passes */
	assert_int_equal(lchown(p, 0, 0), 0);
	if (jc_ws_open(&f->ws, ws, &f->err) != 0)
		fail_msg("a chain of root-owned links: %s", f->err.msg);
	f->opened = true;
}
CASE(chain_through_foreign_link_refused)

/* A directory reached only through a link, not on the path as written nor
 * on its realpath()'s way either: base/link -> base/hop/../real, where
 * base/hop is another user's directory.  The walk enters it, so it is
 * judged. */
static void chain_through_foreign_dir_refused(struct fx *f)
{
	char p[256], ws[300];

	if (geteuid() != 0)
		skip(); /* needs chown */
	mkdir_at(f, "hop", 0755);
	mkdir_at(f, "real", 0755);
	mkdir_at(f, "real/ws", 0755);
	mkdir_at(f, "real/ws/startup", 0755);
	mkdir_at(f, "real/ws/local", 0755);
	assert_int_equal(chown(at(f, "hop", p, sizeof(p)), 65534, 65534), 0);
	assert_int_equal(symlink("hop/../real", at(f, "link", p, sizeof(p))), 0);
	snprintf(ws, sizeof(ws), "%s/ws", p);
	expect_err(jc_ws_open(&f->ws, ws, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "/hop` is owned by another user");
}
CASE(chain_through_foreign_dir_refused)

/* A loop of links ends in an error, not in a hang. */
static void chain_loop_refused(struct fx *f)
{
	char p[256], ws[300];

	assert_int_equal(symlink("b", at(f, "a", p, sizeof(p))), 0);
	assert_int_equal(symlink("a", at(f, "b", ws, sizeof(ws))), 0);
	snprintf(ws, sizeof(ws), "%s/ws", p);
	expect_err(jc_ws_open(&f->ws, ws, &f->err), &f->err, JC_ERR_WORKSPACE, ELOOP,
		   "symlinks");
}
CASE(chain_loop_refused)

/* The engine mounts by path: a root renamed away and replaced after the
 * check is caught by the recheck. */
static void recheck_root_swapped(struct fx *f)
{
	char b[256], want[256];

	open_ok(f);
	assert_int_equal(rename(f->root, at(f, "ws.old", b, sizeof(b))), 0);
	mkdir_at(f, "ws", 0755);
	mkdir_at(f, "ws/startup", 0755);
	mkdir_at(f, "ws/local", 0755);
	snprintf(want, sizeof(want), "workspace root `%s` was replaced after it was checked",
		 f->root);
	expect_err(jc_ws_recheck(&f->ws, &f->err), &f->err, JC_ERR_WORKSPACE, ESTALE, want);
}
CASE(recheck_root_swapped)

static void recheck_job_swapped_for_dir(struct fx *f)
{
	char a[256], b[256];

	open_ok(f);
	assert_int_equal(jc_ws_prepare_job(&f->ws, "job1", false, 0700, 0, 0, &f->err), 0);
	assert_int_equal(rename(at(f, "ws/job1", a, sizeof(a)), at(f, "ws/job1.old", b, sizeof(b))),
			 0);
	mkdir_at(f, "ws/job1", 0700);
	expect_err(jc_ws_recheck(&f->ws, &f->err), &f->err, JC_ERR_WORKSPACE, ESTALE,
		   "workspace child `job1` was replaced after it was checked");
}
CASE(recheck_job_swapped_for_dir)

static void recheck_job_swapped_for_symlink(struct fx *f)
{
	char a[256], b[256];

	open_ok(f);
	assert_int_equal(jc_ws_prepare_job(&f->ws, "job1", false, 0700, 0, 0, &f->err), 0);
	assert_int_equal(rename(at(f, "ws/job1", a, sizeof(a)), at(f, "ws/job1.old", b, sizeof(b))),
			 0);
	/* the link points at the very directory that was checked */
	assert_int_equal(symlink("job1.old", a), 0);
	expect_err(jc_ws_recheck(&f->ws, &f->err), &f->err, JC_ERR_WORKSPACE, ELOOP,
		   "recheck workspace: workspace child `job1` is a symlink, not a directory");
}
CASE(recheck_job_swapped_for_symlink)

static void recheck_job_removed(struct fx *f)
{
	char a[256];

	open_ok(f);
	assert_int_equal(jc_ws_prepare_job(&f->ws, "job1", false, 0700, 0, 0, &f->err), 0);
	assert_int_equal(rmdir(at(f, "ws/job1", a, sizeof(a))), 0);
	expect_err(jc_ws_recheck(&f->ws, &f->err), &f->err, JC_ERR_WORKSPACE, ENOENT,
		   "recheck workspace: workspace child `job1` does not exist");
}
CASE(recheck_job_removed)

static void recheck_startup_swapped(struct fx *f)
{
	char a[256], b[256];

	open_ok(f);
	assert_int_equal(
	    rename(at(f, "ws/startup", a, sizeof(a)), at(f, "ws/startup.old", b, sizeof(b))), 0);
	mkdir_at(f, "ws/startup", 0755);
	expect_err(jc_ws_recheck(&f->ws, &f->err), &f->err, JC_ERR_WORKSPACE, ESTALE,
		   "workspace child `startup` was replaced after it was checked");
}
CASE(recheck_startup_swapped)

static void recheck_local_swapped_for_symlink(struct fx *f)
{
	char a[256], b[256];

	open_ok(f);
	assert_int_equal(
	    rename(at(f, "ws/local", a, sizeof(a)), at(f, "ws/local.old", b, sizeof(b))), 0);
	assert_int_equal(symlink(at(f, "elsewhere", b, sizeof(b)), a), 0);
	expect_err(jc_ws_recheck(&f->ws, &f->err), &f->err, JC_ERR_WORKSPACE, ELOOP,
		   "recheck workspace: workspace child `local` is a symlink, not a directory");
}
CASE(recheck_local_swapped_for_symlink)

/* ---- data mounts (data.c) ---------------------------------------------------- */

/* base/data/ the prefix; data/models/ a directory, data/file a file. */
static void data_cfg(struct fx *f, struct jc_config *c, const char *name, const char *rel)
{
	char p[256], entry[320];
	jc_error e = { 0 };

	assert_int_equal(jc_config_init(c, &e), 0);
	assert_int_equal(jc_strv_push(&c->data_prefixes, at(f, "data", p, sizeof(p))), 0);
	snprintf(entry, sizeof(entry), "%s=%s/%s", name, f->base, rel);
	assert_int_equal(jc_strv_push(&c->mounts, entry), 0);
}

static void data_layout(struct fx *f)
{
	char p[256];
	FILE *fp;

	mkdir_at(f, "data", 0755);
	mkdir_at(f, "data/models", 0755);
	mkdir_at(f, "data/sub", 0755);
	fp = fopen(at(f, "data/file", p, sizeof(p)), "w");
	assert_non_null(fp);
	fputs("x\n", fp);
	fclose(fp);
}

/* Open one mount; expect success, or a refusal holding `part`. */
static void data_case(struct fx *f, const char *name, const char *rel, const char *part)
{
	struct jc_config c;
	struct jc_data d = { 0 };
	int rc;

	data_cfg(f, &c, name, rel);
	rc = jc_data_open(&c, &d, &f->err);
	if (!part) {
		if (rc != 0)
			fail_msg("%s: %s", rel, f->err.msg);
		assert_int_equal(d.n, 1);
		assert_true(d.m[0].fd >= 0);
		assert_int_equal(jc_data_recheck(&c, &d, &f->err), 0);
	} else {
		assert_int_equal(rc, -1);
		if (!f->err.msg || !strstr(f->err.msg, part))
			fail_msg("%s: `%s` lacks `%s`", rel, f->err.msg ? f->err.msg : "", part);
		assert_non_null(strstr(f->err.msg, name));
	}
	jc_error_clear(&f->err);
	jc_data_close(&d);
	jc_config_free(&c);
}

static void data_ok(void *state)
{
	struct fx *f = state;

	data_layout(f);
	data_case(f, "models", "data/models", NULL);
	data_case(f, "file", "data/file", NULL);
	data_case(f, "all", "data", NULL);
}
CASE(data_ok)

static void data_refused(void *state)
{
	struct fx *f = state;
	char p[256], q[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sfd;

	data_layout(f);
	/* a symlink as the mount itself, and a directory reached through one */
	assert_int_equal(
	    symlink(at(f, "data/models", q, sizeof(q)), at(f, "data/link", p, sizeof(p))), 0);
	data_case(f, "link", "data/link", "a symlink");
	assert_int_equal(symlink("sub", at(f, "data/lsub", p, sizeof(p))), 0);
	assert_int_equal(mkdir(at(f, "data/sub/inner", p, sizeof(p)), 0755), 0);
	data_case(f, "through", "data/lsub/inner", "`lsub` is a symlink");
	/* a symlink out of the prefix */
	assert_int_equal(symlink(f->root, at(f, "data/ws", p, sizeof(p))), 0);
	data_case(f, "out", "data/ws/startup", "symlink");
	/* a socket, a fifo */
	at(f, "data/s.sock", sa.sun_path, sizeof(sa.sun_path));
	sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sfd >= 0);
	assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	data_case(f, "sock", "data/s.sock", "is a socket");
	close(sfd);
	assert_int_equal(mkfifo(at(f, "data/fifo", p, sizeof(p)), 0600), 0);
	data_case(f, "fifo", "data/fifo", "is a fifo");
	/* outside the prefix, and a prefix that is only a string prefix */
	data_case(f, "elsewhere", "elsewhere", "not under any of [job] data_prefixes");
	mkdir_at(f, "data2", 0755);
	data_case(f, "d2", "data2", "not under any of [job] data_prefixes");
	data_case(f, "missing", "data/nope", "No such file");
	/* a world-writable prefix could have entries swapped under it */
	assert_int_equal(chmod(at(f, "data", p, sizeof(p)), 0777), 0);
	data_case(f, "models", "data/models", "group- or world-writable");
}
CASE(data_refused)

/* A data prefix is reached as the workspace is: base/dlink (root's) ->
 * base/mid/l (uid 65534's) -> base/data is refused, naming the link; so is
 * a prefix that another user owns (they could rename what is beneath). */
static void data_prefix_chain_refused(void *state)
{
	struct fx *f = state;
	struct jc_config c;
	struct jc_data d = { 0 };
	char p[256], q[256], entry[320];
	jc_error e = { 0 };

	if (geteuid() != 0)
		skip(); /* needs lchown */
	data_layout(f);
	mkdir_at(f, "mid", 0755);
	assert_int_equal(symlink(at(f, "data", q, sizeof(q)), at(f, "mid/l", p, sizeof(p))), 0);
	assert_int_equal(lchown(p, 65534, 65534), 0);
	assert_int_equal(symlink("mid/l", at(f, "dlink", q, sizeof(q))), 0);
	assert_int_equal(jc_config_init(&c, &e), 0);
	snprintf(entry, sizeof(entry), "%s/sub", q); /* the prefix: base/dlink/sub */
	assert_int_equal(jc_strv_push(&c.data_prefixes, entry), 0);
	snprintf(entry, sizeof(entry), "models=%s/sub", q);
	assert_int_equal(jc_strv_push(&c.mounts, entry), 0);
	expect_err(jc_data_open(&c, &d, &f->err), &f->err, JC_ERR_WORKSPACE, EPERM,
		   "data mount `models`: data prefix parent `");
	assert_int_equal(jc_data_open(&c, &d, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "/mid/l` is a symlink owned by uid 65534"));
	jc_error_clear(&f->err);
	assert_int_equal(lchown(p, 0, 0), 0);
	if (jc_data_open(&c, &d, &f->err) != 0)
		fail_msg("root's links all the way: %s", f->err.msg);
	jc_data_close(&d);
	jc_config_free(&c);

	/* the prefix itself in another user's hands */
	assert_int_equal(chown(at(f, "data", p, sizeof(p)), 65534, 65534), 0);
	data_case(f, "models", "data/models", "data prefix `");
	data_case(f, "models", "data/models", "is owned by another user");
}
CASE(data_prefix_chain_refused)

static void data_recheck_swap(void *state)
{
	struct fx *f = state;
	struct jc_config c;
	struct jc_data d = { 0 };
	char p[256], q[256];

	data_layout(f);
	data_cfg(f, &c, "models", "data/models");
	assert_int_equal(jc_data_open(&c, &d, &f->err), 0);
	/* swapped for another directory */
	assert_int_equal(
	    rename(at(f, "data/models", p, sizeof(p)), at(f, "data/old", q, sizeof(q))), 0);
	mkdir_at(f, "data/models", 0755);
	assert_int_equal(jc_data_recheck(&c, &d, &f->err), -1);
	assert_int_equal(f->err.status, ESTALE);
	assert_non_null(strstr(f->err.msg, "was replaced"));
	jc_error_clear(&f->err);
	/* swapped for a symlink to what was checked */
	assert_int_equal(rmdir(at(f, "data/models", p, sizeof(p))), 0);
	assert_int_equal(symlink("old", p), 0);
	assert_int_equal(jc_data_recheck(&c, &d, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "symlink"));
	jc_error_clear(&f->err);
	jc_data_close(&d);
	jc_config_free(&c);
}
CASE(data_recheck_swap)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(good_layout),
		TEST(prepare_twice),
		TEST(root_missing),
		TEST(root_symlink),
		TEST(root_regular_file),
		TEST(root_writable),
		TEST(root_foreign_owner),
		TEST(startup_symlink),
		TEST(local_symlink),
		TEST(local_regular_file),
		TEST(startup_missing),
		TEST(job_symlinks),
		TEST(job_regular_file),
		TEST(job_socket),
		TEST(job_fifo),
		TEST(job_missing_no_create),
		TEST(job_create),
		TEST(undo_removes_empty),
		TEST(undo_keeps_nonempty),
		TEST(case_duplicate),
		TEST(parent_writable_refused),
		TEST(parent_of_another_user_refused),
		TEST(recheck_root_swapped),
		TEST(parent_through_symlink_refused),
		TEST(chain_through_foreign_link_refused),
		TEST(chain_through_foreign_dir_refused),
		TEST(chain_loop_refused),
		TEST(recheck_job_swapped_for_dir),
		TEST(recheck_job_swapped_for_symlink),
		TEST(recheck_job_removed),
		TEST(recheck_startup_swapped),
		TEST(recheck_local_swapped_for_symlink),
		TEST(data_ok),
		TEST(data_refused),
		TEST(data_prefix_chain_refused),
		TEST(data_recheck_swap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
