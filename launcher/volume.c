/* Volume mode: per-run named volumes, files in and out through the engine's
 * archive endpoint, and garbage collection of what a dead jobcell left.
 *
 * Liveness: every container and volume a supervising jobcell creates carries
 * jobcell.supervisor = "<boot id>/<pid namespace inode>/<pid>/<start time>".
 * A pid alone is reused; with the process start time (field 22 of
 * /proc/PID/stat, in clock ticks since boot) and the boot id it names one
 * process for all time.  From another pid namespace or boot, liveness cannot
 * be judged: there the jobcell.deadline label decides (past it no
 * supervisor can still want the object), or the operator's word that the
 * others are gone (jc_gc_judge). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "archive.h"
#include "backend.h"
#include "error.h"
#include "names.h"
#include "plan.h"
#include "labels.h"
#include "util.h"
#include "volume.h"

/* ---- supervisor identity ---- */

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Field 22 of /proc/PID/stat; the command (field 2) may hold spaces and
 * parentheses, so count from the last ')'. */
static int start_time(pid_t pid, unsigned long long *out)
{
	char path[64], buf[1024];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return -1;
	p++; /* the space before field 3 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	return sscanf(p + 1, "%llu", out) == 1 ? 0 : -1;
}

/* "<boot id>/<pid namespace inode>" of this process. */
static int host_part(char *out, size_t size)
{
	char boot[64];
	struct stat st;

	if (read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot)) < 0 ||
	    stat("/proc/self/ns/pid", &st) < 0)
		return -1;
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(out, size, "%s/%llu", boot, (unsigned long long)st.st_ino);
	return 0;
}

int jc_supervisor_self(char **id, jc_error *err)
{
	char host[128];
	unsigned long long st;
	char *s = NULL;

	if (host_part(host, sizeof(host)) < 0 || start_time(getpid(), &st) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno ? errno : EIO,
				    "read this process's identity from /proc: %s",
				    strerror(errno ? errno : EIO));
	if (asprintf(&s, "%s/%d/%llu", host, (int)getpid(), st) < 0)
		return jc_error_oom(err);
	if (jc_supervisor_check(s, err) < 0) {
		free(s);
		return -1;
	}
	*id = s;
	return 0;
}

/* Whether `id` has the shape jc_supervisor_self gives: boot id, pid
 * namespace inode, pid and start time. */
static bool supervisor_shaped(const char *id)
{
	size_t n = strspn(id, "0123456789abcdef-");

	if (!n || id[n] != '/')
		return false;
	id += n + 1;
	for (int field = 0; field < 3; field++) {
		n = strspn(id, "0123456789");
		if (!n || id[n] != (field < 2 ? '/' : '\0'))
			return false;
		id += n + 1;
	}
	return true;
}

enum jc_liveness jc_supervisor_liveness(const char *id)
{
	char host[128];
	const char *rest;
	int pid;
	unsigned long long want, have;
	size_t hl;

	if (!id || !supervisor_shaped(id) || host_part(host, sizeof(host)) < 0)
		return JC_SUPERVISOR_UNKNOWN;
	hl = strlen(host);
	if (strncmp(id, host, hl) != 0 || id[hl] != '/')
		return JC_SUPERVISOR_ELSEWHERE;
	rest = id + hl + 1;
	if (sscanf(rest, "%d/%llu", &pid, &want) != 2 || pid <= 0)
		return JC_SUPERVISOR_UNKNOWN;
	errno = 0;
	if (start_time(pid, &have) < 0) {
		/* only "no such process" proves death: a /proc that hides
		 * others' processes (hidepid=1 says EACCES, hidepid=2 ENOENT)
		 * must not get a live job collected, so ask the kernel too */
		if (errno == ENOENT && kill(pid, 0) < 0 && errno == ESRCH)
			return JC_SUPERVISOR_DEAD;
		return JC_SUPERVISOR_UNKNOWN;
	}
	return have == want ? JC_SUPERVISOR_ALIVE : JC_SUPERVISOR_DEAD;
}

/* ---- volumes ---- */

static int random_bytes(void *buf, size_t n, jc_error *err)
{
	if (getrandom(buf, n, 0) != (ssize_t)n)
		return jc_error_set(err, JC_ERR_SYSTEM, errno ? errno : EIO,
				    "read random bytes: %s", strerror(errno ? errno : EIO));
	return 0;
}

/* A create whose answer was lost may have made the volume: remove it if it
 * carries this attempt's nonce, as supervise.c does for containers. */
static void undo_lost_volume(struct jc_backend *e, const char *name, const char *nonce,
			     jc_error *err)
{
	struct jc_volume v = { 0 };
	jc_error ie = { 0 };
	enum jc_cancel_state held;

	/* a clear refusal made nothing */
	if (err->status == EINVAL || err->status == ENOENT || err->status == EACCES)
		return;
	held = jc_backend_hold_cancel(e);
	if (jc_backend_volume_inspect(e, name, &v, &ie) < 0) {
		if (ie.status != ENOENT)
			jc_error_wrap(err, "volume `%s` may be left behind (%s)", name, ie.msg);
	} else if (v.labels.nonce && strcmp(v.labels.nonce, nonce) == 0 &&
		   jc_backend_volume_remove(e, name, &ie) < 0) {
		jc_error_wrap(err, "volume `%s` left behind (%s)", name, ie.msg);
	}
	jc_backend_resume_cancel(e, held);
	jc_volume_free(&v);
	jc_error_clear(&ie);
}

int jc_volume_make(struct jc_backend *e, const struct jc_volume_spec *s, char **name,
		   char nonce_out[17], jc_error *err)
{
	char created[32], deadline[32], nonce[17];
	uint64_t nv;

	if (jc_name_check(s->tenant, "tenant", err) < 0 || jc_name_check(s->run, "run", err) < 0)
		return -1;
	snprintf(created, sizeof(created), "%" PRId64, s->created);
	snprintf(deadline, sizeof(deadline), "%" PRId64, s->deadline);
	for (int attempt = 0; attempt < 4; attempt++) {
		struct jc_labels labels;
		cleanup_free char *vname = NULL;
		struct jc_volume got = { 0 };
		uint32_t rnd;
		bool ours;

		if (random_bytes(&rnd, sizeof(rnd), err) < 0 ||
		    random_bytes(&nv, sizeof(nv), err) < 0)
			return -1;
		snprintf(nonce, sizeof(nonce), "%016" PRIx64, nv);
		if (!(vname = jc_volume_name(s->tenant, s->run, jc_unix_ms(), rnd)))
			return jc_error_oom(err);
		if (jc_volume_name_check(vname, err) < 0)
			return -1;
		labels = (struct jc_labels){ .managed = true,
					     .site = (char *)s->site,
					     .job = (char *)s->job,
					     .tenant = (char *)s->tenant,
					     .run = (char *)s->run,
					     .created = created,
					     .nonce = nonce,
					     .supervisor = (char *)s->supervisor,
					     .deadline = s->deadline > 0 ? deadline : NULL,
					     .keep = s->keep };
		if (jc_backend_volume_create(e, vname, &labels, s->size, &got, err) < 0) {
			undo_lost_volume(e, vname, nonce, err);
			return -1;
		}
		ours = got.labels.nonce && strcmp(got.labels.nonce, nonce) == 0 &&
		       strcmp(got.name, vname) == 0;
		jc_volume_free(&got);
		if (ours) {
			if (nonce_out)
				memcpy(nonce_out, nonce, sizeof(nonce));
			*name = vname;
			vname = NULL;
			return 0;
		}
		/* the name was taken (same tenant, run, millisecond and random
		 * word): that volume is someone else's; draw again */
	}
	return jc_error_set(err, JC_ERR_ENGINE, EEXIST,
			    "create volume for tenant `%s` run `%s`: every name tried was taken "
			    "already",
			    s->tenant, s->run);
}

int jc_volume_remove_retry(struct jc_backend *e, const char *name, int tries, jc_error *err)
{
	for (int i = 1;; i++) {
		if (jc_backend_volume_remove(e, name, err) == 0)
			return 0;
		if (err->status != EBUSY || i >= tries)
			return -1;
		jc_error_clear(err);
		nanosleep(&(struct timespec){ 0, 500 * 1000 * 1000 }, NULL);
	}
}

/* ---- transfers ---- */

int jc_transfer_open(struct jc_backend *e, const char *image, const char *user,
		     const char *volume, const char *site, const char *supervisor, int64_t deadline,
		     char **id, jc_error *err)
{
	char created[32], deadline_s[32];
	struct jc_labels labels = { .managed = true,
				    .site = (char *)site,
				    .role = "transfer",
				    .volume = (char *)volume,
				    .created = created,
				    .supervisor = (char *)supervisor,
				    .deadline = deadline > 0 ? deadline_s : NULL };

	snprintf(created, sizeof(created), "%" PRId64, jc_unix_ms() / 1000);
	snprintf(deadline_s, sizeof(deadline_s), "%" PRId64, deadline);
	if (e->ops->stage_container(e, image, user, volume, JC_TRANSFER_MOUNT, &labels, id, err) <
	    0)
		return jc_error_wrap(err, "transfer container for volume `%s`", volume);
	return 0;
}

/* A socket pair whose sender (sv[sender]) may hold a few pieces in flight
 * (the default, about 200 KiB, is less than one): each side then moves
 * whole pieces while the other works.  The size is a wish; the kernel
 * caps it at net.core.wmem_max, which is no error. */
static int stream_pair(int sv[2], int sender, jc_error *err)
{
	int size = 4 * JC_STREAM_BLOCK;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "socketpair: %s", strerror(errno));
	(void)setsockopt(sv[sender], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return 0;
}

struct put_job {
	int fd;
	const struct jc_tar_opts *o;
	const struct jc_input *in;
	size_t n;
	int rc;
	int failed; /* set before the stream closes: abort the upload */
	jc_error err;
};

static void *put_thread(void *arg)
{
	struct put_job *j = arg;
	j->rc = jc_archive_write(j->fd, j->o, j->in, j->n, &j->err);
	if (j->rc < 0)
		__atomic_store_n(&j->failed, 1, __ATOMIC_SEQ_CST);
	/* the end of the stream is the end (or, failed, the abort) of the body */
	shutdown(j->fd, SHUT_WR);
	return NULL;
}

int jc_transfer_put(struct jc_backend *e, const char *ref, const char *name, const char *path,
		    const struct jc_tar_opts *o, const struct jc_input *in, size_t n,
		    jc_progress_fn progress, void *ctx, jc_error *err)
{
	int sv[2];
	struct put_job j = { .o = o, .in = in, .n = n };
	pthread_t t;
	int rc, perr;

	if (stream_pair(sv, 1, err) < 0) /* the archive writer sends */
		return -1;
	j.fd = sv[1];
	if ((perr = pthread_create(&t, NULL, put_thread, &j)) != 0) {
		close(sv[0]);
		close(sv[1]);
		return jc_error_set(err, JC_ERR_SYSTEM, perr, "start a thread: %s", strerror(perr));
	}
	rc = e->ops->stage_in(e, ref, name, path, sv[0], &j.failed, progress, ctx, err);
	/* a failed call leaves the writer blocked: closing our end gives it EPIPE */
	close(sv[0]);
	pthread_join(t, NULL);
	close(sv[1]);
	if (j.rc < 0 && !(rc < 0 && (j.err.status == EPIPE || j.err.status == ECONNRESET ||
				     jc_backend_cancelled(e)))) {
		/* the writer's reason (a bad input) explains the aborted upload;
		 * a broken or reset stream only echoes the engine's failure */
		jc_error_set(err, j.err.kind, j.err.status, "%s", j.err.msg);
		jc_error_clear(&j.err);
		return -1;
	}
	jc_error_clear(&j.err);
	return rc;
}

struct get_job {
	int fd;
	int dest_fd;
	struct jc_extract_limits *lim;
	struct jc_extract_report *rep;
	int rc;
	jc_error err;
};

static void *get_thread(void *arg)
{
	struct get_job *j = arg;
	char sink[4096];

	j->rc = jc_archive_extract(j->fd, j->dest_fd, 0, j->lim, j->rep, &j->err);
	/* after a failure, reading stops: the engine call's next write fails
	 * (EPIPE) and aborts the transfer; after a success the extraction has
	 * read the stream to its end */
	if (j->rc < 0)
		shutdown(j->fd, SHUT_RD);
	else
		while (read(j->fd, sink, sizeof(sink)) > 0)
			;
	return NULL;
}

int jc_transfer_get(struct jc_backend *e, const char *ref, const char *name, const char *path,
		    int dest_fd, struct jc_extract_limits *lim, struct jc_extract_report *rep,
		    jc_progress_fn progress, void *ctx, jc_error *err)
{
	int sv[2];
	struct get_job j = { .dest_fd = dest_fd, .lim = lim, .rep = rep };
	pthread_t t;
	int rc, perr;

	if (stream_pair(sv, 0, err) < 0) /* libcurl's answer is sent */
		return -1;
	j.fd = sv[1];
	if ((perr = pthread_create(&t, NULL, get_thread, &j)) != 0) {
		close(sv[0]);
		close(sv[1]);
		return jc_error_set(err, JC_ERR_SYSTEM, perr, "start a thread: %s", strerror(perr));
	}
	rc = e->ops->stage_out(e, ref, name, path, sv[0], progress, ctx, err);
	shutdown(sv[0], SHUT_WR); /* end of stream for the extractor */
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	if (j.rc < 0 && rep->cut) {
		/* a limit or a full disk says all: the aborted transfer only echoes it */
		jc_error_set(err, j.err.kind, j.err.status, "%s", j.err.msg);
		jc_error_clear(&j.err);
		return -1;
	}
	/* the extractor's reason stands, unless the transfer was given up:
	 * then the extractor only saw the stream end short */
	if (j.rc < 0 && !(rc < 0 && jc_backend_cancelled(e)) &&
	    (rc == 0 || err->kind != JC_ERR_ENGINE)) {
		jc_error_set(err, j.err.kind, j.err.status, "%s `%s`: %s", "extract files from",
			     name ? name : ref, j.err.msg);
		jc_error_clear(&j.err);
		return -1;
	}
	jc_error_clear(&j.err);
	return rc;
}

/* ---- gc ---- */

/* A label of unix seconds, or -1 when it is missing or not one. */
static int64_t seconds_label(const char *v)
{
	char *end;
	long long n;

	if (!v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	return errno || *end ? -1 : (int64_t)n;
}

/* "2026-12-06T04:05:06Z", or the number itself where gmtime cannot. */
static void utc(int64_t s, char *out, size_t size)
{
	time_t t = (time_t)s;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "%" PRId64, s);
}

bool jc_gc_judge(const struct jc_labels *l, enum jc_liveness live, int64_t now_s,
		 const struct jc_gc_opts *o, char *why, size_t size)
{
	int64_t created = seconds_label(l->created), deadline = seconds_label(l->deadline);
	int64_t skew_s = o->clock_skew_ms / 1000 + (o->clock_skew_ms % 1000 != 0);
	char when[32] = "";
	const char *text = NULL;
	bool remove = false;

	if (deadline > 0)
		utc(deadline, when, sizeof(when));
	if (l->keep) {
		text = "kept (--keep or volume create): remove it with `volume rm`";
	} else if (o->older_than_ms > 0 && created < 0) {
		text = "no readable jobcell.created label, and --older-than is set";
	} else if (o->older_than_ms > 0 && (now_s - created) * 1000 < o->older_than_ms) {
		text = "younger than --older-than";
	} else if (deadline > 0 && now_s > deadline + skew_s) {
		snprintf(why, size, "past its deadline %s (jobcell.deadline, plus [gc] clock_skew)",
			 when);
		return true;
	} else if (!l->supervisor) {
		text = "has no supervisor label: started detached, its caller removes it";
	} else {
		switch (live) {
		case JC_SUPERVISOR_DEAD:
			text = "its supervising jobcell is gone";
			remove = true;
			break;
		case JC_SUPERVISOR_ALIVE:
			text = "its supervising jobcell is alive";
			break;
		case JC_SUPERVISOR_UNKNOWN:
			text = "its supervisor's process cannot be read here: cannot tell";
			break;
		case JC_SUPERVISOR_ELSEWHERE:
			remove = o->others_gone;
			text = remove ? "its supervisor is in another pid namespace, boot or host, "
					"and --others-gone says it is gone"
				      : "its supervisor is in another pid namespace, boot or host: "
					"cannot tell";
			break;
		}
	}
	if (!remove && *when && !l->keep)
		snprintf(why, size, "%s; past %s gc removes it", text, when);
	else
		snprintf(why, size, "%s", text);
	return remove;
}

/* Remove a container, again while the engine answers 409: another removal
 * of it is under way (seen right after an engine thaws); when that one
 * ends, ours finds it gone. */
static int remove_container_retry(struct jc_backend *e, const char *id, const char *name,
				  int tries, jc_error *err)
{
	for (int i = 1;; i++) {
		if (jc_backend_remove(e, id, name, err) == 0)
			return 0;
		if (err->status != EEXIST || i >= tries)
			return -1;
		jc_error_clear(err);
		nanosleep(&(struct timespec){ 0, 500 * 1000 * 1000 }, NULL);
	}
}

#define GC_REMOVE_TRIES 5

struct gc_run {
	struct jc_backend *e;
	const struct jc_gc_opts *o;
	int64_t now_s;
	jc_gc_fn fn;
	void *ctx;
	int failed;
	jc_error first; /* the first failed removal */
};

/* Judge one object and report it, removing it first when condemned. */
static void settle(struct gc_run *g, const char *kind, const char *id, const char *name,
		   const struct jc_labels *l)
{
	char why[320];
	struct jc_gc_item it = { kind, name, false, why };
	enum jc_liveness live = l->supervisor ? jc_supervisor_liveness(l->supervisor)
					      : JC_SUPERVISOR_UNKNOWN;
	jc_error e1 = { 0 };
	int r = 0;

	if (jc_gc_judge(l, live, g->now_s, g->o, why, sizeof(why))) {
		if (!g->o->dry_run)
			r = strcmp(kind, "container") == 0
				? remove_container_retry(g->e, id, name, GC_REMOVE_TRIES, &e1)
				: jc_volume_remove_retry(g->e, name, 3, &e1);
		if (r == 0) {
			it.removed = true;
		} else {
			it.why = e1.msg;
			if (!g->failed++) {
				g->first = e1;
				e1 = (jc_error){ 0 };
			}
		}
	}
	if (g->fn)
		g->fn(g->ctx, &it);
	jc_error_clear(&e1);
}

int jc_gc(struct jc_backend *e, const char *site, const struct jc_gc_opts *o, jc_gc_fn fn,
	  void *ctx, jc_error *err)
{
	struct gc_run g = { e, o, jc_unix_ms() / 1000, fn, ctx, 0, { 0 } };
	struct jc_container_list cl = { 0 };
	struct jc_volume_list vl = { 0 };

	/* containers first: a dead run's container holds its volume */
	if (jc_backend_list(e, site, true, &cl, err) < 0)
		return -1;
	for (size_t i = 0; i < cl.n; i++) {
		struct jc_inspect *c = &cl.items[i];
		/* keep is a volume's label: a container is never kept by it */
		struct jc_labels l = c->labels;
		l.keep = false;
		settle(&g, "container", c->id, c->name ? c->name : c->id, &l);
	}
	jc_container_list_free(&cl);
	if (jc_backend_volume_list(e, site, &vl, err) < 0) {
		jc_error_clear(&g.first);
		return -1;
	}
	for (size_t i = 0; i < vl.n; i++) {
		struct jc_volume *v = &vl.items[i];
		settle(&g, "volume", v->name, v->name, &v->labels);
	}
	jc_volume_list_free(&vl);
	if (g.failed) {
		jc_error_set(err, g.first.kind, g.first.status,
			     "gc: %d removal%s failed, the first: %s", g.failed,
			     g.failed == 1 ? "" : "s", g.first.msg);
		jc_error_clear(&g.first);
		return -1;
	}
	return 0;
}
