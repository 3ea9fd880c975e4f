/* Name rules (names.c) against THREATS.md "Inputs to refuse": job, site and
 * run names, reserved job names, environment entries, image references,
 * volume names and supervisor labels. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "names.h"
#include "util.h"

/* ---- helpers -------------------------------------------------------------- */

/* Assert a refusal: rc -1, the kind, EINVAL (unless status is 0) and `part`
 * somewhere in the message.  Reports the caller's line. */
static void expect_refusal_at(int rc, jc_error *err, enum jc_error_kind kind, int status,
			      const char *part, const char *file, int line)
{
	_assert_int_equal((LargestIntegralType)rc, (LargestIntegralType)-1, file, line);
	if (!err->msg) {
		print_error("no error message set\n");
		_fail(file, line);
	}
	if (err->kind != kind) {
		print_error("kind %s, want %s (message `%s`)\n", jc_error_kind_name(err->kind),
			    jc_error_kind_name(kind), err->msg);
		_fail(file, line);
	}
	if (status)
		_assert_int_equal((LargestIntegralType)err->status, (LargestIntegralType)status,
				  file, line);
	if (!strstr(err->msg, part)) {
		print_error("message `%s` lacks `%s`\n", err->msg, part);
		_fail(file, line);
	}
	jc_error_clear(err);
}
#define expect_input_refusal(rc, err, part)                                                        \
	expect_refusal_at((rc), (err), JC_ERR_INPUT, EINVAL, (part), __FILE__, __LINE__)

static void expect_ok_at(int rc, jc_error *err, const char *what, const char *file, int line)
{
	if (rc != 0) {
		print_error("`%s` refused: %s\n", what, err->msg ? err->msg : "(no message)");
		jc_error_clear(err);
		_fail(file, line);
	}
	if (err->msg) {
		print_error("`%s` accepted but left a message: %s\n", what, err->msg);
		_fail(file, line);
	}
}
#define expect_ok(rc, err, what) expect_ok_at((rc), (err), (what), __FILE__, __LINE__)

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* Fails when the message holds a control byte; clears `err` either way. */
static void expect_no_control_char_at(jc_error *err, size_t i, const char *file, int line)
{
	bool bad = has_control_char(err->msg);

	if (bad)
		print_error("case %zu: message echoes a control byte: `%s`\n", i, err->msg);
	jc_error_clear(err);
	if (bad)
		_fail(file, line);
}
#define expect_no_control_char(err, i) expect_no_control_char_at((err), (i), __FILE__, __LINE__)

static void fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

/* ---- jc_name_check -------------------------------------------------------- */

static void test_name_good(void **state)
{
	static const char *const good[] = { "a",      "A",    "0",  "job1", "Job_1.v2-x",
					    "9lives", "a..b", "a.", "a-",   "a_" };
	jc_error err = { 0 };
	char max[JC_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok(jc_name_check(good[i], "job name", &err), &err, good[i]);
	fill(max, JC_NAME_MAX, 'x');
	expect_ok(jc_name_check(max, "job name", &err), &err, "64 x");
}

static void test_name_empty(void **state)
{
	jc_error err = { 0 };

	(void)state;
	expect_input_refusal(jc_name_check("", "job name", &err), &err, "job name is empty");
	expect_input_refusal(jc_name_check(NULL, "run id", &err), &err, "run id is empty");
}

static void test_name_dots_and_slash(void **state)
{
	jc_error err = { 0 };

	(void)state;
	expect_input_refusal(jc_name_check(".", "job name", &err), &err,
			     "job name `.` must start with a letter or digit");
	expect_input_refusal(jc_name_check("..", "job name", &err), &err,
			     "job name `..` must start with a letter or digit");
	expect_input_refusal(jc_name_check("/", "job name", &err), &err,
			     "job name `/` must start with a letter or digit");
	expect_input_refusal(jc_name_check("a/b", "job name", &err), &err,
			     "job name has a character outside [A-Za-z0-9_.-] at offset 1");
	expect_input_refusal(jc_name_check("a/../b", "job name", &err), &err,
			     "character outside [A-Za-z0-9_.-] at offset 1");
}

static void test_name_leading_dash_dot(void **state)
{
	jc_error err = { 0 };

	(void)state;
	expect_input_refusal(jc_name_check("-rf", "job name", &err), &err,
			     "job name `-rf` must start with a letter or digit");
	expect_input_refusal(jc_name_check(".hidden", "job name", &err), &err,
			     "job name `.hidden` must start with a letter or digit");
	expect_input_refusal(jc_name_check("_x", "job name", &err), &err,
			     "must start with a letter or digit");
}

/* A bad byte inside the name: refused, with its offset, and not echoed. */
static void test_name_bad_bytes(void **state)
{
	static const struct {
		const char *name;
		const char *part;
	} cases[] = {
		{ "a\nb", "job name has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "ab\n", "at offset 2" },
		{ "a\rb", "at offset 1" },
		{ "a\tb", "at offset 1" },
		{ "a\x1b[2Jb", "at offset 1" },
		{ "a\x7f", "at offset 1" },
		{ "a b", "at offset 1" },
		{ "job ", "at offset 3" },
		{ "a\\b", "at offset 1" },
		{ "a:b", "at offset 1" },
		{ "a\xc3\xa9", "at offset 1" }, /* UTF-8 é */
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = jc_name_check(cases[i].name, "job name", &err);
		assert_int_equal(rc, -1);
		assert_non_null(err.msg);
		assert_false(has_control_char(err.msg));
		expect_input_refusal(rc, &err, cases[i].part);
	}
}

/* Regression (fixed): names.c:27-29 echoes the whole name (`%.*s`) when its first byte is
 * not a letter or digit, so a name such as "\n\x1b[31mX" puts a newline and
 * a terminal escape into the error message (and the log), although the loop
 * below it deliberately avoids echoing control bytes.  The message should
 * not contain the name's bytes when they are not all printable. */
static void test_name_bad_first_byte_not_echoed(void **state)
{
	static const char *const cases[] = { "\nX", "\x1b[31mX", "\rfake: ok", " x", "\tx" };
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = jc_name_check(cases[i], "job name", &err);
		assert_int_equal(rc, -1);
		assert_int_equal(err.kind, JC_ERR_INPUT);
		assert_non_null(strstr(err.msg, "must start with a letter or digit"));
		expect_no_control_char(&err, i);
	}
}

static void test_name_length(void **state)
{
	jc_error err = { 0 };
	char n64[JC_NAME_MAX + 1], n65[JC_NAME_MAX + 2], n1000[1001];

	(void)state;
	fill(n64, JC_NAME_MAX, 'a');
	fill(n65, JC_NAME_MAX + 1, 'a');
	fill(n1000, 1000, 'a');
	expect_ok(jc_name_check(n64, "job name", &err), &err, "64 a");
	expect_input_refusal(jc_name_check(n65, "job name", &err), &err,
			     "job name is longer than 64 characters");
	expect_input_refusal(jc_name_check(n1000, "tenant", &err), &err,
			     "tenant is longer than 64 characters");
}

/* ---- jc_name_check_job ---------------------------------------------------- */

static void test_job_reserved_builtin(void **state)
{
	static const char *const cases[] = { "startup", "local", "Startup", "STARTUP",
					     "sTaRtUp", "Local", "LOCAL" };
	jc_error err = { 0 };
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "job name `%s` is reserved", cases[i]);
		expect_input_refusal(jc_name_check_job(cases[i], NULL, &err), &err, want);
	}
}

static void test_job_reserved_site(void **state)
{
	struct jc_strv reserved = { 0 };
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_strv_push(&reserved, "shared"), 0);
	assert_int_equal(jc_strv_push(&reserved, "Inbox"), 0);
	expect_input_refusal(jc_name_check_job("shared", &reserved, &err), &err,
			     "job name `shared` is reserved");
	expect_input_refusal(jc_name_check_job("SHARED", &reserved, &err), &err,
			     "job name `SHARED` is reserved");
	expect_input_refusal(jc_name_check_job("inbox", &reserved, &err), &err,
			     "job name `inbox` is reserved");
	/* the builtin names stay reserved alongside the site's */
	expect_input_refusal(jc_name_check_job("local", &reserved, &err), &err,
			     "job name `local` is reserved");
	/* near misses are ordinary names */
	expect_ok(jc_name_check_job("shared2", &reserved, &err), &err, "shared2");
	expect_ok(jc_name_check_job("startups", &reserved, &err), &err, "startups");
	expect_ok(jc_name_check_job("local.d", &reserved, &err), &err, "local.d");
	jc_strv_free(&reserved);
}

static void test_job_runs_name_check(void **state)
{
	struct jc_strv empty = { 0 };
	jc_error err = { 0 };

	(void)state;
	expect_input_refusal(jc_name_check_job("", &empty, &err), &err, "job name is empty");
	expect_input_refusal(jc_name_check_job("..", &empty, &err), &err,
			     "job name `..` must start with a letter or digit");
	expect_input_refusal(jc_name_check_job("a/b", &empty, &err), &err,
			     "job name has a character outside");
	expect_ok(jc_name_check_job("job-1", &empty, &err), &err, "job-1");
}

/* ---- jc_name_check_env ---------------------------------------------------- */

static void test_env_good(void **state)
{
	static const char *const good[] = {
		"A=x",         "_=x",        "a_1=",       "PATH=/bin:/usr/bin", "X=a=b",
		"X=tab\there", "X= spaces ", "X=\xc3\xa9", "_A9=value"
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok(jc_name_check_env(good[i], &err), &err, good[i]);
}

static void test_env_bad(void **state)
{
	static const struct {
		const char *entry;
		const char *part;
	} cases[] = {
		{ "1A=x", "environment name `1A` must start with a letter or `_`" },
		{ "A-B=x", "environment name has a character outside [A-Za-z0-9_] at offset 1" },
		{ "A B=x", "at offset 1" },
		{ "A.B=x", "at offset 1" },
		{ "=x", "environment name is empty or too long" },
		{ "AB", "environment entry has no `=`: want NAME=VALUE" },
		{ "", "environment entry has no `=`" },
		{ "A=line\nnext", "environment value of `A` has a control character" },
		{ "A=\r", "environment value of `A` has a control character" },
		{ "A=\x1b[2J", "environment value of `A` has a control character" },
		{ "A=\x01", "has a control character" },
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_input_refusal(jc_name_check_env(cases[i].entry, &err), &err, cases[i].part);
}

static void test_env_name_length(void **state)
{
	jc_error err = { 0 };
	char e255[300], e256[300];

	(void)state;
	fill(e255, 255, 'A');
	strcat(e255, "=1");
	fill(e256, 256, 'A');
	strcat(e256, "=1");
	expect_ok(jc_name_check_env(e255, &err), &err, "255 A");
	expect_input_refusal(jc_name_check_env(e256, &err), &err,
			     "environment name is empty or too long");
}

/* Regression (fixed): names.c:70-72 echoes the environment name (`%.*s`) when its first
 * byte is wrong, so "\x1b[31mX=1" or "\nX=1" put control bytes into the
 * message.  It should refuse without echoing unprintable bytes. */
static void test_env_bad_first_byte_not_echoed(void **state)
{
	static const char *const cases[] = { "\nX=1", "\x1b[31mX=1", "1\n=1" };
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = jc_name_check_env(cases[i], &err);
		assert_int_equal(rc, -1);
		assert_int_equal(err.kind, JC_ERR_INPUT);
		expect_no_control_char(&err, i);
	}
}

/* ---- jc_name_check_image -------------------------------------------------- */

static void test_image_good(void **state)
{
	static const char *const good[] = {
		"alpine",
		"alpine:3.20",
		"docker.io/library/alpine:3.20",
		"registry.example.com:5000/team/img:v1.2-rc_3",
		"alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"9x/y",
	};
	jc_error err = { 0 };
	char i255[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok(jc_name_check_image(good[i], &err), &err, good[i]);
	fill(i255, 255, 'a');
	expect_ok(jc_name_check_image(i255, &err), &err, "255 a");
}

static void test_image_bad(void **state)
{
	static const struct {
		const char *image;
		const char *part;
	} cases[] = {
		{ "", "image is empty" },
		{ "..", "image must start with a letter or digit" },
		{ "a/../b", "image `a/../b` contains `..`" },
		{ "a..b", "contains `..`" },
		{ "alpine:3..2", "contains `..`" },
		{ "al pine", "image has a character outside [A-Za-z0-9._/:@-] at offset 2" },
		{ "alpine?x=1", "image has a character outside [A-Za-z0-9._/:@-] at offset 6" },
		{ "alpine#x", "at offset 6" },
		{ "alpine%2F", "at offset 6" },
		{ "alpine\n", "at offset 6" },
		{ "/etc/passwd", "image must start with a letter or digit" },
		{ "-alpine", "image must start with a letter or digit" },
		{ ":tag", "image must start with a letter or digit" },
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_input_refusal(jc_name_check_image(cases[i].image, &err), &err,
				     cases[i].part);
	expect_input_refusal(jc_name_check_image(NULL, &err), &err, "image is empty");
}

static void test_image_length(void **state)
{
	jc_error err = { 0 };
	char i256[257], i4k[4097];

	(void)state;
	fill(i256, 256, 'a');
	fill(i4k, 4096, 'b');
	expect_input_refusal(jc_name_check_image(i256, &err), &err,
			     "image is longer than 255 characters");
	expect_input_refusal(jc_name_check_image(i4k, &err), &err,
			     "image is longer than 255 characters");
}

/* ---- volume names (jc_volume_name, jc_volume_name_check) ---------------------- */

static void test_volume_name_format(void **state)
{
	static const struct {
		const char *tenant, *run;
		int64_t ms;
		uint32_t rnd;
		const char *want;
	} cases[] = {
		{ "T", "R", 1700000000000, 0xab, "tenant-T-run-R-1700000000000-000000ab" },
		{ "acme", "r1", 1700000000123, 0xffffffffu,
		  "tenant-acme-run-r1-1700000000123-ffffffff" },
		{ "a.b", "c_d-e", 0, 0, "tenant-a.b-run-c_d-e-0-00000000" },
		{ "x", "y", 1, 0x0000abcd, "tenant-x-run-y-1-0000abcd" },
	};
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = jc_volume_name(cases[i].tenant, cases[i].run, cases[i].ms, cases[i].rnd);
		assert_non_null(n);
		assert_string_equal(n, cases[i].want);
		/* what it makes, it accepts */
		expect_ok(jc_volume_name_check(n, &err), &err, n);
		free(n);
	}
}

/* The longest tenant and run still give a name the engine takes. */
static void test_volume_name_longest(void **state)
{
	char t[JC_NAME_MAX + 1], r[JC_NAME_MAX + 1];
	jc_error err = { 0 };
	char *n;

	(void)state;
	fill(t, JC_NAME_MAX, 't');
	fill(r, JC_NAME_MAX, 'r');
	n = jc_volume_name(t, r, INT64_C(9999999999999), UINT32_MAX);
	assert_non_null(n);
	assert_true(strlen(n) <= JC_VOLUME_NAME_MAX);
	assert_int_equal(strlen(n), 7 + 64 + 5 + 64 + 1 + 13 + 1 + 8);
	expect_ok(jc_volume_name_check(n, &err), &err, "longest volume name");
	free(n);
}

static void test_volume_name_check_good(void **state)
{
	static const char *const good[] = {
		"ab",       "tenant-a-run-b-1700000000000-0000abcd", "a.b", "A_1", "0-", "9..",
		"lab-site",
	};
	jc_error err = { 0 };
	char v255[JC_VOLUME_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok(jc_volume_name_check(good[i], &err), &err, good[i]);
	fill(v255, JC_VOLUME_NAME_MAX, 'v');
	expect_ok(jc_volume_name_check(v255, &err), &err, "255 v");
}

static void test_volume_name_check_bad(void **state)
{
	static const struct {
		const char *name;
		const char *part;
	} cases[] = {
		{ "", "volume name is empty" },
		{ "a", "volume name must start with a letter or digit and have two characters or "
		       "more" },
		{ "-a", "volume name must start with a letter or digit" },
		{ ".a", "volume name must start with a letter or digit" },
		{ "_a", "volume name must start with a letter or digit" },
		{ "..", "volume name must start with a letter or digit" },
		{ "../x", "volume name must start with a letter or digit" },
		{ "/ab", "volume name must start with a letter or digit" },
		{ "a/b", "volume name has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "a b", "volume name has a character outside [A-Za-z0-9_.-] at offset 1" },
		{ "ab:c", "at offset 2" },
		{ "a\xc3\xa9", "at offset 1" },
	};
	jc_error err = { 0 };
	char v256[JC_VOLUME_NAME_MAX + 2], v4k[4097];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_input_refusal(jc_volume_name_check(cases[i].name, &err), &err,
				     cases[i].part);
	expect_input_refusal(jc_volume_name_check(NULL, &err), &err, "volume name is empty");
	fill(v256, JC_VOLUME_NAME_MAX + 1, 'v');
	expect_input_refusal(jc_volume_name_check(v256, &err), &err,
			     "volume name is longer than 255 characters");
	fill(v4k, 4096, 'v');
	expect_input_refusal(jc_volume_name_check(v4k, &err), &err,
			     "volume name is longer than 255 characters");
}

/* Control bytes anywhere: refused, and never echoed into the message. */
static void test_volume_name_check_not_echoed(void **state)
{
	static const char *const cases[] = { "a\nb",     "ab\n",        "\nab", "\x1b[31mab",
					     "a\x1b[2J", "a\rfake: ok", "a\x7f" };
	jc_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = jc_volume_name_check(cases[i], &err);
		assert_int_equal(rc, -1);
		assert_int_equal(err.kind, JC_ERR_INPUT);
		assert_non_null(strstr(err.msg, "volume name"));
		expect_no_control_char(&err, i);
	}
}

/* ---- jc_supervisor_check ------------------------------------------------------ */

static void test_supervisor_good(void **state)
{
	static const char *const good[] = {
		"b1946ac9-2491-4d0c-9f6d-1b5e0c3b6c1e/4026531836/1234/98765",
		"0",
		"a/1/2",
		"-/",
	};
	jc_error err = { 0 };
	char s128[129];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok(jc_supervisor_check(good[i], &err), &err, good[i]);
	fill(s128, 128, 'f');
	expect_ok(jc_supervisor_check(s128, &err), &err, "128 f");
}

static void test_supervisor_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"B1946AC9/1/2",   /* uppercase */
		"abc/1/2 ",       /* space */
		"ab cd",          /* space */
		"abc/1/g",        /* not hex */
		"abc\n/1/2",      /* control byte */
		"abc/1/2\x1b[2J", /* terminal escape */
		"abc:1:2",
		"../x",
	};
	jc_error err = { 0 };
	char s129[130], s4k[4097];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jc_supervisor_check(bad[i], &err);
		assert_int_equal(rc, -1);
		assert_non_null(err.msg);
		assert_false(has_control_char(err.msg));
		expect_input_refusal(rc, &err, "supervisor label must be 1..128 of [0-9a-f/-]");
	}
	expect_input_refusal(jc_supervisor_check(NULL, &err), &err,
			     "supervisor label must be 1..128 of [0-9a-f/-]");
	fill(s129, 129, 'a');
	expect_input_refusal(jc_supervisor_check(s129, &err), &err,
			     "supervisor label must be 1..128 of [0-9a-f/-]");
	fill(s4k, 4096, 'a');
	expect_input_refusal(jc_supervisor_check(s4k, &err), &err,
			     "supervisor label must be 1..128 of [0-9a-f/-]");
}

/* A second refusal replaces the first message; no stale text is kept. */
static void test_error_replaced(void **state)
{
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_name_check("", "job name", &err), -1);
	assert_int_equal(jc_name_check_image("a b", &err), -1);
	assert_null(strstr(err.msg, "job name"));
	assert_non_null(strstr(err.msg, "image has a character outside"));
	jc_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_good),
		cmocka_unit_test(test_name_empty),
		cmocka_unit_test(test_name_dots_and_slash),
		cmocka_unit_test(test_name_leading_dash_dot),
		cmocka_unit_test(test_name_bad_bytes),
		cmocka_unit_test(test_name_bad_first_byte_not_echoed),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_job_reserved_builtin),
		cmocka_unit_test(test_job_reserved_site),
		cmocka_unit_test(test_job_runs_name_check),
		cmocka_unit_test(test_env_good),
		cmocka_unit_test(test_env_bad),
		cmocka_unit_test(test_env_name_length),
		cmocka_unit_test(test_env_bad_first_byte_not_echoed),
		cmocka_unit_test(test_image_good),
		cmocka_unit_test(test_image_bad),
		cmocka_unit_test(test_image_length),
		cmocka_unit_test(test_volume_name_format),
		cmocka_unit_test(test_volume_name_longest),
		cmocka_unit_test(test_volume_name_check_good),
		cmocka_unit_test(test_volume_name_check_bad),
		cmocka_unit_test(test_volume_name_check_not_echoed),
		cmocka_unit_test(test_supervisor_good),
		cmocka_unit_test(test_supervisor_bad),
		cmocka_unit_test(test_error_replaced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
