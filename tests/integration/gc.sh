#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in patterns are jobcell's quoting, not expansions
# Integration tests of gc's rule (docs/volumes.md "gc") against a real
# engine: what a supervisor killed inside another pid namespace left is
# kept while gc cannot tell, removed once past its jobcell.deadline or on
# the operator's --others-gone; a detached `start` past its deadline is
# removed; a live job in another namespace, and one in this, are kept.
# Volume mode, so that each case has a job volume as well as a container.
. "$(dirname "$0")/lib.sh"
set -e
S=gc$$ # site-name prefix: unique per run, so leftovers are attributable
SV_START=${S}-startup SV_LOCAL=${S}-local

http_code() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" -X "$1" \
		"http://localhost$2" 2>/dev/null || true
}
vol_exists() { [ "$(http_code GET "/volumes/$1")" = 200 ]; }
ctr_exists() { [ "$(http_code GET "/containers/$1/json")" = 200 ]; }
vol_label() { engine_get "/volumes/$1" 2>/dev/null | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
ctr_label() { engine_get "/containers/$1/json" 2>/dev/null | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
job_vol() { # SITE JOB: the job's volume, by its labels
	local v
	for v in $(site_vols "$1"); do
		[ "$(vol_label "$v" jobcell.job)" = "$2" ] && printf '%s\n' "$v"
	done
	return 0
}
nothing_left() { [ "$(count_site "$1")" = 0 ] && [ -z "$(site_vols "$1")" ]; }
left_desc() { printf '%s containers, volumes: %s' "$(count_site "$1")" "$(site_vols "$1" | tr '\n' ' ')"; }
# the line gc printed for KIND NAME, or nothing
gc_line() { printf '%s\n' "$OUT" | grep -E "^(removed|kept) +$1 +$2 " || true; }
expect_gc() { # TEST KIND NAME removed|kept PATTERN
	local line
	line=$(gc_line "$2" "$3")
	if printf '%s' "$line" | grep -qE "^$4 +$2 +$3 +.*$5"; then ok "$1"; else not_ok "$1" "rc $RC, line: '$line'" "want: $4 ... /$5/" "$OUT"; fi
}

# A pid namespace of its own: sh is its init, jobcell its child (an init
# drops signals it has no handler for; jobcell's arrive through a
# signalfd).  The jobcell's pid as the host sees it is in $NSPID.
ns_run() { # SITE JOB CMD...
	local site=$1 job=$2 u sh i
	shift 2
	unshare --pid --fork --mount-proc sh -c '"$@"; exit $?' sh \
		"$JOBCELL" -c "$TMP/$site.ini" run "$job" -- "$@" >"$TMP/$job.out" 2>&1 &
	u=$!
	BGPIDS+=("$u")
	NSPID=
	for ((i = 0; i < 100; i++)); do
		sh=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}')
		[ -n "$sh" ] && NSPID=$(cat "/proc/$sh/task/$sh/children" 2>/dev/null | awk '{print $1}')
		[ -n "$NSPID" ] && break
		sleep 0.05
	done
	NSWRAP=$u
}


# make_gsite NAME [section.key=value]...: a volume-mode site at $TMP/NAME.ini
make_gsite() {
	local name=$1 kv sec
	shift
	SITES+=("$name")
	{
		printf '[engine]\nendpoint = unix://%s\n' "$SOCK"
		for kv in "$@"; do
			case $kv in engine.*) kv=${kv#engine.} && printf '%s\n' "${kv/=/ = }" ;; esac
		done
		printf '[site]\nname = %s\n' "$name"
		printf '[workspace]\nmode = volume\n'
		printf '[volume]\nstartup_volume = %s\nlocal_volume = %s\n' "$SV_START" "$SV_LOCAL"
		printf '[job]\nimage = jobcell-test/root:latest\nallow_root = true\nuser = 0:0\n'
		for sec in job gc; do
			printf '[%s]\n' "$sec"
			for kv in "$@"; do
				case $kv in "$sec".*) kv=${kv#"$sec".} && printf '%s\n' "${kv/=/ = }" ;; esac
			done
		done
	} >"$TMP/$name.ini"
}

if ! command -v unshare >/dev/null || ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	skip "gc" "cannot make a pid namespace here (unshare --pid --fork --mount-proc)"
	summary gc
	exit $?
fi
if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary gc
	exit $?
fi
image_present jobcell-test/root:latest ||
	{ skip "real engine" "image jobcell-test/root:latest is missing (run contrib/bootstrap.sh)"; summary gc; exit $?; }
for v in "$SV_START" "$SV_LOCAL"; do
	engine_json POST /volumes/create "{\"Name\":\"$v\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null
done

# ---- refusals ----
make_gsite "${S}r" gc.clock_skew=soon
jc -c "$TMP/${S}r.ini" gc
expect_refusal "[gc] clock_skew that is no duration refused" 125 'clock_skew = `soon`: not a duration'
make_gsite "${S}r" job.transfer_timeout=-1s
jc -c "$TMP/${S}r.ini" gc
expect_refusal "[job] transfer_timeout that is no duration refused" 125 'transfer_timeout = `-1s`: not a duration'
make_gsite "${S}r"
jc -c "$TMP/${S}r.ini" gc --others-gone=yes
expect_refusal "gc --others-gone takes no value" 125 '`--others-gone` takes no value'
jc -c "$TMP/${S}r.ini" ps --others-gone
expect_refusal "ps takes no --others-gone" 125 'unknown option `--others-gone`'
jc -c "$TMP/${S}r.ini" run --set transfer_timeout=1h tt -- true
expect_refusal "a request cannot set transfer_timeout" 125 'transfer_timeout'

# ---- (c) and (a): live and dead supervisors in other pid namespaces ----
# A deadline an hour away: only the supervisor label can decide.
N=${S}n
make_gsite "$N" job.timeout=1h job.stop_grace=1s
ns_run "$N" nslive sleep 600
LIVE_WRAP=$NSWRAP LIVE_PID=$NSPID
ns_run "$N" nsdead sleep 600
DEAD_WRAP=$NSWRAP DEAD_PID=$NSPID
"$JOBCELL" -c "$TMP/$N.ini" run here -- sleep 600 >"$TMP/here.out" 2>&1 &
HERE_PID=$!
BGPIDS+=("$HERE_PID")
if wait_running "jobcell-$N-nslive" && wait_running "jobcell-$N-nsdead" && wait_running "jobcell-$N-here" &&
	[ -n "$LIVE_PID" ] && [ -n "$DEAD_PID" ]; then
	ok "setup: two jobs in pid namespaces of their own, one in this"
else
	not_ok "setup: jobs in pid namespaces" "$(cat "$TMP/nslive.out" "$TMP/nsdead.out" "$TMP/here.out")"
fi
kill -KILL "$DEAD_PID" 2>/dev/null || true
wait "$DEAD_WRAP" 2>/dev/null || true
NSDEAD_V=$(job_vol "$N" nsdead) NSLIVE_V=$(job_vol "$N" nslive) HERE_V=$(job_vol "$N" here)
c=$(ctr_label "jobcell-$N-nsdead" jobcell.created) d=$(ctr_label "jobcell-$N-nsdead" jobcell.deadline)
# 1 s for created's truncation + timeout 3600 + stop_grace 1 + 2 x engine
# timeout 30 + transfer_timeout 600
if [ -n "$c" ] && [ -n "$d" ] && [ $((d - c)) = 4262 ] && [ "$(vol_label "$NSDEAD_V" jobcell.deadline)" = "$d" ]; then
	ok "container and volume carry jobcell.deadline = created + 1 + timeout + stop_grace + 2 x engine timeout + transfer_timeout"
else
	not_ok "jobcell.deadline label" "created '$c' deadline '$d' volume '$NSDEAD_V' $(vol_label "$NSDEAD_V" jobcell.deadline)"
fi
jc -c "$TMP/$N.ini" ps
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qE "^nsdead +running +[0-9]+ +unknown +[0-9-]+T[0-9:]+Z +keep " &&
	printf '%s\n' "$OUT" | grep -qE "^here +running +[0-9]+ +alive +[0-9-]+T[0-9:]+Z +keep "; then
	ok "ps: the other namespace's supervisor unknown, this one's alive, deadline shown, gc keeps both"
else
	not_ok "ps shows supervisor, deadline and gc" "rc $RC: $OUT" "$ERR"
fi
jc -c "$TMP/$N.ini" gc
expect_gc "(c) gc keeps a live job in another pid namespace" container "jobcell-$N-nslive" kept "another pid namespace.*cannot tell"
expect_gc "(c) gc keeps its volume" volume "$NSLIVE_V" kept "cannot tell"
expect_gc "(a) gc keeps what a supervisor killed in another namespace left: it cannot tell" container "jobcell-$N-nsdead" kept "cannot tell; past .* gc removes it"
expect_gc "(a) and its volume" volume "$NSDEAD_V" kept "cannot tell"
expect_gc "gc keeps this namespace's live job" container "jobcell-$N-here" kept "alive"
if [ "$RC" = 0 ] && ctr_exists "jobcell-$N-nsdead" && ctr_exists "jobcell-$N-nslive" && vol_exists "$NSDEAD_V"; then
	ok "plain gc removed nothing"
else
	not_ok "plain gc removed nothing" "rc $RC: $OUT" "$ERR"
fi
# the live one in the other namespace ends as asked, and cleans up itself
kill -TERM "$LIVE_PID" 2>/dev/null || true
if wait_gone "$LIVE_WRAP" 20 && ! ctr_exists "jobcell-$N-nslive" && ! vol_exists "$NSLIVE_V"; then
	ok "(c) the job in another namespace, stopped by its supervisor, left nothing"
else
	not_ok "(c) the other namespace's job stopped and cleaned up" "$(cat "$TMP/nslive.out")"
fi
jc -c "$TMP/$N.ini" gc --others-gone
expect_gc "(a) gc --others-gone removes the dead namespace's container" container "jobcell-$N-nsdead" removed "another pid namespace, boot or host, and --others-gone says it is gone"
expect_gc "(a) gc --others-gone removes its volume" volume "$NSDEAD_V" removed "--others-gone"
expect_gc "gc --others-gone keeps this namespace's live job" container "jobcell-$N-here" kept "alive"
expect_gc "and its volume" volume "$HERE_V" kept "alive"
if [ "$RC" = 0 ] && ! ctr_exists "jobcell-$N-nsdead" && ! vol_exists "$NSDEAD_V" && ctr_exists "jobcell-$N-here"; then
	ok "gc --others-gone: exactly the dead namespace's objects are gone"
else
	not_ok "gc --others-gone removed the right things" "rc $RC: $OUT" "$ERR"
fi
kill -TERM "$HERE_PID" 2>/dev/null || true
wait_gone "$HERE_PID" 20 || true
if nothing_left "$N"; then ok "site $N: nothing left"; else not_ok "site $N: nothing left" "$(left_desc "$N")"; fi

# ---- (a), (b), (d): past the deadline ----
# timeout 6s + stop_grace 1s + 2 x engine timeout 5s + transfer_timeout 1s
# (+1 s): the deadline is 19 s after creation; clock_skew 0 trusts this
# host's clock exactly.
D=${S}d
make_gsite "$D" engine.timeout=5s job.timeout=6s job.stop_grace=1s job.transfer_timeout=1s \
	gc.clock_skew=0
ns_run "$D" dnsdead sleep 600
DNS_WRAP=$NSWRAP DNS_PID=$NSPID
jc -c "$TMP/$D.ini" start dstart -- sleep 600
START_RC=$RC START_ERR=$ERR
if wait_running "jobcell-$D-dnsdead" && [ "$START_RC" = 0 ] && [ -n "$DNS_PID" ]; then
	ok "setup: a supervisor in another namespace, a detached start"
else
	not_ok "setup: deadline site" "start rc $START_RC: $START_ERR" "$(cat "$TMP/dnsdead.out")"
fi
kill -KILL "$DNS_PID" 2>/dev/null || true
wait "$DNS_WRAP" 2>/dev/null || true
DNS_V=$(job_vol "$D" dnsdead) START_V=$(job_vol "$D" dstart)
DL=$(ctr_label "jobcell-$D-dnsdead" jobcell.deadline)
SDL=$(ctr_label "jobcell-$D-dstart" jobcell.deadline)
if [ -n "$DL" ] && [ -n "$SDL" ] && [ "$(vol_label "$START_V" jobcell.deadline)" = "$SDL" ]; then
	ok "a start's container and volume carry a deadline too"
else
	not_ok "deadline labels on the deadline site" "dnsdead '$DL' dstart '$SDL' volume '$START_V'"
fi
if [ -n "$DL" ] && [ "$(date +%s)" -lt $((DL - 1)) ]; then
	jc -c "$TMP/$D.ini" gc
	expect_gc "(a) before its deadline, gc keeps the dead namespace's container" container "jobcell-$D-dnsdead" kept "cannot tell"
	expect_gc "(b) before its deadline, gc keeps a start" container "jobcell-$D-dstart" kept "started detached"
	expect_gc "(b) and the start's volume" volume "$START_V" kept "started detached"
else
	skip "gc before the deadline" "the setup took until the deadline ($(date +%s) vs $DL)"
fi
# past both deadlines (ps says so first)
for ((i = 0; i < 400; i++)); do
	[ "$(date +%s)" -gt "$((${DL:-0} > ${SDL:-0} ? ${DL:-0} : ${SDL:-0}))" ] && break
	sleep 0.1
done
jc -c "$TMP/$D.ini" ps
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qE "^dnsdead +running +[0-9]+ +unknown +[0-9-]+T[0-9:]+Z +remove " &&
	printf '%s\n' "$OUT" | grep -qE "^dstart +running +[0-9]+ +detached +[0-9-]+T[0-9:]+Z +remove "; then
	ok "ps: past the deadline, gc would remove both"
else
	not_ok "ps past the deadline" "rc $RC: $OUT" "$ERR"
fi
jc --json -c "$TMP/$D.ini" ps
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q "\"deadline\":\"$SDL\"" &&
	printf '%s' "$OUT" | grep -q '"gc":"remove","gc_why":"past its deadline'; then
	ok "ps --json: deadline and gc's decision"
else
	not_ok "ps --json: deadline and gc" "rc $RC: $OUT" "$ERR"
fi
jc -c "$TMP/$D.ini" gc
expect_gc "(a)+(d) past its deadline, gc removes the dead namespace's container" container "jobcell-$D-dnsdead" removed "past its deadline"
expect_gc "(a)+(d) and its volume" volume "$DNS_V" removed "past its deadline"
expect_gc "(b) past its deadline, gc removes a start still running" container "jobcell-$D-dstart" removed "past its deadline"
expect_gc "(b) and the start's volume" volume "$START_V" removed "past its deadline"
if [ "$RC" = 0 ] && nothing_left "$D"; then
	ok "site $D: nothing left after gc"
else
	not_ok "site $D: nothing left after gc" "rc $RC: $OUT" "$ERR" "$(left_desc "$D")"
fi

# ---- no timeout: no deadline, judged as before ----
Z=${S}z
make_gsite "$Z"
jc -c "$TMP/$Z.ini" start zstart -- sleep 600
jc -c "$TMP/$Z.ini" ps
if printf '%s\n' "$OUT" | grep -qE "^zstart +running +[0-9]+ +detached +- +keep "; then
	ok "without a timeout: no deadline, gc keeps a start"
else
	not_ok "without a timeout: no deadline" "rc $RC: $OUT" "$ERR"
fi
if [ -z "$(ctr_label "jobcell-$Z-zstart" jobcell.deadline)" ]; then
	ok "without a timeout, jobcell.deadline is empty"
else
	not_ok "without a timeout, jobcell.deadline is empty" "$(ctr_label "jobcell-$Z-zstart" jobcell.deadline)"
fi
jc -c "$TMP/$Z.ini" rm zstart
[ "$RC" = 0 ] || not_ok "rm zstart" "$ERR"
Z_V=$(site_vols "$Z")
for v in $Z_V; do jc -c "$TMP/$Z.ini" volume rm "$v"; done

left=
for s in "${SITES[@]}"; do nothing_left "$s" || left="$left $s: $(left_desc "$s");"; done
if [ -z "$left" ]; then ok "no container or volume labelled with a site of this run is left"; else not_ok "nothing labelled is left" "$left"; fi
for v in "$SV_START" "$SV_LOCAL"; do engine_req DELETE "/volumes/$v" >/dev/null 2>&1 || true; done
summary gc
