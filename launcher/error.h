/* The error contract (docs/error-handling.md): setting and wrapping errors;
 * the type itself is public (jobcell.h). */
#ifndef JC_ERROR_H
#define JC_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jobcell.h>

#define JC_FORMAT(a, b) __attribute__((format(printf, a, b)))

/* Replace whatever `err` held.  Always returns -1 so callers can
 * `return jc_error_set(...)`. */
int jc_error_set(jc_error *err, enum jc_error_kind kind, int status, const char *fmt, ...)
    JC_FORMAT(4, 5);
/* Prefix the message with context: "ctx: old message".  Returns -1. */
int jc_error_wrap(jc_error *err, const char *fmt, ...) JC_FORMAT(2, 3);
/* Shorthand for an allocation failure. */
int jc_error_oom(jc_error *err);

/* The exit status of a job that ran: 124 when the wall clock stopped it,
 * else its own status (the engine reports 128+N for a signal N). */
int jc_exit_status_of_outcome(int job_status, bool timed_out);

#endif
