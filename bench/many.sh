#!/usr/bin/env bash
# Benchmark: many jobs at once, as a workflow worker or a federated site
# runs them.  BENCH_CONC jobs (default 32) of `sleep BENCH_CONC_SLEEP`
# (default 3 s) started together, four ways, BENCH_CONC_RUNS rounds each
# (default 3, a rotating order), medians:
#   jobcell bind    N concurrent `jobcell run` in bind mode
#   jobcell volume  the same in volume mode (a volume and a transfer
#                   container per job; docs/volumes.md)
#   docker CLI      N concurrent `docker run --rm` with bench/launch.sh's options
#   Docker SDK      one Python process, N threads (bench/sdk_many.py)
# Figures: the wall time of the round, jobs per second (N / wall), the CPU
# time of every client process (bench/measure.c over the spawning shell,
# which waits for them all), and the proportional set size (PSS,
# /proc/PID/smaps_rollup) of a client while the jobs run: sampled when the
# most of the round's containers run at once, summed over the live clients
# and divided by their number (the SDK: its one process divided by N).
# Targets: jobcell's jobs per second at least the docker CLI's, its client
# CPU at most half the docker CLI's, under 2 MiB of PSS per waiting
# supervisor.
# Usage: bench/many.sh   (settings: bench/lib.sh)
set -euo pipefail

# --spawn KIND DIR: start the N clients of one round and wait for them all
# (what bench/measure.c measures; not a user's entry point)
if [ "${1:-}" = --spawn ]; then
	kind=$2 dir=$3
	pids=()
	: >"$dir/pids"
	for ((i = 1; i <= MANY_N; i++)); do
		case $kind in
		jobcell-bind) cmd=("$JOBCELL" -c "$dir/site.ini" run "j$i" -- sleep "$MANY_SLEEP") ;;
		jobcell-volume) cmd=("$JOBCELL" -c "$dir/vsite.ini" run "j$i" -- sleep "$MANY_SLEEP") ;;
		docker)
			cmd=("$DOCKER" run --rm --network none --user 0:0 --workdir "/workspace/j$i"
				--read-only --cap-drop ALL --security-opt no-new-privileges
				--pids-limit 512 --shm-size 64m --stop-timeout 10
				--tmpfs '/workspace:ro,mode=0555,size=1m'
				--mount "type=bind,src=$dir/ws/startup,dst=/workspace/startup,readonly"
				--mount "type=bind,src=$dir/ws/local,dst=/workspace/local,readonly"
				--mount "type=bind,src=$dir/ws/j$i,dst=/workspace/j$i"
				--mount 'type=tmpfs,dst=/tmp,tmpfs-size=67108864,tmpfs-mode=1777'
				--label "jobcell-bench=$MANY_SITE" "$MANY_IMAGE" sleep "$MANY_SLEEP")
			;;
		esac
		# a simple command: $! is the client's own pid, not a subshell's
		"${cmd[@]}" >/dev/null 2>"$dir/err.$i" </dev/null &
		pids+=($!)
		echo $! >>"$dir/pids"
	done
	rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	exit $rc
fi

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_engine
N=${BENCH_CONC:-32}
SLEEP=${BENCH_CONC_SLEEP:-3}
ROUNDS=${BENCH_CONC_RUNS:-3}
export MANY_N=$N MANY_SLEEP=$SLEEP MANY_SITE=$SITE MANY_IMAGE=$IMAGE JOBCELL DOCKER

WS=$TMP/ws
mkdir -p "$WS/startup" "$WS/local"
for ((i = 1; i <= N; i++)); do mkdir -p "$WS/j$i"; done
chmod -R 0755 "$WS"
bind_site "$WS"
mkdir -p "$TMP/xfer"
volume_site "$TMP/xfer"

SDK=1
"$PYTHON" -c 'import docker' 2>/dev/null || SDK=0
[ "$SDK" = 1 ] || say "no Docker SDK for $PYTHON (Debian: python3-docker): its row is skipped"

# running LABEL: how many containers with that label run now
running() {
	{ req "http://localhost/containers/json?filters=$(label_filter "$1")" 2>/dev/null || :; } |
		{ grep -o '"State":"running"' || :; } | wc -l
}

# pss_of PIDFILE: "LIVE_PROCESSES TOTAL_KIB" of the pids listed
pss_of() {
	local p n=0 t=0 k
	while read -r p; do
		k=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[ -n "$k" ] || continue
		n=$((n + 1)) t=$((t + k))
	done <"$1"
	echo "$n $t"
}

# one KIND FILE: one round; appends to FILE measure's line, and to
# FILE.pss "LIVE TOTAL_KIB" at the round's fullest moment
one() {
	local kind=$1 file=$2 label="jobcell.site=$SITE" best=-1 now sample="0 0" m
	local dir=$TMP
	case $kind in docker | sdk) label="jobcell-bench=$SITE" ;; esac
	rm -f "$dir/pids"
	case $kind in
	sdk) "$MEASURE" "$file" "$PYTHON" "$BENCH/sdk_many.py" "$SOCK" "$WS" "$SITE" "$N" "$SLEEP" \
		"$dir/pids" >"$TMP/last.out" 2>&1 & ;;
	*) "$MEASURE" "$file" bash "$BENCH/many.sh" --spawn "$kind" "$dir" >"$TMP/last.out" 2>&1 & ;;
	esac
	m=$!
	while kill -0 "$m" 2>/dev/null; do
		now=$(running "$label")
		if [ "$now" -gt "$best" ] && [ -s "$dir/pids" ]; then
			best=$now
			sample=$(pss_of "$dir/pids")
		fi
		sleep 0.2
	done
	if ! wait "$m"; then
		say "failed: $kind round"
		cat "$TMP/last.out" "$dir"/err.* 2>/dev/null | sort | uniq -c | sed 's/^/    /' >&2
		return 1
	fi
	echo "$best $sample" >>"$file.pss"
}

WHO=(jobcell-bind jobcell-volume docker)
[ "$SDK" = 0 ] || WHO+=(sdk)
say "many at once: $N jobs of sleep $SLEEP, ${#WHO[@]} ways, $ROUNDS rounds each"
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < ${#WHO[@]}; k++)); do
		w=${WHO[(r + k) % ${#WHO[@]}]}
		rm -f "$TMP"/err.*
		one "$w" "$TMP/many.$w"
	done
done

# per KIND: wall, CPU, jobs/s, PSS per client (KiB; the SDK: per job)
wall_of() { median "$TMP/many.$1" 1; }
cpu_of() { median "$TMP/many.$1" 6; }
jps_of() { awk -v n="$N" -v w="$(wall_of "$1")" 'BEGIN { printf "%.2f", n / w }'; }
pss_per() {
	awk -v sdk="$([ "$1" = sdk ] && echo "$N" || echo 0)" '{
		v = sdk ? $3 / sdk : ($2 > 0 ? $3 / $2 : 0); print v }' "$TMP/many.$1.pss" |
		sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'
}
most_of() { awk '{ print $1 }' "$TMP/many.$1.pss" | sort -n | tail -1; }

dk_jps=$(jps_of docker)
dk_cpu=$(cpu_of docker)
B="many at once: $N × \`sleep $SLEEP\`"
for w in "${WHO[@]}"; do
	case $w in
	jobcell-bind) name="jobcell run ×$N, bind mode" ;;
	jobcell-volume) name="jobcell run ×$N, volume mode" ;;
	docker) name="docker run --rm ×$N" ;;
	sdk) name="Docker SDK, $N threads, 1 process" ;;
	esac
	pss=$(pss_per "$w")
	other="$(jps_of "$w") jobs/s; $(fmt_mib "$pss") PSS each, $(most_of "$w") running at most"
	row "$B" "$name" "$(fmt_s "$(wall_of "$w")")" "$(fmt_ms "$(cpu_of "$w")")" \
		"$(fmt_mib "$(median "$TMP/many.$w" 4)")" "$(fmt_x "$(wall_of "$w")" "$(wall_of docker)")" \
		"$other" "" ""
	key=${w//-/_}
	result "many_jobs_per_s_$key" "$(jps_of "$w")"
	result "many_cpu_s_$key" "$(cpu_of "$w")"
	result "many_pss_kib_$key" "$pss"
	case $w in
	jobcell-*)
		row "" "" "" "" "" "" "" "jobs/s ≥ docker CLI's" "$(verdict le "$dk_jps" "$(jps_of "$w")")"
		row "" "" "" "" "" "" "" "CPU ≤ ½ docker CLI's" \
			"$(verdict le "$(cpu_of "$w")" "$(awk -v c="$dk_cpu" 'BEGIN { print c / 2 }')")"
		row "" "" "" "" "" "" "" "PSS < 2 MiB each" "$(verdict lt "$pss" 2048)"
		;;
	esac
done
note "many at once: vs ref is wall time against the docker CLI's; CPU is that of all $N clients"
