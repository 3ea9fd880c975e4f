/* Opening and creating beneath a directory without following symlinks
 * (fsutil.c). */
#ifndef JC_FSUTIL_H
#define JC_FSUTIL_H

#include <stdbool.h>

#include "error.h"

/* Open the directory `path` (relative, checked with jc_path_check) beneath
 * `base`, one component at a time without following symlinks.  A missing
 * last component is created (0700) when `create`; otherwise *out is -1 and
 * the path is good to create later. */
int jc_fs_open_dir(int base, const char *path, bool create, int *out, jc_error *err);

#endif
