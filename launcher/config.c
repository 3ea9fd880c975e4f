/* Site configuration: INI files read with inih, layered defaults < site <
 * job request.  One table below names every key, its type, its default and
 * what a job request may do with it; the defaults, the parser, the
 * overrides, the reference file test and the man page all follow it.
 * [env], [labels] and [mounts] hold free NAME = VALUE entries instead of
 * keys. */
#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgroup.h"
#include "cleanup.h"
#include "config.h"
#include "endpoint.h"
#include "error.h"
#include "labels.h"
#include "names.h"
#include "units.h"
#include "util.h"
#include "workspace.h"

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
	T_NETWORK,
	T_IMAGE,
	T_MEMORY,    /* a size, 0 or at least the engine's least */
	T_CPUS,      /* nano-CPUs */
	T_GPUS,      /* struct jc_gpus */
	T_CGROUP,    /* a cgroup parent: "", slurm, a path or a slice (cgroup.h) */
	T_FROM,      /* where a value comes from: "" (the site) or slurm */
	T_ENV_NAMES, /* a list of environment names */
	T_KEYS,      /* a list of [job] keys a request may change */
	T_PATHS      /* a list of absolute paths */
};

/* What a job request may do with a key (jc_config_override).  Whatever is
 * not named here stays the site's: a key added later is never overridable
 * until someone decides it may be. */
enum override_rule {
	OV_NEVER, /* never, whatever [job] overridable says */
	OV_ANY,   /* any value the site file would take */
	OV_LIMIT, /* at most the site's; 0 is no limit, so only while the site's is 0 */
	OV_LOWER, /* at most the site's; 0 is the least */
	OV_SHM,   /* at most the site's; 0 counts as the engine's default */
	OV_GPUS,  /* none, fewer, or some of the site's devices */
};

struct key_def {
	struct jc_config_key pub;
	enum key_type type;
	size_t off;
	enum override_rule ov;
};

#define K(sec, key, type, field, def, ov)                                                          \
	{                                                                                          \
		{ sec, key, def }, type, offsetof(struct jc_config, field), ov                     \
	}

/* Docker refuses a memory limit below 6 MiB (linuxMinMemory). */
#define MEMORY_MIN (INT64_C(6) << 20)
/* /dev/shm when HostConfig.ShmSize is 0 or missing (Engine API 1.41). */
#define SHM_DEFAULT (INT64_C(64) << 20)
/* Label keys and values of [labels]. */
#define LABEL_KEY_MAX   128
#define LABEL_VALUE_MAX 256

static const struct key_def keys[] = {
	/* "": as the Docker CLI would find it (endpoint.c) */
	K("engine", "endpoint", T_STRING, endpoint, "", OV_NEVER),
	K("engine", "tls_ca", T_PATH, tls_ca, "", OV_NEVER),
	K("engine", "tls_cert", T_PATH, tls_cert, "", OV_NEVER),
	K("engine", "tls_key", T_PATH, tls_key, "", OV_NEVER),
	K("engine", "insecure_plaintext", T_BOOL, insecure_plaintext, "false", OV_NEVER),
	K("engine", "ssh_identity", T_PATH, ssh_identity, "", OV_NEVER),
	K("engine", "ssh_known_hosts", T_PATH, ssh_known_hosts, "", OV_NEVER),
	K("engine", "ssh_config", T_PATH, ssh_config, "", OV_NEVER),
	K("engine", "timeout", T_DURATION, engine_timeout_ms, "30s", OV_NEVER),
	K("engine", "lock_dir", T_PATH, lock_dir, "/run/jobcell", OV_NEVER),
	K("site", "name", T_NAME, site_name, "", OV_NEVER),
	K("workspace", "mode", T_WS_MODE, ws_mode, "bind", OV_NEVER),
	K("workspace", "path", T_PATH, ws_path, "", OV_NEVER),
	K("workspace", "host_path", T_PATH, ws_host_path, "", OV_NEVER),
	K("workspace", "mount_point", T_PATH, mount_point, "/workspace", OV_NEVER),
	K("workspace", "root_mode", T_MODE, root_mode, "0555", OV_NEVER),
	K("workspace", "root_readonly", T_BOOL, root_readonly, "true", OV_NEVER),
	K("workspace", "root_size", T_SIZE, root_size, "1m", OV_NEVER),
	K("workspace", "job_mode", T_MODE, job_mode, "0700", OV_NEVER),
	K("workspace", "reserved", T_LIST, reserved, "", OV_NEVER),
	K("workspace", "job_path", T_PATH, job_path, "", OV_NEVER),
	K("workspace", "scratch", T_LIST, scratch, "", OV_NEVER),
	K("workspace", "scratch_size", T_SIZE, scratch_size, "64m", OV_NEVER),
	K("job", "image", T_IMAGE, image, "", OV_ANY),
	/* a request choosing its uid could choose 0 */
	K("job", "user", T_USER, user, "", OV_NEVER),
	K("job", "allow_root", T_BOOL, allow_root, "false", OV_NEVER),
	K("job", "network", T_NETWORK, network, "none", OV_NEVER),
	K("job", "stop_grace", T_DURATION, stop_grace_ms, "10s", OV_LOWER),
	K("job", "timeout", T_DURATION, timeout_ms, "0", OV_LIMIT),
	/* slurm: the allocation's end bounds the timeout (slurm.c) */
	K("job", "timeout_from", T_FROM, timeout_from, "", OV_NEVER),
	/* part of the deadline gc trusts: a request never moves it */
	K("job", "transfer_timeout", T_DURATION, transfer_timeout_ms, "10m", OV_NEVER),
	K("job", "cap_drop", T_CAPS, cap_drop, "ALL", OV_NEVER),
	K("job", "cap_add", T_CAPS, cap_add, "", OV_NEVER),
	K("job", "no_new_privileges", T_BOOL, no_new_privileges, "true", OV_NEVER),
	K("job", "readonly_rootfs", T_BOOL, readonly_rootfs, "true", OV_NEVER),
	K("job", "tmp_size", T_SIZE, tmp_size, "64m", OV_LOWER),
	K("job", "run_size", T_SIZE, run_size, "0", OV_LOWER),
	K("job", "pids_limit", T_UINT, pids_limit, "512", OV_LIMIT),
	K("job", "memory", T_MEMORY, memory, "0", OV_LIMIT),
	K("job", "cpus", T_CPUS, nano_cpus, "0", OV_LIMIT),
	K("job", "shm_size", T_SIZE, shm_size, "64m", OV_SHM),
	K("job", "gpus", T_GPUS, gpus, "", OV_GPUS),
	/* the limits of the cgroup above the container bind it */
	K("job", "cgroup_parent", T_CGROUP, cgroup_parent, "", OV_NEVER),
	K("job", "pass_env", T_ENV_NAMES, pass_env, "", OV_NEVER),
	K("job", "overridable", T_KEYS, overridable, "image, timeout, env", OV_NEVER),
	/* what may be mounted is the site's alone */
	K("job", "data_prefixes", T_PATHS, data_prefixes, "", OV_NEVER),
	K("job", "data_mount_point", T_PATH, data_mount_point, "/data", OV_NEVER),
	K("volume", "tenant", T_LABEL, tenant, "default", OV_NEVER),
	K("volume", "run", T_LABEL, run, "default", OV_NEVER),
	K("volume", "startup_volume", T_VOLUME, startup_volume, "", OV_NEVER),
	K("volume", "local_volume", T_VOLUME, local_volume, "", OV_NEVER),
	K("volume", "site_volume", T_VOLUME, site_volume, "", OV_NEVER),
	K("volume", "keep", T_BOOL, keep, "false", OV_NEVER),
	K("volume", "transfer_dir", T_PATH, transfer_dir, "", OV_NEVER),
	K("volume", "size", T_SIZE, volume_size, "0", OV_NEVER),
	/* what --output and volume get may bring onto the host; 0 only when
	 * the site writes it */
	K("output", "max_bytes", T_SIZE, output_max_bytes, "1g", OV_NEVER),
	K("output", "max_members", T_UINT, output_max_members, "100000", OV_NEVER),
	K("output", "max_depth", T_UINT, output_max_depth, "64", OV_NEVER),
	K("gc", "clock_skew", T_DURATION, clock_skew_ms, "1m", OV_NEVER),
	/* Slurm's KillWait (slurm.conf), checked against stop_grace; 0: not */
	K("slurm", "kill_wait", T_DURATION, slurm_kill_wait_ms, "0", OV_NEVER),
	/* what jobcell needs after stop_grace to end: the kill's answer, the
	 * last output, outputs fetched, the removal */
	K("slurm", "stop_margin", T_DURATION, slurm_stop_margin_ms, "5s", OV_NEVER),
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

/* Sections of free NAME = VALUE entries rather than keys. */
static bool entry_section(const char *section)
{
	return strcmp(section, "env") == 0 || strcmp(section, "labels") == 0 ||
	       strcmp(section, "mounts") == 0;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].pub.section, section) == 0)
			return true;
	return entry_section(section);
}

/* The names a job request uses in [job] overridable for what is not a key
 * of [job]: the environment (--env) and the entrypoint (--entrypoint). */
#define ENV_KEY        "env"
#define ENTRYPOINT_KEY "entrypoint"

static bool pseudo_key(const char *key)
{
	return strcmp(key, ENV_KEY) == 0 || strcmp(key, ENTRYPOINT_KEY) == 0;
}

static bool listed(const struct jc_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
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

/* `p` without repeated or trailing slashes ("/" stays).  Caller frees. */
static char *path_norm(const char *p)
{
	char *n = malloc(strlen(p) + 1), *o = n;

	if (!n)
		return NULL;
	for (const char *c = p; *c; c++)
		if (!(c[0] == '/' && o > n && o[-1] == '/'))
			*o++ = *c;
	if (o - n > 1 && o[-1] == '/')
		o--;
	*o = '\0';
	return n;
}

bool jc_path_within(const char *path, const char *dir)
{
	cleanup_free char *p = path_norm(path);
	cleanup_free char *d = path_norm(dir);
	size_t n;

	if (!p || !d)
		return false;
	if (strcmp(d, "/") == 0)
		return p[0] == '/';
	n = strlen(d);
	return strncmp(p, d, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Engine sockets wherever distributions put them; /var/run is usually a
 * link to /run, and the check is on strings, so both spellings. */
static const char *const usual_sockets[] = {
	"/var/run/docker.sock",
	"/run/docker.sock",
	"/run/podman/podman.sock",
	"/var/run/podman/podman.sock",
};

static int data_path_meets(const char *path, const char *what, const char *other,
			   const char *other_what, jc_error *err)
{
	const char *rel = NULL;

	if (jc_path_within(path, other) && jc_path_within(other, path))
		rel = "is";
	else if (jc_path_within(path, other))
		rel = "lies under";
	else if (jc_path_within(other, path))
		rel = "contains";
	if (!rel)
		return 0;
	return jc_error_set(err, JC_ERR_CONFIG, EPERM, "%s `%s` %s %s `%s`: never mounted", what,
			    path, rel, other_what, other);
}

int jc_config_check_data_path(const struct jc_config *cfg, const char *path, const char *what,
			      jc_error *err)
{
	if (cfg->endpoint && strncmp(cfg->endpoint, "unix://", 7) == 0 && cfg->endpoint[7] == '/' &&
	    data_path_meets(path, what, cfg->endpoint + 7, "the engine socket", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(usual_sockets) / sizeof(usual_sockets[0]); i++)
		if (data_path_meets(path, what, usual_sockets[i], "the engine socket", err) < 0)
			return -1;
	/* the workspace has mounts of its own, each checked; a data mount
	 * of it would show every job to every other */
	if (cfg->ws_path &&
	    data_path_meets(path, what, cfg->ws_path, "the site workspace", err) < 0)
		return -1;
	if (cfg->ws_host_path &&
	    data_path_meets(path, what, cfg->ws_host_path, "the site workspace", err) < 0)
		return -1;
	return 0;
}

int jc_config_check_network(const char *network, jc_error *err)
{
	jc_error e = { 0 };

	/* the engine's socket and other tenants' services are reachable from
	 * the host's namespace; another container's is someone else's */
	if (strcasecmp(network, "host") == 0)
		return jc_error_set(
		    err, JC_ERR_CONFIG, EINVAL,
		    "refused: `host` shares the host's network namespace, from which "
		    "a job could reach the engine and other tenants");
	if (strncasecmp(network, "container:", 10) == 0)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "refused: `container:...` shares another container's network "
				    "namespace, from which a job could reach whatever it can");
	if (jc_name_check(network, "network", &e) < 0) {
		jc_error_clear(&e);
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "not a network name: want none, bridge or "
				    "[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters");
	}
	return 0;
}

/* Names of environment variables: the NAME rule of jc_name_check_env. */
static int env_name_check(const char *name, jc_error *err)
{
	cleanup_free char *entry = NULL;

	if (asprintf(&entry, "%s=", name) < 0)
		return jc_error_oom(err);
	return jc_name_check_env(entry, err);
}

/* Parse `value` for `k` into cfg.  Returns NULL, or a reason: static, or
 * written into buf. */
static const char *set_value(struct jc_config *cfg, const struct key_def *k, const char *value,
			     char *buf, size_t size)
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
		if (*value && strcmp(value, "auto") != 0 && jc_parse_user(value, &u, &g) < 0)
			why = "not auto, a numeric uid or uid:gid";
		break;
	}
	case T_NETWORK:
		if (jc_config_check_network(value, &e) < 0) {
			snprintf(buf, size, "%s", e.msg ? e.msg : "out of memory");
			why = buf;
		}
		break;
	case T_IMAGE:
		if (*value && jc_name_check_image(value, &e) < 0) {
			snprintf(buf, size, "not an image reference: %s",
				 e.msg ? e.msg : "out of memory");
			why = buf;
		}
		break;
	case T_STRING:
		break;
	case T_CGROUP:
		why = jc_cgroup_parent_why(value);
		break;
	case T_FROM:
		if (*value && strcmp(value, "slurm") != 0)
			why = "want slurm, or nothing for the site's own value";
		break;
	case T_DURATION:
		if (jc_parse_duration(value, (int64_t *)field) < 0)
			why = "not a duration: want a number with ms, s, m or h";
		return why;
	case T_SIZE:
		if (jc_parse_size(value, (int64_t *)field) < 0)
			why = "not a size: want a number with k, m or g";
		return why;
	case T_MEMORY: {
		int64_t v;
		if (jc_parse_size(value, &v) < 0)
			return "not a size: want a number with k, m or g";
		if (v != 0 && v < MEMORY_MIN)
			return "below the engine's least memory limit of 6m; 0 means no limit";
		*(int64_t *)field = v;
		return NULL;
	}
	case T_CPUS:
		if (jc_parse_cpus(value, (int64_t *)field) < 0)
			why = "not a number of CPUs: want 0 (no limit) or 0.01 to 1024, at most "
			      "three decimals";
		return why;
	case T_GPUS:
		if (jc_parse_gpus(value, (struct jc_gpus *)field) < 0)
			why = "not a GPU request: want all, slurm, a count, or up to 16 device "
			      "ids [A-Za-z0-9][A-Za-z0-9_-]* separated by commas";
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
	case T_LIST:
	case T_ENV_NAMES:
	case T_PATHS:
	case T_KEYS: {
		struct jc_strv words = { 0 };
		if (split_words(value, &words) < 0)
			return "out of memory";
		for (size_t i = 0; !why && i < words.n; i++) {
			const char *w = words.v[i];
			const struct key_def *o;
			if (k->type == T_CAPS) {
				if (!valid_cap(w))
					why = "not a capability name such as ALL or CAP_CHOWN";
			} else if (k->type == T_LIST) {
				if (jc_name_check(w, "n", &e) < 0)
					why = "not a list of names";
			} else if (k->type == T_PATHS) {
				if (!path_ok(w)) {
					snprintf(buf, size,
						 "`%.200s` is not an absolute path without `.` or "
						 "`..` components",
						 w);
					why = buf;
				} else if (jc_config_check_data_path(cfg, w, "data prefix", &e) <
					   0) {
					snprintf(buf, size, "%s", e.msg ? e.msg : "out of memory");
					why = buf;
				}
			} else if (k->type == T_ENV_NAMES) {
				if (env_name_check(w, &e) < 0) {
					snprintf(buf, size, "not a list of environment names: %s",
						 e.msg ? e.msg : "out of memory");
					why = buf;
				}
			} else if (!pseudo_key(w)) { /* T_KEYS */
				o = find_key("job", w);
				if (!o) {
					snprintf(buf, size,
						 "`%.64s` is not a key of [job] (nor `env` or "
						 "`entrypoint`)",
						 w);
					why = buf;
				} else if (o->ov == OV_NEVER) {
					snprintf(buf, size,
						 "`%s` is one of the keys a job request may never "
						 "change",
						 w);
					why = buf;
				}
			}
		}
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

/* How a key's field is stored: the one classification free, copy and the
 * plain copy go by. */
enum storage { S_PLAIN, S_STRING, S_STRV, S_GPUS };

static enum storage storage_of(const struct key_def *k)
{
	switch (k->type) {
	case T_STRING:
	case T_NAME:
	case T_LABEL:
	case T_VOLUME:
	case T_PATH:
	case T_USER:
	case T_NETWORK:
	case T_IMAGE:
	case T_CGROUP:
	case T_FROM:
		return S_STRING;
	case T_LIST:
	case T_CAPS:
	case T_ENV_NAMES:
	case T_PATHS:
	case T_KEYS:
		return S_STRV;
	case T_GPUS:
		return S_GPUS;
	case T_DURATION:
	case T_SIZE:
	case T_MEMORY:
	case T_CPUS:
	case T_MODE:
	case T_BOOL:
	case T_UINT:
	case T_WS_MODE:
		return S_PLAIN;
	}
	return S_PLAIN;
}

static void free_field(struct jc_config *cfg, const struct key_def *k)
{
	void *field = (char *)cfg + k->off;

	switch (storage_of(k)) {
	case S_STRING:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case S_STRV:
		jc_strv_free(field);
		break;
	case S_GPUS:
		jc_gpus_free(field);
		break;
	case S_PLAIN:
		break;
	}
}

/* Set, replace or (value NULL or "") remove KEY in a vector of "KEY=VALUE".
 * Returns -1 when out of memory. */
static int kv_set(struct jc_strv *v, const char *key, const char *value)
{
	size_t n = strlen(key), i;
	char *entry = NULL;

	for (i = 0; i < v->n; i++)
		if (strncmp(v->v[i], key, n) == 0 && v->v[i][n] == '=')
			break;
	if (!value || !*value) {
		if (i < v->n) {
			free(v->v[i]);
			memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(*v->v));
			v->n--;
		}
		return 0;
	}
	if (asprintf(&entry, "%s=%s", key, value) < 0)
		return -1;
	if (i < v->n) {
		free(v->v[i]);
		v->v[i] = entry;
		return 0;
	}
	i = (size_t)jc_strv_push(v, entry);
	free(entry);
	return (int)i;
}

/* [labels] keys: [A-Za-z0-9][A-Za-z0-9_.-]*, at most LABEL_KEY_MAX, and
 * never one of jobcell's own, which gc and the supervisor trust. */
static const char *label_key_why(const char *key)
{
	size_t n = strlen(key);

	if (n < 1 || n > LABEL_KEY_MAX)
		return "not a label key: want 1 to 128 characters";
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return "not a label key: want [A-Za-z0-9][A-Za-z0-9_.-]*";
	}
	if (strncasecmp(key, JC_LABEL_PREFIX, strlen(JC_LABEL_PREFIX)) == 0)
		return "refused: labels that would overwrite jobcell's own (`jobcell.*`)";
	return NULL;
}

static const char *label_value_why(const char *value)
{
	if (strlen(value) > LABEL_VALUE_MAX)
		return "label value longer than 256 characters";
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return "label value has a character that is not printable ASCII";
	return NULL;
}

int jc_config_init(struct jc_config *cfg, jc_error *err)
{
	char buf[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		const char *why = set_value(cfg, &keys[i], keys[i].pub.def, buf, sizeof(buf));
		if (why) {
			jc_config_free(cfg);
			return jc_error_set(err, JC_ERR_SYSTEM, ENOMEM, "config defaults: %s", why);
		}
	}
	return 0;
}

struct seen_entry {
	char *name; /* "section/NAME" */
	int line;
};

struct load_state {
	struct jc_config *cfg;
	const char *path;
	FILE *f;
	int line;
	int seen[NKEYS];
	struct seen_entry *seen_entries; /* of [env] and [labels] in this file */
	size_t nseen_entries;
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

/* Set, replace or (value "") remove NAME of [mounts], with where it was set.
 * Returns -1 when out of memory. */
static int mount_set(struct jc_config *cfg, const char *name, const char *value, const char *origin)
{
	size_t n = strlen(name), i;
	struct jc_strv *v = &cfg->mounts, *o = &cfg->mounts_origin;

	for (i = 0; i < v->n; i++)
		if (strncmp(v->v[i], name, n) == 0 && v->v[i][n] == '=')
			break;
	if (!*value) {
		if (i < v->n) {
			free(v->v[i]);
			free(o->v[i]);
			memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(*v->v));
			memmove(&o->v[i], &o->v[i + 1], (o->n - i) * sizeof(*o->v));
			v->n--;
			o->n--;
		}
		return 0;
	}
	if (i < v->n) {
		char *copy = strdup(origin);
		if (!copy)
			return -1;
		free(o->v[i]);
		o->v[i] = copy;
		return kv_set(v, name, value);
	}
	if (jc_strv_push(o, origin) < 0)
		return -1;
	if (kv_set(v, name, value) < 0) {
		free(o->v[--o->n]);
		return -1;
	}
	return 0;
}

/* An entry of [env], [labels] or [mounts]: NAME = VALUE; an empty value
 * removes what an earlier file set. */
static void set_entry(struct load_state *st, const char *section, const char *name,
		      const char *value)
{
	bool env = strcmp(section, "env") == 0;
	bool mounts = strcmp(section, "mounts") == 0;
	struct jc_strv *v = env ? &st->cfg->env : &st->cfg->labels;
	cleanup_free char *id = NULL;
	cleanup_free char *entry = NULL;
	struct seen_entry *grown;
	jc_error e = { 0 };
	const char *why = NULL;

	if (asprintf(&id, "%s/%s", section, name) < 0) {
		st->oom = true;
		return;
	}
	for (size_t i = 0; i < st->nseen_entries; i++) {
		if (strcmp(st->seen_entries[i].name, id) == 0) {
			problem(st, st->line, "[%s] %s: set twice (first at line %d)", section,
				name, st->seen_entries[i].line);
			return;
		}
	}
	grown = realloc(st->seen_entries, (st->nseen_entries + 1) * sizeof(*grown));
	if (!grown) {
		st->oom = true;
		return;
	}
	st->seen_entries = grown;
	grown[st->nseen_entries] = (struct seen_entry){ .name = id, .line = st->line };
	st->nseen_entries++;
	id = NULL;

	if (mounts) {
		cleanup_free char *origin = NULL;
		if (jc_name_check(name, "mount name", &e) < 0)
			why = e.msg;
		else if (*value && !path_ok(value))
			why = "not an absolute path without `.` or `..` components";
		else if (*value && jc_config_check_data_path(st->cfg, value, "data mount", &e) < 0)
			why = e.msg;
		if (why) {
			problem(st, st->line, "[%s] %s = `%s`: %s", section, name, value, why);
		} else if (asprintf(&origin, "%s:%d", st->path, st->line) < 0 ||
			   mount_set(st->cfg, name, value, origin) < 0) {
			origin = NULL;
			st->oom = true;
		}
		jc_error_clear(&e);
		return;
	}
	if (env) {
		if (env_name_check(name, &e) == 0 && *value) {
			if (asprintf(&entry, "%s=%s", name, value) < 0) {
				st->oom = true;
				return;
			}
			jc_name_check_env(entry, &e);
		}
		why = e.msg;
	} else {
		why = label_key_why(name);
		if (!why)
			why = label_value_why(value);
	}
	if (why)
		problem(st, st->line, "[%s] %s = `%s`: %s", section, name, value, why);
	else if (kv_set(v, name, value) < 0)
		st->oom = true;
	jc_error_clear(&e);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	const struct key_def *k;
	const char *why;
	char buf[256];

	if (!*section) {
		problem(st, st->line, "key `%s` stands before any [section]", name);
		return 1;
	}
	if (!known_section(section))
		return 1; /* reported once, by the reader */
	if (entry_section(section)) {
		set_entry(st, section, name, value);
		return 1;
	}
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
	why = set_value(st->cfg, k, value, buf, sizeof(buf));
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
	for (size_t i = 0; i < st.nseen_entries; i++)
		free(st.seen_entries[i].name);
	free(st.seen_entries);
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

/* [mounts] and data_prefixes once every file is read: the socket and
 * workspace rules again (endpoint or path may have come later), and every
 * mount under a prefix. */
/* A path that names something below `/`: "/", "//" and "///" do not. */
static bool below_root(const char *p)
{
	return p && p[strspn(p, "/")] != '\0';
}

static int validate_data(const struct jc_config *cfg, jc_error *err)
{
	const char *dmp = cfg->data_mount_point;

	for (size_t i = 0; i < cfg->data_prefixes.n; i++)
		if (!path_ok(cfg->data_prefixes.v[i]) ||
		    jc_config_check_data_path(cfg, cfg->data_prefixes.v[i], "data prefix", err) < 0)
			return jc_error_wrap(err, "config: [job] data_prefixes");
	if (!cfg->mounts.n)
		return 0;
	if (!below_root(dmp) || !path_ok(dmp))
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [job] data_mount_point must be an absolute path "
				    "below `/`");
	/* a data mount inside the workspace tree (or the tree inside the data
	 * mounts) could shadow a job directory or startup/ and local/ */
	if (jc_path_within(dmp, cfg->mount_point) || jc_path_within(cfg->mount_point, dmp))
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [job] data_mount_point `%s` must not be at, under or "
				    "above [workspace] mount_point `%s`",
				    dmp, cfg->mount_point);
	for (size_t i = 0; i < cfg->mounts.n; i++) {
		const char *entry = cfg->mounts.v[i], *eq = strchr(entry, '='), *path;
		const char *origin = i < cfg->mounts_origin.n ? cfg->mounts_origin.v[i] : "config";
		bool under = false;

		cleanup_free char *name = eq ? strndup(entry, (size_t)(eq - entry)) : NULL;

		if (!eq || !name || jc_name_check(name, "mount name", NULL) < 0)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [mounts] entry %zu is not NAME=HOST_PATH",
					    i + 1);
		path = eq + 1;
		if (!path_ok(path))
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "%s: [mounts] %.*s = `%s`: not an absolute path "
					    "without `.` or `..` components",
					    origin, (int)(eq - entry), entry, path);
		if (jc_config_check_data_path(cfg, path, "data mount", err) < 0)
			return jc_error_wrap(err, "%s: [mounts] %.*s", origin, (int)(eq - entry),
					     entry);
		for (size_t j = 0; !under && j < cfg->data_prefixes.n; j++)
			under = jc_path_within(path, cfg->data_prefixes.v[j]);
		if (!under)
			return jc_error_set(err, JC_ERR_CONFIG, EPERM,
					    "%s: [mounts] %.*s = `%s`: not under any of [job] "
					    "data_prefixes",
					    origin, (int)(eq - entry), entry, path);
	}
	return 0;
}

/* Paths of the container that jobcell or the engine mount something at:
 * the job's directory may be none of them, nor lie under one. */
static const char *const reserved_paths[] = { "/proc", "/sys", "/dev",    "/etc",
					      "/tmp",  "/run", "/var/tmp" };

const char *jc_config_mount_target_problem(const struct jc_config *cfg, const char *path, char *buf,
					   size_t size)
{
	if (!below_root(path) || !path_ok(path))
		return "must be an absolute path below `/` without `.` or `..` components";
	for (size_t i = 0; i < sizeof(reserved_paths) / sizeof(reserved_paths[0]); i++)
		if (jc_path_within(path, reserved_paths[i])) {
			snprintf(buf, size,
				 "is at or under `%s`, which the engine or jobcell mounts",
				 reserved_paths[i]);
			return buf;
		}
	if (jc_path_within(path, cfg->mount_point) || jc_path_within(cfg->mount_point, path)) {
		snprintf(buf, size, "must not be at, under or above [workspace] mount_point `%s`",
			 cfg->mount_point);
		return buf;
	}
	if (cfg->data_mount_point && (jc_path_within(path, cfg->data_mount_point) ||
				      jc_path_within(cfg->data_mount_point, path))) {
		snprintf(buf, size, "must not be at, under or above [job] data_mount_point `%s`",
			 cfg->data_mount_point);
		return buf;
	}
	if (jc_path_within(path, "/.jobcell-gate"))
		return "is the mount gate's path";
	return NULL;
}

/* [workspace] job_path: apart from everything else the plan mounts. */
static int validate_job_path(const struct jc_config *cfg, jc_error *err)
{
	char buf[320];
	const char *why;

	if (!cfg->job_path)
		return 0;
	why = jc_config_mount_target_problem(cfg, cfg->job_path, buf, sizeof(buf));
	if (why)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [workspace] job_path `%s` %s", cfg->job_path, why);
	return 0;
}

/* [workspace] scratch: names of the root's children, so none may be
 * startup, local, reserved or named twice; each needs a size. */
static int validate_scratch(const struct jc_config *cfg, jc_error *err)
{
	for (size_t i = 0; i < cfg->scratch.n; i++) {
		const char *n = cfg->scratch.v[i];
		if (jc_name_check_job(n, &cfg->reserved, err) < 0) {
			err->kind = JC_ERR_CONFIG;
			return jc_error_wrap(err, "config: [workspace] scratch");
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->scratch.v[j], n) == 0)
				return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
						    "config: [workspace] scratch names `%s` twice",
						    n);
	}
	if (cfg->scratch.n && cfg->scratch_size <= 0)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [workspace] scratch_size must be more than 0: each "
				    "scratch directory is a tmpfs of that size");
	return 0;
}

int jc_config_validate(const struct jc_config *cfg, jc_error *err)
{
	/* unset until resolved (jc_endpoint_resolve): a plan needs no engine */
	if (cfg->endpoint && *cfg->endpoint) {
		struct jc_endpoint ep;
		if (jc_endpoint_parse(cfg, &ep, err) < 0)
			return -1;
		enum jc_transport t = ep.transport;
		jc_endpoint_free(&ep);
		/* bind mode hands the engine paths jobcell checked here */
		if (cfg->ws_mode == JC_WS_BIND && t != JC_TRANSPORT_UNIX)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [workspace] mode = bind needs an engine on a "
					    "local unix socket, and `%s` is not: use mode = volume",
					    cfg->endpoint);
		/* the job's cgroup is a path of this host's hierarchy */
		if (cfg->cgroup_parent && strcmp(cfg->cgroup_parent, "slurm") == 0 &&
		    t != JC_TRANSPORT_UNIX)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [job] cgroup_parent = slurm needs an engine on "
					    "a local unix socket, and `%s` is not: the Slurm job's "
					    "cgroup is on this host",
					    cfg->endpoint);
	}
	if (!cfg->site_name)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL, "config: [site] name is not set");
	switch (cfg->ws_mode) {
	case JC_WS_BIND:
		if (!cfg->ws_path)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [workspace] path is not set");
		/* a host directory bound in has no cap jobcell could set */
		if (cfg->volume_size)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [volume] size is for volume mode: a bound job "
					    "directory cannot be capped");
		break;
	case JC_WS_VOLUME:
		/* nothing is bound from the host in volume mode: a host path
		 * there is a mistake about the mode, not something to ignore */
		if (cfg->ws_host_path)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [workspace] host_path is for bind mode");
		/* a fresh volume has no owner to take */
		if (cfg->user && strcmp(cfg->user, "auto") == 0)
			return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
					    "config: [job] user = auto is for bind mode: it takes "
					    "the job directory's owner");
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
	if (!below_root(cfg->mount_point))
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [workspace] mount_point must be below `/`");
	if (cfg->engine_timeout_ms <= 0)
		return jc_error_set(err, JC_ERR_CONFIG, EINVAL,
				    "config: [engine] timeout must be more than 0");
	if (validate_job_path(cfg, err) < 0 || validate_scratch(cfg, err) < 0)
		return -1;
	return validate_data(cfg, err);
}

void jc_config_free(struct jc_config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++)
		free_field(cfg, &keys[i]);
	jc_strv_free(&cfg->env);
	jc_strv_free(&cfg->labels);
	jc_strv_free(&cfg->mounts);
	jc_strv_free(&cfg->mounts_origin);
	jc_strv_free(&cfg->problems);
	free(cfg->endpoint_from);
	cfg->endpoint_from = NULL;
}

/* The size of a plain field. */
static size_t plain_size(const struct key_def *k)
{
	return k->type == T_MODE      ? sizeof(unsigned)
	       : k->type == T_BOOL    ? sizeof(bool)
	       : k->type == T_WS_MODE ? sizeof(enum jc_ws_mode)
				      : sizeof(int64_t);
}

/* Copy the field of `k` from `src` into `dst`, whose owned fields are all
 * empty. */
static int copy_field(struct jc_config *dst, const struct jc_config *src, const struct key_def *k)
{
	const void *from = (const char *)src + k->off;
	void *to = (char *)dst + k->off;

	switch (storage_of(k)) {
	case S_STRING:
		if (*(char *const *)from && !(*(char **)to = strdup(*(char *const *)from)))
			return -1;
		return 0;
	case S_STRV:
		return jc_strv_copy(to, from);
	case S_GPUS:
		return jc_gpus_copy(to, from);
	case S_PLAIN:
		memcpy(to, from, plain_size(k));
		return 0;
	}
	return 0;
}

int jc_config_copy(struct jc_config *dst, const struct jc_config *src, jc_error *err)
{
	struct jc_config c = { 0 };
	bool ok = true;

	/* each owned field from empty: a half-made copy frees only what it
	 * made */
	for (size_t i = 0; ok && i < NKEYS; i++)
		ok = copy_field(&c, src, &keys[i]) == 0;
	if (!ok || jc_strv_copy(&c.env, &src->env) < 0 || jc_strv_copy(&c.labels, &src->labels) < 0 ||
	    jc_strv_copy(&c.mounts, &src->mounts) < 0 ||
	    jc_strv_copy(&c.mounts_origin, &src->mounts_origin) < 0 ||
	    jc_strv_copy(&c.problems, &src->problems) < 0 ||
	    (src->endpoint_from && !(c.endpoint_from = strdup(src->endpoint_from)))) {
		jc_config_free(&c);
		return jc_error_oom(err);
	}
	*dst = c;
	return 0;
}

/* ---- job requests on top of the site ------------------------------------------ */

/* A request's key or value in a message: only when it is short and
 * printable (it comes from a remote submitter). */
static const char *shown(const char *s)
{
	size_t n = strnlen(s, 65);

	if (n > 64)
		return "(too long to show)";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return "(not printable)";
	return s;
}

static bool key_anywhere(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].pub.key, key) == 0)
			return true;
	return entry_section(key);
}

bool jc_config_overridable(const struct jc_config *cfg, const char *key)
{
	const struct key_def *k = find_key("job", key);

	if (!pseudo_key(key) && (!k || k->ov == OV_NEVER))
		return false;
	return listed(&cfg->overridable, key);
}

/* A value of `k` as a message shows it. */
static void format_value(const struct key_def *k, int64_t v, char *buf, size_t size)
{
	if (k->type == T_DURATION) {
		snprintf(buf, size, "%" PRId64 "ms", v);
	} else if (k->type == T_SIZE || k->type == T_MEMORY) {
		snprintf(buf, size, "%" PRId64 " bytes", v);
	} else if (k->type == T_CPUS) {
		/* "1.5 CPUs": nano-CPUs are whole milli-CPUs (jc_parse_cpus) */
		char num[32];
		int n = snprintf(num, sizeof(num), "%" PRId64 ".%03" PRId64, v / 1000000000,
				 v / 1000000 % 1000);
		while (n > 0 && num[n - 1] == '0')
			num[--n] = '\0';
		if (n > 0 && num[n - 1] == '.')
			num[--n] = '\0';
		snprintf(buf, size, "%s CPUs", num);
	} else {
		snprintf(buf, size, "%" PRId64, v);
	}
}

static void format_gpus(const struct jc_gpus *g, char *buf, size_t size)
{
	size_t used = 0;

	if (g->count == -1 || g->count == JC_GPUS_SLURM) {
		snprintf(buf, size, g->count == -1 ? "all" : "slurm");
		return;
	}
	if (!g->ids.n) {
		if (g->count)
			snprintf(buf, size, "%" PRId64, g->count);
		else
			snprintf(buf, size, "none");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < g->ids.n && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", g->ids.v[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Is `req` within `site`: none, fewer, or some of the site's devices?
 * The allocation's devices (slurm) are known only at launch: under them a
 * request may ask for none, or for them all again; under all, for them. */
static bool gpus_within(const struct jc_gpus *site, const struct jc_gpus *req)
{
	if (req->count == 0 && !req->ids.n)
		return true;
	if (site->count == -1)
		return true;
	if (site->count == JC_GPUS_SLURM || req->count < 0)
		return req->count == JC_GPUS_SLURM && site->count == JC_GPUS_SLURM;
	if (site->ids.n) {
		/* a count lets the engine pick devices the site did not name */
		if (!req->ids.n)
			return false;
		for (size_t i = 0; i < req->ids.n; i++)
			if (!listed(&site->ids, req->ids.v[i]))
				return false;
		return true;
	}
	return (int64_t)(req->ids.n ? req->ids.n : (size_t)req->count) <= site->count;
}

/* The request's value `rq` of `k` against the site's `site`: NULL when it
 * tightens or keeps the limit, else why not (written into buf). */
static const char *loosens(const struct key_def *k, const struct jc_config *site,
			   const struct jc_config *rq, char *buf, size_t size)
{
	char have[64], want[64];
	int64_t s, r;

	if (k->ov == OV_GPUS) {
		const struct jc_gpus *sg = (const void *)((const char *)site + k->off);
		const struct jc_gpus *rg = (const void *)((const char *)rq + k->off);
		if (gpus_within(sg, rg))
			return NULL;
		format_gpus(sg, have, sizeof(have));
		snprintf(buf, size,
			 "more than the site's `%s`: a request may ask for no GPUs, fewer, or "
			 "some of the site's devices",
			 have);
		return buf;
	}
	if (k->ov != OV_LIMIT && k->ov != OV_LOWER && k->ov != OV_SHM)
		return NULL;
	s = *(const int64_t *)(const void *)((const char *)site + k->off);
	r = *(const int64_t *)(const void *)((const char *)rq + k->off);
	format_value(k, s, have, sizeof(have));
	format_value(k, r, want, sizeof(want));
	switch (k->ov) {
	case OV_LIMIT:
		if (s > 0 && r == 0) {
			snprintf(buf, size,
				 "0 (no limit) would lift the site's limit of %s: a request may "
				 "lower a limit, never raise or lift it",
				 have);
			return buf;
		}
		if (s > 0 && r > s)
			break;
		return NULL;
	case OV_LOWER:
		if (r > s)
			break;
		return NULL;
	case OV_SHM:
		/* 0 is the engine's default size, not "no limit" */
		if ((r ? r : SHM_DEFAULT) > (s ? s : SHM_DEFAULT)) {
			if (!s)
				snprintf(have, sizeof(have),
					 "%" PRId64 " bytes (the engine's default)", SHM_DEFAULT);
			if (!r)
				snprintf(want, sizeof(want),
					 "%" PRId64 " bytes (the engine's default)", SHM_DEFAULT);
			break;
		}
		return NULL;
	case OV_NEVER:
	case OV_ANY:
	case OV_GPUS:
		return NULL;
	}
	snprintf(buf, size,
		 "%s is above the site's limit of %s: a request may lower a limit, never raise it",
		 want, have);
	return buf;
}

int jc_config_override(struct jc_config *cfg, const char *key, const char *value, jc_error *err)
{
	const struct key_def *k = find_key("job", key);
	struct jc_config scratch;
	const char *why;
	char buf[320];

	if (strcmp(key, ENV_KEY) == 0)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request sets `env`: give environment variables as "
				    "NAME=VALUE entries (--env), not as a key");
	if (strcmp(key, ENTRYPOINT_KEY) == 0)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request sets `entrypoint` as a key: give it with "
				    "--entrypoint");
	if (!k && key_anywhere(key))
		return jc_error_set(
		    err, JC_ERR_INPUT, EPERM,
		    "job request sets `%s`, which is no key of [job]: a job request "
		    "may never change it",
		    key);
	if (!k)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request sets `%s`, which is not a key of [job]",
				    shown(key));
	if (k->ov == OV_NEVER)
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "job request sets `%s`, which a job request may never change",
				    key);
	if (!listed(&cfg->overridable, key))
		return jc_error_set(err, JC_ERR_INPUT, EPERM,
				    "job request sets `%s`, which the site does not list in [job] "
				    "overridable",
				    key);
	/* an empty string would unset the key, which is no value a request gives */
	if (!*value && k->type == T_IMAGE)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job request sets `%s` to nothing",
				    key);

	/* parse into scratch first: cfg changes only when everything holds */
	memset(&scratch, 0, sizeof(scratch));
	why = set_value(&scratch, k, value, buf, sizeof(buf));
	if (why) {
		free_field(&scratch, k);
		if (strcmp(why, "out of memory") == 0)
			return jc_error_oom(err);
		return jc_error_set(err, JC_ERR_INPUT, EINVAL, "job request sets `%s` = `%s`: %s",
				    key, shown(value), why);
	}
	why = loosens(k, cfg, &scratch, buf, sizeof(buf));
	free_field(&scratch, k);
	if (why)
		return jc_error_set(err, JC_ERR_INPUT, EPERM, "job request sets `%s` = `%s`: %s",
				    key, shown(value), why);
	if (set_value(cfg, k, value, buf, sizeof(buf)))
		return jc_error_oom(err); /* parsed once already: only memory can fail */
	return 0;
}

int jc_config_override_entry(struct jc_config *cfg, const char *entry, jc_error *err)
{
	const char *eq = strchr(entry, '=');
	cleanup_free char *key = NULL;

	if (!eq)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "job request setting `%s` has no `=`: want KEY=VALUE",
				    shown(entry));
	if (!(key = strndup(entry, (size_t)(eq - entry))))
		return jc_error_oom(err);
	return jc_config_override(cfg, key, eq + 1, err);
}
