/* The site configuration: keys, defaults, INI layers, overrides (config.c). */
#ifndef JC_CONFIG_H
#define JC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "util.h"
#include "units.h"

enum jc_ws_mode { JC_WS_BIND, JC_WS_VOLUME };

struct jc_config {
	/* [engine]: see endpoint.h */
	char *endpoint;
	char *endpoint_from; /* where it came from, for check: "the site file", "$DOCKER_HOST"... */
	char *tls_ca, *tls_cert, *tls_key;
	bool insecure_plaintext; /* plaintext TCP to a host that is not loopback */
	char *ssh_identity, *ssh_known_hosts, *ssh_config;
	int64_t engine_timeout_ms;
	char *lock_dir; /* where the engine locks are (enginelock.c) */
	/* [site] */
	char *site_name;
	/* [workspace] */
	enum jc_ws_mode ws_mode;
	char *ws_path;      /* where jobcell sees the site workspace; checks run here */
	char *ws_host_path; /* where the engine sees it; NULL: ws_path */
	char *mount_point;
	unsigned root_mode;
	bool root_readonly;
	int64_t root_size;
	unsigned job_mode;
	struct jc_strv reserved;
	/* where the job's own directory or volume is mounted, and the working
	 * directory; NULL: <mount_point>/<job> (jc_plan_job_path) */
	char *job_path;
	/* writable tmpfs directories in the read-only root, each at
	 * <mount_point>/NAME and of scratch_size bytes */
	struct jc_strv scratch;
	int64_t scratch_size;
	/* [job] */
	char *image;
	char *user;      /* "uid[:gid]", "auto" (the job directory's owner), or NULL */
	bool allow_root; /* a job may run as uid 0 */
	char *network;
	int64_t stop_grace_ms;
	int64_t timeout_ms;
	char *timeout_from; /* NULL, or "slurm": the allocation's end bounds it */
	/* the most a run may spend outside the job's own run time: volume,
	 * fill, inputs, outputs, removal; with timeout and stop_grace it makes
	 * the jobcell.deadline label (0: no deadline) */
	int64_t transfer_timeout_ms;
	struct jc_strv cap_drop;
	struct jc_strv cap_add;
	bool no_new_privileges;
	bool readonly_rootfs;
	int64_t tmp_size;
	int64_t run_size; /* /run and /var/tmp on a read-only root; 0: read-only */
	int64_t pids_limit;
	int64_t memory;    /* bytes; 0: no limit.  Swap is limited to the same */
	int64_t nano_cpus; /* billionths of a CPU; 0: no limit */
	int64_t shm_size;  /* bytes of /dev/shm; 0: the engine's default */
	struct jc_gpus gpus;
	/* HostConfig.CgroupParent: NULL (the engine's), "slurm" (the Slurm
	 * job's cgroup, slurm.c), a path or NAME.slice (cgroup.h) */
	char *cgroup_parent;
	struct jc_strv pass_env;      /* names copied from jobcell's environment */
	struct jc_strv overridable;   /* [job] keys (and "env") a job request may change */
	struct jc_strv data_prefixes; /* absolute host directories [mounts] may come from */
	char *data_mount_point;       /* where [mounts] appear in the job: <this>/NAME */
	/* [env]: "NAME=VALUE", each NAME once, in file order */
	struct jc_strv env;
	/* [labels]: "KEY=VALUE", each KEY once, none starting with "jobcell." */
	struct jc_strv labels;
	/* [mounts]: "NAME=HOST_PATH", each NAME once, in file order; mounted
	 * read-only at data_mount_point/NAME.  mounts_origin[i] is the
	 * "file:line" that set mounts.v[i], for messages of validate */
	struct jc_strv mounts;
	struct jc_strv mounts_origin;
	/* [volume] */
	char *tenant;         /* default tenant of a request */
	char *run;            /* default run of a request */
	char *startup_volume; /* site volume mounted read-only at startup/ */
	char *local_volume;   /* site volume mounted read-only at local/ */
	char *site_volume;    /* or one site volume: startup/ and local/ are its subpaths */
	bool keep;            /* keep the job's volume after the job */
	char *transfer_dir;   /* inputs and output directories resolve beneath it; "": cwd */
	int64_t volume_size;  /* bytes a job's volume may hold (driver option o=size=); 0: no cap */
	/* [output]: what one extraction may write; 0: no limit */
	int64_t output_max_bytes;
	int64_t output_max_members;
	int64_t output_max_depth;
	/* [gc] */
	int64_t clock_skew_ms; /* how far clocks of jobcells and engines may differ */
	/* [slurm] (slurm.c) */
	int64_t slurm_kill_wait_ms;   /* Slurm's KillWait; 0: not checked */
	int64_t slurm_stop_margin_ms; /* jobcell's own time after stop_grace */
	/* every problem found while loading, "file:line: ..." */
	struct jc_strv problems;
};

/* Defaults for every key.  The endpoint stays unset: jc_endpoint_resolve. */
int jc_config_init(struct jc_config *cfg, jc_error *err);
/* Read one INI file on top of what `cfg` holds (defaults < site).  Every
 * problem is appended to cfg->problems; on any, returns -1 with the first
 * one (and the count) in `err`. */
int jc_config_load(struct jc_config *cfg, const char *path, jc_error *err);
/* Check that the keys a job needs are set and consistent. */
int jc_config_validate(const struct jc_config *cfg, jc_error *err);
void jc_config_free(struct jc_config *cfg);
/* A deep copy of `src` into `dst` (overwritten): a job's own configuration,
 * which its request's overrides change without touching the site's. */
int jc_config_copy(struct jc_config *dst, const struct jc_config *src, jc_error *err);

/* Apply one setting of a job request on top of the site's configuration
 * (defaults < site files < job request).  `key` is a key of [job] by its
 * bare name ("memory", "timeout"); keys of other sections cannot be named.
 * Refused (JC_ERR_INPUT, EPERM, naming the key): keys that are not in
 * [job] overridable, and whatever the list says, the keys no request may
 * ever change: user, network, cap_drop, cap_add, no_new_privileges,
 * readonly_rootfs, pass_env, overridable, [env] and [labels] entries, and
 * every key of [engine], [site], [workspace] and [volume].  The value is
 * parsed as in a site file (JC_ERR_INPUT, EINVAL with the parser's reason).
 * Limits may only be tightened: memory, cpus, pids_limit and timeout (where
 * 0 is no limit, so 0 lifts a limit), stop_grace, tmp_size and run_size (where 0 is
 * the least), shm_size (0 counts as the engine's 64m), and gpus (none, fewer,
 * or some of the site's devices).  `cfg` changes only on success.  The
 * environment is not set here: a request's NAME=VALUE entries go in
 * jc_job_request.env, and replace the site's only when `env` is listed. */
int jc_config_override(struct jc_config *cfg, const char *key, const char *value, jc_error *err);
/* The same for "KEY=VALUE" (split at the first `=`). */
int jc_config_override_entry(struct jc_config *cfg, const char *entry, jc_error *err);
/* May a job request change `key` ("env" included): listed in [job]
 * overridable and not one of the keys no request may change. */
bool jc_config_overridable(const struct jc_config *cfg, const char *key);
/* A path that no [mounts] entry or data prefix may be, lie under, or
 * contain (compared component-wise on normalised strings): the engine's
 * socket (from a unix:// endpoint), the usual engine sockets, and the site
 * workspace (path and host_path).  `what` names the path in the message
 * (JC_ERR_CONFIG, EPERM). */
int jc_config_check_data_path(const struct jc_config *cfg, const char *path, const char *what,
			      jc_error *err);
/* Is `path` `dir` or beneath it, component-wise (/srv/data2 is not under
 * /srv/data)?  Both absolute; repeated and trailing slashes are ignored. */
bool jc_path_within(const char *path, const char *dir);

/* Why `path` cannot be where a job's own directory ([workspace] job_path)
 * or a chained volume (--mount-volume) is mounted: not absolute below `/`,
 * a `.` or `..` component, at or under /proc, /sys, /dev, /etc, /tmp, /run
 * or /var/tmp, at, under or above mount_point or data_mount_point, or the
 * mount gate's path.  NULL when it may; else a reason (a constant or
 * written into buf) to follow the path in a message. */
const char *jc_config_mount_target_problem(const struct jc_config *cfg, const char *path, char *buf,
					   size_t size);

/* [job] network: "none", "bridge" or a network's name
 * ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64); "host" and "container:..." are
 * refused: they share the host's or another container's network namespace. */
int jc_config_check_network(const char *network, jc_error *err);

/* The table of keys, for the reference file test and the man page. */
struct jc_config_key {
	const char *section;
	const char *key;
	const char *def; /* the default as written in an INI file */
};
const struct jc_config_key *jc_config_keys(size_t *n);

#endif
