/* The mount gate's comparison: see match.h. */
#include <stdio.h>
#include <string.h>

#include "match.h"

static int parse_ull(const char *s, const char *end, unsigned long long *out)
{
	unsigned long long v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		unsigned long long d = (unsigned long long)(*s - '0');
		if (*s < '0' || *s > '9' || v > (~0ULL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int gate_parse_want(char *spec, struct gate_want *w)
{
	char *eq = strrchr(spec, '='), *colon;

	if (!eq || spec[0] != '/' || eq == spec + 1)
		return -1;
	colon = strchr(eq + 1, ':');
	if (!colon || parse_ull(eq + 1, colon, &w->dev) < 0 ||
	    parse_ull(colon + 1, colon + strlen(colon), &w->ino) < 0)
		return -1;
	*eq = '\0';
	w->path = spec;
	return 0;
}

int gate_compare(const struct gate_want *w, const struct stat *st, int stat_errno, char *found,
		 size_t size)
{
	if (stat_errno) {
		snprintf(found, size, "errno=%d", stat_errno);
		return 1;
	}
	if ((unsigned long long)st->st_dev == w->dev && (unsigned long long)st->st_ino == w->ino)
		return 0;
	snprintf(found, size, "%llu:%llu", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino);
	return 1;
}
