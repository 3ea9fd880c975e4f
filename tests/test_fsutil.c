/* Opening beneath a directory descriptor (fsutil.c).  make unit runs this
 * file twice: as the kernel is (openat2, Linux 5.6+), and under
 * tests/no-openat2, where openat2 fails ENOSYS and the O_NOFOLLOW walk
 * answers.  The same assertions hold on both paths; test_which_path checks
 * that each run really is on the path it claims. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "fsutil.h"
#include "testutil.h"

/* base/           mkdtemp
 * base/dir/sub/   directories
 * base/dir/inner  "inner"
 * base/file       "file"
 * base/fifo
 * base/ldir -> dir, base/lfile -> file, base/dangle -> nowhere,
 * base/escape -> / , base/dir/up -> ..  */
struct fx {
	char base[64];
	int fd; /* O_PATH of base */
	jc_error err;
};

static void put(int dfd, const char *rel, const char *text)
{
	int fd = openat(dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int dfd;

	if (!f)
		return -1;
	strcpy(f->base, "/tmp/jc-test-fs-XXXXXX");
	if (!mkdtemp(f->base)) {
		free(f);
		return -1;
	}
	dfd = open(f->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(mkdirat(dfd, "dir", 0755), 0);
	assert_int_equal(mkdirat(dfd, "dir/sub", 0755), 0);
	put(dfd, "dir/inner", "inner");
	put(dfd, "file", "file");
	assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
	assert_int_equal(symlinkat("dir", dfd, "ldir"), 0);
	assert_int_equal(symlinkat("file", dfd, "lfile"), 0);
	assert_int_equal(symlinkat("nowhere", dfd, "dangle"), 0);
	assert_int_equal(symlinkat("/", dfd, "escape"), 0);
	assert_int_equal(symlinkat("..", dfd, "dir/up"), 0);
	close(dfd);
	f->fd = open(f->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->fd);
	jc_error_clear(&f->err);
	rm_tree(f->base);
	free(f);
	return 0;
}

/* Under tests/no-openat2 (it sets JC_TEST_NO_OPENAT2)? */
static bool filtered(void)
{
	const char *v = getenv("JC_TEST_NO_OPENAT2");

	return v && strcmp(v, "1") == 0;
}

/* The call jc_fs_open_beneath makes first, made here directly: -1 with
 * errno, or 0. */
static int probe_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

#define expect_errno(call, e)                                                                      \
	do {                                                                                       \
		errno = 0;                                                                         \
		int fd_ = (call);                                                                  \
		if (fd_ >= 0)                                                                      \
			close(fd_);                                                                \
		assert_int_equal(fd_, -1);                                                         \
		if (errno != (e))                                                                  \
			fail_msg("%s: errno %d (%s), want %d (%s)", #call, errno,                  \
				 strerror(errno), (e), strerror(e));                               \
	} while (0)

static void expect_text(int fd, const char *text)
{
	char buf[64] = { 0 };

	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(text));
	assert_string_equal(buf, text);
	close(fd);
}

static mode_t type_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_mode & S_IFMT;
}

/* Each run is on the path it claims: under the filter, openat2 is ENOSYS
 * for this process (so every open below went through the walk); otherwise
 * the kernel's openat2 answers, unless it is too old for one. */
static void test_which_path(void **state)
{
	struct fx *f = *state;
	int r = probe_openat2();

	if (filtered()) {
		assert_int_equal(r, -1);
		assert_int_equal(errno, ENOSYS);
		/* and the walk still opens, and still refuses */
		expect_text(jc_fs_open_beneath(f->fd, "dir/inner", O_RDONLY, 0), "inner");
		expect_errno(jc_fs_open_beneath(f->fd, "ldir/inner", O_RDONLY, 0), ELOOP);
		return;
	}
	if (r < 0 && errno == ENOSYS) {
		print_message("SKIP: this kernel has no openat2 (before Linux 5.6, or valgrind): "
			      "both runs take the walk\n");
		skip();
	}
	assert_int_equal(r, 0);
}

static void test_opens_beneath(void **state)
{
	struct fx *f = *state;
	int fd;

	expect_text(jc_fs_open_beneath(f->fd, "file", O_RDONLY, 0), "file");
	expect_text(jc_fs_open_beneath(f->fd, "dir/inner", O_RDONLY, 0), "inner");
	expect_text(jc_fs_open_beneath(f->fd, "dir//inner", O_RDONLY, 0), "inner");
	expect_text(jc_fs_open_beneath(f->fd, "./dir/./inner", O_RDONLY, 0), "inner");
	for (const char *const *p = (const char *const[]){ "dir/sub", "dir/sub/", ".", NULL }; *p;
	     p++) {
		fd = jc_fs_open_beneath(f->fd, *p, O_RDONLY | O_DIRECTORY, 0);
		assert_true(fd >= 0);
		assert_int_equal(type_of(fd), S_IFDIR);
		/* never leaks into a child the launcher starts */
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	expect_errno(jc_fs_open_beneath(f->fd, "", O_RDONLY, 0), ENOENT);
	expect_errno(jc_fs_open_beneath(f->fd, "missing", O_RDONLY, 0), ENOENT);
	expect_errno(jc_fs_open_beneath(f->fd, "missing/x", O_RDONLY, 0), ENOENT);
	expect_errno(jc_fs_open_beneath(f->fd, "file/x", O_RDONLY, 0), ENOTDIR);
	expect_errno(jc_fs_open_beneath(f->fd, "file/", O_RDONLY, 0), ENOTDIR);
}

static void test_symlink_on_the_way(void **state)
{
	struct fx *f = *state;

	expect_errno(jc_fs_open_beneath(f->fd, "ldir/inner", O_RDONLY, 0), ELOOP);
	expect_errno(jc_fs_open_beneath(f->fd, "ldir/inner", O_PATH, 0), ELOOP);
	expect_errno(jc_fs_open_beneath(f->fd, "ldir/sub", O_RDONLY | O_DIRECTORY, 0), ELOOP);
	expect_errno(jc_fs_open_beneath(f->fd, "escape/etc", O_PATH, 0), ELOOP);
	expect_errno(jc_fs_open_beneath(f->fd, "dir/up/file", O_RDONLY, 0), ELOOP);
	/* a trailing slash makes the link a component on the way */
	expect_errno(jc_fs_open_beneath(f->fd, "ldir/", O_RDONLY, 0), ELOOP);
	expect_errno(jc_fs_open_beneath(f->fd, "ldir/new", O_WRONLY | O_CREAT, 0600), ELOOP);
	assert_int_equal(faccessat(f->fd, "dir/new", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_symlink_last(void **state)
{
	struct fx *f = *state;
	int fd;

	expect_errno(jc_fs_open_beneath(f->fd, "lfile", O_RDONLY, 0), ELOOP);
	expect_errno(jc_fs_open_beneath(f->fd, "escape", O_RDONLY, 0), ELOOP);
	/* O_DIRECTORY|O_NOFOLLOW: the kernel says ENOTDIR for a link */
	expect_errno(jc_fs_open_beneath(f->fd, "ldir", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	expect_errno(jc_fs_open_beneath(f->fd, "escape", O_PATH | O_DIRECTORY, 0), ENOTDIR);
	/* nothing is created where a dangling link points */
	expect_errno(jc_fs_open_beneath(f->fd, "dangle", O_WRONLY | O_CREAT, 0600), ELOOP);
	assert_int_equal(faccessat(f->fd, "nowhere", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	/* O_PATH gives the link itself, for fstat to report */
	fd = jc_fs_open_beneath(f->fd, "lfile", O_PATH, 0);
	assert_true(fd >= 0);
	assert_int_equal(type_of(fd), S_IFLNK);
	close(fd);
}

static void test_dotdot_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "..", "../x", "dir/..", "dir/../file", "dir/sub/../..",
					   "dir/sub/../../file" };

	/* RESOLVE_BENEATH alone would allow `dir/..`; both paths refuse it */
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_errno(jc_fs_open_beneath(f->fd, bad[i], O_PATH, 0), EXDEV);
	expect_errno(jc_fs_mkdir_beneath(f->fd, "dir/../made", 0700, O_PATH), EXDEV);
	assert_int_equal(faccessat(f->fd, "made", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_absolute_refused(void **state)
{
	struct fx *f = *state;

	expect_errno(jc_fs_open_beneath(f->fd, "/", O_PATH, 0), EXDEV);
	expect_errno(jc_fs_open_beneath(f->fd, "/etc/passwd", O_RDONLY, 0), EXDEV);
	expect_errno(jc_fs_open_beneath(f->fd, f->base, O_PATH | O_DIRECTORY, 0), EXDEV);
	expect_errno(jc_fs_open_beneath(f->fd, "//tmp", O_PATH, 0), EXDEV);
}

/* A fifo opened for reading blocks until a writer comes: O_DIRECTORY must
 * refuse it first.  The alarm turns a hang into a failure. */
static void test_fifo_with_o_directory(void **state)
{
	struct fx *f = *state;
	int fd;

	alarm(5);
	expect_errno(jc_fs_open_beneath(f->fd, "fifo", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	expect_errno(jc_fs_open_beneath(f->fd, "fifo/x", O_RDONLY, 0), ENOTDIR);
	expect_errno(jc_fs_mkdir_beneath(f->fd, "fifo", 0700, O_RDONLY), ENOTDIR);
	/* and O_PATH looks at it without opening it */
	fd = jc_fs_open_beneath(f->fd, "fifo", O_PATH, 0);
	alarm(0);
	assert_true(fd >= 0);
	assert_int_equal(type_of(fd), S_IFIFO);
	close(fd);
}

static void test_create_beneath(void **state)
{
	struct fx *f = *state;
	struct stat st;
	mode_t old = umask(022);
	int fd = jc_fs_open_beneath(f->fd, "dir/sub/new", O_WRONLY | O_CREAT | O_EXCL, 0640);

	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new", 3), 3);
	close(fd);
	assert_int_equal(fstatat(f->fd, "dir/sub/new", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	expect_text(jc_fs_open_beneath(f->fd, "dir/sub/new", O_RDONLY, 0), "new");
	expect_errno(jc_fs_open_beneath(f->fd, "dir/sub/new", O_WRONLY | O_CREAT | O_EXCL, 0600),
		     EEXIST);
	expect_errno(jc_fs_open_beneath(f->fd, "lfile", O_WRONLY | O_CREAT | O_EXCL, 0600),
		     EEXIST);
	expect_errno(jc_fs_open_beneath(f->fd, "missing/new", O_WRONLY | O_CREAT, 0600), ENOENT);
	expect_errno(jc_fs_open_beneath(f->fd, "file/new", O_WRONLY | O_CREAT, 0600), ENOTDIR);
	expect_errno(jc_fs_open_beneath(f->fd, "dir", O_WRONLY | O_CREAT, 0600), EISDIR);
	/* what a link leads to is untouched */
	expect_text(jc_fs_open_beneath(f->fd, "file", O_RDONLY, 0), "file");
}

static void test_mkdir_beneath(void **state)
{
	struct fx *f = *state;
	struct stat st;
	int fd = jc_fs_mkdir_beneath(f->fd, "dir/made", 0700, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	close(fd);
	/* there already: opened as it is */
	fd = jc_fs_mkdir_beneath(f->fd, "dir/sub", 0700, O_PATH);
	assert_true(fd >= 0);
	assert_int_equal(type_of(fd), S_IFDIR);
	close(fd);
	/* only the last component is made */
	expect_errno(jc_fs_mkdir_beneath(f->fd, "nothere/made", 0700, O_PATH), ENOENT);
	assert_int_equal(faccessat(f->fd, "nothere", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	expect_errno(jc_fs_mkdir_beneath(f->fd, "ldir/made", 0700, O_PATH), ELOOP);
	expect_errno(jc_fs_mkdir_beneath(f->fd, "ldir", 0700, O_PATH), ENOTDIR);
	expect_errno(jc_fs_mkdir_beneath(f->fd, "dangle", 0700, O_PATH), ENOTDIR);
	assert_int_equal(faccessat(f->fd, "nowhere", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	expect_errno(jc_fs_mkdir_beneath(f->fd, "file", 0700, O_PATH), ENOTDIR);
}

static void test_open_dir(void **state)
{
	struct fx *f = *state;
	int out = -7;

	assert_int_equal(jc_fs_open_dir(f->fd, "dir/sub", "output directory", false, &out, &f->err),
			 0);
	assert_true(out >= 0);
	assert_int_equal(type_of(out), S_IFDIR);
	close(out);
	/* missing last component: created when asked, else -1 and no error */
	out = -7;
	assert_int_equal(jc_fs_open_dir(f->fd, "dir/out", "output directory", false, &out, &f->err),
			 0);
	assert_int_equal(out, -1);
	assert_int_equal(faccessat(f->fd, "dir/out", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(jc_fs_open_dir(f->fd, "dir/out", "output directory", true, &out, &f->err),
			 0);
	assert_true(out >= 0);
	close(out);
	assert_int_equal(faccessat(f->fd, "dir/out", F_OK, AT_SYMLINK_NOFOLLOW), 0);

	out = -7;
	assert_int_equal(
	    jc_fs_open_dir(f->fd, "ldir/new", "output directory", true, &out, &f->err), -1);
	assert_int_equal(out, -7);
	assert_int_equal(f->err.kind, JC_ERR_INPUT);
	assert_string_equal(f->err.msg, "output directory `ldir/new`: `ldir`: not a directory "
					"(symlinks are not followed)");
	assert_int_equal(
	    jc_fs_open_dir(f->fd, "dir/inner", "output directory", true, &out, &f->err), -1);
	assert_string_equal(f->err.msg, "output directory `dir/inner`: `inner`: not a directory "
					"(symlinks are not followed)");
	assert_int_equal(jc_fs_open_dir(f->fd, "dangle", "output directory", true, &out, &f->err),
			 -1);
	assert_string_equal(f->err.msg, "output directory `dangle`: `dangle`: not a directory "
					"(symlinks are not followed)");
	assert_int_equal(faccessat(f->fd, "nowhere", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(
	    jc_fs_open_dir(f->fd, "nothere/out", "output directory", true, &out, &f->err), -1);
	assert_string_equal(f->err.msg,
			    "output directory `nothere/out`: `nothere`: No such file or directory");
	assert_int_equal(f->err.status, ENOENT);
	assert_int_equal(jc_fs_open_dir(f->fd, "/tmp", "output directory", true, &out, &f->err),
			 -1);
	assert_string_equal(f->err.msg, "output directory `/tmp`: absolute path is not allowed");
	assert_int_equal(out, -7);
}

/* A small file read whole through its descriptor; a directory or a file
 * over the cap is refused by errno. */
static void test_read_small(void **state)
{
	struct fx *f = *state;
	int dfd = open(f->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	struct stat st;
	char *data = NULL;
	size_t len = 0;

	assert_true(dfd >= 0);
	put(dfd, "small", "0123456789");
	assert_true((fd = openat(dfd, "small", O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(jc_fs_read_small(fd, 10, &data, &len, &st), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_fs_read_small(fd, 9, &data, &len, &st), -1);
	assert_int_equal(errno, EFBIG);
	close(fd);
	assert_int_equal(jc_fs_read_small(dfd, 1 << 20, &data, &len, &st), -1);
	assert_int_equal(errno, EINVAL);
	close(dfd);
	/* a /proc file says size 0 and is read to its end, still bounded */
	assert_true((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(jc_fs_read_small(fd, 1 << 20, &data, &len, &st), 0);
	assert_true(len > 0 && strlen(data) == len);
	assert_non_null(strstr(data, "\nPid:"));
	free(data);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_fs_read_small(fd, 16, &data, &len, &st), -1);
	assert_int_equal(errno, EFBIG);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_which_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opens_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_on_the_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_with_o_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_small, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
