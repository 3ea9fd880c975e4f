/* The transport to an engine (http.c): HTTP over libcurl, on a unix socket
 * or TCP.  It knows requests, statuses, bodies and their caps; what the
 * paths and bodies mean is the backend's (docker/). */
#ifndef JC_HTTP_H
#define JC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "endpoint.h"
#include "error.h"

struct jc_http;

/* The engine's own message out of the body of an error answer, or NULL.
 * Caller frees. */
typedef char *(*jc_http_message_fn)(const char *body);

/* Set up libcurl for the endpoint (endpoint.h): for TLS, read the CA,
 * certificate and key through descriptors (a key open to group or others is
 * refused).  No engine is contacted.  `timeout_ms` bounds every plain call;
 * `message` reads the backend's error bodies.  Free with jc_http_close. */
int jc_http_open(const struct jc_endpoint *ep, int64_t timeout_ms, jc_http_message_fn message,
		 struct jc_http **out, jc_error *err);
void jc_http_close(struct jc_http *h);
/* The process is jobcell's own (the CLI), not a program that took the
 * library and may use OpenSSL itself: OpenSSL's configuration file need not
 * be read unless a TLS endpoint is opened.  Call before jc_http_open. */
void jc_http_own_process(void);
/* How the engine is reached, for check: "unix socket `/x`", "TLSv1.3, the
 * engine's certificate verified for `host` against `ca.pem`, client
 * certificate `cert.pem` accepted", "ssh to `host`, ...".  Caller frees. */
char *jc_http_transport(const struct jc_http *h);
/* Plain calls and streams give up when `c` (the backend's, may be NULL)
 * says so while *state is armed: JC_ERR_SYSTEM with EINTR ("step `object`:
 * interrupted by SIGTERM"), ESRCH ("the parent went away") or ETIMEDOUT
 * ("the run's deadline passed"), and *state becomes fired.  A signal
 * wakes the wait at once; the parent and the deadline are looked at every
 * 200 ms.  Asynchronous requests never look at it. */
void jc_http_watch(struct jc_http *h, const struct jc_cancel *c, enum jc_cancel_state *state);
const char *jc_http_endpoint(const struct jc_http *h);
int64_t jc_http_timeout(const struct jc_http *h);
/* `s` escaped for a URL query.  Caller frees. */
char *jc_http_escape(const char *s);

/* A response header to keep: `name` with its colon ("api-version:"),
 * case-insensitive; a value too long for `value` is kept as "?".  Calls take
 * an array of them ended by one whose name is NULL.  Room for the archive
 * endpoint's base64 stat of a path of ours. */
struct jc_http_header {
	const char *name;
	char value[2048];
};

/* A call on the reused connection; `path` is everything after the host.
 * A status >= 400 becomes an error carrying `step`, `object` and the
 * engine's message; a failed transfer one saying what failed and where.
 * `body` (may be NULL) gets the answer, capped at 8 MiB.  `hdr` (may be
 * NULL) is the array of headers to keep. */
int jc_http_call(struct jc_http *h, const char *method, const char *path, const char *json,
		 int64_t timeout_ms, struct jc_http_header *hdr, const char *step,
		 const char *object, char **body, jc_error *err);

/* Archives, streamed: PUT sends what is read from `fd` until EOF as the
 * body; GET writes the body to `fd` as it arrives.  No whole-call timeout:
 * a transfer fails when no byte moves for the engine timeout.  `progress`
 * (may be NULL) is told the bytes moved so far.  `failed` (may be NULL) is
 * set by the producer before it closes `fd` after a failure: the upload is
 * then aborted, not ended, so the engine never takes a cut archive for a
 * whole one. */
int jc_http_stream(struct jc_http *h, bool put, const char *path, const char *step,
		   const char *object, int fd, const int *failed, jc_progress_fn progress,
		   void *ctx, jc_error *err);

/* Asynchronous requests: several in flight on their own connections,
 * driven by jc_http_poll. */
struct jc_http_async;
/* How a streamed body is taken: feed() returns how much it took (less than
 * `len`: no more room now, offer the rest later) or -1 on a malformed
 * stream; midway() says the stream stopped inside one of its units. */
struct jc_http_decoder {
	ssize_t (*feed)(void *ctx, const char *buf, size_t len);
	bool (*midway)(const void *ctx);
	void *ctx;
};
/* Start a request.  With `dec`, the body is fed to it as it arrives and
 * never kept whole: when it takes less than offered, the rest (one network
 * read at most) waits and the transfer is paused until jc_http_flush gets
 * it taken.  Without, the body is kept (capped) for jc_http_result.
 * `timeout_ms` 0 means no limit. */
int jc_http_begin(struct jc_http *h, const char *method, const char *path, int64_t timeout_ms,
		  const struct jc_http_decoder *dec, struct jc_http_async **out, jc_error *err);
bool jc_http_done(const struct jc_http_async *a);
/* The response status line has arrived (the engine has taken the request). */
bool jc_http_answered(const struct jc_http_async *a);
/* Body is held back: the decoder is full. */
bool jc_http_paused(const struct jc_http_async *a);
/* Offer held-back body again; resume the transfer once it is all taken.
 * Returns true when anything was taken. */
bool jc_http_flush(struct jc_http_async *a);
/* Bytes of body received so far: a measure of progress. */
uint64_t jc_http_received(const struct jc_http_async *a);
/* After done: the outcome, as jc_http_call reports it.  Does not free `a`. */
int jc_http_result(struct jc_http_async *a, const char *step, const char *object, char **body,
		   jc_error *err);
void jc_http_free(struct jc_http_async *a);
/* Run transfers, waiting up to `timeout_ms` for progress or for `fd` (if
 * >= 0) to become readable.  Returns 1 when fd is readable, 0 otherwise. */
int jc_http_poll(struct jc_http *h, int fd, int timeout_ms, jc_error *err);

/* As jc_http_poll, waiting for any of `fds` (up to 4; fd -1 is left out)
 * as poll(2) would, and filling their revents.  Returns how many have
 * revents. */
struct pollfd;
int jc_http_poll_fds(struct jc_http *h, struct pollfd *fds, size_t n, int timeout_ms,
		     jc_error *err);

/* A hijacked connection: the engine's attach.  POST `path` asking for the
 * upgrade (Upgrade: tcp); an answer 101 (or 200 from an older engine) makes
 * the connection a raw byte pipe.  The connection and the answer's head are
 * bounded by the engine timeout and the armed cancel; an error answer
 * becomes an error as jc_http_call's do.  Free with jc_http_conn_free. */
struct jc_http_conn;
int jc_http_hijack(struct jc_http *h, const char *path, const char *step, const char *object,
		   struct jc_http_conn **out, jc_error *err);
/* The socket, to poll for room to send. */
int jc_http_conn_fd(const struct jc_http_conn *c);
/* Send without blocking: the bytes taken, 0 when there is no room now, -1
 * with errno (EPIPE, ECONNRESET: the engine closed its end). */
ssize_t jc_http_conn_send(struct jc_http_conn *c, const void *buf, size_t len);
/* No more will be sent: a half-close.  -1 with errno. */
int jc_http_conn_end(struct jc_http_conn *c);
void jc_http_conn_free(struct jc_http_conn *c);

#endif
