#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in patterns are jobcell's quoting, not expansions
# Signals and the parent's death during the transfers of volume mode,
# against a real engine: each phase moves a couple of GiB (several seconds
# at least), is interrupted once it is under way, and must end within 5 s,
# with status 125, one error line naming the step and the cause, and
# nothing of the site left on the engine.  The phases: --input (SIGTERM,
# and the parent's death), --output (SIGINT; the job's own status is still
# reported), volume put, which is also the fill of a volume through a
# transfer container (SIGTERM), and volume get (SIGHUP).
. "$(dirname "$0")/lib.sh"
set -e
S=xt$$ # site-name prefix: unique per run, so leftovers are attributable
SITE=${S}x
SV_START=${S}-startup SV_LOCAL=${S}-local
XFER=$TMP/xfer # transfer_dir is empty: --input, --output and --to are beneath the cwd
mkdir -p "$XFER"
cd "$XFER"
BIG_IN=2G      # a sparse file on the host, sent as that many bytes
# what the job writes into its directory: not zeros, which the extraction
# seeks over (sparse) and so would not show in /proc/PID/io
BIG_OUT_MB=1536

nothing_left() { [ "$(count_site "$1")" = 0 ] && [ -z "$(site_vols "$1")" ]; }
left_desc() { printf '%s containers, volumes: %s' "$(count_site "$1")" "$(site_vols "$1" | tr '\n' ' ')"; }
vol_keep() { engine_get "/volumes/$1" 2>/dev/null | grep -q '"jobcell.keep":"true"'; }


if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	printf 'transfer: %d s\n' "$SECONDS"
summary transfer
	exit $?
fi
image_present jobcell-test/root:latest || { skip "real engine" "image jobcell-test/root is missing (run contrib/bootstrap.sh)"; summary transfer; exit $?; }

for v in "$SV_START" "$SV_LOCAL"; do
	engine_json POST /volumes/create "{\"Name\":\"$v\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null
done
SITES+=("$SITE")
C=$TMP/$SITE.ini
{
	printf '[engine]\nendpoint = unix://%s\n' "$SOCK"
	printf '[site]\nname = %s\n' "$SITE"
	printf '[workspace]\nmode = volume\n'
	printf '[volume]\nstartup_volume = %s\nlocal_volume = %s\n' "$SV_START" "$SV_LOCAL"
	printf '[job]\nimage = jobcell-test/root:latest\nallow_root = true\nuser = 0:0\n'
} >"$C"
truncate -s "$BIG_IN" big.in

# moved PID FIELD BYTES: true once /proc/PID/io's FIELD (rchar: what jobcell
# read, the input among it; wchar: what it wrote, the extracted output among
# it) passes BYTES: the transfer is under way.  60 s at most.
moved() {
	local i v
	for ((i = 0; i < 600; i++)); do
		v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/io" 2>/dev/null) || return 1
		[ -n "$v" ] || return 1
		[ "$v" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# halt NAME PID SIG FIELD ERRFILE PATTERN: once PID's transfer is under way,
# send SIG; it must exit within 5 s, 125, with one error line matching
# PATTERN.  Sets RC, ERR, MS.
halt() {
	local name=$1 pid=$2 sig=$3 field=$4 errf=$5 pat=$6 t0 lines
	if ! moved "$pid" "$field" $((64 << 20)); then
		kill -KILL "$pid" 2>/dev/null || true
		not_ok "$name" "the transfer never got under way: $(cat "$errf")"
		return
	fi
	t0=${EPOCHREALTIME/./}
	kill "-$sig" "$pid"
	if wait_gone "$pid" 5; then
		MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
		set +e; wait "$pid"; RC=$?; set -e
		ERR=$(cat "$errf")
		lines=$(printf '%s\n' "$ERR" | grep -c '^jobcell: error: ' || true)
		if [ "$RC" = 125 ] && [ "$lines" = 1 ] && printf '%s' "$ERR" | grep -qE -- "$pat"; then
			ok "$name (exit 125 ${MS} ms after $sig)"
		else
			not_ok "$name" "exit $RC (want 125), $lines error lines, want /$pat/" "stderr: $ERR"
		fi
	else
		kill -KILL "$pid" 2>/dev/null || true
		not_ok "$name" "jobcell still running 5 s after $sig" "$(cat "$errf")"
	fi
}

# ---- --input: SIGTERM while 2 GiB go into the job's container ----
"$JOBCELL" -c "$C" run jin --input big.in -- true >"$TMP/jin.out" 2>"$TMP/jin.err" &
pid=$!
BGPIDS+=("$pid")
halt "SIGTERM during --input ends the run" "$pid" TERM rchar "$TMP/jin.err" \
	"write files into container \`jobcell-$SITE-jin\`: interrupted by SIGTERM"
if nothing_left "$SITE"; then ok "after --input: the container and the volume are removed"; else not_ok "after --input: nothing left" "$(left_desc "$SITE")"; fi

# ---- --input: the parent dies; jobcell is reparented to a subreaper that
# reaps it and reports its status ----
parent_out=$(python3 - "$JOBCELL" "$C" "$TMP/jpar.err" <<'PY'
import ctypes, os, signal, subprocess, sys, time
jc, conf, errf = sys.argv[1:4]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
mid = subprocess.Popen(["sh", "-c", '"$0" "$@" >/dev/null 2>"$ERRF" </dev/null & echo $!; wait',
                        jc, "-c", conf, "run", "jpar", "--input", "big.in", "--", "true"],
                       stdout=subprocess.PIPE, env=dict(os.environ, ERRF=errf))
pid = int(mid.stdout.readline())
def rchar():
    with open("/proc/%d/io" % pid) as f:
        return int([l.split()[1] for l in f if l.startswith("rchar:")][0])
until = time.monotonic() + 60
while rchar() < 64 << 20 and time.monotonic() < until:
    time.sleep(0.1)
os.kill(mid.pid, signal.SIGKILL)
mid.wait()
t0 = time.monotonic()
while True:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p or time.monotonic() - t0 > 30:
        break
    time.sleep(0.02)
if not p:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print("hung", 30000)
else:
    print(os.waitstatus_to_exitcode(st), int((time.monotonic() - t0) * 1000))
PY
)
read -r RC MS <<<"$parent_out"
ERR=$(cat "$TMP/jpar.err")
if [ "$RC" = 125 ] && [ "$MS" -le 5000 ] && [ "$(printf '%s\n' "$ERR" | grep -c '^jobcell: error: ')" = 1 ] &&
	printf '%s' "$ERR" | grep -q "write files into container \`jobcell-$SITE-jpar\`: the parent went away"; then
	ok "the parent's death during --input ends the run (exit 125 ${MS} ms after)"
else
	not_ok "the parent's death during --input ends the run" "exit $RC after $MS ms" "stderr: $ERR"
fi
if nothing_left "$SITE"; then ok "after the parent's death: the container and the volume are removed"; else not_ok "after the parent's death: nothing left" "$(left_desc "$SITE")"; fi

# ---- --output: SIGINT while 1.5 GiB come back; the volume is kept (for
# volume get below), the job's own status is reported ----
"$JOBCELL" -c "$C" --status-fd 3 run jout --keep --output got.out -- \
	sh -c "dd if=/dev/zero bs=1M count=$BIG_OUT_MB 2>/dev/null | tr '\\0' x >big" >"$TMP/jout.out" 2>"$TMP/jout.err" 3>"$TMP/jout.rec" &
pid=$!
BGPIDS+=("$pid")
halt "SIGINT during --output ends the run" "$pid" INT wchar "$TMP/jout.err" \
	"output of job \`jout\` into \`got.out\`: read files from container \`jobcell-$SITE-jout\`: interrupted by SIGINT"
if grep -q '"exit_code":125' "$TMP/jout.rec" && grep -q '"job_status":0' "$TMP/jout.rec" &&
	grep -q '^jobcell: job `jout` exited with status 0$' "$TMP/jout.err"; then
	ok "the --json record of the cut fetch has exit_code 125 and the job's status 0"
else
	not_ok "the --json record of the cut fetch has the job's status" "$(cat "$TMP/jout.rec")" "$(cat "$TMP/jout.err")"
fi
KEPT=$(site_vols "$SITE")
if [ "$(count_site "$SITE")" = 0 ] && [ "$(printf '%s\n' "$KEPT" | grep -c .)" = 1 ] && vol_keep "$KEPT"; then
	ok "after --output: the container is removed, the --keep volume kept"
else
	not_ok "after --output: the container is removed, the --keep volume kept" "$(left_desc "$SITE")"
fi
rm -rf got.out # cut short: what came is documented as partial

# ---- volume get: SIGHUP while the kept volume comes back ----
"$JOBCELL" -c "$C" volume get "$KEPT" --to got.vol >/dev/null 2>"$TMP/vget.err" &
pid=$!
BGPIDS+=("$pid")
halt "SIGHUP during volume get ends it" "$pid" HUP wchar "$TMP/vget.err" \
	"read files from container \`[0-9a-f]{12,}\`: interrupted by SIGHUP"
if [ "$(count_site "$SITE")" = 0 ]; then ok "after volume get: its transfer container is removed"; else not_ok "after volume get: its transfer container is removed" "$(left_desc "$SITE")"; fi
rm -rf got.vol

# ---- volume put (the fill of a volume through a transfer container):
# SIGTERM while 2 GiB go in ----
"$JOBCELL" -c "$C" volume put "$KEPT" big.in >/dev/null 2>"$TMP/vput.err" &
pid=$!
BGPIDS+=("$pid")
halt "SIGTERM during volume put (the fill) ends it" "$pid" TERM rchar "$TMP/vput.err" \
	"fill volume \`$KEPT\` through a transfer container: write files into container \`[0-9a-f]{12,}\`: interrupted by SIGTERM"
if [ "$(count_site "$SITE")" = 0 ]; then ok "after volume put: its transfer container is removed"; else not_ok "after volume put: its transfer container is removed" "$(left_desc "$SITE")"; fi

jc -c "$C" volume rm "$KEPT"
expect_rc "volume rm of the kept volume" 0
if nothing_left "$SITE"; then ok "nothing labelled with the site is left"; else not_ok "nothing labelled with the site is left" "$(left_desc "$SITE")"; fi
printf 'transfer: %d s\n' "$SECONDS"
summary transfer
