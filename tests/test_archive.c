/* archive.c: extraction of a hostile tar stream.  Archives are built with
 * libarchive's writer into a temporary file, then extracted into a fresh
 * directory that sits next to an "outside" directory nothing may reach.
 * Then the sending side: path checks, opening and scanning inputs, and
 * tar streams written by jc_archive_write read back with libarchive.  And
 * archive_lib.c's table: this program links every function it names. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive.h"
#define JC_LIBARCHIVE_TABLE_ONLY
#include "archive_lib.h"
#include "error.h"
#include "testutil.h"

struct fx {
	char base[64];
	char dest[96];
	int dest_fd;
	int tar_fd;
	struct archive *w;
	struct jc_extract_report rep;
	jc_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[160];

	strcpy(f->base, "/tmp/jc-test-ar-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->base);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	snprintf(p, sizeof(p), "%s/outside", f->base);
	assert_int_equal(mkdir(p, 0755), 0);
	f->dest_fd = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->tar_fd = open(f->base, O_TMPFILE | O_RDWR, 0600);
	assert_true(f->dest_fd >= 0 && f->tar_fd >= 0);
	f->w = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(f->w), ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(f->w, f->tar_fd), ARCHIVE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->w)
		archive_write_free(f->w);
	close(f->dest_fd);
	close(f->tar_fd);
	jc_extract_report_free(&f->rep);
	jc_error_clear(&f->err);
	rm_tree(f->base);
	free(f);
	return 0;
}

/* Add one member.  type: AE_IFREG (data), AE_IFDIR, AE_IFLNK (link = target),
 * AE_IFIFO, AE_IFCHR; hard != NULL makes a hard link. */
static void add(struct fx *f, const char *name, unsigned type, mode_t perm, const void *data,
		size_t len, const char *link, const char *hard)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)len : 0);
	if (link)
		archive_entry_set_symlink(e, link);
	if (hard)
		archive_entry_set_hardlink(e, hard);
	assert_int_equal(archive_write_header(f->w, e), ARCHIVE_OK);
	if (data && len)
		assert_int_equal(archive_write_data(f->w, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void file(struct fx *f, const char *name, const char *text)
{
	add(f, name, AE_IFREG, 0644, text, strlen(text), NULL, NULL);
}

static int extract(struct fx *f, unsigned strip)
{
	assert_int_equal(archive_write_close(f->w), ARCHIVE_OK);
	archive_write_free(f->w);
	f->w = NULL;
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	return jc_archive_extract(f->tar_fd, f->dest_fd, strip, NULL, &f->rep, &f->err);
}

static bool refused_with(const struct fx *f, const char *name, const char *why)
{
	char want[256];
	snprintf(want, sizeof(want), "`%s`: %s", name, why);
	for (size_t i = 0; i < f->rep.reasons.n; i++)
		if (strstr(f->rep.reasons.v[i], want))
			return true;
	return false;
}

#define assert_refused(f, name, why)                                                               \
	do {                                                                                       \
		if (!refused_with(f, name, why))                                                   \
			fail_msg("`%s` not refused with `%s`", name, why);                         \
	} while (0)

static bool exists_at(const struct fx *f, const char *rel)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", f->base, rel);
	return lstat(p, &st) == 0;
}

static void outside_untouched(const struct fx *f)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/outside", f->base);
	/* rmdir succeeds only on an empty directory; recreate it after */
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_false(exists_at(f, "escape"));
}

static void test_round_trip_binary_modes_and_dirs(void **state)
{
	struct fx *f = *state;
	unsigned char all[256];
	unsigned char got[300];
	struct stat st;
	char p[200];
	int fd;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	add(f, "sub/", AE_IFDIR, 0750, NULL, 0, NULL, NULL);
	add(f, "sub/bytes.bin", AE_IFREG, 0640, all, sizeof(all), NULL, NULL);
	add(f, "run.sh", AE_IFREG, 04755, "#!/bin/sh\n", 10, NULL, NULL); /* setuid */
	add(f, "deep/er/file", AE_IFREG, 0600, "x", 1, NULL, NULL);       /* no dir entries */
	add(f, "empty", AE_IFREG, 0644, NULL, 0, NULL, NULL);
	assert_int_equal(extract(f, 0), 0);
	assert_int_equal(f->rep.refused, 0);
	assert_int_equal(f->rep.extracted, 5);
	snprintf(p, sizeof(p), "%s/sub/bytes.bin", f->dest);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), 256);
	close(fd);
	assert_memory_equal(got, all, 256);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(p, sizeof(p), "%s/run.sh", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755); /* setuid dropped */
	snprintf(p, sizeof(p), "%s/sub", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(exists_at(f, "dest/deep/er/file"));
	snprintf(p, sizeof(p), "%s/empty", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 0);
}

/* What a job made lands on the host: nothing others may write, and zeros
 * as holes (the engines' archives carry no sparse map). */
static void test_modes_and_holes(void **state)
{
	struct fx *f = *state;
	const size_t big = 8u << 20;
	char *data = calloc(1, big);
	struct stat st;
	char p[200];
	int fd;

	assert_non_null(data);
	memcpy(data + 5000, "middle", 6); /* one block of data among zeros */
	add(f, "open/", AE_IFDIR, 0777, NULL, 0, NULL, NULL);
	add(f, "open/all.txt", AE_IFREG, 0666, "x", 1, NULL, NULL);
	add(f, "sparse.img", AE_IFREG, 0644, data, big, NULL, NULL);
	assert_int_equal(extract(f, 0), 0);
	assert_int_equal(f->rep.refused, 0);
	snprintf(p, sizeof(p), "%s/open", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0775);
	snprintf(p, sizeof(p), "%s/open/all.txt", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0664);
	snprintf(p, sizeof(p), "%s/sparse.img", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, (off_t)big);
	/* one or two blocks of data, not 8 MiB */
	if ((uint64_t)st.st_blocks * 512 > 64 * 1024)
		fail_msg("%s takes %lld bytes on disk, want holes", p,
			 (long long)st.st_blocks * 512);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	{
		char got[6];
		assert_int_equal(pread(fd, got, 6, 5000), 6);
		assert_memory_equal(got, "middle", 6);
		assert_int_equal(pread(fd, got, 1, (off_t)big - 1), 1);
		assert_int_equal(got[0], 0);
	}
	close(fd);
	free(data);
}

/* Runs of data blocks between blocks of zeros, across the pieces the
 * stream arrives in: every byte lands where it belongs, and the zeros stay
 * holes. */
static void test_holes_between_runs(void **state)
{
	struct fx *f = *state;
	const size_t blocks = 300, len = blocks * 4096 + 1000;
	size_t data_blocks = 0;
	unsigned char *data = calloc(1, len), *got = malloc(len);
	struct stat st;
	char p[200];
	int fd;

	assert_non_null(data);
	assert_non_null(got);
	for (size_t b = 0; b <= blocks; b++) {
		size_t n = b < blocks ? 4096 : 1000;
		if (b % 5 == 2 || b % 7 == 3)
			continue; /* zeros */
		for (size_t i = 0; i < n; i++)
			data[b * 4096 + i] = (unsigned char)(b * 13 + i % 251 + 1);
		data_blocks++;
	}
	add(f, "runs.bin", AE_IFREG, 0644, (const char *)data, len, NULL, NULL);
	assert_int_equal(extract(f, 0), 0);
	snprintf(p, sizeof(p), "%s/runs.bin", f->dest);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)len);
	assert_int_equal(pread(fd, got, len, 0), (ssize_t)len);
	assert_memory_equal(got, data, len);
	if ((uint64_t)st.st_blocks * 512 > data_blocks * 4096 + 64 * 1024)
		fail_msg("%s takes %lld bytes on disk, want at most the %zu data blocks", p,
			 (long long)st.st_blocks * 512, data_blocks);
	close(fd);
	free(data);
	free(got);
}

static void test_names_refused(void **state)
{
	struct fx *f = *state;

	file(f, "../escape", "x");
	file(f, "/tmp/abs", "x");
	file(f, "a/../../escape", "x");
	file(f, "ok", "fine");
	assert_int_equal(extract(f, 0), 0);
	assert_refused(f, "../escape", "name contains `..`");
	assert_refused(f, "/tmp/abs", "absolute name");
	assert_refused(f, "a/../../escape", "name contains `..`");
	assert_int_equal(f->rep.refused, 3);
	assert_int_equal(f->rep.extracted, 1);
	outside_untouched(f);
}

static void test_links_outside_refused(void **state)
{
	struct fx *f = *state;
	const char *why = "symlink that is absolute or climbs with `..`";

	add(f, "to-etc", AE_IFLNK, 0777, NULL, 0, "/etc", NULL);
	add(f, "to-parent", AE_IFLNK, 0777, NULL, 0, "..", NULL);
	add(f, "sub/up-two", AE_IFLNK, 0777, NULL, 0, "../../outside", NULL);
	file(f, "real", "data");
	add(f, "inside", AE_IFLNK, 0777, NULL, 0, "real", NULL);
	add(f, "dot", AE_IFLNK, 0777, NULL, 0, ".", NULL);
	/* lexically inside, but `..` after a link leads wherever the link went */
	add(f, "sub/up-one", AE_IFLNK, 0777, NULL, 0, "../real", NULL);
	add(f, "chained", AE_IFLNK, 0777, NULL, 0, "dot/..", NULL);
	add(f, "hard-etc", AE_IFREG, 0644, NULL, 0, NULL, "/etc/passwd");
	add(f, "hard-up", AE_IFREG, 0644, NULL, 0, NULL, "../outside/x");
	add(f, "hard-ok", AE_IFREG, 0644, NULL, 0, NULL, "real");
	assert_int_equal(extract(f, 0), 0);
	assert_refused(f, "to-etc", why);
	assert_refused(f, "to-parent", why);
	assert_refused(f, "sub/up-two", why);
	assert_refused(f, "sub/up-one", why);
	assert_refused(f, "chained", why);
	assert_refused(f, "hard-etc", "hard link to a name outside the destination");
	assert_refused(f, "hard-up", "hard link to a name outside the destination");
	assert_int_equal(f->rep.refused, 7);
	assert_true(exists_at(f, "dest/inside"));
	assert_true(exists_at(f, "dest/dot"));
	assert_false(exists_at(f, "dest/chained"));
	assert_true(exists_at(f, "dest/hard-ok"));
	outside_untouched(f);
}

/* A symlink that stays inside, then a file written "through" it: refused,
 * whatever the link points at.  And links planted in the destination
 * before the extraction are never followed. */
static void test_never_written_through_a_symlink(void **state)
{
	struct fx *f = *state;
	char p[200], o[200];

	snprintf(o, sizeof(o), "%s/outside", f->base);
	snprintf(p, sizeof(p), "%s/planted-dir", f->dest);
	assert_int_equal(symlink(o, p), 0);
	snprintf(p, sizeof(p), "%s/planted-file", f->dest);
	snprintf(o, sizeof(o), "%s/outside/victim", f->base);
	assert_int_equal(symlink(o, p), 0);
	snprintf(p, sizeof(p), "%s/planted-fifo", f->dest);
	assert_int_equal(mkfifo(p, 0644), 0);

	add(f, "d", AE_IFDIR, 0755, NULL, 0, NULL, NULL);
	add(f, "link", AE_IFLNK, 0777, NULL, 0, "d", NULL);
	file(f, "link/through", "x");
	file(f, "planted-dir/escape", "x");
	file(f, "planted-file", "x");
	file(f, "planted-fifo", "x");
	assert_int_equal(extract(f, 0), 0);
	assert_refused(f, "link/through", "path passes through a symlink");
	assert_refused(f, "planted-dir/escape", "path passes through a symlink");
	assert_refused(f, "planted-file", "a symlink is in its place");
	assert_refused(f, "planted-fifo", "something that is not a file is in its place");
	assert_false(exists_at(f, "dest/d/through"));
	outside_untouched(f);
}

static void test_special_files_refused(void **state)
{
	struct fx *f = *state;

	add(f, "fifo", AE_IFIFO, 0644, NULL, 0, NULL, NULL);
	add(f, "null", AE_IFCHR, 0666, NULL, 0, NULL, NULL);
	add(f, "disk", AE_IFBLK, 0660, NULL, 0, NULL, NULL);
	assert_int_equal(extract(f, 0), 0);
	assert_refused(f, "fifo", "fifo");
	assert_refused(f, "null", "device node");
	assert_refused(f, "disk", "device node");
	assert_int_equal(f->rep.extracted, 0);
	assert_false(exists_at(f, "dest/fifo"));
	assert_false(exists_at(f, "dest/null"));
}

/* Docker's GET archive names members after the requested directory: strip
 * it; the directory's own entry leaves nothing and is skipped quietly. */
static void test_strip(void **state)
{
	struct fx *f = *state;

	add(f, "job/", AE_IFDIR, 0755, NULL, 0, NULL, NULL);
	file(f, "job/out.txt", "result");
	assert_int_equal(extract(f, 1), 0);
	assert_int_equal(f->rep.refused, 0);
	assert_int_equal(f->rep.extracted, 1);
	assert_true(exists_at(f, "dest/out.txt"));
	assert_false(exists_at(f, "dest/job"));
}

static void test_control_bytes_not_echoed(void **state)
{
	struct fx *f = *state;

	file(f, "../\x1b[31mred", "x");
	assert_int_equal(extract(f, 0), 0);
	assert_int_equal(f->rep.reasons.n, 1);
	assert_null(strchr(f->rep.reasons.v[0], '\x1b'));
}

static void test_truncated_stream_is_an_error(void **state)
{
	struct fx *f = *state;
	char big[4096];
	struct stat st;

	memset(big, 'z', sizeof(big));
	add(f, "big", AE_IFREG, 0644, big, sizeof(big), NULL, NULL);
	assert_int_equal(archive_write_close(f->w), ARCHIVE_OK);
	archive_write_free(f->w);
	f->w = NULL;
	assert_int_equal(fstat(f->tar_fd, &st), 0);
	assert_int_equal(ftruncate(f->tar_fd, 1024 + 512), 0); /* header + part of the data */
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, NULL, &f->rep, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "read archive"));
}

static void test_not_a_tar(void **state)
{
	struct fx *f = *state;

	archive_write_free(f->w); /* writes an end-of-archive: start over */
	f->w = NULL;
	assert_int_equal(ftruncate(f->tar_fd, 0), 0);
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(write(f->tar_fd, "this is not a tar stream at all", 31), 31);
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, NULL, &f->rep, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_ENGINE);
	assert_non_null(strstr(f->err.msg, "read archive"));
}

/* ---- limits: [output] max_bytes, max_members, max_depth, a full disk ----- */

/* Close the writer and rewind; the stream's size in *size. */
static void finish(struct fx *f, off_t *size)
{
	struct stat st;

	assert_int_equal(archive_write_close(f->w), ARCHIVE_OK);
	archive_write_free(f->w);
	f->w = NULL;
	assert_int_equal(fstat(f->tar_fd, &st), 0);
	*size = st.st_size;
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
}

static off_t size_at(const struct fx *f, const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", f->dest, rel);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* A stream past max_bytes ends the extraction with one error naming the
 * limit; nothing past the limit is read from the stream or written. */
static void test_limit_bytes(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { .max_bytes = 100 * 1024 };
	static char data[300 * 1024];
	off_t size, pos;

	memset(data, 'd', sizeof(data));
	file(f, "small", "ok");
	add(f, "big", AE_IFREG, 0644, data, sizeof(data), NULL, NULL);
	finish(f, &size);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_string_equal(f->err.msg, "more than 102400 bytes ([output] max_bytes)");
	assert_int_equal(f->err.status, EFBIG);
	assert_true(f->rep.cut);
	pos = lseek(f->tar_fd, 0, SEEK_CUR);
	if (pos > 100 * 1024 + 1)
		fail_msg("read %lld bytes of a stream limited to 102400", (long long)pos);
	assert_true(lim.bytes <= 100 * 1024);
	/* what the cut output made is taken back */
	assert_int_equal(size_at(f, "small"), -1);
	assert_int_equal(size_at(f, "big"), -1);
	jc_extract_limits_free(&lim);
}

/* The limit is on the stream as it arrives: a stream of exactly max_bytes
 * passes, one byte less fails. */
static void test_limit_bytes_exact(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { 0 };
	static char data[70 * 1024];
	off_t size;

	memset(data, 'e', sizeof(data));
	add(f, "f", AE_IFREG, 0644, data, sizeof(data), NULL, NULL);
	finish(f, &size);
	lim.max_bytes = (uint64_t)size;
	if (jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err) != 0)
		fail_msg("a stream of exactly max_bytes: %s", f->err.msg);
	assert_int_equal(lim.bytes, (uint64_t)size);
	assert_int_equal(size_at(f, "f"), (off_t)sizeof(data));
	jc_extract_limits_free(&lim);
	jc_extract_report_free(&f->rep);
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	lim = (struct jc_extract_limits){ .max_bytes = (uint64_t)size - 1 };
	if (jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err) != -1)
		fail_msg("a stream of max_bytes + 1 (%lld) passed, %llu read", (long long)size,
			 (unsigned long long)lim.bytes);
	assert_non_null(strstr(f->err.msg, "([output] max_bytes)"));
	/* `f` was there before this output: overwritten, not removed */
	assert_true(size_at(f, "f") >= 0);
	jc_extract_limits_free(&lim);
}

/* Zeros become holes on disk but were read all the same: they count. */
static void test_limit_bytes_counts_zeros(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { .max_bytes = 1 << 20 };
	char *zeros = calloc(1, 4 << 20);

	assert_non_null(zeros);
	add(f, "zeros.img", AE_IFREG, 0644, zeros, 4 << 20, NULL, NULL);
	free(zeros);
	assert_int_equal(extract(f, 0), 0); /* without a limit: fine, and sparse */
	jc_extract_report_free(&f->rep);
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_string_equal(f->err.msg, "more than 1048576 bytes ([output] max_bytes)");
	assert_true(f->rep.cut);
	jc_extract_limits_free(&lim);
}

/* A header that claims more than the stream sends: counted by what arrives.
 * Claiming 1 GiB and ending after 1 KiB is a truncated stream, not the
 * limit; claiming 1 GiB and sending more than the limit is the limit. */
static void test_limit_bytes_lying_header(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { .max_bytes = 256 * 1024 };
	static char chunk[64 * 1024];
	char h[512] = { 0 };
	unsigned sum = 0;

	/* a ustar header by hand: libarchive's writer would pad the member out */
	strcpy(h, "liar");
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf(h + 124, 12, "%011llo", 1ULL << 30);
	memcpy(h + 136, "00000000000", 12);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	archive_write_free(f->w);
	f->w = NULL;
	assert_int_equal(ftruncate(f->tar_fd, 0), 0);
	assert_int_equal(pwrite(f->tar_fd, h, 512, 0), 512);
	memset(chunk, 'l', sizeof(chunk));
	for (int i = 0; i < 8; i++) /* 512 KiB of the claimed 1 GiB */
		assert_int_equal(
		    pwrite(f->tar_fd, chunk, sizeof(chunk), 512 + i * (off_t)sizeof(chunk)),
		    (ssize_t)sizeof(chunk));
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_string_equal(f->err.msg, "more than 262144 bytes ([output] max_bytes)");
	assert_int_equal(size_at(f, "liar"), -1);
	jc_extract_limits_free(&lim);
	jc_extract_report_free(&f->rep);
	jc_error_clear(&f->err);

	/* the same stream cut short under the limit: truncated, an error of its own */
	assert_int_equal(ftruncate(f->tar_fd, 512 + 1024), 0);
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	lim = (struct jc_extract_limits){ .max_bytes = 256 * 1024 };
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_non_null(strstr(f->err.msg, "read archive"));
	assert_false(f->rep.cut);
	assert_int_equal(lim.bytes, 512 + 1024);
	/* not a limit: what was written stays */
	assert_int_equal(size_at(f, "liar"), 1024);
	jc_extract_limits_free(&lim);
}

/* Every member counts, directories, links and refused ones too; the budget
 * goes on across extractions (the PATHs of one volume get). */
static void test_limit_members(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { .max_members = 5 };
	char name[32];
	off_t size;

	add(f, "d/", AE_IFDIR, 0755, NULL, 0, NULL, NULL);
	add(f, "d/l", AE_IFLNK, 0777, NULL, 0, "x", NULL);
	add(f, "/abs", AE_IFREG, 0644, NULL, 0, NULL, NULL); /* refused, counted */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		add(f, name, AE_IFREG, 0644, NULL, 0, NULL, NULL);
	}
	finish(f, &size);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_string_equal(f->err.msg, "more than 5 members ([output] max_members)");
	assert_int_equal(f->err.status, E2BIG);
	assert_true(f->rep.cut);
	assert_int_equal(f->rep.extracted, 4); /* d, d/l, e0, e1 */
	assert_int_equal(f->rep.refused, 1);
	/* taken back, the directory after its link */
	assert_false(exists_at(f, "dest/e0"));
	assert_false(exists_at(f, "dest/d"));
	jc_extract_report_free(&f->rep);
	jc_error_clear(&f->err);
	/* the budget is spent: a second extraction stops at its first member */
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_int_equal(f->rep.extracted, 0);
	assert_non_null(strstr(f->err.msg, "([output] max_members)"));
	jc_extract_limits_free(&lim);
}

static void test_limit_depth(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { .max_depth = 3 };
	off_t size;

	file(f, "a/b/ok", "3 deep");
	file(f, "a/b/c/no", "4 deep");
	file(f, "after", "never");
	finish(f, &size);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_string_equal(f->err.msg,
			    "`a/b/c/no` is more than 3 path components deep ([output] max_depth)");
	assert_true(f->rep.cut);
	assert_false(exists_at(f, "dest/a"));
	assert_false(exists_at(f, "dest/after"));
	jc_extract_limits_free(&lim);
}

/* One output, several extractions (the PATHs of a volume get): a cut takes
 * back what all of them made, and nothing that was there before. */
static void test_limit_takes_back_the_whole_output(void **state)
{
	struct fx *f = *state;
	struct jc_extract_limits lim = { .max_members = 4 };
	char p[200];
	off_t size;
	int fd;

	snprintf(p, sizeof(p), "%s/old", f->dest);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/old/keep.txt", f->dest);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	file(f, "old/new.txt", "new");
	file(f, "old/keep.txt", "overwritten");
	file(f, "fresh/a.txt", "a");
	finish(f, &size);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), 0);
	assert_true(exists_at(f, "dest/fresh/a.txt"));
	jc_extract_report_free(&f->rep);
	/* the second extraction of the same output passes the limit */
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &lim, &f->rep, &f->err), -1);
	assert_true(f->rep.cut);
	assert_false(exists_at(f, "dest/fresh"));
	assert_false(exists_at(f, "dest/old/new.txt"));
	assert_true(exists_at(f, "dest/old/keep.txt"));
	assert_int_equal(size_at(f, "old/keep.txt"), 11);
	jc_extract_limits_free(&lim);
}

/* A full disk (a 64 KiB tmpfs in a mount namespace of a child: needs
 * root) ends the extraction with one error, cut set, status ENOSPC. */
static void test_disk_full(void **state)
{
	struct fx *f = *state;
	static char data[1 << 20];
	char small[128];
	off_t size;
	pid_t pid;
	int st;

	memset(data, 'f', sizeof(data));
	file(f, "first", "fits");
	add(f, "big", AE_IFREG, 0644, data, sizeof(data), NULL, NULL);
	file(f, "after", "never");
	finish(f, &size);
	snprintf(small, sizeof(small), "%s/small", f->base);
	assert_int_equal(mkdir(small, 0755), 0);
	if (geteuid() != 0)
		skip(); /* SKIP: a tmpfs needs root */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jc_extract_report rep = { 0 };
		jc_error err = { 0 };
		int dfd, r;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", small, "tmpfs", 0, "size=64k") < 0)
			_exit(77);
		dfd = open(small, O_RDONLY | O_DIRECTORY);
		r = jc_archive_extract(f->tar_fd, dfd, 0, NULL, &rep, &err);
		/* and what it wrote is gone again: the disk has room */
		if (r != -1 || err.status != ENOSPC || !rep.cut || rep.extracted != 1 ||
		    !strstr(err.msg, "the disk is full: write `big`: No space left on device") ||
		    faccessat(dfd, "after", F_OK, 0) == 0 || faccessat(dfd, "big", F_OK, 0) == 0 ||
		    faccessat(dfd, "first", F_OK, 0) == 0) {
			fprintf(stderr, "r %d status %d cut %d extracted %zu: %s\n", r, err.status,
				rep.cut, rep.extracted, err.msg ? err.msg : "");
			_exit(1);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		skip(); /* SKIP: no mount namespace here */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- sending inputs: jc_path_check, jc_input_*, jc_archive_write ---------- */

#define NIN  6
#define BIG  (300 * 1024)
#define UID_ 65532

struct ifx {
	char base[64];
	int base_fd;
	struct jc_input in[NIN];
	size_t n;
	jc_error err;
};

static int isetup(void **state)
{
	struct ifx *f = calloc(1, sizeof(*f));

	strcpy(f->base, "/tmp/jc-test-in-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	f->base_fd = open(f->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->base_fd >= 0);
	for (size_t i = 0; i < NIN; i++)
		f->in[i].fd = -1;
	*state = f;
	return 0;
}

static int iteardown(void **state)
{
	struct ifx *f = *state;

	for (size_t i = 0; i < NIN; i++)
		jc_input_close(&f->in[i]);
	close(f->base_fd);
	jc_error_clear(&f->err);
	rm_tree(f->base);
	free(f);
	return 0;
}

static void put(struct ifx *f, const char *rel, mode_t mode, const void *data, size_t len)
{
	int fd = openat(f->base_fd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0); /* past the umask, setuid too */
	close(fd);
}

static void dir(struct ifx *f, const char *rel, mode_t mode)
{
	assert_int_equal(mkdirat(f->base_fd, rel, 0700), 0);
	assert_int_equal(fchmodat(f->base_fd, rel, mode, 0), 0);
}

/* Open spec as the next input; returns what jc_input_open returned. */
static int open_in(struct ifx *f, const char *spec)
{
	assert_true(f->n < NIN);
	jc_error_clear(&f->err);
	if (jc_input_open(spec, f->base_fd, &f->in[f->n], &f->err) < 0)
		return -1;
	f->n++;
	return 0;
}

#define assert_msg_has(f, text)                                                                    \
	do {                                                                                       \
		if (!(f)->err.msg || !strstr((f)->err.msg, text))                                  \
			fail_msg("message `%s` lacks `%s`",                                        \
				 (f)->err.msg ? (f)->err.msg : "(none)", text);                    \
	} while (0)

static void test_path_check_accepts(void **state)
{
	char comp[256], path[4097];
	jc_error err = { 0 };

	(void)state;
	memset(comp, 'c', 255);
	comp[255] = '\0';
	for (size_t i = 0; i < 4095; i++)
		path[i] = i % 2 ? '/' : 'a'; /* a/a/.../a: 4095 bytes */
	path[4095] = '\0';
	const char *ok[] = { "a", "a/b.c", "x y", "a.b/c-d_e/..f", ".hidden", "é", comp, path };
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (jc_path_check(ok[i], "input", &err) != 0)
			fail_msg("`%.40s` refused: %s", ok[i], err.msg);
	assert_null(err.msg);
}

static void test_path_check_refuses(void **state)
{
	char comp[257], path[4097];
	jc_error err = { 0 };
	struct {
		const char *path, *why;
	} bad[] = {
		{ "", "path is empty" },
		{ "/abs", "absolute path is not allowed" },
		{ "a/../b", "path component `..` is not allowed" },
		{ "..", "path component `..` is not allowed" },
		{ ".", "path component `.` is not allowed" },
		{ "a/./b", "path component `.` is not allowed" },
		{ "a//b", "path has an empty component" },
		{ "a/", "path has an empty component" },
		{ comp, "path component is longer than 255 bytes" },
		{ path, "path is longer than 4095 bytes" },
		{ "a\nb", "control bytes are not allowed" },
		{ "a\x7f", "control bytes are not allowed" },
		{ "\x1b[31m", "control bytes are not allowed" },
	};

	(void)state;
	memset(comp, 'c', 256);
	comp[256] = '\0';
	for (size_t i = 0; i < 4096; i++)
		path[i] = i % 2 ? '/' : 'a';
	path[4095] = 'b'; /* a/a/.../ab: 4096 bytes, no component too long */
	path[4096] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(jc_path_check(bad[i].path, "input", &err), -1);
		assert_int_equal(err.kind, JC_ERR_INPUT);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("`%.40s`: `%s` lacks `%s`", bad[i].path, err.msg, bad[i].why);
		/* the message never carries the control bytes it refuses */
		for (const char *p = err.msg; *p; p++)
			assert_false((unsigned char)*p < 0x20 || *p == 0x7f);
	}
	assert_int_equal(jc_path_check("a/../b", "input", &err), -1);
	assert_string_equal(err.msg, "input `a/../b`: path component `..` is not allowed");
	jc_error_clear(&err);
}

static void test_input_open_file_and_dir(void **state)
{
	struct ifx *f = *state;

	dir(f, "data", 0755);
	dir(f, "data/sub", 0755);
	put(f, "data/sub/inner.txt", 0644, "in", 2);
	put(f, "file.txt", 0644, "x", 1);
	assert_int_equal(open_in(f, "file.txt"), 0);
	assert_string_equal(f->in[0].dest, "file.txt");
	assert_string_equal(f->in[0].spec, "file.txt");
	assert_false(f->in[0].is_dir);
	assert_true(f->in[0].fd >= 0);
	assert_int_equal(open_in(f, "data"), 0);
	assert_string_equal(f->in[1].dest, "data");
	assert_true(f->in[1].is_dir);
	assert_int_equal(open_in(f, "data/sub/inner.txt"), 0);
	assert_string_equal(f->in[2].dest, "inner.txt");
	/* split at the first `:` */
	assert_int_equal(open_in(f, "data/sub:in/x:y"), 0);
	assert_string_equal(f->in[3].dest, "in/x:y");
	assert_string_equal(f->in[3].spec, "data/sub:in/x:y");
	assert_true(f->in[3].is_dir);
	jc_input_close(&f->in[3]);
	assert_int_equal(f->in[3].fd, -1);
	jc_input_close(&f->in[3]); /* twice is harmless */
}

/* make unit runs this file twice, the second time under tests/no-openat2:
 * the refusals below hold for openat2 and for fsutil.c's walk alike. */
static void test_input_open_refused(void **state)
{
	struct ifx *f = *state;
	struct {
		const char *spec, *why;
		int status;
	} bad[] = {
		{ "/etc/passwd", "input `/etc/passwd`: source `/etc/passwd`: absolute path",
		  EINVAL },
		{ "data/../file.txt", "path component `..` is not allowed", EINVAL },
		{ "..", "path component `..` is not allowed", EINVAL },
		{ "link", "input `link`: `link` is a symlink; inputs hold only regular files",
		  ELOOP },
		{ "escape", "`escape` is a symlink", ELOOP },
		{ "linkdir/file.txt", "`linkdir/file.txt` passes through a symlink", ELOOP },
		{ "linkdir", "`linkdir` is a symlink", ELOOP },
		{ "fifo", "input `fifo`: `fifo` is a fifo", EINVAL },
		{ "missing", "input `missing`: open `missing`: No such file or directory", ENOENT },
		{ "data/missing", "No such file or directory", ENOENT },
		{ "file.txt/x", "open `file.txt/x`: Not a directory", ENOTDIR },
		{ "file.txt:../x", "input `file.txt:../x`: destination `../x`: path component",
		  EINVAL },
		{ "file.txt:", "destination ``: path is empty", EINVAL },
		{ "file.txt:/abs", "destination `/abs`: absolute path", EINVAL },
		{ ":x", "source ``: path is empty", EINVAL },
		{ "file.txt:a\nb", "input `file.txt:a?b`: destination `a?b`: control bytes",
		  EINVAL },
	};
	struct jc_input out = { .fd = -7 };

	dir(f, "data", 0755);
	put(f, "file.txt", 0644, "x", 1);
	assert_int_equal(symlinkat("file.txt", f->base_fd, "link"), 0);
	assert_int_equal(symlinkat("data", f->base_fd, "linkdir"), 0);
	assert_int_equal(symlinkat("/tmp", f->base_fd, "escape"), 0);
	assert_int_equal(mkfifoat(f->base_fd, "fifo", 0644), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(jc_input_open(bad[i].spec, f->base_fd, &out, &f->err), -1);
		if (!strstr(f->err.msg, bad[i].why))
			fail_msg("`%s`: `%s` lacks `%s`", bad[i].spec, f->err.msg, bad[i].why);
		assert_int_equal(f->err.kind, JC_ERR_INPUT);
		assert_int_equal(f->err.status, bad[i].status);
		/* out-parameters only on success */
		assert_int_equal(out.fd, -7);
		assert_null(out.spec);
		assert_null(out.dest);
	}
	assert_int_equal(open_in(f, "data:d"), 0);
}

static void test_input_scan_counts_bytes(void **state)
{
	struct ifx *f = *state;
	static char buf[5000];
	uint64_t bytes = 7;

	dir(f, "data", 0755);
	dir(f, "data/sub", 0755);
	dir(f, "data/empty", 0755);
	put(f, "data/a", 0644, buf, 1000);
	put(f, "data/sub/b", 0644, buf, 5000);
	put(f, "data/sub/zero", 0644, buf, 0);
	put(f, "one", 0644, buf, 17);
	assert_int_equal(open_in(f, "data"), 0);
	assert_int_equal(open_in(f, "one:x/one"), 0);
	assert_int_equal(jc_input_scan(f->in, f->n, &bytes, &f->err), 0);
	assert_int_equal(bytes, 6017);
	assert_int_equal(jc_input_scan(f->in, 0, &bytes, &f->err), 0);
	assert_int_equal(bytes, 0);
}

static void test_input_scan_refuses_special(void **state)
{
	struct ifx *f = *state;
	uint64_t bytes = 7;

	dir(f, "data", 0755);
	dir(f, "data/sub", 0755);
	put(f, "data/sub/ok", 0644, "x", 1);
	assert_int_equal(symlinkat("ok", f->base_fd, "data/sub/link"), 0);
	dir(f, "pipes", 0755);
	assert_int_equal(mkfifoat(f->base_fd, "pipes/fifo", 0644), 0);
	dir(f, "hid", 0755);
	assert_int_equal(symlinkat("/tmp", f->base_fd, "hid/up"), 0);
	assert_int_equal(open_in(f, "data:in"), 0);
	assert_int_equal(jc_input_scan(f->in, 1, &bytes, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_INPUT);
	assert_string_equal(f->err.msg,
			    "input `data:in`: `data/sub/link` is a symlink; inputs hold "
			    "only regular files and directories");
	assert_int_equal(bytes, 7); /* untouched on failure */
	assert_int_equal(open_in(f, "pipes"), 0);
	assert_int_equal(jc_input_scan(&f->in[1], 1, &bytes, &f->err), -1);
	assert_msg_has(f, "input `pipes`: `pipes/fifo` is a fifo");
	assert_int_equal(open_in(f, "hid"), 0);
	assert_int_equal(jc_input_scan(&f->in[2], 1, &bytes, &f->err), -1);
	assert_msg_has(f, "`hid/up` is a symlink");
}

static void test_input_scan_refuses_names_and_depth(void **state)
{
	struct ifx *f = *state;
	char p[256] = "deep";
	uint64_t bytes;

	dir(f, "ctl", 0755);
	put(f, "ctl/a\nb", 0644, "x", 1);
	assert_int_equal(open_in(f, "ctl:c"), 0);
	assert_int_equal(jc_input_scan(f->in, 1, &bytes, &f->err), -1);
	assert_string_equal(f->err.msg,
			    "input `ctl:c`: name `c/a?b`: control bytes are not allowed");

	/* deep/d/.../d: 64 levels below the input are fine, 65 are not */
	dir(f, p, 0755);
	for (int i = 0; i < 64; i++) {
		strcat(p, "/d");
		dir(f, p, 0755);
	}
	put(f, "deep/d/f", 0644, "x", 1);
	assert_int_equal(open_in(f, "deep"), 0);
	assert_int_equal(jc_input_scan(&f->in[1], 1, &bytes, &f->err), 0);
	assert_int_equal(bytes, 1);
	strcat(p, "/d");
	dir(f, p, 0755);
	assert_int_equal(jc_input_scan(&f->in[1], 1, &bytes, &f->err), -1);
	assert_msg_has(f, "is nested more than 64 directories deep");
}

static void test_input_scan_duplicate_dest(void **state)
{
	struct ifx *f = *state;
	uint64_t bytes;

	dir(f, "d", 0755);
	put(f, "f", 0644, "x", 1);
	put(f, "g", 0644, "y", 1);
	assert_int_equal(open_in(f, "f:x"), 0);
	assert_int_equal(open_in(f, "g:x"), 0);
	assert_int_equal(jc_input_scan(f->in, 2, &bytes, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_INPUT);
	assert_string_equal(f->err.msg,
			    "input `g:x`: destination `x` is also the destination of input `f:x`");
	/* beneath a file: refused; beneath a directory: fine */
	assert_int_equal(open_in(f, "d:x/y"), 0);
	assert_int_equal(jc_input_scan(&f->in[1], 2, &bytes, &f->err), -1);
	assert_msg_has(f, "destination `x/y` is beneath `x`, which input `g:x` sends as a file");
	assert_int_equal(open_in(f, "d:z"), 0);
	assert_int_equal(open_in(f, "f:z/f"), 0);
	assert_int_equal(jc_input_scan(&f->in[3], 2, &bytes, &f->err), 0);
	assert_int_equal(bytes, 1);
}

/* ---- jc_archive_write ---- */

struct member {
	char *name;
	unsigned type, perm;
	int64_t uid, gid, size, mtime;
	bool named; /* uname or gname set */
	unsigned char *data;
};

struct members {
	struct member m[32];
	size_t n;
};

static void members_free(struct members *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->m[i].name);
		free(ms->m[i].data);
	}
	ms->n = 0;
}

/* Read a whole tar stream back with libarchive's reader. */
static void parse(const unsigned char *buf, size_t len, struct members *ms)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r;

	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, buf, len), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		struct member *m = &ms->m[ms->n++];
		size_t got = 0;

		assert_true(ms->n < 32);
		m->name = strdup(archive_entry_pathname(e));
		m->type = archive_entry_filetype(e);
		m->perm = archive_entry_perm(e);
		m->uid = archive_entry_uid(e);
		m->gid = archive_entry_gid(e);
		m->size = archive_entry_size(e);
		m->mtime = archive_entry_mtime(e);
		m->named = (archive_entry_uname(e) && *archive_entry_uname(e)) ||
			   (archive_entry_gname(e) && *archive_entry_gname(e));
		m->data = malloc((size_t)m->size + 1);
		while (got < (size_t)m->size) {
			la_ssize_t n = archive_read_data(a, m->data + got, (size_t)m->size - got);
			assert_true(n > 0);
			got += (size_t)n;
		}
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
}

static int find(const struct members *ms, const char *prefix, const char *name)
{
	char want[512];

	snprintf(want, sizeof(want), "%s%s", prefix, name);
	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->m[i].name, want) == 0)
			return (int)i;
	fail_msg("no member `%s`", want);
	return -1;
}

/* The end-of-archive marker: two zero blocks, last in the stream. */
static bool has_trailer(const unsigned char *buf, size_t len)
{
	if (len < 1024 || len % 512)
		return false;
	for (size_t i = len - 1024; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

struct reader {
	int fd;
	unsigned char *buf;
	size_t len;
};

static void *read_all(void *p)
{
	struct reader *r = p;
	size_t cap = 0;
	ssize_t n;

	for (;;) {
		if (r->len == cap)
			r->buf = realloc(r->buf, cap = cap * 2 + 65536);
		n = read(r->fd, r->buf + r->len, cap - r->len);
		if (n <= 0)
			break;
		r->len += (size_t)n;
	}
	return NULL;
}

#define LONG_NAME                                                                                  \
	"a-name-longer-than-the-hundred-bytes-of-a-ustar-name-field-so-that-pax-or-the-prefix-"    \
	"field-must-carry-it-through-the-stream.txt"

/* data/ 0750 { bytes.bin 0640 (300 KiB of every byte value), run.sh 04755,
 * sub/ { note.txt, LONG_NAME } } and top.txt sent as a/b/c. */
static void make_tree(struct ifx *f)
{
	unsigned char *big = malloc(BIG);
	struct timespec times[2] = { { 1700000000, 0 }, { 1700000000, 0 } };

	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)i;
	dir(f, "data", 0750);
	put(f, "data/bytes.bin", 0640, big, BIG);
	assert_int_equal(utimensat(f->base_fd, "data/bytes.bin", times, 0), 0);
	put(f, "data/run.sh", 04755, "#!/bin/sh\n", 10);
	dir(f, "data/sub", 0711);
	put(f, "data/sub/note.txt", 0644, "hi\n", 3);
	put(f, "data/sub/" LONG_NAME, 0644, "long", 4);
	put(f, "top.txt", 0600, "top", 3);
	free(big);
	assert_int_equal(open_in(f, "data"), 0);
	assert_int_equal(open_in(f, "top.txt:a/b/c"), 0);
}

/* `root`: the first member's name (NULL: none); `prefix`: what every
 * input's name starts with. */
static void check_tree(const unsigned char *buf, size_t len, const char *root, const char *prefix,
		       mode_t root_mode)
{
	struct members ms = { 0 };
	int i, sub, note, a, ab, abc;
	struct member *m;

	assert_true(has_trailer(buf, len));
	parse(buf, len, &ms);
	assert_int_equal(ms.n, root ? 10 : 9);
	for (size_t k = 0; k < ms.n; k++) {
		if (ms.m[k].uid != UID_ || ms.m[k].gid != UID_ || ms.m[k].named)
			fail_msg("`%s` owned by %lld:%lld", ms.m[k].name, (long long)ms.m[k].uid,
				 (long long)ms.m[k].gid);
		assert_int_equal(ms.m[k].perm & 07000, 0);
	}
	if (root) {
		assert_string_equal(ms.m[0].name, root); /* first: "v/", "./" or "/" */
		assert_int_equal(ms.m[0].type, AE_IFDIR);
		assert_int_equal(ms.m[0].perm, root_mode);
	}
	m = &ms.m[find(&ms, prefix, "data/")];
	assert_int_equal(m->type, AE_IFDIR);
	assert_int_equal(m->perm, 0750);
	m = &ms.m[find(&ms, prefix, "data/bytes.bin")];
	assert_int_equal(m->type, AE_IFREG);
	assert_int_equal(m->perm, 0640);
	assert_int_equal(m->size, BIG);
	assert_int_equal(m->mtime, 1700000000);
	for (size_t k = 0; k < BIG; k++)
		if (m->data[k] != (unsigned char)k)
			fail_msg("byte %zu is %u", k, m->data[k]);
	m = &ms.m[find(&ms, prefix, "data/run.sh")];
	assert_int_equal(m->perm, 0755); /* setuid dropped */
	assert_memory_equal(m->data, "#!/bin/sh\n", 10);
	sub = find(&ms, prefix, "data/sub/");
	assert_int_equal(ms.m[sub].perm, 0711);
	note = find(&ms, prefix, "data/sub/note.txt");
	assert_memory_equal(ms.m[note].data, "hi\n", 3);
	m = &ms.m[find(&ms, prefix, "data/sub/" LONG_NAME)];
	assert_memory_equal(m->data, "long", 4);
	i = find(&ms, prefix, "data/");
	assert_true(i < sub && sub < note);
	a = find(&ms, prefix, "a/");
	ab = find(&ms, prefix, "a/b/");
	abc = find(&ms, prefix, "a/b/c");
	assert_true(a < ab && ab < abc);
	assert_int_equal(ms.m[a].type, AE_IFDIR);
	assert_int_equal(ms.m[a].perm, 0755);
	assert_int_equal(ms.m[ab].perm, 0755);
	assert_int_equal(ms.m[abc].type, AE_IFREG);
	assert_int_equal(ms.m[abc].perm, 0600);
	assert_memory_equal(ms.m[abc].data, "top", 3);
	members_free(&ms);
}

/* Into a file: send() says ENOTSOCK and write() takes over. */
static void test_write_round_trip_file(void **state)
{
	struct ifx *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0750, .uid = UID_, .gid = UID_ };
	int fd = open(f->base, O_TMPFILE | O_RDWR, 0600);
	struct stat st;
	unsigned char *buf;

	assert_true(fd >= 0);
	make_tree(f);
	if (jc_archive_write(fd, &o, f->in, f->n, &f->err) != 0)
		fail_msg("%s", f->err.msg);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	check_tree(buf, (size_t)st.st_size, "v/", "v/", 0750);
	free(buf);
	close(fd);
}

/* Write through a socketpair (sock) or a pipe, read by a thread. */
static void write_through(struct ifx *f, bool sock, const struct jc_tar_opts *o, struct reader *r)
{
	pthread_t t;
	int p[2];

	if (sock)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
	else
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	r->fd = sock ? p[1] : p[0];
	assert_int_equal(pthread_create(&t, NULL, read_all, r), 0);
	if (jc_archive_write(sock ? p[0] : p[1], o, f->in, f->n, &f->err) != 0)
		fail_msg("%s", f->err.msg);
	close(sock ? p[0] : p[1]); /* the caller closes out_fd */
	assert_int_equal(pthread_join(t, NULL), 0);
	close(r->fd);
}

static void test_write_round_trip_socket_dot(void **state)
{
	struct ifx *f = *state;
	struct jc_tar_opts o = { .root = ".", .root_mode = 0755, .uid = UID_, .gid = UID_ };
	struct reader r = { 0 };

	make_tree(f);
	write_through(f, true, &o, &r);
	check_tree(r.buf, r.len, "./", "./", 0755);
	free(r.buf);
}

/* Root "/": a member for the target itself, the inputs named as they are. */
static void test_write_round_trip_socket_target(void **state)
{
	struct ifx *f = *state;
	struct jc_tar_opts o = { .root = JC_TAR_ROOT_TARGET, .root_mode = 0700, .uid = UID_,
				 .gid = UID_ };
	struct reader r = { 0 };

	make_tree(f);
	write_through(f, true, &o, &r);
	check_tree(r.buf, r.len, "/", "", 0700);
	free(r.buf);
}

static void test_write_round_trip_pipe_no_root(void **state)
{
	struct ifx *f = *state;
	struct jc_tar_opts o = { .root = NULL, .uid = UID_, .gid = UID_ };
	struct reader r = { 0 };

	make_tree(f);
	write_through(f, false, &o, &r);
	check_tree(r.buf, r.len, NULL, "", 0);
	free(r.buf);
}

static void closed_reader(struct ifx *f, bool sock)
{
	struct jc_tar_opts o = { .root = "v", .root_mode = 0755, .uid = UID_, .gid = UID_ };
	sigset_t pending;
	int p[2];

	/* a SIGPIPE would end this process: the test only passes if none came */
	signal(SIGPIPE, SIG_DFL);
	make_tree(f);
	if (sock)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
	else
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(sock ? p[1] : p[0]);
	assert_int_equal(jc_archive_write(sock ? p[0] : p[1], &o, f->in, f->n, &f->err), -1);
	assert_int_equal(f->err.status, EPIPE);
	assert_msg_has(f, "write tar stream: Broken pipe");
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
	close(sock ? p[0] : p[1]);
}

static void test_write_closed_reader_socket(void **state)
{
	closed_reader(*state, true);
}

static void test_write_closed_reader_pipe(void **state)
{
	closed_reader(*state, false);
}

/* Scanned, then changed: the writer judges the tree again. */
static void test_write_rechecks_the_tree(void **state)
{
	struct ifx *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0755, .uid = UID_, .gid = UID_ };
	int fd = open(f->base, O_TMPFILE | O_RDWR, 0600);
	uint64_t bytes;

	make_tree(f);
	assert_int_equal(jc_input_scan(f->in, f->n, &bytes, &f->err), 0);
	assert_int_equal(bytes, BIG + 10 + 3 + 4 + 3);
	assert_int_equal(unlinkat(f->base_fd, "data/sub/note.txt", 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", f->base_fd, "data/sub/note.txt"), 0);
	assert_int_equal(jc_archive_write(fd, &o, f->in, f->n, &f->err), -1);
	assert_string_equal(f->err.msg, "input `data`: `data/sub/note.txt` is a symlink; inputs "
					"hold only regular files and directories");
	close(fd);
}

/* Files whose size is not what fstat said: procfs says 0 and has more,
 * sysfs says 4096 and has less.  The stream must not end as if whole. */
static void changed_size(struct ifx *f, const char *dir_path, const char *name)
{
	struct jc_tar_opts o = { .root = "v", .root_mode = 0755, .uid = UID_, .gid = UID_ };
	int fd = open(f->base, O_TMPFILE | O_RDWR, 0600);
	int dfd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char want[128];
	unsigned char buf[16384];
	ssize_t len;

	if (dfd < 0 || faccessat(dfd, name, R_OK, 0) < 0) {
		close(fd);
		if (dfd >= 0)
			close(dfd);
		skip();
	}
	assert_int_equal(jc_input_open(name, dfd, &f->in[0], &f->err), 0);
	f->n = 1;
	assert_int_equal(jc_archive_write(fd, &o, f->in, f->n, &f->err), -1);
	snprintf(want, sizeof(want), "input `%s`: `%s` changed size while being sent", name, name);
	assert_string_equal(f->err.msg, want);
	len = pread(fd, buf, sizeof(buf), 0);
	assert_true(len >= 0);
	assert_false(has_trailer(buf, (size_t)len));
	close(dfd);
	close(fd);
}

static void test_write_file_grew(void **state)
{
	changed_size(*state, "/proc/self", "status");
}

static void test_write_file_shrank(void **state)
{
	changed_size(*state, "/sys/kernel", "uevent_seqnum");
}

/* archive_lib.c finds each function libarchive's linked copy has: the
 * loader gives dlopen the library this program already links. */
static void test_libarchive_table(void **state)
{
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_libarchive_load(&err), 0);
	assert_int_equal(jc_libarchive_load(&err), 0); /* once is enough */
#define CHECK_MEMBER(f) assert_ptr_equal(jc_libarchive.f, f);
	JC_LIBARCHIVE_FUNCS(CHECK_MEMBER)
#undef CHECK_MEMBER
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libarchive_table),
		cmocka_unit_test_setup_teardown(test_round_trip_binary_modes_and_dirs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_modes_and_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes_between_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_outside_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_written_through_a_symlink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_special_files_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_bytes_not_echoed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_stream_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_bytes_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_bytes_counts_zeros, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_bytes_lying_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_takes_back_the_whole_output, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test(test_path_check_accepts),
		cmocka_unit_test(test_path_check_refuses),
		cmocka_unit_test_setup_teardown(test_input_open_file_and_dir, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_input_open_refused, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_input_scan_counts_bytes, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_input_scan_refuses_special, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_input_scan_refuses_names_and_depth, isetup,
						iteardown),
		cmocka_unit_test_setup_teardown(test_input_scan_duplicate_dest, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_write_round_trip_file, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_write_round_trip_socket_dot, isetup,
						iteardown),
		cmocka_unit_test_setup_teardown(test_write_round_trip_socket_target, isetup,
						iteardown),
		cmocka_unit_test_setup_teardown(test_write_round_trip_pipe_no_root, isetup,
						iteardown),
		cmocka_unit_test_setup_teardown(test_write_closed_reader_socket, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_write_closed_reader_pipe, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_write_rechecks_the_tree, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_write_file_grew, isetup, iteardown),
		cmocka_unit_test_setup_teardown(test_write_file_shrank, isetup, iteardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
