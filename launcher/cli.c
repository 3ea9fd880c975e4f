/* The command line: the only code that prints, exits or touches process
 * state (signals, parent-death signal).  Everything else is the library. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "archive.h"
#include "check.h"
#include "config.h"
#include "data.h"
#include "backend.h"
#include "docker/engine.h"
#include "docker/json.h"
#include "error.h"
#include "names.h"
#include "plan.h"
#include "supervise.h"
#include "units.h"
#include "util.h"
#include "volume.h"
#include "workspace.h"

enum {
	EXIT_TIMEOUT = 124,
	EXIT_JOBCELL = 125,
	EXIT_NOEXEC = 126,
	EXIT_NOTFOUND = 127,
};

struct ctx {
	const char *config_file;
	const char *site;
	bool json;
	pid_t parent;
	struct jc_config cfg;
	bool cfg_loaded;
	struct jc_backend *engine;
	int signal_fd;
};

static const char usage_text[] =
    "usage: jobcell [-c FILE | --site NAME] [--json] COMMAND [ARGS]\n"
    "  run JOB [--image I] [--env K=V]... [--timeout D] [--set KEY=VALUE]... [-- CMD...]\n"
    "      volume mode: [--tenant T] [--run R] [--input SRC[:DEST]]...\n"
    "                   [--output DIR] [--keep]\n"
    "  start JOB [--image I] [--env K=V]... [--set KEY=VALUE]... [-- CMD...]\n"
    "      volume mode: [--tenant T] [--run R] [--input SRC[:DEST]]... [--keep]\n"
    "  wait JOB [--timeout D]\n"
    "  stop JOB [--grace D]\n"
    "  logs JOB [--follow]\n"
    "  rm JOB\n"
    "  ps [--all]\n"
    "  plan JOB [--image I] [--env K=V]... [--timeout D] [-- CMD...]\n"
    "  check\n"
    "  volume create [--tenant T] [--run R]\n"
    "  volume put VOLUME SRC[:DEST]...\n"
    "  volume get VOLUME [PATH...] --to DIR\n"
    "  volume ls | volume rm VOLUME...\n"
    "  gc [--older-than D] [--dry-run]\n"
    "  version\n"
    "see jobcell(1)\n";

static void json_string(FILE *f, const char *s)
{
	cJSON *j = cJSON_CreateString(s ? s : "");
	char *out = j ? cJSON_PrintUnformatted(j) : NULL;
	fputs(out ? out : "\"\"", f);
	free(out);
	cJSON_Delete(j);
}

/* One line on stderr; with --json also a record on stdout.  Returns the
 * exit status that goes with the error's kind. */
/* A copy of `s` fit for a terminal, a log and JSON: bytes outside
 * printable ASCII become '?'.  The text may quote a request or the engine. */
static char *printable_copy(const char *s)
{
	char *line = strdup(s ? s : "");

	for (char *p = line; p && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return line;
}

static int fail(const struct ctx *c, const jc_error *err)
{
	cleanup_free char *line = printable_copy(err->msg ? err->msg : "unknown error");

	int status = err->kind == JC_ERR_CMD_NOT_FOUND  ? EXIT_NOTFOUND
		     : err->kind == JC_ERR_CMD_NOT_EXEC ? EXIT_NOEXEC
							: EXIT_JOBCELL;

	fprintf(stderr, "jobcell: error: %s\n", line ? line : "out of memory");
	if (c && c->json) {
		printf("{\"error\":{\"kind\":\"%s\",\"message\":", jc_error_kind_name(err->kind));
		json_string(stdout, line);
		printf(",\"errno\":\"%s\",\"retry\":%s},\"exit_code\":%d}\n",
		       strerrorname_np(err->status) ? strerrorname_np(err->status) : "",
		       err->retry ? "true" : "false", status);
	}
	fflush(stdout);
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

/* ---- configuration ---- */

static int load_config(struct ctx *c, jc_error *err)
{
	const char *dir = getenv("JOBCELL_CONFIG_DIR");
	cleanup_free char *defaults = NULL;
	cleanup_free char *site_file = NULL;
	struct stat st;

	if (!dir || !*dir)
		dir = "/etc/jobcell";
	if (jc_config_init(&c->cfg, getenv("DOCKER_HOST"), err) < 0)
		return -1;
	c->cfg_loaded = true;
	if (asprintf(&defaults, "%s/defaults.ini", dir) < 0)
		return jc_error_oom(err);
	/* the defaults file is optional; the site file is not */
	if (stat(defaults, &st) == 0 && jc_config_load(&c->cfg, defaults, err) < 0)
		return -1;
	if (c->config_file) {
		if (jc_config_load(&c->cfg, c->config_file, err) < 0)
			return -1;
	} else if (c->site) {
		if (jc_name_check_site(c->site, err) < 0)
			return jc_error_wrap(err, "--site");
		if (asprintf(&site_file, "%s/%s.ini", dir, c->site) < 0)
			return jc_error_oom(err);
		if (jc_config_load(&c->cfg, site_file, err) < 0)
			return -1;
		if (!c->cfg.site_name && !(c->cfg.site_name = strdup(c->site)))
			return jc_error_oom(err);
		/* the file found by a name must be that site's, or labels lie */
		if (strcmp(c->cfg.site_name, c->site) != 0)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "%s: [site] name `%s` does not match --site `%s`",
					    site_file, c->cfg.site_name, c->site);
	} else {
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "no site: pass -c FILE or --site NAME");
	}
	return jc_config_validate(&c->cfg, err);
}

static int open_engine(struct ctx *c, jc_error *err)
{
	if (jc_backend_open(c->cfg.endpoint, c->cfg.engine_timeout_ms, &c->engine, err) < 0)
		return -1;
	return jc_backend_ping(c->engine, err);
}

/* SIGTERM, SIGINT and SIGHUP arrive on a signalfd; the parent's death is
 * turned into SIGTERM. */
static int setup_signals(struct ctx *c, bool pdeath, jc_error *err)
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
	if (pdeath) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
			return jc_error_set(err, JC_ERR_SYSTEM, errno, "PR_SET_PDEATHSIG: %s",
					    strerror(errno));
		/* the parent may have gone before prctl took effect */
		if (getppid() != c->parent)
			return jc_error_set(err, JC_ERR_SYSTEM, ESRCH,
					    "parent process %d exited before the job started",
					    (int)c->parent);
	}
	return 0;
}

/* ---- job output ---- */

/* Write what the fd takes now, never blocking: a caller that stops reading
 * pauses the job's output stream, not the supervision of the job.  After
 * POLLOUT a write of at most PIPE_BUF does not block on a pipe.  Returns
 * how much was taken. */
static size_t sink_fds(void *ctx, int stream, const char *buf, size_t len)
{
	int fd = stream == 2 ? STDERR_FILENO : STDOUT_FILENO;
	size_t done = 0;

	(void)ctx;
	while (done < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		size_t chunk = len - done < PIPE_BUF ? len - done : PIPE_BUF;
		ssize_t n;

		if (poll(&p, 1, 0) < 1)
			break;
		n = write(fd, buf + done, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return len; /* the reader is gone: the output is lost, not the job */
		done += (size_t)n;
	}
	return done;
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
	bool opts_anywhere;      /* options may follow operands (volume commands) */
	const char *timeout_raw; /* --timeout as given: run/plan apply it to the config */
	struct jc_strv sets;     /* --set KEY=VALUE */
};

static void job_args_free(struct job_args *a)
{
	jc_strv_free(&a->req.cmd);
	jc_strv_free(&a->req.env);
	jc_strv_free(&a->inputs);
	jc_strv_free(&a->sets);
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

/* ---- run / start ---- */

/* What a bind-mode run checked on disk, compared again just before start. */
struct bind_run {
	const struct jc_config *cfg;
	struct jc_workspace *ws;
	struct jc_data *data;
};

static int recheck(void *ctx, jc_error *err)
{
	struct bind_run *b = ctx;

	if (jc_ws_recheck(b->ws, err) < 0)
		return -1;
	return jc_data_recheck(b->cfg, b->data, err);
}

/* 64 random bits in hex: this run's jobcell.nonce. */
static int make_nonce(char out[17], jc_error *err)
{
	unsigned char b[8];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* How resolve_user treats `[job] user = auto` without a job directory. */
enum auto_user {
	AUTO_NEEDS_DIR, /* refuse: auto takes the directory's owner */
	AUTO_NOBODY,    /* check: its own new directory will belong to nobody */
	AUTO_IMAGE,     /* volume put/get: no job runs; the image's user */
};

#define NOBODY 65534

/* The user the job runs as, numeric: the site's uid[:gid]; with `auto`,
 * the owner of the job directory `job_fd` (bind mode); else the image's.
 * uid 0 only when the site sets allow_root, for a job (`for_job`). */
static int resolve_user(struct ctx *c, const char *image, int job_fd, enum auto_user au,
			bool for_job, char **user, uid_t *uid, gid_t *gid, jc_error *err)
{
	cleanup_free char *img_user = NULL;
	const char *u = c->cfg.user, *from = "[job] user";
	bool is_auto = u && strcmp(u, "auto") == 0;
	char buf[32];
	struct stat st;

	if (is_auto && job_fd >= 0) {
		from = "[job] user = auto";
		if (fstat(job_fd, &st) < 0)
			return jc_error_set(err, JC_ERR_SYSTEM, errno,
					    "user = auto: fstat the job directory: %s",
					    strerror(errno));
		*uid = st.st_uid;
		*gid = st.st_gid;
	} else if (is_auto && au == AUTO_NOBODY) {
		from = "[job] user = auto";
		*uid = NOBODY;
		*gid = NOBODY;
	} else if (is_auto && au == AUTO_NEEDS_DIR) {
		return jc_error_set(err, JC_ERR_INPUT, ENOENT,
				    "[job] user = auto takes the job directory's owner, and the "
				    "job directory does not exist");
	} else if (!u || is_auto) {
		from = "the image's user";
		if (jc_backend_image_user(c->engine, image, &img_user, err) < 0)
			return -1;
		u = *img_user ? img_user : "0:0";
		if (jc_parse_user(u, uid, gid) < 0)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "image `%s` runs as `%.64s`, which is not numeric: set "
					    "[job] user = uid:gid",
					    image, u);
	} else if (jc_parse_user(u, uid, gid) < 0) {
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "[job] user `%s` is not numeric",
				    u);
	}
	if (for_job && *uid == 0 && !c->cfg.allow_root)
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "the job would run as root (uid 0, from %s): set [job] "
				    "allow_root = true to allow it",
				    from);
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)*uid, (unsigned)*gid);
	if (!(*user = strdup(buf)))
		return jc_error_oom(err);
	return 0;
}

static void print_result(const struct ctx *c, const char *job, const char *volume,
			 const struct jc_run_result *r, int status)
{
	if (r->timed_out)
		fprintf(stderr, "jobcell: job `%s` timed out and was stopped\n", job);
	cleanup_free char *warning = r->warning ? printable_copy(r->warning) : NULL;

	if (warning)
		fprintf(stderr, "jobcell: warning: %s\n", warning);
	if (r->oom_killed)
		fprintf(stderr, "jobcell: job `%s` was killed for running out of memory\n", job);
	if (r->parent_died)
		fprintf(stderr, "jobcell: parent exited: job `%s` was stopped\n", job);
	else if (r->signal)
		fprintf(stderr, "jobcell: got %s: job `%s` was stopped\n", strsignal(r->signal),
			job);
	if (c->json) {
		printf("{\"job\":\"%s\",\"container\":\"%s\",\"exit_code\":%d,\"job_status\":%d,"
		       "\"timed_out\":%s,\"oom_killed\":%s,\"signal\":%d,\"parent_died\":%s,"
		       "\"warning\":",
		       job, r->id ? r->id : "", status, r->exit_code,
		       r->timed_out ? "true" : "false", r->oom_killed ? "true" : "false", r->signal,
		       r->parent_died ? "true" : "false");
		if (warning)
			json_string(stdout, warning);
		else
			fputs("null", stdout);
		if (volume) {
			fputs(",\"volume\":", stdout);
			json_string(stdout, volume);
		}
		fputs("}\n", stdout);
	}
}

/* The job request's changes to the site's [job] keys, each allowed only
 * when the site lists the key in `overridable` (and limits only lowered):
 * --image, --timeout and every --set KEY=VALUE.  Then the variables
 * pass_env names, from jobcell's own environment. */
static int apply_request(struct ctx *c, struct job_args *a, jc_error *err)
{
	extern char **environ;

	if (a->req.image) {
		if (jc_config_override(&c->cfg, "image", a->req.image, err) < 0)
			return -1;
		a->req.image = NULL;
	}
	if (a->timeout_raw) {
		if (jc_config_override(&c->cfg, "timeout", a->timeout_raw, err) < 0)
			return -1;
		a->req.timeout_ms = -1;
	}
	for (size_t i = 0; i < a->sets.n; i++)
		if (jc_config_override_entry(&c->cfg, a->sets.v[i], err) < 0)
			return -1;
	return jc_pass_env_collect(&c->cfg, environ, &a->req.passed_env, err);
}

/* ---- volume mode ---- */

/* Progress of a transfer on a terminal, once it passes a few MiB. */
struct progress {
	const char *what;
	uint64_t total; /* 0: unknown */
	int64_t last_ms;
	bool shown;
};

#define PROGRESS_FROM (4u << 20)

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress_cb(void *ctx, uint64_t bytes)
{
	struct progress *p = ctx;
	int64_t now = mono_ms();

	if (!p || bytes < PROGRESS_FROM || now - p->last_ms < 200 || !isatty(STDERR_FILENO))
		return;
	p->last_ms = now;
	p->shown = true;
	if (p->total)
		fprintf(stderr, "\rjobcell: %s %.1f / %.1f MiB (%3.0f%%)", p->what,
			bytes / 1048576.0, p->total / 1048576.0,
			bytes > p->total ? 100.0 : 100.0 * (double)bytes / (double)p->total);
	else
		fprintf(stderr, "\rjobcell: %s %.1f MiB", p->what, bytes / 1048576.0);
}

static void progress_end(struct progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
	p->shown = false;
}

/* The directory that --input, --output and --to resolve beneath. */
static int open_transfer_dir(const struct ctx *c, int *fd, jc_error *err)
{
	const char *dir = c->cfg.transfer_dir && *c->cfg.transfer_dir ? c->cfg.transfer_dir : ".";

	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return jc_error_set(err, JC_ERR_CONFIG, errno,
				    "open [volume] transfer_dir `%s`: %s", dir, strerror(errno));
	return 0;
}

/* Open the output directory `path` beneath `base`, one component at a time
 * without following symlinks.  A missing last component is created (0700)
 * when `create`; otherwise *out is -1 and the path is good to create later. */
static int open_output(int base, const char *path, bool create, int *out, jc_error *err)
{
	cleanup_free char *copy = strdup(path);
	char *save = NULL, *comp, *next;
	int cur;

	if (!copy)
		return jc_error_oom(err);
	if (jc_path_check(path, "output directory", err) < 0)
		return -1;
	if ((cur = dup(base)) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "dup: %s", strerror(errno));
	for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
		int fd;
		next = strtok_r(NULL, "/", &save);
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && !next && !create) {
			close(cur);
			*out = -1;
			return 0;
		}
		if (fd < 0 && errno == ENOENT && !next && mkdirat(cur, comp, 0700) == 0)
			fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			close(cur);
			return jc_error_set(err, JC_ERR_INPUT, e, "output directory `%s`: `%s`: %s",
					    path, comp,
					    e == ELOOP || e == ENOTDIR
						? "not a directory (symlinks are not followed)"
						: strerror(e));
		}
		close(cur);
		cur = fd;
	}
	*out = cur;
	return 0;
}

struct inputs {
	struct jc_input *v;
	size_t n;
	uint64_t bytes;
};

static void inputs_free(struct inputs *in)
{
	for (size_t i = 0; i < in->n; i++)
		jc_input_close(&in->v[i]);
	free(in->v);
	in->v = NULL;
	in->n = 0;
}

/* Open and check every SRC[:DEST] before anything is created. */
static int open_inputs(int base, const struct jc_strv *specs, struct inputs *in, jc_error *err)
{
	if (!specs->n)
		return 0;
	if (!(in->v = calloc(specs->n, sizeof(*in->v))))
		return jc_error_oom(err);
	for (size_t i = 0; i < specs->n; i++) {
		if (jc_input_open(specs->v[i], base, &in->v[i], err) < 0)
			return -1;
		in->n++;
	}
	return jc_input_scan(in->v, in->n, &in->bytes, err);
}

static void report_refused(const struct ctx *c, const char *what,
			   const struct jc_extract_report *rep)
{
	(void)c;
	for (size_t i = 0; i < rep->reasons.n; i++) {
		cleanup_free char *line = printable_copy(rep->reasons.v[i]);
		fprintf(stderr, "jobcell: warning: %s: refused %s\n", what, line);
	}
	if (rep->refused)
		fprintf(stderr, "jobcell: warning: %s: %zu member%s refused, %zu written\n", what,
			rep->refused, rep->refused == 1 ? "" : "s", rep->extracted);
}

/* Fetch `path` of container `ref` into `out_fd`, adding to *rep. */
static int fetch(struct ctx *c, const char *ref, const char *name, const char *path, int out_fd,
		 struct jc_extract_report *rep, jc_error *err)
{
	struct progress p = { "receiving", 0, 0, false };
	struct jc_extract_report one = { 0 };
	int r = jc_transfer_get(c->engine, ref, name, path, out_fd, &one, progress_cb, &p, err);

	progress_end(&p);
	rep->extracted += one.extracted;
	rep->refused += one.refused;
	for (size_t i = 0; i < one.reasons.n && rep->reasons.n < 100; i++)
		jc_strv_push(&rep->reasons, one.reasons.v[i]);
	jc_extract_report_free(&one);
	return r;
}

/* Send inputs into `path` of container `ref`. */
/* Send inputs into `path` of container `ref`.  An archive is extracted the
 * same way twice, so an engine failure that may pass (a 5xx, a dropped
 * connection: Podman 4.3 now and then answers 500 "passing bulk input to
 * subprocess: ... broken pipe") is tried again, up to PUT_TRIES times. */
#define PUT_TRIES 3
static int send_inputs(struct ctx *c, const char *ref, const char *name, const char *path,
		       const struct jc_tar_opts *o, const struct inputs *in, jc_error *err)
{
	for (int i = 1;; i++) {
		struct progress p = { "sending", in->bytes, 0, false };
		int r = jc_transfer_put(c->engine, ref, name, path, o, in->v, in->n, progress_cb,
					&p, err);
		progress_end(&p);
		if (r == 0 || i >= PUT_TRIES || !err->retry || err->kind != JC_ERR_ENGINE)
			return r;
		jc_error_clear(err);
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
}

/* Through a never-started container: give the volume's root to the job's
 * user with the site's job_mode, then send `in` (may be empty) into it.
 * The engines differ: Docker skips a "." member, so only a member named
 * for the mount point, sent to "/", sets the root; Podman does not enter
 * a mount below the target path, so files must be sent to the mount
 * point itself, where its "." member sets the root.  Both are sent. */
static int volume_fill(struct ctx *c, const char *image, const char *user, uid_t uid, gid_t gid,
		       const char *volume, const char *supervisor, const struct inputs *in,
		       jc_error *err)
{
	cleanup_free char *id = NULL;
	struct jc_tar_opts root = { JC_TRANSFER_MOUNT + 1, c->cfg.job_mode & 0777, uid, gid };
	struct jc_tar_opts o = { ".", c->cfg.job_mode & 0777, uid, gid };
	struct inputs none = { 0 };
	jc_error undo = { 0 };
	int r;

	if (jc_transfer_open(c->engine, image, user, volume, c->cfg.site_name, supervisor, &id,
			     err) < 0)
		return -1;
	r = send_inputs(c, id, NULL, "/", &root, &none, err);
	if (r == 0)
		r = send_inputs(c, id, NULL, JC_TRANSFER_MOUNT, &o, in, err);
	if (r < 0)
		jc_error_wrap(err, "fill volume `%s` through a transfer container", volume);
	if (jc_backend_remove(c->engine, id, NULL, &undo) < 0 && r == 0) {
		*err = undo;
		return -1;
	}
	jc_error_clear(&undo);
	return r;
}

struct vol_run {
	struct ctx *c;
	const struct jc_plan *plan;
	const struct inputs *in;
	uid_t uid;
	gid_t gid;
	int base_fd;        /* transfer_dir */
	const char *output; /* --output DIR, or NULL */
	int out_fd;         /* DIR once open, else -1 */
	struct jc_extract_report rep;
	const struct jc_data *data; /* [mounts] as checked, or NULL */
};

static int vol_before_start(void *ctx, jc_error *err)
{
	struct vol_run *v = ctx;
	struct jc_tar_opts o = { ".", v->c->cfg.job_mode & 0777, v->uid, v->gid };

	if (v->data && jc_data_recheck(&v->c->cfg, v->data, err) < 0)
		return -1;
	if (!v->in->n)
		return 0;
	return send_inputs(v->c, v->plan->name, v->plan->name, v->plan->workdir, &o, v->in, err);
}

static int vol_after_exit(void *ctx, const char *id, jc_error *err)
{
	struct vol_run *v = ctx;
	cleanup_free char *path = NULL;

	if (!v->output)
		return 0;
	if (v->out_fd < 0 && open_output(v->base_fd, v->output, true, &v->out_fd, err) < 0)
		return -1;
	if (asprintf(&path, "%s/.", v->plan->workdir) < 0)
		return jc_error_oom(err);
	return fetch(v->c, id, v->plan->name, path, v->out_fd, &v->rep, err);
}

#define VOLUME_REMOVE_TRIES 10

/* run/start in volume mode: everything is checked before the volume is
 * made; from then on every failure removes what was made. */
static int run_volume(struct ctx *c, struct job_args *a, bool detach, jc_error *err, int *status)
{
	struct inputs in = { 0 };
	struct jc_plan *plan = NULL;
	struct jc_run_result res = { 0 };
	cleanup_free char *user = NULL;
	cleanup_free char *supervisor = NULL;
	cleanup_free char *volume = NULL;
	cleanup_free char *placeholder = NULL;
	cleanup_close int base = -1;
	cleanup_close int out_fd = -1;
	struct jc_data data = { 0 };
	struct vol_run v = { .c = c, .in = &in, .base_fd = -1, .out_fd = -1, .data = &data };
	char nonce[17];
	bool keep = a->keep_set || c->cfg.keep;
	uid_t uid;
	gid_t gid;
	int r = -1;

	if (!a->req.tenant)
		a->req.tenant = c->cfg.tenant;
	if (!a->req.run)
		a->req.run = c->cfg.run;
	if (detach && a->output)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "start: --output needs a supervised run (use run)");
	/* pure checks with a stand-in volume name */
	if (!(placeholder = jc_volume_name(a->req.tenant ? a->req.tenant : "",
					   a->req.run ? a->req.run : "", 0, 0)))
		return jc_error_oom(err);
	a->req.volume = placeholder;
	a->req.keep = keep;
	if (jc_plan_build(&c->cfg, &a->req, NULL, 0, &plan, err) < 0)
		return -1;
	jc_plan_free(plan);
	plan = NULL;
	if (setup_signals(c, !detach, err) < 0 || jc_data_open(&c->cfg, &data, err) < 0 ||
	    open_transfer_dir(c, &base, err) < 0 || open_inputs(base, &a->inputs, &in, err) < 0)
		goto out;
	/* checked now, made only when there is something to put in it */
	if (a->output && open_output(base, a->output, false, &out_fd, err) < 0)
		goto out;
	if (open_engine(c, err) < 0 ||
	    resolve_user(c, a->req.image ? a->req.image : c->cfg.image, -1, AUTO_NEEDS_DIR, true,
			 &user, &uid, &gid, err) < 0)
		goto out;
	if (make_nonce(nonce, err) < 0 || (!detach && jc_supervisor_self(&supervisor, err) < 0))
		goto out;
	a->req.nonce = nonce;
	a->req.supervisor = supervisor;
	if (jc_plan_build(&c->cfg, &a->req, user, (int64_t)time(NULL), &plan, err) < 0 ||
	    jc_plan_check_backend(plan, c->engine, err) < 0)
		goto out;
	jc_plan_free(plan);
	plan = NULL;

	struct jc_volume_spec spec = { c->cfg.site_name,   a->req.tenant, a->req.run,
				       a->req.job,         supervisor,    keep,
				       (int64_t)time(NULL) };
	if (jc_volume_make(c->engine, &spec, &volume, err) < 0)
		goto out;
	a->req.volume = volume;
	if (jc_plan_build(&c->cfg, &a->req, user, spec.created, &plan, err) < 0 ||
	    volume_fill(c, plan->image, user, uid, gid, volume, supervisor, &(struct inputs){ 0 },
			err) < 0)
		goto undo;

	v.plan = plan;
	v.uid = uid;
	v.gid = gid;
	v.base_fd = base;
	v.output = a->output;
	v.out_fd = out_fd;
	out_fd = -1; /* v owns it now */
	struct jc_supervise_opts o = {
		.signal_fd = c->signal_fd,
		.parent = detach ? 0 : c->parent,
		.sink = sink_fds,
		.detach = detach,
		.before_start = vol_before_start,
		.before_start_ctx = &v,
		.after_exit = vol_after_exit,
		.after_exit_ctx = &v,
	};
	if (jc_supervise_run(c->engine, plan, &o, &res, err) < 0) {
		report_refused(c, "output", &v.rep);
		goto undo;
	}
	report_refused(c, "output", &v.rep);
	if (detach) {
		if (c->json)
			printf("{\"job\":\"%s\",\"container\":\"%s\",\"volume\":\"%s\"}\n",
			       a->req.job, res.id, volume);
		else
			printf("%s\n", res.id);
		*status = 0;
		r = 0;
		goto out;
	}
	*status = res.timed_out ? EXIT_TIMEOUT : res.exit_code;
	if (keep) {
		fprintf(stderr, "jobcell: kept volume `%s`\n", volume);
	} else {
		jc_error rm = { 0 };
		if (jc_volume_remove_retry(c->engine, volume, VOLUME_REMOVE_TRIES, &rm) < 0) {
			cleanup_free char *line = printable_copy(rm.msg);
			fprintf(stderr, "jobcell: warning: volume `%s` left behind: %s\n", volume,
				line ? line : "");
		}
		jc_error_clear(&rm);
	}
	print_result(c, a->req.job, volume, &res, *status);
	r = 0;
	goto out;
undo:
	if (keep) {
		jc_error_wrap(err, "volume `%s` kept", volume); /* say which */
	} else {
		jc_error rm = { 0 };
		if (jc_volume_remove_retry(c->engine, volume, VOLUME_REMOVE_TRIES, &rm) < 0)
			jc_error_wrap(err, "volume `%s` left behind (%s)", volume, rm.msg);
		jc_error_clear(&rm);
	}
out:
	if (v.out_fd >= 0)
		close(v.out_fd);
	jc_extract_report_free(&v.rep);
	jc_run_result_free(&res);
	jc_plan_free(plan);
	inputs_free(&in);
	jc_data_close(&data);
	return r;
}

static int cmd_run(struct ctx *c, int argc, char **argv, bool detach)
{
	static const int run_opts[] = { OPT_IMAGE, OPT_ENV,    OPT_TIMEOUT, OPT_TENANT, OPT_RUN,
					OPT_INPUT, OPT_OUTPUT, OPT_KEEP,    OPT_SET,    0 };
	static const int start_opts[] = { OPT_IMAGE, OPT_ENV,  OPT_TENANT, OPT_RUN,
					  OPT_INPUT, OPT_KEEP, OPT_SET,    0 };
	struct job_args a = { 0 };
	struct jc_workspace ws = { .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 };
	struct jc_data data = { 0 };
	struct bind_run br = { &c->cfg, &ws, &data };
	struct jc_plan *plan = NULL;
	struct jc_run_result res = { 0 };
	cleanup_free char *user = NULL;
	cleanup_free char *supervisor = NULL;
	char nonce[17];
	jc_error err = { 0 };
	uid_t uid;
	gid_t gid;
	int status;

	status = parse_job_args(c, argc, argv, detach ? start_opts : run_opts, true, true, &a);
	if (status)
		goto out;
	status = EXIT_JOBCELL;
	if (load_config(c, &err) < 0 || apply_request(c, &a, &err) < 0)
		goto fail;
	if (c->cfg.ws_mode == JC_WS_VOLUME) {
		if (run_volume(c, &a, detach, &err, &status) < 0)
			goto fail;
		goto out;
	}
	if (a.req.tenant || a.req.run || a.inputs.n || a.output || a.keep_set) {
		jc_error_set(&err, JC_ERR_INPUT, EINVAL,
			     "%s: --tenant, --run, --input, --output and --keep need [workspace] "
			     "mode = volume",
			     argv[0]);
		goto fail;
	}
	/* pure checks first, then the disk, then the engine: bad input is
	 * refused before anything is created */
	if (jc_plan_build(&c->cfg, &a.req, NULL, 0, &plan, &err) < 0 ||
	    setup_signals(c, !detach, &err) < 0 || jc_ws_open(&ws, c->cfg.ws_path, &err) < 0 ||
	    jc_data_open(&c->cfg, &data, &err) < 0)
		goto fail;
	if (jc_ws_prepare_job(&ws, a.req.job, false, 0, 0, 0, &err) < 0 && err.status != ENOENT)
		goto fail;
	jc_error_clear(&err);
	if (open_engine(c, &err) < 0 || resolve_user(c, plan->image, ws.job_fd, AUTO_NEEDS_DIR,
						     true, &user, &uid, &gid, &err) < 0)
		goto fail;
	jc_plan_free(plan);
	plan = NULL;
	if (make_nonce(nonce, &err) < 0 || (!detach && jc_supervisor_self(&supervisor, &err) < 0))
		goto fail;
	a.req.nonce = nonce;
	a.req.supervisor = supervisor;
	/* the job directory was checked above; only a missing one is left to make */
	if (jc_plan_build(&c->cfg, &a.req, user, (int64_t)time(NULL), &plan, &err) < 0 ||
	    (ws.job_fd < 0 &&
	     jc_ws_prepare_job(&ws, a.req.job, true, c->cfg.job_mode, uid, gid, &err) < 0))
		goto fail;

	struct jc_supervise_opts o = {
		.signal_fd = c->signal_fd,
		.parent = detach ? 0 : c->parent,
		.sink = sink_fds,
		.detach = detach,
		.before_start = recheck,
		.before_start_ctx = &br,
	};
	if (jc_supervise_run(c->engine, plan, &o, &res, &err) < 0) {
		jc_ws_undo_job(&ws);
		goto fail;
	}
	if (detach) {
		if (c->json)
			printf("{\"job\":\"%s\",\"container\":\"%s\"}\n", a.req.job, res.id);
		else
			printf("%s\n", res.id);
		status = 0;
	} else {
		status = res.timed_out ? EXIT_TIMEOUT : res.exit_code;
		print_result(c, a.req.job, NULL, &res, status);
	}
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_run_result_free(&res);
	jc_plan_free(plan);
	jc_ws_close(&ws);
	jc_data_close(&data);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- plan ---- */

static int cmd_plan(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = {
		OPT_IMAGE, OPT_ENV, OPT_TIMEOUT, OPT_TENANT, OPT_RUN, OPT_SET, 0
	};
	struct job_args a = { 0 };
	struct jc_plan *plan = NULL;
	cleanup_free char *json = NULL;
	cleanup_free char *volume = NULL;
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, opts, true, true, &a);

	if (status)
		goto out;
	if (load_config(c, &err) < 0 || apply_request(c, &a, &err) < 0)
		goto fail;
	if (c->cfg.ws_mode == JC_WS_VOLUME) {
		/* the name the volume would get now; nothing is created */
		struct timespec ts;
		uint32_t rnd = 0;
		if (!a.req.tenant)
			a.req.tenant = c->cfg.tenant;
		if (!a.req.run)
			a.req.run = c->cfg.run;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (getrandom(&rnd, sizeof(rnd), 0) < 0)
			rnd = 0;
		if (!(volume =
			  jc_volume_name(a.req.tenant, a.req.run,
					 (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, rnd))) {
			jc_error_oom(&err);
			goto fail;
		}
		a.req.volume = volume;
		a.req.keep = c->cfg.keep;
	} else if (a.req.tenant || a.req.run) {
		jc_error_set(&err, JC_ERR_INPUT, EINVAL,
			     "plan: --tenant and --run need [workspace] mode = volume");
		goto fail;
	}
	if (jc_plan_build(&c->cfg, &a.req, NULL, (int64_t)time(NULL), &plan, &err) < 0 ||
	    !(json = jc_docker_create_body(plan, true, &err)))
		goto fail;
	printf("%s\n", json);
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_plan_free(plan);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- detached helpers: wait, stop, logs, rm, ps ---- */

/* A volume of this site that jobcell made: a name alone could be anyone's. */
static int site_volume(struct ctx *c, const char *name, jc_error *err)
{
	struct jc_volume v = { 0 };
	bool ours;

	if (jc_volume_name_check(name, err) < 0)
		return jc_error_wrap(err, "volume");
	if (jc_backend_volume_inspect(c->engine, name, &v, err) < 0)
		return -1;
	ours = v.labels.managed && v.labels.site && strcmp(v.labels.site, c->cfg.site_name) == 0;
	jc_volume_free(&v);
	if (!ours)
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "volume `%s` is not labelled as a volume of site `%s`", name,
				    c->cfg.site_name);
	return 0;
}

/* The container of a job of this site, by id (and its name), after checking that its
 * labels say so: a name alone could be anyone's. */
static int job_container(struct ctx *c, const char *job, struct jc_inspect *out, char **name_out,
			 jc_error *err)
{
	cleanup_free char *name = NULL;
	struct jc_inspect in = { 0 };
	bool ours;

	if (jc_name_check_job(job, &c->cfg.reserved, err) < 0)
		return -1;
	if (!(name = jc_container_name(c->cfg.site_name, job)))
		return jc_error_oom(err);
	if (jc_backend_inspect(c->engine, name, &in, err) < 0)
		return -1;
	ours = in.labels.managed && in.labels.job && strcmp(in.labels.job, job) == 0 &&
	       in.labels.site && strcmp(in.labels.site, c->cfg.site_name) == 0;
	if (!ours) {
		jc_inspect_free(&in);
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "container `%s` is not labelled as job `%s` of site `%s`", name,
				    job, c->cfg.site_name);
	}
	*out = in;
	*name_out = steal_pointer(&name);
	return 0;
}

static int cmd_detached(struct ctx *c, const char *cmd, int argc, char **argv)
{
	static const int wait_opts[] = { OPT_TIMEOUT, 0 }, stop_opts[] = { OPT_GRACE, 0 },
			 logs_opts[] = { OPT_FOLLOW, 0 }, no_opts[] = { 0 };
	const int *allowed = strcmp(cmd, "wait") == 0   ? wait_opts
			     : strcmp(cmd, "stop") == 0 ? stop_opts
			     : strcmp(cmd, "logs") == 0 ? logs_opts
							: no_opts;
	struct job_args a = { 0 };
	struct jc_inspect in = { 0 };
	cleanup_free char *name = NULL;
	const char *id;
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, allowed, true, false, &a);

	if (status)
		goto out;
	if (load_config(c, &err) < 0 || setup_signals(c, false, &err) < 0 ||
	    open_engine(c, &err) < 0 || job_container(c, a.req.job, &in, &name, &err) < 0)
		goto fail;
	id = in.id;
	if (strcmp(cmd, "wait") == 0) {
		int code = 0;
		int r = jc_supervise_wait(c->engine, id, name,
					  a.req.timeout_ms > 0 ? a.req.timeout_ms : 0, c->signal_fd,
					  &code, &err);
		if (r < 0)
			goto fail;
		status = r == 1 ? EXIT_TIMEOUT : code;
		if (c->json)
			printf("{\"job\":\"%s\",\"exit_code\":%d,\"timed_out\":%s}\n", a.req.job,
			       status, r == 1 ? "true" : "false");
	} else if (strcmp(cmd, "stop") == 0) {
		int64_t grace = a.grace_ms >= 0 ? a.grace_ms : c->cfg.stop_grace_ms;
		if (jc_backend_stop(c->engine, id, name, (int)((grace + 999) / 1000), &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "logs") == 0) {
		if (jc_supervise_logs(c->engine, id, name, a.follow, c->signal_fd, sink_fds, NULL,
				      &err) < 0)
			goto fail;
	} else {
		if (jc_backend_remove(c->engine, id, name, &err) < 0)
			goto fail;
		/* a volume-mode job's own volume goes with it, unless kept */
		if (in.labels.volume && !in.labels.keep &&
		    (site_volume(c, in.labels.volume, &err) < 0 ||
		     jc_volume_remove_retry(c->engine, in.labels.volume, VOLUME_REMOVE_TRIES,
					    &err) < 0))
			goto fail;
	}
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_inspect_free(&in);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* What `gc` would make of a container's supervisor. */
static const char *supervisor_state(const struct jc_inspect *in)
{
	if (!in->labels.supervisor)
		return "detached";
	switch (jc_supervisor_liveness(in->labels.supervisor)) {
	case JC_SUPERVISOR_ALIVE:
		return "alive";
	case JC_SUPERVISOR_DEAD:
		return "gone";
	case JC_SUPERVISOR_UNKNOWN:
		return "unknown";
	}
	return "?";
}

static int cmd_ps(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = { OPT_ALL, 0 };
	struct job_args a = { 0 };
	struct jc_container_list l = { 0 };
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, opts, false, false, &a);

	if (status)
		return status;
	if (load_config(c, &err) < 0 || open_engine(c, &err) < 0 ||
	    jc_backend_list(c->engine, c->cfg.site_name, a.all, &l, &err) < 0) {
		status = fail(c, &err);
		jc_error_clear(&err);
		return status;
	}
	if (c->json) {
		printf("[");
		for (size_t i = 0; i < l.n; i++) {
			printf("%s{\"job\":", i ? "," : "");
			json_string(stdout, l.items[i].labels.job);
			printf(",\"container\":");
			json_string(stdout, l.items[i].id);
			printf(",\"state\":");
			json_string(stdout, l.items[i].status);
			printf(",\"created\":");
			json_string(stdout, l.items[i].labels.created);
			printf(",\"supervisor\":\"%s\"}", supervisor_state(&l.items[i]));
		}
		printf("]\n");
	} else {
		printf("%-24s %-10s %-12s %-12s %s\n", "JOB", "STATE", "CREATED", "SUPERVISOR",
		       "CONTAINER");
		for (size_t i = 0; i < l.n; i++)
			printf("%-24s %-10s %-12s %-12s %.12s\n",
			       l.items[i].labels.job ? l.items[i].labels.job : "?",
			       l.items[i].status,
			       l.items[i].labels.created ? l.items[i].labels.created : "?",
			       supervisor_state(&l.items[i]), l.items[i].id);
	}
	jc_container_list_free(&l);
	return 0;
}

/* ---- volume and gc commands ---- */

static void print_volume(const struct ctx *c, const struct jc_volume *v, bool first)
{
	if (!c->json) {
		const struct jc_labels *l = &v->labels;
		printf("%-56s %-12s %-12s %-16s %-11s %s\n", v->name, l->tenant ? l->tenant : "-",
		       l->run ? l->run : "-", l->job ? l->job : "-", l->created ? l->created : "-",
		       l->keep         ? "kept"
		       : l->supervisor ? "supervised"
				       : "-");
		return;
	}
	printf("%s{\"volume\":", first ? "" : ",");
	json_string(stdout, v->name);
	printf(",\"tenant\":");
	json_string(stdout, v->labels.tenant);
	printf(",\"run\":");
	json_string(stdout, v->labels.run);
	printf(",\"job\":");
	json_string(stdout, v->labels.job);
	printf(",\"created\":");
	json_string(stdout, v->labels.created);
	printf(",\"keep\":%s}", v->labels.keep ? "true" : "false");
}

static int volume_put(struct ctx *c, const char *volume, const struct jc_strv *specs, jc_error *err)
{
	struct inputs in = { 0 };
	cleanup_free char *user = NULL;
	cleanup_free char *supervisor = NULL;
	cleanup_close int base = -1;
	uid_t uid;
	gid_t gid;
	int r = -1;

	if (!specs->n)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "volume put: no SRC[:DEST] given");
	if (!c->cfg.image)
		return jc_error_set(
		    err, JC_ERR_CONFIG, EINVAL,
		    "volume put: no [job] image to make the transfer container from");
	if (open_transfer_dir(c, &base, err) < 0 || open_inputs(base, specs, &in, err) < 0 ||
	    open_engine(c, err) < 0 || site_volume(c, volume, err) < 0 ||
	    resolve_user(c, c->cfg.image, -1, AUTO_IMAGE, false, &user, &uid, &gid, err) < 0)
		goto out;
	if (jc_supervisor_self(&supervisor, err) < 0)
		goto out;
	r = volume_fill(c, c->cfg.image, user, uid, gid, volume, supervisor, &in, err);
out:
	inputs_free(&in);
	return r;
}

/* Returns 1 when a member was refused. */
static int volume_get(struct ctx *c, const char *volume, const struct jc_strv *paths,
		      const char *to, jc_error *err)
{
	struct jc_extract_report rep = { 0 };
	cleanup_free char *id = NULL;
	cleanup_free char *supervisor = NULL;
	cleanup_close int base = -1;
	cleanup_close int out_fd = -1;
	jc_error undo = { 0 };
	int r = -1;

	if (!to)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "volume get: --to DIR is missing");
	for (size_t i = 0; i < paths->n; i++)
		if (jc_path_check(paths->v[i], "volume get PATH", err) < 0)
			return -1;
	if (!c->cfg.image)
		return jc_error_set(
		    err, JC_ERR_CONFIG, EINVAL,
		    "volume get: no [job] image to make the transfer container from");
	if (jc_supervisor_self(&supervisor, err) < 0 || open_transfer_dir(c, &base, err) < 0 ||
	    open_engine(c, err) < 0 || site_volume(c, volume, err) < 0 ||
	    open_output(base, to, true, &out_fd, err) < 0 ||
	    jc_transfer_open(c->engine, c->cfg.image, NULL, volume, c->cfg.site_name, supervisor,
			     &id, err) < 0)
		return -1;
	if (!paths->n) {
		r = fetch(c, id, NULL, JC_TRANSFER_MOUNT "/.", out_fd, &rep, err);
	} else {
		for (size_t i = 0; i < paths->n; i++) {
			cleanup_free char *p = NULL;
			if (asprintf(&p, "%s/%s", JC_TRANSFER_MOUNT, paths->v[i]) < 0) {
				r = jc_error_oom(err);
				break;
			}
			if ((r = fetch(c, id, NULL, p, out_fd, &rep, err)) < 0)
				break;
		}
	}
	if (jc_backend_remove(c->engine, id, NULL, &undo) < 0 && r == 0) {
		jc_error_set(err, undo.kind, undo.status, "%s", undo.msg);
		r = -1;
	}
	jc_error_clear(&undo);
	report_refused(c, "volume get", &rep);
	if (r == 0 && rep.refused)
		r = 1;
	jc_extract_report_free(&rep);
	return r;
}

static int cmd_volume(struct ctx *c, int argc, char **argv)
{
	static const int create_opts[] = { OPT_TENANT, OPT_RUN, 0 }, get_opts[] = { OPT_TO, 0 },
			 no_opts[] = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;
	struct job_args a = { .opts_anywhere = true };
	struct jc_volume_list l = { 0 };
	jc_error err = { 0 };
	int status, r = 0;

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
	if (load_config(c, &err) < 0)
		goto fail;
	if (strcmp(sub, "create") == 0) {
		cleanup_free char *name = NULL;
		struct jc_volume_spec spec = { c->cfg.site_name,
					       a.req.tenant ? a.req.tenant : c->cfg.tenant,
					       a.req.run ? a.req.run : c->cfg.run,
					       NULL,
					       NULL,
					       true,
					       (int64_t)time(NULL) };
		if (open_engine(c, &err) < 0 || jc_volume_make(c->engine, &spec, &name, &err) < 0)
			goto fail;
		if (c->json)
			printf("{\"volume\":\"%s\"}\n", name);
		else
			printf("%s\n", name);
	} else if (strcmp(sub, "ls") == 0) {
		if (open_engine(c, &err) < 0 ||
		    jc_backend_volume_list(c->engine, c->cfg.site_name, &l, &err) < 0)
			goto fail;
		if (c->json)
			printf("[");
		else
			printf("%-56s %-12s %-12s %-16s %-11s %s\n", "VOLUME", "TENANT", "RUN",
			       "JOB", "CREATED", "STATE");
		for (size_t i = 0; i < l.n; i++)
			print_volume(c, &l.items[i], i == 0);
		if (c->json)
			printf("]\n");
	} else if (strcmp(sub, "rm") == 0) {
		if (open_engine(c, &err) < 0)
			goto fail;
		if (site_volume(c, a.req.job, &err) < 0 ||
		    jc_volume_remove_retry(c->engine, a.req.job, VOLUME_REMOVE_TRIES, &err) < 0)
			goto fail;
		for (size_t i = 0; i < a.req.cmd.n; i++)
			if (site_volume(c, a.req.cmd.v[i], &err) < 0 ||
			    jc_volume_remove_retry(c->engine, a.req.cmd.v[i], VOLUME_REMOVE_TRIES,
						   &err) < 0)
				goto fail;
	} else if (strcmp(sub, "put") == 0) {
		/* signals keep their default: an interrupted transfer leaves a
		 * transfer container whose supervisor is gone, for gc */
		signal(SIGPIPE, SIG_IGN);
		if (volume_put(c, a.req.job, &a.req.cmd, &err) < 0)
			goto fail;
	} else {
		signal(SIGPIPE, SIG_IGN);
		if ((r = volume_get(c, a.req.job, &a.req.cmd, a.output, &err)) < 0)
			goto fail;
		status = r;
	}
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_volume_list_free(&l);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

struct gc_out {
	const struct ctx *c;
	size_t n;
};

static void gc_print(void *ctx, const struct jc_gc_item *it)
{
	struct gc_out *g = ctx;
	cleanup_free char *why = printable_copy(it->why);

	if (g->c->json) {
		printf("%s{\"kind\":\"%s\",\"name\":", g->n ? "," : "", it->kind);
		json_string(stdout, it->name);
		printf(",\"removed\":%s,\"why\":", it->removed ? "true" : "false");
		json_string(stdout, why);
		printf("}");
	} else {
		printf("%-8s %-9s %-64s %s\n", it->removed ? "removed" : "kept", it->kind, it->name,
		       why ? why : "");
	}
	g->n++;
}

static int cmd_gc(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = { OPT_OLDER, OPT_DRY, 0 };
	struct job_args a = { 0 };
	struct gc_out g = { c, 0 };
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, opts, false, false, &a);

	if (status)
		return status;
	if (load_config(c, &err) < 0 || open_engine(c, &err) < 0)
		goto fail;
	if (c->json)
		printf("{\"dry_run\":%s,\"items\":[", a.dry_run ? "true" : "false");
	else if (a.dry_run)
		printf("dry run: \"removed\" means \"would be removed\"\n");
	if (jc_gc(c->engine, c->cfg.site_name, a.older_than_ms, a.dry_run, gc_print, &g, &err) <
	    0) {
		if (c->json)
			printf("]}\n");
		goto fail;
	}
	if (c->json)
		printf("]}\n");
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- check ---- */

/* How long the probe may take when the site sets no shorter limit. */
#define CHECK_TIMEOUT_MS 60000

/* The probe's stdout, kept up to a bound (the rest is dropped, never held
 * back), and the start of its stderr. */
struct capture {
	char out[64 * 1024];
	size_t out_len;
	char err[1024];
	size_t err_len;
	bool cut;
};

static size_t sink_capture(void *ctx, int stream, const char *buf, size_t len)
{
	struct capture *cap = ctx;
	bool is_err = stream == 2;
	char *dst = is_err ? cap->err : cap->out;
	size_t size = is_err ? sizeof(cap->err) : sizeof(cap->out);
	size_t *n = is_err ? &cap->err_len : &cap->out_len;
	size_t take = len < size - *n ? len : size - *n;

	memcpy(dst + *n, buf, take);
	*n += take;
	if (take < len && !is_err)
		cap->cut = true;
	return len;
}

struct check_run {
	struct jc_workspace *ws; /* bind mode, else NULL */
	struct vol_run v;        /* what vol_before_start sends: the probe */
};

/* Just before the start: the workspace as checked (bind mode), then the
 * probe into the job directory through the archive endpoint, as run sends
 * inputs in volume mode. */
static int check_before_start(void *ctx, jc_error *err)
{
	struct check_run *k = ctx;

	if (k->ws && jc_ws_recheck(k->ws, err) < 0)
		return -1;
	return vol_before_start(&k->v, err);
}

/* A directory beside the job's with a file in it, readable by anyone: the
 * probe must not find it. */
static int make_sibling(int root_fd, const char *name, bool *made, jc_error *err)
{
	static const char marker[] = "jobcell check: no job may see this\n";
	cleanup_close int dfd = -1;
	cleanup_close int fd = -1;

	if (mkdirat(root_fd, name, 0755) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "check: create `%s`: %s", name,
				    strerror(errno));
	*made = true; /* from here on it is check's to remove */
	errno = 0;
	if ((dfd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchmod(dfd, 0755) < 0 ||
	    (fd = openat(dfd, "marker", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			 0644)) < 0 ||
	    write(fd, marker, sizeof(marker) - 1) != (ssize_t)(sizeof(marker) - 1))
		return jc_error_set(err, JC_ERR_WORKSPACE, errno ? errno : EIO,
				    "check: fill `%s`: %s", name, strerror(errno ? errno : EIO));
	return 0;
}

/* Remove what check made in the workspace; a failure to is an error of its
 * own, or is added to the first one. */
static int check_remove(int root_fd, const char *name, int r, jc_error *err)
{
	jc_error undo = { 0 };

	if (jc_check_remove_tree(root_fd, name, &undo) < 0) {
		if (r == 0)
			jc_error_set(err, undo.kind, undo.status, "%s left behind: %s", name,
				     undo.msg);
		else
			jc_error_wrap(err, "`%s` left behind (%s)", name, undo.msg);
		r = -1;
	}
	jc_error_clear(&undo);
	return r;
}

/* Bind mode, as cmd_run: the job directory is made new for the probe and
 * removed after it, and so is a sibling. */
static int check_bind(struct ctx *c, struct jc_job_request *req, const struct inputs *in,
		      const char *sibling, struct capture *cap, struct jc_run_result *res,
		      jc_error *err)
{
	struct jc_workspace ws = { .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 };
	struct jc_plan *plan = NULL;
	cleanup_free char *user = NULL;
	cleanup_free char *supervisor = NULL;
	struct jc_data data = { 0 };
	struct check_run k = { &ws,
			       { .c = c, .in = in, .base_fd = -1, .out_fd = -1, .data = &data } };
	bool sibling_made = false;
	char nonce[17];
	uid_t uid;
	gid_t gid;
	int r = -1;

	if (jc_plan_build(&c->cfg, req, NULL, 0, &plan, err) < 0)
		return -1;
	jc_plan_free(plan);
	plan = NULL;
	if (setup_signals(c, true, err) < 0 || jc_ws_open(&ws, c->cfg.ws_path, err) < 0 ||
	    jc_data_open(&c->cfg, &data, err) < 0)
		goto out;
	if (jc_ws_prepare_job(&ws, req->job, false, 0, 0, 0, err) == 0) {
		jc_error_set(err, JC_ERR_WORKSPACE, EEXIST,
			     "check: job directory `%s` exists already: not check's to use",
			     req->job);
		goto out;
	}
	if (err->status != ENOENT)
		goto out;
	jc_error_clear(err);
	if (resolve_user(c, req->image ? req->image : c->cfg.image, -1, AUTO_NOBODY, true, &user,
			 &uid, &gid, err) < 0 ||
	    make_nonce(nonce, err) < 0 || jc_supervisor_self(&supervisor, err) < 0)
		goto out;
	req->nonce = nonce;
	req->supervisor = supervisor;
	if (jc_plan_build(&c->cfg, req, user, (int64_t)time(NULL), &plan, err) < 0)
		goto out;
	if (make_sibling(ws.root_fd, sibling, &sibling_made, err) < 0)
		goto out;
	if (jc_ws_prepare_job(&ws, req->job, true, c->cfg.job_mode, uid, gid, err) < 0)
		goto out;
	if (!ws.job_created) {
		jc_error_set(err, JC_ERR_WORKSPACE, EEXIST,
			     "check: job directory `%s` appeared meanwhile", req->job);
		goto out;
	}

	k.v.plan = plan;
	k.v.uid = uid;
	k.v.gid = gid;
	struct jc_supervise_opts o = {
		.signal_fd = c->signal_fd,
		.parent = c->parent,
		.sink = sink_capture,
		.sink_ctx = cap,
		.before_start = check_before_start,
		.before_start_ctx = &k,
	};
	r = jc_supervise_run(c->engine, plan, &o, res, err);
out:
	if (ws.job_created)
		r = check_remove(ws.root_fd, req->job, r, err);
	if (sibling_made)
		r = check_remove(ws.root_fd, sibling, r, err);
	jc_ws_close(&ws);
	jc_data_close(&data);
	jc_plan_free(plan);
	return r;
}

/* Volume mode, as run_volume: a volume of the check job's own, removed
 * after it. */
static int check_volume(struct ctx *c, struct jc_job_request *req, const struct inputs *in,
			struct capture *cap, struct jc_run_result *res, jc_error *err)
{
	struct jc_plan *plan = NULL;
	cleanup_free char *user = NULL;
	cleanup_free char *supervisor = NULL;
	cleanup_free char *volume = NULL;
	cleanup_free char *placeholder = NULL;
	/* closed on every return, the early ones included */
	__attribute__((cleanup(jc_data_close))) struct jc_data data = { 0 };
	struct check_run k = { NULL,
			       { .c = c, .in = in, .base_fd = -1, .out_fd = -1, .data = &data } };
	jc_error rm = { 0 };
	char nonce[17];
	uid_t uid;
	gid_t gid;
	int r = -1;

	req->tenant = c->cfg.tenant;
	req->run = c->cfg.run;
	if (!(placeholder =
		  jc_volume_name(req->tenant ? req->tenant : "", req->run ? req->run : "", 0, 0)))
		return jc_error_oom(err);
	req->volume = placeholder;
	if (jc_plan_build(&c->cfg, req, NULL, 0, &plan, err) < 0)
		return -1;
	jc_plan_free(plan);
	plan = NULL;
	if (setup_signals(c, true, err) < 0 || jc_data_open(&c->cfg, &data, err) < 0)
		return -1;
	if (resolve_user(c, req->image ? req->image : c->cfg.image, -1, AUTO_NEEDS_DIR, true, &user,
			 &uid, &gid, err) < 0 ||
	    make_nonce(nonce, err) < 0 || jc_supervisor_self(&supervisor, err) < 0)
		return -1;
	req->nonce = nonce;
	req->supervisor = supervisor;
	if (jc_plan_build(&c->cfg, req, user, (int64_t)time(NULL), &plan, err) < 0 ||
	    jc_plan_check_backend(plan, c->engine, err) < 0) {
		jc_plan_free(plan);
		return -1;
	}
	jc_plan_free(plan);
	plan = NULL;

	struct jc_volume_spec spec = { c->cfg.site_name, req->tenant, req->run,           req->job,
				       supervisor,       false,       (int64_t)time(NULL) };
	if (jc_volume_make(c->engine, &spec, &volume, err) < 0)
		return -1;
	req->volume = volume;
	if (jc_plan_build(&c->cfg, req, user, spec.created, &plan, err) < 0 ||
	    volume_fill(c, plan->image, user, uid, gid, volume, supervisor, &(struct inputs){ 0 },
			err) < 0)
		goto out;

	k.v.plan = plan;
	k.v.uid = uid;
	k.v.gid = gid;
	struct jc_supervise_opts o = {
		.signal_fd = c->signal_fd,
		.parent = c->parent,
		.sink = sink_capture,
		.sink_ctx = cap,
		.before_start = check_before_start,
		.before_start_ctx = &k,
	};
	r = jc_supervise_run(c->engine, plan, &o, res, err);
out:
	if (jc_volume_remove_retry(c->engine, volume, VOLUME_REMOVE_TRIES, &rm) < 0) {
		if (r == 0)
			jc_error_set(err, rm.kind, rm.status, "volume `%s` left behind: %s", volume,
				     rm.msg);
		else
			jc_error_wrap(err, "volume `%s` left behind (%s)", volume, rm.msg);
		r = -1;
	}
	jc_error_clear(&rm);
	jc_plan_free(plan);
	return r;
}

/* Append the rows of `from` to `to`, emptying `from`. */
static int check_move_rows(struct jc_check_report *to, struct jc_check_report *from, jc_error *err)
{
	struct jc_check_row *rows = realloc(to->rows, (to->n + from->n) * sizeof(*rows) + 1);

	if (!rows)
		return jc_error_oom(err);
	memcpy(rows + to->n, from->rows, from->n * sizeof(*rows));
	to->rows = rows;
	to->n += from->n;
	free(from->rows);
	from->rows = NULL;
	from->n = 0;
	return 0;
}

/* Give every row of `r` the name prefix `prefix`. */
static int check_prefix_rows(struct jc_check_report *r, const char *prefix, jc_error *err)
{
	for (size_t i = 0; i < r->n; i++) {
		char *name = NULL;
		if (asprintf(&name, "%s%s", prefix, r->rows[i].name) < 0)
			return jc_error_oom(err);
		free(r->rows[i].name);
		r->rows[i].name = name;
	}
	return 0;
}

/* Run the probe as a job of the site and read its report into `rep`; with
 * `prefix`, each row's name starts with it (the run as root). */
static int check_isolation(struct ctx *c, const char *prefix, struct jc_check_report *rep,
			   jc_error *err)
{
	struct jc_job_request req = { .timeout_ms = -1 };
	struct jc_check_report promises = { 0 };
	struct inputs in = { 0 };
	struct jc_run_result res = { 0 };
	cleanup_free char *dir = NULL;
	cleanup_free struct capture *cap = calloc(1, sizeof(*cap));
	cleanup_close int dir_fd = -1;
	cleanup_free char *how = NULL; /* the probe row's detail */
	size_t how_len = 0;
	FILE *f;
	uint32_t rnd[2];
	char job[32], sibling[32];
	int r = -1;

	if (!cap)
		return jc_error_oom(err);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "getrandom: %s", strerror(errno));
	/* random names: a real job of the site is never touched */
	snprintf(job, sizeof(job), "check.%08" PRIx32, rnd[0]);
	snprintf(sibling, sizeof(sibling), "check.%08" PRIx32, rnd[1] ^ (rnd[0] == rnd[1]));
	if (jc_check_probe_dir(NULL, &dir, err) < 0)
		return -1;
	if ((dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return jc_error_set(err, JC_ERR_CONFIG, errno, "open `%s`: %s", dir,
				    strerror(errno));
	if (!(in.v = calloc(1, sizeof(*in.v))))
		return jc_error_oom(err);
	if (jc_input_open(JC_PROBE_NAME, dir_fd, &in.v[0], err) < 0)
		goto out;
	in.n = 1;
	if (jc_input_scan(in.v, in.n, &in.bytes, err) < 0)
		goto out;
	req.job = job;
	if (c->cfg.timeout_ms == 0 || c->cfg.timeout_ms > CHECK_TIMEOUT_MS)
		req.timeout_ms = CHECK_TIMEOUT_MS;
	if (jc_check_probe_cmd(&c->cfg, job, c->cfg.ws_mode == JC_WS_BIND ? sibling : NULL,
			       &req.cmd, err) < 0)
		goto out;
	/* the probe is the entrypoint: an image's own entrypoint would take the
	 * probe's command line as its arguments, and could print any report */
	if (jc_strv_push(&req.entrypoint, req.cmd.v[0]) < 0) {
		jc_error_oom(err);
		goto out;
	}
	free(req.cmd.v[0]);
	memmove(req.cmd.v, req.cmd.v + 1, (req.cmd.n - 1) * sizeof(*req.cmd.v));
	req.cmd.n--;
	req.cmd.v[req.cmd.n] = NULL;
	if (c->cfg.ws_mode == JC_WS_BIND)
		r = check_bind(c, &req, &in, sibling, cap, &res, err);
	else
		r = check_volume(c, &req, &in, cap, &res, err);
	if (r < 0)
		goto out;
	r = -1;
	if (res.signal) {
		jc_error_set(err, JC_ERR_SYSTEM, EINTR, "check: %s: the probe job was stopped",
			     res.parent_died ? "parent exited" : strsignal(res.signal));
		goto out;
	}

	/* the run itself, then every promise */
	if (jc_check_parse(&promises, cap->out, cap->out_len, err) < 0)
		goto out;
	/* a log stream that ended late (res.warning) is no failure of the probe's
	 * when its whole report has arrived */
	bool ran = res.exit_code == 0 && !res.timed_out && !cap->cut && promises.ended;
	if (!(f = open_memstream(&how, &how_len))) {
		jc_error_oom(err);
		goto out;
	}
	fprintf(f, "job `%s` of image `%s`: ", job, req.image ? req.image : c->cfg.image);
	if (res.timed_out)
		fprintf(f, "timed out");
	else
		fprintf(f, "exit %d", res.exit_code);
	fprintf(f, ", %zu bytes of report%s", cap->out_len,
		cap->cut          ? " (cut)"
		: !promises.ended ? " without its end line"
				  : "");
	if (promises.ignored)
		fprintf(f, "; %zu other line%s ignored, the first: `%s`", promises.ignored,
			promises.ignored == 1 ? "" : "s", promises.first_ignored);
	if (res.warning)
		fprintf(f, "; %s", res.warning);
	if (cap->err_len)
		fprintf(f, "; stderr: %.*s", (int)cap->err_len, cap->err);
	if (fclose(f) != 0 || !how) {
		jc_error_oom(err);
		goto out;
	}
	if (jc_check_add(&promises, "probe", ran ? JC_CHECK_KEPT : JC_CHECK_BROKEN, err, "%s",
			 how) < 0)
		goto out;
	/* the probe row first, as it was before the promises */
	{
		struct jc_check_row probe = promises.rows[promises.n - 1];
		memmove(promises.rows + 1, promises.rows, (promises.n - 1) * sizeof(probe));
		promises.rows[0] = probe;
	}
	if ((prefix && check_prefix_rows(&promises, prefix, err) < 0) ||
	    check_move_rows(rep, &promises, err) < 0)
		goto out;
	r = 0;
out:
	jc_run_result_free(&res);
	jc_check_report_free(&promises);
	jc_strv_free(&req.cmd);
	jc_strv_free(&req.entrypoint);
	inputs_free(&in);
	return r;
}

/* The table (or one JSON object), a line on stderr for each promise not
 * kept, and the exit status: 0 all kept, 1 some not, 125 when jobcell
 * itself failed (`err` set). */
static int check_print(const struct ctx *c, const struct jc_check_report *rep, const jc_error *err)
{
	cleanup_free char *line =
	    err ? printable_copy(err->msg ? err->msg : "unknown error") : NULL;
	bool ok = jc_check_ok(rep);
	int status = err ? EXIT_JOBCELL : ok ? 0 : 1;

	if (c->json) {
		printf("{\"ok\":%s,\"exit_code\":%d,\"rows\":[", ok && !err ? "true" : "false",
		       status);
		for (size_t i = 0; i < rep->n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_string(stdout, rep->rows[i].name);
			printf(",\"state\":\"%s\",\"detail\":",
			       jc_check_state_name(rep->rows[i].state));
			json_string(stdout, rep->rows[i].detail);
			printf("}");
		}
		printf("],\"error\":");
		if (err) {
			printf("{\"kind\":\"%s\",\"message\":", jc_error_kind_name(err->kind));
			json_string(stdout, line);
			printf(",\"errno\":\"%s\",\"retry\":%s}",
			       strerrorname_np(err->status) ? strerrorname_np(err->status) : "",
			       err->retry ? "true" : "false");
		} else {
			printf("null");
		}
		printf("}\n");
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
	if (err)
		fprintf(stderr, "jobcell: error: %s\n", line ? line : "out of memory");
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
	if (load_config(c, &err) < 0) {
		for (size_t i = 0; c->cfg_loaded && i < c->cfg.problems.n; i++)
			jc_check_add(&rep, "config", JC_CHECK_BROKEN, NULL, "%s",
				     c->cfg.problems.v[i]);
		if (!c->cfg_loaded || !c->cfg.problems.n)
			jc_check_add(&rep, "config", JC_CHECK_BROKEN, NULL, "%s",
				     err.msg ? err.msg : "?");
		goto fail;
	}
	if (jc_check_add(&rep, "config", JC_CHECK_KEPT, &err, "%s `%s` loads and validates",
			 c->config_file ? "file" : "site",
			 c->config_file ? c->config_file : c->site) < 0)
		goto fail;
	/* 2. the engine and what it supports */
	if (open_engine(c, &err) < 0) {
		jc_check_add(&rep, "engine", JC_CHECK_BROKEN, NULL, "%s", err.msg ? err.msg : "?");
		goto fail;
	}
	if (jc_check_engine(c->engine, &c->cfg, &rep, &err) < 0)
		goto fail;
	/* 3. the isolation, from inside a job of the site; where the site lets
	 * jobs run as root, again as root: uid 0 ignores mode bits, so only the
	 * mounts' read-only flags hold it */
	if (check_isolation(c, NULL, &rep, &err) < 0)
		goto fail;
	if (c->cfg.allow_root && !(c->cfg.user && strcmp(c->cfg.user, "0:0") == 0)) {
		char *site_user = c->cfg.user;
		c->cfg.user = "0:0";
		int r = check_isolation(c, "as-root:", &rep, &err);
		c->cfg.user = site_user;
		if (r < 0)
			goto fail;
	}
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "site", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .parent = getppid(), .signal_fd = -1 };
	const char *cmd;
	int o, status;

	/* a closed 0, 1 or 2 would be taken by the next descriptor opened (the
	 * signalfd, a socket) and job output would go there */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR | O_CLOEXEC) != fd)
			return EXIT_JOBCELL;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			c.config_file = optarg;
			break;
		case 's':
			c.site = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("jobcell %s\n", JC_VERSION);
			return 0;
		default:
			return usage_error(&c, "unknown option or missing value `%s`",
					   argv[optind - 1]);
		}
	}
	if (c.config_file && c.site)
		return usage_error(&c, "-c and --site exclude each other");
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
		printf("jobcell %s (engine API %s..%s)\n", JC_VERSION, JC_API_MIN, JC_API_MAX);
		status = 0;
	} else
		status = usage_error(&c, "unknown command `%s`", cmd);

	jc_backend_close(c.engine);
	if (c.cfg_loaded)
		jc_config_free(&c.cfg);
	if (c.signal_fd >= 0)
		close(c.signal_fd);
	fflush(stdout);
	return status;
}
