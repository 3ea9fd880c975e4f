/* The Slurm allocation in jobcell's environment.  Slurm's batch and
 * interactive steps export SLURM_JOB_ID and, with GPUs allocated,
 * SLURM_JOB_GPUS (Slurm 22.05 sbatch(1)); every value is checked as input:
 * it becomes a device request and a cgroup path. */
#include <errno.h>
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
	       (cfg->cgroup_parent && strcmp(cfg->cgroup_parent, "slurm") == 0);
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
	const char *name = "SLURM_JOB_GPUS", *v = env_get(envp, name);
	struct jc_gpus g = { 0 };
	bool uuids_only;

	if (!v) {
		name = "CUDA_VISIBLE_DEVICES";
		v = env_get(envp, name);
	}
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
			    "[job] gpus = slurm: SLURM_JOB_GPUS is not set and "
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

int jc_slurm_collect(const struct jc_config *cfg, char *const *envp, struct jc_slurm_alloc *out,
		     jc_error *err)
{
	struct jc_slurm_alloc a = { 0 };
	bool want_cg = cfg->cgroup_parent && strcmp(cfg->cgroup_parent, "slurm") == 0;
	const char *id, *from = NULL;

	if (!jc_slurm_wanted(cfg)) {
		*out = a;
		return 0;
	}
	if (jc_slurm_job_id(envp, want_cg ? "[job] cgroup_parent = slurm" : "[job] gpus = slurm",
			    &id, err) < 0)
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
