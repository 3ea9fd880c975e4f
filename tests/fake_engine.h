/* A fake Docker Engine for tests: a real HTTP server (libmicrohttpd) on a
 * temporary unix socket (or HTTPS on a loopback port), with container
 * state, a record of every request, and injectable faults.  It runs in the
 * test process on its own threads. */
#ifndef JC_FAKE_ENGINE_H
#define JC_FAKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

struct fake_engine;

struct fake_request {
	char *method;    /* "GET", "POST", ... */
	char *path;      /* as sent, version prefix removed: "/containers/create" */
	char *query;     /* raw query string without '?', "" when none */
	char *body;      /* the exact request body plus a NUL after it, "" when none;
			    binary bodies (tar) may hold NULs: use body_len */
	size_t body_len; /* bytes in body before the added NUL */
	char *version;   /* "1.41" from "/v1.41/...", "" when unversioned */
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
	FAKE_FAULT_DELAY,     /* wait `status` milliseconds (other requests are served
				 meanwhile), then answer as if no fault were set */
	FAKE_FAULT_SLOW,      /* 200 with a body that trickles and does not end (for
				 60 s, or until the client goes): 4 KiB every 50 ms of
				 a tar whose one member `big` claims 1 GiB, so that
				 a transfer moves and never stalls */
};

/* Start an engine speaking `api_version` ("1.41", "1.45") on a fresh socket in
 * a fresh temporary directory.  Returns NULL on failure. */
struct fake_engine *fake_engine_start(const char *api_version);
/* TLS for fake_engine_start_tls: PEM text, copied. */
struct fake_tls {
	const char *cert;  /* the engine's certificate */
	const char *key;   /* its key */
	const char *trust; /* a CA: a client must show a certificate it signed, or
			      meets a fatal alert before its request is seen (and
			      recorded), as dockerd --tlsverify; NULL: none asked */
};
/* The same engine on a fresh loopback TCP port, speaking HTTPS
 * (fake_engine_port), with a temporary directory all the same.  NULL on
 * failure. */
struct fake_engine *fake_engine_start_tls(const char *api_version, const struct fake_tls *tls);
/* Stop the server, remove the socket and its directory, free everything. */
void fake_engine_stop(struct fake_engine *fe);
/* Absolute path of the socket; "" for an engine started with TLS. */
const char *fake_engine_socket(const struct fake_engine *fe);
/* The loopback port of an engine started with TLS; 0 for a unix socket. */
int fake_engine_port(const struct fake_engine *fe);
/* What GET /info says of cgroups: CgroupDriver and CgroupVersion (by
 * default "cgroupfs" and "1", as Docker 20.10 and Podman 4.3 here). */
void fake_engine_set_cgroups(struct fake_engine *fe, const char *driver, const char *version);
/* Answer the ping as Podman does (Libpod-Api-Version: 4.3.1), or not. */
void fake_engine_set_libpod(struct fake_engine *fe, bool libpod);

/* Known images: create fails with 404 "No such image: NAME" for others.
 * `user` is the image's Config.User ("" for root). */
void fake_engine_add_image(struct fake_engine *fe, const char *name, const char *user);
/* Give image `name` (added before) the labels `labels_json`, a JSON object
 * such as {"jobcell.keep":"true"} (NULL: none).  Create merges them into
 * the container's Labels wherever the body sets no value for the key, as
 * Docker and Podman do.  `shown`: image inspect reports them in
 * Config.Labels; false is an image retagged between a client's inspect and
 * its create. */
void fake_engine_set_image_labels(struct fake_engine *fe, const char *name,
				  const char *labels_json, bool shown);

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
 * whose path contains `path_substr` fail as `fault`; a `path_substr` with a
 * '*' is instead an fnmatch(3) pattern for the whole path (version prefix and
 * query removed).  `status`/`message` are used by FAKE_FAULT_STATUS. */
void fake_engine_fail(struct fake_engine *fe, const char *method, const char *path_substr,
		      enum fake_fault fault, int status, const char *message, int times);
/* Turn every fault set so far off: the engine works again. */
void fake_engine_clear_faults(struct fake_engine *fe);

/* Containers that exist now (any state). */
size_t fake_engine_container_count(struct fake_engine *fe);

/* ---- volumes ----
 * POST /volumes/create: 201 with the volume.  Like Docker, creating a name
 * that exists answers 201 with the EXISTING volume unchanged (its labels, not
 * the ones asked for); an empty or missing Name gets a 64-hex name; a name
 * outside [A-Za-z0-9][A-Za-z0-9_.-]+ is 400; a Driver other than "local" 404.
 * GET /volumes/{name}: 200, or 404 "get NAME: no such volume".
 * GET /volumes?filters=: {"Volumes":[...],"Warnings":null}; filters label
 * ("k" or "k=v", all must match), name (substring), driver, dangling.
 * DELETE /volumes/{name}: 204; 404 "get NAME: no such volume" (but 204 with
 * force=1, as Docker); 409 "remove NAME: volume is in use - [ID ...]" while a
 * container that is not removed (any state) mounts it, even with force=1.
 * POST /containers/create auto-creates the named volumes it mounts (no labels),
 * through HostConfig.Mounts entries of Type "volume" (an empty Source makes an
 * anonymous volume labelled com.docker.volume.anonymous) and through
 * HostConfig.Binds entries "name:/target[:opts]".  HostConfig.Tmpfs must be an
 * object when present.  VolumeOptions.Subpath: an engine started at < 1.45
 * ignores it (drops it from the stored config, as old engines drop unknown
 * fields; the recorded request still shows what was sent); at >= 1.45 a
 * request under /v1.44 or older with a Subpath is 400 "VolumeOptions.Subpath
 * needs API v1.45 or newer", an absolute subpath or one with ".." is 400, else
 * it is recorded. */
size_t fake_engine_volume_count(struct fake_engine *fe);
bool fake_engine_has_volume(struct fake_engine *fe, const char *name);
/* Creates `name`, or replaces the labels of an existing one.  `labels_json`
 * is a JSON object such as {"owner":"someone-else"}; NULL or unparsable: none. */
void fake_engine_add_volume(struct fake_engine *fe, const char *name, const char *labels_json);
/* The next `times` valid POST /volumes/create answer 201 with the requested
 * Name but labels {"jobcell.nonce":"0000000000000000"} and create nothing:
 * as when another client holds that name already.  0 turns it off. */
void fake_engine_volume_collide(struct fake_engine *fe, int times);
/* The subpath container `container_ref` (id, unique id prefix, or name; a
 * removed container is still found when no live one matches) mounts volume
 * `volume` with: "" when mounted whole or when the engine ignored Subpath;
 * NULL when the container is unknown or does not mount that volume.  Valid
 * until fake_engine_stop. */
const char *fake_engine_volume_subpath(struct fake_engine *fe, const char *container_ref,
				       const char *volume);
/* As fake_engine_volume_subpath, for the mount of `volume` at exactly
 * `target`: a container may mount one volume at several targets (two
 * subpaths of a site volume).  NULL when there is no such mount. */
const char *fake_engine_mount_subpath(struct fake_engine *fe, const char *container_ref,
				      const char *volume, const char *target);

/* ---- archives ----
 * PUT /containers/{ref}/archive?path=P with Content-Type application/x-tar
 * (parameters after ';' allowed): 200 and the body is kept per container and
 * exact path P (a later PUT to the same P replaces it).  404 "No such
 * container: REF"; 400 "bad parameter: path cannot be empty"; 400
 * "Content-Type must be application/x-tar" for any other or no Content-Type;
 * 413 for a body over 256 MiB (answered before the body when Content-Length
 * says so).  GET /containers/{ref}/archive?path=P: 200 application/x-tar with
 * the bytes fake_engine_set_archive gave for P, else the last PUT body to P of
 * that container, else 404 "Could not find the file P in container REF"; the
 * answer (and HEAD's) carries X-Docker-Container-Path-Stat, showing P as a
 * directory (HEAD beneath a bind mount: fake_engine_map_path).  FAKE_FAULT_DROP on
 * a GET archive sends the first half of those bytes (chunked), then closes. */
void fake_engine_set_archive(struct fake_engine *fe, const char *path, const void *tar, size_t len);
/* HEAD /containers/{ref}/archive?path=P for a P at or beneath the target
 * of one of the container's bind mounts (HostConfig.Mounts of Type "bind",
 * HostConfig.Binds "/src:/dst") answers as the real engines do for a
 * created container: 200 with the lstat(2) of the source plus the rest of
 * P, on this machine, in X-Docker-Container-Path-Stat; 404 when there is
 * nothing there.  This makes the engine's host see `from` (and what lies
 * beneath it) at `to`: a bind source the engine resolves elsewhere than
 * jobcell checked it. */
void fake_engine_map_path(struct fake_engine *fe, const char *from, const char *to);
/* With `fail`, that HEAD beneath a bind of a single file answers 500, as
 * Podman 4.3 does ("error in copier subprocess: ... not a directory"). */
void fake_engine_file_binds_fail(struct fake_engine *fe, bool fail);
/* The last PUT body to `path` of container `container_ref` (found as for
 * fake_engine_volume_subpath), its size in *len; NULL (and *len 0) when none.
 * Valid until the next PUT to the same container and path, or stop. */
const void *fake_engine_archive_put(struct fake_engine *fe, const char *container_ref,
				    const char *path, size_t *len);

/* ---- attach ----
 * POST /containers/{ref}/attach with Upgrade: tcp and the query
 * stdin=1&stream=1&stdout=0&stderr=0, on a container created with OpenStdin
 * (else 400, or 409): 101 and the connection is the container's stdin,
 * recorded until the client half-closes or goes, or the container exits
 * (60 s at most); nothing is sent back.  The program "cat" runs until then, writes what it got to its
 * log (stdout) and exits 0.  FAKE_FAULT_DROP on the attach: 101, then the
 * connection is closed once 4 KiB or more came, and stdin ends there. */
/* What attaches sent to the stdin of `container_ref` (found as for
 * fake_engine_volume_subpath), its size in *len, and whether it ended;
 * NULL when none came.  Valid until the next attach's bytes, or stop. */
const void *fake_engine_stdin(struct fake_engine *fe, const char *container_ref, size_t *len,
			      bool *ended);

#endif
