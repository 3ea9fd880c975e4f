/* Who may do what: the user a job runs as (and whether root is allowed),
 * and which engine objects are this site's.  The override allowlist and the
 * limits a request may only lower are config.c's jc_config_override. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "policy.h"
#include "units.h"

int jc_policy_image(struct jc_backend *e, const char *image, struct jc_image *out, jc_error *err)
{
	struct jc_image im = { 0 };

	if (jc_backend_image_inspect(e, image, &im, err) < 0)
		return -1;
	if (im.jobcell_label) {
		jc_error_set(err, JC_ERR_INPUT, EPERM,
			     "image `%s` carries label `%s`: an image may not set the labels by "
			     "which jobcell keeps and removes what it made",
			     image, im.jobcell_label);
		jc_image_free(&im);
		return -1;
	}
	if (out)
		*out = im;
	else
		jc_image_free(&im);
	return 0;
}

int jc_policy_user(const struct jc_config *cfg, const char *image, const char *image_user,
		   int job_fd, enum jc_auto_user au, bool for_job, char **user, uid_t *uid,
		   gid_t *gid, jc_error *err)
{
	const char *u = cfg->user, *from = "[job] user";
	bool is_auto = u && strcmp(u, "auto") == 0;
	char buf[32];
	struct stat st;
	uid_t id;
	gid_t gr;

	if (is_auto && job_fd >= 0) {
		from = "[job] user = auto";
		if (fstat(job_fd, &st) < 0)
			return jc_error_set(err, JC_ERR_SYSTEM, errno,
					    "user = auto: fstat the job directory: %s",
					    strerror(errno));
		id = st.st_uid;
		gr = st.st_gid;
	} else if (is_auto && au == JC_AUTO_NOBODY) {
		from = "[job] user = auto";
		id = JC_NOBODY;
		gr = JC_NOBODY;
	} else if (is_auto && au == JC_AUTO_NEEDS_DIR) {
		return jc_error_set(err, JC_ERR_INPUT, ENOENT,
				    "[job] user = auto takes the job directory's owner, and the "
				    "job directory does not exist");
	} else if (!u || is_auto) {
		from = "the image's user";
		u = image_user && *image_user ? image_user : "0:0";
		if (jc_parse_user(u, &id, &gr) < 0)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "image `%s` runs as `%.64s`, which is not numeric: set "
					    "[job] user = uid:gid",
					    image, u);
	} else if (jc_parse_user(u, &id, &gr) < 0) {
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "[job] user `%s` is not numeric",
				    u);
	}
	if (for_job && id == 0 && !cfg->allow_root)
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "the job would run as root (uid 0, from %s): set [job] "
				    "allow_root = true to allow it",
				    from);
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)id, (unsigned)gr);
	if (!(*user = strdup(buf)))
		return jc_error_oom(err);
	*uid = id;
	*gid = gr;
	return 0;
}

int jc_policy_own_container(const struct jc_config *cfg, const char *job, const char *name,
			    const struct jc_inspect *in, jc_error *err)
{
	if (in->labels.managed && in->labels.job && strcmp(in->labels.job, job) == 0 && in->labels.site &&
	    strcmp(in->labels.site, cfg->site_name) == 0)
		return 0;
	return jc_error_set(err, JC_ERR_INPUT, EPERM,
			    "container `%s` is not labelled as job `%s` of site `%s`",
			    name, job, cfg->site_name);
}

int jc_policy_own_volume(const struct jc_config *cfg, const struct jc_volume *v, jc_error *err)
{
	if (v->labels.managed && v->labels.site && strcmp(v->labels.site, cfg->site_name) == 0)
		return 0;
	return jc_error_set(err, JC_ERR_INPUT, EPERM,
			    "volume `%s` is not labelled as a volume of site `%s`", v->name,
			    cfg->site_name);
}

/* Both there, and equal. */
static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int jc_policy_chained_volume(const struct jc_config *cfg, const char *tenant,
			     const struct jc_volume *v, jc_error *err)
{
	const struct jc_labels *l = &v->labels;

	if (jc_policy_own_volume(cfg, v, err) < 0)
		return -1;
	/* the tenant label is the whole of the boundary between tenants */
	if (!same(l->tenant, tenant))
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "volume `%s` is not tenant `%s`'s: a job mounts only its own "
				    "tenant's volumes",
				    v->name, tenant);
	/* one that is not kept belongs to a job that runs, or is about to be
	 * removed with it */
	if (!l->keep)
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "volume `%s` is not kept (no jobcell.keep=true label): only a "
				    "kept volume can be mounted into another job",
				    v->name);
	return 0;
}

int jc_policy_job_volume(const struct jc_config *cfg, const char *job,
			 const struct jc_inspect *in, const struct jc_volume *v, jc_error *err)
{
	const struct jc_labels *c = &in->labels, *l = &v->labels;

	if (jc_policy_own_volume(cfg, v, err) < 0)
		return -1;
	/* the names say whose it is, the nonce which of theirs: only the run
	 * that made the volume wrote it into the container's labels */
	if (!same(c->tenant, l->tenant) || !same(c->run, l->run) || !same(job, l->job) ||
	    !same(c->job, l->job) || !same(c->volume_nonce, l->nonce))
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "volume `%s` is not job `%s`'s own volume: its tenant, run, "
				    "job or nonce label differs from the container's",
				    v->name, job);
	if (l->keep)
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "volume `%s` is kept: remove it with `volume rm`", v->name);
	return 0;
}
