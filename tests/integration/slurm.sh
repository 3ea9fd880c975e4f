#!/usr/bin/env bash
# jobcell as the container step of a real Slurm cluster (docs/slurm.md):
# slurmctld and two slurmd nodes started here (tests/slurm/cluster.sh: one
# network and UTS namespace each, munge with a key of this run), the jobs
# submitted with sbatch through contrib/slurm/jobcell-slurm, the Epilog
# contrib/slurm/jobcell-slurm-epilog, the machine's engine.  Root only.
#
#  - 20 jobs across both nodes, bind and volume mode: scontrol's and the
#    jobcomp file's exit codes are the jobs' own; nothing left
#  - scancel mid-job and a job over its --time: the job's SIGTERM trap
#    runs, CANCELLED / TIMEOUT, nothing left
#  - a job under --mem=64M whose container uses 256 MiB: without
#    cgroup_parent it escapes the allocation (the documented escape)
#  - a node whose slurmd and jobcell are SIGKILLed mid-job: the container
#    and volume are left; when the node returns, slurmd runs the Epilog for
#    the job and its gc removes them
# The scontrol and jobcomp lines are printed.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/slurm/cluster.sh"
S=sl$$ # site-name prefix: unique per run, so leftovers are attributable
SB=${S}b SV=${S}v # the bind-mode and the volume-mode site
SV_START=${S}-startup SV_LOCAL=${S}-local
WRAP=$ROOT/contrib/slurm/jobcell-slurm
EPILOG=$ROOT/contrib/slurm/jobcell-slurm-epilog
JOBSH=$ROOT/tests/slurm/job.sh
KILLWAIT=30 # > stop_grace 3 s + [engine] timeout 10 s, with room

trap 'cluster_down; cleanup_all' EXIT
trap 'exit 130' INT TERM

# ---- the wrapper and the Epilog, with a stand-in jobcell that prints its
# arguments one a line: no cluster, no engine ----
printf '#!/bin/sh\nfor a in "$@"; do printf "%%s\\n" "$a"; done\n' >"$TMP/argv"
chmod +x "$TMP/argv"
wrap() { # CONF-TEXT ENV... -- ARGS...: runs the wrapper; sets RC, OUT, ERR
	local envs=()
	printf '%s\n' "$1" >"$TMP/w.conf"
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	set +e
	env -u SLURM_JOB_ID -u SLURM_STEP_ID -u SLURM_STEP_NUM_TASKS -u SLURM_PROCID \
		JOBCELL_SLURM_CONF="$TMP/w.conf" "${envs[@]}" "$WRAP" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr '\n' ' ' <"$TMP/out") ERR=$(cat "$TMP/err")
}
expect_out() { # NAME WANT
	if [ "$RC" = 0 ] && [ "$OUT" = "$2" ]; then ok "$1"; else not_ok "$1" "rc $RC, argv: $OUT" "want: $2" "$ERR"; fi
}
expect_wrap_refusal() { # NAME PATTERN
	if [ "$RC" = 125 ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] &&
		printf '%s' "$ERR" | grep -qE "^jobcell-slurm: error: .*$2"; then
		ok "$1"
	else
		not_ok "$1" "rc $RC, stdout '$OUT', stderr: $ERR" "want 125 and /$2/"
	fi
}
C1="jobcell = $TMP/argv
config = /site.ini"
wrap "$C1" SLURM_JOB_ID=42 -- --env A=1 -- sh -c 'exit 3'
expect_out "wrapper: batch step named slurm-42-batch before --" "-c /site.ini run --env A=1 slurm-42-batch -- sh -c exit 3 "
wrap "# comment
  jobcell =  $TMP/argv
site = fl" SLURM_JOB_ID=42 SLURM_STEP_ID=3 SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=1 -- -- a -- b
expect_out "wrapper: task 1 of step 3 named slurm-42-3-1, a later -- is the job's" "--site fl run slurm-42-3-1 -- a -- b "
wrap "$C1" SLURM_JOB_ID=42 SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=1 -- --timeout 5s
expect_out "wrapper: one-task step named slurm-42-0, at the end without --" "-c /site.ini run --timeout 5s slurm-42-0 "
wrap "$C1" -- -- true
expect_wrap_refusal "wrapper: outside a Slurm job refused" 'SLURM_JOB_ID `` is not a job id'
wrap "$C1" 'SLURM_JOB_ID=4;x' -- -- true
expect_wrap_refusal "wrapper: a job id with a non-digit refused" 'SLURM_JOB_ID `4;x` is not a job id'
wrap "$C1" SLURM_JOB_ID=4 SLURM_STEP_ID=../x -- -- true
expect_wrap_refusal "wrapper: a step id with a non-digit refused" 'SLURM_STEP_ID `../x` is not a step id'
wrap "$C1" SLURM_JOB_ID=4 SLURM_STEP_ID=1 SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=x -- -- true
expect_wrap_refusal "wrapper: a task id with a non-digit refused" 'SLURM_PROCID `x` is not a task id'
wrap "$C1
sitee = x" SLURM_JOB_ID=4 -- -- true
expect_wrap_refusal "wrapper: an unknown key refused" 'unknown key `sitee`'
wrap "$C1
site = fl" SLURM_JOB_ID=4 -- -- true
expect_wrap_refusal "wrapper: config and site both set refused" 'give config or site, not both'
wrap "jobcell = $TMP/argv" SLURM_JOB_ID=4 -- -- true
expect_wrap_refusal "wrapper: neither config nor site refused" 'neither config nor site'
wrap "jobcell = $TMP/argv
config = \$(touch $TMP/ran)" SLURM_JOB_ID=4 -- '$(touch x)' -- true
expect_out "wrapper: the file's values and the arguments are never run by a shell" \
	"-c \$(touch $TMP/ran) run \$(touch x) slurm-4-batch -- true "
[ ! -e "$TMP/ran" ] && [ ! -e x ] || not_ok "wrapper: nothing was run" "$(ls "$TMP/ran" x 2>&1)"
wrap "$C1" SLURM_JOB_ID=4 JOBCELL_SLURM_CONF=$TMP/nonexistent -- -- true
expect_wrap_refusal "wrapper: a missing file refused" 'read .*/nonexistent: no such readable file'
# the Epilog: gc of the site, --others-gone when asked, gc's status
epi() { # CONF-TEXT: runs the Epilog; sets RC, OUT, ERR
	printf '%s\n' "$1" >"$TMP/e.conf"
	set +e
	env SLURM_JOB_ID=7 SLURMD_NODENAME=n1 JOBCELL_SLURM_CONF="$TMP/e.conf" "$EPILOG" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr '\n' ' ' <"$TMP/out") ERR=$(cat "$TMP/err")
}
epi "$C1
epilog_log = $TMP/epi.log"
if [ "$RC" = 0 ] && [ "$OUT" = "-c /site.ini gc " ] && grep -q "job 7 node n1: gc$" "$TMP/epi.log"; then
	ok "epilog: runs gc for the site, logs its lines with job and node"
else
	not_ok "epilog: runs gc for the site" "rc $RC, argv: $OUT, log: $(cat "$TMP/epi.log" 2>&1)"
fi
epi "$C1
gc_others_gone = yes"
expect_out "epilog: gc_others_gone = yes adds --others-gone" "-c /site.ini gc --others-gone "
epi "$C1
gc_others_gone = maybe"
if [ "$RC" = 1 ] && printf '%s' "$ERR" | grep -q 'gc_others_gone is yes or no'; then
	ok "epilog: a bad gc_others_gone refused (status 1: the node drains)"
else
	not_ok "epilog: a bad gc_others_gone refused" "rc $RC: $ERR"
fi
printf '#!/bin/sh\necho "failed removal"; exit 125\n' >"$TMP/gcfail"
chmod +x "$TMP/gcfail"
epi "jobcell = $TMP/gcfail
site = fl"
if [ "$RC" = 125 ]; then ok "epilog: exits with gc's status (125: the node drains)"; else not_ok "epilog: exits with gc's status" "rc $RC"; fi

precheck() {
	[ "$(id -u)" = 0 ] || { skip "slurm" "needs root (network namespaces, slurmd)"; return 1; }
	sl_have || { skip "slurm" "$SL_MISSING is not installed (run contrib/bootstrap.sh)"; return 1; }
	engine_up || { skip "slurm" "no engine answers on $SOCK"; return 1; }
	image_present jobcell-test/nonroot:latest ||
		{ skip "slurm" "image jobcell-test/nonroot is missing (run contrib/bootstrap.sh)"; return 1; }
	[ -x "$JOBCELL" ] || { not_ok "slurm" "no jobcell binary at $JOBCELL"; return 1; }
}
precheck || { summary slurm; exit $?; }

# ---- the sites: bind and volume mode, stop_grace 3 s, engine timeout 10 s,
# [slurm] kill_wait the cluster's KillWait ----
site_file() { # NAME MODE [KILL_WAIT]
	local ws=$TMP/$1
	SITES+=("$1")
	mkdir -p "$ws/startup" "$ws/local"
	chmod 0755 "$ws"
	{
		printf '[engine]\nendpoint = unix://%s\ntimeout = 10s\n' "$SOCK"
		printf '[site]\nname = %s\n' "$1"
		if [ "$2" = volume ]; then
			printf '[workspace]\nmode = volume\n'
			printf '[volume]\nstartup_volume = %s\nlocal_volume = %s\n' "$SV_START" "$SV_LOCAL"
		else
			printf '[workspace]\npath = %s\n' "$ws"
		fi
		# every run checks stop_grace 3 s + stop_margin 5 s against it
		printf '[slurm]\nkill_wait = %ss\n' "${3:-$KILLWAIT}"
		printf '[job]\nimage = jobcell-test/nonroot:latest\nstop_grace = 3s\n'
	} >"$TMP/$1.ini"
}
site_file "$SB" bind
site_file "$SV" volume
SG=${S}g # bind mode, the container under the Slurm job's cgroup
site_file "$SG" bind
printf 'cgroup_parent = slurm\n' >>"$TMP/$SG.ini"
ST=${S}t # bind mode, the timeout from the allocation's end
site_file "$ST" bind
printf 'timeout_from = slurm\n' >>"$TMP/$ST.ini"
SK=${S}k # a kill_wait that stop_grace and stop_margin do not fit in
site_file "$SK" bind 5
for v in "$SV_START" "$SV_LOCAL"; do
	engine_json POST /volumes/create "{\"Name\":\"$v\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null
done

if ! cluster_up "$KILLWAIT" "$EPILOG"; then
	not_ok "slurm cluster starts" "$(tail -n 5 "$SL"/log/*.log 2>/dev/null)"
	summary slurm
	exit $?
fi
ok "slurm cluster up: slurmctld and slurmd n1, n2 in namespaces of their own"

# jobcell-slurm.conf: the volume site's beside slurm.conf, where the wrapper
# and the Epilog (run by slurmd with SLURM_CONF set) find it; the bind
# site's named by JOBCELL_SLURM_CONF in its jobs' environment
printf 'jobcell = %s\nconfig = %s\nepilog_log = %s\n' "$JOBCELL" "$TMP/$SV.ini" "$SL/log/epilog.log" \
	>"$SL/etc/jobcell-slurm.conf"
printf 'jobcell = %s\nconfig = %s\n' "$JOBCELL" "$TMP/$SB.ini" >"$TMP/bind-slurm.conf"
for x in "g $SG" "t $ST" "k $SK"; do
	printf 'jobcell = %s\nconfig = %s\n' "$JOBCELL" "$TMP/${x#* }.ini" >"$TMP/${x%% *}-slurm.conf"
done
mkdir -p "$TMP/sout"

# submit SITE(b|v|g|t|k) SBATCH-OPTION... -- CMD...: prints the job id
submit() {
	local conf=$SL/etc/jobcell-slurm.conf opts=() script=$JOBSH
	case $1 in
	b) conf=$TMP/bind-slurm.conf ;;
	g | k) conf=$TMP/$1-slurm.conf ;;
	t) conf=$TMP/t-slurm.conf script=$ROOT/tests/slurm/job-end.sh ;;
	esac
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	sl sbatch --parsable -D "$TMP" -o "$TMP/sout/%j.out" \
		--export="ALL,JCS_WRAP=$WRAP,JOBCELL_SLURM_CONF=$conf" \
		"${opts[@]}" "$script" "$@" | cut -d';' -f1
}

# field ID KEY: KEY's value in `scontrol show job ID`
field() { sl scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | grep -m1 "^$2=" | cut -d= -f2-; }
# done ID: the job has ended and its node finished ending it (Epilog run)
job_done() {
	case $(field "$1" JobState) in
	COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE) ;;
	*) return 1 ;;
	esac
	[ -z "$(sl squeue -h -j "$1" -t CG 2>/dev/null)" ]
}
wait_done() { # ID SECONDS
	local i
	for ((i = 0; i < $2 * 5; i++)); do job_done "$1" && return 0; sleep 0.2; done
	return 1
}
show_job() { # ID: the lines this suite prints for a job
	printf '  scontrol: %s\n' "$(sl scontrol -o show job "$1" | tr ' ' '\n' |
		grep -E '^(JobId|JobState|Reason|ExitCode|RunTime|TimeLimit|NodeList|MinMemoryNode)=' | tr '\n' ' ')"
	printf '  jobcomp:  %s\n' "$(grep "^JobId=$1 " "$SL/jobcomp.txt" 2>/dev/null |
		tr ' ' '\n' | grep -E '^(JobId|JobState|NodeList|ExitCode)=' | tr '\n' ' ')"
}
jobcomp_field() { grep "^JobId=$1 " "$SL/jobcomp.txt" 2>/dev/null | tr ' ' '\n' | grep -m1 "^$2=" | cut -d= -f2-; }
# what a job of SITE left: containers of its name, volumes labelled with it
left_of() { # SITE JOB
	local v n=0
	for v in $(site_vols "$1"); do
		engine_get "/volumes/$v" 2>/dev/null | grep -q "\"jobcell.job\":\"$2\"" && n=$((n + 1))
	done
	printf '%s containers, %s volumes' "$(ctr_count "$1" "$2")" "$n"
}
ctr_count() { # SITE JOB
	curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" \
		"http://localhost/containers/jobcell-$1-$2/json" 2>/dev/null | grep -c '^200$'
}
site_objs() { # the three sites' objects, one a line: KIND JOB-LABEL
	local id
	for id in $(site_ids "$SB") $(site_ids "$SV") $(site_ids "$SG") $(site_ids "$ST") $(site_ids "$SK"); do
		printf 'container %s\n' "$(engine_get "/containers/$id/json" 2>/dev/null |
			grep -o '"jobcell.job":"[^"]*"' | head -1 | cut -d'"' -f4)"
	done
	for id in $(site_vols "$SB") $(site_vols "$SV") $(site_vols "$SG") $(site_vols "$ST") $(site_vols "$SK"); do
		printf 'volume %s\n' "$(engine_get "/volumes/$id" 2>/dev/null |
			grep -o '"jobcell.job":"[^"]*"' | head -1 | cut -d'"' -f4)"
	done
}
# nothing_left [JOB [JOB]]: no container or volume of the sites but the
# JOBs' (the two a minute long, still running)
nothing_left() { [ -z "$(site_objs | grep -v " ${1:-/}$" | grep -v " ${2:-/}$")" ]; }
left_desc() { printf 'left: %s' "$(site_objs | tr '\n' ',')"; }

TRAP_LOOP='trap "echo graceful-stop; echo graceful >graceful; exit 143" TERM; echo started >started; echo started; while :; do sleep 0.2; done'

# ---- the job over its --time, and one whose jobcell stops it before
# (timeout_from = slurm): submitted first, they end a minute on ----
TO=$(submit v --time=1 -w n1 -- sh -c "$TRAP_LOOP")
TF=$(submit t --time=1 -w n2 -- sh -c "$TRAP_LOOP")

# ---- 20 jobs across both nodes, bind and volume mode ----
declare -A WANT NODE MODE
for i in $(seq 0 19); do
	code=$(((i * 37) % 200))
	node=n$((i % 2 + 1))
	mode=b
	[ $((i / 2 % 2)) = 1 ] && mode=v
	id=$(submit "$mode" -w "$node" -- sh -c 'echo "job $1 in $(pwd)"; exit "$1"' sh "$code")
	[ -n "$id" ] || { not_ok "sbatch of job $i" "no job id"; continue; }
	WANT[$id]=$code NODE[$id]=$node MODE[$id]=$mode
done
all=0 bad=()
for id in "${!WANT[@]}"; do
	wait_done "$id" 90 || { bad+=("$id: not ended: $(field "$id" JobState)"); continue; }
	ec=$(field "$id" ExitCode) st=$(field "$id" JobState) nl=$(field "$id" NodeList)
	jc_ec=$(jobcomp_field "$id" ExitCode)
	want_st=COMPLETED
	[ "${WANT[$id]}" = 0 ] || want_st=FAILED
	if [ "$ec" = "${WANT[$id]}:0" ] && [ "$jc_ec" = "${WANT[$id]}:0" ] && [ "$st" = "$want_st" ] &&
		[ "$nl" = "${NODE[$id]}" ]; then
		all=$((all + 1))
	else
		bad+=("$id (${MODE[$id]}, want exit ${WANT[$id]} on ${NODE[$id]}): scontrol $st $ec on $nl, jobcomp $jc_ec")
	fi
done
for id in $(printf '%s\n' "${!WANT[@]}" | sort -n); do show_job "$id"; done
if [ "${#WANT[@]}" = 20 ] && [ "$all" = 20 ]; then
	ok "20 jobs through sbatch: scontrol and jobcomp exit codes are the jobs' own"
else
	not_ok "20 jobs through sbatch: exit codes" "$all of ${#WANT[@]} right" "${bad[@]}"
fi
nodes=$(for id in "${!WANT[@]}"; do field "$id" NodeList; done | sort -u | tr '\n' ' ')
modes=$(for id in "${!WANT[@]}"; do printf '%s%s\n' "${MODE[$id]}" "$(field "$id" NodeList)"; done | sort -u | tr '\n' ' ')
if [ "$nodes" = "n1 n2 " ] && [ "$modes" = "bn1 bn2 vn1 vn2 " ]; then
	ok "both nodes ran jobs of both modes ($modes)"
else
	not_ok "both nodes ran jobs of both modes" "nodes: $nodes; mode+node: $modes"
fi
if nothing_left "slurm-$TO-batch" "slurm-$TF-batch"; then ok "20 jobs: nothing left"; else not_ok "20 jobs: nothing left" "$(left_desc)"; fi

# ---- scancel mid-job: the job's trap runs, CANCELLED, nothing left ----
id=$(submit b -w n2 -- sh -c "$TRAP_LOOP")
dir=$TMP/$SB/slurm-$id-batch
for ((i = 0; i < 150; i++)); do [ -e "$dir/started" ] && break; sleep 0.2; done
if [ -e "$dir/started" ]; then
	sl scancel "$id"
	wait_done "$id" 60
	show_job "$id"
	st=$(field "$id" JobState)
	if [ "$st" = CANCELLED ] && [ "$(jobcomp_field "$id" JobState)" = CANCELLED ] &&
		[ "$(field "$id" ExitCode)" = 143:0 ]; then
		ok "scancel: Slurm's state is CANCELLED, its exit code the job's 143"
	else
		not_ok "scancel: Slurm's state is CANCELLED, exit code 143" "scontrol: $st $(field "$id" ExitCode), jobcomp: $(jobcomp_field "$id" JobState)"
	fi
	if [ -e "$dir/graceful" ] && grep -q '^graceful-stop$' "$TMP/sout/$id.out"; then
		ok "scancel: the job's SIGTERM trap ran (its marker file and its output)"
	else
		not_ok "scancel: the job's SIGTERM trap ran" "$(ls "$dir" 2>&1)" "$(cat "$TMP/sout/$id.out")"
	fi
	if nothing_left "slurm-$TO-batch" "slurm-$TF-batch"; then ok "scancel: nothing left"; else not_ok "scancel: nothing left" "$(left_desc)"; fi
else
	not_ok "scancel: the job started" "$(field "$id" JobState)" "$(cat "$TMP/sout/$id.out" 2>&1)"
fi

# ---- without cgroup_parent the container escapes the allocation ----
# (docs/slurm.md): the job's cgroup holds jobcell, not the container
HOG='awk "BEGIN{s=\"x\"; while (length(s) < 268435456) s = s s; print \"allocated\", length(s)}"'
id=$(submit b -w n1 --mem=64M -- sh -c "$HOG")
wait_done "$id" 60
show_job "$id"
if [ "$(field "$id" JobState)" = COMPLETED ] && grep -q '^allocated 268435456$' "$TMP/sout/$id.out"; then
	ok "without cgroup_parent: a container under --mem=64M uses 256 MiB (the documented escape)"
else
	not_ok "without cgroup_parent: the container escapes --mem=64M" "$(cat "$TMP/sout/$id.out")"
fi

# ---- with cgroup_parent = slurm the allocation binds the container ----
"$JOBCELL" -c "$TMP/$SG.ini" plan probe -- true >/dev/null 2>"$TMP/err"
if grep -q 'unknown key `cgroup_parent`' "$TMP/err"; then
	skip "cgroup_parent = slurm" "this jobcell has no [job] cgroup_parent"
else
	id=$(submit g -w n1 --mem=64M -- sh -c "$HOG")
	wait_done "$id" 60
	show_job "$id"
	sed 's/^/  output: /' "$TMP/sout/$id.out"
	if [ "$(field "$id" ExitCode)" = 137:0 ] && ! grep -q '^allocated' "$TMP/sout/$id.out" &&
		grep -q "job \`slurm-$id-batch\` was killed for running out of memory" "$TMP/sout/$id.out"; then
		ok "cgroup_parent = slurm: --mem=64M OOM-kills the container at its 256 MiB, jobcell reports it, exit 137"
	else
		not_ok "cgroup_parent = slurm: --mem=64M OOM-kills the container" "$(field "$id" JobState) $(field "$id" ExitCode)" "$(cat "$TMP/sout/$id.out")"
	fi
	if nothing_left "slurm-$TO-batch" "slurm-$TF-batch"; then ok "cgroup_parent = slurm: OOM: nothing left"; else not_ok "cgroup_parent = slurm: OOM: nothing left" "$(left_desc)"; fi

	# where the container is while it runs, and scancel of such a job
	id=$(submit g -w n2 --mem=64M -- sh -c "$TRAP_LOOP")
	dir=$TMP/$SG/slurm-$id-batch
	for ((i = 0; i < 150; i++)); do [ -e "$dir/started" ] && break; sleep 0.2; done
	parent=$(engine_get "/containers/jobcell-$SG-slurm-$id-batch/json" 2>/dev/null |
		grep -o '"CgroupParent":"[^"]*"' | cut -d'"' -f4)
	limit=$(cat "/sys/fs/cgroup/memory/slurm_n2/uid_0/job_$id/memory.limit_in_bytes" 2>/dev/null)
	printf '  CgroupParent: %s, job %s memory.limit_in_bytes: %s\n' "$parent" "$id" "$limit"
	case $parent in
	"/slurm_n2/uid_0/job_$id" | "/slurm_n2/uid_0/job_$id"/*)
		if [ "$limit" = $((64 * 1024 * 1024)) ]; then
			ok "cgroup_parent = slurm: the container is under job $id's cgroup on n2, limit 64 MiB"
		else
			not_ok "cgroup_parent = slurm: the container's parent holds the job's limit" "limit '$limit'"
		fi
		;;
	*) not_ok "cgroup_parent = slurm: the container is under the job's cgroup" "CgroupParent '$parent'" ;;
	esac
	sl scancel "$id"
	wait_done "$id" 60
	show_job "$id"
	if [ "$(field "$id" JobState)" = CANCELLED ] && [ "$(field "$id" ExitCode)" = 143:0 ] &&
		[ -e "$dir/graceful" ] && nothing_left "slurm-$TO-batch" "slurm-$TF-batch"; then
		ok "cgroup_parent = slurm: scancel: CANCELLED, the trap ran, exit 143, nothing left"
	else
		not_ok "cgroup_parent = slurm: scancel" "$(field "$id" JobState) $(field "$id" ExitCode), graceful: $(ls "$dir" 2>&1)" "$(left_desc)" "$(cat "$TMP/sout/$id.out")"
	fi
	if [ -e "/sys/fs/cgroup/memory/slurm_n2/uid_0/job_$id" ]; then
		not_ok "cgroup_parent = slurm: the job's cgroup is gone after the job" "$(find "/sys/fs/cgroup/memory/slurm_n2/uid_0/job_$id" -type d)"
	else
		ok "cgroup_parent = slurm: the job's cgroup is gone after the job"
	fi
fi

# ---- [slurm] kill_wait that stop_grace + stop_margin do not fit: refused ----
id=$(submit k -w n1 -- sh -c 'echo ran')
wait_done "$id" 60
show_job "$id"
sed 's/^/  output: /' "$TMP/sout/$id.out"
if [ "$(field "$id" ExitCode)" = 125:0 ] && [ "$(wc -l <"$TMP/sout/$id.out")" = 1 ] &&
	grep -q '^jobcell: error: .*stop_grace (3s) + \[slurm\] stop_margin (5s) exceed \[slurm\] kill_wait (5s)' "$TMP/sout/$id.out" &&
	nothing_left "slurm-$TO-batch" "slurm-$TF-batch"; then
	ok "kill_wait 5s under stop_grace 3s + stop_margin 5s: refused, one line, exit 125, nothing made"
else
	not_ok "kill_wait too short: refused" "$(field "$id" JobState) $(field "$id" ExitCode)" "$(cat "$TMP/sout/$id.out")" "$(left_desc)"
fi

# ---- a node lost mid-job: the Epilog collects what it left ----
id=$(submit v -w n2 -- sh -c "$TRAP_LOOP")
job=slurm-$id-batch
if wait_running "jobcell-$SV-$job"; then
	# this job's jobcell, by its arguments: the node runs others
	jpid=
	for p in $(ip netns pids "${SL_NS}2"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = jobcell ] &&
			tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qx "$job" && jpid=$p
	done
	kill -KILL "${SL_SLURMD[n2]}" $jpid
	wait "${SL_SLURMD[n2]}" 2>/dev/null
	sleep 1
	left=$(left_of "$SV" "$job")
	if [ -n "$jpid" ] && [ "$left" = "1 containers, 1 volumes" ]; then
		ok "node n2 lost (slurmd and jobcell $jpid SIGKILLed): its container and volume are left"
	else
		not_ok "node n2 lost: its container and volume are left" "jobcell pid '$jpid', $left"
	fi
	printf '  before n2 returns: %s, completing: %s, epilog lines of the job: %s\n' \
		"$(field "$id" JobState)" "$(sl squeue -h -j "$id" -t CG -o %T 2>/dev/null || true)" \
		"$(grep -c -F "job $id node" "$SL/log/epilog.log" 2>/dev/null)"
	sl_slurmd_start n2
	for ((i = 0; i < 300; i++)); do
		[ "$(left_of "$SV" "$job")" = "0 containers, 0 volumes" ] && break
		sleep 0.2
	done
	wait_done "$id" 30
	show_job "$id"
	epi=$(grep -F "job $id node n2: removed" "$SL/log/epilog.log" 2>/dev/null)
	printf '%s\n' "$epi" | sed 's/^/  epilog: /'
	left=$(left_of "$SV" "$job")
	if [ "$left" = "0 containers, 0 volumes" ] && printf '%s' "$epi" | grep -q "container.*$job" &&
		printf '%s' "$epi" | grep -q "volume"; then
		ok "node n2 returned: the Epilog's gc removed what the lost job left"
	else
		not_ok "node n2 returned: the Epilog's gc removed what the lost job left" "$left" \
			"epilog log: $(cat "$SL/log/epilog.log" 2>&1)"
	fi
	if sl_wait "node n2" 30 sl_node_idle n2; then
		ok "node n2 back in service"
	else
		not_ok "node n2 back in service" "$(sl scontrol -o show node n2 | tr ' ' '\n' | grep -E '^(State|Reason)=')"
	fi
else
	not_ok "node loss: the job's container ran" "$(cat "$TMP/sout/$id.out" 2>&1)"
fi

# ---- the job over its --time ----
wait_done "$TO" 150
show_job "$TO"
st=$(field "$TO" JobState)
if [ "$st" = TIMEOUT ] && [ "$(jobcomp_field "$TO" JobState)" = TIMEOUT ] &&
	[ "$(field "$TO" ExitCode)" = 143:0 ]; then
	ok "--time passed: Slurm's state is TIMEOUT, its exit code the job's 143"
else
	not_ok "--time passed: Slurm's state is TIMEOUT, exit code 143" "scontrol: $st $(field "$TO" ExitCode), jobcomp: $(jobcomp_field "$TO" JobState)"
fi
if grep -q '^graceful-stop$' "$TMP/sout/$TO.out"; then
	ok "--time passed: the job's SIGTERM trap ran"
else
	not_ok "--time passed: the job's SIGTERM trap ran" "$(cat "$TMP/sout/$TO.out")"
fi
wait_done "$TF" 150
show_job "$TF"
sed 's/^/  output: /' "$TMP/sout/$TF.out"
st=$(field "$TF" JobState)
if [ "$st" = FAILED ] && [ "$(field "$TF" ExitCode)" = 124:0 ] && grep -q '^graceful-stop$' "$TMP/sout/$TF.out" &&
	grep -q "job \`slurm-$TF-batch\` timed out and was stopped" "$TMP/sout/$TF.out"; then
	ok "timeout_from = slurm: jobcell stopped the job before Slurm's limit (trap ran, exit 124, FAILED)"
else
	not_ok "timeout_from = slurm: jobcell stops the job before Slurm's limit" "scontrol: $st $(field "$TF" ExitCode)" "$(cat "$TMP/sout/$TF.out")"
fi
if nothing_left; then ok "after all jobs: nothing left"; else not_ok "after all jobs: nothing left" "$(left_desc)"; fi
# a failing Epilog drains its node: both idle means every Epilog of the run
# (one per job) exited 0
states=$(for n in n1 n2; do sl scontrol -o show node "$n" | tr ' ' '\n' | grep -E '^(NodeName|State|Reason)='; done | tr '\n' ' ')
if [ "$(printf '%s' "$states" | grep -o 'State=IDLE ' | wc -l)" = 2 ]; then
	ok "both nodes idle at the end: no Epilog failed"
else
	not_ok "both nodes idle at the end: no Epilog failed" "$states"
fi
printf 'slurm: %d s from start to end\n' "$SECONDS"
summary slurm
