/* Who may do what (policy.c): the rules the library enforces whoever calls
 * it, the command line or a program linked against libjobcell. */
#ifndef JC_POLICY_H
#define JC_POLICY_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "backend.h"
#include "error.h"
#include "backend.h"

/* The uid:gid of nobody, for `[job] user = auto` where no directory exists
 * yet to take an owner from. */
#define JC_NOBODY 65534

/* How `[job] user = auto` is taken where there is no job directory. */
enum jc_auto_user {
	JC_AUTO_NEEDS_DIR, /* refuse: auto takes the directory's owner */
	JC_AUTO_NOBODY,    /* check: its own new directory will belong to nobody */
	JC_AUTO_IMAGE,     /* volume put/get: no job runs; the image's user */
};

/* Ask the engine about `image`, before anything is made from it, and
 * refuse one that carries a label of jobcell's (any key jc_labels_build
 * sets, in any case: JC_ERR_INPUT,
 * EPERM, naming the image and the label): the engine would merge it into
 * the container's labels, which decide what jobcell keeps and removes.
 * *out (may be NULL) gets what the image says of itself (its user,
 * entrypoint and command); the caller frees it with jc_image_free. */
int jc_policy_image(struct jc_backend *e, const char *image, struct jc_image *out, jc_error *err);

/* The numeric user a container runs as: the site's uid[:gid]; with `auto`,
 * the owner of the job directory `job_fd` (when >= 0); else `image_user`,
 * the image's own (jc_policy_image), which must be numeric.  For a job
 * (`for_job`), uid 0 only when the site sets allow_root (JC_ERR_CONFIG,
 * EPERM).  *user is "uid:gid", the caller's to free. */
int jc_policy_user(const struct jc_config *cfg, const char *image, const char *image_user,
		   int job_fd, enum jc_auto_user au, bool for_job, char **user, uid_t *uid,
		   gid_t *gid, jc_error *err);

/* Is the container `in`, asked for by `name`, job `job` of this site by its labels?  A name alone
 * could be anyone's (JC_ERR_INPUT, EPERM). */
int jc_policy_own_container(const struct jc_config *cfg, const char *job, const char *name,
			    const struct jc_inspect *in, jc_error *err);
/* Is the volume `v` one of this site's, made by jobcell (JC_ERR_INPUT,
 * EPERM)? */
int jc_policy_own_volume(const struct jc_config *cfg, const struct jc_volume *v, jc_error *err);
/* May a job of `tenant` mount `v` read-only (--mount-volume): a volume of
 * this site made by jobcell, labelled with the same tenant, and kept (a
 * finished job's, or `volume create`'s)?  Else JC_ERR_INPUT, EPERM, naming
 * the volume and the label that differs. */
int jc_policy_chained_volume(const struct jc_config *cfg, const char *tenant,
			     const struct jc_volume *v, jc_error *err);
/* Is `v` the own volume of job `job`'s container `in` (judged the site's
 * by jc_policy_own_container), for rm to remove with it, whatever the
 * container's labels claim: the site's, with
 * the container's tenant, run and job labels, the nonce the container's
 * jobcell.volume_nonce names, and not kept?  Else JC_ERR_INPUT, EPERM. */
int jc_policy_job_volume(const struct jc_config *cfg, const char *job,
			 const struct jc_inspect *in, const struct jc_volume *v, jc_error *err);

#endif
