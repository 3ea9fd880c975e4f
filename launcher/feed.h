/* The caller's standard input, passed to a job's (feed.c). */
#ifndef JC_FEED_H
#define JC_FEED_H

#include <poll.h>
#include <stdbool.h>
#include "backend.h"
#include "error.h"

struct jc_feed;

/* Read `fd` (the caller's stdin) for a job.  Nothing is read yet.  Free
 * with jc_feed_free. */
int jc_feed_open(int fd, struct jc_feed **out, jc_error *err);
/* Attach to the standard input of container `ref` (created with it open),
 * before its start. */
int jc_feed_attach(struct jc_feed *f, struct jc_backend *b, const char *ref, const char *name,
		   jc_error *err);
/* What to wait for next: room on the attach, or input to read; fd -1 when
 * nothing (the input has ended and was passed on, or the job takes no
 * more). */
struct pollfd jc_feed_want(const struct jc_feed *f);
/* Move what can be moved without blocking: `w` (may be NULL) is what
 * jc_feed_want gave, with the revents the wait found.  At most one read
 * of the input is held at a time.  An engine that closed its end (the job
 * stopped reading, or exited) ends the feed quietly: input a job does not
 * take is not an error. */
void jc_feed_move(struct jc_feed *f, const struct pollfd *w);
/* Why the input was ended short (it could not be read), or NULL. */
const char *jc_feed_warning(const struct jc_feed *f);
void jc_feed_free(struct jc_feed *f);

#endif
