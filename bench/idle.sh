#!/usr/bin/env bash
# Benchmark: what a supervisor costs while its job sleeps.  One `jobcell
# run` of `sleep`, in bind mode; once the job runs, BENCH_IDLE_S seconds
# (default 120; the issue's figure is ten minutes: BENCH_IDLE_S=600) of its
# waiting are watched, from outside (nothing attaches to it):
#   wake-ups   the seconds in which it woke: its voluntary context switches,
#              read every second, went up (one wake-up may be several
#              switches, e.g. the look at the container and its answer)
#   switches   voluntary context switches of all its threads (/proc)
#   CPU        user + system time of all its threads (/proc/PID/task/*/stat)
#   PSS        its proportional set size (/proc/PID/smaps_rollup)
# Target: at most one wake-up per engine timeout ([engine] timeout, 30 s by
# default), rounded up, plus one.
# Usage: bench/idle.sh   (settings: bench/lib.sh)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_engine
IDLE=${BENCH_IDLE_S:-120}
ENGINE_TIMEOUT=30 # jobcell.ini(5): [engine] timeout's default, which the site keeps
WS=$TMP/ws
mkdir -p "$WS/startup" "$WS/local" "$WS/j"
chmod 0755 "$WS" "$WS/startup" "$WS/local" "$WS/j"
bind_site "$WS"

# clock ticks of user + system time of every thread of PID
ticks() { cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{ sub(/.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'; }

say "idle: one job sleeping, its supervisor watched for ${IDLE}s"
"$JOBCELL" -c "$TMP/site.ini" run j -- sleep $((IDLE + 30)) </dev/null >"$TMP/idle.out" 2>&1 &
pid=$!
# `sleep` as the container's first process ignores SIGTERM: a second
# signal has jobcell kill it at once
stop_run() {
	kill -TERM "$pid" 2>/dev/null || return 0
	sleep 0.5
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}
CLEANUP_HOOKS+=(stop_run)
# running: the container is up and the supervisor settled into its wait
for ((i = 0; i < 100; i++)); do
	[ -n "$(req "http://localhost/containers/json?filters=$(label_filter "jobcell.site=$SITE")" |
		grep -o '"State":"running"')" ] && break
	sleep 0.1
done
[ "$i" -lt 100 ] || die "the idle job did not start: $(cat "$TMP/idle.out")"
sleep 2
hz=$(getconf CLK_TCK)
t0=$(ticks "$pid")
s0=$(switches "$pid")
wakes=0 last=$s0
for ((i = 0; i < IDLE; i++)); do
	sleep 1
	now=$(switches "$pid")
	[ "$now" = "$last" ] || wakes=$((wakes + 1))
	last=$now
done
t1=$(ticks "$pid")
s1=$(switches "$pid")
pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
kill -0 "$pid" 2>/dev/null || die "the supervisor ended early: $(cat "$TMP/idle.out")"
stop_run
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.6f", (b - a) / hz }')
allowed=$(((IDLE + ENGINE_TIMEOUT - 1) / ENGINE_TIMEOUT + 1))
row "idle supervisor: ${IDLE} s of \`sleep\`" "jobcell run (bind mode)" "-" "$(fmt_ms "$cpu")" \
	"$(fmt_mib "$pss") PSS" "" "$wakes wake-ups, $((s1 - s0)) switches" \
	"wake-ups ≤ $allowed (1 per ${ENGINE_TIMEOUT} s + 1)" "$(verdict le "$wakes" "$allowed")"
result idle_wakeups "$wakes"
result idle_allowed "$allowed"
result idle_seconds "$IDLE"
note "idle supervisor: over ${IDLE} s, it woke in $wakes of the seconds, $((s1 - s0))" \
	"voluntary context switches, $(fmt_ms "$cpu") of CPU (clock ticks of 1/$hz s)"
