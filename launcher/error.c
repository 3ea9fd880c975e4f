/* The error contract (docs/error-handling.md): one jc_error per failing call
 * chain, set once at the failure and wrapped with context on the way up. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static const char oom_msg[] = "out of memory";

static char *vformat(const char *fmt, va_list ap) JC_FORMAT(1, 0);
static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void free_msg(jc_error *err)
{
	if (err->msg != oom_msg)
		free(err->msg);
	err->msg = NULL;
}

int jc_error_set(jc_error *err, enum jc_error_kind kind, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!err)
		return -1;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	free_msg(err);
	err->kind = kind;
	err->status = status;
	err->retry = false;
	/* the static text is never freed: out of memory must still be reportable */
	err->msg = msg ? msg : (char *)oom_msg;
	return -1;
}

int jc_error_wrap(jc_error *err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *msg = NULL;

	if (!err || !err->msg)
		return -1;
	va_start(ap, fmt);
	ctx = vformat(fmt, ap);
	va_end(ap);
	if (ctx && asprintf(&msg, "%s: %s", ctx, err->msg) >= 0) {
		free_msg(err);
		err->msg = msg;
	}
	free(ctx);
	return -1;
}

int jc_error_oom(jc_error *err)
{
	return jc_error_set(err, JC_ERR_SYSTEM, ENOMEM, "%s", oom_msg);
}

void jc_error_clear(jc_error *err)
{
	if (!err)
		return;
	free_msg(err);
	err->kind = JC_ERR_NONE;
	err->status = 0;
	err->retry = false;
}

const char *jc_error_kind_name(enum jc_error_kind kind)
{
	switch (kind) {
	case JC_ERR_NONE:
		return "none";
	case JC_ERR_CONFIG:
		return "config";
	case JC_ERR_INPUT:
		return "input";
	case JC_ERR_WORKSPACE:
		return "workspace";
	case JC_ERR_ENGINE:
		return "engine";
	case JC_ERR_SYSTEM:
		return "system";
	case JC_ERR_CMD_NOT_FOUND:
	case JC_ERR_CMD_NOT_EXEC:
		return "command";
	}
	return "unknown";
}

int jc_exit_status_of_error(const jc_error *err)
{
	switch (err->kind) {
	case JC_ERR_CMD_NOT_FOUND:
		return JC_EXIT_NOTFOUND;
	case JC_ERR_CMD_NOT_EXEC:
		return JC_EXIT_NOEXEC;
	case JC_ERR_NONE:
	case JC_ERR_CONFIG:
	case JC_ERR_INPUT:
	case JC_ERR_WORKSPACE:
	case JC_ERR_ENGINE:
	case JC_ERR_SYSTEM:
		break;
	}
	return JC_EXIT_JOBCELL;
}

int jc_exit_status_of_outcome(int job_status, bool timed_out)
{
	return timed_out ? JC_EXIT_TIMEOUT : job_status;
}

const char *jc_version(void)
{
	return JC_VERSION;
}
