/* What one command costs, for the benchmarks:
 *
 *     measure FILE CMD [ARG...]
 *
 * runs CMD (stdin, stdout and stderr inherited), waits for it, and appends
 * one line to FILE:
 *
 *     WALL_S USER_S SYS_S MAXRSS_KIB STATUS
 *
 * wall time from fork to the end of wait4(), the user and system CPU time of
 * CMD and every descendant it waited for, the peak resident set of the
 * largest of them, and its exit status (128 + N when killed by signal N).
 * The times are in seconds with microseconds: GNU time prints CPU times in
 * hundredths only.  measure itself is small and calls fork(), not vfork(),
 * so the peak is CMD's and not that of a large parent (a forked child's
 * peak starts at what it inherited, and a vfork child's at its parent's).
 * Exits with CMD's status, 127 when it cannot be run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, code;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: measure FILE CMD [ARG...]\n");
		return 127;
	}
	if (!(out = fopen(argv[1], "a"))) {
		fprintf(stderr, "measure: %s: %s\n", argv[1], strerror(errno));
		return 127;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("measure: wait4");
			return 127;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%.6f %.6f %.6f %ld %d\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, code);
	if (fclose(out)) {
		perror("measure: write");
		return 127;
	}
	return code;
}
