/* A site: its configuration (built-in defaults < defaults.ini < the site
 * file; the endpoint, when neither names it, as the Docker CLI finds it),
 * its engine, opened once, and what is done
 * to the site as a whole: gc and the volume commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "endpoint.h"
#include "fsutil.h"
#include "job.h"
#include "names.h"
#include "volume.h"

static int load(struct jc_config *cfg, const char *dir, const char *file, const char *name,
		jc_error *err)
{
	cleanup_free char *defaults = NULL;
	cleanup_free char *site_file = NULL;
	struct stat st;

	if (!dir || !*dir)
		dir = getenv("JOBCELL_CONFIG_DIR");
	if (!dir || !*dir)
		dir = "/etc/jobcell";
	if (file && name)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "a site file and a site name exclude each other");
	if (asprintf(&defaults, "%s/defaults.ini", dir) < 0)
		return jc_error_oom(err);
	/* the defaults file is optional; the site file is not */
	if (stat(defaults, &st) == 0 && jc_config_load(cfg, defaults, err) < 0)
		return -1;
	if (file) {
		if (jc_config_load(cfg, file, err) < 0)
			return -1;
	} else if (name) {
		if (jc_name_check_site(name, err) < 0)
			return jc_error_wrap(err, "--site");
		if (asprintf(&site_file, "%s/%s.ini", dir, name) < 0)
			return jc_error_oom(err);
		if (jc_config_load(cfg, site_file, err) < 0)
			return -1;
		if (!cfg->site_name && !(cfg->site_name = strdup(name)))
			return jc_error_oom(err);
		/* the file found by a name must be that site's, or labels lie */
		if (strcmp(cfg->site_name, name) != 0)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "%s: [site] name `%s` does not match --site `%s`",
					    site_file, cfg->site_name, name);
	} else {
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "no site: pass -c FILE or --site NAME");
	}
	if (jc_endpoint_resolve(cfg, err) < 0)
		return -1;
	return jc_config_validate(cfg, err);
}

int jc_site_load(const char *dir, const char *file, const char *name, jc_site **out,
		 struct jc_strv *problems, jc_error *err)
{
	jc_site *s = calloc(1, sizeof(*s));

	if (!s)
		return jc_error_oom(err);
	if (jc_config_init(&s->cfg, err) < 0) {
		free(s);
		return -1;
	}
	if (load(&s->cfg, dir, file, name, err) < 0) {
		if (problems)
			jc_strv_copy(problems, &s->cfg.problems);
		jc_site_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int jc_site_open(const char *dir, const char *file, const char *name, jc_site **out,
		 jc_error *err)
{
	return jc_site_load(dir, file, name, out, NULL, err);
}

void jc_site_close(jc_site *s)
{
	if (!s)
		return;
	jc_backend_close(s->engine);
	jc_config_free(&s->cfg);
	free(s);
}

const char *jc_site_name(const jc_site *s)
{
	return s->cfg.site_name;
}

const struct jc_config *jc_site_config(const jc_site *s)
{
	return &s->cfg;
}

int jc_site_backend(jc_site *s, struct jc_backend **e, jc_error *err)
{
	struct jc_backend *opened = NULL;

	if (!s->engine) {
		if (jc_backend_open(&s->cfg, &opened, err) < 0)
			return -1;
		if (s->cancel_set)
			jc_backend_set_cancel(opened, &s->cancel);
		if (jc_backend_ping(opened, err) < 0) {
			jc_backend_close(opened);
			return -1;
		}
		s->engine = opened;
	}
	*e = s->engine;
	return 0;
}

void jc_site_set_cancel(jc_site *s, const struct jc_cancel *c)
{
	s->cancel_set = c != NULL;
	if (c)
		s->cancel = *c;
	if (s->engine)
		jc_backend_set_cancel(s->engine, c);
}

int jc_site_gc_others(jc_site *s, int64_t older_than_ms, bool dry_run, bool others_gone,
		      jc_gc_fn fn, void *ctx, jc_error *err)
{
	const struct jc_gc_opts o = { .older_than_ms = older_than_ms,
				      .clock_skew_ms = s->cfg.clock_skew_ms,
				      .dry_run = dry_run,
				      .others_gone = others_gone };
	struct jc_backend *e;

	if (jc_site_backend(s, &e, err) < 0)
		return -1;
	return jc_gc(e, s->cfg.site_name, &o, fn, ctx, err);
}

int jc_site_gc(jc_site *s, int64_t older_than_ms, bool dry_run, jc_gc_fn fn, void *ctx,
	       jc_error *err)
{
	return jc_site_gc_others(s, older_than_ms, dry_run, false, fn, ctx, err);
}

int jc_site_list(jc_site *s, bool all, struct jc_container_list *out, jc_error *err)
{
	struct jc_backend *e;

	if (jc_site_backend(s, &e, err) < 0)
		return -1;
	return jc_backend_list(e, s->cfg.site_name, all, out, err);
}

int jc_site_volume_list(jc_site *s, struct jc_volume_list *out, jc_error *err)
{
	struct jc_backend *e;

	if (jc_site_backend(s, &e, err) < 0)
		return -1;
	return jc_backend_volume_list(e, s->cfg.site_name, out, err);
}

/* ---- the site's volumes ---- */

/* The engine, and `name` as a volume of this site that jobcell made: a name
 * alone could be anyone's. */
static int own_volume(jc_site *s, const char *name, struct jc_backend **e, jc_error *err)
{
	struct jc_volume v = { 0 };
	int r;

	if (jc_volume_name_check(name, err) < 0)
		return jc_error_wrap(err, "volume");
	if (jc_site_backend(s, e, err) < 0 || jc_backend_volume_inspect(*e, name, &v, err) < 0)
		return -1;
	r = jc_policy_own_volume(&s->cfg, &v, err);
	jc_volume_free(&v);
	return r;
}

int jc_site_volume_create(jc_site *s, const char *tenant, const char *run, char **name,
			  jc_error *err)
{
	struct jc_backend *e;
	/* kept, with no supervisor and no deadline: only `volume rm` ends it */
	const struct jc_volume_spec spec = {
		.site = s->cfg.site_name,
		.tenant = tenant ? tenant : s->cfg.tenant,
		.run = run ? run : s->cfg.run,
		.keep = true,
		.created = jc_unix_ms() / 1000,
		.size = s->cfg.volume_size,
	};

	/* bad names are refused before the engine is contacted */
	if (jc_name_check(spec.tenant, "tenant", err) < 0 || jc_name_check(spec.run, "run", err) < 0 ||
	    jc_site_backend(s, &e, err) < 0)
		return -1;
	return jc_volume_make(e, &spec, name, NULL, err);
}

int jc_site_volume_remove(jc_site *s, const char *name, jc_error *err)
{
	struct jc_backend *e;

	if (own_volume(s, name, &e, err) < 0)
		return -1;
	return jc_volume_remove_retry(e, name, JC_VOLUME_REMOVE_TRIES, err);
}

/* The transfer container is made from the site's image. */
static int need_image(const jc_site *s, const char *cmd, jc_error *err)
{
	if (s->cfg.image)
		return 0;
	return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			    "%s: no [job] image to make the transfer container from", cmd);
}

/* The jobcell.deadline of a transfer container made now, and the same
 * bound on every request of this command until transfer_done(): gc trusts
 * the label, so no live jobcell may still use the container past it. */
static int64_t transfer_bound(jc_site *s, struct jc_backend *e)
{
	int64_t d = jc_transfer_deadline(&s->cfg, jc_unix_ms() / 1000);
	struct jc_cancel c = s->cancel_set ? s->cancel : (struct jc_cancel){ -1, 0, 0 };

	if (d) {
		c.deadline_ms = jc_mono_ms() + d * 1000 - jc_unix_ms();
		jc_backend_set_cancel(e, &c);
	}
	return d;
}

static void transfer_done(jc_site *s, struct jc_backend *e)
{
	jc_backend_set_cancel(e, s->cancel_set ? &s->cancel : NULL);
}

int jc_site_volume_put(jc_site *s, const char *volume, const struct jc_strv *specs,
		       const struct jc_stage_progress *p, jc_error *err)
{
	struct jc_inputs in = { 0 };
	struct jc_backend *e;
	struct jc_image img = { 0 };
	cleanup_free char *user = NULL;
	cleanup_free char *supervisor = NULL;
	cleanup_close int base = -1;
	uid_t uid;
	gid_t gid;
	int r = -1;

	if (!specs->n)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "volume put: no SRC[:DEST] given");
	if (need_image(s, "volume put", err) < 0)
		return -1;
	if (jc_stage_open_base(&s->cfg, &base, err) < 0 ||
	    jc_inputs_open(base, specs, &in, err) < 0 || own_volume(s, volume, &e, err) < 0 ||
	    jc_policy_image(e, s->cfg.image, &img, err) < 0 ||
	    jc_policy_user(&s->cfg, s->cfg.image, img.user, -1, JC_AUTO_IMAGE, false, &user,
			   &uid, &gid, err) < 0 ||
	    jc_supervisor_self(&supervisor, err) < 0)
		goto out;
	r = jc_stage_fill_volume(e, &s->cfg, s->cfg.image, user, uid, gid, volume, supervisor,
				 transfer_bound(s, e), &in, p, err);
	transfer_done(s, e);
out:
	jc_image_free(&img);
	jc_inputs_free(&in);
	return r;
}

int jc_site_volume_get(jc_site *s, const char *volume, const struct jc_strv *paths,
		       const char *to, struct jc_extract_report *rep,
		       const struct jc_stage_progress *p, jc_error *err)
{
	struct jc_backend *e = NULL;
	cleanup_free char *id = NULL;
	cleanup_free char *supervisor = NULL;
	cleanup_close int base = -1;
	cleanup_close int out_fd = -1;
	struct jc_extract_limits lim;
	jc_error undo = { 0 };
	int r = 0;

	if (!to)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "volume get: --to DIR is missing");
	jc_stage_limits(&s->cfg, &lim);
	for (size_t i = 0; i < paths->n; i++)
		if (jc_path_check(paths->v[i], "volume get PATH", err) < 0)
			return -1;
	if (need_image(s, "volume get", err) < 0)
		return -1;
	if (jc_supervisor_self(&supervisor, err) < 0 ||
	    jc_stage_open_base(&s->cfg, &base, err) < 0 || own_volume(s, volume, &e, err) < 0 ||
	    jc_policy_image(e, s->cfg.image, NULL, err) < 0 ||
	    jc_path_check(to, "output directory", err) < 0 ||
	    jc_fs_open_dir(base, to, "output directory", true, &out_fd, err) < 0 ||
	    jc_transfer_open(e, s->cfg.image, NULL, volume, s->cfg.site_name, supervisor,
			     transfer_bound(s, e), &id, err) < 0) {
		if (e)
			transfer_done(s, e);
		return -1;
	}
	if (!paths->n)
		r = jc_stage_out(e, id, NULL, JC_TRANSFER_MOUNT "/.", out_fd, &lim, rep, p, err);
	for (size_t i = 0; r == 0 && i < paths->n; i++) {
		cleanup_free char *path = NULL;
		if (asprintf(&path, "%s/%s", JC_TRANSFER_MOUNT, paths->v[i]) < 0)
			r = jc_error_oom(err);
		else
			r = jc_stage_out(e, id, NULL, path, out_fd, &lim, rep, p, err);
	}
	jc_extract_limits_free(&lim);
	if (r < 0 && rep->cut) {
		cleanup_free char *shown_to = jc_text_printable_str(to);
		jc_error_wrap(err, "volume get `%s` into `%s`", volume, shown_to ? shown_to : "?");
	}
	jc_backend_hold_cancel(e); /* the transfer container goes, whatever came */
	if (jc_backend_remove(e, id, NULL, &undo) < 0 && r == 0) {
		jc_error_set(err, undo.kind, undo.status, "%s", undo.msg);
		r = -1;
	}
	transfer_done(s, e);
	jc_error_clear(&undo);
	return r;
}
