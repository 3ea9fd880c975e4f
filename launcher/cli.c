/* The command line: arguments, printing and exit statuses.  It is the only
 * code that prints, exits or touches process state (signals, the
 * parent-death signal); every decision about a job is the library's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "cleanup.h"
#include "endpoint.h"
#include "backend.h"
#include "http.h"
#include "job.h"
#include "names.h"
#include "plan.h"
#include "units.h"
#include "volume.h"

/* The version of every --json record's layout, in its "schema" field:
 * raised when a field changes meaning or goes away, not when one is added. */
#define JSON_SCHEMA 1

struct ctx {
	const char *config_file;
	const char *site_name;
	bool json;
	FILE *records; /* where --json records go: stdout, or --status-fd's */
	pid_t parent;
	jc_site *site;
	int signal_fd;
	struct jc_strv problems; /* of a site that did not load */
};

static const char usage_text[] =
    "usage: jobcell [-c FILE | --site NAME] [--json] [--status-fd N] COMMAND [ARGS]\n"
    "  JOB is --job NAME (always, for a name a request supplies) or a first operand\n"
    "  run JOB [--image I] [--env K=V]... [--timeout D] [--set KEY=VALUE]... [-i]\n"
    "      [--entrypoint WORD] [--ready-fd N] [-- CMD...]\n"
    "      volume mode: [--tenant T] [--run R] [--input SRC[:DEST]]...\n"
    "                   [--output DIR] [--keep] [--mount-volume VOLUME:PATH]...\n"
    "  start JOB [--image I] [--entrypoint WORD] [--env K=V]... [--set KEY=VALUE]...\n"
    "      [-- CMD...]\n"
    "      volume mode: [--tenant T] [--run R] [--input SRC[:DEST]]... [--keep]\n"
    "                   [--mount-volume VOLUME:PATH]...\n"
    "  wait JOB [--timeout D]\n"
    "  stop JOB [--grace D]\n"
    "  logs JOB [--follow]\n"
    "  rm JOB\n"
    "  ps [--all]\n"
    "  plan JOB [--image I] [--entrypoint WORD] [--env K=V]... [--timeout D] [-- CMD...]\n"
    "  check\n"
    "  volume create [--tenant T] [--run R]\n"
    "  volume put VOLUME SRC[:DEST]...\n"
    "  volume get VOLUME [PATH...] --to DIR\n"
    "  volume ls | volume rm VOLUME...\n"
    "  gc [--older-than D] [--dry-run] [--others-gone]\n"
    "  version\n"
    "see jobcell(1)\n";

/* ---- printing ---- */

/* A --json record: an object that starts with its schema version. */
static cJSON *record(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddNumberToObject(o, "schema", JSON_SCHEMA)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Text for a --json field or a terminal: printable ASCII only. */
static cJSON *add_text(cJSON *o, const char *key, const char *s)
{
	cleanup_free char *p = jc_text_printable_str(s);

	return s ? cJSON_AddStringToObject(o, key, p ? p : "") : cJSON_AddNullToObject(o, key);
}

/* Print `j` on one line of the records' stream and free it.  A record that
 * could not be built is printed as null rather than not at all: a reader
 * waits for a line. */
static void emit(const struct ctx *c, cJSON *j)
{
	char *out = j ? cJSON_PrintUnformatted(j) : NULL;

	fprintf(c->records, "%s\n", out ? out : "null");
	free(out);
	cJSON_Delete(j);
	fflush(c->records);
}

static cJSON *error_object(const jc_error *err)
{
	cJSON *e = cJSON_CreateObject();
	const char *name = strerrorname_np(err->status);

	if (e) {
		cJSON_AddStringToObject(e, "kind", jc_error_kind_name(err->kind));
		add_text(e, "message", err->msg ? err->msg : "unknown error");
		cJSON_AddStringToObject(e, "errno", name ? name : "");
		cJSON_AddBoolToObject(e, "retry", err->retry);
	}
	return e;
}

/* One line on stderr; with --json also a record.  Returns the exit status
 * that goes with the error. */
static int fail(const struct ctx *c, const jc_error *err)
{
	cleanup_free char *line = jc_text_printable_str(err->msg ? err->msg : "unknown error");
	int status = jc_exit_status_of_error(err);

	fprintf(stderr, "jobcell: error: %s\n", line ? line : "out of memory");
	if (c && c->json) {
		cJSON *r = record();
		if (r) {
			cJSON_AddItemToObject(r, "error", error_object(err));
			cJSON_AddNumberToObject(r, "exit_code", status);
		}
		emit(c, r);
	}
	return status;
}


static int usage_error(const struct ctx *c, const char *fmt, ...) JC_FORMAT(2, 3);
static int usage_error(const struct ctx *c, const char *fmt, ...)
{
	jc_error err = { 0 };
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	jc_error_set(&err, JC_ERR_INPUT, EINVAL, "%s (see jobcell --help)",
		     msg ? msg : "bad usage");
	free(msg);
	r = fail(c, &err);
	jc_error_clear(&err);
	return r;
}

/* "jobcell: warning: ..." with `s` (text of a job or the engine) made
 * printable. */
static void warn(const char *s)
{
	cleanup_free char *p = jc_text_printable_str(s);

	fprintf(stderr, "jobcell: warning: %s\n", p ? p : "");
}

/* `run` and `logs` write the job's output on stdout: a record there could
 * be forged by the job, or glued to its last line. */
static int records_apart(const struct ctx *c, const char *cmd)
{
	if (c->json && c->records == stdout)
		return usage_error(c, "--json %s writes its record with --status-fd N only: the "
				      "job's output is on stdout",
				   cmd);
	return 0;
}

/* ---- set-up ---- */

static int load_site(struct ctx *c, jc_error *err)
{
	const struct jc_config *cfg;
	struct jc_endpoint ep;

	if (jc_site_load(NULL, c->config_file, c->site_name, &c->site, &c->problems, err) < 0)
		return -1;
	/* allowed, never quietly: endpoint.c's rule, which the load applied */
	cfg = jc_site_config(c->site);
	if (cfg->insecure_plaintext && jc_endpoint_parse(cfg, &ep, err) == 0) {
		if (ep.transport == JC_TRANSPORT_TCP)
			fprintf(stderr,
				"jobcell: warning: engine `%s` is reached in plaintext ([engine] "
				"insecure_plaintext): whoever can reach it is root on its host\n",
				ep.url);
		jc_endpoint_free(&ep);
	}
	jc_error_clear(err);
	return 0;
}

/* SIGTERM, SIGINT and SIGHUP arrive on a signalfd.  The parent's death is
 * seen by the library, which compares getppid() with the parent at start at
 * least once a second: PR_SET_PDEATHSIG is not used, because it fires when
 * the parent *thread* that forked jobcell exits (a server's worker thread
 * retired from a pool), not when the parent process does. */
static int setup_signals(struct ctx *c, bool watch_parent, jc_error *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "block signals: %s",
				    strerror(errno));
	c->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->signal_fd < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	if (watch_parent && getppid() != c->parent)
		return jc_error_set(err, JC_ERR_SYSTEM, ESRCH,
				    "parent process %d exited before the job started",
				    (int)c->parent);
	return 0;
}

/* Progress of a transfer on a terminal, once it passes a few MiB. */
struct progress {
	int64_t last_ms;
	bool shown;
};

#define PROGRESS_FROM (4u << 20)

static void progress_cb(void *ctx, const char *what, uint64_t bytes, uint64_t total, bool done)
{
	struct progress *p = ctx;
	int64_t now = jc_mono_ms();

	if (done) {
		if (p->shown)
			fputc('\n', stderr);
		p->shown = false;
		return;
	}
	if (bytes < PROGRESS_FROM || now - p->last_ms < 200 || !isatty(STDERR_FILENO))
		return;
	p->last_ms = now;
	p->shown = true;
	if (total)
		fprintf(stderr, "\rjobcell: %s %.1f / %.1f MiB (%3.0f%%)", what, bytes / 1048576.0,
			total / 1048576.0,
			bytes > total ? 100.0 : 100.0 * (double)bytes / (double)total);
	else
		fprintf(stderr, "\rjobcell: %s %.1f MiB", what, bytes / 1048576.0);
}

static void report_refused(const char *what, const struct jc_extract_report *rep)
{
	for (size_t i = 0; i < rep->reasons.n; i++) {
		cleanup_free char *line = jc_text_printable_str(rep->reasons.v[i]);
		fprintf(stderr, "jobcell: warning: %s: refused %s\n", what, line ? line : "");
	}
	if (rep->refused)
		fprintf(stderr, "jobcell: warning: %s: %zu member%s refused, %zu written\n", what,
			rep->refused, rep->refused == 1 ? "" : "s", rep->extracted);
}

/* ---- job options shared by run, start and plan ---- */

struct job_args {
	struct jc_job_request req;
	int64_t grace_ms;
	bool follow;
	bool all;
	struct jc_strv inputs; /* --input SRC[:DEST] */
	const char *output;    /* --output DIR, --to DIR */
	bool keep_set;
	int64_t older_than_ms;
	bool dry_run;
	bool others_gone;
	bool stdin; /* -i: the caller's stdin is the job's */
	bool opts_anywhere;      /* options may follow operands (volume commands) */
	const char *timeout_raw; /* --timeout as given: run/plan apply it to the config */
	struct jc_strv sets;     /* --set KEY=VALUE */
	const char *entrypoint;  /* --entrypoint WORD ("" clears the image's), or NULL */
	const char *ready_fd;    /* --ready-fd N as given, or NULL */
	struct jc_strv chained;  /* --mount-volume VOLUME:PATH */
};

static void job_args_free(struct job_args *a)
{
	jc_strv_free(&a->req.cmd);
	jc_strv_free(&a->req.env);
	jc_strv_free(&a->inputs);
	jc_strv_free(&a->sets);
	jc_strv_free(&a->chained);
	jc_strv_free(&a->req.passed_env);
}

enum {
	OPT_IMAGE = 1,
	OPT_ENV,
	OPT_TIMEOUT,
	OPT_GRACE,
	OPT_FOLLOW,
	OPT_ALL,
	OPT_TENANT,
	OPT_RUN,
	OPT_INPUT,
	OPT_OUTPUT,
	OPT_KEEP,
	OPT_TO,
	OPT_OLDER,
	OPT_DRY,
	OPT_SET,
	OPT_JOB,
	OPT_OTHERS_GONE,
	OPT_ENTRYPOINT,
	OPT_READY_FD,
	OPT_MOUNT_VOLUME,
	OPT_STDIN,
};

static const struct {
	const char *name;
	int id;
	bool arg;
} sub_opts[] = {
	{ "--image", OPT_IMAGE, true },     { "--env", OPT_ENV, true },
	{ "--timeout", OPT_TIMEOUT, true }, { "--grace", OPT_GRACE, true },
	{ "--follow", OPT_FOLLOW, false },  { "-f", OPT_FOLLOW, false },
	{ "--all", OPT_ALL, false },        { "--tenant", OPT_TENANT, true },
	{ "--run", OPT_RUN, true },         { "--input", OPT_INPUT, true },
	{ "--output", OPT_OUTPUT, true },   { "--keep", OPT_KEEP, false },
	{ "--to", OPT_TO, true },           { "--older-than", OPT_OLDER, true },
	{ "--dry-run", OPT_DRY, false },    { "--set", OPT_SET, true },
	{ "--job", OPT_JOB, true },         { "--others-gone", OPT_OTHERS_GONE, false },
	{ "--entrypoint", OPT_ENTRYPOINT, true }, { "--ready-fd", OPT_READY_FD, true },
	{ "--mount-volume", OPT_MOUNT_VOLUME, true },
	{ "-i", OPT_STDIN, false },         { "--stdin", OPT_STDIN, false },
};

/* Parse a subcommand's arguments: options, then JOB (when `want_job`),
 * then, for commands that take one, the job's command after JOB -- with or
 * without `--`.  Options may stand before or after JOB, but everything from
 * the command on is the job's.  `allowed` lists the option ids the command
 * takes.  Returns 0 or an exit status. */
static int parse_job_args(struct ctx *c, int argc, char **argv, const int *allowed, bool want_job,
			  bool want_cmd, struct job_args *a)
{
	int i = 1;

	a->req.timeout_ms = -1;
	a->grace_ms = -1;
	for (; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		size_t k, n;
		bool ok = false;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			if (want_job && !a->req.job) {
				a->req.job = arg;
				continue;
			}
			if (a->opts_anywhere && want_cmd) { /* operands, not a command */
				if (jc_strv_push(&a->req.cmd, arg) < 0)
					return usage_error(c, "out of memory");
				continue;
			}
			break; /* the job's command */
		}
		eq = strchr(arg, '=');
		n = eq ? (size_t)(eq - arg) : strlen(arg);
		for (k = 0; k < sizeof(sub_opts) / sizeof(sub_opts[0]); k++)
			if (strlen(sub_opts[k].name) == n && strncmp(arg, sub_opts[k].name, n) == 0)
				break;
		for (const int *p = allowed; k < sizeof(sub_opts) / sizeof(sub_opts[0]) && *p; p++)
			ok |= (*p == sub_opts[k].id);
		if (!ok)
			return usage_error(c, "%s: unknown option `%.*s`", argv[0], (int)n, arg);
		if (sub_opts[k].arg) {
			val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val)
				return usage_error(c, "%s: `%s` needs a value", argv[0], arg);
		} else if (eq) {
			return usage_error(c, "%s: `%.*s` takes no value", argv[0], (int)n, arg);
		}
		switch (sub_opts[k].id) {
		case OPT_IMAGE:
			a->req.image = val;
			break;
		case OPT_ENV:
			if (jc_strv_push(&a->req.env, val) < 0)
				return usage_error(c, "out of memory");
			break;
		case OPT_TIMEOUT:
			if (jc_parse_duration(val, &a->req.timeout_ms) < 0)
				return usage_error(c, "--timeout `%s`: not a duration", val);
			a->timeout_raw = val;
			break;
		case OPT_SET:
			if (jc_strv_push(&a->sets, val) < 0)
				return usage_error(c, "out of memory");
			break;
		case OPT_GRACE:
			if (jc_parse_duration(val, &a->grace_ms) < 0)
				return usage_error(c, "--grace `%s`: not a duration", val);
			break;
		case OPT_FOLLOW:
			a->follow = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_TENANT:
			a->req.tenant = val;
			break;
		case OPT_RUN:
			a->req.run = val;
			break;
		case OPT_INPUT:
			if (jc_strv_push(&a->inputs, val) < 0)
				return usage_error(c, "out of memory");
			break;
		case OPT_OUTPUT:
		case OPT_TO:
			a->output = val;
			break;
		case OPT_KEEP:
			a->keep_set = true;
			break;
		case OPT_OLDER:
			if (jc_parse_duration(val, &a->older_than_ms) < 0)
				return usage_error(c, "--older-than `%s`: not a duration", val);
			break;
		case OPT_DRY:
			a->dry_run = true;
			break;
		case OPT_OTHERS_GONE:
			a->others_gone = true;
			break;
		case OPT_ENTRYPOINT:
			a->entrypoint = val;
			break;
		case OPT_READY_FD:
			a->ready_fd = val;
			break;
		case OPT_MOUNT_VOLUME:
			if (jc_strv_push(&a->chained, val) < 0)
				return usage_error(c, "out of memory");
			break;
		case OPT_STDIN:
			a->stdin = true;
			break;
		case OPT_JOB:
			/* the form for a name that comes from a request: it is taken
			 * as it is, never read as an option */
			if (a->req.job)
				return usage_error(c, "%s: JOB given twice", argv[0]);
			a->req.job = val;
			break;
		}
	}
	if (want_job && !a->req.job && i < argc)
		a->req.job = argv[i++]; /* `run -- JOB` or a JOB that starts with '-' */
	if (want_job && !a->req.job)
		return usage_error(c, "%s: JOB is missing", argv[0]);
	if (i < argc && !want_cmd)
		return usage_error(c, "%s: unexpected argument `%s`", argv[0], argv[i]);
	for (; i < argc; i++)
		if (jc_strv_push(&a->req.cmd, argv[i]) < 0)
			return usage_error(c, "out of memory");
	return 0;
}

/* ---- run, start, plan ---- */

/* The request of run, start and plan as a job of the site: each setting
 * goes through the library, which judges it against the site's policy. */
static int make_job(struct ctx *c, const struct job_args *a, jc_job **out, jc_error *err)
{
	jc_job *j = NULL;

	if (jc_job_new(c->site, a->req.job, &j, err) < 0)
		return -1;
	if ((a->req.image && jc_job_set(j, "image", a->req.image, err) < 0) ||
	    (a->timeout_raw && jc_job_set(j, "timeout", a->timeout_raw, err) < 0) ||
	    (a->entrypoint && jc_job_set(j, "entrypoint", a->entrypoint, err) < 0))
		goto fail;
	for (size_t i = 0; i < a->sets.n; i++)
		if (jc_config_override_entry(jc_job_config(j), a->sets.v[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < a->req.env.n; i++)
		if (jc_job_add_env(j, a->req.env.v[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < a->req.cmd.n; i++)
		if (jc_job_add_arg(j, a->req.cmd.v[i], err) < 0)
			goto fail;
	if ((a->req.tenant && jc_job_set_tenant(j, a->req.tenant, err) < 0) ||
	    (a->req.run && jc_job_set_run(j, a->req.run, err) < 0) ||
	    (a->output && jc_job_set_output(j, a->output, err) < 0) ||
	    (a->keep_set && jc_job_set_keep(j, true, err) < 0))
		goto fail;
	for (size_t i = 0; i < a->inputs.n; i++)
		if (jc_job_add_input(j, a->inputs.v[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < a->chained.n; i++)
		if (jc_job_add_volume_mount(j, a->chained.v[i], err) < 0)
			goto fail;
	*out = j;
	return 0;
fail:
	jc_job_free(j);
	return -1;
}

/* The job's outcome; `err` (may be NULL): fetching its output failed
 * after it ran, which the record carries and the exit status follows. */
static void print_result(const struct ctx *c, const jc_job *j, const char *job,
			 const struct jc_job_outcome *r, const jc_error *err)
{
	const char *warning = jc_job_output_warning(j);

	if (r->timed_out)
		fprintf(stderr, "jobcell: job `%s` timed out and was stopped\n", job);
	if (warning)
		warn(warning);
	if (r->oom_killed)
		fprintf(stderr, "jobcell: job `%s` was killed for running out of memory\n", job);
	if (r->parent_died)
		fprintf(stderr, "jobcell: parent exited: job `%s` was stopped\n", job);
	else if (r->signal)
		fprintf(stderr, "jobcell: got %s: job `%s` was stopped\n", strsignal(r->signal),
			job);
	if (c->json) {
		cJSON *o = record();
		if (o) {
			add_text(o, "job", job);
			add_text(o, "container", jc_job_container(j));
			cJSON_AddNumberToObject(
			    o, "exit_code", err ? jc_exit_status_of_error(err) : r->exit_status);
			cJSON_AddNumberToObject(o, "job_status", r->job_status);
			cJSON_AddBoolToObject(o, "timed_out", r->timed_out);
			cJSON_AddBoolToObject(o, "oom_killed", r->oom_killed);
			cJSON_AddNumberToObject(o, "signal", r->signal);
			cJSON_AddBoolToObject(o, "parent_died", r->parent_died);
			add_text(o, "warning", warning);
			if (jc_job_volume(j))
				add_text(o, "volume", jc_job_volume(j));
			if (err)
				cJSON_AddItemToObject(o, "error", error_object(err));
		}
		emit(c, o);
	}
}

/* The descriptor number of `opt` (--status-fd, --ready-fd): 3 or more
 * (on 0, 1 and 2 the job's own output would share the stream), open for
 * writing, made close-on-exec.  Returns 0 with *fd, or a usage error's
 * status. */
static int writable_fd(struct ctx *c, const char *opt, const char *arg, int *fd)
{
	char *end;
	long n;
	int fl;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || n < 3 || n > INT_MAX)
		return usage_error(c, "%s `%s`: not a descriptor number of 3 or more", opt, arg);
	fl = fcntl((int)n, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return usage_error(c, "%s %ld: not a descriptor open for writing", opt, n);
	if (c->records != stdout && fileno(c->records) == (int)n)
		return usage_error(c, "%s %ld: the descriptor of --status-fd", opt, n);
	if (fcntl((int)n, F_SETFD, FD_CLOEXEC) < 0)
		return usage_error(c, "%s %ld: %s", opt, n, strerror(errno));
	*fd = (int)n;
	return 0;
}

/* --ready-fd N: told once the job's container has started, so that a
 * caller can say "job started" without polling.  N is checked as
 * --status-fd's is; it is closed at the start, after one line, or unwritten
 * when the run ends before any start.  Returns the descriptor or -1 after a
 * usage error in *status. */
static int open_ready(struct ctx *c, const char *arg, int *status)
{
	int fd = -1;

	*status = writable_fd(c, "--ready-fd", arg, &fd);
	return *status ? -1 : fd;
}

/* The container `id` started: "<id>\n" to the ready descriptor, which is
 * closed after.  A reader that went away costs a warning, not the job
 * (SIGPIPE is ignored by then: setup_signals). */
static void ready_cb(void *ctx, const char *id)
{
	int *fd = ctx;
	cleanup_free char *line = NULL;
	size_t n, off = 0;
	int saved = 0;

	if (*fd < 0)
		return;
	if (asprintf(&line, "%s\n", id) < 0) {
		line = NULL;
		saved = ENOMEM;
	}
	n = line ? strlen(line) : 0;
	while (off < n) {
		ssize_t w = write(*fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			saved = w < 0 ? errno : EIO;
			break;
		}
		off += (size_t)w;
	}
	if (saved)
		fprintf(stderr, "jobcell: warning: --ready-fd %d: write: %s\n", *fd,
			strerror(saved));
	close(*fd);
	*fd = -1;
}

static int cmd_run(struct ctx *c, int argc, char **argv, bool detach)
{
	static const int run_opts[] = { OPT_IMAGE,        OPT_ENV,   OPT_TIMEOUT,    OPT_TENANT,
					OPT_RUN,          OPT_INPUT, OPT_OUTPUT,     OPT_KEEP,
					OPT_SET,          OPT_JOB,   OPT_ENTRYPOINT, OPT_READY_FD,
					OPT_MOUNT_VOLUME, OPT_STDIN, 0 };
	static const int start_opts[] = { OPT_IMAGE,      OPT_ENV,          OPT_TENANT, OPT_RUN,
					  OPT_INPUT,      OPT_KEEP,         OPT_SET,    OPT_JOB,
					  OPT_ENTRYPOINT, OPT_MOUNT_VOLUME, OPT_STDIN,  0 };
	struct job_args a = { 0 };
	struct jc_job_outcome res = { 0 };
	struct progress prog = { 0 };
	jc_job *j = NULL;
	jc_error err = { 0 };
	int ready_fd = -1;
	int status = parse_job_args(c, argc, argv, detach ? start_opts : run_opts, true, true, &a);

	if (status || (!detach && (status = records_apart(c, "run"))))
		goto out;
	if (detach && a.stdin) {
		/* refused, not ignored: a caller that sends input must know that
		 * nothing reads it */
		status = usage_error(c, "start: `-i` needs `run`: nothing passes stdin to a "
					"started job");
		goto out;
	}
	if (a.ready_fd && (ready_fd = open_ready(c, a.ready_fd, &status)) < 0)
		goto out;
	if (load_site(c, &err) < 0 || make_job(c, &a, &j, &err) < 0 ||
	    setup_signals(c, !detach, &err) < 0)
		goto fail;
	if (ready_fd >= 0)
		jc_job_set_started(j, ready_cb, &ready_fd);
	jc_job_set_progress(j, progress_cb, &prog);
	jc_job_set_signal_fd(j, c->signal_fd);
	jc_job_set_parent(j, c->parent);
	if (a.stdin && jc_job_set_stdin(j, STDIN_FILENO, &err) < 0)
		goto fail;
	if (detach) {
		if (jc_job_start(j, &err) < 0)
			goto fail;
		if (c->json) {
			cJSON *o = record();
			if (o) {
				add_text(o, "job", a.req.job);
				add_text(o, "container", jc_job_container(j));
				if (jc_job_volume(j))
					add_text(o, "volume", jc_job_volume(j));
			}
			emit(c, o);
		} else {
			printf("%s\n", jc_job_container(j));
		}
		status = 0;
		goto out;
	}
	if (jc_job_run(j, &res, &err) < 0 && !jc_job_ran(j)) {
		report_refused("output", jc_job_extract_report(j));
		goto fail;
	}
	report_refused("output", jc_job_extract_report(j));
	if (jc_job_ran(j)) {
		/* the job ran, its output did not come back whole: one error line,
		 * the job's status beside it, and 125 */
		cleanup_free char *line = jc_text_printable_str(err.msg);
		res = *jc_job_ran(j);
		fprintf(stderr, "jobcell: error: %s\n", line ? line : "out of memory");
		fprintf(stderr, "jobcell: job `%s` exited with status %d\n", a.req.job,
			res.job_status);
	}
	if (jc_job_volume_kept(j))
		fprintf(stderr, "jobcell: kept volume `%s`\n", jc_job_volume(j));
	if (jc_job_warning(j) && jc_job_warning(j) != jc_job_output_warning(j))
		warn(jc_job_warning(j));
	print_result(c, j, a.req.job, &res, jc_job_ran(j) ? &err : NULL);
	status = jc_job_ran(j) ? jc_exit_status_of_error(&err) : res.exit_status;
	goto out;
fail:
	status = fail(c, &err);
out:
	if (ready_fd >= 0) /* no start: closed unwritten */
		close(ready_fd);
	jc_job_free(j);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

static int cmd_plan(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = { OPT_IMAGE, OPT_ENV, OPT_TIMEOUT,    OPT_TENANT,       OPT_RUN,
				    OPT_SET,   OPT_JOB, OPT_ENTRYPOINT, OPT_MOUNT_VOLUME, 0 };
	struct job_args a = { 0 };
	cleanup_free char *json = NULL;
	jc_job *j = NULL;
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, opts, true, true, &a);

	if (status)
		goto out;
	if (load_site(c, &err) < 0 || make_job(c, &a, &j, &err) < 0 ||
	    jc_job_plan(j, &json, &err) < 0) {
		status = fail(c, &err);
		goto out;
	}
	printf("%s\n", json);
out:
	jc_job_free(j);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- started jobs: wait, stop, logs, rm; ps ---- */

static int cmd_detached(struct ctx *c, const char *cmd, int argc, char **argv)
{
	static const int wait_opts[] = { OPT_TIMEOUT, OPT_JOB, 0 },
			 stop_opts[] = { OPT_GRACE, OPT_JOB, 0 },
			 logs_opts[] = { OPT_FOLLOW, OPT_JOB, 0 }, rm_opts[] = { OPT_JOB, 0 };
	const int *allowed = strcmp(cmd, "wait") == 0   ? wait_opts
			     : strcmp(cmd, "stop") == 0 ? stop_opts
			     : strcmp(cmd, "logs") == 0 ? logs_opts
							: rm_opts;
	static const int fds[2] = { STDOUT_FILENO, STDERR_FILENO };
	struct job_args a = { 0 };
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, allowed, true, false, &a), r = 0;

	if (status || (strcmp(cmd, "logs") == 0 && (status = records_apart(c, "logs"))))
		goto out;
	if (load_site(c, &err) < 0 || setup_signals(c, false, &err) < 0)
		goto fail;
	if (strcmp(cmd, "wait") == 0) {
		r = jc_job_wait_signal(c->site, a.req.job, a.req.timeout_ms, c->signal_fd, &status,
				       &err);
		if (r < 0)
			goto fail;
		if (c->json) {
			cJSON *o = record();
			if (o) {
				add_text(o, "job", a.req.job);
				cJSON_AddNumberToObject(o, "exit_code", status);
				cJSON_AddBoolToObject(o, "timed_out", r == 1);
			}
			emit(c, o);
		}
	} else if (strcmp(cmd, "stop") == 0) {
		r = jc_job_stop(c->site, a.req.job, a.grace_ms, &err);
	} else if (strcmp(cmd, "logs") == 0) {
		r = jc_job_logs(c->site, a.req.job, a.follow, c->signal_fd, jc_sink_fds,
				(void *)fds, &err);
	} else {
		r = jc_job_remove(c->site, a.req.job, &err);
	}
	if (r < 0)
		goto fail;
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* A container's supervisor as ps shows it. */
static const char *supervisor_state(const char *supervisor, enum jc_liveness live)
{
	if (!supervisor)
		return "detached";
	switch (live) {
	case JC_SUPERVISOR_ALIVE:
		return "alive";
	case JC_SUPERVISOR_DEAD:
		return "gone";
	case JC_SUPERVISOR_UNKNOWN:
	case JC_SUPERVISOR_ELSEWHERE:
		return "unknown";
	}
	return "?";
}

/* jobcell.deadline as a UTC time, or "-". */
static void deadline_text(const char *label, char *out, size_t size)
{
	char *end;
	long long v;
	time_t t;
	struct tm tm;

	errno = 0;
	v = label ? strtoll(label, &end, 10) : 0;
	t = (time_t)v;
	if (!label || errno || *end || v <= 0 || !gmtime_r(&t, &tm) ||
	    !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "-");
}

static int cmd_ps(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = { OPT_ALL, 0 };
	struct job_args a = { 0 };
	struct jc_container_list l = { 0 };
	struct jc_gc_opts g = { 0 };
	jc_error err = { 0 };
	cJSON *arr = NULL;
	int64_t now_s = jc_unix_ms() / 1000;
	int status = parse_job_args(c, argc, argv, opts, false, false, &a);

	if (status)
		return status;
	if (load_site(c, &err) < 0 || jc_site_list(c->site, a.all, &l, &err) < 0) {
		status = fail(c, &err);
		jc_error_clear(&err);
		return status;
	}
	/* what a plain `jobcell gc` would decide now */
	g.clock_skew_ms = jc_site_config(c->site)->clock_skew_ms;
	if (c->json) {
		arr = cJSON_CreateArray();
	} else {
		struct jc_backend *e = NULL;
		cleanup_free char *how = NULL;
		/* which engine, and how it is reached: the listing is that engine's */
		if (jc_site_backend(c->site, &e, &err) == 0)
			how = jc_backend_transport(e);
		jc_error_clear(&err);
		printf("ENGINE %s, reached by %s\n", jc_site_config(c->site)->endpoint,
		       how ? how : "?");
		printf("%-24s %-10s %-12s %-10s %-20s %-6s %s\n", "JOB", "STATE", "CREATED",
		       "SUPERVISOR", "DEADLINE", "GC", "CONTAINER");
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct jc_inspect *it = &l.items[i];
		struct jc_labels lab = it->labels;
		enum jc_liveness live = lab.supervisor ? jc_supervisor_liveness(lab.supervisor)
						       : JC_SUPERVISOR_UNKNOWN;
		char why[320], when[32];
		bool rm;
		cJSON *o;

		lab.keep = false; /* as gc: keep is a volume's label */
		rm = jc_gc_judge(&lab, live, now_s, &g, why, sizeof(why));
		deadline_text(lab.deadline, when, sizeof(when));
		if (!c->json) {
			printf("%-24s %-10s %-12s %-10s %-20s %-6s %.12s\n", lab.job ? lab.job : "?",
			       it->status, lab.created ? lab.created : "?",
			       supervisor_state(lab.supervisor, live), when, rm ? "remove" : "keep",
			       it->id);
			continue;
		}
		if (!arr || !(o = record()) || !cJSON_AddItemToArray(arr, o))
			break;
		add_text(o, "job", lab.job ? lab.job : "");
		add_text(o, "container", it->id);
		add_text(o, "state", it->status);
		add_text(o, "created", lab.created ? lab.created : "");
		cJSON_AddStringToObject(o, "supervisor", supervisor_state(lab.supervisor, live));
		add_text(o, "deadline", lab.deadline ? lab.deadline : "");
		cJSON_AddStringToObject(o, "gc", rm ? "remove" : "keep");
		add_text(o, "gc_why", why);
	}
	if (c->json)
		emit(c, arr);
	jc_container_list_free(&l);
	return 0;
}

/* ---- volume and gc commands ---- */

static void print_volumes(const struct ctx *c, const struct jc_volume_list *l)
{
	cJSON *arr = c->json ? cJSON_CreateArray() : NULL;

	if (!c->json)
		printf("%-56s %-12s %-12s %-16s %-11s %s\n", "VOLUME", "TENANT", "RUN", "JOB",
		       "CREATED", "STATE");
	for (size_t i = 0; i < l->n; i++) {
		const struct jc_volume *v = &l->items[i];
		cJSON *o;

		if (!c->json) {
			printf("%-56s %-12s %-12s %-16s %-11s %s\n", v->name,
			       v->labels.tenant ? v->labels.tenant : "-", v->labels.run ? v->labels.run : "-",
			       v->labels.job ? v->labels.job : "-", v->labels.created ? v->labels.created : "-",
			       v->labels.keep         ? "kept"
			       : v->labels.supervisor ? "supervised"
					       : "-");
			continue;
		}
		if (!arr || !(o = record()) || !cJSON_AddItemToArray(arr, o))
			break;
		add_text(o, "volume", v->name);
		add_text(o, "tenant", v->labels.tenant ? v->labels.tenant : "");
		add_text(o, "run", v->labels.run ? v->labels.run : "");
		add_text(o, "job", v->labels.job ? v->labels.job : "");
		add_text(o, "created", v->labels.created ? v->labels.created : "");
		cJSON_AddBoolToObject(o, "keep", v->labels.keep);
	}
	if (c->json)
		emit(c, arr);
}

static int cmd_volume(struct ctx *c, int argc, char **argv)
{
	static const int create_opts[] = { OPT_TENANT, OPT_RUN, 0 }, get_opts[] = { OPT_TO, 0 },
			 no_opts[] = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;
	struct job_args a = { .opts_anywhere = true };
	struct jc_volume_list l = { 0 };
	struct jc_extract_report rep = { 0 };
	struct progress prog = { 0 };
	const struct jc_stage_progress p = { progress_cb, &prog };
	jc_error err = { 0 };
	int status;

	if (!sub)
		return usage_error(c, "volume: create, put, get, ls or rm?");
	argc--;
	argv++;
	if (strcmp(sub, "create") == 0)
		status = parse_job_args(c, argc, argv, create_opts, false, false, &a);
	else if (strcmp(sub, "ls") == 0)
		status = parse_job_args(c, argc, argv, no_opts, false, false, &a);
	else if (strcmp(sub, "put") == 0 || strcmp(sub, "rm") == 0)
		status = parse_job_args(c, argc, argv, no_opts, true, true, &a);
	else if (strcmp(sub, "get") == 0)
		status = parse_job_args(c, argc, argv, get_opts, true, true, &a);
	else
		return usage_error(c, "volume: unknown command `%s`", sub);
	if (status)
		goto out;
	/* as in run: a signal or the parent's death gives up the request in
	 * flight (a transfer of any size), and what was made is removed */
	if (load_site(c, &err) < 0 || setup_signals(c, false, &err) < 0)
		goto fail;
	jc_site_set_cancel(c->site, &(struct jc_cancel){ c->signal_fd, c->parent, 0 });
	if (strcmp(sub, "create") == 0) {
		cleanup_free char *name = NULL;
		if (jc_site_volume_create(c->site, a.req.tenant, a.req.run, &name, &err) < 0)
			goto fail;
		if (c->json) {
			cJSON *o = record();
			if (o)
				add_text(o, "volume", name);
			emit(c, o);
		} else {
			printf("%s\n", name);
		}
	} else if (strcmp(sub, "ls") == 0) {
		if (jc_site_volume_list(c->site, &l, &err) < 0)
			goto fail;
		print_volumes(c, &l);
	} else if (strcmp(sub, "rm") == 0) {
		if (jc_site_volume_remove(c->site, a.req.job, &err) < 0)
			goto fail;
		for (size_t i = 0; i < a.req.cmd.n; i++)
			if (jc_site_volume_remove(c->site, a.req.cmd.v[i], &err) < 0)
				goto fail;
	} else if (strcmp(sub, "put") == 0) {
		if (jc_site_volume_put(c->site, a.req.job, &a.req.cmd, &p, &err) < 0)
			goto fail;
	} else {
		int r = jc_site_volume_get(c->site, a.req.job, &a.req.cmd, a.output, &rep, &p, &err);
		report_refused("volume get", &rep);
		if (r < 0)
			goto fail;
		status = rep.refused ? 1 : 0;
	}
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_extract_report_free(&rep);
	jc_volume_list_free(&l);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

struct gc_out {
	const struct ctx *c;
	cJSON *items; /* with --json */
};

static void gc_print(void *ctx, const struct jc_gc_item *it)
{
	struct gc_out *g = ctx;
	cleanup_free char *why = jc_text_printable_str(it->why);
	cJSON *o;

	if (!g->c->json) {
		printf("%-8s %-9s %-64s %s\n", it->removed ? "removed" : "kept", it->kind, it->name,
		       why ? why : "");
		return;
	}
	if (!g->items || !(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(g->items, o))
		return;
	cJSON_AddStringToObject(o, "kind", it->kind);
	add_text(o, "name", it->name);
	cJSON_AddBoolToObject(o, "removed", it->removed);
	add_text(o, "why", it->why);
}

static int cmd_gc(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = { OPT_OLDER, OPT_DRY, OPT_OTHERS_GONE, 0 };
	struct job_args a = { 0 };
	struct gc_out g = { c, NULL };
	cJSON *o = NULL;
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, opts, false, false, &a), r;

	if (status)
		return status;
	if (load_site(c, &err) < 0)
		goto fail;
	if (c->json && (o = record())) {
		cJSON_AddBoolToObject(o, "dry_run", a.dry_run);
		cJSON_AddBoolToObject(o, "others_gone", a.others_gone);
		g.items = cJSON_AddArrayToObject(o, "items");
	} else if (!c->json && a.dry_run) {
		printf("dry run: \"removed\" means \"would be removed\"\n");
	}
	r = jc_site_gc_others(c->site, a.older_than_ms, a.dry_run, a.others_gone, gc_print, &g,
			      &err);
	if (c->json)
		emit(c, o); /* what was decided, also when a removal failed */
	if (r < 0)
		goto fail;
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- check ---- */

/* The table (or one JSON object), a line on stderr for each promise not
 * kept, and the exit status: 0 all kept, 1 some not, 125 when jobcell
 * itself failed (`err` set). */
static int check_print(const struct ctx *c, const struct jc_check_report *rep, const jc_error *err)
{
	bool ok = jc_check_ok(rep);
	int status = err ? JC_EXIT_JOBCELL : ok ? 0 : 1;

	if (c->json) {
		cJSON *o = record(), *rows = NULL;
		if (o) {
			cJSON_AddBoolToObject(o, "ok", ok && !err);
			cJSON_AddNumberToObject(o, "exit_code", status);
			rows = cJSON_AddArrayToObject(o, "rows");
		}
		for (size_t i = 0; rows && i < rep->n; i++) {
			cJSON *row = cJSON_CreateObject();
			if (!row || !cJSON_AddItemToArray(rows, row))
				break;
			add_text(row, "name", rep->rows[i].name);
			cJSON_AddStringToObject(row, "state",
						jc_check_state_name(rep->rows[i].state));
			add_text(row, "detail", rep->rows[i].detail);
		}
		if (o && err)
			cJSON_AddItemToObject(o, "error", error_object(err));
		else if (o)
			cJSON_AddNullToObject(o, "error");
		emit(c, o);
	} else {
		printf("%-25s %-8s %s\n", "PROMISE", "STATE", "DETAIL");
		for (size_t i = 0; i < rep->n; i++)
			printf("%-25s %-8s %s\n", rep->rows[i].name,
			       jc_check_state_name(rep->rows[i].state), rep->rows[i].detail);
	}
	fflush(stdout);
	for (size_t i = 0; i < rep->n; i++)
		if (rep->rows[i].state == JC_CHECK_BROKEN || rep->rows[i].state == JC_CHECK_UNKNOWN)
			fprintf(stderr, "jobcell: check: %s: %s: %s\n",
				jc_check_state_name(rep->rows[i].state), rep->rows[i].name,
				rep->rows[i].detail);
	if (err) {
		cleanup_free char *line = jc_text_printable_str(err->msg ? err->msg : "unknown error");
		fprintf(stderr, "jobcell: error: %s\n", line ? line : "out of memory");
	}
	return status;
}

static int cmd_check(struct ctx *c, int argc, char **argv)
{
	static const int no_opts[] = { 0 };
	struct job_args a = { 0 };
	struct jc_check_report rep = { 0 };
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, no_opts, false, false, &a);

	if (status)
		goto out;
	/* 1. the configuration: every problem, each with file:line */
	if (load_site(c, &err) < 0) {
		for (size_t i = 0; i < c->problems.n; i++)
			jc_check_add(&rep, "config", JC_CHECK_BROKEN, NULL, "%s",
				     c->problems.v[i]);
		if (!c->problems.n)
			jc_check_add(&rep, "config", JC_CHECK_BROKEN, NULL, "%s",
				     err.msg ? err.msg : "?");
		goto fail;
	}
	if (jc_check_add(&rep, "config", JC_CHECK_KEPT, &err, "%s `%s` loads and validates",
			 c->config_file ? "file" : "site",
			 c->config_file ? c->config_file : c->site_name) < 0)
		goto fail;
	/* 2. the engine, 3. the isolation from inside a job of the site */
	if (setup_signals(c, true, &err) < 0 ||
	    jc_check_site(c->site, &(struct jc_check_opts){ c->signal_fd, c->parent }, &rep,
			  &err) < 0)
		goto fail;
	status = check_print(c, &rep, NULL);
	goto out;
fail:
	status = check_print(c, &rep, &err);
out:
	jc_check_report_free(&rep);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* --status-fd N: the --json records go to descriptor N, which the caller
 * opened for writing, so that no job output can come before, between or
 * inside them; it implies --json.  0, 1 and 2 are refused: on 1 and 2 the
 * job's own output would share the stream again. */
static int open_records(struct ctx *c, const char *arg)
{
	int fd = -1, status = writable_fd(c, "--status-fd", arg, &fd);

	if (status)
		return status;
	if (!(c->records = fdopen(fd, "a"))) {
		c->records = stdout;
		return usage_error(c, "--status-fd %d: %s", fd, strerror(errno));
	}
	c->json = true;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "site", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "status-fd", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .records = stdout, .parent = getppid(), .signal_fd = -1 };
	const char *status_fd = NULL;
	const char *cmd;
	int o, status;

	/* a closed 0, 1 or 2 would be taken by the next descriptor opened (the
	 * signalfd, a socket) and job output would go there */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR | O_CLOEXEC) != fd)
			return JC_EXIT_JOBCELL;

	jc_http_own_process();
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			c.config_file = optarg;
			break;
		case 's':
			c.site_name = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'S':
			status_fd = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("jobcell %s\n", jc_version());
			return 0;
		default:
			return usage_error(&c, "unknown option or missing value `%s`",
					   argv[optind - 1]);
		}
	}
	if (c.config_file && c.site_name)
		return usage_error(&c, "-c and --site exclude each other");
	if (status_fd && (status = open_records(&c, status_fd)) != 0)
		return status;
	if (optind >= argc)
		return usage_error(&c, "no command");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "run") == 0)
		status = cmd_run(&c, argc, argv, false);
	else if (strcmp(cmd, "start") == 0)
		status = cmd_run(&c, argc, argv, true);
	else if (strcmp(cmd, "plan") == 0)
		status = cmd_plan(&c, argc, argv);
	else if (strcmp(cmd, "wait") == 0 || strcmp(cmd, "stop") == 0 || strcmp(cmd, "logs") == 0 ||
		 strcmp(cmd, "rm") == 0)
		status = cmd_detached(&c, cmd, argc, argv);
	else if (strcmp(cmd, "ps") == 0)
		status = cmd_ps(&c, argc, argv);
	else if (strcmp(cmd, "volume") == 0)
		status = cmd_volume(&c, argc, argv);
	else if (strcmp(cmd, "gc") == 0)
		status = cmd_gc(&c, argc, argv);
	else if (strcmp(cmd, "check") == 0)
		status = cmd_check(&c, argc, argv);
	else if (strcmp(cmd, "version") == 0) {
		printf("jobcell %s (%s)\n", jc_version(), jc_backend_spoken());
		status = 0;
	} else
		status = usage_error(&c, "unknown command `%s`", cmd);

	jc_site_close(c.site);
	jc_strv_free(&c.problems);
	if (c.signal_fd >= 0)
		close(c.signal_fd);
	fflush(stdout);
	if (c.records != stdout)
		fclose(c.records);
	return status;
}
