#!/usr/bin/env bash
# Stress run of build/jobcell against real engines (`make stress`, issue 5).
# It reports counts, not just pass or fail:
#  1. per engine, STRESS_SEQ sequential then STRESS_CONC concurrent `jobcell
#     run` jobs, bind and volume mode alternating (volume jobs send an
#     --input and fetch an --output); a seeded random share of their
#     supervisors gets SIGTERM or SIGKILL mid-run.  Each exit status is
#     classified against jobcell(1) and counted.
#  2. what is left by label before `jobcell gc` (the SIGKILL'd supervisors'
#     containers and volumes, and nothing else), gc, then what is left after
#     it: must be zero.
#  3. an engine stopped in the middle of a job (a private Podman service and
#     a private --live-restore dockerd, both started here: the shared
#     engines are never stopped): one error line and 125 within the
#     timeouts, then, with the engine back, gc leaves zero.  Then the same
#     engine frozen (SIGSTOP) and the supervisor sent SIGTERM: every engine
#     call now times out, and jobcell must still end, 125, within
#     stop_grace + 3 x [engine] timeout (kill, give up, forced removal).
#  4. what only gc can collect, per engine: runs whose supervisors are
#     SIGKILLed inside pid namespaces of their own (unshare), bind and volume
#     mode alternating, and `start`s left running.  With a deadline an hour
#     away, gc keeps them all and gc --others-gone leaves zero; with a
#     deadline seconds away, gc past it leaves zero.
# Environment (defaults in brackets):
#   ENGINE            docker, podman or all [all]: where phases 1-2 run
#   STRESS_SEQ        sequential jobs per engine [200]
#   STRESS_CONC       concurrent jobs per engine [32]
#   STRESS_SEED       seed of the plan (printed; the same seed, the same plan)
#   STRESS_SIGNAL_PCT share of supervisors signalled, in percent [33]
#   STRESS_PODMAN_SERVICE  private or shared [private]: phases 1-2 on Podman
#                     run against a `podman system service` of this run,
#                     started as bootstrap.sh starts the shared one (same
#                     binary, configuration and storage), or against the
#                     shared /run/jobcell-podman.sock.  Should Podman 4.3
#                     wedge all the same (podman#20313: jobcell serialises
#                     the creates it concerns), a private service is killed
#                     and restarted, and the shared one is not left wedged
#                     for everyone else; the run fails either way.
#   STRESS_RESTART    private engines to stop mid-job: "podman docker", one, or
#                     none [those of ENGINE]
#   STRESS_JOB_BOUND  seconds one jobcell run may take before it counts as
#                     hung and is killed [60]
#   STRESS_LOAD_ENGINE_TIMEOUT  [engine] timeout of phases 1-2, seconds [30,
#                     jobcell's default: 5 s is too short for 32 starts at
#                     once on a busy two-CPU Docker, which then answers late]
#   STRESS_ENGINE_TIMEOUT  [engine] timeout of phase 3, seconds [5]
#   STRESS_GC_JOBS    jobs of each kind in phase 4 [4]
#   STRESS_PHASES     which phases run: any of load (1-2), restart (3) and
#                     gc (4) [load restart gc]
# Exit status: 0 when every count is as documented, 1 otherwise.
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
set -euo pipefail

SEQ=${STRESS_SEQ:-200}
CONC=${STRESS_CONC:-32}
SEED=${STRESS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
PCT=${STRESS_SIGNAL_PCT:-33}
JOB_BOUND=${STRESS_JOB_BOUND:-60}
LOAD_ETO=${STRESS_LOAD_ENGINE_TIMEOUT:-30}
ETO=${STRESS_ENGINE_TIMEOUT:-5}
GC_JOBS=${STRESS_GC_JOBS:-4}
read -r -a PHASES <<<"${STRESS_PHASES:-load restart gc}"
for p in "${PHASES[@]}"; do
	case $p in load | restart | gc) ;; *)
		echo "stress: STRESS_PHASES: unknown phase \`$p\` (load, restart, gc)" >&2 && exit 2 ;;
	esac
done
phase() { [[ " ${PHASES[*]} " == *" $1 "* ]]; }
GRACE=2 # [job] stop_grace, seconds
DOCKER_SOCK=${STRESS_DOCKER_SOCKET:-/var/run/docker.sock}
PODMAN_SOCK=${JOBCELL_PODMAN_SOCKET:-/run/jobcell-podman.sock}
PODMAN_SERVICE=${STRESS_PODMAN_SERVICE:-private}
case $PODMAN_SERVICE in private | shared) ;; *)
	echo "stress: STRESS_PODMAN_SERVICE must be private or shared" >&2 && exit 2 ;;
esac
PODMAN_CONF=$ROOT/contrib/podman/containers.conf # what bootstrap.sh gives its service
IMAGE=jobcell-test/nonroot:latest
case ${ENGINE:-all} in
all) ENGINES=(docker podman) ;;
docker | podman) ENGINES=("$ENGINE") ;;
*) echo "stress: ENGINE must be docker, podman or all, not \`$ENGINE\`" >&2 && exit 2 ;;
esac
read -r -a RESTARTS <<<"${STRESS_RESTART:-${ENGINES[*]}}"
[ "${RESTARTS[*]}" = none ] && RESTARTS=()
for n in "$SEQ" "$CONC" "$SEED" "$PCT" "$JOB_BOUND" "$LOAD_ETO" "$ETO" "$GC_JOBS"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "stress: \`$n\` is not a whole number" >&2 && exit 2; }
done
STAMP=st$(date +%s)p$$ # site names: unique per run, so leftovers are attributable
TOKEN=token-$STAMP     # what the volume jobs' --input holds
BAD=()                 # one line per count that is not as documented
USED_SOCKS=()          # engines this run made sites on (for the cleanup)
ALL_SITES=()
PRIV_PODMAN_PID='' PRIV_DOCKERD_PID='' EV_PID=''
JOB_PIDS=() # the concurrent phase's job runners (subshells)
NS_WRAPS=() # phase 4's unshare processes
mkdir -p "$TMP/pids" # one file per jobcell running, its pid (for the cleanup)
PRIV_PODMAN_SOCK=$TMP/podman.sock
PD=$TMP/dockerd # the private dockerd's directory
PRIV_DOCKER_SOCK=$PD/docker.sock

say() { printf '%s\n' "$*"; }
bad() { BAD+=("$*"); say "  UNEXPECTED: $*"; }
now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.2f", b - a }'; }

# ---- engine queries ----
# A listing the engine does not answer (in 20 s) or refuses is not a count of
# zero: n_ctrs and n_vols then print `?`, which every check takes as a
# failure.
# url-encoded {"label":["K=V"]}: one label only -- Podman 4.3 ORs several
# label filters on /volumes where Docker ANDs them
label_filter() { printf '%s' "%7B%22label%22%3A%5B%22${1/=/%3D}%22%5D%7D"; }
api_get() { curl -fsS --max-time 20 --unix-socket "$SOCK" "http://localhost$1" 2>/dev/null; }
ctr_list() { api_get "/containers/json?all=1&filters=$(label_filter "jobcell.site=$1")"; }
vol_list() { api_get "/volumes?filters=$(label_filter "$1")"; }
ctr_ids() { ctr_list "$1" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4 || true; }
vol_names() { vol_list "$1" | grep -o '"Name":"[^"]*"' | cut -d'"' -f4 | sort -u || true; }
n_ctrs() {
	local l
	l=$(ctr_list "$1") || { echo '?' && return 0; }
	grep -o '"Id":"[0-9a-f]*"' <<<"$l" | grep -c . || true
}
n_vols() {
	local l
	l=$(vol_list "jobcell.site=$1") || { echo '?' && return 0; }
	grep -o '"Name":"[^"]*"' <<<"$l" | sort -u | grep -c . || true
}
# the jobcell.job labels of a site's leftovers, sorted (`?` when unanswered)
ctr_jobs() {
	local l
	l=$(ctr_list "$1") || { echo '?' && return 0; }
	grep -o '"jobcell.job":"[^"]*"' <<<"$l" | cut -d'"' -f4 | sort || true
}
vol_jobs() {
	local l
	l=$(vol_list "jobcell.site=$1") || { echo '?' && return 0; }
	grep -o '"jobcell.job":"[^"]*"' <<<"$l" | cut -d'"' -f4 | sort || true
}
# lists SOCK: the engine answers a listing of all its containers (20 s) --
# a deadlocked Podman still answers /_ping
lists() { local SOCK=$1; api_get '/containers/json?all=1' >/dev/null; }
# settle SITE: wait until SITE's containers (ids and states) have not changed
# for 2 s, 30 s at most.  A thawed engine works off the requests that were
# sent to it while it was frozen (jobcell's kill and forced removal); its
# list says "running" until such a removal is done, and a gc in between
# gets 409 "removal ... is already in progress".
settle() {
	local i same=0 last='' cur
	for ((i = 0; i < 120 && same < 8; i++)); do
		cur=$({ ctr_list "$1" || echo unanswered; } | grep -o '"Id":"[0-9a-f]*"\|"State":"[a-z]*"\|unanswered' || true)
		if [ "$cur" = "$last" ]; then same=$((same + 1)); else same=0 last=$cur; fi
		sleep 0.25
	done
}
pinged() { curl -fsS --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }
await_ping() { # SOCK SECONDS
	local i
	for ((i = 0; i < $2 * 10; i++)); do pinged "$1" && return 0; sleep 0.1; done
	return 1
}
# running_or_gone CONTAINER PID: 0 once the engine says the container runs,
# 1 when PID is gone first or after 20 s
running_or_gone() {
	local i s
	for ((i = 0; i < 400; i++)); do
		s=$(engine_get "/containers/$1/json" 2>/dev/null || true)
		[[ $s == *'"Running":true'* ]] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# ---- cleanup: whatever is labelled with this run's sites, on every engine ----
purge_site() { # SOCK SITE
	local SOCK=$1 id v
	pinged "$SOCK" || return 0
	for id in $(ctr_ids "$2"); do
		say "cleanup: removing container $id of site $2"
		engine_req DELETE "/containers/$id?force=1" >/dev/null 2>&1 || true
	done
	for v in $(vol_names "jobcell.site=$2") $(vol_names "jobcell-stress.site=$2"); do
		engine_req DELETE "/volumes/$v?force=1" >/dev/null 2>&1 || true
	done
}
stop_pid() { # PID SECONDS: SIGTERM, then SIGKILL when it is still there
	[ -n "$1" ] || return 0
	{ # (stderr: bash's notice of an engine killed by SIGKILL)
		kill -CONT "$1" || true # a frozen engine would not act on it
		kill -TERM "$1" || true
		wait_gone "$1" "$2" || { kill -KILL "$1" || true; wait_gone "$1" 10 || true; }
		wait "$1" || true
	} 2>/dev/null
}
stop_private_dockerd() {
	local f pid m
	stop_pid "$PRIV_DOCKERD_PID" 60
	PRIV_DOCKERD_PID=''
	[ -d "$PD" ] || return 0
	# shims of its containers (none once its containers are removed): by pid
	for f in /proc/[0-9]*/cmdline; do
		if grep -qsF -- "$PD/exec" "$f"; then
			pid=${f#/proc/} && pid=${pid%/cmdline}
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	# dockerd bind-mounts its data root onto itself: undo that, deepest first
	awk -v p="$PD/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
# stop_jobcells: an interrupted run's jobcells get SIGTERM, as from their
# caller, and 30 s to stop their jobs and remove what they made; only pids
# whose command line names this run's directory
stop_jobcells() {
	local f pid i
	local -a live=()
	for f in "$TMP"/pids/*; do
		[ -e "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		if [[ $pid =~ ^[0-9]+$ ]] && grep -qsF -- "$TMP/" "/proc/$pid/cmdline"; then
			kill -TERM "$pid" 2>/dev/null && live+=("$pid")
		fi
	done
	for ((i = 0; i < 300 && ${#live[@]} > 0; i++)); do
		local -a still=()
		for pid in "${live[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
		live=(${still[@]+"${still[@]}"})
		sleep 0.1
	done
	for pid in ${JOB_PIDS[@]+"${JOB_PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null; done
}
stress_cleanup() {
	set +e
	trap '' PIPE # a reader that went away (| head) must not cut the cleanup short
	local s sock
	[ -z "$EV_PID" ] || kill "$EV_PID" 2>/dev/null
	# a frozen private engine is thawed first, so that its jobs can end
	[ -z "$PRIV_PODMAN_PID" ] || kill -CONT "$PRIV_PODMAN_PID" 2>/dev/null
	[ -z "$PRIV_DOCKERD_PID" ] || kill -CONT "$PRIV_DOCKERD_PID" 2>/dev/null
	stop_jobcells
	for s in ${NS_WRAPS[@]+"${NS_WRAPS[@]}"}; do kill -KILL "$s" 2>/dev/null; done
	for s in "${ALL_SITES[@]}"; do
		for sock in "${USED_SOCKS[@]}"; do purge_site "$sock" "$s"; done
	done
	stop_pid "$PRIV_PODMAN_PID" 30
	stop_private_dockerd
	cleanup_all # lib.sh: its SITES is empty; removes $TMP
}
trap stress_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# ---- sites ----
# make_sites NAME SOCK ENGINE_TIMEOUT: $TMP/NAME.bind.ini and
# $TMP/NAME.vol.ini, one site name for both (job names differ), with a
# workspace, a transfer_dir holding in.txt, and the two site volumes on SOCK
make_sites() {
	local name=$1 SOCK=$2 v
	local d=$TMP/$name
	ALL_SITES+=("$name")
	USED_SOCKS+=("$SOCK")
	mkdir -p "$d/ws/startup" "$d/ws/local" "$d/xfer/out"
	chmod 0755 "$d" "$d/ws"
	echo "startup-$name" >"$d/ws/startup/fed.json"
	printf '%s\n' "$TOKEN" >"$d/xfer/in.txt"
	chmod 0644 "$d/ws/startup/fed.json" "$d/xfer/in.txt"
	for v in "$name-startup" "$name-local"; do
		engine_json POST /volumes/create \
			"{\"Name\":\"$v\",\"Labels\":{\"jobcell-stress.site\":\"$name\"}}" >/dev/null
	done
	local common
	common=$(printf '[engine]\nendpoint = unix://%s\ntimeout = %ss\n[site]\nname = %s\n' \
		"$SOCK" "$3" "$name")
	local job
	job=$(printf '[job]\nimage = %s\nstop_grace = %ss\ntimeout = 30s\n' "$IMAGE" "$GRACE")
	printf '%s\n[workspace]\npath = %s\n%s\n' "$common" "$d/ws" "$job" >"$TMP/$name.bind.ini"
	printf '%s\n[workspace]\nmode = volume\n[volume]\nstartup_volume = %s\nlocal_volume = %s\ntransfer_dir = %s\n%s\n' \
		"$common" "$name-startup" "$name-local" "$d/xfer" "$job" >"$TMP/$name.vol.ini"
}

# The job: a shell that ends with status 143 on SIGTERM (as PID 1 it would
# otherwise ignore it), checks what it was given, sleeps $1 and exits $2.
# shellcheck disable=SC2016 # expanded by the job's shell
BIND_SH='trap "exit 143" TERM; [ -s /workspace/startup/fed.json ] || exit 98; sleep "$1" & wait $!; echo done >done.txt; exit "$2"'
# shellcheck disable=SC2016
VOL_SH='trap "exit 143" TERM; [ "$(cat in.txt)" = "$3" ] || exit 99; sleep "$1" & wait $!; echo done >done.txt; exit "$2"'

# ---- the plan: drawn from the seed, the same for each engine ----
# P_MODE bind|volume, P_DUR seconds, P_EXIT the job's status, P_SIG
# none|TERM|KILL, P_DELAY seconds after the container is seen running
EXITS=(0 1 3 42)
make_plan() { # N
	local i tenths
	P_MODE=() P_DUR=() P_EXIT=() P_SIG=() P_DELAY=()
	for ((i = 0; i < $1; i++)); do
		if ((i % 2)); then P_MODE+=(volume); else P_MODE+=(bind); fi
		tenths=$((5 + RANDOM % 16)) # 0.5 .. 2.0 s
		P_DUR+=("$((tenths / 10)).$((tenths % 10))")
		P_EXIT+=("${EXITS[RANDOM % 4]}")
		if ((RANDOM % 100 < PCT)); then
			if ((RANDOM % 2)); then P_SIG+=(TERM); else P_SIG+=(KILL); fi
		else
			P_SIG+=(none)
		fi
		# 10 % .. 60 % of the sleep, in ms
		local ms=$((tenths * (10 + RANDOM % 51)))
		P_DELAY+=("$((ms / 1000)).$(printf '%03d' $((ms % 1000)))")
	done
}

# run_job DIR SITE IDX PREFIX: run job IDX of the plan under its supervisor,
# signal it as planned, and write DIR/IDX.res:
#   idx job mode sig sent dur want rc secs errors warnings note output json
# (json: the exit_code of the --status-fd record, - when there is none)
run_job() {
	local dir=$1 site=$2 i=$3 job=$4$3 mode=${P_MODE[$3]} sig=${P_SIG[$3]}
	local dur=${P_DUR[$3]} want=${P_EXIT[$3]} sent=0 pid rc t0 errs warns note out=- json
	local -a args
	if [ "$mode" = volume ]; then
		args=(-c "$TMP/$site.vol.ini" --status-fd 3 run "$job" --input in.txt --output "out/$job" --
			sh -c "$VOL_SH" job "$dur" "$want" "$TOKEN")
	else
		args=(-c "$TMP/$site.bind.ini" --status-fd 3 run "$job" -- sh -c "$BIND_SH" job "$dur" "$want")
	fi
	t0=$(now)
	"$JOBCELL" "${args[@]}" >"$dir/$job.out" 2>"$dir/$job.err" 3>"$dir/$job.rec" </dev/null &
	pid=$!
	printf '%s\n' "$pid" >"$TMP/pids/$site-$job"
	# (stderr: bash's notice of a supervisor killed by a signal is not ours to show)
	{
		if [ "$sig" != none ] && running_or_gone "jobcell-$site-$job" "$pid"; then
			sleep "${P_DELAY[$i]}"
			kill "-$sig" "$pid" && sent=1
		fi
		if wait_gone "$pid" "$JOB_BOUND"; then
			rc=0
			wait "$pid" || rc=$?
		else
			kill -KILL "$pid" || true
			wait "$pid" || true
			rc=hung
		fi
	} 2>/dev/null
	rm -f "$TMP/pids/$site-$job"
	errs=$(grep -c '^jobcell: error: ' "$dir/$job.err" || true)
	warns=$(grep -c '^jobcell: warning: ' "$dir/$job.err" || true)
	note=$(grep -c "^jobcell: got Terminated: job \`$job\` was stopped" "$dir/$job.err" || true)
	if [ "$mode" = volume ] && [ "$rc" != 137 ] && [ "$rc" != 125 ] && [ "$rc" != hung ]; then
		out=bad # the input comes back; done.txt when the job ran to its end
		if [ "$(cat "$TMP/$site/xfer/out/$job/in.txt" 2>/dev/null)" = "$TOKEN" ] &&
			{ [ "$rc" != "$want" ] || [ -e "$TMP/$site/xfer/out/$job/done.txt" ]; }; then
			out=ok
		fi
	fi
	json=$(grep -o '"exit_code":[0-9]*' "$dir/$job.rec" | tail -1 | cut -d: -f2 || true)
	printf '%s\n' "$i $job $mode $sig $sent $dur $want $rc $(since "$t0") $errs $warns $note $out ${json:--}" \
		>"$dir/$i.res"
}

# events_start SITE FILE / events_stop: the engine's container events of
# SITE, recorded while a phase runs.  Each `die` event carries the status the
# engine saw (exitCode): what jobcell reports is checked against it.
events_start() {
	curl -sN --max-time 7200 --unix-socket "$SOCK" \
		"http://localhost/events?filters=%7B%22label%22%3A%5B%22jobcell.site%3D$1%22%5D%2C%22type%22%3A%5B%22container%22%5D%7D" \
		>"$2" 2>/dev/null &
	EV_PID=$!
	sleep 0.3
}
events_stop() {
	sleep 1 # the last events are on their way
	kill "$EV_PID" 2>/dev/null || true
	wait "$EV_PID" 2>/dev/null || true
}
# die_codes FILE SITE: "job exitCode", one line per die event of SITE
die_codes() {
	awk -v site="\"jobcell.site\":\"$2\"" '
		index($0, "\"Action\":\"die\"") && index($0, site) {
			j = c = ""
			if (match($0, /"jobcell.job":"[^"]*"/)) j = substr($0, RSTART + 15, RLENGTH - 16)
			if (match($0, /"exitCode":"[0-9]*"/)) c = substr($0, RSTART + 12, RLENGTH - 13)
			if (j != "" && c != "") print j, c
		}' "$1"
}

# classify DIR N LABEL SITE: count the results of one phase; sets KILLED
# (the jobs whose supervisor died of SIGKILL) and KILLED_VOL (of those, the
# volume-mode ones)
classify() {
	local dir=$1 n=$2 i line
	local -A C=() DIE=()
	local job mode sig sent dur want rc secs errs warns note out json cls die
	local nb=0 nv=0 nterm=0 nkill=0 outs=0 outs_ok=0 notes=0 maxs=0 agree=0 checked=0
	KILLED=() KILLED_VOL=()
	while read -r job die; do DIE[$job]=$die; done < <(die_codes "$dir/events.txt" "$4")
	for ((i = 0; i < n; i++)); do
		if ! line=$(cat "$dir/$i.res" 2>/dev/null); then
			C[noresult]=$((${C[noresult]:-0} + 1))
			bad "$3: job $i wrote no result (harness)"
			continue
		fi
		read -r _ job mode sig sent dur want rc secs errs warns note out json <<<"$line"
		die=${DIE[$job]:--}
		[ "$mode" = bind ] && nb=$((nb + 1)) || nv=$((nv + 1))
		[ "$sig" = TERM ] && nterm=$((nterm + 1))
		[ "$sig" = KILL ] && nkill=$((nkill + 1))
		maxs=$(awk -v a="$maxs" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
		cls=other
		case $sig/$sent/$rc in
		*/hung) cls=hung ;;
		none/*/"$want") cls=passed ;;
		TERM/1/143) cls=term143 ;;
		TERM/1/137) cls=term137 ;;
		TERM/*/"$want") cls=termlate ;;
		KILL/1/137)
			cls=kill137
			KILLED+=("$job")
			if [ "$mode" = volume ]; then KILLED_VOL+=("$job"); fi
			;;
		KILL/*/"$want") cls=killlate ;;
		*/125) cls=err125 ;;
		*/124) cls=timeout124 ;;
		*) if [ "$rc" = "$die" ]; then cls=engine; fi ;; # the engine's own status, passed through
		esac
		C[$cls]=$((${C[$cls]:-0} + 1))
		# a status of the job must be the engine's, in the exit status and
		# in the --json record alike
		case $cls in
		passed | term143 | term137 | termlate | killlate | engine)
			checked=$((checked + 1))
			if [ "$rc" = "$die" ]; then
				agree=$((agree + 1))
			else
				bad "$3: $job: jobcell exited $rc, the engine's die event says ${die}"
			fi
			[ "$json" = "$rc" ] || bad "$3: $job: exit status $rc, --json record says exit_code $json" ;;
		err125) [ "$json" = 125 ] || bad "$3: $job: exit status 125, --json record says exit_code $json" ;;
		*) ;;
		esac
		if [ "$cls" = term143 ] || [ "$cls" = term137 ]; then
			if [ "$note" = 1 ]; then
				notes=$((notes + 1))
			else
				bad "$3: $job: SIGTERM gave $rc without the note \`got Terminated\`: $(head -c 300 "$dir/$job.err")"
			fi
		fi
		if [ "$out" != - ]; then
			outs=$((outs + 1))
			if [ "$out" = ok ]; then
				outs_ok=$((outs_ok + 1))
			else
				bad "$3: $job ($mode, $sig, rc $rc): --output did not bring the job directory back"
			fi
		fi
		case $cls in
		passed | term143 | term137 | termlate | killlate | engine)
			[ "$errs" = 0 ] || bad "$3: $job: status $rc with $errs error lines: $(head -c 300 "$dir/$job.err")"
			[ "$warns" = 0 ] || bad "$3: $job: status $rc with $warns warnings: $(grep '^jobcell: warning' "$dir/$job.err" | head -c 300)" ;;
		kill137) ;;
		err125)
			[ "$errs" = 1 ] || bad "$3: $job: 125 with $errs error lines"
			bad "$3: $job ($mode, $sig after ${P_DELAY[$i]}s of ${dur}s): 125: $(head -c 400 "$dir/$job.err")" ;;
		*) bad "$3: $job ($mode, sig $sig sent $sent, want $want, engine $die): exit $rc: $(head -c 400 "$dir/$job.err")" ;;
		esac
		if [ "$cls" = engine ]; then
			say "  note: $3: $job ($mode, sig $sig): the engine reported $die (not the job's $want, 143 or 137); jobcell passed it through"
		fi
	done
	say "  jobs: $n ($nb bind, $nv volume); planned signals: $nterm SIGTERM, $nkill SIGKILL, $((n - nterm - nkill)) none; slowest run ${maxs}s"
	printf '  %-62s %5d\n' \
		"exit status passed through (0, 1, 3 or 42)" "${C[passed]:-0}" \
		"SIGTERM mid-run -> 143 (job's TERM trap)" "${C[term143]:-0}" \
		"SIGTERM mid-run -> 137 (not out within stop_grace: killed)" "${C[term137]:-0}" \
		"SIGTERM too late -> the job's own status" "${C[termlate]:-0}" \
		"SIGKILL mid-run -> 137 (the shell's status)" "${C[kill137]:-0}" \
		"SIGKILL too late -> the job's own status" "${C[killlate]:-0}" \
		"another status of the engine's, passed through (note)" "${C[engine]:-0}" \
		"125 (jobcell error)" "${C[err125]:-0}" \
		"124 (wall-clock timeout)" "${C[timeout124]:-0}" \
		"hung (killed after ${JOB_BOUND}s)" "${C[hung]:-0}" \
		"other status" "${C[other]:-0}" \
		"no result (harness)" "${C[noresult]:-0}"
	say "  statuses equal to the engine's die event (exitCode): $agree of $checked; --json records checked alike"
	say "  SIGTERM notes (\`got Terminated: job ... was stopped\`) with the 143s and 137s: $notes"
	say "  volume-mode outputs fetched and checked: $outs_ok of $outs"
}

# leftovers_and_gc SOCK SITE LABEL: the counts before gc (only the SIGKILL'd
# supervisors' objects may be there), gc, the counts after (zero)
leftovers_and_gc() {
	local SOCK=$1 site=$2 label=$3 c v want_c want_v got t0 out rc=0
	local want_cj want_vj
	c=$(n_ctrs "$site") v=$(n_vols "$site")
	want_c=${#ALL_KILLED[@]} want_v=${#ALL_KILLED_VOL[@]}
	say "  leftovers before gc: $c containers, $v volumes (expected $want_c and $want_v: those of the SIGKILL'd supervisors)"
	want_cj=$(printf '%s\n' "${ALL_KILLED[@]}" | grep . | sort || true)
	want_vj=$(printf '%s\n' "${ALL_KILLED_VOL[@]}" | grep . | sort || true)
	got=$(ctr_jobs "$site")
	[ "$got" = "$want_cj" ] || bad "$label: containers before gc are not those of the SIGKILL'd jobs:" \
		"extra [$(comm -13 <(echo "$want_cj") <(echo "$got") | tr '\n' ' ')]" \
		"missing [$(comm -23 <(echo "$want_cj") <(echo "$got") | tr '\n' ' ')]"
	got=$(vol_jobs "$site")
	[ "$got" = "$want_vj" ] || bad "$label: volumes before gc are not those of the SIGKILL'd volume-mode jobs:" \
		"extra [$(comm -13 <(echo "$want_vj") <(echo "$got") | tr '\n' ' ')]" \
		"missing [$(comm -23 <(echo "$want_vj") <(echo "$got") | tr '\n' ' ')]"
	t0=$(now)
	out=$(timeout 120 "$JOBCELL" -c "$TMP/$site.bind.ini" gc 2>"$TMP/gc.err") || rc=$?
	say "  gc: exit $rc in $(since "$t0")s: removed $(grep -c '^removed *container' <<<"$out" || true) containers," \
		"$(grep -c '^removed *volume' <<<"$out" || true) volumes; kept $(grep -c '^kept' <<<"$out" || true)"
	[ "$rc" = 0 ] || bad "$label: gc exited $rc: $(cat "$TMP/gc.err")"
	if grep -q '^kept' <<<"$out"; then bad "$label: gc kept: $(grep '^kept' <<<"$out" | head -5)"; fi
	c=$(n_ctrs "$site") v=$(n_vols "$site")
	say "  leftovers after gc: $c containers, $v volumes"
	if [ "$c" != 0 ] || [ "$v" != 0 ]; then bad "$label: after gc $c containers and $v volumes are left"; fi
}

# ---- phases 1 and 2, on one engine ----
stress_engine() { # ENGINE
	local eng=$1 site=${STAMP}${1:0:1} t0 tp dir i private=0
	local SOCK
	if [ "$eng" = docker ]; then
		SOCK=$DOCKER_SOCK
	elif [ "$PODMAN_SERVICE" = shared ]; then
		SOCK=$PODMAN_SOCK
	else
		SOCK=$PRIV_PODMAN_SOCK private=1
	fi
	say ""
	if [ $private = 1 ]; then
		say "== $eng ($SOCK: a podman system service of this run, started as bootstrap.sh starts $PODMAN_SOCK, same storage), site $site"
		USED_SOCKS+=("$PODMAN_SOCK") # the same storage: the shared service can clean up as well
		if [ "$(id -u)" != 0 ] || ! start_private_podman; then
			bad "$eng: no private Podman service (root needed; log: $(tail -2 "$TMP/podman.log" 2>/dev/null))"
			return 0
		fi
	else
		say "== $eng ($SOCK), site $site"
	fi
	if ! pinged "$SOCK" || ! image_present "$IMAGE"; then
		bad "$eng: no engine on $SOCK, or no $IMAGE (run contrib/bootstrap.sh)"
		return 0
	fi
	t0=$(now)
	make_sites "$site" "$SOCK" "$LOAD_ETO"
	ALL_KILLED=() ALL_KILLED_VOL=()
	RANDOM=$SEED
	# sequential
	make_plan "$SEQ"
	dir=$TMP/$site.seq && mkdir -p "$dir"
	events_start "$site" "$dir/events.txt"
	tp=$(now)
	for ((i = 0; i < SEQ; i++)); do run_job "$dir" "$site" "$i" s; done
	say "sequential: $SEQ jobs in $(since "$tp")s"
	events_stop
	classify "$dir" "$SEQ" "$eng sequential" "$site"
	ALL_KILLED+=(${KILLED[@]+"${KILLED[@]}"}) ALL_KILLED_VOL+=(${KILLED_VOL[@]+"${KILLED_VOL[@]}"})
	# concurrent: all at once
	make_plan "$CONC"
	dir=$TMP/$site.conc && mkdir -p "$dir"
	events_start "$site" "$dir/events.txt"
	tp=$(now)
	JOB_PIDS=()
	for ((i = 0; i < CONC; i++)); do
		run_job "$dir" "$site" "$i" c &
		JOB_PIDS+=($!)
	done
	for i in ${JOB_PIDS[@]+"${JOB_PIDS[@]}"}; do wait "$i" || true; done # each is bounded by JOB_BOUND
	JOB_PIDS=()
	say "concurrent: $CONC jobs at once in $(since "$tp")s"
	events_stop
	classify "$dir" "$CONC" "$eng concurrent" "$site"
	ALL_KILLED+=(${KILLED[@]+"${KILLED[@]}"}) ALL_KILLED_VOL+=(${KILLED_VOL[@]+"${KILLED_VOL[@]}"})
	tp=$(now)
	if ! lists "$SOCK"; then
		bad "$eng: the engine answers /_ping but no longer lists its containers: wedged" \
			"(Podman 4.3: containers on the same named volumes created at once deadlock, podman#20313;" \
			"jobcell's engine lock should have kept its creates apart)"
		if [ $private = 1 ]; then
			say "  the private Podman service is wedged: killed and started again"
			stop_private_podman
			start_private_podman || bad "$eng: the private Podman service did not come back"
		fi
	fi
	leftovers_and_gc "$SOCK" "$site" "$eng"
	say "leftovers and gc: $(since "$tp")s; $eng in all: $(since "$t0")s"
	purge_site "$SOCK" "$site" >/dev/null # the site volumes
	if [ $private = 1 ]; then stop_private_podman; fi
}

# ---- phase 3: an engine stopped in the middle of a job ----
start_private_podman() {
	# as contrib/bootstrap.sh starts the shared one, on a socket of this run
	rm -f "$PRIV_PODMAN_SOCK"
	setsid env CONTAINERS_CONF="$PODMAN_CONF" podman system service --time=0 \
		"unix://$PRIV_PODMAN_SOCK" >>"$TMP/podman.log" 2>&1 </dev/null &
	PRIV_PODMAN_PID=$!
	await_ping "$PRIV_PODMAN_SOCK" 60
}
stop_private_podman() { stop_pid "$PRIV_PODMAN_PID" 30; PRIV_PODMAN_PID=''; }
start_private_dockerd() {
	# its own socket, data root, exec root (so its own containerd), pid file
	# and containerd namespaces; no bridge, no iptables; live restore, so
	# that a stop leaves the job running, as `systemctl restart docker` would
	mkdir -p "$PD"
	[ -e "$PD/daemon.json" ] || echo '{}' >"$PD/daemon.json" # not /etc/docker/daemon.json
	setsid dockerd -H "unix://$PRIV_DOCKER_SOCK" --data-root "$PD/data" --exec-root "$PD/exec" \
		--pidfile "$PD/docker.pid" --config-file "$PD/daemon.json" --bridge=none \
		--iptables=false --ip6tables=false --live-restore \
		--containerd-namespace "jc$STAMP" --containerd-plugins-namespace "jc${STAMP}p" \
		>>"$PD/dockerd.log" 2>&1 </dev/null &
	PRIV_DOCKERD_PID=$!
	await_ping "$PRIV_DOCKER_SOCK" 60
}
stop_private_dockerd_only() { stop_pid "$PRIV_DOCKERD_PID" 60; PRIV_DOCKERD_PID=''; }

# down_case ENGINE MODE SOCK SITE STOP START: a job that would sleep 30 s;
# once it runs, stop the engine; jobcell must say so in one error line and
# exit 125 within GRACE + 3 x [engine] timeout; start the engine again; gc;
# nothing left
down_case() {
	local eng=$1 mode=$2 SOCK=$3 site=$4 job=down$2 f=$TMP/$4.down$2 pid
	local -a args
	local t_stop t_gone t_back rc=none t_exit secs errs bound=$((GRACE + 3 * ETO)) c v out grc=0
	if [ "$mode" = volume ]; then
		args=(-c "$TMP/$site.vol.ini" run "$job" --input in.txt --output "out/$job" --
			sh -c "$VOL_SH" job 30 0 "$TOKEN")
	else
		args=(-c "$TMP/$site.bind.ini" run "$job" -- sh -c "$BIND_SH" job 30 0)
	fi
	# the subshell notes when jobcell ends, and how
	{
		r=0
		"$JOBCELL" "${args[@]}" >"$f.out" 2>"$f.err" </dev/null &
		printf '%s\n' "$!" >"$TMP/pids/$site-$job"
		wait $! || r=$?
		printf '%s %s\n' "$r" "$EPOCHREALTIME" >"$f.rc"
		rm -f "$TMP/pids/$site-$job"
	} &
	pid=$!
	if ! running_or_gone "jobcell-$site-$job" "$pid"; then
		bad "$eng $mode engine stop: the job never ran: $(cat "$f.err")"
		wait "$pid" || true
		return 0
	fi
	sleep 0.5
	t_stop=$(now)
	"$5"
	t_gone=$(now)
	wait_gone "$pid" 60 || { kill -KILL "$pid" 2>/dev/null || true; }
	wait "$pid" 2>/dev/null || true
	if [ -s "$f.rc" ]; then read -r rc t_exit <"$f.rc"; else t_exit=$(now); fi
	secs=$(since "$t_stop" "$t_exit")
	"$6" || bad "$eng: the engine did not come back within 60 s"
	t_back=$(now)
	errs=$(grep -c '^jobcell: error: ' "$f.err" || true)
	say "  $mode: exit $rc, $errs error line(s), ${secs}s after the engine was told to stop" \
		"(engine gone after $(since "$t_stop" "$t_gone")s; bound ${bound}s = stop_grace + 3 x [engine] timeout, + 1s slack);" \
		"engine back after $(since "$t_gone" "$t_back")s"
	say "    $(head -c 600 "$f.err")"
	[ "$rc" = 125 ] || bad "$eng $mode engine stop: exit $rc, want 125"
	[ "$errs" = 1 ] || bad "$eng $mode engine stop: $errs error lines, want 1"
	awk -v s="$secs" -v b="$bound" 'BEGIN { exit !(s <= b + 1) }' ||
		bad "$eng $mode engine stop: jobcell took ${secs}s, more than ${bound}s"
	settle "$site"
	c=$(n_ctrs "$site") v=$(n_vols "$site")
	say "    leftovers with the engine back, before gc: $c containers, $v volumes"
	out=$(timeout 120 "$JOBCELL" -c "$TMP/$site.bind.ini" gc 2>"$TMP/gc.err") || grc=$?
	[ "$grc" = 0 ] || bad "$eng $mode engine stop: gc exited $grc: $(cat "$TMP/gc.err")"
	c=$(n_ctrs "$site") v=$(n_vols "$site")
	say "    gc: exit $grc, removed $(grep -c '^removed' <<<"$out" || true); leftovers after gc: $c containers, $v volumes"
	if [ "$c" != 0 ] || [ "$v" != 0 ]; then bad "$eng $mode engine stop: after gc $c containers and $v volumes are left"; fi
}

# frozen_case ENGINE SOCK SITE ENGINE_PID: freeze the engine (SIGSTOP) while
# a job runs, then SIGTERM its supervisor: the stop, the kill, the removal
# all go unanswered; jobcell must end, 125 and one error line, within
# stop_grace + 3 x [engine] timeout of the signal.  Then thaw, gc, nothing left.
frozen_case() {
	local eng=$1 SOCK=$2 site=$3 epid=$4 job=frozen f=$TMP/$3.frozen pid
	local t_sig secs rc=none errs bound=$((GRACE + 3 * ETO)) c v out grc=0
	"$JOBCELL" -c "$TMP/$site.bind.ini" run "$job" -- sh -c "$BIND_SH" job 60 0 \
		>"$f.out" 2>"$f.err" </dev/null &
	pid=$!
	printf '%s\n' "$pid" >"$TMP/pids/$site-$job"
	if ! running_or_gone "jobcell-$site-$job" "$pid"; then
		bad "$eng frozen engine: the job never ran: $(cat "$f.err")"
		wait "$pid" || true
		return 0
	fi
	kill -STOP "$epid"
	sleep 0.5
	t_sig=$(now)
	kill -TERM "$pid"
	{
		if wait_gone "$pid" 120; then
			rc=0
			wait "$pid" || rc=$?
		else
			kill -KILL "$pid" || true
			wait "$pid" || true
			rc=hung
		fi
	} 2>/dev/null
	secs=$(since "$t_sig")
	rm -f "$TMP/pids/$site-$job"
	kill -CONT "$epid"
	await_ping "$SOCK" 60 || bad "$eng: the engine did not answer within 60 s of SIGCONT"
	errs=$(grep -c '^jobcell: error: ' "$f.err" || true)
	say "  frozen engine (SIGSTOP), then SIGTERM to jobcell: exit $rc, $errs error line(s), ${secs}s after the SIGTERM" \
		"(bound ${bound}s = stop_grace + 3 x [engine] timeout: kill, give up, forced removal; + 1s slack)"
	say "    $(head -c 600 "$f.err")"
	[ "$rc" = 125 ] || bad "$eng frozen engine: exit $rc, want 125"
	[ "$errs" = 1 ] || bad "$eng frozen engine: $errs error lines, want 1"
	awk -v s="$secs" -v b="$bound" 'BEGIN { exit !(s <= b + 1) }' ||
		bad "$eng frozen engine: jobcell took ${secs}s after SIGTERM, more than the ${bound}s its timeouts allow"
	settle "$site"
	c=$(n_ctrs "$site") v=$(n_vols "$site")
	out=$(timeout 120 "$JOBCELL" -c "$TMP/$site.bind.ini" gc 2>"$TMP/gc.err") || grc=$?
	[ "$grc" = 0 ] || bad "$eng frozen engine: gc exited $grc: $(cat "$TMP/gc.err")"
	say "    thawed: leftovers before gc $c containers, $v volumes; gc exit $grc, removed" \
		"$(grep -c '^removed' <<<"$out" || true); after gc $(n_ctrs "$site") containers, $(n_vols "$site") volumes"
	c=$(n_ctrs "$site") v=$(n_vols "$site")
	if [ "$c" != 0 ] || [ "$v" != 0 ]; then bad "$eng frozen engine: after gc $c containers and $v volumes are left"; fi
}

restart_engine() { # podman|docker
	local eng=$1 site=${STAMP}r${1:0:1} t0 SOCK img
	t0=$(now)
	say ""
	if [ "$(id -u)" != 0 ]; then
		bad "engine stop ($eng): needs root to start a private engine"
		return 0
	fi
	if [ "$eng" = podman ]; then
		SOCK=$PRIV_PODMAN_SOCK
		say "== engine stopped mid-job: a private Podman service on $SOCK (started as bootstrap.sh starts /run/jobcell-podman.sock; SIGTERM)"
		USED_SOCKS+=("$SOCK")
		start_private_podman || { bad "podman: the private service did not answer: $(tail -3 "$TMP/podman.log")"; return 0; }
		make_sites "$site" "$SOCK" "$ETO"
		down_case podman bind "$SOCK" "$site" stop_private_podman start_private_podman
		down_case podman volume "$SOCK" "$site" stop_private_podman start_private_podman
		frozen_case podman "$SOCK" "$site" "$PRIV_PODMAN_PID"
		purge_site "$SOCK" "$site" >/dev/null
		stop_private_podman
	else
		SOCK=$PRIV_DOCKER_SOCK
		say "== engine stopped mid-job: a private dockerd on $SOCK (--live-restore; SIGTERM)"
		USED_SOCKS+=("$SOCK")
		start_private_dockerd || { bad "docker: the private dockerd did not answer: $(tail -3 "$PD/dockerd.log")"; return 0; }
		# the test image, from the shared engine (read only there)
		img=${IMAGE%:*}
		curl -fsS --max-time 60 --unix-socket "$DOCKER_SOCK" "http://localhost/images/${img/\//%2F}:latest/get" |
			curl -fsS --max-time 60 --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' \
				--data-binary @- http://localhost/images/load >/dev/null ||
			{ bad "docker: could not copy $IMAGE into the private dockerd"; stop_private_dockerd; return 0; }
		make_sites "$site" "$SOCK" "$ETO"
		down_case docker bind "$SOCK" "$site" stop_private_dockerd_only start_private_dockerd
		down_case docker volume "$SOCK" "$site" stop_private_dockerd_only start_private_dockerd
		frozen_case docker "$SOCK" "$site" "$PRIV_DOCKERD_PID"
		purge_site "$SOCK" "$site" >/dev/null
		stop_private_dockerd
	fi
	say "engine stop ($eng): $(since "$t0")s"
}

# ---- phase 4: what only gc can collect ----
# ns_kill INI JOB: `jobcell run JOB -- sleep 600` in a pid namespace of its
# own (sh as its init: an init drops signals it has no handler for), SIGKILL
# of jobcell once the container runs.  Returns 1 when it never ran.
ns_kill() {
	local ini=$1 job=$2 site=$3 u sh='' pid='' i
	unshare --pid --fork --mount-proc sh -c '"$@"; exit $?' sh \
		"$JOBCELL" -c "$ini" run "$job" -- sleep 600 >"$TMP/$job.out" 2>&1 &
	u=$!
	NS_WRAPS+=("$u")
	for ((i = 0; i < 100; i++)); do
		sh=$(awk '{print $1}' "/proc/$u/task/$u/children" 2>/dev/null || true)
		[ -z "$sh" ] || pid=$(awk '{print $1}' "/proc/$sh/task/$sh/children" 2>/dev/null || true)
		[ -z "$pid" ] || break
		sleep 0.05
	done
	[ -n "$pid" ] && echo "$pid" >"$TMP/pids/$job"
	if [ -z "$pid" ] || ! running_or_gone "jobcell-$site-$job" "$u"; then
		kill -KILL "$u" 2>/dev/null || true
		return 1
	fi
	kill -KILL "$pid" 2>/dev/null || true
	wait "$u" 2>/dev/null || true
	rm -f "$TMP/pids/$job"
	return 0
}

# gc_counts SITE INI LABEL [gc options]: gc; sets GC_OUT, GC_RC, and the
# counts of removed and kept lines
gc_counts() {
	local site=$1 ini=$2 label=$3 t0
	shift 3
	GC_RC=0
	t0=$(now)
	GC_OUT=$(timeout 120 "$JOBCELL" -c "$ini" gc "$@" 2>"$TMP/gc.err") || GC_RC=$?
	GC_REMOVED=$(grep -c '^removed' <<<"$GC_OUT" || true)
	GC_KEPT=$(grep -c '^kept' <<<"$GC_OUT" || true)
	say "  $label: gc $* exit $GC_RC in $(since "$t0")s: removed $GC_REMOVED, kept $GC_KEPT;" \
		"left $(n_ctrs "$site") containers, $(n_vols "$site") volumes"
	[ "$GC_RC" = 0 ] || bad "$label: gc $* exited $GC_RC: $(cat "$TMP/gc.err")"
}

# set_deadline SITE TIMEOUT: the site files' [job] timeout, transfer_timeout
# 1s, and [gc] clock_skew 0
set_deadline() {
	local f
	for f in "$TMP/$1.bind.ini" "$TMP/$1.vol.ini"; do
		sed -i "/^stop_grace = /{n;s/^timeout = .*/timeout = $2\ntransfer_timeout = 1s/}" "$f"
		printf '[gc]\nclock_skew = 0\n' >>"$f"
	done
}

# read_past PID BYTES: true once jobcell PID has read BYTES (rchar of
# /proc/PID/io: its input among it), the transfer under way; 60 s at most
read_past() {
	local i v
	for ((i = 0; i < 600; i++)); do
		v=$(awk '$1 == "rchar:" { print $2 }' "/proc/$1/io" 2>/dev/null) || return 1
		[ -n "$v" ] || return 1
		[ "$v" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# xfer_halt INI JOB SIG: a volume-mode run whose --input is 1 GiB, sent SIG
# once 64 MiB are read.  Echoes "STATUS SECONDS" (seconds from the signal to
# the exit), or "never" when the transfer did not get under way.
xfer_halt() {
	local ini=$1 job=$2 sig=$3 pid rc=0 t0
	"$JOBCELL" -c "$ini" run "$job" --input big.in -- true >"$TMP/$job.out" 2>&1 &
	pid=$!
	if ! read_past "$pid" $((64 << 20)); then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo never
		return
	fi
	t0=$(now)
	kill "-$sig" "$pid"
	wait "$pid" 2>/dev/null || rc=$?
	echo "$rc $(since "$t0")"
}

gc_engine() { # ENGINE
	local eng=$1 SOCK site i ini n=0 want latest=0 d t0 sig rc secs
	[ "$eng" = docker ] && SOCK=$DOCKER_SOCK || SOCK=$PODMAN_SOCK
	t0=$(now)
	say ""
	say "== gc alone ($eng, $SOCK): $GC_JOBS runs killed in pid namespaces of their own, $GC_JOBS starts, 4 transfers interrupted"
	if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
		bad "gc ($eng): cannot make a pid namespace (unshare --pid --fork --mount-proc)"
		return 0
	fi
	if ! pinged "$SOCK" || ! image_present "$IMAGE"; then
		bad "gc ($eng): no engine on $SOCK, or no $IMAGE"
		return 0
	fi
	# a. a deadline an hour away: only the operator's word collects them
	site=${STAMP}n${eng:0:1}
	make_sites "$site" "$SOCK" "$LOAD_ETO"
	set_deadline "$site" 1h
	for ((i = 0; i < GC_JOBS; i++)); do
		if ((i % 2)); then ini=$TMP/$site.vol.ini; else ini=$TMP/$site.bind.ini; fi
		ns_kill "$ini" "n$i" "$site" && n=$((n + 1)) || bad "gc ($eng): job n$i never ran: $(cat "$TMP/n$i.out")"
	done
	want=$((n + n / 2)) # a container each, a volume each volume-mode one
	say "  namespaces: $n supervisors killed; $(n_ctrs "$site") containers, $(n_vols "$site") volumes left"
	gc_counts "$site" "$TMP/$site.bind.ini" "namespaces"
	[ "$GC_REMOVED" = 0 ] && [ "$GC_KEPT" = "$want" ] ||
		bad "gc ($eng) namespaces: plain gc removed $GC_REMOVED and kept $GC_KEPT, want 0 and $want"
	gc_counts "$site" "$TMP/$site.bind.ini" "namespaces" --others-gone
	[ "$GC_REMOVED" = "$want" ] || bad "gc ($eng) namespaces: gc --others-gone removed $GC_REMOVED, want $want"
	[ "$(n_ctrs "$site")" = 0 ] && [ "$(n_vols "$site")" = 0 ] ||
		bad "gc ($eng) namespaces: after gc --others-gone $(n_ctrs "$site") containers and $(n_vols "$site") volumes are left"
	purge_site "$SOCK" "$site" >/dev/null
	# b. a deadline seconds away: gc alone, past it
	site=${STAMP}e${eng:0:1} n=0
	make_sites "$site" "$SOCK" 5 # twice the engine timeout is in the deadline
	set_deadline "$site" 3s
	for ((i = 0; i < GC_JOBS; i++)); do
		if ((i % 2)); then ini=$TMP/$site.vol.ini; else ini=$TMP/$site.bind.ini; fi
		ns_kill "$ini" "k$i" "$site" && n=$((n + 1)) || bad "gc ($eng): job k$i never ran: $(cat "$TMP/k$i.out")"
		if timeout "$JOB_BOUND" "$JOBCELL" -c "$ini" start "d$i" -- sleep 600 >"$TMP/d$i.out" 2>&1; then
			n=$((n + 1))
		else
			bad "gc ($eng): start d$i failed: $(cat "$TMP/d$i.out")"
		fi
	done
	for d in $(ctr_list "$site" | grep -o '"jobcell.deadline":"[0-9]*"' | cut -d'"' -f4); do
		if [ "$d" -gt "$latest" ]; then latest=$d; fi
	done
	say "  deadlines: $n jobs ($GC_JOBS killed in namespaces, $GC_JOBS started), the last deadline in $((latest - $(date +%s)))s"
	[ "$latest" -gt 0 ] || bad "gc ($eng) deadlines: no jobcell.deadline label found"
	while [ "$(date +%s)" -le "$latest" ]; do sleep 0.2; done
	gc_counts "$site" "$TMP/$site.bind.ini" "deadlines"
	[ "$GC_KEPT" = 0 ] || bad "gc ($eng) deadlines: gc kept $(grep '^kept' <<<"$GC_OUT" | head -3)"
	[ "$(n_ctrs "$site")" = 0 ] && [ "$(n_vols "$site")" = 0 ] ||
		bad "gc ($eng) deadlines: after gc $(n_ctrs "$site") containers and $(n_vols "$site") volumes are left"
	purge_site "$SOCK" "$site" >/dev/null
	# c. transfers interrupted: a signal ends an --input transfer within a
	# second and takes back what was made; a SIGKILL leaves it to gc
	site=${STAMP}x${eng:0:1}
	make_sites "$site" "$SOCK" "$LOAD_ETO"
	truncate -s 1G "$TMP/$site/xfer/big.in"
	for sig in TERM INT HUP KILL; do
		read -r rc secs <<<"$(xfer_halt "$TMP/$site.vol.ini" "x$sig" "$sig")"
		say "  transfer: SIG$sig during a 1 GiB --input: exit $rc after ${secs:-?}s;" \
			"left $(n_ctrs "$site") containers, $(n_vols "$site") volumes"
		case $sig:$rc in
		KILL:137) ;;
		KILL:*) bad "gc ($eng) transfer: SIGKILL: exit $rc, want 137" ;;
		*:125)
			awk -v s="$secs" 'BEGIN { exit !(s <= 5) }' ||
				bad "gc ($eng) transfer: SIG$sig: ended ${secs}s after the signal, want <= 5"
			[ "$(n_ctrs "$site")" = 0 ] && [ "$(n_vols "$site")" = 0 ] ||
				bad "gc ($eng) transfer: SIG$sig left something: $(cat "$TMP/x$sig.out")" ;;
		*) bad "gc ($eng) transfer: SIG$sig: exit $rc, want 125: $(cat "$TMP/x$sig.out")" ;;
		esac
	done
	gc_counts "$site" "$TMP/$site.vol.ini" "transfers"
	[ "$(n_ctrs "$site")" = 0 ] && [ "$(n_vols "$site")" = 0 ] ||
		bad "gc ($eng) transfers: after gc $(n_ctrs "$site") containers and $(n_vols "$site") volumes are left"
	rm -f "$TMP/$site/xfer/big.in"
	purge_site "$SOCK" "$site" >/dev/null
	say "gc alone ($eng): $(since "$t0")s"
}

# ---- main ----
[ -x "$JOBCELL" ] || { echo "stress: no $JOBCELL (make)" >&2 && exit 2; }
T0=$(now)
say "stress: phases ${PHASES[*]}; seed $SEED (STRESS_SEED=$SEED reproduces the plan), engines: ${ENGINES[*]}," \
	"$SEQ sequential + $CONC concurrent jobs each, ${PCT}% of supervisors signalled" \
	"([engine] timeout ${LOAD_ETO}s); engine stops: ${RESTARTS[*]:-none} ([engine] timeout" \
	"${ETO}s, stop_grace ${GRACE}s); run $STAMP"
if phase load; then for e in "${ENGINES[@]}"; do stress_engine "$e"; done; fi
if phase restart; then
	for e in ${RESTARTS[@]+"${RESTARTS[@]}"}; do
		case $e in
		podman | docker) restart_engine "$e" ;;
		*) bad "STRESS_RESTART: unknown engine \`$e\`" ;;
		esac
	done
fi
if phase gc; then for e in "${ENGINES[@]}"; do gc_engine "$e"; done; fi
say ""
for s in "$DOCKER_SOCK" "$PODMAN_SOCK"; do
	if pinged "$s" && lists "$s"; then
		say "shared engine $s: answers /_ping and lists its containers"
	else
		bad "shared engine $s does not answer at the end (/_ping, or a listing of its containers within 20 s)"
	fi
done
say "stress: ${#BAD[@]} unexpected, $(since "$T0")s in all"
if [ ${#BAD[@]} -gt 0 ]; then
	printf '  %s\n' "${BAD[@]}"
	exit 1
fi
