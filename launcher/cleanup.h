/* Scope-bound cleanup, after crun's utils.h and bubblewrap's utils.h.
 * A variable declared with one of these attributes is released when it goes
 * out of scope; steal_pointer() hands ownership out and leaves NULL behind. */
#ifndef JC_CLEANUP_H
#define JC_CLEANUP_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_filep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup_cjsonp(cJSON **j)
{
	cJSON_Delete(*j);
}

static inline void cleanup_curlp(CURL **c)
{
	if (*c)
		curl_easy_cleanup(*c);
}

static inline void cleanup_slistp(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}

#define cleanup_free  __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_file  __attribute__((cleanup(cleanup_filep)))
#define cleanup_cjson __attribute__((cleanup(cleanup_cjsonp)))
#define cleanup_curl  __attribute__((cleanup(cleanup_curlp)))
#define cleanup_slist __attribute__((cleanup(cleanup_slistp)))

/* Type-checked: the result has the pointee's type, and the source is NULLed. */
#define steal_pointer(pp)                                                                          \
	({                                                                                         \
		__typeof__(*(pp)) steal_tmp_ = *(pp);                                              \
		*(pp) = NULL;                                                                      \
		steal_tmp_;                                                                        \
	})

static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#endif
