/* Started jobs, by name: wait, stop, logs, remove.  Each first checks by
 * the container's labels that it is that job of this site. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "job.h"
#include "names.h"
#include "plan.h"
#include "supervise.h"
#include "volume.h"

/* The engine, and the container of job `name` of this site after checking
 * its labels.  *in is the caller's to free; *cname too. */
static int find(jc_site *s, const char *name, struct jc_backend **e, struct jc_inspect *in,
		char **cname, jc_error *err)
{
	cleanup_free char *n = NULL;
	struct jc_inspect got = { 0 };

	if (jc_name_check_job(name, &s->cfg.reserved, err) < 0)
		return -1;
	if (!(n = jc_container_name(s->cfg.site_name, name)))
		return jc_error_oom(err);
	if (jc_site_backend(s, e, err) < 0 || jc_backend_inspect(*e, n, &got, err) < 0)
		return -1;
	if (jc_policy_own_container(&s->cfg, name, n, &got, err) < 0) {
		jc_inspect_free(&got);
		return -1;
	}
	*in = got;
	*cname = steal_pointer(&n);
	return 0;
}

int jc_job_wait(jc_site *s, const char *name, int64_t timeout_ms, int *exit_status,
		jc_error *err)
{
	return jc_job_wait_signal(s, name, timeout_ms, -1, exit_status, err);
}

int jc_job_wait_signal(jc_site *s, const char *name, int64_t timeout_ms, int signal_fd,
		       int *exit_status, jc_error *err)
{
	struct jc_backend *e;
	struct jc_inspect in = { 0 };
	cleanup_free char *cname = NULL;
	int status = 0, r;

	if (find(s, name, &e, &in, &cname, err) < 0)
		return -1;
	r = jc_supervise_wait(e, in.id, cname, timeout_ms > 0 ? timeout_ms : 0, signal_fd, &status,
			      err);
	jc_inspect_free(&in);
	if (r < 0)
		return -1;
	*exit_status = jc_exit_status_of_outcome(status, r == 1);
	return r;
}

int jc_job_stop(jc_site *s, const char *name, int64_t grace_ms, jc_error *err)
{
	struct jc_backend *e;
	struct jc_inspect in = { 0 };
	cleanup_free char *cname = NULL;
	int64_t grace = grace_ms >= 0 ? grace_ms : s->cfg.stop_grace_ms;
	int r;

	if (find(s, name, &e, &in, &cname, err) < 0)
		return -1;
	r = jc_backend_stop(e, in.id, cname, (int)((grace + 999) / 1000), err);
	jc_inspect_free(&in);
	return r;
}

int jc_job_logs(jc_site *s, const char *name, bool follow, int signal_fd, jc_sink_fn sink,
		void *ctx, jc_error *err)
{
	struct jc_backend *e;
	struct jc_inspect in = { 0 };
	cleanup_free char *cname = NULL;
	int r;

	if (find(s, name, &e, &in, &cname, err) < 0)
		return -1;
	r = jc_supervise_logs(e, in.id, cname, follow, signal_fd, sink, ctx, err);
	jc_inspect_free(&in);
	return r;
}

int jc_job_remove(jc_site *s, const char *name, jc_error *err)
{
	struct jc_backend *e;
	struct jc_inspect in = { 0 };
	cleanup_free char *cname = NULL;
	int r;

	if (find(s, name, &e, &in, &cname, err) < 0)
		return -1;
	r = jc_backend_remove(e, in.id, cname, err);
	/* a volume-mode job's own volume goes with it, unless kept */
	if (r == 0 && in.labels.volume && !in.labels.keep)
		r = jc_site_volume_remove(s, in.labels.volume, err);
	jc_inspect_free(&in);
	return r;
}
