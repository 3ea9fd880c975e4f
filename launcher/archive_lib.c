/* Loading libarchive on demand (archive_lib.h says why).  RTLD_LOCAL: its
 * symbols are reached through the table only and interpose on nothing. */
#define JC_LIBARCHIVE_TABLE_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "archive_lib.h"

struct jc_libarchive jc_libarchive;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static bool loaded;

static int fill(void *h, jc_error *err)
{
	struct jc_libarchive t;
	const char *name = NULL;

	dlerror();
#define JC_LA_SYM(f)                                                                              \
	if (!name && !(t.f = (__typeof__(f) *)dlsym(h, #f)))                                      \
		name = #f;
	JC_LIBARCHIVE_FUNCS(JC_LA_SYM)
#undef JC_LA_SYM
	if (name)
		return jc_error_set(err, JC_ERR_SYSTEM, ELIBACC,
				    "load " JC_LIBARCHIVE_SONAME " (it moves files): no `%s` in it",
				    name);
	jc_libarchive = t;
	return 0;
}

int jc_libarchive_load(jc_error *err)
{
	int r = 0;
	void *h;

	pthread_mutex_lock(&load_lock);
	if (loaded)
		goto out;
	if (!(h = dlopen(JC_LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		const char *why = dlerror();
		r = jc_error_set(err, JC_ERR_SYSTEM, ELIBACC,
				 "load " JC_LIBARCHIVE_SONAME " (it moves files): %s",
				 why ? why : "dlopen failed");
		goto out;
	}
	if ((r = fill(h, err)) < 0)
		dlclose(h);
	else
		loaded = true; /* never closed: the table points into it */
out:
	pthread_mutex_unlock(&load_lock);
	return r;
}
