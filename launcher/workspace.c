/* The site workspace on disk, judged through file descriptors.  Names were
 * checked as strings already (names.c); here each child is opened relative
 * to the root's descriptor with symlinks refused by the kernel, so what is
 * checked is what the descriptor holds, not what a path string resolves to
 * a moment later. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/random.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "util.h"
#include "workspace.h"

/* Explain why `name` under dirfd is not an acceptable directory. */
static int refuse_child(int dirfd, const char *name, const char *what, int e, jc_error *err)
{
	struct stat st;

	if (e == ENOENT)
		return jc_error_set(err, JC_ERR_WORKSPACE, ENOENT, "%s `%s` does not exist", what,
				    name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		return jc_error_set(err, JC_ERR_WORKSPACE, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR,
				    "%s `%s` is %s, not a directory", what, name,
				    jc_file_type(st.st_mode));
	return jc_error_set(err, JC_ERR_WORKSPACE, e, "open %s `%s`: %s", what, name, strerror(e));
}

/* Open one child directory of dirfd, refusing symlinks anywhere. */
static int open_child(int dirfd, const char *name, int flags, const char *what, int *out,
		      jc_error *err)
{
	/* O_DIRECTORY keeps a fifo from blocking the open and a device from
	 * being opened */
	cleanup_close int fd = jc_fs_open_beneath(dirfd, name, flags | O_DIRECTORY, 0);
	struct stat st;

	if (fd < 0)
		return refuse_child(dirfd, name, what, errno, err);
	if (fstat(fd, &st) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "stat %s `%s`: %s", what, name,
				    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return jc_error_set(err, JC_ERR_WORKSPACE, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR,
				    "%s `%s` is %s, not a directory", what, name,
				    jc_file_type(st.st_mode));
	*out = steal_fd(&fd);
	return 0;
}

/* Whoever can rename an entry in a directory above the root, or repoint a
 * link on the way to it, can swap the whole workspace between the check and
 * the mount.  Every directory and every link the path passes through, at
 * any depth of a chain of links, is judged (fsutil.c): the path as written
 * and its realpath() alone miss the links in between. */
static int check_ancestors(const char *path, jc_error *err)
{
	return jc_fs_check_parents(path, "workspace", err);
}

int jc_ws_open(struct jc_workspace *ws, const char *path, jc_error *err)
{
	struct jc_workspace w = { .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 };
	struct stat st;

	if (check_ancestors(path, err) < 0)
		return -1;
	if (!(w.path = strdup(path)))
		return jc_error_oom(err);

	w.root_fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w.root_fd < 0) {
		int e = errno;
		/* O_PATH|O_DIRECTORY|O_NOFOLLOW gives ENOTDIR for a symlink too */
		if ((e == ELOOP || e == ENOTDIR) && lstat(path, &st) == 0)
			jc_error_set(err, JC_ERR_WORKSPACE, e,
				     "workspace root `%s` is %s, not a directory", path,
				     jc_file_type(st.st_mode));
		else
			jc_error_set(err, JC_ERR_WORKSPACE, e, "open workspace root `%s`: %s", path,
				     strerror(e));
		goto fail;
	}
	if (fstat(w.root_fd, &st) < 0) {
		jc_error_set(err, JC_ERR_WORKSPACE, errno, "stat workspace root `%s`: %s", path,
			     strerror(errno));
		goto fail;
	}
	/* anyone else who can write the root can swap a child after our check */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		jc_error_set(err, JC_ERR_WORKSPACE, EPERM,
			     "workspace root `%s` is group- or world-writable (mode %04o)", path,
			     (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		jc_error_set(err, JC_ERR_WORKSPACE, EPERM,
			     "workspace root `%s` is owned by uid %u, not by root or jobcell's "
			     "user",
			     path, (unsigned)st.st_uid);
		goto fail;
	}
	if (open_child(w.root_fd, "startup", O_PATH, "workspace child", &w.startup_fd, err) < 0 ||
	    open_child(w.root_fd, "local", O_PATH, "workspace child", &w.local_fd, err) < 0)
		goto fail;
	*ws = w;
	return 0;
fail:
	jc_ws_close(&w);
	return -1;
}

/* Refuse a job whose name differs from an existing entry only by case: on a
 * case-folding filesystem the two would be one directory. */
static int check_case(int root_fd, const char *job, jc_error *err)
{
	int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "list workspace root: %s",
				    strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "list workspace root: %s",
				    strerror(errno));
	}
	while ((de = readdir(d))) {
		if (strcasecmp(de->d_name, job) == 0 && strcmp(de->d_name, job) != 0) {
			r = jc_error_set(err, JC_ERR_INPUT, EEXIST,
					 "job name `%s` differs only by case from existing `%s`",
					 job, de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

static int same_child(int root_fd, const char *name, int held, jc_error *err);

/* Hold the job directory for this run: an exclusive flock(2) on its
 * descriptor, kept until the descriptor is closed (jc_ws_close, or the
 * process's end).  A run that cannot take it is refused: another run holds
 * the directory and will use it, and this one must neither share it nor
 * undo anything in it. */
static int lock_job(int fd, const char *job, jc_error *err)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return jc_error_set(err, JC_ERR_INPUT, EBUSY,
				    "job `%s` is running: another jobcell holds its directory",
				    job);
	return jc_error_set(err, JC_ERR_WORKSPACE, errno, "lock job directory `%s`: %s", job,
			    strerror(errno));
}

/* A new directory for `job` under the name `tmp` (filled in), locked and
 * owned by uid:gid with `mode`; *fd holds it.  Removed again on failure. */
static int make_locked(int root_fd, const char *job, char tmp[static 48], unsigned mode,
		       uid_t uid, gid_t gid, int *fd, jc_error *err)
{
	uint32_t rnd = 0;
	int e;

	if (getrandom(&rnd, sizeof(rnd), 0) < 0)
		rnd = (uint32_t)jc_mono_ms();
	snprintf(tmp, 48, ".jobcell-new-%d-%08" PRIx32, (int)getpid(), rnd);
	if (mkdirat(root_fd, tmp, 0700) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "create job directory `%s`: %s",
				    job, strerror(errno));
	*fd = openat(root_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0 && flock(*fd, LOCK_EX | LOCK_NB) == 0 && fchown(*fd, uid, gid) == 0 &&
	    fchmod(*fd, mode & 0777) == 0)
		return 0;
	e = errno;
	if (*fd >= 0)
		close(steal_fd(fd));
	unlinkat(root_fd, tmp, AT_REMOVEDIR);
	return jc_error_set(err, JC_ERR_WORKSPACE, e, "give job directory `%s` to %u:%u: %s", job,
			    (unsigned)uid, (unsigned)gid, strerror(e));
}

int jc_ws_prepare_job(struct jc_workspace *ws, const char *job, bool create, unsigned mode,
		      uid_t uid, gid_t gid, jc_error *err)
{
	cleanup_free char *name = strdup(job);
	cleanup_close int fd = -1;
	bool created = false;
	char tmp_name[48];

	if (!name)
		return jc_error_oom(err);
	if (check_case(ws->root_fd, job, err) < 0)
		return -1;
	if (open_child(ws->root_fd, job, O_RDONLY, "job directory", &fd, err) == 0)
		goto existing;
	if (err->status != ENOENT || !create)
		return -1;
	jc_error_clear(err);
	/* made under a name no job can have (names start with a letter or a
	 * digit), locked and given to the job's user there, then renamed into
	 * place: no other run ever sees it unlocked or still root's */
	if (make_locked(ws->root_fd, job, tmp_name, mode, uid, gid, &fd, err) < 0)
		return -1;
	if (renameat2(ws->root_fd, tmp_name, ws->root_fd, job, RENAME_NOREPLACE) < 0) {
		int e = errno;
		unlinkat(ws->root_fd, tmp_name, AT_REMOVEDIR);
		close(steal_fd(&fd));
		/* another run made it since the open: it is that run's */
		if (e == EEXIST &&
		    open_child(ws->root_fd, job, O_RDONLY, "job directory", &fd, err) == 0)
			goto existing;
		if (e == EEXIST)
			return -1;
		return jc_error_set(err, JC_ERR_WORKSPACE, e, "create job directory `%s`: %s", job,
				    strerror(e));
	}
	created = true;
	goto done;
existing:
	if (lock_job(fd, job, err) < 0)
		return -1;
	/* removed (by the run that made it, undoing) between our open and our
	 * lock: what we hold is gone from the workspace */
	if (same_child(ws->root_fd, job, fd, err) < 0) {
		jc_error_clear(err);
		return jc_error_set(err, JC_ERR_WORKSPACE, ESTALE,
				    "job directory `%s` was removed or replaced while this run "
				    "took it",
				    job);
	}
done:
	if (ws->job_fd >= 0)
		close(ws->job_fd);
	free(ws->job);
	ws->job_fd = steal_fd(&fd);
	ws->job = steal_pointer(&name);
	ws->job_created = created;
	return 0;
}

static int same_child(int root_fd, const char *name, int held, jc_error *err)
{
	cleanup_close int fd = -1;
	struct stat a, b;

	if (open_child(root_fd, name, O_PATH, "workspace child", &fd, err) < 0)
		return jc_error_wrap(err, "recheck workspace");
	if (fstat(fd, &a) < 0 || fstat(held, &b) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "recheck workspace `%s`: %s",
				    name, strerror(errno));
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return jc_error_set(err, JC_ERR_WORKSPACE, ESTALE,
				    "workspace child `%s` was replaced after it was checked", name);
	return 0;
}

int jc_ws_recheck(const struct jc_workspace *ws, jc_error *err)
{
	cleanup_close int fd = open(ws->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat a, b;

	if (fd < 0 || fstat(fd, &a) < 0 || fstat(ws->root_fd, &b) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "recheck workspace root `%s`: %s",
				    ws->path, strerror(errno));
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return jc_error_set(err, JC_ERR_WORKSPACE, ESTALE,
				    "workspace root `%s` was replaced after it was checked",
				    ws->path);
	if (same_child(ws->root_fd, "startup", ws->startup_fd, err) < 0 ||
	    same_child(ws->root_fd, "local", ws->local_fd, err) < 0)
		return -1;
	if (ws->job && same_child(ws->root_fd, ws->job, ws->job_fd, err) < 0)
		return -1;
	return 0;
}

void jc_ws_undo_job(struct jc_workspace *ws)
{
	/* job_created is set only once the lock is held, and the lock lasts as
	 * long as job_fd: what another run holds is never undone here */
	if (ws->job && ws->job_created && ws->job_fd >= 0) {
		/* only an empty directory goes: a job that ran may have left files */
		unlinkat(ws->root_fd, ws->job, AT_REMOVEDIR);
		ws->job_created = false;
	}
}

void jc_ws_close(struct jc_workspace *ws)
{
	int *fds[] = { &ws->root_fd, &ws->startup_fd, &ws->local_fd, &ws->job_fd };

	for (size_t i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(ws->job);
	ws->job = NULL;
	free(ws->path);
	ws->path = NULL;
}
