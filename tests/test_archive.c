/* archive.c: extraction of a hostile tar stream.  Archives are built with
 * libarchive's writer into a temporary file, then extracted into a fresh
 * directory that sits next to an "outside" directory nothing may reach. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobcell.h"
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
	return jc_archive_extract(f->tar_fd, f->dest_fd, strip, &f->rep, &f->err);
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

	add(f, "to-etc", AE_IFLNK, 0777, NULL, 0, "/etc", NULL);
	add(f, "to-parent", AE_IFLNK, 0777, NULL, 0, "..", NULL);
	add(f, "sub/up-two", AE_IFLNK, 0777, NULL, 0, "../../outside", NULL);
	file(f, "real", "data");
	add(f, "inside", AE_IFLNK, 0777, NULL, 0, "real", NULL);
	add(f, "sub/up-one", AE_IFLNK, 0777, NULL, 0, "../real", NULL);
	add(f, "hard-etc", AE_IFREG, 0644, NULL, 0, NULL, "/etc/passwd");
	add(f, "hard-up", AE_IFREG, 0644, NULL, 0, NULL, "../outside/x");
	add(f, "hard-ok", AE_IFREG, 0644, NULL, 0, NULL, "real");
	assert_int_equal(extract(f, 0), 0);
	assert_refused(f, "to-etc", "symlink pointing outside the destination");
	assert_refused(f, "to-parent", "symlink pointing outside the destination");
	assert_refused(f, "sub/up-two", "symlink pointing outside the destination");
	assert_refused(f, "hard-etc", "hard link to a name outside the destination");
	assert_refused(f, "hard-up", "hard link to a name outside the destination");
	assert_int_equal(f->rep.refused, 5);
	assert_true(exists_at(f, "dest/inside"));
	assert_true(exists_at(f, "dest/sub/up-one"));
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
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &f->rep, &f->err), -1);
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
	assert_int_equal(jc_archive_extract(f->tar_fd, f->dest_fd, 0, &f->rep, &f->err), -1);
	assert_int_equal(f->err.kind, JC_ERR_ENGINE);
	assert_non_null(strstr(f->err.msg, "read archive"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_binary_modes_and_dirs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_names_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_outside_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_written_through_a_symlink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_special_files_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_bytes_not_echoed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_stream_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tar, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
