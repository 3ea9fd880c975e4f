/* The Docker Engine API backend, for Docker and Podman's compatible API
 * (docker/engine.c).  The rest of jobcell reaches it through backend.h;
 * this header is for opening it and for its tests. */
#ifndef JC_DOCKER_ENGINE_H
#define JC_DOCKER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "endpoint.h"

#define JC_API_MIN "1.41"
#define JC_API_MAX "1.45"
/* Subpaths of volumes (VolumeOptions.Subpath) need this Engine API. */
#define JC_API_SUBPATH "1.45"
/* BindOptions.CreateMountpoint appeared in Engine API 1.42 (Docker 23.0). */
#define JC_API_CREATE_MOUNTPOINT "1.42"

/* Set up the transport to the endpoint (http.h); no engine is contacted:
 * ping negotiates min(engine, JC_API_MAX) and refuses engines older than
 * JC_API_MIN or with a malformed Api-Version.  Free with jc_backend_close. */
int jc_docker_open(const struct jc_endpoint *ep, int64_t timeout_ms, struct jc_backend **out,
		   jc_error *err);
/* POST /containers/create with a body of the caller's (`name` NULL: the
 * engine names it).  For the backend and for tests that plant containers. */
int jc_docker_create_json(struct jc_backend *b, const char *name, const char *json, char **id,
			  jc_error *err);

/* The Docker raw-stream framing of logs: 8-byte headers
 * {stream,0,0,0,size32be}. */
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
