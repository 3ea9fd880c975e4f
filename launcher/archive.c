/* Tar streams with libarchive.  Extraction is the side that faces a hostile
 * job: the stream comes from the job's own directory or volume, so every
 * member is judged on its own.  Paths are walked one component at a time
 * from the destination's descriptor with O_NOFOLLOW ("." and ".." are
 * refused before), so nothing is ever written through a symlink and nothing
 * lands outside the destination.  Data is copied block by block: memory does
 * not grow with the size of a member. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jobcell.h"

#define REPORT_MAX 100

static void refuse(struct jc_extract_report *rep, const char *name, const char *why)
{
	char *line = NULL;

	rep->refused++;
	if (rep->reasons.n >= REPORT_MAX)
		return;
	/* the name comes from the job: never echo control bytes */
	if (asprintf(&line, "`%s`: %s", name, why) < 0)
		return;
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	jc_strv_push(&rep->reasons, line);
	free(line);
}

/* Split a member name into components, dropping the first `strip`.
 * Returns 0, 1 for "nothing left: skip quietly", or -1 with *why. */
static int split_name(const char *raw, unsigned strip, struct jc_strv *out, const char **why)
{
	cleanup_free char *copy = NULL;
	char *save = NULL;

	if (!raw || !*raw)
		return *why = "empty name", -1;
	if (raw[0] == '/')
		return *why = "absolute name", -1;
	if (!(copy = strdup(raw)))
		return *why = "out of memory", -1;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0)
			return jc_strv_free(out), *why = "name contains `..`", -1;
		if (strcmp(c, ".") == 0)
			continue;
		if (strip) {
			strip--;
			continue;
		}
		if (jc_strv_push(out, c) < 0)
			return jc_strv_free(out), *why = "out of memory", -1;
	}
	return out->n ? 0 : 1;
}

/* Open the directory holding the last component, creating the ones on the
 * way when `create`.  Returns an fd, or -1 with *why. */
static int walk_parent(int dest_fd, const struct jc_strv *c, bool create, const char **why)
{
	int cur = dup(dest_fd);

	if (cur < 0)
		return *why = "cannot open the destination", -1;
	for (size_t i = 0; i + 1 < c->n; i++) {
		int next = openat(cur, c->v[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create && mkdirat(cur, c->v[i], 0700) == 0)
			next = openat(cur, c->v[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			struct stat st;
			*why = fstatat(cur, c->v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				       S_ISLNK(st.st_mode)
				   ? "path passes through a symlink"
			       : errno == ENOENT ? "path does not exist"
						 : "path passes through a non-directory";
			close(cur);
			return -1;
		}
		close(cur);
		cur = next;
	}
	return cur;
}

/* Does a symlink at depth `depth` (components above it) with this target
 * stay inside the destination, read lexically? */
static bool link_stays_inside(const char *target, size_t depth)
{
	cleanup_free char *copy = NULL;
	char *save = NULL;
	long d = (long)depth;

	if (!target || !*target || target[0] == '/' || !(copy = strdup(target)))
		return false;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0) {
			if (--d < 0)
				return false;
		} else if (strcmp(c, ".") != 0) {
			d++;
		}
	}
	return true;
}

/* Copy the member's data into fd with pwrite, so holes stay holes. */
static int copy_data(struct archive *a, int fd, int64_t size, jc_error *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (len) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return jc_error_set(err, JC_ERR_SYSTEM, errno, "write: %s",
						    strerror(errno));
			p += n;
			off += n;
			len -= (size_t)n;
		}
	}
	if (r != ARCHIVE_EOF)
		return jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "read archive: %s",
				    archive_error_string(a));
	if (ftruncate(fd, size) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "write: %s", strerror(errno));
	return 0;
}

/* One member.  Returns 0 (written or refused into rep) or -1 (fatal). */
static int extract_one(struct archive *a, struct archive_entry *e, int dest_fd, unsigned strip,
		       struct jc_extract_report *rep, jc_error *err)
{
	const char *raw = archive_entry_pathname(e), *why = NULL;
	const char *hard = archive_entry_hardlink(e);
	struct jc_strv comps = { 0 }, tcomps = { 0 };
	cleanup_close int parent = -1;
	cleanup_close int fd = -1;
	mode_t perm = archive_entry_perm(e) & 0777; /* no setuid, setgid, sticky */
	const char *name;
	struct stat st;
	int r = split_name(raw, strip, &comps, &why);

	if (r != 0) {
		if (r < 0)
			refuse(rep, raw ? raw : "", why);
		goto skip;
	}
	name = comps.v[comps.n - 1];
	if (hard) {
		cleanup_close int tparent = -1;
		if (split_name(hard, strip, &tcomps, &why) != 0) {
			refuse(rep, raw, "hard link to a name outside the destination");
			goto skip;
		}
		tparent = walk_parent(dest_fd, &tcomps, false, &why);
		if (tparent < 0 ||
		    fstatat(tparent, tcomps.v[tcomps.n - 1], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode)) {
			refuse(rep, raw, "hard link to something that is not a file inside");
			goto skip;
		}
		if ((parent = walk_parent(dest_fd, &comps, true, &why)) < 0) {
			refuse(rep, raw, why);
			goto skip;
		}
		if (linkat(tparent, tcomps.v[tcomps.n - 1], parent, name, 0) < 0) {
			refuse(rep, raw, errno == EEXIST ? "exists already" : strerror(errno));
			goto skip;
		}
		rep->extracted++;
		goto skip;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		if ((parent = walk_parent(dest_fd, &comps, true, &why)) < 0) {
			refuse(rep, raw, why);
			goto skip;
		}
		/* NOFOLLOW: a planted symlink is refused; NONBLOCK: a planted
		 * fifo cannot block the open */
		fd = openat(parent, name,
			    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0600);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			refuse(rep, raw,
			       errno == ELOOP ? "a symlink is in its place"
					      : "something that is not a file is in its place");
			goto skip;
		}
		if (copy_data(a, fd, archive_entry_size(e), err) < 0 || fchmod(fd, perm) < 0) {
			if (!err->msg)
				jc_error_set(err, JC_ERR_SYSTEM, errno, "chmod: %s",
					     strerror(errno));
			jc_error_wrap(err, "extract `%s`", name);
			goto fatal;
		}
		rep->extracted++;
		goto done;
	case AE_IFDIR:
		if ((parent = walk_parent(dest_fd, &comps, true, &why)) < 0) {
			refuse(rep, raw, why);
			goto skip;
		}
		if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST) {
			refuse(rep, raw, strerror(errno));
			goto skip;
		}
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			refuse(rep, raw, "something that is not a directory is in its place");
			goto skip;
		}
		/* owner rwx stays, or later members could not be written */
		fchmod(fd, perm | 0700);
		rep->extracted++;
		goto skip;
	case AE_IFLNK:
		if (!link_stays_inside(archive_entry_symlink(e), comps.n - 1)) {
			refuse(rep, raw, "symlink pointing outside the destination");
			goto skip;
		}
		if ((parent = walk_parent(dest_fd, &comps, true, &why)) < 0) {
			refuse(rep, raw, why);
			goto skip;
		}
		if (symlinkat(archive_entry_symlink(e), parent, name) < 0) {
			refuse(rep, raw, errno == EEXIST ? "exists already" : strerror(errno));
			goto skip;
		}
		rep->extracted++;
		goto skip;
	case AE_IFCHR:
	case AE_IFBLK:
		refuse(rep, raw, "device node");
		goto skip;
	case AE_IFIFO:
		refuse(rep, raw, "fifo");
		goto skip;
	default:
		refuse(rep, raw, "not a file, directory or link");
		goto skip;
	}
skip:
	if (archive_read_data_skip(a) != ARCHIVE_OK) {
		jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "read archive: %s",
			     archive_error_string(a));
		goto fatal;
	}
done:
	jc_strv_free(&comps);
	jc_strv_free(&tcomps);
	return 0;
fatal:
	jc_strv_free(&comps);
	jc_strv_free(&tcomps);
	return -1;
}

int jc_archive_extract(int tar_fd, int dest_fd, unsigned strip, struct jc_extract_report *rep,
		       jc_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct jc_extract_report out = { 0 };
	int r = 0;

	if (!a)
		return jc_error_oom(err);
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, tar_fd, 64 * 1024) != ARCHIVE_OK) {
		r = jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "read archive: %s",
				 archive_error_string(a));
		goto out;
	}
	for (;;) {
		int h = archive_read_next_header(a, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
			r = jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "read archive: %s",
					 archive_error_string(a));
			break;
		}
		if ((r = extract_one(a, e, dest_fd, strip, &out, err)) < 0)
			break;
	}
out:
	archive_read_free(a);
	if (r < 0) {
		jc_extract_report_free(&out);
		return -1;
	}
	*rep = out;
	return 0;
}

void jc_extract_report_free(struct jc_extract_report *rep)
{
	jc_strv_free(&rep->reasons);
	rep->extracted = rep->refused = 0;
}
