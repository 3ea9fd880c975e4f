/* engine.c against the fake engine: version negotiation, paths, errors that
 * carry the engine's message, and transport faults. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "backend.h"
#include "docker/engine.h"
#include "testutil.h"
#include "error.h"
#include "docker/json.h"

static struct jc_backend *open_on(struct fake_engine *fe, int64_t timeout_ms)
{
	char ep[256];
	struct jc_backend *e = NULL;
	jc_error err = { 0 };

	snprintf(ep, sizeof(ep), "unix://%s", fake_engine_socket(fe));
	assert_int_equal(test_docker_open(ep, timeout_ms, &e, &err), 0);
	return e;
}

static void assert_msg(const jc_error *err, const char *part)
{
	if (!err->msg || !strstr(err->msg, part))
		fail_msg("error `%s` lacks `%s`", err->msg ? err->msg : "(none)", part);
}

static void test_negotiation(void **state)
{
	static const struct {
		const char *engine;
		const char *want; /* NULL: refused */
		const char *msg;
	} cases[] = {
		{ "1.41", "1.41", NULL },
		{ "1.45", "1.45", NULL },
		{ "1.99", "1.45", NULL },
		{ "1.40", NULL, "API 1.40 is older than 1.41" },
		{ "banana", NULL, "malformed API version `banana`" },
		{ "1.4x", NULL, "malformed API version" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_engine *fe = fake_engine_start(cases[i].engine);
		struct jc_backend *e;
		jc_error err = { 0 };
		int r;

		assert_non_null(fe);
		e = open_on(fe, 5000);
		r = jc_backend_ping(e, &err);
		if (cases[i].want) {
			assert_int_equal(r, 0);
			assert_string_equal(jc_backend_api(e), cases[i].want);
		} else {
			assert_int_equal(r, -1);
			assert_int_equal(err.kind, JC_ERR_ENGINE);
			assert_msg(&err, cases[i].msg);
		}
		jc_error_clear(&err);
		jc_backend_close(e);
		fake_engine_stop(fe);
	}
}

static void test_versioned_paths(void **state)
{
	struct fake_engine *fe = fake_engine_start("1.41");
	struct jc_backend *e = open_on(fe, 5000);
	const struct fake_request *rq;
	jc_error err = { 0 };
	struct jc_image im = { 0 };
	(void)state;

	fake_engine_add_image(fe, "jobcell-test/nonroot:latest", "65532:65532");
	assert_int_equal(jc_backend_ping(e, &err), 0);
	assert_int_equal(jc_backend_image_inspect(e, "jobcell-test/nonroot:latest", &im, &err), 0);
	assert_string_equal(im.user, "65532:65532");
	assert_null(im.jobcell_label);
	jc_image_free(&im);
	/* a label of jobcell's, in any case, whatever its value */
	fake_engine_set_image_labels(fe, "jobcell-test/nonroot:latest",
				     "{\"org.x\":\"1\",\"JobCell.keep\":\"\"}", true);
	assert_int_equal(jc_backend_image_inspect(e, "jobcell-test/nonroot:latest", &im, &err), 0);
	assert_string_equal(im.jobcell_label, "JobCell.keep");
	jc_image_free(&im);
	/* a key of jobcell.'s namespace that jobcell never sets or reads (the
	 * test images' jobcell.recipe stamp) decides nothing */
	fake_engine_set_image_labels(fe, "jobcell-test/nonroot:latest",
				     "{\"jobcellx\":\"1\",\"jobcell.recipe\":\"3\","
				     "\"jobcell.keeps\":\"true\"}",
				     true);
	assert_int_equal(jc_backend_image_inspect(e, "jobcell-test/nonroot:latest", &im, &err), 0);
	assert_null(im.jobcell_label);
	jc_image_free(&im);
	rq = fake_engine_find(fe, "GET", "/_ping");
	assert_non_null(rq);
	assert_string_equal(rq->version, ""); /* the ping itself is unversioned */
	rq = fake_engine_find(fe, "GET", "/images/");
	assert_non_null(rq);
	assert_string_equal(rq->version, "1.41");
	assert_int_equal(jc_backend_image_inspect(e, "nosuch", &im, &err), -1);
	assert_msg(&err, "inspect image `nosuch`: engine said 404: No such image: nosuch");
	assert_int_equal(err.status, ENOENT);
	assert_false(err.retry);
	jc_error_clear(&err);
	jc_backend_close(e);
	fake_engine_stop(fe);
}

static void test_http_errors_keep_engine_message(void **state)
{
	struct fake_engine *fe = fake_engine_start("1.41");
	struct jc_backend *e = open_on(fe, 5000);
	jc_error err = { 0 };
	char *id = NULL;
	(void)state;

	fake_engine_add_image(fe, "img", "");
	assert_int_equal(jc_backend_ping(e, &err), 0);
	fake_engine_fail(fe, "POST", "/containers/create", FAKE_FAULT_STATUS, 500, "disk on fire",
			 1);
	assert_int_equal(jc_docker_create_json(e, "c1", "{\"Image\":\"img\"}", &id, &err), -1);
	assert_string_equal(err.msg, "create container `c1`: engine said 500: disk on fire");
	assert_int_equal(err.status, EIO);
	assert_true(err.retry);
	/* the engine holds nothing after a refused create */
	assert_int_equal(fake_engine_container_count(fe), 0);
	assert_int_equal(jc_docker_create_json(e, "c1", "{\"Image\":\"img\"}", &id, &err), 0);
	assert_int_equal(jc_docker_create_json(e, "c1", "{\"Image\":\"img\"}", &id, &err), -1);
	assert_int_equal(err.status, EEXIST);
	assert_msg(&err, "is already in use");
	assert_int_equal(jc_backend_remove(e, "c1", NULL, &err), 0);
	/* removing what is gone already is what removal wanted */
	assert_int_equal(jc_backend_remove(e, "c1", NULL, &err), 0);
	free(id);
	jc_error_clear(&err);
	jc_backend_close(e);
	fake_engine_stop(fe);
}

static void test_transport_faults(void **state)
{
	static const struct {
		enum fake_fault fault;
		int status;
		const char *msg;
	} cases[] = {
		{ FAKE_FAULT_DROP, ECONNRESET, "connection dropped" },
		{ FAKE_FAULT_HANG, ETIMEDOUT, "no answer in time" },
		{ FAKE_FAULT_MALFORMED, EBADMSG, "not valid JSON" },
		{ FAKE_FAULT_TRUNCATED, EBADMSG, "not valid JSON" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_engine *fe = fake_engine_start("1.41");
		struct jc_backend *e = open_on(fe, 500);
		struct jc_inspect in;
		jc_error err = { 0 };

		assert_int_equal(jc_backend_ping(e, &err), 0);
		fake_engine_fail(fe, "GET", "/containers/x1/json", cases[i].fault, 0, NULL, 1);
		assert_int_equal(jc_backend_inspect(e, "x1", &in, &err), -1);
		assert_int_equal(err.kind, JC_ERR_ENGINE);
		assert_int_equal(err.status, cases[i].status);
		assert_msg(&err, "inspect container `x1`");
		assert_msg(&err, cases[i].msg);
		jc_error_clear(&err);
		jc_backend_close(e);
		fake_engine_stop(fe);
	}
}

static void test_engine_down(void **state)
{
	struct jc_backend *e = NULL;
	jc_error err = { 0 };
	(void)state;

	assert_int_equal(test_docker_open("unix:///nonexistent/engine.sock", 1000, &e, &err), 0);
	assert_int_equal(jc_backend_ping(e, &err), -1);
	assert_int_equal(err.status, ECONNREFUSED);
	assert_true(err.retry);
	assert_msg(&err, "ping engine `unix:///nonexistent/engine.sock`: engine is not answering");
	jc_error_clear(&err);
	jc_backend_close(e);
}

static void test_bad_endpoints(void **state)
{
	static const char *const bad[] = { "unix://relative.sock", "ftp://host",           "tcp://",
					   "tcp://host/path",      "/var/run/docker.sock", "" };
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jc_backend *e = NULL;
		jc_error err = { 0 };
		assert_int_equal(test_docker_open(bad[i], 1000, &e, &err), -1);
		assert_int_equal(err.kind, JC_ERR_CONFIG);
		assert_msg(&err, "engine endpoint");
		assert_null(e);
		jc_error_clear(&err);
	}
}

struct collected {
	char out[256], errs[256];
	size_t nout, nerr;
};

static size_t collect(void *ctx, int stream, const char *buf, size_t len)
{
	struct collected *c = ctx;
	char *dst = stream == 2 ? c->errs : c->out;
	size_t *n = stream == 2 ? &c->nerr : &c->nout;
	assert_true(*n + len < sizeof(c->out));
	memcpy(dst + *n, buf, len);
	*n += len;
	return len;
}

static void test_demux_any_split(void **state)
{
	static const unsigned char stream[] = { 1, 0, 0, 0, 0, 0, 0,   3,   'a', 'b', 'c', 2,  0,
						0, 0, 0, 0, 0, 2, 'e', '!', 1,   0,   0,   0,  0,
						0, 0, 0, 1, 0, 0, 0,   0,   0,   0,   1,   'd' };
	(void)state;
	/* every split point, and byte by byte */
	for (size_t cut = 0; cut <= sizeof(stream); cut++) {
		struct collected c = { 0 };
		struct jc_demux d;
		jc_demux_init(&d, collect, &c);
		assert_int_equal(jc_demux_feed(&d, (const char *)stream, cut), (ssize_t)cut);
		assert_int_equal(
		    jc_demux_feed(&d, (const char *)stream + cut, sizeof(stream) - cut),
		    (ssize_t)(sizeof(stream) - cut));
		assert_int_equal(c.nout, 4);
		assert_memory_equal(c.out, "abcd", 4);
		assert_int_equal(c.nerr, 2);
		assert_memory_equal(c.errs, "e!", 2);
	}
	{
		struct collected c = { 0 };
		struct jc_demux d;
		jc_demux_init(&d, collect, &c);
		for (size_t i = 0; i < sizeof(stream); i++)
			assert_int_equal(jc_demux_feed(&d, (const char *)stream + i, 1), 1);
		assert_int_equal(c.nout, 4);
	}
}

static void test_demux_refuses_bad_frames(void **state)
{
	static const unsigned char bad_stream[] = { 3, 0, 0, 0, 0, 0, 0, 1, 'x' };
	static const unsigned char bad_pad[] = { 1, 1, 0, 0, 0, 0, 0, 1, 'x' };
	struct jc_demux d;
	(void)state;
	jc_demux_init(&d, NULL, NULL);
	assert_int_equal(jc_demux_feed(&d, (const char *)bad_stream, sizeof(bad_stream)), -1);
	jc_demux_init(&d, NULL, NULL);
	assert_int_equal(jc_demux_feed(&d, (const char *)bad_pad, sizeof(bad_pad)), -1);
}

/* The archive endpoint's stat header, as Docker 20.10 and Podman 4.3 send
 * it (taken from both), and what is refused. */
static void test_path_stat_header(void **state)
{
	/* Docker 20.10: {"name":"job","size":4096,"mode":2147484141,
	 * "mtime":"2026-12-06T03:42:20.779738682Z","linkTarget":""} */
	static const char docker[] =
	    "eyJuYW1lIjoiam9iIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI2LTEy"
	    "LTA2VDAzOjQyOjIwLjc3OTczODY4MloiLCJsaW5rVGFyZ2V0IjoiIn0=";
	/* Podman 4.3, a file: {"name":".jobcell-proof-abc","size":0,"mode":420,
	 * "mtime":"2026-12-06T03:42:20.779738682Z","isDir":false,"linkTarget":
	 * "/workspace/job/.jobcell-proof-abc"} */
	static const char podman[] =
	    "eyJuYW1lIjoiLmpvYmNlbGwtcHJvb2YtYWJjIiwic2l6ZSI6MCwibW9kZSI6NDIwLCJtdGltZSI6IjIw"
	    "MjYtMTItMDZUMDM6NDI6MjAuNzc5NzM4NjgyWiIsImlzRGlyIjpmYWxzZSwibGlua1RhcmdldCI6Ii93"
	    "b3Jrc3BhY2Uvam9iLy5qb2JjZWxsLXByb29mLWFiYyJ9";
	/* {"name":"f","size":3,"mode":8389101,"mtime":"2026-12-06T04:42:20.5+01:00"}:
	 * setuid 0755, a zone, a short fraction */
	static const char zoned[] =
	    "eyJuYW1lIjoiZiIsInNpemUiOjMsIm1vZGUiOjgzODkxMDEsIm10aW1lIjoiMjAyNi0xMi0wNlQwNDo0"
	    "MjoyMC41KzAxOjAwIn0=";
	const char *bad[] = {
		"", "e30", "e30=!", "!!!!", "e30=", /* {} */
		/* {"name":"x","size":-1,"mode":0,"mtime":"2026-12-06T03:42:20Z"} */
		"eyJuYW1lIjoieCIsInNpemUiOi0xLCJtb2RlIjowLCJtdGltZSI6IjIwMjYtMTItMDZUMDM6NDI6MjBaIn0=",
		/* {"name":"x","size":1,"mode":0,"mtime":"yesterday"} */
		"eyJuYW1lIjoieCIsInNpemUiOjEsIm1vZGUiOjAsIm10aW1lIjoieWVzdGVyZGF5In0=",
		"?", /* what http.c keeps of a value too long */
	};
	struct jc_path_stat ps = { 0 };
	jc_error err = { 0 };
	(void)state;

	assert_int_equal(jc_docker_parse_path_stat(docker, &ps, &err), 0);
	assert_string_equal(ps.name, "job");
	assert_int_equal(ps.size, 4096);
	assert_int_equal(ps.mode, S_IFDIR | 0755);
	assert_int_equal(ps.mtime_s, 1796528540); /* 2026-12-06T03:42:20Z */
	assert_int_equal(ps.mtime_ns, 779738682);
	jc_path_stat_free(&ps);
	assert_int_equal(jc_docker_parse_path_stat(podman, &ps, &err), 0);
	assert_string_equal(ps.name, ".jobcell-proof-abc");
	assert_int_equal(ps.size, 0);
	assert_int_equal(ps.mode, S_IFREG | 0644);
	jc_path_stat_free(&ps);
	assert_int_equal(jc_docker_parse_path_stat(zoned, &ps, &err), 0);
	assert_int_equal(ps.mode, S_IFREG | S_ISUID | 0755);
	assert_int_equal(ps.mtime_s, 1796528540);
	assert_int_equal(ps.mtime_ns, 500000000);
	jc_path_stat_free(&ps);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jc_docker_parse_path_stat(bad[i], &ps, &err), -1);
		assert_int_equal(err.kind, JC_ERR_ENGINE);
		assert_int_equal(err.status, EBADMSG);
		assert_null(ps.name);
		jc_error_clear(&err);
	}
}

/* HEAD on the archive endpoint: the stat of a path of a created
 * container, a missing one ENOENT with the step and the path. */
static void test_path_stat_call(void **state)
{
	struct fake_engine *fe = fake_engine_start("1.41");
	struct jc_backend *e;
	struct jc_path_stat ps = { 0 };
	jc_error err = { 0 };
	const struct fake_request *rq;
	(void)state;

	assert_non_null(fe);
	e = open_on(fe, 2000);
	assert_int_equal(jc_backend_ping(e, &err), 0);
	fake_engine_add_image(fe, "img", "");
	fake_engine_set_archive(fe, "/w/x", "", 0);
	{
		char *id = NULL;
		assert_int_equal(jc_docker_create_json(e, "c1", "{\"Image\":\"img\"}", &id, &err),
				 0);
		free(id);
	}
	assert_int_equal(jc_backend_path_stat(e, "c1", "c1", "/w/x", &ps, &err), 0);
	assert_string_equal(ps.name, "x");
	assert_true(S_ISDIR(ps.mode));
	jc_path_stat_free(&ps);
	assert_non_null(rq = fake_engine_find(fe, "HEAD", "/containers/c1/archive"));
	assert_string_equal(rq->query, "path=%2Fw%2Fx");
	assert_string_equal(rq->version, "1.41");
	assert_int_equal(jc_backend_path_stat(e, "c1", "c1", "/w/y", &ps, &err), -1);
	assert_int_equal(err.kind, JC_ERR_ENGINE);
	assert_int_equal(err.status, ENOENT);
	assert_msg(&err, "stat `/w/y` in container `c1`: engine said 404");
	jc_error_clear(&err);
	jc_backend_close(e);
	fake_engine_stop(fe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_versioned_paths),
		cmocka_unit_test(test_http_errors_keep_engine_message),
		cmocka_unit_test(test_transport_faults),
		cmocka_unit_test(test_engine_down),
		cmocka_unit_test(test_bad_endpoints),
		cmocka_unit_test(test_demux_any_split),
		cmocka_unit_test(test_demux_refuses_bad_frames),
		cmocka_unit_test(test_path_stat_header),
		cmocka_unit_test(test_path_stat_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
