/* The one place that opens a path beneath a directory descriptor.  Every
 * path that a job or a user can influence (workspace children, data mounts,
 * inputs, outputs, extracted members, what check removes) goes through here,
 * so that "no symlink is followed and nothing outside is reached" is one
 * piece of code with one fallback, tested on both paths (make unit runs the
 * suite again under tests/no-openat2). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "util.h"

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

/* ---- who can change the way to a path ------------------------------------ */

const char *jc_fs_unsafe_dir(const struct stat *st)
{
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
		return "group- or world-writable";
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "owned by another user";
	return NULL;
}

/* `at` joined with `name`, for messages.  NULL when out of memory. */
static char *join(const char *at, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", at, strcmp(at, "/") ? "/" : "", name) < 0)
		return NULL;
	return s;
}

/* The walk's position: a descriptor of the directory it is in, judged, and
 * the path it took there, for messages. */
struct walk {
	int fd;
	char *at;
	const char *what;
};

/* Enter the directory `name` of `dirfd`, known as `at` (taken), after
 * judging it.  O_NOFOLLOW: a link swapped in since the caller's lstat is
 * refused, and what is judged is what the descriptor holds. */
static int walk_enter(struct walk *w, int dirfd, const char *name, char *at, jc_error *err)
{
	cleanup_free char *path = at;
	cleanup_close int fd = -1;
	struct stat st;
	const char *why;

	if (!path)
		return jc_error_oom(err);
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "open %s parent `%s`: %s",
				    w->what, path, strerror(errno));
	if ((why = jc_fs_unsafe_dir(&st)))
		return jc_error_set(err, JC_ERR_WORKSPACE, EPERM,
				    "%s parent `%s` is %s (mode %04o, uid %u): it could be swapped",
				    w->what, path, why, (unsigned)(st.st_mode & 07777),
				    (unsigned)st.st_uid);
	if (w->fd >= 0)
		close(w->fd);
	free(w->at);
	w->fd = steal_fd(&fd);
	w->at = steal_pointer(&path);
	return 0;
}

/* `..` from where the walk is: the kernel's parent, judged like any other. */
static int walk_up(struct walk *w, jc_error *err)
{
	char *at = strdup(w->at), *slash;

	if (at && (slash = strrchr(at, '/')))
		slash[slash == at ? 1 : 0] = '\0';
	return walk_enter(w, w->fd, "..", at, err);
}

/* Why walk and judge rather than refuse every link: sites reach their
 * workspace through links the operator made (/srv/ws -> /data/ws), and
 * Debian's own /var/run is one.  A link is as safe as its owner and its
 * directory; what was missing was judging the links and directories met
 * between the path as written and its realpath(). */
int jc_fs_check_parents(const char *path, const char *what, jc_error *err)
{
	struct walk w = { .fd = -1, .what = what };
	cleanup_free char *todo = NULL; /* what is left to resolve */
	cleanup_free char *name = NULL;
	unsigned links = 0;
	size_t pos = 0, len;
	int r = -1;

	if (path[0] != '/')
		return jc_error_set(err, JC_ERR_WORKSPACE, EINVAL, "%s path `%s` is not absolute",
				    what, path);
	if (!(todo = strdup(path)))
		return jc_error_oom(err);
	/* leave out the last component, and the slashes after it */
	for (len = strlen(todo); len > 1 && todo[len - 1] == '/'; len--)
		todo[len - 1] = '\0';
	*strrchr(todo, '/') = '\0';
	if (walk_enter(&w, AT_FDCWD, "/", strdup("/"), err) < 0)
		goto out;
	for (;;) {
		struct stat st;
		const char *c;

		while (todo[pos] == '/')
			pos++;
		if (!todo[pos])
			break;
		c = todo + pos;
		len = (size_t)(strchrnul(c, '/') - c);
		free(name);
		if (!(name = strndup(c, len))) {
			jc_error_oom(err);
			goto out;
		}
		pos += len;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (walk_up(&w, err) < 0)
				goto out;
			continue;
		}
		if (fstatat(w.fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			cleanup_free char *full = join(w.at, name);
			jc_error_set(err, JC_ERR_WORKSPACE, errno, "stat %s parent `%s`: %s", what,
				     full ? full : name, strerror(errno));
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			cleanup_free char *full = join(w.at, name);
			cleanup_free char *target = NULL;
			char *next;
			ssize_t n;

			if (!full) {
				jc_error_oom(err);
				goto out;
			}
			/* its owner can point it anywhere, whatever its directory */
			if (st.st_uid != 0 && st.st_uid != geteuid()) {
				jc_error_set(err, JC_ERR_WORKSPACE, EPERM,
					     "%s parent `%s` is a symlink owned by uid %u: it could "
					     "be swapped",
					     what, full, (unsigned)st.st_uid);
				goto out;
			}
			if (++links > JC_FS_MAX_LINKS) {
				jc_error_set(err, JC_ERR_WORKSPACE, ELOOP,
					     "%s path `%s`: more than %d symlinks on the way", what,
					     path, JC_FS_MAX_LINKS);
				goto out;
			}
			if (!(target = malloc((size_t)st.st_size + 2))) {
				jc_error_oom(err);
				goto out;
			}
			n = readlinkat(w.fd, name, target, (size_t)st.st_size + 1);
			if (n < 0 || n > st.st_size || n == 0) {
				/* changed since the stat, or empty: nothing to judge */
				jc_error_set(err, JC_ERR_WORKSPACE, n < 0 ? errno : ESTALE,
					     "read %s parent `%s`: %s", what, full,
					     n < 0 ? strerror(errno) : "it changed while read");
				goto out;
			}
			target[n] = '\0';
			/* the target, then what was left after the link */
			if (asprintf(&next, "%s/%s", target, todo + pos) < 0) {
				jc_error_oom(err);
				goto out;
			}
			free(todo);
			todo = next;
			pos = 0;
			if (target[0] == '/' &&
			    walk_enter(&w, AT_FDCWD, "/", strdup("/"), err) < 0)
				goto out;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			cleanup_free char *full = join(w.at, name);
			jc_error_set(err, JC_ERR_WORKSPACE, ENOTDIR,
				     "%s parent `%s` is %s, not a directory", what,
				     full ? full : name, jc_file_type(st.st_mode));
			goto out;
		}
		if (walk_enter(&w, w.fd, name, join(w.at, name), err) < 0)
			goto out;
	}
	r = 0;
out:
	if (w.fd >= 0)
		close(w.fd);
	free(w.at);
	return r;
}

int jc_fs_read_small(int fd, size_t max, char **out, size_t *len, struct stat *st)
{
	char *data = NULL;
	size_t n = 0, cap;

	if (fstat(fd, st) < 0)
		return -1;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st->st_size > max) {
		errno = EFBIG;
		return -1;
	}
	/* read to the end, not to fstat's size: /proc's files say 0 */
	cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 4096;
	for (;;) {
		ssize_t r;
		if (n == cap || !data) {
			char *grown;
			if (n == cap)
				cap = cap > max / 2 ? max + 1 : cap * 2;
			if (n > max || !(grown = realloc(data, cap + 1))) {
				free(data);
				errno = n > max ? EFBIG : ENOMEM;
				return -1;
			}
			data = grown;
		}
		r = read(fd, data + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(data);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(data);
		errno = EFBIG;
		return -1;
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	return 0;
}
