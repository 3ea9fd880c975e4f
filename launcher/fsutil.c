/* The one place that opens a path beneath a directory descriptor.  Every
 * path that a job or a user can influence (workspace children, data mounts,
 * inputs, outputs, extracted members, what check removes) goes through here,
 * so that "no symlink is followed and nothing outside is reached" is one
 * piece of code with one fallback, tested on both paths (make unit runs the
 * suite again under tests/no-openat2). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"

/* Set once openat2 said ENOSYS: the kernel will not grow it while we run.
 * Atomic because the put and get threads of volume.c open files too. */
static atomic_bool no_openat2;

/* An absolute path or a `..` component.  openat2's RESOLVE_BENEATH would
 * allow `a/..`; refusing every `..` keeps both paths alike and spares the
 * walk from judging where `..` leads. */
static bool climbs(const char *path)
{
	const char *c = path;

	if (*path == '/')
		return true;
	while (c) {
		const char *end = strchrnul(c, '/');
		if (end - c == 2 && c[0] == '.' && c[1] == '.')
			return true;
		c = *end ? end + 1 : NULL;
	}
	return false;
}

static bool is_symlink(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* One component at a time: each one on the way opened O_PATH|O_DIRECTORY|
 * O_NOFOLLOW, the last one with the caller's flags and O_NOFOLLOW.  Each
 * openat sees a single name, so O_NOFOLLOW covers its whole resolution. */
static int walk_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	size_t len = strlen(path);
	cleanup_free char *copy = malloc(len + 2);
	char *save = NULL, *c, *next;
	int cur = dirfd, fd = -1;

	if (!copy)
		return -1;
	if (!len)
		return errno = ENOENT, -1;
	/* a trailing slash asks for a directory: "a/" is walked as "a/.", so
	 * that `a` is a component on the way (a symlink there is refused) */
	memcpy(copy, path, len + 1);
	if (path[len - 1] == '/')
		strcpy(copy + len, ".");
	for (c = strtok_r(copy, "/", &save); c; c = next) {
		next = strtok_r(NULL, "/", &save);
		if (next)
			fd = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		else
			fd = openat(cur, c, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		/* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink too; openat2
		 * says ELOOP for one on the way */
		if (fd < 0 && errno == ENOTDIR && next && is_symlink(cur, c))
			errno = ELOOP;
		if (cur != dirfd) {
			int e = errno;
			close(cur);
			errno = e;
		}
		if (fd < 0)
			return -1;
		cur = fd;
	}
	return cur;
}

int jc_fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	if (climbs(path))
		return errno = EXDEV, -1;
	if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
			/* openat2 refuses a mode without O_CREAT or O_TMPFILE */
			.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

		if (fd >= 0 || errno != ENOSYS)
			return fd;
		atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
	}
	return walk_beneath(dirfd, path, flags, mode);
}

int jc_fs_mkdir_beneath(int dirfd, const char *path, mode_t mode, int flags)
{
	cleanup_free char *copy = NULL;
	cleanup_close int parent = -1;
	const char *name;
	char *slash;
	size_t len;
	int fd = jc_fs_open_beneath(dirfd, path, flags | O_DIRECTORY, 0);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (!(copy = strdup(path)))
		return -1;
	for (len = strlen(copy); len > 1 && copy[len - 1] == '/'; len--)
		copy[len - 1] = '\0';
	name = copy;
	if ((slash = strrchr(copy, '/'))) {
		*slash = '\0';
		name = slash + 1;
		parent = jc_fs_open_beneath(dirfd, copy, O_PATH | O_DIRECTORY, 0);
		if (parent < 0)
			return -1;
	}
	/* mkdirat never follows a symlink in the last component: one planted
	 * there since the open is EEXIST, and the open below refuses it */
	if (mkdirat(parent >= 0 ? parent : dirfd, name, mode) < 0 && errno != EEXIST)
		return -1;
	return jc_fs_open_beneath(parent >= 0 ? parent : dirfd, name, flags | O_DIRECTORY, 0);
}

int jc_fs_open_dir(int base, const char *path, const char *what, bool create, int *out,
		   jc_error *err)
{
	cleanup_free char *copy = strdup(path);
	cleanup_close int cur = -1;
	char *save = NULL, *comp, *next;

	if (!copy)
		return jc_error_oom(err);
	/* strtok_r would drop the leading slash and open it beneath `base` */
	if (*path == '/')
		return jc_error_set(err, JC_ERR_INPUT, EXDEV,
				    "%s `%s`: absolute path is not allowed", what, path);
	if ((cur = fcntl(base, F_DUPFD_CLOEXEC, 3)) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "dup: %s", strerror(errno));
	for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
		int fd;

		next = strtok_r(NULL, "/", &save);
		if (!next && create)
			fd = jc_fs_mkdir_beneath(cur, comp, 0700, O_RDONLY);
		else
			fd = jc_fs_open_beneath(cur, comp, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0 && errno == ENOENT && !next && !create) {
			*out = -1;
			return 0;
		}
		if (fd < 0) {
			int e = errno;
			return jc_error_set(err, JC_ERR_INPUT, e, "%s `%s`: `%s`: %s", what, path,
					    comp,
					    e == ELOOP || e == ENOTDIR
						? "not a directory (symlinks are not followed)"
						: strerror(e));
		}
		close(cur);
		cur = fd;
	}
	*out = steal_fd(&cur);
	return 0;
}
