/* Extra read-only data mounts ([mounts]), judged through file descriptors as
 * the workspace is: config.c checked the strings (absolute, under a data
 * prefix, away from the engine socket and the workspace); here each path is
 * opened beneath its prefix's descriptor with symlinks refused by the
 * kernel, and what the descriptor holds must be a directory or a regular
 * file.  The engine still mounts by path: jc_data_recheck, just before the
 * start, compares device and inode again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "data.h"
#include "error.h"
#include "fsutil.h"
#include "util.h"

/* The longest data prefix that `path` lies under, or NULL. */
static const char *find_prefix(const struct jc_config *cfg, const char *path)
{
	const char *best = NULL;

	for (size_t i = 0; i < cfg->data_prefixes.n; i++) {
		const char *p = cfg->data_prefixes.v[i];
		if (jc_path_within(path, p) && (!best || strlen(p) > strlen(best)))
			best = p;
	}
	return best;
}

/* `path` relative to `prefix` (which it lies under), without leading or
 * repeated slashes; "." for the prefix itself.  Caller frees. */
static char *rest_of(const char *path, const char *prefix)
{
	const char *a = path, *b = prefix;
	char *out, *o;

	/* walk both, ignoring repeated slashes, until the prefix is used up */
	while (*b) {
		if (*a == '/' && *b == '/') {
			while (*a == '/')
				a++;
			while (*b == '/')
				b++;
			continue;
		}
		a++;
		b++;
	}
	while (*a == '/')
		a++;
	if (!*a)
		return strdup(".");
	if (!(out = malloc(strlen(a) + 1)))
		return NULL;
	for (o = out; *a; a++)
		if (!(*a == '/' && (o == out || o[-1] == '/')))
			*o++ = *a;
	if (o > out && o[-1] == '/')
		o--;
	*o = '\0';
	return out;
}

/* Why `rest` beneath dirfd could not be opened: name the component that is
 * not a directory (a symlink, most likely). */
static int refuse_walk(int dirfd, const char *name, const char *rest, int e, jc_error *err)
{
	cleanup_free char *copy = strdup(rest);
	cleanup_close int fd = -1;
	struct stat st;
	char *save = NULL;
	int cur = dirfd;

	if (!copy)
		return jc_error_oom(err);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next;
		if (fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		if (S_ISLNK(st.st_mode))
			return jc_error_set(
			    err, JC_ERR_WORKSPACE, ELOOP,
			    "data mount `%s`: open `%s` beneath its prefix: `%s` is "
			    "a symlink",
			    name, rest, c);
		if (!S_ISDIR(st.st_mode))
			break;
		next = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = next;
		cur = fd;
	}
	return jc_error_set(err, JC_ERR_WORKSPACE, e,
			    "data mount `%s`: open `%s` beneath its prefix: %s", name, rest,
			    strerror(e));
}

/* Open `rest` beneath dirfd without following any symlink; a trailing
 * symlink is opened as itself (O_PATH) and refused by type. */
static int open_beneath(int dirfd, const char *name, const char *rest, int *out, jc_error *err)
{
	int fd = jc_fs_open_beneath(dirfd, rest, O_PATH, 0);

	if (fd < 0 && errno == ENOMEM)
		return jc_error_oom(err);
	if (fd < 0)
		return refuse_walk(dirfd, name, rest, errno, err);
	*out = fd;
	return 0;
}

/* Open one mount: its prefix, then the rest beneath it. */
static int open_one(const struct jc_config *cfg, const char *name, const char *path,
		    struct jc_data_mount *m, jc_error *err)
{
	const char *prefix = find_prefix(cfg, path);
	cleanup_free char *rest = NULL;
	cleanup_free char *real = NULL;
	cleanup_close int pfd = -1;
	cleanup_close int fd = -1;
	struct stat st;
	const char *why;

	if (!prefix)
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "data mount `%s`: `%s` is not under any of [job] data_prefixes",
				    name, path);
	/* the way to the prefix, as the workspace's: every directory and link
	 * on it, at any depth of a chain, only root's or jobcell's to change */
	if (jc_fs_check_parents(prefix, "data prefix", err) < 0)
		return jc_error_wrap(err, "data mount `%s`", name);
	pfd = open(prefix, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		int e = errno;
		if ((e == ELOOP || e == ENOTDIR) && lstat(prefix, &st) == 0)
			return jc_error_set(err, JC_ERR_WORKSPACE, e,
					    "data mount `%s`: open data prefix `%s`: it is %s, not "
					    "a directory",
					    name, prefix, jc_file_type(st.st_mode));
		return jc_error_set(err, JC_ERR_WORKSPACE, e,
				    "data mount `%s`: open data prefix `%s`: %s", name, prefix,
				    strerror(e));
	}
	if (fstat(pfd, &st) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno,
				    "data mount `%s`: stat data prefix `%s`: %s", name, prefix,
				    strerror(errno));
	/* anyone else who can rename entries in it can swap what we check:
	 * the same rule as the directories above it */
	if ((why = jc_fs_unsafe_dir(&st)))
		return jc_error_set(err, JC_ERR_WORKSPACE, EPERM,
				    "data mount `%s`: data prefix `%s` is %s (mode %04o, uid %u)",
				    name, prefix, why, (unsigned)(st.st_mode & 07777),
				    (unsigned)st.st_uid);
	/* the string rules again on what the prefix resolves to: a link above
	 * it could lead where the engine socket or the workspace is */
	if (!(rest = rest_of(path, prefix)))
		return jc_error_oom(err);
	if ((real = realpath(prefix, NULL))) {
		cleanup_free char *full = NULL;
		if (asprintf(&full, "%s/%s", real, rest) < 0) {
			full = NULL;
			return jc_error_oom(err);
		}
		if (jc_config_check_data_path(cfg, full, "resolved data mount", err) < 0)
			return jc_error_wrap(err, "data mount `%s`", name);
	}
	if (open_beneath(pfd, name, rest, &fd, err) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return jc_error_set(err, JC_ERR_WORKSPACE, errno, "data mount `%s`: stat `%s`: %s",
				    name, path, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return jc_error_set(err, JC_ERR_WORKSPACE, S_ISLNK(st.st_mode) ? ELOOP : EINVAL,
				    "data mount `%s`: `%s` is %s: want a directory or a regular "
				    "file",
				    name, path, jc_file_type(st.st_mode));
	m->fd = steal_fd(&fd);
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 0;
}

/* NAME and HOST_PATH of a "NAME=HOST_PATH" entry. */
static int split_entry(const char *entry, char **name, const char **path, jc_error *err)
{
	const char *eq = strchr(entry, '=');

	if (!eq)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [mounts] entry is not NAME=HOST_PATH");
	if (!(*name = strndup(entry, (size_t)(eq - entry))))
		return jc_error_oom(err);
	*path = eq + 1;
	return 0;
}

int jc_data_open(const struct jc_config *cfg, struct jc_data *out, jc_error *err)
{
	struct jc_data d = { 0 };

	if (cfg->mounts.n && !(d.m = calloc(cfg->mounts.n, sizeof(*d.m))))
		return jc_error_oom(err);
	for (size_t i = 0; i < cfg->mounts.n; i++) {
		struct jc_data_mount *m = &d.m[i];
		const char *path = NULL;

		m->fd = -1;
		d.n++;
		if (split_entry(cfg->mounts.v[i], &m->name, &path, err) < 0)
			goto fail;
		if (!(m->path = strdup(path))) {
			jc_error_oom(err);
			goto fail;
		}
		if (open_one(cfg, m->name, m->path, m, err) < 0)
			goto fail;
	}
	*out = d;
	return 0;
fail:
	jc_data_close(&d);
	return -1;
}

int jc_data_recheck(const struct jc_config *cfg, const struct jc_data *d, jc_error *err)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct jc_data_mount *m = &d->m[i];
		struct jc_data_mount again = { .fd = -1 };

		if (open_one(cfg, m->name, m->path, &again, err) < 0)
			return jc_error_wrap(err, "recheck");
		close(again.fd);
		if (again.dev != m->dev || again.ino != m->ino)
			return jc_error_set(
			    err, JC_ERR_WORKSPACE, ESTALE,
			    "data mount `%s`: `%s` was replaced after it was checked", m->name,
			    m->path);
	}
	return 0;
}

void jc_data_close(struct jc_data *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->m[i].fd >= 0)
			close(d->m[i].fd);
		free(d->m[i].name);
		free(d->m[i].path);
	}
	free(d->m);
	d->m = NULL;
	d->n = 0;
}
