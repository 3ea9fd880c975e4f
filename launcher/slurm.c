/* The Slurm allocation in jobcell's environment.  Slurm's batch and
 * interactive steps export SLURM_JOB_ID and, with GPUs allocated,
 * SLURM_JOB_GPUS (Slurm 22.05 sbatch(1)), srun's steps SLURM_STEP_GPUS;
 * every value is checked as input:
 * it becomes a device request and a cgroup path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "cleanup.h"
#include "slurm.h"

void jc_slurm_alloc_free(struct jc_slurm_alloc *a)
{
	free(a->job_id);
	jc_gpus_free(&a->gpus);
	free(a->gpus_from);
	free(a->cgroup_parent);
	*a = (struct jc_slurm_alloc){ 0 };
}

bool jc_slurm_wanted(const struct jc_config *cfg)
{
	return cfg->gpus.count == JC_GPUS_SLURM ||
	       (cfg->cgroup_parent && strcmp(cfg->cgroup_parent, "slurm") == 0) ||
	       (cfg->timeout_from && strcmp(cfg->timeout_from, "slurm") == 0);
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int jc_slurm_job_id(char *const *envp, const char *key, const char **out, jc_error *err)
{
	const char *id = env_get(envp, "SLURM_JOB_ID");
	size_t n = id ? strlen(id) : 0;

	if (!id)
		return jc_error_set(err, JC_ERR_CONFIG, ESRCH,
				    "%s: SLURM_JOB_ID is not set: jobcell runs outside a Slurm job",
				    key);
	if (n < 1 || n > JC_SLURM_JOB_ID_MAX || strspn(id, "0123456789") != n || id[0] == '0')
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "%s: SLURM_JOB_ID is not a Slurm job id (1 to %d digits)", key,
				    JC_SLURM_JOB_ID_MAX);
	*out = id;
	return 0;
}

/* GPU-<uuid> as nvidia-smi -L prints it. */
static bool gpu_uuid(const char *s, size_t n)
{
	return n > 4 && n <= 64 && strncmp(s, "GPU-", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdefABCDEF-") >= n - 4;
}

static bool gpu_index(const char *s, size_t n)
{
	return n >= 1 && n <= 4 && strspn(s, "0123456789") >= n;
}

int jc_slurm_gpus(char *const *envp, struct jc_gpus *out, const char **from, jc_error *err)
{
	/* the step's own first: an srun step inside a batch job inherits
	 * the job's SLURM_JOB_GPUS and has a subset of them */
	static const char *const names[] = { "SLURM_STEP_GPUS", "SLURM_JOB_GPUS",
					     "CUDA_VISIBLE_DEVICES" };
	const char *name = NULL, *v = NULL;
	struct jc_gpus g = { 0 };
	bool uuids_only;

	for (size_t i = 0; !v && i < sizeof(names) / sizeof(names[0]); i++)
		v = env_get(envp, name = names[i]);
	uuids_only = strcmp(name, "CUDA_VISIBLE_DEVICES") == 0;
	if (!v || !*v) {
		jc_gpus_free(out);
		*from = v ? name : NULL;
		return 0;
	}
	for (const char *p = v;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char id[JC_GPU_ID_MAX + 1];
		bool idx = gpu_index(p, n);

		if (!(idx || gpu_uuid(p, n))) {
			jc_gpus_free(&g);
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "[job] gpus = slurm: %s is not a list of GPU ids (0 to "
					    "9999, or GPU-<uuid>, separated by commas)",
					    name);
		}
		if (idx && uuids_only) {
			jc_gpus_free(&g);
			return jc_error_set(
			    err, JC_ERR_CONFIG, EINVAL,
			    "[job] gpus = slurm: SLURM_STEP_GPUS and SLURM_JOB_GPUS are not set "
			    "and "
			    "CUDA_VISIBLE_DEVICES holds indices, which Slurm numbers from 0 "
			    "inside the step's device cgroup: they would name other devices");
		}
		memcpy(id, p, n);
		id[n] = '\0';
		for (size_t i = 0; i < g.ids.n; i++)
			if (strcmp(g.ids.v[i], id) == 0) {
				jc_gpus_free(&g);
				return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
						    "[job] gpus = slurm: %s names GPU `%s` twice",
						    name, id);
			}
		if (g.ids.n >= JC_GPU_IDS_MAX) {
			jc_gpus_free(&g);
			return jc_error_set(err, JC_ERR_CONFIG, E2BIG,
					    "[job] gpus = slurm: %s names more than %d GPUs", name,
					    JC_GPU_IDS_MAX);
		}
		if (jc_strv_push(&g.ids, id) < 0) {
			jc_gpus_free(&g);
			return jc_error_oom(err);
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	jc_gpus_free(out);
	*out = g;
	*from = name;
	return 0;
}

int jc_slurm_end_time(char *const *envp, int64_t *end_s, jc_error *err)
{
	const char *v = env_get(envp, "SLURM_JOB_END_TIME");
	size_t n = v ? strlen(v) : 0;
	int64_t t = 0;

	if (!v)
		return jc_error_set(
		    err, JC_ERR_CONFIG, ESRCH,
		    "[job] timeout_from = slurm: SLURM_JOB_END_TIME is not set (Slurm "
		    "22.05 does not export it: the batch script sets it, see "
		    "jobcell.ini(5))");
	if (n < 1 || n > 12 || strspn(v, "0123456789") != n)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "[job] timeout_from = slurm: SLURM_JOB_END_TIME is not a unix "
				    "time in seconds");
	for (size_t i = 0; i < n; i++)
		t = t * 10 + (v[i] - '0');
	*end_s = t;
	return 0;
}

/* "12s" or "1.500s", for messages */
static void secs(char *buf, size_t size, int64_t ms)
{
	if (ms % 1000)
		snprintf(buf, size, "%lld.%03llds", (long long)(ms / 1000), (long long)(ms % 1000));
	else
		snprintf(buf, size, "%llds", (long long)(ms / 1000));
}

int jc_slurm_timeout(const struct jc_config *cfg, int64_t end_s, int64_t now_ms, int64_t cap_ms,
		     int64_t *out_ms, jc_error *err)
{
	int64_t left = end_s * 1000 - now_ms;
	int64_t t = left - cfg->stop_grace_ms - cfg->slurm_stop_margin_ms;

	if (t < 1000) {
		char l[32], g[32], m[32];
		secs(l, sizeof(l), left > 0 ? left : 0);
		secs(g, sizeof(g), cfg->stop_grace_ms);
		secs(m, sizeof(m), cfg->slurm_stop_margin_ms);
		return jc_error_set(err, JC_ERR_CONFIG, ETIME,
				    "[job] timeout_from = slurm: the Slurm allocation ends in %s, "
				    "which leaves the job no time before [job] stop_grace (%s) and "
				    "[slurm] stop_margin (%s)",
				    l, g, m);
	}
	*out_ms = cap_ms > 0 && cap_ms < t ? cap_ms : t;
	return 0;
}

int jc_slurm_check_kill_wait(const struct jc_config *cfg, jc_error *err)
{
	char g[32], m[32], k[32];

	if (cfg->slurm_kill_wait_ms <= 0 ||
	    cfg->stop_grace_ms + cfg->slurm_stop_margin_ms <= cfg->slurm_kill_wait_ms)
		return 0;
	secs(g, sizeof(g), cfg->stop_grace_ms);
	secs(m, sizeof(m), cfg->slurm_stop_margin_ms);
	secs(k, sizeof(k), cfg->slurm_kill_wait_ms);
	return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			    "[job] stop_grace (%s) + [slurm] stop_margin (%s) exceed [slurm] "
			    "kill_wait (%s): Slurm's SIGKILL would end jobcell before the job's "
			    "graceful stop and the container's removal",
			    g, m, k);
}

int jc_slurm_collect(const struct jc_config *cfg, char *const *envp, struct jc_slurm_alloc *out,
		     jc_error *err)
{
	struct jc_slurm_alloc a = { 0 };
	bool want_cg = cfg->cgroup_parent && strcmp(cfg->cgroup_parent, "slurm") == 0;
	bool want_end = cfg->timeout_from && strcmp(cfg->timeout_from, "slurm") == 0;
	const char *id, *from = NULL;

	if (jc_slurm_check_kill_wait(cfg, err) < 0)
		return -1;
	if (!jc_slurm_wanted(cfg)) {
		*out = a;
		return 0;
	}
	if (jc_slurm_job_id(envp,
			    want_cg    ? "[job] cgroup_parent = slurm"
			    : want_end ? "[job] timeout_from = slurm"
				       : "[job] gpus = slurm",
			    &id, err) < 0)
		return -1;
	if (want_end && jc_slurm_end_time(envp, &a.end_s, err) < 0)
		return -1;
	if (!(a.job_id = strdup(id)))
		return jc_error_oom(err);
	if (cfg->gpus.count == JC_GPUS_SLURM) {
		if (jc_slurm_gpus(envp, &a.gpus, &from, err) < 0)
			goto fail;
		if (from && !(a.gpus_from = strdup(from))) {
			jc_error_oom(err);
			goto fail;
		}
	}
	if (want_cg) {
		cleanup_free char *text = NULL;
		if (jc_cgroup_read_self(&text, err) < 0)
			goto fail;
		a.cgroup_version = jc_cgroup_text_v2(text) ? 2 : 1;
		if (jc_cgroup_slurm_parent(text, id, a.cgroup_version == 2, &a.cgroup_parent, err) <
		    0)
			goto fail;
	}
	*out = a;
	return 0;
fail:
	jc_slurm_alloc_free(&a);
	return -1;
}
