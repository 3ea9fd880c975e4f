/* The mount proof: see mount_proof.h and docs/security.md.  jobcell checks
 * the workspace and [mounts] through descriptors, but hands the engine
 * paths; with jobcell in a container ([workspace] host_path), or an engine
 * that makes a missing bind source (Podman 4.3 creates it, empty), those
 * paths can name another directory on the engine's host, and the job would
 * run without its workspace with nothing said.  The archive endpoint of the
 * created container resolves a path through the container's mounts as the
 * engine will mount them, so what the engine shows there is what it
 * mounted. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount_proof.h"

static const char *what_of(mode_t mode)
{
	return S_ISDIR(mode) ? "directory" : "file";
}

static int not_proven(const struct jc_proof_mount *m, const char *job, mode_t mode,
		      const char *why, jc_error *err)
{
	return jc_error_set(err, JC_ERR_WORKSPACE, EXDEV,
			    "%s `%s` of job `%s`: the engine did not mount the %s jobcell checked "
			    "(%s; %s)",
			    m->kind, m->name, job, what_of(mode), why, m->hint);
}

/* 64 random bits in hex. */
static int fresh_nonce(char out[17], jc_error *err)
{
	unsigned char r[8];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *s = NULL;

	if (asprintf(&s, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

/* A file of ours in the directory, looked for by the engine.  Returns 1
 * when jobcell cannot write there (the caller compares instead). */
static int by_file(struct jc_backend *b, const char *container, const char *job,
		   const struct jc_proof_mount *m, jc_error *err)
{
	char nonce[17], name[sizeof(JC_PROOF_PREFIX) + 16];
	struct jc_path_stat ps = { 0 };
	cleanup_free char *path = NULL;
	int fd, r;

	if (fresh_nonce(nonce, err) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s%s", JC_PROOF_PREFIX, nonce);
	if (!(path = join(m->target, name)))
		return jc_error_oom(err);
	/* O_EXCL never follows a link in the name's place */
	fd = openat(m->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM || errno == EROFS || errno == ENOSPC ||
		    errno == EDQUOT)
			return 1;
		return jc_error_set(err, JC_ERR_SYSTEM, errno,
				    "%s `%s` of job `%s`: create the proof file `%s`: %s", m->kind,
				    m->name, job, name, strerror(errno));
	}
	close(fd);
	r = jc_backend_path_stat(b, container, container, path, &ps, err);
	if (r == 0 && (!S_ISREG(ps.mode) || strcmp(ps.name, name) != 0))
		r = not_proven(m, job, S_IFDIR, "the engine shows another entry for the proof file",
			       err);
	else if (r < 0 && err->kind == JC_ERR_ENGINE && err->status == ENOENT) {
		cleanup_free char *why = NULL;
		if (asprintf(&why, "no proof file at %s", m->target) < 0)
			why = NULL;
		r = why ? not_proven(m, job, S_IFDIR, why, err) : jc_error_oom(err);
	} else if (r < 0) {
		jc_error_wrap(err, "%s `%s` of job `%s`: mount proof", m->kind, m->name, job);
	}
	jc_path_stat_free(&ps);
	/* whatever happened: the job must not find it, nor the next run */
	if (unlinkat(m->fd, name, 0) < 0 && r == 0)
		r = jc_error_set(err, JC_ERR_SYSTEM, errno,
				 "%s `%s` of job `%s`: remove the proof file `%s`: %s", m->kind,
				 m->name, job, name, strerror(errno));
	return r;
}

static bool same(const struct jc_path_stat *ps, const struct stat *st)
{
	return (ps->mode & S_IFMT) == (st->st_mode & S_IFMT) &&
	       (ps->mode & 07777) == (st->st_mode & 07777) && ps->size == (int64_t)st->st_size &&
	       ps->mtime_s == (int64_t)st->st_mtim.tv_sec && ps->mtime_ns == st->st_mtim.tv_nsec;
}

/* The engine's stat of the target against the descriptor's, taken before
 * and after the question: a change meanwhile (another run's proof file in
 * startup/) matches one of the two. */
static int by_stat(struct jc_backend *b, const char *container, const char *job,
		   const struct jc_proof_mount *m, const struct stat *before, jc_error *err)
{
	struct jc_path_stat ps = { 0 };
	struct stat after;
	cleanup_free char *why = NULL;
	int r;

	if (jc_backend_path_stat(b, container, container, m->target, &ps, err) < 0) {
		if (err->kind == JC_ERR_ENGINE && err->status == ENOENT) {
			if (asprintf(&why, "nothing at %s", m->target) < 0)
				return jc_error_oom(err);
			return not_proven(m, job, before->st_mode, why, err);
		}
		/* Podman 4.3 cannot stat a single-file bind ("not a directory");
		 * the gate compares it by device and inode at start */
		if (err->kind == JC_ERR_ENGINE && S_ISREG(before->st_mode) && m->gate_checks) {
			jc_error_clear(err);
			return 0;
		}
		if (S_ISREG(before->st_mode))
			return jc_error_wrap(err,
					     "%s `%s` of job `%s`: mount proof of a single file (an "
					     "engine that cannot show one, as Podman 4.3, needs its "
					     "directory mounted)",
					     m->kind, m->name, job);
		return jc_error_wrap(err, "%s `%s` of job `%s`: mount proof", m->kind, m->name, job);
	}
	if (fstat(m->fd, &after) < 0)
		r = jc_error_set(err, JC_ERR_SYSTEM, errno, "%s `%s` of job `%s`: fstat: %s",
				 m->kind, m->name, job, strerror(errno));
	else if (same(&ps, before) || same(&ps, &after))
		r = 0;
	else if (asprintf(&why,
			  "%s shows mode %06o, %" PRId64 " bytes, modified %" PRId64 ".%09ld; "
			  "jobcell checked mode %06o, %" PRId64 " bytes, modified %" PRId64 ".%09ld",
			  m->target, (unsigned)ps.mode, ps.size, ps.mtime_s, ps.mtime_ns,
			  (unsigned)after.st_mode, (int64_t)after.st_size,
			  (int64_t)after.st_mtim.tv_sec, after.st_mtim.tv_nsec) < 0)
		r = jc_error_oom(err);
	else
		r = not_proven(m, job, after.st_mode, why, err);
	jc_path_stat_free(&ps);
	return r;
}

int jc_mount_prove(struct jc_backend *b, const char *container, const char *job,
		   const struct jc_proof_mount *m, size_t n, jc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int r = 1;

		if (fstat(m[i].fd, &st) < 0)
			return jc_error_set(err, JC_ERR_SYSTEM, errno,
					    "%s `%s` of job `%s`: fstat: %s", m[i].kind, m[i].name,
					    job, strerror(errno));
		if (S_ISDIR(st.st_mode) && (r = by_file(b, container, job, &m[i], err)) < 0)
			return -1;
		if (r == 1 && by_stat(b, container, job, &m[i], &st, err) < 0)
			return -1;
	}
	return 0;
}
