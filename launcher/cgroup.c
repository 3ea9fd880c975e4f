/* The cgroup parent of a job's container.  Docker's and Podman's cgroupfs
 * drivers take HostConfig.CgroupParent as a path from the root of each
 * hierarchy and make the container's cgroup beneath it, so the parent's
 * limits bind the container; a systemd driver takes only a slice.  For
 * `slurm` the parent is the Slurm job's own cgroup, read from
 * /proc/self/cgroup: jobcell runs as a task of the job's step, and the
 * engine on the same host makes the container a sibling of the steps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "util.h"

/* One component: what Slurm, systemd and the engines write, and nothing a
 * path, a URL or a message could misread. */
static bool component_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("_.@:+=-", c)))
			return false;
	}
	return true;
}

/* An absolute path of good components; "/" alone is the root, no parent. */
static bool path_ok(const char *p)
{
	if (p[0] != '/' || strlen(p) > JC_CGROUP_PATH_MAX)
		return false;
	for (const char *c = p + 1;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (!component_ok(c, n))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

static bool is_slice(const char *v)
{
	size_t n = strlen(v);

	return n > 6 && n <= JC_CGROUP_PATH_MAX && strcmp(v + n - 6, ".slice") == 0 &&
	       !strchr(v, '/') && component_ok(v, n);
}

const char *jc_cgroup_parent_why(const char *value)
{
	if (!*value || strcmp(value, "slurm") == 0 || is_slice(value) || path_ok(value))
		return NULL;
	return "want slurm, an absolute cgroup path (cgroupfs driver) or NAME.slice (systemd "
	       "driver), of [A-Za-z0-9_.@:+=-] components without `.` or `..`";
}

/* The line of `text` whose hierarchy field is `want` ("" for v2's "0::",
 * "memory" for v1's), as a pointer to its path and its length. */
static const char *find_line(const char *text, bool v2, size_t *len)
{
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		const char *c1 = memchr(l, ':', n);
		const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - l)) : NULL;
		if (c2) {
			const char *ctl = c1 + 1;
			size_t cn = (size_t)(c2 - ctl);
			bool hit = false;
			if (v2) {
				hit = c1 - l == 1 && l[0] == '0' && cn == 0;
			} else {
				/* a controller list: "memory", or joined "cpu,memory" */
				for (const char *w = ctl; !hit && w < c2;) {
					const char *comma = memchr(w, ',', (size_t)(c2 - w));
					size_t wn = comma ? (size_t)(comma - w) : (size_t)(c2 - w);
					hit = wn == 6 && strncmp(w, "memory", 6) == 0;
					w += wn + 1;
				}
			}
			if (hit) {
				*len = n - (size_t)(c2 + 1 - l);
				return c2 + 1;
			}
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	return NULL;
}

bool jc_cgroup_text_v2(const char *text)
{
	size_t len;
	const char *nl;

	if (!find_line(text, true, &len) || strncmp(text, "0::", 3) != 0)
		return false;
	nl = strchr(text, '\n');
	return !nl || !nl[1];
}

int jc_cgroup_slurm_parent(const char *text, const char *job_id, bool v2, char **out, jc_error *err)
{
	const char *what = v2 ? "the cgroup v2 line (0::)" : "the v1 memory controller's line";
	cleanup_free char *path = NULL;
	char want[32];
	const char *p, *cut = NULL;
	size_t len;
	int hits = 0;

	p = find_line(text, v2, &len);
	if (!p)
		return jc_error_set(err, JC_ERR_CONFIG, ENOENT,
				    "[job] cgroup_parent = slurm: /proc/self/cgroup has no %s",
				    what);
	if (len > JC_CGROUP_PATH_MAX || !(path = strndup(p, len)))
		return len > JC_CGROUP_PATH_MAX
			   ? jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					  "[job] cgroup_parent = slurm: %s of /proc/self/cgroup is "
					  "longer than %d characters",
					  what, JC_CGROUP_PATH_MAX)
			   : jc_error_oom(err);
	snprintf(want, sizeof(want), "job_%s", job_id);
	for (const char *c = path; (c = strchr(c, '/'));) {
		size_t n = strlen(want);
		c++;
		if (strncmp(c, want, n) == 0 && (c[n] == '/' || c[n] == '\0')) {
			hits++;
			cut = c + n;
		}
	}
	if (hits != 1 || !path_ok(path)) {
		cleanup_free char *shown = jc_text_printable_str(path);
		if (hits == 0)
			return jc_error_set(
			    err, JC_ERR_CONFIG, ENOENT,
			    "[job] cgroup_parent = slurm: jobcell's cgroup `%s` (%s of "
			    "/proc/self/cgroup) is not in Slurm job %s's cgroup (no `/%s`): "
			    "run jobcell as a task of the job's step, with Slurm's "
			    "task/cgroup or proctrack/cgroup plugin",
			    shown ? shown : "?", what, job_id, want);
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "[job] cgroup_parent = slurm: jobcell's cgroup `%s` (%s of "
				    "/proc/self/cgroup) is not one Slurm job cgroup path",
				    shown ? shown : "?", what);
	}
	path[cut - path] = '\0';
	*out = steal_pointer(&path);
	return 0;
}

int jc_cgroup_read_self(char **out, jc_error *err)
{
	cleanup_close int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	cleanup_free char *buf = NULL;
	struct stat st;
	size_t have;

	if (fd < 0 || jc_fs_read_small(fd, JC_CGROUP_TEXT_MAX, &buf, &have, &st) < 0)
		return errno == EFBIG ? jc_error_set(err, JC_ERR_SYSTEM, EFBIG,
						     "read /proc/self/cgroup: more than %d bytes",
						     JC_CGROUP_TEXT_MAX)
				      : jc_error_set(err, JC_ERR_SYSTEM, errno,
						     "read /proc/self/cgroup: %s", strerror(errno));
	if (strlen(buf) != have)
		return jc_error_set(err, JC_ERR_SYSTEM, EBADMSG,
				    "read /proc/self/cgroup: it holds a NUL byte");
	*out = steal_pointer(&buf);
	return 0;
}

int jc_cgroup_parent_check(const char *parent, bool slurm, int host_version,
			   const struct jc_engine_cgroups *eng, jc_error *err)
{
	const char *shown = slurm ? "slurm" : parent;

	switch (eng->driver) {
	case JC_CGROUP_DRIVER_CGROUPFS:
		if (parent[0] != '/')
			return jc_error_set(
			    err, JC_ERR_ENGINE, ENOTSUP,
			    "[job] cgroup_parent = `%s`: the engine's cgroup driver "
			    "is cgroupfs, which takes an absolute path, not a "
			    "systemd slice",
			    shown);
		break;
	case JC_CGROUP_DRIVER_SYSTEMD:
		if (slurm)
			return jc_error_set(
			    err, JC_ERR_ENGINE, ENOTSUP,
			    "[job] cgroup_parent = slurm: the engine's cgroup driver is systemd, "
			    "which takes only a slice (NAME.slice), and Slurm job's cgroup `%s` "
			    "is none: run the engine with the cgroupfs driver "
			    "(exec-opts native.cgroupdriver=cgroupfs, or Podman's "
			    "cgroup_manager = \"cgroupfs\")",
			    parent);
		if (parent[0] == '/')
			return jc_error_set(
			    err, JC_ERR_ENGINE, ENOTSUP,
			    "[job] cgroup_parent = `%s`: the engine's cgroup driver "
			    "is systemd, which takes only a slice (NAME.slice)",
			    parent);
		break;
	case JC_CGROUP_DRIVER_OTHER:
		return jc_error_set(err, JC_ERR_ENGINE, ENOTSUP,
				    "[job] cgroup_parent = `%s`: the engine's cgroup driver is "
				    "`%s`, neither cgroupfs nor systemd",
				    shown, *eng->driver_name ? eng->driver_name : "(not said)");
	}
	if (slurm && eng->version != host_version)
		return jc_error_set(err, JC_ERR_ENGINE, ENOTSUP,
				    "[job] cgroup_parent = slurm: the engine reports cgroup v%d "
				    "and this host's /proc/self/cgroup is v%d: the engine does "
				    "not make its cgroups where this Slurm job's are",
				    eng->version, host_version);
	return 0;
}
