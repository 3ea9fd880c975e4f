/* Growable string vectors, and names of file types for messages. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int jc_strv_push(struct jc_strv *s, const char *str)
{
	char **v;
	char *copy = strdup(str);

	if (!copy)
		return -1;
	v = realloc(s->v, (s->n + 2) * sizeof(*v));
	if (!v) {
		free(copy);
		return -1;
	}
	v[s->n++] = copy;
	v[s->n] = NULL;
	s->v = v;
	return 0;
}

int jc_strv_copy(struct jc_strv *dst, const struct jc_strv *src)
{
	struct jc_strv tmp = { 0 };

	for (size_t i = 0; i < src->n; i++) {
		if (jc_strv_push(&tmp, src->v[i]) < 0) {
			jc_strv_free(&tmp);
			return -1;
		}
	}
	jc_strv_free(dst);
	*dst = tmp;
	return 0;
}

void jc_strv_free(struct jc_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

const char *jc_file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFLNK:
		return "a symlink";
	case S_IFREG:
		return "a regular file";
	case S_IFIFO:
		return "a fifo";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	default:
		return "of an unknown type";
	}
}
