/* The caller's standard input, passed to a job's as it runs (run -i):
 * read without blocking, one read at a time, and sent on the attach; its
 * end is a half-close of the attach, on which the engine closes the job's
 * stdin.  Supervision moves it between its other duties and never waits on
 * it: a caller that never closes its stdin, or a job that never reads, holds
 * up no signal, deadline or stop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed.h"

/* One read: what is held between the input and the attach. */
#define FEED_CHUNK (64u << 10)

struct jc_feed {
	int fd;      /* where the input is read */
	int own_fd;  /* a non-blocking reopening of the caller's, or -1 */
	bool socket; /* read with MSG_DONTWAIT */
	struct jc_attach *to;
	char *buf;
	size_t len, off;
	bool eof;   /* the input ended (or could not be read) */
	bool ended; /* and the attach was told */
	bool gone;  /* the engine's end is closed: nothing more is passed */
	char *warning;
};

/* A pipe or a terminal is shared with the caller: O_NONBLOCK on it would
 * change the caller's own descriptor, and a read after a poll can still
 * block when someone else reads the same pipe.  A reopening through
 * /proc has its own file status flags.  A regular file never blocks; a
 * socket is read with MSG_DONTWAIT.  When the reopening is refused (a
 * pipe of another user), the read follows a poll that said it would not
 * block. */
int jc_feed_open(int fd, struct jc_feed **out, jc_error *err)
{
	struct jc_feed *f;
	struct stat st;
	char path[64];

	if (fstat(fd, &st) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "standard input: %s",
				    strerror(errno));
	if (!(f = calloc(1, sizeof(*f))) || !(f->buf = malloc(FEED_CHUNK))) {
		free(f);
		return jc_error_oom(err);
	}
	f->fd = fd;
	f->own_fd = -1;
	f->socket = S_ISSOCK(st.st_mode);
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		f->own_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (f->own_fd >= 0)
			f->fd = f->own_fd;
	}
	*out = f;
	return 0;
}

int jc_feed_attach(struct jc_feed *f, struct jc_backend *b, const char *ref, const char *name,
		   jc_error *err)
{
	return jc_backend_attach_stdin(b, ref, name, &f->to, err);
}

struct pollfd jc_feed_want(const struct jc_feed *f)
{
	if (!f->to || f->gone || f->ended)
		return (struct pollfd){ .fd = -1 };
	if (f->off < f->len)
		return (struct pollfd){ .fd = jc_attach_fd(f->to), .events = POLLOUT };
	return (struct pollfd){ .fd = f->fd, .events = POLLIN };
}

/* Send what is held; false when there is no room now or the end is gone. */
static bool send_held(struct jc_feed *f)
{
	while (f->off < f->len) {
		ssize_t n = jc_attach_send(f->to, f->buf + f->off, f->len - f->off);
		if (n < 0) {
			/* EPIPE, ECONNRESET: the job closed its stdin or exited,
			 * and the engine its end; the rest is not wanted */
			f->gone = true;
			return false;
		}
		if (n == 0)
			return false;
		f->off += (size_t)n;
	}
	return true;
}

static void read_once(struct jc_feed *f)
{
	ssize_t n;

	if (f->socket)
		n = recv(f->fd, f->buf, FEED_CHUNK, MSG_DONTWAIT);
	else
		n = read(f->fd, f->buf, FEED_CHUNK);
	if (n > 0) {
		f->off = 0;
		f->len = (size_t)n;
	} else if (n == 0) {
		f->eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		/* the job gets what came so far, and its end: not a hang */
		if (asprintf(&f->warning,
			     "reading standard input failed (%s): the job's input was ended "
			     "there",
			     strerror(errno)) < 0)
			f->warning = NULL;
		f->eof = true;
	}
}

void jc_feed_move(struct jc_feed *f, const struct pollfd *w)
{
	/* the input is read only when the wait said it would not block */
	short revents = w && w->fd == f->fd && w->events == POLLIN ? w->revents : 0;

	if (!f->to || f->gone || f->ended)
		return;
	if (!send_held(f))
		return;
	if (!f->eof && (revents & (POLLIN | POLLHUP | POLLERR))) {
		read_once(f);
		if (!send_held(f))
			return;
	}
	if (f->eof && !f->gone) {
		f->ended = true;
		/* a failure means the engine's end is closed already: the
		 * job's stdin ends with it */
		(void)jc_attach_end(f->to);
	}
}

const char *jc_feed_warning(const struct jc_feed *f)
{
	return f->warning;
}

void jc_feed_free(struct jc_feed *f)
{
	if (!f)
		return;
	jc_attach_free(f->to);
	if (f->own_fd >= 0)
		close(f->own_fd);
	free(f->buf);
	free(f->warning);
	free(f);
}
