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
#include "jobcell.h"

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
	struct jc_engine *engine;
	int signal_fd;
};

static const char usage_text[] = "usage: jobcell [-c FILE | --site NAME] [--json] COMMAND [ARGS]\n"
				 "  run JOB [--image I] [--env K=V]... [--timeout D] [-- CMD...]\n"
				 "  start JOB [--image I] [--env K=V]... [-- CMD...]\n"
				 "  wait JOB [--timeout D]\n"
				 "  stop JOB [--grace D]\n"
				 "  logs JOB [--follow]\n"
				 "  rm JOB\n"
				 "  ps [--all]\n"
				 "  plan JOB [--image I] [--env K=V]... [--timeout D] [-- CMD...]\n"
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
	if (jc_engine_open(c->cfg.endpoint, c->cfg.engine_timeout_ms, &c->engine, err) < 0)
		return -1;
	return jc_engine_ping(c->engine, err);
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
};

static void job_args_free(struct job_args *a)
{
	jc_strv_free(&a->req.cmd);
	jc_strv_free(&a->req.env);
}

enum { OPT_IMAGE = 1, OPT_ENV, OPT_TIMEOUT, OPT_GRACE, OPT_FOLLOW, OPT_ALL };

static const struct {
	const char *name;
	int id;
	bool arg;
} sub_opts[] = {
	{ "--image", OPT_IMAGE, true },     { "--env", OPT_ENV, true },
	{ "--timeout", OPT_TIMEOUT, true }, { "--grace", OPT_GRACE, true },
	{ "--follow", OPT_FOLLOW, false },  { "-f", OPT_FOLLOW, false },
	{ "--all", OPT_ALL, false },
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

static int recheck(void *ws, jc_error *err)
{
	return jc_ws_recheck(ws, err);
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

/* The user the job runs as, numeric: the site's, else the image's. */
static int resolve_user(struct ctx *c, const char *image, char **user, uid_t *uid, gid_t *gid,
			jc_error *err)
{
	cleanup_free char *img_user = NULL;
	const char *u = c->cfg.user;
	char buf[32];

	if (!u) {
		if (jc_engine_image_user(c->engine, image, &img_user, err) < 0)
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
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)*uid, (unsigned)*gid);
	if (!(*user = strdup(buf)))
		return jc_error_oom(err);
	return 0;
}

static void print_result(const struct ctx *c, const char *job, const struct jc_run_result *r,
			 int status)
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
		fputs("}\n", stdout);
	}
}

static int cmd_run(struct ctx *c, int argc, char **argv, bool detach)
{
	static const int run_opts[] = { OPT_IMAGE, OPT_ENV, OPT_TIMEOUT, 0 };
	static const int start_opts[] = { OPT_IMAGE, OPT_ENV, 0 };
	struct job_args a = { 0 };
	struct jc_workspace ws = { .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 };
	struct jc_plan *plan = NULL;
	struct jc_run_result res = { 0 };
	cleanup_free char *user = NULL;
	char nonce[17];
	jc_error err = { 0 };
	uid_t uid;
	gid_t gid;
	int status;

	status = parse_job_args(c, argc, argv, detach ? start_opts : run_opts, true, true, &a);
	if (status)
		goto out;
	status = EXIT_JOBCELL;
	/* pure checks first, then the disk, then the engine: bad input is
	 * refused before anything is created */
	if (load_config(c, &err) < 0 || jc_plan_build(&c->cfg, &a.req, NULL, 0, &plan, &err) < 0 ||
	    setup_signals(c, !detach, &err) < 0 || jc_ws_open(&ws, c->cfg.ws_path, &err) < 0)
		goto fail;
	if (jc_ws_prepare_job(&ws, a.req.job, false, 0, 0, 0, &err) < 0 && err.status != ENOENT)
		goto fail;
	jc_error_clear(&err);
	if (open_engine(c, &err) < 0 || resolve_user(c, plan->image, &user, &uid, &gid, &err) < 0)
		goto fail;
	jc_plan_free(plan);
	plan = NULL;
	if (make_nonce(nonce, &err) < 0)
		goto fail;
	a.req.nonce = nonce;
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
		.before_start_ctx = &ws,
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
		print_result(c, a.req.job, &res, status);
	}
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_run_result_free(&res);
	jc_plan_free(plan);
	jc_ws_close(&ws);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- plan ---- */

static int cmd_plan(struct ctx *c, int argc, char **argv)
{
	static const int opts[] = { OPT_IMAGE, OPT_ENV, OPT_TIMEOUT, 0 };
	struct job_args a = { 0 };
	struct jc_plan *plan = NULL;
	cleanup_free char *json = NULL;
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, opts, true, true, &a);

	if (status)
		goto out;
	if (load_config(c, &err) < 0 ||
	    jc_plan_build(&c->cfg, &a.req, NULL, (int64_t)time(NULL), &plan, &err) < 0 ||
	    !(json = jc_request_create_json(plan, true, &err))) {
		status = fail(c, &err);
		goto out;
	}
	printf("%s\n", json);
out:
	jc_plan_free(plan);
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
}

/* ---- detached helpers: wait, stop, logs, rm, ps ---- */

/* The container of a job of this site, by id (and its name), after checking that its
 * labels say so: a name alone could be anyone's. */
static int job_container(struct ctx *c, const char *job, char **id, char **name_out, jc_error *err)
{
	cleanup_free char *name = NULL;
	struct jc_inspect in = { 0 };
	bool ours;

	if (jc_name_check_job(job, &c->cfg.reserved, err) < 0)
		return -1;
	if (!(name = jc_container_name(c->cfg.site_name, job)))
		return jc_error_oom(err);
	if (jc_engine_inspect(c->engine, name, &in, err) < 0)
		return -1;
	ours = in.managed && in.job && strcmp(in.job, job) == 0 && in.site &&
	       strcmp(in.site, c->cfg.site_name) == 0;
	if (!ours) {
		jc_inspect_free(&in);
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "container `%s` is not labelled as job `%s` of site `%s`", name,
				    job, c->cfg.site_name);
	}
	*id = steal_pointer(&in.id);
	*name_out = steal_pointer(&name);
	jc_inspect_free(&in);
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
	cleanup_free char *id = NULL;
	cleanup_free char *name = NULL;
	jc_error err = { 0 };
	int status = parse_job_args(c, argc, argv, allowed, true, false, &a);

	if (status)
		goto out;
	if (load_config(c, &err) < 0 || setup_signals(c, false, &err) < 0 ||
	    open_engine(c, &err) < 0 || job_container(c, a.req.job, &id, &name, &err) < 0)
		goto fail;
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
		if (jc_engine_stop(c->engine, id, name, (int)((grace + 999) / 1000), &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "logs") == 0) {
		if (jc_supervise_logs(c->engine, id, name, a.follow, c->signal_fd, sink_fds, NULL,
				      &err) < 0)
			goto fail;
	} else if (jc_engine_remove(c->engine, id, name, &err) < 0) {
		goto fail;
	}
	goto out;
fail:
	status = fail(c, &err);
out:
	jc_error_clear(&err);
	job_args_free(&a);
	return status;
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
	    jc_engine_list(c->engine, c->cfg.site_name, a.all, &l, &err) < 0) {
		status = fail(c, &err);
		jc_error_clear(&err);
		return status;
	}
	if (c->json) {
		printf("[");
		for (size_t i = 0; i < l.n; i++) {
			printf("%s{\"job\":", i ? "," : "");
			json_string(stdout, l.items[i].job);
			printf(",\"container\":");
			json_string(stdout, l.items[i].id);
			printf(",\"state\":");
			json_string(stdout, l.items[i].status);
			printf(",\"created\":");
			json_string(stdout, l.items[i].created);
			printf("}");
		}
		printf("]\n");
	} else {
		printf("%-24s %-10s %-12s %s\n", "JOB", "STATE", "CREATED", "CONTAINER");
		for (size_t i = 0; i < l.n; i++)
			printf("%-24s %-10s %-12s %.12s\n", l.items[i].job ? l.items[i].job : "?",
			       l.items[i].status, l.items[i].created ? l.items[i].created : "?",
			       l.items[i].id);
	}
	jc_container_list_free(&l);
	return 0;
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
	else if (strcmp(cmd, "version") == 0) {
		printf("jobcell %s (engine API %s..%s)\n", JC_VERSION, JC_API_MIN, JC_API_MAX);
		status = 0;
	} else
		status = usage_error(&c, "unknown command `%s`", cmd);

	jc_engine_close(c.engine);
	if (c.cfg_loaded)
		jc_config_free(&c.cfg);
	if (c.signal_fd >= 0)
		close(c.signal_fd);
	fflush(stdout);
	return status;
}
