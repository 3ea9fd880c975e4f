/* The Docker Engine API backend (Docker, and Podman's compatible API): the
 * only code that knows the Engine's URLs, its API versions and the framing
 * of its log streams.  Bodies are docker/json.c's; HTTP is http.c's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cleanup.h"
#include "docker/engine.h"
#include "docker/json.h"
#include "error.h"
#include "http.h"
#include "labels.h"

/* A path of ours with its longest reference must fit here; a longer one is
 * refused, not cut. */
#define PATH_MAX_LEN 512

struct jc_docker {
	struct jc_backend base;
	struct jc_http *http;
	char api[16]; /* negotiated, "" before ping */
	bool libpod;  /* the ping named a Libpod API version: Podman answers */
};

/* An operation in flight: one asynchronous request, and the demultiplexer
 * of a log stream (its address is the decoder's context). */
struct docker_op {
	struct jc_op base;
	struct jc_http_async *a;
	struct jc_demux demux;
};

static struct jc_docker *docker(struct jc_backend *b)
{
	return (struct jc_docker *)b;
}

static const struct jc_docker *cdocker(const struct jc_backend *b)
{
	return (const struct jc_docker *)b;
}

static struct docker_op *dop(struct jc_op *op)
{
	return (struct docker_op *)op;
}

static const struct docker_op *cdop(const struct jc_op *op)
{
	return (const struct docker_op *)op;
}

static char *pathf(const char *fmt, ...) JC_FORMAT(1, 2);
static char *pathf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Every path but the ping's carries the negotiated version: /v1.45/... */
static char *versioned(const struct jc_docker *e, const char *path)
{
	return *e->api ? pathf("/v%s%s", e->api, path) : strdup(path);
}

static int call(struct jc_docker *e, const char *method, const char *path, const char *json,
		int64_t timeout_ms, struct jc_http_header *hc, const char *step, const char *object,
		char **body, jc_error *err)
{
	cleanup_free char *vpath = versioned(e, path);

	if (!vpath)
		return jc_error_oom(err);
	return jc_http_call(e->http, method, vpath, json, timeout_ms, hc, step, object, body, err);
}

/* ---- open, ping, versions ---- */

static const struct jc_backend_ops docker_ops;

int jc_docker_open(const struct jc_endpoint *ep, int64_t timeout_ms, struct jc_backend **out,
		   jc_error *err)
{
	struct jc_docker *e = calloc(1, sizeof(*e));

	if (!e)
		return jc_error_oom(err);
	if (jc_http_open(ep, timeout_ms, jc_docker_error_message, &e->http, err) < 0) {
		free(e);
		return -1;
	}
	e->base.ops = &docker_ops;
	e->base.timeout_ms = timeout_ms;
	jc_backend_set_cancel(&e->base, NULL);
	jc_http_watch(e->http, &e->base.cancel, &e->base.cancel_state);
	*out = &e->base;
	return 0;
}

static void docker_close(struct jc_backend *b)
{
	struct jc_docker *e = docker(b);

	jc_http_close(e->http);
	free(e);
}

static const char *docker_api_version(const struct jc_backend *b)
{
	return cdocker(b)->api;
}

/* "1.41" -> 141; -1 when it is not "1.<digits>". */
static int api_number(const char *v)
{
	int minor = 0;

	if (strncmp(v, "1.", 2) != 0 || !v[2] || strlen(v) > 5)
		return -1;
	for (const char *p = v + 2; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		minor = minor * 10 + (*p - '0');
	}
	return 100 + minor;
}

static int docker_ping(struct jc_backend *b, jc_error *err)
{
	struct jc_docker *e = docker(b);
	struct jc_http_header hc[] = { { "api-version:", "" }, { "libpod-api-version:", "" }, { 0 } };
	const char *endpoint = jc_http_endpoint(e->http);
	cleanup_free char *body = NULL;
	int have, min = api_number(JC_API_MIN), max = api_number(JC_API_MAX);

	e->api[0] = '\0';
	if (call(e, "GET", "/_ping", NULL, e->base.timeout_ms, hc, "ping engine", endpoint, &body,
		 err) < 0)
		return -1;
	e->libpod = *hc[1].value != '\0';
	if (!*hc[0].value)
		return jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				    "ping engine `%s`: the engine did not name its API version",
				    endpoint);
	have = api_number(hc[0].value);
	if (have < 0)
		return jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				    "ping engine `%s`: malformed API version `%.16s`", endpoint,
				    hc[0].value);
	if (have < min)
		return jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				    "ping engine `%s`: API %s is older than %s, the oldest jobcell "
				    "speaks",
				    endpoint, hc[0].value, JC_API_MIN);
	if (have > max)
		have = max;
	snprintf(e->api, sizeof(e->api), "1.%d", have - 100);
	return 0;
}

static bool docker_supports(const struct jc_backend *b, enum jc_feature f, const char **need)
{
	const char *want = NULL;
	int have = api_number(cdocker(b)->api);

	switch (f) {
	case JC_FEATURE_VOLUME_SUBPATH:
		want = JC_API_SUBPATH;
		if (need)
			*need = "Engine API " JC_API_SUBPATH;
		break;
	case JC_FEATURE_CREATE_MOUNTPOINT:
		want = JC_API_CREATE_MOUNTPOINT;
		if (need)
			*need = "Engine API " JC_API_CREATE_MOUNTPOINT
				" (Docker 23.0, BindOptions.CreateMountpoint)";
		break;
	case JC_FEATURE_CONCURRENT_CREATE:
		/* Podman locks a new container's named volumes one by one in no
		 * fixed order (podman#20313); its fix (podman#20329) cannot be
		 * told from the API, so every Podman is taken to lack it */
		if (need)
			*need = "an engine that is not Podman (podman#20313)";
		return !cdocker(b)->libpod;
	}
	return want && have >= api_number(want);
}

/* GET /version, for `jobcell check`'s table only: asynchronous, so that it
 * goes through the same bounded machinery as supervision. */
static char *docker_transport(struct jc_backend *b)
{
	return jc_http_transport(docker(b)->http);
}

static char *docker_describe(struct jc_backend *b)
{
	struct jc_docker *e = docker(b);
	struct jc_http_async *a = NULL;
	cleanup_free char *path = versioned(e, "/version");
	cleanup_free char *body = NULL;
	jc_error err = { 0 };
	char *out = NULL;

	if (!path || jc_http_begin(e->http, "GET", path, e->base.timeout_ms, NULL, &a, &err) < 0)
		goto out;
	while (!jc_http_done(a))
		if (jc_http_poll(e->http, -1, 200, &err) < 0)
			goto out;
	if (jc_http_result(a, "engine version", NULL, &body, &err) < 0)
		goto out;
	out = jc_docker_parse_version(body);
out:
	jc_http_free(a);
	jc_error_clear(&err);
	return out;
}

static int docker_cgroups(struct jc_backend *b, struct jc_engine_cgroups *out, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *body = NULL;

	if (call(e, "GET", "/info", NULL, e->base.timeout_ms, NULL, "engine info",
		 jc_http_endpoint(e->http), &body, err) < 0)
		return -1;
	return jc_docker_parse_cgroups(body, out, err);
}

/* ---- containers ---- */

int jc_docker_create_json(struct jc_backend *b, const char *name, const char *json, char **id,
			  jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path =
	    name ? pathf("/containers/create?name=%s", name) : strdup("/containers/create");
	cleanup_free char *body = NULL;
	const char *object = name ? name : "(unnamed)";

	if (!path)
		return jc_error_oom(err);
	if (call(e, "POST", path, json, e->base.timeout_ms, NULL, "create container", object, &body,
		 err) < 0)
		return -1;
	if (jc_docker_parse_id(body, id, err) < 0)
		return jc_error_wrap(err, "create container `%s`", object);
	return 0;
}

static int docker_create(struct jc_backend *b, const struct jc_plan *plan, char **id,
			 jc_error *err)
{
	cleanup_free char *json = jc_docker_create_body(plan, false, err);

	if (!json)
		return -1;
	return jc_docker_create_json(b, plan->name, json, id, err);
}

static int docker_stage_container(struct jc_backend *b, const char *image, const char *user,
				  const char *volume, const char *target,
				  const struct jc_labels *labels, char **id, jc_error *err)
{
	cleanup_free char *json = jc_docker_stage_body(image, user, volume, target, labels, err);

	if (!json)
		return -1;
	/* the engine names it: no name of ours can clash with a job's */
	return jc_docker_create_json(b, NULL, json, id, err);
}

/* docker run's mapping of runtime errors to 127 and 126, narrowed to the
 * runtime's own report on the job's command: runc says `exec: "cmd": ...`. */
static void classify_start_error(jc_error *err)
{
	const char *exec = err->msg ? strstr(err->msg, "exec: \"") : NULL;

	if (!exec)
		return;
	if (strstr(exec, "executable file not found") || strstr(exec, "no such file or directory"))
		err->kind = JC_ERR_CMD_NOT_FOUND;
	else if (strstr(exec, "permission denied"))
		err->kind = JC_ERR_CMD_NOT_EXEC;
}

static int docker_start(struct jc_backend *b, const char *ref, const char *name, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/containers/%s/start", ref);

	if (!path)
		return jc_error_oom(err);
	if (call(e, "POST", path, NULL, e->base.timeout_ms, NULL, "start container",
		 name ? name : ref, NULL, err) < 0) {
		classify_start_error(err);
		return -1;
	}
	return 0;
}

static int docker_stop(struct jc_backend *b, const char *ref, const char *name, int grace_s,
		       jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/containers/%s/stop?t=%d", ref, grace_s);

	if (!path)
		return jc_error_oom(err);
	/* the engine answers after the grace period at worst */
	return call(e, "POST", path, NULL, e->base.timeout_ms + grace_s * 1000LL, NULL,
		    "stop container", name ? name : ref, NULL, err);
}

static int docker_remove(struct jc_backend *b, const char *ref, const char *name, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/containers/%s?force=1&v=1", ref);

	if (!path)
		return jc_error_oom(err);
	if (call(e, "DELETE", path, NULL, e->base.timeout_ms, NULL, "remove container",
		 name ? name : ref, NULL, err) < 0) {
		if (err->status == ENOENT) {
			jc_error_clear(err); /* gone already: what removal wanted */
			return 0;
		}
		return -1;
	}
	return 0;
}

static int docker_inspect(struct jc_backend *b, const char *ref, struct jc_inspect *out,
			  jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/containers/%s/json", ref);
	cleanup_free char *body = NULL;

	if (!path)
		return jc_error_oom(err);
	if (call(e, "GET", path, NULL, e->base.timeout_ms, NULL, "inspect container", ref, &body,
		 err) < 0)
		return -1;
	if (jc_docker_parse_inspect(body, out, err) < 0)
		return jc_error_wrap(err, "inspect container `%s`", ref);
	return 0;
}

static int docker_image_inspect(struct jc_backend *b, const char *image, struct jc_image *out,
				jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/images/%s/json", image);
	cleanup_free char *body = NULL;

	if (!path)
		return jc_error_oom(err);
	if (call(e, "GET", path, NULL, e->base.timeout_ms, NULL, "inspect image", image, &body,
		 err) < 0)
		return -1;
	return jc_docker_parse_image(body, image, out, err);
}

/* The label filter of a list, escaped for the query.  `site` is a checked
 * name: no JSON or URL metacharacters. */
static char *label_filter(const char *site, bool managed_too)
{
	cleanup_free char *filters = NULL;

	if (site && managed_too)
		filters = pathf("{\"label\":[\"" JC_LABEL_MANAGED "=true\",\"" JC_LABEL_SITE
				"=%s\"]}",
				site);
	else if (site)
		filters = pathf("{\"label\":[\"" JC_LABEL_SITE "=%s\"]}", site);
	else
		filters = pathf("{\"label\":[\"" JC_LABEL_MANAGED "=true\"]}");
	return filters ? jc_http_escape(filters) : NULL;
}

static int docker_list(struct jc_backend *b, const char *site, bool all,
		       struct jc_container_list *out, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *enc = label_filter(site, true);
	cleanup_free char *path = NULL;
	cleanup_free char *body = NULL;

	if (!enc || !(path = pathf("/containers/json?all=%d&filters=%s", all ? 1 : 0, enc)))
		return jc_error_oom(err);
	if (call(e, "GET", path, NULL, e->base.timeout_ms, NULL, "list containers",
		 site ? site : "all sites", &body, err) < 0)
		return -1;
	if (jc_docker_parse_list(body, out, err) < 0)
		return jc_error_wrap(err, "list containers");
	return 0;
}

/* ---- volumes ---- */

static int docker_volume_create(struct jc_backend *b, const char *name,
				const struct jc_labels *labels, int64_t size, struct jc_volume *out,
				jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *json = jc_docker_volume_body(name, labels, size, err);
	cleanup_free char *body = NULL;

	if (!json)
		return -1;
	if (call(e, "POST", "/volumes/create", json, e->base.timeout_ms, NULL, "create volume",
		 name, &body, err) < 0)
		return -1;
	if (jc_docker_parse_volume(body, out, err) < 0)
		return jc_error_wrap(err, "create volume `%s`", name);
	return 0;
}

static int docker_volume_inspect(struct jc_backend *b, const char *name, struct jc_volume *out,
				 jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/volumes/%s", name);
	cleanup_free char *body = NULL;

	if (!path)
		return jc_error_oom(err);
	if (call(e, "GET", path, NULL, e->base.timeout_ms, NULL, "inspect volume", name, &body,
		 err) < 0)
		return -1;
	if (jc_docker_parse_volume(body, out, err) < 0)
		return jc_error_wrap(err, "inspect volume `%s`", name);
	return 0;
}

static int docker_volume_remove(struct jc_backend *b, const char *name, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = pathf("/volumes/%s", name);

	if (!path)
		return jc_error_oom(err);
	if (call(e, "DELETE", path, NULL, e->base.timeout_ms, NULL, "remove volume", name, NULL,
		 err) < 0) {
		if (err->status == ENOENT) {
			jc_error_clear(err); /* gone already */
			return 0;
		}
		if (err->status == EEXIST) { /* 409: a container still holds it */
			err->status = EBUSY;
			err->retry = true;
		}
		return -1;
	}
	return 0;
}

static int docker_volume_list(struct jc_backend *b, const char *site, struct jc_volume_list *out,
			      jc_error *err)
{
	struct jc_docker *e = docker(b);
	/* one label only: Podman 4.3 ORs several label filters on volumes
	 * (Docker ANDs them); the rest is checked here */
	cleanup_free char *enc = label_filter(site, false);
	cleanup_free char *path = NULL;
	cleanup_free char *body = NULL;

	if (!enc || !(path = pathf("/volumes?filters=%s", enc)))
		return jc_error_oom(err);
	if (call(e, "GET", path, NULL, e->base.timeout_ms, NULL, "list volumes",
		 site ? site : "all sites", &body, err) < 0)
		return -1;
	if (jc_docker_parse_volume_list(body, out, err) < 0)
		return jc_error_wrap(err, "list volumes");
	for (size_t i = 0; i < out->n;) {
		struct jc_volume *v = &out->items[i];
		if (v->labels.managed &&
		    (!site || (v->labels.site && strcmp(v->labels.site, site) == 0))) {
			i++;
			continue;
		}
		jc_volume_free(v);
		memmove(v, v + 1, (out->n - i - 1) * sizeof(*v));
		out->n--;
	}
	return 0;
}

/* ---- archives: stage in and out ---- */

static char *archive_path(const struct jc_docker *e, const char *ref, const char *path)
{
	cleanup_free char *enc = jc_http_escape(path);
	cleanup_free char *p = enc ? pathf("/containers/%s/archive?path=%s", ref, enc) : NULL;
	return p ? versioned(e, p) : NULL;
}

static int docker_stage_in(struct jc_backend *b, const char *ref, const char *name,
			   const char *path, int fd, const int *failed, jc_progress_fn progress,
			   void *ctx, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *p = archive_path(e, ref, path);

	if (!p)
		return jc_error_oom(err);
	return jc_http_stream(e->http, true, p, "write files into container", name ? name : ref,
			      fd, failed, progress, ctx, err);
}

static int docker_stage_out(struct jc_backend *b, const char *ref, const char *name,
			    const char *path, int fd, jc_progress_fn progress, void *ctx,
			    jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *p = archive_path(e, ref, path);

	if (!p)
		return jc_error_oom(err);
	return jc_http_stream(e->http, false, p, "read files from container", name ? name : ref,
			      fd, NULL, progress, ctx, err);
}

/* HEAD answers an archive request's headers without the tar: the path's
 * stat, as the engine resolves it in the container's mounts (Docker 20.10
 * and Podman 4.3 alike, on a created container too). */
static int docker_path_stat(struct jc_backend *b, const char *ref, const char *name,
			    const char *path, struct jc_path_stat *out, jc_error *err)
{
	struct jc_docker *e = docker(b);
	struct jc_http_header hc[] = { { "x-docker-container-path-stat:", "" }, { 0 } };
	cleanup_free char *enc = jc_http_escape(path);
	cleanup_free char *p = enc ? pathf("/containers/%s/archive?path=%s", ref, enc) : NULL;
	cleanup_free char *object = NULL;

	if (!p || asprintf(&object, "%s` in container `%s", path, name ? name : ref) < 0) {
		object = NULL;
		return jc_error_oom(err);
	}
	if (call(e, "HEAD", p, NULL, b->timeout_ms, hc, "stat", object, NULL, err) < 0)
		return -1;
	if (jc_docker_parse_path_stat(hc[0].value, out, err) < 0)
		return jc_error_wrap(err, "stat `%s` in container `%s`", path, name ? name : ref);
	return 0;
}

/* ---- the raw stream ---- */

void jc_demux_init(struct jc_demux *d, jc_sink_fn sink, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->sink = sink;
	d->ctx = ctx;
}

ssize_t jc_demux_feed(struct jc_demux *d, const char *buf, size_t len)
{
	size_t total = len;

	while (len) {
		if (d->left == 0) {
			size_t take = 8 - d->hdr_len;
			if (take > len)
				take = len;
			memcpy(d->hdr + d->hdr_len, buf, take);
			d->hdr_len += take;
			buf += take;
			len -= take;
			if (d->hdr_len < 8)
				break;
			d->hdr_len = 0;
			if (d->hdr[0] > 2 || d->hdr[1] || d->hdr[2] || d->hdr[3])
				return -1;
			d->stream = d->hdr[0];
			d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
				  (uint32_t)d->hdr[6] << 8 | d->hdr[7];
			continue;
		}
		size_t n = len < d->left ? len : d->left;
		size_t took = d->sink ? d->sink(d->ctx, d->stream, buf, n) : n;
		d->left -= (uint32_t)took;
		buf += took;
		len -= took;
		if (took == 0)
			break; /* the sink is full; a partial take is offered the rest */
	}
	return (ssize_t)(total - len);
}


/* ---- asynchronous operations ---- */

static ssize_t demux_feed(void *ctx, const char *buf, size_t len)
{
	return jc_demux_feed(ctx, buf, len);
}

static bool demux_midway(const void *ctx)
{
	const struct jc_demux *d = ctx;
	return d->left || d->hdr_len;
}

static int docker_begin(struct jc_backend *b, enum jc_op_kind kind, const char *ref,
			int64_t grace_ms, jc_sink_fn sink, void *ctx, struct jc_op **out,
			jc_error *err)
{
	struct jc_docker *e = docker(b);
	int64_t timeout_ms = 0; /* waits and log streams last as long as the job */
	const char *method = "POST";
	bool logs = false;
	char what[48], path[PATH_MAX_LEN];
	cleanup_free char *vpath = NULL;
	struct docker_op *o;
	struct jc_http_decoder dec;
	int n;

	switch (kind) {
	case JC_OP_WAIT_NEXT_EXIT:
		snprintf(what, sizeof(what), "wait?condition=next-exit");
		break;
	case JC_OP_WAIT_NOT_RUNNING:
		snprintf(what, sizeof(what), "wait?condition=not-running");
		break;
	case JC_OP_LOGS:
	case JC_OP_LOGS_FOLLOW:
		snprintf(what, sizeof(what), "logs?follow=%d&stdout=1&stderr=1",
			 kind == JC_OP_LOGS_FOLLOW);
		method = "GET";
		logs = true;
		break;
	case JC_OP_STOP:
		/* durations are capped: the seconds fit */
		snprintf(what, sizeof(what), "stop?t=%d", (int)((grace_ms + 999) / 1000));
		timeout_ms = grace_ms + e->base.timeout_ms;
		break;
	case JC_OP_KILL:
		snprintf(what, sizeof(what), "kill?signal=SIGKILL");
		timeout_ms = e->base.timeout_ms;
		break;
	case JC_OP_INSPECT:
		snprintf(what, sizeof(what), "json");
		method = "GET";
		timeout_ms = e->base.timeout_ms;
		break;
	}
	n = snprintf(path, sizeof(path), "/containers/%s/%s", ref, what);
	if (n < 0 || (size_t)n >= sizeof(path))
		return jc_error_set(err, JC_ERR_INPUT, ENAMETOOLONG,
				    "container reference is too long for a request path");
	if (!(vpath = versioned(e, path)) || !(o = calloc(1, sizeof(*o))))
		return jc_error_oom(err);
	o->base = (struct jc_op){ b, kind };
	jc_demux_init(&o->demux, sink, ctx);
	dec = (struct jc_http_decoder){ demux_feed, demux_midway, &o->demux };
	if (jc_http_begin(e->http, method, vpath, timeout_ms, logs ? &dec : NULL, &o->a, err) < 0) {
		free(o);
		return -1;
	}
	*out = &o->base;
	return 0;
}

static int docker_poll(struct jc_backend *b, int fd, int timeout_ms, jc_error *err)
{
	return jc_http_poll(docker(b)->http, fd, timeout_ms, err);
}

static int docker_poll_fds(struct jc_backend *b, struct pollfd *fds, size_t n, int timeout_ms,
			   jc_error *err)
{
	return jc_http_poll_fds(docker(b)->http, fds, n, timeout_ms, err);
}

/* ---- standard input: the attach ---- */

struct docker_attach {
	struct jc_attach base;
	struct jc_http_conn *c;
};

static int docker_attach_stdin(struct jc_backend *b, const char *ref, const char *name,
			       struct jc_attach **out, jc_error *err)
{
	struct jc_docker *e = docker(b);
	cleanup_free char *path = NULL, *vpath = NULL;
	struct docker_attach *a;

	/* stdin alone: output comes through the log stream, once.  Podman's
	 * compat attach takes an absent stdout or stderr for true, hence the
	 * explicit zeros.  A detach sequence in the input would cut binary
	 * input short: an empty detachKeys is Podman's documented way to have
	 * none (its default is containers.conf's detach_keys; Podman 4.3 was
	 * seen passing ctrl-p ctrl-q through either way); Docker reads detach
	 * keys only with a tty. */
	if (!(path = pathf("/containers/%s/attach?stream=1&stdin=1&stdout=0&stderr=0&detachKeys=",
			   ref)) ||
	    !(vpath = versioned(e, path)) || !(a = calloc(1, sizeof(*a))))
		return jc_error_oom(err);
	a->base.b = b;
	if (jc_http_hijack(e->http, vpath, "attach stdin of", name ? name : ref, &a->c, err) < 0) {
		free(a);
		return -1;
	}
	*out = &a->base;
	return 0;
}

static int docker_attach_fd(const struct jc_attach *a)
{
	return jc_http_conn_fd(((const struct docker_attach *)a)->c);
}

static ssize_t docker_attach_send(struct jc_attach *a, const char *buf, size_t len)
{
	return jc_http_conn_send(((struct docker_attach *)a)->c, buf, len);
}

static int docker_attach_end(struct jc_attach *a)
{
	return jc_http_conn_end(((struct docker_attach *)a)->c);
}

static void docker_attach_free(struct jc_attach *a)
{
	jc_http_conn_free(((struct docker_attach *)a)->c);
	free(a);
}

static bool docker_op_done(const struct jc_op *op)
{
	return jc_http_done(cdop(op)->a);
}

static bool docker_op_answered(const struct jc_op *op)
{
	return jc_http_answered(cdop(op)->a);
}

static bool docker_op_paused(const struct jc_op *op)
{
	return jc_http_paused(cdop(op)->a);
}

static bool docker_op_flush(struct jc_op *op)
{
	return jc_http_flush(dop(op)->a);
}

static uint64_t docker_op_received(const struct jc_op *op)
{
	return jc_http_received(cdop(op)->a);
}

static int docker_op_result(struct jc_op *op, const char *step, const char *object,
			    int *exit_code, struct jc_inspect *inspect, jc_error *err)
{
	bool wait = op->kind == JC_OP_WAIT_NEXT_EXIT || op->kind == JC_OP_WAIT_NOT_RUNNING;
	bool look = op->kind == JC_OP_INSPECT;
	cleanup_free char *body = NULL;

	if (jc_http_result(dop(op)->a, step, object,
			   (wait && exit_code) || (look && inspect) ? &body : NULL, err) < 0)
		return -1;
	if (wait && exit_code)
		return jc_docker_parse_wait(body, exit_code, err);
	if (look && inspect)
		return jc_docker_parse_inspect(body, inspect, err);
	return 0;
}

static void docker_op_free(struct jc_op *op)
{
	jc_http_free(dop(op)->a);
	free(op);
}

static char *docker_create_request(struct jc_backend *b, const struct jc_plan *plan, jc_error *err)
{
	(void)b;
	return jc_docker_create_body(plan, true, err);
}

static const struct jc_backend_ops docker_ops = {
	.name = "docker",
	.close = docker_close,
	.ping = docker_ping,
	.create_request = docker_create_request,
	.api_version = docker_api_version,
	.supports = docker_supports,
	.describe = docker_describe,
	.transport = docker_transport,
	.cgroups = docker_cgroups,
	.image_inspect = docker_image_inspect,
	.create = docker_create,
	.stage_container = docker_stage_container,
	.start = docker_start,
	.stop = docker_stop,
	.remove = docker_remove,
	.inspect = docker_inspect,
	.list = docker_list,
	.volume_create = docker_volume_create,
	.volume_inspect = docker_volume_inspect,
	.volume_remove = docker_volume_remove,
	.volume_list = docker_volume_list,
	.stage_in = docker_stage_in,
	.stage_out = docker_stage_out,
	.path_stat = docker_path_stat,
	.begin = docker_begin,
	.poll = docker_poll,
	.poll_fds = docker_poll_fds,
	.attach_stdin = docker_attach_stdin,
	.attach_fd = docker_attach_fd,
	.attach_send = docker_attach_send,
	.attach_end = docker_attach_end,
	.attach_free = docker_attach_free,
	.op_done = docker_op_done,
	.op_answered = docker_op_answered,
	.op_paused = docker_op_paused,
	.op_flush = docker_op_flush,
	.op_received = docker_op_received,
	.op_result = docker_op_result,
	.op_free = docker_op_free,
};
