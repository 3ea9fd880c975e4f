#!/usr/bin/env bash
# `make bench`: every benchmark, then one table side by side.
#   launch.sh        a job launch: curl floor, jobcell, docker CLI, Docker SDK
#   roundtrip.sh     three small files through a volume: jobcell, helper containers
#   volume.sh        one large file into a volume and out: jobcell, docker cp
#   instructions.sh  jobcell's own work against the fake engine, with callgrind,
#                    and the engine calls of one launch
#   many.sh          N jobs at once: jobcell (bind, volume), docker CLI, Docker SDK
#   idle.sh          a supervisor waiting on a sleeping job: wake-ups, CPU
# Then the targets of issue 16, each beside its figure (bench/targets.sh).
# Each figure is a median (BENCH_RUNS, default 15; BENCH_BIG_RUNS, default 5,
# for the large file of BENCH_MIB MiB, default 1024).  Targets are reported,
# met or not; a missed one does not fail the run, a failed command does.
# BENCH_ONLY="launch roundtrip" runs some of them.  Settings: bench/lib.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
export BENCH_OUT BENCH_RESULTS=$BENCH_OUT.results
OWN_OUT=0 # the table is printed here, not by the cleanup

need_engine
start=$(date +%s)
for b in ${BENCH_ONLY:-launch roundtrip volume instructions many idle}; do
	[ -x "$BENCH/$b.sh" ] || die "no benchmark $b"
	"$BENCH/$b.sh"
done

engine=$(req http://localhost/version | sed -n 's/.*"Version":"\([^"]*\)".*"ApiVersion":"\([^"]*\)".*/\1 (API \2)/p')
printf '\njobcell bench, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf 'engine %s on %s; %s; %s CPUs; load %s\n' "${engine:-?}" "$SOCK" \
	"$(uname -sr)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'medians of %s runs (large file: %s of %s MiB); CPU is user+sys of the process\n' \
	"$RUNS" "$BIG_RUNS" "$MIB"
printf 'tree, peak RSS that of its largest process (bench/measure.c); vs ref: wall time\n'
printf 'against the first row of the bench\n\n'
print_table "$BENCH_OUT"
[ ! -s "$BENCH_OUT.notes" ] || { echo; cat "$BENCH_OUT.notes"; }
printf '\nEarlier on this kind of machine: docker CLI 0.25 s, 21 ms, 24 MiB; Docker SDK\n'
printf 'script 0.53 s, 300 ms, 41 MiB; bare calls 0.25 s; helper round trip 1.5 s.\n\n'
"$BENCH/targets.sh" "$BENCH_RESULTS"
printf 'bench took %d s\n' $(($(date +%s) - start))
