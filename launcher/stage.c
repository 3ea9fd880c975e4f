/* Files in and out: what the volume mode of a run, the probe of check and
 * the volume commands share.  The streams themselves are volume.c's
 * jc_transfer_put and jc_transfer_get. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stage.h"
#include "volume.h"

#define PUT_TRIES     3
#define PUT_RETRY_NS  (200 * 1000 * 1000)
#define REASONS_KEPT  100

int jc_stage_open_base(const struct jc_config *cfg, int *fd, jc_error *err)
{
	const char *dir = cfg->transfer_dir && *cfg->transfer_dir ? cfg->transfer_dir : ".";
	int r = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (r < 0)
		return jc_error_set(err, JC_ERR_CONFIG, errno,
				    "open [volume] transfer_dir `%s`: %s", dir, strerror(errno));
	*fd = r;
	return 0;
}

int jc_inputs_open(int base, const struct jc_strv *specs, struct jc_inputs *in, jc_error *err)
{
	if (!specs->n)
		return 0;
	if (!(in->v = calloc(specs->n, sizeof(*in->v))))
		return jc_error_oom(err);
	for (size_t i = 0; i < specs->n; i++) {
		if (jc_input_open(specs->v[i], base, &in->v[i], err) < 0)
			return -1;
		in->n++;
	}
	return jc_input_scan(in->v, in->n, &in->bytes, err);
}

void jc_inputs_free(struct jc_inputs *in)
{
	for (size_t i = 0; i < in->n; i++)
		jc_input_close(&in->v[i]);
	free(in->v);
	*in = (struct jc_inputs){ 0 };
}

/* The engine's progress callback, told what and how much. */
struct tell {
	const struct jc_stage_progress *p;
	const char *what;
	uint64_t total;
	uint64_t last;
};

static void tell_cb(void *ctx, uint64_t bytes)
{
	struct tell *t = ctx;

	t->last = bytes;
	if (t->p && t->p->fn)
		t->p->fn(t->p->ctx, t->what, bytes, t->total, false);
}

static void tell_end(struct tell *t)
{
	if (t->p && t->p->fn)
		t->p->fn(t->p->ctx, t->what, t->last, t->total, true);
}

/* Podman 4.3 now and then answers an archive PUT with 500 "passing bulk
 * input to subprocess: ... broken pipe": a 5xx or a dropped connection is
 * tried again, since the same archive extracts the same way twice. */
int jc_stage_in(struct jc_backend *e, const char *ref, const char *name, const char *path,
		const struct jc_tar_opts *o, const struct jc_inputs *in,
		const struct jc_stage_progress *p, jc_error *err)
{
	for (int i = 1;; i++) {
		struct tell t = { p, "sending", in->bytes, 0 };
		int r = jc_transfer_put(e, ref, name, path, o, in->v, in->n, tell_cb, &t, err);

		tell_end(&t);
		if (r == 0 || i >= PUT_TRIES || !err->retry || err->kind != JC_ERR_ENGINE)
			return r;
		jc_error_clear(err);
		nanosleep(&(struct timespec){ 0, PUT_RETRY_NS }, NULL);
	}
}

void jc_stage_limits(const struct jc_config *cfg, struct jc_extract_limits *lim)
{
	*lim = (struct jc_extract_limits){
		.max_bytes = (uint64_t)cfg->output_max_bytes,
		.max_members = (uint64_t)cfg->output_max_members,
		.max_depth = (uint64_t)cfg->output_max_depth,
	};
}

int jc_stage_out(struct jc_backend *e, const char *ref, const char *name, const char *path,
		 int dest_fd, struct jc_extract_limits *lim, struct jc_extract_report *rep,
		 const struct jc_stage_progress *p, jc_error *err)
{
	struct tell t = { p, "receiving", 0, 0 };
	struct jc_extract_report one = { 0 };
	int r = jc_transfer_get(e, ref, name, path, dest_fd, lim, &one, tell_cb, &t, err);

	tell_end(&t);
	rep->extracted += one.extracted;
	rep->refused += one.refused;
	rep->cut |= one.cut;
	for (size_t i = 0; i < one.reasons.n && rep->reasons.n < REASONS_KEPT; i++)
		if (jc_strv_push(&rep->reasons, one.reasons.v[i]) < 0)
			break; /* the count above still tells */
	jc_extract_report_free(&one);
	return r;
}

/* One archive: its "/" member gives the mount point, the volume's root,
 * to uid:gid with job_mode on Docker and Podman alike (archive.h), and the
 * inputs follow it. */
int jc_stage_fill_volume(struct jc_backend *e, const struct jc_config *cfg, const char *image,
			 const char *user, uid_t uid, gid_t gid, const char *volume,
			 const char *supervisor, int64_t deadline, const struct jc_inputs *in,
			 const struct jc_stage_progress *p, jc_error *err)
{
	char *id = NULL;
	struct jc_tar_opts o = { JC_TAR_ROOT_TARGET, cfg->job_mode & 0777, uid, gid };
	jc_error undo = { 0 };
	enum jc_cancel_state held;
	int r;

	if (jc_transfer_open(e, image, user, volume, cfg->site_name, supervisor, deadline, &id,
			     err) < 0)
		return -1;
	r = jc_stage_in(e, id, NULL, JC_TRANSFER_MOUNT, &o, in, p, err);
	if (r < 0)
		jc_error_wrap(err, "fill volume `%s` through a transfer container", volume);
	held = jc_backend_hold_cancel(e);
	if (jc_backend_remove(e, id, NULL, &undo) < 0 && r == 0) {
		jc_backend_resume_cancel(e, held);
		*err = undo;
		free(id);
		return -1;
	}
	jc_backend_resume_cancel(e, held);
	jc_error_clear(&undo);
	free(id);
	return r;
}
