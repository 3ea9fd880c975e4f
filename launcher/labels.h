/* The labels jobcell puts on its objects: keys, one builder, one parser
 * (labels.c).  Containers, volumes and transfer containers carry the same
 * set, so gc and every command read them the same way.
 *
 * Every key is set on every object, "" where it has no value: the engine
 * merges an image's labels into a container's, and only a key the create
 * request sets overrides the image's.  So nothing but jobcell sets a key
 * jobcell reads, and the parser reads "" as absent. */
#ifndef JC_LABELS_H
#define JC_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define JC_LABEL_PREFIX     "jobcell."
#define JC_LABEL_MANAGED    "jobcell.managed"    /* "true" on everything jobcell makes */
#define JC_LABEL_SITE       "jobcell.site"       /* the site's name */
#define JC_LABEL_JOB        "jobcell.job"        /* the job's name */
#define JC_LABEL_TENANT     "jobcell.tenant"     /* volume mode */
#define JC_LABEL_RUN        "jobcell.run"        /* volume mode */
#define JC_LABEL_VOLUME     "jobcell.volume"     /* the job's (or transfer's) volume */
#define JC_LABEL_VOLUME_NONCE "jobcell.volume_nonce" /* that volume's jobcell.nonce */
#define JC_LABEL_ROLE       "jobcell.role"       /* "transfer", or none for a job */
#define JC_LABEL_CREATED    "jobcell.created"    /* unix seconds */
#define JC_LABEL_NONCE      "jobcell.nonce"      /* tells this run's object from another */
#define JC_LABEL_SUPERVISOR "jobcell.supervisor" /* the supervising process, for gc */
#define JC_LABEL_KEEP       "jobcell.keep"       /* "true": gc leaves the volume alone */
/* unix seconds after which no supervisor can still want the object: gc
 * removes it then, whoever made it (volume.c, jc_gc_judge) */
#define JC_LABEL_DEADLINE   "jobcell.deadline"
/* How many labels jc_labels_build writes at most. */
#define JC_LABELS_MAX 13

/* A label as a key/value pair. */
struct jc_label {
	char *key;
	char *value;
};

/* jobcell's labels of one object.  Strings are NULL when the label is not
 * there or empty; managed and keep are true only for the value "true".
 * Parsed structs own their strings (jc_labels_free); built ones may
 * borrow. */
struct jc_labels {
	char *site, *job, *tenant, *run, *volume, *volume_nonce, *role, *created, *nonce,
	    *supervisor, *deadline;
	bool managed, keep;
};

/* The labels of `l` as pairs into `out`, always all JC_LABELS_MAX of them
 * in one order: managed, site, job, tenant, run, volume, volume_nonce,
 * role, created, nonce, supervisor, deadline, keep; a NULL string and a false flag
 * are "".  The pairs borrow the key constants and l's strings: nothing to
 * free.  Returns how many. */
size_t jc_labels_build(const struct jc_labels *l, struct jc_label out[JC_LABELS_MAX]);
/* Read jobcell's labels out of `n` pairs into *out (replaced on success).
 * Other keys are ignored; a pair with a NULL value is a label that is there
 * but not a string, and it and "" read as absent; the first pair of a key
 * wins, as the engine's first one does.  Caller frees with
 * jc_labels_free. */
int jc_labels_parse(const struct jc_label *kv, size_t n, struct jc_labels *out, jc_error *err);
void jc_labels_free(struct jc_labels *l);
/* Whether `key` is, in any case, one of the keys jc_labels_build sets: a
 * label that decides what jobcell keeps or removes, which no image may
 * carry. */
bool jc_label_is_own(const char *key);

#endif
