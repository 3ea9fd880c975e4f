/* feed.c, through supervise.c, against the fake engine: run -i's attach
 * (its exact request, before the start), the bytes passed byte-exact and
 * ended, an input that never ends or is never read, a terminal, and a
 * signal or a deadline while the input is open. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "config.h"
#include "backend.h"
#include "docker/engine.h"
#include "testutil.h"
#include "error.h"
#include "feed.h"
#include "plan.h"
#include "supervise.h"
#include "util.h"

struct fixture {
	struct fake_engine *fe;
	struct jc_backend *e;
	struct jc_config cfg;
	int sfd;
	char *out; /* stdout of the job */
	size_t nout;
	char dir[64];
};

static size_t sink(void *ctx, int stream, const char *buf, size_t len)
{
	struct fixture *f = ctx;
	char *p;

	if (stream != 1)
		return len;
	p = realloc(f->out, f->nout + len + 1);
	assert_non_null(p);
	memcpy(p + f->nout, buf, len);
	f->out = p;
	f->nout += len;
	return len;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	jc_error err = { 0 };
	char ep[256];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
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
	strcpy(f->dir, "/tmp/jobcell-feed.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
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
	rm_tree(f->dir);
	free(f->out);
	free(f);
	return 0;
}

static struct jc_plan *plan_for(struct fixture *f, int64_t timeout_ms, const char *arg0, ...)
{
	struct jc_job_request req = { .job = "j", .timeout_ms = timeout_ms };
	struct jc_plan *p = NULL;
	jc_error err = { 0 };
	va_list ap;

	va_start(ap, arg0);
	for (const char *a = arg0; a; a = va_arg(ap, const char *))
		assert_int_equal(jc_strv_push(&req.cmd, a), 0);
	va_end(ap);
	assert_int_equal(jc_plan_build(&f->cfg, &req, "1000:1000", 1700000000, &p, &err), 0);
	jc_strv_free(&req.cmd);
	p->open_stdin = true; /* as job.c sets it for run -i */
	return p;
}

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

/* Run `p` with `fd` as the caller's stdin; the result in *r. */
static int run_fed(struct fixture *f, struct jc_plan *p, int fd, struct jc_run_result *r,
		   jc_error *err)
{
	struct jc_feed *feed = NULL;
	struct jc_supervise_opts o = { .signal_fd = f->sfd, .sink = sink, .sink_ctx = f };
	int ret;

	assert_int_equal(jc_feed_open(fd, &feed, err), 0);
	o.feed = feed;
	ret = jc_supervise_run(f->e, p, &o, r, err);
	jc_feed_free(feed);
	return ret;
}

static long now_ms(void)
{
	return (long)jc_mono_ms();
}

/* 3 MiB of every byte value, from a file: the exact attach, before the
 * start; what the engine got is what was sent, ended; the job's output
 * (the fake's cat) is the same bytes. */
static void test_attach_exact_and_bytes(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	size_t len = 3u << 20, got = 0;
	char *data = malloc(len), path[128];
	const struct fake_request *at, *cr;
	bool ended = false;
	const void *in;
	FILE *w;
	int fd;

	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i ^ (i >> 8) ^ (i >> 16));
	snprintf(path, sizeof(path), "%s/in", f->dir);
	w = fopen(path, "w");
	assert_non_null(w);
	assert_int_equal(fwrite(data, 1, len, w), len);
	fclose(w);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	if (run_fed(f, p, fd, &r, &err) < 0)
		fail_msg("run: %s", err.msg);
	close(fd);
	assert_int_equal(r.exit_code, 0);
	assert_null(r.warning);

	cr = fake_engine_find(f->fe, "POST", "/containers/create");
	assert_non_null(cr);
	assert_non_null(strstr(cr->body, "\"OpenStdin\":true"));
	assert_non_null(strstr(cr->body, "\"StdinOnce\":true"));
	assert_non_null(strstr(cr->body, "\"AttachStdin\":true"));
	assert_true(req_suffix(f->fe, "POST", "/attach") >= 0);
	at = fake_engine_request(f->fe, (size_t)req_suffix(f->fe, "POST", "/attach"));
	assert_string_equal(at->version, "1.41");
	assert_string_equal(at->query, "stream=1&stdin=1&stdout=0&stderr=0&detachKeys=");
	assert_int_equal(at->body_len, 0);
	assert_true(req_suffix(f->fe, "POST", "/attach") < req_suffix(f->fe, "POST", "/start"));
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/"), 4); /* create, wait,
										   attach, start */

	in = fake_engine_stdin(f->fe, r.id, &got, &ended);
	assert_true(ended);
	assert_int_equal(got, len);
	assert_memory_equal(in, data, len);
	/* output comes once, through the log stream */
	assert_int_equal(f->nout, len);
	assert_memory_equal(f->out, data, len);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	free(data);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* Without -i: stdin closed in the create body, no attach. */
static void test_no_stdin_no_attach(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "exit", "0", NULL);
	struct jc_supervise_opts o = { .signal_fd = f->sfd, .sink = sink, .sink_ctx = f };
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };

	p->open_stdin = false;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), 0);
	assert_non_null(strstr(fake_engine_find(f->fe, "POST", "/containers/create")->body,
			       "\"OpenStdin\":false"));
	assert_int_equal(req_suffix(f->fe, "POST", "/attach"), -1);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* An empty input: the job's stdin ends at once. */
static void test_empty_input(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	bool ended = false;
	size_t got = 1;
	int fd = open("/dev/null", O_RDONLY);

	assert_int_equal(run_fed(f, p, fd, &r, &err), 0);
	close(fd);
	assert_int_equal(r.exit_code, 0);
	fake_engine_stdin(f->fe, r.id, &got, &ended);
	assert_true(ended);
	assert_int_equal(got, 0);
	assert_int_equal(f->nout, 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* A job that never reads, fed without end (/dev/zero): it exits 0, the
 * input it did not take is no error, and nothing waits on it. */
static void test_unread_endless_input(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "sleep", "0.3", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	int fd = open("/dev/zero", O_RDONLY);

	assert_int_equal(run_fed(f, p, fd, &r, &err), 0);
	close(fd);
	assert_int_equal(r.exit_code, 0);
	assert_null(r.warning);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* The engine drops the attach after 4 KiB: the job's stdin ends there,
 * the run goes on to the job's end, and the rest of the input is left. */
static void test_attach_dropped_midway(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	bool ended = false;
	size_t got = 0;
	int fd = open("/dev/zero", O_RDONLY);

	fake_engine_fail(f->fe, "POST", "/attach", FAKE_FAULT_DROP, 0, NULL, 1);
	assert_int_equal(run_fed(f, p, fd, &r, &err), 0);
	close(fd);
	assert_int_equal(r.exit_code, 0);
	fake_engine_stdin(f->fe, r.id, &got, &ended);
	assert_true(ended);
	assert_true(got >= 4096 && got < (1u << 20));
	assert_int_equal(f->nout, got);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* A caller that never closes its stdin (a pipe held open, never written)
 * and a deadline: the job is stopped at its time, not held up. */
static void test_open_input_and_timeout(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 300, "sleep", "30", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	int pfd[2];
	long t0;

	assert_int_equal(pipe(pfd), 0);
	t0 = now_ms();
	assert_int_equal(run_fed(f, p, pfd[0], &r, &err), 0);
	assert_true(r.timed_out);
	assert_int_equal(r.exit_code, 143);
	/* the stop's grace is 1 s; far below the 30 s the job would run */
	assert_true(now_ms() - t0 < 10000);
	assert_true(req_suffix(f->fe, "POST", "/stop") >= 0);
	close(pfd[0]);
	close(pfd[1]);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

struct sender {
	int delay_ms;
	int fd; /* written to first, when >= 0 */
};

static void *send_sigusr1(void *arg)
{
	struct sender *s = arg;
	if (s->fd >= 0 && write(s->fd, "x", 1) != 1)
		return NULL;
	nanosleep(&(struct timespec){ s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L }, NULL);
	kill(getpid(), SIGUSR1);
	return NULL;
}

/* A signal while the input is open: the graceful stop, as without -i. */
static void test_signal_while_input_open(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "sleep", "30", NULL);
	struct jc_run_result r = { 0 };
	struct sender s = { 400, -1 };
	jc_error err = { 0 };
	pthread_t t;
	int pfd[2];

	assert_int_equal(pipe(pfd), 0);
	s.fd = pfd[1];
	assert_int_equal(pthread_create(&t, NULL, send_sigusr1, &s), 0);
	assert_int_equal(run_fed(f, p, pfd[0], &r, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.signal, SIGUSR1);
	assert_int_equal(r.exit_code, 143);
	assert_int_equal(req_suffix(f->fe, "POST", "/kill"), -1);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	close(pfd[0]);
	close(pfd[1]);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* A terminal: a line, then its end (^D), reach the job; the caller's
 * terminal is left as it was (blocking). */
static void test_terminal_input(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	struct termios tio;
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(tcgetattr(s, &tio), 0);
	tio.c_lflag |= ICANON;
	tio.c_lflag &= ~(tcflag_t)ECHO;
	assert_int_equal(tcsetattr(s, TCSANOW, &tio), 0);
	assert_int_equal(write(m, "hello\n\004", 7), 7);
	assert_int_equal(run_fed(f, p, s, &r, &err), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(f->nout, 6);
	assert_memory_equal(f->out, "hello\n", 6);
	assert_int_equal(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
	close(s);
	close(m);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

struct writer {
	int fd;
	size_t len;
};

static void *write_then_end(void *arg)
{
	struct writer *w = arg;
	char buf[4096];

	for (size_t done = 0; done < w->len;) {
		size_t k = w->len - done < sizeof(buf) ? w->len - done : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = (char)((done + i) % 253);
		ssize_t n = write(w->fd, buf, k);
		if (n <= 0)
			return NULL;
		done += (size_t)n;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/* A socket (as Node's child_process gives its children for stdin): read
 * with MSG_DONTWAIT, its end a shutdown of the writer's side. */
static void test_socket_input(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_run_result r = { 0 };
	struct writer w = { -1, 300000 };
	jc_error err = { 0 };
	pthread_t t;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	w.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, write_then_end, &w), 0);
	assert_int_equal(run_fed(f, p, sv[0], &r, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(f->nout, w.len);
	for (size_t i = 0; i < w.len; i++)
		if (f->out[i] != (char)(i % 253))
			fail_msg("byte %zu differs", i);
	close(sv[0]);
	close(sv[1]);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* An input that fails to read (a directory: EISDIR) ends the job's input
 * there, and the run says so in its warning. */
static void test_read_error_ends_input(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_run_result r = { 0 };
	jc_error err = { 0 };
	bool ended = false;
	size_t got = 1;
	int fd = open(f->dir, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	assert_int_equal(run_fed(f, p, fd, &r, &err), 0);
	close(fd);
	assert_int_equal(r.exit_code, 0);
	fake_engine_stdin(f->fe, r.id, &got, &ended);
	assert_true(ended);
	assert_int_equal(got, 0);
	assert_non_null(r.warning);
	if (!strstr(r.warning, "job `j`: reading standard input failed (Is a directory): the "
			       "job's input was ended there"))
		fail_msg("warning: %s", r.warning);
	jc_run_result_free(&r);
	jc_plan_free(p);
}

/* A feed on a detached start is refused before the container starts, and
 * the container is removed. */
static void test_detach_refuses_feed(void **state)
{
	struct fixture *f = *state;
	struct jc_plan *p = plan_for(f, 0, "cat", NULL);
	struct jc_supervise_opts o = {
		.signal_fd = f->sfd, .sink = sink, .sink_ctx = f, .detach = true
	};
	struct jc_run_result r = { 0 };
	struct jc_feed *feed = NULL;
	jc_error err = { 0 };
	int fd = open("/dev/null", O_RDONLY);

	assert_int_equal(jc_feed_open(fd, &feed, &err), 0);
	o.feed = feed;
	assert_int_equal(jc_supervise_run(f->e, p, &o, &r, &err), -1);
	assert_non_null(strstr(err.msg, "a started job has no caller"));
	assert_int_equal(req_suffix(f->fe, "POST", "/start"), -1);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	jc_feed_free(feed);
	jc_error_clear(&err);
	close(fd);
	jc_plan_free(p);
}

/* A descriptor that is not open is refused before anything is made. */
static void test_bad_descriptor(void **state)
{
	struct jc_feed *feed = NULL;
	jc_error err = { 0 };
	(void)state;

	assert_int_equal(jc_feed_open(977, &feed, &err), -1);
	assert_null(feed);
	assert_non_null(strstr(err.msg, "standard input"));
	jc_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_attach_exact_and_bytes),
		T(test_no_stdin_no_attach),
		T(test_empty_input),
		T(test_unread_endless_input),
		T(test_attach_dropped_midway),
		T(test_open_input_and_timeout),
		T(test_signal_while_input_open),
		T(test_terminal_input),
		T(test_socket_input),
		T(test_read_error_ends_input),
		T(test_detach_refuses_feed),
		T(test_bad_descriptor),
#undef T
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
