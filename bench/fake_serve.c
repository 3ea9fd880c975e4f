/* The fake engine of the tests (tests/fake_engine.c) as a server, for the
 * benchmarks: `callgrind` counts jobcell's own instructions against it, with
 * no real engine in the way.
 *
 *     fake-serve [-l] [API_VERSION]
 *
 * Prints the socket's path on a line, then serves until stdin reaches its
 * end (so give it a pipe: a shell's coproc, not /dev/null) or SIGTERM,
 * SIGINT or SIGHUP comes; then removes the socket and its directory.  With
 * -l, every request it answered is listed on stderr at the end.  Images
 * known: `img` and `jobcell-test/root:latest`, both with no Config.User. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fake_engine.h"

static void list_requests(struct fake_engine *fe)
{
	size_t n = fake_engine_request_count(fe);
	for (size_t i = 0; i < n; i++) {
		const struct fake_request *r = fake_engine_request(fe, i);
		fprintf(stderr, "%s %s%s%s\n", r->method, r->path, *r->query ? "?" : "", r->query);
	}
}

int main(int argc, char **argv)
{
	const char *api = "1.41";
	struct fake_engine *fe;
	struct pollfd p[2];
	sigset_t set;
	bool log = false;
	int i = 1, sfd;

	if (i < argc && !strcmp(argv[i], "-l")) {
		log = true;
		i++;
	}
	if (i < argc)
		api = argv[i++];
	if (i < argc) {
		fprintf(stderr, "usage: fake-serve [-l] [API_VERSION]\n");
		return 2;
	}
	/* blocked before the server's threads start, so that they inherit it
	 * and the signals reach the signalfd alone */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		perror("fake-serve: signalfd");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!(fe = fake_engine_start(api))) {
		fprintf(stderr, "fake-serve: the fake engine did not start\n");
		return 1;
	}
	fake_engine_add_image(fe, "img", "");
	fake_engine_add_image(fe, "jobcell-test/root:latest", "");
	printf("%s\n", fake_engine_socket(fe));
	fflush(stdout);

	p[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		char buf[512];
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("fake-serve: poll");
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents && read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	if (log)
		list_requests(fe);
	fake_engine_stop(fe);
	close(sfd);
	return 0;
}
