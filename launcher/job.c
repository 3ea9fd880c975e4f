/* One job's life, once: check the request, open the workspace, resolve the
 * user, make the job's directory or volume, build the plan, stage inputs,
 * create, start, supervise, collect outputs, release.  `run`, `start` and
 * `check` all go through launch() below; the bind and the volume workspace
 * are strategies of it (struct ws_ops), not copies of it.
 *
 * Everything a request can get wrong is refused before anything is
 * created; from the first thing made on, a failure undoes what was made
 * (the container by supervise.c, the directory or volume by release). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "backend.h"
#include "cgroup.h"
#include "fsutil.h"
#include "cleanup.h"
#include "data.h"
#include "enginelock.h"
#include "job.h"
#include "mount_gate.h"
#include "mount_proof.h"
#include "names.h"
#include "plan.h"
#include "feed.h"
#include "slurm.h"
#include "supervise.h"
#include "volume.h"
#include "workspace.h"

struct jc_job {
	jc_site *site;
	struct jc_config cfg; /* the site's, with the request's overrides */
	char *name;
	struct jc_strv cmd, entrypoint, env;
	char *tenant, *run, *output;
	bool keep;
	struct jc_strv inputs; /* SRC[:DEST] */
	struct jc_strv chained; /* VOLUME:PATH, --mount-volume */
	int input_base;        /* where inputs resolve: -1 for transfer_dir */
	bool fresh;            /* check: a new directory or volume, removed after */
	enum jc_auto_user auto_user;
	int fds[2]; /* stdout, stderr */
	int signal_fd;
	pid_t parent;
	int stdin_fd; /* the caller's stdin passed to the job's (run -i), or -1 */
	jc_sink_fn sink;
	void *sink_ctx;
	struct jc_stage_progress progress;
	void (*started)(void *ctx, const char *id);
	void *started_ctx;
	bool launched;
	/* the outcome */
	char *container, *volume, *warning, *output_warning;
	bool volume_kept;
	struct jc_extract_report rep;
	/* the output fetch failed after the job ran: the error, and the job's
	 * outcome, which still stands */
	jc_error output_err;
	struct jc_job_outcome outcome;
	bool ran;
};

/* ---- the request -------------------------------------------------------- */

int jc_job_new(jc_site *site, const char *name, jc_job **out, jc_error *err)
{
	jc_job *j;

	if (jc_name_check_job(name, &site->cfg.reserved, err) < 0)
		return -1;
	if (!(j = calloc(1, sizeof(*j))))
		return jc_error_oom(err);
	j->site = site;
	j->input_base = -1;
	j->fds[0] = STDOUT_FILENO;
	j->fds[1] = STDERR_FILENO;
	j->signal_fd = -1;
	j->stdin_fd = -1;
	j->auto_user = JC_AUTO_NEEDS_DIR;
	if (jc_config_copy(&j->cfg, &site->cfg, err) < 0) {
		free(j);
		return -1;
	}
	if (!(j->name = strdup(name))) {
		jc_job_free(j);
		return jc_error_oom(err);
	}
	*out = j;
	return 0;
}

void jc_job_free(jc_job *j)
{
	if (!j)
		return;
	jc_config_free(&j->cfg);
	jc_strv_free(&j->cmd);
	jc_strv_free(&j->entrypoint);
	jc_strv_free(&j->env);
	jc_strv_free(&j->inputs);
	jc_strv_free(&j->chained);
	jc_extract_report_free(&j->rep);
	jc_error_clear(&j->output_err);
	free(j->name);
	free(j->tenant);
	free(j->run);
	free(j->output);
	free(j->container);
	free(j->volume);
	free(j->warning);
	free(j->output_warning);
	free(j);
}

/* --entrypoint: one word, an absolute path or a name looked up in the
 * image's PATH; "" clears the image's entrypoint.  The engine execs it
 * as it is, so only its shape is judged here. */
static int set_entrypoint(jc_job *j, const char *word, jc_error *err)
{
	struct jc_strv v = { 0 };

	if (!jc_config_overridable(&j->cfg, "entrypoint"))
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "job request sets `entrypoint`, which the site does not list "
				    "in [job] overridable");
	if (strlen(word) > 4096)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request --entrypoint: longer than 4096 bytes");
	for (const char *c = word; *c; c++)
		if (*c <= ' ' || *c > '~')
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "job request --entrypoint: not one word of printable "
					    "characters (no spaces)");
	if (*word != '/' && strchr(word, '/'))
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request --entrypoint `%s`: an absolute path or a name, "
				    "not a relative path",
				    word);
	if (jc_strv_push(&v, word) < 0)
		return jc_error_oom(err);
	jc_strv_free(&j->entrypoint);
	j->entrypoint = v;
	return 0;
}

int jc_job_set(jc_job *j, const char *key, const char *value, jc_error *err)
{
	if (strcmp(key, "entrypoint") == 0)
		return set_entrypoint(j, value, err);
	return jc_config_override(&j->cfg, key, value, err);
}

int jc_job_add_env(jc_job *j, const char *entry, jc_error *err)
{
	if (jc_name_check_env(entry, err) < 0)
		return -1;
	return jc_strv_push(&j->env, entry) < 0 ? jc_error_oom(err) : 0;
}

int jc_job_add_arg(jc_job *j, const char *arg, jc_error *err)
{
	return jc_strv_push(&j->cmd, arg) < 0 ? jc_error_oom(err) : 0;
}

int jc_job_set_entrypoint(jc_job *j, const char *arg, jc_error *err)
{
	return jc_strv_push(&j->entrypoint, arg) < 0 ? jc_error_oom(err) : 0;
}

/* What only volume mode has: `what` names the request's input. */
static int volume_only(const jc_job *j, const char *what, jc_error *err)
{
	if (j->cfg.ws_mode == JC_WS_VOLUME)
		return 0;
	return jc_error_set(err, JC_ERR_INPUT, EINVAL,
			    "%s: tenant, run, inputs, output and keep need [workspace] mode = "
			    "volume (site `%s` is in bind mode)",
			    what, j->cfg.site_name);
}

static int set_str(char **field, const char *value, jc_error *err)
{
	char *s = strdup(value);

	if (!s)
		return jc_error_oom(err);
	free(*field);
	*field = s;
	return 0;
}

int jc_job_set_tenant(jc_job *j, const char *tenant, jc_error *err)
{
	if (volume_only(j, "tenant", err) < 0 || jc_name_check(tenant, "tenant", err) < 0)
		return -1;
	return set_str(&j->tenant, tenant, err);
}

int jc_job_set_run(jc_job *j, const char *run, jc_error *err)
{
	if (volume_only(j, "run", err) < 0 || jc_name_check(run, "run", err) < 0)
		return -1;
	return set_str(&j->run, run, err);
}

int jc_job_add_input(jc_job *j, const char *spec, jc_error *err)
{
	if (volume_only(j, "input", err) < 0)
		return -1;
	return jc_strv_push(&j->inputs, spec) < 0 ? jc_error_oom(err) : 0;
}

int jc_job_add_volume_mount(jc_job *j, const char *spec, jc_error *err)
{
	cleanup_free char *name = NULL;
	const char *path;

	if (jc_plan_check_chained(&j->cfg, &j->chained, spec, &name, &path, err) < 0)
		return -1;
	return jc_strv_push(&j->chained, spec) < 0 ? jc_error_oom(err) : 0;
}

int jc_job_add_input_at(jc_job *j, int base_fd, const char *spec, jc_error *err)
{
	j->input_base = base_fd;
	return jc_strv_push(&j->inputs, spec) < 0 ? jc_error_oom(err) : 0;
}

int jc_job_set_output(jc_job *j, const char *dir, jc_error *err)
{
	if (volume_only(j, "output directory", err) < 0 ||
	    jc_path_check(dir, "output directory", err) < 0)
		return -1;
	return set_str(&j->output, dir, err);
}

int jc_job_set_keep(jc_job *j, bool keep, jc_error *err)
{
	if (keep && volume_only(j, "keep", err) < 0)
		return -1;
	j->keep = keep;
	return 0;
}

void jc_job_set_output_fds(jc_job *j, int out_fd, int err_fd)
{
	j->fds[0] = out_fd;
	j->fds[1] = err_fd;
}

void jc_job_set_signal_fd(jc_job *j, int fd)
{
	j->signal_fd = fd;
}

void jc_job_set_parent(jc_job *j, pid_t parent)
{
	j->parent = parent;
}

int jc_job_set_stdin(jc_job *j, int fd, jc_error *err)
{
	if (fd < -1)
		return jc_error_set(err, JC_ERR_INPUT, EBADF, "job `%s`: stdin: bad descriptor %d",
				    j->name, fd);
	j->stdin_fd = fd;
	return 0;
}

void jc_job_set_sink(jc_job *j, jc_sink_fn sink, void *ctx)
{
	j->sink = sink;
	j->sink_ctx = ctx;
}

void jc_job_set_started(jc_job *j, void (*fn)(void *ctx, const char *id), void *ctx)
{
	j->started = fn;
	j->started_ctx = ctx;
}

void jc_job_set_progress(jc_job *j, jc_stage_progress_fn fn, void *ctx)
{
	j->progress = (struct jc_stage_progress){ fn, ctx };
}

struct jc_config *jc_job_config(jc_job *j)
{
	return &j->cfg;
}

void jc_job_set_fresh(jc_job *j, enum jc_auto_user au)
{
	j->fresh = true;
	j->auto_user = au;
}

const char *jc_job_container(const jc_job *j)
{
	return j->container;
}

const char *jc_job_volume(const jc_job *j)
{
	return j->volume;
}

const char *jc_job_warning(const jc_job *j)
{
	return j->warning ? j->warning : j->output_warning;
}

const char *jc_job_output_warning(const jc_job *j)
{
	return j->output_warning;
}

const struct jc_job_outcome *jc_job_ran(const jc_job *j)
{
	return j->ran ? &j->outcome : NULL;
}

const struct jc_extract_report *jc_job_extract_report(const jc_job *j)
{
	return &j->rep;
}

bool jc_job_volume_kept(const jc_job *j)
{
	return j->volume_kept;
}

/* ---- job output ----------------------------------------------------------- */

/* Write what the fd takes now, never blocking: a caller that stops reading
 * pauses the job's output stream, not the supervision of the job.  After
 * POLLOUT a write of at most PIPE_BUF does not block on a pipe.  Returns
 * how much was taken. */
size_t jc_sink_fds(void *ctx, int stream, const char *buf, size_t len)
{
	const int *fds = ctx;
	int fd = stream == 2 ? fds[1] : fds[0];
	size_t done = 0;

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

/* ---- one launch ------------------------------------------------------------- */

struct launch {
	jc_job *j;
	const struct ws_ops *ws_ops;
	struct jc_backend *e;
	struct jc_job_request req;
	struct jc_workspace ws;  /* bind mode */
	struct jc_data data;     /* [mounts] as checked */
	struct jc_inputs in;     /* opened and scanned */
	int base_fd;             /* transfer_dir when opened, else -1 */
	int out_fd;              /* the output directory once open, else -1 */
	struct jc_image img;     /* what the image says of itself */
	char *user;              /* "uid:gid" */
	uid_t uid;
	gid_t gid;
	char nonce[17];
	char *supervisor;        /* NULL for a detached job */
	char *volume;            /* volume mode, once made */
	char volume_nonce[17];   /* its jobcell.nonce */
	int64_t created;         /* unix seconds, for the labels */
	int64_t deadline;        /* jobcell.deadline, unix seconds; 0: none */
	struct jc_plan *plan;
	/* bind mode: the mounts the gate compares, and its report */
	struct jc_gate_mount *gate;
	size_t ngate;
	jc_sink_fn sink;
	void *sink_ctx;
	char gate_line[512];
	bool gate_said;
	int lock_fd; /* the engine lock while it is held, else -1 */
	struct jc_slurm_alloc slurm; /* what the site's `slurm` values found */
};

/* A workspace strategy: what differs between a job directory on disk and
 * a volume of the job's own. */
struct ws_ops {
	/* check what exists before anything is made */
	int (*open)(struct launch *l, jc_error *err);
	/* the job directory the user may come from (auto), or -1 */
	int (*job_fd)(const struct launch *l);
	/* make the job's directory or volume, for l->uid:l->gid */
	int (*make)(struct launch *l, jc_error *err);
	/* just before the start: what was checked is still what it was (may
	 * be NULL) */
	int (*recheck)(struct launch *l, jc_error *err);
	/* after the job, or after a failure (`failed`): remove what was made
	 * unless it is to stay; may fail the run or add to err */
	int (*release)(struct launch *l, bool failed, jc_error *err);
};

/* -- bind mode: the job directory in the site workspace -- */

static int bind_open(struct launch *l, jc_error *err)
{
	jc_job *j = l->j;

	if (jc_ws_open(&l->ws, j->cfg.ws_path, err) < 0)
		return -1;
	if (jc_ws_prepare_job(&l->ws, j->name, false, 0, 0, 0, err) == 0) {
		if (j->fresh)
			return jc_error_set(err, JC_ERR_WORKSPACE, EEXIST,
					    "check: job directory `%s` exists already: not check's "
					    "to use",
					    j->name);
		return 0;
	}
	if (err->status != ENOENT)
		return -1;
	jc_error_clear(err);
	return 0;
}

static int bind_job_fd(const struct launch *l)
{
	return l->ws.job_fd;
}

static int bind_make(struct launch *l, jc_error *err)
{
	jc_job *j = l->j;

	/* the job directory was checked by open; only a missing one is left */
	if (l->ws.job_fd >= 0)
		return 0;
	if (jc_ws_prepare_job(&l->ws, j->name, true, j->cfg.job_mode, l->uid, l->gid, err) < 0)
		return -1;
	if (j->fresh && !l->ws.job_created)
		return jc_error_set(err, JC_ERR_WORKSPACE, EEXIST,
				    "check: job directory `%s` appeared meanwhile", j->name);
	return 0;
}

static int bind_recheck(struct launch *l, jc_error *err)
{
	return jc_ws_recheck(&l->ws, err);
}

static int bind_release(struct launch *l, bool failed, jc_error *err)
{
	if (l->j->fresh && l->ws.job_created)
		return jc_check_remove_made(l->ws.root_fd, l->j->name, failed, err);
	if (failed)
		jc_ws_undo_job(&l->ws); /* only an empty one it made */
	return failed ? -1 : 0;
}

static const struct ws_ops bind_ops = {
	.open = bind_open,
	.job_fd = bind_job_fd,
	.make = bind_make,
	.recheck = bind_recheck,
	.release = bind_release,
};

/* -- volume mode: a volume of the job's own -- */

static int volume_open(struct launch *l, jc_error *err)
{
	jc_job *j = l->j;

	/* checked now, made only when there is something to put in it */
	if (j->output && jc_fs_open_dir(l->base_fd, j->output, "output directory", false,
					&l->out_fd, err) < 0)
		return -1;
	return 0;
}

static int volume_job_fd(const struct launch *l)
{
	(void)l;
	return -1;
}

static int volume_make(struct launch *l, jc_error *err)
{
	const struct jc_volume_spec spec = {
		.site = l->j->cfg.site_name,
		.tenant = l->req.tenant,
		.run = l->req.run,
		.job = l->req.job,
		.supervisor = l->supervisor,
		.keep = l->req.keep,
		.created = l->created,
		/* a kept volume outlives the job: only `volume rm` ends it */
		.deadline = l->req.keep ? 0 : l->deadline,
		.size = l->j->cfg.volume_size,
	};

	if (jc_volume_make(l->e, &spec, &l->volume, l->volume_nonce, err) < 0)
		return -1;
	l->req.volume = l->volume;
	l->req.volume_nonce = l->volume_nonce;
	return 0;
}

static int volume_release(struct launch *l, bool failed, jc_error *err)
{
	jc_job *j = l->j;
	jc_error rm = { 0 };

	if (!l->volume)
		return failed ? -1 : 0;
	if (l->req.keep) {
		if (failed)
			return jc_error_wrap(err, "volume `%s` kept", l->volume); /* say which */
		j->volume_kept = true;
		return 0;
	}
	if (jc_volume_remove_retry(l->e, l->volume, JC_VOLUME_REMOVE_TRIES, &rm) == 0)
		return failed ? -1 : 0;
	if (failed)
		jc_error_wrap(err, "volume `%s` left behind (%s)", l->volume, rm.msg);
	else if (j->fresh) /* check: what it makes it must remove */
		jc_error_set(err, rm.kind, rm.status, "volume `%s` left behind: %s", l->volume,
			     rm.msg);
	else if (asprintf(&j->warning, "volume `%s` left behind: %s", l->volume, rm.msg) < 0)
		j->warning = NULL;
	jc_error_clear(&rm);
	return failed || j->fresh ? -1 : 0;
}

static const struct ws_ops volume_ops = {
	.open = volume_open,
	.job_fd = volume_job_fd,
	.make = volume_make,
	.release = volume_release,
};

/* -- the mount gate (bind mode): the mounts compared from inside, by the
 * gate as the container's entrypoint, before the job's command runs;
 * docs/security.md "Check to mount" -- */

/* What jobcell checked: the job directory, startup/, local/, [mounts]. */
static int gate_mounts(struct launch *l, jc_error *err)
{
	const struct jc_config *cfg = &l->j->cfg;
	const struct { const char *kind, *name; int fd; } ws[] = {
		{ NULL, "startup", l->ws.startup_fd },
		{ NULL, "local", l->ws.local_fd },
		{ "job directory", l->j->name, l->ws.job_fd },
	};
	struct stat st;

	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		/* the job directory at [workspace] job_path when set: split
		 * into its directory and last name, as the gate joins them */
		const char *dir = cfg->mount_point, *name = ws[i].name;
		cleanup_free char *parent = NULL;
		if (ws[i].kind && cfg->job_path) {
			const char *slash = strrchr(cfg->job_path, '/');
			if (!(parent = strndup(
				  cfg->job_path,
				  slash == cfg->job_path ? 1 : (size_t)(slash - cfg->job_path))))
				return jc_error_oom(err);
			dir = parent;
			name = slash + 1;
		}
		if (fstat(ws[i].fd, &st) < 0)
			return jc_error_set(err, JC_ERR_SYSTEM, errno, "fstat `%s`: %s",
					    ws[i].name, strerror(errno));
		if (jc_gate_mounts_add(&l->gate, &l->ngate, ws[i].kind, dir, name, st.st_dev,
				       st.st_ino, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < l->data.n; i++)
		if (jc_gate_mounts_add(&l->gate, &l->ngate, "data mount", cfg->data_mount_point,
				       l->data.m[i].name, l->data.m[i].dev, l->data.m[i].ino,
				       err) < 0)
			return -1;
	return 0;
}

/* Put the gate in front of the job's command.  Not with [workspace]
 * host_path: jobcell in a container does not know where the engine's host
 * has the gate. */
static int gate_plan(struct launch *l, jc_error *err)
{
	const struct jc_config *cfg = &l->j->cfg;
	struct jc_strv argv = { 0 };
	cleanup_free char *dir = NULL;
	cleanup_free char *src = NULL;
	int r = -1;

	if (cfg->ws_mode != JC_WS_BIND || cfg->ws_host_path)
		return 0;
	if (jc_check_helper_dir(NULL, JC_GATE_NAME, "mount gate", &dir, err) < 0 ||
	    gate_mounts(l, err) < 0)
		return -1;
	if (asprintf(&src, "%s/%s", dir, JC_GATE_NAME) < 0) {
		src = NULL;
		return jc_error_oom(err);
	}
	if (jc_gate_argv(&l->req.entrypoint, &l->req.cmd, &l->img.entrypoint, &l->img.cmd,
			 l->plan->image, &argv, err) < 0 ||
	    jc_gate_apply(l->plan, src, l->nonce, l->gate, l->ngate, &argv, err) < 0)
		goto out;
	r = 0;
out:
	jc_strv_free(&argv);
	return r;
}

/* The job's output on its way out: a stderr piece that starts as this
 * run's gate report is kept, not passed on (the gate writes it in one
 * write, and the job never ran after it). */
static size_t gate_sink(void *ctx, int stream, const char *buf, size_t len)
{
	struct launch *l = ctx;
	char head[64];
	size_t hl = (size_t)snprintf(head, sizeof(head), "jobcell-gate %s ", l->nonce);

	if (stream == 2 && !l->gate_said && len >= hl && memcmp(buf, head, hl) == 0) {
		size_t n = len < sizeof(l->gate_line) - 1 ? len : sizeof(l->gate_line) - 1;
		const char *nl = memchr(buf, '\n', n);
		if (nl)
			n = (size_t)(nl - buf);
		memcpy(l->gate_line, buf, n);
		l->gate_line[n] = '\0';
		l->gate_said = true;
		return len;
	}
	return l->sink(l->sink_ctx, stream, buf, len);
}

/* After the run: the gate's report, when it refused, as the run's error. */
static int gate_verdict(struct launch *l, struct jc_run_result *res, jc_error *err)
{
	if (!l->gate || !l->gate_said)
		return 0;
	if (!jc_gate_report(l->gate_line, l->nonce, l->plan->name, l->gate, l->ngate, err))
		return 0;
	jc_run_result_free(res);
	*res = (struct jc_run_result){ 0 };
	return -1;
}

/* The engine could not run the gate itself: its source is not where the
 * engine looks (jobcell in a container without [workspace] host_path, and
 * an engine that makes a missing bind source a directory, as Podman 4.3
 * does).  That is jobcell's failure, not the job's command's (126, 127). */
static int gate_not_run(const struct launch *l, jc_error *err)
{
	if (!l->gate || (err->kind != JC_ERR_CMD_NOT_EXEC && err->kind != JC_ERR_CMD_NOT_FOUND) ||
	    !err->msg || !strstr(err->msg, JC_GATE_TARGET))
		return -1;
	err->kind = JC_ERR_ENGINE;
	return jc_error_wrap(err, "mount gate `%s` did not run in the container (does the engine "
				  "see jobcell's files at the same paths?)",
			     JC_GATE_TARGET);
}

/* -- the steps shared by both -- */

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

/* Each chained volume is the tenant's and kept: asked of the engine before
 * anything is made (names alone could be anyone's). */
static int check_chained(struct launch *l, jc_error *err)
{
	for (size_t i = 0; i < l->req.chained.n; i++) {
		const char *spec = l->req.chained.v[i], *colon = strchr(spec, ':');
		cleanup_free char *name = strndup(spec, (size_t)(colon - spec));
		struct jc_volume v = { 0 };
		int r;

		if (!name)
			return jc_error_oom(err);
		if (jc_backend_volume_inspect(l->e, name, &v, err) < 0)
			return jc_error_wrap(err, "--mount-volume `%s`", name);
		r = jc_policy_chained_volume(&l->j->cfg, l->req.tenant, &v, err);
		jc_volume_free(&v);
		if (r < 0)
			return jc_error_wrap(err, "--mount-volume");
	}
	return 0;
}

/* A container of the job's name exists already: a detached `start` of it,
 * which holds no lock on its directory once jobcell returned, or one left
 * behind.  Refused before anything is made, rather than failing the create
 * with a conflict after the directory or volume was made for nothing. */
static int check_no_container(struct launch *l, jc_error *err)
{
	cleanup_free char *name = jc_container_name(l->j->cfg.site_name, l->j->name);
	struct jc_inspect in = { 0 };

	if (!name)
		return jc_error_oom(err);
	if (jc_backend_inspect(l->e, name, &in, err) < 0) {
		if (err->status != ENOENT)
			return -1;
		jc_error_clear(err);
		return 0;
	}
	if (in.running)
		jc_error_set(err, JC_ERR_INPUT, EEXIST,
			     "job `%s` is running: its container `%s` exists", l->j->name, name);
	else
		jc_error_set(err, JC_ERR_INPUT, EEXIST,
			     "job `%s` has a container already: `%s` is %s (remove it with "
			     "`jobcell rm %s`)",
			     l->j->name, name, in.status ? in.status : "there", l->j->name);
	jc_inspect_free(&in);
	return -1;
}

/* The request as the plan takes it.  The request's own settings (image,
 * timeout, --set) are in j->cfg already, through the override rules. */
static int make_request(struct launch *l, bool detach, jc_error *err)
{
	extern char **environ;
	jc_job *j = l->j;

	if (detach && j->output)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "start: --output needs a supervised run (use run)");
	l->req = (struct jc_job_request){
		.job = j->name,
		.cmd = j->cmd,
		.entrypoint = j->entrypoint,
		.env = j->env,
		.chained = j->chained,
		.timeout_ms = -1,
	};
	if (j->cfg.ws_mode == JC_WS_VOLUME) {
		l->req.tenant = j->tenant ? j->tenant : j->cfg.tenant;
		l->req.run = j->run ? j->run : j->cfg.run;
		l->req.keep = !j->fresh && (j->keep || j->cfg.keep);
	}
	/* check's probe outside a Slurm job: the isolation it tests does not
	 * depend on the allocation, and check reports the `slurm` values in
	 * rows of their own */
	l->req.slurm_absent = j->fresh && !getenv("SLURM_JOB_ID");
	if (!l->req.slurm_absent && jc_slurm_collect(&j->cfg, environ, &l->slurm, err) < 0)
		return -1;
	l->req.slurm_gpus = l->slurm.job_id ? &l->slurm.gpus : NULL;
	l->req.slurm_cgroup = l->slurm.cgroup_parent;
	/* the allocation's end bounds the timeout from now; before_start
	 * takes it again from the start, after the staging */
	if (l->slurm.end_s && jc_slurm_timeout(&j->cfg, l->slurm.end_s, jc_unix_ms(),
					       j->cfg.timeout_ms, &l->req.timeout_ms, err) < 0)
		return -1;
	return jc_pass_env_collect(&j->cfg, environ, &l->req.passed_env, err);
}

/* [job] cgroup_parent against the engine's cgroup driver and version:
 * a parent the driver cannot take would fail the create, or be taken as
 * another path. */
static int check_cgroup(struct launch *l, jc_error *err)
{
	const struct jc_config *cfg = &l->j->cfg;
	struct jc_engine_cgroups eng = { 0 };
	bool slurm;

	if (!cfg->cgroup_parent)
		return 0;
	slurm = strcmp(cfg->cgroup_parent, "slurm") == 0;
	if (slurm && l->req.slurm_absent)
		return 0;
	if (jc_backend_cgroups(l->e, &eng, err) < 0)
		return -1;
	return jc_cgroup_parent_check(slurm ? l->slurm.cgroup_parent : cfg->cgroup_parent, slurm,
				      l->slurm.cgroup_version, &eng, err);
}

/* The engine mounted what jobcell checked (mount_proof.h): in bind mode
 * the job directory, startup/ and local/, in both modes each [mounts]
 * entry, asked of the created container. */
static int prove_mounts(struct launch *l, jc_error *err)
{
	const struct jc_config *cfg = &l->j->cfg;
	const bool bind = cfg->ws_mode == JC_WS_BIND;
	const char *ws_hint = cfg->ws_host_path
				      ? "is [workspace] host_path right?"
				      : "does the engine see [workspace] path as jobcell does? "
					"jobcell in a container needs host_path";
	const struct { const char *name; int fd; } ws[] = {
		{ l->j->name, l->ws.job_fd },
		{ "startup", l->ws.startup_fd },
		{ "local", l->ws.local_fd },
	};
	size_t nws = bind ? sizeof(ws) / sizeof(ws[0]) : 0, n = 0;
	struct jc_proof_mount *m = calloc(nws + l->data.n + 1, sizeof(*m));
	char **targets = calloc(nws + l->data.n + 1, sizeof(*targets));
	int r = -1;

	if (!m || !targets) {
		jc_error_oom(err);
		goto out;
	}
	for (size_t i = 0; i < nws + l->data.n; i++, n++) {
		bool d = i >= nws;
		const char *name = d ? l->data.m[i - nws].name : ws[i].name;
		const char *dir = d ? cfg->data_mount_point : cfg->mount_point;
		size_t dl = strlen(dir);

		/* the plan's rule for a target (plan.c): one `/` between; the
		 * job's own at [workspace] job_path when set */
		if (!d && i == 0 && cfg->job_path)
			targets[i] = strdup(cfg->job_path);
		else if (asprintf(&targets[i], "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/",
				  name) < 0)
			targets[i] = NULL;
		if (!targets[i]) {
			jc_error_oom(err);
			goto out;
		}
		m[i] = (struct jc_proof_mount){
			.kind = d ? "data mount" : "mount",
			.name = name,
			.target = targets[i],
			.fd = d ? l->data.m[i - nws].fd : ws[i].fd,
			.hint = d ? "does the engine see [mounts] at the paths jobcell checked?"
				  : ws_hint,
			.gate_checks = l->gate != NULL,
		};
	}
	r = jc_mount_prove(l->e, l->plan->name, l->j->name, m, n, err);
out:
	for (size_t i = 0; targets && i < n; i++)
		free(targets[i]);
	free(targets);
	free(m);
	return r;
}

/* Between create and start: what was checked is still there, the engine
 * mounted it, then the inputs go into the job's directory (volume mode,
 * and check's probe).  In volume mode the archive goes in even without
 * inputs: its "/" member gives the volume's root to the job's user with
 * job_mode (archive.h), so no other container is needed for that. */
static int before_start(void *ctx, jc_error *err)
{
	struct launch *l = ctx;
	bool volume = l->j->cfg.ws_mode == JC_WS_VOLUME;
	struct jc_tar_opts o = { volume ? JC_TAR_ROOT_TARGET : ".", l->j->cfg.job_mode & 0777,
				 l->uid, l->gid };

	jc_enginelock_release(&l->lock_fd); /* the container is made */
	if ((l->ws_ops->recheck && l->ws_ops->recheck(l, err) < 0) ||
	    jc_data_recheck(&l->j->cfg, &l->data, err) < 0 || prove_mounts(l, err) < 0)
		return -1;
	if ((l->in.n || volume) &&
	    jc_stage_in(l->e, l->plan->name, l->plan->name, l->plan->workdir, &o, &l->in,
			&l->j->progress, err) < 0)
		return -1;
	/* timeout_from = slurm: what is left of the allocation at the start
	 * (the supervisor counts the timeout from there) */
	if (l->slurm.end_s)
		return jc_slurm_timeout(&l->j->cfg, l->slurm.end_s, jc_unix_ms(),
					l->plan->timeout_ms, &l->plan->timeout_ms, err);
	return 0;
}

/* After the exit, before the container goes: the job's directory into the
 * output directory, made now if it was missing. */
static int after_exit(void *ctx, const char *id, jc_error *err)
{
	struct launch *l = ctx;
	cleanup_free char *path = NULL;
	struct jc_extract_limits lim;

	if (!l->j->output)
		return 0;
	if (l->out_fd < 0 && jc_fs_open_dir(l->base_fd, l->j->output, "output directory", true,
					    &l->out_fd, err) < 0)
		return -1;
	if (asprintf(&path, "%s/.", l->plan->workdir) < 0)
		return jc_error_oom(err);
	jc_stage_limits(&l->j->cfg, &lim);
	if (jc_stage_out(l->e, id, l->plan->name, path, l->out_fd, &lim, &l->j->rep,
			 &l->j->progress, err) < 0) {
		/* the job has run: its container and volume go as after any run,
		 * and its status is reported beside this error */
		jc_error_wrap(err, "output of job `%s` into `%s`", l->j->name, l->j->output);
		l->j->output_err = *err;
		*err = (jc_error){ 0 };
	}
	jc_extract_limits_free(&lim);
	return 0;
}

/* Podman creates containers that share two named volumes one at a time or
 * deadlocks (podman#20313), and every volume-mode job of a site mounts the
 * site's two: the create goes under the site's engine lock, released by
 * before_start once the container is made (enginelock.h). */
static int lock_create(struct launch *l, bool detach, jc_error *err)
{
	const struct jc_config *cfg = &l->j->cfg;
	cleanup_free char *what = NULL;

	if (cfg->ws_mode != JC_WS_VOLUME ||
	    jc_backend_supports(l->e, JC_FEATURE_CONCURRENT_CREATE, NULL))
		return 0;
	if (asprintf(&what, "create container `%s`", l->plan->name) < 0) {
		what = NULL;
		return jc_error_oom(err);
	}
	return jc_enginelock_take(cfg->lock_dir, cfg->site_name, cfg->endpoint,
				  cfg->engine_timeout_ms, l->j->signal_fd,
				  detach ? 0 : l->j->parent, what, &l->lock_fd, err);
}

static void launch_free(struct launch *l)
{
	jc_enginelock_release(&l->lock_fd);
	jc_slurm_alloc_free(&l->slurm);
	jc_plan_free(l->plan);
	jc_strv_free(&l->req.passed_env);
	jc_inputs_free(&l->in);
	jc_data_close(&l->data);
	jc_ws_close(&l->ws);
	if (l->base_fd >= 0)
		close(l->base_fd);
	if (l->out_fd >= 0)
		close(l->out_fd);
	jc_image_free(&l->img);
	free(l->user);
	free(l->supervisor);
	free(l->volume);
	jc_gate_mounts_free(l->gate, l->ngate);
}

/* The pipeline.  `detach`: return once the job runs (start). */
static int launch(jc_job *j, bool detach, struct jc_run_result *res, jc_error *err)
{
	struct launch l = {
		.j = j,
		.ws_ops = j->cfg.ws_mode == JC_WS_VOLUME ? &volume_ops : &bind_ops,
		.ws = { .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 },
		.base_fd = -1,
		.out_fd = -1,
		.lock_fd = -1,
	};
	const char *image;
	struct jc_feed *feed = NULL;
	struct jc_cancel saved_cancel = { -1, 0, 0 };
	enum jc_cancel_state saved_state = JC_CANCEL_OFF;
	bool made = false;
	int r = -1;

	if (j->launched) {
		jc_error_set(err, JC_ERR_INPUT, EALREADY, "job `%s` was launched already", j->name);
		goto out;
	}
	j->launched = true;
	image = j->cfg.image;
	/* 1. the request alone: bad input is refused before anything is opened */
	if (make_request(&l, detach, err) < 0 || jc_plan_check(&j->cfg, &l.req, err) < 0)
		goto out;
	if (j->stdin_fd >= 0 && detach) {
		/* nothing would read it once start returns */
		jc_error_set(err, JC_ERR_INPUT, EINVAL,
			     "job `%s`: stdin needs `run`: a started job has no caller to pass it",
			     j->name);
		goto out;
	}
	if (j->stdin_fd >= 0 && jc_feed_open(j->stdin_fd, &feed, err) < 0)
		goto out;
	/* 2. what exists: the workspace, the data mounts, the inputs */
	if (j->inputs.n || j->output) {
		if (j->input_base >= 0) {
			if ((l.base_fd = dup(j->input_base)) < 0) {
				jc_error_set(err, JC_ERR_SYSTEM, errno, "dup: %s", strerror(errno));
				goto out;
			}
		} else if (jc_stage_open_base(&j->cfg, &l.base_fd, err) < 0) {
			goto out;
		}
	}
	if (l.ws_ops->open(&l, err) < 0 || jc_data_open(&j->cfg, &l.data, err) < 0 ||
	    jc_inputs_open(l.base_fd, &j->inputs, &l.in, err) < 0)
		goto out;
	/* 3. the engine, the image (none with labels of jobcell's), and who
	 * the job runs as */
	if (jc_site_backend(j->site, &l.e, err) < 0)
		goto out;
	/* one deadline for all this run makes (a `start` has no supervisor,
	 * and this is what bounds it: gc); from here on a signal, the
	 * parent's death or that deadline gives up whatever engine request is
	 * in flight (a transfer of any size included), so that no request
	 * outlives the label gc trusts.  The undo that follows runs with its
	 * own bounds. */
	l.created = jc_unix_ms() / 1000;
	l.deadline = jc_plan_deadline(&j->cfg, &l.req, l.created);
	l.req.deadline = l.deadline;
	saved_cancel = l.e->cancel;
	saved_state = l.e->cancel_state;
	jc_backend_set_cancel(l.e, &(struct jc_cancel){
				       .signal_fd = j->signal_fd,
				       .parent = detach ? 0 : j->parent,
				       .deadline_ms = l.deadline ? jc_mono_ms() + l.deadline * 1000 -
								       jc_unix_ms()
								 : 0 });
	if (jc_plan_check_backend(&j->cfg, l.e, err) < 0 || check_cgroup(&l, err) < 0 ||
	    jc_policy_image(l.e, image, &l.img, err) < 0 ||
	    jc_policy_user(&j->cfg, image, l.img.user, l.ws_ops->job_fd(&l), j->auto_user, true,
			   &l.user, &l.uid, &l.gid, err) < 0 ||
	    check_no_container(&l, err) < 0 || check_chained(&l, err) < 0)
		goto out;
	if (make_nonce(l.nonce, err) < 0 || (!detach && jc_supervisor_self(&l.supervisor, err) < 0))
		goto out;
	l.req.nonce = l.nonce;
	l.req.supervisor = l.supervisor;
	/* 4. from here on, what is made is undone on failure */
	made = true;
	if (l.ws_ops->make(&l, err) < 0 ||
	    jc_plan_build(&j->cfg, &l.req, l.user, l.created, &l.plan, err) < 0 ||
	    gate_plan(&l, err) < 0)
		goto out;
	l.plan->open_stdin = feed != NULL;
	/* 5. create, stage in, start, supervise, collect, remove the container */
	l.sink = j->sink ? j->sink : jc_sink_fds;
	l.sink_ctx = j->sink ? j->sink_ctx : j->fds;
	struct jc_supervise_opts o = {
		.signal_fd = j->signal_fd,
		.parent = detach ? 0 : j->parent,
		.sink = l.gate ? gate_sink : l.sink,
		.sink_ctx = l.gate ? (void *)&l : l.sink_ctx,
		.detach = detach,
		.feed = feed,
		.before_start = before_start,
		.before_start_ctx = &l,
		.after_exit = after_exit,
		.after_exit_ctx = &l,
		.after_start = j->started,
		.after_start_ctx = j->started_ctx,
	};
	if (lock_create(&l, detach, err) < 0)
		goto out;
	if (jc_supervise_run(l.e, l.plan, &o, res, err) < 0) {
		/* before the volume's removal, which may take retries */
		jc_enginelock_release(&l.lock_fd);
		gate_not_run(&l, err);
		goto out;
	}
	if (gate_verdict(&l, res, err) < 0)
		goto out;
	r = 0;
out:
	/* 6. release: a started job keeps its directory or volume; a finished
	 * one keeps it only when asked.  Never cancelled (the saved cancel
	 * comes back below). */
	if (l.e)
		jc_backend_hold_cancel(l.e);
	if (made && !(r == 0 && detach))
		r = l.ws_ops->release(&l, r < 0, err);
	if (l.volume && !j->volume)
		j->volume = steal_pointer(&l.volume);
	if (l.e) { /* the site's engine outlives the job */
		l.e->cancel = saved_cancel;
		l.e->cancel_state = saved_state;
	}
	launch_free(&l);
	jc_feed_free(feed);
	return r;
}

int jc_job_run(jc_job *j, struct jc_job_outcome *out, jc_error *err)
{
	struct jc_run_result res = { 0 };
	struct jc_job_outcome o;

	if (launch(j, false, &res, err) < 0)
		return -1;
	free(j->container);
	j->container = steal_pointer(&res.id);
	free(j->output_warning);
	j->output_warning = steal_pointer(&res.warning);
	o = (struct jc_job_outcome){
		.exit_status = jc_exit_status_of_outcome(res.exit_code, res.timed_out),
		.job_status = res.exit_code,
		.timed_out = res.timed_out,
		.oom_killed = res.oom_killed,
		.parent_died = res.parent_died,
		.signal = res.signal,
	};
	jc_run_result_free(&res);
	if (j->output_err.msg) {
		j->outcome = o;
		j->ran = true;
		*err = j->output_err;
		j->output_err = (jc_error){ 0 };
		return -1;
	}
	*out = o;
	return 0;
}

int jc_job_start(jc_job *j, jc_error *err)
{
	struct jc_run_result res = { 0 };

	if (launch(j, true, &res, err) < 0)
		return -1;
	free(j->container);
	j->container = steal_pointer(&res.id);
	jc_run_result_free(&res);
	return 0;
}

int jc_job_plan(jc_job *j, char **json, jc_error *err)
{
	struct launch l = { .j = j };
	uint32_t rnd = 0;
	int r = -1;

	if (make_request(&l, false, err) < 0)
		goto out;
	if (j->cfg.ws_mode == JC_WS_VOLUME) {
		/* the name the volume would get now; nothing is created */
		if (getrandom(&rnd, sizeof(rnd), 0) < 0)
			rnd = 0;
		if (jc_plan_check(&j->cfg, &l.req, err) < 0)
			goto out;
		if (!(l.volume = jc_volume_name(l.req.tenant, l.req.run, jc_unix_ms(), rnd))) {
			jc_error_oom(err);
			goto out;
		}
		l.req.volume = l.volume;
	}
	l.created = jc_unix_ms() / 1000;
	l.req.deadline = jc_plan_deadline(&j->cfg, &l.req, l.created);
	if (jc_plan_build(&j->cfg, &l.req, NULL, l.created, &l.plan, err) < 0 ||
	    jc_backend_open(&j->cfg, &l.e, err) < 0 ||
	    !(*json = jc_backend_create_request(l.e, l.plan, err)))
		goto out;
	r = 0;
out:
	if (l.e)
		jc_backend_close(l.e);
	jc_plan_free(l.plan);
	jc_strv_free(&l.req.passed_env);
	jc_slurm_alloc_free(&l.slurm);
	free(l.volume);
	return r;
}
