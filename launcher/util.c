/* Growable string vectors. */
#include <stdlib.h>
#include <string.h>

#include "jobcell.h"

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
