/* The fault matrix: every engine call in a job's life, each failing in
 * every way an engine fails, against the built binary.  Each cell runs one
 * job against a fresh fake engine on which that call always fails, and
 * asserts the exit status, exactly one error or warning line naming the
 * step, that no case hangs, and that nothing is left on the engine: where
 * the fault itself makes removal impossible, the leftover carries jobcell's
 * labels and a later `jobcell gc`, with the engine working again, removes
 * it.  The table of cells and the count are printed at the end.
 *
 * The second matrix interrupts: every engine request of a volume-mode run
 * and of `volume put` and `volume get` that can take long (a transfer that
 * trickles, a call that is never answered), each met with SIGTERM, SIGINT,
 * SIGHUP and the parent's death.  Each cell asserts that jobcell ends
 * within a bound far below the engine timeout, with status 125 and one
 * error line naming the step and the cause, that it removed what it made
 * (the DELETE requests are there) and that nothing is left.
 *
 * Then the transport part of both again over TLS (an HTTPS fake engine on
 * a loopback port, certificates made at test time by tests/tls-certs.sh):
 * the faults of the connection and of the answer's bytes (drop, hang,
 * malformed, truncated) for every call, and the interruptions of a slow
 * or silent transfer; plus a clean run, client certificates the engine
 * refuses, and OpenSSL's configuration read for TLS. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "enginelock.h"
#include "fake_engine.h"

/* The binary under test: $JOBCELL_BIN (the Makefile's, of the build
 * directory being tested), else build/jobcell from the top of the tree. */
static const char *jobcell_bin(void)
{
	const char *p = getenv("JOBCELL_BIN");
	return p && *p ? p : "build/jobcell";
}
/* The TLS of the fake engine and of the site: PEM files in dir, made once
 * by main, and the texts the fake is given.  `on`: fx_open starts the
 * engine with TLS. */
static struct {
	bool on;
	bool ready;
	char dir[64];
	char *ca, *cert, *key; /* the engine's CA, certificate and key */
	const char *client;    /* the client's certificate and key: "client", "client2" */
} tls;

/* A cell that runs longer than this hangs: the child is killed. */
#define CELL_LIMIT_MS 30000

enum scenario {
	S_BIND,    /* bind mode: run j -- exit 0 */
	S_TIMEOUT, /* bind mode: run j --timeout 1s -- sleep 30 (the stop call) */
	S_VOLUME,  /* volume mode: run j --input in --output out -- exit 0 */
	S_VTIMEOUT, /* volume mode: run j --input in --timeout 1s -- sleep 30 */
	S_STDIN,   /* bind mode: run j -i -- cat, 64 KiB on stdin */
};

struct call {
	const char *name;   /* the row of the table */
	const char *method; /* the engine call, as fake_engine_fail matches it */
	const char *path;
	enum scenario scenario;
};

static const struct call calls[] = {
	{ "ping", "GET", "/_ping", S_BIND },
	{ "image inspect", "GET", "/images/*/json", S_BIND },
	{ "create", "POST", "/containers/create", S_BIND },
	{ "wait", "POST", "/containers/*/wait", S_BIND },
	{ "start", "POST", "/containers/*/start", S_BIND },
	{ "logs", "GET", "/containers/*/logs", S_BIND },
	{ "inspect", "GET", "/containers/*/json", S_BIND },
	{ "stop", "POST", "/containers/*/stop", S_TIMEOUT },
	{ "remove", "DELETE", "/containers/*", S_BIND },
	{ "attach", "POST", "/containers/*/attach", S_STDIN },
	{ "volume create", "POST", "/volumes/create", S_VOLUME },
	{ "archive put", "PUT", "/containers/*/archive", S_VOLUME },
	{ "archive get", "GET", "/containers/*/archive", S_VOLUME },
	{ "archive stat", "HEAD", "/containers/*/archive", S_BIND },
	{ "volume remove", "DELETE", "/volumes/*", S_VOLUME },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

struct fault {
	const char *name;
	enum fake_fault fault;
	int status;
};

static const struct fault faults[] = {
	{ "500", FAKE_FAULT_STATUS, 500 },        { "404", FAKE_FAULT_STATUS, 404 },
	{ "drop", FAKE_FAULT_DROP, 0 },           { "hang", FAKE_FAULT_HANG, 0 },
	{ "malformed", FAKE_FAULT_MALFORMED, 0 }, { "truncated", FAKE_FAULT_TRUNCATED, 0 },
};
#define NFAULTS (sizeof(faults) / sizeof(faults[0]))

/* What a cell must show.  `line`: the one error or warning line contains it;
 * NULL: no such line at all (the fault does not touch what jobcell uses). */
struct expect {
	int status;
	const char *line;
	bool left; /* the fault leaves something that gc must remove */
};

/* Row by row as calls[], column by column as faults[].  A 2xx with a bad
 * body to a call whose answer jobcell does not read (ping's "OK", the empty
 * answers of remove and of an archive upload) is success to jobcell; the
 * fake did nothing, so a later step, or the leftover count, shows it. */
#define E(st, ln, lf)                                                                              \
	{                                                                                          \
		st, ln, lf                                                                         \
	}
#define ALL(st, ln, lf)                                                                            \
	{                                                                                          \
		E(st, ln, lf), E(st, ln, lf), E(st, ln, lf), E(st, ln, lf), E(st, ln, lf),         \
		    E(st, ln, lf)                                                                  \
	}
/* 500, 404, drop and hang as `a`; malformed and truncated as `b` */
#define SPLIT(a, b)                                                                                \
	{                                                                                          \
		a, a, a, a, b, b                                                                   \
	}
static const struct expect expected[NCALLS][NFAULTS] = {
	SPLIT(E(125, "ping engine", false), E(0, NULL, false)),
	ALL(125, "inspect image", false),
	ALL(125, "create container", false),
	ALL(125, "wait for container", false),
	SPLIT(E(125, "start container", false), E(125, "start container", false)),
	ALL(0, "output of `jobcell-s-j` is incomplete", false),
	ALL(125, "inspect container", false),
	ALL(124, "stop container `jobcell-s-j`", false),
	{ E(125, "remove container", true), E(0, NULL, true), E(125, "remove container", true),
	  E(125, "remove container", true), E(0, NULL, true), E(0, NULL, true) },
	/* a drop midway ends the job's stdin there: the job's outcome stands;
	 * a 200 that is no raw stream is no hijacked connection */
	{ E(125, "attach stdin of `jobcell-s-j`: engine said 500", false),
	  E(125, "attach stdin of `jobcell-s-j`: engine said 404", false), E(0, NULL, false),
	  E(125, "attach stdin of `jobcell-s-j`: no answer in time", false),
	  E(125, "attach stdin of `jobcell-s-j`: engine said 200, not a hijacked", false),
	  E(125, "attach stdin of `jobcell-s-j`: engine said 200, not a hijacked", false) },
	ALL(125, "create volume", false),
	SPLIT(E(125, "write files into container", false), E(0, NULL, false)),
	SPLIT(E(125, "read files from container", false), E(125, "extract files from", false)),
	/* the mount proof: 404 is a proof file the engine does not see */
	{ E(125, "mount proof: stat `/workspace/j/.jobcell-proof-", false),
	  E(125, "mount `j` of job `j`: the engine did not mount the directory", false),
	  E(125, "mount proof: stat `/workspace/j/.jobcell-proof-", false),
	  E(125, "mount proof: stat `/workspace/j/.jobcell-proof-", false),
	  E(125, "no X-Docker-Container-Path-Stat header", false),
	  E(125, "no X-Docker-Container-Path-Stat header", false) },
	{ E(0, "volume `tenant-t-run-r-", true), E(0, NULL, true),
	  E(0, "volume `tenant-t-run-r-", true), E(0, "volume `tenant-t-run-r-", true),
	  E(0, NULL, true), E(0, NULL, true) },
};
#undef SPLIT
#undef ALL
#undef E

struct cell {
	int status;
	char line[200]; /* the first error or warning line, cut */
	int nlines;     /* error and warning lines */
	bool hung;
	size_t left_containers, left_volumes; /* after the run */
	size_t gc_containers, gc_volumes;     /* after gc */
	long ms;
	bool ok;
	char why[200];
	char err[400]; /* jobcell's stderr, cut: for the report of a failed cell */
};

static struct cell cells[NCALLS][NFAULTS];

/* The stdin of the jobcell that run() starts: NULL for /dev/null. */
static const char *child_stdin;

struct fx {
	struct fake_engine *fe;
	char dir[64];
	char ini[128];
	char ws[128];
	size_t nsite;
	char err[8192];
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* mkdir DIR/SUB */
static void mkdir_in(const char *dir, const char *sub)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* What the job leaves in its directory: a tar with out.txt, as the engine
 * answers GET .../archive?path=/workspace/j/. */
static void set_job_output(struct fake_engine *fe)
{
	static const char text[] = "output\n";
	char tar[10240];
	size_t used = 0;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_non_null(a);
	assert_non_null(e);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, tar, sizeof(tar), &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "out.txt");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, sizeof(text) - 1);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, text, sizeof(text) - 1),
			 (la_ssize_t)sizeof(text) - 1);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(a);
	fake_engine_set_archive(fe, "/workspace/j/.", tar, used);
}

/* The [engine] keys that reach f's engine: its socket, or its port over
 * TLS with the client's certificate tls.client (NULL: none shown). */
static void engine_keys(const struct fx *f, char *buf, size_t cap)
{
	if (!fake_engine_port(f->fe)) {
		snprintf(buf, cap, "endpoint = unix://%s\n", fake_engine_socket(f->fe));
		return;
	}
	int n = snprintf(buf, cap, "endpoint = tcp://127.0.0.1:%d\ntls_ca = %s/ca.pem\n",
			 fake_engine_port(f->fe), tls.dir);
	if (tls.client)
		snprintf(buf + n, cap - (size_t)n, "tls_cert = %s/%s.pem\ntls_key = %s/%s-key.pem\n",
			 tls.dir, tls.client, tls.dir, tls.client);
}

/* A fresh engine and site for one cell.  The engine answers within 1 s or
 * is taken as hung. */
static void fx_open(struct fx *f, enum scenario s)
{
	char text[1024], p[256], keys[512];

	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/jobcell-faults.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(f->ini, sizeof(f->ini), "%s/site.ini", f->dir);
	snprintf(f->ws, sizeof(f->ws), "%s/ws", f->dir);
	if (tls.on) {
		const struct fake_tls ft = { tls.cert, tls.key, tls.ca };
		assert_true(tls.ready);
		f->fe = fake_engine_start_tls("1.41", &ft);
	} else {
		f->fe = fake_engine_start("1.41");
	}
	assert_non_null(f->fe);
	engine_keys(f, keys, sizeof(keys));
	fake_engine_add_image(f->fe, "img", "");
	if (s == S_VOLUME || s == S_VTIMEOUT) {
		mkdir_in(f->dir, "xfer");
		snprintf(p, sizeof(p), "%s/xfer/in.txt", f->dir);
		write_file(p, "input\n");
		fake_engine_add_volume(f->fe, "s_startup", NULL);
		fake_engine_add_volume(f->fe, "s_local", NULL);
		set_job_output(f->fe);
		snprintf(text, sizeof(text),
			 "[engine]\n%stimeout = 1s\n[site]\nname = s\n"
			 "[workspace]\nmode = volume\n[job]\nimage = img\nuser = 1234:5678\n"
			 "stop_grace = 1s\ntimeout = 1h\n[volume]\nstartup_volume = s_startup\n"
			 "local_volume = s_local\ntransfer_dir = %s/xfer\ntenant = t\nrun = r\n",
			 keys, f->dir);
	} else {
		if (s == S_STDIN) {
			static char big[64 << 10];
			FILE *in;
			for (size_t i = 0; i < sizeof(big); i++)
				big[i] = (char)(i * 7 + i / 251);
			snprintf(p, sizeof(p), "%s/stdin", f->dir);
			in = fopen(p, "w");
			assert_non_null(in);
			assert_int_equal(fwrite(big, 1, sizeof(big), in), sizeof(big));
			fclose(in);
		}
		mkdir_in(f->dir, "ws");
		mkdir_in(f->dir, "ws/startup");
		mkdir_in(f->dir, "ws/local");
		snprintf(text, sizeof(text),
			 "[engine]\n%stimeout = 1s\n[site]\nname = s\n"
			 "[workspace]\npath = %s\n[job]\nimage = img\n"
			 "allow_root = true\nstop_grace = 1s\ntimeout = 1h\n",
			 keys, f->ws);
	}
	write_file(f->ini, text);
	f->nsite = fake_engine_volume_count(f->fe);
}

static void fx_close(struct fx *f)
{
	char cmd[160];
	fake_engine_stop(f->fe);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	lseek(fd, 0, SEEK_SET);
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run the binary with NULL-terminated arguments, stdout discarded and
 * stderr kept in f->err; the status, or -1 when it ran past the limit and
 * was killed. */
static int run(struct fx *f, const char *arg, ...)
{
	const char *argv[32] = { jobcell_bin(), "-c", f->ini };
	int n = 3, e, status = 0;
	long deadline = now_ms() + CELL_LIMIT_MS;
	va_list ap;
	pid_t pid, w;

	va_start(ap, arg);
	for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	e = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	assert_true(e >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int in = child_stdin ? open(child_stdin, O_RDONLY) : null;
		dup2(in, 0);
		dup2(null, 1);
		dup2(e, 2);
		unsetenv("DOCKER_HOST");
		setenv("JOBCELL_CONFIG_DIR", f->dir, 1);
		execv(jobcell_bin(), (char **)argv);
		_exit(99);
	}
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		status = -1;
	} else {
		assert_int_equal(w, pid);
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	slurp(e, f->err, sizeof(f->err));
	close(e);
	return status;
}

/* Count the error and warning lines of f->err; copy the first. */
static int problem_lines(const struct fx *f, char *first, size_t cap)
{
	int n = 0;
	*first = '\0';
	for (const char *l = f->err; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (!strncmp(l, "jobcell: error: ", 16) || !strncmp(l, "jobcell: warning: ", 18)) {
			if (!n++)
				snprintf(first, cap, "%.*s", (int)len, l);
		}
		l += len + (nl ? 1 : 0);
	}
	return n;
}

/* Run call c failing as ft on a fresh engine (over TLS when tls.on): the
 * status, the problem lines, what is left, and what gc leaves. */
static void exercise(const struct call *c, const struct fault *ft, struct cell *cell)
{
	struct fx f;
	long t0;

	memset(cell, 0, sizeof(*cell));
	fx_open(&f, c->scenario);
	fake_engine_fail(f.fe, c->method, c->path, ft->fault, ft->status,
			 ft->status == 404 ? "no such thing" : "engine broke", -1);
	t0 = now_ms();
	switch (c->scenario) {
	case S_BIND:
		cell->status = run(&f, "run", "j", "--", "exit", "0", NULL);
		break;
	case S_TIMEOUT:
		cell->status = run(&f, "run", "j", "--timeout", "1s", "--", "sleep", "30", NULL);
		break;
	case S_VOLUME:
		cell->status = run(&f, "run", "j", "--input", "in.txt", "--output", "out", "--",
				   "exit", "0", NULL);
		break;
	case S_VTIMEOUT:
		cell->status = run(&f, "run", "j", "--input", "in.txt", "--timeout", "1s", "--",
				   "sleep", "30", NULL);
		break;
	case S_STDIN: {
		char in[256];
		snprintf(in, sizeof(in), "%s/stdin", f.dir);
		child_stdin = in;
		cell->status = run(&f, "run", "j", "-i", "--", "cat", NULL);
		child_stdin = NULL;
		break;
	}
	}
	cell->ms = now_ms() - t0;
	if (getenv("FAULTS_TRACE"))
		for (size_t i = 0; i < fake_engine_request_count(f.fe); i++) {
			const struct fake_request *r = fake_engine_request(f.fe, i);
			fprintf(stderr, "  %s %s?%s\n", r->method, r->path, r->query);
		}
	cell->hung = cell->status < 0;
	cell->nlines = problem_lines(&f, cell->line, sizeof(cell->line));
	snprintf(cell->err, sizeof(cell->err), "%.399s", f.err);

	/* the engine works again: what is left must be jobcell's to collect */
	fake_engine_clear_faults(f.fe);
	cell->left_containers = fake_engine_container_count(f.fe);
	cell->left_volumes = fake_engine_volume_count(f.fe) - f.nsite;
	if (cell->left_containers || cell->left_volumes) {
		int st = run(&f, "gc", NULL);
		if (st != 0)
			snprintf(cell->why, sizeof(cell->why), "gc exited %d: %.120s", st, f.err);
	}
	cell->gc_containers = fake_engine_container_count(f.fe);
	cell->gc_volumes = fake_engine_volume_count(f.fe) - f.nsite;
	if (cell->hung)
		snprintf(cell->why, sizeof(cell->why), "hung: killed after %d ms", CELL_LIMIT_MS);
	else if (!cell->why[0] && (cell->gc_containers || cell->gc_volumes))
		snprintf(cell->why, sizeof(cell->why), "left %zu containers, %zu volumes after gc",
			 cell->gc_containers, cell->gc_volumes);
	fx_close(&f);
}

static void run_cell(size_t ci, size_t fi)
{
	const struct call *c = &calls[ci];
	const struct fault *ft = &faults[fi];
	const struct expect *x = &expected[ci][fi];
	struct cell *cell = &cells[ci][fi];

	exercise(c, ft, cell);
	if (cell->why[0])
		;
	else if (cell->status != x->status)
		snprintf(cell->why, sizeof(cell->why), "status %d, want %d", cell->status,
			 x->status);
	else if (x->line && (cell->nlines != 1 || !strstr(cell->line, x->line)))
		snprintf(cell->why, sizeof(cell->why), "%d problem lines, want one with `%s`",
			 cell->nlines, x->line);
	else if (!x->line && cell->nlines)
		snprintf(cell->why, sizeof(cell->why), "%d problem lines, want none", cell->nlines);
	else if (!x->left && (cell->left_containers || cell->left_volumes))
		snprintf(cell->why, sizeof(cell->why),
			 "left %zu containers, %zu volumes without gc", cell->left_containers,
			 cell->left_volumes);
	cell->ok = !cell->why[0];
	if (!cell->ok)
		fprintf(stderr, "cell %s × %s: %s\nstderr: %s", c->name, ft->name, cell->why,
			cell->err);
}

static void test_row(void **state)
{
	size_t ci = (size_t)(uintptr_t)*state;
	const char *only = getenv("FAULTS_ONLY"); /* a row's name, while working on it */
	int bad = 0;

	if (only && strcmp(only, calls[ci].name) != 0)
		skip();
	for (size_t fi = 0; fi < NFAULTS; fi++) {
		const char *fault = getenv("FAULTS_FAULT");
		if (fault && strcmp(fault, faults[fi].name) != 0)
			continue;
		run_cell(ci, fi);
		bad += !cells[ci][fi].ok;
	}
	if (bad)
		fail_msg("%s: %d of %zu cells failed", calls[ci].name, bad, NFAULTS);
}

/* ---- interrupts ---- */

/* The engine timeout of these cells: a request that is not given up would
 * end only after it. */
#define HALT_ENGINE_TIMEOUT "20s"
/* "Acts within a second", asserted with room for a loaded machine. */
#define HALT_BOUND_MS 5000

enum how { H_TERM, H_INT, H_HUP, H_PARENT };
static const struct {
	const char *name;
	int sig;
	const char *why; /* in the error line */
} hows[] = {
	{ "SIGTERM", SIGTERM, "interrupted by SIGTERM" },
	{ "SIGINT", SIGINT, "interrupted by SIGINT" },
	{ "SIGHUP", SIGHUP, "interrupted by SIGHUP" },
	{ "parent", 0, "the parent went away" },
};
#define NHOWS (sizeof(hows) / sizeof(hows[0]))

enum cmd {
	C_RUN,  /* volume mode: run j --input in.txt --output out -- exit 0 */
	C_BIND, /* bind mode: run j -- exit 0, where the job's create is the only one */
	C_PUT,  /* volume put OWN_VOLUME in.txt */
	C_GET,  /* volume get OWN_VOLUME --to got */
	C_STDIN, /* bind mode: run j -i -- cat */
};

struct phase {
	const char *name;
	enum cmd cmd;
	/* the request that never ends: method and fnmatch pattern */
	const char *method, *path;
	enum fake_fault fault;
	const char *step;  /* in the error line */
	bool rm_container; /* a DELETE of a container must have been asked */
	bool rm_volume;    /* and of a volume */
	bool exited;       /* the job ran: its status is in the record */
};

static const struct phase phases[] = {
	{ "volume create", C_RUN, "POST", "/volumes/create", FAKE_FAULT_HANG, "create volume `",
	  false, false, false },
	/* a run makes no transfer container (its one archive goes into the
	 * job's container): volume put's is the one to interrupt */
	{ "transfer create", C_PUT, "POST", "/containers/create", FAKE_FAULT_HANG,
	  "create container `(unnamed)`", false, false, false },
	{ "job create", C_BIND, "POST", "/containers/create", FAKE_FAULT_HANG,
	  "create container `jobcell-s-j`", false, false, false },
	{ "inputs", C_RUN, "PUT", "/containers/jobcell-s-j/archive", FAKE_FAULT_HANG,
	  "write files into container `jobcell-s-j`", true, true, false },
	{ "start", C_RUN, "POST", "/containers/*/start", FAKE_FAULT_HANG,
	  "start container `jobcell-s-j`", true, true, false },
	{ "attach", C_STDIN, "POST", "/containers/*/attach", FAKE_FAULT_HANG,
	  "attach stdin of `jobcell-s-j`", true, false, false },
	{ "outputs", C_RUN, "GET", "/containers/*/archive", FAKE_FAULT_SLOW,
	  "output of job `j` into `out`: read files from container `jobcell-s-j`", true, true, true },
	{ "volume put", C_PUT, "PUT", "/containers/*/archive", FAKE_FAULT_HANG,
	  "fill volume `tenant-t-run-r-1700000000000-0badcafe` through a transfer container: "
	  "write files into container",
	  true, false, false },
	{ "volume get", C_GET, "GET", "/containers/*/archive", FAKE_FAULT_SLOW,
	  "read files from container", true, false, false },
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

struct halt_cell {
	int status;
	long ms; /* from the signal (or the parent's death) to jobcell's exit */
	char line[240];
	bool ok;
	char why[240];
};
static struct halt_cell halt_cells[NPHASES][NHOWS];

/* Requests so far that match `method` and the fnmatch `pattern`. */
static size_t count_matching(struct fake_engine *fe, const char *method, const char *pattern)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_engine_request_count(fe); i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		n += !strcmp(r->method, method) && !fnmatch(pattern, r->path, 0);
	}
	return n;
}

/* A volume of site s, as `volume create` would leave it, for put and get. */
#define OWN_VOLUME "tenant-t-run-r-1700000000000-0badcafe"

/* Run jobcell with `argv` (after -c INI); once the phase's request has
 * arrived and is under way, interrupt it `how`.  Returns the exit status,
 * or -1 when it did not end within CELL_LIMIT_MS; *ms is the time from the
 * interruption to the exit.  stdout goes to `out`, stderr to f->err. */
static int run_interrupted(struct fx *f, const struct phase *ph, enum how how, const char **args,
			   char *out, size_t outcap, long *ms)
{
	const char *argv[32] = { jobcell_bin(), "-c", f->ini };
	int n = 3, e, o, status = 0, pfd[2];
	long deadline = now_ms() + CELL_LIMIT_MS, t_halt = 0;
	pid_t parent, pid = -1, w = 0;

	for (const char **a = args; *a && n < 31; a++)
		argv[n++] = *a;
	argv[n] = NULL;
	e = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	o = open(f->dir, O_TMPFILE | O_RDWR, 0600);
	assert_true(e >= 0 && o >= 0);
	assert_int_equal(pipe(pfd), 0);
	/* jobcell's parent is a process of its own, which passes jobcell's
	 * status on, and which can die: jobcell is then this test's (a
	 * subreaper), which reaps it */
	parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		pid_t c = fork();
		if (c == 0) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0);
			dup2(o, 1);
			dup2(e, 2);
			dup2(o, 3); /* --status-fd 3: the record beside the job's output */
			unsetenv("DOCKER_HOST");
			setenv("JOBCELL_CONFIG_DIR", f->dir, 1);
			execv(jobcell_bin(), (char **)argv);
			_exit(99);
		}
		if (c < 0 || write(pfd[1], &c, sizeof(c)) != sizeof(c))
			_exit(98);
		if (waitpid(c, &status, 0) != c)
			_exit(97);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid));
	close(pfd[0]);
	while (now_ms() < deadline && !count_matching(f->fe, ph->method, ph->path) &&
	       (w = waitpid(parent, &status, WNOHANG)) == 0)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (w == 0) {
		/* under way: the hang is waiting, the trickle flowing */
		nanosleep(&(struct timespec){ 0, 300 * 1000 * 1000 }, NULL);
		t_halt = now_ms();
		if (hows[how].sig) {
			kill(pid, hows[how].sig);
		} else {
			kill(parent, SIGKILL);
			waitpid(parent, NULL, 0);
			parent = pid; /* now this process's child */
		}
		while ((w = waitpid(parent, &status, WNOHANG)) == 0 && now_ms() < deadline)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	*ms = t_halt ? now_ms() - t_halt : -1;
	if (w == 0) {
		kill(pid, SIGKILL);
		kill(parent, SIGKILL);
		waitpid(parent, &status, 0);
		if (parent != pid)
			waitpid(pid, NULL, 0);
		status = -1;
	} else {
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	slurp(e, f->err, sizeof(f->err));
	slurp(o, out, outcap);
	close(e);
	close(o);
	return status;
}

static void run_halt_cell(size_t pi, size_t hi)
{
	const struct phase *ph = &phases[pi];
	struct halt_cell *cell = &halt_cells[pi][hi];
	static const char *run_args[] = { "--status-fd", "3",   "run",  "j",    "--input",
					  "in.txt",      "--output", "out", "--",   "exit",
					  "0",           NULL };
	static const char *bind_args[] = { "--status-fd", "3", "run", "j", "--", "exit", "0", NULL };
	static const char *stdin_args[] = { "--status-fd", "3", "run", "j", "-i", "--", "cat",
					    NULL };
	static const char *put_args[] = { "volume", "put", OWN_VOLUME, "in.txt", NULL };
	static const char *get_args[] = { "volume", "get", OWN_VOLUME, "--to", "got", NULL };
	char text[2048], out[4096], jobdir[256];
	struct stat st;
	struct fx f;
	size_t nlines;

	fx_open(&f, ph->cmd == C_BIND || ph->cmd == C_STDIN ? S_BIND : S_VOLUME);
	/* the cells' own engine timeout: long, so that only the interruption
	 * can end them early */
	snprintf(text, sizeof(text), "sed -i 's/^timeout = 1s$/timeout = %s/' '%s'",
		 HALT_ENGINE_TIMEOUT, f.ini);
	assert_int_equal(system(text), 0);
	if (ph->cmd == C_PUT || ph->cmd == C_GET) {
		fake_engine_add_volume(f.fe, OWN_VOLUME,
				       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s\","
				       "\"jobcell.keep\":\"true\"}");
		f.nsite = fake_engine_volume_count(f.fe);
		if (ph->cmd == C_GET) /* what the volume holds, as the job left it */
			fake_engine_fail(f.fe, "GET", "/containers/*/archive", FAKE_FAULT_SLOW, 0,
					 NULL, 1);
	}
	if (ph->cmd != C_GET)
		fake_engine_fail(f.fe, ph->method, ph->path, ph->fault, 0, NULL, 1);
	cell->status = run_interrupted(&f, ph, (enum how)hi,
				       ph->cmd == C_RUN    ? run_args
				       : ph->cmd == C_BIND ? bind_args
				       : ph->cmd == C_STDIN ? stdin_args
				       : ph->cmd == C_PUT  ? put_args
							   : get_args,
				       out, sizeof(out), &cell->ms);
	nlines = (size_t)problem_lines(&f, cell->line, sizeof(cell->line));
	fake_engine_clear_faults(f.fe);

	if (cell->status < 0)
		snprintf(cell->why, sizeof(cell->why), "hung: killed after %d ms", CELL_LIMIT_MS);
	else if (cell->ms < 0)
		snprintf(cell->why, sizeof(cell->why), "ended (%d) before the request came",
			 cell->status);
	else if (cell->ms > HALT_BOUND_MS)
		snprintf(cell->why, sizeof(cell->why), "ended %ld ms after it, want <= %d ms",
			 cell->ms, HALT_BOUND_MS);
	else if (cell->status != 125)
		snprintf(cell->why, sizeof(cell->why), "status %d, want 125", cell->status);
	else if (nlines != 1 || !strstr(cell->line, ph->step) || !strstr(cell->line, hows[hi].why))
		snprintf(cell->why, sizeof(cell->why),
			 "%zu problem lines, want one with `%s` and `%s`", nlines, ph->step,
			 hows[hi].why);
	else if ((ph->cmd == C_RUN || ph->cmd == C_BIND || ph->cmd == C_STDIN) &&
		 !strstr(out, "\"exit_code\":125"))
		snprintf(cell->why, sizeof(cell->why),
			 "no --json record with exit_code 125: %.100s", out);
	else if (ph->exited && !strstr(out, "\"job_status\":0"))
		snprintf(cell->why, sizeof(cell->why),
			 "the job's status is not in the record: %.100s", out);
	else if (ph->rm_container && !fake_engine_count(f.fe, "DELETE", "/containers/"))
		snprintf(cell->why, sizeof(cell->why), "no container was removed");
	else if (ph->rm_volume && !fake_engine_count(f.fe, "DELETE", "/volumes/"))
		snprintf(cell->why, sizeof(cell->why), "the volume was not removed");
	else if (fake_engine_container_count(f.fe) || fake_engine_volume_count(f.fe) != f.nsite)
		snprintf(cell->why, sizeof(cell->why), "left %zu containers, %zu volumes",
			 fake_engine_container_count(f.fe),
			 fake_engine_volume_count(f.fe) - f.nsite);
	else if (ph->cmd == C_BIND &&
		 (snprintf(jobdir, sizeof(jobdir), "%s/j", f.ws), stat(jobdir, &st) == 0))
		snprintf(cell->why, sizeof(cell->why), "the job directory it made is left");
	cell->ok = !cell->why[0];
	if (!cell->ok)
		fprintf(stderr, "interrupt %s × %s: %s\nstderr: %s", ph->name, hows[hi].name,
			cell->why, f.err);
	fx_close(&f);
}

static void test_halt_row(void **state)
{
	size_t pi = (size_t)(uintptr_t)*state;
	const char *only = getenv("FAULTS_ONLY");
	int bad = 0;

	if (only && strcmp(only, phases[pi].name) != 0)
		skip();
	for (size_t hi = 0; hi < NHOWS; hi++) {
		run_halt_cell(pi, hi);
		bad += !halt_cells[pi][hi].ok;
	}
	if (bad)
		fail_msg("interrupt during %s: %d of %zu cells failed", phases[pi].name, bad,
			 NHOWS);
}

static int print_halt_table(void **state)
{
	size_t n = 0, ok = 0;
	(void)state;

	printf("\n%-16s %-8s %4s %6s %-4s %s\n", "phase", "by", "exit", "ms", "ok", "error line");
	for (size_t pi = 0; pi < NPHASES; pi++)
		for (size_t hi = 0; hi < NHOWS; hi++) {
			const struct halt_cell *c = &halt_cells[pi][hi];
			if (!c->status && !c->ms)
				continue; /* not run */
			n++;
			ok += c->ok;
			printf("%-16s %-8s %4d %6ld %-4s %.100s\n", phases[pi].name, hows[hi].name,
			       c->status, c->ms, c->ok ? "ok" : "FAIL",
			       c->line[0] ? c->line : "(none)");
		}
	/* the TLS pass runs only some phases: the count says what ran */
	printf("interrupt matrix: %zu of %zu cells passed (of %zu phases x %zu ways)\n", ok, n,
	       NPHASES, NHOWS);
	return 0;
}

/* The table: one line per cell with what was seen. */
static int print_table(void **state)
{
	size_t n = 0, ok = 0, left = 0;
	(void)state;

	printf("\n%-14s %-9s %4s %6s %-4s %-8s %s\n", "call", "fault", "exit", "ms", "ok",
	       "leftover", "error line");
	for (size_t ci = 0; ci < NCALLS; ci++) {
		for (size_t fi = 0; fi < NFAULTS; fi++) {
			const struct cell *c = &cells[ci][fi];
			char lo[16] = "-";
			if (!c->ms)
				continue; /* not run */
			n++;
			ok += c->ok;
			if (c->left_containers || c->left_volumes) {
				left++;
				snprintf(lo, sizeof(lo), "%zuc%zuv>gc", c->left_containers,
					 c->left_volumes);
			}
			printf("%-14s %-9s %4d %6ld %-4s %-8s %.90s\n", calls[ci].name,
			       faults[fi].name, c->status, c->ms, c->ok ? "ok" : "FAIL", lo,
			       c->line[0] ? c->line : "(none)");
		}
	}
	printf("fault matrix: %zu of %zu cells passed (%zu calls x %zu faults); %zu left "
	       "something that gc removed\n",
	       ok, n, NCALLS, NFAULTS, left);
	return 0;
}

/* ---- the engine lock: a step of jobcell's own before the create ---- */

enum lock_case {
	LK_FREE,     /* nothing in the way */
	LK_OPEN_DIR, /* lock_dir exists, mode 0755 */
	LK_HELD,     /* another process holds the site's lock */
};

/* Run the volume job on a fake that answers the ping as Podman (`libpod`)
 * or as Docker, with [engine] lock_dir = DIR/locks (into `locks`).  With
 * LK_HELD, *holder is the process that holds the lock. */
static int lock_run(struct fx *f, bool libpod, enum lock_case lc, char *locks, size_t cap,
		    pid_t *holder)
{
	char text[256], ep[300];
	FILE *o;

	fx_open(f, S_VOLUME);
	fake_engine_set_libpod(f->fe, libpod);
	snprintf(locks, cap, "%s/locks", f->dir);
	snprintf(text, sizeof(text), "[engine]\nlock_dir = %s\n", locks);
	o = fopen(f->ini, "a");
	assert_non_null(o);
	fputs(text, o);
	fclose(o);
	if (lc == LK_OPEN_DIR) {
		assert_int_equal(mkdir(locks, 0755), 0);
		assert_int_equal(chmod(locks, 0755), 0);
	}
	if (lc == LK_HELD) {
		int pipefd[2];
		char c;
		snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
		assert_int_equal(mkdir(locks, 0700), 0);
		assert_int_equal(pipe(pipefd), 0);
		*holder = fork();
		assert_true(*holder >= 0);
		if (*holder == 0) {
			char *path = jc_enginelock_path(locks, "s", ep);
			int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
			if (fd < 0 || flock(fd, LOCK_EX) < 0 || dprintf(fd, "%ld 0\n", (long)getpid()) < 0)
				_exit(1);
			(void)!write(pipefd[1], "x", 1);
			for (;;)
				pause();
		}
		close(pipefd[1]);
		assert_int_equal(read(pipefd[0], &c, 1), 1);
		close(pipefd[0]);
	}
	return run(f, "run", "j", "--input", "in.txt", "--output", "out", "--", "exit", "0", NULL);
}

/* Nothing of the job is left on the engine: no container, no volume. */
static void nothing_left(struct fx *f)
{
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	assert_int_equal(fake_engine_volume_count(f->fe), f->nsite);
}

/* Podman: the create goes under the site's lock, in a directory made 0700,
 * free again afterwards.  Docker: no lock, no directory. */
static void test_lock_podman_only(void **state)
{
	struct fx f;
	char locks[128], line[200], cmd[600];
	struct stat st;

	(void)state;
	assert_int_equal(lock_run(&f, true, LK_FREE, locks, sizeof(locks), NULL), 0);
	assert_int_equal(problem_lines(&f, line, sizeof(line)), 0);
	assert_int_equal(stat(locks, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(cmd, sizeof(cmd),
		 "[ \"$(ls '%s')\" = \"$(ls '%s' | grep -x 's-[0-9a-f]\\{16\\}\\.lock')\" ] && "
		 "flock -n '%s'/s-*.lock true",
		 locks, locks, locks);
	assert_int_equal(system(cmd), 0);
	nothing_left(&f);
	fx_close(&f);

	assert_int_equal(lock_run(&f, false, LK_FREE, locks, sizeof(locks), NULL), 0);
	assert_int_equal(problem_lines(&f, line, sizeof(line)), 0);
	assert_int_equal(stat(locks, &st), -1);
	nothing_left(&f);
	fx_close(&f);
}

/* A lock directory others may enter: 125, one error line naming the key,
 * and the job's volume, made before the create, removed. */
static void test_lock_dir_refused(void **state)
{
	struct fx f;
	char locks[128], line[300], want[512];

	(void)state;
	assert_int_equal(lock_run(&f, true, LK_OPEN_DIR, locks, sizeof(locks), NULL), 125);
	assert_int_equal(problem_lines(&f, line, sizeof(line)), 1);
	snprintf(want, sizeof(want),
		 "jobcell: error: create container `jobcell-s-j`: [engine] lock_dir `%s`: mode "
		 "0755: others could hold its locks (want 0700)",
		 locks);
	assert_string_equal(line, want);
	nothing_left(&f);
	fx_close(&f);
}

/* A holder that keeps the lock (a stopped jobcell): after [engine] timeout
 * (1 s here) without a change, 125 and one error line naming the lock and
 * the holder's pid; nothing left. */
static void test_lock_held(void **state)
{
	struct fx f;
	char locks[128], line[300], want[64];
	pid_t holder = 0;

	(void)state;
	assert_int_equal(lock_run(&f, true, LK_HELD, locks, sizeof(locks), &holder), 125);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	assert_int_equal(problem_lines(&f, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "jobcell: error: create container `jobcell-s-j`: engine lock `"));
	snprintf(want, sizeof(want), "` held by pid %ld for 1s: ", (long)holder);
	assert_non_null(strstr(line, want));
	nothing_left(&f);
	fx_close(&f);
}

/* ---- over TLS ----
 * A remote engine means volume mode (bind mode on tcp:// is refused), so
 * the calls of a volume-mode run, each failing in the ways of the
 * connection and of the answer's bytes.  Each cell runs twice, on a unix
 * socket and over TLS, and the two must agree: the status, the number of
 * problem lines and the step they name (the text before the first
 * backquote: the rest names the endpoint), what is left before gc; none
 * hangs, and gc leaves nothing. */
static const struct call tls_calls[] = {
	{ "ping", "GET", "/_ping", S_VOLUME },
	{ "image inspect", "GET", "/images/*/json", S_VOLUME },
	{ "volume create", "POST", "/volumes/create", S_VOLUME },
	{ "create", "POST", "/containers/create", S_VOLUME },
	{ "archive put", "PUT", "/containers/*/archive", S_VOLUME },
	{ "start", "POST", "/containers/*/start", S_VOLUME },
	{ "wait", "POST", "/containers/*/wait", S_VOLUME },
	{ "logs", "GET", "/containers/*/logs", S_VOLUME },
	{ "stop", "POST", "/containers/*/stop", S_VTIMEOUT },
	{ "inspect", "GET", "/containers/*/json", S_VOLUME },
	{ "archive get", "GET", "/containers/*/archive", S_VOLUME },
	{ "remove", "DELETE", "/containers/*", S_VOLUME },
	{ "volume remove", "DELETE", "/volumes/*", S_VOLUME },
};
#define NTLSCALLS (sizeof(tls_calls) / sizeof(tls_calls[0]))
static const struct fault tls_faults[] = {
	{ "drop", FAKE_FAULT_DROP, 0 },
	{ "hang", FAKE_FAULT_HANG, 0 },
	{ "malformed", FAKE_FAULT_MALFORMED, 0 },
	{ "truncated", FAKE_FAULT_TRUNCATED, 0 },
};
#define NTLSFAULTS (sizeof(tls_faults) / sizeof(tls_faults[0]))
static struct cell tls_unix[NTLSCALLS][NTLSFAULTS], tls_over[NTLSCALLS][NTLSFAULTS];

/* Under tests/no-openat2 (make unit's second pass): the transport opens no
 * file beneath a directory, so the matrix and the interruptions over TLS,
 * two minutes of the run, teach nothing new there and run in the first
 * pass only; the clean run and the refused clients (which read the key
 * files) run in both. */
static bool transport_once(void)
{
	const char *v = getenv("JC_TEST_NO_OPENAT2");
	return v && *v;
}

/* The step of a problem line: the text before its first backquote. */
static size_t step_len(const char *line)
{
	const char *q = strchr(line, '`');
	return q ? (size_t)(q - line) : strlen(line);
}

static void test_tls_row(void **state)
{
	size_t ci = (size_t)(uintptr_t)*state;
	const struct call *c = &tls_calls[ci];
	const char *only = getenv("FAULTS_ONLY");
	int bad = 0;

	if ((only && strcmp(only, c->name) != 0) || transport_once())
		skip();
	for (size_t fi = 0; fi < NTLSFAULTS; fi++) {
		struct cell *u = &tls_unix[ci][fi], *t = &tls_over[ci][fi];

		tls.on = false;
		exercise(c, &tls_faults[fi], u);
		tls.on = true;
		exercise(c, &tls_faults[fi], t);
		tls.on = false;
		if (t->why[0])
			;
		else if (u->why[0])
			snprintf(t->why, sizeof(t->why), "on the unix socket: %s", u->why);
		else if (u->nlines > 1)
			snprintf(t->why, sizeof(t->why), "on the unix socket: %d problem lines",
				 u->nlines);
		else if (t->status != u->status)
			snprintf(t->why, sizeof(t->why), "status %d, on the unix socket %d", t->status,
				 u->status);
		else if (t->nlines != u->nlines || step_len(t->line) != step_len(u->line) ||
			 strncmp(t->line, u->line, step_len(u->line)) != 0)
			snprintf(t->why, sizeof(t->why), "%d problem lines, on the unix socket: %.120s",
				 t->nlines, u->line[0] ? u->line : "(none)");
		else if (!t->left_containers != !u->left_containers ||
			 !t->left_volumes != !u->left_volumes)
			snprintf(t->why, sizeof(t->why),
				 "left %zu containers, %zu volumes; on the unix socket %zu, %zu",
				 t->left_containers, t->left_volumes, u->left_containers,
				 u->left_volumes);
		t->ok = !t->why[0];
		if (!t->ok) {
			fprintf(stderr, "TLS cell %s × %s: %s\nstderr: %s", c->name,
				tls_faults[fi].name, t->why, t->err);
			bad++;
		}
	}
	if (bad)
		fail_msg("over TLS, %s: %d of %zu cells failed", c->name, bad, NTLSFAULTS);
}

static int print_tls_table(void **state)
{
	size_t n = 0, ok = 0;
	(void)state;

	printf("\n%-14s %-9s %4s %6s %-4s %s\n", "call", "fault", "exit", "ms", "ok",
	       "error line over TLS");
	for (size_t ci = 0; ci < NTLSCALLS; ci++)
		for (size_t fi = 0; fi < NTLSFAULTS; fi++) {
			const struct cell *c = &tls_over[ci][fi];
			if (!c->ms)
				continue; /* not run */
			n++;
			ok += c->ok;
			printf("%-14s %-9s %4d %6ld %-4s %.100s\n", tls_calls[ci].name,
			       tls_faults[fi].name, c->status, c->ms, c->ok ? "ok" : "FAIL",
			       c->line[0] ? c->line : "(none)");
		}
	printf("fault matrix over TLS: %zu of %zu cells agree with the unix socket (%zu calls x "
	       "%zu faults)\n",
	       ok, n, NTLSCALLS, NTLSFAULTS);
	return 0;
}

/* Over TLS with nothing failing: the run and its output, no problem line. */
static void test_tls_clean(void **state)
{
	struct fx f;
	char line[300], p[256];
	struct stat st;

	(void)state;
	tls.on = true;
	fx_open(&f, S_VOLUME);
	tls.on = false;
	assert_int_equal(run(&f, "run", "j", "--input", "in.txt", "--output", "out", "--", "exit",
			     "0", NULL),
			 0);
	assert_int_equal(problem_lines(&f, line, sizeof(line)), 0);
	assert_non_null(fake_engine_find(f.fe, "PUT", "/containers/"));
	snprintf(p, sizeof(p), "%s/xfer/out/out.txt", f.dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 7);
	nothing_left(&f);
	fx_close(&f);
}

/* OpenSSL's configuration is read for a TLS engine (a plain one skips it:
 * http.c): one that lets the client accept only RSA signatures, from an
 * engine whose key is ECDSA (tests/tls-certs.sh), makes the run fail
 * before any request, where the file left unread would let it pass.  (Not
 * the protocol versions: libcurl sets its own over the file's.) */
static void test_tls_openssl_conf_read(void **state)
{
	struct fx f;
	char conf[128], line[400];
	FILE *c;

	(void)state;
	tls.on = true;
	fx_open(&f, S_VOLUME);
	tls.on = false;
	snprintf(conf, sizeof(conf), "%s/openssl.cnf", f.dir);
	assert_non_null(c = fopen(conf, "w"));
	fputs("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
	      "[sys]\nSignatureAlgorithms = RSA+SHA256:RSA-PSS+SHA256\n",
	      c);
	assert_int_equal(fclose(c), 0);
	assert_int_equal(setenv("OPENSSL_CONF", conf, 1), 0);
	int status = run(&f, "run", "j", "--", "exit", "0", NULL);
	unsetenv("OPENSSL_CONF");
	assert_int_equal(status, 125);
	/* refused in the handshake, not before it (the client's key read) */
	if (problem_lines(&f, line, sizeof(line)) != 1 || strstr(line, "TLS file"))
		fail_msg("want one error line about the handshake: %s", f.err);
	assert_int_equal(fake_engine_request_count(f.fe), 0);
	nothing_left(&f);
	fx_close(&f);
}

/* A client the engine does not trust (`client`: another CA's certificate;
 * NULL: none): 125, one error line naming the endpoint and the client
 * certificate, and the engine saw no request. */
static void tls_refused(const char *client)
{
	struct fx f;
	char line[400], want[64];

	tls.on = true;
	tls.client = client;
	fx_open(&f, S_VOLUME);
	tls.on = false;
	tls.client = "client";
	assert_int_equal(run(&f, "run", "j", "--input", "in.txt", "--output", "out", "--", "exit",
			     "0", NULL),
			 125);
	if (problem_lines(&f, line, sizeof(line)) != 1)
		fail_msg("want one error line: %s", f.err);
	snprintf(want, sizeof(want), "tcp://127.0.0.1:%d", fake_engine_port(f.fe));
	if (!strstr(line, want) || !strstr(line, "client certificate"))
		fail_msg("want `%s` and `client certificate` in: %s", want, line);
	assert_int_equal(fake_engine_request_count(f.fe), 0);
	nothing_left(&f);
	fx_close(&f);
}

static void test_tls_client_other_ca(void **state)
{
	(void)state;
	tls_refused("client2");
}

static void test_tls_client_none(void **state)
{
	(void)state;
	tls_refused(NULL);
}

/* The interruptions of a transfer that hangs or trickles, over TLS. */
static const char *const tls_phases[] = { "inputs", "outputs", "volume get" };
#define NTLSPHASES (sizeof(tls_phases) / sizeof(tls_phases[0]))

static int tls_halt_setup(void **state)
{
	(void)state;
	memset(halt_cells, 0, sizeof(halt_cells)); /* the plain table is printed */
	tls.on = true;
	return 0;
}

static int tls_halt_teardown(void **state)
{
	tls.on = false;
	printf("\nover TLS:");
	return print_halt_table(state);
}

/* Certificates for the TLS groups, made once: a CA, the engine's
 * (localhost, 127.0.0.1), a client's; another CA and its client.  Made at
 * test time rather than kept as fixtures: nothing expires in the tree, no
 * key is kept in it, and the steps are those of docs/remote.md. */
static char *read_pem(const char *name)
{
	char p[128], *buf = NULL;
	size_t cap = 0;
	FILE *f, *m;

	snprintf(p, sizeof(p), "%s/%s", tls.dir, name);
	f = fopen(p, "r");
	m = open_memstream(&buf, &cap);
	if (f && m) {
		int ch;
		while ((ch = getc(f)) != EOF)
			putc(ch, m);
	}
	if (m)
		fclose(m);
	if (f)
		fclose(f);
	else {
		free(buf);
		buf = NULL;
	}
	return buf;
}

static void tls_prepare(void)
{
	char cmd[600];

	tls.client = "client";
	strcpy(tls.dir, "/tmp/jobcell-faults-tls.XXXXXX");
	if (!mkdtemp(tls.dir)) {
		tls.dir[0] = '\0';
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "c=tests/tls-certs.sh d='%s' && $c ca $d ca && "
		 "$c server $d ca server DNS:localhost,IP:127.0.0.1 && $c client $d ca client && "
		 "$c ca $d ca2 && $c client $d ca2 client2",
		 tls.dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "tests/tls-certs.sh failed: the TLS tests will fail\n");
		return;
	}
	tls.ca = read_pem("ca.pem");
	tls.cert = read_pem("server.pem");
	tls.key = read_pem("server-key.pem");
	tls.ready = tls.ca && tls.cert && tls.key;
}

static void tls_finish(void)
{
	char cmd[128];

	free(tls.ca);
	free(tls.cert);
	free(tls.key);
	if (tls.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tls.dir);
		(void)!system(cmd);
	}
}

int main(void)
{
	struct CMUnitTest tests[NCALLS + 3], halts[NPHASES], tls_tests[NTLSCALLS + 4],
	    tls_halts[NTLSPHASES];
	int r;

	for (size_t i = 0; i < NCALLS; i++) {
		tests[i] = (struct CMUnitTest){ calls[i].name, test_row, NULL, NULL,
						(void *)(uintptr_t)i };
	}
	tests[NCALLS] = (struct CMUnitTest){ "engine lock: Podman only", test_lock_podman_only,
					     NULL, NULL, NULL };
	tests[NCALLS + 1] = (struct CMUnitTest){ "engine lock: lock_dir refused",
						 test_lock_dir_refused, NULL, NULL, NULL };
	tests[NCALLS + 2] = (struct CMUnitTest){ "engine lock: held", test_lock_held, NULL, NULL,
						 NULL };
	for (size_t i = 0; i < NPHASES; i++)
		halts[i] = (struct CMUnitTest){ phases[i].name, test_halt_row, NULL, NULL,
						(void *)(uintptr_t)i };
	tls_tests[0] = (struct CMUnitTest){ "TLS: a clean run", test_tls_clean, NULL, NULL, NULL };
	tls_tests[1] = (struct CMUnitTest){ "TLS: another CA's client certificate refused",
					    test_tls_client_other_ca, NULL, NULL, NULL };
	tls_tests[2] = (struct CMUnitTest){ "TLS: no client certificate refused",
					    test_tls_client_none, NULL, NULL, NULL };
	tls_tests[3] = (struct CMUnitTest){ "TLS: OpenSSL's configuration read",
					    test_tls_openssl_conf_read, NULL, NULL, NULL };
	for (size_t i = 0; i < NTLSCALLS; i++)
		tls_tests[i + 4] = (struct CMUnitTest){ tls_calls[i].name, test_tls_row, NULL, NULL,
							(void *)(uintptr_t)i };
	for (size_t i = 0; i < NTLSPHASES; i++) {
		size_t pi = 0;
		while (pi < NPHASES && strcmp(phases[pi].name, tls_phases[i]) != 0)
			pi++;
		if (pi == NPHASES)
			return 1;
		tls_halts[i] = (struct CMUnitTest){ phases[pi].name, test_halt_row, NULL, NULL,
						    (void *)(uintptr_t)pi };
	}
	/* a jobcell whose parent died is given to this process, to be reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 1;
	tls_prepare();
	r = _cmocka_run_group_tests("faults", tests, NCALLS + 3, NULL, print_table);
	r |= _cmocka_run_group_tests("interrupts", halts, NPHASES, NULL, print_halt_table);
	r |= _cmocka_run_group_tests("faults over TLS", tls_tests, NTLSCALLS + 4, NULL,
				     print_tls_table);
	if (transport_once())
		printf("interrupts over TLS: run in the first pass only (without no-openat2)\n");
	else
		r |= _cmocka_run_group_tests("interrupts over TLS", tls_halts, NTLSPHASES,
					     tls_halt_setup, tls_halt_teardown);
	tls_finish();
	return r;
}
