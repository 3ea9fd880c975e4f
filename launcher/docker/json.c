/* The Docker Engine API's JSON in both directions.  Pure functions of their input: the plan
 * becomes the create body; the engine's answers become structs after every
 * field's type is checked (the engine's JSON is input like any other). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"
#include "error.h"
#include "names.h"
#include "plan.h"
#include "docker/json.h"
#include "labels.h"
#include "units.h"
#include "util.h"

/* cJSON_Add* return NULL on failure; collect failures instead of branching
 * on each one. */
struct builder {
	bool failed;
};

static cJSON *chk(struct builder *b, cJSON *item)
{
	if (!item)
		b->failed = true;
	return item;
}

/* Append `item` (may be NULL: a failed create) to `arr`; an item the array
 * did not take is freed.  Returns the item once it is in, else NULL. */
static cJSON *append(struct builder *b, cJSON *arr, cJSON *item)
{
	if (item && cJSON_AddItemToArray(arr, item))
		return item;
	cJSON_Delete(item);
	b->failed = true;
	return NULL;
}

static cJSON *add_strv(struct builder *b, cJSON *obj, const char *key, const struct jc_strv *v)
{
	cJSON *arr = chk(b, cJSON_AddArrayToObject(obj, key));
	for (size_t i = 0; arr && i < v->n; i++)
		append(b, arr, cJSON_CreateString(v->v[i]));
	return arr;
}

/* A whole number, written exactly: cJSON holds numbers as doubles and
 * prints those past 1e17 with an exponent, which the engine's Go decoder
 * refuses for an int64 field. */
static void add_int(struct builder *b, cJSON *obj, const char *key, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	chk(b, cJSON_AddRawToObject(obj, key, num));
}

/* HostConfig.DeviceRequests: one request for GPUs, the driver left to the
 * engine ("": the one that has the "gpu" capability, nvidia today). */
static void add_gpus(struct builder *b, cJSON *hc, const struct jc_gpus *g)
{
	cJSON *arr = chk(b, cJSON_AddArrayToObject(hc, "DeviceRequests"));
	cJSON *o = arr ? append(b, arr, cJSON_CreateObject()) : NULL;
	cJSON *caps;

	if (!o)
		return;
	chk(b, cJSON_AddStringToObject(o, "Driver", ""));
	/* -1: all; a count; 0 with DeviceIDs (the engine refuses both at once) */
	add_int(b, o, "Count", g->ids.n ? 0 : g->count);
	add_strv(b, o, "DeviceIDs", &g->ids);
	/* an OR list of AND lists: [["gpu"]] */
	caps = chk(b, cJSON_AddArrayToObject(o, "Capabilities"));
	if (caps)
		append(b, caps, cJSON_CreateStringArray((const char *const[]){ "gpu" }, 1));
	chk(b, cJSON_AddObjectToObject(o, "Options"));
}

static void add_mount(struct builder *b, cJSON *arr, const struct jc_mount *m)
{
	cJSON *o = append(b, arr, cJSON_CreateObject());

	if (!o)
		return;
	chk(b, cJSON_AddStringToObject(o, "Type",
				       m->type == JC_MOUNT_TMPFS    ? "tmpfs"
				       : m->type == JC_MOUNT_VOLUME ? "volume"
								    : "bind"));
	if (m->source)
		chk(b, cJSON_AddStringToObject(o, "Source", m->source));
	chk(b, cJSON_AddStringToObject(o, "Target", m->target));
	chk(b, cJSON_AddBoolToObject(o, "ReadOnly", m->readonly));
	if (m->type == JC_MOUNT_TMPFS) {
		cJSON *t = chk(b, cJSON_AddObjectToObject(o, "TmpfsOptions"));
		if (t) {
			add_int(b, t, "SizeBytes", m->size);
			chk(b, cJSON_AddNumberToObject(t, "Mode", m->mode));
		}
	} else if (m->type == JC_MOUNT_VOLUME) {
		/* NoCopy: never fill the volume from the image */
		cJSON *vo = chk(b, cJSON_AddObjectToObject(o, "VolumeOptions"));
		if (vo) {
			chk(b, cJSON_AddBoolToObject(vo, "NoCopy", true));
			if (m->subpath)
				chk(b, cJSON_AddStringToObject(vo, "Subpath", m->subpath));
		}
	} else {
		cJSON *bo = chk(b, cJSON_AddObjectToObject(o, "BindOptions"));
		if (bo)
			chk(b, cJSON_AddStringToObject(bo, "Propagation", "rprivate"));
	}
}

/* A read-only tmpfs goes in HostConfig.Tmpfs, not Mounts: Docker refuses
 * archive writes to any path beneath a read-only entry of Mounts, so the
 * workspace root there would block writing the job's own volume. */
static void add_tmpfs(struct builder *b, cJSON *hc, cJSON **tmpfs, const struct jc_mount *m)
{
	char opts[96];

	if (!*tmpfs && !(*tmpfs = chk(b, cJSON_AddObjectToObject(hc, "Tmpfs"))))
		return;
	snprintf(opts, sizeof(opts), "ro,mode=%04o,size=%lld", m->mode, (long long)m->size);
	chk(b, cJSON_AddStringToObject(*tmpfs, m->target, opts));
}

char *jc_docker_create_body(const struct jc_plan *p, bool pretty, jc_error *err)
{
	struct builder b = { 0 };
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	cJSON *labels, *hc, *mounts;
	char *out;

	if (!root)
		return jc_error_oom(err), NULL;
	chk(&b, cJSON_AddStringToObject(root, "Image", p->image));
	if (p->cmd.n)
		add_strv(&b, root, "Cmd", &p->cmd);
	if (p->entrypoint.n)
		add_strv(&b, root, "Entrypoint", &p->entrypoint);
	add_strv(&b, root, "Env", &p->env);
	if (*p->user)
		chk(&b, cJSON_AddStringToObject(root, "User", p->user));
	chk(&b, cJSON_AddStringToObject(root, "WorkingDir", p->workdir));
	chk(&b, cJSON_AddBoolToObject(root, "Tty", false));
	/* StdinOnce: the end of the attach's input closes the job's stdin
	 * (the job sees EOF) instead of leaving it open for another attach */
	chk(&b, cJSON_AddBoolToObject(root, "OpenStdin", p->open_stdin));
	chk(&b, cJSON_AddBoolToObject(root, "StdinOnce", p->open_stdin));
	chk(&b, cJSON_AddBoolToObject(root, "AttachStdin", p->open_stdin));
	chk(&b, cJSON_AddNumberToObject(root, "StopTimeout",
					(double)((p->stop_grace_ms + 999) / 1000)));
	labels = chk(&b, cJSON_AddObjectToObject(root, "Labels"));
	for (size_t i = 0; labels && i < p->nlabels; i++)
		chk(&b, cJSON_AddStringToObject(labels, p->labels[i].key, p->labels[i].value));

	hc = chk(&b, cJSON_AddObjectToObject(root, "HostConfig"));
	if (hc) {
		chk(&b, cJSON_AddStringToObject(hc, "NetworkMode", p->network));
		cJSON *tmpfs = NULL;
		mounts = chk(&b, cJSON_AddArrayToObject(hc, "Mounts"));
		for (size_t i = 0; mounts && i < p->nmounts; i++) {
			if (p->mounts[i].type == JC_MOUNT_TMPFS && p->mounts[i].readonly)
				add_tmpfs(&b, hc, &tmpfs, &p->mounts[i]);
			else
				add_mount(&b, mounts, &p->mounts[i]);
		}
		chk(&b, cJSON_AddBoolToObject(hc, "ReadonlyRootfs", p->readonly_rootfs));
		add_strv(&b, hc, "CapDrop", &p->cap_drop);
		add_strv(&b, hc, "CapAdd", &p->cap_add);
		if (p->no_new_privileges) {
			struct jc_strv nnp = { (char *[]){ "no-new-privileges", NULL }, 1 };
			add_strv(&b, hc, "SecurityOpt", &nnp);
		}
		if (p->pids_limit > 0)
			add_int(&b, hc, "PidsLimit", p->pids_limit);
		if (p->memory > 0) {
			/* MemorySwap is memory + swap: the same value allows no swap */
			add_int(&b, hc, "Memory", p->memory);
			add_int(&b, hc, "MemorySwap", p->memory);
		}
		if (p->nano_cpus > 0)
			add_int(&b, hc, "NanoCpus", p->nano_cpus);
		if (p->shm_size > 0)
			add_int(&b, hc, "ShmSize", p->shm_size);
		/* exactly the ids, a count, or all; never slurm (resolved by then) */
		if (p->gpus.ids.n || p->gpus.count > 0 || p->gpus.count == -1)
			add_gpus(&b, hc, &p->gpus);
		if (p->cgroup_parent)
			chk(&b, cJSON_AddStringToObject(hc, "CgroupParent", p->cgroup_parent));
		chk(&b, cJSON_AddBoolToObject(hc, "AutoRemove", false));
	}
	if (b.failed)
		return jc_error_oom(err), NULL;
	out = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	if (!out)
		return jc_error_oom(err), NULL;
	return out;
}

static int bad_json(jc_error *err, const char *what)
{
	return jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "engine answer is not valid JSON: %s",
			    what);
}

static const char *get_str(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static bool get_int(const cJSON *o, const char *key, int *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) ||
	    j->valuedouble < -2147483648.0 || j->valuedouble > 2147483647.0)
		return false;
	*out = (int)j->valuedouble;
	return true;
}

/* Ids go into URL paths, JSON and terminals: lowercase hex only. */
static bool valid_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 12 && n <= 128 && strspn(s, "0123456789abcdef") == n;
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	return (src && !(*dst = strdup(src))) ? -1 : 0;
}

/* jobcell's labels out of a Labels object (absent or null: none). */
static int parse_labels(const cJSON *labels, struct jc_labels *out)
{
	cleanup_free struct jc_label *kv = NULL;
	const cJSON *it;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(labels))
		return 0;
	kv = calloc((size_t)cJSON_GetArraySize(labels) + 1, sizeof(*kv));
	if (!kv)
		return -1;
	cJSON_ArrayForEach(it, labels)
	{
		if (!it->string)
			continue;
		/* a label that is not a string is there, but says nothing */
		kv[n++] = (struct jc_label){ it->string,
					     cJSON_IsString(it) ? it->valuestring : NULL };
	}
	return jc_labels_parse(kv, n, out, NULL);
}

/* Fill what both inspect and list items carry. */
static int fill_common(const cJSON *o, const cJSON *labels, const char *name, const char *status,
		       struct jc_inspect *in)
{
	const char *id = get_str(o, "Id");

	memset(in, 0, sizeof(*in));
	if (!valid_id(id) || !status)
		return 1;
	if (name && name[0] == '/')
		name++;
	if (dup_opt(&in->id, id) < 0 || dup_opt(&in->name, name) < 0 ||
	    dup_opt(&in->status, status) < 0 || parse_labels(labels, &in->labels) < 0) {
		jc_inspect_free(in);
		return -1;
	}
	return 0;
}

int jc_docker_parse_inspect(const char *json, struct jc_inspect *out, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	const cJSON *state, *config;
	struct jc_inspect in;
	int r;

	if (!cJSON_IsObject(root))
		return bad_json(err, "container inspect");
	state = cJSON_GetObjectItemCaseSensitive(root, "State");
	config = cJSON_GetObjectItemCaseSensitive(root, "Config");
	if (!cJSON_IsObject(state))
		return bad_json(err, "container inspect has no State");
	r = fill_common(root, cJSON_GetObjectItemCaseSensitive(config, "Labels"),
			get_str(root, "Name"), get_str(state, "Status"), &in);
	if (r < 0)
		return jc_error_oom(err);
	if (r > 0 || !get_int(state, "ExitCode", &in.exit_code)) {
		jc_inspect_free(&in);
		return bad_json(err, "container inspect lacks Id, State.Status or State.ExitCode");
	}
	in.running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
	in.oom_killed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "OOMKilled"));
	*out = in;
	return 0;
}

int jc_docker_parse_id(const char *json, char **id, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	const char *s = get_str(root, "Id");
	char *copy;

	if (!s)
		return bad_json(err, "create answer has no Id");
	if (!valid_id(s))
		return jc_error_set(err, JC_ERR_ENGINE, EBADMSG, "engine returned a malformed id");
	if (!(copy = strdup(s)))
		return jc_error_oom(err);
	*id = copy;
	return 0;
}

int jc_docker_parse_wait(const char *json, int *status, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	const cJSON *e;
	const char *m;
	int code;

	if (!cJSON_IsObject(root) || !get_int(root, "StatusCode", &code))
		return bad_json(err, "wait answer has no StatusCode");
	e = cJSON_GetObjectItemCaseSensitive(root, "Error");
	if (cJSON_IsObject(e) && (m = get_str(e, "Message")) && *m)
		return jc_error_set(err, JC_ERR_ENGINE, EIO, "engine said: %s", m);
	if (code < 0 || code > 255)
		return jc_error_set(err, JC_ERR_ENGINE, ERANGE,
				    "engine reported exit status %d, outside 0..255", code);
	*status = code;
	return 0;
}

char *jc_docker_error_message(const char *json)
{
	cleanup_cjson cJSON *root = json ? cJSON_Parse(json) : NULL;
	const char *m = get_str(root, "message");
	return m ? strdup(m) : NULL;
}

int jc_docker_parse_list(const char *json, struct jc_container_list *out, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	struct jc_container_list l = { 0 };
	const cJSON *item;
	int n;

	if (!cJSON_IsArray(root))
		return bad_json(err, "container list is not an array");
	n = cJSON_GetArraySize(root);
	l.items = calloc((size_t)n + 1, sizeof(*l.items));
	if (!l.items)
		return jc_error_oom(err);
	cJSON_ArrayForEach(item, root)
	{
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(item, "Names");
		const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
		int r = fill_common(item, cJSON_GetObjectItemCaseSensitive(item, "Labels"),
				    cJSON_IsString(first) ? first->valuestring : NULL,
				    get_str(item, "State"), &l.items[l.n]);
		if (r != 0) {
			jc_container_list_free(&l);
			return r < 0 ? jc_error_oom(err) : bad_json(err, "container list item");
		}
		l.n++;
	}
	*out = l;
	return 0;
}

/* ---- volumes ---- */

char *jc_docker_volume_body(const char *name, const struct jc_labels *labels, int64_t size,
			    jc_error *err)
{
	struct builder b = { 0 };
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	struct jc_label kv[JC_LABELS_MAX];
	size_t n = jc_labels_build(labels, kv);
	cJSON *l;
	char *out;

	if (!root)
		return jc_error_oom(err), NULL;
	chk(&b, cJSON_AddStringToObject(root, "Name", name));
	chk(&b, cJSON_AddStringToObject(root, "Driver", "local"));
	if (size > 0) {
		/* the local driver's own option: Podman caps the volume with a
		 * project quota (XFS), Docker refuses it without a device */
		char o[32];
		cJSON *opts = chk(&b, cJSON_AddObjectToObject(root, "DriverOpts"));
		snprintf(o, sizeof(o), "size=%" PRId64, size);
		if (opts)
			chk(&b, cJSON_AddStringToObject(opts, "o", o));
	}
	l = chk(&b, cJSON_AddObjectToObject(root, "Labels"));
	for (size_t i = 0; l && i < n; i++)
		chk(&b, cJSON_AddStringToObject(l, kv[i].key, kv[i].value));
	if (b.failed || !(out = cJSON_PrintUnformatted(root)))
		return jc_error_oom(err), NULL;
	return out;
}

/* 1: malformed, -1: out of memory. */
static int fill_volume(const cJSON *o, struct jc_volume *v)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(o, "Labels");
	const char *name = get_str(o, "Name");

	memset(v, 0, sizeof(*v));
	if (!name || jc_volume_name_check(name, NULL) < 0)
		return 1;
	if (dup_opt(&v->name, name) < 0 || dup_opt(&v->created_at, get_str(o, "CreatedAt")) < 0 ||
	    parse_labels(labels, &v->labels) < 0) {
		jc_volume_free(v);
		return -1;
	}
	return 0;
}

int jc_docker_parse_volume(const char *json, struct jc_volume *out, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	struct jc_volume v;
	int r;

	if (!cJSON_IsObject(root))
		return bad_json(err, "volume");
	/* fill a local: out-parameters are assigned only on success */
	r = fill_volume(root, &v);
	if (r < 0)
		return jc_error_oom(err);
	if (r > 0)
		return bad_json(err, "volume lacks a valid Name");
	*out = v;
	return 0;
}

int jc_docker_parse_volume_list(const char *json, struct jc_volume_list *out, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	const cJSON *vols = cJSON_GetObjectItemCaseSensitive(root, "Volumes"), *item;
	struct jc_volume_list l = { 0 };

	if (!cJSON_IsObject(root) || (!cJSON_IsArray(vols) && !cJSON_IsNull(vols)))
		return bad_json(err, "volume list has no Volumes array");
	l.items = calloc((size_t)cJSON_GetArraySize(vols) + 1, sizeof(*l.items));
	if (!l.items)
		return jc_error_oom(err);
	cJSON_ArrayForEach(item, vols)
	{
		int r = cJSON_IsObject(item) ? fill_volume(item, &l.items[l.n]) : 1;
		if (r != 0) {
			jc_volume_list_free(&l);
			return r < 0 ? jc_error_oom(err) : bad_json(err, "volume list item");
		}
		l.n++;
	}
	*out = l;
	return 0;
}

/* ---- stage containers, images, the engine's version ---- */

char *jc_docker_stage_body(const char *image, const char *user, const char *volume,
			   const char *target, const struct jc_labels *labels, jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	struct jc_label kv[JC_LABELS_MAX];
	size_t n = jc_labels_build(labels, kv);
	cJSON *l, *hc, *mounts, *m, *vo, *cmd;
	char *out;

	if (!root)
		return jc_error_oom(err), NULL;
	/* never started: the command only has to satisfy create */
	if (!cJSON_AddStringToObject(root, "Image", image) ||
	    (user && *user && !cJSON_AddStringToObject(root, "User", user)) ||
	    !(cmd = cJSON_AddArrayToObject(root, "Cmd")) ||
	    !cJSON_AddItemToArray(cmd, cJSON_CreateString("/jobcell-transfer-never-runs")) ||
	    !(l = cJSON_AddObjectToObject(root, "Labels")))
		return jc_error_oom(err), NULL;
	for (size_t i = 0; i < n; i++)
		if (!cJSON_AddStringToObject(l, kv[i].key, kv[i].value))
			return jc_error_oom(err), NULL;
	if (!(hc = cJSON_AddObjectToObject(root, "HostConfig")) ||
	    !cJSON_AddStringToObject(hc, "NetworkMode", "none") ||
	    !(mounts = cJSON_AddArrayToObject(hc, "Mounts")) || !(m = cJSON_CreateObject()) ||
	    !cJSON_AddItemToArray(mounts, m) || !cJSON_AddStringToObject(m, "Type", "volume") ||
	    !cJSON_AddStringToObject(m, "Source", volume) ||
	    !cJSON_AddStringToObject(m, "Target", target) ||
	    !(vo = cJSON_AddObjectToObject(m, "VolumeOptions")) ||
	    !cJSON_AddBoolToObject(vo, "NoCopy", true) || !(out = cJSON_PrintUnformatted(root)))
		return jc_error_oom(err), NULL;
	return out;
}

/* A list of strings, or null or absent (empty); -1 for anything else. */
static int strv_of(const cJSON *a, struct jc_strv *out)
{
	const cJSON *x;

	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return -1;
	cJSON_ArrayForEach(x, a)
	{
		if (!cJSON_IsString(x) || jc_strv_push(out, x->valuestring) < 0)
			return -1;
	}
	return 0;
}

int jc_docker_parse_image(const char *json, const char *image, struct jc_image *out,
			  jc_error *err)
{
	cleanup_cjson cJSON *root = cJSON_Parse(json);
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "Config");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(cfg, "User");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cfg, "Labels"), *it;
	struct jc_image im = { 0 };

	if (!cJSON_IsObject(root) || (u && !cJSON_IsString(u) && !cJSON_IsNull(u)) ||
	    (labels && !cJSON_IsObject(labels) && !cJSON_IsNull(labels)))
		return jc_error_set(err, JC_ERR_ENGINE, EBADMSG,
				    "inspect image `%s`: engine answer is not valid JSON", image);
	if (!(im.user = strdup(cJSON_IsString(u) ? u->valuestring : "")))
		return jc_error_oom(err);
	if (strv_of(cJSON_GetObjectItemCaseSensitive(cfg, "Entrypoint"), &im.entrypoint) < 0 ||
	    strv_of(cJSON_GetObjectItemCaseSensitive(cfg, "Cmd"), &im.cmd) < 0) {
		jc_image_free(&im);
		return jc_error_set(err, JC_ERR_ENGINE, EBADMSG,
				    "inspect image `%s`: engine answer is not valid JSON", image);
	}
	/* whatever its value: an image has no say in jobcell's labels */
	if (!cJSON_IsObject(labels))
		labels = NULL;
	cJSON_ArrayForEach(it, labels)
	{
		if (!jc_label_is_own(it->string))
			continue;
		if (!(im.jobcell_label = jc_text_printable(it->string, strlen(it->string), 128))) {
			jc_image_free(&im);
			return jc_error_oom(err);
		}
		break;
	}
	*out = im;
	return 0;
}

char *jc_docker_parse_version(const char *json)
{
	cleanup_cjson cJSON *root = json ? cJSON_Parse(json) : NULL;
	const cJSON *v, *api, *comps, *c;
	const char *product = "engine";
	char *out = NULL;

	if (!root)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(root, "Version");
	api = cJSON_GetObjectItemCaseSensitive(root, "ApiVersion");
	comps = cJSON_GetObjectItemCaseSensitive(root, "Components");
	cJSON_ArrayForEach(c, comps)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "Name");
		if (cJSON_IsString(n) && strstr(n->valuestring, "Engine")) {
			product = n->valuestring;
			break;
		}
	}
	if (cJSON_IsString(v) && asprintf(&out, "%s %s, API %s", product, v->valuestring,
					  cJSON_IsString(api) ? api->valuestring : "?") < 0)
		out = NULL;
	return out;
}

int jc_docker_parse_cgroups(const char *json, struct jc_engine_cgroups *out, jc_error *err)
{
	cleanup_cjson cJSON *root = json ? cJSON_Parse(json) : NULL;
	const char *driver, *version;
	struct jc_engine_cgroups c = { 0 };

	if (!cJSON_IsObject(root))
		return bad_json(err, "engine info");
	driver = get_str(root, "CgroupDriver");
	version = get_str(root, "CgroupVersion");
	if (!driver)
		return jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				    "engine info: the engine names no CgroupDriver");
	/* Docker and Podman say "1" or "2"; absent or "": the engine does
	 * not say, which a check of the version refuses */
	if (version && strcmp(version, "1") == 0)
		c.version = 1;
	else if (version && strcmp(version, "2") == 0)
		c.version = 2;
	else if (version && *version)
		return jc_error_set(err, JC_ERR_ENGINE, EPROTO,
				    "engine info: CgroupVersion is neither 1 nor 2");
	c.driver = strcmp(driver, "cgroupfs") == 0 ? JC_CGROUP_DRIVER_CGROUPFS
		   : strcmp(driver, "systemd") == 0 ? JC_CGROUP_DRIVER_SYSTEMD
						     : JC_CGROUP_DRIVER_OTHER;
	{
		cleanup_free char *shown = jc_text_printable(driver, strlen(driver),
							     sizeof(c.driver_name) - 4);
		if (!shown)
			return jc_error_oom(err);
		snprintf(c.driver_name, sizeof(c.driver_name), "%s", shown);
	}
	*out = c;
	return 0;
}

/* ---- the archive endpoint's stat ---- */

/* Standard base64 (Go's base64.StdEncoding), padded; *len gets the size.
 * NULL when malformed or out of memory (*oom says which). */
static char *unbase64(const char *in, size_t *len, bool *oom)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), pad = 0, o = 0;
	unsigned v = 0;
	char *out;

	*oom = false;
	if (n == 0 || n % 4)
		return NULL;
	while (pad < 2 && in[n - 1 - pad] == '=')
		pad++;
	if (!(out = malloc(n / 4 * 3 + 1))) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *c = i < n - pad && in[i] ? strchr(tab, in[i]) : NULL;
		if (i < n - pad && !c) {
			free(out);
			return NULL;
		}
		v = v << 6 | (c ? (unsigned)(c - tab) : 0);
		if (i % 4 == 3) {
			out[o++] = (char)(v >> 16 & 0xff);
			out[o++] = (char)(v >> 8 & 0xff);
			out[o++] = (char)(v & 0xff);
			v = 0;
		}
	}
	o -= pad;
	out[o] = '\0';
	*len = o;
	return out;
}

/* "2026-12-06T03:42:20.779738682Z" or "...+01:00" (Go's RFC 3339 with
 * nanoseconds, trailing zeros dropped) -> unix seconds and nanoseconds. */
static bool parse_rfc3339(const char *s, int64_t *sec, long *nsec)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se, off = 0, used = 0;
	long ns = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
	    used != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	p = s + used;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits == 9)
				return false;
			ns = ns * 10 + (*p - '0');
		}
		if (!digits)
			return false;
		for (; digits < 9; digits++)
			ns *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '2' && p[2] >= '0' &&
		   p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '5' && p[5] >= '0' &&
		   p[5] <= '9') {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*sec = (int64_t)timegm(&tm) - off;
	*nsec = ns;
	return true;
}

/* Go's os.FileMode -> st_mode.  The type bits are Go's own (io/fs). */
static mode_t mode_of_go(uint32_t m)
{
	mode_t t = S_IFREG;

	if (m & (1u << 31))
		t = S_IFDIR;
	else if (m & (1u << 27))
		t = S_IFLNK;
	else if (m & (1u << 26))
		t = m & (1u << 21) ? S_IFCHR : S_IFBLK;
	else if (m & (1u << 25))
		t = S_IFIFO;
	else if (m & (1u << 24))
		t = S_IFSOCK;
	else if (m & (1u << 19))
		t = 0; /* irregular: no type of ours */
	return t | (m & 0777) | (m & (1u << 23) ? S_ISUID : 0) | (m & (1u << 22) ? S_ISGID : 0) |
	       (m & (1u << 20) ? S_ISVTX : 0);
}

int jc_docker_parse_path_stat(const char *header, struct jc_path_stat *out, jc_error *err)
{
	cleanup_free char *json = NULL;
	cleanup_cjson cJSON *root = NULL;
	const cJSON *size, *mode, *mtime;
	const char *name;
	size_t len = 0;
	bool oom;
	int64_t sec;
	long nsec;

	if (!header || !*header)
		return jc_error_set(err, JC_ERR_ENGINE, EBADMSG,
				    "engine answer has no X-Docker-Container-Path-Stat header");
	if (!(json = unbase64(header, &len, &oom)))
		return oom ? jc_error_oom(err)
			   : jc_error_set(err, JC_ERR_ENGINE, EBADMSG,
					  "engine's X-Docker-Container-Path-Stat is not base64");
	if (strlen(json) != len || !(root = cJSON_Parse(json)) || !cJSON_IsObject(root))
		return bad_json(err, "X-Docker-Container-Path-Stat");
	name = get_str(root, "name");
	size = cJSON_GetObjectItemCaseSensitive(root, "size");
	mode = cJSON_GetObjectItemCaseSensitive(root, "mode");
	mtime = cJSON_GetObjectItemCaseSensitive(root, "mtime");
	if (!name || !cJSON_IsNumber(size) || size->valuedouble != floor(size->valuedouble) ||
	    size->valuedouble < 0 || size->valuedouble > 9007199254740992.0 ||
	    !cJSON_IsNumber(mode) || mode->valuedouble != floor(mode->valuedouble) ||
	    mode->valuedouble < 0 || mode->valuedouble > 4294967295.0 || !cJSON_IsString(mtime) ||
	    !parse_rfc3339(mtime->valuestring, &sec, &nsec))
		return bad_json(err, "X-Docker-Container-Path-Stat (name, size, mode, mtime)");
	if (!(out->name = strdup(name)))
		return jc_error_oom(err);
	out->size = (int64_t)size->valuedouble;
	out->mode = mode_of_go((uint32_t)mode->valuedouble);
	out->mtime_s = sec;
	out->mtime_ns = nsec;
	return 0;
}
