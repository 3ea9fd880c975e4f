/* sshbridge.c with a fake ssh: this very binary, linked as `ssh` in a
 * directory put first on PATH.  It records its argv and its signal state,
 * answers `ssh -G` as FAKE_SSH_STRICT says, and carries its stdin and
 * stdout to the fake engine's socket as `docker system dial-stdio` would
 * (or writes FAKE_SSH_MSG to stderr and exits, as a refused ssh does). */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "testutil.h"
#include "error.h"
#include "sshbridge.h"

/* ---- the fake ssh ---- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "SigBlk" or "SigIgn" of /proc/self/status */
static void proc_status(const char *key, char *out, size_t n)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, n, "?");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
			snprintf(out, n, "%s", line + strlen(key) + 2);
			out[strcspn(out, "\n")] = '\0';
		}
	if (f)
		fclose(f);
}

static void fake_record(int argc, char **argv)
{
	const char *dir = getenv("FAKE_SSH_LOG");
	char path[PATH_MAX], tmp[PATH_MAX], blk[64], ign[64];
	FILE *f;

	if (!dir)
		return;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%d", dir, (int)getpid());
	snprintf(path, sizeof(path), "%s/argv-%d", dir, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return;
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	proc_status("SigBlk", blk, sizeof(blk));
	proc_status("SigIgn", ign, sizeof(ign));
	/* signals 32 and 33 are glibc's own: sigaction(2) through glibc cannot
	 * set them, and a parent (make, a shell) may have left 32 ignored */
	snprintf(ign, sizeof(ign), "%016llx", strtoull(ign, NULL, 16) & ~(3ULL << 31));
	fprintf(f, "\nleader=%d blocked=%s ignored=%s\n", getsid(0) == getpid(), blk, ign);
	fclose(f);
	rename(tmp, path); /* whole, or not there */
}

static int fake_ssh(int argc, char **argv)
{
	const char *mode = getenv("FAKE_SSH_MODE");
	const char *engine = getenv("FAKE_SSH_ENGINE");
	bool in_open = true;
	char buf[65536];
	int s;

	if (argc >= 4 && !strcmp(argv[argc - 3], "-G")) {
		const char *strict = getenv("FAKE_SSH_STRICT");

		if (strict && !strcmp(strict, "broken")) {
			fprintf(stderr, "command-line: line 0: Bad configuration option: x\n");
			return 255;
		}
		printf("user root\nhostname %s\n", argv[argc - 1]);
		if (!strict || strcmp(strict, "absent"))
			printf("stricthostkeychecking %s\n", strict ? strict : "ask");
		printf("batchmode yes\n");
		return 0;
	}
	fake_record(argc, argv);
	if (mode && !strcmp(mode, "deny")) {
		fprintf(stderr,
			"Warning: Permanently added '[127.0.0.1]:22' (ED25519) to the list "
			"of known hosts.\r\n%s\r\n\n",
			getenv("FAKE_SSH_MSG") ? getenv("FAKE_SSH_MSG") : "Permission denied");
		return 255;
	}
	if (mode && !strcmp(mode, "record"))
		return 0;
	if (!engine || (s = connect_unix(engine)) < 0) {
		fprintf(stderr, "fake ssh: no engine\n");
		return 255;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = in_open ? 0 : -1, .events = POLLIN },
				       { .fd = s, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, -1) < 0)
			return 1;
		if (p[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0 || write(s, buf, (size_t)n) != n) {
				shutdown(s, SHUT_WR);
				in_open = false;
			}
		}
		if (p[1].revents) {
			/* the engine is done: dial-stdio, then ssh, exit */
			n = read(s, buf, sizeof(buf));
			if (n <= 0 || write(1, buf, (size_t)n) != n)
				return 0;
		}
	}
	return 0;
}

/* ---- the test's side ---- */

static char bin_dir[PATH_MAX], log_dir[PATH_MAX], tmp_dir[PATH_MAX], files_dir[PATH_MAX];
static char *old_path;

static void mkscratch(char *out, const char *what)
{
	snprintf(out, PATH_MAX, "/tmp/jc-test-sshbridge-%s-XXXXXX", what);
	assert_non_null(mkdtemp(out));
}

static int setup(void **state)
{
	char self[PATH_MAX], link[PATH_MAX + 8], path[3 * PATH_MAX];
	ssize_t n;

	(void)state;
	mkscratch(bin_dir, "bin");
	mkscratch(log_dir, "log");
	mkscratch(tmp_dir, "tmp");
	mkscratch(files_dir, "files");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	snprintf(link, sizeof(link), "%s/ssh", bin_dir);
	assert_int_equal(symlink(self, link), 0);
	old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	snprintf(path, sizeof(path), "%s:%s", bin_dir, old_path);
	setenv("PATH", path, 1);
	setenv("FAKE_SSH_LOG", log_dir, 1);
	setenv("TMPDIR", tmp_dir, 1);
	for (const char *const *f = (const char *const[]){ "config", "id", "known", NULL }; *f;
	     f++) {
		char p[PATH_MAX + 16];
		FILE *fp;

		snprintf(p, sizeof(p), "%s/%s", files_dir, *f);
		assert_non_null(fp = fopen(p, "w"));
		fclose(fp);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	setenv("PATH", old_path, 1);
	free(old_path);
	rm_tree(bin_dir);
	rm_tree(log_dir);
	rm_tree(tmp_dir);
	rm_tree(files_dir);
	return 0;
}

static void reset_env(void)
{
	unsetenv("FAKE_SSH_MODE");
	unsetenv("FAKE_SSH_MSG");
	unsetenv("FAKE_SSH_STRICT");
	unsetenv("FAKE_SSH_ENGINE");
}

/* Forget the records of earlier tests. */
static void clear_log(void)
{
	rm_tree(log_dir);
	assert_int_equal(mkdir(log_dir, 0700), 0);
}

static size_t entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/* Wait (10 s at most) until `n` fake ssh processes have recorded; their
 * pids in order of the names (n <= 8). */
static void await_records(size_t n, pid_t *pids)
{
	for (int i = 0; i < 1000 && entries(log_dir, "argv-") < n; i++)
		usleep(10000);
	assert_int_equal(entries(log_dir, "argv-"), n);
	if (pids) {
		DIR *d = opendir(log_dir);
		struct dirent *e;
		size_t k = 0;

		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "argv-", 5) && k < n)
				pids[k++] = (pid_t)atoi(e->d_name + 5);
		closedir(d);
	}
}

/* The record of the one fake ssh that ran: its first line is its argv,
 * its second its signal state. */
static void read_record(char *argv_line, size_t n1, char *state_line, size_t n2)
{
	pid_t pid;
	char p[PATH_MAX + 32];
	FILE *f;

	await_records(1, &pid);
	snprintf(p, sizeof(p), "%s/argv-%d", log_dir, (int)pid);
	assert_non_null(f = fopen(p, "r"));
	assert_non_null(fgets(argv_line, (int)n1, f));
	argv_line[strcspn(argv_line, "\n")] = '\0';
	if (state_line) {
		assert_non_null(fgets(state_line, (int)n2, f));
		state_line[strcspn(state_line, "\n")] = '\0';
	}
	fclose(f);
}

static void assert_msg(const jc_error *err, const char *part)
{
	if (!err->msg || !strstr(err->msg, part))
		fail_msg("error `%s` lacks `%s`", err->msg ? err->msg : "(none)", part);
}

static struct jc_endpoint endpoint(const char *url, const char *host)
{
	return (struct jc_endpoint){ .transport = JC_TRANSPORT_SSH,
				     .url = (char *)url,
				     .host = (char *)host };
}

static struct jc_sshbridge *open_ok(const struct jc_endpoint *ep, int64_t timeout_ms)
{
	struct jc_sshbridge *b = NULL;
	jc_error err = { 0 };

	if (jc_sshbridge_open(ep, timeout_ms, &b, &err) < 0)
		fail_msg("open: %s", err.msg);
	assert_non_null(b);
	return b;
}

/* Connect to the bridge and wait for the far side to close. */
static void touch(struct jc_sshbridge *b)
{
	char c;
	int fd = connect_unix(jc_sshbridge_socket(b));

	assert_true(fd >= 0);
	shutdown(fd, SHUT_WR);
	while (read(fd, &c, 1) > 0)
		;
	close(fd);
}

static bool gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

static void test_argv(void **state)
{
	char cfg[PATH_MAX + 16], id[PATH_MAX + 16], known[PATH_MAX + 16];
	char want[4 * PATH_MAX + 512], got[4 * PATH_MAX + 512];
	struct jc_endpoint ep;
	struct jc_sshbridge *b;

	(void)state;
	reset_env();
	setenv("FAKE_SSH_MODE", "record", 1);
	snprintf(cfg, sizeof(cfg), "%s/config", files_dir);
	snprintf(id, sizeof(id), "%s/id", files_dir);
	snprintf(known, sizeof(known), "%s/known", files_dir);

	/* nothing but the host */
	clear_log();
	ep = endpoint("ssh://engine.example", "engine.example");
	b = open_ok(&ep, 5000);
	touch(b);
	read_record(got, sizeof(got), NULL, 0);
	assert_string_equal(got, "ssh -o BatchMode=yes -o ConnectTimeout=5 -T -- engine.example "
				 "docker system dial-stdio");
	jc_sshbridge_close(b);

	/* everything: the timeout rounds up to whole seconds */
	clear_log();
	ep = endpoint("ssh://root@10.0.0.1:2222/run/podman/podman.sock", "10.0.0.1");
	ep.user = "root";
	ep.port = 2222;
	ep.path = "/run/podman/podman.sock";
	ep.ssh_config = cfg;
	ep.ssh_identity = id;
	ep.ssh_known_hosts = known;
	b = open_ok(&ep, 1500);
	touch(b);
	read_record(got, sizeof(got), NULL, 0);
	snprintf(want, sizeof(want),
		 "ssh -F %s -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o BatchMode=yes "
		 "-o ConnectTimeout=2 -p 2222 -l root -T -- 10.0.0.1 docker --host "
		 "unix:///run/podman/podman.sock system dial-stdio",
		 cfg, id, known);
	assert_string_equal(got, want);
	jc_sshbridge_close(b);

	/* some: an identity and a user; no timeout, no ConnectTimeout */
	clear_log();
	ep = endpoint("ssh://deploy_1@engine-2.example", "engine-2.example");
	ep.user = "deploy_1";
	ep.ssh_identity = id;
	b = open_ok(&ep, 0);
	touch(b);
	read_record(got, sizeof(got), NULL, 0);
	snprintf(want, sizeof(want),
		 "ssh -i %s -o IdentitiesOnly=yes -o BatchMode=yes -l deploy_1 -T -- "
		 "engine-2.example docker system dial-stdio",
		 id);
	assert_string_equal(got, want);
	jc_sshbridge_close(b);

	/* known hosts only, an IPv6 address, a port */
	clear_log();
	ep = endpoint("ssh://::1", "::1");
	ep.ssh_known_hosts = known;
	ep.port = 22;
	b = open_ok(&ep, 30000);
	touch(b);
	read_record(got, sizeof(got), NULL, 0);
	snprintf(want, sizeof(want),
		 "ssh -o UserKnownHostsFile=%s -o BatchMode=yes -o ConnectTimeout=30 -p 22 -T -- "
		 "::1 docker system dial-stdio",
		 known);
	assert_string_equal(got, want);
	jc_sshbridge_close(b);
}

/* The child runs with no signal blocked or ignored, in a session of its
 * own, whatever jobcell had blocked for its signalfd. */
static void test_child_state(void **state)
{
	struct jc_endpoint ep = endpoint("ssh://h", "h");
	struct jc_sshbridge *b;
	sigset_t set, old;
	char got[1024], st[256];
	void (*oldpipe)(int);

	(void)state;
	reset_env();
	clear_log();
	setenv("FAKE_SSH_MODE", "record", 1);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	oldpipe = signal(SIGPIPE, SIG_IGN);
	b = open_ok(&ep, 5000);
	touch(b);
	read_record(got, sizeof(got), st, sizeof(st));
	assert_string_equal(st, "leader=1 blocked=0000000000000000 ignored=0000000000000000");
	jc_sshbridge_close(b);
	signal(SIGPIPE, oldpipe);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

struct buf {
	char data[4096];
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *bf = userdata;
	size_t len = size * n;

	if (bf->len + len >= sizeof(bf->data))
		return 0;
	memcpy(bf->data + bf->len, p, len);
	bf->len += len;
	bf->data[bf->len] = '\0';
	return len;
}

static void test_ping_through_curl(void **state)
{
	struct fake_engine *fe = fake_engine_start("1.41");
	struct jc_endpoint ep = endpoint("ssh://engine", "engine");
	struct jc_sshbridge *b;
	struct buf bf = { .len = 0 };
	long code = 0;
	CURL *c;

	(void)state;
	assert_non_null(fe);
	reset_env();
	clear_log();
	setenv("FAKE_SSH_ENGINE", fake_engine_socket(fe), 1);
	b = open_ok(&ep, 5000);
	assert_non_null(c = curl_easy_init());
	assert_int_equal(curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, jc_sshbridge_socket(b)),
			 CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "http://localhost/_ping"), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, &bf), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L), CURLE_OK);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
	assert_int_equal(code, 200);
	assert_string_equal(bf.data, "OK");
	/* the connection is reused: a second request, the same ssh */
	bf.len = 0;
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	assert_string_equal(bf.data, "OK");
	curl_easy_cleanup(c);
	await_records(1, NULL);
	assert_int_equal(fake_engine_count(fe, "GET", "/_ping"), 2);
	assert_null(jc_sshbridge_why(b));
	jc_sshbridge_close(b);
	fake_engine_stop(fe);
}

/* Two connections open at once: two ssh processes, each its own
 * conversation; close ends both and leaves nothing. */
static void test_concurrent_and_close(void **state)
{
	static const char req[] = "GET /_ping HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct fake_engine *fe = fake_engine_start("1.41");
	struct jc_endpoint ep = endpoint("ssh://engine", "engine");
	struct jc_sshbridge *b;
	char dir[PATH_MAX], *slash;
	int fd[3];
	pid_t pids[3];

	(void)state;
	assert_non_null(fe);
	reset_env();
	clear_log();
	setenv("FAKE_SSH_ENGINE", fake_engine_socket(fe), 1);
	b = open_ok(&ep, 5000);
	snprintf(dir, sizeof(dir), "%s", jc_sshbridge_socket(b));
	assert_non_null(slash = strrchr(dir, '/'));
	*slash = '\0';
	{
		struct stat st;

		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
		assert_int_equal(strncmp(dir, tmp_dir, strlen(tmp_dir)), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_true((fd[i] = connect_unix(jc_sshbridge_socket(b))) >= 0);
	await_records(2, pids);
	assert_int_not_equal(pids[0], pids[1]);
	for (int i = 0; i < 2; i++)
		assert_int_equal(write(fd[i], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	for (int i = 0; i < 2; i++) {
		char got[2048];
		size_t len = 0;
		ssize_t n;

		while (len < sizeof(got) - 1 &&
		       (n = read(fd[i], got + len, sizeof(got) - 1 - len)) > 0)
			len += (size_t)n;
		got[len] = '\0';
		assert_non_null(strstr(got, "HTTP/1.0 200") ? got : strstr(got, "HTTP/1.1 200"));
		assert_non_null(strstr(got, "\r\n\r\nOK"));
		close(fd[i]);
	}
	assert_int_equal(fake_engine_count(fe, "GET", "/_ping"), 2);
	/* a third left open: its ssh still runs when close comes */
	assert_true((fd[2] = connect_unix(jc_sshbridge_socket(b))) >= 0);
	clear_log();
	await_records(1, &pids[2]);
	assert_false(gone(pids[2]));
	jc_sshbridge_close(b);
	for (int i = 0; i < 3; i++) {
		assert_true(gone(pids[i]));
		assert_int_equal(waitpid(pids[i], NULL, WNOHANG), -1);
	}
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(entries(tmp_dir, "jobcell-ssh-"), 0);
	close(fd[2]);
	fake_engine_stop(fe);
}

/* What a refused ssh wrote, its last line, the newest connection's. */
static void test_why(void **state)
{
	struct jc_endpoint ep = endpoint("ssh://engine", "engine");
	struct jc_sshbridge *b;
	char *why;

	(void)state;
	reset_env();
	clear_log();
	setenv("FAKE_SSH_MODE", "deny", 1);
	setenv("FAKE_SSH_MSG", "Host key verification failed.", 1);
	b = open_ok(&ep, 5000);
	assert_null(jc_sshbridge_why(b));
	touch(b);
	await_records(1, NULL);
	why = jc_sshbridge_why(b);
	assert_non_null(why);
	assert_string_equal(why, "Host key verification failed.");
	free(why);
	setenv("FAKE_SSH_MSG", "Permission denied (publickey).", 1);
	touch(b);
	await_records(2, NULL);
	why = jc_sshbridge_why(b);
	assert_non_null(why);
	assert_string_equal(why, "Permission denied (publickey).");
	free(why);
	/* the thread reaps (a second at most) and keeps the newest file */
	sleep(2);
	why = jc_sshbridge_why(b);
	assert_non_null(why);
	assert_string_equal(why, "Permission denied (publickey).");
	free(why);
	/* control characters never reach a message */
	setenv("FAKE_SSH_MSG", "sh: 1: docker:\033[31m not found", 1);
	touch(b);
	await_records(3, NULL);
	why = jc_sshbridge_why(b);
	assert_string_equal(why, "sh: 1: docker:?[31m not found");
	free(why);
	jc_sshbridge_close(b);
	assert_int_equal(entries(tmp_dir, "jobcell-ssh-"), 0);
}

/* Each refusal: JC_ERR_CONFIG, the endpoint named, no ssh run, no
 * directory made. */
static void refuse(struct jc_endpoint *ep, const char *part)
{
	struct jc_sshbridge *b = NULL;
	jc_error err = { 0 };

	clear_log();
	assert_int_equal(jc_sshbridge_open(ep, 5000, &b, &err), -1);
	assert_null(b);
	assert_int_equal(err.kind, JC_ERR_CONFIG);
	assert_msg(&err, part);
	if (ep->url)
		assert_msg(&err, ep->url);
	assert_null(strchr(err.msg, '\n'));
	jc_error_clear(&err);
	assert_int_equal(entries(log_dir, "argv-"), 0);
	assert_int_equal(entries(tmp_dir, "jobcell-ssh-"), 0);
}

static void test_refusals(void **state)
{
	static const char *const hosts[] = {
		"-oProxyCommand=touch /tmp/x",
		"a;b",
		"a b",
		"$(id)",
		"a`id`",
		"",
		"[::1]",
		"a|b",
		"a&b",
		"h\n",
		"a/b",
		"a'b",
		"a\"b",
		"a_b",
		"a@b",
	};
	static const char *const users[] = {
		"-lroot", "a;b", "1abc", "a b", "$USER", "", "a/b", "ro`ot`", "a@b", "a:b",
	};
	static const char *const sockets[] = {
		"relative/sock", "/a b",  "/a;b",  "/a$(x)", "/a`x`",
		"/a'b",          "/a\\b", "/a\nb", "/a:b",   "",
	};
	char bad[PATH_MAX + 32];
	struct jc_endpoint ep;

	(void)state;
	reset_env();
	setenv("FAKE_SSH_MODE", "record", 1);
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		ep = endpoint("ssh://bad-host", hosts[i]);
		refuse(&ep, "is not a host name");
	}
	ep = endpoint("ssh://none", NULL);
	refuse(&ep, "is not a host name");
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		ep = endpoint("ssh://bad-user", "h");
		ep.user = (char *)users[i];
		refuse(&ep, "is not a user name");
	}
	for (size_t i = 0; i < sizeof(sockets) / sizeof(sockets[0]); i++) {
		ep = endpoint("ssh://bad-socket", "h");
		ep.path = (char *)sockets[i];
		refuse(&ep, "is not an absolute path");
	}
	ep = endpoint("ssh://h:99999", "h");
	ep.port = 99999;
	refuse(&ep, "out of range");
	ep = endpoint("tcp://h:2375", "h");
	ep.transport = JC_TRANSPORT_TCP;
	refuse(&ep, "not an ssh endpoint");
	/* files that are not there, or whose names ssh would change */
	snprintf(bad, sizeof(bad), "%s/missing", files_dir);
	ep = endpoint("ssh://h", "h");
	ep.ssh_identity = bad;
	refuse(&ep, "ssh_identity");
	ep = endpoint("ssh://h", "h");
	ep.ssh_known_hosts = bad;
	refuse(&ep, "ssh_known_hosts");
	ep = endpoint("ssh://h", "h");
	ep.ssh_config = bad;
	refuse(&ep, "ssh_config");
	ep = endpoint("ssh://h", "h");
	ep.ssh_known_hosts = "/tmp/known hosts";
	refuse(&ep, "would not reach ssh as written");
	ep = endpoint("ssh://h", "h");
	ep.ssh_identity = "/tmp/%d/id";
	refuse(&ep, "would not reach ssh as written");
}

/* ssh's own view: host keys unchecked is refused; a -G that fails says
 * why; an ssh that is not there says so. */
static void test_ssh_view(void **state)
{
	static const char *const off[] = { "false", "no", "off" };
	static const char *const fine[] = { "ask", "true", "yes", "accept-new" };
	struct jc_endpoint ep = endpoint("ssh://root@engine", "engine");
	struct jc_sshbridge *b;
	char empty[PATH_MAX];

	(void)state;
	reset_env();
	setenv("FAKE_SSH_MODE", "record", 1);
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		setenv("FAKE_SSH_STRICT", off[i], 1);
		refuse(&ep, "StrictHostKeyChecking is off for `engine`");
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		setenv("FAKE_SSH_STRICT", fine[i], 1);
		jc_sshbridge_close(open_ok(&ep, 5000));
		assert_int_equal(entries(tmp_dir, "jobcell-ssh-"), 0);
	}
	setenv("FAKE_SSH_STRICT", "absent", 1);
	refuse(&ep, "ssh -G does not say how host keys are checked");
	setenv("FAKE_SSH_STRICT", "broken", 1);
	refuse(&ep, "ssh -G failed: command-line: line 0: Bad configuration option: x");
	unsetenv("FAKE_SSH_STRICT");

	mkscratch(empty, "empty");
	{
		char *saved = strdup(getenv("PATH"));

		setenv("PATH", empty, 1);
		refuse(&ep, "ssh is not on PATH");
		setenv("PATH", saved, 1);
		free(saved);
	}
	rmdir(empty);
	b = open_ok(&ep, 5000);
	jc_sshbridge_close(b);
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_child_state),
		cmocka_unit_test(test_ping_through_curl),
		cmocka_unit_test(test_concurrent_and_close),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ssh_view),
	};

	if (!strcmp(base ? base + 1 : argv[0], "ssh"))
		return fake_ssh(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
