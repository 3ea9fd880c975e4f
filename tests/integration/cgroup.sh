#!/usr/bin/env bash
# [job] cgroup_parent on the real engine: the container's cgroup is made
# under the parent, and the parent's memory limit binds it.  A Slurm job's
# cgroup is stood in for by one this script makes in Slurm 22.05's layout
# (cgroup v1: /<top>/uid_0/job_<id>/step_0 in each controller; v2:
# /<top>/job_<id>/step_0), with jobcell run as a task of its step: moved
# into step_0 before it starts, SLURM_JOB_ID set.  The real Slurm cluster
# suite runs the same under slurmd.  Needs root and a writable cgroup
# hierarchy; else SKIP.
. "$(dirname "$0")/lib.sh"
set -e
S=cg$$
JOBID=$((700000000 + $$ % 100000))
TOP=jobcell-it-$S
LIMIT=$((64 << 20))

finish() { summary cgroup; }

CG=/sys/fs/cgroup
if [ "$(wc -l </proc/self/cgroup)" = 1 ] && grep -q '^0::' /proc/self/cgroup; then
	V=2 MEMROOT=$CG
	JOBREL=/$TOP/job_$JOBID
else
	V=1 MEMROOT=$CG/memory
	JOBREL=/$TOP/uid_0/job_$JOBID
fi
STEP=$MEMROOT$JOBREL/step_0

cg_cleanup() {
	set +e
	cleanup_all
	# children before parents; the engines' own (a container's, Podman's
	# conmon) are empty once their containers are gone
	local c d
	for c in "$CG"/*/ "$CG"/; do
		[ -d "$c$TOP" ] || continue
		find "$c$TOP" -depth -type d 2>/dev/null | while read -r d; do rmdir "$d" 2>/dev/null; done
	done
}
trap cg_cleanup EXIT

pre() {
	skip "cgroup parent" "$1"
	finish
	exit $?
}
[ "$(id -u)" -eq 0 ] || pre "needs root (makes cgroups)"
engine_up || pre "no engine at $SOCK"
image_present jobcell-test/root || pre "no image jobcell-test/root"
mkdir -p "$STEP" 2>/dev/null || pre "cannot make a cgroup under $MEMROOT"
if [ "$V" = 2 ]; then
	for d in "$CG/$TOP" "$MEMROOT$JOBREL"; do
		echo +memory >"$d/../cgroup.subtree_control" 2>/dev/null || true
	done
	echo +memory >"$MEMROOT$JOBREL/cgroup.subtree_control" || pre "cannot enable the memory controller"
	echo "$LIMIT" >"$MEMROOT$JOBREL/memory.max"
	echo 0 >"$MEMROOT$JOBREL/memory.swap.max" 2>/dev/null || true
else
	echo "$LIMIT" >"$MEMROOT$JOBREL/memory.limit_in_bytes"
	# no swap beyond it where the kernel accounts swap
	[ ! -e "$MEMROOT$JOBREL/memory.memsw.limit_in_bytes" ] ||
		echo "$LIMIT" >"$MEMROOT$JOBREL/memory.memsw.limit_in_bytes"
fi
ok "a Slurm-shaped job cgroup $JOBREL (cgroup v$V) with a 64 MiB memory limit"

# in_step CMD...: run CMD as a task of the job's step, SLURM_JOB_ID set
in_step() {
	(
		echo "$BASHPID" >"$STEP/cgroup.procs"
		export SLURM_JOB_ID=$JOBID
		exec "$@"
	)
}
# jc_step ARGS...: jc (lib.sh) as a task of the step
jc_step() {
	set +e
	in_step "$JOBCELL" "$@" >"$TMP/out" 2>"$TMP/err" 3>"$TMP/rec"
	RC=$?
	set -e
	OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err"); REC=$(cat "$TMP/rec")
}

# 256 MiB held in a shell variable: past the job's 64 MiB
HOG='x=$(head -c 268435456 /dev/zero | tr "\0" a); echo survived'

make_site "${S}a" "image=jobcell-test/root" "allow_root=true" "cgroup_parent=slurm"
SITE=${S}a

# the container's cgroup, seen from the host while it runs
in_step "$JOBCELL" -c "$TMP/$SITE.ini" run j1 -- sleep 5 >"$TMP/j1.out" 2>&1 &
pid=$!
BGPIDS+=("$pid")
if wait_running "jobcell-$SITE-j1"; then
	cid=$(engine_get "/containers/jobcell-$SITE-j1/json" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
	found=$(find "$MEMROOT/$TOP" -type d -name "*$cid*" 2>/dev/null | head -n 1)
	case "$found" in
	"$MEMROOT$JOBREL/"*) ok "the container's cgroup is under the Slurm job's: ${found#"$MEMROOT"}" ;;
	*) not_ok "the container's cgroup is under the Slurm job's" "found ${found:-nothing} for $cid" ;;
	esac
else
	not_ok "the container's cgroup is under the Slurm job's" "never ran: $(cat "$TMP/j1.out")"
fi
set +e; wait "$pid"; RC=$?; set -e
ERR=$(cat "$TMP/j1.out")
expect_rc "that job ends 0" 0

# the job's limit binds the container: the OOM killer stops it
jc_step -c "$TMP/$SITE.ini" run j2 -- sh -c "$HOG"
expect_rc "a job past the Slurm job's memory limit is killed (137)" 137
case "$OUT" in
*survived*) not_ok "no output past the limit" "stdout: $OUT" ;;
*) ok "no output past the limit" ;;
esac
if [ "$ENGINE_NAME" = podman ]; then
	# Podman 4.3 reports OOMKilled only for the container's own limit
	if printf '%s' "$ERR" | grep -q 'running out of memory'; then
		not_ok "Podman reports no OOM kill for a parent's limit (documented)" "stderr: $ERR"
	else
		ok "Podman reports no OOM kill for a parent's limit (documented)"
	fi
else
	if printf '%s' "$ERR" | grep -q "job \`j2\` was killed for running out of memory"; then
		ok "jobcell reports the OOM kill"
	else
		not_ok "jobcell reports the OOM kill" "stderr: $ERR"
	fi
fi
[ "$(count_site "$SITE")" = 0 ] && ok "nothing left after the OOM kill" ||
	not_ok "nothing left after the OOM kill" "$(site_ids "$SITE")"

# without the key, the same job in the same step escapes the limit
make_site "${S}b" "image=jobcell-test/root" "allow_root=true"
jc_step -c "$TMP/${S}b.ini" run j3 -- sh -c "$HOG"
if [ "$RC" = 0 ] && [ "$OUT" = survived ]; then
	ok "without cgroup_parent the container escapes the Slurm job's limit (documented)"
else
	not_ok "without cgroup_parent the container escapes the Slurm job's limit (documented)" \
		"exit $RC, stdout $OUT, stderr $ERR"
fi

# an explicit path
make_site "${S}c" "image=jobcell-test/root" "allow_root=true" "cgroup_parent=/$TOP/explicit"
"$JOBCELL" -c "$TMP/${S}c.ini" run j4 -- sleep 5 >"$TMP/j4.out" 2>&1 &
pid=$!
BGPIDS+=("$pid")
if wait_running "jobcell-${S}c-j4"; then
	cid=$(engine_get "/containers/jobcell-${S}c-j4/json" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
	found=$(find "$MEMROOT/$TOP/explicit" -type d -name "*$cid*" 2>/dev/null | head -n 1)
	[ -n "$found" ] && ok "an explicit cgroup_parent holds the container" ||
		not_ok "an explicit cgroup_parent holds the container" "no cgroup of $cid under /$TOP/explicit"
else
	not_ok "an explicit cgroup_parent holds the container" "never ran: $(cat "$TMP/j4.out")"
fi
set +e; wait "$pid"; set -e

# refusals: one line, 125, nothing made
jc -c "$TMP/$SITE.ini" run j5 -- true
expect_refusal "cgroup_parent = slurm outside a Slurm job" 125 \
	'cgroup_parent = slurm: SLURM_JOB_ID is not set: jobcell runs outside a Slurm job'
set +e
SLURM_JOB_ID=$JOBID "$JOBCELL" -c "$TMP/$SITE.ini" run j6 -- true >"$TMP/out" 2>"$TMP/err"
RC=$?
set -e
ERR=$(cat "$TMP/err")
expect_refusal "cgroup_parent = slurm from outside the job's cgroup" 125 \
	"is not in Slurm job $JOBID's cgroup"
[ "$(count_site "$SITE")" = 0 ] && ok "refusals left nothing" ||
	not_ok "refusals left nothing" "$(site_ids "$SITE")"

# jobcell check: the cgroup-parent row, and the probe run either way
crow() { printf '%s\n' "$OUT" | awk -v n="$1" '$1 == n { print $2; exit }'; }
jc -c "$TMP/$SITE.ini" check
if [ "$RC" = 1 ] && [ "$(crow cgroup-parent)" = unknown ] && [ "$(crow probe)" = kept ]; then
	ok "check outside a Slurm job: cgroup-parent unknown, the probe runs"
else
	not_ok "check outside a Slurm job: cgroup-parent unknown, the probe runs" "exit $RC" "$OUT" "$ERR"
fi
jc_step -c "$TMP/$SITE.ini" check
# (the exit status is the promises' too, which this bare site does not all keep)
if [ "$RC" != 125 ] && [ "$(crow cgroup-parent)" = kept ] && [ "$(crow probe)" = kept ] &&
	printf '%s\n' "$OUT" | grep -q "under Slurm job $JOBID's cgroup \`$JOBREL\`"; then
	ok "check in the job: cgroup-parent kept, naming the job's cgroup"
else
	not_ok "check in the job: cgroup-parent kept, naming the job's cgroup" "exit $RC" "$OUT" "$ERR"
fi
[ "$(count_site "$SITE")" = 0 ] && ok "check left nothing" ||
	not_ok "check left nothing" "$(site_ids "$SITE")"

finish
