/* String vectors and small helpers (util.c). */
#ifndef JC_UTIL_H
#define JC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* The piece in which an archive stream moves between the file system, the
 * socket pair and libcurl, each way: the buffers that hold one are what a
 * transfer costs in memory, whatever its size (docs/performance.md).
 * Smaller pieces cost a system call and a wake-up each. */
#define JC_STREAM_BLOCK (256 * 1024)

struct jc_strv {
	char **v;
	size_t n;
};

int jc_strv_push(struct jc_strv *s, const char *str);
int jc_strv_copy(struct jc_strv *dst, const struct jc_strv *src);
void jc_strv_free(struct jc_strv *s);
/* "a symlink", "a regular file", "a fifo", ... for messages. */
const char *jc_file_type(mode_t m);

/* A copy of at most `max` bytes of `s` (which may hold NULs up to `len`)
 * fit for a terminal, a log and JSON: bytes outside printable ASCII become
 * '?'; a cut is marked with "...".  The one rule for text that quotes a
 * request, a job or the engine.  NULL when out of memory. */
char *jc_text_printable(const char *s, size_t len, size_t max);
/* The same for a whole string, never cut; NULL stays NULL. */
char *jc_text_printable_str(const char *s);

/* Milliseconds on the monotonic clock: every deadline and interval. */
int64_t jc_mono_ms(void);
/* Milliseconds since the epoch: volume names and creation labels, never a
 * deadline (the wall clock can jump). */
int64_t jc_unix_ms(void);

#endif
