/* The job pipeline (job.c) and the site a job belongs to (site.c): what
 * include/jobcell.h declares, plus what the command line and check need
 * beyond it.  The sequence of a job's life exists once, in job.c. */
#ifndef JC_JOB_H
#define JC_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jobcell.h>

#include "archive.h"
#include "config.h"
#include "backend.h"
#include "error.h"
#include "policy.h"
#include "stage.h"

/* ---- sites (site.c) ---- */

struct jc_site {
	struct jc_config cfg;
	struct jc_backend *engine; /* opened and pinged by jc_site_backend */
	struct jc_cancel cancel;   /* armed on the engine when it opens */
	bool cancel_set;
};

/* jc_site_open, keeping every problem found while loading in *problems
 * (may be NULL; "file:line: ..."), also when it fails. */
int jc_site_load(const char *dir, const char *file, const char *name, jc_site **out,
		 struct jc_strv *problems, jc_error *err);
const struct jc_config *jc_site_config(const jc_site *site);
/* The site's engine, opened and its API negotiated on first use. */
int jc_site_backend(jc_site *site, struct jc_backend **e, jc_error *err);
/* What gives up the site's engine requests (the volume commands'): see
 * struct jc_cancel.  A job's run arms its own for its life. */
void jc_site_set_cancel(jc_site *site, const struct jc_cancel *c);

/* ---- jobs (job.c) ---- */

/* Write job output to the fds `ctx` points to (int[2]: stdout, stderr)
 * without blocking; returns what the fds took now. */
size_t jc_sink_fds(void *ctx, int stream, const char *buf, size_t len);
/* The create request the job would make now, indented; contacts nothing. */
int jc_job_plan(jc_job *job, char **json, jc_error *err);

/* What check adds to a request: the probe is its entrypoint and its only
 * input; its job directory or volume is made new and removed after it. */
void jc_job_set_sink(jc_job *job, jc_sink_fn sink, void *ctx);
void jc_job_set_progress(jc_job *job, jc_stage_progress_fn fn, void *ctx);
/* Told once, with the container's id, when the engine started the job's
 * container (run --ready-fd); never when the run ends before that. */
void jc_job_set_started(jc_job *job, void (*fn)(void *ctx, const char *id), void *ctx);
int jc_job_set_entrypoint(jc_job *job, const char *arg, jc_error *err);
/* --mount-volume VOLUME:PATH (volume mode): a kept volume of the job's
 * tenant, mounted read-only at PATH; the shape is judged here
 * (jc_plan_check_chained), whose volume it is when the job is launched
 * (jc_policy_chained_volume), before anything is made. */
int jc_job_add_volume_mount(jc_job *job, const char *spec, jc_error *err);
/* An input beneath `base_fd` (not transfer_dir), allowed in either mode. */
int jc_job_add_input_at(jc_job *job, int base_fd, const char *spec, jc_error *err);
/* The job's own configuration (the site's, with the request's overrides),
 * for check's second probe as root. */
struct jc_config *jc_job_config(jc_job *job);
/* A job directory that must not exist yet and that is removed after the
 * job (bind mode); a volume removed after the job whatever keep says. */
void jc_job_set_fresh(jc_job *job, enum jc_auto_user au);
/* After jc_job_run failed: the job's outcome when it ran to its end and
 * only fetching its output failed (a limit, a full disk, the engine); else
 * NULL. */
const struct jc_job_outcome *jc_job_ran(const jc_job *job);
/* What an output fetch refused, for warnings. */
const struct jc_extract_report *jc_job_extract_report(const jc_job *job);
/* The volume was kept after the job, by request or by the site. */
bool jc_job_volume_kept(const jc_job *job);
/* The job's output was cut short (a warning of the run itself, apart from
 * one about its volume). */
const char *jc_job_output_warning(const jc_job *job);

/* ---- started jobs (control.c) ---- */

/* jc_job_wait, ended early by a signal read from `signal_fd` (or -1). */
int jc_job_wait_signal(jc_site *site, const char *name, int64_t timeout_ms, int signal_fd,
		       int *exit_status, jc_error *err);
/* Print a started job's logs into `sink`, following while it runs;
 * `signal_fd` (or -1) ends a follow. */
int jc_job_logs(jc_site *site, const char *name, bool follow, int signal_fd, jc_sink_fn sink,
		void *ctx, jc_error *err);

/* ---- the site's volumes (site.c) ---- */

/* A volume of this site, checked by its labels before anything is done. */
int jc_site_volume_create(jc_site *site, const char *tenant, const char *run, char **name,
			  jc_error *err);
int jc_site_volume_remove(jc_site *site, const char *name, jc_error *err);
int jc_site_volume_put(jc_site *site, const char *volume, const struct jc_strv *specs,
		       const struct jc_stage_progress *p, jc_error *err);
/* Fetch PATHs of the volume (none: all of it) into DIR beneath the
 * transfer directory; refused members are added to *rep. */
int jc_site_volume_get(jc_site *site, const char *volume, const struct jc_strv *paths,
		       const char *to, struct jc_extract_report *rep,
		       const struct jc_stage_progress *p, jc_error *err);

/* jc_site_gc, and with `others_gone` the operator's word that every
 * supervisor of the site outside this boot and pid namespace is gone
 * (jc_gc_opts); the clock skew is the site's [gc] clock_skew. */
int jc_site_gc_others(jc_site *site, int64_t older_than_ms, bool dry_run, bool others_gone,
		      jc_gc_fn fn, void *ctx, jc_error *err);

/* The site's containers (and stopped ones with `all`), and its volumes. */
int jc_site_list(jc_site *site, bool all, struct jc_container_list *out, jc_error *err);
int jc_site_volume_list(jc_site *site, struct jc_volume_list *out, jc_error *err);

/* Remove a volume, retrying while a removed container still holds it. */
#define JC_VOLUME_REMOVE_TRIES 10

#endif
