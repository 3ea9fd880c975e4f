/* Site configuration: INI files read with inih, layered defaults < site.
 * One table below names every key, its type and default; the defaults, the
 * parser, the reference file test and the man page all follow it. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "jobcell.h"

enum key_type {
	T_STRING,
	T_NAME,   /* a site name */
	T_LABEL,  /* a name carried in a label: tenant, run */
	T_VOLUME, /* a Docker volume's name */
	T_WS_MODE,
	T_PATH,
	T_DURATION,
	T_SIZE,
	T_MODE,
	T_BOOL,
	T_UINT,
	T_LIST,
	T_USER,
	T_CAPS,
	T_NETWORK
};

struct key_def {
	struct jc_config_key pub;
	enum key_type type;
	size_t off;
};

#define K(sec, key, type, field, def)                                                              \
	{                                                                                          \
		{ sec, key, def }, type, offsetof(struct jc_config, field)                         \
	}

static const struct key_def keys[] = {
	K("engine", "endpoint", T_STRING, endpoint, "unix:///var/run/docker.sock"),
	K("engine", "timeout", T_DURATION, engine_timeout_ms, "30s"),
	K("site", "name", T_NAME, site_name, ""),
	K("workspace", "mode", T_WS_MODE, ws_mode, "bind"),
	K("workspace", "path", T_PATH, ws_path, ""),
	K("workspace", "host_path", T_PATH, ws_host_path, ""),
	K("workspace", "mount_point", T_PATH, mount_point, "/workspace"),
	K("workspace", "root_mode", T_MODE, root_mode, "0555"),
	K("workspace", "root_readonly", T_BOOL, root_readonly, "true"),
	K("workspace", "root_size", T_SIZE, root_size, "1m"),
	K("workspace", "job_mode", T_MODE, job_mode, "0700"),
	K("workspace", "reserved", T_LIST, reserved, ""),
	K("job", "image", T_STRING, image, ""),
	K("job", "user", T_USER, user, ""),
	K("job", "network", T_NETWORK, network, "none"),
	K("job", "stop_grace", T_DURATION, stop_grace_ms, "10s"),
	K("job", "timeout", T_DURATION, timeout_ms, "0"),
	K("job", "cap_drop", T_CAPS, cap_drop, "ALL"),
	K("job", "cap_add", T_CAPS, cap_add, ""),
	K("job", "no_new_privileges", T_BOOL, no_new_privileges, "true"),
	K("job", "readonly_rootfs", T_BOOL, readonly_rootfs, "true"),
	K("job", "tmp_size", T_SIZE, tmp_size, "64m"),
	K("job", "pids_limit", T_UINT, pids_limit, "512"),
	K("volume", "tenant", T_LABEL, tenant, "default"),
	K("volume", "run", T_LABEL, run, "default"),
	K("volume", "startup_volume", T_VOLUME, startup_volume, ""),
	K("volume", "local_volume", T_VOLUME, local_volume, ""),
	K("volume", "site_volume", T_VOLUME, site_volume, ""),
	K("volume", "keep", T_BOOL, keep, "false"),
	K("volume", "transfer_dir", T_PATH, transfer_dir, ""),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const struct jc_config_key *jc_config_keys(size_t *n)
{
	/* struct key_def starts with the public part; hand out a parallel copy */
	static struct jc_config_key pub[NKEYS];
	for (size_t i = 0; i < NKEYS; i++)
		pub[i] = keys[i].pub;
	*n = NKEYS;
	return pub;
}

static const struct key_def *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].pub.section, section) == 0 && strcmp(keys[i].pub.key, key) == 0)
			return &keys[i];
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].pub.section, section) == 0)
			return true;
	return false;
}

static int split_words(const char *value, struct jc_strv *out)
{
	struct jc_strv tmp = { 0 };
	cleanup_free char *copy = strdup(value);
	char *save = NULL;

	if (!copy)
		return -1;
	for (char *w = strtok_r(copy, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save)) {
		if (jc_strv_push(&tmp, w) < 0) {
			jc_strv_free(&tmp);
			return -1;
		}
	}
	jc_strv_free(out);
	*out = tmp;
	return 0;
}

static bool valid_cap(const char *c)
{
	if (strcmp(c, "ALL") == 0)
		return true;
	if (strncmp(c, "CAP_", 4) == 0)
		c += 4;
	if (!*c)
		return false;
	for (; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || *c == '_'))
			return false;
	return true;
}

/* Absolute, and no "." or ".." component: the path is compared and joined
 * as a string later, so it must mean what it says. */
static bool path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c; c++) {
		if (c[0] == '/' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return false;
		if (c[0] == '/' && c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))
			return false;
	}
	return true;
}

/* Parse `value` for `k` into cfg.  Returns NULL or a static reason. */
static const char *set_value(struct jc_config *cfg, const struct key_def *k, const char *value)
{
	void *field = (char *)cfg + k->off;
	jc_error e = { 0 };
	const char *why = NULL;

	switch (k->type) {
	case T_NAME:
		if (*value && jc_name_check_site(value, &e) < 0)
			why = "not a site name: want [A-Za-z0-9][A-Za-z0-9_.]*, at most 64 "
			      "characters";
		break;
	case T_LABEL:
		/* never empty: the request's tenant and run fall back to it */
		if (jc_name_check(value, k->pub.key, &e) < 0)
			why = "not a name: want [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters";
		break;
	case T_VOLUME:
		if (*value && jc_volume_name_check(value, NULL) < 0)
			why = "not a volume name: want [A-Za-z0-9][A-Za-z0-9_.-]+, 2 to 255 "
			      "characters";
		break;
	case T_WS_MODE:
		if (strcmp(value, "bind") == 0)
			*(enum jc_ws_mode *)field = JC_WS_BIND;
		else if (strcmp(value, "volume") == 0)
			*(enum jc_ws_mode *)field = JC_WS_VOLUME;
		else
			why = "want bind or volume";
		return why;
	case T_PATH:
		if (*value && !path_ok(value))
			why = "not an absolute path without `.` or `..` components";
		break;
	case T_USER: {
		uid_t u;
		gid_t g;
		if (*value && jc_parse_user(value, &u, &g) < 0)
			why = "not a numeric uid or uid:gid";
		break;
	}
	case T_NETWORK:
		if (strncmp(value, "container:", 10) == 0 || jc_name_check(value, "n", &e) < 0)
			why = "not a network name";
		break;
	case T_STRING:
		break;
	case T_DURATION:
		if (jc_parse_duration(value, (int64_t *)field) < 0)
			why = "not a duration: want a number with ms, s, m or h";
		return why;
	case T_SIZE:
		if (jc_parse_size(value, (int64_t *)field) < 0)
			why = "not a size: want a number with k, m or g";
		return why;
	case T_MODE:
		if (jc_parse_mode(value, (unsigned *)field) < 0)
			why = "not an octal mode: want e.g. 0555";
		return why;
	case T_BOOL:
		if (jc_parse_bool(value, (bool *)field) < 0)
			why = "not a boolean: want true/false, yes/no, on/off or 1/0";
		return why;
	case T_UINT:
		if (jc_parse_uint(value, (int64_t *)field) < 0)
			why = "not a non-negative whole number";
		return why;
	case T_CAPS:
	case T_LIST: {
		struct jc_strv words = { 0 };
		if (split_words(value, &words) < 0)
			return "out of memory";
		for (size_t i = 0; k->type == T_CAPS && i < words.n; i++)
			if (!valid_cap(words.v[i]))
				why = "not a capability name such as ALL or CAP_CHOWN";
		for (size_t i = 0; k->type == T_LIST && i < words.n; i++)
			if (jc_name_check(words.v[i], "n", &e) < 0)
				why = "not a list of names";
		if (!why) {
			jc_strv_free((struct jc_strv *)field);
			*(struct jc_strv *)field = words;
		} else {
			jc_strv_free(&words);
		}
		jc_error_clear(&e);
		return why;
	}
	}
	jc_error_clear(&e);
	if (why)
		return why;
	/* the string-valued types: "" means unset */
	{
		char **s = field;
		char *copy = NULL;
		if (*value && !(copy = strdup(value)))
			return "out of memory";
		free(*s);
		*s = copy;
	}
	return NULL;
}

int jc_config_init(struct jc_config *cfg, const char *docker_host, jc_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		const char *why = set_value(cfg, &keys[i], keys[i].pub.def);
		if (why) {
			jc_config_free(cfg);
			return jc_error_set(err, JC_ERR_SYSTEM, ENOMEM, "config defaults: %s", why);
		}
	}
	if (docker_host && *docker_host) {
		char *s = strdup(docker_host);
		if (!s) {
			jc_config_free(cfg);
			return jc_error_oom(err);
		}
		free(cfg->endpoint);
		cfg->endpoint = s;
	}
	return 0;
}

struct load_state {
	struct jc_config *cfg;
	const char *path;
	FILE *f;
	int line;
	int seen[NKEYS];
	bool oom;
};

static void problem(struct load_state *st, int line, const char *fmt, ...) JC_FORMAT(3, 4);
static void problem(struct load_state *st, int line, const char *fmt, ...)
{
	va_list ap;
	cleanup_free char *what = NULL;
	cleanup_free char *full = NULL;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!what || asprintf(&full, "%s:%d: %s", st->path, line, what) < 0 ||
	    jc_strv_push(&st->cfg->problems, full) < 0)
		st->oom = true;
}

/* inih's reader: count lines, and judge what inih would pass over silently. */
static char *reader(char *buf, int size, void *stream)
{
	struct load_state *st = stream;
	char *p;
	size_t len;

	if (!fgets(buf, size, st->f))
		return NULL;
	st->line++;
	len = strlen(buf);
	if (len && buf[len - 1] != '\n' && !feof(st->f)) {
		int c;
		while ((c = fgetc(st->f)) != EOF && c != '\n')
			;
		problem(st, st->line, "line longer than %d characters", size - 2);
		strcpy(buf, "\n");
		return buf;
	}
	if (buf[0] == ' ' || buf[0] == '\t') {
		for (p = buf; *p == ' ' || *p == '\t'; p++)
			;
		if (*p && *p != '\n' && *p != ';' && *p != '#') {
			problem(st, st->line,
				"indented line: continuation lines are not supported");
			strcpy(buf, "\n");
			return buf;
		}
	}
	/* inih strips a byte order mark itself; strip it first so that the
	 * section check below sees what inih will see */
	if (st->line == 1 && strncmp(buf, "\xEF\xBB\xBF", 3) == 0)
		memmove(buf, buf + 3, strlen(buf + 3) + 1);
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (!end) {
			problem(st, st->line,
				"syntax error: want `key = value`, `[section]` or a "
				"comment");
			strcpy(buf, "\n");
			return buf;
		}
		*end = '\0';
		if (!known_section(buf + 1))
			problem(st, st->line, "unknown section [%s]", buf + 1);
		*end = ']';
	} else if (!strchr(";#", buf[strspn(buf, " \t")]) && buf[strspn(buf, " \t\r\n")] &&
		   !strpbrk(buf, "=:")) {
		/* inih would report only the first such line: report each */
		problem(st, st->line, "syntax error: want `key = value`, `[section]` or a comment");
		strcpy(buf, "\n");
	}
	return buf;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	const struct key_def *k;
	const char *why;

	if (!*section) {
		problem(st, st->line, "key `%s` stands before any [section]", name);
		return 1;
	}
	if (!known_section(section))
		return 1; /* reported once, by the reader */
	k = find_key(section, name);
	if (!k) {
		problem(st, st->line, "unknown key `%s` in [%s]", name, section);
		return 1;
	}
	if (st->seen[k - keys]) {
		problem(st, st->line, "[%s] %s: set twice (first at line %d)", section, name,
			st->seen[k - keys]);
		return 1;
	}
	st->seen[k - keys] = st->line;
	why = set_value(st->cfg, k, value);
	if (why)
		problem(st, st->line, "[%s] %s = `%s`: %s", section, name, value, why);
	return 1;
}

int jc_config_load(struct jc_config *cfg, const char *path, jc_error *err)
{
	struct load_state st = { .cfg = cfg, .path = path };
	size_t before = cfg->problems.n;
	cleanup_file FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return jc_error_set(err, JC_ERR_CONFIG, errno, "read config `%s`: %s", path,
				    strerror(errno));
	st.f = f;
	r = ini_parse_stream(reader, &st, handler, &st);
	if (r > 0 && cfg->problems.n == before)
		problem(&st, r, "syntax error: want `key = value`, `[section]` or a comment");
	else if (r < 0 && r != -1)
		problem(&st, st.line, "cannot parse");
	if (ferror(f))
		return jc_error_set(err, JC_ERR_CONFIG, EIO, "read config `%s`: read error", path);
	if (st.oom)
		return jc_error_oom(err);
	if (cfg->problems.n > before) {
		size_t more = cfg->problems.n - before - 1;
		if (more)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "%s (and %zu more)",
					    cfg->problems.v[before], more);
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "%s", cfg->problems.v[before]);
	}
	return 0;
}

int jc_config_validate(const struct jc_config *cfg, jc_error *err)
{
	if (!cfg->endpoint)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [engine] endpoint is not set");
	if (!cfg->site_name)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "config: [site] name is not set");
	switch (cfg->ws_mode) {
	case JC_WS_BIND:
		if (!cfg->ws_path)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [workspace] path is not set");
		break;
	case JC_WS_VOLUME:
		/* nothing is bound from the host in volume mode: a host path
		 * there is a mistake about the mode, not something to ignore */
		if (cfg->ws_host_path)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [workspace] host_path is for bind mode");
		/* one layout or the other: a mix would leave it unclear which
		 * volume startup/ and local/ come from */
		if (cfg->site_volume && (cfg->startup_volume || cfg->local_volume))
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [volume] site_volume excludes startup_volume "
					    "and local_volume");
		if (!cfg->site_volume && !(cfg->startup_volume && cfg->local_volume))
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [workspace] mode = volume needs [volume] "
					    "startup_volume and local_volume, or site_volume");
		break;
	}
	if (!cfg->mount_point || strcmp(cfg->mount_point, "/") == 0)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [workspace] mount_point must be below `/`");
	if (cfg->engine_timeout_ms <= 0)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [engine] timeout must be more than 0");
	return 0;
}

void jc_config_free(struct jc_config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		void *field = (char *)cfg + keys[i].off;
		switch (keys[i].type) {
		case T_STRING:
		case T_NAME:
		case T_LABEL:
		case T_VOLUME:
		case T_PATH:
		case T_USER:
		case T_NETWORK:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case T_LIST:
		case T_CAPS:
			jc_strv_free(field);
			break;
		case T_DURATION:
		case T_SIZE:
		case T_MODE:
		case T_BOOL:
		case T_UINT:
		case T_WS_MODE:
			break;
		}
	}
	jc_strv_free(&cfg->problems);
}
