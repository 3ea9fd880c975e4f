/* Volume mode: per-run named volumes, files in and out through the engine's
 * archive endpoint, and garbage collection of what a dead jobcell left.
 *
 * Liveness: every container and volume a supervising jobcell creates carries
 * jobcell.supervisor = "<boot id>/<pid namespace inode>/<pid>/<start time>".
 * A pid alone is reused; with the process start time (field 22 of
 * /proc/PID/stat, in clock ticks since boot) and the boot id it names one
 * process for all time.  From another pid namespace or boot, liveness cannot
 * be judged and gc keeps the object. */
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

enum jc_liveness jc_supervisor_liveness(const char *id)
{
	char host[128];
	const char *rest;
	int pid;
	unsigned long long want, have;
	size_t hl;

	if (!id || host_part(host, sizeof(host)) < 0)
		return JC_SUPERVISOR_UNKNOWN;
	hl = strlen(host);
	if (strncmp(id, host, hl) != 0 || id[hl] != '/')
		return JC_SUPERVISOR_UNKNOWN;
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

	/* a clear refusal made nothing */
	if (err->status == EINVAL || err->status == ENOENT || err->status == EACCES)
		return;
	if (jc_backend_volume_inspect(e, name, &v, &ie) < 0) {
		if (ie.status != ENOENT)
			jc_error_wrap(err, "volume `%s` may be left behind (%s)", name, ie.msg);
	} else if (v.labels.nonce && strcmp(v.labels.nonce, nonce) == 0 &&
		   jc_backend_volume_remove(e, name, &ie) < 0) {
		jc_error_wrap(err, "volume `%s` left behind (%s)", name, ie.msg);
	}
	jc_volume_free(&v);
	jc_error_clear(&ie);
}

int jc_volume_make(struct jc_backend *e, const struct jc_volume_spec *s, char **name,
		   char nonce_out[17], jc_error *err)
{
	char created[32], nonce[17];
	uint64_t nv;

	if (jc_name_check(s->tenant, "tenant", err) < 0 || jc_name_check(s->run, "run", err) < 0)
		return -1;
	snprintf(created, sizeof(created), "%" PRId64, s->created);
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
		     const char *volume, const char *site, const char *supervisor, char **id,
		     jc_error *err)
{
	char created[32];
	struct jc_labels labels = { .managed = true,
				    .site = (char *)site,
				    .role = "transfer",
				    .volume = (char *)volume,
				    .created = created,
				    .supervisor = (char *)supervisor };

	snprintf(created, sizeof(created), "%" PRId64, jc_unix_ms() / 1000);
	if (e->ops->stage_container(e, image, user, volume, JC_TRANSFER_MOUNT, &labels, id, err) <
	    0)
		return jc_error_wrap(err, "transfer container for volume `%s`", volume);
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

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "socketpair: %s", strerror(errno));
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
	if (j.rc < 0 && !(rc < 0 && (j.err.status == EPIPE || j.err.status == ECONNRESET))) {
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

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "socketpair: %s", strerror(errno));
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
	if (j.rc < 0 && (rc == 0 || err->kind != JC_ERR_ENGINE)) {
		jc_error_set(err, j.err.kind, j.err.status, "%s `%s`: %s", "extract files from",
			     name ? name : ref, j.err.msg);
		jc_error_clear(&j.err);
		return -1;
	}
	jc_error_clear(&j.err);
	return rc;
}

/* ---- gc ---- */

/* Whether an object created at label `created` is at least `older_than_ms`
 * old.  Without a readable label only --older-than 0 lets it go. */
static bool older(const char *created, int64_t older_than_ms, int64_t now_s, const char **why)
{
	char *end;
	long long c;

	*why = "younger than --older-than";
	errno = 0;
	c = created ? strtoll(created, &end, 10) : 0;
	if (!created || errno || *end || end == created) {
		*why = "no readable jobcell.created label, and --older-than is set";
		return older_than_ms == 0;
	}
	return (now_s - c) * 1000 >= older_than_ms;
}

static const char *liveness_why(enum jc_liveness l)
{
	switch (l) {
	case JC_SUPERVISOR_ALIVE:
		return "its supervising jobcell is alive";
	case JC_SUPERVISOR_UNKNOWN:
		return "its supervisor is in another pid namespace, boot or host: cannot tell";
	case JC_SUPERVISOR_DEAD:
		return "its supervising jobcell is gone";
	}
	return "?";
}

/* Why an object stays, or NULL when it is to be removed: labelled by a
 * supervisor proven dead, old enough, and not kept. */
static const char *verdict(const char *supervisor, const char *created, bool keep,
			   int64_t older_than_ms, int64_t now_s)
{
	const char *why;
	enum jc_liveness l;

	if (keep)
		return "kept (--keep or volume create): remove it with `volume rm`";
	if (!supervisor)
		return "has no supervisor label: started detached, its caller removes it";
	if (!older(created, older_than_ms, now_s, &why))
		return why;
	l = jc_supervisor_liveness(supervisor);
	return l == JC_SUPERVISOR_DEAD ? NULL : liveness_why(l);
}

struct gc_run {
	struct jc_backend *e;
	bool dry_run;
	jc_gc_fn fn;
	void *ctx;
	int failed;
	jc_error first; /* the first failed removal */
};

/* Report one object, removing it first when `why` is NULL. */
static void settle(struct gc_run *g, const char *kind, const char *id, const char *name,
		   const char *why)
{
	struct jc_gc_item it = { kind, name, false, why };
	jc_error e1 = { 0 };
	int r = 0;

	if (!why) {
		it.why = liveness_why(JC_SUPERVISOR_DEAD);
		if (!g->dry_run)
			r = strcmp(kind, "container") == 0
				? jc_backend_remove(g->e, id, name, &e1)
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
	g->fn(g->ctx, &it);
	jc_error_clear(&e1);
}

int jc_gc(struct jc_backend *e, const char *site, int64_t older_than_ms, bool dry_run, jc_gc_fn fn,
	  void *ctx, jc_error *err)
{
	struct gc_run g = { e, dry_run, fn, ctx, 0, { 0 } };
	struct jc_container_list cl = { 0 };
	struct jc_volume_list vl = { 0 };
	int64_t now_s = jc_unix_ms() / 1000;

	/* containers first: a dead run's container holds its volume */
	if (jc_backend_list(e, site, true, &cl, err) < 0)
		return -1;
	for (size_t i = 0; i < cl.n; i++) {
		struct jc_inspect *c = &cl.items[i];
		settle(&g, "container", c->id, c->name ? c->name : c->id,
		       verdict(c->labels.supervisor, c->labels.created, false, older_than_ms,
			       now_s));
	}
	jc_container_list_free(&cl);
	if (jc_backend_volume_list(e, site, &vl, err) < 0) {
		jc_error_clear(&g.first);
		return -1;
	}
	for (size_t i = 0; i < vl.n; i++) {
		struct jc_volume *v = &vl.items[i];
		settle(&g, "volume", v->name, v->name,
		       verdict(v->labels.supervisor, v->labels.created, v->labels.keep,
			       older_than_ms, now_s));
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
