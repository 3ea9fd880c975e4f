/* A fake Docker Engine: see fake_engine.h.  Container programs are simulated
 * by deadlines rather than threads: state advances in engine_tick(), which
 * every handler and every blocked waiter runs under the lock. */
#include "fake_engine.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum cstate { CS_CREATED, CS_RUNNING, CS_EXITED };

/* Request bodies over this are refused with 413. */
#define MAX_BODY ((size_t)256 << 20)
/* API 1.45, in version_num() form: VolumeOptions.Subpath */
#define API_SUBPATH 1045

/* Bytes stored under a path: an archive PUT, or one set by the test. */
struct blob {
	char *path;
	char *data;
	size_t len;
};

struct mount {
	char *volume;  /* its name */
	char *target;  /* path in the container */
	char *subpath; /* "" when whole, or when the engine ignored it */
	bool ro;
	bool anon; /* created for this container: removed with it on ?v=1 */
};

struct volume {
	char *name;
	cJSON *labels; /* an object */
	struct timespec created;
};

struct container {
	char id[65];
	char *name;  /* without leading '/' */
	cJSON *body; /* the create body */
	enum cstate state;
	bool removed; /* kept until stop so waiters and log readers stay valid */
	bool stubborn;
	bool oom;
	int exit_code;
	int pid;
	unsigned long last_exit_seq;
	struct timespec deadline;                   /* CLOCK_MONOTONIC, for sleep/stubborn */
	struct timespec created, started, finished; /* CLOCK_REALTIME */
	char *out;                                  /* multiplexed frames */
	size_t out_len, out_cap;
	/* "partial"/"lateout": a last line without '\n', held until the exit
	 * as Docker's log copier holds it; `tail_at` is where its frame begins
	 * in `out` once written, `late_at` when "lateout" writes it */
	char *held;
	bool tail_lost, late, stalled;
	size_t tail_at;
	struct timespec late_at;
	struct mount *mounts; /* the volumes it mounts */
	size_t nmounts;
	struct blob *puts; /* last archive PUT body per path */
	size_t nputs, cap_puts;
	/* what attaches sent to its stdin, and whether one ended it (the
	 * client's half-close, or the fake's own drop) */
	char *in;
	size_t in_len, in_cap;
	bool in_ended;
	bool cat; /* "cat": exits 0 at the end of stdin, its stdin on stdout */
};

struct image {
	char *name;
	char *user;
	char id[72];
	cJSON *labels;      /* an object, or NULL */
	bool labels_shown;  /* inspect reports them */
};

struct rule {
	char *method;
	char *substr;
	enum fake_fault fault;
	int status;
	char *message;
	int times;
};

struct fake_engine {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	char *api_version;
	bool libpod; /* the ping says Libpod-Api-Version: as Podman */
	char cgroup_driver[32], cgroup_version[8]; /* GET /info */
	char dir[256];
	char sock[300];
	int port;                  /* fake_engine_start_tls: the loopback port, else 0 */
	char *tls_key, *tls_cert;  /* PEM, held while the daemon runs */
	char *tls_trust;           /* PEM of the CA clients must show a certificate of */
	struct MHD_Daemon *daemon;
	struct container **cs;
	size_t ncs, cap_cs;
	struct image **imgs;
	size_t nimgs, cap_imgs;
	struct fake_request **reqs;
	size_t nreqs, cap_reqs;
	struct rule **rules;
	size_t nrules, cap_rules;
	struct volume **vols;
	size_t nvols, cap_vols;
	struct blob *tars; /* fake_engine_set_archive */
	size_t ntars, cap_tars;
	char **map_from, **map_to; /* fake_engine_map_path */
	size_t nmaps;
	bool file_binds_fail; /* fake_engine_file_binds_fail */
	unsigned long exit_seq;
	bool lose_answer; /* FAKE_FAULT_LOST: queue() sends a dropped answer */
	uint64_t id_seed;
	uint64_t vol_seq; /* anonymous and unnamed volumes */
	int next_pid;
	int collide; /* fake_engine_volume_collide: creates left to answer foreign */
};

struct conn_ctx {
	char *uri;  /* raw, as sent */
	char *body; /* NUL-terminated past len; handed to the recorded request */
	size_t len, cap;
	bool started;
	bool too_big; /* over MAX_BODY: the rest is discarded, the answer is 413 */
	unsigned long exit_seq_at_arrival;
};

/* ---- small helpers ---- */

static bool grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	void **p = arr;
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*p, ncap * elem);
	if (!n)
		return false;
	*p = n;
	*cap = ncap;
	return true;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void hex64(char out[65], uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)splitmix(&seed));
}

static struct timespec now(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return ts;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static struct timespec ts_add(struct timespec t, double secs)
{
	if (secs < 0)
		secs = 0;
	if (secs > 1e9)
		secs = 1e9;
	long long ns = (long long)(secs * 1e9) + t.tv_nsec;
	t.tv_sec += (time_t)(ns / 1000000000LL);
	t.tv_nsec = (long)(ns % 1000000000LL);
	return t;
}

static void rfc3339(char out[64], const struct timespec *ts)
{
	struct tm tm;
	if (ts->tv_sec == 0 || !gmtime_r(&ts->tv_sec, &tm)) {
		snprintf(out, 64, "0001-01-01T00:00:00Z");
		return;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 64, "%s.%09ldZ", base, ts->tv_nsec);
}

/* "1.41" -> 1041; -1 when unparsable */
static int version_num(const char *v)
{
	unsigned maj, min;
	if (sscanf(v, "%u.%u", &maj, &min) != 2)
		return -1;
	return (int)(maj * 1000 + min);
}

/* ---- state (all called with fe->lock held) ---- */

static void engine_wait(struct fake_engine *fe, const struct timespec *until)
{
	struct timespec t = *until;
	for (size_t i = 0; i < fe->ncs; i++) {
		struct container *c = fe->cs[i];
		if (c->state == CS_RUNNING && !c->removed && ts_before(&c->deadline, &t))
			t = c->deadline;
	}
	pthread_cond_timedwait(&fe->cond, &fe->lock, &t);
}

static bool emit(struct fake_engine *fe, struct container *c, int stream, const char *data,
		 size_t len);

/* The held last line reaches the log. */
static void emit_held(struct fake_engine *fe, struct container *c)
{
	c->tail_at = c->out_len;
	if (c->held)
		emit(fe, c, 1, c->held, strlen(c->held));
	free(c->held);
	c->held = NULL;
}

static void finish(struct fake_engine *fe, struct container *c, int code)
{
	if (c->held && c->late)
		c->late_at = ts_add(now(CLOCK_MONOTONIC), 0.3);
	else if (c->held)
		emit_held(fe, c);
	c->state = CS_EXITED;
	c->exit_code = code;
	c->pid = 0;
	c->finished = now(CLOCK_REALTIME);
	c->last_exit_seq = ++fe->exit_seq;
	pthread_cond_broadcast(&fe->cond);
}

static void engine_tick(struct fake_engine *fe)
{
	struct timespec t = now(CLOCK_MONOTONIC);
	for (size_t i = 0; i < fe->ncs; i++) {
		struct container *c = fe->cs[i];
		if (c->state == CS_RUNNING && !ts_before(&t, &c->deadline))
			finish(fe, c, 0);
		else if (c->state != CS_RUNNING && c->held && !ts_before(&t, &c->late_at))
			emit_held(fe, c);
	}
}

static bool emit(struct fake_engine *fe, struct container *c, int stream, const char *data,
		 size_t len)
{
	if (!grow(&c->out, &c->out_cap, c->out_len + 8 + len, 1))
		return false;
	unsigned char *h = (unsigned char *)c->out + c->out_len;
	h[0] = (unsigned char)stream;
	h[1] = h[2] = h[3] = 0;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
	memcpy(c->out + c->out_len + 8, data, len);
	c->out_len += 8 + len;
	pthread_cond_broadcast(&fe->cond);
	return true;
}

/* Writes args joined by spaces plus '\n' to `stream`. */
static bool emit_words(struct fake_engine *fe, struct container *c, int stream, const cJSON *arg)
{
	size_t len = 1, off = 0;
	for (const cJSON *a = arg; a; a = a->next)
		len += strlen(cJSON_IsString(a) ? a->valuestring : "") + 1;
	char *buf = malloc(len);
	if (!buf)
		return false;
	for (const cJSON *a = arg; a; a = a->next) {
		const char *s = cJSON_IsString(a) ? a->valuestring : "";
		off += (size_t)sprintf(buf + off, a->next ? "%s " : "%s", s);
	}
	buf[off++] = '\n';
	bool ok = emit(fe, c, stream, buf, off);
	free(buf);
	return ok;
}

static bool emit_pattern(struct fake_engine *fe, struct container *c, long long n)
{
	char chunk[4096];
	for (long long done = 0; done < n;) {
		size_t k = n - done < (long long)sizeof(chunk) ? (size_t)(n - done) : sizeof(chunk);
		for (size_t i = 0; i < k; i++) {
			long long p = done + (long long)i;
			chunk[i] = p % 64 == 63 ? '\n' : (char)('a' + p % 26);
		}
		if (!emit(fe, c, 1, chunk, k))
			return false;
		done += (long long)k;
	}
	return true;
}

/* Returns 0 on success, else an HTTP status with *err set. */
static int program_start(struct fake_engine *fe, struct container *c, const char **err)
{
	static const char missing[] =
	    "failed to create shim: OCI runtime create failed: runc create failed: unable "
	    "to start container process: exec: \"missing\": executable file not found in "
	    "$PATH: unknown";
	static const char noexec[] =
	    "failed to create shim: OCI runtime create failed: runc create failed: unable "
	    "to start container process: exec: \"/noexec\": permission denied: unknown";
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(c->body, "Cmd");
	const cJSON *a0 = cJSON_IsArray(cmd) ? cmd->child : NULL;
	const char *prog = a0 && cJSON_IsString(a0) ? a0->valuestring : "";
	const cJSON *a1 = a0 ? a0->next : NULL;
	const char *arg = a1 && cJSON_IsString(a1) ? a1->valuestring : "0";

	if (!strcmp(prog, "missing") || !strcmp(prog, "noexec")) {
		bool miss = !strcmp(prog, "missing");
		c->exit_code = miss ? 127 : 126;
		*err = miss ? missing : noexec;
		return 400;
	}
	c->state = CS_RUNNING;
	free(c->held);
	c->held = NULL;
	c->tail_lost = c->late = c->stalled = false;
	c->stubborn = false;
	c->cat = false;
	c->oom = false;
	c->exit_code = 0;
	c->pid = fe->next_pid++;
	c->started = now(CLOCK_REALTIME);
	c->finished = (struct timespec){ 0 };
	c->deadline = now(CLOCK_MONOTONIC);
	pthread_cond_broadcast(&fe->cond);

	bool ok = true;
	int code = 0;
	if (!strcmp(prog, "exit")) {
		code = atoi(arg);
	} else if (!strcmp(prog, "echo")) {
		ok = emit_words(fe, c, 1, a1);
	} else if (!strcmp(prog, "stderr")) {
		ok = emit_words(fe, c, 2, a1);
	} else if (!strcmp(prog, "out")) {
		ok = emit_pattern(fe, c, atoll(arg));
	} else if (!strcmp(prog, "partial") || !strcmp(prog, "lateout") ||
		   !strcmp(prog, "stalled")) {
		/* partial SECONDS WORDS...: runs SECONDS, then its last line, the
		 * words without '\n', reaches the log at the exit, and followers
		 * that came while it ran end without it (Docker 20.10 json-file:
		 * the follower sees the logger close before the last write);
		 * lateout: the line reaches every follower, 300 ms after the
		 * exit is reported; stalled: followers that came while it ran
		 * get neither the line nor an end, as Podman 4.3's follower that
		 * missed the death.  All write "begin\n" and "note\n" to
		 * stderr at once. */
		const cJSON *w = a1 ? a1->next : NULL;
		size_t len = 1;
		for (const cJSON *x = w; x; x = x->next)
			len += strlen(cJSON_IsString(x) ? x->valuestring : "") + 1;
		if (!(c->held = calloc(1, len)))
			return 500;
		for (const cJSON *x = w; x; x = x->next) {
			strcat(c->held, cJSON_IsString(x) ? x->valuestring : "");
			if (x->next)
				strcat(c->held, " ");
		}
		if (!emit(fe, c, 1, "begin\n", 6) || !emit(fe, c, 2, "note\n", 5))
			return 500;
		c->stalled = !strcmp(prog, "stalled");
		c->tail_lost = !strcmp(prog, "partial") || c->stalled;
		c->late = !c->tail_lost;
		c->deadline = ts_add(c->deadline, strtod(arg, NULL));
		return 0;
	} else if (!strcmp(prog, "cat")) {
		/* runs until its stdin ends (see h_attach), 60 s at most */
		c->cat = true;
		c->deadline = ts_add(c->deadline, 60);
		return 0;
	} else if (!strcmp(prog, "sleep") || !strcmp(prog, "stubborn")) {
		c->stubborn = !strcmp(prog, "stubborn");
		c->deadline = ts_add(c->deadline, strtod(arg, NULL));
		return 0;
	} else if (!strcmp(prog, "oom")) {
		c->oom = true;
		code = 137;
	}
	finish(fe, c, ok ? code : 1);
	return 0;
}

static void deliver(struct fake_engine *fe, struct container *c, int sig)
{
	if (c->state != CS_RUNNING)
		return;
	if (sig == 9)
		finish(fe, c, 137);
	else if (!c->stubborn)
		finish(fe, c, 128 + sig);
}

static struct container *find_container(struct fake_engine *fe, const char *ref)
{
	const char *name = ref[0] == '/' ? ref + 1 : ref;
	struct container *match = NULL;
	size_t n = strlen(ref), hits = 0;
	for (size_t i = 0; i < fe->ncs; i++) {
		struct container *c = fe->cs[i];
		if (c->removed)
			continue;
		if (!strcmp(c->id, ref) || !strcmp(c->name, name))
			return c;
		if (n >= 4 && !strncmp(c->id, ref, n)) {
			match = c;
			hits++;
		}
	}
	return hits == 1 ? match : NULL;
}

/* Compares names with an implicit ":latest" tag. */
static bool image_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	bool ta = strchr(sa ? sa : a, ':') != NULL, tb = strchr(sb ? sb : b, ':') != NULL;
	if (ta == tb)
		return !strcmp(a, b);
	if (ta)
		return la == lb + 7 && !strncmp(a, b, lb) && !strcmp(a + lb, ":latest");
	return lb == la + 7 && !strncmp(a, b, la) && !strcmp(b + la, ":latest");
}

static struct image *find_image(struct fake_engine *fe, const char *name)
{
	for (size_t i = 0; i < fe->nimgs; i++)
		if (image_name_eq(fe->imgs[i]->name, name) || !strcmp(fe->imgs[i]->id, name))
			return fe->imgs[i];
	return NULL;
}

/* Also finds removed containers (the newest first) when no live one
 * matches: for the getters, which tests call after a client cleaned up. */
static struct container *find_container_any(struct fake_engine *fe, const char *ref)
{
	struct container *c = find_container(fe, ref);
	const char *name = ref[0] == '/' ? ref + 1 : ref;
	size_t n = strlen(ref);
	for (size_t i = fe->ncs; !c && i-- > 0;) {
		struct container *r = fe->cs[i];
		if (!strcmp(r->id, ref) || !strcmp(r->name, name) ||
		    (n >= 4 && !strncmp(r->id, ref, n)))
			c = r;
	}
	return c;
}

/* Docker's local driver: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static bool volume_name_ok(const char *s)
{
	static const char more[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	if (strlen(s) < 2 || !strchr(more, s[0]) || strchr("_.-", s[0]))
		return false;
	return strspn(s, more) == strlen(s);
}

static struct volume *find_volume(struct fake_engine *fe, const char *name)
{
	for (size_t i = 0; i < fe->nvols; i++)
		if (!strcmp(fe->vols[i]->name, name))
			return fe->vols[i];
	return NULL;
}

/* Adds a volume; takes `labels` (an object, or NULL for none) in all cases. */
static struct volume *volume_add(struct fake_engine *fe, const char *name, cJSON *labels)
{
	struct volume *v = calloc(1, sizeof(*v));
	if (!labels)
		labels = cJSON_CreateObject();
	if (!v || !labels || !(v->name = strdup(name)) ||
	    !grow(&fe->vols, &fe->cap_vols, fe->nvols + 1, sizeof(*fe->vols))) {
		if (v)
			free(v->name);
		free(v);
		cJSON_Delete(labels);
		return NULL;
	}
	v->labels = labels;
	v->created = now(CLOCK_REALTIME);
	fe->vols[fe->nvols++] = v;
	return v;
}

static void volume_free(struct volume *v)
{
	free(v->name);
	cJSON_Delete(v->labels);
	free(v);
}

static void volume_remove(struct fake_engine *fe, struct volume *v)
{
	for (size_t i = 0; i < fe->nvols; i++) {
		if (fe->vols[i] == v) {
			memmove(fe->vols + i, fe->vols + i + 1,
				(fe->nvols - i - 1) * sizeof(*fe->vols));
			fe->nvols--;
			break;
		}
	}
	volume_free(v);
}

/* Live containers that mount `name`, as Docker lists them: "[ID ID]". */
static size_t volume_users(struct fake_engine *fe, const char *name, char *ids, size_t cap)
{
	size_t n = 0, off = 0;
	if (cap > 0)
		ids[0] = '\0';
	for (size_t i = 0; i < fe->ncs; i++) {
		const struct container *c = fe->cs[i];
		bool uses = false;
		for (size_t k = 0; !c->removed && k < c->nmounts && !uses; k++)
			uses = !strcmp(c->mounts[k].volume, name);
		if (!uses)
			continue;
		if (off < cap) {
			int w = snprintf(ids + off, cap - off, "%s%s", n ? " " : "", c->id);
			off += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}

static struct blob *blob_find(struct blob *b, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].path, path))
			return &b[i];
	return NULL;
}

/* Stores a copy of data under path, replacing what was there. */
static bool blob_set(struct blob **arr, size_t *n, size_t *cap, const char *path, const void *data,
		     size_t len)
{
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return false;
	if (len)
		memcpy(copy, data, len);
	struct blob *b = blob_find(*arr, *n, path);
	if (!b) {
		char *p = strdup(path);
		if (!p || !grow(arr, cap, *n + 1, sizeof(**arr))) {
			free(p);
			free(copy);
			return false;
		}
		b = &(*arr)[(*n)++];
		b->path = p;
		b->data = NULL;
	}
	free(b->data);
	b->data = copy;
	b->len = len;
	return true;
}

static void blobs_free(struct blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].path);
		free(b[i].data);
	}
	free(b);
}

/* What GET .../archive?path= answers: the test's bytes, else the last PUT. */
static const struct blob *archive_lookup(struct fake_engine *fe, const struct container *c,
					 const char *path)
{
	const struct blob *b = blob_find(fe->tars, fe->ntars, path);
	return b ? b : blob_find(c->puts, c->nputs, path);
}

/* ---- responses ---- */

static ssize_t drop_reader(void *cls, uint64_t pos, char *buf, size_t max);

static enum MHD_Result queue(struct fake_engine *fe, struct MHD_Connection *conn, unsigned status,
			     struct MHD_Response *r, const char *ctype)
{
	if (!r)
		return MHD_NO;
	if (fe->lose_answer) {
		fe->lose_answer = false;
		MHD_destroy_response(r);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, drop_reader, NULL,
						      NULL);
		if (!r)
			return MHD_NO;
	}
	bool ok = MHD_add_response_header(r, "Api-Version", fe->api_version) == MHD_YES &&
		  MHD_add_response_header(r, "Server", "fake-engine") == MHD_YES &&
		  (!ctype || MHD_add_response_header(r, "Content-Type", ctype) == MHD_YES);
	enum MHD_Result ret = ok ? MHD_queue_response(conn, status, r) : MHD_NO;
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct fake_engine *fe, struct MHD_Connection *conn,
				  unsigned status, const char *body, const char *ctype)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	return queue(fe, conn, status, r, ctype);
}

static enum MHD_Result reply_json(struct fake_engine *fe, struct MHD_Connection *conn,
				  unsigned status, cJSON *obj)
{
	char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
	cJSON_Delete(obj);
	if (!s)
		return reply_text(fe, conn, 500, "{\"message\":\"out of memory\"}",
				  "application/json");
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!r)
		free(s);
	return queue(fe, conn, status, r, "application/json");
}

/* For JSON whose interpolated values need no escaping (ids, numbers). */
__attribute__((format(printf, 4, 5))) static enum MHD_Result reply_fmt(struct fake_engine *fe,
								       struct MHD_Connection *conn,
								       unsigned status,
								       const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return reply_text(fe, conn, 500, "{\"message\":\"out of memory\"}",
				  "application/json");
	struct MHD_Response *r =
	    MHD_create_response_from_buffer((size_t)n, s, MHD_RESPMEM_MUST_FREE);
	if (!r)
		free(s);
	return queue(fe, conn, status, r, "application/json");
}

__attribute__((format(printf, 4, 5))) static enum MHD_Result
reply_error(struct fake_engine *fe, struct MHD_Connection *conn, unsigned status, const char *fmt,
	    ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	if (o && !cJSON_AddStringToObject(o, "message", msg)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return reply_json(fe, conn, status, o);
}

static enum MHD_Result reply_empty(struct fake_engine *fe, struct MHD_Connection *conn,
				   unsigned status)
{
	return queue(fe, conn, status,
		     MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL);
}

static ssize_t drop_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	static const char part[] = "{\"Id\":\"ab";
	(void)cls;
	if (pos > 0 || max < sizeof(part) - 1)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	memcpy(buf, part, sizeof(part) - 1);
	return (ssize_t)(sizeof(part) - 1);
}

/* ---- blocking in handlers ---- */

static bool peer_gone(const struct fake_engine *fe, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	char b;
	if (!ci)
		return false;
	if (recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		return true;
	/* a TLS client that goes away sends close_notify first: those bytes
	 * stay unread before the end of the stream, which the peek above never
	 * reaches */
	struct pollfd p = { .fd = ci->connect_fd, .events = POLLRDHUP };
	return fe->port && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* One bounded sleep of a blocked handler; false when it should give up. */
static bool handler_wait(struct fake_engine *fe, struct MHD_Connection *conn,
			 const struct timespec *until)
{
	if (fe->stopping || peer_gone(fe, conn))
		return false;
	struct timespec t = ts_add(now(CLOCK_MONOTONIC), 0.2);
	if (until && ts_before(until, &t))
		t = *until;
	engine_wait(fe, &t);
	engine_tick(fe);
	return !fe->stopping;
}

/* FAKE_FAULT_DROP on GET archive: the first half of the tar, then an error. */
struct part_reader {
	char *data;
	size_t len;
};

static ssize_t part_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct part_reader *p = cls;
	if (pos >= p->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = p->len - pos < max ? (size_t)(p->len - pos) : max;
	memcpy(buf, p->data + pos, n);
	return (ssize_t)n;
}

static void part_free(void *cls)
{
	struct part_reader *p = cls;
	free(p->data);
	free(p);
}

/* "/containers/REF/archive" -> REF in ref; false for other paths. */
static bool archive_ref(const char *path, char *ref, size_t cap)
{
	static const char pre[] = "/containers/", post[] = "/archive";
	size_t plen = strlen(path), n;
	if (strncmp(path, pre, sizeof(pre) - 1) || plen < sizeof(pre) - 1 + sizeof(post) ||
	    strcmp(path + plen - (sizeof(post) - 1), post))
		return false;
	n = plen - (sizeof(pre) - 1) - (sizeof(post) - 1);
	if (n == 0 || n >= cap || memchr(path + sizeof(pre) - 1, '/', n))
		return false;
	memcpy(ref, path + sizeof(pre) - 1, n);
	ref[n] = '\0';
	return true;
}

static struct MHD_Response *drop_archive(struct fake_engine *fe, struct MHD_Connection *conn,
					 const char *path)
{
	char ref[256];
	const char *p = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "path");
	const struct container *c =
	    archive_ref(path, ref, sizeof(ref)) && p && *p ? find_container(fe, ref) : NULL;
	const struct blob *b = c ? archive_lookup(fe, c, p) : NULL;
	if (!b)
		return NULL;
	struct part_reader *pr = calloc(1, sizeof(*pr));
	if (pr) {
		pr->len = b->len > 1 ? b->len / 2 : b->len;
		pr->data = malloc(pr->len ? pr->len : 1);
	}
	if (!pr || !pr->data) {
		free(pr);
		return NULL;
	}
	memcpy(pr->data, b->data, pr->len);
	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, part_read, pr, part_free);
	if (!r)
		part_free(pr);
	return r;
}

/* FAKE_FAULT_SLOW: a ustar header for `big` of 1 GiB, then its zeros, a
 * little at a time. */
struct slow_reader {
	struct fake_engine *fe;
	struct timespec until;
};

static ssize_t slow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct slow_reader *s = cls;
	struct timespec t = now(CLOCK_MONOTONIC);
	size_t n = max < 4096 ? max : 4096;

	if (s->fe->stopping || !ts_before(&t, &s->until))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos > 0)
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	memset(buf, 0, n);
	if (pos == 0 && n >= 512) {
		unsigned sum = 0;
		memcpy(buf, "big", 3);
		memcpy(buf + 100, "0000644", 7);
		memcpy(buf + 108, "0000000", 7);
		memcpy(buf + 116, "0000000", 7);
		memcpy(buf + 124, "10000000000", 11); /* 1 GiB, octal */
		memcpy(buf + 136, "00000000000", 11);
		memset(buf + 148, ' ', 8);
		buf[156] = '0';
		memcpy(buf + 257, "ustar", 6);
		memcpy(buf + 263, "00", 2);
		for (int i = 0; i < 512; i++)
			sum += (unsigned char)buf[i];
		snprintf(buf + 148, 8, "%06o", sum);
	}
	return (ssize_t)n;
}

static enum MHD_Result h_attach(struct fake_engine *fe, struct MHD_Connection *conn,
				struct container *c, bool drop);

static enum MHD_Result apply_fault(struct fake_engine *fe, struct MHD_Connection *conn,
				   const struct rule *r, const char *method, const char *path)
{
	bool create = !strcmp(method, "POST") &&
		      (!strcmp(path, "/containers/create") || !strcmp(path, "/volumes/create"));
	unsigned ok = create ? 201 : 200;
	switch (r->fault) {
	case FAKE_FAULT_STATUS:
		return reply_error(fe, conn, (unsigned)r->status, "%s",
				   r->message ? r->message : "");
	case FAKE_FAULT_DROP: {
		/* an attach: served, then cut after the first 4 KiB of stdin */
		const char *at = strstr(path, "/attach");
		if (at && !strncmp(path, "/containers/", 12) && at > path + 12) {
			char ref[256];
			size_t n = (size_t)(at - path - 12);
			struct container *c = NULL;
			if (n < sizeof(ref)) {
				memcpy(ref, path + 12, n);
				ref[n] = '\0';
				c = find_container(fe, ref);
			}
			if (c)
				return h_attach(fe, conn, c, true);
		}
		struct MHD_Response *tar =
		    !strcmp(method, "GET") ? drop_archive(fe, conn, path) : NULL;
		if (tar)
			return queue(fe, conn, 200, tar, "application/x-tar");
		return queue(fe, conn, ok,
			     MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, drop_reader,
							       NULL, NULL),
			     "application/json");
	}
	case FAKE_FAULT_HANG: {
		struct timespec until = ts_add(now(CLOCK_MONOTONIC), 60), t = now(CLOCK_MONOTONIC);
		while (ts_before(&t, &until) && handler_wait(fe, conn, &until))
			t = now(CLOCK_MONOTONIC);
		return MHD_NO;
	}
	case FAKE_FAULT_MALFORMED:
		return reply_text(fe, conn, ok, "this is not json", "application/json");
	case FAKE_FAULT_TRUNCATED:
		return reply_text(fe, conn, ok,
				  strstr(path, "/wait")           ? "{\"StatusCode\":"
				  : !strncmp(path, "/volumes", 8) ? "{\"Name\":\"ab"
								  : "{\"Id\":\"0123",
				  "application/json");
	case FAKE_FAULT_SLOW: {
		struct slow_reader *s = calloc(1, sizeof(*s));
		if (!s)
			return MHD_NO;
		s->fe = fe;
		s->until = ts_add(now(CLOCK_MONOTONIC), 60);
		struct MHD_Response *resp =
		    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, slow_read, s, free);
		if (!resp)
			free(s);
		return queue(fe, conn, 200, resp, "application/x-tar");
	}
	case FAKE_FAULT_LOST:
	case FAKE_FAULT_DELAY:
		break; /* handled by the caller */
	case FAKE_FAULT_BADFRAME: {
		static const char frames[] = { 1, 0, 0, 0, 0, 0, 0, 2, 'o', 'k',
					       5, 0, 0, 0, 0, 0, 0, 1, 'x' };
		struct MHD_Response *resp = MHD_create_response_from_buffer(
		    sizeof(frames), (void *)frames, MHD_RESPMEM_MUST_COPY);
		return queue(fe, conn, 200, resp, "application/vnd.docker.raw-stream");
	}
	}
	return MHD_NO;
}

/* ---- endpoints (fe->lock held) ---- */

static enum MHD_Result h_image(struct fake_engine *fe, struct MHD_Connection *conn,
			       const char *name)
{
	struct image *im = find_image(fe, name);
	if (!im)
		return reply_error(fe, conn, 404, "No such image: %s", name);
	cJSON *o = cJSON_CreateObject(), *tags = cJSON_AddArrayToObject(o, "RepoTags");
	cJSON *cfg = cJSON_AddObjectToObject(o, "Config"), *tag = cJSON_CreateString(im->name);
	if (tags && tag && cJSON_AddItemToArray(tags, tag))
		tag = NULL;
	cJSON *labels = im->labels && im->labels_shown ? cJSON_Duplicate(im->labels, true)
						      : cJSON_CreateNull();
	if (labels && cfg && cJSON_AddItemToObject(cfg, "Labels", labels))
		labels = NULL;
	if (tag || labels || !tags || !cfg || !cJSON_AddStringToObject(o, "Id", im->id) ||
	    !cJSON_AddStringToObject(cfg, "User", im->user)) {
		cJSON_Delete(labels);
		cJSON_Delete(tag);
		cJSON_Delete(o);
		o = NULL;
	}
	return reply_json(fe, conn, 200, o);
}

static void mounts_free(struct mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].volume);
		free(m[i].target);
		free(m[i].subpath);
	}
	free(m);
}

static void volume_gen_name(struct fake_engine *fe, char out[65])
{
	hex64(out, fe->id_seed ^ 0x766f6c756d65ULL ^ (++fe->vol_seq * 0x9e3779b97f4a7c15ULL));
}

/* filepath.IsLocal: relative, and no ".." climbs out of it. */
static bool subpath_local(const char *p)
{
	int depth = 0;
	if (!*p || *p == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2))
			depth--;
		else if (n > 0 && !(n == 1 && *p == '.'))
			depth++;
		if (depth < 0)
			return false;
		p += n;
		p += *p == '/';
	}
	return true;
}

static bool mount_push(struct mount *m, size_t *n, const char *vol, size_t vlen, const char *target,
		       const char *subpath, bool ro, bool anon)
{
	struct mount *x = &m[*n];
	x->volume = strndup(vol, vlen);
	x->target = strdup(target);
	x->subpath = strdup(subpath);
	x->ro = ro;
	x->anon = anon;
	++*n;
	return x->volume && x->target && x->subpath;
}

/* Collects the volumes a create body mounts (HostConfig.Mounts of Type
 * "volume", HostConfig.Binds "name:/target") into *out; 0, or an HTTP status
 * with msg set.  An engine older than API_SUBPATH drops VolumeOptions.Subpath
 * from `b`, as its JSON decoder would. */
static int create_mounts(struct fake_engine *fe, cJSON *b, const char *req_version,
			 struct mount **out, size_t *nout, char *msg, size_t cap)
{
	static const char badvol[] = "invalid mount config for type \"volume\": ";
	cJSON *hc = cJSON_GetObjectItemCaseSensitive(b, "HostConfig");
	*out = NULL;
	*nout = 0;
	if (!hc || cJSON_IsNull(hc))
		return 0;
	const cJSON *tmpfs = cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs");
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");
	const cJSON *binds = cJSON_GetObjectItemCaseSensitive(hc, "Binds");
	bool tmpfs_ok = !tmpfs || cJSON_IsNull(tmpfs) || cJSON_IsObject(tmpfs);
	for (const cJSON *t = cJSON_IsObject(tmpfs) ? tmpfs->child : NULL; t; t = t->next)
		tmpfs_ok = tmpfs_ok && cJSON_IsString(t);
	if (!cJSON_IsObject(hc) || !tmpfs_ok ||
	    (mounts && !cJSON_IsNull(mounts) && !cJSON_IsArray(mounts)) ||
	    (binds && !cJSON_IsNull(binds) && !cJSON_IsArray(binds))) {
		snprintf(msg, cap,
			 "json: cannot unmarshal HostConfig (Tmpfs must be a map of strings, "
			 "Mounts and Binds arrays)");
		return 400;
	}
	size_t max = (size_t)cJSON_GetArraySize(mounts) + (size_t)cJSON_GetArraySize(binds);
	struct mount *m = calloc(max ? max : 1, sizeof(*m));
	size_t n = 0;
	int engine = version_num(fe->api_version);
	int client = *req_version ? version_num(req_version) : engine;
	int status = m ? 0 : 500;
	if (!m)
		snprintf(msg, cap, "out of memory");
	for (const cJSON *e = cJSON_IsArray(mounts) ? mounts->child : NULL; e && !status;
	     e = e->next) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "Type");
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(e, "Source");
		const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(e, "Target");
		cJSON *vo = cJSON_GetObjectItemCaseSensitive(e, "VolumeOptions");
		const cJSON *sp = cJSON_GetObjectItemCaseSensitive(vo, "Subpath");
		const char *sub = "";
		status = 400;
		if (!cJSON_IsObject(e) || !cJSON_IsString(type)) {
			snprintf(msg, cap, "invalid mount config: mount type unknown");
		} else if (strcmp(type->valuestring, "volume")) {
			status = 0; /* bind, tmpfs, ...: accepted as they are */
		} else if (!cJSON_IsString(tgt) || !*tgt->valuestring) {
			snprintf(msg, cap, "%sfield Target must not be empty", badvol);
		} else if (tgt->valuestring[0] != '/') {
			snprintf(msg, cap, "%sinvalid mount path: '%s' mount path must be absolute",
				 badvol, tgt->valuestring);
		} else if (src && !cJSON_IsNull(src) && !cJSON_IsString(src)) {
			snprintf(msg, cap, "%sSource must be a string", badvol);
		} else if (cJSON_IsString(src) && *src->valuestring &&
			   !volume_name_ok(src->valuestring)) {
			snprintf(msg, cap,
				 "create %s: \"%s\" includes invalid characters for a local volume "
				 "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
				 "intended to pass a host directory, use absolute path",
				 src->valuestring, src->valuestring);
		} else if (sp && !cJSON_IsNull(sp) && !cJSON_IsString(sp)) {
			snprintf(msg, cap, "%sSubpath must be a string", badvol);
		} else if (!cJSON_IsString(sp) || !*sp->valuestring || engine < API_SUBPATH) {
			status = 0;
		} else if (client < API_SUBPATH) {
			snprintf(msg, cap, "VolumeOptions.Subpath needs API v1.45 or newer");
		} else if (!subpath_local(sp->valuestring)) {
			snprintf(msg, cap, "%ssubpath must be a relative path within the volume",
				 badvol);
		} else {
			status = 0;
			sub = sp->valuestring;
		}
		if (status || strcmp(type->valuestring, "volume"))
			continue;
		char gen[65];
		bool anon = !cJSON_IsString(src) || !*src->valuestring;
		if (anon)
			volume_gen_name(fe, gen);
		const char *name = anon ? gen : src->valuestring;
		if (!mount_push(m, &n, name, strlen(name), tgt->valuestring, sub,
				cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "ReadOnly")),
				anon)) {
			snprintf(msg, cap, "out of memory");
			status = 500;
		}
		if (sp && engine < API_SUBPATH)
			cJSON_DeleteItemFromObjectCaseSensitive(vo, "Subpath");
	}
	for (const cJSON *e = cJSON_IsArray(binds) ? binds->child : NULL; e && !status;
	     e = e->next) {
		const char *spec = cJSON_IsString(e) ? e->valuestring : NULL;
		const char *colon = spec ? strchr(spec, ':') : NULL;
		if (!colon || colon == spec || colon[1] != '/') {
			snprintf(msg, cap, "invalid volume specification: '%s'", spec ? spec : "");
			status = 400;
			continue;
		}
		if (spec[0] == '/')
			continue; /* a bind mount */
		size_t vlen = (size_t)(colon - spec), tlen = strcspn(colon + 1, ":");
		char name[256], target[1024];
		snprintf(name, sizeof(name), "%.*s", (int)vlen, spec);
		snprintf(target, sizeof(target), "%.*s", (int)tlen, colon + 1);
		const char *mode = colon[1 + tlen] ? colon + 2 + tlen : "";
		if (!volume_name_ok(name)) {
			snprintf(msg, cap,
				 "create %s: \"%s\" includes invalid characters for a local volume "
				 "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
				 "intended to pass a host directory, use absolute path",
				 name, name);
			status = 400;
		} else if (!mount_push(m, &n, name, vlen, target, "", strstr(mode, "ro") != NULL,
				       false)) {
			snprintf(msg, cap, "out of memory");
			status = 500;
		}
	}
	if (status) {
		mounts_free(m, n);
		return status;
	}
	*out = m;
	*nout = n;
	return 0;
}

/* As Docker and Podman do: the image's labels go into the container's
 * where the create body sets no value of the same key. */
static bool merge_image_labels(cJSON *b, const struct image *im)
{
	cJSON *labels = cJSON_GetObjectItemCaseSensitive(b, "Labels");

	if (!im->labels || !im->labels->child)
		return true;
	if (!cJSON_IsObject(labels)) {
		cJSON_DeleteItemFromObjectCaseSensitive(b, "Labels");
		if (!(labels = cJSON_AddObjectToObject(b, "Labels")))
			return false;
	}
	for (const cJSON *l = im->labels->child; l; l = l->next) {
		cJSON *copy;
		if (cJSON_GetObjectItemCaseSensitive(labels, l->string))
			continue;
		if (!(copy = cJSON_Duplicate(l, true)) ||
		    !cJSON_AddItemToObject(labels, l->string, copy)) {
			cJSON_Delete(copy);
			return false;
		}
	}
	return true;
}

static enum MHD_Result h_create(struct fake_engine *fe, struct MHD_Connection *conn,
				const struct fake_request *req)
{
	cJSON *b = cJSON_Parse(req->body);
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(b, "Image");
	if (!cJSON_IsObject(b) || !cJSON_IsString(img)) {
		cJSON_Delete(b);
		return reply_error(fe, conn, 400, "bad create body: need a JSON object with Image");
	}
	char msg[1024];
	struct mount *mounts;
	size_t nmounts;
	int status = create_mounts(fe, b, req->version, &mounts, &nmounts, msg, sizeof(msg));
	if (status) {
		cJSON_Delete(b);
		return reply_error(fe, conn, (unsigned)status, "%s", msg);
	}
	struct image *im = find_image(fe, img->valuestring);
	if (!im || !merge_image_labels(b, im)) {
		enum MHD_Result r =
		    im ? reply_error(fe, conn, 500, "out of memory")
		       : reply_error(fe, conn, 404, "No such image: %s", img->valuestring);
		mounts_free(mounts, nmounts);
		cJSON_Delete(b);
		return r;
	}
	const char *qname = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
	char gen[32];
	snprintf(gen, sizeof(gen), "fake_%zu", fe->ncs + 1);
	const char *name = qname && *qname ? (qname[0] == '/' ? qname + 1 : qname) : gen;
	for (size_t i = 0; i < fe->ncs; i++) {
		if (!fe->cs[i]->removed && !strcmp(fe->cs[i]->name, name)) {
			mounts_free(mounts, nmounts);
			cJSON_Delete(b);
			return reply_error(
			    fe, conn, 409,
			    "Conflict. The container name \"/%s\" is already in use "
			    "by container \"%s\". You have to remove (or rename) that "
			    "container to be able to reuse that name.",
			    name, fe->cs[i]->id);
		}
	}
	struct container *c = calloc(1, sizeof(*c));
	bool vols_ok = true;
	for (size_t i = 0; i < nmounts && vols_ok; i++) {
		if (find_volume(fe, mounts[i].volume))
			continue;
		cJSON *lab = NULL;
		if (mounts[i].anon &&
		    (!(lab = cJSON_CreateObject()) ||
		     !cJSON_AddStringToObject(lab, "com.docker.volume.anonymous", ""))) {
			cJSON_Delete(lab);
			vols_ok = false;
			break;
		}
		vols_ok = volume_add(fe, mounts[i].volume, lab) != NULL;
	}
	if (!c || !vols_ok || !(c->name = strdup(name)) ||
	    !grow(&fe->cs, &fe->cap_cs, fe->ncs + 1, sizeof(*fe->cs))) {
		if (c)
			free(c->name);
		free(c);
		mounts_free(mounts, nmounts);
		cJSON_Delete(b);
		return reply_error(fe, conn, 500, "out of memory");
	}
	hex64(c->id, fe->id_seed + fe->ncs * 0x1000193ULL);
	c->body = b;
	c->mounts = mounts;
	c->nmounts = nmounts;
	c->created = now(CLOCK_REALTIME);
	fe->cs[fe->ncs++] = c;
	pthread_cond_broadcast(&fe->cond);
	return reply_fmt(fe, conn, 201, "{\"Id\":\"%s\",\"Warnings\":[]}", c->id);
}

static const char *state_name(enum cstate s)
{
	switch (s) {
	case CS_CREATED:
		return "created";
	case CS_RUNNING:
		return "running";
	case CS_EXITED:
		return "exited";
	}
	return "dead";
}

/* Inspect's "Mounts": the volumes, as Docker shows them. */
static bool add_mounts(cJSON *o, const struct container *c)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "Mounts");
	for (size_t i = 0; arr && i < c->nmounts; i++) {
		const struct mount *m = &c->mounts[i];
		char src[600];
		snprintf(src, sizeof(src), "/var/lib/docker/volumes/%s/_data", m->volume);
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			return false;
		}
		if (!cJSON_AddStringToObject(e, "Type", "volume") ||
		    !cJSON_AddStringToObject(e, "Name", m->volume) ||
		    !cJSON_AddStringToObject(e, "Source", src) ||
		    !cJSON_AddStringToObject(e, "Destination", m->target) ||
		    !cJSON_AddStringToObject(e, "Driver", "local") ||
		    !cJSON_AddStringToObject(e, "Mode", "z") ||
		    !cJSON_AddBoolToObject(e, "RW", !m->ro) ||
		    !cJSON_AddStringToObject(e, "Propagation", ""))
			return false;
	}
	return arr != NULL;
}

static enum MHD_Result h_inspect(struct fake_engine *fe, struct MHD_Connection *conn,
				 const struct container *c)
{
	char created[64], started[64], finished[64], name[300];
	rfc3339(created, &c->created);
	rfc3339(started, &c->started);
	rfc3339(finished, &c->finished);
	snprintf(name, sizeof(name), "/%s", c->name);
	cJSON *o = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(o, "State");
	cJSON *cfg = cJSON_Duplicate(c->body, true);
	const cJSON *hc0 = cJSON_GetObjectItemCaseSensitive(c->body, "HostConfig");
	cJSON *hc = hc0 ? cJSON_Duplicate(hc0, true) : cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(cfg, "HostConfig");
	cJSON_DeleteItemFromObjectCaseSensitive(cfg, "NetworkingConfig");
	bool ok = st && cJSON_AddStringToObject(o, "Id", c->id) &&
		  cJSON_AddStringToObject(o, "Name", name) &&
		  cJSON_AddStringToObject(o, "Created", created) &&
		  cJSON_AddStringToObject(st, "Status", state_name(c->state)) &&
		  cJSON_AddBoolToObject(st, "Running", c->state == CS_RUNNING) &&
		  cJSON_AddNumberToObject(st, "ExitCode", c->exit_code) &&
		  cJSON_AddBoolToObject(st, "OOMKilled", c->oom) &&
		  cJSON_AddNumberToObject(st, "Pid", c->pid) &&
		  cJSON_AddStringToObject(st, "StartedAt", started) &&
		  cJSON_AddStringToObject(st, "FinishedAt", finished) && add_mounts(o, c);
	if (ok && cfg && hc && cJSON_AddItemToObject(o, "Config", cfg)) {
		cfg = NULL;
		if (cJSON_AddItemToObject(o, "HostConfig", hc))
			hc = NULL;
	}
	if (!ok || cfg || hc) {
		cJSON_Delete(cfg);
		cJSON_Delete(hc);
		cJSON_Delete(o);
		o = NULL;
	}
	return reply_json(fe, conn, 200, o);
}

/* Filter values come as ["a","b"] or, in the older form, {"a":true}. */
static bool label_match(const cJSON *labels, const cJSON *want)
{
	for (const cJSON *w = want->child; w; w = w->next) {
		const char *s = cJSON_IsString(w) ? w->valuestring : w->string;
		if (!s)
			return false;
		const char *eq = strchr(s, '=');
		size_t klen = eq ? (size_t)(eq - s) : strlen(s);
		const cJSON *hit = NULL;
		for (const cJSON *l = labels ? labels->child : NULL; l && !hit; l = l->next)
			if (strlen(l->string) == klen && !strncmp(l->string, s, klen))
				hit = l;
		if (!hit || (eq && (!cJSON_IsString(hit) || strcmp(hit->valuestring, eq + 1))))
			return false;
	}
	return true;
}

static bool name_match(const char *name, const cJSON *want)
{
	for (const cJSON *w = want->child; w; w = w->next) {
		const char *s = cJSON_IsString(w) ? w->valuestring : w->string;
		if (s && strstr(name, s[0] == '/' ? s + 1 : s))
			return true;
	}
	return !want->child;
}

static cJSON *list_item(const struct container *c)
{
	char name[300], status[64];
	snprintf(name, sizeof(name), "/%s", c->name);
	if (c->state == CS_EXITED)
		snprintf(status, sizeof(status), "Exited (%d)", c->exit_code);
	else
		snprintf(status, sizeof(status), "%s", c->state == CS_RUNNING ? "Up" : "Created");
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(c->body, "Image");
	const cJSON *lab = cJSON_GetObjectItemCaseSensitive(c->body, "Labels");
	cJSON *o = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(o, "Names");
	cJSON *n = cJSON_CreateString(name);
	cJSON *labels = cJSON_IsObject(lab) ? cJSON_Duplicate(lab, true) : cJSON_CreateObject();
	if (!names || !n || !labels || !cJSON_AddItemToArray(names, n)) {
		cJSON_Delete(n);
		cJSON_Delete(labels);
		cJSON_Delete(o);
		return NULL;
	}
	if (!cJSON_AddItemToObject(o, "Labels", labels)) {
		cJSON_Delete(labels);
		cJSON_Delete(o);
		return NULL;
	}
	if (!cJSON_AddStringToObject(o, "Id", c->id) ||
	    !cJSON_AddStringToObject(o, "Image", img->valuestring) ||
	    !cJSON_AddStringToObject(o, "State", state_name(c->state)) ||
	    !cJSON_AddStringToObject(o, "Status", status) ||
	    !cJSON_AddNumberToObject(o, "Created", (double)c->created.tv_sec)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static enum MHD_Result h_list(struct fake_engine *fe, struct MHD_Connection *conn)
{
	const char *all = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "all");
	const char *fs = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "filters");
	bool show_all = all && (!strcmp(all, "1") || !strcmp(all, "true"));
	cJSON *filters = fs && *fs ? cJSON_Parse(fs) : NULL;
	if (fs && *fs && !cJSON_IsObject(filters)) {
		cJSON_Delete(filters);
		return reply_error(fe, conn, 400, "invalid filter: %s", fs);
	}
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(filters, "label");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(filters, "name");
	for (const cJSON *f = filters ? filters->child : NULL; f; f = f->next) {
		if (strcmp(f->string, "label") && strcmp(f->string, "name")) {
			enum MHD_Result r =
			    reply_error(fe, conn, 400, "invalid filter '%s'", f->string);
			cJSON_Delete(filters);
			return r;
		}
	}
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = fe->ncs; arr && i-- > 0;) {
		const struct container *c = fe->cs[i];
		if (c->removed || (!show_all && c->state != CS_RUNNING) ||
		    (label &&
		     !label_match(cJSON_GetObjectItemCaseSensitive(c->body, "Labels"), label)) ||
		    (name && !name_match(c->name, name)))
			continue;
		cJSON *it = list_item(c);
		if (!it || !cJSON_AddItemToArray(arr, it)) {
			cJSON_Delete(it);
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	cJSON_Delete(filters);
	return reply_json(fe, conn, 200, arr);
}

/* Like Docker (API >= 1.30): the headers go out as soon as the wait is
 * registered, the body when the condition is met.  Clients rely on this to
 * know that a wait is in place before they start the container. */
struct wait_reader {
	struct fake_engine *fe;
	struct container *c;
	unsigned long arrival;
	int cond; /* 0 not-running, 1 next-exit, 2 removed */
	bool sent;
};

static ssize_t wait_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct wait_reader *r = cls;
	struct fake_engine *fe = r->fe;
	struct container *c = r->c;
	ssize_t ret;
	(void)pos;
	if (r->sent)
		return MHD_CONTENT_READER_END_OF_STREAM;
	pthread_mutex_lock(&fe->lock);
	for (;;) {
		engine_tick(fe);
		if (r->cond == 2   ? c->removed
		    : r->cond == 1 ? c->last_exit_seq > r->arrival || c->removed
				   : c->state != CS_RUNNING) {
			int n = snprintf(buf, max, "{\"StatusCode\":%d,\"Error\":null}\n",
					 c->exit_code);
			ret = n > 0 && (size_t)n < max ? n : MHD_CONTENT_READER_END_WITH_ERROR;
			r->sent = true;
			break;
		}
		if (fe->stopping) {
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		struct timespec t = ts_add(now(CLOCK_MONOTONIC), 0.2);
		engine_wait(fe, &t);
	}
	pthread_mutex_unlock(&fe->lock);
	return ret;
}

static enum MHD_Result h_wait(struct fake_engine *fe, struct MHD_Connection *conn,
			      struct container *c, unsigned long arrival)
{
	const char *cond = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "condition");
	if (!cond || !*cond)
		cond = "not-running";
	if (strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed"))
		return reply_error(fe, conn, 400, "invalid condition: \"%s\"", cond);
	struct wait_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return reply_error(fe, conn, 500, "out of memory");
	r->fe = fe;
	r->c = c;
	r->arrival = arrival;
	r->cond = !strcmp(cond, "removed") ? 2 : !strcmp(cond, "next-exit") ? 1 : 0;
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256, wait_read, r, free);
	if (!resp)
		free(r);
	return queue(fe, conn, 200, resp, "application/json");
}

struct log_reader {
	struct fake_engine *fe;
	struct container *c;
	size_t off, frame_left;
	bool skip, follow, want[3];
	bool live; /* came while the container ran: see "partial" */
};

static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_reader *r = cls;
	struct fake_engine *fe = r->fe;
	struct container *c = r->c;
	ssize_t ret = 0;
	(void)pos;
	pthread_mutex_lock(&fe->lock);
	for (;;) {
		engine_tick(fe);
		size_t n = 0, end = c->out_len;
		if (r->follow && r->live && c->tail_lost && c->state != CS_RUNNING)
			end = c->tail_at;
		while (n < max && r->off < end) {
			if (r->frame_left == 0) {
				const unsigned char *h = (unsigned char *)c->out + r->off;
				r->frame_left = 8 + ((size_t)h[4] << 24 | (size_t)h[5] << 16 |
						     (size_t)h[6] << 8 | h[7]);
				r->skip = h[0] > 2 || !r->want[h[0]];
			}
			size_t take = r->frame_left < max - n ? r->frame_left : max - n;
			if (!r->skip) {
				memcpy(buf + n, c->out + r->off, take);
				n += take;
			}
			r->off += take;
			r->frame_left -= take;
		}
		if (n > 0) {
			ret = (ssize_t)n;
			break;
		}
		if (r->off == end && !(r->follow && r->live && c->stalled && !c->removed) &&
		    (!r->follow || (c->state != CS_RUNNING && !c->held) || c->removed)) {
			ret = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (fe->stopping) {
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		struct timespec t = ts_add(now(CLOCK_MONOTONIC), 0.2);
		engine_wait(fe, &t);
	}
	pthread_mutex_unlock(&fe->lock);
	return ret;
}

static bool query_flag(struct MHD_Connection *conn, const char *key)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
	return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

static enum MHD_Result h_logs(struct fake_engine *fe, struct MHD_Connection *conn,
			      struct container *c)
{
	struct log_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return reply_error(fe, conn, 500, "out of memory");
	r->fe = fe;
	r->c = c;
	r->follow = query_flag(conn, "follow");
	r->live = c->state == CS_RUNNING;
	r->want[1] = query_flag(conn, "stdout");
	r->want[2] = query_flag(conn, "stderr");
	if (!r->want[1] && !r->want[2]) {
		free(r);
		return reply_error(fe, conn, 400,
				   "Bad parameters: you must choose at least one stream");
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, log_read, r, free);
	if (!resp)
		free(r);
	return queue(fe, conn, 200, resp, "application/vnd.docker.raw-stream");
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = { { "HUP", 1 },   { "INT", 2 },   { "QUIT", 3 }, { "KILL", 9 },
		     { "USR1", 10 }, { "USR2", 12 }, { "TERM", 15 } };
	if (!s || !*s)
		return 9;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < 65 ? (int)n : -1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(sigs[i].name, s))
			return sigs[i].num;
	return -1;
}

static enum MHD_Result h_stop(struct fake_engine *fe, struct MHD_Connection *conn,
			      struct container *c)
{
	const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "t");
	double secs = t && *t ? strtod(t, NULL) : 10;
	if (c->state != CS_RUNNING)
		return reply_empty(fe, conn, 304);
	deliver(fe, c, 15);
	struct timespec until = ts_add(now(CLOCK_MONOTONIC), secs < 0 ? 1e9 : secs);
	while (c->state == CS_RUNNING) {
		struct timespec t_now = now(CLOCK_MONOTONIC);
		if (!ts_before(&t_now, &until)) {
			deliver(fe, c, 9);
			break;
		}
		if (!handler_wait(fe, conn, &until))
			return MHD_NO;
	}
	return reply_empty(fe, conn, 204);
}

/* ---- volumes ---- */

static cJSON *volume_json(const struct volume *v)
{
	char mp[600], created[64];
	struct tm tm;
	snprintf(mp, sizeof(mp), "/var/lib/docker/volumes/%s/_data", v->name);
	if (gmtime_r(&v->created.tv_sec, &tm))
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(created, sizeof(created), "0001-01-01T00:00:00Z");
	cJSON *o = cJSON_CreateObject(), *labels = cJSON_Duplicate(v->labels, true);
	if (o && labels && cJSON_AddStringToObject(o, "CreatedAt", created) &&
	    cJSON_AddStringToObject(o, "Driver", "local") &&
	    cJSON_AddItemToObject(o, "Labels", labels)) {
		labels = NULL;
		if (cJSON_AddStringToObject(o, "Mountpoint", mp) &&
		    cJSON_AddStringToObject(o, "Name", v->name) &&
		    cJSON_AddNullToObject(o, "Options") &&
		    cJSON_AddStringToObject(o, "Scope", "local"))
			return o;
	}
	cJSON_Delete(labels);
	cJSON_Delete(o);
	return NULL;
}

static enum MHD_Result h_volume_create(struct fake_engine *fe, struct MHD_Connection *conn,
				       const char *body)
{
	cJSON *b = *body ? cJSON_Parse(body) : cJSON_CreateObject();
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "Name");
	const cJSON *driver = cJSON_GetObjectItemCaseSensitive(b, "Driver");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(b, "Labels");
	bool labels_ok = !labels || cJSON_IsNull(labels) || cJSON_IsObject(labels);
	for (const cJSON *l = cJSON_IsObject(labels) ? labels->child : NULL; l; l = l->next)
		labels_ok = labels_ok && cJSON_IsString(l);
	if (!cJSON_IsObject(b) || (name && !cJSON_IsNull(name) && !cJSON_IsString(name)) ||
	    (driver && !cJSON_IsNull(driver) && !cJSON_IsString(driver)) || !labels_ok) {
		cJSON_Delete(b);
		return reply_error(fe, conn, 400,
				   "invalid JSON: need an object with string Name, Driver and a "
				   "map of string Labels");
	}
	char gen[65];
	const char *n = cJSON_IsString(name) ? name->valuestring : "";
	const char *d =
	    cJSON_IsString(driver) && *driver->valuestring ? driver->valuestring : "local";
	enum MHD_Result r;
	struct volume *v;
	if (!*n) {
		volume_gen_name(fe, gen);
		n = gen;
	}
	if (strcmp(d, "local")) {
		r = reply_error(fe, conn, 404,
				"create %s: error looking up volume plugin %s: plugin \"%s\" not "
				"found",
				n, d, d);
	} else if (!volume_name_ok(n)) {
		r = reply_error(fe, conn, 400,
				"create %s: \"%s\" includes invalid characters for a local volume "
				"name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
				"intended to pass a host directory, use absolute path",
				n, n);
	} else if (fe->collide > 0) {
		/* someone else's volume of that name: created nothing, answers theirs */
		static const char foreign[] = "{\"jobcell.nonce\":\"0000000000000000\"}";
		struct volume other = { (char *)n, cJSON_Parse(foreign), now(CLOCK_REALTIME) };
		fe->collide--;
		r = other.labels ? reply_json(fe, conn, 201, volume_json(&other))
				 : reply_error(fe, conn, 500, "out of memory");
		cJSON_Delete(other.labels);
	} else if ((v = find_volume(fe, n)) != NULL) {
		r = reply_json(fe, conn, 201, volume_json(v)); /* Docker: the old one, as is */
	} else {
		cJSON *lab = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, true) : NULL;
		v = volume_add(fe, n, lab);
		r = v ? reply_json(fe, conn, 201, volume_json(v))
		      : reply_error(fe, conn, 500, "out of memory");
	}
	cJSON_Delete(b);
	return r;
}

static bool volume_listed(struct fake_engine *fe, const struct volume *v, const cJSON *filters)
{
	for (const cJSON *f = filters ? filters->child : NULL; f; f = f->next) {
		if (!strcmp(f->string, "label") && !label_match(v->labels, f))
			return false;
		if (!strcmp(f->string, "name") && f->child && !name_match(v->name, f))
			return false;
		bool hit = !f->child;
		for (const cJSON *w = f->child; w && !hit; w = w->next) {
			const char *s = cJSON_IsString(w) ? w->valuestring : w->string;
			if (!s)
				continue;
			if (!strcmp(f->string, "driver"))
				hit = !strcmp(s, "local");
			else if (!strcmp(f->string, "dangling"))
				hit = (volume_users(fe, v->name, NULL, 0) == 0) ==
				      (!strcmp(s, "1") || !strcmp(s, "true"));
			else
				hit = true;
		}
		if (!hit)
			return false;
	}
	return true;
}

static enum MHD_Result h_volume_list(struct fake_engine *fe, struct MHD_Connection *conn)
{
	const char *fs = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "filters");
	cJSON *filters = fs && *fs ? cJSON_Parse(fs) : NULL;
	if (fs && *fs && !cJSON_IsObject(filters)) {
		cJSON_Delete(filters);
		return reply_error(fe, conn, 400, "invalid filter: %s", fs);
	}
	for (const cJSON *f = filters ? filters->child : NULL; f; f = f->next) {
		if ((strcmp(f->string, "label") && strcmp(f->string, "name") &&
		     strcmp(f->string, "driver") && strcmp(f->string, "dangling")) ||
		    !(cJSON_IsArray(f) || cJSON_IsObject(f))) {
			enum MHD_Result r =
			    reply_error(fe, conn, 400, "invalid filter '%s'", f->string);
			cJSON_Delete(filters);
			return r;
		}
	}
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "Volumes");
	if (!arr || !cJSON_AddNullToObject(o, "Warnings")) {
		cJSON_Delete(o);
		o = arr = NULL;
	}
	for (size_t i = 0; arr && i < fe->nvols; i++) {
		if (!volume_listed(fe, fe->vols[i], filters))
			continue;
		cJSON *it = volume_json(fe->vols[i]);
		if (!it || !cJSON_AddItemToArray(arr, it)) {
			cJSON_Delete(it);
			cJSON_Delete(o);
			o = arr = NULL;
		}
	}
	cJSON_Delete(filters);
	return reply_json(fe, conn, 200, o);
}

/* `rest` is what follows "/volumes". */
static enum MHD_Result h_volumes(struct fake_engine *fe, struct MHD_Connection *conn,
				 const char *method, const char *rest, const char *body)
{
	bool get = !strcmp(method, "GET");
	if (get && (!*rest || !strcmp(rest, "/")))
		return h_volume_list(fe, conn);
	if (!strcmp(method, "POST") && !strcmp(rest, "/create"))
		return h_volume_create(fe, conn, body);
	const char *name = rest[0] == '/' ? rest + 1 : NULL;
	if (!name || !*name || strchr(name, '/'))
		return reply_error(fe, conn, 404, "page not found");
	struct volume *v = find_volume(fe, name);
	if (get)
		return v ? reply_json(fe, conn, 200, volume_json(v))
			 : reply_error(fe, conn, 404, "get %s: no such volume", name);
	if (strcmp(method, "DELETE"))
		return reply_error(fe, conn, 404, "page not found");
	if (!v)
		return query_flag(conn, "force")
			   ? reply_empty(fe, conn, 204)
			   : reply_error(fe, conn, 404, "get %s: no such volume", name);
	char ids[800];
	if (volume_users(fe, name, ids, sizeof(ids)))
		return reply_error(fe, conn, 409, "remove %s: volume is in use - [%s]", name, ids);
	volume_remove(fe, v);
	return reply_empty(fe, conn, 204);
}

/* ---- archives ---- */

static char *base64(const char *in, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)in[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Go's os.FileMode of an st_mode (io/fs type bits). */
static double go_mode(mode_t m)
{
	double v = m & 0777;
	if (S_ISDIR(m))
		v += 2147483648.0; /* 1 << 31 */
	else if (S_ISLNK(m))
		v += 134217728.0; /* 1 << 27 */
	else if (S_ISFIFO(m))
		v += 33554432.0; /* 1 << 25 */
	else if (S_ISSOCK(m))
		v += 16777216.0; /* 1 << 24 */
	else if (S_ISCHR(m))
		v += 67108864.0 + 2097152.0; /* device, char device */
	else if (S_ISBLK(m))
		v += 67108864.0;
	if (m & S_ISUID)
		v += 8388608.0;
	if (m & S_ISGID)
		v += 4194304.0;
	if (m & S_ISVTX)
		v += 1048576.0;
	return v;
}

/* X-Docker-Container-Path-Stat: the path as `st` says (a bind mount's
 * source), or, without st, shown as a directory. */
static bool add_path_stat(struct MHD_Response *r, const char *path, const struct stat *st)
{
	char mtime[64];
	struct timespec t = st ? st->st_mtim : now(CLOCK_REALTIME);
	rfc3339(mtime, &t);
	const char *base = path;
	size_t blen = strlen(path);
	while (blen > 1 && path[blen - 1] == '/')
		blen--;
	for (size_t i = 0; i + 1 < blen; i++)
		if (path[i] == '/')
			base = path + i + 1;
	blen -= (size_t)(base - path);
	cJSON *o = cJSON_CreateObject();
	char name[1024];
	snprintf(name, sizeof(name), "%.*s", (int)blen, base);
	char *json = o && cJSON_AddStringToObject(o, "name", name) &&
			     cJSON_AddNumberToObject(o, "size", st ? (double)st->st_size : 0) &&
			     cJSON_AddNumberToObject(o, "mode",
						     st ? go_mode(st->st_mode) : 2147484141.0) &&
			     cJSON_AddStringToObject(o, "mtime", mtime) &&
			     cJSON_AddStringToObject(o, "linkTarget", "")
			 ? cJSON_PrintUnformatted(o)
			 : NULL;
	cJSON_Delete(o);
	char *b64 = json ? base64(json, strlen(json)) : NULL;
	bool ok = b64 && MHD_add_response_header(r, "X-Docker-Container-Path-Stat", b64) == MHD_YES;
	free(json);
	free(b64);
	return ok;
}

/* `path` lies at or beneath `dir` (component-wise); the rest after it. */
static const char *beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

/* The host path of container path `path` through the container's bind
 * mounts (HostConfig.Mounts of Type "bind", HostConfig.Binds "/src:/dst"),
 * the longest target first, then through fake_engine_map_path; false when
 * no bind holds it. */
static bool bind_host_path(struct fake_engine *fe, const struct container *c, const char *path,
			   char *out, size_t cap, char *src_out, size_t src_cap)
{
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(c->body, "HostConfig");
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");
	const cJSON *binds = cJSON_GetObjectItemCaseSensitive(hc, "Binds");
	char src[1024] = "", best[1024] = "";
	const char *rest = NULL;
	size_t blen = 0;
	for (const cJSON *e = cJSON_IsArray(mounts) ? mounts->child : NULL; e; e = e->next) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Type"));
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Source"));
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Target"));
		const char *r = type && s && t && !strcmp(type, "bind") ? beneath(path, t) : NULL;
		if (r && strlen(t) >= blen) {
			blen = strlen(t);
			rest = r;
			snprintf(best, sizeof(best), "%s", s);
		}
	}
	for (const cJSON *e = cJSON_IsArray(binds) ? binds->child : NULL; e; e = e->next) {
		const char *spec = cJSON_GetStringValue(e), *colon = spec ? strchr(spec, ':') : NULL;
		char t[1024];
		if (!colon || spec[0] != '/')
			continue;
		snprintf(t, sizeof(t), "%.*s", (int)strcspn(colon + 1, ":"), colon + 1);
		const char *r = beneath(path, t);
		if (r && strlen(t) >= blen) {
			blen = strlen(t);
			rest = r;
			snprintf(best, sizeof(best), "%.*s", (int)(colon - spec), spec);
		}
	}
	if (!rest)
		return false;
	snprintf(src, sizeof(src), "%s", best);
	for (size_t i = 0; i < fe->nmaps; i++) {
		const char *r = beneath(best, fe->map_from[i]);
		if (r) {
			snprintf(src, sizeof(src), "%s%s", fe->map_to[i], r);
			break;
		}
	}
	snprintf(out, cap, "%s%s", src, rest);
	snprintf(src_out, src_cap, "%s", src);
	return true;
}

static bool is_tar_type(const char *ct)
{
	static const char tar[] = "application/x-tar";
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, tar, sizeof(tar) - 1))
		return false;
	ct += sizeof(tar) - 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return !*ct || *ct == ';';
}

static enum MHD_Result h_archive(struct fake_engine *fe, struct MHD_Connection *conn,
				 const char *method, struct container *c, const char *ref,
				 const struct fake_request *req)
{
	const char *path = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "path");
	bool put = !strcmp(method, "PUT"), head = !strcmp(method, "HEAD");
	if (!put && !head && strcmp(method, "GET"))
		return reply_error(fe, conn, 404, "page not found");
	if (!path || !*path)
		return reply_error(fe, conn, 400, "bad parameter: path cannot be empty");
	if (put) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		if (!is_tar_type(ct))
			return reply_error(fe, conn, 400, "Content-Type must be application/x-tar");
		if (!blob_set(&c->puts, &c->nputs, &c->cap_puts, path, req->body, req->body_len))
			return reply_error(fe, conn, 500, "out of memory");
		return reply_empty(fe, conn, 200);
	}
	char host[2048], src[1024];
	struct stat st;
	if (head && bind_host_path(fe, c, path, host, sizeof(host), src, sizeof(src))) {
		/* a bind mount: what the engine's host has at the source, as
		 * Docker and Podman resolve it for a created container */
		if (fe->file_binds_fail && stat(src, &st) == 0 && !S_ISDIR(st.st_mode))
			return reply_error(fe, conn, 500,
					   "error in copier subprocess: changing to intended-new-root "
					   "directory \"%s\": chdir %s: not a directory",
					   src, src);
		if (lstat(host, &st) < 0)
			return reply_error(fe, conn, 404, "Could not find the file %s in container %s",
					   path, ref);
		struct MHD_Response *r =
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r && !add_path_stat(r, path, &st)) {
			MHD_destroy_response(r);
			r = NULL;
		}
		return queue(fe, conn, 200, r, NULL);
	}
	const struct blob *b = archive_lookup(fe, c, path);
	if (!b)
		return reply_error(fe, conn, 404, "Could not find the file %s in container %s",
				   path, ref);
	struct MHD_Response *r =
	    head ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
		 : MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_COPY);
	if (r && !add_path_stat(r, path, NULL)) {
		MHD_destroy_response(r);
		r = NULL;
	}
	return queue(fe, conn, 200, r, head ? NULL : "application/x-tar");
}

/* ---- attach: stdin only ---- */

struct attach_ctx {
	struct fake_engine *fe;
	struct container *c;
	bool drop; /* FAKE_FAULT_DROP: close after the first 4 KiB */
};

/* The stdin of `c` ended: "cat" writes what it got and exits 0. */
static void stdin_ended(struct fake_engine *fe, struct container *c)
{
	c->in_ended = true;
	if (c->cat && c->state == CS_RUNNING) {
		if (c->in_len && !emit(fe, c, 1, c->in, c->in_len)) {
			finish(fe, c, 1);
			return;
		}
		finish(fe, c, 0);
	}
}

/* The hijacked connection: what comes is the container's stdin, until the
 * client half-closes (or goes), as Docker passes it; the fake sends
 * nothing back (stdout and stderr are not attached). */
static void attach_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls,
			    const char *extra_in, size_t extra_in_size, MHD_socket sock,
			    struct MHD_UpgradeResponseHandle *urh)
{
	struct attach_ctx *a = cls;
	struct fake_engine *fe = a->fe;
	struct timespec until = ts_add(now(CLOCK_MONOTONIC), 60);
	char buf[16384];
	(void)conn;
	(void)req_cls;

	pthread_mutex_lock(&fe->lock);
	if (extra_in_size && grow(&a->c->in, &a->c->in_cap, a->c->in_len + extra_in_size, 1)) {
		memcpy(a->c->in + a->c->in_len, extra_in, extra_in_size);
		a->c->in_len += extra_in_size;
	}
	pthread_mutex_unlock(&fe->lock);
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct timespec t = now(CLOCK_MONOTONIC);
		ssize_t n = 0;
		bool stop;

		/* as Docker, the attach ends when the container exits */
		pthread_mutex_lock(&fe->lock);
		engine_tick(fe);
		stop = fe->stopping || !ts_before(&t, &until) || a->c->state == CS_EXITED ||
		       a->c->removed || (a->drop && a->c->in_len >= 4096);
		pthread_mutex_unlock(&fe->lock);
		if (stop)
			break;
		if (poll(&p, 1, 100) == 1)
			n = recv(sock, buf, a->drop ? 1024 : sizeof(buf), 0);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (p.revents && n == 0)
			break; /* the client's half-close: the end of stdin */
		if (n <= 0)
			continue;
		pthread_mutex_lock(&fe->lock);
		bool ok = grow(&a->c->in, &a->c->in_cap, a->c->in_len + (size_t)n, 1);
		if (ok) {
			memcpy(a->c->in + a->c->in_len, buf, (size_t)n);
			a->c->in_len += (size_t)n;
		}
		pthread_mutex_unlock(&fe->lock);
		if (!ok)
			break;
	}
	pthread_mutex_lock(&fe->lock);
	stdin_ended(fe, a->c);
	pthread_mutex_unlock(&fe->lock);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	free(a);
}

/* POST /containers/{ref}/attach: as Docker, 101 to a request that asks
 * for the upgrade; this fake serves stdin alone (stdin=1&stdout=0&stderr=0)
 * and answers 400 to anything else. */
static enum MHD_Result h_attach(struct fake_engine *fe, struct MHD_Connection *conn,
				struct container *c, bool drop)
{
	const char *up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
	const cJSON *open_in = cJSON_GetObjectItemCaseSensitive(c->body, "OpenStdin");
	struct attach_ctx *a;
	struct MHD_Response *r;

	if (!up || strcasecmp(up, "tcp"))
		return reply_error(fe, conn, 400, "fake: attach without Upgrade: tcp");
	if (!query_flag(conn, "stdin") || !query_flag(conn, "stream") ||
	    !MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "stdout") ||
	    query_flag(conn, "stdout") ||
	    !MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "stderr") ||
	    query_flag(conn, "stderr"))
		return reply_error(fe, conn, 400, "fake: attach serves stdin=1&stream=1 alone");
	if (!cJSON_IsTrue(open_in))
		return reply_error(fe, conn, 409, "fake: container %s has no open stdin", c->id);
	if (!(a = calloc(1, sizeof(*a))))
		return reply_error(fe, conn, 500, "out of memory");
	*a = (struct attach_ctx){ fe, c, drop };
	r = MHD_create_response_for_upgrade(attach_upgraded, a);
	if (!r) {
		free(a);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, "Upgrade", "tcp") != MHD_YES) {
		MHD_destroy_response(r);
		free(a);
		return MHD_NO;
	}
	return queue(fe, conn, 101, r, "application/vnd.docker.raw-stream");
}

static enum MHD_Result h_container(struct fake_engine *fe, struct MHD_Connection *conn,
				   const char *method, const char *rest,
				   const struct fake_request *req, unsigned long arrival)
{
	const char *slash = strchr(rest, '/');
	size_t rlen = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *action = slash ? slash + 1 : "";
	char ref[256];
	if (rlen == 0 || rlen >= sizeof(ref))
		return reply_error(fe, conn, 404, "page not found");
	memcpy(ref, rest, rlen);
	ref[rlen] = '\0';
	struct container *c = find_container(fe, ref);
	if (!c)
		return reply_error(fe, conn, 404, "No such container: %s", ref);
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	if (!strcmp(action, "archive"))
		return h_archive(fe, conn, method, c, ref, req);
	if (get && !strcmp(action, "json"))
		return h_inspect(fe, conn, c);
	if (get && !strcmp(action, "logs"))
		return h_logs(fe, conn, c);
	if (post && !strcmp(action, "wait"))
		return h_wait(fe, conn, c, arrival);
	if (post && !strcmp(action, "stop"))
		return h_stop(fe, conn, c);
	if (post && !strcmp(action, "attach"))
		return h_attach(fe, conn, c, false);
	if (post && !strcmp(action, "start")) {
		if (c->state == CS_RUNNING)
			return reply_empty(fe, conn, 304);
		const char *err = NULL;
		int status = program_start(fe, c, &err);
		return status ? reply_error(fe, conn, (unsigned)status, "%s", err)
			      : reply_empty(fe, conn, 204);
	}
	if (post && !strcmp(action, "kill")) {
		const char *s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "signal");
		int sig = parse_signal(s);
		if (sig < 0)
			return reply_error(fe, conn, 400, "Invalid signal: %s", s);
		if (c->state != CS_RUNNING)
			return reply_error(fe, conn, 409, "Container %s is not running", c->id);
		deliver(fe, c, sig);
		return reply_empty(fe, conn, 204);
	}
	if (!strcmp(method, "DELETE") && !*action) {
		if (c->state == CS_RUNNING && !query_flag(conn, "force"))
			return reply_error(fe, conn, 409,
					   "You cannot remove a running container %s. Stop the "
					   "container before attempting removal or force remove",
					   c->id);
		deliver(fe, c, 9);
		c->removed = true;
		/* ?v=1: its anonymous volumes go with it, when no one else uses them */
		for (size_t i = 0; query_flag(conn, "v") && i < c->nmounts; i++) {
			struct volume *v = find_volume(fe, c->mounts[i].volume);
			if (v && c->mounts[i].anon && !volume_users(fe, v->name, NULL, 0))
				volume_remove(fe, v);
		}
		pthread_cond_broadcast(&fe->cond);
		return reply_empty(fe, conn, 204);
	}
	return reply_error(fe, conn, 404, "page not found");
}

static enum MHD_Result route(struct fake_engine *fe, struct MHD_Connection *conn,
			     const char *method, const char *path, const struct fake_request *req,
			     unsigned long arrival)
{
	bool get = !strcmp(method, "GET");
	size_t plen = strlen(path);
	if ((get || !strcmp(method, "HEAD")) && !strcmp(path, "/_ping")) {
		struct MHD_Response *r =
		    MHD_create_response_from_buffer(2, (void *)"OK", MHD_RESPMEM_PERSISTENT);
		if (r && (MHD_add_response_header(r, "Docker-Experimental", "false") != MHD_YES ||
			  MHD_add_response_header(r, "Ostype", "linux") != MHD_YES ||
			  (fe->libpod &&
			   MHD_add_response_header(r, "Libpod-Api-Version", "4.3.1") != MHD_YES))) {
			MHD_destroy_response(r);
			r = NULL;
		}
		return queue(fe, conn, 200, r, "text/plain; charset=utf-8");
	}
	if (get && !strcmp(path, "/info")) /* route runs under fe->lock */
		return reply_fmt(fe, conn, 200,
				 "{\"OSType\":\"linux\",\"CgroupDriver\":\"%s\","
				 "\"CgroupVersion\":\"%s\"}",
				 *fe->cgroup_driver ? fe->cgroup_driver : "cgroupfs",
				 *fe->cgroup_version ? fe->cgroup_version : "1");
	if (get && !strcmp(path, "/version")) {
		return reply_fmt(fe, conn, 200,
				 "{\"Version\":\"99.0.0-fake\",\"ApiVersion\":\"%s\","
				 "\"MinAPIVersion\":\"1.24\",\"Os\":\"linux\"}",
				 fe->api_version);
	}
	if (get && plen > 13 && !strncmp(path, "/images/", 8) &&
	    !strcmp(path + plen - 5, "/json")) {
		char name[512];
		snprintf(name, sizeof(name), "%.*s", (int)(plen - 13), path + 8);
		return h_image(fe, conn, name);
	}
	if (!strcmp(method, "POST") && !strcmp(path, "/containers/create"))
		return h_create(fe, conn, req);
	if (get && !strcmp(path, "/containers/json"))
		return h_list(fe, conn);
	if (!strncmp(path, "/containers/", 12))
		return h_container(fe, conn, method, path + 12, req, arrival);
	if (!strncmp(path, "/volumes", 8) && (!path[8] || path[8] == '/'))
		return h_volumes(fe, conn, method, path + 8, req->body);
	return reply_error(fe, conn, 404, "page not found");
}

/* ---- MHD glue ---- */

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct fake_engine *fe = cls;
	struct conn_ctx *ctx = calloc(1, sizeof(*ctx));
	(void)conn;
	if (!ctx)
		return NULL;
	ctx->uri = strdup(uri);
	if (!ctx->uri) {
		free(ctx);
		return NULL;
	}
	pthread_mutex_lock(&fe->lock);
	ctx->exit_seq_at_arrival = fe->exit_seq;
	pthread_mutex_unlock(&fe->lock);
	return ctx;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx) {
		free(ctx->uri);
		free(ctx->body);
		free(ctx);
	}
	*con_cls = NULL;
}

static void free_request(struct fake_request *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	free(r->version);
	free(r);
}

/* Splits the raw URI into a recorded request, which takes the body from
 * ctx; lock held. */
static struct fake_request *record(struct fake_engine *fe, const char *method, struct conn_ctx *ctx)
{
	const char *uri = ctx->uri, *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	size_t vlen = 0;
	unsigned maj, min;
	int used = 0;
	if (sscanf(uri, "/v%u.%u%n", &maj, &min, &used) == 2 && (size_t)used < plen &&
	    uri[used] == '/')
		vlen = (size_t)used;
	struct fake_request *r = calloc(1, sizeof(*r));
	if (!r || !grow(&fe->reqs, &fe->cap_reqs, fe->nreqs + 1, sizeof(*fe->reqs)) ||
	    !(r->method = strdup(method)) || !(r->path = strndup(uri + vlen, plen - vlen)) ||
	    !(r->query = strdup(q ? q + 1 : "")) ||
	    !(r->version = vlen ? strndup(uri + 2, vlen - 2) : strdup("")) ||
	    !(r->body = ctx->body ? ctx->body : strdup(""))) {
		free_request(r);
		return NULL;
	}
	r->body_len = ctx->body ? ctx->len : 0;
	ctx->body = NULL;
	ctx->len = ctx->cap = 0;
	fe->reqs[fe->nreqs++] = r;
	return r;
}

/* First call: size the body buffer by Content-Length.  True when the body is
 * too large to take, to be refused at once. */
static bool upload_start(struct conn_ctx *ctx, struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	char *end;
	unsigned long long n = cl && *cl ? strtoull(cl, &end, 10) : 0;
	if (!n || *end)
		return false;
	if (n > MAX_BODY) {
		ctx->too_big = true;
		return true;
	}
	ctx->body = malloc((size_t)n + 1);
	if (ctx->body) {
		ctx->cap = (size_t)n + 1;
		ctx->body[0] = '\0';
	}
	return false;
}

/* Appends a piece of the body, doubling the buffer (linear overall). */
static bool upload_add(struct conn_ctx *ctx, const char *data, size_t len)
{
	if (ctx->too_big)
		return true;
	if (len > MAX_BODY - ctx->len) {
		ctx->too_big = true; /* discard the rest, answer 413 at the end */
		free(ctx->body);
		ctx->body = NULL;
		ctx->len = ctx->cap = 0;
		return true;
	}
	size_t need = ctx->len + len + 1;
	if (need > ctx->cap) {
		size_t ncap = ctx->cap < 4096 ? 4096 : ctx->cap;
		while (ncap < need)
			ncap *= 2;
		if (ncap > MAX_BODY + 1)
			ncap = MAX_BODY + 1;
		char *nb = realloc(ctx->body, ncap);
		if (!nb)
			return false;
		ctx->body = nb;
		ctx->cap = ncap;
	}
	memcpy(ctx->body + ctx->len, data, len);
	ctx->len += len;
	ctx->body[ctx->len] = '\0';
	return true;
}

/* A rule's path: a substring, or with a '*' in it an fnmatch pattern for the
 * whole path (so that a container's inspect is told from the list). */
static bool rule_path_match(const struct rule *r, const char *path)
{
	if (strchr(r->substr, '*'))
		return fnmatch(r->substr, path, 0) == 0;
	return strstr(path, r->substr) != NULL;
}

/* A client certificate signed by the trusted CA, as dockerd's --tlsverify
 * demands.  MHD only asks for one (GNUTLS_CERT_REQUEST) and leaves the
 * verdict to the application; a client without one, or with another's, gets
 * the alert Go's TLS stack sends, on its first read as with TLS 1.3. */
static bool client_trusted(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
	unsigned int status = 0;
	int r;

	if (!session)
		return false;
	if (!gnutls_certificate_get_peers(session, &(unsigned int){ 0 })) {
		gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_CERTIFICATE_REQUIRED);
		return false;
	}
	r = gnutls_certificate_verify_peers2(session, &status);
	if (r < 0 || status) {
		gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
		return false;
	}
	return true;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct fake_engine *fe = cls;
	struct conn_ctx *ctx = *con_cls;
	(void)version;
	if (!ctx)
		return MHD_NO;
	if (!ctx->started && fe->tls_trust && !client_trusted(conn))
		return MHD_NO; /* never seen: nothing recorded */
	if (!ctx->started) {
		ctx->started = true;
		if (!upload_start(ctx, conn))
			return MHD_YES;
		/* answered before the body: curl's Expect: 100-continue sees 413 */
	} else if (*upload_size) {
		bool ok = upload_add(ctx, upload, *upload_size);
		*upload_size = 0;
		return ok ? MHD_YES : MHD_NO;
	}

	pthread_mutex_lock(&fe->lock);
	enum MHD_Result ret;
	const struct fake_request *req = record(fe, method, ctx);
	if (req && ctx->too_big) {
		ret = reply_error(fe, conn, 413, "request body too large: the fake takes %zu bytes",
				  MAX_BODY);
		pthread_mutex_unlock(&fe->lock);
		return ret;
	}
	/* MHD's url is percent-decoded; drop the same version prefix from it */
	const char *path = req && *req->version ? url + strlen(req->version) + 2 : url;
	const struct rule *rule = NULL;
	for (size_t i = 0; req && i < fe->nrules && !rule; i++) {
		struct rule *r = fe->rules[i];
		if (r->times != 0 && !strcmp(r->method, method) && rule_path_match(r, req->path)) {
			rule = r;
			if (r->times > 0)
				r->times--;
		}
	}
	if (!req) {
		ret = reply_error(fe, conn, 500, "out of memory");
	} else if (rule && rule->fault == FAKE_FAULT_LOST) {
		engine_tick(fe);
		fe->lose_answer = true;
		ret = route(fe, conn, method, path, req, ctx->exit_seq_at_arrival);
		fe->lose_answer = false;
	} else if (rule && rule->fault == FAKE_FAULT_DELAY) {
		/* handler_wait releases the lock while it sleeps */
		struct timespec until = ts_add(now(CLOCK_MONOTONIC), rule->status / 1000.0),
				t = now(CLOCK_MONOTONIC);
		while (ts_before(&t, &until) && handler_wait(fe, conn, &until))
			t = now(CLOCK_MONOTONIC);
		if (fe->stopping || peer_gone(fe, conn)) {
			ret = MHD_NO;
		} else {
			engine_tick(fe);
			ret = route(fe, conn, method, path, req, ctx->exit_seq_at_arrival);
		}
	} else if (rule) {
		ret = apply_fault(fe, conn, rule, method, path);
	} else if (*req->version && version_num(req->version) > version_num(fe->api_version)) {
		ret = reply_error(fe, conn, 400,
				  "client version %s is too new. Maximum supported API version "
				  "is %s",
				  req->version, fe->api_version);
	} else {
		engine_tick(fe);
		ret = route(fe, conn, method, path, req, ctx->exit_seq_at_arrival);
	}
	pthread_mutex_unlock(&fe->lock);
	return ret;
}

/* ---- public API ---- */

/* The engine, its temporary directory and a listening socket in *fd: a
 * unix socket there (tls NULL), or a loopback TCP port. */
static struct fake_engine *engine_new(const char *api_version, const struct fake_tls *tls, int *fd);
static struct fake_engine *engine_run(struct fake_engine *fe, int fd);

struct fake_engine *fake_engine_start(const char *api_version)
{
	int fd = -1;
	struct fake_engine *fe = engine_new(api_version, NULL, &fd);
	return fe ? engine_run(fe, fd) : NULL;
}

struct fake_engine *fake_engine_start_tls(const char *api_version, const struct fake_tls *tls)
{
	int fd = -1;
	struct fake_engine *fe;

	if (!tls || !tls->cert || !tls->key)
		return NULL;
	fe = engine_new(api_version, tls, &fd);
	return fe ? engine_run(fe, fd) : NULL;
}

static struct fake_engine *engine_new(const char *api_version, const struct fake_tls *tls, int *fdp)
{
	struct fake_engine *fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	pthread_condattr_t ca;
	if (pthread_mutex_init(&fe->lock, NULL)) {
		free(fe);
		return NULL;
	}
	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&fe->cond, &ca)) {
		pthread_mutex_destroy(&fe->lock);
		free(fe);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	fe->next_pid = 1000;
	struct timespec t = now(CLOCK_REALTIME);
	fe->id_seed = (uint64_t)t.tv_sec * 1000000007ULL ^ (uint64_t)t.tv_nsec ^
		      (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)fe;

	const char *tmp = getenv("TMPDIR");
	int fd = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (!(fe->api_version = strdup(api_version)) ||
	    snprintf(fe->dir, sizeof(fe->dir), "%s/fake-engine-XXXXXX", tmp) >=
		(int)sizeof(fe->dir) ||
	    !mkdtemp(fe->dir)) {
		fe->dir[0] = '\0';
		goto fail;
	}
	if (tls) {
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(in);
		if (!(fe->tls_cert = strdup(tls->cert)) || !(fe->tls_key = strdup(tls->key)) ||
		    (tls->trust && !(fe->tls_trust = strdup(tls->trust))))
			goto fail;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) || listen(fd, 64) ||
		    getsockname(fd, (struct sockaddr *)&in, &len))
			goto fail;
		fe->port = ntohs(in.sin_port);
	} else {
		snprintf(fe->sock, sizeof(fe->sock), "%s/engine.sock", fe->dir);
		if (strlen(fe->sock) >= sizeof(sa.sun_path))
			goto fail;
		memcpy(sa.sun_path, fe->sock, strlen(fe->sock) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64))
			goto fail;
	}
	*fdp = fd;
	return fe;
fail:
	if (fd >= 0)
		close(fd);
	fake_engine_stop(fe);
	return NULL;
}

static struct fake_engine *engine_run(struct fake_engine *fe, int fd)
{
	/* upgrade: the attach's hijacked connection (run -i) */
	unsigned int flags =
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE;
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, fe->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, fe->tls_key },
		{ fe->tls_trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, fe->tls_trust },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (fe->port)
		flags |= MHD_USE_TLS;
	else
		tls[0].option = MHD_OPTION_END;
	fe->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, fe, MHD_OPTION_LISTEN_SOCKET,
				      fd, MHD_OPTION_URI_LOG_CALLBACK, uri_cb, fe,
				      MHD_OPTION_NOTIFY_COMPLETED, completed_cb, fe,
				      MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!fe->daemon) {
		close(fd);
		fake_engine_stop(fe);
		return NULL;
	}
	return fe;
}

void fake_engine_stop(struct fake_engine *fe)
{
	if (!fe)
		return;
	pthread_mutex_lock(&fe->lock);
	fe->stopping = true;
	pthread_cond_broadcast(&fe->cond);
	pthread_mutex_unlock(&fe->lock);
	if (fe->daemon)
		MHD_stop_daemon(fe->daemon);
	if (fe->sock[0])
		unlink(fe->sock);
	if (fe->dir[0])
		rmdir(fe->dir);
	for (size_t i = 0; i < fe->ncs; i++) {
		cJSON_Delete(fe->cs[i]->body);
		free(fe->cs[i]->name);
		free(fe->cs[i]->out);
		free(fe->cs[i]->held);
		free(fe->cs[i]->in);
		mounts_free(fe->cs[i]->mounts, fe->cs[i]->nmounts);
		blobs_free(fe->cs[i]->puts, fe->cs[i]->nputs);
		free(fe->cs[i]);
	}
	for (size_t i = 0; i < fe->nvols; i++)
		volume_free(fe->vols[i]);
	free(fe->vols);
	blobs_free(fe->tars, fe->ntars);
	for (size_t i = 0; i < fe->nmaps; i++) {
		free(fe->map_from[i]);
		free(fe->map_to[i]);
	}
	free(fe->map_from);
	free(fe->map_to);
	for (size_t i = 0; i < fe->nimgs; i++) {
		free(fe->imgs[i]->name);
		free(fe->imgs[i]->user);
		cJSON_Delete(fe->imgs[i]->labels);
		free(fe->imgs[i]);
	}
	for (size_t i = 0; i < fe->nrules; i++) {
		free(fe->rules[i]->method);
		free(fe->rules[i]->substr);
		free(fe->rules[i]->message);
		free(fe->rules[i]);
	}
	fake_engine_reset_requests(fe);
	free(fe->reqs);
	free(fe->cs);
	free(fe->imgs);
	free(fe->rules);
	free(fe->api_version);
	free(fe->tls_cert);
	free(fe->tls_key);
	free(fe->tls_trust);
	pthread_cond_destroy(&fe->cond);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

const char *fake_engine_socket(const struct fake_engine *fe)
{
	return fe->sock;
}

int fake_engine_port(const struct fake_engine *fe)
{
	return fe->port;
}

void fake_engine_add_image(struct fake_engine *fe, const char *name, const char *user)
{
	struct image *im = calloc(1, sizeof(*im));
	pthread_mutex_lock(&fe->lock);
	if (!im || !(im->name = strdup(name)) || !(im->user = strdup(user ? user : "")) ||
	    !grow(&fe->imgs, &fe->cap_imgs, fe->nimgs + 1, sizeof(*fe->imgs))) {
		if (im) {
			free(im->name);
			free(im->user);
		}
		free(im);
	} else {
		uint64_t h = 1469598103934665603ULL;
		for (const char *p = name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		memcpy(im->id, "sha256:", 7);
		hex64(im->id + 7, h);
		fe->imgs[fe->nimgs++] = im;
	}
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_set_image_labels(struct fake_engine *fe, const char *name,
				  const char *labels_json, bool shown)
{
	cJSON *labels = labels_json ? cJSON_Parse(labels_json) : NULL;
	struct image *im;

	if (labels && !cJSON_IsObject(labels)) {
		cJSON_Delete(labels);
		labels = NULL;
	}
	pthread_mutex_lock(&fe->lock);
	im = find_image(fe, name);
	if (im) {
		cJSON_Delete(im->labels);
		im->labels = labels;
		im->labels_shown = shown;
		labels = NULL;
	}
	pthread_mutex_unlock(&fe->lock);
	cJSON_Delete(labels);
}

size_t fake_engine_request_count(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->lock);
	size_t n = fe->nreqs;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

const struct fake_request *fake_engine_request(struct fake_engine *fe, size_t i)
{
	pthread_mutex_lock(&fe->lock);
	const struct fake_request *r = i < fe->nreqs ? fe->reqs[i] : NULL;
	pthread_mutex_unlock(&fe->lock);
	return r;
}

static bool req_match(const struct fake_request *r, const char *method, const char *prefix)
{
	return !strcmp(r->method, method) && !strncmp(r->path, prefix, strlen(prefix));
}

const struct fake_request *fake_engine_find(struct fake_engine *fe, const char *method,
					    const char *path_prefix)
{
	const struct fake_request *found = NULL;
	pthread_mutex_lock(&fe->lock);
	for (size_t i = 0; i < fe->nreqs && !found; i++)
		if (req_match(fe->reqs[i], method, path_prefix))
			found = fe->reqs[i];
	pthread_mutex_unlock(&fe->lock);
	return found;
}

size_t fake_engine_count(struct fake_engine *fe, const char *method, const char *path_prefix)
{
	size_t n = 0;
	pthread_mutex_lock(&fe->lock);
	for (size_t i = 0; i < fe->nreqs; i++)
		n += req_match(fe->reqs[i], method, path_prefix);
	pthread_mutex_unlock(&fe->lock);
	return n;
}

void fake_engine_reset_requests(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->lock);
	for (size_t i = 0; i < fe->nreqs; i++)
		free_request(fe->reqs[i]);
	fe->nreqs = 0;
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_fail(struct fake_engine *fe, const char *method, const char *path_substr,
		      enum fake_fault fault, int status, const char *message, int times)
{
	struct rule *r = calloc(1, sizeof(*r));
	pthread_mutex_lock(&fe->lock);
	if (!r || !(r->method = strdup(method)) || !(r->substr = strdup(path_substr)) ||
	    !(r->message = strdup(message ? message : "")) ||
	    !grow(&fe->rules, &fe->cap_rules, fe->nrules + 1, sizeof(*fe->rules))) {
		if (r) {
			free(r->method);
			free(r->substr);
			free(r->message);
		}
		free(r);
	} else {
		r->fault = fault;
		r->status = status;
		r->times = times;
		fe->rules[fe->nrules++] = r;
	}
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_clear_faults(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->lock);
	for (size_t i = 0; i < fe->nrules; i++)
		fe->rules[i]->times = 0;
	pthread_mutex_unlock(&fe->lock);
}

size_t fake_engine_container_count(struct fake_engine *fe)
{
	size_t n = 0;
	pthread_mutex_lock(&fe->lock);
	engine_tick(fe);
	for (size_t i = 0; i < fe->ncs; i++)
		n += !fe->cs[i]->removed;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

size_t fake_engine_volume_count(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->lock);
	size_t n = fe->nvols;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

bool fake_engine_has_volume(struct fake_engine *fe, const char *name)
{
	pthread_mutex_lock(&fe->lock);
	bool has = find_volume(fe, name) != NULL;
	pthread_mutex_unlock(&fe->lock);
	return has;
}

void fake_engine_add_volume(struct fake_engine *fe, const char *name, const char *labels_json)
{
	cJSON *labels = labels_json ? cJSON_Parse(labels_json) : NULL;
	if (labels && !cJSON_IsObject(labels)) {
		cJSON_Delete(labels);
		labels = NULL;
	}
	pthread_mutex_lock(&fe->lock);
	struct volume *v = find_volume(fe, name);
	if (v) {
		cJSON *l = labels ? labels : cJSON_CreateObject();
		if (l) {
			cJSON_Delete(v->labels);
			v->labels = l;
		}
	} else {
		volume_add(fe, name, labels);
	}
	pthread_mutex_unlock(&fe->lock);
}

const char *fake_engine_volume_subpath(struct fake_engine *fe, const char *container_ref,
				       const char *volume)
{
	const char *sub = NULL;
	pthread_mutex_lock(&fe->lock);
	const struct container *c = find_container_any(fe, container_ref);
	for (size_t i = 0; c && i < c->nmounts && !sub; i++)
		if (!strcmp(c->mounts[i].volume, volume))
			sub = c->mounts[i].subpath;
	pthread_mutex_unlock(&fe->lock);
	return sub;
}

const char *fake_engine_mount_subpath(struct fake_engine *fe, const char *container_ref,
				      const char *volume, const char *target)
{
	const char *sub = NULL;
	pthread_mutex_lock(&fe->lock);
	const struct container *c = find_container_any(fe, container_ref);
	for (size_t i = 0; c && i < c->nmounts && !sub; i++)
		if (!strcmp(c->mounts[i].volume, volume) && !strcmp(c->mounts[i].target, target))
			sub = c->mounts[i].subpath;
	pthread_mutex_unlock(&fe->lock);
	return sub;
}

void fake_engine_set_cgroups(struct fake_engine *fe, const char *driver, const char *version)
{
	pthread_mutex_lock(&fe->lock);
	snprintf(fe->cgroup_driver, sizeof(fe->cgroup_driver), "%s", driver);
	snprintf(fe->cgroup_version, sizeof(fe->cgroup_version), "%s", version);
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_set_libpod(struct fake_engine *fe, bool libpod)
{
	pthread_mutex_lock(&fe->lock);
	fe->libpod = libpod;
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_volume_collide(struct fake_engine *fe, int times)
{
	pthread_mutex_lock(&fe->lock);
	fe->collide = times;
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_file_binds_fail(struct fake_engine *fe, bool fail)
{
	pthread_mutex_lock(&fe->lock);
	fe->file_binds_fail = fail;
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_map_path(struct fake_engine *fe, const char *from, const char *to)
{
	pthread_mutex_lock(&fe->lock);
	char **f = realloc(fe->map_from, (fe->nmaps + 1) * sizeof(*f));
	if (f)
		fe->map_from = f;
	char **t = f ? realloc(fe->map_to, (fe->nmaps + 1) * sizeof(*t)) : NULL;
	if (t)
		fe->map_to = t;
	char *a = t ? strdup(from) : NULL, *b = a ? strdup(to) : NULL;
	if (b) {
		fe->map_from[fe->nmaps] = a;
		fe->map_to[fe->nmaps++] = b;
	} else {
		free(a);
	}
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_set_archive(struct fake_engine *fe, const char *path, const void *tar, size_t len)
{
	pthread_mutex_lock(&fe->lock);
	blob_set(&fe->tars, &fe->ntars, &fe->cap_tars, path, tar, len);
	pthread_mutex_unlock(&fe->lock);
}

const void *fake_engine_archive_put(struct fake_engine *fe, const char *container_ref,
				    const char *path, size_t *len)
{
	const struct blob *b = NULL;
	pthread_mutex_lock(&fe->lock);
	const struct container *c = find_container_any(fe, container_ref);
	if (c)
		b = blob_find(c->puts, c->nputs, path);
	pthread_mutex_unlock(&fe->lock);
	if (len)
		*len = b ? b->len : 0;
	return b ? b->data : NULL;
}

const void *fake_engine_stdin(struct fake_engine *fe, const char *container_ref, size_t *len,
			      bool *ended)
{
	const void *p = NULL;

	pthread_mutex_lock(&fe->lock);
	struct container *c = find_container_any(fe, container_ref);
	*len = c ? c->in_len : 0;
	*ended = c && c->in_ended;
	p = c ? c->in : NULL;
	pthread_mutex_unlock(&fe->lock);
	return p;
}
