/* Small helpers shared by the unit tests. */
#ifndef JC_TESTUTIL_H
#define JC_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The pipeline tests' fixture: a fresh 0755 directory DIR made from TMPL
 * (a mkdtemp template that fits in DIR), holding the site workspace DIR/ws
 * with startup/ and local/.  0 when all of it was made. */
static inline int test_workspace_make(char dir[64], const char *tmpl, char ws[128])
{
	char p[200];

	if (snprintf(dir, 64, "%s", tmpl) >= 64 || !mkdtemp(dir) || chmod(dir, 0755) < 0)
		return -1;
	snprintf(ws, 128, "%s/ws", dir);
	if (mkdir(ws, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/startup", ws);
	if (mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/local", ws);
	return mkdir(p, 0755);
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
