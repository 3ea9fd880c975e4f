/* supervise.c against the fake engine: the order of calls, the outcome of a
 * job, signals, timeouts, the parent's death, and that every failure after
 * create removes the container. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "config.h"
#include "backend.h"
#include "docker/engine.h"
#include "testutil.h"
#include "error.h"
#include "plan.h"
#include "docker/json.h"
#include "supervise.h"
#include "util.h"

struct fixture {
	struct fake_engine *fe;
	struct jc_backend *e;
	struct jc_config cfg;
	int sfd;
	char out[4096];
	size_t nout;
	char errs[4096];
	size_t nerr;
};

static size_t sink(void *ctx, int stream, const char *buf, size_t len)
{
	struct fixture *f = ctx;
	char *dst = stream == 2 ? f->errs : f->out;
	size_t *n = stream == 2 ? &f->nerr : &f->nout;
	if (*n + len < sizeof(f->out) - 1) {
		memcpy(dst + *n, buf, len);
		*n += len;
		dst[*n] = '\0';
	}
	return len;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	jc_error err = { 0 };
	char ep[256];
	sigset_t set;

	/* blocked before the fake's threads start, so they inherit the mask
	 * and process-directed SIGUSR1/2 reach only the signalfd */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	f->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	assert_true(f->sfd >= 0);
	f->fe = fake_engine_start("1.41");
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "");
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	assert_int_equal(jc_config_init(&f->cfg, &err), 0);
	f->cfg.site_name = strdup("s");
	f->cfg.ws_path = strdup("/srv/ws");
	f->cfg.image = strdup("img");
	f->cfg.stop_grace_ms = 1000;
	f->cfg.engine_timeout_ms = 2000;
	assert_int_equal(test_docker_open(ep, f->cfg.engine_timeout_ms, &f->e, &err), 0);
	assert_int_equal(jc_backend_ping(f->e, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	jc_backend_close(f->e);
	fake_engine_stop(f->fe);
	jc_config_free(&f->cfg);
	close(f->sfd);
	free(f);
	return 0;
}

static const char *plan_nonce; /* the next plan_for's nonce, then NULL again */

static struct jc_plan *plan_for(struct fixture *f, int64_t timeout_ms, const char *arg0, ...)
{
	struct jc_job_request req = { .job = "j", .timeout_ms = timeout_ms, .nonce = plan_nonce };
	struct jc_plan *p = NULL;
	jc_error err = { 0 };
	va_list ap;

	va_start(ap, arg0);
	for (const char *a = arg0; a; a = va_arg(ap, const char *))
		assert_int_equal(jc_strv_push(&req.cmd, a), 0);
	va_end(ap);
	assert_int_equal(jc_plan_build(&f->cfg, &req, "1000:1000", 1700000000, &p, &err), 0);
	jc_strv_free(&req.cmd);
	plan_nonce = NULL;
	return p;
}

static struct jc_supervise_opts opts(struct fixture *f)
{
	return (struct jc_supervise_opts){ .signal_fd = f->sfd, .sink = sink, .sink_ctx = f };
}

/* Index of the first request matching, or -1. */
static long req_index(struct fake_engine *fe, const char *method, const char *prefix)
{
	size_t n = fake_engine_request_count(fe);
	for (size_t i = 0; i < n; i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		if (strcmp(r->method, method) == 0 &&
		    strncmp(r->path, prefix, strlen(prefix)) == 0 &&
		    (strcmp(prefix, "/containers/") != 0 || 1))
			return (long)i;
	}
	return -1;
}

/* Index of the first request whose path ends with `suffix`. */
static long req_suffix(struct fake_engine *fe, const char *method, const char *suffix)
{
	size_t n = fake_engine_request_count(fe);
	for (size_t i = 0; i < n; i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		size_t pl = strlen(r->path), sl = strlen(suffix);
		if (strcmp(r->method, method) == 0 && pl >= sl &&
		    strcmp(r->path + pl - sl, suffix) == 0)
			return (long)i;
	}
	return -1;
}

static void assert_msg(const jc_error *err, const char *part)
{
	if (!err->msg || !strstr(err->msg, part))
		fail_msg("error `%s` lacks `%s`", err->msg ? err->msg : "(none)", part);
}

static void test_lifecycle_order_and_output(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "echo", "hello", "world", NULL);
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	const struct fake_request *create;
	jc_error err = { 0 };
	char *want;

	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_int_equal(r.exit_code, 0);
	assert_false(r.timed_out);
	assert_string_equal(f->out, "hello world\n");
	/* the create body is exactly the plan's JSON, under the plan's name */
	create = fake_engine_find(f->fe, "POST", "/containers/create");
	assert_non_null(create);
	assert_string_equal(create->query, "name=jobcell-s-j");
	want = jc_docker_create_body(p, false, &err);
	assert_string_equal(create->body, want);
	free(want);
	/* wait is registered before start; logs, inspect and remove follow */
	long wait = req_suffix(f->fe, "POST", "/wait"), start = req_suffix(f->fe, "POST", "/start");
	assert_true(wait >= 0 && start > wait);
	assert_string_equal(fake_engine_request(f->fe, (size_t)wait)->query, "condition=next-exit");
	assert_true(req_suffix(f->fe, "GET", "/logs") > start);
	assert_true(req_suffix(f->fe, "GET", "/json") > start);
	assert_true(req_index(f->fe, "DELETE", "/containers/") > start);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

static void test_status_stderr_and_oom(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "exit", "3", NULL);

	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_int_equal(r.exit_code, 3);
	jc_run_result_free(&r);
	jc_plan_free(p);

	p = plan_for(f, 0, "stderr", "oops", NULL);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_string_equal(f->errs, "oops\n");
	assert_int_equal(f->nout, 0);
	jc_run_result_free(&r);
	jc_plan_free(p);

	p = plan_for(f, 0, "oom", NULL);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_int_equal(r.exit_code, 137);
	assert_true(r.oom_killed);
	jc_run_result_free(&r);
	jc_plan_free(p);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static void test_large_output_streams(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "out", "3000", NULL);

	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_int_equal(f->nout, 3000);
	assert_int_equal(f->out[63], '\n');
	assert_int_equal(f->out[64], 'a' + 64 % 26);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

static void test_command_not_found_or_not_executable(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "missing", NULL);

	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_int_equal(err.kind, JC_ERR_CMD_NOT_FOUND);
	assert_msg(&err, "start container `jobcell-s-j`: engine said 400");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_plan_free(p);
	p = plan_for(f, 0, "noexec", NULL);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_int_equal(err.kind, JC_ERR_CMD_NOT_EXEC);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_error_clear(&err);
	jc_plan_free(p);
}

/* Every failure after create leaves the engine empty and names the step. */
static void test_faults_after_create_remove_the_container(void **state)
{
	static const struct {
		const char *method, *path;
		enum fake_fault fault;
		const char *msg;
	} cases[] = {
		{ "POST", "/start", FAKE_FAULT_STATUS,
		  "start container `jobcell-s-j`: engine said 500: boom" },
		{ "POST", "/wait", FAKE_FAULT_STATUS,
		  "wait for container `jobcell-s-j`: engine said 500: boom" },
		/* an answer before the start is a protocol error of its own */
		{ "POST", "/wait", FAKE_FAULT_MALFORMED,
		  "wait for container `jobcell-s-j`: answered before the start" },
		{ "POST", "/wait", FAKE_FAULT_DROP,
		  "wait for container `jobcell-s-j`: connection dropped" },
		{ "GET", "/json", FAKE_FAULT_TRUNCATED, "inspect container" },
		{ "GET", "/json", FAKE_FAULT_STATUS, "inspect container" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jc_supervise_opts o = opts(f);
		struct jc_run_result r = { 0 };
		jc_error err = { 0 };
		struct jc_plan *p = plan_for(f, 0, "exit", "0", NULL);

		fake_engine_fail(f->fe, cases[i].method, cases[i].path, cases[i].fault, 500, "boom",
				 1);
		assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
		assert_msg(&err, cases[i].msg);
		assert_int_equal(fake_engine_container_count(f->fe), 0);
		jc_error_clear(&err);
		jc_plan_free(p);
	}
}

/* The log stream failing does not change the job's outcome: the status
 * stands, the output is reported incomplete, the container goes. */
static void test_log_stream_fault_is_a_warning(void **state)
{
	static const enum fake_fault faults[] = { FAKE_FAULT_STATUS, FAKE_FAULT_DROP };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		struct jc_supervise_opts o = opts(f);
		struct jc_run_result r = { 0 };
		jc_error err = { 0 };
		struct jc_plan *p = plan_for(f, 0, "exit", "4", NULL);

		fake_engine_fail(f->fe, "GET", "/logs", faults[i], 500, "boom", 1);
		assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
		assert_int_equal(r.exit_code, 4);
		assert_non_null(r.warning);
		assert_non_null(strstr(r.warning,
				       "output of `jobcell-s-j` is incomplete: stream logs of "
				       "`jobcell-s-j`"));
		assert_int_equal(fake_engine_container_count(f->fe), 0);
		jc_run_result_free(&r);
		jc_plan_free(p);
	}
}

/* A last line without '\n' reaches the log only at the exit.  The engine's
 * follow stream may end without it (Docker 20.10's json-file follower),
 * bring it after the wait has answered, or never end (Podman 4.3's
 * follower that missed the death): each way it is delivered, and nothing
 * twice. */
static void test_last_line_without_newline(void **state)
{
	static const char *const progs[] = { "partial", "lateout", "stalled" };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct jc_supervise_opts o = opts(f);
		struct jc_run_result r = { 0 };
		jc_error err = { 0 };
		struct jc_plan *p = plan_for(f, 0, progs[i], "0.3", "last", "line", NULL);

		f->nout = f->nerr = 0;
		f->out[0] = f->errs[0] = '\0';
		assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
		assert_int_equal(r.exit_code, 0);
		/* what the follow stream brought is not repeated */
		assert_string_equal(f->out, "begin\nlast line");
		assert_string_equal(f->errs, "note\n");
		assert_null(r.warning);
		assert_int_equal(fake_engine_container_count(f->fe), 0);
		jc_run_result_free(&r);
		jc_plan_free(p);
	}
}

/* A reader that takes one byte at a time still gets every byte. */
static size_t slow_sink(void *ctx, int stream, const char *buf, size_t len)
{
	return len ? sink(ctx, stream, buf, 1) : 0;
}

/* A reader that never reads: the stream is paused, supervision goes on,
 * and the job's status is reported with a warning, within a bound. */
static size_t stuck_sink(void *ctx, int stream, const char *buf, size_t len)
{
	(void)ctx;
	(void)stream;
	(void)buf;
	(void)len;
	return 0;
}

static void test_slow_and_stuck_readers(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "out", "3000", NULL);

	o.sink = slow_sink;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_int_equal(f->nout, 3000);
	assert_null(r.warning);
	jc_run_result_free(&r);

	o.sink = stuck_sink;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(r.warning);
	assert_non_null(strstr(r.warning, "no progress for 5 s after the job exited"));
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

struct sender {
	int n;
	int delay_ms;
};

static void *send_signals(void *arg)
{
	struct sender *s = arg;
	for (int i = 0; i < s->n; i++) {
		struct timespec ts = { 0, (long)s->delay_ms * 1000000L };
		nanosleep(&ts, NULL);
		kill(getpid(), SIGUSR1);
	}
	return NULL;
}

/* Full at first, then takes everything: output is held back, then flushed. */
static int stuck_calls;
static size_t stuck_once_sink(void *ctx, int stream, const char *buf, size_t len)
{
	return stuck_calls-- > 0 ? 0 : sink(ctx, stream, buf, len);
}

/* A malformed frame found in held-back output ends the stream at once with
 * that cause, instead of leaving a paused transfer that never finishes. */
static void test_bad_frame_in_held_back_output(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "exit", "0", NULL);

	stuck_calls = 1;
	o.sink = stuck_once_sink;
	fake_engine_fail(f->fe, "GET", "/logs", FAKE_FAULT_BADFRAME, 0, NULL, 1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_string_equal(f->out, "ok");
	assert_non_null(r.warning);
	assert_non_null(strstr(r.warning, "malformed frame in the log stream"));
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* A signal while output is still being delivered cuts the delivery. */
static void test_signal_cuts_the_drain(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	struct sender s = { 1, 300 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "out", "3000", NULL);
	pthread_t t;

	o.sink = stuck_sink;
	assert_int_equal(pthread_create(&t, NULL, send_signals, &s), 0);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(r.warning);
	assert_non_null(strstr(r.warning, "cut short by a signal"));
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* `jobcell logs` into a pager: a reader that stops for longer than the
 * engine timeout (2 s here) is not an engine that stopped answering. */
static void test_logs_reader_may_pause(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "out", "3000", NULL);

	o.detach = true;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	stuck_calls = 150; /* ~3 s of 20 ms pumps */
	assert_int_equal(
	    jc_supervise_logs(f->e, r.id, "jobcell-s-j", false, f->sfd, stuck_once_sink, f, &err),
	    0);
	assert_int_equal(f->nout, 3000);
	assert_int_equal(jc_backend_remove(f->e, r.id, NULL, &err), 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* The create timed out: the engine may still make the container, and the
 * error says how to find it. */
static void test_create_timeout_names_the_nonce(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p;

	plan_nonce = "0123456789abcdef";
	p = plan_for(f, 0, "exit", "0", NULL);
	fake_engine_fail(f->fe, "POST", "/containers/create", FAKE_FAULT_HANG, 0, NULL, 1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_msg(&err,
		   "container `jobcell-s-j` may yet appear, labelled "
		   "jobcell.nonce=0123456789abcdef: create container `jobcell-s-j`: no answer");
	jc_error_clear(&err);
	jc_plan_free(p);
}

static void test_remove_failure_is_reported(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "exit", "0", NULL);

	fake_engine_fail(f->fe, "DELETE", "/containers/", FAKE_FAULT_STATUS, 500, "busy", 1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_msg(&err, "remove container `jobcell-s-j`: engine said 500: busy");
	/* the leftover is labelled: found by label, removable */
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(jc_backend_remove(f->e, "jobcell-s-j", NULL, &err), 0);
	jc_error_clear(&err);
	jc_plan_free(p);
}

/* The create happened but its answer was lost: this run's container is
 * found by its nonce and removed; another run's of the same name is not. */
static void test_lost_create_answer(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 }, first = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p;

	plan_nonce = "00112233aabbccdd";
	p = plan_for(f, 0, "exit", "0", NULL);
	fake_engine_fail(f->fe, "POST", "/containers/create", FAKE_FAULT_LOST, 0, NULL, 1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_msg(&err, "create container `jobcell-s-j`: connection dropped");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_non_null(fake_engine_find(f->fe, "DELETE", "/containers/"));
	jc_error_clear(&err);
	jc_plan_free(p);

	/* another run holds the name: a failed create here must not touch it */
	plan_nonce = "aaaaaaaaaaaaaaaa";
	p = plan_for(f, 0, "sleep", "30", NULL);
	o.detach = true;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &first, &err), 0);
	jc_plan_free(p);
	o.detach = false;
	plan_nonce = "bbbbbbbbbbbbbbbb";
	p = plan_for(f, 0, "exit", "0", NULL);
	fake_engine_fail(f->fe, "POST", "/containers/create", FAKE_FAULT_STATUS, 500, "boom", 1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_string_equal(err.msg, "create container `jobcell-s-j`: engine said 500: boom");
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(jc_backend_remove(f->e, first.id, NULL, &err), 0);
	jc_run_result_free(&first);
	jc_error_clear(&err);
	jc_plan_free(p);
}

static int refuse_start(void *ctx, jc_error *err)
{
	(void)ctx;
	return jc_error_set(err, JC_ERR_WORKSPACE, ESTALE, "workspace child `j` was replaced");
}

static void test_before_start_refusal(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "exit", "0", NULL);

	o.before_start = refuse_start;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_string_equal(err.msg, "workspace child `j` was replaced");
	assert_int_equal(req_suffix(f->fe, "POST", "/start"), -1);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_error_clear(&err);
	jc_plan_free(p);
}

static void test_name_conflict(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 }, r2 = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "sleep", "30", NULL);

	o.detach = true;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_non_null(r.id);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r2, &err), -1);
	assert_int_equal(err.status, EEXIST);
	assert_msg(&err, "create container `jobcell-s-j`: engine said 409");
	/* the first one is untouched by the refused second */
	assert_int_equal(fake_engine_container_count(f->fe), 1);
	assert_int_equal(jc_backend_remove(f->e, r.id, NULL, &err), 0);
	jc_run_result_free(&r);
	jc_error_clear(&err);
	jc_plan_free(p);
}

static void test_timeout_stops_and_removes(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 300, "sleep", "30", NULL);

	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_true(r.timed_out);
	assert_int_equal(r.exit_code, 143);
	assert_true(req_suffix(f->fe, "POST", "/stop") >= 0);
	assert_string_equal(
	    fake_engine_request(f->fe, (size_t)req_suffix(f->fe, "POST", "/stop"))->query, "t=1");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

static void run_with_signals(struct fixture *f, const char *prog, int nsig, struct jc_run_result *r)
{
	struct jc_supervise_opts o = opts(f);
	struct sender s = { nsig, 300 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, prog, "30", NULL);
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, send_signals, &s), 0);
	assert_int_equal(jc_supervise_run(f->e, p, &o, r, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(r->signal, SIGUSR1);
	assert_false(r->parent_died);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_plan_free(p);
}

static void test_signal_stops_with_grace(void **state)
{
	struct fixture *f = *state;
	struct jc_run_result r = { 0 };

	run_with_signals(f, "sleep", 1, &r);
	assert_int_equal(r.exit_code, 143);
	assert_int_equal(req_suffix(f->fe, "POST", "/kill"), -1);
	jc_run_result_free(&r);
}

static void test_stubborn_job_killed_after_grace(void **state)
{
	struct fixture *f = *state;
	struct jc_run_result r = { 0 };

	run_with_signals(f, "stubborn", 1, &r);
	assert_int_equal(r.exit_code, 137);
	jc_run_result_free(&r);
}

static void test_second_signal_kills_at_once(void **state)
{
	struct fixture *f = *state;
	struct jc_run_result r = { 0 };

	f->cfg.stop_grace_ms = 20000; /* a stop alone would take 20 s */
	run_with_signals(f, "stubborn", 2, &r);
	assert_int_equal(r.exit_code, 137);
	long k = req_suffix(f->fe, "POST", "/kill");
	assert_true(k >= 0);
	assert_string_equal(fake_engine_request(f->fe, (size_t)k)->query, "signal=SIGKILL");
	jc_run_result_free(&r);
}

/* An engine that swallows the kill: the error says the kill went
 * unanswered, not that the container was seen running. */
static void test_unanswered_kill_says_so(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct sender s = { 2, 300 };
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p;
	pthread_t t;

	f->cfg.stop_grace_ms = 20000; /* the stop alone would take 20 s */
	p = plan_for(f, 0, "stubborn", "30", NULL);
	fake_engine_fail(f->fe, "POST", "/kill", FAKE_FAULT_HANG, 0, NULL, 1);
	assert_int_equal(pthread_create(&t, NULL, send_signals, &s), 0);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	pthread_join(t, NULL);
	assert_string_equal(err.msg,
			    "kill container `jobcell-s-j`: the engine did not answer in 2s");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	fake_engine_clear_faults(f->fe);
	jc_error_clear(&err);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* A parent gone, or a signal, before the start: nothing is created.  (A
 * parent dying mid-run is covered on the real engine.) */
static void test_parent_gone_before_start_creates_nothing(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "sleep", "30", NULL);

	o.parent = getppid() + 100000; /* not our parent: as if it had died */
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_string_equal(err.msg,
			    "start container `jobcell-s-j`: parent exited before the job started");
	assert_null(fake_engine_find(f->fe, "POST", "/containers/create"));
	o.parent = 0;
	kill(getpid(), SIGUSR1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_msg(&err, "got User defined signal 1 before the job started");
	/* a parent that signals its children as it dies: the cause is the death */
	o.parent = getppid() + 100000;
	kill(getpid(), SIGUSR1);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_string_equal(err.msg,
			    "start container `jobcell-s-j`: parent exited before the job started");
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_error_clear(&err);
	jc_plan_free(p);
}

/* An engine that holds the wait's headers back (up to 2 s are given) does
 * not hold a signal back with them: it is seen at once, and the job is
 * never started. */
static void test_signal_while_the_wait_registers(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	struct sender s = { 1, 300 };
	jc_error err = { 0 };
	struct jc_plan *p = plan_for(f, 0, "sleep", "30", NULL);
	pthread_t t;
	int64_t t0 = jc_mono_ms();

	fake_engine_fail(f->fe, "POST", "/containers/*/wait", FAKE_FAULT_HANG, 0, NULL, 1);
	assert_int_equal(pthread_create(&t, NULL, send_signals, &s), 0);
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	pthread_join(t, NULL);
	/* the signal came at 300 ms; the registration alone waits 2000 */
	assert_true(jc_mono_ms() - t0 < 1500);
	assert_msg(&err, "got User defined signal 1 before the job started");
	assert_int_equal(req_suffix(f->fe, "POST", "/start"), -1);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_error_clear(&err);
	jc_plan_free(p);
}

/* `jobcell logs --follow` of a running job gets its last line too, from a
 * follow stream that ends without it or never ends. */
static void test_logs_follow_last_line(void **state)
{
	static const char *const progs[] = { "partial", "stalled" };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct jc_supervise_opts o = opts(f);
		struct jc_run_result r = { 0 };
		jc_error err = { 0 };
		struct jc_plan *p = plan_for(f, 0, progs[i], "0.3", "last", "line", NULL);

		f->nout = f->nerr = 0;
		f->out[0] = f->errs[0] = '\0';
		o.detach = true;
		assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
		assert_int_equal(
		    jc_supervise_logs(f->e, "jobcell-s-j", NULL, true, f->sfd, sink, f, &err), 0);
		assert_string_equal(f->out, "begin\nlast line");
		assert_string_equal(f->errs, "note\n");
		assert_int_equal(jc_backend_remove(f->e, r.id, NULL, &err), 0);
		jc_run_result_free(&r);
		jc_plan_free(p);
	}
}

static void test_detached_wait_and_logs(void **state)
{
	struct fixture *f = *state;
	struct jc_supervise_opts o = opts(f);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	int status = -1;
	struct jc_plan *p = plan_for(f, 0, "sleep", "0.3", NULL);

	o.detach = true;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	/* a wait shorter than the job times out, a longer one gets the status */
	assert_int_equal(jc_supervise_wait(f->e, "jobcell-s-j", NULL, 50, f->sfd, &status, &err),
			 1);
	assert_int_equal(jc_supervise_wait(f->e, "jobcell-s-j", NULL, 5000, f->sfd, &status, &err),
			 0);
	assert_int_equal(status, 0);
	assert_int_equal(jc_supervise_logs(f->e, "jobcell-s-j", NULL, false, f->sfd, sink, f, &err),
			 0);
	assert_int_equal(jc_supervise_wait(f->e, "nosuch", NULL, 1000, f->sfd, &status, &err), -1);
	assert_msg(&err, "wait for container `nosuch`: engine said 404");
	assert_int_equal(jc_backend_remove(f->e, r.id, NULL, &err), 0);
	jc_error_clear(&err);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

static int reset(void **state)
{
	struct fixture *f = *state;
	fake_engine_reset_requests(f->fe);
	f->nout = f->nerr = 0;
	f->out[0] = f->errs[0] = '\0';
	f->cfg.stop_grace_ms = 1000;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lifecycle_order_and_output, reset),
		cmocka_unit_test_setup(test_status_stderr_and_oom, reset),
		cmocka_unit_test_setup(test_large_output_streams, reset),
		cmocka_unit_test_setup(test_command_not_found_or_not_executable, reset),
		cmocka_unit_test_setup(test_faults_after_create_remove_the_container, reset),
		cmocka_unit_test_setup(test_remove_failure_is_reported, reset),
		cmocka_unit_test_setup(test_log_stream_fault_is_a_warning, reset),
		cmocka_unit_test_setup(test_last_line_without_newline, reset),
		cmocka_unit_test_setup(test_slow_and_stuck_readers, reset),
		cmocka_unit_test_setup(test_bad_frame_in_held_back_output, reset),
		cmocka_unit_test_setup(test_signal_cuts_the_drain, reset),
		cmocka_unit_test_setup(test_logs_reader_may_pause, reset),
		cmocka_unit_test_setup(test_create_timeout_names_the_nonce, reset),
		cmocka_unit_test_setup(test_before_start_refusal, reset),
		cmocka_unit_test_setup(test_lost_create_answer, reset),
		cmocka_unit_test_setup(test_name_conflict, reset),
		cmocka_unit_test_setup(test_timeout_stops_and_removes, reset),
		cmocka_unit_test_setup(test_signal_stops_with_grace, reset),
		cmocka_unit_test_setup(test_stubborn_job_killed_after_grace, reset),
		cmocka_unit_test_setup(test_second_signal_kills_at_once, reset),
		cmocka_unit_test_setup(test_unanswered_kill_says_so, reset),
		cmocka_unit_test_setup(test_parent_gone_before_start_creates_nothing, reset),
		cmocka_unit_test_setup(test_signal_while_the_wait_registers, reset),
		cmocka_unit_test_setup(test_detached_wait_and_logs, reset),
		cmocka_unit_test_setup(test_logs_follow_last_line, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
