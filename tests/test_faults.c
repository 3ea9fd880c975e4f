/* The fault matrix: every engine call in a job's life, each failing in
 * every way an engine fails, against the built binary.  Each cell runs one
 * job against a fresh fake engine on which that call always fails, and
 * asserts the exit status, exactly one error or warning line naming the
 * step, that no case hangs, and that nothing is left on the engine: where
 * the fault itself makes removal impossible, the leftover carries jobcell's
 * labels and a later `jobcell gc`, with the engine working again, removes
 * it.  The table of cells and the count are printed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "fake_engine.h"

/* The binary under test: $JOBCELL_BIN (the Makefile's, of the build
 * directory being tested), else build/jobcell from the top of the tree. */
static const char *jobcell_bin(void)
{
	const char *p = getenv("JOBCELL_BIN");
	return p && *p ? p : "build/jobcell";
}
/* A cell that runs longer than this hangs: the child is killed. */
#define CELL_LIMIT_MS 30000

enum scenario {
	S_BIND,    /* bind mode: run j -- exit 0 */
	S_TIMEOUT, /* bind mode: run j --timeout 1s -- sleep 30 (the stop call) */
	S_VOLUME,  /* volume mode: run j --input in --output out -- exit 0 */
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
};

static struct cell cells[NCALLS][NFAULTS];

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

/* A fresh engine and site for one cell.  The engine answers within 1 s or
 * is taken as hung. */
static void fx_open(struct fx *f, enum scenario s)
{
	char text[1024], p[256];

	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/jobcell-faults.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(f->ini, sizeof(f->ini), "%s/site.ini", f->dir);
	snprintf(f->ws, sizeof(f->ws), "%s/ws", f->dir);
	f->fe = fake_engine_start("1.41");
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "");
	if (s == S_VOLUME) {
		mkdir_in(f->dir, "xfer");
		snprintf(p, sizeof(p), "%s/xfer/in.txt", f->dir);
		write_file(p, "input\n");
		fake_engine_add_volume(f->fe, "s_startup", NULL);
		fake_engine_add_volume(f->fe, "s_local", NULL);
		set_job_output(f->fe);
		snprintf(text, sizeof(text),
			 "[engine]\nendpoint = unix://%s\ntimeout = 1s\n[site]\nname = s\n"
			 "[workspace]\nmode = volume\n[job]\nimage = img\nuser = 1234:5678\n"
			 "stop_grace = 1s\ntimeout = 1h\n[volume]\nstartup_volume = s_startup\n"
			 "local_volume = s_local\ntransfer_dir = %s/xfer\ntenant = t\nrun = r\n",
			 fake_engine_socket(f->fe), f->dir);
	} else {
		mkdir_in(f->dir, "ws");
		mkdir_in(f->dir, "ws/startup");
		mkdir_in(f->dir, "ws/local");
		snprintf(text, sizeof(text),
			 "[engine]\nendpoint = unix://%s\ntimeout = 1s\n[site]\nname = s\n"
			 "[workspace]\npath = %s\n[job]\nimage = img\n"
			 "allow_root = true\nstop_grace = 1s\ntimeout = 1h\n",
			 fake_engine_socket(f->fe), f->ws);
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
		dup2(null, 0);
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

static void run_cell(size_t ci, size_t fi)
{
	const struct call *c = &calls[ci];
	const struct fault *ft = &faults[fi];
	const struct expect *x = &expected[ci][fi];
	struct cell *cell = &cells[ci][fi];
	struct fx f;
	long t0;

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
	}
	cell->ms = now_ms() - t0;
	if (getenv("FAULTS_TRACE"))
		for (size_t i = 0; i < fake_engine_request_count(f.fe); i++) {
			const struct fake_request *r = fake_engine_request(f.fe, i);
			fprintf(stderr, "  %s %s?%s\n", r->method, r->path, r->query);
		}
	cell->hung = cell->status < 0;
	cell->nlines = problem_lines(&f, cell->line, sizeof(cell->line));

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

	cell->ok = !cell->why[0];
	if (cell->hung)
		snprintf(cell->why, sizeof(cell->why), "hung: killed after %d ms", CELL_LIMIT_MS);
	else if (cell->status != x->status)
		snprintf(cell->why, sizeof(cell->why), "status %d, want %d", cell->status,
			 x->status);
	else if (x->line && (cell->nlines != 1 || !strstr(cell->line, x->line)))
		snprintf(cell->why, sizeof(cell->why), "%d problem lines, want one with `%s`",
			 cell->nlines, x->line);
	else if (!x->line && cell->nlines)
		snprintf(cell->why, sizeof(cell->why), "%d problem lines, want none", cell->nlines);
	else if (cell->gc_containers || cell->gc_volumes)
		snprintf(cell->why, sizeof(cell->why), "left %zu containers, %zu volumes after gc",
			 cell->gc_containers, cell->gc_volumes);
	else if (!x->left && (cell->left_containers || cell->left_volumes))
		snprintf(cell->why, sizeof(cell->why),
			 "left %zu containers, %zu volumes without gc", cell->left_containers,
			 cell->left_volumes);
	cell->ok = !cell->why[0];
	if (!cell->ok)
		fprintf(stderr, "cell %s × %s: %s\nstderr: %s", c->name, ft->name, cell->why,
			f.err);
	fx_close(&f);
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

int main(void)
{
	struct CMUnitTest tests[NCALLS];

	for (size_t i = 0; i < NCALLS; i++) {
		tests[i] = (struct CMUnitTest){ calls[i].name, test_row, NULL, NULL,
						(void *)(uintptr_t)i };
	}
	return _cmocka_run_group_tests("faults", tests, NCALLS, NULL, print_table);
}
