/* jobcell: run one job in a container with an isolated workspace, and
 * supervise it the way a supervisor runs a child process.
 *
 * The library's public interface: every symbol libjobcell.so exports is
 * declared here.  Conventions (docs/error-handling.md): a call that can fail
 * takes `jc_error *err` last and returns a negative int (or NULL) with `err`
 * set; out-parameters are assigned only on success; nothing here prints,
 * exits or changes the process's signal dispositions.  The site's policy
 * (which keys a request may change, whether a job may run as root, which
 * containers and volumes are the site's) is enforced here, not by callers. */
#ifndef JOBCELL_H
#define JOBCELL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JC_VERSION_MAJOR 0
#define JC_VERSION_MINOR 2
#define JC_VERSION_PATCH 0
#define JC_VERSION       "0.2.0"

/* The library's version, "MAJOR.MINOR.PATCH": may differ from JC_VERSION
 * when a program runs against a newer library than it was built with. */
const char *jc_version(void);

/* ---- errors --------------------------------------------------------------- */

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

/* Start from { 0 }; after a failure, free with jc_error_clear. */
typedef struct jc_error {
	enum jc_error_kind kind;
	int status; /* errno-style: EINVAL, ENOENT, EPERM, ECONNREFUSED, ... */
	bool retry; /* the same call may succeed later */
	char *msg;  /* "step `object`: cause"; owned by the error */
} jc_error;

void jc_error_clear(jc_error *err);
/* "config", "input", "workspace", "engine", "system", "command". */
const char *jc_error_kind_name(enum jc_error_kind kind);

/* Exit statuses, as `jobcell run` uses them (after docker run and
 * timeout(1)): the job's own status passes through; 128+N for a job killed
 * by signal N. */
#define JC_EXIT_TIMEOUT  124 /* the wall-clock limit stopped the job */
#define JC_EXIT_JOBCELL  125 /* jobcell failed before or around the job */
#define JC_EXIT_NOEXEC   126 /* the command could not be invoked */
#define JC_EXIT_NOTFOUND 127 /* the command was not found */
/* The exit status that goes with a failure: 126, 127 or 125. */
int jc_exit_status_of_error(const jc_error *err);

/* ---- sites ---------------------------------------------------------------- */

typedef struct jc_site jc_site;

/* Load a site's configuration: the built-in defaults, $DOCKER_HOST, then
 * <dir>/defaults.ini when it exists, then the site file `file`, or, when
 * `file` is NULL, <dir>/<name>.ini (whose [site] name must be `name`).
 * `dir` NULL means $JOBCELL_CONFIG_DIR, else /etc/jobcell.  The site is
 * validated; nothing is contacted.  Free with jc_site_close. */
int jc_site_open(const char *dir, const char *file, const char *name, jc_site **out,
		 jc_error *err);
void jc_site_close(jc_site *site);
/* The site's [site] name. */
const char *jc_site_name(const jc_site *site);

/* One decision of jc_site_gc. */
struct jc_gc_item {
	const char *kind; /* "container", "volume" */
	const char *name;
	bool removed; /* or would be, with dry_run */
	const char *why;
};
typedef void (*jc_gc_fn)(void *ctx, const struct jc_gc_item *item);

/* Remove what dead supervisors of this site left behind: containers and
 * volumes older than `older_than_ms` that are past their jobcell.deadline
 * (plus [gc] clock_skew), whoever made them, or whose supervisor is gone;
 * never a kept volume, and before its deadline never a live job's or one
 * whose supervisor cannot be judged from here (another pid namespace, boot
 * or host: `jobcell gc --others-gone` is the command line's way to collect
 * those).  Each decision goes to `fn` (may be NULL).
 * Returns -1 when listing failed or any removal failed (the rest is still
 * tried). */
int jc_site_gc(jc_site *site, int64_t older_than_ms, bool dry_run, jc_gc_fn fn, void *ctx,
	       jc_error *err);

/* ---- jobs ----------------------------------------------------------------- */

typedef struct jc_job jc_job;

/* A job request of `site` named `name` (checked against the site's name
 * rules).  The site must outlive the job.  Free with jc_job_free, which
 * never touches the engine: a started job stays until jc_job_remove. */
int jc_job_new(jc_site *site, const char *name, jc_job **out, jc_error *err);
void jc_job_free(jc_job *job);

/* The request.  Each setter judges its input at once and leaves the job as
 * it was on failure. */
/* A [job] key of the site, by its bare name ("image", "timeout", "memory",
 * ...): refused (JC_ERR_INPUT, EPERM) unless the site lists it in [job]
 * overridable; limits may only be lowered.  "entrypoint" replaces the
 * image's entrypoint with one word, an absolute path or a name ("" clears
 * it), when the site lists entrypoint there. */
int jc_job_set(jc_job *job, const char *key, const char *value, jc_error *err);
/* "NAME=VALUE" for the job's environment.  Replaces a variable the site
 * sets only when the site lists `env` in overridable (checked at launch). */
int jc_job_add_env(jc_job *job, const char *entry, jc_error *err);
/* The job's command, one argument at a time; none: the image's. */
int jc_job_add_arg(jc_job *job, const char *arg, jc_error *err);
/* Volume mode: the tenant and run of the job's volume (default: the
 * site's [volume] tenant and run), files to send in ("SRC[:DEST]", SRC
 * relative to [volume] transfer_dir), the directory to fetch the job's
 * directory into after it exits (beneath transfer_dir), and whether the
 * volume outlives the job.  Refused in bind mode. */
int jc_job_set_tenant(jc_job *job, const char *tenant, jc_error *err);
int jc_job_set_run(jc_job *job, const char *run, jc_error *err);
int jc_job_add_input(jc_job *job, const char *spec, jc_error *err);
int jc_job_set_output(jc_job *job, const char *dir, jc_error *err);
int jc_job_set_keep(jc_job *job, bool keep, jc_error *err);

/* Where the job's stdout and stderr go (default 1 and 2).  Written without
 * blocking: a reader that stops reading pauses the output, never the
 * supervision. */
void jc_job_set_output_fds(jc_job *job, int out_fd, int err_fd);
/* A signalfd (or -1) the caller reads SIGTERM, SIGINT and SIGHUP from:
 * the first stops the job gracefully, the second kills it.  And the pid of
 * the caller's parent (0: none): when it changes, the parent died and the
 * job is stopped.  The library never installs signal handlers. */
void jc_job_set_signal_fd(jc_job *job, int fd);
void jc_job_set_parent(jc_job *job, pid_t parent);
/* Pass `fd` (the caller's stdin; -1: none, the default) as the job's
 * standard input, closed for the job at its EOF.  Read without blocking
 * and without changing the caller's descriptor; what the job does not read
 * is left unread, and is not an error.  jc_job_run only: jc_job_start
 * refuses it (JC_ERR_INPUT, EINVAL). */
int jc_job_set_stdin(jc_job *job, int fd, jc_error *err);

struct jc_job_outcome {
	int exit_status; /* as `jobcell run` exits: the job's status, 124, 128+N */
	int job_status;  /* the container's own exit code */
	bool timed_out;
	bool oom_killed;
	bool parent_died;
	int signal; /* the first signal that stopped the job, or 0 */
};

/* Run the job to its end: check everything, create, start, supervise,
 * collect outputs, remove the container (and the volume unless kept).
 * Fails (-1) only when jobcell failed; a job that failed is a success
 * with its status in *out.  A job runs once. */
int jc_job_run(jc_job *job, struct jc_job_outcome *out, jc_error *err);
/* Create and start the job, and return once it runs; it is the caller's
 * to wait for, stop and remove. */
int jc_job_start(jc_job *job, jc_error *err);
/* After a run or start: the container's id, the job's volume (volume mode),
 * and a warning the run ended with (its output was cut short, an output
 * member was refused, the volume was left behind); NULL when none. */
const char *jc_job_container(const jc_job *job);
const char *jc_job_volume(const jc_job *job);
const char *jc_job_warning(const jc_job *job);

/* Started jobs of a site, by name.  Each first checks by the container's
 * labels that it is that job of that site (JC_ERR_INPUT, EPERM if not). */
/* Wait up to `timeout_ms` (0: no limit) for the job to exit; its status in
 * *exit_status.  Returns 1 when the time passed first. */
int jc_job_wait(jc_site *site, const char *name, int64_t timeout_ms, int *exit_status,
		jc_error *err);
/* Stop: SIGTERM, SIGKILL after `grace_ms` (-1: the site's stop_grace). */
int jc_job_stop(jc_site *site, const char *name, int64_t grace_ms, jc_error *err);
/* Remove the container, and its volume unless kept. */
int jc_job_remove(jc_site *site, const char *name, jc_error *err);

#ifdef __cplusplus
}
#endif

#endif
