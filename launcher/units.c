/* Value parsers shared by the INI reader and the command line.  Each returns
 * 0 or -1 and leaves its output alone on failure. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"
#include "util.h"

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

int jc_parse_cpus(const char *s, int64_t *nano)
{
	uint64_t whole, frac = 0;
	const char *end;
	int64_t r;

	if (parse_digits(s, &whole, &end) < 0 || whole > 1024)
		return -1;
	if (*end == '.') {
		const char *f = end + 1;
		size_t n = strspn(f, "0123456789");
		/* at most milli-CPUs: Docker's --cpus takes finer, but the cgroup
		 * quota it becomes is not that fine anyway */
		if (n < 1 || n > 3 || f[n])
			return -1;
		for (size_t i = 0; i < 3; i++)
			frac = frac * 10 + (i < n ? (uint64_t)(f[i] - '0') : 0);
	} else if (*end) {
		return -1;
	}
	r = (int64_t)whole * 1000000000 + (int64_t)frac * 1000000;
	if (r > JC_NANO_CPUS_MAX || (r > 0 && r < JC_NANO_CPUS_MIN))
		return -1;
	*nano = r;
	return 0;
}

void jc_gpus_free(struct jc_gpus *g)
{
	jc_strv_free(&g->ids);
	g->count = 0;
}

int jc_gpus_copy(struct jc_gpus *dst, const struct jc_gpus *src)
{
	struct jc_strv ids = { 0 };

	if (jc_strv_copy(&ids, &src->ids) < 0)
		return -1;
	jc_strv_free(&dst->ids);
	dst->ids = ids;
	dst->count = src->count;
	return 0;
}

static bool gpu_id_ok(const char *s, size_t n)
{
	/* the NVIDIA runtime reads the ids as NVIDIA_VISIBLE_DEVICES, where
	 * these words are not devices; slurm is jobcell's own word */
	static const char *const words[] = { "all", "none", "void", "slurm" };

	if (n < 1 || n > JC_GPU_ID_MAX)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
			return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && (i == 0 || (s[i] != '_' && s[i] != '-')))
			return false;
	return true;
}

int jc_parse_gpus(const char *s, struct jc_gpus *out)
{
	struct jc_gpus g = { 0 };
	int64_t count = 0;

	/* digits alone are a count, never a device id */
	if (!*s || strcmp(s, "all") == 0 || strcmp(s, "slurm") == 0 ||
	    strspn(s, "0123456789") == strlen(s)) {
		if (strcmp(s, "all") == 0)
			g.count = -1;
		else if (strcmp(s, "slurm") == 0)
			g.count = JC_GPUS_SLURM;
		else if (*s && (jc_parse_uint(s, &count) < 0 || count > JC_GPU_COUNT_MAX))
			return -1;
		else if (*s)
			g.count = count;
		jc_gpus_free(out);
		*out = g;
		return 0;
	}
	for (const char *p = s;;) {
		const char *item, *comma;
		size_t n;

		p += strspn(p, " \t");
		item = p;
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			n--;
		if (!gpu_id_ok(item, n) || g.ids.n >= JC_GPU_IDS_MAX)
			goto bad;
		for (size_t i = 0; i < g.ids.n; i++)
			if (strlen(g.ids.v[i]) == n && strncmp(g.ids.v[i], item, n) == 0)
				goto bad; /* the same device twice */
		{
			char id[JC_GPU_ID_MAX + 1];
			memcpy(id, item, n);
			id[n] = '\0';
			if (jc_strv_push(&g.ids, id) < 0)
				goto bad;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	jc_gpus_free(out);
	*out = g;
	return 0;
bad:
	jc_gpus_free(&g);
	return -1;
}
