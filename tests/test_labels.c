/* labels.c: the one builder and the one parser of jobcell's labels. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "labels.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct jc_labels every(void)
{
	return (struct jc_labels){ .managed = true,
				   .site = (char *)"lab",
				   .job = (char *)"job1",
				   .tenant = (char *)"acme",
				   .run = (char *)"r1",
				   .volume = (char *)"tenant-acme-run-r1-1-0a0b0c0d",
				   .role = (char *)"transfer",
				   .created = (char *)"1700000000",
				   .nonce = (char *)"0123abcd",
				   .supervisor = (char *)"boot/4026531836/77/123",
				   .keep = true };
}

static void test_build_every_key_in_order(void **state)
{
	static const char *const keys[] = {
		"jobcell.managed", "jobcell.site",    "jobcell.job",   "jobcell.tenant",
		"jobcell.run",     "jobcell.volume",  "jobcell.role",  "jobcell.created",
		"jobcell.nonce",   "jobcell.supervisor", "jobcell.keep",
	};
	struct jc_labels l = every();
	struct jc_label out[JC_LABELS_MAX];
	size_t n = jc_labels_build(&l, out);

	(void)state;
	assert_int_equal(n, N(keys));
	assert_int_equal(n, JC_LABELS_MAX);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(out[i].key, keys[i]);
	assert_string_equal(out[0].value, "true");
	assert_string_equal(out[1].value, "lab");
	assert_string_equal(out[8].value, "0123abcd");
	assert_string_equal(out[10].value, "true");
	/* the pairs borrow the struct's strings */
	assert_ptr_equal(out[9].value, l.supervisor);
}

static void test_build_leaves_out_unset(void **state)
{
	struct jc_labels l = { .managed = true, .site = (char *)"s", .created = (char *)"1" };
	struct jc_label out[JC_LABELS_MAX];
	size_t n = jc_labels_build(&l, out);

	(void)state;
	assert_int_equal(n, 3);
	assert_string_equal(out[0].key, JC_LABEL_MANAGED);
	assert_string_equal(out[1].key, JC_LABEL_SITE);
	assert_string_equal(out[2].key, JC_LABEL_CREATED);
	l = (struct jc_labels){ 0 };
	assert_int_equal(jc_labels_build(&l, out), 0);
}

static void test_round_trip(void **state)
{
	struct jc_labels l = every(), back = { 0 };
	struct jc_label out[JC_LABELS_MAX];
	size_t n = jc_labels_build(&l, out);
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_labels_parse(out, n, &back, &err), 0);
	assert_null(err.msg);
	assert_true(back.managed);
	assert_true(back.keep);
	assert_string_equal(back.site, l.site);
	assert_string_equal(back.job, l.job);
	assert_string_equal(back.tenant, l.tenant);
	assert_string_equal(back.run, l.run);
	assert_string_equal(back.volume, l.volume);
	assert_string_equal(back.role, l.role);
	assert_string_equal(back.created, l.created);
	assert_string_equal(back.nonce, l.nonce);
	assert_string_equal(back.supervisor, l.supervisor);
	/* copies, not borrowed */
	assert_ptr_not_equal(back.site, l.site);
	jc_labels_free(&back);
	assert_null(back.site);
	assert_false(back.managed);
}

/* Only "true" is true; other keys are ignored; a label that is there but
 * not a string reads as absent; the first of a repeated key wins. */
static void test_parse_odd_values(void **state)
{
	struct jc_label kv[] = {
		{ (char *)"jobcell.managed", (char *)"True" },
		{ (char *)"jobcell.keep", (char *)"yes" },
		{ (char *)"other", (char *)"x" },
		{ (char *)"jobcell.site", NULL },
		{ (char *)"jobcell.site", (char *)"second" },
		{ (char *)"jobcell.job", (char *)"first" },
		{ (char *)"jobcell.job", (char *)"second" },
		{ (char *)"jobcell.unknown", (char *)"x" },
		{ (char *)"JOBCELL.run", (char *)"upper" },
		{ (char *)"jobcell.nonce", (char *)"quote\" and\nnewline" },
		{ NULL, (char *)"no key" },
	};
	struct jc_labels l = every();
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_labels_parse(kv, N(kv), &l, &err), 0);
	assert_false(l.managed);
	assert_false(l.keep);
	assert_null(l.site);
	assert_string_equal(l.job, "first");
	assert_null(l.run);
	assert_null(l.tenant);
	assert_null(l.supervisor);
	assert_string_equal(l.nonce, "quote\" and\nnewline");
	jc_labels_free(&l);

	/* a managed label that is not a string hides a later "true" */
	kv[0] = (struct jc_label){ (char *)"jobcell.managed", NULL };
	kv[1] = (struct jc_label){ (char *)"jobcell.managed", (char *)"true" };
	assert_int_equal(jc_labels_parse(kv, 2, &l, &err), 0);
	assert_false(l.managed);
	jc_labels_free(&l);

	assert_int_equal(jc_labels_parse(NULL, 0, &l, &err), 0);
	assert_false(l.managed);
	assert_null(l.site);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_every_key_in_order),
		cmocka_unit_test(test_build_leaves_out_unset),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_odd_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
