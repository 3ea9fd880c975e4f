#!/bin/sh
# The batch script of tests/integration/slurm.sh's jobs: CMD [ARG...] runs
# in the site's container through contrib/slurm/jobcell-slurm ($JCS_WRAP),
# which execs jobcell: the batch step's process is jobcell itself.
exec "$JCS_WRAP" -- "$@"
