/* Opening paths beneath a directory descriptor without following symlinks
 * (fsutil.c). */
#ifndef JC_FSUTIL_H
#define JC_FSUTIL_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "error.h"

/* At most this many symlinks on the way of one path, as the kernel's own
 * bound (MAXSYMLINKS, 40 since Linux 4.2). */
#define JC_FS_MAX_LINKS 40

/* Open the relative `path` beneath the directory `dirfd` with `flags`
 * (plus O_NOFOLLOW|O_CLOEXEC) and, with O_CREAT, `mode`, following no
 * symlink on the way or at the end: openat2 with RESOLVE_BENEATH|
 * RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, or, where the kernel lacks it
 * (ENOSYS: before Linux 5.6, under valgrind or a seccomp filter), one
 * component at a time with O_NOFOLLOW.  Both answer alike: a symlink on the
 * way is ELOOP; a symlink as the last component is ELOOP, ENOTDIR with
 * O_DIRECTORY, or, with O_PATH, a descriptor of the link itself; an absolute
 * path or any `..` component is EXDEV.  O_DIRECTORY also keeps a fifo from
 * blocking the open.  Returns a new fd, or -1 with errno. */
int jc_fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/* Open the directory `path` beneath `dirfd` as jc_fs_open_beneath does with
 * `flags | O_DIRECTORY`, first creating its last component with `mode` when
 * that is missing (the components before it must exist).  Returns a new fd,
 * or -1 with errno (ENOTDIR or ELOOP when something else is in its place). */
int jc_fs_mkdir_beneath(int dirfd, const char *path, mode_t mode, int flags);

/* Open the directory `path` (relative) beneath `base` with O_RDONLY, one
 * component at a time, so that an error names the component.  A missing
 * last component is created (0700) when `create`; otherwise *out is -1 and
 * the path is good to create later.  Errors are JC_ERR_INPUT: "WHAT `PATH`:
 * `COMPONENT`: not a directory (symlinks are not followed)" for a symlink
 * or a non-directory.  *out is the caller's to close. */
int jc_fs_open_dir(int base, const char *path, const char *what, bool create, int *out,
		   jc_error *err);

/* The one rule for a directory that jobcell hands the engine a path through:
 * only root and jobcell's own user may rename its entries, or anyone when the
 * sticky bit limits renames to each entry's owner (as in /tmp).  Returns NULL
 * when `st` passes, else why not ("owned by another user"). */
const char *jc_fs_unsafe_dir(const struct stat *st);

/* Walk the absolute `path` from "/" one component at a time, as the kernel
 * resolves it, up to the directory that holds its last component (the last
 * component itself is the caller's: it is neither followed nor judged).
 * Every directory entered, "/" and any reached through `..` or a link
 * included, must pass jc_fs_unsafe_dir; every symlink met, at any depth of
 * a chain, must be owned by root or jobcell's user, and its target is
 * walked the same way (at most JC_FS_MAX_LINKS links in all).  So the path
 * as the engine will resolve it can be changed only by those two.  `what`
 * names the path in messages: "WHAT parent `/srv/l` is a symlink owned by
 * uid 1000: it could be swapped".  Errors are JC_ERR_WORKSPACE: EPERM for
 * a component that fails the rule, ELOOP for too many links, ENOTDIR, or
 * the errno of a component that cannot be looked at. */
int jc_fs_check_parents(const char *path, const char *what, jc_error *err);

/* The whole of the regular file open on `fd`, read to its end (a /proc
 * file's fstat size is 0), at most `max` bytes, into a new NUL-terminated
 * buffer (*len without the NUL); *st is its fstat.  Returns 0; -1 with
 * errno: EINVAL for what is not a regular file, EFBIG for one larger than
 * `max`, ENOMEM, or read's. */
int jc_fs_read_small(int fd, size_t max, char **out, size_t *len, struct stat *st);

#endif
