/* jobcell-gate: the entrypoint of every bind-mode job.  It compares each
 * mount the job will see with the device and inode jobcell checked on the
 * host, and runs the job's command only when all match.  A bind mount's
 * device and inode inside the container are those of its source on the
 * host, so a job directory swapped for a symlink between jobcell's check and
 * the engine's mount shows up here, before the job's command runs.
 *
 *     jobcell-gate NONCE PATH=DEV:INO... -- COMMAND [ARG...]
 *
 * On a mismatch it writes one line, "jobcell-gate NONCE mount PATH FOUND",
 * to stderr and exits JC_GATE_REFUSED; when the command cannot be run,
 * "jobcell-gate NONCE exec ERRNO COMMAND" and 127 or 126, as runc's start
 * error would have given.  jobcell reads that line (the job never ran; only
 * the gate knows the nonce) and reports it as one error.  Static, so
 * that it runs in any image; bound read-only at /.jobcell-gate. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "match.h"

static int usage(void)
{
	static const char msg[] = "usage: jobcell-gate NONCE PATH=DEV:INO... -- COMMAND [ARG...]\n";
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		return 2;
	return 2;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 4)
		return usage();
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		struct gate_want w;
		struct stat st;
		char found[64], line[4096];
		int e = 0, n;

		if (gate_parse_want(argv[i], &w) < 0)
			return usage();
		if (lstat(w.path, &st) < 0)
			e = errno ? errno : EIO;
		if (gate_compare(&w, &st, e, found, sizeof(found)) == 0)
			continue;
		/* one write: the log stream delivers it as one piece */
		n = snprintf(line, sizeof(line), "jobcell-gate %s mount %s %s\n", argv[1], w.path, found);
		if (n > 0 && (size_t)n < sizeof(line) && write(STDERR_FILENO, line, (size_t)n) < 0)
			return JC_GATE_REFUSED;
		return JC_GATE_REFUSED;
	}
	if (i + 1 >= argc)
		return usage();
	execvp(argv[i + 1], argv + i + 1);
	{
		/* as runc's start error would: 127 not found, 126 not executable */
		int e = errno, n;
		char line[4096];
		n = snprintf(line, sizeof(line), "jobcell-gate %s exec %d %s\n", argv[1], e,
			     argv[i + 1]);
		if (n > 0 && (size_t)n < sizeof(line) && write(STDERR_FILENO, line, (size_t)n) < 0)
			e = EIO;
		return e == ENOENT || e == ENOTDIR ? 127 : 126;
	}
}
