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
enum jc_liveness {
	JC_SUPERVISOR_DEAD,
	JC_SUPERVISOR_ALIVE,
	JC_SUPERVISOR_UNKNOWN,   /* this boot and pid namespace, but /proc will not say,
				    or a label that names no process */
	JC_SUPERVISOR_ELSEWHERE, /* another boot, pid namespace or host */
};
/* Judge a jobcell.supervisor label from here: alive or dead when it names a
 * process of this boot and pid namespace (pid and start time must both
 * match), elsewhere when it names another boot or pid namespace (or
 * host), unknown when it cannot be told. */
enum jc_liveness jc_supervisor_liveness(const char *id);

struct jc_volume_spec {
	const char *site, *tenant, *run, *job; /* job may be NULL */
	const char *supervisor;                /* NULL: none (kept volumes) */
	bool keep;
	int64_t created;  /* unix seconds, for the label */
	int64_t deadline; /* jobcell.deadline, unix seconds; 0: none */
	int64_t size;     /* [volume] size; 0: no cap */
};
/* Create a fresh volume tenant-<tenant>-run-<run>-<ms>-<random> with the
 * labels jobcell.managed/tenant/run/site/job/created/nonce (+ supervisor,
 * deadline, keep).  The engine hands back an existing volume when the name is taken:
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
 * finds it; `deadline` (0: none) is its jobcell.deadline. */
#define JC_TRANSFER_MOUNT "/v"
int jc_transfer_open(struct jc_backend *e, const char *image, const char *user, const char *volume,
		     const char *site, const char *supervisor, int64_t deadline, char **id,
		     jc_error *err);
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

struct jc_gc_opts {
	int64_t older_than_ms; /* only objects at least this old (jobcell.created) */
	int64_t clock_skew_ms; /* [gc] clock_skew: a deadline counts this much later */
	bool dry_run;          /* decide and report, remove nothing */
	/* the operator says every supervisor of the site outside this boot and
	 * pid namespace is gone (a restarted worker container, a rebooted
	 * host): those count as dead */
	bool others_gone;
};

/* What gc makes of one object with labels `l`, whose supervisor (when the
 * labels name one) was judged `live` from here, at `now_s` (unix seconds).
 * Returns true to remove it; `why` (of `size`) says why, either way.  Pure:
 * the rule, in order --
 *   jobcell.keep=true (a volume): kept, always;
 *   younger than o->older_than_ms, or undated while it is set: kept;
 *   past jobcell.deadline + o->clock_skew_ms: removed, whoever made it;
 *   no supervisor label (started detached): kept;
 *   supervisor dead, or elsewhere with o->others_gone: removed;
 *   else (alive, unknown, elsewhere): kept. */
bool jc_gc_judge(const struct jc_labels *l, enum jc_liveness live, int64_t now_s,
		 const struct jc_gc_opts *o, char *why, size_t size);

/* Judge the site's labelled containers, then volumes, by jc_gc_judge, and
 * remove those it condemns (containers first: one holds its volume).  A
 * container removal the engine answers 409 (another removal under way, as
 * right after an engine thaws) is tried again a few times.  Each decision
 * is reported through `fn`.  Returns -1 when listing fails or any removal
 * failed (the rest is still tried). */
int jc_gc(struct jc_backend *e, const char *site, const struct jc_gc_opts *o, jc_gc_fn fn,
	  void *ctx, jc_error *err);

#endif
