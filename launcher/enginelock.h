/* The engine lock (enginelock.c): one lock per site and engine endpoint,
 * taken around the engine calls that the engine cannot take from several
 * jobs at once.  Podman 4.3 deadlocks when containers that share two named
 * volumes are created at once (podman#20313), and every volume-mode job of
 * a site mounts the same two site volumes.  docs/volumes.md "Podman and
 * concurrent jobs". */
#ifndef JC_ENGINELOCK_H
#define JC_ENGINELOCK_H

#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* How often a waiter looks at the lock, the signal fd and the parent. */
#define JC_ENGINELOCK_POLL_MS 20

/* The lock file of `site` on `endpoint` in `dir`: DIR/SITE-HASH.lock, HASH
 * 16 hex digits of the endpoint (FNV-1a, 64 bits).  Caller frees; NULL when
 * out of memory. */
char *jc_enginelock_path(const char *dir, const char *site, const char *endpoint);

/* Take the lock of `site` on `endpoint`: `dir` (absolute; NULL, an unset
 * [engine] lock_dir, is refused) is made 0700 when
 * missing, and must be a directory owned by jobcell's user that no one else
 * may enter; the lock file in it is made 0600.  The lock is flock(2), so the
 * kernel drops it when its holder dies, however it dies; the holder writes
 * its pid into the file.  A waiter gives up, with an error naming the lock
 * file and its holder, when the holder has not changed for `timeout_ms`; it
 * stops waiting at once when `signal_fd` (if >= 0) is readable (the signal
 * is read, and named: EINTR) or the parent is no longer `parent` (if > 0:
 * ESRCH).  `what` names the step in messages ("create container `x`").
 * Returns 0 and the held lock's descriptor in *fd (release with
 * jc_enginelock_release), or -1. */
int jc_enginelock_take(const char *dir, const char *site, const char *endpoint,
		       int64_t timeout_ms, int signal_fd, pid_t parent, const char *what, int *fd,
		       jc_error *err);

/* Release the lock held by *fd (if >= 0) and set *fd to -1. */
void jc_enginelock_release(int *fd);

#endif
