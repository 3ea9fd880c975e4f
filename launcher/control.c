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

/* A started job of the site: its backend and container. */
struct target {
	struct jc_backend *b;
	struct jc_inspect in;
	char *name; /* the container's name */
};

static void target_free(struct target *t)
{
	jc_inspect_free(&t->in);
	free(t->name);
}

/* The container of job `job` of this site, after checking its labels. */
static int find(jc_site *s, const char *job, struct target *t, jc_error *err)
{
	if (jc_name_check_job(job, &s->cfg.reserved, err) < 0)
		return -1;
	if (!(t->name = jc_container_name(s->cfg.site_name, job)))
		return jc_error_oom(err);
	if (jc_site_backend(s, &t->b, err) < 0 || jc_backend_inspect(t->b, t->name, &t->in, err) < 0)
		return -1;
	return jc_policy_own_container(&s->cfg, job, t->name, &t->in, err);
}

int jc_job_wait(jc_site *s, const char *name, int64_t timeout_ms, int *exit_status,
		jc_error *err)
{
	return jc_job_wait_signal(s, name, timeout_ms, -1, exit_status, err);
}

int jc_job_wait_signal(jc_site *s, const char *name, int64_t timeout_ms, int signal_fd,
		       int *exit_status, jc_error *err)
{
	__attribute__((cleanup(target_free))) struct target t = { 0 };
	int status = 0, r;

	if (find(s, name, &t, err) < 0)
		return -1;
	r = jc_supervise_wait(t.b, t.in.id, t.name, timeout_ms > 0 ? timeout_ms : 0, signal_fd,
			      &status, err);
	if (r < 0)
		return -1;
	*exit_status = jc_exit_status_of_outcome(status, r == 1);
	return r;
}

int jc_job_stop(jc_site *s, const char *name, int64_t grace_ms, jc_error *err)
{
	__attribute__((cleanup(target_free))) struct target t = { 0 };
	int64_t grace = grace_ms >= 0 ? grace_ms : s->cfg.stop_grace_ms;

	if (find(s, name, &t, err) < 0)
		return -1;
	return jc_backend_stop(t.b, t.in.id, t.name, (int)((grace + 999) / 1000), err);
}

int jc_job_logs(jc_site *s, const char *name, bool follow, int signal_fd, jc_sink_fn sink,
		void *ctx, jc_error *err)
{
	__attribute__((cleanup(target_free))) struct target t = { 0 };

	if (find(s, name, &t, err) < 0)
		return -1;
	return jc_supervise_logs(t.b, t.in.id, t.name, follow, signal_fd, sink, ctx, err);
}

int jc_job_remove(jc_site *s, const char *name, jc_error *err)
{
	__attribute__((cleanup(target_free))) struct target t = { 0 };
	struct jc_volume v = { 0 };
	jc_error verdict = { 0 };
	bool has_volume = false;
	int r;

	if (find(s, name, &t, err) < 0)
		return -1;
	/* a volume-mode job's own volume goes with it, unless kept.  The
	 * container's labels only point at it: whether it is the job's own is
	 * judged on the volume, before anything is removed */
	if (t.in.labels.volume && !t.in.labels.keep) {
		if (jc_volume_name_check(t.in.labels.volume, err) < 0)
			return jc_error_wrap(err, "container `%s`: volume label", t.name);
		if (jc_backend_volume_inspect(t.b, t.in.labels.volume, &v, err) == 0)
			has_volume = true;
		else if (err->status == ENOENT)
			jc_error_clear(err); /* gone already: nothing of it to remove */
		else
			return -1;
	}
	if (has_volume && jc_policy_job_volume(&s->cfg, name, &t.in, &v, &verdict) < 0)
		has_volume = false;
	/* the container is the job's (find): it goes, whatever its volume */
	r = jc_backend_remove(t.b, t.in.id, t.name, err);
	if (r == 0 && has_volume)
		r = jc_volume_remove_retry(t.b, v.name, JC_VOLUME_REMOVE_TRIES, err);
	if (r == 0 && verdict.msg) {
		jc_error_set(err, verdict.kind, verdict.status,
			     "job `%s` removed, its volume label left alone: %s", name, verdict.msg);
		r = -1;
	}
	jc_error_clear(&verdict);
	jc_volume_free(&v);
	return r;
}
