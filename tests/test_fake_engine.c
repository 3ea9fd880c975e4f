/* Self-test of the fake Docker Engine, spoken to with libcurl. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
	size_t len;
	char api_version[32];
	long new_conns;
};

struct fixture {
	struct fake_engine *fe;
	CURL *curl; /* reused, so sequential calls share one connection */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	char *nb = realloc(r->body, r->len + size * n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, size * n);
	r->body = nb;
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;
	if (len > 13 && !strncasecmp(p, "Api-Version: ", 13)) {
		size_t v = len - 13;
		while (v > 0 && (p[13 + v - 1] == '\r' || p[13 + v - 1] == '\n'))
			v--;
		snprintf(r->api_version, sizeof(r->api_version), "%.*s", (int)v, p + 13);
	}
	return len;
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
	q = fake_engine_request(f->fe, 1);
	assert_string_equal(q->method, "GET");
	assert_string_equal(q->path, "/containers/json");
	assert_string_equal(q->version, "");
	assert_string_equal(q->body, "");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recording, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_waiting, setup, teardown),
	};
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
