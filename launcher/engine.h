/* The Engine API client over libcurl (engine.c). */
#ifndef JC_ENGINE_H
#define JC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "request.h"

#define JC_API_MIN "1.41"
#define JC_API_MAX "1.45"

struct jc_engine;

/* Parse the endpoint (unix:///path, tcp://host:port, http://host:port) and
 * set up libcurl.  No I/O.  `timeout_ms` bounds every plain call. */
int jc_engine_open(const char *endpoint, int64_t timeout_ms, struct jc_engine **out, jc_error *err);
void jc_engine_close(struct jc_engine *e);
/* GET /_ping: negotiate min(engine, JC_API_MAX); refuse engines older than
 * JC_API_MIN or with a malformed Api-Version. */
int jc_engine_ping(struct jc_engine *e, jc_error *err);
const char *jc_engine_api(const struct jc_engine *e);
/* The bound on every plain call, in ms. */
int64_t jc_engine_timeout(const struct jc_engine *e);

/* Typed calls on the reused connection.  HTTP statuses >= 400 become
 * errors that carry the step, the object and the engine's own message. */
/* `name` NULL: the engine names the container. */
int jc_engine_create(struct jc_engine *e, const char *name, const char *json, char **id,
		     jc_error *err);
/* The calls below take a container reference `ref` (id or name) and, for
 * messages, `name` (NULL: ref). */
int jc_engine_start(struct jc_engine *e, const char *ref, const char *name, jc_error *err);
/* Stop: SIGTERM (or the image's stop signal), SIGKILL after `grace_s`. */
int jc_engine_stop(struct jc_engine *e, const char *ref, const char *name, int grace_s,
		   jc_error *err);
/* DELETE with force and anonymous volumes. A missing container is success. */
int jc_engine_remove(struct jc_engine *e, const char *ref, const char *name, jc_error *err);
int jc_engine_inspect(struct jc_engine *e, const char *ref, struct jc_inspect *out, jc_error *err);
/* Config.User of an image, "" when unset. Caller frees. */
int jc_engine_image_user(struct jc_engine *e, const char *image, char **user, jc_error *err);
/* Containers labelled jobcell.managed=true (and jobcell.site=site when not NULL). */
int jc_engine_list(struct jc_engine *e, const char *site, bool all, struct jc_container_list *out,
		   jc_error *err);

/* Volumes.  Create answers with the volume as the engine has it, which is an
 * older one when the name was taken: callers compare labels. */
int jc_engine_volume_create(struct jc_engine *e, const char *name, const char *json,
			    struct jc_volume *out, jc_error *err);
int jc_engine_volume_inspect(struct jc_engine *e, const char *name, struct jc_volume *out,
			     jc_error *err);
/* A missing volume is success; one in use fails with EBUSY and retry set. */
int jc_engine_volume_remove(struct jc_engine *e, const char *name, jc_error *err);
/* Volumes labelled jobcell.managed=true (and jobcell.site=site when not NULL). */
int jc_engine_volume_list(struct jc_engine *e, const char *site, struct jc_volume_list *out,
			  jc_error *err);

/* Archives, streamed: PUT sends what is read from `fd` until EOF as the
 * body; GET writes the body to `fd` as it arrives.  No whole-call timeout:
 * a transfer fails when no byte moves for the engine timeout.  `progress`
 * (may be NULL) is told the bytes moved so far. */
typedef void (*jc_progress_fn)(void *ctx, uint64_t bytes);
/* `failed` (may be NULL) is set by the producer before it closes `fd`
 * after a failure: the upload is then aborted, not ended, so the engine
 * never takes a cut archive for a whole one. */
int jc_engine_archive_put(struct jc_engine *e, const char *ref, const char *name, const char *path,
			  int fd, const int *failed, jc_progress_fn progress, void *ctx,
			  jc_error *err);
int jc_engine_archive_get(struct jc_engine *e, const char *ref, const char *name, const char *path,
			  int fd, jc_progress_fn progress, void *ctx, jc_error *err);

/* Asynchronous requests, for supervision: several in flight on their own
 * connections, driven by jc_engine_poll. */
struct jc_async;
/* Takes job output of `stream` (1 stdout, 2 stderr) and returns how much of
 * it was taken; less than `len` means "no more room now, offer the rest
 * later". */
typedef size_t (*jc_sink_fn)(void *ctx, int stream, const char *buf, size_t len);
/* Start a request.  With `sink`, the body is a multiplexed log stream that is
 * demultiplexed into sink() as it arrives and never kept whole: when the
 * sink takes less than offered, the rest (one network read at most) waits
 * and the transfer is paused until jc_async_flush gets it taken.  Without a
 * sink, the body is kept (capped) for jc_async_result.  `timeout_ms` 0
 * means no limit. */
int jc_async_begin(struct jc_engine *e, const char *method, const char *path, int64_t timeout_ms,
		   jc_sink_fn sink, void *ctx, struct jc_async **out, jc_error *err);
bool jc_async_done(const struct jc_async *a);
/* Offer held-back output to the sink again; resume the transfer once it is
 * all taken.  Returns true when the sink took anything. */
bool jc_async_flush(struct jc_async *a);
/* Output is held back: the sink is full. */
bool jc_async_paused(const struct jc_async *a);
/* Bytes of body received so far: a measure of progress. */
uint64_t jc_async_received(const struct jc_async *a);
/* The response status line has arrived (the engine has taken the request). */
bool jc_async_answered(const struct jc_async *a);
/* After done: the outcome, as the typed calls report it.  Does not free `a`. */
int jc_async_result(struct jc_async *a, const char *step, const char *object, char **body,
		    jc_error *err);
void jc_async_free(struct jc_async *a);
/* Run transfers, waiting up to `timeout_ms` for progress or for `fd` (if
 * >= 0) to become readable.  Returns 1 when fd is readable, 0 otherwise. */
int jc_engine_poll(struct jc_engine *e, int fd, int timeout_ms, jc_error *err);

/* The Docker raw-stream framing: 8-byte headers {stream,0,0,0,size32be}. */
struct jc_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left;
	int stream;
	jc_sink_fn sink;
	void *ctx;
};
void jc_demux_init(struct jc_demux *d, jc_sink_fn sink, void *ctx);
/* Feed bytes in any chunking.  Returns how many were consumed (fewer than
 * `len` when the sink stopped taking), or -1 on a frame with a bad stream
 * byte. */
ssize_t jc_demux_feed(struct jc_demux *d, const char *buf, size_t len);

#endif
