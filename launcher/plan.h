/* Job request -> plan: pure (plan.c). */
#ifndef JC_PLAN_H
#define JC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "labels.h"

struct jc_job_request {
	const char *job;
	const char *image;  /* NULL: the site's */
	struct jc_strv cmd; /* empty: the image's */
	/* empty: the image's; set, it replaces the image's (check: the probe,
	 * or --entrypoint); one empty word clears the image's, which the
	 * engines take as `[""]` */
	struct jc_strv entrypoint;
	struct jc_strv env; /* NAME=VALUE */
	int64_t timeout_ms; /* -1: the site's */
	const char *nonce;  /* label jobcell.nonce: tells this run's container from any
			       other of the same name; NULL: none */
	/* volume mode */
	const char *volume;     /* the job's own volume */
	const char *volume_nonce; /* its jobcell.nonce: label jobcell.volume_nonce */
	const char *tenant;     /* label jobcell.tenant */
	const char *run;        /* label jobcell.run */
	const char *supervisor; /* label jobcell.supervisor, or NULL */
	int64_t deadline;       /* label jobcell.deadline, unix seconds; 0: none
				   (jc_plan_deadline) */
	bool keep;              /* label jobcell.keep=true: the volume outlives the job */
	/* "VOLUME:PATH": kept volumes of the tenant mounted read-only at PATH
	 * (--mount-volume; volume mode), at most JC_CHAINED_MAX; whose they
	 * are is judged by the caller (jc_policy_chained_volume) */
	struct jc_strv chained;
	/* NAME=VALUE of the site's pass_env names that are set in jobcell's own
	 * environment (jc_pass_env_collect); only those names are taken */
	struct jc_strv passed_env;
	/* the Slurm allocation's, for the site's `slurm` values
	 * (jc_slurm_collect): its GPUs (gpus = slurm; count 0: none) and its
	 * job's cgroup (cgroup_parent = slurm); NULL: not collected */
	const struct jc_gpus *slurm_gpus;
	const char *slurm_cgroup;
	/* `jobcell check` outside a Slurm job: the `slurm` values give none
	 * (no GPUs, the engine's cgroup, the site's timeout) */
	bool slurm_absent;
};

/* Copy from `envp` (an environ-style array, NULL-terminated) the variables
 * named in cfg->pass_env, in that order, as NAME=VALUE into *out (replaced
 * on success).  A name that is not set is skipped; a value with a control
 * character other than tab is an error naming the variable. */
int jc_pass_env_collect(const struct jc_config *cfg, char *const *envp, struct jc_strv *out,
			jc_error *err);

/* The jobcell.deadline of what a run or start of `req` makes at `created`
 * (unix seconds): created + timeout + stop_grace + 2 x [engine] timeout +
 * transfer_timeout, the timeout being the request's or else the site's,
 * each duration rounded up to whole seconds, plus a second for `created`'s
 * truncation.  No supervisor lets a job live longer (it stops the job at
 * its timeout, kills it and gives up within two engine timeouts more, and
 * its cancel hook ends every other request at this deadline), so past it
 * gc removes the object
 * whoever made it.  0 (none) when the timeout or transfer_timeout is 0:
 * such a job may run for ever. */
int64_t jc_plan_deadline(const struct jc_config *cfg, const struct jc_job_request *req,
			 int64_t created);
/* The same for a transfer container of `volume put` or `volume get`:
 * created + transfer_timeout (+1 s), or 0. */
int64_t jc_transfer_deadline(const struct jc_config *cfg, int64_t created);

enum jc_mount_type { JC_MOUNT_TMPFS, JC_MOUNT_BIND, JC_MOUNT_VOLUME };

struct jc_mount {
	enum jc_mount_type type;
	char *source;  /* bind: the path the engine sees; volume: its name */
	char *subpath; /* volume: VolumeOptions.Subpath, or NULL */
	char *target;
	bool readonly;
	unsigned mode; /* tmpfs */
	int64_t size;  /* tmpfs, bytes */
};

struct jc_plan {
	char *name;  /* container name jobcell-<site>-<job> */
	char *nonce; /* this run's jobcell.nonce label, or NULL */
	char *site;
	char *job;
	char *image;
	char *user; /* "uid:gid" or "" for the image's */
	char *workdir;
	char *network;
	struct jc_strv cmd;
	struct jc_strv entrypoint; /* empty: the image's */
	struct jc_strv env;
	struct jc_mount *mounts;
	size_t nmounts;
	struct jc_label *labels;
	size_t nlabels;
	struct jc_strv cap_drop;
	struct jc_strv cap_add;
	bool no_new_privileges;
	bool readonly_rootfs;
	int64_t tmp_size;
	int64_t pids_limit;
	int64_t memory;      /* HostConfig.Memory and MemorySwap; 0: none */
	int64_t nano_cpus;   /* HostConfig.NanoCpus; 0: none */
	int64_t shm_size;    /* HostConfig.ShmSize; 0: the engine's default */
	struct jc_gpus gpus; /* HostConfig.DeviceRequests when any; never slurm */
	char *cgroup_parent; /* HostConfig.CgroupParent; NULL: the engine's */
	int64_t stop_grace_ms;
	int64_t timeout_ms;
	/* the caller's stdin is passed (run -i): the container's stdin is
	 * open, for one attach, and closed when that attach's input ends */
	bool open_stdin;
};

/* Validate the request against the site and build the plan.  Pure: no I/O.
 * `user` overrides cfg->user when not NULL; `created` is the label's unix
 * time.  The job's Env is the site's [env], then req->passed_env, then
 * req->env, each NAME once (the later wins); a request entry that names a
 * variable of the site ([env] or pass_env) is refused (EPERM) unless `env`
 * is in [job] overridable.  Site [labels] follow jobcell's own labels.
 * req->image and req->timeout_ms are the caller's own choices and are not
 * judged against overridable: a job request's settings go through
 * jc_config_override.  The caller frees *out with jc_plan_free. */
/* The checks of jc_plan_build that need nothing resolved yet (no user, no
 * volume name): names, image, environment, network, labels, limits.  Pure:
 * a request is refused here before anything is opened or made. */
int jc_plan_check(const struct jc_config *cfg, const struct jc_job_request *req, jc_error *err);
int jc_plan_build(const struct jc_config *cfg, const struct jc_job_request *req, const char *user,
		  int64_t created, struct jc_plan **out, jc_error *err);
void jc_plan_free(struct jc_plan *plan);
/* Refuse a site the backend cannot serve as configured (volume subpaths on
 * an engine without them): an older engine would ignore the field and mount
 * the whole volume.  Judged from the site, before anything is made. */
struct jc_backend;
int jc_plan_check_backend(const struct jc_config *cfg, const struct jc_backend *b,
			  jc_error *err);
#define JC_CHAINED_MAX 8
/* Check one --mount-volume VOLUME:PATH of a job of `cfg` (volume mode):
 * the volume's name, and PATH clear of everything else mounted
 * (jc_config_mount_target_problem), of [workspace] job_path and of the
 * chained mounts in `before`.  Pure.  On success *volume (freed by the
 * caller) is the name and *path points into `spec`. */
int jc_plan_check_chained(const struct jc_config *cfg, const struct jc_strv *before,
			  const char *spec, char **volume, const char **path, jc_error *err);
/* Is `ep` the one empty word of `--entrypoint ''`: no entrypoint at all,
 * not the image's? */
bool jc_plan_entrypoint_cleared(const struct jc_strv *ep);
/* Where the job's directory or volume is mounted in the container, and its
 * working directory: [workspace] job_path, or <mount_point>/<job>.  NULL
 * when out of memory; the caller frees it. */
char *jc_plan_job_path(const struct jc_config *cfg, const char *job);
/* Container name for a job of a site: "jobcell-<site>-<job>". */
char *jc_container_name(const char *site, const char *job);

#endif
