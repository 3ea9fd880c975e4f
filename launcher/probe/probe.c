/* jobcell-probe: what a job can observe of its own isolation, from inside.
 *
 * `jobcell check` copies this program, built static so that it runs in any
 * image, into the job directory of a throwaway job and runs it with the
 * site's real settings.  It prints one line per promise (promises.h) and
 * always exits 0: the report is the result.  It only looks and tries: every
 * file it manages to create where it should not be able to is removed again.
 *
 *     jobcell-probe --mount-point DIR --job NAME [--sibling NAME]
 *                   [--caps HEX] [--network NAME] [--tmp-size BYTES]
 *                   [--run-size BYTES] [--root-mode OCTAL] [--volume-size BYTES]
 *                   [--job-path PATH] [--scratch NAME,... --scratch-size BYTES]
 *
 * --sibling names a directory that exists beside the job's on the host and
 * must not be reachable; --caps is the mask of capabilities the site adds
 * (cap_add); --network is the site's network; --tmp-size and --run-size are
 * the site's tmp_size and run_size (writable.h); --root-mode is root_mode;
 * --job-path is [workspace] job_path (the job directory is there, not under
 * the mount point); --scratch and --scratch-size are [workspace] scratch and
 * scratch_size. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "promises.h"
#include "writable.h"

enum promise {
#define X(id, name, what) P_##id,
	JC_PROBE_PROMISES(X)
#undef X
	    P_COUNT
};

static const char *const promise_names[] = {
#define X(id, name, what) name,
	JC_PROBE_PROMISES(X)
#undef X
};

#define DETAIL_MAX 900
#define MOUNTS_MAX 512

struct mount {
	char point[PATH_MAX];
	char fstype[32];
	bool rw;      /* the mount's own options say rw */
	int64_t size; /* a tmpfs's size= in bytes, -1 when none */
};

static struct mount mounts[MOUNTS_MAX];
static int nmounts = -1; /* -1: /proc/self/mountinfo could not be read */
static int mounts_errno;

/* ---- output ---- */

/* Details quote names the job could choose (directory entries, mount
 * points): anything but printable ASCII becomes '?', so that a name can
 * neither end the line nor forge a field. */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void report(enum promise p, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(enum promise p, const char *state, const char *fmt, ...)
{
	char detail[DETAIL_MAX + 1];
	va_list ap;

	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		strcpy(detail, "?");
	else if ((size_t)n >= sizeof(detail))
		strcpy(detail + sizeof(detail) - 4, "...");
	clean(detail);
	printf("%s\t%s\t%s\n", promise_names[p], state, detail);
}

/* Append to a bounded string; what does not fit is dropped with "...". */
struct buf {
	char s[DETAIL_MAX];
	size_t len;
};

static void add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= sizeof(b->s) - 4)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(b->s) - b->len) {
		b->len = sizeof(b->s) - 4;
		strcpy(b->s + b->len, "...");
		b->len += 3;
		return;
	}
	b->len += (size_t)n;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : strerror(e);
}

/* ---- small tools ---- */

static int join(char *out, size_t size, const char *a, const char *b)
{
	size_t n = strlen(a);
	int r = snprintf(out, size, "%s%s%s", a, n && a[n - 1] == '/' ? "" : "/", b);
	return r < 0 || (size_t)r >= size ? -1 : 0;
}

static bool mount_readonly(const char *path, int *e)
{
	struct statvfs v;

	*e = 0;
	if (statvfs(path, &v) < 0) {
		*e = errno;
		return false;
	}
	return v.f_flag & ST_RDONLY;
}

/* Try to create a file in `dir`.  Returns 0 when that worked (and the file
 * is removed again), else the errno. */
static int try_create(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s%s.jobcell-probe.%d", dir,
		     dir[strlen(dir) - 1] == '/' ? "" : "/", (int)getpid()) >= (int)sizeof(path))
		return ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	close(fd);
	unlink(path);
	return 0;
}

static int try_mkdir(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s%s.jobcell-probe-dir.%d", dir,
		     dir[strlen(dir) - 1] == '/' ? "" : "/", (int)getpid()) >= (int)sizeof(path))
		return ENAMETOOLONG;
	if (mkdir(path, 0700) < 0)
		return errno;
	rmdir(path);
	return 0;
}

/* /proc/self/mountinfo: field 5 is the mount point, octal-escaped; the file
 * system type follows " - ". */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static void read_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		mounts_errno = errno;
		return;
	}
	nmounts = 0;
	while (getline(&line, &cap, f) > 0 && nmounts < MOUNTS_MAX) {
		char *save = NULL, *field = strtok_r(line, " ", &save);
		char *point = NULL, *fstype = NULL, *opts = NULL, *sopts = NULL;

		for (int i = 1; field; i++, field = strtok_r(NULL, " ", &save)) {
			if (i == 5)
				point = field;
			if (i == 6)
				opts = field;
			if (strcmp(field, "-") == 0) {
				fstype = strtok_r(NULL, " ", &save);
				if (fstype && strtok_r(NULL, " ", &save))
					sopts = strtok_r(NULL, " \n", &save);
				break;
			}
		}
		if (!point || !fstype)
			continue;
		unescape(point);
		snprintf(mounts[nmounts].point, sizeof(mounts[nmounts].point), "%s", point);
		snprintf(mounts[nmounts].fstype, sizeof(mounts[nmounts].fstype), "%s", fstype);
		mounts[nmounts].rw = opts && wm_opts_rw(opts);
		mounts[nmounts].size = sopts ? wm_opts_size(sopts) : -1;
		nmounts++;
	}
	free(line);
	fclose(f);
}

/* Kernel file systems that hold no host files. */
static bool pseudo_fs(const char *t)
{
	static const char *const names[] = { "proc",    "sysfs",     "cgroup",     "cgroup2",
					     "devpts",  "mqueue",    "securityfs", "debugfs",
					     "tracefs", "configfs",  "fusectl",    "bpf",
					     "pstore",  "hugetlbfs", "binfmt_misc" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(t, names[i]) == 0)
			return true;
	return false;
}

/* ---- the promises ---- */

static void check_root(const char *mp)
{
	int ro_err, f, d;
	bool ro = mount_readonly(mp, &ro_err);

	f = try_create(mp);
	d = try_mkdir(mp);
	if (f == 0 || d == 0) {
		report(P_ROOT_READONLY, "broken",
		       "as uid %u: %s in `%s` succeeded (removed again); mount %s",
		       (unsigned)getuid(),
		       f == 0 && d == 0 ? "creating a file and a directory"
		       : f == 0         ? "creating a file"
					: "creating a directory",
		       mp, ro ? "read-only" : "writable");
	} else if (ro_err) {
		report(P_ROOT_READONLY, "unknown",
		       "as uid %u: create %s, mkdir %s; statvfs `%s`: %s", (unsigned)getuid(),
		       ename(f), ename(d), mp, ename(ro_err));
	} else if (!ro) {
		report(P_ROOT_READONLY, "broken",
		       "as uid %u: create %s, mkdir %s, but `%s` is mounted writable: only its "
		       "mode stops this user, a root job would not be stopped",
		       (unsigned)getuid(), ename(f), ename(d), mp);
	} else {
		report(P_ROOT_READONLY, "kept", "as uid %u: create %s, mkdir %s; mounted read-only",
		       (unsigned)getuid(), ename(f), ename(d));
	}
}

/* The mode the site asked for, or what the engine made instead: Docker
 * 20.10 creates the working directory's parents in the image's file system
 * (mode 0755) before runc mounts the tmpfs there, and runc gives a tmpfs
 * the mode of the directory it covers.  Only the read-only mount stops
 * writes (workspace-root-readonly); this row says whether the mode is the
 * one configured. */
static void check_root_mode(const char *mp, long want)
{
	struct stat st;

	if (want < 0) {
		report(P_ROOT_MODE, "unknown", "no --root-mode given");
		return;
	}
	if (stat(mp, &st) < 0) {
		report(P_ROOT_MODE, "unknown", "stat `%s`: %s", mp, ename(errno));
		return;
	}
	if ((long)(st.st_mode & 07777) != want)
		report(P_ROOT_MODE, "broken",
		       "`%s` has mode %04o, not root_mode %04lo (the engine gave the tmpfs the "
		       "mode of the directory it made for the working directory)",
		       mp, (unsigned)(st.st_mode & 07777), want);
	else
		report(P_ROOT_MODE, "kept", "mode %04lo, owner %u:%u", want, (unsigned)st.st_uid,
		       (unsigned)st.st_gid);
}

#define WANT_MAX 64

/* The root's children: startup, local, the scratch directories, and the
 * job's own unless [workspace] job_path puts it elsewhere. */
static int root_children(const char *job, bool job_here, const char *scratch,
			 char want[][NAME_MAX + 1])
{
	int n = 0;

	strcpy(want[n++], "startup");
	strcpy(want[n++], "local");
	for (const char *p = scratch; p && *p && n < WANT_MAX - 1;) {
		size_t k = strcspn(p, ",");
		if (k && k <= NAME_MAX) {
			memcpy(want[n], p, k);
			want[n++][k] = '\0';
		}
		p += k;
		p += *p == ',';
	}
	if (job_here && strlen(job) <= NAME_MAX)
		strcpy(want[n++], job);
	return n;
}

static void check_siblings(const char *mp, const char *job, bool job_here, const char *scratch,
			   const char *sibling)
{
	static char want[WANT_MAX][NAME_MAX + 1];
	bool found[WANT_MAX] = { false };
	struct buf extra = { 0 }, missing = { 0 }, seen = { 0 }, names = { 0 };
	int nextra = 0, nwant = root_children(job, job_here, scratch, want);
	struct dirent *de;
	DIR *d = opendir(mp);

	for (int i = 0; i < nwant; i++)
		add(&names, "%s`%s`", i ? (i == nwant - 1 ? " and " : ", ") : "", want[i]);
	if (!d) {
		report(P_SIBLINGS_INVISIBLE, "unknown", "list `%s`: %s", mp, ename(errno));
		return;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		bool ok = false;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		for (int i = 0; i < nwant; i++)
			if (strcmp(n, want[i]) == 0)
				ok = found[i] = true;
		if (!ok) {
			add(&extra, "%s`%s`", nextra ? " " : "", n);
			nextra++;
		}
	}
	closedir(d);
	for (int i = 0; i < nwant; i++)
		if (!found[i])
			add(&missing, "%s`%s`", missing.len ? " " : "", want[i]);

	/* the sibling by name: beneath the mount point, and beneath every other
	 * mount, in case the site root is mounted somewhere else too */
	if (sibling && *sibling) {
		char path[PATH_MAX];
		struct stat st;

		if (join(path, sizeof(path), mp, sibling) == 0 && lstat(path, &st) == 0)
			add(&seen, "%s`%s`", seen.len ? " " : "", path);
		for (int i = 0; i < nmounts; i++) {
			if (pseudo_fs(mounts[i].fstype))
				continue;
			if (join(path, sizeof(path), mounts[i].point, sibling) == 0 &&
			    lstat(path, &st) == 0)
				add(&seen, "%s`%s`", seen.len ? " " : "", path);
		}
		if (nmounts < 0 && !seen.len && !nextra && !missing.len) {
			report(P_SIBLINGS_INVISIBLE, "unknown",
			       "read /proc/self/mountinfo: %s; sibling `%s` not under `%s`",
			       ename(mounts_errno), sibling, mp);
			return;
		}
	}
	if (seen.len || nextra || missing.len) {
		report(P_SIBLINGS_INVISIBLE, "broken", "%s%s%s`%s` lists%s%s%s%s%s",
		       seen.len ? "sibling job directory visible at " : "", seen.s,
		       seen.len ? "; " : "", mp, nextra ? " unexpected entries " : "", extra.s,
		       missing.len ? "; missing " : "", missing.s,
		       nextra || missing.len ? "" : " nothing else");
		return;
	}
	if (sibling && *sibling)
		report(P_SIBLINGS_INVISIBLE, "kept",
		       "`%s` lists %s only; sibling `%s` is under no mount", mp, names.s, sibling);
	else
		report(P_SIBLINGS_INVISIBLE, "kept", "`%s` lists %s only (no sibling to look for)",
		       mp, names.s);
}

static void check_readonly_child(enum promise p, const char *mp, const char *child)
{
	char path[PATH_MAX];
	int ro_err, entries = 0, c;
	struct dirent *de;
	bool ro;
	DIR *d;

	if (join(path, sizeof(path), mp, child) < 0) {
		report(p, "unknown", "path too long");
		return;
	}
	d = opendir(path);
	if (!d) {
		report(p, "broken", "`%s` is not readable: %s", path, ename(errno));
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			entries++;
	closedir(d);
	ro = mount_readonly(path, &ro_err);
	c = try_create(path);
	if (c == 0)
		report(p, "broken", "as uid %u: created a file in `%s` (removed again)",
		       (unsigned)getuid(), path);
	else if (ro_err)
		report(p, "unknown", "statvfs `%s`: %s", path, ename(ro_err));
	else if (!ro)
		report(p, "broken",
		       "`%s` is mounted writable (create as uid %u: %s; root would not be stopped)",
		       path, (unsigned)getuid(), ename(c));
	else
		report(p, "kept", "readable (%d entries), mounted read-only, create: %s", entries,
		       ename(c));
}

static void check_job_dir(const char *path)
{
	char cwd[PATH_MAX], file[PATH_MAX + 64];
	struct stat st, here;
	int fd, e_file = 0, e_dir;

	/* writable: a file with content, and a directory */
	snprintf(file, sizeof(file), "%s/.jobcell-probe-write.%d", path, (int)getpid());
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e_file = errno;
	} else {
		if (write(fd, "probe\n", 6) != 6)
			e_file = errno ? errno : EIO;
		if (close(fd) < 0 && !e_file)
			e_file = errno;
		if (unlink(file) < 0 && !e_file)
			e_file = errno;
	}
	e_dir = try_mkdir(path);
	if (e_file || e_dir)
		report(P_JOB_WRITABLE, "broken", "as uid %u in `%s`: write a file: %s, mkdir: %s",
		       (unsigned)getuid(), path, e_file ? ename(e_file) : "ok",
		       e_dir ? ename(e_dir) : "ok");
	else
		report(P_JOB_WRITABLE, "kept",
		       "as uid %u: created, wrote and removed a file and a directory",
		       (unsigned)getuid());

	/* the working directory, by name and by inode */
	if (!getcwd(cwd, sizeof(cwd)))
		report(P_WORKDIR, "unknown", "getcwd: %s", ename(errno));
	else if (strcmp(cwd, path) != 0)
		report(P_WORKDIR, "broken", "working directory is `%s`, not `%s`", cwd, path);
	else if (stat(".", &here) < 0 || stat(path, &st) < 0)
		report(P_WORKDIR, "unknown", "stat: %s", ename(errno));
	else if (here.st_dev != st.st_dev || here.st_ino != st.st_ino)
		report(P_WORKDIR, "broken", "`.` is not the directory `%s` names", path);
	else
		report(P_WORKDIR, "kept", "`%s`", cwd);

	if (stat(path, &st) < 0)
		report(P_JOB_PRIVATE, "unknown", "stat `%s`: %s", path, ename(errno));
	else if (st.st_mode & 077)
		report(P_JOB_PRIVATE, "broken",
		       "`%s` has mode %04o: its group or other users on the host can enter it",
		       path, (unsigned)(st.st_mode & 07777));
	else
		report(P_JOB_PRIVATE, "kept", "mode %04o, owner %u", (unsigned)(st.st_mode & 07777),
		       (unsigned)st.st_uid);
}

/* Sockets directly at `dir` or one level below it. */
static void sockets_below(const char *dir, int depth, struct buf *found, int *budget)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)) && --*budget > 0) {
		char path[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (join(path, sizeof(path), dir, de->d_name) < 0 || lstat(path, &st) < 0)
			continue;
		if (S_ISSOCK(st.st_mode))
			add(found, "%s`%s`", found->len ? " " : "", path);
		else if (S_ISDIR(st.st_mode) && depth > 0)
			sockets_below(path, depth - 1, found, budget);
	}
	closedir(d);
}

static void check_sockets(void)
{
	static const char *const known[] = {
		"/var/run/docker.sock",
		"/run/docker.sock",
		"/run/podman/podman.sock",
		"/var/run/podman/podman.sock",
		"/run/containerd/containerd.sock",
		"/run/crio/crio.sock",
		"/run/engine.sock",
	};
	struct buf found = { 0 };
	int budget = 20000;
	struct stat st;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (lstat(known[i], &st) == 0 && S_ISSOCK(st.st_mode))
			add(&found, "%s`%s`", found.len ? " " : "", known[i]);
	if (nmounts < 0) {
		if (found.len)
			report(P_NO_ENGINE_SOCKET, "broken", "sockets: %s", found.s);
		else
			report(P_NO_ENGINE_SOCKET, "unknown",
			       "none of the usual engine sockets; read /proc/self/mountinfo: %s",
			       ename(mounts_errno));
		return;
	}
	/* a socket bound in from the host is a mount point that is a socket, or
	 * sits in a directory mounted from the host; the image's own root
	 * holds no live socket */
	for (int i = 0; i < nmounts; i++) {
		const char *p = mounts[i].point;

		if (pseudo_fs(mounts[i].fstype))
			continue;
		if (lstat(p, &st) == 0 && S_ISSOCK(st.st_mode)) {
			add(&found, "%s`%s`", found.len ? " " : "", p);
			continue;
		}
		if (strcmp(p, "/") == 0)
			continue;
		sockets_below(p, 1, &found, &budget);
	}
	if (found.len)
		report(P_NO_ENGINE_SOCKET, "broken", "sockets reachable: %s", found.s);
	else
		report(P_NO_ENGINE_SOCKET, "kept",
		       "no socket at the engines' usual paths, none among %d mounts", nmounts);
}

/* CapEff, CapPrm, CapBnd, CapAmb and NoNewPrivs from /proc/self/status. */
static void check_status(uint64_t allowed)
{
	static const char *const keys[] = { "CapEff", "CapPrm", "CapBnd", "CapAmb" };
	unsigned long long caps[4];
	bool have[4] = { false, false, false, false };
	int nnp = -1;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f) {
		int e = errno;
		report(P_CAPABILITIES, "unknown", "read /proc/self/status: %s", ename(e));
		report(P_NO_NEW_PRIVS, "unknown", "read /proc/self/status: %s", ename(e));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; i < 4; i++) {
			size_t n = strlen(keys[i]);
			if (strncmp(line, keys[i], n) == 0 && line[n] == ':')
				have[i] = sscanf(line + n + 1, "%llx", &caps[i]) == 1;
		}
		if (strncmp(line, "NoNewPrivs:", 11) == 0 && sscanf(line + 11, "%d", &nnp) != 1)
			nnp = -1;
	}
	fclose(f);

	if (!have[0] || !have[2]) {
		report(P_CAPABILITIES, "unknown", "no CapEff or CapBnd in /proc/self/status");
	} else {
		unsigned long long extra = 0;
		for (int i = 0; i < 4; i++)
			if (have[i])
				extra |= caps[i] & ~(unsigned long long)allowed;
		report(P_CAPABILITIES, extra ? "broken" : "kept",
		       "CapEff %016llx CapPrm %016llx CapBnd %016llx CapAmb %016llx; allowed "
		       "%016llx%s",
		       caps[0], have[1] ? caps[1] : 0, caps[2], have[3] ? caps[3] : 0,
		       (unsigned long long)allowed,
		       extra ? " (bits beyond the site's cap_add are set)" : "");
	}
	if (nnp < 0)
		report(P_NO_NEW_PRIVS, "unknown", "no NoNewPrivs in /proc/self/status");
	else
		report(P_NO_NEW_PRIVS, nnp == 1 ? "kept" : "broken", "NoNewPrivs: %d", nnp);
}

static void check_rootfs(void)
{
	int ro_err, r = try_create("/"), e = try_create("/etc");
	bool ro = mount_readonly("/", &ro_err);

	if (r == 0 || e == 0)
		report(P_ROOTFS_READONLY, "broken", "created a file in %s (removed again)",
		       r == 0 && e == 0 ? "`/` and `/etc`"
		       : r == 0         ? "`/`"
					: "`/etc`");
	else if (ro_err)
		report(P_ROOTFS_READONLY, "unknown", "statvfs `/`: %s", ename(ro_err));
	else if (!ro)
		report(P_ROOTFS_READONLY, "broken",
		       "`/` is mounted writable (create in `/`: %s, in `/etc`: %s)", ename(r),
		       ename(e));
	else
		report(P_ROOTFS_READONLY, "kept",
		       "mounted read-only; create in `/`: %s, in `/etc`: %s", ename(r), ename(e));
}

/* Every writable mount the job sees, each judged by writable.h. */
static void check_writable(const struct wm_site *site)
{
	struct buf seen = { 0 }, bad = { 0 };
	int n = 0, nbad = 0;

	if (nmounts < 0) {
		report(P_WRITABLE_MOUNTS, "unknown", "read /proc/self/mountinfo: %s",
		       ename(mounts_errno));
		return;
	}
	for (int i = 0; i < nmounts; i++) {
		struct mount *m = &mounts[i];
		struct stat st;
		struct wm_mount w = { m->point, m->fstype, m->size, WM_DIR, false };
		const char *why;
		char size[32] = "no size";

		if (!m->rw || pseudo_fs(m->fstype))
			continue;
		/* an earlier mount of the same point is hidden by this one */
		if (stat(m->point, &st) < 0)
			continue;
		w.kind = S_ISDIR(st.st_mode) ? WM_DIR : S_ISREG(st.st_mode) ? WM_FILE : WM_OTHER;
		if (w.kind == WM_OTHER)
			continue;
		if (strcmp(m->point, "/sys/fs/cgroup") == 0)
			w.job_can_create = try_create(m->point) == 0;
		if (m->size >= 0)
			snprintf(size, sizeof(size), "%lldk", (long long)(m->size >> 10));
		clean(m->point);
		add(&seen, "%s%s (%s%s%s)", n++ ? ", " : "", m->point, m->fstype,
		    strcmp(m->fstype, "tmpfs") == 0 ? " " : "",
		    strcmp(m->fstype, "tmpfs") == 0 ? size : "");
		if ((why = wm_unexpected(site, &w)))
			add(&bad, "%s`%s` (%s, %s: %s)", nbad++ ? ", " : "", m->point, m->fstype,
			    size, why);
	}
	if (nbad)
		report(P_WRITABLE_MOUNTS, "broken", "unexpected: %s; writable: %s", bad.s, seen.s);
	else
		report(P_WRITABLE_MOUNTS, "kept", "writable: %s", n ? seen.s : "(none)");
}

static void check_network(const char *network)
{
	struct buf names = { 0 };
	int n = 0, others = 0;
	struct dirent *de;
	DIR *d = opendir("/sys/class/net");

	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			add(&names, "%s%s", n ? " " : "", de->d_name);
			n++;
			others += strcmp(de->d_name, "lo") != 0;
		}
		closedir(d);
	} else {
		/* no sysfs: the same namespace's interfaces from /proc */
		char line[512];
		FILE *f = fopen("/proc/net/dev", "re");
		if (!f) {
			report(P_NETWORK, "unknown",
			       "list /sys/class/net and read /proc/net/dev: %s", ename(errno));
			return;
		}
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':'), *name = line;
			if (!colon)
				continue;
			*colon = '\0';
			name += strspn(name, " ");
			add(&names, "%s%s", n ? " " : "", name);
			n++;
			others += strcmp(name, "lo") != 0;
		}
		fclose(f);
	}
	if (strcmp(network, "none") == 0)
		report(P_NETWORK, others ? "broken" : "kept", "network none; interfaces: %s",
		       n ? names.s : "(none)");
	else if (strcmp(network, "host") == 0)
		report(P_NETWORK, "broken",
		       "network host: the job shares the host's network namespace; interfaces: %s",
		       names.s);
	else
		report(P_NETWORK, "kept", "the site's network `%s`; interfaces: %s", network,
		       n ? names.s : "(none)");
}

/* [volume] size: fill the job directory up to the cap and 1 MiB past it.
 * The cap holds when a write fails with ENOSPC or EDQUOT before the file
 * is larger than the cap; the file is removed either way. */
#define PAST_CAP (1 << 20)

static void check_volume_size(const char *path, long long cap)
{
	char file[PATH_MAX + 64];
	static char block[64 * 1024];
	long long wrote = 0;
	int fd, e = 0;

	if (cap <= 0) {
		report(P_VOLUME_SIZE, "kept", "not asked for: [volume] size is 0, no cap");
		return;
	}
	snprintf(file, sizeof(file), "%s/.jobcell-probe-fill.%d", path, (int)getpid());
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		report(P_VOLUME_SIZE, "unknown", "create `%s`: %s", file, ename(errno));
		return;
	}
	memset(block, 'c', sizeof(block));
	while (wrote < cap + PAST_CAP) {
		ssize_t n = write(fd, block, sizeof(block));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		wrote += n;
	}
	/* a quota may only tell at the flush */
	if (!e && fsync(fd) < 0)
		e = errno;
	close(fd);
	unlink(file);
	if ((e == ENOSPC || e == EDQUOT) && wrote <= cap)
		report(P_VOLUME_SIZE, "kept", "a cap of %lld bytes: writing stopped after %lld: %s",
		       cap, wrote, ename(e));
	else if (!e || e == ENOSPC || e == EDQUOT)
		report(P_VOLUME_SIZE, "broken", "a cap of %lld bytes: wrote %lld into `%s`%s%s",
		       cap, wrote, path, e ? ", then " : "", e ? ename(e) : "");
	else
		report(P_VOLUME_SIZE, "unknown", "a cap of %lld bytes: wrote %lld, then %s", cap,
		       wrote, ename(e));
}

/* [workspace] scratch: each directory takes a file and a directory, and
 * is a tmpfs of scratch_size (the root around them stays read-only:
 * workspace-root-readonly). */
static void check_scratch(const char *mp, const char *scratch, long long size)
{
	static char names[WANT_MAX][NAME_MAX + 1];
	struct buf bad = { 0 }, good = { 0 };
	int n = scratch && *scratch ? root_children("", false, scratch, names) : 2;

	if (n == 2) {
		report(P_SCRATCH, "kept", "not asked for: no [workspace] scratch");
		return;
	}
	for (int i = 2; i < n; i++) {
		char path[PATH_MAX];
		const struct mount *m = NULL;
		int f, d;

		if (join(path, sizeof(path), mp, names[i]) < 0) {
			add(&bad, "%s`%s`: path too long", bad.len ? "; " : "", names[i]);
			continue;
		}
		for (int k = 0; k < nmounts; k++) /* the last mount of a point is seen */
			if (strcmp(mounts[k].point, path) == 0)
				m = &mounts[k];
		f = try_create(path);
		d = try_mkdir(path);
		if (f || d)
			add(&bad, "%s`%s`: as uid %u create %s, mkdir %s", bad.len ? "; " : "",
			    path, (unsigned)getuid(), ename(f), ename(d));
		else if (nmounts < 0)
			add(&bad, "%s`%s`: read /proc/self/mountinfo: %s", bad.len ? "; " : "",
			    path, ename(mounts_errno));
		else if (!m || strcmp(m->fstype, "tmpfs") != 0 || m->size < 0 ||
			 wm_pages(m->size) != wm_pages(size))
			add(&bad, "%s`%s`: %s", bad.len ? "; " : "", path,
			    !m ? "no mount of its own" : "not a tmpfs of scratch_size");
		else
			add(&good, "%s`%s` (%lldk)", good.len ? ", " : "", path,
			    (long long)(m->size >> 10));
	}
	if (bad.len)
		report(P_SCRATCH,
		       strstr(bad.s, "mountinfo") && !strstr(bad.s, "create ") ? "unknown"
									       : "broken",
		       "%s", bad.s);
	else
		report(P_SCRATCH, "kept", "writable tmpfs of scratch_size: %s", good.s);
}

static int usage(void)
{
	fprintf(stderr, "usage: jobcell-probe --mount-point DIR --job NAME [--sibling NAME] "
			"[--caps HEX] [--network NAME] [--tmp-size BYTES] [--run-size BYTES] "
			"[--root-mode OCTAL] [--volume-size BYTES] [--job-path PATH] "
			"[--scratch NAME,... --scratch-size BYTES]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mp = NULL, *job = NULL, *sibling = NULL, *network = "none";
	const char *job_path = NULL, *scratch = NULL;
	long long scratch_size = 0;
	char job_dir[PATH_MAX];
	uint64_t caps = 0;
	long root_mode = -1;
	long long volume_size = 0;
	struct wm_site site = { 0 };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!v)
			return usage();
		if (strcmp(a, "--mount-point") == 0)
			mp = v;
		else if (strcmp(a, "--job") == 0)
			job = v;
		else if (strcmp(a, "--sibling") == 0)
			sibling = v;
		else if (strcmp(a, "--job-path") == 0)
			job_path = v;
		else if (strcmp(a, "--scratch") == 0)
			scratch = v;
		else if (strcmp(a, "--scratch-size") == 0) {
			errno = 0;
			scratch_size = strtoll(v, &end, 10);
			if (errno || *end || !*v || scratch_size < 0)
				return usage();
		} else if (strcmp(a, "--network") == 0)
			network = v;
		else if (strcmp(a, "--tmp-size") == 0 || strcmp(a, "--run-size") == 0) {
			errno = 0;
			long long n = strtoll(v, &end, 10);
			if (errno || *end || !*v || n < 0)
				return usage();
			*(a[2] == 't' ? &site.tmp_size : &site.run_size) = n;
		} else if (strcmp(a, "--root-mode") == 0) {
			errno = 0;
			root_mode = strtol(v, &end, 8);
			if (errno || *end || !*v || root_mode < 0 || root_mode > 07777)
				return usage();
		} else if (strcmp(a, "--volume-size") == 0) {
			errno = 0;
			volume_size = strtoll(v, &end, 10);
			if (errno || *end || !*v || volume_size < 0)
				return usage();
		} else if (strcmp(a, "--caps") == 0) {
			errno = 0;
			caps = strtoull(v, &end, 16);
			if (errno || *end || !*v)
				return usage();
		} else
			return usage();
		i++;
	}
	if (!mp || !job || mp[0] != '/' || !*job || strchr(job, '/') ||
	    (sibling && strchr(sibling, '/')) || (job_path && job_path[0] != '/') ||
	    (scratch && strchr(scratch, '/')))
		return usage();
	if (job_path)
		snprintf(job_dir, sizeof(job_dir), "%s", job_path);
	else if (join(job_dir, sizeof(job_dir), mp, job) < 0)
		return usage();

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	printf("# jobcell-probe uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
	read_mounts();
	check_root(mp);
	check_root_mode(mp, root_mode);
	check_siblings(mp, job, !job_path, scratch, sibling);
	check_readonly_child(P_STARTUP_READONLY, mp, "startup");
	check_readonly_child(P_LOCAL_READONLY, mp, "local");
	check_job_dir(job_dir);
	check_sockets();
	check_status(caps);
	check_rootfs();
	check_network(network);
	site.mount_point = mp;
	site.job = job;
	site.job_path = job_path;
	site.scratch = scratch;
	site.scratch_size = scratch_size;
	check_writable(&site);
	check_volume_size(job_dir, volume_size);
	check_scratch(mp, scratch, scratch_size);
	printf("# end\n");
	fflush(stdout);
	return 0;
}
