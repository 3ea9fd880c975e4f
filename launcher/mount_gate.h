/* The mount gate, jobcell's side (mount_gate.c): the gate program
 * (launcher/gate/) becomes a bind-mode job's entrypoint, compares each mount
 * with what jobcell checked, and runs the job's command only when all match.
 * Pure: no I/O. */
#ifndef JC_MOUNT_GATE_H
#define JC_MOUNT_GATE_H

#include <stddef.h>
#include <sys/types.h>
#include "error.h"
#include "plan.h"
#include "util.h"
#include "gate/match.h"

#define JC_GATE_NAME "jobcell-gate"
/* Where the gate is bound, read-only, in the container: the root file
 * system, not the workspace (no job name starts with `.`, and the probe
 * lists the workspace). */
#define JC_GATE_TARGET "/.jobcell-gate"

/* One mount as jobcell checked it. */
struct jc_gate_mount {
	char *what;   /* for messages: "job directory `x`", "`startup`", "data mount `d`" */
	char *target; /* its path in the container */
	dev_t dev;
	ino_t ino;
};

/* Append to *m (*n of them) the mount `name` beneath `dir` in the container,
 * called "KIND `name`" in messages ("`name`" when kind is NULL), with the
 * device and inode jobcell checked. */
int jc_gate_mounts_add(struct jc_gate_mount **m, size_t *n, const char *kind, const char *dir,
		       const char *name, dev_t dev, ino_t ino, jc_error *err);
void jc_gate_mounts_free(struct jc_gate_mount *m, size_t n);

/* The job's command as the engine would run it: the request's entrypoint
 * and command when it sets an entrypoint; else the image's entrypoint, then
 * the request's command or, when it has none, the image's.  An empty result
 * is an error (JC_ERR_INPUT) naming `image`.  *out is replaced on success. */
int jc_gate_argv(const struct jc_strv *req_ep, const struct jc_strv *req_cmd,
		 const struct jc_strv *img_ep, const struct jc_strv *img_cmd, const char *image,
		 struct jc_strv *out, jc_error *err);

/* Make the plan's container start through the gate: Entrypoint becomes
 * [JC_GATE_TARGET, nonce, TARGET=DEV:INO..., "--"], Cmd the job's command
 * `argv`, and `gate_src` (the gate as the engine finds it on its host) is
 * bound read-only at JC_GATE_TARGET. */
int jc_gate_apply(struct jc_plan *p, const char *gate_src, const char *nonce,
		  const struct jc_gate_mount *m, size_t n, const struct jc_strv *argv,
		  jc_error *err);

/* Judge one line the container wrote to stderr (without its newline).
 * Returns 0 when it is not this nonce's gate report; otherwise 1 with *err
 * set: a mount that is not the one checked (JC_ERR_WORKSPACE, "mount check:
 * job directory `x` in the container is not the one checked (dev:ino A,
 * expected B)"), or a command the gate could not run (JC_ERR_CMD_NOT_FOUND
 * or JC_ERR_CMD_NOT_EXEC, worded as runc's start error). */
int jc_gate_report(const char *line, const char *nonce, const char *container,
		   const struct jc_gate_mount *m, size_t n, jc_error *err);

#endif
