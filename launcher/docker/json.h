/* The Docker Engine API's JSON: plan -> bodies, answers -> the neutral
 * structs of backend.h; pure (docker/json.c). */
#ifndef JC_DOCKER_JSON_H
#define JC_DOCKER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "labels.h"
#include "plan.h"

/* The body of POST /containers/create, unformatted (or indented with
 * `pretty`).  Caller frees. */
char *jc_docker_create_body(const struct jc_plan *plan, bool pretty, jc_error *err);

int jc_docker_parse_inspect(const char *json, struct jc_inspect *out, jc_error *err);
/* {"Id": ...} from create. */
int jc_docker_parse_id(const char *json, char **id, jc_error *err);
/* {"StatusCode": N, "Error": {"Message": ...}} from wait. */
int jc_docker_parse_wait(const char *json, int *status, jc_error *err);
/* The engine's {"message": ...}, or NULL. Caller frees. */
char *jc_docker_error_message(const char *json);

int jc_docker_parse_list(const char *json, struct jc_container_list *out, jc_error *err);

int jc_docker_parse_volume(const char *json, struct jc_volume *out, jc_error *err);
/* {"Volumes": [...]} */
int jc_docker_parse_volume_list(const char *json, struct jc_volume_list *out, jc_error *err);
/* The body of POST /volumes/create: the labels by jc_labels_build. */
char *jc_docker_volume_body(const char *name, const struct jc_labels *labels, int64_t size,
			    jc_error *err);

/* The body of POST /containers/create for a stage container: never started
 * (its command only satisfies create), no network, `volume` read-write at
 * `target`, `labels` by jc_labels_build.  Caller frees. */
char *jc_docker_stage_body(const char *image, const char *user, const char *volume,
			   const char *target, const struct jc_labels *labels, jc_error *err);
/* GET /images/{name}/json: Config.User ("" when unset), Config.Entrypoint and
 * Config.Cmd (null or absent: empty), and the first key of
 * Config.Labels that is one of jobcell's (jc_label_is_own).  Caller frees
 * with jc_image_free. */
int jc_docker_parse_image(const char *json, const char *image, struct jc_image *out,
			  jc_error *err);
/* The X-Docker-Container-Path-Stat header of an archive answer (base64 of
 * {"name","size","mode","mtime","linkTarget"}, mode as Go's os.FileMode,
 * mtime RFC 3339 with nanoseconds) -> *out (the caller's to free with
 * jc_path_stat_free; untouched on failure). */
int jc_docker_parse_path_stat(const char *header, struct jc_path_stat *out, jc_error *err);
/* CgroupDriver and CgroupVersion out of GET /info. */
int jc_docker_parse_cgroups(const char *json, struct jc_engine_cgroups *out, jc_error *err);
/* "<product> <version>, API <api>" out of GET /version, or NULL. */
char *jc_docker_parse_version(const char *json);

#endif
