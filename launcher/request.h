/* Engine JSON: plan -> JSON, JSON -> structs, pure (request.c). */
#ifndef JC_REQUEST_H
#define JC_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "plan.h"

/* The body of POST /containers/create, unformatted (or indented with
 * `pretty`).  Caller frees. */
char *jc_request_create_json(const struct jc_plan *plan, bool pretty, jc_error *err);

struct jc_inspect {
	char *id;
	char *name;
	char *status; /* created, running, exited, ... */
	bool running;
	bool oom_killed;
	int exit_code;
	struct jc_labels labels;
};
int jc_request_parse_inspect(const char *json, struct jc_inspect *out, jc_error *err);
void jc_inspect_free(struct jc_inspect *in);
/* {"Id": ...} from create. */
int jc_request_parse_id(const char *json, char **id, jc_error *err);
/* {"StatusCode": N, "Error": {"Message": ...}} from wait. */
int jc_request_parse_wait(const char *json, int *status, jc_error *err);
/* The engine's {"message": ...}, or NULL. Caller frees. */
char *jc_request_error_message(const char *json);

struct jc_container_list {
	struct jc_inspect *items; /* id, name, status, labels filled */
	size_t n;
};
int jc_request_parse_list(const char *json, struct jc_container_list *out, jc_error *err);
void jc_container_list_free(struct jc_container_list *l);

struct jc_volume {
	char *name;
	char *created_at; /* the engine's CreatedAt */
	struct jc_labels labels;
};
int jc_request_parse_volume(const char *json, struct jc_volume *out, jc_error *err);
void jc_volume_free(struct jc_volume *v);
struct jc_volume_list {
	struct jc_volume *items;
	size_t n;
};
/* {"Volumes": [...]} */
int jc_request_parse_volume_list(const char *json, struct jc_volume_list *out, jc_error *err);
void jc_volume_list_free(struct jc_volume_list *l);
/* The body of POST /volumes/create. */
char *jc_request_volume_json(const char *name, const struct jc_labels *labels, jc_error *err);

#endif
