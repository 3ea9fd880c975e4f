/* Value parsers (units.c): durations, sizes, modes, booleans, whole numbers,
 * users, CPUs and GPUs.  Each refusal must leave the output untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"

#define N(a)     (sizeof(a) / sizeof((a)[0]))
#define SENTINEL INT64_C(-777)

/* ---- durations ------------------------------------------------------------ */

static void test_duration_good(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} cases[] = {
		{ "30s", 30000 },
		{ "5m", 300000 },
		{ "1h", 3600000 },
		{ "250ms", 250 },
		{ "10", 10000 }, /* a bare number is seconds */
		{ "0", 0 },
		{ "0s", 0 },
		{ "0ms", 0 },
		{ "007s", 7000 },
		/* the cap: ten years (366-day), so clock + duration cannot overflow */
		{ "316224000000ms", JC_DURATION_MAX_MS },
		{ "87840h", JC_DURATION_MAX_MS },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int64_t ms = SENTINEL;
		if (jc_parse_duration(cases[i].s, &ms) != 0)
			fail_msg("`%s` refused", cases[i].s);
		if (ms != cases[i].ms)
			fail_msg("`%s` gave %lld ms, want %lld", cases[i].s, (long long)ms,
				 (long long)cases[i].ms);
	}
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"-1s",
		"1.5s",
		"10x",
		" 10s",
		"10s ",
		"10 s",
		"s",
		"ms",
		"+1s",
		"1S",
		"1sec",
		"1min",
		"1d",
		"1hh",
		"1e3",
		"0x10",
		"10\n",
		"99999999999999999999h", /* overflows the digits */
		"18446744073709551616",  /* 2^64 */
		"9223372036854775808ms", /* INT64_MAX + 1 */
		"9223372036854776s",     /* overflows when scaled */
		"2562047788016h",        /* one hour past INT64_MAX ms */
		"316224000001ms",        /* one past the cap */
		"87841h",                /* an hour past the cap */
		"9223372036854775807ms", /* INT64_MAX: once accepted, overflowed deadlines */
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		int64_t ms = SENTINEL;
		if (jc_parse_duration(bad[i], &ms) != -1)
			fail_msg("`%s` accepted as %lld ms", bad[i], (long long)ms);
		if (ms != SENTINEL)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- sizes ---------------------------------------------------------------- */

static void test_size_good(void **state)
{
	static const struct {
		const char *s;
		int64_t bytes;
	} cases[] = {
		{ "512m", INT64_C(512) << 20 },
		{ "1g", INT64_C(1) << 30 },
		{ "64k", 65536 },
		{ "1kb", 1024 },
		{ "1KB", 1024 },
		{ "1K", 1024 },
		{ "2M", INT64_C(2) << 20 },
		{ "3gB", INT64_C(3) << 30 },
		{ "4096", 4096 },
		{ "0", 0 },
		{ "0m", 0 },
		{ "8589934591g", INT64_C(8589934591) << 30 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int64_t b = SENTINEL;
		if (jc_parse_size(cases[i].s, &b) != 0)
			fail_msg("`%s` refused", cases[i].s);
		if (b != cases[i].bytes)
			fail_msg("`%s` gave %lld bytes, want %lld", cases[i].s, (long long)b,
				 (long long)cases[i].bytes);
	}
}

static void test_size_bad(void **state)
{
	static const char *const bad[] = {
		"1t",
		"m",
		"-1",
		"",
		"1b",
		"1mm",
		"1kbb",
		"1 k",
		" 1k",
		"1k ",
		"1.5g",
		"+1",
		"1kib",
		"0x10",
		"1mib",
		"8589934592g",          /* 2^33 GiB = 2^63 bytes: over INT64_MAX */
		"99999999999999999999", /* overflows the digits */
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		int64_t b = SENTINEL;
		if (jc_parse_size(bad[i], &b) != -1)
			fail_msg("`%s` accepted as %lld bytes", bad[i], (long long)b);
		if (b != SENTINEL)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- modes ---------------------------------------------------------------- */

static void test_mode_good(void **state)
{
	static const struct {
		const char *s;
		unsigned mode;
	} cases[] = {
		{ "0555", 0555 }, { "755", 0755 },   { "07777", 07777 }, { "0", 0 },
		{ "0700", 0700 }, { "1777", 01777 }, { "00000", 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		unsigned m = 0xdead;
		if (jc_parse_mode(cases[i].s, &m) != 0)
			fail_msg("`%s` refused", cases[i].s);
		if (m != cases[i].mode)
			fail_msg("`%s` gave %o, want %o", cases[i].s, m, cases[i].mode);
	}
}

static void test_mode_bad(void **state)
{
	static const char *const bad[] = { "8",      "0o755", "10000", "",     "0x1ed",
					   "-755",   "+755",  " 755",  "755 ", "9",
					   "000000", "0755a", "17777" };

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		unsigned m = 0xdead;
		if (jc_parse_mode(bad[i], &m) != -1)
			fail_msg("`%s` accepted as %o", bad[i], m);
		if (m != 0xdead)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- booleans ------------------------------------------------------------- */

static void test_bool(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes", "ON" };
	static const char *const no[] = { "false", "no", "off", "0", "FALSE", "No", "Off" };
	static const char *const bad[] = { "",      "2",     "y",     "n",       "t",
					   "truex", " true", "true ", "enabled", "-1" };

	(void)state;
	for (size_t i = 0; i < N(yes); i++) {
		bool b = false;
		if (jc_parse_bool(yes[i], &b) != 0 || !b)
			fail_msg("`%s` is not true", yes[i]);
	}
	for (size_t i = 0; i < N(no); i++) {
		bool b = true;
		if (jc_parse_bool(no[i], &b) != 0 || b)
			fail_msg("`%s` is not false", no[i]);
	}
	for (size_t i = 0; i < N(bad); i++) {
		bool b = true;
		if (jc_parse_bool(bad[i], &b) != -1)
			fail_msg("`%s` accepted as a boolean", bad[i]);
		if (!b)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- whole numbers -------------------------------------------------------- */

static void test_uint(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} good[] = {
		{ "0", 0 }, { "512", 512 }, { "007", 7 }, { "9223372036854775807", INT64_MAX }
	};
	static const char *const bad[] = { "",
					   "-1",
					   "+1",
					   "1 ",
					   " 1",
					   "1k",
					   "1.0",
					   "0x1",
					   "9223372036854775808",
					   "99999999999999999999999" };

	(void)state;
	for (size_t i = 0; i < N(good); i++) {
		int64_t v = SENTINEL;
		if (jc_parse_uint(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("`%s` gave %lld, want %lld", good[i].s, (long long)v,
				 (long long)good[i].v);
	}
	for (size_t i = 0; i < N(bad); i++) {
		int64_t v = SENTINEL;
		if (jc_parse_uint(bad[i], &v) != -1)
			fail_msg("`%s` accepted as %lld", bad[i], (long long)v);
		if (v != SENTINEL)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- users ---------------------------------------------------------------- */

static void test_user_good(void **state)
{
	static const struct {
		const char *s;
		uid_t uid;
		gid_t gid;
	} cases[] = {
		{ "65532", 65532, 65532 },
		{ "65532:1000", 65532, 1000 },
		{ "0", 0, 0 },
		{ "0:0", 0, 0 },
		{ "1000:0", 1000, 0 },
		{ "4294967294", 4294967294u, 4294967294u },
		{ "1:4294967294", 1, 4294967294u },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		uid_t u = 777;
		gid_t g = 777;
		if (jc_parse_user(cases[i].s, &u, &g) != 0)
			fail_msg("`%s` refused", cases[i].s);
		if (u != cases[i].uid || g != cases[i].gid)
			fail_msg("`%s` gave %u:%u, want %u:%u", cases[i].s, (unsigned)u,
				 (unsigned)g, (unsigned)cases[i].uid, (unsigned)cases[i].gid);
	}
}

static void test_user_bad(void **state)
{
	static const char *const bad[] = {
		"root",         "1:", ":1",    "-1",     "4294967295", /* (uid_t)-1 */
		"1:4294967295", "",   "1:2:3", "1:root", "root:1",
		"1 ",           " 1", "+1",    "1:-1",   "99999999999999999999",
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		uid_t u = 777;
		gid_t g = 777;
		if (jc_parse_user(bad[i], &u, &g) != -1)
			fail_msg("`%s` accepted as %u:%u", bad[i], (unsigned)u, (unsigned)g);
		if (u != 777 || g != 777)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- CPUs ----------------------------------------------------------------- */

static void test_cpus_good(void **state)
{
	static const struct {
		const char *s;
		int64_t nano;
	} cases[] = {
		{ "0", 0 },
		{ "0.0", 0 },
		{ "0.000", 0 },
		{ "1", 1000000000 },
		{ "1.5", 1500000000 },
		{ "0.25", 250000000 },
		{ "0.01", 10000000 }, /* the engine's least */
		{ "0.010", 10000000 },
		{ "2.125", 2125000000 },
		{ "01.5", 1500000000 },
		{ "1024", INT64_C(1024000000000) },
		{ "1024.000", INT64_C(1024000000000) },
		{ "1023.999", INT64_C(1023999000000) },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int64_t n = SENTINEL;
		if (jc_parse_cpus(cases[i].s, &n) != 0)
			fail_msg("`%s` refused", cases[i].s);
		if (n != cases[i].nano)
			fail_msg("`%s` gave %lld nano-CPUs, want %lld", cases[i].s, (long long)n,
				 (long long)cases[i].nano);
	}
}

static void test_cpus_bad(void **state)
{
	static const char *const bad[] = {
		"",         "-1",
		"-0.5",     "+1",
		"1.2345", /* more than three decimals */
		"0.0001",   "1.",
		".5",       "1..5",
		"1.5.",     "1,5",
		"1e3",      "0x10",
		" 1",       "1 ",
		"1.5 ",     "1k",
		"1024.001", /* more than 1024 */
		"1025",     "99999999999999999999",
		"0.001", /* below the engine's least of 0.01 */
		"0.009",    "nan",
		"inf",
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		int64_t n = SENTINEL;
		if (jc_parse_cpus(bad[i], &n) != -1)
			fail_msg("`%s` accepted as %lld nano-CPUs", bad[i], (long long)n);
		if (n != SENTINEL)
			fail_msg("`%s` refused but changed the output", bad[i]);
	}
}

/* ---- GPUs ----------------------------------------------------------------- */

static void test_gpus_good(void **state)
{
	static const struct {
		const char *s;
		int64_t count;
		const char *ids[3];
		size_t n;
	} cases[] = {
		{ "", 0, { NULL }, 0 },
		{ "0", 0, { NULL }, 0 },
		{ "all", -1, { NULL }, 0 },
		{ "slurm", JC_GPUS_SLURM, { NULL }, 0 },
		{ "2", 2, { NULL }, 0 },
		{ "1024", 1024, { NULL }, 0 },
		{ "0,1", 0, { "0", "1" }, 2 },
		{ "0, 1 ,2", 0, { "0", "1", "2" }, 3 },
		{ "GPU-fef8089b-4820-abfc-e83e-94318197576e",
		  0,
		  { "GPU-fef8089b-4820-abfc-e83e-94318197576e" },
		  1 },
		{ "MIG-1_a,3", 0, { "MIG-1_a", "3" }, 2 },
		{ "gpu0", 0, { "gpu0" }, 1 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		/* starts from an earlier value, which is replaced */
		struct jc_gpus g = { 0 };
		assert_int_equal(jc_parse_gpus("a,b", &g), 0);
		if (jc_parse_gpus(cases[i].s, &g) != 0)
			fail_msg("`%s` refused", cases[i].s);
		if (g.count != cases[i].count || g.ids.n != cases[i].n)
			fail_msg("`%s` gave count %lld and %zu ids", cases[i].s, (long long)g.count,
				 g.ids.n);
		for (size_t j = 0; j < cases[i].n; j++)
			assert_string_equal(g.ids.v[j], cases[i].ids[j]);
		jc_gpus_free(&g);
	}
}

static void test_gpus_bad(void **state)
{
	static const char *const bad[] = {
		"ALL", /* the NVIDIA runtime's words, not device ids */
		"All",
		"all,0",
		"0,none",
		"VOID",
		"SLURM", /* jobcell's word for the allocation's, alone */
		"slurm,0",
		"0,Slurm",
		"-1",
		"_a",
		"0,-1",
		"1025", /* a count past the cap */
		"0,",
		",0",
		"0,,1",
		" ",
		"0;1",
		"0 1",
		"GPU/0",
		"../x",
		"a:b",
		"0,0",                               /* the same device twice */
		"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", /* 17 ids */
		"99999999999999999999",
		"\t",
		"a\nb",
	};
	char longid[JC_GPU_ID_MAX + 2];

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct jc_gpus g = { 0 };
		assert_int_equal(jc_parse_gpus("x,y", &g), 0);
		if (jc_parse_gpus(bad[i], &g) != -1)
			fail_msg("`%s` accepted", bad[i]);
		if (g.count != 0 || g.ids.n != 2 || strcmp(g.ids.v[0], "x") != 0)
			fail_msg("`%s` refused but changed the output", bad[i]);
		jc_gpus_free(&g);
	}
	/* sixteen ids are fine; an id of JC_GPU_ID_MAX is, one more is not */
	{
		struct jc_gpus g = { 0 };
		assert_int_equal(jc_parse_gpus("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &g), 0);
		assert_int_equal(g.ids.n, JC_GPU_IDS_MAX);
		memset(longid, 'g', sizeof(longid));
		longid[JC_GPU_ID_MAX] = '\0';
		assert_int_equal(jc_parse_gpus(longid, &g), 0);
		assert_int_equal(g.ids.n, 1);
		longid[JC_GPU_ID_MAX] = 'g';
		longid[JC_GPU_ID_MAX + 1] = '\0';
		assert_int_equal(jc_parse_gpus(longid, &g), -1);
		assert_int_equal(strlen(g.ids.v[0]), JC_GPU_ID_MAX);
		jc_gpus_free(&g);
		assert_int_equal(g.ids.n, 0);
		assert_null(g.ids.v);
	}
}

static void test_gpus_copy(void **state)
{
	struct jc_gpus a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(jc_parse_gpus("0,GPU-1", &a), 0);
	assert_int_equal(jc_parse_gpus("all", &b), 0);
	assert_int_equal(jc_gpus_copy(&b, &a), 0);
	assert_int_equal(b.count, 0);
	assert_int_equal(b.ids.n, 2);
	assert_string_equal(b.ids.v[1], "GPU-1");
	assert_ptr_not_equal(b.ids.v, a.ids.v);
	jc_gpus_free(&a);
	jc_gpus_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_good), cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_size_good),     cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_mode_good),     cmocka_unit_test(test_mode_bad),
		cmocka_unit_test(test_bool),          cmocka_unit_test(test_uint),
		cmocka_unit_test(test_user_good),     cmocka_unit_test(test_user_bad),
		cmocka_unit_test(test_cpus_good),     cmocka_unit_test(test_cpus_bad),
		cmocka_unit_test(test_gpus_good),     cmocka_unit_test(test_gpus_bad),
		cmocka_unit_test(test_gpus_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
