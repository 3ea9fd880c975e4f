/* `jobcell check`: the rows of its table, the reader of the isolation
 * probe's report (launcher/probe/probe.c), the probe's command line, where
 * the probe is installed, and what the engine supports. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "check.h"
#include "config.h"
#include "backend.h"
#include "error.h"
#include "fsutil.h"
#include "names.h"
#include "plan.h"
#include "slurm.h"
#include "util.h"
#include "probe/promises.h"

#ifndef JC_LIBEXECDIR
#define JC_LIBEXECDIR "/usr/local/libexec"
#endif

static const char *const promises[] = {
#define X(id, name, what) name,
	JC_PROBE_PROMISES(X)
#undef X
};
#define NPROMISES (sizeof(promises) / sizeof(promises[0]))

const char *const *jc_check_promises(size_t *n)
{
	*n = NPROMISES;
	return promises;
}

const char *jc_check_state_name(enum jc_check_state s)
{
	switch (s) {
	case JC_CHECK_KEPT:
		return "kept";
	case JC_CHECK_BROKEN:
		return "broken";
	case JC_CHECK_UNKNOWN:
		return "unknown";
	case JC_CHECK_YES:
		return "yes";
	case JC_CHECK_NO:
		return "no";
	}
	return "?";
}

static int add_row(struct jc_check_report *r, const char *name, enum jc_check_state state,
		   const char *detail, size_t detail_len)
{
	struct jc_check_row *rows = realloc(r->rows, (r->n + 1) * sizeof(*rows));
	struct jc_check_row row = { NULL, state, NULL };

	if (!rows)
		return -1;
	r->rows = rows;
	row.name = jc_text_printable(name, strlen(name), JC_NAME_MAX);
	row.detail = jc_text_printable(detail, detail_len, JC_CHECK_DETAIL_MAX);
	if (!row.name || !row.detail) {
		free(row.name);
		free(row.detail);
		return -1;
	}
	r->rows[r->n++] = row;
	return 0;
}

int jc_check_add(struct jc_check_report *r, const char *name, enum jc_check_state state,
		 jc_error *err, const char *fmt, ...)
{
	cleanup_free char *detail = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (n < 0 || add_row(r, name, state, detail, (size_t)n) < 0) {
		if (n < 0)
			detail = NULL;
		return jc_error_oom(err);
	}
	return 0;
}

bool jc_check_ok(const struct jc_check_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].state == JC_CHECK_BROKEN || r->rows[i].state == JC_CHECK_UNKNOWN)
			return false;
	return true;
}

void jc_check_report_free(struct jc_check_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i].name);
		free(r->rows[i].detail);
	}
	free(r->rows);
	free(r->first_ignored);
	memset(r, 0, sizeof(*r));
}

/* ---- the probe's report ---- */

/* How bad a state is, for a promise reported more than once. */
static int severity(enum jc_check_state s)
{
	return s == JC_CHECK_BROKEN ? 2 : s == JC_CHECK_UNKNOWN ? 1 : 0;
}

struct seen {
	bool reported;
	enum jc_check_state state;
	const char *detail; /* into the text */
	size_t detail_len;
};

/* One line, without its LF: "name TAB state TAB detail".  Returns false
 * when it is not a report line. */
static bool parse_line(const char *line, size_t len, struct seen *seen)
{
	const char *tab1 = memchr(line, '\t', len), *state, *tab2, *detail;
	size_t name_len, state_len;
	enum jc_check_state st;
	size_t i;

	if (!tab1)
		return false;
	name_len = (size_t)(tab1 - line);
	state = tab1 + 1;
	tab2 = memchr(state, '\t', len - name_len - 1);
	state_len = tab2 ? (size_t)(tab2 - state) : len - name_len - 1;
	detail = tab2 ? tab2 + 1 : line + len;
	if (state_len == 4 && memcmp(state, "kept", 4) == 0)
		st = JC_CHECK_KEPT;
	else if (state_len == 6 && memcmp(state, "broken", 6) == 0)
		st = JC_CHECK_BROKEN;
	else if (state_len == 7 && memcmp(state, "unknown", 7) == 0)
		st = JC_CHECK_UNKNOWN;
	else
		return false;
	for (i = 0; i < NPROMISES; i++)
		if (strlen(promises[i]) == name_len && memcmp(promises[i], line, name_len) == 0)
			break;
	if (i == NPROMISES)
		return false;
	/* reported twice: the worse report stands, so that none can hide one */
	if (!seen[i].reported || severity(st) > severity(seen[i].state)) {
		seen[i].reported = true;
		seen[i].state = st;
		seen[i].detail = detail;
		seen[i].detail_len = (size_t)(line + len - detail);
	}
	return true;
}

int jc_check_parse(struct jc_check_report *r, const char *text, size_t len, jc_error *err)
{
	struct seen seen[NPROMISES];
	size_t pos = 0;

	memset(seen, 0, sizeof(seen));
	while (pos < len) {
		const char *line = text + pos, *lf = memchr(line, '\n', len - pos);
		size_t n = lf ? (size_t)(lf - line) : len - pos;

		pos += n + (lf ? 1 : 0);
		if (n && line[n - 1] == '\r')
			n--;
		/* an overlong line is read as far as the limit: its detail is cut */
		if (n > JC_CHECK_LINE_MAX)
			n = JC_CHECK_LINE_MAX;
		if (n == 5 && memcmp(line, "# end", 5) == 0)
			r->ended = true;
		if (n == 0 || line[0] == '#')
			continue;
		if (parse_line(line, n, seen))
			continue;
		/* kept for the table: it may be the answer of an entrypoint */
		if (!r->ignored++ && !(r->first_ignored = jc_text_printable(line, n, 120)))
			return jc_error_oom(err);
	}
	for (size_t i = 0; i < NPROMISES; i++) {
		int rc = seen[i].reported ? add_row(r, promises[i], seen[i].state, seen[i].detail,
						    seen[i].detail_len)
					  : add_row(r, promises[i], JC_CHECK_BROKEN, "not reported",
						    strlen("not reported"));
		if (rc < 0)
			return jc_error_oom(err);
	}
	return 0;
}

/* ---- the probe's command line ---- */

static const char *const cap_names[] = {
	"CHOWN",
	"DAC_OVERRIDE",
	"DAC_READ_SEARCH",
	"FOWNER",
	"FSETID",
	"KILL",
	"SETGID",
	"SETUID",
	"SETPCAP",
	"LINUX_IMMUTABLE",
	"NET_BIND_SERVICE",
	"NET_BROADCAST",
	"NET_ADMIN",
	"NET_RAW",
	"IPC_LOCK",
	"IPC_OWNER",
	"SYS_MODULE",
	"SYS_RAWIO",
	"SYS_CHROOT",
	"SYS_PTRACE",
	"SYS_PACCT",
	"SYS_ADMIN",
	"SYS_BOOT",
	"SYS_NICE",
	"SYS_RESOURCE",
	"SYS_TIME",
	"SYS_TTY_CONFIG",
	"MKNOD",
	"LEASE",
	"AUDIT_WRITE",
	"AUDIT_CONTROL",
	"SETFCAP",
	"MAC_OVERRIDE",
	"MAC_ADMIN",
	"SYSLOG",
	"WAKE_ALARM",
	"BLOCK_SUSPEND",
	"AUDIT_READ",
	"PERFMON",
	"BPF",
	"CHECKPOINT_RESTORE",
};

int jc_check_cap_mask(const struct jc_strv *caps, uint64_t *mask, jc_error *err)
{
	uint64_t m = 0;

	for (size_t i = 0; i < caps->n; i++) {
		const char *c = caps->v[i];
		size_t k;

		if (strcmp(c, "ALL") == 0) {
			m = UINT64_MAX;
			continue;
		}
		if (strncmp(c, "CAP_", 4) == 0)
			c += 4;
		for (k = 0; k < sizeof(cap_names) / sizeof(cap_names[0]); k++)
			if (strcmp(c, cap_names[k]) == 0)
				break;
		if (k == sizeof(cap_names) / sizeof(cap_names[0]))
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "[job] cap_add `%s`: not a capability jobcell knows",
					    caps->v[i]);
		m |= UINT64_C(1) << k;
	}
	*mask = m;
	return 0;
}

/* The scratch names for the probe, comma-separated (names hold no comma). */
static char *scratch_list(const struct jc_strv *v)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < v->n; i++)
		len += strlen(v->v[i]) + 1;
	if (!(s = calloc(1, len)))
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, v->v[i]);
	}
	return s;
}

int jc_check_probe_cmd(const struct jc_config *cfg, const char *job, const char *sibling,
		       struct jc_strv *cmd, jc_error *err)
{
	struct jc_strv v = { 0 };
	uint64_t mask;
	char hex[17], tmp[24], run[24], mode[8], vsize[24], ssize[24];
	cleanup_free char *scratch = NULL;

	if (jc_check_cap_mask(&cfg->cap_add, &mask, err) < 0)
		return -1;
	snprintf(hex, sizeof(hex), "%016" PRIx64, mask);
	snprintf(tmp, sizeof(tmp), "%" PRId64, cfg->tmp_size);
	snprintf(run, sizeof(run), "%" PRId64, cfg->run_size);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(cfg->root_mode & 07777));
	snprintf(vsize, sizeof(vsize), "%" PRId64, cfg->volume_size);
	snprintf(ssize, sizeof(ssize), "%" PRId64, cfg->scratch_size);
	if (cfg->scratch.n && !(scratch = scratch_list(&cfg->scratch)))
		return jc_error_oom(err);
	if (jc_strv_push(&v, "./" JC_PROBE_NAME) < 0 || jc_strv_push(&v, "--mount-point") < 0 ||
	    jc_strv_push(&v, cfg->mount_point) < 0 || jc_strv_push(&v, "--job") < 0 ||
	    jc_strv_push(&v, job) < 0 ||
	    (sibling && (jc_strv_push(&v, "--sibling") < 0 || jc_strv_push(&v, sibling) < 0)) ||
	    jc_strv_push(&v, "--caps") < 0 || jc_strv_push(&v, hex) < 0 ||
	    jc_strv_push(&v, "--network") < 0 || jc_strv_push(&v, cfg->network) < 0 ||
	    jc_strv_push(&v, "--tmp-size") < 0 || jc_strv_push(&v, tmp) < 0 ||
	    jc_strv_push(&v, "--run-size") < 0 || jc_strv_push(&v, run) < 0 ||
	    jc_strv_push(&v, "--root-mode") < 0 || jc_strv_push(&v, mode) < 0 ||
	    (cfg->volume_size &&
	     (jc_strv_push(&v, "--volume-size") < 0 || jc_strv_push(&v, vsize) < 0)) ||
	    (cfg->job_path &&
	     (jc_strv_push(&v, "--job-path") < 0 || jc_strv_push(&v, cfg->job_path) < 0)) ||
	    (scratch && (jc_strv_push(&v, "--scratch") < 0 || jc_strv_push(&v, scratch) < 0 ||
			 jc_strv_push(&v, "--scratch-size") < 0 || jc_strv_push(&v, ssize) < 0))) {
		jc_strv_free(&v);
		return jc_error_oom(err);
	}
	jc_strv_free(cmd);
	*cmd = v;
	return 0;
}

/* ---- where the probe and the gate are ---- */

static bool is_helper(const char *dir, const char *name)
{
	cleanup_free char *path = NULL;
	struct stat st;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return false;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int jc_check_helper_dir(const char *exe, const char *name, const char *what, char **dir,
			jc_error *err)
{
	char self[PATH_MAX];
	/* a program linked against an installed library runs from anywhere:
	 * the environment may say where the helpers were installed */
	const char *libexec = getenv("JOBCELL_LIBEXECDIR");
	char *slash;

	if (!libexec || !*libexec)
		libexec = JC_LIBEXECDIR "/jobcell";

	if (!exe) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			n = 0;
		self[n] = '\0';
	} else {
		snprintf(self, sizeof(self), "%s", exe);
	}
	slash = strrchr(self, '/');
	if (slash) {
		*slash = '\0';
		if (!*self)
			strcpy(self, "/");
		if (is_helper(self, name)) {
			if (!(*dir = strdup(self)))
				return jc_error_oom(err);
			return 0;
		}
	}
	if (is_helper(libexec, name)) {
		if (!(*dir = strdup(libexec)))
			return jc_error_oom(err);
		return 0;
	}
	return jc_error_set(err, JC_ERR_CONFIG, ENOENT, "%s `%s` is neither next to jobcell (`%s`) nor in `%s`",
			    what, name, slash ? self : "?", libexec);
}

int jc_check_probe_dir(const char *exe, char **dir, jc_error *err)
{
	return jc_check_helper_dir(exe, JC_PROBE_NAME, "isolation probe", dir, err);
}

/* ---- the engine ---- */

int jc_check_engine(struct jc_backend *e, const struct jc_config *cfg,
		    struct jc_check_report *r, jc_error *err)
{
	cleanup_free char *version = e->ops->describe(e);
	cleanup_free char *transport = jc_backend_transport(e);
	const char *sub_need = "?", *mp_need = "?";
	bool subpath = jc_backend_supports(e, JC_FEATURE_VOLUME_SUBPATH, &sub_need);
	bool mountpoint = jc_backend_supports(e, JC_FEATURE_CREATE_MOUNTPOINT, &mp_need);
	bool wants_subpath = cfg->ws_mode == JC_WS_VOLUME && cfg->site_volume && *cfg->site_volume;

	if (jc_check_add(r, "engine", JC_CHECK_KEPT, err,
			 "`%s` (from %s) answers: %s; jobcell speaks API %s; reached by %s",
			 cfg->endpoint, cfg->endpoint_from ? cfg->endpoint_from : "the caller",
			 version ? version : "version unknown", jc_backend_api(e),
			 transport ? transport : "?") < 0)
		return -1;
	if (subpath) {
		if (jc_check_add(r, "engine-subpath", JC_CHECK_YES, err,
				 "volume subpaths (%s): [volume] "
				 "site_volume can be used",
				 sub_need) < 0)
			return -1;
	} else if (jc_check_add(r, "engine-subpath", JC_CHECK_NO, err,
				"volume subpaths need %s: [volume] site_volume %s; "
				"startup_volume and local_volume work",
				sub_need,
				wants_subpath ? "is set and cannot work" : "cannot be used") < 0) {
		return -1;
	}
	return jc_check_add(r, "engine-create-mountpoint", mountpoint ? JC_CHECK_YES : JC_CHECK_NO,
			    err,
			    "binds that create a missing source %s %s; jobcell does not use them: "
			    "it makes job directories itself and refuses missing ones",
			    mountpoint ? "are there, since" : "need", mp_need);
}

/* One row from a failure (broken) or the detail of a success (kept). */
static int verdict(struct jc_check_report *r, const char *name, int rc, jc_error *e,
		   const char *kept, jc_error *err)
{
	int ret = rc < 0 ? jc_check_add(r, name, JC_CHECK_BROKEN, err, "%s",
					 e->msg ? e->msg : "out of memory")
			 : jc_check_add(r, name, JC_CHECK_KEPT, err, "%s", kept);
	jc_error_clear(e);
	return ret;
}

static const char outside[] = "jobcell runs outside a Slurm job (SLURM_JOB_ID unset): run "
			      "`jobcell check` as a step of one (srun) to see what the "
			      "allocation gives";

/* cgroup-parent: where containers go, judged against the engine. */
static int check_cgroup_parent(struct jc_backend *b, const struct jc_config *cfg,
			       char *const *envp, bool in_job, struct jc_check_report *r,
			       jc_error *err)
{
	bool slurm = strcmp(cfg->cgroup_parent, "slurm") == 0;
	struct jc_engine_cgroups eng = { 0 };
	cleanup_free char *text = NULL, *parent = NULL, *kept = NULL;
	const char *id = NULL;
	jc_error e = { 0 };
	int rc = 0, version = 0;

	if (jc_backend_cgroups(b, &eng, &e) < 0)
		return verdict(r, "cgroup-parent", -1, &e, NULL, err);
	if (slurm && !in_job) {
		/* what the driver cannot take, it cannot take in a job either */
		if (eng.driver != JC_CGROUP_DRIVER_CGROUPFS)
			return verdict(r, "cgroup-parent",
				       jc_cgroup_parent_check("/job", true, eng.version, &eng, &e),
				       &e, NULL, err);
		return jc_check_add(r, "cgroup-parent", JC_CHECK_UNKNOWN, err, "%s", outside);
	}
	if (slurm) {
		rc = jc_slurm_job_id(envp, "[job] cgroup_parent = slurm", &id, &e);
		if (rc == 0)
			rc = jc_cgroup_read_self(&text, &e);
		if (rc == 0) {
			version = jc_cgroup_text_v2(text) ? 2 : 1;
			rc = jc_cgroup_slurm_parent(text, id, version == 2, &parent, &e);
		}
	}
	if (rc == 0)
		rc = jc_cgroup_parent_check(slurm ? parent : cfg->cgroup_parent, slurm, version,
					    &eng, &e);
	if (rc == 0 &&
	    asprintf(&kept, "containers are made under %s%s%s`%s` (engine: %s driver, cgroup v%d)",
		     slurm ? "Slurm job " : "", slurm ? id : "", slurm ? "'s cgroup " : "",
		     slurm ? parent : cfg->cgroup_parent, eng.driver_name, eng.version) < 0) {
		kept = NULL;
		return jc_error_oom(err);
	}
	return verdict(r, "cgroup-parent", rc, &e, kept, err);
}

/* slurm-gpus: the devices a job would get now. */
static int check_gpus(char *const *envp, struct jc_check_report *r, jc_error *err)
{
	char ids[JC_GPU_IDS_MAX * (JC_GPU_ID_MAX + 1) + 1] = "";
	struct jc_gpus g = { 0 };
	const char *from = NULL;
	jc_error e = { 0 };
	int rc;

	if (jc_slurm_gpus(envp, &g, &from, &e) < 0)
		return verdict(r, "slurm-gpus", -1, &e, NULL, err);
	for (size_t i = 0; i < g.ids.n; i++) {
		strcat(ids, i ? "," : "");
		strcat(ids, g.ids.v[i]);
	}
	if (!g.ids.n)
		rc = jc_check_add(r, "slurm-gpus", JC_CHECK_KEPT, err,
				  "the allocation has no GPUs: jobs get none");
	else
		rc = jc_check_add(r, "slurm-gpus", JC_CHECK_KEPT, err,
				  "jobs get exactly the allocation's GPUs %s (from %s), by device id",
				  ids, from);
	jc_gpus_free(&g);
	return rc;
}

int jc_check_slurm(struct jc_backend *b, const struct jc_config *cfg, char *const *envp,
		   struct jc_check_report *r, jc_error *err)
{
	const char *id = NULL;
	jc_error x = { 0 };
	bool in_job = jc_slurm_job_id(envp, "", &id, &x) == 0;

	jc_error_clear(&x);
	if (cfg->cgroup_parent && check_cgroup_parent(b, cfg, envp, in_job, r, err) < 0)
		return -1;
	if (cfg->gpus.count == JC_GPUS_SLURM &&
	    (in_job ? check_gpus(envp, r, err)
		    : jc_check_add(r, "slurm-gpus", JC_CHECK_UNKNOWN, err, "%s", outside)) < 0)
		return -1;
	return jc_check_slurm_time(cfg, envp, in_job, r, err);
}

int jc_check_slurm_time(const struct jc_config *cfg, char *const *envp, bool in_job,
			struct jc_check_report *r, jc_error *err)
{
	jc_error x = { 0 };

	if (cfg->timeout_from && strcmp(cfg->timeout_from, "slurm") == 0) {
		int64_t end = 0, t = 0;
		int rc;

		if (!in_job) {
			if (jc_check_add(r, "slurm-timeout", JC_CHECK_UNKNOWN, err, "%s", outside) < 0)
				return -1;
		} else {
			rc = jc_slurm_end_time(envp, &end, &x);
			if (rc == 0)
				rc = jc_slurm_timeout(cfg, end, jc_unix_ms(), cfg->timeout_ms, &t, &x);
			if (rc < 0 ? verdict(r, "slurm-timeout", -1, &x, NULL, err) < 0
				   : jc_check_add(r, "slurm-timeout", JC_CHECK_KEPT, err,
						  "the allocation ends in %llds: a job started now "
						  "gets a timeout of %llds",
						  (long long)(end - jc_unix_ms() / 1000),
						  (long long)(t / 1000)) < 0)
				return -1;
		}
	}
	if (cfg->slurm_kill_wait_ms > 0) {
		int rc = jc_slurm_check_kill_wait(cfg, &x);
		if (verdict(r, "slurm-kill-wait", rc, &x,
			    "stop_grace + [slurm] stop_margin fit in [slurm] kill_wait: jobcell "
			    "ends a job gracefully before Slurm's SIGKILL",
			    err) < 0)
			return -1;
	}
	return 0;
}

/* ---- cleaning up ---- */

static int remove_at(int dfd, const char *name, int depth, jc_error *err)
{
	int fd;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 64)
		return jc_error_set(err, JC_ERR_WORKSPACE, ELOOP,
				    "remove `%s`: more than 64 levels deep", name);
	fd = jc_fs_open_beneath(dfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* not a directory (a symlink included): the entry itself goes */
		if ((errno == ENOTDIR || errno == ELOOP) && unlinkat(dfd, name, 0) == 0)
			return 0;
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "remove `%s`: %s", name,
				    strerror(errno));
	}
	if (!(d = fdopendir(fd))) {
		int e = errno;
		close(fd);
		return jc_error_set(err, JC_ERR_WORKSPACE, e, "remove `%s`: %s", name, strerror(e));
	}
	/* entries removed while reading may make readdir skip others: read again
	 * until the directory is empty, a few times at most */
	for (int pass = 0; r == 0 && pass < 3; pass++) {
		bool any = false;

		rewinddir(d);
		while ((de = readdir(d))) {
			struct stat st;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			any = true;
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode)) {
				if (remove_at(fd, de->d_name, depth + 1, err) < 0) {
					r = -1;
					break;
				}
			} else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
				r = jc_error_set(err, JC_ERR_WORKSPACE, errno, "remove `%s/%s`: %s",
						 name, de->d_name, strerror(errno));
				break;
			}
		}
		if (!any)
			break;
	}
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = jc_error_set(err, JC_ERR_WORKSPACE, errno, "remove `%s`: %s", name,
				 strerror(errno));
	return r;
}

int jc_check_remove_tree(int dfd, const char *name, jc_error *err)
{
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "remove `%s`: not a plain name",
				    name);
	return remove_at(dfd, name, 0, err);
}

int jc_check_remove_made(int dfd, const char *name, bool failed, jc_error *err)
{
	jc_error undo = { 0 };

	if (jc_check_remove_tree(dfd, name, &undo) == 0)
		return failed ? -1 : 0;
	if (!failed)
		jc_error_set(err, undo.kind, undo.status, "%s left behind: %s", name, undo.msg);
	else
		jc_error_wrap(err, "`%s` left behind (%s)", name, undo.msg);
	jc_error_clear(&undo);
	return -1;
}
