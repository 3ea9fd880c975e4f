/* The site workspace, judged through descriptors (workspace.c). */
#ifndef JC_WORKSPACE_H
#define JC_WORKSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

struct jc_workspace {
	int root_fd;    /* O_PATH of the site workspace root */
	int startup_fd; /* O_PATH of startup/ */
	int local_fd;   /* O_PATH of local/ */
	int job_fd;     /* O_RDONLY of the job directory, locked (flock LOCK_EX) for this
			   run; -1 before jc_ws_prepare_job */
	bool job_created; /* this run made it (and holds it) */
	char *job;
	char *path; /* the root as configured ([workspace] path): checks run here */
};

/* Open the workspace root and its read-only children through file
 * descriptors: root with O_PATH|O_DIRECTORY|O_NOFOLLOW, children with
 * jc_fs_open_beneath (no symlink followed) and fstat.  Refuses a root that is
 * group- or world-writable or owned by another user, a directory above it
 * that others could rename entries in, and children that are symlinks or
 * not directories. */
int jc_ws_open(struct jc_workspace *ws, const char *path, jc_error *err);
/* Check the job directory: a real directory, not a symlink, no existing
 * entry that differs only by case.  When `create` and it is missing, create
 * it with `mode` and give it to uid:gid (job_created).  Either way take an
 * exclusive flock(2) on it, held until jc_ws_close: a directory another
 * jobcell holds is refused (JC_ERR_INPUT, EBUSY, "job `x` is running:
 * another jobcell holds its directory"), and so is one made by another run
 * a moment earlier that this run cannot lock. */
int jc_ws_prepare_job(struct jc_workspace *ws, const char *job, bool create, unsigned mode,
		      uid_t uid, gid_t gid, jc_error *err);
/* Re-open the root by its path and every checked child by name, and compare
 * device and inode with the descriptors held: catches a swap since the check. */
int jc_ws_recheck(const struct jc_workspace *ws, jc_error *err);
/* Remove the job directory again if this run created it, still holds it,
 * and it is still empty (used when the job never started). */
void jc_ws_undo_job(struct jc_workspace *ws);
void jc_ws_close(struct jc_workspace *ws);

#endif
