/* The mount gate's comparison (match.c): pure, shared by the gate program
 * (gate.c, static) and its unit test.  No allocation, no I/O. */
#ifndef JC_GATE_MATCH_H
#define JC_GATE_MATCH_H

#include <stddef.h>
#include <sys/stat.h>

/* The gate's exit status when a mount is not the one jobcell checked; the
 * gate then writes one report line (below) to stderr and never runs the
 * job's command. */
#define JC_GATE_REFUSED 199

/* One mount to compare: "PATH=DEV:INO" on the gate's command line. */
struct gate_want {
	const char *path;
	unsigned long long dev, ino;
};

/* Split "PATH=DEV:INO" (PATH absolute, the numbers decimal) into *w, PATH
 * pointing into `spec` (which is cut at the last `=`).  0, or -1 when
 * malformed. */
int gate_parse_want(char *spec, struct gate_want *w);

/* Compare what lstat found at w->path (`st`, or `stat_errno` when the lstat
 * failed) with *w.  0 when it is the same file; otherwise 1, and `found`
 * (of `size` bytes) gets what was found: "DEV:INO", or "errno=N" with the
 * lstat's errno. */
int gate_compare(const struct gate_want *w, const struct stat *st, int stat_errno, char *found,
		 size_t size);

#endif
