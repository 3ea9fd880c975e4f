/* The transport: the only module that speaks HTTP.  libcurl on the
 * engine's unix socket, TCP with TLS (or plaintext where endpoint.c lets
 * it), or ssh through sshbridge.c.  Plain calls reuse one easy handle and so
 * one connection; supervision runs several transfers at once (wait, logs,
 * stop) on a multi handle.  Every answer body is capped; every HTTP error
 * becomes one message carrying the step, the object and the engine's own
 * message, which the backend reads out of its error bodies. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>
#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "util.h"
#include "http.h"
#include "sshbridge.h"

#define BODY_MAX (8u << 20)
/* a CA bundle, a certificate or a key; a bigger file is not one */
#define PEM_MAX (1u << 20)

struct buf {
	char *data;
	size_t len;
	bool overflow;
};

struct jc_http {
	CURL *curl;
	CURLM *multi;
	CURLM *plain; /* runs the plain calls and streams, so that they can be cancelled */
	const struct jc_cancel *cancel; /* NULL: never cancelled */
	enum jc_cancel_state *cancel_state;
	char *socket_path; /* NULL for TCP */
	char *base;        /* "http://localhost", "https://host:port" */
	char *endpoint;
	enum jc_transport transport;
	bool loopback;
	char *host;                          /* tcp, tls, ssh */
	char *ca_file, *cert_file;           /* tls: the names, for messages */
	struct curl_blob ca, cert, key;      /* tls: read once, through descriptors */
	char tls_version[16];                /* as negotiated, once a call has been answered */
	bool tls_answered;                   /* a call over TLS got an answer */
	struct jc_sshbridge *ssh;            /* ssh: the bridge libcurl connects to */
	jc_http_message_fn message;
	int64_t timeout_ms;
	int running; /* transfers in the multi handle */
	/* header and body callbacks of asynchronous transfers so far: what
	 * jc_http_poll compares to know whether anything happened */
	uint64_t events;
};

struct jc_http_async {
	struct jc_http *e;
	CURL *h;
	struct curl_slist *hdrs;
	struct buf body;
	struct jc_http_decoder dec;
	bool stream;
	bool answered;
	bool done;
	bool bad_frame;
	bool paused;
	bool removed; /* taken out of the multi handle already */
	char *pend;   /* output the sink has not taken yet (one read at most) */
	size_t npend;
	uint64_t received;
	CURLcode result;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *d;

	if (b->len + n > BODY_MAX) {
		b->overflow = true;
		return 0; /* curl aborts with CURLE_WRITE_ERROR */
	}
	d = realloc(b->data, b->len + n + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, ptr, n);
	b->len += n;
	d[b->len] = '\0';
	b->data = d;
	return n;
}

char *jc_http_escape(const char *s)
{
	char *enc = curl_easy_escape(NULL, s, 0);
	char *copy = enc ? strdup(enc) : NULL;

	curl_free(enc);
	return copy;
}

static char *buf_take(struct buf *b)
{
	char *d = b->data ? b->data : strdup("");
	b->data = NULL;
	b->len = 0;
	return d;
}

/* ---- endpoint and setup ---- */

/* Read a PEM file of the site's through a descriptor into `blob`.  A key
 * must be its owner's alone, as ssh demands of its keys. */
static int read_pem(const char *url, const char *key, const char *path, bool secret,
		    struct curl_blob *blob, jc_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t len;
	char *data;

	if (fd < 0)
		return jc_error_set(err, JC_ERR_CONFIG, errno, "engine `%s`: [engine] %s `%s`: %s",
				    url, key, path, strerror(errno));
	if (jc_fs_read_small(fd, PEM_MAX, &data, &len, &st) < 0)
		return errno == EINVAL || errno == EFBIG
			   ? jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					  "engine `%s`: [engine] %s `%s`: not a regular file of "
					  "at most 1 MiB",
					  url, key, path)
			   : jc_error_set(err, JC_ERR_CONFIG, errno,
					  "engine `%s`: [engine] %s `%s`: %s", url, key, path,
					  strerror(errno));
	/* checked on the descriptor read: the file, not whatever the name is now */
	if (secret && (st.st_mode & 077)) {
		explicit_bzero(data, len);
		free(data);
		return jc_error_set(err, JC_ERR_CONFIG, EPERM,
				    "engine `%s`: [engine] %s `%s` is open to group or others (mode "
				    "%04o): make it 0600",
				    url, key, path, (unsigned)(st.st_mode & 07777));
	}
	*blob = (struct curl_blob){ .data = data, .len = len, .flags = CURL_BLOB_NOCOPY };
	return 0;
}

static void free_blob(struct curl_blob *b)
{
	if (b->data)
		/* a key should not linger in freed memory */
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
}

/* OpenSSL's configuration file and error strings.  curl_global_init
 * initialises OpenSSL whatever its flags (libcurl 7.88), and OpenSSL 3 then
 * reads openssl.cnf, loads the text of every error it knows, and frees it
 * all again at exit: 2.2 M instructions, a sixth of a launch
 * (docs/performance.md).  Only TLS needs them, so in jobcell's own process
 * a plain endpoint asks OpenSSL for none of it.  (Not for leaving out the
 * names of ciphers and digests too: without them a key cannot be read.)  A
 * TLS endpoint opened after that (not something the CLI does: one site,
 * one endpoint) has the file read all the same, before any TLS context is
 * made, so that the system's policy (minimum protocol, cipher strings)
 * holds; its errors are then told by number.  A program that took the
 * library keeps OpenSSL's defaults. */
static pthread_mutex_t ssl_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static bool own_process, ssl_conf_skipped, ssl_conf_read;

void jc_http_own_process(void)
{
	own_process = true;
}

static void ssl_conf(bool tls)
{
	pthread_mutex_lock(&ssl_conf_lock);
	if (!tls && own_process && !ssl_conf_read && !ssl_conf_skipped) {
		OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_SSL_STRINGS |
				     OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ATEXIT,
				 NULL);
		ssl_conf_skipped = true;
	} else if (tls && ssl_conf_skipped && !ssl_conf_read) {
		/* what OpenSSL's own initialisation would have done */
		CONF_modules_load_file(NULL, NULL,
				       CONF_MFLAGS_DEFAULT_SECTION | CONF_MFLAGS_IGNORE_MISSING_FILE |
					   CONF_MFLAGS_IGNORE_RETURN_CODES);
		ssl_conf_read = true;
	} else if (tls) {
		ssl_conf_read = true;
	}
	pthread_mutex_unlock(&ssl_conf_lock);
}

int jc_http_open(const struct jc_endpoint *ep, int64_t timeout_ms, jc_http_message_fn message,
		 struct jc_http **out, jc_error *err)
{
	struct jc_http *e;
	int r;

	if (timeout_ms <= 0)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "engine timeout must be positive");
	ssl_conf(ep->transport == JC_TRANSPORT_TLS);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return jc_error_set(err, JC_ERR_SYSTEM, EIO, "initialise libcurl");
	e = calloc(1, sizeof(*e));
	if (!e)
		return jc_error_oom(err);
	e->timeout_ms = timeout_ms;
	e->message = message;
	e->transport = ep->transport;
	e->loopback = ep->loopback;
	if (!(e->endpoint = strdup(ep->url)) || (ep->host && !(e->host = strdup(ep->host))))
		goto oom;
	switch (ep->transport) {
	case JC_TRANSPORT_UNIX:
		if (!(e->socket_path = strdup(ep->path)) ||
		    !(e->base = strdup("http://localhost")))
			goto oom;
		break;
	case JC_TRANSPORT_TCP:
	case JC_TRANSPORT_TLS:
		r = asprintf(&e->base, "%s://%s:%d",
			     ep->transport == JC_TRANSPORT_TLS ? "https" : "http", ep->host,
			     ep->port);
		if (r < 0) {
			e->base = NULL;
			goto oom;
		}
		if (ep->transport == JC_TRANSPORT_TCP)
			break;
		if (!(e->ca_file = strdup(ep->tls_ca)) ||
		    (ep->tls_cert && !(e->cert_file = strdup(ep->tls_cert))))
			goto oom;
		if (read_pem(ep->url, "tls_ca", ep->tls_ca, false, &e->ca, err) < 0 ||
		    (ep->tls_cert &&
		     (read_pem(ep->url, "tls_cert", ep->tls_cert, false, &e->cert, err) < 0 ||
		      read_pem(ep->url, "tls_key", ep->tls_key, true, &e->key, err) < 0)))
			goto fail;
		break;
	case JC_TRANSPORT_SSH:
		/* libcurl speaks to the bridge's socket; each connection is an ssh */
		if (jc_sshbridge_open(ep, timeout_ms, &e->ssh, err) < 0)
			goto fail;
		if (!(e->socket_path = strdup(jc_sshbridge_socket(e->ssh))) ||
		    !(e->base = strdup("http://localhost")))
			goto oom;
		break;
	}
	if (!(e->curl = curl_easy_init()) || !(e->multi = curl_multi_init()) ||
	    !(e->plain = curl_multi_init()))
		goto oom;
	*out = e;
	return 0;
oom:
	jc_error_oom(err);
fail:
	jc_http_close(e);
	return -1;
}

void jc_http_close(struct jc_http *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->plain)
		curl_multi_cleanup(e->plain);
	jc_sshbridge_close(e->ssh);
	free(e->socket_path);
	free(e->base);
	free(e->endpoint);
	free(e->host);
	free(e->ca_file);
	free(e->cert_file);
	free_blob(&e->ca);
	free_blob(&e->cert);
	free_blob(&e->key);
	free(e);
}

char *jc_http_transport(const struct jc_http *e)
{
	char *out = NULL;
	int r = -1;

	switch (e->transport) {
	case JC_TRANSPORT_UNIX:
		r = asprintf(&out, "unix socket `%s`", e->socket_path);
		break;
	case JC_TRANSPORT_TCP:
		r = asprintf(&out, "plaintext TCP to %s",
			     e->loopback ? "a loopback address"
					 : "the network ([engine] insecure_plaintext)");
		break;
	case JC_TRANSPORT_TLS:
		r = asprintf(&out,
			     "%s, the engine's certificate verified for `%s` against `%s`, client "
			     "certificate %s%s%s",
			     *e->tls_version ? e->tls_version : "TLS", e->host, e->ca_file,
			     e->cert_file ? "`" : "none", e->cert_file ? e->cert_file : "",
			     !e->cert_file ? "" : e->tls_answered ? "` accepted" : "` not yet used");
		break;
	case JC_TRANSPORT_SSH:
		r = asprintf(&out, "ssh to `%s`, `docker system dial-stdio` there", e->host);
		break;
	}
	return r < 0 ? NULL : out;
}

void jc_http_watch(struct jc_http *e, const struct jc_cancel *c, enum jc_cancel_state *state)
{
	e->cancel = c;
	e->cancel_state = state;
}

const char *jc_http_endpoint(const struct jc_http *e)
{
	return e->endpoint;
}

int64_t jc_http_timeout(const struct jc_http *e)
{
	return e->timeout_ms;
}

static char *make_url(const struct jc_http *e, const char *path)
{
	char *url = NULL;
	return asprintf(&url, "%s%s", e->base, path) < 0 ? NULL : url;
}

/* Options shared by every request.  Returns the first failing CURLcode. */
/* On the engine's unix socket, room for a few pieces of an upload in
 * flight (the default, about 200 KiB, is less than one), so that the
 * engine finds the next piece waiting.  Only there: on TCP a fixed size
 * would switch off the kernel's own tuning.  A wish, capped by the kernel. */
static int unix_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	int size = 4 * JC_STREAM_BLOCK;
	(void)ud;

	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return CURL_SOCKOPT_OK;
}

static CURLcode setup(struct jc_http *e, CURL *h, const char *method, const char *url,
		      const char *body, struct curl_slist *hdrs, int64_t timeout_ms)
{
	CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (c == CURLE_OK)                                                                 \
			c = curl_easy_setopt(h, opt, val);                                         \
	} while (0)
	SET(CURLOPT_URL, url);
	if (e->transport == JC_TRANSPORT_TLS) {
		SET(CURLOPT_PROTOCOLS_STR, "https");
		/* the site's CA alone: not the system's store */
		SET(CURLOPT_CAINFO_BLOB, &e->ca);
		SET(CURLOPT_CAPATH, NULL);
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
		SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
		if (e->cert.data) {
			SET(CURLOPT_SSLCERT_BLOB, &e->cert);
			SET(CURLOPT_SSLCERTTYPE, "PEM");
			SET(CURLOPT_SSLKEY_BLOB, &e->key);
			SET(CURLOPT_SSLKEYTYPE, "PEM");
		}
	} else {
		SET(CURLOPT_PROTOCOLS_STR, "http");
	}
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(e->timeout_ms < 10000 ? e->timeout_ms : 10000));
	SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	SET(CURLOPT_HTTPHEADER, hdrs);
	if (e->socket_path) {
		SET(CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
		SET(CURLOPT_SOCKOPTFUNCTION, unix_sockopt);
	}
	if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L); /* no body follows the headers */
		/* one that sends a body anyway must not leave it in the reused
		 * connection as the start of the next answer */
		SET(CURLOPT_FORBID_REUSE, 1L);
	} else if (strcmp(method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
		SET(CURLOPT_COPYPOSTFIELDS, body ? body : "");
	} else {
		SET(CURLOPT_HTTPGET, 1L);
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	return c;
}

/* ---- cancellation ---- */

/* Why a request was given up (status 0: it was not). */
struct halt {
	int status; /* EINTR, ESRCH, ETIMEDOUT */
	char why[48];
};

/* The first pending signal by its name, "SIGTERM": the signalfd is only
 * polled, never read, so the pending set still holds it. */
static void pending_signal(char *out, size_t cap)
{
	sigset_t set;

	if (sigpending(&set) == 0)
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(&set, sig) == 1 && sigabbrev_np(sig)) {
				snprintf(out, cap, "SIG%s", sigabbrev_np(sig));
				return;
			}
	snprintf(out, cap, "a signal");
}

/* Whether the armed cancel says stop now; it fires once (then disarms). */
static bool cancel_due(struct jc_http *e, struct halt *h)
{
	const struct jc_cancel *c = e->cancel;
	struct pollfd p;
	char sig[24];

	if (!c || *e->cancel_state != JC_CANCEL_ARMED)
		return false;
	p = (struct pollfd){ .fd = c->signal_fd, .events = POLLIN };
	/* the parent first, as supervise.c's interrupted(): a dying caller
	 * often signals its children on the way, and the cause is the death */
	if (c->parent > 0 && getppid() != c->parent) {
		h->status = ESRCH;
		snprintf(h->why, sizeof(h->why), "the parent went away");
	} else if (c->signal_fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		pending_signal(sig, sizeof(sig));
		h->status = EINTR;
		snprintf(h->why, sizeof(h->why), "interrupted by %s", sig);
	} else if (c->deadline_ms > 0 && jc_mono_ms() >= c->deadline_ms) {
		h->status = ETIMEDOUT;
		snprintf(h->why, sizeof(h->why), "the run's deadline passed");
	} else {
		return false;
	}
	*e->cancel_state = JC_CANCEL_FIRED;
	return true;
}

/* How often the parent and the deadline are looked at; a signal wakes the
 * poll at once. */
#define CANCEL_POLL_MS 200

/* Run `h` (set up) to its end on the plain multi handle, the way
 * curl_easy_perform would, but waking for the cancel: a pending signal
 * ends the wait at once, the parent and the deadline are looked at every
 * 200 ms.  A cancelled transfer is taken out of the multi handle, which
 * closes its connection: the engine sees the client go. */
static CURLcode perform(struct jc_http *e, CURL *h, struct halt *halt)
{
	CURLcode res = CURLE_OK;
	CURLMcode mc;
	CURLMsg *msg;
	int running = 1, left;
	bool done = false;

	if (cancel_due(e, halt)) /* nothing is sent */
		return CURLE_ABORTED_BY_CALLBACK;
	if (curl_multi_add_handle(e->plain, h) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		bool armed = e->cancel && *e->cancel_state == JC_CANCEL_ARMED;
		struct curl_waitfd w = { .fd = armed ? e->cancel->signal_fd : -1,
					 .events = CURL_WAIT_POLLIN };
		int wait_ms = 1000;

		mc = curl_multi_perform(e->plain, &running);
		while (mc == CURLM_OK && (msg = curl_multi_info_read(e->plain, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) {
				res = msg->data.result;
				done = true;
			}
		if (mc != CURLM_OK) {
			res = CURLE_RECV_ERROR;
			break;
		}
		if (done)
			break;
		if (cancel_due(e, halt)) {
			res = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (armed && (e->cancel->parent > 0 || e->cancel->deadline_ms > 0)) {
			int64_t to = e->cancel->deadline_ms > 0
					 ? e->cancel->deadline_ms - jc_mono_ms()
					 : CANCEL_POLL_MS;
			wait_ms = to < 0 ? 0 : to < CANCEL_POLL_MS ? (int)to : CANCEL_POLL_MS;
		}
		/* libcurl shortens the wait to its own timers */
		mc = curl_multi_poll(e->plain, w.fd >= 0 ? &w : NULL, w.fd >= 0 ? 1 : 0, wait_ms,
				     NULL);
		if (mc != CURLM_OK) {
			res = CURLE_RECV_ERROR;
			break;
		}
	}
	/* mid-transfer, this aborts it and closes the connection */
	curl_multi_remove_handle(e->plain, h);
	return res;
}

static int halted(const struct halt *h, const char *step, const char *object, jc_error *err)
{
	/* the kind of supervise.c's refusal to start after a signal: jobcell
	 * gave up, nothing failed; never tried again */
	return jc_error_set(err, JC_ERR_SYSTEM, h->status, "%s `%s`: %s", step, object, h->why);
}

/* ---- errors ---- */

static int errno_of_http(long status)
{
	switch (status) {
	case 400:
		return EINVAL;
	case 401:
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 409:
		return EEXIST;
	case 503:
		return EAGAIN;
	default:
		return EIO;
	}
}

/* What a TLS failure means, from libcurl's code and OpenSSL's words.  A
 * refused client certificate shows in the handshake with TLS 1.2 and on the
 * first read with TLS 1.3 (the server checks it after the client's
 * Finished): both are looked for. */
static void tls_failure(const struct jc_http *e, CURLcode c, const char *detail, int *st,
			const char **what)
{
	const char *d = detail ? detail : "";

	if (strstr(d, "alert certificate required") || strstr(d, "alert bad certificate") ||
	    strstr(d, "alert unknown ca") || strstr(d, "alert certificate unknown")) {
		*st = EACCES;
		*what = "the engine refused the client certificate";
	} else if (c == CURLE_PEER_FAILED_VERIFICATION &&
		   (strstr(d, "subject name") || strstr(d, "host name"))) {
		*st = EACCES;
		*what = "the engine's certificate is not for this host name";
	} else if (c == CURLE_PEER_FAILED_VERIFICATION) {
		*st = EACCES;
		*what = "the engine's certificate is not signed by [engine] tls_ca";
	} else if (strstr(d, "wrong version number") || strstr(d, "packet length too long") ||
		   strstr(d, "unexpected eof")) {
		*st = EPROTO;
		*what = "no TLS engine there (plaintext, or not an engine)";
	} else if (c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CACERT_BADFILE) {
		*st = EINVAL;
		*what = "a TLS file of [engine] could not be used";
	} else if (c == CURLE_SSL_CONNECT_ERROR) {
		*st = EPROTO;
		*what = "the TLS handshake failed";
	} else if (!e->tls_answered &&
		   (c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING)) {
		/* TLS 1.3: the engine judges the certificate after the handshake,
		 * sends its alert and closes; the alert is often lost to the reset
		 * of a request it never read.  No call has had an answer yet. */
		*st = EACCES;
		*what = e->cert.data ? "the engine closed the connection before any answer: it "
				       "refused the client certificate, or it stopped"
				     : "the engine closed the connection before any answer: it "
				       "asks for a client certificate ([engine] tls_cert), or it "
				       "stopped";
	}
}

static int curl_failure(struct jc_http *e, CURLcode c, const char *detail, bool overflow,
			const char *step, const char *object, jc_error *err)
{
	int st;
	const char *what;

	switch ((int)c) { /* libcurl's enum is open-ended: list only what we map */
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		st = ECONNREFUSED;
		what = "engine is not answering";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		st = ETIMEDOUT;
		what = "no answer in time";
		break;
	case CURLE_WRITE_ERROR:
		st = overflow ? EMSGSIZE : EIO;
		what = overflow ? "answer larger than the 8 MiB cap" : "answer could not be kept";
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		st = ECONNRESET;
		what = "connection dropped";
		break;
	default:
		st = EIO;
		what = curl_easy_strerror(c);
		break;
	}
	if (e->transport == JC_TRANSPORT_TLS)
		tls_failure(e, c, detail, &st, &what);
	/* over ssh, libcurl sees a closed socket; ssh (or the far side) said why */
	cleanup_free char *ssh_said = e->ssh ? jc_sshbridge_why(e->ssh) : NULL;
	jc_error_set(err, JC_ERR_ENGINE, st, "%s `%s`: %s at `%s`%s%s%s%s%s", step, object, what,
		     e->endpoint, detail && *detail ? " (" : "", detail ? detail : "",
		     detail && *detail ? ")" : "", ssh_said ? "; ssh said: " : "",
		     ssh_said ? ssh_said : "");
	/* the engine may answer later; a bigger answer will not get smaller */
	err->retry = st != EMSGSIZE && st != EIO;
	return -1;
}

static int http_failure(struct jc_http *e, long status, const char *body, const char *step,
			const char *object,
			jc_error *err)
{
	cleanup_free char *msg = body && e->message ? e->message(body) : NULL;

	/* Go's TLS listener answers a plaintext request so, in plain text */
	if (status == 400 && body && strstr(body, "HTTP request to an HTTPS server")) {
		jc_error_set(err, JC_ERR_CONFIG, EPROTO,
			     "%s `%s`: the engine at `%s` speaks TLS: set [engine] tls_ca (and "
			     "tls_cert, tls_key)",
			     step, object, e->endpoint);
		return -1;
	}

	jc_error_set(err, JC_ERR_ENGINE, errno_of_http(status), "%s `%s`: engine said %ld: %s",
		     step, object, status, msg ? msg : "(no message)");
	err->retry = status >= 500;
	return -1;
}

/* ---- plain calls ---- */

/* What a plain call's header callback needs. */
struct hdr_ctx {
	struct jc_http *e;
	struct jc_http_header *hc; /* may be NULL */
};

/* The TLS version, from the connection while a transfer holds it. */
static void note_tls(struct jc_http *e)
{
	struct curl_tlssessioninfo *info = NULL;

	if (e->transport != JC_TRANSPORT_TLS || *e->tls_version ||
	    curl_easy_getinfo(e->curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
	    info->backend != CURLSSLBACKEND_OPENSSL || !info->internals)
		return;
	snprintf(e->tls_version, sizeof(e->tls_version), "%s",
		 SSL_get_version((const SSL *)info->internals));
}

static size_t hdr_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct hdr_ctx *x = ud;
	size_t n = size * nmemb;

	note_tls(x->e);
	for (struct jc_http_header *hc = x->hc; hc && hc->name; hc++) {
		size_t klen = strlen(hc->name);
		if (n <= klen || strncasecmp(ptr, hc->name, klen) != 0)
			continue;
		const char *v = ptr + klen;
		size_t len = n - klen;
		while (len && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len < sizeof(hc->value)) {
			memcpy(hc->value, v, len);
			hc->value[len] = '\0';
		} else {
			strcpy(hc->value, "?");
		}
	}
	return n;
}

static int do_call_once(struct jc_http *e, const char *method, const char *path, const char *json,
			int64_t timeout_ms, struct jc_http_header *hc, const char *step,
			const char *object, long *http_status, char **body, jc_error *err)
{
	cleanup_free char *url = make_url(e, path);
	cleanup_slist struct curl_slist *hdrs = NULL;
	struct buf b = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	struct halt halt = { 0 };
	struct hdr_ctx hx = { .e = e, .hc = hc };
	CURLcode c;

	if (!url || !(hdrs = curl_slist_append(NULL, "Content-Type: application/json")))
		return jc_error_oom(err);
	curl_easy_reset(e->curl); /* keeps the connection cache */
	c = setup(e, e->curl, method, url, json, hdrs, timeout_ms);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, buf_write);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, errbuf);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e->curl, CURLOPT_HEADERFUNCTION, hdr_cb);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e->curl, CURLOPT_HEADERDATA, &hx);
	if (c != CURLE_OK) {
		free(b.data);
		return jc_error_set(err, JC_ERR_SYSTEM, EINVAL, "%s `%s`: libcurl setup: %s", step,
				    object, curl_easy_strerror(c));
	}
	c = perform(e, e->curl, &halt);
	if (halt.status) {
		free(b.data);
		return halted(&halt, step, object, err);
	}
	if (c != CURLE_OK) {
		bool overflow = b.overflow;
		free(b.data);
		return curl_failure(e, c, errbuf, overflow, step, object, err);
	}
	if (curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
		free(b.data);
		return jc_error_set(err, JC_ERR_SYSTEM, EIO, "%s `%s`: libcurl has no status", step,
				    object);
	}
	/* an engine that asks for a client certificate answers nothing without it */
	e->tls_answered = e->transport == JC_TRANSPORT_TLS;
	if (status >= 400) {
		int r = http_failure(e, status, b.data, step, object, err);
		free(b.data);
		return r;
	}
	if (http_status)
		*http_status = status;
	if (body)
		*body = buf_take(&b);
	free(b.data);
	return 0;
}

/* One call on the reused handle.  The handle keeps pointers to this call's
 * buffers and headers; reset it (the connection cache stays) so that none
 * outlives the call. */
int jc_http_call(struct jc_http *e, const char *method, const char *path, const char *json,
		 int64_t timeout_ms, struct jc_http_header *hc, const char *step,
		 const char *object, char **body, jc_error *err)
{
	int r = do_call_once(e, method, path, json, timeout_ms, hc, step, object, NULL, body, err);
	curl_easy_reset(e->curl);
	return r;
}

/* ---- archives: streamed bodies ---- */

struct stream {
	struct jc_http *e;
	int fd;
	const int *failed; /* the producer gave up: abort, do not end */
	int fd_errno;      /* why reading or writing fd failed */
	struct buf error;  /* the body of an error answer */
	jc_progress_fn progress;
	void *ctx;
	/* stall detection: the bytes moved at the last change, and when */
	uint64_t moved;
	int64_t moved_at;
	bool stalled;
	/* a download gathered into pieces of JC_STREAM_BLOCK: libcurl hands
	 * over 16 KiB at a time, and a send and a wake-up of the extracting
	 * thread for each cost more than the copy */
	char *piece;
	size_t held;
};

/* Send what the piece holds on to fd; -1 with st->fd_errno set. */
static int stream_flush(struct stream *st)
{
	size_t done = 0;

	while (done < st->held) {
		ssize_t w = send(st->fd, st->piece + done, st->held - done, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(st->fd, st->piece + done, st->held - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			st->fd_errno = errno;
			return -1;
		}
		done += (size_t)w;
	}
	st->held = 0;
	return 0;
}

static size_t stream_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct stream *st = ud;
	ssize_t n;

	do
		n = read(st->fd, ptr, size * nmemb);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		st->fd_errno = errno;
		return CURL_READFUNC_ABORT;
	}
	if (n == 0 && st->failed && __atomic_load_n(st->failed, __ATOMIC_SEQ_CST))
		return CURL_READFUNC_ABORT;
	return (size_t)n;
}

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct stream *st = ud;
	size_t n = size * nmemb, done = 0;
	long status = 0;

	curl_easy_getinfo(st->e->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) /* an error answer: keep it for the message */
		return buf_write(ptr, size, nmemb, &st->error);
	while (done < n) {
		size_t k = JC_STREAM_BLOCK - st->held < n - done ? JC_STREAM_BLOCK - st->held
								  : n - done;
		memcpy(st->piece + st->held, ptr + done, k);
		st->held += k;
		done += k;
		if (st->held == JC_STREAM_BLOCK && stream_flush(st) < 0)
			return 0;
	}
	return n;
}

static int stream_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			   curl_off_t ulnow)
{
	struct stream *st = ud;
	uint64_t moved = (uint64_t)dlnow + (uint64_t)ulnow;
	int64_t now = jc_mono_ms();
	(void)dltotal;
	(void)ultotal;
	/* libcurl calls this at least once a second, moving or not */
	if (moved != st->moved) {
		st->moved = moved;
		st->moved_at = now;
	} else if (now - st->moved_at >= st->e->timeout_ms) {
		st->stalled = true;
		return 1;
	}
	if (st->progress)
		st->progress(st->ctx, moved);
	return 0;
}

/* PUT (upload from fd) or GET (download into fd) on the reused handle.  A
 * transfer of any size is fine; one that moves no byte either way for the
 * engine timeout (an upload sent whole and never answered included) is
 * not.  libcurl's low-speed limit averages over several seconds, so the
 * progress callback keeps the clock. */
int jc_http_stream(struct jc_http *e, bool put, const char *path, const char *step,
		   const char *object, int fd, const int *failed, jc_progress_fn progress,
		   void *ctx, jc_error *err)
{
	cleanup_free char *url = make_url(e, path);
	cleanup_slist struct curl_slist *hdrs = NULL;
	struct stream st = { e, fd, failed, 0, { 0 }, progress, ctx, 0, jc_mono_ms(), false, NULL, 0 };
	struct halt halt = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0, stall_s = (long)((e->timeout_ms + 999) / 1000);
	CURLcode c;
	int r = 0;

	if (!url || !(hdrs = curl_slist_append(NULL, "Content-Type: application/x-tar")) ||
	    !(hdrs = curl_slist_append(hdrs, "Expect:")) ||
	    (!put && !(st.piece = malloc(JC_STREAM_BLOCK))))
		return jc_error_oom(err);
	curl_easy_reset(e->curl);
	c = setup(e, e->curl, put ? "PUT" : "GET", url, NULL, hdrs, 0);
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (c == CURLE_OK)                                                                 \
			c = curl_easy_setopt(e->curl, opt, val);                                   \
	} while (0)
	/* a piece at a time each way: one chunk of the body per read, one
	 * receive per write (the defaults, 64 and 16 KiB, take more calls) */
	SET(CURLOPT_UPLOAD_BUFFERSIZE, (long)JC_STREAM_BLOCK);
	SET(CURLOPT_BUFFERSIZE, (long)JC_STREAM_BLOCK);
	if (put) {
		SET(CURLOPT_CUSTOMREQUEST, NULL);
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_READFUNCTION, stream_read);
		SET(CURLOPT_READDATA, &st);
		SET(CURLOPT_WRITEFUNCTION, buf_write);
		SET(CURLOPT_WRITEDATA, &st.error);
	} else {
		SET(CURLOPT_WRITEFUNCTION, stream_write);
		SET(CURLOPT_WRITEDATA, &st);
	}
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_XFERINFOFUNCTION, stream_progress);
	SET(CURLOPT_XFERINFODATA, &st);
	SET(CURLOPT_NOPROGRESS, 0L);
#undef SET
	if (c != CURLE_OK) {
		r = jc_error_set(err, JC_ERR_SYSTEM, EINVAL, "%s `%s`: libcurl setup: %s", step,
				 object, curl_easy_strerror(c));
		goto out;
	}
	c = perform(e, e->curl, &halt);
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	/* the end of a download: what the last piece holds */
	if (!put && c == CURLE_OK && !halt.status && status < 300 && stream_flush(&st) < 0)
		c = CURLE_WRITE_ERROR;
	if (halt.status) {
		r = halted(&halt, step, object, err);
	} else if (status >= 400) {
		r = http_failure(e, status, st.error.data, step, object, err);
	} else if (c != CURLE_OK && st.fd_errno) {
		r = jc_error_set(err, JC_ERR_SYSTEM, st.fd_errno, "%s `%s`: %s the archive: %s",
				 step, object, put ? "reading" : "passing on",
				 strerror(st.fd_errno));
	} else if (st.stalled) {
		r = jc_error_set(err, JC_ERR_ENGINE, ETIMEDOUT,
				 "%s `%s`: the transfer stalled for %lds at `%s`", step, object,
				 stall_s, e->endpoint);
		err->retry = true;
	} else if (c != CURLE_OK) {
		r = curl_failure(e, c, errbuf, false, step, object, err);
	} else if (status < 200 || status >= 300) {
		r = jc_error_set(err, JC_ERR_ENGINE, EPROTO, "%s `%s`: engine said %ld", step,
				 object, status);
	}
out:
	free(st.error.data);
	free(st.piece);
	curl_easy_reset(e->curl);
	return r;
}

/* ---- asynchronous transfers ---- */

static size_t async_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct jc_http_async *a = ud;
	size_t n = size * nmemb;
	long status = 0;
	ssize_t took;
	char *p;

	a->received += n;
	a->e->events++;
	if (curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		return 0;
	if (!a->stream || status >= 300)
		return buf_write(ptr, size, nmemb, &a->body);
	took = a->npend ? 0 : a->dec.feed(a->dec.ctx, ptr, n);
	if (took < 0) {
		a->bad_frame = true;
		return 0;
	}
	if ((size_t)took == n)
		return n;
	/* the sink is full: keep the rest and pause, so that a reader that
	 * does not read stops the stream, not the supervisor */
	p = realloc(a->pend, a->npend + (n - (size_t)took));
	if (!p)
		return 0;
	memcpy(p + a->npend, ptr + took, n - (size_t)took);
	a->pend = p;
	a->npend += n - (size_t)took;
	if (!a->paused) {
		/* without the pause the held-back output would grow unbounded */
		if (curl_easy_pause(a->h, CURLPAUSE_RECV) != CURLE_OK)
			return 0;
		a->paused = true;
	}
	return n;
}

bool jc_http_flush(struct jc_http_async *a)
{
	ssize_t took;

	if (!a->npend)
		return false;
	took = a->dec.feed(a->dec.ctx, a->pend, a->npend);
	if (took < 0) {
		/* the paused transfer would never finish: end it here */
		a->bad_frame = true;
		a->npend = 0;
		a->done = true;
		a->result = CURLE_WRITE_ERROR;
		curl_multi_remove_handle(a->e->multi, a->h);
		a->removed = true;
		return false;
	}
	memmove(a->pend, a->pend + took, a->npend - (size_t)took);
	a->npend -= (size_t)took;
	if (!a->npend && a->paused && curl_easy_pause(a->h, CURLPAUSE_CONT) == CURLE_OK)
		a->paused = false;
	return took > 0;
}

bool jc_http_paused(const struct jc_http_async *a)
{
	return a->npend > 0;
}

uint64_t jc_http_received(const struct jc_http_async *a)
{
	return a->received;
}

static size_t async_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct jc_http_async *a = ud;
	(void)ptr;
	a->answered = true;
	a->e->events++;
	return size * nmemb;
}

int jc_http_begin(struct jc_http *e, const char *method, const char *path, int64_t timeout_ms,
		  const struct jc_http_decoder *dec, struct jc_http_async **out, jc_error *err)
{
	cleanup_free char *url = make_url(e, path);
	struct jc_http_async *a;
	CURLcode c;

	if (!url)
		return jc_error_oom(err);
	a = calloc(1, sizeof(*a));
	if (!a)
		return jc_error_oom(err);
	a->e = e;
	a->stream = dec != NULL;
	if (dec)
		a->dec = *dec;
	if (!(a->h = curl_easy_init()) ||
	    !(a->hdrs = curl_slist_append(NULL, "Content-Type: application/json"))) {
		jc_http_free(a);
		return jc_error_oom(err);
	}
	c = setup(e, a->h, method, url, NULL, a->hdrs, timeout_ms);
	if (c == CURLE_OK)
		c = curl_easy_setopt(a->h, CURLOPT_WRITEFUNCTION, async_write);
	if (c == CURLE_OK)
		c = curl_easy_setopt(a->h, CURLOPT_WRITEDATA, a);
	if (c == CURLE_OK)
		c = curl_easy_setopt(a->h, CURLOPT_HEADERFUNCTION, async_header);
	if (c == CURLE_OK)
		c = curl_easy_setopt(a->h, CURLOPT_HEADERDATA, a);
	if (c == CURLE_OK)
		c = curl_easy_setopt(a->h, CURLOPT_ERRORBUFFER, a->errbuf);
	if (c == CURLE_OK)
		c = curl_easy_setopt(a->h, CURLOPT_PRIVATE, a);
	if (c != CURLE_OK) {
		jc_http_free(a);
		return jc_error_set(err, JC_ERR_SYSTEM, EINVAL, "libcurl setup for `%s`: %s", path,
				    curl_easy_strerror(c));
	}
	if (curl_multi_add_handle(e->multi, a->h) != CURLM_OK) {
		curl_easy_cleanup(a->h);
		a->h = NULL;
		jc_http_free(a);
		return jc_error_set(err, JC_ERR_SYSTEM, EINVAL, "libcurl: cannot add `%s`", path);
	}
	*out = a;
	return 0;
}

bool jc_http_done(const struct jc_http_async *a)
{
	return a->done;
}

bool jc_http_answered(const struct jc_http_async *a)
{
	return a->answered;
}

int jc_http_result(struct jc_http_async *a, const char *step, const char *object, char **body,
		    jc_error *err)
{
	long status = 0;

	if (!a->done)
		return jc_error_set(err, JC_ERR_SYSTEM, EINPROGRESS, "%s `%s`: still running", step,
				    object);
	if (a->bad_frame)
		return jc_error_set(err, JC_ERR_ENGINE, EBADMSG,
				    "%s `%s`: malformed frame in the log stream", step, object);
	if (a->result != CURLE_OK)
		return curl_failure(a->e, a->result, a->errbuf, a->body.overflow, step, object,
				    err);
	if (curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		return jc_error_set(err, JC_ERR_SYSTEM, EIO, "%s `%s`: libcurl has no status", step,
				    object);
	if (status >= 400)
		return http_failure(a->e, status, a->body.data, step, object, err);
	if (a->stream && a->dec.midway && a->dec.midway(a->dec.ctx))
		return jc_error_set(err, JC_ERR_ENGINE, ECONNRESET,
				    "%s `%s`: log stream ended inside a frame", step, object);
	if (body)
		*body = buf_take(&a->body);
	return 0;
}

void jc_http_free(struct jc_http_async *a)
{
	if (!a)
		return;
	if (a->h) {
		if (!a->removed)
			curl_multi_remove_handle(a->e->multi, a->h);
		curl_easy_cleanup(a->h);
	}
	curl_slist_free_all(a->hdrs);
	free(a->body.data);
	free(a->pend);
	free(a);
}

/* Mark the transfers that have finished; true when there was one. */
static bool reap(struct jc_http *e)
{
	CURLMsg *msg;
	int left;
	bool any = false;

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		struct jc_http_async *a = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&a) != CURLE_OK)
			a = NULL;
		if (a) {
			a->done = true;
			a->result = msg->data.result;
			any = true;
		}
	}
	return any;
}

int jc_http_poll(struct jc_http *e, int fd, int timeout_ms, jc_error *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (jc_http_poll_fds(e, &p, 1, timeout_ms, err) < 0)
		return -1;
	return fd >= 0 && (p.revents & POLLIN) ? 1 : 0;
}

/* ---- hijacked connections: the engine's attach ---- */

/* The head of an attach answer: a status line and a few headers; an error
 * answer's body is kept up to the usual cap. */
#define HEAD_MAX 16384

struct jc_http_conn {
	CURL *h;
	curl_socket_t fd;
};

/* Wait up to the deadline (and no longer than the cancel's look) for `fd`
 * to allow `events`.  0 when it does, -1 with *why set otherwise. */
static int conn_wait(struct jc_http *e, curl_socket_t fd, short events, int64_t deadline,
		     struct halt *halt, const char **why)
{
	for (;;) {
		int64_t left = deadline - jc_mono_ms();
		struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = -1 } };
		bool armed = e->cancel && *e->cancel_state == JC_CANCEL_ARMED;
		int n;

		if (cancel_due(e, halt))
			return -1;
		if (left <= 0) {
			*why = "no answer in time";
			return -1;
		}
		if (armed) {
			p[1] = (struct pollfd){ .fd = e->cancel->signal_fd, .events = POLLIN };
			if (left > CANCEL_POLL_MS)
				left = CANCEL_POLL_MS;
		}
		n = poll(p, 2, (int)left);
		if (n < 0 && errno != EINTR) {
			*why = "poll failed";
			return -1;
		}
		if (n > 0 && p[0].revents)
			return 0;
	}
}

/* Status and Content-Length of a head that ends in "\r\n\r\n"; -1 when the
 * status line is not HTTP's. */
static long parse_head(const char *head, long long *content_length)
{
	const char *sp = strchr(head, ' '), *cl;
	char *end;
	long status;

	if (strncmp(head, "HTTP/1.", 7) || !sp)
		return -1;
	status = strtol(sp + 1, &end, 10);
	if (end == sp + 1 || (*end != ' ' && *end != '\r') || status < 100 || status > 599)
		return -1;
	*content_length = -1;
	for (cl = strchr(head, '\n'); cl; cl = strchr(cl + 1, '\n'))
		if (!strncasecmp(cl + 1, "content-length:", 15))
			*content_length = strtoll(cl + 16, NULL, 10);
	return status;
}

/* The head says Content-Type: application/vnd.docker.raw-stream. */
static bool has_raw_stream_type(const char *head)
{
	for (const char *l = strchr(head, '\n'); l; l = strchr(l + 1, '\n')) {
		const char *v = l + 1;
		if (strncasecmp(v, "content-type:", 13))
			continue;
		v += 13;
		while (*v == ' ' || *v == '\t')
			v++;
		return !strncasecmp(v, "application/vnd.docker.raw-stream", 33);
	}
	return false;
}

int jc_http_hijack(struct jc_http *e, const char *path, const char *step, const char *object,
		   struct jc_http_conn **out, jc_error *err)
{
	cleanup_free char *url = make_url(e, path), *req = NULL, *head = NULL;
	const char *host = strstr(e->base, "://");
	int64_t deadline = jc_mono_ms() + e->timeout_ms;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct halt halt = { 0 };
	struct jc_http_conn *c = NULL;
	const char *why = NULL;
	size_t len = 0, sent = 0, hlen = 0;
	long long body_len = -1;
	long status = -1;
	bool raw_stream = false;
	curl_socket_t fd = CURL_SOCKET_BAD;
	CURLcode cc;
	CURL *h;
	int n;

	/* the request is written by hand: libcurl takes a connection over
	 * only before a request (CONNECT_ONLY), not after an answer */
	n = asprintf(&req,
		     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: jobcell\r\n"
		     "Content-Type: text/plain\r\nContent-Length: 0\r\n"
		     "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
		     path, host ? host + 3 : "localhost");
	if (n < 0 || !url || !(head = malloc(HEAD_MAX + 1)))
		return jc_error_oom(err);
	len = (size_t)n;
	if (!(h = curl_easy_init()))
		return jc_error_oom(err);
	cc = setup(e, h, "GET", url, NULL, NULL, 0);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (cc != CURLE_OK) {
		curl_easy_cleanup(h);
		return jc_error_set(err, JC_ERR_SYSTEM, EINVAL, "%s `%s`: libcurl setup: %s", step,
				    object, curl_easy_strerror(cc));
	}
	if (cancel_due(e, &halt))
		goto halted;
	/* the connection (and a TLS handshake), bounded by the connect timeout */
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		cc = curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd);
	if (cc != CURLE_OK || fd == CURL_SOCKET_BAD) {
		curl_failure(e, cc != CURLE_OK ? cc : CURLE_COULDNT_CONNECT, errbuf, false, step,
			     object, err);
		goto fail;
	}
	while (sent < len) {
		size_t k = 0;
		cc = curl_easy_send(h, req + sent, len - sent, &k);
		sent += k;
		if (cc == CURLE_AGAIN && conn_wait(e, fd, POLLOUT, deadline, &halt, &why) < 0)
			goto lost;
		if (cc != CURLE_OK && cc != CURLE_AGAIN) {
			curl_failure(e, cc, errbuf, false, step, object, err);
			goto fail;
		}
	}
	/* the head, then an error answer's body; what follows a 101's head is
	 * the stream, and with stdout and stderr off the engine sends none */
	for (;;) {
		size_t k = 0;
		char *end;

		head[hlen] = '\0';
		if (status < 0 && (end = strstr(head, "\r\n\r\n"))) {
			status = parse_head(head, &body_len);
			if (status < 0) {
				jc_error_set(err, JC_ERR_ENGINE, EPROTO,
					     "%s `%s`: the engine's answer is not HTTP", step,
					     object);
				goto fail;
			}
			raw_stream = has_raw_stream_type(head);
			if (status < 300)
				break;
			/* keep only the body, for the engine's message */
			hlen -= (size_t)(end + 4 - head);
			memmove(head, end + 4, hlen + 1);
		}
		if (status >= 300 && ((body_len >= 0 && (long long)hlen >= body_len) ||
				      hlen == HEAD_MAX))
			break;
		if (hlen == HEAD_MAX) {
			jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				     "%s `%s`: the engine's answer has no end of its head", step,
				     object);
			goto fail;
		}
		cc = curl_easy_recv(h, head + hlen, HEAD_MAX - hlen, &k);
		if (cc == CURLE_OK && k == 0) {
			if (status >= 300)
				break; /* the body ends with the connection */
			why = "connection dropped";
			goto lost;
		}
		hlen += k;
		if (cc == CURLE_AGAIN && conn_wait(e, fd, POLLIN, deadline, &halt, &why) < 0)
			goto lost;
		if (cc != CURLE_OK && cc != CURLE_AGAIN) {
			curl_failure(e, cc, errbuf, false, step, object, err);
			goto fail;
		}
	}
	head[hlen] = '\0';
	if (status >= 400) {
		http_failure(e, status, head, step, object, err);
		goto fail;
	}
	/* 101 as asked (Upgrade: tcp); 200 from engines older than the
	 * upgrade, the stream right after the head all the same, and known
	 * by its type from an answer that is not a stream */
	if (status != 101 && (status != 200 || !raw_stream)) {
		jc_error_set(err, JC_ERR_ENGINE, EPROTO,
			     "%s `%s`: engine said %ld, not a hijacked connection", step, object,
			     status);
		goto fail;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		jc_error_oom(err);
		goto fail;
	}
	/* errbuf is this frame's: the sends to come must not write there */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	c->h = h;
	c->fd = fd;
	*out = c;
	return 0;
halted:
	halted(&halt, step, object, err);
	goto fail;
lost:
	if (halt.status) {
		halted(&halt, step, object, err);
	} else {
		jc_error_set(err, JC_ERR_ENGINE, ETIMEDOUT, "%s `%s`: %s at `%s`", step, object,
			     why, e->endpoint);
		if (strcmp(why, "connection dropped") == 0)
			err->status = ECONNRESET;
		err->retry = true;
	}
fail:
	curl_easy_cleanup(h);
	return -1;
}

int jc_http_conn_fd(const struct jc_http_conn *c)
{
	return (int)c->fd;
}

ssize_t jc_http_conn_send(struct jc_http_conn *c, const void *buf, size_t len)
{
	size_t k = 0;
	CURLcode cc = curl_easy_send(c->h, buf, len, &k);

	if (cc == CURLE_AGAIN)
		return 0;
	if (cc != CURLE_OK) {
		long os = 0;
		curl_easy_getinfo(c->h, CURLINFO_OS_ERRNO, &os);
		errno = os ? (int)os : ECONNRESET;
		return -1;
	}
	return (ssize_t)k;
}

int jc_http_conn_end(struct jc_http_conn *c)
{
	/* A half-close tells the engine that the input ended; it goes on
	 * reading the other way.  Over TLS this is the TCP half-close beneath
	 * the session, without a close_notify: libcurl owns the session, and
	 * the docker CLI does the same (its tlsClientCon.CloseWrite); the
	 * engine's TLS reader ends on it, and the engine then closes the
	 * job's stdin as StdinOnce asks. */
	return shutdown(c->fd, SHUT_WR);
}

void jc_http_conn_free(struct jc_http_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	free(c);
}

int jc_http_poll_fds(struct jc_http *e, struct pollfd *fds, size_t n, int timeout_ms,
		     jc_error *err)
{
	struct curl_waitfd w[4];
	uint64_t events = e->events;
	size_t k = 0;
	CURLMcode mc;
	int r;

	if (n > sizeof(w) / sizeof(w[0]))
		return jc_error_set(err, JC_ERR_SYSTEM, EINVAL, "poll: too many descriptors");
	for (size_t i = 0; i < n; i++)
		if (fds[i].fd >= 0)
			w[k++] = (struct curl_waitfd){
				.fd = fds[i].fd,
				.events = (short)(((fds[i].events & POLLIN) ? CURL_WAIT_POLLIN : 0) |
						  ((fds[i].events & POLLOUT) ? CURL_WAIT_POLLOUT : 0)),
			};
	/* what the first perform brought (an answer, a finished transfer) is
	 * the caller's to look at now, not after a poll that would sleep */
	mc = curl_multi_perform(e->multi, &e->running);
	if (mc == CURLM_OK && !reap(e) && e->events == events) {
		mc = curl_multi_poll(e->multi, k ? w : NULL, (unsigned)k, timeout_ms, NULL);
		if (mc == CURLM_OK)
			mc = curl_multi_perform(e->multi, &e->running);
		if (mc == CURLM_OK)
			reap(e);
	}
	if (mc != CURLM_OK)
		return jc_error_set(err, JC_ERR_SYSTEM, EIO, "libcurl: %s",
				    curl_multi_strerror(mc));
	/* the descriptors are looked at again, whatever woke the wait: a busy
	 * stream must not hide a signal, and libcurl's own report leaves out
	 * a hang-up (a pipe at its end shows POLLHUP alone) */
	do
		r = poll(fds, (nfds_t)n, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "poll: %s", strerror(errno));
	return r;
}
