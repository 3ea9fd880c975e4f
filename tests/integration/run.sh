#!/usr/bin/env bash
# Integration tests: build/jobcell against a real engine.  The isolation
# contract is checked from inside the container, as root and as 65532.
. "$(dirname "$0")/lib.sh"
set -e
S=it$$ # site-name prefix: unique per run, so leftovers are attributable

# ---- refusals that need no engine: one error line, status 125 ----
make_site "${S}in" image=jobcell-test/root:latest
C=$TMP/${S}in.ini
for bad in '..' '.' 'a/b' 'startup' 'Local' '.hidden' 'a b' "$(printf 'a\nb')" \
	"$(printf 'x%.0s' $(seq 65))"; do
	jc -c "$C" run "$bad" -- true
	expect_refusal "job name $(printf '%q' "$bad") refused" 125 'job name'
done
jc -c "$C" run ok --env '1BAD=x' -- true
expect_refusal "env name refused" 125 "environment name"
jc -c "$C" run ok --image 'bad image' -- true
expect_refusal "image with a space refused" 125 "image has a character"
printf '[job]\nimage = x\nnope = 1\n' >"$TMP/unknown.ini"
jc -c "$TMP/unknown.ini" run ok -- true
expect_refusal "unknown key refused with file:line" 125 "unknown.ini:3: unknown key \`nope\`"
printf '[site]\nname = x\n[wat]\n' >"$TMP/section.ini"
jc -c "$TMP/section.ini" run ok -- true
expect_refusal "unknown section refused with file:line" 125 "section.ini:3: unknown section \[wat\]"
printf '[job]\nstop_grace = 10 parsecs\n' >"$TMP/dur.ini"
jc -c "$TMP/dur.ini" run ok -- true
expect_refusal "malformed duration refused" 125 "dur.ini:2: \[job\] stop_grace"
jc -c "$C" run ok --timeout 5x -- true
expect_refusal "malformed --timeout refused" 125 "--timeout \`5x\`"
jc -c "$C" start ok -i -- cat
expect_refusal "start -i refused: nothing would pass the input" 125 "start: \`-i\` needs \`run\`"
jc --site '../etc' run ok -- true
expect_refusal "--site with traversal refused" 125 "site name"
mkdir -p "$TMP/cfgdir" && printf '[site]\nname = other\n' >"$TMP/cfgdir/mine.ini"
JOBCELL_CONFIG_DIR=$TMP/cfgdir jc --site mine plan j
expect_refusal "--site file naming another site refused" 125 "name \`other\` does not match --site \`mine\`"
mkdir -p "$TMP/ww/startup" "$TMP/ww/local" && chmod 0777 "$TMP/ww"
sed "s#^path = .*#path = $TMP/ww#" "$C" >"$TMP/ww.ini"
jc -c "$TMP/ww.ini" run ok -- true
expect_refusal "world-writable workspace root refused" 125 "group- or world-writable"
jc -c "$C" plan planjob -- echo hi
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q '"/workspace":	"ro,mode=0555,' &&
	printf '%s' "$OUT" | grep -q '"WorkingDir":	"/workspace/planjob"' &&
	[ ! -e "$TMP/${S}in/planjob" ]; then
	ok "plan prints the create body and creates nothing"
else
	not_ok "plan prints the create body and creates nothing" "rc $RC: $OUT $ERR"
fi

if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary integration
	exit $?
fi
for img in jobcell-test/root:latest jobcell-test/nonroot:latest; do
	image_present "$img" || { skip "real engine" "image $img is missing (run contrib/bootstrap.sh)"; summary integration; exit $?; }
done

# ---- exit statuses ----
make_site "${S}x" image=jobcell-test/root:latest user=0:0 allow_root=true stop_grace=2s
C=$TMP/${S}x.ini
jc -c "$C" run j0 -- true
expect_rc "exit status 0 passes through" 0
jc -c "$C" run j3 -- sh -c 'exit 3'
expect_rc "exit status 3 passes through" 3
jc -c "$C" run j127 -- no-such-command
expect_refusal "missing command gives 127" 127 'executable file not found'
printf 'echo x\n' >"$TMP/${S}x/startup/script" && chmod 0644 "$TMP/${S}x/startup/script"
jc -c "$C" run j126 -- /workspace/startup/script
expect_refusal "non-executable command gives 126" 126 'permission denied'
jc -c "$C" run jout -- sh -c 'echo to-stdout; echo to-stderr >&2'
if [ "$OUT" = to-stdout ] && printf '%s' "$ERR" | grep -qx to-stderr; then
	ok "stdout and stderr are demultiplexed"
else
	not_ok "stdout and stderr are demultiplexed" "out=$OUT err=$ERR"
fi

# killed from outside by SIGKILL: 128+9
"$JOBCELL" -c "$C" run jkill -- sleep 30 >"$TMP/kill.out" 2>&1 &
pid=$!
wait_running "jobcell-${S}x-jkill" || not_ok "jkill container never ran"
engine_req POST "/containers/jobcell-${S}x-jkill/kill?signal=KILL" >/dev/null
set +e; wait "$pid"; RC=$?; set -e; ERR=$(cat "$TMP/kill.out")
expect_rc "a job killed by SIGKILL gives 137" 137

# ---- run -i: the caller's stdin is the job's (issue 14) ----
printf '{"a":1}' >"$TMP/params.json"
set +e
printf '{"a":1}' | "$JOBCELL" -c "$C" run -i jin -- cat >"$TMP/jin.out" 2>"$TMP/jin.err"
RC=$?
set -e
if [ "$RC" = 0 ] && cmp -s "$TMP/jin.out" "$TMP/params.json" && [ ! -s "$TMP/jin.err" ]; then
	ok "run -i: JSON on stdin comes back exactly through cat"
else
	not_ok "run -i: JSON on stdin comes back exactly through cat" "rc $RC: $(od -c "$TMP/jin.out" | head -3)" "$(cat "$TMP/jin.err")"
fi
# ending in Podman's default detach keys (ctrl-p ctrl-q), which must not
# cut it
head -c 10485758 /dev/urandom >"$TMP/big.bin"
printf '\020\021' >>"$TMP/big.bin"
want=$(sha256sum "$TMP/big.bin" | cut -c1-64)
set +e
"$JOBCELL" -c "$C" run --stdin jbig -- sh -c 'tee /tmp/in | sha256sum; wc -c </tmp/in' \
	<"$TMP/big.bin" >"$TMP/jbig.out" 2>"$TMP/jbig.err"
RC=$?
cat "$TMP/big.bin" | "$JOBCELL" -c "$C" run -i jbig2 -- sha256sum >"$TMP/jbig2.out" 2>>"$TMP/jbig.err"
RC2=$?
set -e
# /tmp is the site's tmpfs (64 MiB by default): 10 MiB fits
if [ "$RC" = 0 ] && [ "$(sed -n 1p "$TMP/jbig.out")" = "$want  -" ] &&
	[ "$(sed -n 2p "$TMP/jbig.out")" = 10485760 ] && [ "$RC2" = 0 ] &&
	[ "$(cat "$TMP/jbig2.out")" = "$want  -" ]; then
	ok "run -i: 10 MiB of binary stdin (a file, a pipe) reach the job byte-exact"
else
	not_ok "run -i: 10 MiB of binary stdin reach the job byte-exact" "rc $RC/$RC2, want $want: $(cat "$TMP/jbig.out" "$TMP/jbig2.out")" "$(cat "$TMP/jbig.err")"
fi
jc -c "$C" run -i jnoread -- true </dev/zero
if [ "$RC" = 0 ] && [ -z "$ERR" ]; then
	ok "run -i: a job that never reads an endless stdin exits 0, no error"
else
	not_ok "run -i: a job that never reads an endless stdin exits 0" "rc $RC: $ERR"
fi
# a caller that never closes its stdin: the timeout acts all the same
mkfifo "$TMP/never"
sleep 120 >"$TMP/never" &
spid=$!
BGPIDS+=("$spid")
t0=$(date +%s)
jc -c "$C" run -i --timeout 2s jopen -- cat <"$TMP/never"
t1=$(date +%s)
kill "$spid" 2>/dev/null || true
if [ "$RC" = 124 ] && [ $((t1 - t0)) -lt 60 ]; then
	ok "run -i: stdin never closed, the timeout gives 124 (in $((t1 - t0)) s)"
else
	not_ok "run -i: stdin never closed, the timeout gives 124" "rc $RC after $((t1 - t0)) s: $ERR"
fi
# SIGTERM while stdin is open: the graceful stop, the job's trap runs
mkfifo "$TMP/never2"
sleep 120 >"$TMP/never2" &
spid=$!
BGPIDS+=("$spid")
"$JOBCELL" -c "$C" run -i jterm -- sh -c 'trap "echo stopped; exit 7" TERM
	cat >/dev/null & while :; do sleep 0.2; done' <"$TMP/never2" >"$TMP/jterm.out" 2>&1 &
pid=$!
if wait_running "jobcell-${S}x-jterm"; then
	sleep 0.5
	kill -TERM "$pid"
	if wait_gone "$pid" 15; then
		set +e; wait "$pid"; RC=$?; set -e
		if [ "$RC" = 7 ] && grep -qx stopped "$TMP/jterm.out"; then
			ok "run -i: SIGTERM while stdin is open stops the job gracefully"
		else
			not_ok "run -i: SIGTERM while stdin is open stops the job gracefully" "rc $RC: $(cat "$TMP/jterm.out")"
		fi
	else
		kill -KILL "$pid" 2>/dev/null || true
		not_ok "run -i: SIGTERM while stdin is open" "jobcell still running 15 s after the signal"
	fi
else
	kill -KILL "$pid" 2>/dev/null || true
	not_ok "run -i: SIGTERM while stdin is open" "container never ran: $(cat "$TMP/jterm.out")"
fi
kill "$spid" 2>/dev/null || true
if [ "$(count_site "${S}x")" = 0 ]; then
	ok "run -i: no container left"
else
	not_ok "run -i: no container left" "$(count_site "${S}x") left"
fi

# ---- output is never lost: a last line without '\n' (issue 11 item 6) ----
# it reaches the engine's log only at the exit, racing the end of the
# follow stream; 100 jobs, four at a time, every output exact
lost=0
for ((i = 0; i < 100; i += 4)); do
	for k in 0 1 2 3; do
		"$JOBCELL" -c "$C" run "last$((i + k))" -- printf 'last line without newline' \
			>"$TMP/last$k.out" 2>"$TMP/last$k.err" &
	done
	wait
	for k in 0 1 2 3; do
		if [ "$(cat "$TMP/last$k.out")" != 'last line without newline' ] || [ -s "$TMP/last$k.err" ]; then
			lost=$((lost + 1))
			[ $lost -le 3 ] && printf '     job last%d: [%s] %s\n' $((i + k)) "$(cat "$TMP/last$k.out")" "$(cat "$TMP/last$k.err")"
		fi
	done
done
if [ $lost = 0 ]; then
	ok "a last line without newline is delivered exactly, 100 of 100 jobs"
else
	not_ok "a last line without newline is delivered exactly" "$lost of 100 jobs lost or changed it"
fi

# ---- no writable mount beyond the site's sizes (issue 11 item 7) ----
# Podman mounts its own writable /run and /var/tmp (half the host's memory
# each) on a read-only root unless the create names them: as root, 80 MiB
# must fit nowhere but the job directory
jc -c "$C" run scratch -- sh -c 'for d in /run /var/tmp /dev/shm /tmp; do
	dd if=/dev/zero of=$d/big bs=1M count=80 2>/dev/null && echo "WROTE $d"; rm -f $d/big; done
	grep -E " /(run|var/tmp) " /proc/self/mountinfo'
if [ "$RC" = 0 ] && ! printf '%s' "$OUT" | grep -q WROTE &&
	[ "$(printf '%s\n' "$OUT" | grep -cE '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ /(run|var/tmp) ro,')" = 2 ]; then
	ok "no 80 MiB write fits in /run, /var/tmp, /dev/shm or /tmp; /run and /var/tmp are read-only"
else
	not_ok "no 80 MiB write fits in /run, /var/tmp, /dev/shm or /tmp" "rc $RC: $OUT" "$ERR"
fi

# ---- the isolation contract, from inside ----
probe='
fail=0
t() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1"; fail=1; fi; }
t "root not writable" "! touch /workspace/planted 2>/dev/null"
t "root no mkdir" "! mkdir /workspace/d 2>/dev/null"
t "only three entries" "[ \"\$(ls -A /workspace | tr \"\n\" \" \")\" = \"local $JOB startup \" ]"
t "no sibling" "[ ! -e /workspace/sibling ]"
t "startup readable" "[ -s /workspace/startup/fed.json ]"
t "startup read-only" "! touch /workspace/startup/x 2>/dev/null"
t "local read-only" "! touch /workspace/local/x 2>/dev/null"
t "cwd is job dir" "[ \"\$(pwd)\" = /workspace/$JOB ]"
t "job dir writable" "echo from-job-\$(id -u) > result.txt"
t "no engine socket" "[ ! -e /var/run/docker.sock ] && [ ! -e /run/docker.sock ]"
t "rootfs read-only" "! touch /etc/planted 2>/dev/null"
t "tmp writable" "echo x > /tmp/x"
t "no capabilities" "grep -q \"^CapEff:.0000000000000000\" /proc/self/status"
t "no new privileges" "grep -q \"^NoNewPrivs:.1\" /proc/self/status"
t "no network" "[ \"\$(ls /sys/class/net)\" = lo ]"
exit $fail'
for who in root nonroot; do
	if [ $who = root ]; then
		make_site "${S}$who" image=jobcell-test/root:latest user=0:0 allow_root=true
		want_uid=0
	else
		make_site "${S}$who" image=jobcell-test/nonroot:latest # user from the image
		want_uid=65532
	fi
	mkdir -p "$TMP/${S}$who/sibling" && echo secret >"$TMP/${S}$who/sibling/s"
	jc -c "$TMP/${S}$who.ini" run probe --env JOB=probe -- sh -c "JOB=probe; $probe"
	if [ "$RC" = 0 ]; then
		ok "isolation contract holds as $who ($(printf '%s' "$OUT" | grep -c '^ok') checks)"
	else
		not_ok "isolation contract holds as $who" "$(printf '%s' "$OUT" | grep FAIL)" "$ERR"
	fi
	f=$TMP/${S}$who/probe/result.txt
	if [ "$(cat "$f" 2>/dev/null)" = "from-job-$want_uid" ] &&
		[ "$(stat -c %u "$TMP/${S}$who/probe")" = $want_uid ]; then
		ok "file written by the $who job is on the host; job dir owned by $want_uid"
	else
		not_ok "file written by the $who job is on the host" "$(ls -la "$TMP/${S}$who/probe" 2>&1)"
	fi
	if [ ! -e "$TMP/${S}$who/planted" ] && [ ! -e "$TMP/${S}$who/startup/x" ]; then
		ok "nothing planted in the $who site's workspace"
	else
		not_ok "nothing planted in the $who site's workspace"
	fi
done

# ---- symlinked job directories: 125, nothing created on the engine ----
make_site "${S}ln" image=jobcell-test/root:latest user=0:0 allow_root=true
W=$TMP/${S}ln
mkdir -p "$W/other"
ln -s / "$W/toroot"; ln -s other "$W/tosib"; ln -s startup "$W/tostartup"; ln -s nowhere "$W/dangling"
mkfifo "$W/fifo"; touch "$W/file"
for j in toroot tosib tostartup dangling; do
	jc -c "$TMP/${S}ln.ini" run "$j" -- true
	expect_refusal "job dir symlink ($j) refused" 125 "job directory \`$j\` is a symlink"
done
jc -c "$TMP/${S}ln.ini" run fifo -- true
expect_refusal "job dir fifo refused" 125 "job directory \`fifo\` is a fifo"
jc -c "$TMP/${S}ln.ini" run file -- true
expect_refusal "job dir regular file refused" 125 "job directory \`file\` is a regular file"
mv "$W/startup" "$W/startup.real"; ln -s startup.real "$W/startup"
jc -c "$TMP/${S}ln.ini" run fine -- true
expect_refusal "startup symlink refused" 125 "workspace child \`startup\` is a symlink"
if [ "$(count_site "${S}ln")" = 0 ] && [ ! -e "$W/fine" ]; then
	ok "refusals created nothing on the engine or on disk"
else
	not_ok "refusals created nothing" "$(count_site "${S}ln") containers"
fi

# ---- signals, parent death, timeout ----
make_site "${S}sig" image=jobcell-test/root:latest user=0:0 allow_root=true stop_grace=2s
C=$TMP/${S}sig.ini
trap_loop='trap "exit 143" TERM; while :; do sleep 0.2; done'
signal_case "SIGTERM stops the job gracefully (job status 143)" "${S}sig" graceful 143 TERM \
	sh -c "$trap_loop"
signal_case "a job ignoring SIGTERM is killed after the grace (137)" "${S}sig" stubborn 137 TERM \
	sleep 60
# a 30 s grace: only the kill of the second signal ends it inside the 15 s bound
make_site "${S}sig2" image=jobcell-test/root:latest user=0:0 allow_root=true stop_grace=30s
signal_case "a second signal kills at once (137)" "${S}sig2" twice 137 "INT INT" sleep 60
# the parent dies (SIGKILL): jobcell sees it reparented and stops the job,
# once: the job's TERM trap leaves a file in its directory
orphan_loop='trap "echo term > term.txt; exit 143" TERM; while :; do sleep 0.2; done'

bash -c "\"$JOBCELL\" -c \"$C\" run orphan -- sh -c '$orphan_loop' >\"$TMP/orphan.out\" 2>&1 & echo \$! >\"$TMP/orphan.pid\"; wait" &
parent=$!
wait_running "jobcell-${S}sig-orphan" || not_ok "orphan container never ran"
kill -KILL "$parent"; wait "$parent" 2>/dev/null || true
child=$(cat "$TMP/orphan.pid")
if wait_gone "$child" 10 && [ "$(count_site "${S}sig")" = 0 ]; then
	ok "parent death stops and removes the container"
else
	not_ok "parent death stops and removes the container" "$(cat "$TMP/orphan.out")"
fi
if [ -s "$TMP/${S}sig/orphan/term.txt" ]; then
	ok "parent death stops the job gracefully (it saw SIGTERM)"
else
	not_ok "parent death stops the job gracefully" "$(cat "$TMP/orphan.out")"
fi
# the thread that spawned jobcell exits while the process lives on (a
# server's pool retiring a worker thread): the job is not the thread's, and
# runs to its end (PR_SET_PDEATHSIG stopped it)
threaded=$(python3 - "$JOBCELL" "$C" <<'PY' 2>&1
import subprocess, sys, threading, time
jc, conf = sys.argv[1], sys.argv[2]
box = {}
def spawn():
    box["p"] = subprocess.Popen([jc, "-c", conf, "run", "--job", "threaded", "--",
                                 "sh", "-c", "sleep 3; echo done"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)   # jobcell is supervising by now; then the thread ends
t = threading.Thread(target=spawn)
t.start()
t.join()
out, err = box["p"].communicate(timeout=120)
print(box["p"].returncode, out.decode().strip(), err.decode().strip())
PY
)
if [ "$threaded" = "0 done " ] || [ "$threaded" = "0 done" ]; then
	ok "the spawning thread's exit does not stop the job (exit 0, its output)"
else
	not_ok "the spawning thread's exit does not stop the job" "$threaded"
fi
# a caller that stops reading stdout must not stop the supervision: the
# output stream pauses, the timeout still fires, the rest is a warning
mkfifo "$TMP/stuck"
exec 7<>"$TMP/stuck" # held open, never read: writes block once it is full
"$JOBCELL" -c "$C" run flood --timeout 2s -- \
	sh -c 'dd if=/dev/zero bs=1k count=1024 2>/dev/null | tr "\0" x; sleep 60' \
	>"$TMP/stuck" 2>"$TMP/flood.err" &
pid=$!
if wait_gone "$pid" 40; then
	set +e; wait "$pid"; RC=$?; set -e; ERR=$(cat "$TMP/flood.err")
	expect_rc "a caller that stops reading still gets the timeout (124)" 124
	if grep -q 'warning: output of `jobcell-.*-flood` is incomplete' "$TMP/flood.err"; then
		ok "undelivered output is reported as a warning"
	else
		not_ok "undelivered output is reported as a warning" "$ERR"
	fi
else
	kill -KILL "$pid"; not_ok "jobcell is blocked by a caller that does not read"
fi
exec 7>&-
# stdout closed by the caller: stderr still arrives, at once, nothing hangs
set +e
"$JOBCELL" -c "$C" run closedout -- sh -c 'echo out; echo to-stderr >&2' >&- 2>"$TMP/closed.err"
RC=$?
set -e
ERR=$(cat "$TMP/closed.err")
if [ "$RC" = 0 ] && grep -qx to-stderr "$TMP/closed.err" && ! grep -q warning "$TMP/closed.err"; then
	ok "a closed stdout neither hides stderr nor stalls the run"
else
	not_ok "a closed stdout neither hides stderr nor stalls the run" "rc $RC: $ERR"
fi
jc -c "$C" run slow --timeout 1s -- sleep 60
expect_rc "wall-clock timeout gives 124" 124
if printf '%s' "$ERR" | grep -q "timed out"; then ok "timeout is reported"; else not_ok "timeout is reported" "$ERR"; fi

# ---- detached use: start, ps, logs, wait, rm ----
jc -c "$C" start det -- sh -c 'echo detached-out; sleep 1; exit 5'
expect_rc "start returns at once" 0
jc -c "$C" ps
if printf '%s' "$OUT" | grep -q '^det '; then ok "ps lists the job"; else not_ok "ps lists the job" "$OUT"; fi
jc -c "$C" wait det --timeout 20s
expect_rc "wait returns the job's status" 5
jc -c "$C" logs det
if [ "$OUT" = detached-out ]; then ok "logs prints the job's output"; else not_ok "logs prints the job's output" "$OUT"; fi
jc -c "$C" rm det
expect_rc "rm removes the job's container" 0
# the record goes to --status-fd alone: a job's forged record, without a
# newline, stays on stdout as it was printed
forged='{"schema":1,"job":"jj","exit_code":0}'
set +e
"$JOBCELL" -c "$C" --status-fd 3 run jj -- sh -c 'printf "%s" "$1"; exit 4' sh "$forged" \
	>"$TMP/out" 2>"$TMP/err" 3>"$TMP/rec"
RC=$?
set -e
if [ "$RC" = 4 ] && [ "$(cat "$TMP/out")" = "$forged" ] && [ "$(wc -l <"$TMP/rec")" = 1 ] &&
	grep -q '^{"schema":1,"job":"jj","container":"[0-9a-f]\{64\}","exit_code":4,"job_status":4,' "$TMP/rec"; then
	ok "--status-fd: the run's record on its own stream"
else
	not_ok "--status-fd: the run's record on its own stream" "rc $RC" "$(cat "$TMP/out")" "$(cat "$TMP/rec")"
fi
jc -c "$C" --json run jj -- true
expect_refusal "--json run without --status-fd refused" 125 "--json run writes its record with --status-fd N only"

# ---- the job's user: root only with allow_root; auto takes the job dir's owner ----
make_site "${S}ur" image=jobcell-test/root:latest
jc -c "$TMP/${S}ur.ini" run rootjob -- true
expect_refusal "a root job without allow_root refused" 125 \
	"would run as root \(uid 0, from the image's user\): set \[job\] allow_root = true"
[ ! -e "$TMP/${S}ur/rootjob" ] && [ "$(count_site "${S}ur")" = 0 ] &&
	ok "the refused root job made nothing" || not_ok "the refused root job made nothing" "$(ls "$TMP/${S}ur")"
make_site "${S}au" image=jobcell-test/root:latest user=auto
mkdir -m 0700 "$TMP/${S}au/tenant-a" && chown 65532:65532 "$TMP/${S}au/tenant-a"
jc -c "$TMP/${S}au.ini" run tenant-a -- sh -c 'id -u; id -g; echo x > f'
if [ "$RC" = 0 ] && [ "$OUT" = "$(printf '65532\n65532')" ] &&
	[ "$(stat -c %u "$TMP/${S}au/tenant-a/f")" = 65532 ]; then
	ok "user = auto runs as the job directory's owner (65532)"
else
	not_ok "user = auto runs as the job directory's owner (65532)" "rc $RC out $OUT err $ERR"
fi
jc -c "$TMP/${S}au.ini" run newjob -- true
expect_refusal "user = auto without a job directory refused" 125 "user = auto takes the job directory's owner"
mkdir -m 0700 "$TMP/${S}au/rootdir"
jc -c "$TMP/${S}au.ini" run rootdir -- true
expect_refusal "user = auto on a root-owned job directory refused" 125 "from \[job\] user = auto"

# ---- [mounts]: read-only data beneath data_prefixes, opened without symlinks ----
mkdir -p "$TMP/data/models" "$TMP/data/real" && chmod 0755 "$TMP/data" "$TMP/data/models"
echo model-bytes >"$TMP/data/models/file" && chmod 0644 "$TMP/data/models/file"
ln -s real "$TMP/data/link"
make_site "${S}dm" image=jobcell-test/root:latest user=0:0 allow_root=true "data_prefixes=$TMP/data"
printf '[mounts]\nmodels = %s\n' "$TMP/data/models" >>"$TMP/${S}dm.ini"
jc -c "$TMP/${S}dm.ini" run dm -- sh -c 'cat /data/models/file; echo x > /data/models/file 2>&1 && echo WROTE; touch /data/models/new 2>&1 || true'
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q '^model-bytes$' && ! printf '%s' "$OUT" | grep -q WROTE &&
	printf '%s' "$OUT" | grep -qi 'read-only file system' && [ "$(cat "$TMP/data/models/file")" = model-bytes ] &&
	[ ! -e "$TMP/data/models/new" ]; then
	ok "a data mount is readable at /data/NAME and read-only (EROFS), even for root"
else
	not_ok "a data mount is readable at /data/NAME and read-only (EROFS), even for root" "rc $RC out $OUT err $ERR"
fi
make_site "${S}dl" image=jobcell-test/root:latest user=0:0 allow_root=true "data_prefixes=$TMP/data"
printf '[mounts]\nlinked = %s\n' "$TMP/data/link" >>"$TMP/${S}dl.ini"
jc -c "$TMP/${S}dl.ini" run dl -- true
expect_refusal "a data mount that is a symlink refused" 125 "data mount \`linked\`.*symlink"
[ ! -e "$TMP/${S}dl/dl" ] && [ "$(count_site "${S}dl")" = 0 ] &&
	ok "the refused data mount made nothing" || not_ok "the refused data mount made nothing" "$(ls "$TMP/${S}dl")"
make_site "${S}do" image=jobcell-test/root:latest user=0:0 allow_root=true "data_prefixes=$TMP/data"
mkdir -p "$TMP/data2" && printf '[mounts]\nout = %s\n' "$TMP/data2" >>"$TMP/${S}do.ini"
jc -c "$TMP/${S}do.ini" run do -- true
expect_refusal "a [mounts] entry outside data_prefixes refused" 125 "not under any of \[job\] data_prefixes"

# ---- a chain of links through another user's link (issue 11 item 2) ----
# $TMP/chain/link (root's) -> mid/l (uid 65534's) -> real: the path as written
# and its realpath() are root's all the way; the link in between is not.
mkdir -p "$TMP/chain/mid" "$TMP/chain/real/ws/startup" "$TMP/chain/real/ws/local"
chmod 0755 "$TMP/chain" "$TMP/chain/mid" "$TMP/chain/real" "$TMP/chain/real/ws"
ln -s "$TMP/chain/real" "$TMP/chain/mid/l" && chown -h 65534:65534 "$TMP/chain/mid/l"
ln -s mid/l "$TMP/chain/link"
make_site "${S}ch" image=jobcell-test/root:latest user=0:0 allow_root=true
sed -i "s#^path = .*#path = $TMP/chain/link/ws#" "$TMP/${S}ch.ini"
jc -c "$TMP/${S}ch.ini" run chainjob -- true
expect_refusal "a workspace through another user's link in a chain refused, naming it" 125 \
	"workspace parent \`$TMP/chain/mid/l\` is a symlink owned by uid 65534: it could be swapped"
[ ! -e "$TMP/chain/real/ws/chainjob" ] && [ "$(count_site "${S}ch")" = 0 ] &&
	ok "the refused chain made nothing" || not_ok "the refused chain made nothing" "$(ls "$TMP/chain/real/ws")"
chown -h 0:0 "$TMP/chain/mid/l"
jc -c "$TMP/${S}ch.ini" run chainjob -- true
expect_rc "the same chain of root's links runs" 0
make_site "${S}cd" image=jobcell-test/root:latest user=0:0 allow_root=true "data_prefixes=$TMP/chain/link/ws/local"
printf '[mounts]\nlocal = %s\n' "$TMP/chain/link/ws/local" >>"$TMP/${S}cd.ini"
chown -h 65534:65534 "$TMP/chain/mid/l"
jc -c "$TMP/${S}cd.ini" run cdjob -- true
expect_refusal "a data prefix through another user's link in a chain refused, naming it" 125 \
	"data mount \`local\`: data prefix parent \`$TMP/chain/mid/l\` is a symlink owned by uid 65534"
[ ! -e "$TMP/${S}cd/cdjob" ] && [ "$(count_site "${S}cd")" = 0 ] &&
	ok "the refused data prefix made nothing" || not_ok "the refused data prefix made nothing" "$(ls "$TMP/${S}cd")"

# ---- two runs of one new job at once (issue 11 item 4) ----
# Exactly one runs; the other is refused before it makes anything, and never
# undoes what the first holds: the directory and the winner's output stay.
make_site "${S}rc" image=jobcell-test/root:latest user=0:0 allow_root=true
for who in a b; do
	"$JOBCELL" -c "$TMP/${S}rc.ini" run race -- sh -c "sleep 3; echo $who > result; echo ran-$who" \
		>"$TMP/race-$who.out" 2>"$TMP/race-$who.err" &
	eval "pid_$who=\$!"
done
set +e; wait "$pid_a"; rc_a=$?; wait "$pid_b"; rc_b=$?; set -e
if [ "$rc_a" = 0 ] && [ "$rc_b" = 125 ]; then win=a lose=b
elif [ "$rc_a" = 125 ] && [ "$rc_b" = 0 ]; then win=b lose=a
else win= lose=; fi
if [ -n "$win" ]; then
	RC=125 ERR=$(cat "$TMP/race-$lose.err")
	# the loser may come while the winner's container is made but not yet started
	expect_refusal "two runs of one new job: the second refused with one line" 125 \
		"job \`race\` (is running: |has a container already: .* is created)"
	if [ "$(cat "$TMP/$S""rc/race/result" 2>/dev/null)" = "$win" ] &&
		[ "$(cat "$TMP/race-$win.out")" = "ran-$win" ] && [ ! -s "$TMP/race-$lose.out" ]; then
		ok "two runs of one new job: the directory and the winner's output survive"
	else
		not_ok "two runs of one new job: the directory and the winner's output survive" \
			"$(ls -la "$TMP/${S}rc/race" 2>&1)" "winner out: $(cat "$TMP/race-$win.out")"
	fi
else
	not_ok "two runs of one new job: exactly one runs" "exits $rc_a and $rc_b" \
		"a: $(cat "$TMP/race-a.err")" "b: $(cat "$TMP/race-b.err")"
fi
[ "$(count_site "${S}rc")" = 0 ] && ok "two runs of one new job leave no container" ||
	not_ok "two runs of one new job leave no container"

# ---- --entrypoint (issue 14): only where the site lists it ----
make_site "${S}ep" image=jobcell-test/root:latest user=0:0 allow_root=true
jc -c "$TMP/${S}ep.ini" run epjob --entrypoint /bin/echo -- hi
expect_refusal "--entrypoint refused unless [job] overridable lists it" 125 \
	"job request sets \`entrypoint\`, which the site does not list in \[job\] overridable"
[ ! -e "$TMP/${S}ep/epjob" ] && [ "$(count_site "${S}ep")" = 0 ] &&
	ok "the refused --entrypoint made nothing" || not_ok "the refused --entrypoint made nothing"
make_site "${S}eq" image=jobcell-test/root:latest user=0:0 allow_root=true \
	"overridable=image, entrypoint"
jc -c "$TMP/${S}eq.ini" run epjob --entrypoint /bin/echo -- from-entrypoint
[ "$RC" = 0 ] && [ "$OUT" = from-entrypoint ] && ok "--entrypoint PATH runs with the command as its arguments" ||
	not_ok "--entrypoint PATH runs with the command as its arguments" "rc $RC out $OUT err $ERR"
jc -c "$TMP/${S}eq.ini" run epname --entrypoint echo -- by-name
[ "$RC" = 0 ] && [ "$OUT" = by-name ] && ok "--entrypoint NAME is found in the image's PATH" ||
	not_ok "--entrypoint NAME is found in the image's PATH" "rc $RC out $OUT err $ERR"
jc -c "$TMP/${S}eq.ini" run epclear --entrypoint '' -- sh -c 'echo cleared'
[ "$RC" = 0 ] && [ "$OUT" = cleared ] && ok "--entrypoint '' runs the command alone" ||
	not_ok "--entrypoint '' runs the command alone" "rc $RC out $OUT err $ERR"
jc -c "$TMP/${S}eq.ini" run epnone --entrypoint ''
expect_refusal "--entrypoint '' without a command refused" 125 "gives no command"
jc -c "$TMP/${S}eq.ini" run eprel --entrypoint bin/echo -- x
expect_refusal "--entrypoint relative path refused" 125 "an absolute path or a name"
[ ! -e "$TMP/${S}eq/epnone" ] && [ ! -e "$TMP/${S}eq/eprel" ] &&
	ok "refused entrypoints made no job directory" || not_ok "refused entrypoints made no job directory"

# ---- --ready-fd (issue 14): the line comes while the job still runs ----
make_site "${S}rd" image=jobcell-test/root:latest user=0:0 allow_root=true
mkfifo "$TMP/ready.fifo"
"$JOBCELL" -c "$TMP/${S}rd.ini" run rdjob --ready-fd 4 -- \
	sh -c 'while [ ! -e go ]; do sleep 0.1; done; echo finished' \
	>"$TMP/rd.out" 2>"$TMP/rd.err" 4>"$TMP/ready.fifo" &
rd_pid=$!
line=
read -r -t 60 line <"$TMP/ready.fifo" || true
running=$(engine_get "/containers/$line/json" 2>/dev/null | grep -o '"Running":true' || true)
if printf '%s' "$line" | grep -qE '^[0-9a-f]{64}$' && [ -n "$running" ] &&
	[ ! -e "$TMP/${S}rd/rdjob/go" ]; then
	ok "--ready-fd: the container's id arrives while the job runs"
else
	not_ok "--ready-fd: the container's id arrives while the job runs" "line '$line' running '$running'" \
		"$(cat "$TMP/rd.err")"
fi
touch "$TMP/${S}rd/rdjob/go" 2>/dev/null || true
set +e; wait "$rd_pid"; rd_rc=$?; set -e
[ "$rd_rc" = 0 ] && [ "$(cat "$TMP/rd.out")" = finished ] && ok "--ready-fd: the job then ends as usual" ||
	not_ok "--ready-fd: the job then ends as usual" "rc $rd_rc" "$(cat "$TMP/rd.err")"
# a run refused before the start: end of file, no line
set +e
"$JOBCELL" -c "$TMP/${S}rd.ini" run rdbad --image jobcell-test/no-such:latest --ready-fd 4 -- true \
	>/dev/null 2>"$TMP/rd2.err" 4>"$TMP/ready2" </dev/null
rd_rc=$?
set -e
[ "$rd_rc" = 125 ] && [ ! -s "$TMP/ready2" ] && ok "--ready-fd: a run that never started writes nothing" ||
	not_ok "--ready-fd: a run that never started writes nothing" "rc $rd_rc: $(cat "$TMP/rd2.err")" \
		"wrote: $(cat "$TMP/ready2")"

# ---- [workspace] job_path and scratch (issue 14) ----
WORKSPACE_KEYS=$(printf 'job_path = /inputs\nscratch = snapshot-storage, jobs-storage\nscratch_size = 4m')
make_site "${S}jp" image=jobcell-test/nonroot:latest
unset WORKSPACE_KEYS
jc -c "$TMP/${S}jp.ini" run jpjob -- sh -c 'pwd; echo data > out.txt; echo snap > /workspace/snapshot-storage/s &&
	echo jobs > /workspace/jobs-storage/j && echo scratch-ok; touch /workspace/x 2>/dev/null || echo root-ro;
	ls /workspace | tr "\n" " "; echo; cat /workspace/startup/fed.json'
want=$(printf '/inputs\nscratch-ok\nroot-ro\njobs-storage local snapshot-storage startup \nstartup-%s' "${S}jp")
if [ "$RC" = 0 ] && [ "$OUT" = "$want" ] && [ "$(cat "$TMP/${S}jp/jpjob/out.txt")" = data ]; then
	ok "job_path: the job directory is /inputs and the working directory; scratch writable, the root read-only"
else
	not_ok "job_path: the job directory is /inputs and the working directory; scratch writable, the root read-only" \
		"rc $RC" "out: $OUT" "want: $want" "err: $ERR"
fi
jc -c "$TMP/${S}jp.ini" run jobs-storage -- true
expect_refusal "a job named as a scratch directory refused" 125 "job name \`jobs-storage\` is a scratch directory"
for bad in / /proc/x /etc /dev/shm /workspace/in /workspace /w/../inputs /data/x; do
	sed "s#^job_path = .*#job_path = $bad#" "$TMP/${S}jp.ini" >"$TMP/${S}jpbad.ini"
	jc -c "$TMP/${S}jpbad.ini" run jpbad -- true
	expect_refusal "job_path $bad refused" 125 "job_path"
done
[ ! -e "$TMP/${S}jp/jobs-storage" ] && [ ! -e "$TMP/${S}jp/jpbad" ] && [ "$(count_site "${S}jp")" = 0 ] &&
	ok "refused job_path and scratch names made nothing" || not_ok "refused job_path and scratch names made nothing"

# ---- nothing labelled is left ----
left=0
for s in "${SITES[@]}"; do left=$((left + $(count_site "$s"))); done
if [ "$left" = 0 ]; then ok "no container labelled jobcell.managed=true is left"; else not_ok "no labelled container is left" "$left left"; fi
summary integration
