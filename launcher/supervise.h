/* Supervision of one job (supervise.c). */
#ifndef JC_SUPERVISE_H
#define JC_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "plan.h"

struct jc_feed;

struct jc_supervise_opts {
	int signal_fd;   /* a signalfd for SIGTERM/SIGINT/SIGHUP, or -1 */
	pid_t parent;    /* the parent at start: a change means it died */
	jc_sink_fn sink; /* where the job's output goes */
	void *sink_ctx;
	bool detach; /* start and return, no waiting */
	/* the caller's stdin for the job's (run -i; never with detach), or
	 * NULL: attached before the start, fed while the job runs */
	struct jc_feed *feed;
	/* called between create and start; may refuse (e.g. workspace recheck) */
	int (*before_start)(void *ctx, jc_error *err);
	void *before_start_ctx;
	/* called after the job exited, before the container is removed (e.g. to
	 * fetch its outputs); may fail the run */
	int (*after_exit)(void *ctx, const char *id, jc_error *err);
	void *after_exit_ctx;
	/* called once the engine started the container (e.g. --ready-fd);
	 * cannot fail the run */
	void (*after_start)(void *ctx, const char *id);
	void *after_start_ctx;
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
int jc_supervise_run(struct jc_backend *e, const struct jc_plan *plan,
		     const struct jc_supervise_opts *o, struct jc_run_result *res, jc_error *err);
void jc_run_result_free(struct jc_run_result *r);
/* Wait for a container to stop running, bounded by timeout_ms (0: none).
 * Returns 1 when that bound passed.  `name` (NULL: ref) is for messages. */
int jc_supervise_wait(struct jc_backend *e, const char *ref, const char *name, int64_t timeout_ms,
		      int signal_fd, int *status, jc_error *err);
/* Print (into sink) a container's logs, following while it runs.  A reader
 * may take its time; only the engine's silence is bounded. */
int jc_supervise_logs(struct jc_backend *e, const char *ref, const char *name, bool follow,
		      int signal_fd, jc_sink_fn sink, void *ctx, jc_error *err);

#endif
