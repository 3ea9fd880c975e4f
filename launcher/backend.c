/* The choice of backend, and the neutral structs every backend fills. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "endpoint.h"
#include "docker/engine.h"
#include "error.h"
#include "labels.h"

int jc_backend_open(const struct jc_config *cfg, struct jc_backend **out, jc_error *err)
{
	struct jc_endpoint ep;
	int r;

	if (jc_endpoint_parse(cfg, &ep, err) < 0)
		return -1;
	/* every endpoint jobcell takes today speaks the Docker Engine API */
	r = jc_docker_open(&ep, cfg->engine_timeout_ms, out, err);
	jc_endpoint_free(&ep);
	return r;
}

const char *jc_backend_spoken(void)
{
	return "engine API " JC_API_MIN ".." JC_API_MAX;
}

void jc_inspect_free(struct jc_inspect *in)
{
	free(in->id);
	free(in->name);
	free(in->status);
	jc_labels_free(&in->labels);
	memset(in, 0, sizeof(*in));
}

void jc_container_list_free(struct jc_container_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		jc_inspect_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void jc_image_free(struct jc_image *im)
{
	free(im->user);
	jc_strv_free(&im->entrypoint);
	jc_strv_free(&im->cmd);
	free(im->jobcell_label);
	memset(im, 0, sizeof(*im));
}

void jc_path_stat_free(struct jc_path_stat *s)
{
	free(s->name);
	s->name = NULL;
}

void jc_volume_free(struct jc_volume *v)
{
	free(v->name);
	free(v->created_at);
	jc_labels_free(&v->labels);
	memset(v, 0, sizeof(*v));
}

void jc_volume_list_free(struct jc_volume_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		jc_volume_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
