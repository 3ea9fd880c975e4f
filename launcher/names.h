/* Name rules: pure checks, no I/O (names.c). */
#ifndef JC_NAMES_H
#define JC_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "util.h"

#define JC_NAME_MAX 64

/* Job, tenant, run and site names: 1..JC_NAME_MAX of [A-Za-z0-9][A-Za-z0-9_.-]*,
 * not "." or "..".  `what` names the input in the message ("job name"). */
int jc_name_check(const char *name, const char *what, jc_error *err);
/* A site name is a name without `-`, so that the container name
 * jobcell-<site>-<job> splits one way only. */
int jc_name_check_site(const char *name, jc_error *err);
/* A job name must also not be a reserved child (startup, local, and the
 * site's extra reserved names), compared without case. */
int jc_name_check_job(const char *name, const struct jc_strv *reserved, jc_error *err);
/* Environment entries "NAME=VALUE": NAME is [A-Za-z_][A-Za-z0-9_]*, VALUE has
 * no control character but tab. */
int jc_name_check_env(const char *entry, jc_error *err);
/* Image references: printable, no space, no "..", [A-Za-z0-9] first, at most
 * 255 chars of [A-Za-z0-9._/:@-]. */
int jc_name_check_image(const char *image, jc_error *err);

/* Docker's rule for volume names: [A-Za-z0-9][A-Za-z0-9_.-]+, at most
 * JC_VOLUME_NAME_MAX. */
#define JC_VOLUME_NAME_MAX 255
int jc_volume_name_check(const char *name, jc_error *err);
/* "tenant-<tenant>-run-<run>-<unix ms>-<8 hex of rnd>".  Caller frees. */
char *jc_volume_name(const char *tenant, const char *run, int64_t unix_ms, uint32_t rnd);
/* The jobcell.supervisor label: "<boot id>/<pid namespace>/<pid>/<start time>",
 * 1..128 of [0-9a-f/-]. */
int jc_supervisor_check(const char *id, jc_error *err);

#endif
