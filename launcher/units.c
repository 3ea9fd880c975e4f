/* Value parsers shared by the INI reader and the command line.  Each returns
 * 0 or -1 and leaves its output alone on failure. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobcell.h"

/* A decimal number with no sign, no spaces; *end at the first non-digit. */
static int parse_digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t r = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (r > (UINT64_MAX - d) / 10)
			return -1;
		r = r * 10 + d;
	}
	*v = r;
	*end = p;
	return 0;
}

int jc_parse_uint(const char *s, int64_t *v)
{
	uint64_t r;
	const char *end;

	if (parse_digits(s, &r, &end) < 0 || *end || r > INT64_MAX)
		return -1;
	*v = (int64_t)r;
	return 0;
}

int jc_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	uint64_t v;
	const char *end;

	if (parse_digits(s, &v, &end) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			/* clock + duration must not overflow later */
			if (v > (uint64_t)JC_DURATION_MAX_MS / units[i].ms)
				return -1;
			*ms = (int64_t)(v * units[i].ms);
			return 0;
		}
	}
	return -1;
}

int jc_parse_size(const char *s, int64_t *bytes)
{
	uint64_t v, mult;
	const char *end;

	if (parse_digits(s, &v, &end) < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		mult = 1;
		break;
	case 'k':
		mult = 1ULL << 10;
		break;
	case 'm':
		mult = 1ULL << 20;
		break;
	case 'g':
		mult = 1ULL << 30;
		break;
	default:
		return -1;
	}
	if (*end && end[1] && !(tolower((unsigned char)end[1]) == 'b' && !end[2]))
		return -1;
	if (v > (uint64_t)INT64_MAX / mult)
		return -1;
	*bytes = (int64_t)(v * mult);
	return 0;
}

int jc_parse_mode(const char *s, unsigned *mode)
{
	unsigned r = 0;
	size_t n = strlen(s);

	if (n < 1 || n > 5)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		r = r * 8 + (unsigned)(*p - '0');
	}
	if (r > 07777)
		return -1;
	*mode = r;
	return 0;
}

int jc_parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

int jc_parse_user(const char *s, uid_t *uid, gid_t *gid)
{
	uint64_t u, g;
	const char *end;

	if (parse_digits(s, &u, &end) < 0 || u > UINT32_MAX - 1)
		return -1;
	g = u;
	if (*end == ':') {
		if (parse_digits(end + 1, &g, &end) < 0 || g > UINT32_MAX - 1)
			return -1;
	}
	if (*end)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}
