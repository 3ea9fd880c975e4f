/* Name rules (THREATS.md "Inputs to refuse").  Pure functions: a name is
 * judged on its bytes alone; the workspace module checks what is on disk. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "names.h"
#include "util.h"

static const char *const builtin_reserved[] = { "startup", "local" };

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether `len` bytes may be quoted in a message: no control bytes, which
 * could forge a log line or drive a terminal. */
static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

int jc_name_check(const char *name, const char *what, jc_error *err)
{
	size_t len;

	if (!name || !*name)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "%s is empty", what);
	len = strnlen(name, JC_NAME_MAX + 1);
	if (len > JC_NAME_MAX)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "%s is longer than %d characters",
				    what, JC_NAME_MAX);
	if (!is_alnum((unsigned char)name[0]))
		return printable(name, len)
			   ? jc_error_set(err, JC_ERR_INPUT, EINVAL,
					  "%s `%.*s` must start with a letter or digit", what,
					  (int)len, name)
			   : jc_error_set(err, JC_ERR_INPUT, EINVAL,
					  "%s must start with a letter or digit", what);
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
			/* the name may hold control bytes: do not echo it */
			return jc_error_set(
			    err, JC_ERR_INPUT, EINVAL,
			    "%s has a character outside [A-Za-z0-9_.-] at offset %zu", what, i);
	}
	return 0;
}

int jc_name_check_site(const char *name, jc_error *err)
{
	if (jc_name_check(name, "site name", err) < 0)
		return -1;
	if (strchr(name, '-'))
		return jc_error_set(
		    err, JC_ERR_INPUT, EINVAL,
		    "site name `%s` has a `-`: container names jobcell-<site>-<job> "
		    "would be ambiguous",
		    name);
	return 0;
}

int jc_name_check_job(const char *name, const struct jc_strv *reserved, jc_error *err)
{
	if (jc_name_check(name, "job name", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(builtin_reserved) / sizeof(builtin_reserved[0]); i++)
		if (strcasecmp(name, builtin_reserved[i]) == 0)
			return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job name `%s` is reserved",
					    name);
	for (size_t i = 0; reserved && i < reserved->n; i++)
		if (strcasecmp(name, reserved->v[i]) == 0)
			return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job name `%s` is reserved",
					    name);
	return 0;
}

int jc_name_check_env(const char *entry, jc_error *err)
{
	const char *eq = strchr(entry, '=');
	size_t n;

	if (!eq)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "environment entry has no `=`: want NAME=VALUE");
	n = (size_t)(eq - entry);
	if (n == 0 || n > 255)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "environment name is empty or too long");
	if (!((entry[0] >= 'A' && entry[0] <= 'Z') || (entry[0] >= 'a' && entry[0] <= 'z') ||
	      entry[0] == '_'))
		return printable(entry, n)
			   ? jc_error_set(err, JC_ERR_INPUT, EINVAL,
					  "environment name `%.*s` must start with a letter or `_`",
					  (int)n, entry)
			   : jc_error_set(err, JC_ERR_INPUT, EINVAL,
					  "environment name must start with a letter or `_`");
	for (size_t i = 1; i < n; i++)
		if (!is_alnum((unsigned char)entry[i]) && entry[i] != '_')
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "environment name has a character outside "
					    "[A-Za-z0-9_] at offset %zu",
					    i);
	for (const char *p = eq + 1; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "environment value of `%.*s` has a control character",
					    (int)n, entry);
	return 0;
}

int jc_name_check_image(const char *image, jc_error *err)
{
	size_t len;

	if (!image || !*image)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "image is empty");
	len = strnlen(image, 256);
	if (len > 255)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "image is longer than 255 characters");
	if (!is_alnum((unsigned char)image[0]))
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "image must start with a letter or digit");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)image[i];
		if (!is_alnum(c) && !strchr("._/:@-", c))
			return jc_error_set(err, JC_ERR_INPUT, EINVAL,
					    "image has a character outside [A-Za-z0-9._/:@-] at "
					    "offset %zu",
					    i);
	}
	/* the image goes into a URL path: no dot segments */
	if (strstr(image, ".."))
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "image `%s` contains `..`", image);
	return 0;
}

int jc_volume_name_check(const char *name, jc_error *err)
{
	size_t len;

	if (!name || !*name)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "volume name is empty");
	len = strnlen(name, JC_VOLUME_NAME_MAX + 1);
	if (len > JC_VOLUME_NAME_MAX)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "volume name is longer than %d characters", JC_VOLUME_NAME_MAX);
	if (!is_alnum((unsigned char)name[0]) || len < 2)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "volume name must start with a letter or digit and have two "
				    "characters or more");
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
			return jc_error_set(
			    err, JC_ERR_INPUT, EINVAL,
			    "volume name has a character outside [A-Za-z0-9_.-] at offset %zu", i);
	}
	return 0;
}

char *jc_volume_name(const char *tenant, const char *run, int64_t unix_ms, uint32_t rnd)
{
	char *s = NULL;
	if (asprintf(&s, "tenant-%s-run-%s-%lld-%08x", tenant, run, (long long)unix_ms,
		     (unsigned)rnd) < 0)
		return NULL;
	return s;
}

int jc_supervisor_check(const char *id, jc_error *err)
{
	size_t len = id ? strnlen(id, 129) : 0;

	if (!len || len > 128 || strspn(id, "0123456789abcdef-/") != len)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "supervisor label must be 1..128 of [0-9a-f/-]");
	return 0;
}
