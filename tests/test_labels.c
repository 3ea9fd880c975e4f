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
				   .volume_nonce = (char *)"00ff00ff00ff00ff",
				   .role = (char *)"transfer",
				   .created = (char *)"1700000000",
				   .nonce = (char *)"0123abcd",
				   .supervisor = (char *)"boot/4026531836/77/123",
				   .deadline = (char *)"1700000960",
				   .keep = true };
}

static void test_build_every_key_in_order(void **state)
{
	static const char *const keys[] = {
		"jobcell.managed", "jobcell.site",   "jobcell.job",          "jobcell.tenant",
		"jobcell.run",     "jobcell.volume", "jobcell.volume_nonce", "jobcell.role",
		"jobcell.created", "jobcell.nonce",  "jobcell.supervisor",   "jobcell.deadline",
		"jobcell.keep",
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
	assert_string_equal(out[6].value, "00ff00ff00ff00ff");
	assert_string_equal(out[9].value, "0123abcd");
	assert_string_equal(out[11].value, "1700000960");
	assert_string_equal(out[12].value, "true");
	/* the pairs borrow the struct's strings */
	assert_ptr_equal(out[10].value, l.supervisor);
	assert_ptr_equal(out[11].value, l.deadline);
}

/* An unset key is still sent, empty: a key left out would be the image's
 * to set, as the engine merges the image's labels into the container's. */
static void test_build_sets_unset_keys_empty(void **state)
{
	struct jc_labels l = { .managed = true, .site = (char *)"s", .created = (char *)"1" };
	struct jc_label out[JC_LABELS_MAX];
	size_t n = jc_labels_build(&l, out);

	(void)state;
	assert_int_equal(n, JC_LABELS_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(out[i].value);
		if (!strcmp(out[i].key, JC_LABEL_MANAGED))
			assert_string_equal(out[i].value, "true");
		else if (!strcmp(out[i].key, JC_LABEL_SITE))
			assert_string_equal(out[i].value, "s");
		else if (!strcmp(out[i].key, JC_LABEL_CREATED))
			assert_string_equal(out[i].value, "1");
		else
			assert_string_equal(out[i].value, "");
	}
	l = (struct jc_labels){ 0 };
	assert_int_equal(jc_labels_build(&l, out), JC_LABELS_MAX);
	assert_string_equal(out[0].value, "");
	assert_string_equal(out[JC_LABELS_MAX - 1].value, "");
}

/* What the builder sends for "none" reads back as none, and "" from
 * anywhere else is none too. */
static void test_empty_reads_as_absent(void **state)
{
	struct jc_labels l = { .managed = true, .site = (char *)"s" }, back = every();
	struct jc_label out[JC_LABELS_MAX];
	size_t n = jc_labels_build(&l, out);
	jc_error err = { 0 };

	(void)state;
	assert_int_equal(jc_labels_parse(out, n, &back, &err), 0);
	assert_true(back.managed);
	assert_string_equal(back.site, "s");
	assert_null(back.job);
	assert_null(back.volume);
	assert_null(back.volume_nonce);
	assert_null(back.supervisor);
	assert_null(back.nonce);
	assert_null(back.deadline);
	assert_false(back.keep);
	jc_labels_free(&back);
	/* the first of a key wins, even when it is "" */
	struct jc_label kv[] = {
		{ (char *)"jobcell.supervisor", (char *)"" },
		{ (char *)"jobcell.supervisor", (char *)"boot/1/2/3" },
		{ (char *)"jobcell.keep", (char *)"" },
		{ (char *)"jobcell.keep", (char *)"true" },
	};
	assert_int_equal(jc_labels_parse(kv, N(kv), &back, &err), 0);
	assert_null(back.supervisor);
	assert_false(back.keep);
	jc_labels_free(&back);
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
	assert_string_equal(back.volume_nonce, l.volume_nonce);
	assert_string_equal(back.role, l.role);
	assert_string_equal(back.created, l.created);
	assert_string_equal(back.nonce, l.nonce);
	assert_string_equal(back.supervisor, l.supervisor);
	assert_string_equal(back.deadline, l.deadline);
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

/* Every key the builder sets, in any case, and nothing else. */
static void test_is_own(void **state)
{
	struct jc_label out[JC_LABELS_MAX];
	size_t n = jc_labels_build(&(struct jc_labels){ 0 }, out);

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_true(jc_label_is_own(out[i].key));
	assert_true(jc_label_is_own("JobCell.Keep"));
	assert_true(jc_label_is_own("JOBCELL.VOLUME_NONCE"));
	/* an image with a far deadline would keep its containers from gc */
	assert_true(jc_label_is_own("jobcell.deadline"));
	assert_true(jc_label_is_own("Jobcell.Deadline"));
	assert_false(jc_label_is_own("jobcell.recipe"));
	assert_false(jc_label_is_own("jobcell.keep "));
	assert_false(jc_label_is_own("jobcell."));
	assert_false(jc_label_is_own(""));
	assert_false(jc_label_is_own(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_every_key_in_order),
		cmocka_unit_test(test_build_sets_unset_keys_empty),
		cmocka_unit_test(test_empty_reads_as_absent),
		cmocka_unit_test(test_is_own),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_odd_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
