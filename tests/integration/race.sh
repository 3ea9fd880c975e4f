#!/usr/bin/env bash
# The check-to-mount race (docs/security.md, "Check to mount"): a process
# that owns the workspace root swaps the job directory with a symlink to a
# directory outside, in a loop (renameat2 RENAME_EXCHANGE), while jobs
# launch.  Each job writes a marker into its job directory; a marker that
# lands outside is an escape.  jobcell may refuse a launch (it saw the
# symlink, its recheck saw the swap, or the gate in the container saw
# another directory: "mount check:"); it must never let the job write
# outside.  JOBCELL_RACE_LAUNCHES (default 100) launches; the counts go to
# the summary line.
. "$(dirname "$0")/lib.sh"
set -e
S=race$$
N=${JOBCELL_RACE_LAUNCHES:-100}

if ! engine_up; then
	skip "race" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary race
	exit $?
fi
image_present jobcell-test/root:latest || {
	skip "race" "image jobcell-test/root:latest is missing (run contrib/bootstrap.sh)"
	summary race
	exit $?
}
command -v python3 >/dev/null || { skip "race" "no python3 for the swapping loop"; summary race; exit $?; }

make_site "$S" image=jobcell-test/root:latest user=65532:65532
WS=$TMP/$S
OUTSIDE=$TMP/outside
mkdir -p "$WS/victim" "$OUTSIDE"
chown 65532:65532 "$WS/victim" "$OUTSIDE"
chmod 0700 "$WS/victim"
ln -s "$OUTSIDE" "$WS/.swap"

# the swapper: exchange `victim` and `.swap` (the symlink) as fast as it can
cat >"$TMP/swap.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
os.chdir(sys.argv[1])
a, b = b"victim", b".swap"
while True:
    libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
PY
python3 "$TMP/swap.py" "$WS" &
SWAPPER=$!
trap 'kill "$SWAPPER" 2>/dev/null || true; wait "$SWAPPER" 2>/dev/null || true; cleanup_all' EXIT

escaped=0 caught=0 proved=0 refused=0 ran=0 other=0 first_other=""
start=$(date +%s)
# N launches, and more (up to 3 N) until one has run: under the loop most
# are refused, and each check in front of the start (the recheck, the mount
# proof, the gate) lowers the share that runs to a few in a hundred
for ((i = 0; i < N || (ran == 0 && i < 3 * N); i++)); do
	jc -c "$TMP/$S.ini" run victim -- sh -c "echo $i >/workspace/victim/m.$i"
	if [ -e "$OUTSIDE/m.$i" ]; then
		escaped=$((escaped + 1))
	elif [ "$RC" = 0 ]; then
		ran=$((ran + 1))
	elif [ "$RC" = 125 ] && printf '%s' "$ERR" | grep -q '^jobcell: error: mount check: job directory `victim` in the container is not the one checked (dev:ino [0-9]*:[0-9]*, expected [0-9]*:[0-9]*)$'; then
		caught=$((caught + 1))
	elif [ "$RC" = 125 ] && printf '%s' "$ERR" | grep -q '^jobcell: error: mount `victim` of job `victim`: the engine did not mount the directory jobcell checked (no proof file at /workspace/victim; '; then
		proved=$((proved + 1))
	elif [ "$RC" = 125 ] && printf '%s' "$ERR" | grep -q '^jobcell: error: job directory `victim` is a symlink\|^jobcell: error: open job directory `victim`: Not a directory\|^jobcell: error: recheck workspace: \|^jobcell: error: job directory `victim` was removed or replaced while this run took it$'; then
		refused=$((refused + 1))
		[ -z "${JOBCELL_RACE_VERBOSE:-}" ] || printf "refused: %s\n" "$ERR" | sed "s/[0-9][0-9]*/N/g"
	else
		other=$((other + 1))
		[ -n "$first_other" ] || first_other="rc $RC: $ERR"
	fi
done
secs=$(($(date +%s) - start))
kill "$SWAPPER" 2>/dev/null || true
wait "$SWAPPER" 2>/dev/null || true
printf 'race-%s: %d launches in %d s: %d escaped, %d caught by the mount gate, %d by the mount proof, %d refused before start, %d ran inside, %d other\n' \
	"$ENGINE_NAME" "$i" "$secs" "$escaped" "$caught" "$proved" "$refused" "$ran" "$other"
if [ "$escaped" = 0 ]; then ok "no job wrote outside its directory ($i launches)"; else
	not_ok "no job wrote outside its directory ($i launches)" "$escaped escaped: $(ls "$OUTSIDE" | head -5 | tr '\n' ' ')"; fi
if [ "$other" = 0 ]; then ok "every refusal is one of the known ones"; else
	not_ok "every refusal is one of the known ones" "$other others, the first: $first_other"; fi
if [ "$ran" -gt 0 ]; then ok "jobs still run while the loop swaps ($ran)"; else
	not_ok "jobs still run while the loop swaps" "none of $i ran"; fi
[ "$(count_site "$S")" = 0 ] && ok "no container left behind" || not_ok "no container left behind" "$(count_site "$S") left"
summary race
