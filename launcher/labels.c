/* One builder and one parser of jobcell's labels, so that the set a
 * container, a volume and a transfer container carry, and what gc reads
 * back, cannot drift apart. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "labels.h"

/* The string labels in the order they are built, and where each lives. */
static const struct {
	const char *key;
	size_t off;
} strings[] = {
	{ JC_LABEL_SITE, offsetof(struct jc_labels, site) },
	{ JC_LABEL_JOB, offsetof(struct jc_labels, job) },
	{ JC_LABEL_TENANT, offsetof(struct jc_labels, tenant) },
	{ JC_LABEL_RUN, offsetof(struct jc_labels, run) },
	{ JC_LABEL_VOLUME, offsetof(struct jc_labels, volume) },
	{ JC_LABEL_VOLUME_NONCE, offsetof(struct jc_labels, volume_nonce) },
	{ JC_LABEL_ROLE, offsetof(struct jc_labels, role) },
	{ JC_LABEL_CREATED, offsetof(struct jc_labels, created) },
	{ JC_LABEL_NONCE, offsetof(struct jc_labels, nonce) },
	{ JC_LABEL_SUPERVISOR, offsetof(struct jc_labels, supervisor) },
	{ JC_LABEL_DEADLINE, offsetof(struct jc_labels, deadline) },
};
#define NSTRINGS (sizeof(strings) / sizeof(strings[0]))
_Static_assert(NSTRINGS + 2 == JC_LABELS_MAX, "JC_LABELS_MAX counts every key");

static char **field(struct jc_labels *l, size_t i)
{
	return (char **)((char *)l + strings[i].off);
}

size_t jc_labels_build(const struct jc_labels *l, struct jc_label out[JC_LABELS_MAX])
{
	size_t n = 0;

	/* every key, "" for none: a key left out is the image's to set */
	out[n++] = (struct jc_label){ (char *)JC_LABEL_MANAGED, (char *)(l->managed ? "true" : "") };
	for (size_t i = 0; i < NSTRINGS; i++) {
		char *v = *field((struct jc_labels *)l, i);
		out[n++] = (struct jc_label){ (char *)strings[i].key, v ? v : (char *)"" };
	}
	out[n++] = (struct jc_label){ (char *)JC_LABEL_KEEP, (char *)(l->keep ? "true" : "") };
	return n;
}

int jc_labels_parse(const struct jc_label *kv, size_t n, struct jc_labels *out, jc_error *err)
{
	struct jc_labels l = { 0 };
	bool seen_managed = false, seen_keep = false, seen[NSTRINGS] = { false };

	for (size_t k = 0; k < n; k++) {
		const char *key = kv[k].key, *v = kv[k].value;

		if (!key || strncmp(key, JC_LABEL_PREFIX, strlen(JC_LABEL_PREFIX)) != 0)
			continue;
		if (strcmp(key, JC_LABEL_MANAGED) == 0) {
			if (!seen_managed)
				l.managed = v && strcmp(v, "true") == 0;
			seen_managed = true;
			continue;
		}
		if (strcmp(key, JC_LABEL_KEEP) == 0) {
			if (!seen_keep)
				l.keep = v && strcmp(v, "true") == 0;
			seen_keep = true;
			continue;
		}
		for (size_t i = 0; i < NSTRINGS; i++) {
			if (strcmp(key, strings[i].key) != 0 || seen[i])
				continue;
			seen[i] = true;
			/* "" is jobcell's "none" (jc_labels_build) */
			if (v && *v && !(*field(&l, i) = strdup(v))) {
				jc_labels_free(&l);
				return jc_error_oom(err);
			}
		}
	}
	*out = l;
	return 0;
}

bool jc_label_is_own(const char *key)
{
	if (!key)
		return false;
	if (strcasecmp(key, JC_LABEL_MANAGED) == 0 || strcasecmp(key, JC_LABEL_KEEP) == 0)
		return true;
	for (size_t i = 0; i < NSTRINGS; i++)
		if (strcasecmp(key, strings[i].key) == 0)
			return true;
	return false;
}

void jc_labels_free(struct jc_labels *l)
{
	for (size_t i = 0; i < NSTRINGS; i++)
		free(*field(l, i));
	memset(l, 0, sizeof(*l));
}
