/* The seam between the backend-neutral library and an engine (backend.c:
 * the choice of backend and the neutral structs).  A backend is an ops
 * table in the style of crun's cgroup managers; docker/ is the one there is.
 * Everything here is said in jobcell's terms: a plan, labels, containers,
 * volumes, tar streams; URLs, bodies and API versions stay behind it. */
#ifndef JC_BACKEND_H
#define JC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cgroup.h"
#include "error.h"
#include "labels.h"
#include "plan.h"

/* Told the bytes moved so far by a stage in or out. */
typedef void (*jc_progress_fn)(void *ctx, uint64_t bytes);
/* Takes job output of `stream` (1 stdout, 2 stderr) and returns how much of
 * it was taken; less than `len` means "no more room now, offer the rest
 * later". */
typedef size_t (*jc_sink_fn)(void *ctx, int stream, const char *buf, size_t len);

/* A container as the backend reports it. */
struct jc_config;
struct jc_endpoint;

struct jc_inspect {
	char *id;
	char *name;
	char *status; /* created, running, exited, ... */
	bool running;
	bool oom_killed;
	int exit_code;
	struct jc_labels labels;
};
void jc_inspect_free(struct jc_inspect *in);
struct jc_container_list {
	struct jc_inspect *items; /* id, name, status, labels filled */
	size_t n;
};
void jc_container_list_free(struct jc_container_list *l);

/* An image as the backend reports it. */
struct jc_image {
	char *user;          /* its own user, "" when unset */
	struct jc_strv entrypoint, cmd; /* its own, empty when unset */
	char *jobcell_label; /* the first of its labels that is a key of jobcell's
				(jc_label_is_own), or NULL: no image may set one */
};
void jc_image_free(struct jc_image *im);

struct jc_volume {
	char *name;
	char *created_at; /* the engine's own creation time, for printing */
	struct jc_labels labels;
};
void jc_volume_free(struct jc_volume *v);
struct jc_volume_list {
	struct jc_volume *items;
	size_t n;
};
void jc_volume_list_free(struct jc_volume_list *l);

/* A path in a container as the engine would copy it (the archive
 * endpoint's stat), for the mount proof (mount_proof.c). */
struct jc_path_stat {
	char *name;       /* its last component */
	int64_t size;
	mode_t mode;      /* S_IFDIR, S_IFREG, S_IFLNK, ... and the permission bits */
	int64_t mtime_s;  /* unix time */
	long mtime_ns;
};
void jc_path_stat_free(struct jc_path_stat *s);

/* What a plan or `jobcell check` may need of an engine. */
enum jc_feature {
	JC_FEATURE_VOLUME_SUBPATH,    /* a mount of a subpath of a volume */
	JC_FEATURE_CREATE_MOUNTPOINT, /* binds that create their source (check's report) */
	/* containers sharing two or more named volumes can be created at
	 * once: false on Podman, which can deadlock (enginelock.c) */
	JC_FEATURE_CONCURRENT_CREATE,
};

/* The asynchronous operations of supervision, on one container. */
enum jc_op_kind {
	JC_OP_WAIT_NEXT_EXIT,   /* registered before the start: the job's exit */
	JC_OP_WAIT_NOT_RUNNING, /* a container that may have stopped already */
	JC_OP_LOGS,             /* the output so far, into the sink */
	JC_OP_LOGS_FOLLOW,      /* the output until the container stops */
	JC_OP_STOP,             /* SIGTERM (or the image's), SIGKILL after the grace */
	JC_OP_KILL,             /* SIGKILL */
	JC_OP_INSPECT,          /* a look at the container */
};

/* When a run's engine requests must give up at once: a signal pending on
 * `signal_fd` (looked at, never read: whoever supervises reads which one it
 * was), the parent gone (getppid() is no longer `parent`), or the monotonic
 * clock (jc_mono_ms) past `deadline_ms`.  -1, 0 and 0 mean "not watched". */
struct jc_cancel {
	int signal_fd;
	pid_t parent;
	int64_t deadline_ms;
};
/* A cancel is armed by jc_backend_set_cancel and fires once: every plain
 * call and archive transfer in flight or started while it is armed is
 * aborted, and the ones after it (the removal of what was made) run with
 * their own bounds, untouched by it.  The asynchronous operations of
 * supervision never look at it: the supervisor acts on signals itself. */
enum jc_cancel_state { JC_CANCEL_OFF, JC_CANCEL_ARMED, JC_CANCEL_FIRED };

struct jc_backend_ops;
struct jc_backend {
	const struct jc_backend_ops *ops;
	int64_t timeout_ms; /* the bound on every plain call */
	struct jc_cancel cancel;
	enum jc_cancel_state cancel_state;
};
/* An operation in flight; the backend's own struct begins with this. */
struct jc_op {
	struct jc_backend *b;
	enum jc_op_kind kind;
};

/* A container's standard input, attached: the backend's own struct begins
 * with this. */
struct jc_attach {
	struct jc_backend *b;
};
struct pollfd;

/* Calls that can fail take `err` last and return -1 (or NULL).  Engine
 * refusals carry the step, the object and the engine's own message.
 * References `ref` are ids or names; `name` (NULL: ref) is for messages. */
struct jc_backend_ops {
	const char *name; /* "docker" */
	void (*close)(struct jc_backend *b);

	/* Reach the engine and agree on how to speak with it. */
	int (*ping)(struct jc_backend *b, jc_error *err);
	/* The API version spoken, for messages ("" before ping). */
	const char *(*api_version)(const struct jc_backend *b);
	/* Whether the engine can do `f`; *need (may be NULL) gets what it takes
	 * in the backend's terms ("Engine API 1.45"), for messages. */
	bool (*supports)(const struct jc_backend *b, enum jc_feature f, const char **need);
	/* What answers ("Docker Engine - Community 24.0.7, API 1.43"), or NULL
	 * when it will not say.  Caller frees. */
	char *(*describe)(struct jc_backend *b);
	/* How it is reached ("unix socket `/x`", "TLSv1.3, ..."), for check.
	 * Caller frees. */
	char *(*transport)(struct jc_backend *b);
	/* Its cgroup driver and version, for [job] cgroup_parent. */
	int (*cgroups)(struct jc_backend *b, struct jc_engine_cgroups *out, jc_error *err);

	/* The image's user, entrypoint and command, and whether it carries
	 * labels of jobcell's: one inspect serves the policy and the mount
	 * gate.  Caller frees with jc_image_free. */
	int (*image_inspect)(struct jc_backend *b, const char *image, struct jc_image *out,
			     jc_error *err);
	/* Create the plan's container (named plan->name); *id is the caller's. */
	int (*create)(struct jc_backend *b, const struct jc_plan *plan, char **id, jc_error *err);
	/* The request create would send for the plan, indented, for `jobcell
	 * plan`; contacts nothing.  Caller frees. */
	char *(*create_request)(struct jc_backend *b, const struct jc_plan *plan, jc_error *err);
	/* A container that is never started, with `volume` mounted read-write at
	 * `target`, through which stage in and out reach the volume.  The
	 * engine names it. */
	int (*stage_container)(struct jc_backend *b, const char *image, const char *user,
			       const char *volume, const char *target,
			       const struct jc_labels *labels, char **id, jc_error *err);
	int (*start)(struct jc_backend *b, const char *ref, const char *name, jc_error *err);
	/* SIGTERM (or the image's stop signal), SIGKILL after `grace_s`. */
	int (*stop)(struct jc_backend *b, const char *ref, const char *name, int grace_s,
		    jc_error *err);
	/* With its anonymous volumes.  A missing container is success. */
	int (*remove)(struct jc_backend *b, const char *ref, const char *name, jc_error *err);
	int (*inspect)(struct jc_backend *b, const char *ref, struct jc_inspect *out,
		       jc_error *err);
	/* Containers labelled managed (and of `site` when not NULL); `all`:
	 * stopped ones too. */
	int (*list)(struct jc_backend *b, const char *site, bool all,
		    struct jc_container_list *out, jc_error *err);

	/* Create answers with the volume as the engine has it, which is an
	 * older one when the name was taken: callers compare labels.  `size`
	 * (0: none) caps what the volume holds, as far as the engine can. */
	int (*volume_create)(struct jc_backend *b, const char *name, const struct jc_labels *labels,
			     int64_t size, struct jc_volume *out, jc_error *err);
	int (*volume_inspect)(struct jc_backend *b, const char *name, struct jc_volume *out,
			      jc_error *err);
	/* A missing volume is success; one in use fails with EBUSY and retry. */
	int (*volume_remove)(struct jc_backend *b, const char *name, jc_error *err);
	/* Volumes labelled managed (and of `site` when not NULL). */
	int (*volume_list)(struct jc_backend *b, const char *site, struct jc_volume_list *out,
			   jc_error *err);

	/* A tar stream read from `fd` until EOF, unpacked at `path` of the
	 * container; `failed` (may be NULL), set before fd is closed, aborts it
	 * instead of ending it.  Stalls fail; size does not. */
	int (*stage_in)(struct jc_backend *b, const char *ref, const char *name, const char *path,
			int fd, const int *failed, jc_progress_fn progress, void *ctx,
			jc_error *err);
	/* What the engine finds at `path` of the container (created or
	 * running), as stage_out would copy it; a missing path fails with
	 * ENOENT. */
	int (*path_stat)(struct jc_backend *b, const char *ref, const char *name,
			 const char *path, struct jc_path_stat *out, jc_error *err);
	/* `path` of the container as a tar stream written to `fd`. */
	int (*stage_out)(struct jc_backend *b, const char *ref, const char *name,
			 const char *path, int fd, jc_progress_fn progress, void *ctx,
			 jc_error *err);

	/* Start an operation on container `ref`: `grace_ms` for a stop, `sink`
	 * for logs (output never kept whole; a full sink pauses the stream). */
	int (*begin)(struct jc_backend *b, enum jc_op_kind kind, const char *ref,
		     int64_t grace_ms, jc_sink_fn sink, void *ctx, struct jc_op **out,
		     jc_error *err);
	/* Run operations, waiting up to `timeout_ms` for progress or for `fd`
	 * (if >= 0) to become readable.  Returns 1 when fd is readable. */
	int (*poll)(struct jc_backend *b, int fd, int timeout_ms, jc_error *err);
	/* As poll, for any of `fds` (up to 4, fd -1 left out), filling their
	 * revents as poll(2) does; returns how many have revents. */
	int (*poll_fds)(struct jc_backend *b, struct pollfd *fds, size_t n, int timeout_ms,
			jc_error *err);
	/* Attach to the standard input of container `ref` (created with it
	 * open, see jc_plan.open_stdin), before its start: the engine passes
	 * what is sent to it, and closes it at the end.  attach_send never
	 * blocks: the bytes taken, 0 when there is no room now, -1 with errno
	 * when the engine's end is closed (the job stopped reading, or exited).
	 * attach_end says the input ended (-1 with errno). */
	int (*attach_stdin)(struct jc_backend *b, const char *ref, const char *name,
			    struct jc_attach **out, jc_error *err);
	int (*attach_fd)(const struct jc_attach *a); /* to poll for room to send */
	ssize_t (*attach_send)(struct jc_attach *a, const char *buf, size_t len);
	int (*attach_end)(struct jc_attach *a);
	void (*attach_free)(struct jc_attach *a);
	bool (*op_done)(const struct jc_op *op);
	/* The engine has taken the request (a wait is registered). */
	bool (*op_answered)(const struct jc_op *op);
	/* Output is held back: the sink is full. */
	bool (*op_paused)(const struct jc_op *op);
	/* Offer held-back output again; true when the sink took any. */
	bool (*op_flush)(struct jc_op *op);
	/* Bytes received so far: a measure of progress. */
	uint64_t (*op_received)(const struct jc_op *op);
	/* After done: the outcome.  A wait fills *exit_code, an inspect
	 * *inspect (either may be NULL).  Does not free `op`. */
	int (*op_result)(struct jc_op *op, const char *step, const char *object, int *exit_code,
			 struct jc_inspect *inspect, jc_error *err);
	void (*op_free)(struct jc_op *op);
};

/* The backend for the config's endpoint (endpoint.h; the Docker Engine
 * API, Docker or Podman).  No engine is contacted.  Free with
 * jc_backend_close. */
int jc_backend_open(const struct jc_config *cfg, struct jc_backend **out, jc_error *err);
/* What the backends speak, for `jobcell version`: "engine API 1.41..1.45". */
const char *jc_backend_spoken(void);

/* The calls, by the ops table. */
static inline void jc_backend_close(struct jc_backend *b)
{
	if (b)
		b->ops->close(b);
}
static inline int jc_backend_ping(struct jc_backend *b, jc_error *err)
{
	return b->ops->ping(b, err);
}
static inline const char *jc_backend_api(const struct jc_backend *b)
{
	return b->ops->api_version(b);
}
static inline bool jc_backend_supports(const struct jc_backend *b, enum jc_feature f,
				       const char **need)
{
	return b->ops->supports(b, f, need);
}
static inline int64_t jc_backend_timeout(const struct jc_backend *b)
{
	return b->timeout_ms;
}
/* Arm `c` (NULL: disarm).  The backend keeps a copy. */
static inline void jc_backend_set_cancel(struct jc_backend *b, const struct jc_cancel *c)
{
	b->cancel = c ? *c : (struct jc_cancel){ -1, 0, 0 };
	b->cancel_state = c ? JC_CANCEL_ARMED : JC_CANCEL_OFF;
}
/* Undo (removing what was made) is never cancelled: between hold and
 * resume an armed cancel is off; resume arms it again unless it was off
 * or fired before. */
static inline enum jc_cancel_state jc_backend_hold_cancel(struct jc_backend *b)
{
	enum jc_cancel_state s = b->cancel_state;

	if (s == JC_CANCEL_ARMED)
		b->cancel_state = JC_CANCEL_OFF;
	return s;
}
static inline void jc_backend_resume_cancel(struct jc_backend *b, enum jc_cancel_state s)
{
	if (b->cancel_state == JC_CANCEL_OFF)
		b->cancel_state = s;
}
/* The cancel fired: what failed was aborted, not refused. */
static inline bool jc_backend_cancelled(const struct jc_backend *b)
{
	return b->cancel_state == JC_CANCEL_FIRED;
}
static inline int jc_backend_image_inspect(struct jc_backend *b, const char *image,
					   struct jc_image *out, jc_error *err)
{
	return b->ops->image_inspect(b, image, out, err);
}
static inline int jc_backend_create(struct jc_backend *b, const struct jc_plan *plan, char **id,
				    jc_error *err)
{
	return b->ops->create(b, plan, id, err);
}
static inline char *jc_backend_create_request(struct jc_backend *b, const struct jc_plan *plan,
					      jc_error *err)
{
	return b->ops->create_request(b, plan, err);
}

static inline int jc_backend_start(struct jc_backend *b, const char *ref, const char *name,
				   jc_error *err)
{
	return b->ops->start(b, ref, name, err);
}
static inline int jc_backend_stop(struct jc_backend *b, const char *ref, const char *name,
				  int grace_s, jc_error *err)
{
	return b->ops->stop(b, ref, name, grace_s, err);
}
static inline int jc_backend_remove(struct jc_backend *b, const char *ref, const char *name,
				    jc_error *err)
{
	return b->ops->remove(b, ref, name, err);
}
static inline int jc_backend_inspect(struct jc_backend *b, const char *ref,
				     struct jc_inspect *out, jc_error *err)
{
	return b->ops->inspect(b, ref, out, err);
}
static inline int jc_backend_list(struct jc_backend *b, const char *site, bool all,
				  struct jc_container_list *out, jc_error *err)
{
	return b->ops->list(b, site, all, out, err);
}
static inline int jc_backend_volume_create(struct jc_backend *b, const char *name,
					   const struct jc_labels *labels, int64_t size,
					   struct jc_volume *out, jc_error *err)
{
	return b->ops->volume_create(b, name, labels, size, out, err);
}
static inline int jc_backend_volume_inspect(struct jc_backend *b, const char *name,
					    struct jc_volume *out, jc_error *err)
{
	return b->ops->volume_inspect(b, name, out, err);
}
static inline int jc_backend_volume_remove(struct jc_backend *b, const char *name,
					   jc_error *err)
{
	return b->ops->volume_remove(b, name, err);
}
static inline int jc_backend_volume_list(struct jc_backend *b, const char *site,
					 struct jc_volume_list *out, jc_error *err)
{
	return b->ops->volume_list(b, site, out, err);
}
static inline int jc_backend_cgroups(struct jc_backend *b, struct jc_engine_cgroups *out,
				     jc_error *err)
{
	return b->ops->cgroups(b, out, err);
}
static inline char *jc_backend_transport(struct jc_backend *b)
{
	return b->ops->transport(b);
}
static inline int jc_backend_path_stat(struct jc_backend *b, const char *ref, const char *name,
				       const char *path, struct jc_path_stat *out, jc_error *err)
{
	return b->ops->path_stat(b, ref, name, path, out, err);
}
static inline int jc_backend_begin(struct jc_backend *b, enum jc_op_kind kind, const char *ref,
				   int64_t grace_ms, jc_sink_fn sink, void *ctx,
				   struct jc_op **out, jc_error *err)
{
	return b->ops->begin(b, kind, ref, grace_ms, sink, ctx, out, err);
}
static inline int jc_backend_poll(struct jc_backend *b, int fd, int timeout_ms, jc_error *err)
{
	return b->ops->poll(b, fd, timeout_ms, err);
}
static inline int jc_backend_poll_fds(struct jc_backend *b, struct pollfd *fds, size_t n,
				      int timeout_ms, jc_error *err)
{
	return b->ops->poll_fds(b, fds, n, timeout_ms, err);
}
static inline int jc_backend_attach_stdin(struct jc_backend *b, const char *ref,
					  const char *name, struct jc_attach **out, jc_error *err)
{
	return b->ops->attach_stdin(b, ref, name, out, err);
}
static inline int jc_attach_fd(const struct jc_attach *a)
{
	return a->b->ops->attach_fd(a);
}
static inline ssize_t jc_attach_send(struct jc_attach *a, const char *buf, size_t len)
{
	return a->b->ops->attach_send(a, buf, len);
}
static inline int jc_attach_end(struct jc_attach *a)
{
	return a->b->ops->attach_end(a);
}
static inline void jc_attach_free(struct jc_attach *a)
{
	if (a)
		a->b->ops->attach_free(a);
}
static inline bool jc_op_done(const struct jc_op *op)
{
	return op->b->ops->op_done(op);
}
static inline bool jc_op_answered(const struct jc_op *op)
{
	return op->b->ops->op_answered(op);
}
static inline bool jc_op_paused(const struct jc_op *op)
{
	return op->b->ops->op_paused(op);
}
static inline bool jc_op_flush(struct jc_op *op)
{
	return op->b->ops->op_flush(op);
}
static inline uint64_t jc_op_received(const struct jc_op *op)
{
	return op->b->ops->op_received(op);
}
static inline int jc_op_result(struct jc_op *op, const char *step, const char *object,
			       int *exit_code, struct jc_inspect *inspect, jc_error *err)
{
	return op->b->ops->op_result(op, step, object, exit_code, inspect, err);
}
static inline void jc_op_free(struct jc_op *op)
{
	if (op)
		op->b->ops->op_free(op);
}

#endif
