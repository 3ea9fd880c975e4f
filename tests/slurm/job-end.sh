#!/bin/sh
# job.sh for a site with [job] timeout_from = slurm: Slurm 22.05 does not
# export the allocation's end, so the batch script asks the controller for
# it (jobcell.ini(5), timeout_from) before it execs the wrapper.
SLURM_JOB_END_TIME=$(SLURM_TIME_FORMAT=%s squeue -h -j "$SLURM_JOB_ID" -o %e) || exit 125
export SLURM_JOB_END_TIME
exec "$JCS_WRAP" -- "$@"
