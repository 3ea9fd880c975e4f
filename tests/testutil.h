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

#ifdef JC_DOCKER_ENGINE_H
/* The Docker backend on a bare URL: what most tests need of endpoint.c. */
static inline int test_docker_open(const char *url, int64_t timeout_ms, struct jc_backend **out,
				   jc_error *err)
{
	struct jc_endpoint ep;
	int r;

	if (jc_endpoint_parse_url(url, &ep, err) < 0)
		return -1;
	r = jc_docker_open(&ep, timeout_ms, out, err);
	jc_endpoint_free(&ep);
	return r;
}
#endif

#endif
