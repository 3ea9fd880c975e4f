/* Tar streams with libarchive.  Extraction is the side that faces a hostile
 * job: the stream comes from the job's own directory or volume, so every
 * member is judged on its own.  Paths are walked one component at a time
 * from the destination's descriptor with jc_fs_open_beneath ("." and ".."
 * are refused before), so nothing is ever written through a symlink and
 * nothing lands outside the destination.  Data is copied block by block: memory does
 * not grow with the size of a member.
 *
 * Sending inputs is the other side: files and directories beneath the
 * transfer directory are opened and walked through descriptors, never
 * following a symlink, and only regular files and directories go into the
 * stream, every member owned by the job's user. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "archive.h"
#include "archive_lib.h"
#include "error.h"
#include "fsutil.h"
#include "util.h"

#define REPORT_MAX 100

static void refuse(struct jc_extract_report *rep, const char *name, const char *why)
{
	char *line = NULL;
	char *shown_line;

	rep->refused++;
	if (rep->reasons.n >= REPORT_MAX)
		return;
	if (asprintf(&line, "`%s`: %s", name, why) < 0)
		return;
	/* the name comes from the job: never echo control bytes */
	if ((shown_line = jc_text_printable_str(line)))
		jc_strv_push(&rep->reasons, shown_line);
	free(shown_line);
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

/* What one output made, in order ("d" or "f", then the path), so that a
 * cut output can be taken back (jc_extract_limits). */
static void made_add(struct jc_strv *made, char type, const struct jc_strv *c, size_t n)
{
	size_t len = 1;
	char *p, *e;

	if (!made)
		return;
	for (size_t i = 0; i < n; i++)
		len += strlen(c->v[i]) + 1;
	if (!(p = e = malloc(len + 1)))
		return; /* out of memory: that one stays behind */
	*e++ = type;
	for (size_t i = 0; i < n; i++)
		e += sprintf(e, "%s%s", i ? "/" : "", c->v[i]);
	/* out of memory: that one stays behind */
	jc_strv_push(made, p);
	free(p);
}

/* Open the directory holding the last component, creating the ones on the
 * way (0700) when `create`, each one made added to `made`.  Returns an fd,
 * or -1 with *why. */
static int walk_parent(int dest_fd, const struct jc_strv *c, bool create, struct jc_strv *made,
		       const char **why)
{
	int cur = dup(dest_fd);

	if (cur < 0)
		return *why = "cannot open the destination", -1;
	for (size_t i = 0; i + 1 < c->n; i++) {
		int next = jc_fs_open_beneath(cur, c->v[i], O_PATH | O_DIRECTORY, 0);
		/* mkdirat never follows a symlink in the last component: one
		 * planted there is EEXIST, and the open after refuses it */
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, c->v[i], 0700) == 0) {
				made_add(made, 'd', c, i + 1);
				next = jc_fs_open_beneath(cur, c->v[i], O_PATH | O_DIRECTORY, 0);
			} else if (errno == EEXIST) {
				next = jc_fs_open_beneath(cur, c->v[i], O_PATH | O_DIRECTORY, 0);
			}
		}
		if (next < 0) {
			struct stat st;
			int e = errno;
			*why = fstatat(cur, c->v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				       S_ISLNK(st.st_mode)
				   ? "path passes through a symlink"
			       : e == ENOENT ? "path does not exist"
					     : "path passes through a non-directory";
			close(cur);
			errno = e; /* a full disk ends the extraction */
			return -1;
		}
		close(cur);
		cur = next;
	}
	return cur;
}

/* Does a symlink with this target stay inside the destination however it
 * is combined with others?  Only a relative target without `..` is sure
 * to: it can only lead down from its own directory, and so can every link
 * it passes through.  Judging `..` lexically is not enough -- `l -> .`
 * then `up -> l/..` climbs out -- so a target with `..` is refused. */
static bool link_stays_inside(const char *target)
{
	cleanup_free char *copy = NULL;
	char *save = NULL;

	if (!target || !*target || target[0] == '/' || !(copy = strdup(target)))
		return false;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
		if (strcmp(c, "..") == 0)
			return false;
	return true;
}

/* The stream as extraction reads it: every byte counted against
 * max_bytes before libarchive sees it, so a stream longer than the limit
 * stops being read at the limit, however its headers describe it. */
#define READ_BLOCK JC_STREAM_BLOCK

struct source {
	int fd;
	char *buf;
	struct jc_extract_limits *lim;
	bool over; /* max_bytes was passed */
};

static la_ssize_t source_read(struct archive *a, void *ctx, const void **out)
{
	struct source *s = ctx;
	uint64_t max = s->lim->max_bytes, used = s->lim->bytes;
	size_t want = READ_BLOCK;
	ssize_t n;

	/* up to the limit; then one byte more tells a longer stream from one
	 * that ends there */
	if (max && used < max && max - used < want)
		want = (size_t)(max - used);
	else if (max && used >= max)
		want = 1;
	do
		n = read(s->fd, s->buf, want);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	if (max && used + (uint64_t)n > max) {
		s->over = true;
		archive_set_error(a, EFBIG, "over [output] max_bytes");
		return -1;
	}
	s->lim->bytes += (uint64_t)n;
	*out = s->buf;
	return n;
}

static int over_bytes(struct jc_extract_report *rep, const struct jc_extract_limits *lim,
		      jc_error *err)
{
	rep->cut = true;
	return jc_error_set(err, JC_ERR_INPUT, EFBIG, "more than %llu bytes ([output] max_bytes)",
			    (unsigned long long)lim->max_bytes);
}

/* Charge `n` bytes that a member claims without sending them (the holes of
 * a sparse member): the host would still read them back. */
static int charge(struct source *s, uint64_t n, struct jc_extract_report *rep, jc_error *err)
{
	struct jc_extract_limits *lim = s->lim;

	if (lim->max_bytes && (lim->bytes > lim->max_bytes || n > lim->max_bytes - lim->bytes))
		return over_bytes(rep, lim, err);
	lim->bytes += n;
	return 0;
}

/* Why libarchive failed: the limit, or the stream itself. */
static int stream_failed(struct archive *a, struct source *s, struct jc_extract_report *rep,
			 jc_error *err)
{
	if (s->over)
		return over_bytes(rep, s->lim, err);
	return jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "read archive: %s",
			    archive_error_string(a));
}

static bool disk_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* A copy of `s` fit for a message, cut after 120 bytes.  NULL when out of
 * memory. */
static char *shown(const char *s)
{
	return jc_text_printable(s, strnlen(s, 121), 120);
}

/* ENOSPC or EDQUOT while making `name`: the extraction ends; the caller
 * names the directory. */
static int full(const char *step, const char *name, int e, struct jc_extract_report *rep,
		jc_error *err)
{
	cleanup_free char *p = shown(name);

	rep->cut = true;
	return jc_error_set(err, JC_ERR_SYSTEM, e, "the disk is full: %s `%s`: %s", step,
			    p ? p : "?", strerror(e));
}

/* Copy the member's data into fd with pwrite, so holes stay holes. */
/* A block of zeros is not written: the file is new, so what is skipped
 * reads as zeros and takes no space.  The engines' archives carry no sparse
 * map (Go's archive/tar writes holes out as zeros), so this is how a sparse
 * file in the job's directory stays sparse on the host.  Its zeros were
 * read from the stream all the same, and count against max_bytes. */
#define HOLE_BLOCK 4096

static bool all_zero(const char *p, size_t n)
{
	return n && p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

static int write_at(int fd, const char *p, size_t len, la_int64_t off, jc_error *err)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return jc_error_set(err, JC_ERR_SYSTEM, errno, "write: %s", strerror(errno));
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static int copy_data(struct archive *a, struct source *s, int fd, int64_t size,
		     struct jc_extract_report *rep, jc_error *err)
{
	const void *buf;
	size_t len;
	la_int64_t off, reached = 0;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		/* a sparse map's gap: claimed, never sent */
		if (off > reached && charge(s, (uint64_t)(off - reached), rep, err) < 0)
			return -1;
		if (off + (la_int64_t)len > reached)
			reached = off + (la_int64_t)len;
		/* block by block up to each block boundary of the file, so that
		 * holes are whole file-system blocks; a run of blocks that are
		 * not all zeros goes out in one write */
		while (len) {
			size_t run = 0, n;

			for (;;) {
				n = HOLE_BLOCK - (size_t)((off + (la_int64_t)run) % HOLE_BLOCK);
				if (n > len - run)
					n = len - run;
				if (!n || all_zero(p + run, n))
					break;
				run += n;
			}
			if (run && write_at(fd, p, run, off, err) < 0)
				return -1;
			if (!run)
				run = n; /* a block of zeros: skipped */
			p += run;
			off += (la_int64_t)run;
			len -= run;
		}
	}
	if (r != ARCHIVE_EOF)
		return stream_failed(a, s, rep, err);
	if (size > reached && charge(s, (uint64_t)(size - reached), rep, err) < 0)
		return -1;
	/* the size, trailing holes included */
	if (ftruncate(fd, size) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "write: %s", strerror(errno));
	return 0;
}

/* One member.  Returns 0 (written or refused into rep) or -1 (fatal). */
static int extract_one(struct archive *a, struct source *s, struct archive_entry *e, int dest_fd,
		       unsigned strip, struct jc_extract_report *rep, jc_error *err)
{
	const char *raw = archive_entry_pathname(e), *why = NULL;
	const char *hard = archive_entry_hardlink(e);
	struct jc_strv comps = { 0 }, tcomps = { 0 };
	cleanup_close int parent = -1;
	cleanup_close int fd = -1;
	/* no setuid, setgid or sticky bit, and nothing others may write: what a
	 * job made lands on the host */
	mode_t perm = archive_entry_perm(e) & 0775;
	const char *name;
	struct stat st;
	int r = split_name(raw, strip, &comps, &why);

	if (r != 0) {
		if (r < 0)
			refuse(rep, raw ? raw : "", why);
		goto skip;
	}
	if (s->lim->max_depth && comps.n > s->lim->max_depth) {
		cleanup_free char *p = shown(raw);
		rep->cut = true;
		jc_error_set(err, JC_ERR_INPUT, ELOOP,
			     "`%s` is more than %llu path components deep ([output] max_depth)",
			     p ? p : "?", (unsigned long long)s->lim->max_depth);
		goto fatal;
	}
	name = comps.v[comps.n - 1];
	if (hard) {
		cleanup_close int tparent = -1;
		if (split_name(hard, strip, &tcomps, &why) != 0) {
			refuse(rep, raw, "hard link to a name outside the destination");
			goto skip;
		}
		tparent = walk_parent(dest_fd, &tcomps, false, NULL, &why);
		if (tparent < 0 ||
		    fstatat(tparent, tcomps.v[tcomps.n - 1], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode)) {
			refuse(rep, raw, "hard link to something that is not a file inside");
			goto skip;
		}
		if ((parent = walk_parent(dest_fd, &comps, true, s->lim->made, &why)) < 0)
			goto no_parent;
		if (linkat(tparent, tcomps.v[tcomps.n - 1], parent, name, 0) < 0) {
			if (disk_full(errno)) {
				full("link", raw, errno, rep, err);
				goto fatal;
			}
			refuse(rep, raw, errno == EEXIST ? "exists already" : strerror(errno));
			goto skip;
		}
		made_add(s->lim->made, 'f', &comps, comps.n);
		rep->extracted++;
		goto skip;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		if ((parent = walk_parent(dest_fd, &comps, true, s->lim->made, &why)) < 0)
			goto no_parent;
		/* NOFOLLOW: a planted symlink is refused; NONBLOCK: a planted
		 * fifo cannot block the open.  A new file is this output's own */
		fd = jc_fs_open_beneath(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK,
					0600);
		if (fd >= 0)
			made_add(s->lim->made, 'f', &comps, comps.n);
		else if (errno == EEXIST)
			fd = jc_fs_open_beneath(parent, name,
						O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, 0600);
		if (fd < 0 && disk_full(errno)) {
			full("create", raw, errno, rep, err);
			goto fatal;
		}
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			refuse(rep, raw,
			       errno == ELOOP ? "a symlink is in its place"
					      : "something that is not a file is in its place");
			goto skip;
		}
		if (copy_data(a, s, fd, archive_entry_size(e), rep, err) < 0 ||
		    fchmod(fd, perm) < 0) {
			if (!err->msg)
				jc_error_set(err, JC_ERR_SYSTEM, errno, "chmod: %s",
					     strerror(errno));
			if (disk_full(err->status))
				full("write", raw, err->status, rep, err);
			else if (!rep->cut)
				jc_error_wrap(err, "extract `%s`", name);
			goto fatal;
		}
		rep->extracted++;
		goto done;
	case AE_IFDIR:
		if ((parent = walk_parent(dest_fd, &comps, true, s->lim->made, &why)) < 0)
			goto no_parent;
		if (mkdirat(parent, name, 0700) == 0)
			made_add(s->lim->made, 'd', &comps, comps.n);
		else if (errno != EEXIST) {
			if (disk_full(errno)) {
				full("mkdir", raw, errno, rep, err);
				goto fatal;
			}
			refuse(rep, raw, strerror(errno));
			goto skip;
		}
		fd = jc_fs_open_beneath(parent, name, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0) {
			refuse(rep, raw, "something that is not a directory is in its place");
			goto skip;
		}
		/* owner rwx stays, or later members could not be written */
		fchmod(fd, perm | 0700);
		rep->extracted++;
		goto skip;
	case AE_IFLNK:
		if (!link_stays_inside(archive_entry_symlink(e))) {
			refuse(rep, raw, "symlink that is absolute or climbs with `..`");
			goto skip;
		}
		if ((parent = walk_parent(dest_fd, &comps, true, s->lim->made, &why)) < 0)
			goto no_parent;
		if (symlinkat(archive_entry_symlink(e), parent, name) < 0) {
			if (disk_full(errno)) {
				full("symlink", raw, errno, rep, err);
				goto fatal;
			}
			refuse(rep, raw, errno == EEXIST ? "exists already" : strerror(errno));
			goto skip;
		}
		made_add(s->lim->made, 'f', &comps, comps.n);
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
no_parent:
	if (disk_full(errno)) {
		full("mkdir", raw, errno, rep, err);
		goto fatal;
	}
	refuse(rep, raw, why);
skip:
	if (archive_read_data_skip(a) != ARCHIVE_OK) {
		stream_failed(a, s, rep, err);
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

/* After the end-of-archive: whatever else the stream holds is read (and
 * counted) to its end, so that the engine's call finishes. */
static int drain(struct archive *a, struct source *s, struct jc_extract_report *rep, jc_error *err)
{
	const void *p;
	la_ssize_t n;

	/* libarchive takes a failed read after the first block of zeros for
	 * the end: the limit passed all the same */
	if (s->over)
		return over_bytes(rep, s->lim, err);
	while ((n = source_read(a, s, &p)) > 0)
		;
	if (n < 0)
		return stream_failed(a, s, rep, err);
	return 0;
}

/* A cut output is taken back: what it made, newest first, so that a
 * directory is empty by its turn.  Through descriptors as it was made;
 * what fails to go (a directory that holds something else) stays. */
static void undo_made(int dest_fd, struct jc_strv *made)
{
	for (size_t i = made->n; i-- > 0;) {
		struct jc_strv comps = { 0 };
		const char *why = NULL;
		int parent;

		if (split_name(made->v[i] + 1, 0, &comps, &why) == 0 &&
		    (parent = walk_parent(dest_fd, &comps, false, NULL, &why)) >= 0) {
			unlinkat(parent, comps.v[comps.n - 1],
				 made->v[i][0] == 'd' ? AT_REMOVEDIR : 0);
			close(parent);
		}
		jc_strv_free(&comps);
	}
	jc_strv_free(made);
}

void jc_extract_limits_free(struct jc_extract_limits *lim)
{
	if (lim && lim->made) {
		jc_strv_free(lim->made);
		free(lim->made);
		lim->made = NULL;
	}
}

int jc_archive_extract(int tar_fd, int dest_fd, unsigned strip, struct jc_extract_limits *lim,
		       struct jc_extract_report *rep, jc_error *err)
{
	struct jc_extract_limits none = { 0 };
	struct source s = { .fd = tar_fd, .lim = lim ? lim : &none };
	struct archive *a;
	struct archive_entry *e;
	struct jc_extract_report out = { 0 };
	int r = 0;

	*rep = out;
	if (jc_libarchive_load(err) < 0)
		return -1;
	a = archive_read_new();
	if (!s.lim->made)
		s.lim->made = calloc(1, sizeof(*s.lim->made));
	if (!a || !(s.buf = malloc(READ_BLOCK)) || !s.lim->made) {
		if (a)
			archive_read_free(a);
		free(s.buf);
		jc_extract_limits_free(&none);
		return jc_error_oom(err);
	}
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open(a, &s, NULL, source_read, NULL) != ARCHIVE_OK) {
		r = stream_failed(a, &s, &out, err);
		goto out;
	}
	for (;;) {
		int h = archive_read_next_header(a, &e);
		if (h == ARCHIVE_EOF) {
			r = drain(a, &s, &out, err);
			break;
		}
		if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
			r = stream_failed(a, &s, &out, err);
			break;
		}
		if (s.lim->max_members && s.lim->members >= s.lim->max_members) {
			out.cut = true;
			r = jc_error_set(err, JC_ERR_INPUT, E2BIG,
					 "more than %llu members ([output] max_members)",
					 (unsigned long long)s.lim->max_members);
			break;
		}
		s.lim->members++;
		if ((r = extract_one(a, &s, e, dest_fd, strip, &out, err)) < 0)
			break;
	}
out:
	archive_read_free(a);
	free(s.buf);
	if (r < 0 && out.cut)
		undo_made(dest_fd, s.lim->made);
	jc_extract_limits_free(&none);
	*rep = out;
	return r < 0 ? -1 : 0;
}

void jc_extract_report_free(struct jc_extract_report *rep)
{
	jc_strv_free(&rep->reasons);
	rep->extracted = rep->refused = 0;
}

/* ---- sending inputs ------------------------------------------------------- */

#define PATH_LEN_MAX 4095
#define NAME_LEN_MAX 255
#define DEPTH_MAX    64
#define BLOCK        JC_STREAM_BLOCK

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* "a/b", or NULL when out of memory. */
static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

/* Refuses what could name something outside the target or be read two ways:
 * absolute paths, empty, `.` and `..` components, control bytes, and names
 * longer than the kernel's NAME_MAX/PATH_MAX take. */
int jc_path_check(const char *path, const char *what, jc_error *err)
{
	cleanup_free char *p = NULL;
	const char *why = NULL, *c = path;

	if (!*path)
		why = "path is empty";
	else if (*path == '/')
		why = "absolute path is not allowed";
	else if (strlen(path) > PATH_LEN_MAX)
		why = "path is longer than 4095 bytes";
	for (const char *s = path; !why && *s; s++)
		if (is_control((unsigned char)*s))
			why = "control bytes are not allowed";
	while (!why && c) {
		const char *end = strchrnul(c, '/');
		size_t len = (size_t)(end - c);

		if (len == 0)
			why = "path has an empty component";
		else if (len == 1 && c[0] == '.')
			why = "path component `.` is not allowed";
		else if (len == 2 && c[0] == '.' && c[1] == '.')
			why = "path component `..` is not allowed";
		else if (len > NAME_LEN_MAX)
			why = "path component is longer than 255 bytes";
		c = *end ? end + 1 : NULL;
	}
	if (!why)
		return 0;
	if (!(p = shown(path)))
		return jc_error_oom(err);
	return jc_error_set(err, JC_ERR_INPUT, EINVAL, "%s `%s`: %s", what, p, why);
}

static int open_failed(const char *spec, const char *path, int e, jc_error *err)
{
	if (e == ELOOP)
		return jc_error_set(err, JC_ERR_INPUT, e,
				    "input `%s`: `%s` passes through a symlink; symlinks are not "
				    "followed",
				    spec, path);
	return jc_error_set(
	    err, e == ENOMEM || e == EMFILE || e == ENFILE ? JC_ERR_SYSTEM : JC_ERR_INPUT, e,
	    "input `%s`: open `%s`: %s", spec, path, strerror(e));
}

/* Open `path` beneath dfd for reading when it is a regular file or a
 * directory, and refuse anything else.  It is looked at through O_PATH
 * first: opening a fifo for reading would block and opening a device can
 * have effects.  The second open must reach the same inode (O_NONBLOCK: a
 * fifo swapped in between cannot block it).  `spec` and `shown_path` are for
 * messages.  Returns the fd with *st, or -1. */
static int open_checked(int dfd, const char *path, const char *spec, const char *shown_path,
			struct stat *st, jc_error *err)
{
	cleanup_close int fd = jc_fs_open_beneath(dfd, path, O_PATH, 0);
	struct stat now;
	int fl;

	if (fd < 0)
		return open_failed(spec, shown_path, errno, err);
	if (fstat(fd, st) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "input `%s`: stat `%s`: %s", spec,
				    shown_path, strerror(errno));
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return jc_error_set(err, JC_ERR_INPUT, S_ISLNK(st->st_mode) ? ELOOP : EINVAL,
				    "input `%s`: `%s` is %s; inputs hold only regular files and "
				    "directories",
				    spec, shown_path, jc_file_type(st->st_mode));
	close(fd);
	fd = jc_fs_open_beneath(
	    dfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0),
	    0);
	if (fd < 0)
		return open_failed(spec, shown_path, errno, err);
	if (fstat(fd, &now) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "input `%s`: open `%s`: %s", spec,
				    shown_path, strerror(errno));
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return jc_error_set(err, JC_ERR_INPUT, ESTALE,
				    "input `%s`: `%s` was replaced while being opened", spec,
				    shown_path);
	*st = now;
	return steal_fd(&fd);
}

/* Refuses a SRC or DEST that jc_path_check refuses (so an absolute SRC or
 * one with `..` too), a SRC that is or passes through a symlink, and a SRC
 * that is not a regular file or a directory. */
int jc_input_open(const char *spec, int base_fd, struct jc_input *out, jc_error *err)
{
	cleanup_free char *label = shown(spec);
	cleanup_free char *src = NULL, *dest = NULL, *copy = NULL;
	const char *colon = strchr(spec, ':'), *last;
	struct stat st;
	int fd;

	if (!label || !(src = strndup(spec, colon ? (size_t)(colon - spec) : strlen(spec))))
		return jc_error_oom(err);
	if (jc_path_check(src, "source", err) < 0)
		return jc_error_wrap(err, "input `%s`", label);
	last = strrchr(src, '/');
	if (!(dest = strdup(colon ? colon + 1 : last ? last + 1 : src)))
		return jc_error_oom(err);
	if (jc_path_check(dest, "destination", err) < 0)
		return jc_error_wrap(err, "input `%s`", label);
	if ((fd = open_checked(base_fd, src, label, src, &st, err)) < 0)
		return -1;
	if (!(copy = strdup(spec))) {
		close(fd);
		return jc_error_oom(err);
	}
	out->spec = steal_pointer(&copy);
	out->dest = steal_pointer(&dest);
	out->fd = fd;
	out->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

void jc_input_close(struct jc_input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	free(in->spec);
	free(in->dest);
	in->spec = in->dest = NULL;
}

/* Refuses two inputs with one DEST, and a DEST beneath one that an input
 * sends as a file: the engine would overwrite one with the other, or fail
 * halfway through the stream. */
static int check_dests(const struct jc_input *in, size_t n, jc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(in[i].dest);

		for (size_t j = 0; j < n; j++) {
			if (j > i && strcmp(in[i].dest, in[j].dest) == 0)
				return jc_error_set(err, JC_ERR_INPUT, EEXIST,
						    "input `%s`: destination `%s` is also the "
						    "destination of input `%s`",
						    in[j].spec, in[j].dest, in[i].spec);
			if (!in[i].is_dir && strncmp(in[j].dest, in[i].dest, len) == 0 &&
			    in[j].dest[len] == '/')
				return jc_error_set(err, JC_ERR_INPUT, ENOTDIR,
						    "input `%s`: destination `%s` is beneath `%s`, "
						    "which input `%s` sends as a file",
						    in[j].spec, in[j].dest, in[i].dest, in[i].spec);
		}
	}
	return 0;
}

/* Where the tar stream goes. */
struct sink {
	int fd;
	bool not_socket; /* send() said ENOTSOCK: write() from now on */
	bool failed;     /* write nothing more: a cut stream must not end in a trailer */
	int errnum;
};

/* send(MSG_NOSIGNAL) so that a closed socket reader is EPIPE, not SIGPIPE;
 * write() for pipes and files, with SIGPIPE blocked by jc_archive_write. */
static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	ssize_t n;

	if (s->failed) {
		archive_set_error(a, ECANCELED, "stream abandoned after an error");
		return -1;
	}
	for (;;) {
		n = s->not_socket ? write(s->fd, buf, len) : send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == ENOTSOCK && !s->not_socket)
			s->not_socket = true;
		else if (errno != EINTR)
			break;
	}
	s->errnum = errno;
	archive_set_error(a, s->errnum, "%s", strerror(s->errnum));
	return -1;
}

/* One walk serves both the scan (a == NULL: count bytes) and the writer. */
struct walk {
	const struct jc_tar_opts *o;
	struct archive *a;
	struct sink *out;
	char *buf;
	uint64_t bytes;
	jc_error *err;
};

static int stream_error(struct walk *w)
{
	const char *msg = archive_error_string(w->a);
	int e = w->out->errnum ? w->out->errnum : archive_errno(w->a);

	return jc_error_set(w->err, JC_ERR_SYSTEM, e > 0 ? e : EIO, "write tar stream: %s",
			    msg ? msg : "unknown error");
}

/* A member header for DEST-relative `dst` (NULL: the root itself), owned by
 * uid:gid with no owner names. */
static int add_header(struct walk *w, const char *dst, mode_t type, mode_t perm, int64_t size,
		      time_t mtime)
{
	const char *root = w->o->root;
	/* beneath "/" (the target itself), inputs are named as they are */
	bool prefix = root && strcmp(root, JC_TAR_ROOT_TARGET) != 0;
	cleanup_free char *name = !dst ? strdup(root) : prefix ? join(root, dst) : strdup(dst);
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!name || !e) {
		archive_entry_free(e);
		return jc_error_oom(w->err);
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, mtime, 0);
	archive_entry_set_uid(e, w->o->uid);
	archive_entry_set_gid(e, w->o->gid);
	r = archive_write_header(w->a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : stream_error(w);
}

/* Count, or send, one regular file.  Refuses a file whose size differs
 * from the header's by the time its data is read: the member would be cut
 * or padded. */
static int add_file(struct walk *w, const struct jc_input *in, int fd, const struct stat *st,
		    const char *src, const char *dst)
{
	off_t off = 0;
	ssize_t r;

	if (!w->a) {
		w->bytes += (uint64_t)st->st_size;
		return 0;
	}
	if (add_header(w, dst, AE_IFREG, st->st_mode & 0777, st->st_size, st->st_mtime) < 0)
		return -1;
	for (;;) {
		/* up to the end of libarchive's block: a whole block goes to the
		 * socket as it is, and only the first piece after a header is
		 * copied into the block the header began */
		size_t room = BLOCK - (size_t)(archive_filter_bytes(w->a, 0) % BLOCK);
		size_t want = (uint64_t)(st->st_size - off) < room ? (size_t)(st->st_size - off)
								    : room;

		/* at the end, one byte more tells a file that grew */
		r = pread(fd, w->buf, want ? want : 1, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return jc_error_set(w->err, JC_ERR_INPUT, errno,
					    "input `%s`: read `%s`: %s", in->spec, src,
					    strerror(errno));
		if ((r == 0 && want) || (r > 0 && !want))
			return jc_error_set(w->err, JC_ERR_INPUT, ESTALE,
					    "input `%s`: `%s` changed size while being sent",
					    in->spec, src);
		if (r == 0)
			return 0;
		for (char *p = w->buf; p < w->buf + r;) {
			la_ssize_t n = archive_write_data(w->a, p, (size_t)(w->buf + r - p));
			if (n <= 0)
				return stream_error(w);
			p += n;
		}
		off += r;
	}
}

static int walk_dir(struct walk *w, const struct jc_input *in, int dfd, const char *src,
		    const char *dst, int depth);

/* One directory entry, opened by name beneath its directory: refuses names
 * jc_path_check refuses, anything but regular files and directories, and
 * directories nested deeper than DEPTH_MAX. */
static int visit(struct walk *w, const struct jc_input *in, int dfd, const char *name,
		 const char *src, const char *dst, int depth)
{
	struct stat st;
	int fd, r;

	if (jc_path_check(dst, "name", w->err) < 0)
		return jc_error_wrap(w->err, "input `%s`", in->spec);
	if ((fd = open_checked(dfd, name, in->spec, src, &st, w->err)) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		r = add_file(w, in, fd, &st, src, dst);
		close(fd);
		return r;
	}
	if (depth > DEPTH_MAX) {
		close(fd);
		return jc_error_set(w->err, JC_ERR_INPUT, ELOOP,
				    "input `%s`: `%s` is nested more than %d directories deep",
				    in->spec, src, DEPTH_MAX);
	}
	if (w->a && add_header(w, dst, AE_IFDIR, st.st_mode & 0777, 0, st.st_mtime) < 0) {
		close(fd);
		return -1;
	}
	return walk_dir(w, in, fd, src, dst, depth);
}

/* Every entry of the directory dfd (taken over and closed), depth first. */
static int walk_dir(struct walk *w, const struct jc_input *in, int dfd, const char *src,
		    const char *dst, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0, e;

	if (!d) {
		e = errno;
		close(dfd);
		return jc_error_set(w->err, JC_ERR_SYSTEM, e, "input `%s`: list `%s`: %s", in->spec,
				    src, strerror(e));
	}
	for (errno = 0; r == 0 && (de = readdir(d)); errno = 0) {
		cleanup_free char *s = NULL, *t = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!(s = join(src, de->d_name)) || !(t = join(dst, de->d_name)))
			r = jc_error_oom(w->err);
		else
			r = visit(w, in, dirfd(d), de->d_name, s, t, depth + 1);
	}
	e = errno;
	closedir(d);
	if (r == 0 && e)
		return jc_error_set(w->err, JC_ERR_SYSTEM, e, "input `%s`: list `%s`: %s", in->spec,
				    src, strerror(e));
	return r;
}

static int walk_input(struct walk *w, const struct jc_input *in)
{
	cleanup_free char *src = strndup(in->spec, strcspn(in->spec, ":"));
	struct stat st;
	int fd;

	if (!src)
		return jc_error_oom(w->err);
	if (fstat(in->fd, &st) < 0)
		return jc_error_set(w->err, JC_ERR_SYSTEM, errno, "input `%s`: stat: %s", in->spec,
				    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return add_file(w, in, in->fd, &st, src, in->dest);
	if (w->a && add_header(w, in->dest, AE_IFDIR, st.st_mode & 0777, 0, st.st_mtime) < 0)
		return -1;
	/* a descriptor of its own: the walk reads and moves the offset */
	if ((fd = openat(in->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return jc_error_set(w->err, JC_ERR_SYSTEM, errno, "input `%s`: list `%s`: %s",
				    in->spec, src, strerror(errno));
	return walk_dir(w, in, fd, src, in->dest, 0);
}

int jc_input_scan(const struct jc_input *in, size_t n, uint64_t *bytes, jc_error *err)
{
	struct walk w = { .err = err };

	if (check_dests(in, n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (walk_input(&w, &in[i]) < 0)
			return -1;
	*bytes = w.bytes;
	return 0;
}

/* Directory entries for DEST's parents ("a/" and "a/b/" for "a/b/c"), so
 * that the engine creates them owned by uid:gid; a parent that is itself an
 * input's DEST gets that input's entry instead. */
static int add_parents(struct walk *w, const struct jc_input *in, size_t n, const char *dest)
{
	cleanup_free char *p = strdup(dest);
	bool is_input;

	if (!p)
		return jc_error_oom(w->err);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		is_input = false;
		for (size_t i = 0; i < n; i++)
			is_input |= strcmp(in[i].dest, p) == 0;
		if (!is_input && add_header(w, p, AE_IFDIR, 0755, 0, time(NULL)) < 0)
			return -1;
		*s = '/';
	}
	return 0;
}

/* Refuses what jc_input_scan refuses, checked again while writing since the
 * tree may have changed, and files that change size while being sent.
 * After an error nothing more is written, so the stream has no trailer. */
int jc_archive_write(int out_fd, const struct jc_tar_opts *o, const struct jc_input *in, size_t n,
		     jc_error *err)
{
	struct sink out = { .fd = out_fd };
	struct walk w = { .o = o, .out = &out, .err = err };
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int r = -1;

	if (o->root && strcmp(o->root, ".") != 0 && strcmp(o->root, JC_TAR_ROOT_TARGET) != 0 &&
	    jc_path_check(o->root, "archive root", err) < 0)
		return -1;
	if (check_dests(in, n, err) < 0 || jc_libarchive_load(err) < 0)
		return -1;
	/* write() into a pipe whose reader is gone raises SIGPIPE: hold it
	 * blocked in this thread and drop the one this call caused */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);

	if (!(w.buf = malloc(BLOCK)) || !(w.a = archive_write_new())) {
		jc_error_oom(err);
		goto out;
	}
	/* blocks of a piece (add_file reads up to their ends), not
	 * libarchive's 10 KiB, sent ten to a piece; the last block is not
	 * padded.  (A block size of 0, no blocking at all, leaks libarchive's
	 * client state in 3.6.) */
	if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w.a, BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
	    archive_write_open(w.a, &out, NULL, sink_write, NULL) != ARCHIVE_OK) {
		stream_error(&w);
		goto out;
	}
	if (o->root && add_header(&w, NULL, AE_IFDIR, o->root_mode & 07777, 0, time(NULL)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (add_parents(&w, in, n, in[i].dest) < 0 || walk_input(&w, &in[i]) < 0)
			goto out;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		stream_error(&w);
		goto out;
	}
	r = 0;
out:
	out.failed = r < 0;
	if (w.a)
		archive_write_free(w.a);
	free(w.buf);
	if (out.errnum == EPIPE && !was_pending)
		sigtimedwait(&pipe_set, NULL, &(struct timespec){ 0 });
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
