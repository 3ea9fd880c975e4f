/* The mount proof (mount_proof.c): before the start, the engine is asked
 * what it mounted, and each mount must be what jobcell checked.  See
 * docs/security.md ("The mount the engine made"). */
#ifndef JC_MOUNT_PROOF_H
#define JC_MOUNT_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include "backend.h"
#include "error.h"

/* The prefix of a proof file's name; a job name cannot start with `.`. */
#define JC_PROOF_PREFIX ".jobcell-proof-"

/* One bind mount as jobcell checked it. */
struct jc_proof_mount {
	const char *kind;   /* "mount", "data mount": for messages */
	const char *name;   /* startup, local, the job's name, a [mounts] NAME */
	const char *target; /* where the engine mounts it in the container */
	int fd;             /* what jobcell holds of it: a directory or a regular file */
	const char *hint;   /* what to look at when it is not what was checked */
	bool gate_checks;   /* the mount gate compares it again at start (mount_gate.h) */
};

/* Prove, on the created and not yet started container `container`, that
 * the engine mounted at each target what jobcell holds of it.  A directory
 * gets a file named JC_PROOF_PREFIX + 64 fresh random bits, created through
 * m->fd (O_EXCL, never through a link), and the engine must show that file
 * beneath the target; the file is removed through m->fd again whatever
 * happened.  A directory jobcell cannot write (EACCES, EPERM, EROFS, no
 * space) and a regular file are compared instead: the engine's type,
 * permission bits, size and modification time (to the nanosecond) of the
 * target must equal the descriptor's.  A regular file the engine cannot
 * stat (Podman 4.3 cannot, for a single-file bind) passes only when the
 * gate will compare it.
 *
 * Errors: "KIND `NAME` of job `JOB`: the engine did not mount the directory
 * jobcell checked (...; HINT)" (JC_ERR_WORKSPACE, EXDEV); the engine's own
 * failure wrapped with "KIND `NAME` of job `JOB`: mount proof" (its kind
 * kept; for a regular file, saying that its directory can be mounted); a proof file jobcell could not make or remove (JC_ERR_SYSTEM). */
int jc_mount_prove(struct jc_backend *b, const char *container, const char *job,
		   const struct jc_proof_mount *m, size_t n, jc_error *err);

#endif
