/* The mount gate, jobcell's side: see mount_gate.h and docs/security.md
 * ("Check to mount"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mount_gate.h"

void jc_gate_mounts_free(struct jc_gate_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].what);
		free(m[i].target);
	}
	free(m);
}

int jc_gate_mounts_add(struct jc_gate_mount **m, size_t *n, const char *kind, const char *dir,
		       const char *name, dev_t dev, ino_t ino, jc_error *err)
{
	struct jc_gate_mount *v = realloc(*m, (*n + 1) * sizeof(*v));
	size_t dl = strlen(dir);

	if (!v)
		return jc_error_oom(err);
	*m = v;
	v = &v[*n];
	*v = (struct jc_gate_mount){ .dev = dev, .ino = ino };
	/* the plan's rule for a target (plan.c): one `/` between */
	if (asprintf(&v->target, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name) < 0)
		return jc_error_oom(err);
	if (asprintf(&v->what, "%s%s`%s`", kind ? kind : "", kind ? " " : "", name) < 0) {
		free(v->target);
		return jc_error_oom(err);
	}
	(*n)++;
	return 0;
}

static int append(struct jc_strv *out, const struct jc_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (jc_strv_push(out, v->v[i]) < 0)
			return -1;
	return 0;
}

int jc_gate_argv(const struct jc_strv *req_ep, const struct jc_strv *req_cmd,
		 const struct jc_strv *img_ep, const struct jc_strv *img_cmd, const char *image,
		 struct jc_strv *out, jc_error *err)
{
	struct jc_strv v = { 0 };
	int r;

	/* Docker's rule: an entrypoint of the request drops the image's Cmd;
	 * a cleared one (`[""]`) runs the request's command alone */
	if (jc_plan_entrypoint_cleared(req_ep))
		r = append(&v, req_cmd) < 0;
	else if (req_ep->n)
		r = append(&v, req_ep) < 0 || append(&v, req_cmd) < 0;
	else
		r = append(&v, img_ep) < 0 || append(&v, req_cmd->n ? req_cmd : img_cmd) < 0;
	if (r) {
		jc_strv_free(&v);
		return jc_error_oom(err);
	}
	if (!v.n)
		return jc_error_set(err, JC_ERR_INPUT, EINVAL,
				    "image `%s` has no command and the request gives none", image);
	jc_strv_free(out);
	*out = v;
	return 0;
}

int jc_gate_apply(struct jc_plan *p, const char *gate_src, const char *nonce,
		  const struct jc_gate_mount *m, size_t n, const struct jc_strv *argv,
		  jc_error *err)
{
	struct jc_strv ep = { 0 }, cmd = { 0 };
	struct jc_mount *mounts, *g;

	if (jc_strv_push(&ep, JC_GATE_TARGET) < 0 || jc_strv_push(&ep, nonce) < 0)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *spec = NULL;
		if (asprintf(&spec, "%s=%" PRIuMAX ":%" PRIuMAX, m[i].target, (uintmax_t)m[i].dev,
			     (uintmax_t)m[i].ino) < 0) {
			spec = NULL;
			goto oom;
		}
		if (jc_strv_push(&ep, spec) < 0)
			goto oom;
	}
	if (jc_strv_push(&ep, "--") < 0 || jc_strv_copy(&cmd, argv) < 0)
		goto oom;
	if (!(mounts = realloc(p->mounts, (p->nmounts + 1) * sizeof(*mounts))))
		goto oom;
	p->mounts = mounts;
	g = &mounts[p->nmounts];
	*g = (struct jc_mount){ .type = JC_MOUNT_BIND, .readonly = true };
	g->source = strdup(gate_src);
	g->target = strdup(JC_GATE_TARGET);
	p->nmounts++; /* jc_plan_free frees what was set */
	if (!g->source || !g->target)
		goto oom;
	jc_strv_free(&p->entrypoint);
	jc_strv_free(&p->cmd);
	p->entrypoint = ep;
	p->cmd = cmd;
	return 0;
oom:
	jc_strv_free(&ep);
	jc_strv_free(&cmd);
	return jc_error_oom(err);
}

int jc_gate_report(const char *line, const char *nonce, const char *container,
		   const struct jc_gate_mount *m, size_t n, jc_error *err)
{
	static const char head[] = "jobcell-gate ";
	size_t nl = strlen(nonce);
	const char *rest;

	if (strncmp(line, head, sizeof(head) - 1) != 0)
		return 0;
	rest = line + sizeof(head) - 1;
	if (strncmp(rest, nonce, nl) != 0 || rest[nl] != ' ')
		return 0;
	rest += nl + 1;
	if (strncmp(rest, "mount ", 6) == 0) {
		const char *path = rest + 6, *sp = strrchr(path, ' ');
		cleanup_free char *found = NULL;
		int e = 0;

		if (!sp)
			goto garbled;
		for (size_t i = 0; i < n; i++) {
			if (strlen(m[i].target) != (size_t)(sp - path) ||
			    strncmp(m[i].target, path, (size_t)(sp - path)) != 0)
				continue;
			if (sscanf(sp + 1, "errno=%d", &e) == 1) {
				if (asprintf(&found, "%s", strerror(e)) < 0)
					found = NULL;
			} else if (!(found = jc_text_printable_str(sp + 1))) {
				return jc_error_oom(err), 1;
			} else {
				char *f = NULL;
				if (asprintf(&f, "dev:ino %s", found) < 0)
					return jc_error_oom(err), 1;
				free(found);
				found = f;
			}
			if (!found)
				return jc_error_oom(err), 1;
			jc_error_set(err, JC_ERR_WORKSPACE, EXDEV,
				     "mount check: %s in the container is not the one checked (%s, "
				     "expected %" PRIuMAX ":%" PRIuMAX ")",
				     m[i].what, found, (uintmax_t)m[i].dev, (uintmax_t)m[i].ino);
			return 1;
		}
		goto garbled;
	}
	if (strncmp(rest, "exec ", 5) == 0) {
		int e = 0, off = 0;
		cleanup_free char *cmd = NULL;

		if (sscanf(rest + 5, "%d %n", &e, &off) != 1 || !off)
			goto garbled;
		if (!(cmd = jc_text_printable(rest + 5 + off, strlen(rest + 5 + off), 200)))
			return jc_error_oom(err), 1;
		jc_error_set(err, JC_ERR_CMD_NOT_EXEC, e,
			     "start container `%s`: exec: \"%s\": %s", container, cmd,
			     e == ENOENT || e == ENOTDIR ? "executable file not found in $PATH"
			     : e == EACCES		 ? "permission denied"
							 : strerror(e));
		if (e == ENOENT || e == ENOTDIR)
			err->kind = JC_ERR_CMD_NOT_FOUND;
		return 1;
	}
garbled:
	jc_error_set(err, JC_ERR_WORKSPACE, EBADMSG,
		     "mount check: the gate of container `%s` refused the job with a report "
		     "jobcell cannot read",
		     container);
	return 1;
}
