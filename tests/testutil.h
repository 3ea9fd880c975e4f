/* Small helpers shared by the unit tests. */
#ifndef JC_TESTUTIL_H
#define JC_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int testutil_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Remove a scratch tree, symlinks as links (never followed). */
static inline void rm_tree(const char *path)
{
	nftw(path, testutil_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
