/* One job's life, supervised the way s6-supervise or conmon supervise a
 * process: create, register the wait, start, stream output, forward
 * signals, enforce the wall clock, notice the parent's death, collect the
 * status, remove.  One thread: the wait, the log stream and any stop or kill
 * are operations of the backend polled together, and signals arrive on a
 * signalfd polled beside them.  Every wait is bounded.  Only backend.h is
 * spoken here. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "backend.h"
#include "error.h"
#include "feed.h"
#include "util.h"
#include "plan.h"
#include "supervise.h"

/* How long an engine that has not flushed the wait's headers gets before we
 * start anyway (Docker flushes them as soon as the wait is registered). */
#define WAIT_REGISTER_MS 2000
/* After the job's exit, how long the log stream may go without progress
 * (bytes from the engine or bytes taken by the reader) before it is cut. */
#define LOG_DRAIN_MS 5000
/* After the job's exit, how long a follow stream may send nothing, with
 * nothing held back for the reader, before it is given up for a whole
 * reading of the log.  Podman 4.3's follow can miss the container's death
 * and never end (its state check and its event subscription race); the
 * job has exited, so the whole reading is complete. */
#define LOG_STALL_MS 2000
/* How often held-back output is offered again while the reader is full. */
#define PUMP_MS 20

static int poll_for(int64_t deadline)
{
	int64_t left = deadline - jc_mono_ms();
	if (left < 0)
		return 0;
	return left > 1000 ? 1000 : (int)left;
}

/* The same without the one-second cap: for the loops that wait for a job,
 * which must not wake while nothing is due (an idle supervisor costs
 * nothing; docs/performance.md). */
static int poll_until(int64_t deadline)
{
	int64_t left = deadline - jc_mono_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* The parent's death, seen without looking every second: a pidfd turns
 * readable when its process has exited (Linux 5.3).  -1 when there is none
 * (an older kernel, no parent to watch): the loop then compares getppid()
 * every second instead. */
static int watch_parent(pid_t parent)
{
	int fd;

	if (parent <= 0 || (fd = (int)syscall(SYS_pidfd_open, parent, 0)) < 0)
		return -1;
	/* the pid may have been taken again already: only our parent counts
	 * (the loop sees the death itself at its first look) */
	if (getppid() != parent) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Offer held-back output again; while some is left, the next poll must come
 * soon.  Returns the poll timeout to use. */
static int pump(struct jc_op *logs, int timeout_ms)
{
	if (!logs || !jc_op_paused(logs))
		return timeout_ms;
	jc_op_flush(logs);
	return jc_op_paused(logs) && timeout_ms > PUMP_MS ? PUMP_MS : timeout_ms;
}

/* Read one signal from the signalfd; 0 when none was pending. */
static int take_signal(int fd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof(si));
	return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

/* The sink between the engine and the caller's: it counts what the caller
 * took of each stream, and passes over as much of a second reading. */
struct tally {
	jc_sink_fn sink;
	void *ctx;
	uint64_t taken[3], skip[3];
};

static size_t tally_sink(void *ctx, int stream, const char *buf, size_t len)
{
	struct tally *t = ctx;
	int s = stream >= 0 && stream <= 2 ? stream : 1;
	size_t skipped = len < t->skip[s] ? len : (size_t)t->skip[s];
	size_t took = 0;

	t->skip[s] -= skipped;
	if (len > skipped) {
		took = t->sink(t->ctx, stream, buf + skipped, len - skipped);
		t->taken[s] += took;
	}
	return skipped + took;
}

struct life {
	struct jc_backend *e;
	const struct jc_plan *plan;
	const struct jc_supervise_opts *o;
	struct jc_run_result *res;
	const char *id;
	struct jc_op *wait, *logs, *stop, *kill, *look;
	struct tally tally;
	int64_t stop_at, kill_at;
	/* a silent wait: when to look at the container next (the look is an
	 * asynchronous inspect), when it was first seen not running (0: not
	 * yet), and what it was then */
	int64_t check_at, stopped_at;
	char stopped_as[16];
};

/* Something went wrong that did not change the job's outcome: it is added
 * to the result's warning, one line with "; " between. */
static int warn(struct life *l, jc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int warn(struct life *l, jc_error *err, const char *fmt, ...)
{
	char *add = NULL, *all = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (n < 0)
		return jc_error_oom(err);
	if (l->res->warning) {
		n = asprintf(&all, "%s; %s", l->res->warning, add);
		free(add);
		if (n < 0)
			return jc_error_oom(err);
		free(l->res->warning);
		add = all;
	}
	l->res->warning = add;
	return 0;
}

/* A sentence about the stop fits: the job's name is a checked name. */
#define WHY_MAX 512

static int begin(struct life *l, enum jc_op_kind kind, int64_t grace_ms, bool stream,
		 struct jc_op **out, jc_error *err)
{
	return jc_backend_begin(l->e, kind, l->id, grace_ms, stream ? tally_sink : NULL,
				stream ? &l->tally : NULL, out, err);
}

static int ask_stop(struct life *l, jc_error *err)
{
	if (l->stop || l->kill)
		return 0;
	l->stop_at = jc_mono_ms();
	/* the engine answers after the grace period at worst */
	return begin(l, JC_OP_STOP, l->plan->stop_grace_ms, false, &l->stop, err);
}

/* SIGKILL; `why` (a whole sentence, or NULL when asked for) becomes the
 * result's warning. */
static int ask_kill(struct life *l, const char *why, jc_error *err)
{
	if (l->kill)
		return 0;
	if (why && warn(l, err, "%s; killed it", why) < 0)
		return -1;
	l->kill_at = jc_mono_ms();
	return begin(l, JC_OP_KILL, 0, false, &l->kill, err);
}

static int on_signal(struct life *l, int sig, jc_error *err)
{
	if (!l->res->signal) {
		l->res->signal = sig;
		l->res->parent_died = l->o->parent > 0 && getppid() != l->o->parent;
		return ask_stop(l, err);
	}
	/* a second signal: no more grace */
	return ask_kill(l, NULL, err);
}

static void free_async(struct life *l)
{
	jc_op_free(l->wait);
	jc_op_free(l->logs);
	jc_op_free(l->stop);
	jc_op_free(l->kill);
	jc_op_free(l->look);
	l->wait = l->logs = l->stop = l->kill = l->look = NULL;
}

/* The wait is the authority on the job's end, but an engine can fail it
 * silently: a wait that never answers, a start acknowledged and not done.
 * While the wait is silent, the container is inspected once per engine
 * timeout, asynchronously, so that a frozen engine holds up no deadline;
 * once it is seen not running, the wait has one more engine timeout to
 * answer.  An inspect that fails proves nothing: it is asked again. */
static int check_silent_wait(struct life *l, int64_t now, jc_error *err)
{
	int64_t engine_ms = jc_backend_timeout(l->e);

	if (l->look && jc_op_done(l->look)) {
		struct jc_inspect in = { 0 };
		jc_error ie = { 0 };
		const char *as = NULL;

		if (jc_op_result(l->look, "inspect container", l->plan->name, NULL, &in, &ie) < 0)
			as = ie.status == ENOENT ? "removed" : NULL;
		else if (!in.running)
			as = in.status ? in.status : "stopped";
		if (as) {
			l->stopped_at = now;
			snprintf(l->stopped_as, sizeof(l->stopped_as), "%.15s", as);
		}
		jc_inspect_free(&in);
		jc_error_clear(&ie);
		jc_op_free(l->look);
		l->look = NULL;
	}
	if (l->stopped_at) {
		if (now < l->stopped_at + engine_ms)
			return 0;
		if (!strcmp(l->stopped_as, "created"))
			return jc_error_set(
			    err, JC_ERR_ENGINE, EPROTO,
			    "start container `%s`: the engine said it started, but it "
			    "is still `created`",
			    l->plan->name);
		return jc_error_set(err, JC_ERR_ENGINE, ETIMEDOUT,
				    "wait for container `%s`: no answer %llds after the "
				    "container was seen %s",
				    l->plan->name, (long long)(engine_ms / 1000), l->stopped_as);
	}
	if (l->look || now < l->check_at)
		return 0;
	l->check_at = now + engine_ms;
	return begin(l, JC_OP_INSPECT, 0, false, &l->look, err);
}

/* An engine timeout after the kill and the wait still silent: say what is
 * known.  An engine that never answered the kill is not a container seen
 * running (a frozen engine shows neither). */
static int kill_unanswered(const struct life *l, int64_t engine_ms, jc_error *err)
{
	long long s = (long long)(engine_ms / 1000);

	if (!jc_op_answered(l->kill))
		return jc_error_set(err, JC_ERR_ENGINE, ETIMEDOUT,
				    "kill container `%s`: the engine did not answer in %llds",
				    l->plan->name, s);
	return jc_error_set(err, JC_ERR_ENGINE, ETIMEDOUT,
			    "wait for container `%s`: the engine reported no end %llds after "
			    "the kill",
			    l->plan->name, s);
}

/* The supervision loop proper: returns when the wait has an answer.  It
 * sleeps until something happens (the wait, output, a signal, stdin, the
 * parent's death) or a step is due: the silent wait's look once per engine
 * timeout, the wall clock, a stop's or kill's bound. */
static int supervise(struct life *l, int parent_fd, jc_error *err)
{
	const struct jc_supervise_opts *o = l->o;
	int64_t engine_ms = jc_backend_timeout(l->e);
	int64_t deadline = l->plan->timeout_ms > 0 ? jc_mono_ms() + l->plan->timeout_ms : 0;

	l->check_at = jc_mono_ms() + engine_ms;
	while (!jc_op_done(l->wait)) {
		int64_t now = jc_mono_ms(), next = now + engine_ms;
		int r;

		if (deadline && !l->stop && !l->kill && now >= deadline) {
			l->res->timed_out = true;
			if (ask_stop(l, err) < 0)
				return -1;
		}
		if (o->parent > 0 && !l->res->signal && getppid() != o->parent) {
			/* the parent process is gone (jobcell was reparented): not
			 * its thread, which PR_SET_PDEATHSIG would have taken for it */
			if (on_signal(l, SIGTERM, err) < 0)
				return -1;
			l->res->parent_died = true;
		}
		if (l->stop && !l->kill && now >= l->stop_at + l->plan->stop_grace_ms + engine_ms) {
			char why[WHY_MAX];
			snprintf(why, sizeof(why), "stop container `%s`: no answer in %llds",
				 l->plan->name,
				 (long long)((l->plan->stop_grace_ms + engine_ms) / 1000));
			if (ask_kill(l, why, err) < 0)
				return -1;
		}
		if (check_silent_wait(l, now, err) < 0)
			return -1;
		if (l->kill && now >= l->kill_at + engine_ms)
			return kill_unanswered(l, engine_ms, err);
		/* wake when the next step is due, and not before */
		if (o->parent > 0 && parent_fd < 0 && now + 1000 < next)
			next = now + 1000;
		if (!l->look && !l->stopped_at && l->check_at < next)
			next = l->check_at;
		if (l->stopped_at && l->stopped_at + engine_ms < next)
			next = l->stopped_at + engine_ms;
		if (deadline && !l->stop && deadline < next)
			next = deadline;
		if (l->stop && !l->kill && l->stop_at + l->plan->stop_grace_ms + engine_ms < next)
			next = l->stop_at + l->plan->stop_grace_ms + engine_ms;
		if (l->kill && l->kill_at + engine_ms < next)
			next = l->kill_at + engine_ms;
		/* the caller's stdin moves between the other duties: it never
		 * holds up a signal, a deadline or a stop */
		struct pollfd p[3] = { { .fd = o->signal_fd, .events = POLLIN },
				       { .fd = -1 },
				       { .fd = l->res->signal ? -1 : parent_fd, .events = POLLIN } };
		if (o->feed)
			p[1] = jc_feed_want(o->feed);
		r = jc_backend_poll_fds(l->e, p, 3, pump(l->logs, poll_until(next)), err);
		if (r < 0)
			return -1;
		if (o->feed)
			jc_feed_move(o->feed, &p[1]);
		if (o->signal_fd >= 0 && (p[0].revents & POLLIN)) {
			int sig = take_signal(o->signal_fd);
			if (sig && on_signal(l, sig, err) < 0)
				return -1;
		}
		/* a failed stop is not fatal: the job is killed instead */
		if (l->stop && jc_op_done(l->stop) && !l->kill) {
			jc_error se = { 0 };
			int k = 0;
			if (jc_op_result(l->stop, "stop container", l->plan->name, NULL, NULL,
					 &se) < 0)
				k = ask_kill(l, se.msg, err);
			jc_error_clear(&se);
			if (k < 0)
				return -1;
		}
	}
	return 0;
}

/* Deliver what the log operation brings while the stream or the reader
 * makes progress.  Returns 0 when it ended whole; 2 when the engine sent
 * nothing for `stall_ms` while the reader had all of it; else 1 with `why`
 * (or e) saying what cut it. */
static int deliver(struct life *l, struct jc_op *op, int64_t stall_ms, const char **why,
		   jc_error *e)
{
	int64_t now = jc_mono_ms(), until = now + LOG_DRAIN_MS, sent = now;
	uint64_t seen = jc_op_received(op);

	while (!jc_op_done(op) || jc_op_paused(op)) {
		now = jc_mono_ms();
		if (jc_op_received(op) != seen)
			sent = now;
		if (jc_op_flush(op) || jc_op_received(op) != seen) {
			seen = jc_op_received(op);
			until = now + LOG_DRAIN_MS;
		}
		if (!jc_op_paused(op) && now >= sent + stall_ms)
			return 2;
		if (now >= until) {
			*why = "no progress for 5 s after the job exited (is the output read?)";
			return 1;
		}
		/* a signal or the parent's death now means: stop delivering */
		if (l->o->parent > 0 && getppid() != l->o->parent) {
			*why = "cut short: the parent exited";
			return 1;
		}
		int64_t next = jc_op_paused(op) || sent + stall_ms > until ? until : sent + stall_ms;
		int r = jc_backend_poll(l->e, l->o->signal_fd, pump(op, poll_for(next)), e);
		if (r < 0)
			return 1;
		if (r == 1 && take_signal(l->o->signal_fd)) {
			*why = "cut short by a signal";
			return 1;
		}
	}
	return jc_op_result(op, "stream logs of", l->plan->name, NULL, NULL, e) < 0 ? 1 : 0;
}

/* The job has exited: deliver the rest of its output.  A follow stream that
 * ended whole may still lack the last bytes: Docker 20.10's json-file
 * follower can see the logger close before the event of its last write (a
 * last line without '\n' is written only at the exit), and ends without
 * it.  A follow stream that stalls may never end (LOG_STALL_MS).  Either
 * way the log is read once more, whole, and what the caller has not had of
 * each stream is delivered.  Output that cannot be delivered does not
 * change the job's outcome: it becomes the result's warning. */
static int drain_logs(struct life *l, jc_error *err)
{
	jc_error e = { 0 };
	const char *why = NULL;
	struct jc_op *again = NULL;
	int r = deliver(l, l->logs, LOG_STALL_MS, &why, &e);

	if (r == 2) {
		/* the stalled follow must not deliver after the whole reading */
		jc_op_free(l->logs);
		l->logs = NULL;
	}
	if (r != 1) {
		memcpy(l->tally.skip, l->tally.taken, sizeof(l->tally.skip));
		r = 1;
		if (begin(l, JC_OP_LOGS, 0, true, &again, &e) == 0) {
			r = deliver(l, again, LOG_DRAIN_MS, &why, &e);
			if (r == 2)
				why = "the engine sent nothing for 5 s";
		}
		jc_op_free(again);
		if (r == 0)
			return 0;
	}
	r = warn(l, err, "output of `%s` is incomplete: %s", l->plan->name, why ? why : e.msg);
	jc_error_clear(&e);
	return r;
}

/* A signal or the parent's death before the start: the job must not start. */
static int interrupted(const struct jc_supervise_opts *o, const char *name, jc_error *err)
{
	int sig = o->signal_fd >= 0 ? take_signal(o->signal_fd) : 0;

	/* the parent first: a caller that dies often signals its children on
	 * the way, and the cause is the death, not the signal */
	if (o->parent > 0 && getppid() != o->parent)
		return jc_error_set(err, JC_ERR_SYSTEM, ESRCH,
				    "start container `%s`: parent exited before the job started",
				    name);
	if (sig)
		return jc_error_set(err, JC_ERR_SYSTEM, EINTR,
				    "start container `%s`: got %s before the job started", name,
				    strsignal(sig));
	return 0;
}

/* The create failed, but the container may exist all the same: the answer
 * was lost (timeout, dropped connection, 5xx after the fact, a malformed
 * id).  Remove it if, and only if, it carries this run's nonce. */
static void undo_lost_create(struct jc_backend *e, const struct jc_plan *plan, jc_error *err)
{
	struct jc_inspect in = { 0 };
	jc_error ie = { 0 };
	enum jc_cancel_state held;

	/* a clear refusal created nothing; without a nonce there is no proof */
	if (!plan->nonce || err->status == EEXIST || err->status == EINVAL ||
	    err->status == ENOENT || err->status == EACCES)
		return;
	held = jc_backend_hold_cancel(e);
	if (jc_backend_inspect(e, plan->name, &in, &ie) < 0) {
		if (ie.status != ENOENT)
			jc_error_wrap(err, "container `%s` may be left behind (%s)", plan->name,
				      ie.msg);
		else if (err->status == ETIMEDOUT)
			/* the engine may still be creating it */
			jc_error_wrap(err,
				      "container `%s` may yet appear, labelled jobcell.nonce=%s",
				      plan->name, plan->nonce);
	} else if (in.labels.nonce && strcmp(in.labels.nonce, plan->nonce) == 0 &&
		   jc_backend_remove(e, in.id, plan->name, &ie) < 0) {
		jc_error_wrap(err, "container `%s` left behind (%s)", plan->name, ie.msg);
	}
	jc_backend_resume_cancel(e, held);
	jc_inspect_free(&in);
	jc_error_clear(&ie);
}

int jc_supervise_run(struct jc_backend *e, const struct jc_plan *plan,
		     const struct jc_supervise_opts *o, struct jc_run_result *res, jc_error *err)
{
	struct jc_run_result r = { 0 };
	struct jc_inspect in = { 0 };
	struct life l = { .e = e, .plan = plan, .o = o, .res = &r };
	l.tally = (struct tally){ .sink = o->sink, .ctx = o->sink_ctx };
	int64_t until;
	bool exited = false;
	enum jc_cancel_state held;
	int parent_fd, r_sup;

	if (interrupted(o, plan->name, err) < 0)
		return -1;
	if (jc_backend_create(e, plan, &r.id, err) < 0) {
		undo_lost_create(e, plan, err);
		return -1;
	}
	l.id = r.id;

	/* from here on the container exists: every failure removes it */
	if (begin(&l, JC_OP_WAIT_NEXT_EXIT, 0, false, &l.wait, err) < 0)
		goto fail;
	until = jc_mono_ms() + WAIT_REGISTER_MS;
	while (!jc_op_answered(l.wait) && !jc_op_done(l.wait) && jc_mono_ms() < until) {
		int p = jc_backend_poll(e, o->signal_fd, 50, err);
		if (p < 0)
			goto fail;
		/* an engine that holds the wait's headers back must not hold
		 * a signal back with them */
		if ((p == 1 || (o->parent > 0 && getppid() != o->parent)) &&
		    interrupted(o, plan->name, err) < 0)
			goto fail;
	}
	if (jc_op_done(l.wait)) {
		jc_op_result(l.wait, "wait for container", plan->name, NULL, NULL, err);
		if (!err->msg)
			jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				     "wait for container `%s`: answered before the start",
				     plan->name);
		goto fail;
	}
	if (o->before_start && o->before_start(o->before_start_ctx, err) < 0)
		goto fail;
	/* stdin is attached before the start, as the docker CLI does: a
	 * refused attach is refused before the job runs */
	if (o->feed && o->detach) {
		jc_error_set(err, JC_ERR_INPUT, EINVAL,
			     "attach stdin of `%s`: a started job has no caller to read it from",
			     plan->name);
		goto fail;
	}
	if (o->feed && jc_feed_attach(o->feed, e, r.id, plan->name, err) < 0)
		goto fail;
	if (interrupted(o, plan->name, err) < 0)
		goto fail;
	if (jc_backend_start(e, r.id, plan->name, err) < 0)
		goto fail;
	if (o->after_start)
		o->after_start(o->after_start_ctx, r.id);
	if (o->detach) {
		free_async(&l);
		*res = r;
		return 0;
	}
	if (begin(&l, JC_OP_LOGS_FOLLOW, 0, true, &l.logs, err) < 0)
		goto fail;
	parent_fd = watch_parent(o->parent);
	r_sup = supervise(&l, parent_fd, err);
	if (parent_fd >= 0)
		close(parent_fd);
	if (r_sup < 0)
		goto fail;
	if (jc_op_result(l.wait, "wait for container", plan->name, &r.exit_code, NULL, err) < 0)
		goto fail;
	exited = true;
	if (o->feed && jc_feed_warning(o->feed) &&
	    warn(&l, err, "job `%s`: %s", plan->job, jc_feed_warning(o->feed)) < 0)
		goto fail;
	if (drain_logs(&l, err) < 0)
		goto fail;
	free_async(&l);
	if (jc_backend_inspect(e, r.id, &in, err) < 0)
		goto fail;
	r.oom_killed = in.oom_killed;
	jc_inspect_free(&in);
	if (o->after_exit && o->after_exit(o->after_exit_ctx, r.id, err) < 0)
		goto fail;
	held = jc_backend_hold_cancel(e);
	if (jc_backend_remove(e, r.id, plan->name, err) < 0) {
		jc_backend_resume_cancel(e, held);
		jc_run_result_free(&r);
		return -1;
	}
	jc_backend_resume_cancel(e, held);
	*res = r;
	return 0;

fail:
	free_async(&l);
	/* a failure after the exit (the output fetch cut short) must not hide
	 * how the job ended */
	if (exited)
		jc_error_wrap(err, "job `%s` exited %d", plan->name, r.exit_code);
	{
		jc_error undo = { 0 };
		held = jc_backend_hold_cancel(e);
		if (jc_backend_remove(e, r.id, plan->name, &undo) < 0)
			/* keep the first error; say what it left behind */
			jc_error_wrap(err, "container `%s` left behind (%s)", plan->name, undo.msg);
		jc_backend_resume_cancel(e, held);
		jc_error_clear(&undo);
	}
	jc_run_result_free(&r);
	return -1;
}

void jc_run_result_free(struct jc_run_result *r)
{
	free(r->id);
	free(r->warning);
	memset(r, 0, sizeof(*r));
}

int jc_supervise_wait(struct jc_backend *e, const char *ref, const char *name, int64_t timeout_ms,
		      int signal_fd, int *status, jc_error *err)
{
	struct jc_op *a = NULL;
	const char *what = name ? name : ref;
	int64_t deadline = timeout_ms > 0 ? jc_mono_ms() + timeout_ms : 0;
	int r = 0;

	if (jc_backend_begin(e, JC_OP_WAIT_NOT_RUNNING, ref, 0, NULL, NULL, &a, err) < 0)
		return -1;
	while (!jc_op_done(a)) {
		/* nothing to look at in between: sleep until the answer, a
		 * signal or the bound */
		int64_t next = jc_mono_ms() + jc_backend_timeout(e);
		if (deadline && jc_mono_ms() >= deadline) {
			r = 1; /* timed out: the caller decides */
			goto out;
		}
		if (deadline && deadline < next)
			next = deadline;
		int p = jc_backend_poll(e, signal_fd, poll_until(next), err);
		if (p < 0) {
			r = -1;
			goto out;
		}
		if (p == 1 && take_signal(signal_fd)) {
			r = jc_error_set(err, JC_ERR_SYSTEM, EINTR, "wait for `%s`: interrupted",
					 what);
			goto out;
		}
	}
	if (jc_op_result(a, "wait for container", what, status, NULL, err) < 0)
		r = -1;
out:
	jc_op_free(a);
	return r;
}

/* One reading of the logs into the tally; *again when the caller should
 * read once more, whole: the follow stream ended, or stalled after the
 * container stopped (see LOG_STALL_MS).  Returns 0 or -1. */
static int read_logs(struct jc_backend *e, const char *ref, const char *what, bool follow,
		     int signal_fd, struct tally *t, bool *again, jc_error *err)
{
	struct jc_op *a = NULL, *w = NULL;
	int64_t bound = jc_backend_timeout(e), now = jc_mono_ms(), until = now + bound;
	int64_t sent = now, stopped = 0;
	uint64_t seen = 0;
	int r = 0;

	*again = false;
	if (jc_backend_begin(e, follow ? JC_OP_LOGS_FOLLOW : JC_OP_LOGS, ref, 0, tally_sink, t,
			     &a, err) < 0)
		return -1;
	/* a follow stream is bounded only once the container has stopped */
	if (follow && jc_backend_begin(e, JC_OP_WAIT_NOT_RUNNING, ref, 0, NULL, NULL, &w, err) < 0) {
		jc_op_free(a);
		return -1;
	}
	while (!jc_op_done(a) || jc_op_paused(a)) {
		int p;
		now = jc_mono_ms();
		if (jc_op_received(a) != seen)
			sent = now;
		/* a reader that reads slowly, or not at all for now (a pager), is
		 * the reader's business: only the engine's silence is bounded */
		if (jc_op_flush(a) || jc_op_received(a) != seen || jc_op_paused(a)) {
			seen = jc_op_received(a);
			until = now + bound;
		}
		/* a following reader waits for the job; otherwise the engine
		 * must keep the stream moving */
		if (!follow && now >= until) {
			r = jc_error_set(err, JC_ERR_ENGINE, ETIMEDOUT,
					 "read logs of `%s`: no progress for %llds", what,
					 (long long)(bound / 1000));
			break;
		}
		if (w && !stopped && jc_op_done(w))
			stopped = now;
		if (stopped && !jc_op_paused(a) &&
		    now >= (sent > stopped ? sent : stopped) + LOG_STALL_MS) {
			*again = true;
			goto out;
		}
		p = jc_backend_poll(e, signal_fd, pump(a, stopped ? PUMP_MS * 10 : 1000), err);
		if (p < 0) {
			r = -1;
			break;
		}
		if (p == 1 && take_signal(signal_fd))
			break; /* the reader is done reading: not an error */
	}
	if (r == 0 && jc_op_done(a) && !jc_op_paused(a)) {
		r = jc_op_result(a, "read logs of", what, NULL, NULL, err);
		*again = r == 0 && follow;
	}
out:
	jc_op_free(a);
	jc_op_free(w);
	return r;
}

int jc_supervise_logs(struct jc_backend *e, const char *ref, const char *name, bool follow,
		      int signal_fd, jc_sink_fn sink, void *ctx, jc_error *err)
{
	const char *what = name ? name : ref;
	struct tally t = { .sink = sink, .ctx = ctx };
	bool again;

	if (read_logs(e, ref, what, follow, signal_fd, &t, &again, err) < 0)
		return -1;
	if (!again)
		return 0;
	/* a follow stream can end short of the last bytes: see drain_logs */
	memcpy(t.skip, t.taken, sizeof(t.skip));
	return read_logs(e, ref, what, false, signal_fd, &t, &again, err);
}
