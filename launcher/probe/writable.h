/* Which writable mounts a job may see: the rule of the probe's
 * writable-mounts-sized promise, pure so that tests/test_check.c can call
 * it.  Header-only: the probe is built static and on its own.
 *
 * A mount counts as writable when its per-mount options (mountinfo field 6)
 * say rw and its file system holds data (not proc, sysfs, cgroup, devpts,
 * mqueue...: the caller leaves those out).  Expected are:
 *   - the job directory (MOUNT_POINT/JOB, or [workspace] job_path), of any
 *     file system;
 *   - each [workspace] scratch directory (MOUNT_POINT/NAME): a tmpfs of
 *     exactly scratch_size;
 *   - `/` and the mount point (a tmpfs with a size) when writable: those
 *     are rootfs-readonly's and workspace-root-readonly's findings;
 *   - /tmp, and /run and /var/tmp when run_size is not 0: tmpfs of exactly
 *     the site's size (tmp_size, run_size);
 *   - /dev and /dev/shm: tmpfs with a size (the engine's 64m device
 *     directory, shm_size);
 *   - /sys/fs/cgroup: the engine's tmpfs of cgroup v1 mount points, when
 *     the job cannot create in it;
 *   - /etc/hosts, /etc/hostname, /etc/resolv.conf, and Podman's
 *     /run/.containerenv (writable on a writable root): the engine's files;
 *   - a bind of something other than a directory or a regular file (the
 *     engine masks /proc paths with /dev/null).
 * Anything else is unexpected: Podman's own /run and /var/tmp (half the
 * host's memory each) were. */
#ifndef JC_PROBE_WRITABLE_H
#define JC_PROBE_WRITABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum wm_kind { WM_DIR, WM_FILE, WM_OTHER };

struct wm_site {
	const char *mount_point, *job;
	int64_t tmp_size, run_size; /* bytes; 0: none (tmp) or read-only (run) */
	const char *job_path;       /* [workspace] job_path, or NULL: MOUNT_POINT/JOB */
	const char *scratch;        /* [workspace] scratch names, comma-separated, or NULL */
	int64_t scratch_size;
};

/* Is `name` (of `len` bytes) one of the comma-separated `list`? */
static inline bool wm_listed(const char *list, const char *name, size_t len)
{
	for (const char *p = list; p && *p;) {
		size_t k = strcspn(p, ",");
		if (k == len && strncmp(p, name, len) == 0)
			return true;
		p += k;
		p += *p == ',';
	}
	return false;
}

struct wm_mount {
	const char *point, *fstype;
	int64_t size; /* the tmpfs's size= in bytes, -1 when it has none */
	enum wm_kind kind;
	bool job_can_create; /* only looked at for /sys/fs/cgroup */
};

/* true when the comma-separated options hold `rw` */
static inline bool wm_opts_rw(const char *opts)
{
	size_t n = strlen(opts);
	for (const char *p = opts; p < opts + n;) {
		size_t k = strcspn(p, ",");
		if (k == 2 && strncmp(p, "rw", 2) == 0)
			return true;
		p += k + 1;
	}
	return false;
}

/* size=N[kmg] of superblock options, in bytes; -1 when none or malformed */
static inline int64_t wm_opts_size(const char *opts)
{
	const char *p = opts;
	while (p && *p) {
		if (strncmp(p, "size=", 5) == 0) {
			char *end;
			long long v = strtoll(p + 5, &end, 10);
			int64_t mul = *end == 'k' ? 1024 : *end == 'm' ? 1 << 20
						    : *end == 'g' ? 1 << 30 : 1;
			if (end == p + 5 || v < 0)
				return -1;
			return (int64_t)v * mul;
		}
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

/* the kernel keeps a tmpfs size in pages */
static inline int64_t wm_pages(int64_t bytes)
{
	return (bytes + 4095) / 4096 * 4096;
}

/* NULL when the writable mount `m` is expected, else a short reason. */
static inline const char *wm_unexpected(const struct wm_site *s, const struct wm_mount *m)
{
	size_t ml = strlen(s->mount_point);
	bool tmpfs = strcmp(m->fstype, "tmpfs") == 0;
	const char *p = m->point;

	while (ml > 1 && s->mount_point[ml - 1] == '/')
		ml--;
	if (s->job_path ? strcmp(p, s->job_path) == 0
			: strncmp(p, s->mount_point, ml) == 0 && p[ml] == '/' &&
			      strcmp(p + ml + 1, s->job) == 0)
		return NULL;
	if (strncmp(p, s->mount_point, ml) == 0 && p[ml] == '/' &&
	    wm_listed(s->scratch, p + ml + 1, strlen(p + ml + 1))) {
		if (!tmpfs)
			return "not a tmpfs";
		if (m->size < 0)
			return "a tmpfs with no size";
		return wm_pages(m->size) == wm_pages(s->scratch_size)
			   ? NULL
			   : "not the site's scratch_size";
	}
	/* a writable root or workspace root is its own promise's finding
	 * (rootfs-readonly, workspace-root-readonly); the latter has root_size */
	if (strcmp(p, "/") == 0)
		return NULL;
	if (strncmp(p, s->mount_point, ml) == 0 && p[ml] == '\0')
		return tmpfs && m->size >= 0 ? NULL : "not a tmpfs with a size";
	if (m->kind == WM_OTHER)
		return NULL;
	if (m->kind == WM_FILE)
		return strcmp(p, "/etc/hosts") == 0 || strcmp(p, "/etc/hostname") == 0 ||
			       strcmp(p, "/etc/resolv.conf") == 0 ||
			       strcmp(p, "/run/.containerenv") == 0
			   ? NULL
			   : "a writable file";
	if (strcmp(p, "/tmp") == 0 || strcmp(p, "/run") == 0 || strcmp(p, "/var/tmp") == 0) {
		int64_t want = strcmp(p, "/tmp") == 0 ? s->tmp_size : s->run_size;
		if (!tmpfs)
			return "not a tmpfs";
		if (m->size < 0)
			return "a tmpfs with no size";
		if (want <= 0 || wm_pages(m->size) != wm_pages(want))
			return "not the site's size";
		return NULL;
	}
	if (strcmp(p, "/dev") == 0 || strcmp(p, "/dev/shm") == 0)
		return !tmpfs ? "not a tmpfs" : m->size < 0 ? "a tmpfs with no size" : NULL;
	if (strcmp(p, "/sys/fs/cgroup") == 0 && tmpfs && !m->job_can_create)
		return NULL;
	return "not one the site chose";
}

#endif
