/* volume.c against the fake engine: fresh volumes and their labels, name
 * collisions, removal while in use, listing, streaming files in and out
 * through the archive endpoint (a hostile tar included), supervisor
 * liveness, and gc. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "fake_engine.h"
#include "archive.h"
#include "backend.h"
#include "docker/engine.h"
#include "error.h"
#include "names.h"
#include "docker/json.h"
#include "util.h"
#include "volume.h"
#include "testutil.h"

struct fixture {
	struct fake_engine *fe;
	struct jc_backend *e;
	char tmp[256]; /* scratch directory, removed at teardown */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	jc_error err = { 0 };
	char ep[300];
	const char *t = getenv("TMPDIR");

	assert_non_null(f);
	f->fe = fake_engine_start("1.41");
	assert_non_null(f->fe);
	fake_engine_add_image(f->fe, "img", "");
	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(f->fe));
	assert_int_equal(test_docker_open(ep, 5000, &f->e, &err), 0);
	assert_int_equal(jc_backend_ping(f->e, &err), 0);
	snprintf(f->tmp, sizeof(f->tmp), "%s/test-volume-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(f->tmp));
	fake_engine_reset_requests(f->fe);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	jc_backend_close(f->e);
	fake_engine_stop(f->fe);
	rm_tree(f->tmp);
	free(f);
	return 0;
}

static void assert_msg(const jc_error *err, const char *part)
{
	if (!err->msg || !strstr(err->msg, part))
		fail_msg("error `%s` lacks `%s`", err->msg ? err->msg : "(none)", part);
}

static bool all_of(const char *s, size_t n, const char *set)
{
	return strlen(s) == n && strspn(s, set) == n;
}

/* %XX and '+' decoded; caller frees. */
static char *url_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	assert_non_null(out);
	for (; *s; s++) {
		unsigned v;
		if (*s == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
	return out;
}

/* The nth request (0-based) with this method and path prefix. */
static const struct fake_request *nth_request(struct fake_engine *fe, const char *method,
					      const char *prefix, size_t nth)
{
	size_t n = fake_engine_request_count(fe), seen_n = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		if (!strcmp(r->method, method) && !strncmp(r->path, prefix, strlen(prefix)) &&
		    seen_n++ == nth)
			return r;
	}
	fail_msg("no request %zu for %s %s", nth, method, prefix);
	return NULL;
}

static const char *label(const cJSON *labels, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The k-th POST /volumes/create body, parsed; caller deletes. */
static cJSON *create_body(struct fake_engine *fe, size_t k)
{
	cJSON *b = cJSON_Parse(nth_request(fe, "POST", "/volumes/create", k)->body);
	assert_true(cJSON_IsObject(b));
	return b;
}

static const char *body_name(const cJSON *b)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "Name");
	assert_true(cJSON_IsString(n));
	return n->valuestring;
}

/* "tenant-<t>-run-<r>-<13 digits>-<8 hex>", the digits a time in [lo, hi]. */
static void assert_volume_name(const char *name, const char *t, const char *r, int64_t lo,
			       int64_t hi)
{
	char prefix[200], ms[32], rnd[32];
	const char *rest, *dash;
	long long v;

	snprintf(prefix, sizeof(prefix), "tenant-%s-run-%s-", t, r);
	if (strncmp(name, prefix, strlen(prefix)) != 0)
		fail_msg("volume name `%s` does not start with `%s`", name, prefix);
	rest = name + strlen(prefix);
	dash = strchr(rest, '-');
	assert_non_null(dash);
	assert_true((size_t)(dash - rest) < sizeof(ms));
	snprintf(ms, sizeof(ms), "%.*s", (int)(dash - rest), rest);
	snprintf(rnd, sizeof(rnd), "%s", dash + 1);
	if (!all_of(ms, 13, "0123456789") || !all_of(rnd, 8, "0123456789abcdef"))
		fail_msg("volume name `%s`: want <13 digits>-<8 hex> after the prefix", name);
	v = atoll(ms);
	assert_in_range(v, lo, hi);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- jc_volume_make ---- */

static void test_make_sends_name_driver_and_labels(void **state)
{
	struct fixture *f = *state;
	struct jc_volume_spec s = { .site = "s1",
				    .tenant = "T",
				    .run = "R",
				    .job = "j1",
				    .supervisor = "abc-1/4026531836/77/123",
				    .keep = false,
				    .created = 1700000000 };
	struct jc_volume got = { 0 };
	jc_error err = { 0 };
	char *name = NULL, nonce[17] = "";
	int64_t before = now_ms(), after;
	cJSON *b;
	const cJSON *labels, *driver;

	assert_int_equal(jc_volume_make(f->e, &s, &name, nonce, &err), 0);
	after = now_ms();
	assert_null(err.msg);
	assert_volume_name(name, "T", "R", before, after);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 1);
	b = create_body(f->fe, 0);
	assert_string_equal(body_name(b), name);
	driver = cJSON_GetObjectItemCaseSensitive(b, "Driver");
	assert_true(cJSON_IsString(driver));
	assert_string_equal(driver->valuestring, "local");
	labels = cJSON_GetObjectItemCaseSensitive(b, "Labels");
	assert_true(cJSON_IsObject(labels));
	/* every key, "" where there is no value: the engine merges nothing */
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	assert_string_equal(label(labels, "jobcell.managed"), "true");
	assert_string_equal(label(labels, "jobcell.site"), "s1");
	assert_string_equal(label(labels, "jobcell.tenant"), "T");
	assert_string_equal(label(labels, "jobcell.run"), "R");
	assert_string_equal(label(labels, "jobcell.job"), "j1");
	assert_string_equal(label(labels, "jobcell.created"), "1700000000");
	assert_string_equal(label(labels, "jobcell.supervisor"), "abc-1/4026531836/77/123");
	assert_non_null(label(labels, "jobcell.nonce"));
	assert_true(all_of(label(labels, "jobcell.nonce"), 16, "0123456789abcdef"));
	assert_string_equal(label(labels, "jobcell.nonce"), nonce); /* handed back */
	assert_string_equal(label(labels, "jobcell.keep"), "");
	assert_string_equal(label(labels, "jobcell.volume"), "");
	assert_string_equal(label(labels, "jobcell.role"), "");
	/* the engine holds it, with that nonce */
	assert_true(fake_engine_has_volume(f->fe, name));
	assert_int_equal(fake_engine_volume_count(f->fe), 1);
	assert_int_equal(jc_backend_volume_inspect(f->e, name, &got, &err), 0);
	assert_string_equal(got.labels.nonce, label(labels, "jobcell.nonce"));
	assert_true(got.labels.managed);
	assert_false(got.labels.keep);
	jc_volume_free(&got);
	cJSON_Delete(b);
	free(name);

	/* kept, no job, no supervisor: keep=true and no job/supervisor label */
	s.keep = true;
	s.job = NULL;
	s.supervisor = NULL;
	assert_int_equal(jc_volume_make(f->e, &s, &name, NULL, &err), 0);
	b = create_body(f->fe, 1);
	assert_string_equal(body_name(b), name);
	labels = cJSON_GetObjectItemCaseSensitive(b, "Labels");
	assert_int_equal(cJSON_GetArraySize(labels), JC_LABELS_MAX);
	assert_string_equal(label(labels, "jobcell.keep"), "true");
	assert_string_equal(label(labels, "jobcell.job"), "");
	assert_string_equal(label(labels, "jobcell.supervisor"), "");
	assert_true(fake_engine_has_volume(f->fe, name));
	cJSON_Delete(b);
	free(name);
}

static void test_make_refuses_bad_names_before_any_request(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *tenant, *run, *what;
	} bad[] = {
		{ "../x", "R", "tenant" }, { "", "R", "tenant" },        { "T", "a/b", "run" },
		{ "T", "..", "run" },      { "T", "-r", "run" },         { "t t", "R", "tenant" },
		{ "T", "", "run" },        { ".hidden", "R", "tenant" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jc_volume_spec s = { .site = "s1",
					    .tenant = bad[i].tenant,
					    .run = bad[i].run };
		jc_error err = { 0 };
		char *name = NULL;

		assert_int_equal(jc_volume_make(f->e, &s, &name, NULL, &err), -1);
		assert_null(name);
		assert_int_equal(err.kind, JC_ERR_INPUT);
		assert_int_equal(err.status, EINVAL);
		assert_msg(&err, bad[i].what);
		jc_error_clear(&err);
	}
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	assert_int_equal(fake_engine_volume_count(f->fe), 0);
}

static void test_make_draws_again_on_a_foreign_volume(void **state)
{
	struct fixture *f = *state;
	struct jc_volume_spec s = { .site = "s1", .tenant = "T", .run = "R", .created = 1 };
	jc_error err = { 0 };
	char *name = NULL;
	cJSON *b0, *b1;

	fake_engine_volume_collide(f->fe, 1);
	assert_int_equal(jc_volume_make(f->e, &s, &name, NULL, &err), 0);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 2);
	b0 = create_body(f->fe, 0);
	b1 = create_body(f->fe, 1);
	assert_string_not_equal(body_name(b0), body_name(b1));
	/* a fresh nonce with the fresh name */
	assert_string_not_equal(
	    label(cJSON_GetObjectItemCaseSensitive(b0, "Labels"), "jobcell.nonce"),
	    label(cJSON_GetObjectItemCaseSensitive(b1, "Labels"), "jobcell.nonce"));
	assert_string_equal(name, body_name(b1));
	assert_false(fake_engine_has_volume(f->fe, body_name(b0)));
	assert_true(fake_engine_has_volume(f->fe, name));
	assert_int_equal(fake_engine_volume_count(f->fe), 1);
	cJSON_Delete(b0);
	cJSON_Delete(b1);
	free(name);
	name = NULL;

	/* every answer foreign: four names tried, then EEXIST */
	fake_engine_reset_requests(f->fe);
	fake_engine_volume_collide(f->fe, 4);
	assert_int_equal(jc_volume_make(f->e, &s, &name, NULL, &err), -1);
	assert_null(name);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, EEXIST);
	assert_msg(&err, "tenant `T` run `R`");
	assert_msg(&err, "every name tried was taken");
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 4);
	for (size_t i = 0; i < 4; i++) {
		cJSON *bi = create_body(f->fe, i);
		for (size_t k = 0; k < i; k++) {
			cJSON *bk = create_body(f->fe, k);
			assert_string_not_equal(body_name(bi), body_name(bk));
			cJSON_Delete(bk);
		}
		cJSON_Delete(bi);
	}
	assert_int_equal(fake_engine_volume_count(f->fe), 1);
	jc_error_clear(&err);

	/* the engine is itself again: the next make succeeds at once */
	fake_engine_reset_requests(f->fe);
	assert_int_equal(jc_volume_make(f->e, &s, &name, NULL, &err), 0);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 1);
	assert_int_equal(fake_engine_volume_count(f->fe), 2);
	free(name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_make_in_a_tight_loop_gives_distinct_names(void **state)
{
	struct fixture *f = *state;
	struct jc_volume_spec s = { .site = "s1", .tenant = "T", .run = "R", .created = 1 };
	char *names[50];
	jc_error err = { 0 };

	for (size_t i = 0; i < 50; i++)
		assert_int_equal(jc_volume_make(f->e, &s, &names[i], NULL, &err), 0);
	qsort(names, 50, sizeof(names[0]), cmp_str);
	for (size_t i = 1; i < 50; i++)
		assert_string_not_equal(names[i - 1], names[i]);
	/* none was an answer with someone else's volume */
	assert_int_equal(fake_engine_count(f->fe, "POST", "/volumes/create"), 50);
	assert_int_equal(fake_engine_volume_count(f->fe), 50);
	for (size_t i = 0; i < 50; i++)
		free(names[i]);
}

/* ---- removal ---- */

static void test_remove_missing_busy_and_failing(void **state)
{
	struct fixture *f = *state;
	jc_error err = { 0 };
	char *id = NULL;

	/* missing: what removal wanted */
	assert_int_equal(jc_backend_volume_remove(f->e, "nosuchvol", &err), 0);
	assert_null(err.msg);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/nosuchvol"), 1);
	assert_int_equal(jc_volume_remove_retry(f->e, "nosuchvol", 3, &err), 0);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/nosuchvol"), 2);

	/* in use twice, then free */
	fake_engine_add_volume(f->fe, "busy1", NULL);
	fake_engine_fail(f->fe, "DELETE", "/volumes/busy1", FAKE_FAULT_STATUS, 409,
			 "remove busy1: volume is in use - [abc]", 2);
	assert_int_equal(jc_volume_remove_retry(f->e, "busy1", 3, &err), 0);
	assert_null(err.msg);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/busy1"), 3);
	assert_false(fake_engine_has_volume(f->fe, "busy1"));

	/* held by a container for good: tries=2 gives up after two */
	assert_int_equal(jc_docker_create_json(f->e, "holder",
					  "{\"Image\":\"img\",\"HostConfig\":{\"Mounts\":[{"
					  "\"Type\":\"volume\",\"Source\":\"busy2\",\"Target\":"
					  "\"/v\"}]}}",
					  &id, &err),
			 0);
	assert_true(fake_engine_has_volume(f->fe, "busy2"));
	assert_int_equal(jc_volume_remove_retry(f->e, "busy2", 2, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, EBUSY);
	assert_true(err.retry);
	assert_msg(&err, "remove volume `busy2`: engine said 409");
	assert_msg(&err, "volume is in use");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/busy2"), 2);
	assert_true(fake_engine_has_volume(f->fe, "busy2"));
	jc_error_clear(&err);

	/* an engine failure is not retried */
	fake_engine_add_volume(f->fe, "v500", NULL);
	fake_engine_fail(f->fe, "DELETE", "/volumes/v500", FAKE_FAULT_STATUS, 500, "disk on fire",
			 -1);
	assert_int_equal(jc_volume_remove_retry(f->e, "v500", 3, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, EIO);
	assert_string_equal(err.msg, "remove volume `v500`: engine said 500: disk on fire");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/v500"), 1);
	assert_true(fake_engine_has_volume(f->fe, "v500"));
	jc_error_clear(&err);
	free(id);
}

/* ---- listing ---- */

static const struct jc_volume *find_vol(const struct jc_volume_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name))
			return &l->items[i];
	return NULL;
}

/* The label filters of the nth volume list: with a site, jobcell.site=S
 * (and perhaps jobcell.managed=true: Podman ORs several, so the client may
 * send one and check the rest); without, jobcell.managed=true. */
static void assert_list_filter(struct fake_engine *fe, size_t nth, const char *site)
{
	const struct fake_request *r = nth_request(fe, "GET", "/volumes", nth);
	const cJSON *lab, *it;
	cJSON *filters;
	char *dec, want[128];
	bool found = false;

	snprintf(want, sizeof(want), "jobcell.site=%s", site ? site : "");
	assert_string_equal(r->path, "/volumes");
	assert_int_equal(strncmp(r->query, "filters=", 8), 0);
	dec = url_decode(r->query + 8);
	filters = cJSON_Parse(dec);
	assert_true(cJSON_IsObject(filters));
	assert_int_equal(cJSON_GetArraySize(filters), 1);
	lab = cJSON_GetObjectItemCaseSensitive(filters, "label");
	assert_true(cJSON_IsArray(lab));
	assert_true(cJSON_GetArraySize(lab) >= 1);
	cJSON_ArrayForEach(it, lab)
	{
		assert_true(cJSON_IsString(it));
		if (!strcmp(it->valuestring, site ? want : "jobcell.managed=true"))
			found = true;
		else if (strcmp(it->valuestring, "jobcell.managed=true") != 0)
			fail_msg("unexpected label filter `%s`", it->valuestring);
	}
	if (!found)
		fail_msg("volume list filters `%s` lack `%s`", dec,
			 site ? want : "jobcell.managed=true");
	cJSON_Delete(filters);
	free(dec);
}

static void test_list_filters_and_parses(void **state)
{
	struct fixture *f = *state;
	struct jc_volume_list l = { 0 };
	const struct jc_volume *v;
	jc_error err = { 0 };

	fake_engine_add_volume(f->fe, "a1",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s1\","
			       "\"jobcell.tenant\":\"T\",\"jobcell.run\":\"R\",\"jobcell.job\":"
			       "\"j\",\"jobcell.created\":\"17\",\"jobcell.nonce\":"
			       "\"00112233aabbccdd\",\"jobcell.supervisor\":\"ab/1/2/3\","
			       "\"jobcell.keep\":\"true\"}");
	fake_engine_add_volume(f->fe, "a2",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s1\"}");
	fake_engine_add_volume(f->fe, "b1",
			       "{\"jobcell.managed\":\"true\",\"jobcell.site\":\"s2\"}");
	fake_engine_add_volume(f->fe, "c1", "{\"jobcell.site\":\"s1\"}");
	fake_engine_add_volume(f->fe, "d1",
			       "{\"jobcell.managed\":\"false\",\"jobcell.site\":\"s1\"}");

	assert_int_equal(jc_backend_volume_list(f->e, "s1", &l, &err), 0);
	assert_list_filter(f->fe, 0, "s1");
	assert_int_equal(l.n, 2);
	assert_non_null(v = find_vol(&l, "a1"));
	assert_true(v->labels.managed);
	assert_true(v->labels.keep);
	assert_string_equal(v->labels.site, "s1");
	assert_string_equal(v->labels.tenant, "T");
	assert_string_equal(v->labels.run, "R");
	assert_string_equal(v->labels.job, "j");
	assert_string_equal(v->labels.created, "17");
	assert_string_equal(v->labels.nonce, "00112233aabbccdd");
	assert_string_equal(v->labels.supervisor, "ab/1/2/3");
	assert_non_null(v->created_at);
	assert_non_null(v = find_vol(&l, "a2"));
	assert_true(v->labels.managed);
	assert_false(v->labels.keep);
	assert_null(v->labels.tenant);
	assert_null(v->labels.supervisor);
	jc_volume_list_free(&l);

	/* every site */
	assert_int_equal(jc_backend_volume_list(f->e, NULL, &l, &err), 0);
	assert_list_filter(f->fe, 1, NULL);
	assert_int_equal(l.n, 3);
	assert_non_null(find_vol(&l, "b1"));
	jc_volume_list_free(&l);

	/* an answer that is not JSON */
	fake_engine_fail(f->fe, "GET", "/volumes", FAKE_FAULT_MALFORMED, 0, NULL, 1);
	assert_int_equal(jc_backend_volume_list(f->e, "s1", &l, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, EBADMSG);
	assert_msg(&err, "list volumes");
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	jc_error_clear(&err);

	/* an engine error keeps the engine's message */
	fake_engine_fail(f->fe, "GET", "/volumes", FAKE_FAULT_STATUS, 500, "volume store broken",
			 1);
	assert_int_equal(jc_backend_volume_list(f->e, "s1", &l, &err), -1);
	assert_string_equal(err.msg, "list volumes `s1`: engine said 500: volume store broken");
	jc_error_clear(&err);
}

/* ---- transfers ---- */

static void write_file(int dfd, const char *name, const void *data, size_t len, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	assert_true(fd >= 0);
	while (len) {
		ssize_t n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int open_dir(const char *base, const char *rel)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void make_dir(const char *base, const char *rel, mode_t mode)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, mode), 0);
}

#define BIG_SIZE ((size_t)(1 << 20) + 123)

static char *pattern(size_t n)
{
	char *b = malloc(n);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (char)(unsigned char)(i % 256);
	return b;
}

struct transfer {
	char *id;
	int base_fd;
	struct jc_input in[3];
	size_t n;
	uint64_t progress;
	size_t progress_calls;
};

static void on_progress(void *ctx, uint64_t bytes)
{
	struct transfer *t = ctx;

	assert_true(bytes >= t->progress);
	t->progress = bytes;
	t->progress_calls++;
}

/* A container "xfer", and inputs data.bin (BIG_SIZE bytes of every byte
 * value) and d:in/d (d/top.txt, d/sub/f 0640). */
static void transfer_setup(struct fixture *f, struct transfer *t)
{
	char *big = pattern(BIG_SIZE);
	jc_error err = { 0 };
	int d;

	memset(t, 0, sizeof(*t));
	assert_int_equal(
	    jc_docker_create_json(f->e, "xfer", "{\"Image\":\"img\"}", &t->id, &err), 0);
	make_dir(f->tmp, "in", 0755);
	t->base_fd = open_dir(f->tmp, "in");
	write_file(t->base_fd, "data.bin", big, BIG_SIZE, 0644);
	free(big);
	make_dir(f->tmp, "in/d", 0755);
	make_dir(f->tmp, "in/d/sub", 0750);
	d = open_dir(f->tmp, "in/d");
	write_file(d, "top.txt", "top", 3, 0644);
	write_file(d, "sub/f", "hello\n", 6, 0640);
	close(d);
	assert_int_equal(jc_input_open("data.bin", t->base_fd, &t->in[0], &err), 0);
	assert_int_equal(jc_input_open("d:in/d", t->base_fd, &t->in[1], &err), 0);
	t->n = 2;
	fake_engine_reset_requests(f->fe);
}

static void transfer_teardown(struct transfer *t)
{
	for (size_t i = 0; i < t->n; i++)
		jc_input_close(&t->in[i]);
	close(t->base_fd);
	free(t->id);
}

struct member {
	char *name;
	mode_t type;
	unsigned perm;
	int64_t uid, gid;
	bool unamed;
	char *data;
	size_t len;
};

static size_t read_members(const void *buf, size_t len, struct member *m, size_t max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;
	int r;

	assert_non_null(a);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, buf, len), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		size_t size = (size_t)archive_entry_size(e), got = 0;
		assert_true(n < max);
		m[n].name = strdup(archive_entry_pathname(e));
		m[n].type = archive_entry_filetype(e);
		m[n].perm = (unsigned)archive_entry_mode(e) & 07777;
		m[n].uid = archive_entry_uid(e);
		m[n].gid = archive_entry_gid(e);
		m[n].unamed = (archive_entry_uname(e) && *archive_entry_uname(e)) ||
			      (archive_entry_gname(e) && *archive_entry_gname(e));
		m[n].data = malloc(size + 1);
		assert_non_null(m[n].data);
		while (got < size) {
			la_ssize_t k = archive_read_data(a, m[n].data + got, size - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		m[n].len = size;
		n++;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	return n;
}

static const struct member *find_member(const struct member *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	fail_msg("no member `%s` in the stream", name);
	return NULL;
}

/* A transfer container sets every label of jobcell's, "" where it has no
 * value: an image's labels, merged in by the engine, set none of them. */
static void test_transfer_labels_leave_the_image_nothing(void **state)
{
	static const char vol[] = "tenant-a-run-r-1000000000000-0000cafe";
	struct fixture *f = *state;
	struct jc_inspect in = { 0 };
	jc_error err = { 0 };
	char *id = NULL;
	cJSON *b;

	fake_engine_set_image_labels(f->fe, "img",
				     "{\"jobcell.keep\":\"true\",\"jobcell.job\":\"x\","
				     "\"jobcell.nonce\":\"00\",\"jobcell.tenant\":\"t\"}",
				     false);
	fake_engine_add_volume(f->fe, vol, NULL);
	assert_int_equal(jc_transfer_open(f->e, "img", NULL, vol, "s", "boot/1/2/3", 1700000601, &id,
					  &err),
			 0);
	b = cJSON_Parse(nth_request(f->fe, "POST", "/containers/create", 0)->body);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "Labels")),
			 JC_LABELS_MAX);
	cJSON_Delete(b);
	assert_int_equal(jc_backend_inspect(f->e, id, &in, &err), 0);
	assert_string_equal(in.labels.role, "transfer");
	assert_string_equal(in.labels.volume, vol);
	assert_string_equal(in.labels.supervisor, "boot/1/2/3");
	assert_string_equal(in.labels.deadline, "1700000601");
	assert_null(in.labels.job);
	assert_null(in.labels.tenant);
	assert_null(in.labels.nonce);
	assert_false(in.labels.keep);
	jc_inspect_free(&in);
	free(id);
}

static void test_put_streams_inputs_into_the_container(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		mode_t type;
		unsigned perm;
	} want[] = {
		{ "v/", AE_IFDIR, 0700 },
		{ "v/data.bin", AE_IFREG, 0644 },
		{ "v/in/", AE_IFDIR, 0755 },
		{ "v/in/d/", AE_IFDIR, 0755 },
		{ "v/in/d/top.txt", AE_IFREG, 0644 },
		{ "v/in/d/sub/", AE_IFDIR, 0750 },
		{ "v/in/d/sub/f", AE_IFREG, 0640 },
	};
	struct jc_tar_opts o = { .root = "v", .root_mode = 0700, .uid = 65532, .gid = 65532 };
	struct transfer t;
	struct member m[16];
	const struct member *x;
	const struct fake_request *rq;
	char path[128];
	jc_error err = { 0 };
	const void *body;
	size_t len, n;
	char *big;

	transfer_setup(f, &t);
	assert_int_equal(
	    jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, t.n, on_progress, &t, &err), 0);
	assert_null(err.msg);
	/* one PUT, to the archive of that container at path "/" (the fake
	 * refuses any Content-Type but application/x-tar) */
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/"), 1);
	rq = fake_engine_find(f->fe, "PUT", "/containers/");
	snprintf(path, sizeof(path), "/containers/%s/archive", t.id);
	assert_string_equal(rq->path, path);
	assert_string_equal(rq->query, "path=%2F");
	/* every byte was reported moved (curl counts the chunked framing too) */
	assert_true(t.progress_calls > 0);
	assert_true(t.progress >= rq->body_len && t.progress < rq->body_len + 4096);

	body = fake_engine_archive_put(f->fe, t.id, "/", &len);
	assert_non_null(body);
	n = read_members(body, len, m, 16);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_string_equal(m[0].name, "v/");
	for (size_t i = 0; i < n; i++) {
		x = find_member(m, n, want[i].name);
		assert_int_equal(x->type, want[i].type);
		if (x->perm != want[i].perm)
			fail_msg("`%s`: mode %04o, want %04o", x->name, x->perm, want[i].perm);
		assert_int_equal(x->uid, 65532);
		assert_int_equal(x->gid, 65532);
		assert_false(x->unamed);
		/* a directory comes before what it holds */
		for (size_t k = 0; k < n; k++) {
			size_t pl = strlen(m[k].name);
			if (m[k].type == AE_IFDIR && k > i && pl < strlen(m[i].name) &&
			    !strncmp(m[i].name, m[k].name, pl))
				fail_msg("`%s` comes before its directory `%s`", m[i].name,
					 m[k].name);
		}
	}
	big = pattern(BIG_SIZE);
	x = find_member(m, n, "v/data.bin");
	assert_int_equal(x->len, BIG_SIZE);
	assert_memory_equal(x->data, big, BIG_SIZE);
	free(big);
	x = find_member(m, n, "v/in/d/sub/f");
	assert_int_equal(x->len, 6);
	assert_memory_equal(x->data, "hello\n", 6);
	x = find_member(m, n, "v/in/d/top.txt");
	assert_int_equal(x->len, 3);
	assert_memory_equal(x->data, "top", 3);
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].data);
	}
	transfer_teardown(&t);
}

static void test_put_engine_faults(void **state)
{
	struct fixture *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0700, .uid = 65532, .gid = 65532 };
	static const enum fake_fault lost[] = { FAKE_FAULT_LOST, FAKE_FAULT_DROP };
	struct transfer t;
	jc_error err = { 0 };

	transfer_setup(f, &t);

	/* no such container: the engine's word, naming it */
	assert_int_equal(
	    jc_transfer_put(f->e, "nosuch", NULL, "/", &o, t.in, t.n, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, ENOENT);
	assert_string_equal(err.msg, "write files into container `nosuch`: engine said 404: No "
				     "such container: nosuch");
	jc_error_clear(&err);

	/* an engine failure keeps the engine's message */
	fake_engine_fail(f->fe, "PUT", "/archive", FAKE_FAULT_STATUS, 500,
			 "no space left on device", 1);
	assert_int_equal(jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, EIO);
	assert_string_equal(err.msg, "write files into container `xfer`: engine said 500: no "
				     "space left on device");
	jc_error_clear(&err);

	/* the answer never comes whole: an error, and the call returns */
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
		fake_engine_fail(f->fe, "PUT", "/archive", lost[i], 0, NULL, 1);
		assert_int_equal(
		    jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err), -1);
		assert_int_equal(err.kind, JC_ERR_ENGINE);
		assert_int_equal(err.status, ECONNRESET);
		assert_msg(&err, "write files into container `xfer`: connection dropped");
		jc_error_clear(&err);
	}
	/* and the connection is usable again afterwards */
	assert_int_equal(jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err),
			 0);
	transfer_teardown(&t);
}

/* The engine is not there: the call fails before reading the stream, the
 * writer (blocked on a full socket buffer, or not yet started) gets an
 * error, never SIGPIPE, and both come back with the engine's reason. */
static void test_put_engine_gone_releases_the_writer(void **state)
{
	struct fixture *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0700, .uid = 1, .gid = 1 };
	struct jc_backend *gone = NULL;
	struct transfer t;
	jc_error err = { 0 };

	transfer_setup(f, &t);
	assert_int_equal(test_docker_open("unix:///nonexistent/jobcell-test.sock", 1000, &gone, &err),
			 0);
	assert_int_equal(jc_transfer_put(gone, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, ECONNREFUSED);
	assert_msg(&err, "write files into container `xfer`: engine is not answering");
	jc_error_clear(&err);
	jc_backend_close(gone);
	transfer_teardown(&t);
}

/* An engine that hangs up mid-upload: it takes the request and 64 KiB of
 * body, then closes with the rest unread. */
struct hangup {
	int lfd;
	char path[300];
	pthread_t t;
};

static void *hangup_serve(void *arg)
{
	struct hangup *h = arg;
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int c = accept(h->lfd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (got < 64 * 1024 && (n = read(c, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	close(c);
	return NULL;
}

static void hangup_start(struct hangup *h, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(h->path, sizeof(h->path), "%s/hangup.sock", dir);
	assert_true(strlen(h->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, h->path, strlen(h->path) + 1);
	h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(h->lfd >= 0);
	assert_int_equal(bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(h->lfd, 4), 0);
	assert_int_equal(pthread_create(&h->t, NULL, hangup_serve, h), 0);
}

/* The writer is blocked on a full stream when the engine call fails and
 * our end closes with its data unread: the writer's ECONNRESET only echoes
 * the engine's failure, which is the error. */
static void test_put_engine_hangs_up_mid_upload(void **state)
{
	struct fixture *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0700, .uid = 1, .gid = 1 };
	struct jc_backend *e = NULL;
	struct hangup h;
	struct transfer t;
	jc_error err = { 0 };
	char ep[320], msg[400];
	int rc;

	transfer_setup(f, &t);
	hangup_start(&h, f->tmp);
	snprintf(ep, sizeof(ep), "unix://%s", h.path);
	assert_int_equal(test_docker_open(ep, 2000, &e, &err), 0);
	rc = jc_transfer_put(e, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err);
	pthread_join(h.t, NULL);
	close(h.lfd);
	jc_backend_close(e);
	transfer_teardown(&t);
	assert_int_equal(rc, -1);
	assert_non_null(err.msg);
	if (err.kind != JC_ERR_ENGINE) {
		snprintf(msg, sizeof(msg), "%s", err.msg);
		jc_error_clear(&err);
		fail_msg("the writer's echo hid the engine's failure: %s", msg);
	}
	assert_msg(&err, "write files into container `xfer`: connection dropped");
	jc_error_clear(&err);
}

/* An input the writer refuses halfway (a fifo inside a directory, after a
 * megabyte of other inputs): the writer's reason is the error, and the
 * upload is aborted rather than ended, so the engine never takes the cut
 * archive for a whole one. */
static void test_put_bad_input_is_the_error(void **state)
{
	struct fixture *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0700, .uid = 1, .gid = 1 };
	struct transfer t;
	jc_error err = { 0 };
	char p[600];

	transfer_setup(f, &t);
	make_dir(f->tmp, "in/q", 0755);
	snprintf(p, sizeof(p), "%s/in/q/pipe", f->tmp);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(jc_input_open("q", t.base_fd, &t.in[2], &err), 0);
	t.n = 3;
	assert_int_equal(jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.kind, JC_ERR_INPUT);
	assert_msg(&err, "`q/pipe` is a fifo");
	jc_error_clear(&err);
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/"), 0);
	assert_null(fake_engine_archive_put(f->fe, t.id, "/", NULL));
	/* without the bad input it goes through, on the same engine handle */
	assert_int_equal(jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, 2, NULL, NULL, &err),
			 0);
	assert_int_equal(fake_engine_count(f->fe, "PUT", "/"), 1);
	assert_non_null(fake_engine_archive_put(f->fe, t.id, "/", NULL));
	transfer_teardown(&t);
}

/* ---- fetching ---- */

struct tbuf {
	char *data;
	size_t len;
};

static la_ssize_t tbuf_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct tbuf *b = ctx;
	char *d = realloc(b->data, b->len + len);

	(void)a;
	assert_non_null(d);
	memcpy(d + b->len, buf, len);
	b->data = d;
	b->len += len;
	return (la_ssize_t)len;
}

struct tar_member {
	const char *name;
	mode_t type;
	unsigned mode;
	const char *data;
	size_t len;
	const char *link; /* symlink target, or hard link target for AE_IFREG */
};

static void build_tar(const struct tar_member *m, size_t n, struct tbuf *out)
{
	struct archive *a = archive_write_new();

	memset(out, 0, sizeof(*out));
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, out, NULL, tbuf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, m[i].type);
		archive_entry_set_perm(e, m[i].mode);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (m[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, m[i].link);
		else if (m[i].link)
			archive_entry_set_hardlink(e, m[i].link);
		if (m[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, m[i].type == AE_IFREG && !m[i].link ? (la_int64_t)m[i].len
									      : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].type == AE_IFREG && !m[i].link && m[i].len)
			assert_int_equal(archive_write_data(a, m[i].data, m[i].len),
					 (la_ssize_t)m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void assert_file(int dfd, const char *name, const char *data, size_t len)
{
	char buf[256];
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		fail_msg("`%s` was not extracted: %s", name, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, data, len);
}

static void assert_reason(const struct jc_extract_report *rep, const char *name, const char *why)
{
	char want[400];

	snprintf(want, sizeof(want), "`%s`: %s", name, why);
	for (size_t i = 0; i < rep->reasons.n; i++)
		if (strstr(rep->reasons.v[i], want))
			return;
	fail_msg("no refusal `%s` among %zu reasons", want, rep->reasons.n);
}

/* Names in directory `path`, sorted and joined with ','. */
static void list_dir(const char *path, char *out, size_t cap)
{
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, alphasort);
	size_t off = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
			off += (size_t)snprintf(out + off, off < cap ? cap - off : 0, "%s%s",
						off ? "," : "", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
}

static void test_get_extracts_a_hostile_tar_safely(void **state)
{
	struct fixture *f = *state;
	static const char ok[] = "all is well\n";
	char outside[400], escape_abs[500], top[400], dest[420], names[400];
	struct tbuf tar;
	struct jc_extract_report rep = { 0 };
	jc_error err = { 0 };
	struct stat st;
	char *id = NULL;
	int dfd;

	snprintf(top, sizeof(top), "%s/out", f->tmp);
	snprintf(dest, sizeof(dest), "%s/dest", top);
	snprintf(outside, sizeof(outside), "%s", top);
	snprintf(escape_abs, sizeof(escape_abs), "%s/abs", top);
	{
		const struct tar_member m[] = {
			{ "ok.txt", AE_IFREG, 0644, ok, sizeof(ok) - 1, NULL },
			{ "../evil", AE_IFREG, 0644, "x", 1, NULL },
			{ escape_abs, AE_IFREG, 0644, "x", 1, NULL },
			{ "sub/", AE_IFDIR, 0755, NULL, 0, NULL },
			{ "sub/f", AE_IFREG, 0600, "f\n", 2, NULL },
			/* a link out, then a member through it */
			{ "lnk", AE_IFLNK, 0777, NULL, 0, outside },
			{ "lnk/passwd", AE_IFREG, 0644, "root::0:0\n", 10, NULL },
			{ "etc", AE_IFLNK, 0777, NULL, 0, "/etc" },
			/* a link that stays inside is kept; nothing is written through it */
			{ "ilnk", AE_IFLNK, 0777, NULL, 0, "sub" },
			{ "ilnk/x", AE_IFREG, 0644, "x", 1, NULL },
			/* links that climb when chained: `dot -> .`, `up -> dot/..` */
			{ "dot", AE_IFLNK, 0777, NULL, 0, "." },
			{ "up", AE_IFLNK, 0777, NULL, 0, "dot/.." },
			{ "up/escaped", AE_IFREG, 0644, "x", 1, NULL },
			{ "hl", AE_IFREG, 0644, NULL, 0, "../x" },
			{ "hlok", AE_IFREG, 0644, NULL, 0, "ok.txt" },
			{ "fifo", AE_IFIFO, 0644, NULL, 0, NULL },
			{ "null", AE_IFCHR, 0666, NULL, 0, NULL },
			{ "suid", AE_IFREG, 04755, "#!/bin/sh\n", 10, NULL },
		};
		build_tar(m, sizeof(m) / sizeof(m[0]), &tar);
	}
	assert_int_equal(mkdir(top, 0700), 0);
	assert_int_equal(mkdir(dest, 0700), 0);
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(jc_docker_create_json(f->e, "xfer", "{\"Image\":\"img\"}", &id, &err), 0);
	fake_engine_set_archive(f->fe, "/v", tar.data, tar.len);

	assert_int_equal(jc_transfer_get(f->e, id, "xfer", "/v", dfd, NULL, &rep, NULL, NULL, &err),
			 0);
	assert_null(err.msg);
	/* what may be written, is */
	assert_file(dfd, "ok.txt", ok, sizeof(ok) - 1);
	assert_file(dfd, "sub/f", "f\n", 2);
	assert_file(dfd, "hlok", ok, sizeof(ok) - 1);
	assert_file(dfd, "suid", "#!/bin/sh\n", 10);
	assert_int_equal(fstatat(dfd, "suid", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(fstatat(dfd, "sub", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fstatat(dfd, "ilnk", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* "lnk/passwd" went into a real directory "lnk", not through a link */
	assert_int_equal(fstatat(dfd, "lnk", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_file(dfd, "lnk/passwd", "root::0:0\n", 10);
	/* nothing through the inner link, no fifo or device, no outer links */
	assert_int_equal(fstatat(dfd, "sub/x", &st, AT_SYMLINK_NOFOLLOW), -1);
	list_dir(dest, names, sizeof(names));
	assert_string_equal(names, "dot,hlok,ilnk,lnk,ok.txt,sub,suid,up");
	/* "up/escaped" went into a real directory "up" */
	assert_int_equal(fstatat(dfd, "up", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_file(dfd, "up/escaped", "x", 1);
	/* nothing outside */
	list_dir(top, names, sizeof(names));
	assert_string_equal(names, "dest");

	assert_int_equal(rep.extracted, 9);
	assert_int_equal(rep.refused, 9);
	assert_int_equal(rep.reasons.n, 9);
	assert_reason(&rep, "../evil", "name contains `..`");
	assert_reason(&rep, escape_abs, "absolute name");
	assert_reason(&rep, "lnk", "symlink");
	assert_reason(&rep, "etc", "symlink");
	assert_reason(&rep, "up", "symlink");
	assert_reason(&rep, "ilnk/x", "path passes through a symlink");
	assert_reason(&rep, "hl", "hard link to a name outside the destination");
	assert_reason(&rep, "fifo", "fifo");
	assert_reason(&rep, "null", "device node");
	jc_extract_report_free(&rep);
	close(dfd);
	free(tar.data);
	free(id);
}

static void test_get_failures(void **state)
{
	struct fixture *f = *state;
	char dest[400], names[200];
	struct tbuf tar;
	struct jc_extract_report rep = { 0 };
	jc_error err = { 0 };
	char *id = NULL, *big = pattern(256 * 1024), garbage[8192];
	int dfd;

	{
		const struct tar_member m[] = {
			{ "a.txt", AE_IFREG, 0644, "a", 1, NULL },
			{ "big", AE_IFREG, 0644, big, 256 * 1024, NULL },
			{ "z.txt", AE_IFREG, 0644, "z", 1, NULL },
		};
		build_tar(m, sizeof(m) / sizeof(m[0]), &tar);
	}
	snprintf(dest, sizeof(dest), "%s/dest", f->tmp);
	assert_int_equal(mkdir(dest, 0700), 0);
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(jc_docker_create_json(f->e, "xfer", "{\"Image\":\"img\"}", &id, &err), 0);
	fake_engine_set_archive(f->fe, "/v", tar.data, tar.len);

	/* no such path: the engine's word */
	assert_int_equal(
	    jc_transfer_get(f->e, id, "xfer", "/nope", dfd, NULL, &rep, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, ENOENT);
	assert_msg(&err, "read files from container `xfer`: engine said 404: Could not find the "
			 "file /nope in container ");
	jc_error_clear(&err);
	jc_extract_report_free(&rep);

	/* half the stream, then the connection closes: never a quiet success */
	fake_engine_fail(f->fe, "GET", "/archive", FAKE_FAULT_DROP, 0, NULL, 1);
	assert_int_equal(jc_transfer_get(f->e, id, "xfer", "/v", dfd, NULL, &rep, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, ECONNRESET);
	assert_msg(&err, "read files from container `xfer`: connection dropped");
	jc_error_clear(&err);
	jc_extract_report_free(&rep);
	list_dir(dest, names, sizeof(names));
	assert_null(strstr(names, "z.txt"));

	/* not a tar at all */
	memset(garbage, 'x', sizeof(garbage));
	fake_engine_set_archive(f->fe, "/g", garbage, sizeof(garbage));
	assert_int_equal(jc_transfer_get(f->e, id, "xfer", "/g", dfd, NULL, &rep, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.status, EBADMSG);
	assert_msg(&err, "extract files from `xfer`: read archive");
	jc_error_clear(&err);
	jc_extract_report_free(&rep);

	/* the whole stream, at last, with its progress */
	{
		struct transfer t = { 0 };
		assert_int_equal(
		    jc_transfer_get(f->e, id, "xfer", "/v", dfd, NULL, &rep, on_progress, &t, &err),
		    0);
		assert_int_equal(rep.extracted, 3);
		assert_int_equal(rep.refused, 0);
		assert_int_equal(t.progress, tar.len);
		assert_file(dfd, "z.txt", "z", 1);
		jc_extract_report_free(&rep);
	}
	close(dfd);
	free(tar.data);
	free(big);
	free(id);
}

/* A limit stops the transfer itself: the extraction stops reading, so
 * libcurl's next write fails and the GET is aborted long before the 16 MiB
 * the engine would send; the limit's own error comes back, nothing else. */
static void test_get_limit_aborts_the_transfer(void **state)
{
	struct fixture *f = *state;
	const size_t size = 16u << 20;
	struct jc_extract_limits lim = { .max_bytes = 64 * 1024 };
	struct jc_extract_report rep = { 0 };
	struct transfer t = { 0 };
	jc_error err = { 0 };
	char dest[400], names[200];
	char *id = NULL, *big = pattern(size);
	struct tbuf tar;
	int dfd;

	{
		const struct tar_member m[] = { { "big", AE_IFREG, 0644, big, size, NULL } };
		build_tar(m, 1, &tar);
	}
	snprintf(dest, sizeof(dest), "%s/dest", f->tmp);
	assert_int_equal(mkdir(dest, 0700), 0);
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(jc_docker_create_json(f->e, "xfer", "{\"Image\":\"img\"}", &id, &err), 0);
	fake_engine_set_archive(f->fe, "/v", tar.data, tar.len);
	assert_int_equal(
	    jc_transfer_get(f->e, id, "xfer", "/v", dfd, &lim, &rep, on_progress, &t, &err), -1);
	assert_string_equal(err.msg, "more than 65536 bytes ([output] max_bytes)");
	assert_true(rep.cut);
	if (t.progress >= tar.len / 2)
		fail_msg("the transfer went on: %llu of %zu bytes received",
			 (unsigned long long)t.progress, tar.len);
	list_dir(dest, names, sizeof(names));
	assert_string_equal(names, "");
	jc_error_clear(&err);
	jc_extract_report_free(&rep);
	jc_extract_limits_free(&lim);
	close(dfd);
	free(tar.data);
	free(big);
	free(id);
}

/* ---- supervisor liveness ---- */

/* `self` with its last two fields replaced by pid/start. Caller frees. */
static char *with_pid(const char *self, long pid, const char *start)
{
	const char *p = strrchr(self, '/');
	char *s = NULL;

	assert_non_null(p);
	while (p > self && p[-1] != '/')
		p--;
	assert_true(p > self);
	assert_true(asprintf(&s, "%.*s%ld/%s", (int)(p - self), self, pid, start) > 0);
	return s;
}

static pid_t reaped_child(void)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

/* Field 22 of /proc/self/stat (starttime), counted independently of the
 * library: the fields after the command's closing ')' start at 3. */
static unsigned long long my_start_time(void)
{
	char buf[1024], *p, *save = NULL;
	FILE *fp = fopen("/proc/self/stat", "r");
	size_t n;
	int field = 3;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_non_null(p = strrchr(buf, ')'));
	for (p = strtok_r(p + 1, " ", &save); p && field < 22; p = strtok_r(NULL, " ", &save))
		field++;
	assert_non_null(p);
	return strtoull(p, NULL, 10);
}

static void test_supervisor_liveness(void **state)
{
	char *self = NULL, *s, *start, want[64];
	jc_error err = { 0 };
	char other_boot[200];
	const char *slash;
	void *grow;
	(void)state;

	assert_int_equal(jc_supervisor_self(&self, &err), 0);
	assert_int_equal(jc_supervisor_check(self, &err), 0);
	assert_int_equal(jc_supervisor_liveness(self), JC_SUPERVISOR_ALIVE);
	start = strrchr(self, '/') + 1;
	/* the process's start time, not a field that changes as it runs */
	snprintf(want, sizeof(want), "%llu", my_start_time());
	if (strcmp(start, want) != 0)
		fail_msg("supervisor `%s` ends in `%s`; the start time is %s", self, start, want);
	/* still alive after it grew (vsize, field 23, moved) */
	grow = mmap(NULL, 64 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(grow != MAP_FAILED);
	assert_int_equal(jc_supervisor_liveness(self), JC_SUPERVISOR_ALIVE);
	munmap(grow, 64 << 20);

	/* our pid in our fields */
	s = with_pid(self, (long)getpid(), start);
	assert_string_equal(s, self);
	free(s);
	/* a child that is gone */
	s = with_pid(self, (long)reaped_child(), start);
	assert_int_equal(jc_supervisor_liveness(s), JC_SUPERVISOR_DEAD);
	free(s);
	/* this pid, another start time: an earlier holder of the pid */
	s = with_pid(self, (long)getpid(), "1");
	assert_int_equal(jc_supervisor_liveness(s), JC_SUPERVISOR_DEAD);
	free(s);
	/* another boot: elsewhere, cannot tell */
	slash = strchr(self, '/');
	assert_non_null(slash);
	snprintf(other_boot, sizeof(other_boot), "00000000-0000-0000-0000-000000000000%s", slash);
	assert_string_not_equal(other_boot, self);
	assert_int_equal(jc_supervisor_liveness(other_boot), JC_SUPERVISOR_ELSEWHERE);
	/* another pid namespace: elsewhere too */
	snprintf(other_boot, sizeof(other_boot), "%.*s/1/%d/%s", (int)(slash - self), self,
		 (int)getpid(), start);
	assert_int_equal(jc_supervisor_liveness(other_boot), JC_SUPERVISOR_ELSEWHERE);
	/* garbage names no process anywhere: unknown, never "elsewhere", which
	 * --others-gone would collect */
	assert_int_equal(jc_supervisor_liveness("0/1/2"), JC_SUPERVISOR_UNKNOWN);
	assert_int_equal(jc_supervisor_liveness("0/1/2/3/4"), JC_SUPERVISOR_UNKNOWN);
	assert_int_equal(jc_supervisor_liveness("ab/1//3"), JC_SUPERVISOR_UNKNOWN);
	assert_int_equal(jc_supervisor_liveness("garbage"), JC_SUPERVISOR_UNKNOWN);
	assert_int_equal(jc_supervisor_liveness(""), JC_SUPERVISOR_UNKNOWN);
	assert_int_equal(jc_supervisor_liveness(NULL), JC_SUPERVISOR_UNKNOWN);
	s = with_pid(self, 0, "5");
	assert_int_equal(jc_supervisor_liveness(s), JC_SUPERVISOR_UNKNOWN);
	free(s);
	s = with_pid(self, -3, "5");
	assert_int_equal(jc_supervisor_liveness(s), JC_SUPERVISOR_UNKNOWN);
	free(s);
	s = with_pid(self, (long)getpid(), "x");
	assert_int_equal(jc_supervisor_liveness(s), JC_SUPERVISOR_UNKNOWN);
	free(s);
	free(self);
}

/* ---- gc ---- */

struct seen {
	char kind[16], name[64], why[400];
	bool removed;
};

struct gc_log {
	struct seen items[32];
	size_t n;
};

static void on_gc(void *ctx, const struct jc_gc_item *it)
{
	struct gc_log *l = ctx;
	struct seen *s;

	assert_true(l->n < 32);
	s = &l->items[l->n++];
	snprintf(s->kind, sizeof(s->kind), "%s", it->kind);
	snprintf(s->name, sizeof(s->name), "%s", it->name);
	snprintf(s->why, sizeof(s->why), "%s", it->why ? it->why : "");
	s->removed = it->removed;
}

static const struct seen *seen(const struct gc_log *l, const char *kind, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].kind, kind) && !strcmp(l->items[i].name, name))
			return &l->items[i];
	return NULL;
}

static void assert_seen(const struct gc_log *l, const char *kind, const char *name, bool removed,
			const char *why)
{
	const struct seen *s = seen(l, kind, name);

	if (!s)
		fail_msg("gc did not report %s `%s`", kind, name);
	if (s->removed != removed || !strstr(s->why, why))
		fail_msg("gc: %s `%s`: removed=%d why `%s`; want removed=%d why `%s`", kind, name,
			 s->removed, s->why, removed, why);
}

struct gc_world {
	char *dead, *alive, *unknown;
	char old[32], young[32];
};

static void gc_container_dl(struct fixture *f, const char *name, const char *site,
			    const char *created, const char *sup, const char *mount,
			    const char *deadline)
{
	cJSON *b = cJSON_CreateObject(), *l;
	jc_error err = { 0 };
	char *json, *id = NULL;

	assert_non_null(cJSON_AddStringToObject(b, "Image", "img"));
	assert_non_null(l = cJSON_AddObjectToObject(b, "Labels"));
	assert_non_null(cJSON_AddStringToObject(l, "jobcell.managed", "true"));
	assert_non_null(cJSON_AddStringToObject(l, "jobcell.site", site));
	if (created)
		assert_non_null(cJSON_AddStringToObject(l, "jobcell.created", created));
	if (sup)
		assert_non_null(cJSON_AddStringToObject(l, "jobcell.supervisor", sup));
	if (deadline)
		assert_non_null(cJSON_AddStringToObject(l, "jobcell.deadline", deadline));
	if (mount) {
		cJSON *hc = cJSON_AddObjectToObject(b, "HostConfig");
		cJSON *ms = cJSON_AddArrayToObject(hc, "Mounts"), *m = cJSON_CreateObject();
		assert_true(cJSON_AddItemToArray(ms, m));
		assert_non_null(cJSON_AddStringToObject(m, "Type", "volume"));
		assert_non_null(cJSON_AddStringToObject(m, "Source", mount));
		assert_non_null(cJSON_AddStringToObject(m, "Target", "/v"));
	}
	assert_non_null(json = cJSON_PrintUnformatted(b));
	assert_int_equal(jc_docker_create_json(f->e, name, json, &id, &err), 0);
	free(id);
	free(json);
	cJSON_Delete(b);
}

static void gc_container(struct fixture *f, const char *name, const char *site, const char *created,
			 const char *sup, const char *mount)
{
	gc_container_dl(f, name, site, created, sup, mount, NULL);
}

static void gc_volume_dl(struct fixture *f, const char *name, const char *site, const char *created,
			 const char *sup, bool keep, const char *deadline)
{
	cJSON *l = cJSON_CreateObject();
	char *json;

	assert_non_null(cJSON_AddStringToObject(l, "jobcell.managed", "true"));
	assert_non_null(cJSON_AddStringToObject(l, "jobcell.site", site));
	assert_non_null(cJSON_AddStringToObject(l, "jobcell.created", created));
	if (sup)
		assert_non_null(cJSON_AddStringToObject(l, "jobcell.supervisor", sup));
	if (keep)
		assert_non_null(cJSON_AddStringToObject(l, "jobcell.keep", "true"));
	if (deadline)
		assert_non_null(cJSON_AddStringToObject(l, "jobcell.deadline", deadline));
	assert_non_null(json = cJSON_PrintUnformatted(l));
	fake_engine_add_volume(f->fe, name, json);
	free(json);
	cJSON_Delete(l);
}

static void gc_volume(struct fixture *f, const char *name, const char *site, const char *created,
		      const char *sup, bool keep)
{
	gc_volume_dl(f, name, site, created, sup, keep, NULL);
}

static void gc_world_init(struct gc_world *w)
{
	jc_error err = { 0 };
	char *self = NULL;

	assert_int_equal(jc_supervisor_self(&self, &err), 0);
	w->alive = self;
	w->dead = with_pid(self, (long)reaped_child(), "1");
	assert_true(
	    asprintf(&w->unknown, "00000000-0000-0000-0000-000000000000%s", strchr(self, '/')) > 0);
	assert_int_equal(jc_supervisor_liveness(w->dead), JC_SUPERVISOR_DEAD);
	assert_int_equal(jc_supervisor_liveness(w->unknown), JC_SUPERVISOR_ELSEWHERE);
	snprintf(w->old, sizeof(w->old), "%lld", (long long)time(NULL) - 3600);
	snprintf(w->young, sizeof(w->young), "%lld", (long long)time(NULL));
}

static void gc_world_free(struct gc_world *w)
{
	free(w->dead);
	free(w->alive);
	free(w->unknown);
}

/* jc_gc of site "gcs" with a clock skew of 0 and no --others-gone. */
static int run_gc(struct fixture *f, int64_t older_than_ms, bool dry_run, struct gc_log *log,
		  jc_error *err)
{
	const struct jc_gc_opts o = { .older_than_ms = older_than_ms, .dry_run = dry_run };

	return jc_gc(f->e, "gcs", &o, on_gc, log, err);
}

static bool container_exists(struct fixture *f, const char *name)
{
	struct jc_inspect in;
	jc_error err = { 0 };

	if (jc_backend_inspect(f->e, name, &in, &err) == 0) {
		jc_inspect_free(&in);
		return true;
	}
	assert_int_equal(err.status, ENOENT);
	jc_error_clear(&err);
	return false;
}

static void test_gc_removes_only_what_a_dead_jobcell_left(void **state)
{
	struct fixture *f = *state;
	static const char *const containers[] = { "c-dead",  "c-alive", "c-unknown", "c-detached",
						  "c-young", "c-other", "c-undated" };
	static const char *const volumes[] = { "v-dead",  "v-alive", "v-unknown", "v-keep",
					       "v-nosup", "v-young", "v-other" };
	static const char dead_why[] = "its supervising jobcell is gone";
	struct gc_world w;
	struct gc_log log;
	jc_error err = { 0 };
	size_t removed = 0;

	gc_world_init(&w);
	gc_container(f, "c-dead", "gcs", w.old, w.dead, NULL);
	gc_container(f, "c-alive", "gcs", w.old, w.alive, NULL);
	gc_container(f, "c-unknown", "gcs", w.old, w.unknown, NULL);
	gc_container(f, "c-detached", "gcs", w.old, NULL, NULL);
	gc_container(f, "c-young", "gcs", w.young, w.dead, NULL);
	gc_container(f, "c-other", "other", w.old, w.dead, NULL);
	gc_container(f, "c-undated", "gcs", NULL, w.dead, NULL);
	gc_volume(f, "v-dead", "gcs", w.old, w.dead, false);
	gc_volume(f, "v-alive", "gcs", w.old, w.alive, false);
	gc_volume(f, "v-unknown", "gcs", w.old, w.unknown, false);
	gc_volume(f, "v-keep", "gcs", w.old, w.dead, true);
	gc_volume(f, "v-nosup", "gcs", w.old, NULL, false);
	gc_volume(f, "v-young", "gcs", w.young, w.dead, false);
	gc_volume(f, "v-other", "other", w.old, w.dead, false);
	fake_engine_add_volume(f->fe, "v-unmanaged", "{\"jobcell.site\":\"gcs\"}");
	fake_engine_reset_requests(f->fe);

	/* dry run: the decisions, and nothing deleted */
	memset(&log, 0, sizeof(log));
	assert_int_equal(run_gc(f, 60000, true, &log, &err), 0);
	assert_null(err.msg);
	assert_int_equal(log.n, 12);
	assert_seen(&log, "container", "c-dead", true, dead_why);
	assert_seen(&log, "container", "c-undated", false, "no readable jobcell.created label");
	assert_seen(&log, "container", "c-alive", false, "its supervising jobcell is alive");
	assert_seen(&log, "container", "c-unknown", false, "cannot tell");
	assert_seen(&log, "container", "c-detached", false, "started detached");
	assert_seen(&log, "container", "c-young", false, "younger than --older-than");
	assert_seen(&log, "volume", "v-dead", true, dead_why);
	assert_seen(&log, "volume", "v-alive", false, "its supervising jobcell is alive");
	assert_seen(&log, "volume", "v-unknown", false, "cannot tell");
	assert_seen(&log, "volume", "v-keep", false, "kept");
	assert_seen(&log, "volume", "v-nosup", false, "has no supervisor label");
	assert_seen(&log, "volume", "v-young", false, "younger than --older-than");
	assert_null(seen(&log, "container", "c-other"));
	assert_null(seen(&log, "volume", "v-other"));
	assert_null(seen(&log, "volume", "v-unmanaged"));
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 7);
	assert_int_equal(fake_engine_volume_count(f->fe), 8);

	/* older than their age: nothing at all */
	memset(&log, 0, sizeof(log));
	assert_int_equal(run_gc(f, 7200 * 1000, false, &log, &err), 0);
	assert_int_equal(log.n, 12);
	for (size_t i = 0; i < log.n; i++)
		assert_false(log.items[i].removed);
	assert_seen(&log, "container", "c-dead", false, "younger than --older-than");
	assert_seen(&log, "volume", "v-dead", false, "younger than --older-than");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 0);

	/* for real: the dead jobcell's container and volume, nothing else */
	memset(&log, 0, sizeof(log));
	assert_int_equal(run_gc(f, 60000, false, &log, &err), 0);
	assert_null(err.msg);
	for (size_t i = 0; i < log.n; i++)
		removed += log.items[i].removed;
	assert_int_equal(removed, 2);
	assert_seen(&log, "container", "c-dead", true, dead_why);
	assert_seen(&log, "volume", "v-dead", true, dead_why);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 2);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/v-dead"), 1);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/containers/"), 1);
	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		assert_int_equal(container_exists(f, containers[i]), i != 0);
	for (size_t i = 0; i < sizeof(volumes) / sizeof(volumes[0]); i++)
		assert_int_equal(fake_engine_has_volume(f->fe, volumes[i]), i != 0);
	assert_true(fake_engine_has_volume(f->fe, "v-unmanaged"));

	/* no --older-than: the young and the undated dead go too */
	memset(&log, 0, sizeof(log));
	assert_int_equal(run_gc(f, 0, false, &log, &err), 0);
	assert_int_equal(log.n, 10);
	assert_seen(&log, "container", "c-young", true, dead_why);
	assert_seen(&log, "container", "c-undated", true, dead_why);
	assert_seen(&log, "volume", "v-young", true, dead_why);
	assert_seen(&log, "container", "c-alive", false, "alive");
	assert_seen(&log, "volume", "v-keep", false, "kept");
	assert_false(container_exists(f, "c-young"));
	assert_false(container_exists(f, "c-undated"));
	assert_false(fake_engine_has_volume(f->fe, "v-young"));
	assert_int_equal(fake_engine_container_count(f->fe), 4);
	assert_int_equal(fake_engine_volume_count(f->fe), 6);
	gc_world_free(&w);
}

static void test_gc_failures_are_counted_and_the_rest_goes_on(void **state)
{
	struct fixture *f = *state;
	struct gc_world w;
	struct gc_log log = { 0 };
	jc_error err = { 0 };

	gc_world_init(&w);
	/* v-held: a dead jobcell's volume that a live one's container mounts */
	gc_volume(f, "v-held", "gcs", w.old, w.dead, false);
	gc_volume(f, "v-dead", "gcs", w.old, w.dead, false);
	gc_container(f, "c-stuck", "gcs", w.old, w.dead, NULL);
	gc_container(f, "c-holder", "gcs", w.old, w.alive, "v-held");
	gc_container(f, "c-dead", "gcs", w.old, w.dead, NULL);
	fake_engine_reset_requests(f->fe);

	/* the list fails: nothing is judged */
	fake_engine_fail(f->fe, "GET", "/containers/json", FAKE_FAULT_STATUS, 500, "list broken",
			 1);
	assert_int_equal(run_gc(f, 0, false, &log, &err), -1);
	assert_msg(&err, "list containers `gcs`: engine said 500: list broken");
	assert_int_equal(log.n, 0);
	jc_error_clear(&err);

	/* gc removes by id: c-stuck's removal fails for good */
	{
		struct jc_inspect in;
		assert_int_equal(jc_backend_inspect(f->e, "c-stuck", &in, &err), 0);
		fake_engine_fail(f->fe, "DELETE", in.id, FAKE_FAULT_STATUS, 500, "driver failed",
				 -1);
		jc_inspect_free(&in);
	}
	assert_int_equal(run_gc(f, 0, false, &log, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, EIO);
	assert_msg(&err, "gc: 2 removals failed, the first: remove container `c-stuck`: engine "
			 "said 500: driver failed");
	assert_seen(&log, "container", "c-stuck", false, "driver failed");
	assert_seen(&log, "volume", "v-held", false, "volume is in use");
	/* every other removal still happened */
	assert_seen(&log, "container", "c-dead", true, "its supervising jobcell is gone");
	assert_seen(&log, "volume", "v-dead", true, "its supervising jobcell is gone");
	assert_seen(&log, "container", "c-holder", false, "alive");
	assert_false(container_exists(f, "c-dead"));
	assert_true(container_exists(f, "c-stuck"));
	assert_true(container_exists(f, "c-holder"));
	assert_false(fake_engine_has_volume(f->fe, "v-dead"));
	assert_true(fake_engine_has_volume(f->fe, "v-held"));
	/* in use: tried three times */
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/v-held"), 3);
	jc_error_clear(&err);
	gc_world_free(&w);
}


/* The rule as a pure function: labels, the supervisor's liveness, the
 * time and the options in; remove or keep, and why, out. */
static void test_gc_judge(void **state)
{
	const int64_t now = 1700000000;
	struct {
		struct jc_labels l;
		enum jc_liveness live;
		struct jc_gc_opts o;
		bool remove;
		const char *why;
	} cases[] = {
		/* no deadline: the supervisor label decides */
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_DEAD, { 0 }, true, "gone" },
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_ALIVE, { 0 }, false, "alive" },
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_UNKNOWN, { 0 }, false,
		  "cannot be read here: cannot tell" },
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_ELSEWHERE, { 0 }, false,
		  "another pid namespace, boot or host: cannot tell" },
		{ { .created = "1" }, JC_SUPERVISOR_UNKNOWN, { 0 }, false, "started detached" },
		/* --others-gone: elsewhere counts as dead, nothing else changes */
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_ELSEWHERE,
		  { .others_gone = true }, true, "--others-gone says it is gone" },
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_UNKNOWN,
		  { .others_gone = true }, false, "cannot tell" },
		{ { .created = "1", .supervisor = "s" }, JC_SUPERVISOR_ALIVE,
		  { .others_gone = true }, false, "alive" },
		{ { .created = "1" }, JC_SUPERVISOR_UNKNOWN, { .others_gone = true }, false,
		  "started detached" },
		{ { .created = "1", .supervisor = "s", .keep = true }, JC_SUPERVISOR_ELSEWHERE,
		  { .others_gone = true }, false, "kept" },
		/* a deadline passed: removed whoever made it */
		{ { .created = "1", .deadline = "1699999999" }, JC_SUPERVISOR_UNKNOWN, { 0 }, true,
		  "past its deadline 2023-11-14T22:13:19Z" },
		{ { .created = "1", .supervisor = "s", .deadline = "1699999999" },
		  JC_SUPERVISOR_ELSEWHERE, { 0 }, true, "past its deadline" },
		{ { .created = "1", .supervisor = "s", .deadline = "1699999999" },
		  JC_SUPERVISOR_ALIVE, { 0 }, true, "past its deadline" },
		/* ... but only past deadline + clock_skew, rounded up to seconds */
		{ { .created = "1", .deadline = "1699999999" }, JC_SUPERVISOR_UNKNOWN,
		  { .clock_skew_ms = 1000 }, false, "its caller removes it; past 2023-11-14T22:13:19Z gc" },
		{ { .created = "1", .deadline = "1699999998" }, JC_SUPERVISOR_UNKNOWN,
		  { .clock_skew_ms = 1001 }, false, "started detached" },
		{ { .created = "1", .deadline = "1699999997" }, JC_SUPERVISOR_UNKNOWN,
		  { .clock_skew_ms = 1001 }, true, "past its deadline" },
		{ { .created = "1", .deadline = "1700000000" }, JC_SUPERVISOR_UNKNOWN, { 0 }, false,
		  "started detached" },
		/* a deadline ahead: judged as without, the deadline said */
		{ { .created = "1", .supervisor = "s", .deadline = "1700000060" },
		  JC_SUPERVISOR_ELSEWHERE, { 0 }, false,
		  "cannot tell; past 2023-11-14T22:14:20Z gc removes it" },
		{ { .created = "1", .supervisor = "s", .deadline = "1700000060" },
		  JC_SUPERVISOR_DEAD, { 0 }, true, "its supervising jobcell is gone" },
		/* a kept volume: never, deadline or not */
		{ { .created = "1", .deadline = "5", .keep = true }, JC_SUPERVISOR_UNKNOWN, { 0 },
		  false, "kept (--keep or volume create)" },
		/* --older-than goes first */
		{ { .created = "1699999990", .deadline = "5" }, JC_SUPERVISOR_UNKNOWN,
		  { .older_than_ms = 60000 }, false, "younger than --older-than" },
		{ { .deadline = "5" }, JC_SUPERVISOR_UNKNOWN, { .older_than_ms = 1 }, false,
		  "no readable jobcell.created label" },
		{ { .created = "1699999900", .deadline = "5" }, JC_SUPERVISOR_UNKNOWN,
		  { .older_than_ms = 60000 }, true, "past its deadline" },
		/* a deadline that is no number is none */
		{ { .created = "1", .deadline = "-5" }, JC_SUPERVISOR_UNKNOWN, { 0 }, false,
		  "started detached" },
		{ { .created = "1", .deadline = "12x" }, JC_SUPERVISOR_UNKNOWN, { 0 }, false,
		  "started detached" },
		{ { .created = "1", .deadline = "99999999999999999999999" }, JC_SUPERVISOR_UNKNOWN,
		  { 0 }, false, "started detached" },
	};
	char why[320];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = jc_gc_judge(&cases[i].l, cases[i].live, now, &cases[i].o, why,
				       sizeof(why));
		if (got != cases[i].remove || !strstr(why, cases[i].why))
			fail_msg("case %zu: remove=%d why `%s`; want remove=%d why `%s`", i, got,
				 why, cases[i].remove, cases[i].why);
	}
	/* a tiny buffer is cut, never overrun */
	assert_true(jc_gc_judge(&cases[0].l, JC_SUPERVISOR_DEAD, now, &cases[0].o, why, 4));
	assert_string_equal(why, "its");
}

/* Against the engine: past their deadlines, gc takes a detached start's
 * container and volume and another namespace's; --others-gone takes what
 * other namespaces left, never a live job's, a detached one's or a kept
 * volume. */
static void test_gc_deadline_and_others_gone(void **state)
{
	struct fixture *f = *state;
	struct gc_world w;
	struct gc_log log = { 0 };
	jc_error err = { 0 };
	char past[32], ahead[32];
	const struct jc_gc_opts skew = { .clock_skew_ms = 60000 };
	const struct jc_gc_opts others = { .others_gone = true, .clock_skew_ms = 60000 };

	gc_world_init(&w);
	snprintf(past, sizeof(past), "%lld", (long long)time(NULL) - 120);
	snprintf(ahead, sizeof(ahead), "%lld", (long long)time(NULL) - 30);
	gc_container_dl(f, "c-start-past", "gcs", w.old, NULL, NULL, past);
	gc_container_dl(f, "c-start-skew", "gcs", w.old, NULL, NULL, ahead);
	gc_container_dl(f, "c-else-past", "gcs", w.old, w.unknown, NULL, past);
	gc_container_dl(f, "c-else", "gcs", w.old, w.unknown, NULL, NULL);
	gc_container_dl(f, "c-alive", "gcs", w.old, w.alive, NULL, NULL);
	gc_container_dl(f, "c-start", "gcs", w.old, NULL, NULL, NULL);
	gc_volume_dl(f, "v-start-past", "gcs", w.old, NULL, false, past);
	gc_volume_dl(f, "v-else", "gcs", w.old, w.unknown, false, NULL);
	gc_volume_dl(f, "v-else-keep", "gcs", w.old, w.unknown, true, NULL);
	gc_volume_dl(f, "v-keep-past", "gcs", w.old, NULL, true, past);
	fake_engine_reset_requests(f->fe);

	assert_int_equal(jc_gc(f->e, "gcs", &skew, on_gc, &log, &err), 0);
	assert_int_equal(log.n, 10);
	assert_seen(&log, "container", "c-start-past", true, "past its deadline");
	assert_seen(&log, "container", "c-else-past", true, "past its deadline");
	assert_seen(&log, "volume", "v-start-past", true, "past its deadline");
	/* 30 s past, but the skew is a minute */
	assert_seen(&log, "container", "c-start-skew", false, "its caller removes it; past");
	assert_seen(&log, "container", "c-else", false, "cannot tell");
	assert_seen(&log, "volume", "v-else", false, "cannot tell");
	assert_seen(&log, "volume", "v-keep-past", false, "kept");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/containers/"), 2);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/volumes/v-start-past"), 1);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 3);
	assert_false(container_exists(f, "c-start-past"));
	assert_false(container_exists(f, "c-else-past"));
	assert_false(fake_engine_has_volume(f->fe, "v-start-past"));

	memset(&log, 0, sizeof(log));
	fake_engine_reset_requests(f->fe);
	assert_int_equal(jc_gc(f->e, "gcs", &others, on_gc, &log, &err), 0);
	assert_int_equal(log.n, 7);
	assert_seen(&log, "container", "c-else", true, "--others-gone says it is gone");
	assert_seen(&log, "volume", "v-else", true, "--others-gone says it is gone");
	assert_seen(&log, "container", "c-alive", false, "alive");
	assert_seen(&log, "container", "c-start", false, "started detached");
	assert_seen(&log, "container", "c-start-skew", false, "started detached");
	assert_seen(&log, "volume", "v-else-keep", false, "kept");
	assert_seen(&log, "volume", "v-keep-past", false, "kept");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/"), 2);
	assert_false(container_exists(f, "c-else"));
	assert_true(container_exists(f, "c-alive"));
	assert_true(container_exists(f, "c-start"));
	assert_false(fake_engine_has_volume(f->fe, "v-else"));
	assert_true(fake_engine_has_volume(f->fe, "v-else-keep"));
	gc_world_free(&w);
}

/* An engine that just thawed may still be removing a container: its 409
 * "removal already in progress" is waited out, not a failure of gc. */
static void test_gc_retries_a_removal_in_progress(void **state)
{
	struct fixture *f = *state;
	struct gc_world w;
	struct gc_log log = { 0 };
	struct jc_inspect in;
	jc_error err = { 0 };
	char *id;

	gc_world_init(&w);
	gc_container(f, "c-thaw", "gcs", w.old, w.dead, NULL);
	assert_int_equal(jc_backend_inspect(f->e, "c-thaw", &in, &err), 0);
	id = in.id;
	in.id = NULL;
	jc_inspect_free(&in);
	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "DELETE", id, FAKE_FAULT_STATUS, 409,
			 "removal of container c-thaw is already in progress", 2);
	assert_int_equal(run_gc(f, 0, false, &log, &err), 0);
	assert_null(err.msg);
	assert_seen(&log, "container", "c-thaw", true, "its supervising jobcell is gone");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/containers/"), 3);
	assert_false(container_exists(f, "c-thaw"));

	/* one that never ends: a few tries, then one clear failure */
	memset(&log, 0, sizeof(log));
	gc_container(f, "c-stuck", "gcs", w.old, w.dead, NULL);
	assert_int_equal(jc_backend_inspect(f->e, "c-stuck", &in, &err), 0);
	fake_engine_reset_requests(f->fe);
	fake_engine_fail(f->fe, "DELETE", in.id, FAKE_FAULT_STATUS, 409,
			 "removal of container c-stuck is already in progress", -1);
	jc_inspect_free(&in);
	assert_int_equal(run_gc(f, 0, false, &log, &err), -1);
	assert_msg(&err, "gc: 1 removal failed, the first: remove container `c-stuck`: engine said "
			 "409: removal of container c-stuck is already in progress");
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/containers/"), 5);
	assert_seen(&log, "container", "c-stuck", false, "already in progress");
	assert_true(container_exists(f, "c-stuck"));
	/* other errors are not retried */
	jc_error_clear(&err);
	fake_engine_clear_faults(f->fe);
	fake_engine_reset_requests(f->fe);
	assert_int_equal(jc_backend_inspect(f->e, "c-stuck", &in, &err), 0);
	fake_engine_fail(f->fe, "DELETE", in.id, FAKE_FAULT_STATUS, 500, "driver failed", -1);
	jc_inspect_free(&in);
	assert_int_equal(run_gc(f, 0, false, &log, &err), -1);
	assert_int_equal(fake_engine_count(f->fe, "DELETE", "/containers/"), 1);
	jc_error_clear(&err);
	free(id);
	gc_world_free(&w);
}

/* ---- the cancel hook: the run's deadline, a signal ---- */

/* A run's deadline ends every kind of engine request that would outlast it:
 * a download that trickles (and so never stalls), an upload never
 * answered, a plain call never answered.  The engine timeout here is 5 s:
 * each ends at the 1 s deadline, long before. */
static void test_cancel_deadline_ends_transfers(void **state)
{
	struct fixture *f = *state;
	struct jc_tar_opts o = { .root = "v", .root_mode = 0700, .uid = 1, .gid = 1 };
	struct jc_extract_report rep = { 0 };
	struct jc_volume v = { 0 };
	struct jc_volume_list vl = { 0 };
	struct transfer t;
	jc_error err = { 0 };
	int64_t t0, took;
	int dfd;

	transfer_setup(f, &t);
	make_dir(f->tmp, "out", 0700);
	dfd = open_dir(f->tmp, "out");

	/* GET: 4 KiB every 50 ms, without end */
	fake_engine_fail(f->fe, "GET", "/containers/*/archive", FAKE_FAULT_SLOW, 0, NULL, 1);
	t0 = jc_mono_ms();
	jc_backend_set_cancel(f->e, &(struct jc_cancel){ -1, 0, t0 + 1000 });
	assert_int_equal(jc_transfer_get(f->e, t.id, "xfer", "/v", dfd, NULL, &rep, NULL, NULL, &err),
			 -1);
	took = jc_mono_ms() - t0;
	assert_true(took >= 950 && took < 4000);
	assert_int_equal(err.kind, JC_ERR_SYSTEM);
	assert_int_equal(err.status, ETIMEDOUT);
	assert_false(err.retry);
	assert_msg(&err, "read files from container `xfer`: the run's deadline passed");
	assert_true(jc_backend_cancelled(f->e));
	jc_error_clear(&err);

	/* fired once: what comes after (the undo) is not cancelled */
	assert_int_equal(jc_backend_volume_list(f->e, NULL, &vl, &err), 0);
	jc_volume_list_free(&vl);

	/* PUT: the body goes, the answer never comes */
	fake_engine_fail(f->fe, "PUT", "/containers/*/archive", FAKE_FAULT_HANG, 0, NULL, 1);
	t0 = jc_mono_ms();
	jc_backend_set_cancel(f->e, &(struct jc_cancel){ -1, 0, t0 + 1000 });
	assert_int_equal(jc_transfer_put(f->e, t.id, "xfer", "/", &o, t.in, t.n, NULL, NULL, &err),
			 -1);
	took = jc_mono_ms() - t0;
	assert_true(took >= 950 && took < 4000);
	assert_int_equal(err.status, ETIMEDOUT);
	assert_msg(&err, "write files into container `xfer`: the run's deadline passed");
	jc_error_clear(&err);

	/* a plain call; and a deadline passed already sends nothing */
	fake_engine_fail(f->fe, "GET", "/volumes/hang", FAKE_FAULT_HANG, 0, NULL, 1);
	t0 = jc_mono_ms();
	jc_backend_set_cancel(f->e, &(struct jc_cancel){ -1, 0, t0 + 1000 });
	assert_int_equal(jc_backend_volume_inspect(f->e, "hang", &v, &err), -1);
	took = jc_mono_ms() - t0;
	assert_true(took >= 950 && took < 4000);
	assert_msg(&err, "inspect volume `hang`: the run's deadline passed");
	jc_error_clear(&err);
	fake_engine_reset_requests(f->fe);
	jc_backend_set_cancel(f->e, &(struct jc_cancel){ -1, 0, jc_mono_ms() - 1 });
	assert_int_equal(jc_backend_volume_inspect(f->e, "any", &v, &err), -1);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	jc_error_clear(&err);

	jc_backend_set_cancel(f->e, NULL);
	jc_extract_report_free(&rep);
	close(dfd);
	transfer_teardown(&t);
}

/* A signal pending on the signalfd gives the transfer up at once, names
 * the signal, and is left there for the supervisor to read. */
static void test_cancel_signal_is_peeked_not_read(void **state)
{
	struct fixture *f = *state;
	struct jc_extract_report rep = { 0 };
	struct signalfd_siginfo si;
	struct transfer t;
	jc_error err = { 0 };
	sigset_t set;
	int64_t t0;
	int dfd, sfd;

	transfer_setup(f, &t);
	make_dir(f->tmp, "out", 0700);
	dfd = open_dir(f->tmp, "out");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1); /* blocked in every thread: see main() */
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	assert_true(sfd >= 0);

	fake_engine_fail(f->fe, "GET", "/containers/*/archive", FAKE_FAULT_SLOW, 0, NULL, 1);
	jc_backend_set_cancel(f->e, &(struct jc_cancel){ sfd, 0, 0 });
	alarm(0);
	{
		/* the signal comes while the body trickles */
		pid_t me = getpid(), k = fork();
		assert_true(k >= 0);
		if (k == 0) {
			nanosleep(&(struct timespec){ 0, 500 * 1000 * 1000 }, NULL);
			kill(me, SIGUSR1);
			_exit(0);
		}
		t0 = jc_mono_ms();
		assert_int_equal(
		    jc_transfer_get(f->e, t.id, "xfer", "/v", dfd, NULL, &rep, NULL, NULL, &err), -1);
		assert_true(jc_mono_ms() - t0 < 3000);
		waitpid(k, NULL, 0);
	}
	alarm(120);
	assert_int_equal(err.kind, JC_ERR_SYSTEM);
	assert_int_equal(err.status, EINTR);
	assert_msg(&err, "read files from container `xfer`: interrupted by SIGUSR1");
	jc_error_clear(&err);
	/* still there for whoever supervises */
	assert_int_equal(read(sfd, &si, sizeof(si)), (ssize_t)sizeof(si));
	assert_int_equal(si.ssi_signo, SIGUSR1);

	jc_backend_set_cancel(f->e, NULL);
	close(sfd);
	jc_extract_report_free(&rep);
	close(dfd);
	transfer_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_make_sends_name_driver_and_labels),
		T(test_make_refuses_bad_names_before_any_request),
		T(test_make_draws_again_on_a_foreign_volume),
		T(test_make_in_a_tight_loop_gives_distinct_names),
		T(test_remove_missing_busy_and_failing),
		T(test_list_filters_and_parses),
		T(test_transfer_labels_leave_the_image_nothing),
		T(test_put_streams_inputs_into_the_container),
		T(test_put_engine_faults),
		T(test_put_engine_gone_releases_the_writer),
		T(test_put_engine_hangs_up_mid_upload),
		T(test_put_bad_input_is_the_error),
		T(test_get_extracts_a_hostile_tar_safely),
		T(test_get_failures),
		T(test_get_limit_aborts_the_transfer),
		T(test_supervisor_liveness),
		T(test_gc_removes_only_what_a_dead_jobcell_left),
		T(test_gc_failures_are_counted_and_the_rest_goes_on),
		cmocka_unit_test(test_gc_judge),
		T(test_gc_deadline_and_others_gone),
		T(test_gc_retries_a_removal_in_progress),
		T(test_cancel_deadline_ends_transfers),
		T(test_cancel_signal_is_peeked_not_read),
#undef T
	};

	sigset_t usr1;

	/* a SIGPIPE must kill the test, not pass unnoticed; a hang must end */
	signal(SIGPIPE, SIG_DFL);
	/* SIGUSR1 reaches the cancel test's signalfd only, as the CLI's signals
	 * do: blocked before any thread (the fake engine's, libcurl's) starts */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
