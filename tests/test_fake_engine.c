/* Self-test of the fake Docker Engine, spoken to with libcurl. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_engine.h"

struct resp {
	CURLcode rc;
	long status;
	char *body;
	size_t len, cap;
	char api_version[32];
	char ctype[64];
	char path_stat[512]; /* X-Docker-Container-Path-Stat */
	long new_conns;
};

struct fixture {
	struct fake_engine *fe;
	CURL *curl; /* reused, so sequential calls share one connection */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	if (r->len + size * n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + size * n + 1)
			cap *= 2;
		char *nb = realloc(r->body, cap);
		if (!nb)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

/* Copies the value of header `name` ("Name: ") from line p into out. */
static void header_value(const char *p, size_t len, const char *name, char *out, size_t cap)
{
	size_t k = strlen(name);
	if (len <= k || strncasecmp(p, name, k))
		return;
	size_t v = len - k;
	while (v > 0 && (p[k + v - 1] == '\r' || p[k + v - 1] == '\n'))
		v--;
	snprintf(out, cap, "%.*s", (int)v, p + k);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;
	header_value(p, len, "Api-Version: ", r->api_version, sizeof(r->api_version));
	header_value(p, len, "Content-Type: ", r->ctype, sizeof(r->ctype));
	header_value(p, len, "X-Docker-Container-Path-Stat: ", r->path_stat, sizeof(r->path_stat));
	return len;
}

/* Sends `len` bytes of `data` (any bytes) as the body, with Content-Type
 * `ctype` (NULL: libcurl's default for a body, a form type). */
static void http_raw(CURL *h, const char *sock, const char *method, const char *path,
		     const char *ctype, const void *data, size_t len, long timeout, struct resp *r)
{
	char url[512], hdr[128];
	struct curl_slist *hdrs = NULL;
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (data) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	}
	if (ctype) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, hdr);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	}
	r->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->new_conns);
	curl_slist_free_all(hdrs);
}

static void http(CURL *h, const char *sock, const char *method, const char *path, const char *body,
		 long timeout, struct resp *r)
{
	char url[512];
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	r->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->new_conns);
}

static void call(struct fixture *f, const char *method, const char *path, const char *body,
		 struct resp *r)
{
	http(f->curl, fake_engine_socket(f->fe), method, path, body, 10, r);
	assert_int_equal(r->rc, CURLE_OK);
}

static cJSON *json_of(const struct resp *r)
{
	cJSON *j = cJSON_Parse(r->body ? r->body : "");
	assert_non_null(j);
	return j;
}

static const char *str_at(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double num_at(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Creates `name` running `cmd` (a JSON array) and returns its id. */
static void create(struct fixture *f, const char *name, const char *cmd, char id[65])
{
	char body[512], path[256];
	struct resp r;
	snprintf(body, sizeof(body), "{\"Image\":\"jobcell-test/root\",\"Cmd\":%s}", cmd);
	snprintf(path, sizeof(path), "/v1.41/containers/create?name=%s", name);
	call(f, "POST", path, body, &r);
	assert_int_equal(r.status, 201);
	cJSON *j = json_of(&r);
	assert_int_equal(strlen(str_at(j, "Id")), 64);
	snprintf(id, 65, "%s", str_at(j, "Id"));
	cJSON_Delete(j);
	free(r.body);
}

static void inspect_state(struct fixture *f, const char *ref, char status[16], int *code)
{
	char path[256];
	struct resp r;
	snprintf(path, sizeof(path), "/v1.41/containers/%s/json", ref);
	call(f, "GET", path, NULL, &r);
	assert_int_equal(r.status, 200);
	cJSON *j = json_of(&r);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "State");
	snprintf(status, 16, "%s", str_at(st, "Status"));
	*code = (int)num_at(st, "ExitCode");
	cJSON_Delete(j);
	free(r.body);
}

struct waiter {
	const char *sock;
	char path[256];
	long timeout;
	struct resp r;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	CURL *h = curl_easy_init();
	if (!h) {
		w->r.rc = CURLE_FAILED_INIT;
		return NULL;
	}
	http(h, w->sock, "POST", w->path, NULL, w->timeout, &w->r);
	curl_easy_cleanup(h);
	return NULL;
}

/* Waits until the fake has recorded `n` requests matching. */
static void await_recorded(struct fixture *f, const char *method, const char *prefix, size_t n)
{
	for (int i = 0; i < 500 && fake_engine_count(f->fe, method, prefix) < n; i++)
		usleep(10000);
	assert_int_equal(fake_engine_count(f->fe, method, prefix), n);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->fe = fake_engine_start("1.41");
	f->curl = curl_easy_init();
	if (!f->fe || !f->curl) {
		fake_engine_stop(f->fe);
		curl_easy_cleanup(f->curl);
		free(f);
		return -1;
	}
	fake_engine_add_image(f->fe, "jobcell-test/root:latest", "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	curl_easy_cleanup(f->curl);
	fake_engine_stop(f->fe);
	free(f);
	return 0;
}

static void test_ping_and_version(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	call(f, "GET", "/_ping", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "OK");
	assert_string_equal(r.api_version, "1.41");
	free(r.body);

	call(f, "GET", "/v1.45/version", NULL, &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "client version 1.45 is too new"));
	free(r.body);

	call(f, "GET", "/v1.41/images/jobcell-test/root:latest/json", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"Id\":\"sha256:"));
	free(r.body);
}

static void test_echo_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65], status[16];
	int code;
	create(f, "t1", "[\"echo\",\"hello\",\"world\"]", id);

	struct waiter w = { .sock = fake_engine_socket(f->fe), .timeout = 10 };
	snprintf(w.path, sizeof(w.path), "/v1.41/containers/t1/wait?condition=next-exit");
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &w), 0);
	await_recorded(f, "POST", "/containers/t1/wait", 1);

	call(f, "POST", "/v1.41/containers/t1/start", NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.new_conns, 0);
	free(r.body);
	pthread_join(th, NULL);
	assert_int_equal(w.r.rc, CURLE_OK);
	assert_int_equal(w.r.status, 200);
	cJSON *j = json_of(&w.r);
	assert_int_equal((int)num_at(j, "StatusCode"), 0);
	cJSON_Delete(j);
	free(w.r.body);

	inspect_state(f, id, status, &code);
	assert_string_equal(status, "exited");
	assert_int_equal(code, 0);

	call(f, "GET", "/v1.41/containers/t1/logs?stdout=1&stderr=1", NULL, &r);
	assert_int_equal(r.status, 200);
	static const char frame[] = "\1\0\0\0\0\0\0\14hello world\n";
	assert_int_equal(r.len, sizeof(frame) - 1);
	assert_memory_equal(r.body, frame, sizeof(frame) - 1);
	free(r.body);

	char path[128];
	snprintf(path, sizeof(path), "/v1.41/containers/%.12s?force=1", id);
	call(f, "DELETE", path, NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
	call(f, "GET", "/v1.41/containers/t1/json", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "No such container: t1"));
	free(r.body);
}

static void test_name_conflict(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];
	create(f, "dup", "[\"exit\",\"0\"]", id);
	call(f, "POST", "/v1.41/containers/create?name=dup", "{\"Image\":\"jobcell-test/root\"}",
	     &r);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.body, "is already in use by container"));
	assert_non_null(strstr(r.body, id));
	free(r.body);
	assert_int_equal(fake_engine_container_count(f->fe), 1);
}

/* The image's labels go into the container's, the body's own win; an image
 * whose labels are not shown still gives them (a retag after an inspect). */
static void test_image_labels_merge(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	cJSON *j;
	const cJSON *labels;

	fake_engine_set_image_labels(f->fe, "jobcell-test/root:latest",
				     "{\"a\":\"image\",\"b\":\"image\"}", true);
	call(f, "GET", "/v1.41/images/jobcell-test/root:latest/json", NULL, &r);
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	labels = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
	assert_string_equal(str_at(labels, "a"), "image");
	cJSON_Delete(j);
	free(r.body);
	call(f, "POST", "/v1.41/containers/create?name=m",
	     "{\"Image\":\"jobcell-test/root\",\"Labels\":{\"b\":\"\",\"c\":\"body\"}}", &r);
	assert_int_equal(r.status, 201);
	free(r.body);
	call(f, "GET", "/v1.41/containers/m/json", NULL, &r);
	j = json_of(&r);
	labels = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
	assert_string_equal(str_at(labels, "a"), "image");
	assert_string_equal(str_at(labels, "b"), "");
	assert_string_equal(str_at(labels, "c"), "body");
	cJSON_Delete(j);
	free(r.body);

	fake_engine_set_image_labels(f->fe, "jobcell-test/root:latest", "{\"a\":\"hidden\"}",
				     false);
	call(f, "GET", "/v1.41/images/jobcell-test/root:latest/json", NULL, &r);
	j = json_of(&r);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels")));
	cJSON_Delete(j);
	free(r.body);
	call(f, "POST", "/v1.41/containers/create?name=n", "{\"Image\":\"jobcell-test/root\"}",
	     &r);
	assert_int_equal(r.status, 201);
	free(r.body);
	call(f, "GET", "/v1.41/containers/n/json", NULL, &r);
	j = json_of(&r);
	labels = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
	assert_string_equal(str_at(labels, "a"), "hidden");
	cJSON_Delete(j);
	free(r.body);
}

static void test_faults(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65], status[16];
	int code;
	create(f, "flt", "[\"exit\",\"3\"]", id);
	fake_engine_fail(f->fe, "POST", "/start", FAKE_FAULT_STATUS, 500, "boom", 1);
	call(f, "POST", "/v1.41/containers/flt/start", NULL, &r);
	assert_int_equal(r.status, 500);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "message"), "boom");
	cJSON_Delete(j);
	free(r.body);
	inspect_state(f, "flt", status, &code);
	assert_string_equal(status, "created");

	call(f, "POST", "/v1.41/containers/flt/start", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	inspect_state(f, "flt", status, &code);
	assert_string_equal(status, "exited");
	assert_int_equal(code, 3);

	fake_engine_fail(f->fe, "GET", "/containers/flt/json", FAKE_FAULT_DROP, 0, NULL, 1);
	http(f->curl, fake_engine_socket(f->fe), "GET", "/v1.41/containers/flt/json", NULL, 5, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_not_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	free(r.body);
}

static void test_recording(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];
	fake_engine_reset_requests(f->fe);
	assert_int_equal(fake_engine_request_count(f->fe), 0);
	create(f, "rec", "[\"exit\",\"0\"]", id);
	call(f, "GET", "/containers/json?all=1", NULL, &r);
	free(r.body);

	assert_int_equal(fake_engine_request_count(f->fe), 2);
	assert_int_equal(fake_engine_count(f->fe, "POST", "/containers/create"), 1);
	const struct fake_request *q = fake_engine_find(f->fe, "POST", "/containers/");
	assert_non_null(q);
	assert_ptr_equal(q, fake_engine_request(f->fe, 0));
	assert_string_equal(q->path, "/containers/create");
	assert_string_equal(q->query, "name=rec");
	assert_string_equal(q->version, "1.41");
	assert_string_equal(q->body, "{\"Image\":\"jobcell-test/root\",\"Cmd\":[\"exit\",\"0\"]}");
	assert_int_equal(q->body_len, strlen(q->body));
	q = fake_engine_request(f->fe, 1);
	assert_string_equal(q->method, "GET");
	assert_string_equal(q->path, "/containers/json");
	assert_string_equal(q->version, "");
	assert_string_equal(q->body, "");
	assert_int_equal(q->body_len, 0);
	assert_null(fake_engine_find(f->fe, "DELETE", "/"));
}

static void test_sleep_and_stop(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65], status[16];
	int code;
	struct timespec t0;
	create(f, "sl", "[\"sleep\",\"30\"]", id);
	call(f, "POST", "/v1.41/containers/sl/start", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	inspect_state(f, "sl", status, &code);
	assert_string_equal(status, "running");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	call(f, "POST", "/v1.41/containers/sl/stop?t=5", NULL, &r);
	assert_int_equal(r.status, 204);
	assert_true(since(&t0) < 1.0);
	free(r.body);
	inspect_state(f, "sl", status, &code);
	assert_string_equal(status, "exited");
	assert_int_equal(code, 143);
	call(f, "POST", "/v1.41/containers/sl/stop", NULL, &r);
	assert_int_equal(r.status, 304);
	free(r.body);

	create(f, "st", "[\"stubborn\",\"30\"]", id);
	call(f, "POST", "/v1.41/containers/st/start", NULL, &r);
	free(r.body);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	call(f, "POST", "/v1.41/containers/st/stop?t=1", NULL, &r);
	assert_int_equal(r.status, 204);
	assert_true(since(&t0) >= 0.9 && since(&t0) < 3.0);
	free(r.body);
	inspect_state(f, "st", status, &code);
	assert_int_equal(code, 137);

	create(f, "short", "[\"sleep\",\"0.2\"]", id);
	call(f, "POST", "/v1.41/containers/short/start", NULL, &r);
	free(r.body);
	call(f, "POST", "/v1.41/containers/short/wait", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"StatusCode\":0"));
	free(r.body);
}

static void test_stop_while_waiting(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];
	struct timespec t0;
	create(f, "blk", "[\"sleep\",\"30\"]", id);
	call(f, "POST", "/v1.41/containers/blk/start", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);

	struct waiter w = { .sock = fake_engine_socket(f->fe), .timeout = 5 };
	snprintf(w.path, sizeof(w.path), "/v1.41/containers/blk/wait");
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &w), 0);
	await_recorded(f, "POST", "/containers/blk/wait", 1);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fake_engine_stop(f->fe);
	f->fe = NULL;
	assert_true(since(&t0) < 2.0);
	pthread_join(th, NULL);
	assert_int_not_equal(w.r.rc, CURLE_OK);
	assert_int_not_equal(w.r.rc, CURLE_OPERATION_TIMEDOUT);
	free(w.r.body);
}

/* ---- volumes ---- */

/* GET /volumes with `filters` (JSON, url-encoded here); the names, sorted by
 * arrival, comma-joined into out. */
static void volume_list(struct fixture *f, const char *filters, long want_status, char *out,
			size_t cap)
{
	char path[512];
	struct resp r;
	char *enc = filters ? curl_easy_escape(f->curl, filters, 0) : NULL;
	snprintf(path, sizeof(path), "/v1.41/volumes%s%s", enc ? "?filters=" : "", enc ? enc : "");
	curl_free(enc);
	call(f, "GET", path, NULL, &r);
	assert_int_equal(r.status, want_status);
	out[0] = '\0';
	if (want_status == 200) {
		cJSON *j = json_of(&r);
		const cJSON *vols = cJSON_GetObjectItemCaseSensitive(j, "Volumes");
		assert_true(cJSON_IsArray(vols));
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "Warnings")));
		size_t off = 0;
		for (const cJSON *v = vols->child; v; v = v->next)
			off += (size_t)snprintf(out + off, cap - off, "%s%s", off ? "," : "",
						str_at(v, "Name"));
		cJSON_Delete(j);
	}
	free(r.body);
}

/* POST /volumes/create with `body`: 201, and the label `key` of the answer
 * into label ("" when absent). */
static void volume_create(struct fixture *f, const char *body, const char *key, char *name,
			  char label[64])
{
	struct resp r;
	call(f, "POST", "/v1.41/volumes/create", body, &r);
	assert_int_equal(r.status, 201);
	cJSON *j = json_of(&r);
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(j, "Labels");
	assert_true(cJSON_IsObject(labels));
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, key);
	snprintf(label, 64, "%s", cJSON_IsString(l) ? l->valuestring : "");
	snprintf(name, 65, "%s", str_at(j, "Name"));
	cJSON_Delete(j);
	free(r.body);
}

static void test_volumes(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char name[65], label[64], list[1024];

	call(f, "POST", "/v1.41/volumes/create",
	     "{\"Name\":\"jobvol\",\"Driver\":\"local\",\"Labels\":{\"jobcell.tenant\":\"t1\","
	     "\"jobcell.run\":\"r1\"}}",
	     &r);
	assert_int_equal(r.status, 201);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "Name"), "jobvol");
	assert_string_equal(str_at(j, "Driver"), "local");
	assert_string_equal(str_at(j, "Scope"), "local");
	assert_string_equal(str_at(j, "Mountpoint"), "/var/lib/docker/volumes/jobvol/_data");
	const char *created = str_at(j, "CreatedAt");
	assert_int_equal(strlen(created), 20);
	assert_int_equal(created[19], 'Z');
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "Options")));
	cJSON_Delete(j);
	free(r.body);
	assert_int_equal(fake_engine_volume_count(f->fe), 1);
	assert_true(fake_engine_has_volume(f->fe, "jobvol"));
	assert_false(fake_engine_has_volume(f->fe, "other"));

	call(f, "GET", "/v1.41/volumes/jobvol", NULL, &r);
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	assert_string_equal(str_at(j, "Name"), "jobvol");
	assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(j, "Labels"), "jobcell.run"),
			    "r1");
	cJSON_Delete(j);
	free(r.body);

	/* an existing name: 201 with the volume as it was */
	volume_create(f, "{\"Name\":\"jobvol\",\"Labels\":{\"jobcell.tenant\":\"t9\"}}",
		      "jobcell.tenant", name, label);
	assert_string_equal(name, "jobvol");
	assert_string_equal(label, "t1");
	assert_int_equal(fake_engine_volume_count(f->fe), 1);
	fake_engine_add_volume(f->fe, "planted", "{\"jobcell.tenant\":\"t2\"}");
	volume_create(f, "{\"Name\":\"planted\",\"Labels\":{\"jobcell.tenant\":\"t1\"}}",
		      "jobcell.tenant", name, label);
	assert_string_equal(label, "t2");
	/* no name: 64 hex digits */
	volume_create(f, "{\"Labels\":{}}", "jobcell.tenant", name, label);
	assert_int_equal(strlen(name), 64);
	assert_int_equal(strspn(name, "0123456789abcdef"), 64);
	assert_string_equal(label, "");
	assert_int_equal(fake_engine_volume_count(f->fe), 3);

	volume_list(f, NULL, 200, list, sizeof(list));
	assert_int_equal(strlen(list), strlen("jobvol,planted,") + 64);
	volume_list(f, "{\"label\":[\"jobcell.tenant=t1\"]}", 200, list, sizeof(list));
	assert_string_equal(list, "jobvol");
	volume_list(f, "{\"label\":[\"jobcell.tenant\"]}", 200, list, sizeof(list));
	assert_string_equal(list, "jobvol,planted");
	volume_list(f, "{\"label\":[\"jobcell.tenant=t1\",\"jobcell.run=r1\"]}", 200, list,
		    sizeof(list));
	assert_string_equal(list, "jobvol");
	volume_list(f, "{\"label\":[\"jobcell.tenant=t1\",\"jobcell.run=r2\"]}", 200, list,
		    sizeof(list));
	assert_string_equal(list, "");
	volume_list(f, "{\"label\":{\"jobcell.tenant=t2\":true}}", 200, list, sizeof(list));
	assert_string_equal(list, "planted");
	volume_list(f, "{\"name\":[\"plant\"],\"dangling\":[\"true\"]}", 200, list, sizeof(list));
	assert_string_equal(list, "planted");
	volume_list(f, "{\"bogus\":[\"x\"]}", 400, list, sizeof(list));

	call(f, "DELETE", "/v1.41/volumes/jobvol", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	assert_false(fake_engine_has_volume(f->fe, "jobvol"));
	call(f, "DELETE", "/v1.41/volumes/jobvol", NULL, &r);
	assert_int_equal(r.status, 404);
	j = json_of(&r);
	assert_string_equal(str_at(j, "message"), "get jobvol: no such volume");
	cJSON_Delete(j);
	free(r.body);
	call(f, "DELETE", "/v1.41/volumes/jobvol?force=1", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	call(f, "GET", "/v1.41/volumes/jobvol", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "get jobvol: no such volume"));
	free(r.body);

	call(f, "POST", "/v1.41/volumes/create", "{\"Name\":\"x\"}", &r);
	assert_int_equal(r.status, 400);
	free(r.body);
	call(f, "POST", "/v1.41/volumes/create", "{\"Name\":\"a/b\"}", &r);
	assert_int_equal(r.status, 400);
	free(r.body);
	call(f, "POST", "/v1.41/volumes/create", "{\"Name\":\"nfsvol\",\"Driver\":\"nfs\"}", &r);
	assert_int_equal(r.status, 404);
	free(r.body);
	assert_int_equal(fake_engine_volume_count(f->fe), 2);
}

static void create_body(struct fixture *f, const char *name, const char *body, long want,
			char id[65])
{
	char path[256];
	struct resp r;
	snprintf(path, sizeof(path), "/v1.41/containers/create?name=%s", name);
	call(f, "POST", path, body, &r);
	assert_int_equal(r.status, want);
	if (id) {
		cJSON *j = json_of(&r);
		snprintf(id, 65, "%s", str_at(j, "Id"));
		cJSON_Delete(j);
	}
	free(r.body);
}

static void test_volume_in_use(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65], msg[256];
	create_body(f, "user",
		    "{\"Image\":\"jobcell-test/root\",\"Cmd\":[\"exit\",\"0\"],\"HostConfig\":{"
		    "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"work\",\"Target\":\"/work\"},"
		    "{\"Type\":\"tmpfs\",\"Target\":\"/scratch\"}],"
		    "\"Binds\":[\"cache:/cache:ro\",\"/etc/hosts:/etc/hosts:ro\"],"
		    "\"Tmpfs\":{\"/tmp\":\"rw,size=64m\"}}}",
		    201, id);
	assert_true(fake_engine_has_volume(f->fe, "work"));
	assert_true(fake_engine_has_volume(f->fe, "cache"));
	assert_int_equal(fake_engine_volume_count(f->fe), 2);
	assert_string_equal(fake_engine_volume_subpath(f->fe, "user", "work"), "");
	assert_null(fake_engine_volume_subpath(f->fe, "user", "other"));

	call(f, "GET", "/v1.41/containers/user/json", NULL, &r);
	assert_int_equal(r.status, 200);
	cJSON *j = json_of(&r);
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(j, "Mounts");
	assert_int_equal(cJSON_GetArraySize(mounts), 2);
	assert_string_equal(str_at(cJSON_GetArrayItem(mounts, 0), "Name"), "work");
	assert_string_equal(str_at(cJSON_GetArrayItem(mounts, 1), "Destination"), "/cache");
	assert_true(
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(mounts, 1), "RW")));
	cJSON_Delete(j);
	free(r.body);

	snprintf(msg, sizeof(msg), "remove work: volume is in use - [%s]", id);
	for (int i = 0; i < 3; i++) {
		if (i == 1) { /* any state: also once it has run */
			call(f, "POST", "/v1.41/containers/user/start", NULL, &r);
			assert_int_equal(r.status, 204);
			free(r.body);
		}
		call(f, "DELETE", i == 2 ? "/v1.41/volumes/work?force=1" : "/v1.41/volumes/work",
		     NULL, &r);
		assert_int_equal(r.status, 409);
		j = json_of(&r);
		assert_string_equal(str_at(j, "message"), msg);
		cJSON_Delete(j);
		free(r.body);
	}
	call(f, "DELETE", "/v1.41/containers/user", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	call(f, "DELETE", "/v1.41/volumes/work", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	/* the container's record outlives it */
	assert_string_equal(fake_engine_volume_subpath(f->fe, "user", "cache"), "");

	/* faults on the new endpoints */
	fake_engine_fail(f->fe, "DELETE", "/volumes/", FAKE_FAULT_STATUS, 409, "busy", 2);
	for (int i = 0; i < 2; i++) {
		call(f, "DELETE", "/v1.41/volumes/cache", NULL, &r);
		assert_int_equal(r.status, 409);
		assert_non_null(strstr(r.body, "busy"));
		free(r.body);
	}
	call(f, "DELETE", "/v1.41/volumes/cache", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	assert_int_equal(fake_engine_volume_count(f->fe), 0);

	/* an anonymous volume, removed with its container on ?v=1 */
	create_body(f, "anon",
		    "{\"Image\":\"jobcell-test/root\",\"HostConfig\":{\"Mounts\":[{\"Type\":"
		    "\"volume\",\"Target\":\"/anon\"}]}}",
		    201, id);
	assert_int_equal(fake_engine_volume_count(f->fe), 1);
	char list[256];
	volume_list(f, "{\"label\":[\"com.docker.volume.anonymous\"],\"dangling\":[\"0\"]}", 200,
		    list, sizeof(list));
	assert_int_equal(strlen(list), 64);
	call(f, "DELETE", "/v1.41/containers/anon?v=1", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	assert_int_equal(fake_engine_volume_count(f->fe), 0);

	/* refused mounts create nothing */
	create_body(f, "bad",
		    "{\"Image\":\"jobcell-test/root\",\"HostConfig\":{\"Mounts\":[{\"Type\":"
		    "\"volume\",\"Source\":\"v1\"}]}}",
		    400, NULL);
	create_body(f, "bad",
		    "{\"Image\":\"jobcell-test/root\",\"HostConfig\":{\"Tmpfs\":[\"/tmp\"]}}", 400,
		    NULL);
	create_body(f, "bad",
		    "{\"Image\":\"nosuch\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\","
		    "\"Source\":\"v2\",\"Target\":\"/v\"}]}}",
		    404, NULL);
	assert_int_equal(fake_engine_volume_count(f->fe), 0);
	assert_int_equal(fake_engine_container_count(f->fe), 0);
}

static struct fixture *engine_at(const char *version)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->fe = fake_engine_start(version);
	f->curl = curl_easy_init();
	assert_non_null(f->fe);
	assert_non_null(f->curl);
	fake_engine_add_image(f->fe, "jobcell-test/root:latest", "");
	return f;
}

#define SUBPATH_BODY(sub)                                                                          \
	"{\"Image\":\"jobcell-test/root\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\","       \
	"\"Source\":\"site\",\"Target\":\"/startup\",\"ReadOnly\":true,"                           \
	"\"VolumeOptions\":{\"Subpath\":\"" sub "\"}}]}}"

/* The Subpath inspect shows in HostConfig.Mounts[0], or NULL. */
static char *inspect_subpath(struct fixture *f, const char *ref)
{
	char path[256];
	struct resp r;
	snprintf(path, sizeof(path), "/containers/%s/json", ref);
	call(f, "GET", path, NULL, &r);
	assert_int_equal(r.status, 200);
	cJSON *j = json_of(&r);
	const cJSON *m =
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
				   cJSON_GetObjectItemCaseSensitive(j, "HostConfig"), "Mounts"),
			       0);
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(m, "VolumeOptions"), "Subpath");
	char *out = cJSON_IsString(sp) ? strdup(sp->valuestring) : NULL;
	cJSON_Delete(j);
	free(r.body);
	return out;
}

static void test_subpath(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];

	/* 1.41: ignored, as an old engine ignores a field it does not know */
	create_body(f, "sp", SUBPATH_BODY("startup"), 201, id);
	assert_string_equal(fake_engine_volume_subpath(f->fe, "sp", "site"), "");
	assert_string_equal(fake_engine_volume_subpath(f->fe, id, "site"), "");
	assert_null(inspect_subpath(f, "sp"));
	const struct fake_request *q = fake_engine_find(f->fe, "POST", "/containers/create");
	assert_non_null(strstr(q->body, "\"Subpath\":\"startup\""));
	assert_null(fake_engine_volume_subpath(f->fe, "nosuch", "site"));

	/* 1.45: recorded; refused under an older request version or when it climbs */
	struct fixture *g = engine_at("1.45");
	call(g, "POST", "/v1.45/containers/create?name=sp", SUBPATH_BODY("startup/sub"), &r);
	assert_int_equal(r.status, 201);
	free(r.body);
	assert_string_equal(fake_engine_volume_subpath(g->fe, "sp", "site"), "startup/sub");
	char *sub = inspect_subpath(g, "sp");
	assert_string_equal(sub, "startup/sub");
	free(sub);
	assert_true(fake_engine_has_volume(g->fe, "site"));

	call(g, "POST", "/v1.41/containers/create?name=old", SUBPATH_BODY("startup"), &r);
	assert_int_equal(r.status, 400);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "message"), "VolumeOptions.Subpath needs API v1.45 or newer");
	cJSON_Delete(j);
	free(r.body);
	call(g, "POST", "/v1.45/containers/create?name=abs", SUBPATH_BODY("/etc"), &r);
	assert_int_equal(r.status, 400);
	free(r.body);
	call(g, "POST", "/v1.45/containers/create?name=up", SUBPATH_BODY("a/../../etc"), &r);
	assert_int_equal(r.status, 400);
	free(r.body);
	call(g, "POST", "/containers/create?name=ok", SUBPATH_BODY("a/../local"), &r);
	assert_int_equal(r.status, 201);
	free(r.body);
	assert_string_equal(fake_engine_volume_subpath(g->fe, "ok", "site"), "a/../local");
	assert_int_equal(fake_engine_container_count(g->fe), 2);

	curl_easy_cleanup(g->curl);
	fake_engine_stop(g->fe);
	free(g);
}

/* ---- archives ---- */

#define MiB (1024 * 1024)

/* Bytes with all 256 values, in an order that is not periodic in 256. */
static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i ^ (i >> 8) ^ (i >> 16)) + seed);
	return p;
}

static void put_archive(struct fixture *f, const char *path, const char *ctype, const void *data,
			size_t len, long want)
{
	struct resp r;
	http_raw(f->curl, fake_engine_socket(f->fe), "PUT", path, ctype, data, len, 30, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, want);
	free(r.body);
}

static void test_archive_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];
	size_t len;
	create(f, "ar", "[\"exit\",\"0\"]", id);
	unsigned char *tar = pattern(MiB, 0);
	fake_engine_reset_requests(f->fe);

	put_archive(f, "/v1.41/containers/ar/archive?path=/job", "application/x-tar", tar, MiB,
		    200);
	const struct fake_request *q = fake_engine_request(f->fe, 0);
	assert_string_equal(q->method, "PUT");
	assert_string_equal(q->path, "/containers/ar/archive");
	assert_string_equal(q->query, "path=/job");
	assert_int_equal(q->body_len, MiB);
	assert_memory_equal(q->body, tar, MiB);
	assert_int_equal(q->body[MiB], '\0');
	const void *got = fake_engine_archive_put(f->fe, "ar", "/job", &len);
	assert_non_null(got);
	assert_int_equal(len, MiB);
	assert_memory_equal(got, tar, MiB);
	assert_null(fake_engine_archive_put(f->fe, "ar", "/job/", &len));
	assert_int_equal(len, 0);

	call(f, "GET", "/v1.41/containers/ar/archive?path=/job", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/x-tar");
	assert_true(strlen(r.path_stat) > 0);
	assert_int_equal(r.len, MiB);
	assert_memory_equal(r.body, tar, MiB);
	free(r.body);
	http_raw(f->curl, fake_engine_socket(f->fe), "HEAD",
		 "/v1.41/containers/ar/archive?path=%2Fjob", NULL, NULL, 0, 10, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	/* base64 of {"name":"job", ... */
	assert_memory_equal(r.path_stat, "eyJuYW1lIjoiam9iIi", 18);
	free(r.body);

	call(f, "GET", "/v1.41/containers/ar/archive?path=/other", NULL, &r);
	assert_int_equal(r.status, 404);
	cJSON *j = json_of(&r);
	assert_string_equal(str_at(j, "message"), "Could not find the file /other in container ar");
	cJSON_Delete(j);
	free(r.body);

	/* bytes set by the test win, for any container */
	unsigned char *out = pattern(4096, 77);
	fake_engine_set_archive(f->fe, "/job/out", out, 4096);
	call(f, "GET", "/containers/ar/archive?path=%2Fjob%2Fout", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 4096);
	assert_memory_equal(r.body, out, 4096);
	free(r.body);

	/* refusals */
	put_archive(f, "/v1.41/containers/ar/archive?path=/job", NULL, tar, 1000, 400);
	put_archive(f, "/v1.41/containers/ar/archive?path=/job", "application/json", tar, 1000,
		    400);
	http_raw(f->curl, fake_engine_socket(f->fe), "PUT", "/v1.41/containers/ar/archive?path=/x",
		 NULL, tar, 1000, 10, &r);
	assert_int_equal(r.status, 400);
	j = json_of(&r);
	assert_string_equal(str_at(j, "message"), "Content-Type must be application/x-tar");
	cJSON_Delete(j);
	free(r.body);
	put_archive(f, "/v1.41/containers/ar/archive", "application/x-tar", tar, 1000, 400);
	http_raw(f->curl, fake_engine_socket(f->fe), "PUT",
		 "/v1.41/containers/nope/archive?path=/job", "application/x-tar", tar, 1000, 10,
		 &r);
	assert_int_equal(r.status, 404);
	j = json_of(&r);
	assert_string_equal(str_at(j, "message"), "No such container: nope");
	cJSON_Delete(j);
	free(r.body);
	got = fake_engine_archive_put(f->fe, id, "/job", &len);
	assert_int_equal(len, MiB); /* unchanged by the refused PUTs */
	assert_memory_equal(got, tar, MiB);
	assert_null(fake_engine_archive_put(f->fe, "ar", "/x", &len));

	/* a later PUT replaces; the record outlives the container */
	put_archive(f, "/v1.41/containers/ar/archive?path=/job",
		    "application/x-tar; charset=binary", out, 4096, 200);
	call(f, "DELETE", "/v1.41/containers/ar", NULL, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
	got = fake_engine_archive_put(f->fe, "ar", "/job", &len);
	assert_int_equal(len, 4096);
	assert_memory_equal(got, out, 4096);
	call(f, "GET", "/v1.41/containers/ar/archive?path=/job", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "No such container: ar"));
	free(r.body);
	free(out);
	free(tar);
}

static void test_archive_faults(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];
	size_t len;
	create(f, "af", "[\"sleep\",\"30\"]", id);
	unsigned char *tar = pattern(MiB, 3);
	put_archive(f, "/v1.41/containers/af/archive?path=/job", "application/x-tar", tar, MiB,
		    200);

	fake_engine_fail(f->fe, "GET", "/archive", FAKE_FAULT_DROP, 0, NULL, 1);
	http(f->curl, fake_engine_socket(f->fe), "GET", "/v1.41/containers/af/archive?path=/job",
	     NULL, 10, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_not_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(r.status, 200);
	assert_true(r.len > 0 && r.len <= MiB / 2);
	assert_memory_equal(r.body, tar, r.len);
	free(r.body);
	call(f, "GET", "/v1.41/containers/af/archive?path=/job", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, MiB);
	free(r.body);

	/* LOST: the upload happened, the client cannot know */
	fake_engine_fail(f->fe, "PUT", "/archive", FAKE_FAULT_LOST, 0, NULL, 1);
	http_raw(f->curl, fake_engine_socket(f->fe), "PUT", "/v1.41/containers/af/archive?path=/in",
		 "application/x-tar", tar, 1000, 10, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	free(r.body);
	assert_non_null(fake_engine_archive_put(f->fe, "af", "/in", &len));
	assert_int_equal(len, 1000);

	fake_engine_fail(f->fe, "PUT", "/archive", FAKE_FAULT_STATUS, 500, "disk full", 1);
	put_archive(f, "/v1.41/containers/af/archive?path=/in2", "application/x-tar", tar, 100,
		    500);
	assert_null(fake_engine_archive_put(f->fe, "af", "/in2", &len));
	free(tar);
}

struct zero_src {
	curl_off_t left;
};

static size_t read_zeros(char *buf, size_t size, size_t n, void *ud)
{
	struct zero_src *z = ud;
	size_t k = size * n;
	if ((curl_off_t)k > z->left)
		k = (size_t)z->left;
	memset(buf, 0, k);
	z->left -= (curl_off_t)k;
	return k;
}

static void test_archive_large(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char id[65];
	size_t len, n = 40 * (size_t)MiB;
	struct timespec t0;
	create(f, "big", "[\"exit\",\"0\"]", id);
	unsigned char *tar = pattern(n, 9);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put_archive(f, "/v1.41/containers/big/archive?path=/", "application/x-tar", tar, n, 200);
	const void *got = fake_engine_archive_put(f->fe, "big", "/", &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, tar, n);
	http(f->curl, fake_engine_socket(f->fe), "GET", "/v1.41/containers/big/archive?path=/",
	     NULL, 60, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, n);
	assert_memory_equal(r.body, tar, n);
	free(r.body);
	assert_true(since(&t0) < 60);
	free(tar);

	/* over the cap: 413 before the body, going by Content-Length */
	struct zero_src z = { .left = (curl_off_t)300 * MiB };
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/x-tar");
	CURL *h = f->curl;
	memset(&r, 0, sizeof(r));
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, fake_engine_socket(f->fe));
	curl_easy_setopt(h, CURLOPT_URL, "http://localhost/v1.41/containers/big/archive?path=/");
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, z.left);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_zeros);
	curl_easy_setopt(h, CURLOPT_READDATA, &z);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	r.rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hdrs);
	assert_int_equal(r.status, 413);
	assert_true(z.left > (curl_off_t)200 * MiB); /* the body was not sent */
	free(r.body);
	got = fake_engine_archive_put(f->fe, "big", "/", &len);
	assert_int_equal(len, n);
}

/* ---- TLS ---- */

static char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	int ch;

	assert_non_null(f);
	assert_non_null(m);
	while ((ch = getc(f)) != EOF)
		putc(ch, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* GET /_ping over HTTPS (`scheme` "https") or plaintext to the TLS port,
 * showing the client certificate `client` of dir (NULL: none). */
static struct resp tls_ping(const char *dir, int port, const char *scheme, const char *client)
{
	struct resp r;
	char url[128], p[256];
	CURL *h = curl_easy_init();

	assert_non_null(h);
	memset(&r, 0, sizeof(r));
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/_ping", scheme, port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	curl_easy_setopt(h, CURLOPT_CAINFO, p);
	if (client) {
		snprintf(p, sizeof(p), "%s/%s.pem", dir, client);
		curl_easy_setopt(h, CURLOPT_SSLCERT, p);
		snprintf(p, sizeof(p), "%s/%s-key.pem", dir, client);
		curl_easy_setopt(h, CURLOPT_SSLKEY, p);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	r.rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_cleanup(h);
	return r;
}

/* fake_engine_start_tls: HTTPS on a loopback port with the certificates
 * tests/tls-certs.sh makes; a client certificate of the trusted CA is
 * served, none and another CA's are refused before the request is seen,
 * and plaintext to the port gets no answer. */
static void test_tls(void **state)
{
	char dir[] = "/tmp/fake-tls.XXXXXX", cmd[512], p[256];
	struct fake_engine *fe;
	struct resp r;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "c=tests/tls-certs.sh d='%s' && $c ca $d ca && "
		 "$c server $d ca server DNS:localhost,IP:127.0.0.1 && $c client $d ca client && "
		 "$c ca $d ca2 && $c client $d ca2 client2",
		 dir);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/server.pem", dir);
	char *cert = slurp_file(p);
	snprintf(p, sizeof(p), "%s/server-key.pem", dir);
	char *key = slurp_file(p);
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	char *ca = slurp_file(p);
	const struct fake_tls t = { cert, key, ca };
	fe = fake_engine_start_tls("1.41", &t);
	free(cert);
	free(key); /* copied */
	free(ca);
	assert_non_null(fe);
	assert_true(fake_engine_port(fe) > 0);
	assert_string_equal(fake_engine_socket(fe), "");

	r = tls_ping(dir, fake_engine_port(fe), "https", "client");
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "OK");
	free(r.body);
	assert_int_equal(fake_engine_request_count(fe), 1);

	r = tls_ping(dir, fake_engine_port(fe), "https", NULL);
	assert_int_not_equal(r.rc, CURLE_OK);
	free(r.body);
	r = tls_ping(dir, fake_engine_port(fe), "https", "client2");
	assert_int_not_equal(r.rc, CURLE_OK);
	free(r.body);
	r = tls_ping(dir, fake_engine_port(fe), "http", NULL);
	assert_true(r.rc != CURLE_OK || r.status != 200);
	free(r.body);
	assert_int_equal(fake_engine_request_count(fe), 1);
	fake_engine_stop(fe);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_labels_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recording, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subpath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_large, setup, teardown),
		cmocka_unit_test(test_tls),
	};
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
