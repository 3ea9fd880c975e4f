/* The Slurm allocation jobcell runs in, read from its environment when the
 * site asks for it: [job] cgroup_parent, gpus and timeout_from = slurm;
 * and the [slurm] keys' arithmetic (slurm.c). */
#ifndef JC_SLURM_H
#define JC_SLURM_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "error.h"
#include "units.h"

/* The longest job id taken: Slurm's are 32-bit. */
#define JC_SLURM_JOB_ID_MAX 10

/* What the allocation gives a launch. */
struct jc_slurm_alloc {
	char *job_id;        /* SLURM_JOB_ID, or NULL when no key asks for Slurm */
	struct jc_gpus gpus; /* gpus = slurm: the allocation's devices (none: count 0) */
	char *gpus_from;     /* the variable they came from, or NULL */
	char *cgroup_parent; /* cgroup_parent = slurm: the job's cgroup; NULL otherwise */
	int cgroup_version;  /* the host's, 1 or 2, with cgroup_parent */
	int64_t end_s;       /* timeout_from = slurm: the allocation's end, unix
				seconds; 0 otherwise */
};
void jc_slurm_alloc_free(struct jc_slurm_alloc *a);

/* Does any key of `cfg` ask for the Slurm allocation? */
bool jc_slurm_wanted(const struct jc_config *cfg);

/* SLURM_JOB_ID of `envp` (environ-style): 1 to JC_SLURM_JOB_ID_MAX
 * digits, not 0.  Unset fails (JC_ERR_CONFIG, ESRCH) naming `key`, the
 * key that needs it; malformed fails (EINVAL). */
int jc_slurm_job_id(char *const *envp, const char *key, const char **out, jc_error *err);

/* The allocation's GPUs from `envp`: SLURM_STEP_GPUS (an srun step's),
 * else SLURM_JOB_GPUS (a batch or interactive step's): the node's own ids,
 * which the NVIDIA runtime also names devices by; else
 * CUDA_VISIBLE_DEVICES when it holds GPU UUIDs only (its indices are
 * renumbered from 0 inside a step's device cgroup, so they would name
 * other devices).  Neither set, or empty: no GPUs.  Ids: 1 to 4 digits, or
 * GPU-<hex and dashes>; at most JC_GPU_IDS_MAX, distinct.  Anything else
 * (NoDevFiles included) fails (JC_ERR_CONFIG, EINVAL) naming the variable.
 * `out` (zeroed or valid) is replaced on success; *from is a constant. */
int jc_slurm_gpus(char *const *envp, struct jc_gpus *out, const char **from, jc_error *err);

/* SLURM_JOB_END_TIME of `envp`: the allocation's end in unix seconds, as
 * later Slurm releases export it (22.05 does not: the batch script sets
 * it from `SLURM_TIME_FORMAT=%s squeue -h -j $SLURM_JOB_ID -o %e`).  1 to
 * 12 digits.  Unset fails (JC_ERR_CONFIG, ESRCH), malformed (EINVAL). */
int jc_slurm_end_time(char *const *envp, int64_t *end_s, jc_error *err);

/* The job's timeout so that its graceful stop ends before the allocation
 * does: end_s - now - stop_grace - [slurm] stop_margin, in ms, no more
 * than `cap_ms` when that is above 0.  Less than a second left fails
 * (JC_ERR_CONFIG, ETIME) with the arithmetic in the message. */
int jc_slurm_timeout(const struct jc_config *cfg, int64_t end_s, int64_t now_ms, int64_t cap_ms,
		     int64_t *out_ms, jc_error *err);

/* [slurm] kill_wait, when set: stop_grace + stop_margin must fit in it,
 * or Slurm's SIGKILL (KillWait after its SIGTERM) ends jobcell before the
 * graceful stop and the removal (JC_ERR_CONFIG, EINVAL). */
int jc_slurm_check_kill_wait(const struct jc_config *cfg, jc_error *err);

/* Everything the keys of `cfg` ask of the allocation, in `envp` and
 * /proc/self/cgroup, and the kill_wait check; nothing asked: *out all empty.  On failure nothing
 * is kept.  Pure but for jc_cgroup_read_self. */
int jc_slurm_collect(const struct jc_config *cfg, char *const *envp, struct jc_slurm_alloc *out,
		     jc_error *err);

#endif
