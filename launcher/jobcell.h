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

/* ---- configuration (config.c) ------------------------------------------------ */

struct jc_config {
	/* [engine] */
	char *endpoint;
	int64_t engine_timeout_ms;
	/* [site] */
	char *site_name;
	/* [workspace] */
	char *ws_path;
	char *mount_point;
	unsigned root_mode;
	bool root_readonly;
	int64_t root_size;
	unsigned job_mode;
	struct jc_strv reserved;
	/* [job] */
	char *image;
	char *user;
	char *network;
	int64_t stop_grace_ms;
	int64_t timeout_ms;
	struct jc_strv cap_drop;
	struct jc_strv cap_add;
	bool no_new_privileges;
	bool readonly_rootfs;
	int64_t tmp_size;
	int64_t pids_limit;
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
	char *path; /* the root as configured: the engine mounts by this string */
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

/* ---- job request and plan (plan.c) --------------------------------------------- */

struct jc_job_request {
	const char *job;
	const char *image;  /* NULL: the site's */
	struct jc_strv cmd; /* empty: the image's */
	struct jc_strv env; /* NAME=VALUE */
	int64_t timeout_ms; /* -1: the site's */
	const char *nonce;  /* label jobcell.nonce: tells this run's container from any
			       other of the same name; NULL: none */
};

enum jc_mount_type { JC_MOUNT_TMPFS, JC_MOUNT_BIND };

struct jc_mount {
	enum jc_mount_type type;
	char *source; /* bind: the path the engine sees */
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
	int64_t stop_grace_ms;
	int64_t timeout_ms;
};

/* Validate the request against the site and build the plan.  Pure: no I/O.
 * `user` overrides cfg->user when not NULL; `created` is the label's unix
 * time.  The caller frees *out with jc_plan_free. */
int jc_plan_build(const struct jc_config *cfg, const struct jc_job_request *req, const char *user,
		  int64_t created, struct jc_plan **out, jc_error *err);
void jc_plan_free(struct jc_plan *plan);
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
	char *job;     /* label jobcell.job, or NULL */
	char *site;    /* label jobcell.site, or NULL */
	char *nonce;   /* label jobcell.nonce, or NULL */
	bool managed;  /* label jobcell.managed=true */
	char *created; /* label jobcell.created, or NULL */
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

#endif
