/* A fake Docker Engine for tests: a real HTTP server (libmicrohttpd) on a
 * temporary unix socket, with container state, a record of every request,
 * and injectable faults.  It runs in the test process on its own threads. */
#ifndef JC_FAKE_ENGINE_H
#define JC_FAKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

struct fake_engine;

struct fake_request {
	char *method;  /* "GET", "POST", ... */
	char *path;    /* as sent, version prefix removed: "/containers/create" */
	char *query;   /* raw query string without '?', "" when none */
	char *body;    /* NUL-terminated request body, "" when none */
	char *version; /* "1.41" from "/v1.41/...", "" when unversioned */
};

enum fake_fault {
	FAKE_FAULT_STATUS,    /* answer `status` with {"message": message} */
	FAKE_FAULT_DROP,      /* send headers and part of the body, then close */
	FAKE_FAULT_HANG,      /* answer nothing until the client goes away (or 60 s) */
	FAKE_FAULT_MALFORMED, /* 200/201 with a body that is not JSON */
	FAKE_FAULT_TRUNCATED, /* 200/201 with valid-looking JSON cut in half, complete response */
	FAKE_FAULT_LOST,      /* do what was asked, then drop the connection instead of
				 answering: the client cannot know it happened */
	FAKE_FAULT_BADFRAME,  /* 200 with a raw stream: one good stdout frame ("ok"),
				 then a frame header with stream byte 5 */
};

/* Start an engine speaking `api_version` ("1.41", "1.45") on a fresh socket in
 * a fresh temporary directory.  Returns NULL on failure. */
struct fake_engine *fake_engine_start(const char *api_version);
/* Stop the server, remove the socket and its directory, free everything. */
void fake_engine_stop(struct fake_engine *fe);
/* Absolute path of the socket. */
const char *fake_engine_socket(const struct fake_engine *fe);

/* Known images: create fails with 404 "No such image: NAME" for others.
 * `user` is the image's Config.User ("" for root). */
void fake_engine_add_image(struct fake_engine *fe, const char *name, const char *user);

/* Every request so far, in arrival order (thread-safe snapshot semantics:
 * the returned pointer stays valid until fake_engine_stop or _reset). */
size_t fake_engine_request_count(struct fake_engine *fe);
const struct fake_request *fake_engine_request(struct fake_engine *fe, size_t i);
/* First request whose method equals `method` and whose path starts with
 * `path_prefix`; NULL when none. */
const struct fake_request *fake_engine_find(struct fake_engine *fe, const char *method,
					    const char *path_prefix);
/* How many requests matched method + path prefix. */
size_t fake_engine_count(struct fake_engine *fe, const char *method, const char *path_prefix);
/* Forget recorded requests (containers stay). */
void fake_engine_reset_requests(struct fake_engine *fe);

/* Make the next `times` requests (-1: all) whose method equals `method` and
 * whose path contains `path_substr` fail as `fault`.  `status`/`message`
 * are used by FAKE_FAULT_STATUS. */
void fake_engine_fail(struct fake_engine *fe, const char *method, const char *path_substr,
		      enum fake_fault fault, int status, const char *message, int times);

/* Containers that exist now (any state). */
size_t fake_engine_container_count(struct fake_engine *fe);

#endif
