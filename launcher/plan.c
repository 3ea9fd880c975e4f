/* Config + job request -> plan: plain data that says everything the engine
 * will be asked to do.  Pure: no I/O, so tests and `jobcell plan` call it
 * directly. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "names.h"
#include "plan.h"
#include "units.h"
#include "util.h"

char *jc_container_name(const char *site, const char *job)
{
	char *s = NULL;
	if (asprintf(&s, "jobcell-%s-%s", site, job) < 0)
		return NULL;
	return s;
}

static char *join(const char *a, const char *b)
{
	char *s = NULL;
	size_t n = strlen(a);
	/* mount_point and path are absolute without dot components (config.c) */
	if (asprintf(&s, "%s%s%s", a, (n && a[n - 1] == '/') ? "" : "/", b) < 0)
		return NULL;
	return s;
}

/* The size of a read-only tmpfs that stands where an engine would put a
 * writable one: it holds nothing. */
#define SCRATCH_RO_SIZE (64 << 10)

static int add_mount(struct jc_plan *p, enum jc_mount_type type, const char *source,
		     const char *target, bool ro, unsigned mode, int64_t size)
{
	struct jc_mount *m = &p->mounts[p->nmounts];

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->readonly = ro;
	m->mode = mode;
	m->size = size;
	m->target = strdup(target);
	m->source = source ? strdup(source) : NULL;
	p->nmounts++;
	if (!m->target || (source && !m->source))
		return -1;
	return 0;
}

static int add_label(struct jc_plan *p, const char *key, const char *value)
{
	struct jc_label *l = &p->labels[p->nlabels++];
	l->key = strdup(key);
	l->value = strdup(value);
	return (l->key && l->value) ? 0 : -1;
}

char *jc_plan_job_path(const struct jc_config *cfg, const char *job)
{
	return cfg->job_path ? strdup(cfg->job_path) : join(cfg->mount_point, job);
}

/* Bind sources are the workspace as the engine sees it; the target is
 * `at`, or mp/child. */
static int add_bind(struct jc_plan *p, const char *root, const char *mp, const char *child,
		    const char *at, bool ro)
{
	cleanup_free char *src = join(root, child);
	cleanup_free char *dst = at ? strdup(at) : join(mp, child);
	if (!src || !dst)
		return -1;
	return add_mount(p, JC_MOUNT_BIND, src, dst, ro, 0, 0);
}

/* A named volume (or one subpath of it) at `at`, or mount_point/child. */
static int add_volume(struct jc_plan *p, const char *volume, const char *subpath, const char *mp,
		      const char *child, const char *at, bool ro)
{
	cleanup_free char *dst = at ? strdup(at) : join(mp, child);
	if (!dst || add_mount(p, JC_MOUNT_VOLUME, volume, dst, ro, 0, 0) < 0)
		return -1;
	if (subpath && !(p->mounts[p->nmounts - 1].subpath = strdup(subpath)))
		return -1;
	return 0;
}

/* The three children of the workspace root: binds of the site workspace, or
 * volumes (the site's read-only ones, and the job's own). */
static int add_children(struct jc_plan *p, const struct jc_config *cfg,
			const struct jc_job_request *req)
{
	const char *mp = cfg->mount_point;
	/* jobcell checked the workspace at ws_path; when jobcell runs in a
	 * container on the host's engine, the engine finds the same directory
	 * at ws_host_path */
	const char *src = cfg->ws_host_path ? cfg->ws_host_path : cfg->ws_path;

	/* scratch: a sized tmpfs each, writable by whatever user the job is
	 * (a tmpfs mount takes a mode, not an owner), sticky as /tmp is */
	for (size_t i = 0; i < cfg->scratch.n; i++) {
		cleanup_free char *dst = join(mp, cfg->scratch.v[i]);
		if (!dst ||
		    add_mount(p, JC_MOUNT_TMPFS, NULL, dst, false, 01777, cfg->scratch_size) < 0)
			return -1;
	}
	if (cfg->ws_mode == JC_WS_BIND)
		return add_bind(p, src, mp, "startup", NULL, true) < 0 ||
			       add_bind(p, src, mp, "local", NULL, true) < 0 ||
			       add_bind(p, src, mp, req->job, cfg->job_path, false) < 0
			   ? -1
			   : 0;
	if (cfg->site_volume && *cfg->site_volume) {
		if (add_volume(p, cfg->site_volume, "startup", mp, "startup", NULL, true) < 0 ||
		    add_volume(p, cfg->site_volume, "local", mp, "local", NULL, true) < 0)
			return -1;
	} else if (add_volume(p, cfg->startup_volume, NULL, mp, "startup", NULL, true) < 0 ||
		   add_volume(p, cfg->local_volume, NULL, mp, "local", NULL, true) < 0) {
		return -1;
	}
	if (add_volume(p, req->volume, NULL, mp, req->job, cfg->job_path, false) < 0)
		return -1;
	/* chained volumes: read-only, so a job reads what an earlier one kept
	 * and changes none of it */
	for (size_t i = 0; i < req->chained.n; i++) {
		const char *c = req->chained.v[i], *colon = strchr(c, ':');
		cleanup_free char *name = strndup(c, (size_t)(colon - c));
		if (!name || add_volume(p, name, NULL, mp, NULL, colon + 1, true) < 0)
			return -1;
	}
	return 0;
}

/* [mounts], read-only at data_mount_point/NAME.  The source is HOST_PATH as
 * configured, in volume mode too: a data mount is always a host bind, and
 * with jobcell in a container (host_path set) the engine must find data at
 * the same paths jobcell checked them at. */
static int add_data(struct jc_plan *p, const struct jc_config *cfg)
{
	for (size_t i = 0; i < cfg->mounts.n; i++) {
		const char *entry = cfg->mounts.v[i], *eq = strchr(entry, '=');
		cleanup_free char *name = strndup(entry, (size_t)(eq - entry));
		cleanup_free char *dst = name ? join(cfg->data_mount_point, name) : NULL;
		if (!dst || add_mount(p, JC_MOUNT_BIND, eq + 1, dst, true, 0, 0) < 0)
			return -1;
	}
	return 0;
}

int jc_plan_check_backend(const struct jc_config *cfg, const struct jc_backend *b,
			  jc_error *err)
{
	const char *need = "?";

	if (cfg->ws_mode == JC_WS_VOLUME && cfg->site_volume && *cfg->site_volume &&
	    !jc_backend_supports(b, JC_FEATURE_VOLUME_SUBPATH, &need))
		return jc_error_set(err, JC_ERR_ENGINE, ENOTSUP,
				    "mount volume `%s` subpath `startup`: volume subpaths need "
				    "%s, the engine speaks %s",
				    cfg->site_volume, need, jc_backend_api(b));
	return 0;
}

int jc_plan_check_chained(const struct jc_config *cfg, const struct jc_strv *before,
			  const char *spec, char **volume, const char **path, jc_error *err)
{
	const char *colon = strchr(spec, ':'), *why;
	cleanup_free char *name = NULL;
	char buf[320];

	if (cfg->ws_mode != JC_WS_VOLUME)
		return jc_error_set(
		    err, JC_ERR_INPUT, EINVAL,
		    "--mount-volume: chained volumes need [workspace] mode = volume "
		    "(site `%s` is in bind mode)",
		    cfg->site_name);
	if (!colon)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "--mount-volume `%.200s`: want VOLUME:PATH", spec);
	if (!(name = strndup(spec, (size_t)(colon - spec))))
		return jc_error_oom(err);
	if (jc_volume_name_check(name, err) < 0)
		return jc_error_wrap(err, "--mount-volume");
	why = jc_config_mount_target_problem(cfg, colon + 1, buf, sizeof(buf));
	if (!why && cfg->job_path &&
	    (jc_path_within(colon + 1, cfg->job_path) || jc_path_within(cfg->job_path, colon + 1)))
		why = "must not be at, under or above [workspace] job_path";
	for (size_t i = 0; !why && before && i < before->n; i++) {
		const char *other = strchr(before->v[i], ':');
		if (other &&
		    (jc_path_within(colon + 1, other + 1) || jc_path_within(other + 1, colon + 1)))
			why = "must not be at, under or above another --mount-volume's path";
	}
	if (why)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "--mount-volume `%s`: path `%.200s` %s", name, colon + 1, why);
	if (before && before->n >= JC_CHAINED_MAX)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "--mount-volume: at most %d volumes",
				    JC_CHAINED_MAX);
	*volume = steal_pointer(&name);
	*path = colon + 1;
	return 0;
}

bool jc_plan_entrypoint_cleared(const struct jc_strv *ep)
{
	return ep->n == 1 && !*ep->v[0];
}

/* Length of NAME in "NAME=VALUE". */
static size_t env_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static bool env_has(const struct jc_strv *v, const char *entry)
{
	size_t n = env_name_len(entry);

	for (size_t i = 0; i < v->n; i++)
		if (env_name_len(v->v[i]) == n && strncmp(v->v[i], entry, n) == 0)
			return true;
	return false;
}

/* Is NAME of `entry` one of these bare names? */
static bool name_listed(const struct jc_strv *names, const char *entry)
{
	size_t n = env_name_len(entry);

	for (size_t i = 0; i < names->n; i++)
		if (strlen(names->v[i]) == n && strncmp(names->v[i], entry, n) == 0)
			return true;
	return false;
}

/* Replace the entry of the same NAME, or append: the engine sees each NAME
 * once (with duplicates, which one wins is the engine's choice). */
static int env_set(struct jc_strv *v, const char *entry)
{
	size_t n = env_name_len(entry);

	for (size_t i = 0; i < v->n; i++) {
		if (env_name_len(v->v[i]) == n && strncmp(v->v[i], entry, n) == 0) {
			char *copy = strdup(entry);
			if (!copy)
				return -1;
			free(v->v[i]);
			v->v[i] = copy;
			return 0;
		}
	}
	return jc_strv_push(v, entry);
}

int jc_pass_env_collect(const struct jc_config *cfg, char *const *envp, struct jc_strv *out,
			jc_error *err)
{
	struct jc_strv got = { 0 };

	for (size_t i = 0; i < cfg->pass_env.n; i++) {
		const char *name = cfg->pass_env.v[i];
		size_t n = strlen(name);
		const char *found = NULL;

		/* the first, as getenv(3) finds it */
		for (char *const *e = envp; e && *e && !found; e++)
			if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
				found = *e;
		if (!found || env_has(&got, found))
			continue;
		if (jc_name_check_env(found, err) < 0) {
			jc_strv_free(&got);
			return jc_error_wrap(err, "[job] pass_env `%s`", name);
		}
		if (jc_strv_push(&got, found) < 0) {
			jc_strv_free(&got);
			return jc_error_oom(err);
		}
	}
	jc_strv_free(out);
	*out = got;
	return 0;
}

/* The job's Env: the site's [env], then what pass_env brought, then the
 * request's own; judged before anything is built. */
static int check_env(const struct jc_config *cfg, const struct jc_job_request *req, jc_error *err)
{
	bool may_replace = jc_config_overridable(cfg, "env");

	for (size_t i = 0; i < req->passed_env.n; i++) {
		const char *e = req->passed_env.v[i];
		if (jc_name_check_env(e, err) < 0)
			return jc_error_wrap(err, "passed environment");
		if (!name_listed(&cfg->pass_env, e))
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "passed environment `%.*s` is not named in [job] "
					    "pass_env",
					    (int)env_name_len(e), e);
	}
	for (size_t i = 0; i < req->env.n; i++) {
		const char *e = req->env.v[i];
		if (jc_name_check_env(e, err) < 0)
			return jc_error_wrap(err, "job request --env");
		if (!may_replace && (env_has(&cfg->env, e) || name_listed(&cfg->pass_env, e)))
			return jc_error_set(
			    err, JC_ERR_INPUT, EPERM,
			    "job request --env sets `%.*s`, which the site sets ([env] "
			    "or pass_env) and does not let a request replace (`env` "
			    "is not in [job] overridable)",
			    (int)env_name_len(e), e);
	}
	return 0;
}

static int build_env(const struct jc_config *cfg, const struct jc_job_request *req,
		     struct jc_strv *out)
{
	const struct jc_strv *parts[] = { &req->passed_env, &req->env };

	if (jc_strv_copy(out, &cfg->env) < 0)
		return -1;
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
		for (size_t i = 0; i < parts[p]->n; i++)
			if (env_set(out, parts[p]->v[i]) < 0)
				return -1;
	return 0;
}

/* The site's [labels] after jobcell's own; config.c refused any key of
 * jobcell's, and so does this, for a configuration built by other means. */
static int check_labels(const struct jc_config *cfg, jc_error *err)
{
	for (size_t i = 0; i < cfg->labels.n; i++) {
		const char *l = cfg->labels.v[i];
		if (!strchr(l, '=') ||
		    strncasecmp(l, JC_LABEL_PREFIX, strlen(JC_LABEL_PREFIX)) == 0)
			return jc_error_set(
			    err, JC_ERR_CONFIG, EINVAL,
			    "config: [labels] entry %zu is refused: not KEY=VALUE, or "
			    "a key of jobcell's own",
			    i + 1);
	}
	return 0;
}

static int add_site_labels(struct jc_plan *p, const struct jc_config *cfg)
{
	for (size_t i = 0; i < cfg->labels.n; i++) {
		const char *l = cfg->labels.v[i], *eq = strchr(l, '=');
		cleanup_free char *key = strndup(l, (size_t)(eq - l));
		if (!key || add_label(p, key, eq + 1) < 0)
			return -1;
	}
	return 0;
}

int jc_plan_check(const struct jc_config *cfg, const struct jc_job_request *req, jc_error *err)
{
	const char *image = req->image ? req->image : cfg->image;

	if (jc_config_validate(cfg, err) < 0)
		return -1;
	if (jc_name_check_job(req->job, &cfg->reserved, err) < 0)
		return -1;
	/* a scratch directory stands where the job's would be */
	for (size_t i = 0; i < cfg->scratch.n; i++)
		if (strcasecmp(req->job, cfg->scratch.v[i]) == 0)
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "job name `%s` is a scratch directory of the site "
					    "([workspace] scratch)",
					    req->job);
	if (!image)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "no image: set [job] image or pass --image");
	if (jc_name_check_image(image, err) < 0)
		return -1;
	if (check_env(cfg, req, err) < 0)
		return -1;
	if (jc_config_check_network(cfg->network ? cfg->network : "", err) < 0)
		return jc_error_wrap(err, "config: [job] network");
	if (check_labels(cfg, err) < 0)
		return -1;
	if (req->cmd.n && !*req->cmd.v[0])
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job command is empty");
	/* an entrypoint of the request drops the image's command (Docker's
	 * rule, and Podman's): a cleared one leaves nothing to run without a
	 * command, which the engine would only say after the create */
	if (jc_plan_entrypoint_cleared(&req->entrypoint) && !req->cmd.n)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request --entrypoint '' clears the image's entrypoint and "
				    "gives no command: name the command to run");
	for (size_t i = 0; i < req->entrypoint.n; i++)
		if (!*req->entrypoint.v[i] && req->entrypoint.n > 1)
			return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job entrypoint is empty");
	if (req->nonce && (!*req->nonce || strlen(req->nonce) > 64 ||
			   strspn(req->nonce, "0123456789abcdef") != strlen(req->nonce)))
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "nonce must be lowercase hex");
	if (req->volume_nonce &&
	    (!*req->volume_nonce || strlen(req->volume_nonce) > 64 ||
	     strspn(req->volume_nonce, "0123456789abcdef") != strlen(req->volume_nonce)))
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "volume nonce must be lowercase hex");
	if (req->timeout_ms < -1)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job timeout is negative");
	/* a `slurm` value is the allocation's, found by the caller: never
	 * none because nobody looked */
	if (cfg->gpus.count == JC_GPUS_SLURM && !req->slurm_gpus && !req->slurm_absent)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "[job] gpus = slurm: the allocation's GPUs were not read");
	if (cfg->cgroup_parent && strcmp(cfg->cgroup_parent, "slurm") == 0 && !req->slurm_cgroup &&
	    !req->slurm_absent)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "[job] cgroup_parent = slurm: the Slurm job's cgroup was not "
				    "read");
	if (req->deadline < 0)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job deadline is negative");
	if (cfg->ws_mode == JC_WS_VOLUME) {
		if (!req->tenant || !req->run)
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "volume mode: the request names no volume, tenant or run");
		if (jc_name_check(req->tenant, "tenant", err) < 0 ||
		    jc_name_check(req->run, "run", err) < 0)
			return -1;
		if (req->volume && jc_volume_name_check(req->volume, err) < 0)
			return -1;
	}
	if (req->supervisor && jc_supervisor_check(req->supervisor, err) < 0)
		return -1;
	for (size_t i = 0; i < req->chained.n; i++) {
		struct jc_strv before = { .v = req->chained.v, .n = i };
		cleanup_free char *name = NULL;
		const char *path;
		if (jc_plan_check_chained(cfg, &before, req->chained.v[i], &name, &path, err) < 0)
			return -1;
	}
	/* the site's wall clock is a limit, not a default: a request may only
	 * shorten it (0 means none, the longest of all) */
	if (cfg->timeout_ms > 0 && req->timeout_ms >= 0 &&
	    (req->timeout_ms == 0 || req->timeout_ms > cfg->timeout_ms))
		return jc_error_set(
		    err, JC_ERR_INPUT, EPERM,
		    "job request --timeout of %lldms exceeds the site's [job] timeout "
		    "of %lldms",
		    (long long)req->timeout_ms, (long long)cfg->timeout_ms);

	return 0;
}

/* Whole seconds of `ms`, rounded up; -1 when the sum overflows. */
static int64_t add_seconds(int64_t acc, int64_t ms)
{
	int64_t s = ms / 1000 + (ms % 1000 != 0), r;

	if (acc < 0 || ms < 0 || __builtin_add_overflow(acc, s, &r))
		return -1;
	return r;
}

int64_t jc_plan_deadline(const struct jc_config *cfg, const struct jc_job_request *req,
			 int64_t created)
{
	int64_t timeout = req->timeout_ms >= 0 ? req->timeout_ms : cfg->timeout_ms, d;

	if (timeout <= 0 || cfg->transfer_timeout_ms <= 0 || created <= 0)
		return 0;
	d = add_seconds(created, 1000);
	d = add_seconds(d, timeout);
	d = add_seconds(d, cfg->stop_grace_ms);
	/* after the grace, the kill and the wait for the end may each take an
	 * engine timeout before the supervisor gives up (supervise.c) */
	d = add_seconds(d, 2 * cfg->engine_timeout_ms);
	d = add_seconds(d, cfg->transfer_timeout_ms);
	return d < 0 ? 0 : d; /* past any clock: as good as none */
}

int64_t jc_transfer_deadline(const struct jc_config *cfg, int64_t created)
{
	int64_t d;

	if (cfg->transfer_timeout_ms <= 0 || created <= 0)
		return 0;
	d = add_seconds(add_seconds(created, 1000), cfg->transfer_timeout_ms);
	return d < 0 ? 0 : d;
}

/* A plan names uid 0 only where the site allows root; a plan with no user
 * ("": the image's) is for printing, and jc_job never builds one. */
static int check_root(const struct jc_config *cfg, const char *user, jc_error *err)
{
	uid_t uid;
	gid_t gid;

	if (user && *user && strcmp(user, "auto") != 0 && jc_parse_user(user, &uid, &gid) == 0 &&
	    uid == 0 && !cfg->allow_root)
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "the job would run as root (uid 0, from `%s`): set [job] "
				    "allow_root = true to allow it",
				    user);
	return 0;
}

int jc_plan_build(const struct jc_config *cfg, const struct jc_job_request *req, const char *user,
		  int64_t created, struct jc_plan **out, jc_error *err)
{
	struct jc_plan *p;
	const char *image = req->image ? req->image : cfg->image;
	char created_s[32], deadline_s[32];
	struct jc_labels own;
	struct jc_label pairs[JC_LABELS_MAX];
	size_t nown;

	if (jc_plan_check(cfg, req, err) < 0)
		return -1;
	if (cfg->ws_mode == JC_WS_VOLUME && !req->volume)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "volume mode: the request names no volume, tenant or run");
	if (check_root(cfg, user ? user : cfg->user, err) < 0)
		return -1;

	p = calloc(1, sizeof(*p));
	if (!p)
		return jc_error_oom(err);
	p->mounts = calloc(8 + cfg->scratch.n + req->chained.n + cfg->mounts.n, sizeof(*p->mounts));
	p->labels = calloc(JC_LABELS_MAX + cfg->labels.n, sizeof(*p->labels));
	snprintf(created_s, sizeof(created_s), "%" PRId64, created);
	snprintf(deadline_s, sizeof(deadline_s), "%" PRId64, req->deadline);
	if (!p->mounts || !p->labels || !(p->name = jc_container_name(cfg->site_name, req->job)) ||
	    !(p->site = strdup(cfg->site_name)) || !(p->job = strdup(req->job)) ||
	    !(p->image = strdup(image)) ||
	    /* `auto` is resolved by the caller; a plan without it shows the image's */
	    !(p->user = strdup(user                                          ? user
			       : cfg->user && strcmp(cfg->user, "auto") != 0 ? cfg->user
									     : "")) ||
	    !(p->workdir = jc_plan_job_path(cfg, req->job)) ||
	    !(p->network = strdup(cfg->network)) || jc_strv_copy(&p->cmd, &req->cmd) < 0 ||
	    jc_strv_copy(&p->entrypoint, &req->entrypoint) < 0 ||
	    build_env(cfg, req, &p->env) < 0 || jc_strv_copy(&p->cap_drop, &cfg->cap_drop) < 0 ||
	    jc_strv_copy(&p->cap_add, &cfg->cap_add) < 0 ||
	    jc_gpus_copy(&p->gpus, cfg->gpus.count != JC_GPUS_SLURM ? &cfg->gpus
				   : req->slurm_gpus                ? req->slurm_gpus
								    : &(struct jc_gpus){ 0 }) < 0)
		goto oom;
	if (cfg->cgroup_parent) {
		const char *cg = strcmp(cfg->cgroup_parent, "slurm") == 0 ? req->slurm_cgroup
									   : cfg->cgroup_parent;
		if (cg && !(p->cgroup_parent = strdup(cg)))
			goto oom;
	}
	/* the root first: the engine mounts in path order, binds land inside it */
	if (add_mount(p, JC_MOUNT_TMPFS, NULL, cfg->mount_point, cfg->root_readonly, cfg->root_mode,
		      cfg->root_size) < 0 ||
	    add_children(p, cfg, req) < 0 || add_data(p, cfg) < 0)
		goto oom;
	/* a writable /tmp so ordinary programs work on a read-only root.  Docker
	 * 20.10 gives a tmpfs the mode of the image's own directory when the
	 * image has one, so 01777 holds only where the image has no /tmp or a
	 * 1777 one (as images normally do) */
	if (cfg->tmp_size > 0 &&
	    add_mount(p, JC_MOUNT_TMPFS, NULL, "/tmp", false, 01777, cfg->tmp_size) < 0)
		goto oom;
	/* Podman (containers.conf read_only_tmpfs, on by default) mounts /tmp,
	 * /run and /var/tmp writable, of half the host's memory each, on a
	 * read-only root where the create names none there: name all three, so
	 * that every writable mount has a size the site chose.  0: read-only */
	if (cfg->readonly_rootfs) {
		if (cfg->tmp_size == 0 &&
		    add_mount(p, JC_MOUNT_TMPFS, NULL, "/tmp", true, 0755, SCRATCH_RO_SIZE) < 0)
			goto oom;
		for (size_t i = 0; i < 2; i++)
			if (add_mount(p, JC_MOUNT_TMPFS, NULL, i ? "/var/tmp" : "/run",
				      cfg->run_size == 0, cfg->run_size ? 01777 : 0755,
				      cfg->run_size ? cfg->run_size : SCRATCH_RO_SIZE) < 0)
				goto oom;
	}
	if (req->nonce && !(p->nonce = strdup(req->nonce)))
		goto oom;
	own = (struct jc_labels){ .managed = true,
				  .site = cfg->site_name,
				  .job = (char *)req->job,
				  .created = created_s,
				  .nonce = (char *)req->nonce,
				  .supervisor = (char *)req->supervisor,
				  .deadline = req->deadline ? deadline_s : NULL };
	if (cfg->ws_mode == JC_WS_VOLUME) {
		own.tenant = (char *)req->tenant;
		own.run = (char *)req->run;
		own.volume = (char *)req->volume;
		own.volume_nonce = (char *)req->volume_nonce;
		own.keep = req->keep;
	}
	nown = jc_labels_build(&own, pairs);
	for (size_t i = 0; i < nown; i++)
		if (add_label(p, pairs[i].key, pairs[i].value) < 0)
			goto oom;
	if (add_site_labels(p, cfg) < 0)
		goto oom;
	p->no_new_privileges = cfg->no_new_privileges;
	p->readonly_rootfs = cfg->readonly_rootfs;
	p->tmp_size = cfg->tmp_size;
	p->pids_limit = cfg->pids_limit;
	p->memory = cfg->memory;
	p->nano_cpus = cfg->nano_cpus;
	p->shm_size = cfg->shm_size;
	p->stop_grace_ms = cfg->stop_grace_ms;
	p->timeout_ms = req->timeout_ms >= 0 ? req->timeout_ms : cfg->timeout_ms;
	*out = p;
	return 0;
oom:
	jc_plan_free(p);
	return jc_error_oom(err);
}

void jc_plan_free(struct jc_plan *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->nonce);
	free(p->site);
	free(p->job);
	free(p->image);
	free(p->user);
	free(p->workdir);
	free(p->network);
	jc_strv_free(&p->cmd);
	jc_strv_free(&p->entrypoint);
	jc_strv_free(&p->env);
	jc_strv_free(&p->cap_drop);
	jc_strv_free(&p->cap_add);
	jc_gpus_free(&p->gpus);
	free(p->cgroup_parent);
	for (size_t i = 0; i < p->nmounts; i++) {
		free(p->mounts[i].source);
		free(p->mounts[i].subpath);
		free(p->mounts[i].target);
	}
	for (size_t i = 0; i < p->nlabels; i++) {
		free(p->labels[i].key);
		free(p->labels[i].value);
	}
	free(p->mounts);
	free(p->labels);
	free(p);
}
