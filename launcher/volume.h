/* Volumes, transfers and gc (volume.c). */
#ifndef JC_VOLUME_H
#define JC_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "archive.h"

/* This process as the jobcell.supervisor label names it.  Caller frees. */
int jc_supervisor_self(char **id, jc_error *err);
enum jc_liveness { JC_SUPERVISOR_DEAD, JC_SUPERVISOR_ALIVE, JC_SUPERVISOR_UNKNOWN };
/* Judge a jobcell.supervisor label from here: alive or dead when it names a
 * process of this boot and pid namespace (pid and start time must both
 * match), unknown otherwise (another host, boot or container). */
enum jc_liveness jc_supervisor_liveness(const char *id);

struct jc_volume_spec {
	const char *site, *tenant, *run, *job; /* job may be NULL */
	const char *supervisor;                /* NULL: none (kept volumes) */
	bool keep;
	int64_t created; /* unix seconds, for the label */
	int64_t size;    /* [volume] size; 0: no cap */
};
/* Create a fresh volume tenant-<tenant>-run-<run>-<ms>-<random> with the
 * labels jobcell.managed/tenant/run/site/job/created/nonce (+ supervisor,
 * keep).  The engine hands back an existing volume when the name is taken:
 * a foreign nonce means exactly that, and another name is tried; a volume
 * is never shared.  *name is the caller's to free; `nonce` (may be NULL)
 * gets the volume's jobcell.nonce, for the job container's
 * jobcell.volume_nonce. */
int jc_volume_make(struct jc_backend *e, const struct jc_volume_spec *s, char **name,
		   char nonce[17], jc_error *err);
/* Remove a volume, retrying while the engine says it is in use (a removed
 * container can hold it a moment longer): `tries` attempts 500 ms apart. */
int jc_volume_remove_retry(struct jc_backend *e, const char *name, int tries, jc_error *err);

/* A container that is created and never started, with `volume` mounted
 * read-write at /v (the backend's stage container): stage in and out read
 * and write the volume through it.  Labelled (role "transfer") so that gc
 * finds it. */
#define JC_TRANSFER_MOUNT "/v"
int jc_transfer_open(struct jc_backend *e, const char *image, const char *user, const char *volume,
		     const char *site, const char *supervisor, char **id, jc_error *err);
/* Stream the inputs as a tar archive into `path` of container `ref`: a
 * thread writes the archive into a socket pair, the engine call reads it. */
int jc_transfer_put(struct jc_backend *e, const char *ref, const char *name, const char *path,
		    const struct jc_tar_opts *o, const struct jc_input *in, size_t n,
		    jc_progress_fn progress, void *ctx, jc_error *err);
/* Fetch `path` of container `ref` and extract it safely into `dest_fd`
 * within `lim` (jc_archive_extract): the engine call writes into a socket
 * pair, a thread extracts from it.  When the extraction stops early it
 * stops reading, and the transfer is aborted.  A limit's or a full disk's
 * error is returned as it is, with rep->cut set. */
int jc_transfer_get(struct jc_backend *e, const char *ref, const char *name, const char *path,
		    int dest_fd, struct jc_extract_limits *lim, struct jc_extract_report *rep,
		    jc_progress_fn progress, void *ctx, jc_error *err);

/* Remove the site's labelled containers, then volumes, that are older than
 * `older_than_ms` and whose supervisor is dead (never one alive or
 * unknown, never a kept volume, never a container without a supervisor:
 * those were started detached and belong to their caller).  Each decision
 * is reported through `fn`.  Returns -1 when listing fails or any removal
 * failed (the rest is still tried). */
int jc_gc(struct jc_backend *e, const char *site, int64_t older_than_ms, bool dry_run, jc_gc_fn fn,
	  void *ctx, jc_error *err);

#endif
