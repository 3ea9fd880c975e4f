/* The ssh transport, as the docker CLI does it: `ssh ... host docker system
 * dial-stdio` on the far side speaks the Engine API on ssh's stdin and
 * stdout.
 *
 * libcurl 7.88 (Debian 12) cannot be handed an already-connected socket
 * pair (curl issue #10626, fixed in 8.0: CURLOPT_OPENSOCKETFUNCTION's
 * socket is still connect()ed), so jobcell listens on a unix socket of its
 * own, in a private 0700 directory so that no other user can reach it, and
 * a thread hands each connection libcurl makes to its own ssh process.
 * This works the same on every libcurl, and a connection that ssh drops is
 * just a failed transfer to http.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "sshbridge.h"
#include "util.h"

/* ssh processes alive at once: libcurl opens a few connections, never
 * this many; more is refused (the connection closed) rather than forking
 * without end. */
#define SSH_MAX_LIVE 64
/* What why() reads of an ssh's stderr: its end, where ssh says what failed. */
#define WHY_TAIL 4096
/* How long close() gives the ssh processes after SIGTERM before SIGKILL. */
#define TERM_GRACE_MS 2000

struct ssh_conn {
	pid_t pid;    /* 0 once reaped */
	unsigned seq; /* the connection's number: its stderr file is err-<seq> */
};

struct jc_sshbridge {
	char *url;  /* the endpoint, for messages */
	char *dir;  /* the private directory */
	char *sock; /* dir/sock */
	int listen_fd;
	int wake[2]; /* close() writes to wake[1]: the thread stops */
	bool thread_started;
	pthread_t thread;
	pid_t self;     /* jobcell: a child whose parent is not this has lost it */
	char *ssh_path; /* ssh as found on PATH before any fork */
	struct jc_strv argv;
	pthread_mutex_t lock; /* conns and next_seq: the thread adds, why() reads */
	struct ssh_conn *conns;
	size_t nconns;
	unsigned next_seq;
};

/* ---- what may reach the remote shell ----
 * ssh joins the remote command into one string that the far side's shell
 * parses, so a host, user or socket path goes in only when every byte is
 * one that shell takes literally.  endpoint.c checks these too; the bridge
 * runs processes with them and does not rely on that. */

static bool host_ok(const char *s)
{
	if (!s || !*s || *s == '-' || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '.' || *s == '-' || *s == ':'))
			return false;
	return true;
}

static bool user_ok(const char *s)
{
	if (!s || strlen(s) > 64 ||
	    !(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static bool socket_ok(const char *s)
{
	if (!s || *s != '/' || strlen(s) > 1024)
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '/' || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* The values quoted in a refusal are the ones refused: printable only. */
static int refuse(jc_error *err, const char *url, const char *what, const char *value,
		  const char *why)
{
	cleanup_free char *v = jc_text_printable_str(value ? value : "");

	if (!v)
		return jc_error_oom(err);
	return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "endpoint `%s`: %s `%s` %s", url, what, v,
			    why);
}

/* A file named to the local ssh: ssh splits UserKnownHostsFile at
 * whitespace and expands '%' tokens in it and in IdentityFile, so a name
 * with those would name another file than the site wrote. */
static int ssh_file_ok(const char *url, const char *key, const char *path, jc_error *err)
{
	if (!path)
		return 0;
	if (!*path || strpbrk(path, " \t\n\r\"'%\\"))
		return refuse(err, url, key, path,
			      "has a space, a quote, '%' or '\\' that would not reach ssh as "
			      "written");
	if (access(path, R_OK) < 0) {
		int e = errno;
		cleanup_free char *p = jc_text_printable_str(path);

		return jc_error_set(err, JC_ERR_CONFIG, e, "endpoint `%s`: %s `%s`: %s", url, key,
				    p ? p : "?", strerror(e));
	}
	return 0;
}

static int check_endpoint(const struct jc_endpoint *ep, const char *url, jc_error *err)
{
	if (ep->transport != JC_TRANSPORT_SSH)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "endpoint `%s`: not an ssh endpoint", url);
	if (!host_ok(ep->host))
		return refuse(err, url, "host", ep->host,
			      "is not a host name or an address (letters, digits, '.', '-', ':', "
			      "not starting with '-')");
	if (ep->user && !user_ok(ep->user))
		return refuse(err, url, "user", ep->user,
			      "is not a user name ([A-Za-z_][A-Za-z0-9_.-]*)");
	if (ep->path && !socket_ok(ep->path))
		return refuse(err, url, "remote socket", ep->path,
			      "is not an absolute path of [A-Za-z0-9/._-]");
	if (ep->port < 0 || ep->port > 65535)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "endpoint `%s`: port %d is out of range", url, ep->port);
	if (ssh_file_ok(url, "ssh_config", ep->ssh_config, err) < 0 ||
	    ssh_file_ok(url, "ssh_identity", ep->ssh_identity, err) < 0 ||
	    ssh_file_ok(url, "ssh_known_hosts", ep->ssh_known_hosts, err) < 0)
		return -1;
	return 0;
}

/* ssh as execv will run it: found before any fork, since execvp's search
 * allocates and is no call for a child of a threaded process. */
static char *find_ssh(void)
{
	const char *path = getenv("PATH");
	cleanup_free char *copy = strdup(path && *path ? path : "/usr/bin:/bin");
	char *save = NULL;

	if (!copy)
		return NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p;
		struct stat st;

		if (asprintf(&p, "%s/ssh", *d ? d : ".") < 0)
			return NULL;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	errno = ENOENT;
	return NULL;
}

/* ssh's options for this endpoint, through "-T --" when `remote`: the same
 * for `ssh -G` as for the connections, so -G shows what they will use. */
static int push_options(struct jc_strv *v, const struct jc_endpoint *ep, int64_t timeout_ms)
{
	char buf[64];

	if (jc_strv_push(v, "ssh") < 0)
		return -1;
	if (ep->ssh_config && (jc_strv_push(v, "-F") < 0 || jc_strv_push(v, ep->ssh_config) < 0))
		return -1;
	/* IdentitiesOnly: the site's key, not whatever an agent offers first */
	if (ep->ssh_identity &&
	    (jc_strv_push(v, "-i") < 0 || jc_strv_push(v, ep->ssh_identity) < 0 ||
	     jc_strv_push(v, "-o") < 0 || jc_strv_push(v, "IdentitiesOnly=yes") < 0))
		return -1;
	if (ep->ssh_known_hosts) {
		cleanup_free char *o = NULL;

		if (asprintf(&o, "UserKnownHostsFile=%s", ep->ssh_known_hosts) < 0)
			return -1;
		if (jc_strv_push(v, "-o") < 0 || jc_strv_push(v, o) < 0)
			return -1;
	}
	/* BatchMode: no prompt for a password or a new host key, ever; a
	 * question ssh cannot ask is a refusal it writes to stderr */
	if (jc_strv_push(v, "-o") < 0 || jc_strv_push(v, "BatchMode=yes") < 0)
		return -1;
	if (timeout_ms > 0) {
		snprintf(buf, sizeof(buf), "ConnectTimeout=%lld",
			 (long long)((timeout_ms + 999) / 1000));
		if (jc_strv_push(v, "-o") < 0 || jc_strv_push(v, buf) < 0)
			return -1;
	}
	if (ep->port > 0) {
		snprintf(buf, sizeof(buf), "%d", ep->port);
		if (jc_strv_push(v, "-p") < 0 || jc_strv_push(v, buf) < 0)
			return -1;
	}
	if (ep->user && (jc_strv_push(v, "-l") < 0 || jc_strv_push(v, ep->user) < 0))
		return -1;
	return 0;
}

static int build_argv(struct jc_strv *v, const struct jc_endpoint *ep, int64_t timeout_ms)
{
	if (push_options(v, ep, timeout_ms) < 0 || jc_strv_push(v, "-T") < 0 ||
	    jc_strv_push(v, "--") < 0 || jc_strv_push(v, ep->host) < 0 ||
	    jc_strv_push(v, "docker") < 0)
		return -1;
	if (ep->path) {
		cleanup_free char *h = NULL;

		if (asprintf(&h, "unix://%s", ep->path) < 0)
			return -1;
		if (jc_strv_push(v, "--host") < 0 || jc_strv_push(v, h) < 0)
			return -1;
	}
	return jc_strv_push(v, "system") < 0 || jc_strv_push(v, "dial-stdio") < 0 ? -1 : 0;
}

/* The child's side of every fork here: only async-signal-safe calls, the
 * parent being threaded.  `in`/`out`/`errfd` are above 2 (see high_fd). */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], int in, int out, int errfd, pid_t parent)
{
	struct sigaction dfl;
	sigset_t none;

	/* a session of its own: ^C on jobcell's terminal goes to jobcell,
	 * which then stops the job through this very ssh */
	setsid();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the forking thread lives until jc_sshbridge_close, so its death
	 * means jobcell's: then ssh must not outlive it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	/* every other descriptor of jobcell stays out of ssh */
	close_range(3, ~0U, 0);
	execv(path, argv);
	_exit(127);
}

/* A descriptor at 3 or above, close-on-exec: dup2 onto 0, 1 or 2 in the
 * child must never be a no-op that keeps close-on-exec set. */
static int high_fd(int fd)
{
	int h;

	if (fd < 0 || fd > 2)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return h;
}

static int read_all_fd(int fd, int64_t deadline, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - jc_mono_ms();
		ssize_t n;

		if (left <= 0) {
			free(buf);
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (len + 4096 + 1 > cap) {
			char *nb;

			if (cap >= (1u << 20)) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		n = read(fd, buf + len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!buf && !(buf = malloc(1)))
		return -1;
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Reap `pid`, waiting until `deadline` (then SIGKILL it and wait). */
static int reap_by(pid_t pid, int64_t deadline)
{
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (jc_mono_ms() >= deadline)
			break;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* `ssh -G`: ssh's own resolution of the options for this host (the user's
 * config, the site's -F and -o), without connecting.  StrictHostKeyChecking
 * off means ssh would talk to whoever answers: the docker CLI goes along,
 * jobcell refuses.  ask (BatchMode turns the question into a refusal),
 * yes and accept-new stay as the user's ssh config says. */
static int check_ssh_view(const char *ssh_path, const struct jc_endpoint *ep, const char *url,
			  int64_t timeout_ms, jc_error *err)
{
	struct jc_strv v = { 0 };
	cleanup_free char *out = NULL;
	cleanup_free char *errtext = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, nullfd = -1, st, r = -1;
	int64_t deadline = jc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	const char *strict = NULL;
	pid_t pid, self = getpid();

	if (push_options(&v, ep, timeout_ms) < 0 || jc_strv_push(&v, "-G") < 0 ||
	    jc_strv_push(&v, "--") < 0 || jc_strv_push(&v, ep->host) < 0) {
		jc_strv_free(&v);
		return jc_error_oom(err);
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		jc_error_set(err, JC_ERR_SYSTEM, errno, "endpoint `%s`: ssh -G: %s", url,
			     strerror(errno));
		goto out;
	}
	outp[1] = high_fd(outp[1]);
	errp[1] = high_fd(errp[1]);
	nullfd = high_fd(nullfd);
	pid = fork();
	if (pid < 0) {
		jc_error_set(err, JC_ERR_SYSTEM, errno, "endpoint `%s`: ssh -G: fork: %s", url,
			     strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(ssh_path, v.v, nullfd, outp[1], errp[1], self);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	/* ssh -G writes little to stderr, and only after it is done with
	 * stdout (a bad option, an unreadable -F) */
	if (read_all_fd(outp[0], deadline, &out) < 0 ||
	    read_all_fd(errp[0], deadline, &errtext) < 0) {
		int e = errno;

		kill(pid, SIGTERM);
		reap_by(pid, jc_mono_ms() + TERM_GRACE_MS);
		jc_error_set(err, JC_ERR_CONFIG, e, "endpoint `%s`: ssh -G: %s", url,
			     e == ETIMEDOUT ? "no answer in time" : strerror(e));
		goto out;
	}
	st = reap_by(pid, deadline);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *nl;
		cleanup_free char *line = NULL;

		while ((nl = strrchr(errtext, '\n')) && nl[1] == '\0')
			*nl = '\0';
		line = jc_text_printable_str((nl = strrchr(errtext, '\n')) ? nl + 1 : errtext);
		jc_error_set(err, JC_ERR_CONFIG, EINVAL, "endpoint `%s`: ssh -G failed: %s", url,
			     line && *line ? line : "no message");
		goto out;
	}
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, "stricthostkeychecking ", 22))
			strict = l + 22;
	if (!strict) {
		jc_error_set(err, JC_ERR_CONFIG, EINVAL,
			     "endpoint `%s`: ssh -G does not say how host keys are checked", url);
		goto out;
	}
	if (!strcmp(strict, "false") || !strcmp(strict, "no") || !strcmp(strict, "off")) {
		jc_error_set(err, JC_ERR_CONFIG, EPERM,
			     "endpoint `%s`: ssh's StrictHostKeyChecking is off for `%s`: jobcell "
			     "does not reach an engine whose host key is not checked",
			     url, ep->host);
		goto out;
	}
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (nullfd >= 0)
		close(nullfd);
	jc_strv_free(&v);
	return r;
}

static char *err_path(const struct jc_sshbridge *b, unsigned seq)
{
	char *p;

	return asprintf(&p, "%s/err-%u", b->dir, seq) < 0 ? NULL : p;
}

/* The last non-empty line of the file, or NULL. */
static char *last_line(const char *path)
{
	char buf[WHY_TAIL + 1];
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n;
	off_t from;
	char *end, *start;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		return NULL;
	from = st.st_size > WHY_TAIL ? st.st_size - WHY_TAIL : 0;
	n = pread(fd, buf, WHY_TAIL, from);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf &&
	       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == buf)
		return NULL;
	*end = '\0';
	start = end;
	while (start > buf && start[-1] != '\n')
		start--;
	return jc_text_printable(start, (size_t)(end - start), 512);
}

/* Reap the ssh processes that ended; forget those whose stderr is empty,
 * and of those that wrote, all but the newest (why() would not read them).
 * Called with the lock held.  Only by pid: jobcell may have other children. */
static void reap_ended(struct jc_sshbridge *b)
{
	size_t kept = 0;
	unsigned newest_said = 0;

	for (size_t i = 0; i < b->nconns; i++) {
		struct ssh_conn *c = &b->conns[i];
		int st;

		if (c->pid > 0 && waitpid(c->pid, &st, WNOHANG) == c->pid)
			c->pid = 0;
	}
	for (size_t i = 0; i < b->nconns; i++) {
		struct ssh_conn *c = &b->conns[i];
		cleanup_free char *p = NULL;
		struct stat st;

		if (c->pid == 0 && (p = err_path(b, c->seq)) && stat(p, &st) == 0 &&
		    st.st_size > 0 && c->seq > newest_said)
			newest_said = c->seq;
	}
	for (size_t i = 0; i < b->nconns; i++) {
		struct ssh_conn c = b->conns[i];

		if (c.pid == 0 && c.seq != newest_said) {
			cleanup_free char *p = err_path(b, c.seq);

			if (p)
				unlink(p);
			continue;
		}
		b->conns[kept++] = c;
	}
	b->nconns = kept;
}

static size_t live_count(const struct jc_sshbridge *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nconns; i++)
		n += b->conns[i].pid > 0;
	return n;
}

/* One accepted connection: its own ssh, stderr to err-<seq> (0600, in the
 * private directory).  Failures close the connection: libcurl sees a
 * transfer fail, and why() says nothing new. */
static void hand_over(struct jc_sshbridge *b, int conn)
{
	cleanup_free char *p = NULL;
	struct ssh_conn *grown;
	int errfd = -1;
	unsigned seq;
	pid_t pid;

	pthread_mutex_lock(&b->lock);
	reap_ended(b);
	if (live_count(b) >= SSH_MAX_LIVE)
		goto out;
	grown = realloc(b->conns, (b->nconns + 1) * sizeof(*grown));
	if (!grown)
		goto out;
	b->conns = grown;
	seq = ++b->next_seq;
	p = err_path(b, seq);
	if (!p)
		goto out;
	errfd = high_fd(open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (errfd < 0)
		goto out;
	pid = fork();
	if (pid == 0)
		child_exec(b->ssh_path, b->argv.v, conn, conn, errfd, b->self);
	if (pid < 0) {
		unlink(p);
		goto out;
	}
	b->conns[b->nconns++] = (struct ssh_conn){ .pid = pid, .seq = seq };
out:
	pthread_mutex_unlock(&b->lock);
	if (errfd >= 0)
		close(errfd);
	close(conn);
}

static void *bridge_thread(void *arg)
{
	struct jc_sshbridge *b = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = b->listen_fd, .events = POLLIN },
			{ .fd = b->wake[0], .events = POLLIN },
		};
		/* a second: how long an ended ssh may stay a zombie */
		int n = poll(p, 2, 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[1].revents)
			break;
		if (n > 0 && (p[0].revents & POLLIN)) {
			int conn = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (conn >= 0)
				hand_over(b, high_fd(conn));
		}
		pthread_mutex_lock(&b->lock);
		reap_ended(b);
		pthread_mutex_unlock(&b->lock);
	}
	return NULL;
}

const char *jc_sshbridge_socket(const struct jc_sshbridge *b)
{
	return b->sock;
}

char *jc_sshbridge_why(struct jc_sshbridge *b)
{
	char *line = NULL;
	unsigned *seqs;
	size_t n;

	/* the sequence numbers under the lock; the files read outside it */
	pthread_mutex_lock(&b->lock);
	n = b->nconns;
	seqs = malloc((n ? n : 1) * sizeof(*seqs));
	for (size_t i = 0; seqs && i < n; i++)
		seqs[i] = b->conns[i].seq;
	pthread_mutex_unlock(&b->lock);
	if (!seqs)
		return NULL;
	/* conns are in connection order: the newest first */
	for (size_t i = n; i-- > 0 && !line;) {
		cleanup_free char *p = err_path(b, seqs[i]);

		if (p)
			line = last_line(p);
	}
	free(seqs);
	return line;
}

void jc_sshbridge_close(struct jc_sshbridge *b)
{
	int64_t deadline;

	if (!b)
		return;
	if (b->thread_started) {
		ssize_t w;

		do
			w = write(b->wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(b->thread, NULL);
	}
	for (size_t i = 0; i < b->nconns; i++)
		if (b->conns[i].pid > 0)
			kill(b->conns[i].pid, SIGTERM);
	deadline = jc_mono_ms() + TERM_GRACE_MS;
	for (size_t i = 0; i < b->nconns; i++) {
		cleanup_free char *p = err_path(b, b->conns[i].seq);

		if (b->conns[i].pid > 0)
			reap_by(b->conns[i].pid, deadline);
		if (p)
			unlink(p);
	}
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	for (int i = 0; i < 2; i++)
		if (b->wake[i] >= 0)
			close(b->wake[i]);
	if (b->sock)
		unlink(b->sock);
	if (b->dir)
		rmdir(b->dir);
	pthread_mutex_destroy(&b->lock);
	jc_strv_free(&b->argv);
	free(b->conns);
	free(b->ssh_path);
	free(b->sock);
	free(b->dir);
	free(b->url);
	free(b);
}

int jc_sshbridge_open(const struct jc_endpoint *ep, int64_t timeout_ms, struct jc_sshbridge **out,
		      jc_error *err)
{
	cleanup_free char *url = jc_text_printable_str(ep->url ? ep->url : "ssh://");
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct jc_sshbridge *b;
	sigset_t all, old;
	int r;

	if (!url)
		return jc_error_oom(err);
	if (check_endpoint(ep, url, err) < 0)
		return -1;
	b = calloc(1, sizeof(*b));
	if (!b)
		return jc_error_oom(err);
	b->listen_fd = b->wake[0] = b->wake[1] = -1;
	b->self = getpid();
	pthread_mutex_init(&b->lock, NULL);
	if (!(b->url = strdup(url)))
		goto oom;
	if (!(b->ssh_path = find_ssh())) {
		if (errno != ENOENT)
			goto oom;
		jc_error_set(err, JC_ERR_CONFIG, ENOENT,
			     "endpoint `%s`: ssh is not on PATH (install the OpenSSH client)", url);
		goto fail;
	}
	if (check_ssh_view(b->ssh_path, ep, url, timeout_ms, err) < 0)
		goto fail;
	if (build_argv(&b->argv, ep, timeout_ms) < 0)
		goto oom;
	/* mkdtemp makes it 0700: no other user reaches the socket, which
	 * carries root on the engine's host */
	if (asprintf(&b->dir, "%s/jobcell-ssh-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp") < 0) {
		b->dir = NULL;
		goto oom;
	}
	if (!mkdtemp(b->dir)) {
		jc_error_set(err, JC_ERR_SYSTEM, errno, "endpoint `%s`: make a directory `%s`: %s",
			     url, b->dir, strerror(errno));
		free(b->dir);
		b->dir = NULL;
		goto fail;
	}
	if (asprintf(&b->sock, "%s/sock", b->dir) < 0) {
		b->sock = NULL;
		goto oom;
	}
	if (strlen(b->sock) >= sizeof(sa.sun_path)) {
		jc_error_set(err, JC_ERR_CONFIG, ENAMETOOLONG,
			     "endpoint `%s`: socket `%s` is too long for a unix socket (set "
			     "TMPDIR to a shorter directory)",
			     url, b->sock);
		free(b->sock);
		b->sock = NULL;
		goto fail;
	}
	memcpy(sa.sun_path, b->sock, strlen(b->sock) + 1);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(b->listen_fd, 16) < 0 || pipe2(b->wake, O_CLOEXEC) < 0) {
		jc_error_set(err, JC_ERR_SYSTEM, errno, "endpoint `%s`: listen on `%s`: %s", url,
			     b->sock, strerror(errno));
		goto fail;
	}
	/* jobcell blocks the signals it waits for and reads them from a
	 * signalfd; a thread that had any unblocked could take one that the
	 * signalfd should have, so the bridge thread has them all blocked
	 * from its first instruction (it inherits the mask at creation) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&b->thread, NULL, bridge_thread, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		jc_error_set(err, JC_ERR_SYSTEM, r, "endpoint `%s`: start the ssh bridge: %s", url,
			     strerror(r));
		goto fail;
	}
	b->thread_started = true;
	*out = b;
	return 0;
oom:
	jc_error_oom(err);
fail:
	jc_sshbridge_close(b);
	return -1;
}
