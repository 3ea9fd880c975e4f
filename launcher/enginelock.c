/* The engine lock: flock(2) on a file per site and engine endpoint.
 *
 * Why flock: the kernel drops it when the open file description goes, so a
 * holder killed by SIGKILL, or one whose machine namespace is torn down,
 * leaves nothing held; there is no stale lock to detect or break.  Why a
 * waiting loop and not a blocking flock: jobcell keeps SIGTERM, SIGINT and
 * SIGHUP blocked and reads them from a signalfd, so nothing would interrupt
 * a blocking call; the loop looks at the signal fd and the parent as
 * supervise.c does, and bounds the wait.
 *
 * The bound is on the holder, not on the queue: a waiter behind 31 others
 * may wait long while the lock changes hands, but a holder that keeps it for
 * a whole engine timeout (each holder makes one engine call, itself bounded
 * by it) is stopped or frozen, and the waiter says so, naming the file and
 * the pid the holder wrote into it.
 *
 * What it does not cover: jobcells on other hosts (or in containers that do
 * not share the lock directory) that use the same engine do not see the
 * file.  docs/volumes.md says what to do then. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "enginelock.h"
#include "fsutil.h"
#include "util.h"

/* What a holder writes: its pid and when it took the lock.  Waiters read
 * it to tell a lock that changes hands from one held all along. */
#define STAMP_MAX 64

char *jc_enginelock_path(const char *dir, const char *site, const char *endpoint)
{
	uint64_t h = UINT64_C(14695981039346656037);
	char *path = NULL;

	for (const unsigned char *p = (const unsigned char *)endpoint; *p; p++) {
		h ^= *p;
		h *= UINT64_C(1099511628211);
	}
	if (asprintf(&path, "%s%s%s-%016llx.lock", dir,
		     dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", site,
		     (unsigned long long)h) < 0)
		return NULL;
	return path;
}

/* The lock directory, made 0700 when missing; only jobcell's user may
 * enter it, or another could open the lock file and hold the lock. */
static int open_dir(const char *dir, int *out, jc_error *err)
{
	cleanup_close int root = -1;
	cleanup_close int fd = -1;
	const char *rel = dir;
	struct stat st;

	if (!dir)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "[engine] lock_dir is not set: this engine needs its lock");
	if (dir[0] != '/')
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "[engine] lock_dir `%s`: not an absolute path", dir);
	while (*rel == '/')
		rel++;
	if ((root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "open `/`: %s", strerror(errno));
	fd = *rel ? jc_fs_mkdir_beneath(root, rel, 0700, O_RDONLY)
		  : open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return jc_error_set(err, JC_ERR_CONFIG, errno,
				    "[engine] lock_dir `%s`: %s%s", dir, strerror(errno),
				    errno == ELOOP || errno == ENOTDIR
					? " (symlinks are not followed)"
					: "");
	if (fstat(fd, &st) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "fstat `%s`: %s", dir,
				    strerror(errno));
	if (st.st_uid != geteuid())
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "[engine] lock_dir `%s`: owned by uid %u, not by jobcell's "
				    "user (uid %u)",
				    dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "[engine] lock_dir `%s`: mode %04o: others could hold its "
				    "locks (want 0700)",
				    dir, (unsigned)(st.st_mode & 07777));
	*out = fd;
	fd = -1;
	return 0;
}

/* The lock file, made 0600 when missing, opened without following a
 * symlink. */
static int open_file(int dfd, const char *path, jc_error *err)
{
	const char *name = strrchr(path, '/') + 1;
	struct stat st;
	int fd = jc_fs_open_beneath(dfd, name, O_RDWR | O_CREAT, 0600);

	if (fd < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "open engine lock `%s`: %s", path,
				    strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return jc_error_set(err, JC_ERR_SYSTEM, e, "fstat `%s`: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return jc_error_set(err, JC_ERR_CONFIG, EPERM, "engine lock `%s`: %s", path,
				    !S_ISREG(st.st_mode) ? "not a regular file"
							 : "owned by another user");
	}
	return fd;
}

/* What the holder wrote, "" when nothing (yet). */
static void read_stamp(int fd, char out[STAMP_MAX])
{
	ssize_t n = pread(fd, out, STAMP_MAX - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static void write_stamp(int fd)
{
	char s[STAMP_MAX];
	int n = snprintf(s, sizeof(s), "%ld %lld\n", (long)getpid(), (long long)jc_unix_ms());

	/* for the next waiter's message and progress only: a failure costs
	 * the message its pid, not the lock */
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, s, (size_t)n, 0);
}

int jc_enginelock_take(const char *dir, const char *site, const char *endpoint,
		       int64_t timeout_ms, int signal_fd, pid_t parent, const char *what, int *out,
		       jc_error *err)
{
	cleanup_free char *path = NULL;
	cleanup_close int dfd = -1;
	cleanup_close int fd = -1;
	char seen[STAMP_MAX] = "", now[STAMP_MAX];
	int64_t until = jc_mono_ms() + timeout_ms;

	if (open_dir(dir, &dfd, err) < 0)
		return jc_error_wrap(err, "%s", what);
	if (!(path = jc_enginelock_path(dir, site, endpoint)))
		return jc_error_oom(err);
	if ((fd = open_file(dfd, path, err)) < 0)
		return jc_error_wrap(err, "%s", what);
	read_stamp(fd, seen);
	for (;;) {
		struct pollfd p = { .fd = signal_fd, .events = POLLIN };
		int r;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return jc_error_set(err, JC_ERR_SYSTEM, errno, "%s: lock `%s`: %s", what,
					    path, strerror(errno));
		/* the parent first, as supervise.c's interrupted() */
		if (parent > 0 && getppid() != parent)
			return jc_error_set(err, JC_ERR_SYSTEM, ESRCH,
					    "%s: parent exited while waiting for engine lock `%s`",
					    what, path);
		read_stamp(fd, now);
		if (strcmp(now, seen) != 0) {
			/* it changed hands: the queue moves */
			memcpy(seen, now, sizeof(seen));
			until = jc_mono_ms() + timeout_ms;
		} else if (jc_mono_ms() >= until) {
			return jc_error_set(err, JC_ERR_SYSTEM, ETIMEDOUT,
					    "%s: engine lock `%s` held by pid %.*s for %llds: is "
					    "that jobcell stopped?",
					    what, path, (int)strcspn(*now ? now : "?", " "),
					    *now ? now : "?", (long long)(timeout_ms / 1000));
		}
		r = poll(&p, signal_fd >= 0 ? 1 : 0, JC_ENGINELOCK_POLL_MS);
		if (r > 0 && (p.revents & POLLIN)) {
			struct signalfd_siginfo si;
			ssize_t n = read(signal_fd, &si, sizeof(si));
			if (n == (ssize_t)sizeof(si))
				return jc_error_set(err, JC_ERR_SYSTEM, EINTR,
						    "%s: got %s while waiting for engine lock "
						    "`%s`",
						    what, strsignal((int)si.ssi_signo), path);
		}
	}
	write_stamp(fd);
	*out = fd;
	fd = -1;
	return 0;
}

void jc_enginelock_release(int *fd)
{
	if (*fd < 0)
		return;
	/* closing the last descriptor of the open file drops the lock */
	close(*fd);
	*fd = -1;
}
