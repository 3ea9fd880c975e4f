/* jobcell: launch one job in an isolated container workspace and supervise it.
 *
 * The library's single public header.  Conventions (docs/error-handling.md):
 * a function that can fail takes `jc_error *err` last and returns a negative
 * int or NULL; out-parameters are assigned only on success; nothing here
 * prints or exits. */
#ifndef JOBCELL_H
#define JOBCELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JC_VERSION      "0.1.0"
#define JC_FORMAT(a, b) __attribute__((format(printf, a, b)))

/* ---- errors (error.c) ---------------------------------------------------- */

enum jc_error_kind {
	JC_ERR_NONE = 0,
	JC_ERR_CONFIG,        /* the site configuration */
	JC_ERR_INPUT,         /* the job request: names, env, options */
	JC_ERR_WORKSPACE,     /* the workspace on disk */
	JC_ERR_ENGINE,        /* the engine refused, failed or could not be reached */
	JC_ERR_SYSTEM,        /* a local system call or allocation */
	JC_ERR_CMD_NOT_FOUND, /* the job's command does not exist (exit 127) */
	JC_ERR_CMD_NOT_EXEC,  /* the job's command cannot be executed (exit 126) */
};

typedef struct jc_error {
	enum jc_error_kind kind;
	int status; /* errno-style: EINVAL, ENOENT, ECONNREFUSED, ... */
	bool retry; /* the same call may succeed later */
	char *msg;  /* heap; "step `object`: cause" */
} jc_error;

/* Replace whatever `err` held.  Always returns -1 so callers can
 * `return jc_error_set(...)`. */
int jc_error_set(jc_error *err, enum jc_error_kind kind, int status, const char *fmt, ...)
    JC_FORMAT(4, 5);
/* Prefix the message with context: "ctx: old message".  Returns -1. */
int jc_error_wrap(jc_error *err, const char *fmt, ...) JC_FORMAT(2, 3);
/* Shorthand for an allocation failure. */
int jc_error_oom(jc_error *err);
void jc_error_clear(jc_error *err);
/* "config", "input", "workspace", "engine", "system", "command". */
const char *jc_error_kind_name(enum jc_error_kind kind);

/* ---- string vectors (util.c) ------------------------------------------- */

struct jc_strv {
	char **v;
	size_t n;
};

int jc_strv_push(struct jc_strv *s, const char *str);
int jc_strv_copy(struct jc_strv *dst, const struct jc_strv *src);
void jc_strv_free(struct jc_strv *s);
/* "a symlink", "a regular file", "a fifo", ... for messages. */
const char *jc_file_type(mode_t m);

/* ---- names (names.c): pure checks, no I/O --------------------------------- */

#define JC_NAME_MAX 64

/* Job, tenant, run and site names: 1..JC_NAME_MAX of [A-Za-z0-9][A-Za-z0-9_.-]*,
 * not "." or "..".  `what` names the input in the message ("job name"). */
int jc_name_check(const char *name, const char *what, jc_error *err);
/* A site name is a name without `-`, so that the container name
 * jobcell-<site>-<job> splits one way only. */
int jc_name_check_site(const char *name, jc_error *err);
/* A job name must also not be a reserved child (startup, local, and the
 * site's extra reserved names), compared without case. */
int jc_name_check_job(const char *name, const struct jc_strv *reserved, jc_error *err);
/* Environment entries "NAME=VALUE": NAME is [A-Za-z_][A-Za-z0-9_]*, VALUE has
 * no control character but tab. */
int jc_name_check_env(const char *entry, jc_error *err);
/* Image references: printable, no space, no "..", [A-Za-z0-9] first, at most
 * 255 chars of [A-Za-z0-9._/:@-]. */
int jc_name_check_image(const char *image, jc_error *err);

/* Docker's rule for volume names: [A-Za-z0-9][A-Za-z0-9_.-]+, at most
 * JC_VOLUME_NAME_MAX. */
#define JC_VOLUME_NAME_MAX 255
int jc_volume_name_check(const char *name, jc_error *err);
/* "tenant-<tenant>-run-<run>-<unix ms>-<8 hex of rnd>".  Caller frees. */
char *jc_volume_name(const char *tenant, const char *run, int64_t unix_ms, uint32_t rnd);
/* The jobcell.supervisor label: "<boot id>/<pid namespace>/<pid>/<start time>",
 * 1..128 of [0-9a-f/-]. */
int jc_supervisor_check(const char *id, jc_error *err);

/* ---- units (units.c): parsers for INI values and options -------------------- */

/* Longest duration accepted anywhere: ten years, so that deadlines computed
 * from the clock cannot overflow. */
#define JC_DURATION_MAX_MS (10LL * 366 * 24 * 3600 * 1000)

/* "30s", "5m", "1h", "250ms", "0"; a bare number is seconds; at most
 * JC_DURATION_MAX_MS.  Milliseconds out. */
int jc_parse_duration(const char *s, int64_t *ms);
/* "512m", "1g", "64k", "4096"; binary multiples.  Bytes out. */
int jc_parse_size(const char *s, int64_t *bytes);
/* Octal permission bits "0555" (at most 07777). */
int jc_parse_mode(const char *s, unsigned *mode);
/* true/false, yes/no, on/off, 1/0. */
int jc_parse_bool(const char *s, bool *b);
/* A non-negative decimal integer. */
int jc_parse_uint(const char *s, int64_t *v);
/* "uid" or "uid:gid", both numeric; "" is left to the image. */
int jc_parse_user(const char *s, uid_t *uid, gid_t *gid);
/* CPUs as a decimal number: "2", "1.5", "0.25"; no sign, at most three
 * decimals; 0 (no limit) or 0.01 to 1024.  Billionths of a CPU out
 * (HostConfig.NanoCpus). */
#define JC_NANO_CPUS_MIN INT64_C(10000000) /* 0.01: the engine's least */
#define JC_NANO_CPUS_MAX (INT64_C(1024) * 1000000000)
int jc_parse_cpus(const char *s, int64_t *nano);

/* GPUs asked of the engine (HostConfig.DeviceRequests, driver-chosen). */
#define JC_GPU_IDS_MAX   16
#define JC_GPU_ID_MAX    128 /* characters of one device id */
#define JC_GPU_COUNT_MAX 1024
struct jc_gpus {
	int64_t count;      /* 0: none (or the ids below); -1: all; N: any N */
	struct jc_strv ids; /* device ids ("0", "GPU-<uuid>"); count is 0 */
};
/* "" (none), "all", a count "2" ("0": none), or device ids "0,1" or
 * "GPU-<uuid>": 1 to JC_GPU_IDS_MAX distinct [A-Za-z0-9][A-Za-z0-9_-]* separated by
 * commas (spaces around them allowed), none of them all, none or void in
 * any case (words of the NVIDIA runtime).  A lone number is a count.  `out`
 * must hold a valid value (zeroed, or parsed); on success that is freed and
 * replaced, on failure left alone. */
int jc_parse_gpus(const char *s, struct jc_gpus *out);
int jc_gpus_copy(struct jc_gpus *dst, const struct jc_gpus *src);
void jc_gpus_free(struct jc_gpus *g);

/* ---- configuration (config.c) ------------------------------------------------ */

enum jc_ws_mode { JC_WS_BIND, JC_WS_VOLUME };

struct jc_config {
	/* [engine] */
	char *endpoint;
	int64_t engine_timeout_ms;
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
	/* [job] */
	char *image;
	char *user;      /* "uid[:gid]", "auto" (the job directory's owner), or NULL */
	bool allow_root; /* a job may run as uid 0 */
	char *network;
	int64_t stop_grace_ms;
	int64_t timeout_ms;
	struct jc_strv cap_drop;
	struct jc_strv cap_add;
	bool no_new_privileges;
	bool readonly_rootfs;
	int64_t tmp_size;
	int64_t pids_limit;
	int64_t memory;    /* bytes; 0: no limit.  Swap is limited to the same */
	int64_t nano_cpus; /* billionths of a CPU; 0: no limit */
	int64_t shm_size;  /* bytes of /dev/shm; 0: the engine's default */
	struct jc_gpus gpus;
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
	/* every problem found while loading, "file:line: ..." */
	struct jc_strv problems;
};

/* Defaults for every key.  `docker_host` is $DOCKER_HOST or NULL. */
int jc_config_init(struct jc_config *cfg, const char *docker_host, jc_error *err);
/* Read one INI file on top of what `cfg` holds (defaults < site).  Every
 * problem is appended to cfg->problems; on any, returns -1 with the first
 * one (and the count) in `err`. */
int jc_config_load(struct jc_config *cfg, const char *path, jc_error *err);
/* Check that the keys a job needs are set and consistent. */
int jc_config_validate(const struct jc_config *cfg, jc_error *err);
void jc_config_free(struct jc_config *cfg);

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
 * 0 is no limit, so 0 lifts a limit), stop_grace and tmp_size (where 0 is
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

/* ---- workspace (workspace.c) --------------------------------------------- */

struct jc_workspace {
	int root_fd;    /* O_PATH of the site workspace root */
	int startup_fd; /* O_PATH of startup/ */
	int local_fd;   /* O_PATH of local/ */
	int job_fd;     /* O_PATH of the job directory, -1 before jc_ws_prepare_job */
	bool job_created;
	char *job;
	char *path; /* the root as configured ([workspace] path): checks run here */
};

/* Open the workspace root and its read-only children through file
 * descriptors: root with O_PATH|O_DIRECTORY|O_NOFOLLOW, children with openat2
 * (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) or, where the
 * kernel lacks openat2, openat(O_NOFOLLOW)+fstat.  Refuses a root that is
 * group- or world-writable or owned by another user, a directory above it
 * that others could rename entries in, and children that are symlinks or
 * not directories. */
int jc_ws_open(struct jc_workspace *ws, const char *path, jc_error *err);
/* Check the job directory: a real directory, not a symlink, no existing
 * entry that differs only by case.  When `create` and it is missing, create
 * it with `mode` and give it to uid:gid. */
int jc_ws_prepare_job(struct jc_workspace *ws, const char *job, bool create, unsigned mode,
		      uid_t uid, gid_t gid, jc_error *err);
/* Re-open the root by its path and every checked child by name, and compare
 * device and inode with the descriptors held: catches a swap since the check. */
int jc_ws_recheck(const struct jc_workspace *ws, jc_error *err);
/* Remove the job directory again if this process created it and it is still
 * empty (used when the job never started). */
void jc_ws_undo_job(struct jc_workspace *ws);
void jc_ws_close(struct jc_workspace *ws);
/* Tests force the openat fallback with this. */
extern bool jc_ws_no_openat2;

/* ---- data mounts (data.c) ----------------------------------------------------- */

struct jc_data_mount {
	char *name; /* [mounts] NAME */
	char *path; /* HOST_PATH as configured */
	int fd;     /* O_PATH of what was checked */
	dev_t dev;  /* ... and its identity, for the recheck */
	ino_t ino;
};

struct jc_data {
	struct jc_data_mount *m;
	size_t n;
};

/* Open every [mounts] entry through descriptors: the longest matching data
 * prefix with O_PATH|O_DIRECTORY|O_NOFOLLOW (refused when group- or
 * world-writable without the sticky bit, or when, resolved, it meets an
 * engine socket or the workspace), then the rest beneath it with openat2
 * (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) or, without
 * openat2 (or with jc_ws_no_openat2), a walk with O_NOFOLLOW.  What is found
 * must be a directory or a regular file.  Errors name the mount and the
 * step (JC_ERR_WORKSPACE; outside every prefix: JC_ERR_CONFIG).  *out is
 * overwritten on success (start from { 0 }); free with jc_data_close. */
int jc_data_open(const struct jc_config *cfg, struct jc_data *out, jc_error *err);
/* Open every mount again the same way and compare device and inode with
 * what jc_data_open found: catches a swap since the check. */
int jc_data_recheck(const struct jc_config *cfg, const struct jc_data *d, jc_error *err);
void jc_data_close(struct jc_data *d);

/* ---- job request and plan (plan.c) --------------------------------------------- */

struct jc_job_request {
	const char *job;
	const char *image;  /* NULL: the site's */
	struct jc_strv cmd; /* empty: the image's */
	/* empty: the image's; set, it replaces the image's (check: the probe) */
	struct jc_strv entrypoint;
	struct jc_strv env; /* NAME=VALUE */
	int64_t timeout_ms; /* -1: the site's */
	const char *nonce;  /* label jobcell.nonce: tells this run's container from any
			       other of the same name; NULL: none */
	/* volume mode */
	const char *volume;     /* the job's own volume */
	const char *tenant;     /* label jobcell.tenant */
	const char *run;        /* label jobcell.run */
	const char *supervisor; /* label jobcell.supervisor, or NULL */
	bool keep;              /* label jobcell.keep=true: the volume outlives the job */
	/* NAME=VALUE of the site's pass_env names that are set in jobcell's own
	 * environment (jc_pass_env_collect); only those names are taken */
	struct jc_strv passed_env;
};

/* Copy from `envp` (an environ-style array, NULL-terminated) the variables
 * named in cfg->pass_env, in that order, as NAME=VALUE into *out (replaced
 * on success).  A name that is not set is skipped; a value with a control
 * character other than tab is an error naming the variable. */
int jc_pass_env_collect(const struct jc_config *cfg, char *const *envp, struct jc_strv *out,
			jc_error *err);

/* Subpaths of volumes (VolumeOptions.Subpath) need this Engine API. */
#define JC_API_SUBPATH "1.45"

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

struct jc_label {
	char *key;
	char *value;
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
	struct jc_gpus gpus; /* HostConfig.DeviceRequests when any */
	int64_t stop_grace_ms;
	int64_t timeout_ms;
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
int jc_plan_build(const struct jc_config *cfg, const struct jc_job_request *req, const char *user,
		  int64_t created, struct jc_plan **out, jc_error *err);
void jc_plan_free(struct jc_plan *plan);
/* Refuse a plan the engine's API `api` cannot carry out as written (volume
 * subpaths before JC_API_SUBPATH): an older engine would ignore the field and
 * mount the whole volume. */
int jc_plan_check_api(const struct jc_plan *plan, const char *api, jc_error *err);
/* Container name for a job of a site: "jobcell-<site>-<job>". */
char *jc_container_name(const char *site, const char *job);

/* ---- engine JSON (request.c): plan -> JSON, JSON -> structs, pure -------------- */

/* The body of POST /containers/create, unformatted (or indented with
 * `pretty`).  Caller frees. */
char *jc_request_create_json(const struct jc_plan *plan, bool pretty, jc_error *err);

struct jc_inspect {
	char *id;
	char *name;
	char *status; /* created, running, exited, ... */
	bool running;
	bool oom_killed;
	int exit_code;
	char *job;        /* label jobcell.job, or NULL */
	char *site;       /* label jobcell.site, or NULL */
	char *nonce;      /* label jobcell.nonce, or NULL */
	bool managed;     /* label jobcell.managed=true */
	char *created;    /* label jobcell.created, or NULL */
	char *supervisor; /* label jobcell.supervisor, or NULL */
	char *volume;     /* label jobcell.volume, or NULL */
	char *role;       /* label jobcell.role ("transfer"), or NULL for a job */
	bool keep;        /* label jobcell.keep=true */
};
int jc_request_parse_inspect(const char *json, struct jc_inspect *out, jc_error *err);
void jc_inspect_free(struct jc_inspect *in);
/* {"Id": ...} from create. */
int jc_request_parse_id(const char *json, char **id, jc_error *err);
/* {"StatusCode": N, "Error": {"Message": ...}} from wait. */
int jc_request_parse_wait(const char *json, int *status, jc_error *err);
/* The engine's {"message": ...}, or NULL. Caller frees. */
char *jc_request_error_message(const char *json);

struct jc_container_list {
	struct jc_inspect *items; /* id, name, status, job, created filled */
	size_t n;
};
int jc_request_parse_list(const char *json, struct jc_container_list *out, jc_error *err);
void jc_container_list_free(struct jc_container_list *l);

struct jc_volume {
	char *name;
	char *created_at; /* the engine's CreatedAt */
	bool managed;     /* label jobcell.managed=true */
	bool keep;        /* label jobcell.keep=true */
	char *tenant, *run, *site, *job, *created, *nonce, *supervisor; /* labels, or NULL */
};
int jc_request_parse_volume(const char *json, struct jc_volume *out, jc_error *err);
void jc_volume_free(struct jc_volume *v);
struct jc_volume_list {
	struct jc_volume *items;
	size_t n;
};
/* {"Volumes": [...]} */
int jc_request_parse_volume_list(const char *json, struct jc_volume_list *out, jc_error *err);
void jc_volume_list_free(struct jc_volume_list *l);
/* The body of POST /volumes/create. */
char *jc_request_volume_json(const char *name, const struct jc_label *labels, size_t n,
			     jc_error *err);

/* ---- engine client (engine.c) ---------------------------------------------- */

#define JC_API_MIN "1.41"
#define JC_API_MAX "1.45"

struct jc_engine;

/* Parse the endpoint (unix:///path, tcp://host:port, http://host:port) and
 * set up libcurl.  No I/O.  `timeout_ms` bounds every plain call. */
int jc_engine_open(const char *endpoint, int64_t timeout_ms, struct jc_engine **out, jc_error *err);
void jc_engine_close(struct jc_engine *e);
/* GET /_ping: negotiate min(engine, JC_API_MAX); refuse engines older than
 * JC_API_MIN or with a malformed Api-Version. */
int jc_engine_ping(struct jc_engine *e, jc_error *err);
const char *jc_engine_api(const struct jc_engine *e);
/* The bound on every plain call, in ms. */
int64_t jc_engine_timeout(const struct jc_engine *e);

/* Typed calls on the reused connection.  HTTP statuses >= 400 become
 * errors that carry the step, the object and the engine's own message. */
/* `name` NULL: the engine names the container. */
int jc_engine_create(struct jc_engine *e, const char *name, const char *json, char **id,
		     jc_error *err);
/* The calls below take a container reference `ref` (id or name) and, for
 * messages, `name` (NULL: ref). */
int jc_engine_start(struct jc_engine *e, const char *ref, const char *name, jc_error *err);
/* Stop: SIGTERM (or the image's stop signal), SIGKILL after `grace_s`. */
int jc_engine_stop(struct jc_engine *e, const char *ref, const char *name, int grace_s,
		   jc_error *err);
/* DELETE with force and anonymous volumes. A missing container is success. */
int jc_engine_remove(struct jc_engine *e, const char *ref, const char *name, jc_error *err);
int jc_engine_inspect(struct jc_engine *e, const char *ref, struct jc_inspect *out, jc_error *err);
/* Config.User of an image, "" when unset. Caller frees. */
int jc_engine_image_user(struct jc_engine *e, const char *image, char **user, jc_error *err);
/* Containers labelled jobcell.managed=true (and jobcell.site=site when not NULL). */
int jc_engine_list(struct jc_engine *e, const char *site, bool all, struct jc_container_list *out,
		   jc_error *err);

/* Volumes.  Create answers with the volume as the engine has it, which is an
 * older one when the name was taken: callers compare labels. */
int jc_engine_volume_create(struct jc_engine *e, const char *name, const char *json,
			    struct jc_volume *out, jc_error *err);
int jc_engine_volume_inspect(struct jc_engine *e, const char *name, struct jc_volume *out,
			     jc_error *err);
/* A missing volume is success; one in use fails with EBUSY and retry set. */
int jc_engine_volume_remove(struct jc_engine *e, const char *name, jc_error *err);
/* Volumes labelled jobcell.managed=true (and jobcell.site=site when not NULL). */
int jc_engine_volume_list(struct jc_engine *e, const char *site, struct jc_volume_list *out,
			  jc_error *err);

/* Archives, streamed: PUT sends what is read from `fd` until EOF as the
 * body; GET writes the body to `fd` as it arrives.  No whole-call timeout:
 * a transfer fails when no byte moves for the engine timeout.  `progress`
 * (may be NULL) is told the bytes moved so far. */
typedef void (*jc_progress_fn)(void *ctx, uint64_t bytes);
/* `failed` (may be NULL) is set by the producer before it closes `fd`
 * after a failure: the upload is then aborted, not ended, so the engine
 * never takes a cut archive for a whole one. */
int jc_engine_archive_put(struct jc_engine *e, const char *ref, const char *name, const char *path,
			  int fd, const int *failed, jc_progress_fn progress, void *ctx,
			  jc_error *err);
int jc_engine_archive_get(struct jc_engine *e, const char *ref, const char *name, const char *path,
			  int fd, jc_progress_fn progress, void *ctx, jc_error *err);

/* Asynchronous requests, for supervision: several in flight on their own
 * connections, driven by jc_engine_poll. */
struct jc_async;
/* Takes job output of `stream` (1 stdout, 2 stderr) and returns how much of
 * it was taken; less than `len` means "no more room now, offer the rest
 * later". */
typedef size_t (*jc_sink_fn)(void *ctx, int stream, const char *buf, size_t len);
/* Start a request.  With `sink`, the body is a multiplexed log stream that is
 * demultiplexed into sink() as it arrives and never kept whole: when the
 * sink takes less than offered, the rest (one network read at most) waits
 * and the transfer is paused until jc_async_flush gets it taken.  Without a
 * sink, the body is kept (capped) for jc_async_result.  `timeout_ms` 0
 * means no limit. */
int jc_async_begin(struct jc_engine *e, const char *method, const char *path, int64_t timeout_ms,
		   jc_sink_fn sink, void *ctx, struct jc_async **out, jc_error *err);
bool jc_async_done(const struct jc_async *a);
/* Offer held-back output to the sink again; resume the transfer once it is
 * all taken.  Returns true when the sink took anything. */
bool jc_async_flush(struct jc_async *a);
/* Output is held back: the sink is full. */
bool jc_async_paused(const struct jc_async *a);
/* Bytes of body received so far: a measure of progress. */
uint64_t jc_async_received(const struct jc_async *a);
/* The response status line has arrived (the engine has taken the request). */
bool jc_async_answered(const struct jc_async *a);
/* After done: the outcome, as the typed calls report it.  Does not free `a`. */
int jc_async_result(struct jc_async *a, const char *step, const char *object, char **body,
		    jc_error *err);
void jc_async_free(struct jc_async *a);
/* Run transfers, waiting up to `timeout_ms` for progress or for `fd` (if
 * >= 0) to become readable.  Returns 1 when fd is readable, 0 otherwise. */
int jc_engine_poll(struct jc_engine *e, int fd, int timeout_ms, jc_error *err);

/* The Docker raw-stream framing: 8-byte headers {stream,0,0,0,size32be}. */
struct jc_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left;
	int stream;
	jc_sink_fn sink;
	void *ctx;
};
void jc_demux_init(struct jc_demux *d, jc_sink_fn sink, void *ctx);
/* Feed bytes in any chunking.  Returns how many were consumed (fewer than
 * `len` when the sink stopped taking), or -1 on a frame with a bad stream
 * byte. */
ssize_t jc_demux_feed(struct jc_demux *d, const char *buf, size_t len);

/* ---- archive (archive.c): tar streams, libarchive ------------------------------ */

struct jc_extract_report {
	size_t extracted;       /* members written */
	size_t refused;         /* members refused */
	struct jc_strv reasons; /* "`name`: why", the first 100 */
};

/* Extract the tar stream read from `tar_fd` into the directory `dest_fd`,
 * dropping the first `strip` components of every name.  Each member is
 * judged on its own and, when refused, skipped and reported in *rep: names
 * that are empty, absolute or hold `..`; paths through a symlink or onto a
 * planted symlink or fifo; symlinks and hard links leading outside; device
 * nodes and fifos.  setuid, setgid and sticky bits are dropped; owners are
 * not kept.  A malformed stream or a failing write is an error.  The caller
 * frees *rep with jc_extract_report_free. */
int jc_archive_extract(int tar_fd, int dest_fd, unsigned strip, struct jc_extract_report *rep,
		       jc_error *err);
void jc_extract_report_free(struct jc_extract_report *rep);

/* A relative path inside a volume or job directory: not empty, not
 * absolute, components not empty, `.` or `..`, no control bytes, each at
 * most 255 bytes, all at most 4095.  `what` names the input in the message. */
int jc_path_check(const char *path, const char *what, jc_error *err);

/* One file or directory to send into a volume. */
struct jc_input {
	char *spec; /* "SRC[:DEST]" as given, for messages */
	char *dest; /* checked relative path inside the target */
	int fd;     /* the source, opened beneath the base directory */
	bool is_dir;
};
/* Parse "SRC[:DEST]" (split at the first `:`) and open SRC beneath the
 * directory `base_fd` without following any symlink (openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, or a walk with
 * O_NOFOLLOW where openat2 is missing).  SRC is a relative path to a regular
 * file or a directory; DEST defaults to SRC's last component.  Both are
 * checked with jc_path_check. */
int jc_input_open(const char *spec, int base_fd, struct jc_input *out, jc_error *err);
void jc_input_close(struct jc_input *in);
/* Walk every input through descriptors: only regular files and directories,
 * names that pass jc_path_check, no two inputs with the same DEST.  Adds up
 * the bytes of data.  Writes nothing. */
int jc_input_scan(const struct jc_input *in, size_t n, uint64_t *bytes, jc_error *err);

struct jc_tar_opts {
	const char *root; /* a leading directory entry ("." or "v"); every input goes
			     beneath it as root/DEST; NULL: none, inputs as DEST */
	unsigned root_mode;
	uid_t uid; /* owner of every member */
	gid_t gid;
};
/* Write a tar stream of the inputs to `out_fd` (a pipe or a socket; a
 * closed reader is an error, never SIGPIPE).  Directories are walked again
 * through descriptors; data is copied in blocks, so memory does not grow
 * with file size.  Permission bits are kept but setuid, setgid and sticky;
 * every owner is uid:gid.  A file that changed size since it was opened is
 * an error. */
int jc_archive_write(int out_fd, const struct jc_tar_opts *o, const struct jc_input *in, size_t n,
		     jc_error *err);

/* ---- volumes and transfers (volume.c) ------------------------------------------ */

/* This process as the jobcell.supervisor label names it.  Caller frees. */
int jc_supervisor_self(char **id, jc_error *err);
enum jc_liveness { JC_SUPERVISOR_DEAD, JC_SUPERVISOR_ALIVE, JC_SUPERVISOR_UNKNOWN };
/* Judge a jobcell.supervisor label from here: alive or dead when it names a
 * process of this boot and pid namespace (pid and start time must both
 * match), unknown otherwise (another host, boot or container). */
enum jc_liveness jc_supervisor_liveness(const char *id);

struct jc_volume_spec {
	const char *site, *tenant, *run, *job; /* job may be NULL */
	const char *supervisor;                /* NULL: none (kept volumes) */
	bool keep;
	int64_t created; /* unix seconds, for the label */
};
/* Create a fresh volume tenant-<tenant>-run-<run>-<ms>-<random> with the
 * labels jobcell.managed/tenant/run/site/job/created/nonce (+ supervisor,
 * keep).  The engine hands back an existing volume when the name is taken:
 * a foreign nonce means exactly that, and another name is tried; a volume
 * is never shared.  *name is the caller's to free. */
int jc_volume_make(struct jc_engine *e, const struct jc_volume_spec *s, char **name, jc_error *err);
/* Remove a volume, retrying while the engine says it is in use (a removed
 * container can hold it a moment longer): `tries` attempts 500 ms apart. */
int jc_volume_remove_retry(struct jc_engine *e, const char *name, int tries, jc_error *err);

/* A container that is created and never started, with `volume` mounted
 * read-write at /v: the engine's archive endpoint reads and writes the
 * volume through it.  Labelled (role "transfer") so that gc finds it. */
#define JC_TRANSFER_MOUNT "/v"
int jc_transfer_open(struct jc_engine *e, const char *image, const char *user, const char *volume,
		     const char *site, const char *supervisor, char **id, jc_error *err);
/* Stream the inputs as a tar archive into `path` of container `ref`: a
 * thread writes the archive into a socket pair, the engine call reads it. */
int jc_transfer_put(struct jc_engine *e, const char *ref, const char *name, const char *path,
		    const struct jc_tar_opts *o, const struct jc_input *in, size_t n,
		    jc_progress_fn progress, void *ctx, jc_error *err);
/* Fetch `path` of container `ref` and extract it safely into `dest_fd`: the
 * engine call writes into a socket pair, a thread extracts from it. */
int jc_transfer_get(struct jc_engine *e, const char *ref, const char *name, const char *path,
		    int dest_fd, struct jc_extract_report *rep, jc_progress_fn progress, void *ctx,
		    jc_error *err);

struct jc_gc_item {
	const char *kind; /* "container", "volume" */
	const char *name;
	bool removed; /* or would be, with dry_run */
	const char *why;
};
typedef void (*jc_gc_fn)(void *ctx, const struct jc_gc_item *item);
/* Remove the site's labelled containers, then volumes, that are older than
 * `older_than_ms` and whose supervisor is dead (never one alive or
 * unknown, never a kept volume, never a container without a supervisor:
 * those were started detached and belong to their caller).  Each decision
 * is reported through `fn`.  Returns -1 when listing fails or any removal
 * failed (the rest is still tried). */
int jc_gc(struct jc_engine *e, const char *site, int64_t older_than_ms, bool dry_run, jc_gc_fn fn,
	  void *ctx, jc_error *err);

/* ---- supervision (supervise.c) ------------------------------------------------- */

struct jc_supervise_opts {
	int signal_fd;   /* a signalfd for SIGTERM/SIGINT/SIGHUP, or -1 */
	pid_t parent;    /* the parent at start: a change means it died */
	jc_sink_fn sink; /* where the job's output goes */
	void *sink_ctx;
	bool detach; /* start and return, no waiting */
	/* called between create and start; may refuse (e.g. workspace recheck) */
	int (*before_start)(void *ctx, jc_error *err);
	void *before_start_ctx;
	/* called after the job exited, before the container is removed (e.g. to
	 * fetch its outputs); may fail the run */
	int (*after_exit)(void *ctx, const char *id, jc_error *err);
	void *after_exit_ctx;
};

struct jc_run_result {
	char *id;
	int exit_code; /* the job's, from the engine */
	bool timed_out;
	bool oom_killed;
	int signal; /* the first signal received, 0 when none */
	bool parent_died;
	char *warning; /* the job ran, but its output was cut short: why */
};

/* create -> wait(next-exit) -> start -> logs -> wait -> inspect -> remove.
 * Any failure after create removes the container.  On success *res holds
 * the job's outcome (free with jc_run_result_free). */
int jc_supervise_run(struct jc_engine *e, const struct jc_plan *plan,
		     const struct jc_supervise_opts *o, struct jc_run_result *res, jc_error *err);
void jc_run_result_free(struct jc_run_result *r);
/* Wait for a container to stop running, bounded by timeout_ms (0: none).
 * Returns 1 when that bound passed.  `name` (NULL: ref) is for messages. */
int jc_supervise_wait(struct jc_engine *e, const char *ref, const char *name, int64_t timeout_ms,
		      int signal_fd, int *status, jc_error *err);
/* Print (into sink) a container's logs, following while it runs.  A reader
 * may take its time; only the engine's silence is bounded. */
int jc_supervise_logs(struct jc_engine *e, const char *ref, const char *name, bool follow,
		      int signal_fd, jc_sink_fn sink, void *ctx, jc_error *err);

/* ---- check (check.c): `jobcell check` ----------------------------------------- */

/* The probe's file name, next to jobcell or in $(libexecdir)/jobcell. */
#define JC_PROBE_NAME "jobcell-probe"
/* BindOptions.CreateMountpoint appeared in Engine API 1.42 (Docker 23.0). */
#define JC_API_CREATE_MOUNTPOINT "1.42"
/* A row's detail is cut to this many bytes; a line of the probe's report is
 * read only this far. */
#define JC_CHECK_DETAIL_MAX 512
#define JC_CHECK_LINE_MAX   1024

enum jc_check_state {
	JC_CHECK_KEPT,    /* the promise holds */
	JC_CHECK_BROKEN,  /* it does not, or it was not reported */
	JC_CHECK_UNKNOWN, /* it could not be observed */
	JC_CHECK_YES,     /* an engine feature is there */
	JC_CHECK_NO,      /* an engine feature is missing: not a failure by itself */
};

struct jc_check_row {
	char *name; /* "config", "engine", "workspace-root-readonly", ... */
	enum jc_check_state state;
	char *detail; /* printable ASCII only, at most JC_CHECK_DETAIL_MAX (+ "...") */
};

struct jc_check_report {
	struct jc_check_row *rows;
	size_t n;
	size_t ignored;      /* lines of the probe's output that were not report lines */
	bool ended;          /* the probe's last line, "# end", was read */
	char *first_ignored; /* the first line ignored, printable and cut, or NULL */
};

/* "kept", "broken", "unknown", "yes", "no". */
const char *jc_check_state_name(enum jc_check_state s);
/* The promises the probe reports, in the order of the table. */
const char *const *jc_check_promises(size_t *n);
/* Append a row; the detail is made printable and cut.  Returns -1 only when
 * out of memory. */
int jc_check_add(struct jc_check_report *r, const char *name, enum jc_check_state state,
		 jc_error *err, const char *fmt, ...) JC_FORMAT(5, 6);
/* Read the probe's report (`len` bytes, NULs allowed): lines
 * "promise TAB kept|broken|unknown TAB detail"; `#` comments and empty lines
 * are skipped ("# end" sets r->ended), any other line counted in r->ignored.  Appends one row per
 * promise of jc_check_promises, in that order: a promise reported twice
 * gets the worse state, one never reported is broken ("not reported").
 * Returns -1 only when out of memory. */
int jc_check_parse(struct jc_check_report *r, const char *text, size_t len, jc_error *err);
/* No row is broken or unknown. */
bool jc_check_ok(const struct jc_check_report *r);
void jc_check_report_free(struct jc_check_report *r);

/* The capabilities named (cap_add syntax: NAME, CAP_NAME or ALL) as a
 * bit mask of Linux capability numbers. */
int jc_check_cap_mask(const struct jc_strv *caps, uint64_t *mask, jc_error *err);
/* The probe's command, run in the job directory: "./jobcell-probe
 * --mount-point MP --job JOB [--sibling SIBLING] --caps HEX --network NET"
 * where HEX is the mask of the site's cap_add.  Replaces *cmd. */
int jc_check_probe_cmd(const struct jc_config *cfg, const char *job, const char *sibling,
		       struct jc_strv *cmd, jc_error *err);
/* The directory holding the probe: the one of `exe` (NULL: /proc/self/exe)
 * when jobcell-probe is there, else $(libexecdir)/jobcell (JC_LIBEXECDIR at
 * build time).  Caller frees *dir. */
int jc_check_probe_dir(const char *exe, char **dir, jc_error *err);
/* Rows "engine" (what answers, the API spoken), "engine-subpath" and
 * "engine-create-mountpoint" for a pinged engine. */
int jc_check_engine(struct jc_engine *e, const struct jc_config *cfg, struct jc_check_report *r,
		    jc_error *err);
/* Remove `name` beneath `dfd` and everything in it, never following a
 * symlink.  A missing `name` is success. */
int jc_check_remove_tree(int dfd, const char *name, jc_error *err);

#endif
