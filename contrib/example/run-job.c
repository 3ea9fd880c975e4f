/* run-job: run one job of a site through libjobcell, the way `jobcell run`
 * does, using nothing but <jobcell.h>.
 *
 *     run-job -c SITE.ini JOB [CMD...]
 *
 * The job's output goes to this program's stdout and stderr; then it prints
 * `exit_status=N` and exits with N (the job's status, 124 on its timeout,
 * 128+N when a signal killed it).  When jobcell itself fails it prints
 * `run-job: error: MESSAGE` and exits 125, 126 or 127, as jobcell(1) does.
 * Build it with the Makefile next to it (pkg-config --cflags --libs jobcell). */
#include <stdio.h>
#include <string.h>

#include <jobcell.h>

static int usage(void)
{
	fputs("usage: run-job -c SITE.ini JOB [CMD...]\n", stderr);
	return 2;
}

/* Report a failure the way jobcell(1) does; frees the error. */
static int failed(jc_error *err)
{
	int status = jc_exit_status_of_error(err);
	fprintf(stderr, "run-job: error: %s\n", err->msg ? err->msg : "unknown error");
	jc_error_clear(err);
	return status;
}

int main(int argc, char **argv)
{
	jc_error err = { 0 };
	struct jc_job_outcome outcome;
	jc_site *site = NULL;
	jc_job *job = NULL;
	int status;

	if (argc < 4 || strcmp(argv[1], "-c") != 0)
		return usage();
	if (jc_site_open(NULL, argv[2], NULL, &site, &err) < 0)
		return failed(&err);
	if (jc_job_new(site, argv[3], &job, &err) < 0) {
		status = failed(&err);
		goto out;
	}
	for (int i = 4; i < argc; i++) {
		if (jc_job_add_arg(job, argv[i], &err) < 0) {
			status = failed(&err);
			goto out;
		}
	}
	if (jc_job_run(job, &outcome, &err) < 0) {
		status = failed(&err);
		goto out;
	}
	if (jc_job_warning(job))
		fprintf(stderr, "run-job: warning: %s\n", jc_job_warning(job));
	printf("exit_status=%d\n", outcome.exit_status);
	status = outcome.exit_status;
out:
	if (job)
		jc_job_free(job);
	jc_site_close(site);
	return status;
}
