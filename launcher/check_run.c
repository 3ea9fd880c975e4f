/* `jobcell check` beyond the configuration: the engine's rows, then the
 * isolation probe run as a job of the site through the same pipeline as
 * any job (job.c), with its output captured instead of passed on. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "job.h"
#include "workspace.h"

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

/* A directory beside the job's with a file in it, readable by anyone: the
 * probe must not find it.  *made once it is check's to remove. */
static int make_sibling(int root_fd, const char *name, bool *made, jc_error *err)
{
	static const char marker[] = "jobcell check: no job may see this\n";
	cleanup_close int dfd = -1;
	cleanup_close int fd = -1;

	if (mkdirat(root_fd, name, 0755) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "check: create `%s`: %s", name,
				    strerror(errno));
	*made = true;
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

/* The probe job: its entrypoint the probe (an image's own entrypoint would
 * take the probe's command line as its arguments, and could print any
 * report), its only input the probe, sent in through the archive endpoint
 * so that any image works. */
static int probe_job(jc_site *site, const struct jc_check_opts *o, const char *user,
		     const char *job, const char *sibling, int dir_fd, struct capture *cap,
		     jc_job **out, jc_error *err)
{
	const struct jc_config *cfg = jc_site_config(site);
	struct jc_strv cmd = { 0 };
	jc_job *j = NULL;
	int r = -1;

	if (jc_job_new(site, job, &j, err) < 0)
		return -1;
	if (user) {
		struct jc_config *jcfg = jc_job_config(j);
		free(jcfg->user);
		if (!(jcfg->user = strdup(user))) {
			jc_error_oom(err);
			goto out;
		}
	}
	if (cfg->timeout_ms == 0 || cfg->timeout_ms > CHECK_TIMEOUT_MS)
		jc_job_config(j)->timeout_ms = CHECK_TIMEOUT_MS;
	if (jc_check_probe_cmd(cfg, job, sibling, &cmd, err) < 0 ||
	    jc_job_set_entrypoint(j, cmd.v[0], err) < 0)
		goto out;
	for (size_t i = 1; i < cmd.n; i++)
		if (jc_job_add_arg(j, cmd.v[i], err) < 0)
			goto out;
	if (jc_job_add_input_at(j, dir_fd, JC_PROBE_NAME, err) < 0)
		goto out;
	jc_job_set_fresh(j, cfg->ws_mode == JC_WS_BIND ? JC_AUTO_NOBODY : JC_AUTO_NEEDS_DIR);
	jc_job_set_sink(j, sink_capture, cap);
	jc_job_set_signal_fd(j, o->signal_fd);
	jc_job_set_parent(j, o->parent);
	*out = steal_pointer(&j);
	r = 0;
out:
	jc_strv_free(&cmd);
	jc_job_free(j);
	return r;
}

/* Append the rows of `from` to `to`, emptying `from`; with `prefix`, each
 * row's name starts with it. */
static int move_rows(struct jc_check_report *to, struct jc_check_report *from, const char *prefix,
		     jc_error *err)
{
	struct jc_check_row *rows;

	for (size_t i = 0; prefix && i < from->n; i++) {
		char *name = NULL;
		if (asprintf(&name, "%s%s", prefix, from->rows[i].name) < 0)
			return jc_error_oom(err);
		free(from->rows[i].name);
		from->rows[i].name = name;
	}
	if (!(rows = realloc(to->rows, (to->n + from->n) * sizeof(*rows) + 1)))
		return jc_error_oom(err);
	memcpy(rows + to->n, from->rows, from->n * sizeof(*rows));
	to->rows = rows;
	to->n += from->n;
	free(from->rows);
	from->rows = NULL;
	from->n = 0;
	return 0;
}

/* The probe row's detail: how the run went. */
static char *describe(const char *job, const char *image, const struct jc_job_outcome *res,
		      const struct capture *cap, const struct jc_check_report *promises,
		      const char *warning)
{
	char *how = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&how, &len);

	if (!f)
		return NULL;
	fprintf(f, "job `%s` of image `%s`: ", job, image);
	if (res->timed_out)
		fprintf(f, "timed out");
	else
		fprintf(f, "exit %d", res->job_status);
	fprintf(f, ", %zu bytes of report%s", cap->out_len,
		cap->cut          ? " (cut)"
		: !promises->ended ? " without its end line"
				   : "");
	if (promises->ignored)
		fprintf(f, "; %zu other line%s ignored, the first: `%s`", promises->ignored,
			promises->ignored == 1 ? "" : "s", promises->first_ignored);
	if (warning)
		fprintf(f, "; %s", warning);
	if (cap->err_len)
		fprintf(f, "; stderr: %.*s", (int)cap->err_len, cap->err);
	if (fclose(f) != 0) {
		free(how);
		return NULL;
	}
	return how;
}

/* Run the probe as a job of the site (as `user` when not NULL) and read its
 * report into `rep`, each row's name starting with `prefix` (may be NULL). */
static int isolation(jc_site *site, const struct jc_check_opts *o, const char *user,
		     const char *prefix, struct jc_check_report *rep, jc_error *err)
{
	const struct jc_config *cfg = jc_site_config(site);
	struct jc_check_report promises = { 0 };
	struct jc_job_outcome res = { 0 };
	struct jc_workspace ws = { .root_fd = -1, .startup_fd = -1, .local_fd = -1, .job_fd = -1 };
	jc_job *j = NULL;
	cleanup_free char *dir = NULL;
	cleanup_free char *how = NULL;
	cleanup_free struct capture *cap = calloc(1, sizeof(*cap));
	cleanup_close int dir_fd = -1;
	bool bind = cfg->ws_mode == JC_WS_BIND, sibling_made = false;
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
	if (probe_job(site, o, user, job, bind ? sibling : NULL, dir_fd, cap, &j, err) < 0)
		return -1;
	/* bind mode: a sibling with a marker in it, which the probe must not see */
	if (bind && (jc_ws_open(&ws, cfg->ws_path, err) < 0 ||
		     make_sibling(ws.root_fd, sibling, &sibling_made, err) < 0))
		goto out;
	if (jc_job_run(j, &res, err) < 0)
		goto out;
	if (res.signal) {
		jc_error_set(err, JC_ERR_SYSTEM, EINTR, "check: %s: the probe job was stopped",
			     res.parent_died ? "parent exited" : strsignal(res.signal));
		goto out;
	}
	/* the run itself, then every promise */
	if (jc_check_parse(&promises, cap->out, cap->out_len, err) < 0)
		goto out;
	/* a log stream that ended late (a warning) is no failure of the
	 * probe's when its whole report has arrived */
	bool ran = res.job_status == 0 && !res.timed_out && !cap->cut && promises.ended;
	if (!(how = describe(job, cfg->image, &res, cap, &promises, jc_job_warning(j)))) {
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
	r = move_rows(rep, &promises, prefix, err);
out:
	if (sibling_made)
		r = jc_check_remove_made(ws.root_fd, sibling, r < 0, err);
	jc_ws_close(&ws);
	jc_check_report_free(&promises);
	jc_job_free(j);
	return r;
}

int jc_check_site(jc_site *site, const struct jc_check_opts *o, struct jc_check_report *rep,
		  jc_error *err)
{
	const struct jc_config *cfg = jc_site_config(site);
	struct jc_backend *e;

	if (jc_site_backend(site, &e, err) < 0) {
		jc_check_add(rep, "engine", JC_CHECK_BROKEN, NULL, "%s", err->msg ? err->msg : "?");
		return -1;
	}
	extern char **environ;

	if (jc_check_engine(e, cfg, rep, err) < 0 || jc_check_slurm(e, cfg, environ, rep, err) < 0)
		return -1;
	/* the isolation, from inside a job of the site; where the site lets
	 * jobs run as root, again as root: uid 0 ignores mode bits, so only the
	 * mounts' read-only flags hold it */
	if (isolation(site, o, NULL, NULL, rep, err) < 0)
		return -1;
	if (cfg->allow_root && !(cfg->user && strcmp(cfg->user, "0:0") == 0))
		return isolation(site, o, "0:0", "as-root:", rep, err);
	return 0;
}
