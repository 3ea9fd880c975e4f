/* Growable string vectors, names of file types, printable text for
 * messages, and the monotonic clock. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

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

char *jc_text_printable(const char *s, size_t len, size_t max)
{
	bool cut = len > max;
	size_t n = cut ? max : len;
	char *out = malloc(n + (cut ? 4 : 1));

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ? '?' : s[i];
	if (cut)
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	return out;
}

char *jc_text_printable_str(const char *s)
{
	return s ? jc_text_printable(s, strlen(s), SIZE_MAX) : NULL;
}

int64_t jc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t jc_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
