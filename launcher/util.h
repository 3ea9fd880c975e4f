/* String vectors and small helpers (util.c). */
#ifndef JC_UTIL_H
#define JC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

struct jc_strv {
	char **v;
	size_t n;
};

int jc_strv_push(struct jc_strv *s, const char *str);
int jc_strv_copy(struct jc_strv *dst, const struct jc_strv *src);
void jc_strv_free(struct jc_strv *s);
/* "a symlink", "a regular file", "a fifo", ... for messages. */
const char *jc_file_type(mode_t m);

#endif
