/* The cgroup a job's container is created under ([job] cgroup_parent):
 * the value's rules, the Slurm job's own cgroup found in /proc/self/cgroup,
 * and the judgement against the engine's cgroup driver and version
 * (cgroup.c). */
#ifndef JC_CGROUP_H
#define JC_CGROUP_H

#include <stdbool.h>
#include "error.h"

/* Longest parent accepted, and what /proc/self/cgroup may hold. */
#define JC_CGROUP_PATH_MAX 512
#define JC_CGROUP_TEXT_MAX (64 << 10)

/* NULL when `value` may be [job] cgroup_parent: "" (the engine's own),
 * "slurm", an absolute path of [A-Za-z0-9_.@:+=-] components without `.`
 * or `..` (for a cgroupfs driver), or a systemd slice name NAME.slice of
 * the same characters without `/` (for a systemd driver).  Else the
 * reason, a constant. */
const char *jc_cgroup_parent_why(const char *value);

/* Is the host's cgroup hierarchy the unified one alone (cgroup v2): the
 * text of /proc/self/cgroup has one line, "0::PATH".  Hybrid hosts (v1
 * controllers beside an empty v2 hierarchy) are v1 to the engines. */
bool jc_cgroup_text_v2(const char *text);

/* The Slurm job's cgroup out of `text` (/proc/self/cgroup): the path of
 * the "0::" line when `v2`, else of the line of the v1 memory controller,
 * cut after its one component "job_<job_id>".  Slurm 22.05 makes
 * .../job_<id>/step_<step>/user/task_<n> (cgroup/v2, under slurmstepd's
 * scope) and /slurm[_<node>]/uid_<uid>/job_<id>/step_<step>/task_<n>
 * (cgroup/v1); both carry the job's limits at the job_<id> level.  A path
 * without that component (jobcell not started by a Slurm step, or Slurm's
 * cgroup plugins off), or with it twice, fails (JC_ERR_CONFIG, ENOENT or
 * EINVAL) naming the path.  *out is the caller's. */
int jc_cgroup_slurm_parent(const char *text, const char *job_id, bool v2, char **out,
			   jc_error *err);

/* /proc/self/cgroup's text, read through one descriptor (at most
 * JC_CGROUP_TEXT_MAX bytes).  *out is the caller's. */
int jc_cgroup_read_self(char **out, jc_error *err);

/* What the engine does with cgroups (GET /info). */
enum jc_cgroup_driver {
	JC_CGROUP_DRIVER_OTHER,
	JC_CGROUP_DRIVER_CGROUPFS,
	JC_CGROUP_DRIVER_SYSTEMD,
};
struct jc_engine_cgroups {
	enum jc_cgroup_driver driver;
	char driver_name[32]; /* as the engine said it, printable, for messages */
	int version;          /* 1 or 2; 0 when the engine did not say */
};

/* May `parent` (the resolved value: a path or a slice) go to an engine
 * with `eng`?  A cgroupfs driver takes an absolute path, a systemd driver
 * a slice only; any other driver is refused.  `slurm`: the parent is the
 * Slurm job's, found on this host's cgroup `host_version`, which must be
 * the engine's.  JC_ERR_ENGINE, ENOTSUP, naming the key, the value and
 * the driver. */
int jc_cgroup_parent_check(const char *parent, bool slurm, int host_version,
			   const struct jc_engine_cgroups *eng, jc_error *err);

#endif
