/* check.c: the reader of the isolation probe's report, fed good, broken,
 * missing, garbled and hostile reports; the probe's command line and
 * capability mask; where the probe is found; the engine rows against the
 * fake engine at API 1.41 and 1.45; removing what check made. */
#include <errno.h>
#include <fcntl.h>
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

#include "cleanup.h"
#include "fake_engine.h"
#include "check.h"
#include "config.h"
#include "backend.h"
#include "docker/engine.h"
#include "error.h"
#include "util.h"
#include "testutil.h"
#include "probe/writable.h"

/* ---- helpers ---------------------------------------------------------------- */

/* A full report of the probe with every promise in `state`, one line each,
 * the probe's own comments around them. */
static char *full_report(const char *state)
{
	size_t n;
	const char *const *p = jc_check_promises(&n);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	fprintf(f, "# jobcell-probe uid=65532 gid=65532\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\t%s\tdetail of %s\n", p[i], state, p[i]);
	fprintf(f, "# end\n");
	fclose(f);
	return out;
}

static const struct jc_check_row *find_row(const struct jc_check_report *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->rows[i].name, name) == 0)
			return &r->rows[i];
	fail_msg("no row `%s`", name);
	return NULL;
}

static void parse(struct jc_check_report *r, const char *text, size_t len)
{
	jc_error err = { 0 };

	assert_int_equal(jc_check_parse(r, text, len, &err), 0);
	assert_null(err.msg);
}

static void assert_printable(const char *s)
{
	for (; *s; s++)
		assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s <= 0x7e);
}

/* ---- the report ------------------------------------------------------------- */

static void test_good_report(void **state)
{
	struct jc_check_report r = { 0 };
	cleanup_free char *text = full_report("kept");
	size_t n;
	const char *const *p = jc_check_promises(&n);

	(void)state;
	assert_int_equal(n, 16);
	parse(&r, text, strlen(text));
	assert_int_equal(r.n, n);
	assert_int_equal(r.ignored, 0);
	assert_true(r.ended);
	for (size_t i = 0; i < n; i++) {
		char want[128];
		snprintf(want, sizeof(want), "detail of %s", p[i]);
		/* in the order of the table, whatever the order of the lines */
		assert_string_equal(r.rows[i].name, p[i]);
		assert_int_equal(r.rows[i].state, JC_CHECK_KEPT);
		assert_string_equal(r.rows[i].detail, want);
	}
	assert_true(jc_check_ok(&r));
	jc_check_report_free(&r);
	assert_int_equal(r.n, 0);
	assert_null(r.rows);
}

static void test_lines_in_any_order_crlf_no_final_lf(void **state)
{
	struct jc_check_report r = { 0 };
	const char text[] = "network\tkept\tlo only\r\n"
			    "workspace-root-readonly\tkept\tEROFS\r\n"
			    "capabilities\tkept\t0";

	(void)state;
	parse(&r, text, strlen(text));
	assert_string_equal(find_row(&r, "network")->detail, "lo only");
	assert_int_equal(find_row(&r, "network")->state, JC_CHECK_KEPT);
	assert_string_equal(find_row(&r, "workspace-root-readonly")->detail, "EROFS");
	assert_string_equal(find_row(&r, "capabilities")->detail, "0");
	assert_int_equal(find_row(&r, "capabilities")->state, JC_CHECK_KEPT);
	assert_false(r.ended);
	jc_check_report_free(&r);
}

static void test_broken_and_unknown_rows(void **state)
{
	struct jc_check_report r = { 0 };
	cleanup_free char *text = full_report("kept");
	cleanup_free char *more = NULL;

	(void)state;
	assert_true(asprintf(&more,
			     "%s"
			     "rootfs-readonly\tbroken\tcreated a file in `/`\n"
			     "network\tunknown\tno /sys/class/net\n",
			     text) > 0);
	parse(&r, more, strlen(more));
	assert_int_equal(find_row(&r, "rootfs-readonly")->state, JC_CHECK_BROKEN);
	assert_string_equal(find_row(&r, "rootfs-readonly")->detail, "created a file in `/`");
	assert_int_equal(find_row(&r, "network")->state, JC_CHECK_UNKNOWN);
	assert_int_equal(find_row(&r, "capabilities")->state, JC_CHECK_KEPT);
	assert_false(jc_check_ok(&r));
	jc_check_report_free(&r);

	/* unknown alone is not ok either: nothing was proved */
	const char unk[] = "network\tunknown\t?\n";
	cleanup_free char *all = full_report("kept");
	cleanup_free char *with_unknown = NULL;
	assert_true(asprintf(&with_unknown, "%s%s", all, unk) > 0);
	parse(&r, with_unknown, strlen(with_unknown));
	assert_false(jc_check_ok(&r));
	jc_check_report_free(&r);
}

/* A promise reported twice gets the worse state, in either order. */
static void test_duplicates_worse_wins(void **state)
{
	struct jc_check_report r = { 0 };
	const char a[] = "network\tbroken\teth0\nnetwork\tkept\tlo\nnetwork\tunknown\t?\n";
	const char b[] = "network\tkept\tlo\nnetwork\tunknown\t?\nnetwork\tbroken\teth0\n";

	(void)state;
	parse(&r, a, strlen(a));
	assert_int_equal(find_row(&r, "network")->state, JC_CHECK_BROKEN);
	assert_string_equal(find_row(&r, "network")->detail, "eth0");
	jc_check_report_free(&r);
	parse(&r, b, strlen(b));
	assert_int_equal(find_row(&r, "network")->state, JC_CHECK_BROKEN);
	assert_string_equal(find_row(&r, "network")->detail, "eth0");
	jc_check_report_free(&r);
}

static void test_missing_promises_are_broken(void **state)
{
	struct jc_check_report r = { 0 };
	size_t n;
	const char text[] = "# jobcell-probe uid=0 gid=0\nnetwork\tkept\tlo\n";

	(void)state;
	jc_check_promises(&n);
	parse(&r, text, strlen(text));
	assert_int_equal(r.n, n);
	for (size_t i = 0; i < r.n; i++) {
		if (strcmp(r.rows[i].name, "network") == 0)
			continue;
		assert_int_equal(r.rows[i].state, JC_CHECK_BROKEN);
		assert_string_equal(r.rows[i].detail, "not reported");
	}
	assert_false(jc_check_ok(&r));
	jc_check_report_free(&r);

	/* nothing at all: every promise broken */
	parse(&r, "", 0);
	assert_int_equal(r.n, n);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.rows[i].state, JC_CHECK_BROKEN);
	assert_false(r.ended);
	jc_check_report_free(&r);
}

static void test_garbage_lines_ignored(void **state)
{
	struct jc_check_report r = { 0 };
	const char text[] = "hello from an entrypoint\n"
			    "network\tKEPT\tcase matters\n"
			    "network kept spaces are not tabs\n"
			    "no-such-promise\tkept\tx\n"
			    "\tkept\tno name\n"
			    "network\t\tno state\n"
			    "network\n"
			    "capabilities\tkept\n" /* no detail: still a line */
			    "\n"
			    "# a comment\n"
			    "network\tkept\tlo\n";

	(void)state;
	parse(&r, text, sizeof(text) - 1);
	assert_int_equal(r.ignored, 7);
	assert_int_equal(find_row(&r, "network")->state, JC_CHECK_KEPT);
	assert_string_equal(find_row(&r, "network")->detail, "lo");
	assert_int_equal(find_row(&r, "capabilities")->state, JC_CHECK_KEPT);
	assert_string_equal(find_row(&r, "capabilities")->detail, "");
	/* a promise name that is only a prefix is not the promise */
	jc_check_report_free(&r);
	const char prefix[] = "net\tbroken\tx\nnetworks\tbroken\tx\n";
	parse(&r, prefix, strlen(prefix));
	assert_int_equal(r.ignored, 2);
	assert_string_equal(find_row(&r, "network")->detail, "not reported");
	jc_check_report_free(&r);
}

static void test_overlong_lines(void **state)
{
	struct jc_check_report r = { 0 };
	size_t big = 100000;
	char *text = malloc(3 * big);
	size_t len = 0;
	const struct jc_check_row *row;

	(void)state;
	assert_non_null(text);
	/* a promise with a huge detail: kept, the detail cut */
	len += (size_t)sprintf(text + len, "network\tkept\t");
	memset(text + len, 'x', big);
	len += big;
	text[len++] = '\n';
	/* a huge line of nothing: one ignored line, not a thousand */
	memset(text + len, 'y', big);
	len += big;
	text[len++] = '\n';
	/* the state of this one lies beyond the line limit: not a report line */
	memset(text + len, 'z', JC_CHECK_LINE_MAX + 10);
	memcpy(text + len, "capabilities\t", 13);
	memcpy(text + len + JC_CHECK_LINE_MAX + 2, "\tkept\tx", 7);
	len += JC_CHECK_LINE_MAX + 10;
	text[len++] = '\n';
	len += (size_t)sprintf(text + len, "rootfs-readonly\tkept\tafter the long ones\n");
	parse(&r, text, len);
	row = find_row(&r, "network");
	assert_int_equal(row->state, JC_CHECK_KEPT);
	assert_true(strlen(row->detail) <= JC_CHECK_DETAIL_MAX + 3);
	assert_string_equal(row->detail + strlen(row->detail) - 3, "...");
	assert_int_equal(r.ignored, 2);
	assert_string_equal(find_row(&r, "capabilities")->detail, "not reported");
	assert_string_equal(find_row(&r, "rootfs-readonly")->detail, "after the long ones");
	jc_check_report_free(&r);
	free(text);
}

static void test_control_bytes_sanitised(void **state)
{
	struct jc_check_report r = { 0 };
	/* escapes, a NUL, DEL, high bytes and a tab that tries to forge a field */
	const char text[] = "network\tkept\t\x1b[31mred\x1b[0m \x7f\xff\xc3\xa9 a\tb\0c\n"
			    "capabilities\tkept\tok\n";
	const struct jc_check_row *row;

	(void)state;
	parse(&r, text, sizeof(text) - 1);
	row = find_row(&r, "network");
	assert_int_equal(row->state, JC_CHECK_KEPT);
	assert_string_equal(row->detail, "?[31mred?[0m ???? a?b?c");
	for (size_t i = 0; i < r.n; i++) {
		assert_printable(r.rows[i].name);
		assert_printable(r.rows[i].detail);
	}
	/* the line after the NUL is read too */
	assert_string_equal(find_row(&r, "capabilities")->detail, "ok");
	jc_check_report_free(&r);
}

static void test_add_rows(void **state)
{
	struct jc_check_report r = { 0 };
	jc_error err = { 0 };
	char big[2000];

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(jc_check_add(&r, "config", JC_CHECK_KEPT, &err, "file `%s`", "a.ini"), 0);
	assert_int_equal(jc_check_add(&r, "engine-subpath", JC_CHECK_NO, &err, "x"), 0);
	assert_true(jc_check_ok(&r)); /* a missing feature is not a failure */
	assert_int_equal(jc_check_add(&r, "eng\nine", JC_CHECK_BROKEN, &err, "%s\x1b", big), 0);
	assert_string_equal(r.rows[0].detail, "file `a.ini`");
	assert_string_equal(r.rows[2].name, "eng?ine");
	assert_int_equal(strlen(r.rows[2].detail), JC_CHECK_DETAIL_MAX + 3);
	assert_false(jc_check_ok(&r));
	jc_check_report_free(&r);

	assert_string_equal(jc_check_state_name(JC_CHECK_KEPT), "kept");
	assert_string_equal(jc_check_state_name(JC_CHECK_BROKEN), "broken");
	assert_string_equal(jc_check_state_name(JC_CHECK_UNKNOWN), "unknown");
	assert_string_equal(jc_check_state_name(JC_CHECK_YES), "yes");
	assert_string_equal(jc_check_state_name(JC_CHECK_NO), "no");
}

/* ---- the probe's command line ------------------------------------------------- */

static void test_cap_mask(void **state)
{
	struct jc_strv caps = { 0 };
	jc_error err = { 0 };
	uint64_t m = 1;

	(void)state;
	assert_int_equal(jc_check_cap_mask(&caps, &m, &err), 0);
	assert_true(m == 0);
	assert_int_equal(jc_strv_push(&caps, "CHOWN"), 0);
	assert_int_equal(jc_strv_push(&caps, "CAP_NET_ADMIN"), 0);
	assert_int_equal(jc_strv_push(&caps, "CHECKPOINT_RESTORE"), 0);
	assert_int_equal(jc_check_cap_mask(&caps, &m, &err), 0);
	assert_true(m == ((UINT64_C(1) << 0) | (UINT64_C(1) << 12) | (UINT64_C(1) << 40)));
	assert_int_equal(jc_strv_push(&caps, "ALL"), 0);
	assert_int_equal(jc_check_cap_mask(&caps, &m, &err), 0);
	assert_true(m == UINT64_MAX);
	jc_strv_free(&caps);

	m = 7;
	assert_int_equal(jc_strv_push(&caps, "NOT_A_CAP"), 0);
	assert_int_equal(jc_check_cap_mask(&caps, &m, &err), -1);
	assert_int_equal(err.kind, JC_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "`NOT_A_CAP`"));
	assert_true(m == 7); /* untouched on failure */
	jc_error_clear(&err);
	jc_strv_free(&caps);
}

/* The probe's rule for writable mounts (probe/writable.h), on what Docker
 * 20.10 and Podman 4.3 mount with the default site, and on Podman's own
 * /run and /var/tmp of a create that names none. */
static void test_writable_mounts_rule(void **state)
{
	const struct wm_site s = { "/workspace", "j1", 64 << 20, 0, NULL, NULL, 0 };
	const struct wm_site s1m = { "/workspace", "j1", 64 << 20, 1 << 20, NULL, NULL, 0 };
	const struct wm_site sl = { "/w/", "j1", 64 << 20, 0, NULL, NULL, 0 };
	/* [workspace] job_path and scratch */
	const struct wm_site sj = {
		"/workspace", "j1", 64 << 20, 0, "/inputs", "snap,jobs", 8 << 20
	};
	const struct {
		const struct wm_site *site;
		struct wm_mount m;
		const char *why; /* NULL: expected */
	} cases[] = {
		{ &s, { "/workspace/j1", "ext4", -1, WM_DIR, false }, NULL },
		{ &s, { "/workspace/j1", "tmpfs", -1, WM_DIR, false }, NULL },
		{ &s, { "/workspace/j2", "ext4", -1, WM_DIR, false }, "not one the site chose" },
		{ &s, { "/workspace", "tmpfs", 1 << 20, WM_DIR, false }, NULL },
		{ &s, { "/workspace", "ext4", -1, WM_DIR, false }, "not a tmpfs with a size" },
		{ &s, { "/workspacex", "ext4", -1, WM_DIR, false }, "not one the site chose" },
		{ &sl, { "/w/j1", "ext4", -1, WM_DIR, false }, NULL },
		{ &s, { "/tmp", "tmpfs", 64 << 20, WM_DIR, false }, NULL },
		{ &s, { "/tmp", "tmpfs", 32 << 20, WM_DIR, false }, "not the site's size" },
		{ &s, { "/tmp", "tmpfs", -1, WM_DIR, false }, "a tmpfs with no size" },
		{ &s, { "/tmp", "overlay", -1, WM_DIR, false }, "not a tmpfs" },
		/* Podman's read_only_tmpfs: the finding of issue 11 item 7 */
		{ &s, { "/run", "tmpfs", -1, WM_DIR, false }, "a tmpfs with no size" },
		{ &s, { "/var/tmp", "tmpfs", -1, WM_DIR, false }, "a tmpfs with no size" },
		/* run_size 0: writable at all is unexpected */
		{ &s, { "/run", "tmpfs", 1 << 20, WM_DIR, false }, "not the site's size" },
		{ &s1m, { "/run", "tmpfs", 1 << 20, WM_DIR, false }, NULL },
		{ &s1m, { "/var/tmp", "tmpfs", 1 << 20, WM_DIR, false }, NULL },
		{ &s1m, { "/var/tmp", "tmpfs", 2 << 20, WM_DIR, false }, "not the site's size" },
		{ &s, { "/dev", "tmpfs", 64 << 20, WM_DIR, false }, NULL },
		{ &s, { "/dev/shm", "tmpfs", 64 << 20, WM_DIR, false }, NULL },
		{ &s, { "/dev/shm", "tmpfs", -1, WM_DIR, false }, "a tmpfs with no size" },
		{ &s, { "/sys/fs/cgroup", "tmpfs", -1, WM_DIR, false }, NULL },
		{ &s, { "/sys/fs/cgroup", "tmpfs", -1, WM_DIR, true }, "not one the site chose" },
		{ &s, { "/etc/hosts", "ext4", -1, WM_FILE, false }, NULL },
		{ &s, { "/etc/resolv.conf", "ext4", -1, WM_FILE, false }, NULL },
		{ &s, { "/run/.containerenv", "ext4", -1, WM_FILE, false }, NULL },
		{ &s, { "/etc/passwd", "ext4", -1, WM_FILE, false }, "a writable file" },
		{ &s, { "/proc/keys", "tmpfs", 64 << 20, WM_OTHER, false }, NULL },
		{ &s, { "/", "overlay", -1, WM_DIR, false }, NULL },
		{ &s, { "/data/x", "ext4", -1, WM_DIR, false }, "not one the site chose" },
		{ &sj, { "/inputs", "ext4", -1, WM_DIR, false }, NULL },
		{ &sj, { "/workspace/j1", "ext4", -1, WM_DIR, false }, "not one the site chose" },
		{ &s, { "/inputs", "ext4", -1, WM_DIR, false }, "not one the site chose" },
		{ &sj, { "/workspace/snap", "tmpfs", 8 << 20, WM_DIR, false }, NULL },
		{ &sj, { "/workspace/jobs", "tmpfs", 8 << 20, WM_DIR, false }, NULL },
		{ &sj,
		  { "/workspace/jobs", "tmpfs", 16 << 20, WM_DIR, false },
		  "not the site's scratch_size" },
		{ &sj, { "/workspace/jobs", "tmpfs", -1, WM_DIR, false }, "a tmpfs with no size" },
		{ &sj, { "/workspace/jobs", "ext4", -1, WM_DIR, false }, "not a tmpfs" },
		{ &sj,
		  { "/workspace/job", "tmpfs", 8 << 20, WM_DIR, false },
		  "not one the site chose" },
		{ &s,
		  { "/workspace/snap", "tmpfs", 8 << 20, WM_DIR, false },
		  "not one the site chose" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = wm_unexpected(cases[i].site, &cases[i].m);
		if (cases[i].why ? !why || strcmp(why, cases[i].why) : why != NULL)
			fail_msg("case %zu `%s`: got `%s`, want `%s`", i, cases[i].m.point,
				 why ? why : "(expected)", cases[i].why ? cases[i].why : "(expected)");
	}
	assert_true(wm_opts_rw("rw,nosuid,nodev"));
	assert_true(wm_opts_rw("nosuid,rw"));
	assert_false(wm_opts_rw("ro,nosuid,nodev"));
	assert_false(wm_opts_rw("rwx"));
	assert_int_equal(wm_opts_size("rw,size=65536k,mode=755"), 64 << 20);
	assert_int_equal(wm_opts_size("rw,size=64m"), 64 << 20);
	assert_int_equal(wm_opts_size("rw,mode=755"), -1);
	assert_int_equal(wm_opts_size("rw"), -1);
}

static void test_probe_cmd(void **state)
{
	struct jc_config cfg;
	struct jc_strv cmd = { 0 };
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_config_init(&cfg, &err), 0);
	assert_int_equal(jc_check_probe_cmd(&cfg, "check.0a0b0c0d", "check.01020304", &cmd, &err),
			 0);
	const char *want[] = { "./jobcell-probe",
			       "--mount-point",
			       "/workspace",
			       "--job",
			       "check.0a0b0c0d",
			       "--sibling",
			       "check.01020304",
			       "--caps",
			       "0000000000000000",
			       "--network",
			       "none",
			       "--tmp-size",
			       "67108864",
			       "--run-size",
			       "0",
			       "--root-mode",
			       "0555" };
	assert_int_equal(cmd.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < cmd.n; i++)
		assert_string_equal(cmd.v[i], want[i]);

	/* no sibling (volume mode); the site's caps and network */
	assert_int_equal(jc_strv_push(&cfg.cap_add, "NET_BIND_SERVICE"), 0);
	free(cfg.network);
	cfg.network = strdup("lab-net");
	assert_int_equal(jc_check_probe_cmd(&cfg, "check.0a0b0c0d", NULL, &cmd, &err), 0);
	assert_int_equal(cmd.n, 15);
	assert_string_equal(cmd.v[5], "--caps");
	assert_string_equal(cmd.v[6], "0000000000000400");
	assert_string_equal(cmd.v[8], "lab-net");

	/* [volume] size: the probe fills the job directory past it */
	cfg.volume_size = 1 << 20;
	assert_int_equal(jc_check_probe_cmd(&cfg, "check.0a0b0c0d", NULL, &cmd, &err), 0);
	assert_int_equal(cmd.n, 17);
	assert_string_equal(cmd.v[15], "--volume-size");
	assert_string_equal(cmd.v[16], "1048576");
	cfg.volume_size = 0;
	assert_int_equal(jc_check_probe_cmd(&cfg, "check.0a0b0c0d", NULL, &cmd, &err), 0);

	/* [workspace] job_path and scratch: the probe looks there */
	cfg.job_path = strdup("/inputs");
	assert_int_equal(jc_strv_push(&cfg.scratch, "snapshot-storage"), 0);
	assert_int_equal(jc_strv_push(&cfg.scratch, "jobs-storage"), 0);
	assert_int_equal(jc_check_probe_cmd(&cfg, "check.0a0b0c0d", NULL, &cmd, &err), 0);
	assert_int_equal(cmd.n, 21);
	assert_string_equal(cmd.v[15], "--job-path");
	assert_string_equal(cmd.v[16], "/inputs");
	assert_string_equal(cmd.v[17], "--scratch");
	assert_string_equal(cmd.v[18], "snapshot-storage,jobs-storage");
	assert_string_equal(cmd.v[19], "--scratch-size");
	assert_string_equal(cmd.v[20], "67108864");
	free(cfg.job_path);
	cfg.job_path = NULL;
	jc_strv_free(&cfg.scratch);
	assert_int_equal(jc_check_probe_cmd(&cfg, "check.0a0b0c0d", NULL, &cmd, &err), 0);

	/* an unknown capability fails and leaves the command as it was */
	assert_int_equal(jc_strv_push(&cfg.cap_add, "BOGUS"), 0);
	assert_int_equal(jc_check_probe_cmd(&cfg, "j", NULL, &cmd, &err), -1);
	assert_int_equal(cmd.n, 15);
	jc_error_clear(&err);
	jc_strv_free(&cmd);
	jc_config_free(&cfg);
}

/* ---- where the probe is ------------------------------------------------------ */

struct tmp {
	char dir[256];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/test-check-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	rm_tree(t->dir);
	free(t);
	return 0;
}

static void put_file(const char *dir, const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void test_probe_dir(void **state)
{
	struct tmp *t = *state;
	char exe[512], sub[300];
	char *dir = NULL;
	jc_error err = { 0 };

	snprintf(sub, sizeof(sub), "%s/bin", t->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(exe, sizeof(exe), "%s/jobcell", sub);
	put_file(sub, "jobcell", "");

	/* next to jobcell */
	put_file(sub, JC_PROBE_NAME,
		 "\x7f"
		 "ELF");
	assert_int_equal(jc_check_probe_dir(exe, &dir, &err), 0);
	assert_string_equal(dir, sub);
	free(dir);
	dir = NULL;

	/* a symlink next to jobcell is not taken */
	char probe[512], target[512];
	snprintf(probe, sizeof(probe), "%s/%s", sub, JC_PROBE_NAME);
	snprintf(target, sizeof(target), "%s/real", t->dir);
	assert_int_equal(rename(probe, target), 0);
	assert_int_equal(symlink(target, probe), 0);
	if (jc_check_probe_dir(exe, &dir, &err) == 0) {
		/* only when $(libexecdir)/jobcell has one installed */
		assert_string_not_equal(dir, sub);
		free(dir);
	} else {
		assert_int_equal(err.status, ENOENT);
		assert_non_null(strstr(err.msg, sub));
		assert_non_null(strstr(err.msg, "libexec"));
		jc_error_clear(&err);
	}

	/* jobcell's own directory when nothing else is given */
	dir = NULL;
	if (jc_check_probe_dir(NULL, &dir, &err) == 0)
		free(dir);
	else
		jc_error_clear(&err);
}

/* ---- removing what check made ------------------------------------------------- */

static void test_remove_tree(void **state)
{
	struct tmp *t = *state;
	char p[600], to[300];
	int dfd = open(t->dir, O_RDONLY | O_DIRECTORY);
	jc_error err = { 0 };
	struct stat st;

	assert_true(dfd >= 0);
	/* outside/keep.txt must survive links that point at it */
	snprintf(p, sizeof(p), "%s/outside", t->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file(p, "keep.txt", "keep");
	snprintf(p, sizeof(p), "%s/job", t->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	put_file(p, "jobcell-probe", "x");
	snprintf(p, sizeof(p), "%s/job/a", t->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file(p, "f", "f");
	snprintf(p, sizeof(p), "%s/job/a/b", t->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file(p, "deep", "d");
	snprintf(p, sizeof(p), "%s/job/tooutside", t->dir);
	snprintf(to, sizeof(to), "%s/outside", t->dir);
	assert_int_equal(symlink(to, p), 0);
	snprintf(p, sizeof(p), "%s/job/a/tofile", t->dir);
	snprintf(to, sizeof(to), "%s/outside/keep.txt", t->dir);
	assert_int_equal(symlink(to, p), 0);

	assert_int_equal(jc_check_remove_tree(dfd, "job", &err), 0);
	snprintf(p, sizeof(p), "%s/job", t->dir);
	assert_int_equal(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/outside/keep.txt", t->dir);
	assert_int_equal(lstat(p, &st), 0);

	/* missing: fine; a symlink as the top: the link goes, not its target */
	assert_int_equal(jc_check_remove_tree(dfd, "job", &err), 0);
	snprintf(p, sizeof(p), "%s/link", t->dir);
	snprintf(to, sizeof(to), "%s/outside", t->dir);
	assert_int_equal(symlink(to, p), 0);
	assert_int_equal(jc_check_remove_tree(dfd, "link", &err), 0);
	assert_int_equal(lstat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/outside/keep.txt", t->dir);
	assert_int_equal(lstat(p, &st), 0);

	/* only plain names */
	assert_int_equal(jc_check_remove_tree(dfd, "outside/keep.txt", &err), -1);
	assert_int_equal(err.status, EINVAL);
	jc_error_clear(&err);
	assert_int_equal(jc_check_remove_tree(dfd, "..", &err), -1);
	jc_error_clear(&err);
	assert_int_equal(jc_check_remove_tree(dfd, "", &err), -1);
	jc_error_clear(&err);
	close(dfd);
}

/* ---- the engine rows ---------------------------------------------------------- */

static void engine_rows(const char *api, struct jc_check_report *r, bool site_volume)
{
	struct fake_engine *fe = fake_engine_start(api);
	struct jc_backend *e = NULL;
	struct jc_config cfg;
	jc_error err = { 0 };
	char ep[300];

	assert_non_null(fe);
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(fe));
	assert_int_equal(jc_config_init(&cfg, &err), 0);
	if (site_volume) {
		cfg.ws_mode = JC_WS_VOLUME;
		cfg.site_volume = strdup("site-vol");
	}
	assert_int_equal(test_docker_open(ep, 5000, &e, &err), 0);
	assert_int_equal(jc_backend_ping(e, &err), 0);
	assert_int_equal(jc_check_engine(e, &cfg, r, &err), 0);
	jc_backend_close(e);
	fake_engine_stop(fe);
	jc_config_free(&cfg);
}

static void test_engine_141(void **state)
{
	struct jc_check_report r = { 0 };

	(void)state;
	engine_rows("1.41", &r, true);
	assert_int_equal(r.n, 3);
	assert_int_equal(find_row(&r, "engine")->state, JC_CHECK_KEPT);
	assert_non_null(strstr(find_row(&r, "engine")->detail, "99.0.0-fake, API 1.41"));
	assert_non_null(strstr(find_row(&r, "engine")->detail, "jobcell speaks API 1.41"));
	assert_int_equal(find_row(&r, "engine-subpath")->state, JC_CHECK_NO);
	assert_non_null(strstr(find_row(&r, "engine-subpath")->detail, "is set and cannot work"));
	assert_int_equal(find_row(&r, "engine-create-mountpoint")->state, JC_CHECK_NO);
	assert_non_null(strstr(find_row(&r, "engine-create-mountpoint")->detail, "1.42"));
	assert_true(jc_check_ok(&r));
	jc_check_report_free(&r);
}

static void test_engine_145(void **state)
{
	struct jc_check_report r = { 0 };

	(void)state;
	engine_rows("1.45", &r, false);
	assert_int_equal(r.n, 3);
	assert_non_null(strstr(find_row(&r, "engine")->detail, "jobcell speaks API 1.45"));
	assert_int_equal(find_row(&r, "engine-subpath")->state, JC_CHECK_YES);
	assert_int_equal(find_row(&r, "engine-create-mountpoint")->state, JC_CHECK_YES);
	jc_check_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_report),
		cmocka_unit_test(test_lines_in_any_order_crlf_no_final_lf),
		cmocka_unit_test(test_broken_and_unknown_rows),
		cmocka_unit_test(test_duplicates_worse_wins),
		cmocka_unit_test(test_missing_promises_are_broken),
		cmocka_unit_test(test_garbage_lines_ignored),
		cmocka_unit_test(test_overlong_lines),
		cmocka_unit_test(test_control_bytes_sanitised),
		cmocka_unit_test(test_add_rows),
		cmocka_unit_test(test_cap_mask),
		cmocka_unit_test(test_probe_cmd),
		cmocka_unit_test(test_writable_mounts_rule),
		cmocka_unit_test_setup_teardown(test_probe_dir, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_remove_tree, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_engine_141),
		cmocka_unit_test(test_engine_145),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
