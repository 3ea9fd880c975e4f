#!/usr/bin/env bash
# Benchmark: launching one job, `true`, in the full isolated bind-mode
# layout, four ways, BENCH_RUNS times each (interleaved, after one warm-up
# round), medians of wall time, CPU time and peak RSS:
#   floor    the bare Engine API calls with curl (bench/curl_launch.sh)
#   jobcell  jobcell run
#   docker   docker run --rm with the same mounts and options
#   sdk      Python and the Docker SDK, as a federated launcher does
#            (bench/sdk_launch.py)
# Usage: bench/launch.sh   (settings: bench/lib.sh)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_engine
WS=$TMP/ws
JOB=j
mkdir -p "$WS/startup" "$WS/local" "$WS/$JOB"
chmod 0755 "$WS" "$WS/startup" "$WS/local" "$WS/$JOB"
echo '{}' >"$WS/startup/fed.json"
echo '{}' >"$WS/local/resources.json"
bind_site "$WS"

# the floor sends the very create body jobcell sends
"$JOBCELL" -c "$TMP/site.ini" plan "$JOB" -- true >"$TMP/create.json"

# the docker CLI's flags for what the plan asks (jobcell plan shows it)
DOCKER_ARGS=(run --rm --network none --user 0:0 --workdir "/workspace/$JOB"
	--read-only --cap-drop ALL --security-opt no-new-privileges --pids-limit 512
	--shm-size 64m --stop-timeout 10
	--tmpfs '/workspace:ro,mode=0555,size=1m'
	--mount "type=bind,src=$WS/startup,dst=/workspace/startup,readonly"
	--mount "type=bind,src=$WS/local,dst=/workspace/local,readonly"
	--mount "type=bind,src=$WS/$JOB,dst=/workspace/$JOB"
	--mount 'type=tmpfs,dst=/tmp,tmpfs-size=67108864,tmpfs-mode=1777'
	--label "jobcell-bench=$SITE" "$IMAGE" true)

SDK=1
"$PYTHON" -c 'import docker' 2>/dev/null || SDK=0
[ "$SDK" = 1 ] || say "no Docker SDK for $PYTHON (Debian: python3-docker): its row is skipped"

one() { # CONTENDER FILE
	case $1 in
	floor) measure "$2" "$BENCH/curl_launch.sh" "$SOCK" "$TMP/create.json" "jobcell-$SITE-floor" ;;
	jobcell) measure "$2" "$JOBCELL" -c "$TMP/site.ini" run "$JOB" -- true ;;
	docker) measure "$2" "$DOCKER" "${DOCKER_ARGS[@]}" ;;
	sdk) [ "$SDK" = 0 ] || measure "$2" "$PYTHON" "$BENCH/sdk_launch.py" "$SOCK" "$WS" "$JOB" "$SITE" ;;
	esac
}

WHO=(floor jobcell docker sdk)
say "launch: ${#WHO[@]} ways, 1 + $RUNS runs each"
for ((i = 0; i <= RUNS; i++)); do
	for ((k = 0; k < ${#WHO[@]}; k++)); do # a rotating order: no one always goes first
		w=${WHO[(i + k) % ${#WHO[@]}]}
		if [ "$i" = 0 ]; then one "$w" "$TMP/warmup"; else one "$w" "$TMP/launch.$w"; fi
	done
done

floor=$(median "$TMP/launch.floor" 1)
jc_wall=$(median "$TMP/launch.jobcell" 1)
jc_cpu=$(median "$TMP/launch.jobcell" 6)
jc_rss=$(median "$TMP/launch.jobcell" 4)
dk_wall=$(median "$TMP/launch.docker" 1)
B="launch: bind mode, \`true\`"
row_of "$B" "bare API calls, curl (floor)" "$TMP/launch.floor" "1.00×" "" "" ""
row_of "$B" "jobcell run" "$TMP/launch.jobcell" "$(fmt_x "$jc_wall" "$floor")" "" \
	"wall ≤ 1.05× floor" "$(verdict le "$jc_wall" "$(awk -v f="$floor" 'BEGIN { print f * 1.05 }')")"
row "" "" "" "" "" "" "" "wall < docker CLI" "$(verdict lt "$jc_wall" "$dk_wall")"
row "" "" "" "" "" "" "" "CPU < 5 ms" "$(verdict lt "$jc_cpu" 0.005)"
row "" "" "" "" "" "" "" "peak < 8 MiB" "$(verdict lt "$jc_rss" 8192)"
row_of "$B" "docker run --rm (CLI $("$DOCKER" version -f '{{.Client.Version}}' 2>/dev/null || echo '?'))" \
	"$TMP/launch.docker" "$(fmt_x "$dk_wall" "$floor")" "" "" ""
if [ "$SDK" = 1 ]; then
	row_of "$B" "Docker SDK $("$PYTHON" -c 'import docker; print(docker.__version__)'), Python script" \
		"$TMP/launch.sdk" "$(fmt_x "$(median "$TMP/launch.sdk" 1)" "$floor")" "" "" ""
else
	row "$B" "Docker SDK: not installed" "-" "-" "-" "-" "" "" ""
fi
