/* `jobcell check` (check.c). */
#ifndef JC_CHECK_H
#define JC_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "config.h"

/* The probe's file name, next to jobcell or in $(libexecdir)/jobcell. */
#define JC_PROBE_NAME "jobcell-probe"
/* A row's detail is cut to this many bytes; a line of the probe's report is
 * read only this far. */
#define JC_CHECK_DETAIL_MAX 512
#define JC_CHECK_LINE_MAX   1024

enum jc_check_state {
	JC_CHECK_KEPT,    /* the promise holds */
	JC_CHECK_BROKEN,  /* it does not, or it was not reported */
	JC_CHECK_UNKNOWN, /* it could not be observed */
	JC_CHECK_YES,     /* an engine feature is there */
	JC_CHECK_NO,      /* an engine feature is missing: not a failure by itself */
};

struct jc_check_row {
	char *name; /* "config", "engine", "workspace-root-readonly", ... */
	enum jc_check_state state;
	char *detail; /* printable ASCII only, at most JC_CHECK_DETAIL_MAX (+ "...") */
};

struct jc_check_report {
	struct jc_check_row *rows;
	size_t n;
	size_t ignored;      /* lines of the probe's output that were not report lines */
	bool ended;          /* the probe's last line, "# end", was read */
	char *first_ignored; /* the first line ignored, printable and cut, or NULL */
};

/* "kept", "broken", "unknown", "yes", "no". */
const char *jc_check_state_name(enum jc_check_state s);
/* The promises the probe reports, in the order of the table. */
const char *const *jc_check_promises(size_t *n);
/* Append a row; the detail is made printable and cut.  Returns -1 only when
 * out of memory. */
int jc_check_add(struct jc_check_report *r, const char *name, enum jc_check_state state,
		 jc_error *err, const char *fmt, ...) JC_FORMAT(5, 6);
/* Read the probe's report (`len` bytes, NULs allowed): lines
 * "promise TAB kept|broken|unknown TAB detail"; `#` comments and empty lines
 * are skipped ("# end" sets r->ended), any other line counted in r->ignored.  Appends one row per
 * promise of jc_check_promises, in that order: a promise reported twice
 * gets the worse state, one never reported is broken ("not reported").
 * Returns -1 only when out of memory. */
int jc_check_parse(struct jc_check_report *r, const char *text, size_t len, jc_error *err);
/* No row is broken or unknown. */
bool jc_check_ok(const struct jc_check_report *r);
void jc_check_report_free(struct jc_check_report *r);

/* The capabilities named (cap_add syntax: NAME, CAP_NAME or ALL) as a
 * bit mask of Linux capability numbers. */
int jc_check_cap_mask(const struct jc_strv *caps, uint64_t *mask, jc_error *err);
/* The probe's command, run in the job directory: "./jobcell-probe
 * --mount-point MP --job JOB [--sibling SIBLING] --caps HEX --network NET"
 * where HEX is the mask of the site's cap_add.  Replaces *cmd. */
int jc_check_probe_cmd(const struct jc_config *cfg, const char *job, const char *sibling,
		       struct jc_strv *cmd, jc_error *err);
/* Where helper program `name` is (`what` names it in the error): the
 * directory of `exe` (NULL: this process's executable) when it holds a
 * regular file of that name, else $JOBCELL_LIBEXECDIR when set, else
 * LIBEXECDIR/jobcell.  *dir is the caller's.
 * The probe and the mount gate (mount_gate.h) are found this way. */
int jc_check_helper_dir(const char *exe, const char *name, const char *what, char **dir,
			jc_error *err);
/* The directory holding jobcell-probe, found as above.  Caller frees *dir. */
int jc_check_probe_dir(const char *exe, char **dir, jc_error *err);
/* Rows "engine" (what answers, the API spoken), "engine-subpath" and
 * "engine-create-mountpoint" for a pinged backend, by what it supports. */
int jc_check_engine(struct jc_backend *e, const struct jc_config *cfg,
		    struct jc_check_report *r, jc_error *err);
/* The rows of the site's Slurm keys, from `envp` (environ-style) and the
 * engine: "cgroup-parent" (where containers go, judged against the
 * engine's cgroup driver), "slurm-gpus" (the allocation's GPUs),
 * "slurm-timeout" (what the allocation's end leaves) and
 * "slurm-kill-wait" (stop_grace + stop_margin against kill_wait), each
 * only when its key is set.  Outside a Slurm job the allocation's rows are
 * unknown.  Returns -1 only when out of memory. */
int jc_check_slurm(struct jc_backend *e, const struct jc_config *cfg, char *const *envp,
		   struct jc_check_report *r, jc_error *err);
/* Of those, slurm-timeout and slurm-kill-wait; `in_job`: SLURM_JOB_ID is
 * set. */
int jc_check_slurm_time(const struct jc_config *cfg, char *const *envp, bool in_job,
			struct jc_check_report *r, jc_error *err);
/* Remove `name` beneath `dfd` and everything in it, never following a
 * symlink.  A missing `name` is success. */
int jc_check_remove_tree(int dfd, const char *name, jc_error *err);
/* Remove what check made, `name` beneath `dfd`, after a run that `failed`
 * or not: failing to is an error of its own, or is added to the first one.
 * Returns -1 when the run failed or the removal did. */
int jc_check_remove_made(int dfd, const char *name, bool failed, jc_error *err);

/* ---- the run (check_run.c) ---- */

struct jc_site;
struct jc_check_opts {
	int signal_fd; /* a signalfd that stops the probe, or -1 */
	pid_t parent;  /* the caller's parent: its death stops the probe; 0: none */
};
/* The rows of the engine ("engine", "engine-subpath", ...), then the probe
 * run as a job of the site ("probe" and one row per promise), and where the
 * site allows root, the same again as root ("as-root:..."). */
int jc_check_site(struct jc_site *site, const struct jc_check_opts *o, struct jc_check_report *rep,
		  jc_error *err);

#endif
