/* The error contract (error.c) and string vectors (util.c).  Run under
 * valgrind: the static out-of-memory text must never reach free(). */
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
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- jc_error ---------------------------------------------------------------- */

static void test_set(void **state)
{
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(
	    jc_error_set(&err, JC_ERR_INPUT, EINVAL, "job name `%s` is %s", "x", "bad"), -1);
	assert_int_equal(err.kind, JC_ERR_INPUT);
	assert_int_equal(err.status, EINVAL);
	assert_false(err.retry);
	assert_string_equal(err.msg, "job name `x` is bad");
	jc_error_clear(&err);
}

/* A second set replaces kind, status, message and resets retry. */
static void test_set_replaces(void **state)
{
	jc_error err = { 0 };

	(void)state;
	jc_error_set(&err, JC_ERR_ENGINE, ECONNREFUSED, "first");
	err.retry = true;
	jc_error_set(&err, JC_ERR_WORKSPACE, ENOENT, "second %d", 2);
	assert_int_equal(err.kind, JC_ERR_WORKSPACE);
	assert_int_equal(err.status, ENOENT);
	assert_false(err.retry);
	assert_string_equal(err.msg, "second 2");
	jc_error_clear(&err);
}

static void test_set_null_err(void **state)
{
	(void)state;
	assert_int_equal(jc_error_set(NULL, JC_ERR_SYSTEM, EIO, "nobody listens"), -1);
	assert_int_equal(jc_error_wrap(NULL, "ctx"), -1);
	assert_int_equal(jc_error_oom(NULL), -1);
	jc_error_clear(NULL);
}

/* A `%` in an argument is text, not a directive. */
static void test_set_format_in_argument(void **state)
{
	jc_error err = { 0 };

	(void)state;
	jc_error_set(&err, JC_ERR_INPUT, EINVAL, "image `%s`", "%s%n%x");
	assert_string_equal(err.msg, "image `%s%n%x`");
	jc_error_wrap(&err, "step `%s`", "%d");
	assert_string_equal(err.msg, "step `%d`: image `%s%n%x`");
	jc_error_clear(&err);
}

static void test_wrap(void **state)
{
	jc_error err = { 0 };

	(void)state;
	jc_error_set(&err, JC_ERR_ENGINE, ECONNREFUSED, "connect: refused");
	err.retry = true;
	assert_int_equal(jc_error_wrap(&err, "create container `%s`", "jobcell-a-b"), -1);
	assert_string_equal(err.msg, "create container `jobcell-a-b`: connect: refused");
	assert_int_equal(jc_error_wrap(&err, "run"), -1);
	assert_string_equal(err.msg, "run: create container `jobcell-a-b`: connect: refused");
	/* wrapping keeps what the failure was */
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, ECONNREFUSED);
	assert_true(err.retry);
	jc_error_clear(&err);
}

/* Wrapping an empty error does nothing: there is no cause to give context to. */
static void test_wrap_empty(void **state)
{
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_error_wrap(&err, "context %d", 1), -1);
	assert_null(err.msg);
	assert_int_equal(err.kind, JC_ERR_NONE);
	assert_int_equal(err.status, 0);
	jc_error_clear(&err);
	assert_int_equal(jc_error_wrap(&err, "again"), -1);
	assert_null(err.msg);
}

static void test_clear(void **state)
{
	jc_error err = { 0 };

	(void)state;
	jc_error_set(&err, JC_ERR_SYSTEM, EIO, "x");
	err.retry = true;
	jc_error_clear(&err);
	assert_null(err.msg);
	assert_int_equal(err.kind, JC_ERR_NONE);
	assert_int_equal(err.status, 0);
	assert_false(err.retry);
	jc_error_clear(&err); /* twice is harmless */
	assert_null(err.msg);
}

/* The static text survives every path that would free a message. */
static void test_oom(void **state)
{
	jc_error err = { 0 };
	const char *first;

	(void)state;
	assert_int_equal(jc_error_oom(&err), -1);
	assert_int_equal(err.kind, JC_ERR_SYSTEM);
	assert_int_equal(err.status, ENOMEM);
	assert_string_equal(err.msg, "out of memory");
	first = err.msg;

	/* clear */
	jc_error_clear(&err);
	assert_null(err.msg);

	/* oom twice, then set over it */
	jc_error_oom(&err);
	jc_error_oom(&err);
	assert_string_equal(err.msg, "out of memory");
	jc_error_set(&err, JC_ERR_INPUT, EINVAL, "other");
	assert_string_equal(err.msg, "other");

	/* set, then oom over it: the heap message is freed (valgrind: no leak) */
	jc_error_oom(&err);
	assert_string_equal(err.msg, "out of memory");

	/* wrap over oom: a new heap message, the static one left alone */
	jc_error_wrap(&err, "load config");
	assert_string_equal(err.msg, "load config: out of memory");
	assert_ptr_not_equal(err.msg, first);
	jc_error_clear(&err);

	/* oom after wrap, and clear */
	jc_error_set(&err, JC_ERR_CONFIG, EINVAL, "x");
	jc_error_wrap(&err, "y");
	jc_error_oom(&err);
	jc_error_clear(&err);
	assert_null(err.msg);
}

static void test_kind_names(void **state)
{
	static const struct {
		enum jc_error_kind kind;
		const char *name;
	} cases[] = {
		{ JC_ERR_NONE, "none" },
		{ JC_ERR_CONFIG, "config" },
		{ JC_ERR_INPUT, "input" },
		{ JC_ERR_WORKSPACE, "workspace" },
		{ JC_ERR_ENGINE, "engine" },
		{ JC_ERR_SYSTEM, "system" },
		{ JC_ERR_CMD_NOT_FOUND, "command" },
		{ JC_ERR_CMD_NOT_EXEC, "command" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		assert_string_equal(jc_error_kind_name(cases[i].kind), cases[i].name);
	assert_string_equal(jc_error_kind_name((enum jc_error_kind)99), "unknown");
}

/* A long message is kept whole. */
static void test_long_message(void **state)
{
	jc_error err = { 0 };
	char big[5001];

	(void)state;
	memset(big, 'x', 5000);
	big[5000] = '\0';
	jc_error_set(&err, JC_ERR_ENGINE, EIO, "engine said: %s", big);
	assert_int_equal(strlen(err.msg), strlen("engine said: ") + 5000);
	jc_error_wrap(&err, "%s", big);
	assert_int_equal(strlen(err.msg), 5000 + 2 + strlen("engine said: ") + 5000);
	jc_error_clear(&err);
}

/* ---- jc_strv ------------------------------------------------------------------- */

static void test_strv(void **state)
{
	struct jc_strv a = { 0 }, b = { 0 };
	char buf[] = "mutable";

	(void)state;
	assert_int_equal(a.n, 0);
	assert_int_equal(jc_strv_push(&a, "one"), 0);
	assert_int_equal(jc_strv_push(&a, buf), 0);
	assert_int_equal(jc_strv_push(&a, ""), 0);
	buf[0] = 'M'; /* push copied it */
	assert_int_equal(a.n, 3);
	assert_string_equal(a.v[0], "one");
	assert_string_equal(a.v[1], "mutable");
	assert_string_equal(a.v[2], "");
	assert_null(a.v[3]); /* NULL-terminated, usable as argv */

	assert_int_equal(jc_strv_push(&b, "old"), 0);
	assert_int_equal(jc_strv_copy(&b, &a), 0); /* replaces, frees "old" */
	assert_int_equal(b.n, 3);
	assert_ptr_not_equal(b.v[0], a.v[0]);
	assert_string_equal(b.v[1], "mutable");
	assert_string_equal(b.v[0], "one"); /* "old" is gone */

	jc_strv_free(&a);
	assert_null(a.v);
	assert_int_equal(a.n, 0);
	jc_strv_free(&a);                          /* twice is harmless */
	assert_int_equal(jc_strv_copy(&b, &a), 0); /* copy of empty empties */
	assert_int_equal(b.n, 0);
	jc_strv_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),          cmocka_unit_test(test_set_replaces),
		cmocka_unit_test(test_set_null_err), cmocka_unit_test(test_set_format_in_argument),
		cmocka_unit_test(test_wrap),         cmocka_unit_test(test_wrap_empty),
		cmocka_unit_test(test_clear),        cmocka_unit_test(test_oom),
		cmocka_unit_test(test_kind_names),   cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
