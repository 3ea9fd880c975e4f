/* Read-only data mounts ([mounts]) (data.c). */
#ifndef JC_DATA_H
#define JC_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"

struct jc_data_mount {
	char *name; /* [mounts] NAME */
	char *path; /* HOST_PATH as configured */
	int fd;     /* O_PATH of what was checked */
	dev_t dev;  /* ... and its identity, for the recheck */
	ino_t ino;
};

struct jc_data {
	struct jc_data_mount *m;
	size_t n;
};

/* Open every [mounts] entry through descriptors: the way to the longest
 * matching data prefix judged by jc_fs_check_parents, the prefix with
 * O_PATH|O_DIRECTORY|O_NOFOLLOW (refused when jc_fs_unsafe_dir says so, or
 * when, resolved, it meets an engine socket or the workspace), then the rest beneath it with
 * jc_fs_open_beneath (no symlink followed, on the way or at the end).  What
 * is found must be a directory or a regular file.  Errors name the mount and the
 * step (JC_ERR_WORKSPACE; outside every prefix: JC_ERR_CONFIG).  *out is
 * overwritten on success (start from { 0 }); free with jc_data_close. */
int jc_data_open(const struct jc_config *cfg, struct jc_data *out, jc_error *err);
/* Open every mount again the same way and compare device and inode with
 * what jc_data_open found: catches a swap since the check. */
int jc_data_recheck(const struct jc_config *cfg, const struct jc_data *d, jc_error *err);
void jc_data_close(struct jc_data *d);

#endif
