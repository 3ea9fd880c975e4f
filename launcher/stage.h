/* Files in and out of a job's directory or volume (stage.c): the inputs
 * opened and checked before anything is made, the volume root given to the
 * job's user, inputs sent and outputs fetched through the engine. */
#ifndef JC_STAGE_H
#define JC_STAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "archive.h"
#include "config.h"
#include "backend.h"
#include "error.h"

/* Told of a transfer's progress (`total` 0: unknown), and once more with
 * `done` at its end. */
typedef void (*jc_stage_progress_fn)(void *ctx, const char *what, uint64_t bytes, uint64_t total,
				     bool done);
struct jc_stage_progress {
	jc_stage_progress_fn fn; /* may be NULL */
	void *ctx;
};

struct jc_inputs {
	struct jc_input *v;
	size_t n;
	uint64_t bytes; /* of data, from jc_input_scan */
};

/* The directory --input, --output and --to resolve beneath: [volume]
 * transfer_dir, else the current directory. */
int jc_stage_open_base(const struct jc_config *cfg, int *fd, jc_error *err);
/* Open and check every SRC[:DEST] beneath `base` before anything is made
 * (jc_input_open, jc_input_scan).  *in starts empty; free with
 * jc_inputs_free, also after a failure. */
int jc_inputs_open(int base, const struct jc_strv *specs, struct jc_inputs *in, jc_error *err);
void jc_inputs_free(struct jc_inputs *in);

/* Send the inputs as a tar stream into `path` of container `ref`, each
 * member owned by o->uid:o->gid.  An archive is extracted the same way
 * twice, so an engine failure that may pass is tried again, up to three
 * times. */
int jc_stage_in(struct jc_backend *e, const char *ref, const char *name, const char *path,
		const struct jc_tar_opts *o, const struct jc_inputs *in,
		const struct jc_stage_progress *p, jc_error *err);
/* The site's [output] limits, nothing used yet. */
void jc_stage_limits(const struct jc_config *cfg, struct jc_extract_limits *lim);
/* Fetch `path` of container `ref` and extract it safely into `dest_fd`
 * within `lim` (which counts on across calls; free it with
 * jc_extract_limits_free), adding what was written and
 * refused to *rep (at most 100 reasons), also after a failure. */
int jc_stage_out(struct jc_backend *e, const char *ref, const char *name, const char *path,
		 int dest_fd, struct jc_extract_limits *lim, struct jc_extract_report *rep,
		 const struct jc_stage_progress *p, jc_error *err);
/* Through a never-started transfer container of `image`, in one archive:
 * give the root of `volume` to uid:gid with the site's job_mode, and send
 * `in` (may be empty) into it.  The container carries `supervisor` and `deadline` (0:
 * none) as labels, for gc. */
int jc_stage_fill_volume(struct jc_backend *e, const struct jc_config *cfg, const char *image,
			 const char *user, uid_t uid, gid_t gid, const char *volume,
			 const char *supervisor, int64_t deadline, const struct jc_inputs *in,
			 const struct jc_stage_progress *p, jc_error *err);

#endif
