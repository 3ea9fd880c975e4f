#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in patterns are jobcell's quoting, not expansions
# Integration tests of the ssh transport (issue 13): an sshd of this test's
# own on a loopback port, with its own host key and keys restricted to the
# engine (`restrict,command="docker system dial-stdio"`); jobcell reaches
# the real engine through it.  A volume-mode round trip, ps, gc and check
# over ssh; each failure (host key unknown or changed, authentication
# refused, no docker on the far side, no engine socket there) one error line
# and 125 with nothing made; an ssh killed mid-job leaves nothing once gc
# has run.  The sshd is stopped by its pid; no system sshd is touched.
. "$(dirname "$0")/lib.sh"
set -e
S=ss$$ # site-name prefix: unique per run, so leftovers are attributable
SV_START=${S}-startup SV_LOCAL=${S}-local
XFER=$TMP/xfer
mkdir -p "$XFER"
cd "$XFER"
# jobcell's bridge directories go here: what a killed jobcell leaves is
# this test's, and no other jobcell's directory is looked at
export TMPDIR=$TMP/bridges
mkdir -m 0700 "$TMPDIR"

# ---- the private sshd: everything it needs in $D, stopped by pid ----
D=$TMP/sshd
SSHD_PID=
MADE_PRIVSEP=0
stop_sshd() {
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
	# sshd's compiled-in privilege separation directory, made here when the
	# package's service never ran (it is empty: sshd chroots into it)
	[ "$MADE_PRIVSEP" = 0 ] || rmdir /run/sshd 2>/dev/null
	MADE_PRIVSEP=0
}
trap 'set +e; stop_sshd; cleanup_all' EXIT

# the engine socket the remote docker dials: Docker's default needs no --host
if [ "$SOCK" = /var/run/docker.sock ]; then
	DIAL="docker system dial-stdio"
else
	DIAL="docker --host unix://$SOCK system dial-stdio"
fi

# keys: the host's, another host's (a changed key), the client's (engine
# only), one never authorized, one whose forced command has no docker, one
# whose docker dials a socket that is not there
mkdir -p "$D"
chmod 0700 "$D"
if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null || [ ! -x /usr/sbin/sshd ] ||
	! command -v docker >/dev/null; then
	skip "ssh transport" "needs ssh, ssh-keygen, /usr/sbin/sshd (openssh-server: contrib/bootstrap.sh) and the docker CLI"
	summary ssh
	exit $?
fi
for k in host otherhost client stranger nodocker nosock; do
	ssh-keygen -q -t ed25519 -N '' -C "jobcell-test-$k" -f "$D/$k"
done
{
	printf 'restrict,command="%s" %s\n' "$DIAL" "$(cat "$D/client.pub")"
	printf 'restrict,command="jobcell-no-such-docker system dial-stdio" %s\n' "$(cat "$D/nodocker.pub")"
	printf 'restrict,command="docker --host unix:///nonexistent.sock system dial-stdio" %s\n' \
		"$(cat "$D/nosock.pub")"
} >"$D/authorized_keys"

# start_sshd: on a free loopback port (tried until one is); sets PORT
start_sshd() {
	local try i
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd && MADE_PRIVSEP=1
	fi
	for try in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + (RANDOM * 7 + $$ + try) % 40000))
		cat >"$D/sshd_config" <<-EOF
			ListenAddress 127.0.0.1:$PORT
			HostKey $D/host
			PidFile $D/sshd.pid
			AuthorizedKeysFile $D/authorized_keys
			UsePAM no
			StrictModes no
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			PermitRootLogin prohibit-password
			LogLevel VERBOSE
		EOF
		: >"$D/sshd.log"
		/usr/sbin/sshd -D -e -f "$D/sshd_config" 2>>"$D/sshd.log" </dev/null &
		SSHD_PID=$!
		for ((i = 0; i < 50; i++)); do
			grep -q 'Server listening' "$D/sshd.log" && return 0
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	done
	return 1
}

if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary ssh
	exit $?
fi
image_present jobcell-test/root:latest ||
	{ skip "real engine" "image jobcell-test/root:latest is missing (run contrib/bootstrap.sh)"; summary ssh; exit $?; }
if start_sshd; then
	ok "a private sshd listens on 127.0.0.1:$PORT (pid $SSHD_PID)"
else
	not_ok "a private sshd starts" "$(tail -3 "$D/sshd.log")"
	summary ssh
	exit $?
fi
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$D/host.pub")" >"$D/known_hosts"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$D/otherhost.pub")" >"$D/changed_known_hosts"
: >"$D/empty_known_hosts"
# the key restricted to the engine reaches it, as the docker CLI would
if printf 'GET /_ping HTTP/1.0\r\nHost: x\r\n\r\n' |
	ssh -i "$D/client" -o IdentitiesOnly=yes -o UserKnownHostsFile="$D/known_hosts" -o BatchMode=yes \
		-p "$PORT" -l root -T -- 127.0.0.1 docker system dial-stdio 2>"$D/probe.err" | grep -q '^OK'; then
	ok "the restricted key reaches the engine through the sshd"
else
	not_ok "the restricted key reaches the engine through the sshd" "$(cat "$D/probe.err")" \
		"$(tail -3 "$D/sshd.log")"
fi

# ---- site files ----
# make_ssite NAME KEY KNOWN_HOSTS [workspace mode] [extra [engine] lines...]
make_ssite() {
	local name=$1 key=$2 known=$3 mode=${4:-volume}
	shift 3
	[ $# -eq 0 ] || shift
	SITES+=("$name")
	{
		printf '[engine]\nendpoint = ssh://root@127.0.0.1:%s\n' "$PORT"
		[ -z "$key" ] || printf 'ssh_identity = %s\n' "$key"
		[ -z "$known" ] || printf 'ssh_known_hosts = %s\n' "$known"
		for l in "$@"; do printf '%s\n' "$l"; done
		printf 'timeout = 20s\n'
		printf '[site]\nname = %s\n' "$name"
		if [ "$mode" = volume ]; then
			printf '[workspace]\nmode = volume\n'
			printf '[volume]\nstartup_volume = %s\nlocal_volume = %s\n' "$SV_START" "$SV_LOCAL"
		else
			mkdir -p "$TMP/$name/startup" "$TMP/$name/local"
			printf '[workspace]\npath = %s\n' "$TMP/$name"
		fi
		printf '[job]\nimage = jobcell-test/root:latest\nallow_root = true\n'
	} >"$TMP/$name.ini"
}
nothing_left() { [ "$(count_site "$1")" = 0 ] && [ -z "$(site_vols "$1")" ]; }
left_desc() { printf '%s containers, volumes: %s' "$(count_site "$1")" "$(site_vols "$1" | tr '\n' ' ')"; }
expect_line() { # NAME TEXT PATTERN
	if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1"; else not_ok "$1" "want /$3/ in:" "$2"; fi
}
accepted() { grep -c 'Accepted publickey' "$D/sshd.log" || true; }

# ---- the site volumes, made on the engine directly ----
printf 'startup-%s\n' "$S" >"$TMP/fed.json"
printf 'local-%s\n' "$S" >"$TMP/resources.json"
tar --owner=0 --group=0 -C "$TMP" -cf "$TMP/startup.tar" fed.json
tar --owner=0 --group=0 -C "$TMP" -cf "$TMP/local.tar" resources.json
made=0
for v in "$SV_START:startup" "$SV_LOCAL:local"; do
	engine_json POST /volumes/create "{\"Name\":\"${v%%:*}\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null &&
		fill_volume "${v%%:*}" "$TMP/${v#*:}.tar" && made=$((made + 1))
done
[ $made = 2 ] || { not_ok "site volumes made" "$made of 2"; summary ssh; exit $?; }

# ---- refusals before any connection ----
# ssh_config with host keys unchecked: refused before ssh connects
cat >"$D/lax_config" <<EOF
Host 127.0.0.1
	StrictHostKeyChecking no
EOF
make_ssite "${S}lax" "$D/client" "$D/known_hosts" volume "ssh_config = $D/lax_config"
before=$(accepted)
jc -c "$TMP/${S}lax.ini" run lj -- true
expect_refusal "StrictHostKeyChecking no in the ssh config refused" 125 "StrictHostKeyChecking is off"
if [ "$(accepted)" = "$before" ] && nothing_left "${S}lax"; then
	ok "the unchecked host was never logged in to, nothing made"
else
	not_ok "the unchecked host was never logged in to" "logins $before -> $(accepted)" "$(left_desc "${S}lax")"
fi
make_ssite "${S}bind" "$D/client" "$D/known_hosts" bind
jc -c "$TMP/${S}bind.ini" run bj -- true
expect_refusal "bind mode over ssh refused" 125 'bind|volume'

# ---- the full run over ssh: inputs in, outputs back byte for byte ----
make_ssite "${S}ok" "$D/client" "$D/known_hosts"
C=$TMP/${S}ok.ini
# shellcheck disable=SC2059 # the format is the octal escape of byte i
for ((i = 0; i < 256; i++)); do printf "\\$(printf %03o "$i")"; done >bin.dat
head -c 300000 /dev/urandom >>bin.dat
printf 'notes\n' >notes.txt
jc -c "$C" run rt --input bin.dat --input notes.txt:sub/notes.txt --output out -- \
	sh -c 'sha256sum bin.dat sub/notes.txt && cat /workspace/startup/fed.json 2>/dev/null;
		cp bin.dat copy.dat && echo made >made.txt && exit 3'
expect_rc "round trip over ssh: the job's status 3 passes through" 3
host_sums=$(sha256sum bin.dat notes.txt | awk '{print $1}')
job_sums=$(printf '%s\n' "$OUT" | grep -E '^[0-9a-f]{64} ' | awk '{print $1}')
if [ -n "$job_sums" ] && [ "$job_sums" = "$host_sums" ]; then
	ok "over ssh the job reads its inputs byte-exact"
else
	not_ok "over ssh the job reads its inputs byte-exact" "job: $OUT" "host: $host_sums" "$ERR"
fi
if cmp -s bin.dat out/bin.dat && cmp -s bin.dat out/copy.dat && cmp -s notes.txt out/sub/notes.txt &&
	[ "$(cat out/made.txt 2>/dev/null)" = made ]; then
	ok "over ssh --output brings the files back byte-exact"
else
	not_ok "over ssh --output brings the files back byte-exact" "$(cd out 2>/dev/null && find . | sort | tr '\n' ' ')" "$ERR"
fi
if nothing_left "${S}ok"; then ok "round trip over ssh: container and volume removed"; else not_ok "round trip over ssh: nothing left" "$(left_desc "${S}ok")"; fi
if [ -z "$(ls -A "$TMPDIR")" ]; then
	ok "no bridge directory is left in \$TMPDIR"
else
	not_ok "no bridge directory is left" "$(ls -A "$TMPDIR")"
fi

# ---- check, ps and gc over ssh ----
jc -c "$C" check
expect_line "check over ssh names the ssh transport and the host" "$OUT$ERR" 'ssh.*127\.0\.0\.1'
jc -c "$C" ps
expect_rc "ps over ssh" 0
jc -c "$C" gc
expect_rc "gc over ssh" 0

# ---- failures: one error line, 125, nothing made ----
fail_case() { # NAME KEY KNOWN PATTERN
	local site=${S}f$((++FC))
	make_ssite "$site" "$2" "$3"
	jc -c "$TMP/$site.ini" run fj -- true
	expect_refusal "$1: one error line, 125" 125 "$4"
	printf '     %s\n' "$ERR"
	if nothing_left "$site"; then ok "$1: nothing made"; else not_ok "$1: nothing made" "$(left_desc "$site")"; fi
}
FC=0
fail_case "host key unknown" "$D/client" "$D/empty_known_hosts" 'Host key verification failed'
fail_case "host key changed" "$D/client" "$D/changed_known_hosts" 'Host key verification failed'
fail_case "authentication refused" "$D/stranger" "$D/known_hosts" 'Permission denied \(publickey\)'
fail_case "no docker on the far side" "$D/nodocker" "$D/known_hosts" 'jobcell-no-such-docker: (command )?not found'
fail_case "no engine socket on the far side" "$D/nosock" "$D/known_hosts" '/nonexistent\.sock.*no such file or directory'

# ---- the ssh carrying a job killed mid-job ----
"$JOBCELL" -c "$C" run kj -- sleep 120 >"$TMP/kj.out" 2>&1 &
JPID=$!
BGPIDS+=("$JPID")
if wait_running "jobcell-${S}ok-kj"; then
	jc -c "$C" ps
	expect_line "ps over ssh lists the running job" "$OUT" 'kj'
	sshs=$(ps -o pid=,comm= --ppid "$JPID" | awk '$2 == "ssh" {print $1}')
	if [ -n "$sshs" ]; then
		# shellcheck disable=SC2086 # one pid a word
		kill -KILL $sshs
		if wait_gone "$JPID" 60; then
			set +e
			wait "$JPID"
			RC=$?
			set -e
			ERR=$(cat "$TMP/kj.out")
			expect_refusal "the ssh killed mid-job: an error, 125" 125 "jobcell-${S}ok-kj"
			printf '     %s\n' "$ERR"
		else
			kill -KILL "$JPID" 2>/dev/null || true
			not_ok "the ssh killed mid-job: jobcell ends" "still running 60 s later: $(cat "$TMP/kj.out")"
		fi
	else
		not_ok "the ssh killed mid-job" "jobcell $JPID has no ssh child: $(ps -o pid=,comm= --ppid "$JPID")"
		kill -KILL "$JPID" 2>/dev/null || true
	fi
else
	kill -KILL "$JPID" 2>/dev/null || true
	not_ok "a job over ssh runs" "$(cat "$TMP/kj.out")"
fi
if ! ps -o pid=,comm= --ppid "$JPID" | grep -q .; then ok "no ssh of the killed run is left"; else not_ok "no ssh of the killed run is left" "$(ps -o pid=,args= --ppid "$JPID")"; fi
printf '     before gc: %s\n' "$(left_desc "${S}ok")"
jc -c "$C" gc
expect_rc "gc over ssh after the killed run" 0
[ -z "$OUT" ] || printf '     gc: %s\n' "$OUT"
if nothing_left "${S}ok"; then ok "nothing of the killed run is left once gc ran"; else not_ok "nothing of the killed run left after gc" "$(left_desc "${S}ok")" "$OUT"; fi

# ---- jobcell itself killed: its ssh processes follow it (the death
# signal), and what it left is gc's over ssh (the dead supervisor) ----
# dead: gone, or a zombie nobody reaps yet
dead() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
"$JOBCELL" -c "$C" run dj -- sleep 120 >"$TMP/dj.out" 2>&1 &
JPID=$!
BGPIDS+=("$JPID")
if wait_running "jobcell-${S}ok-dj"; then
	sshs=$(ps -o pid=,comm= --ppid "$JPID" | awk '$2 == "ssh" {print $1}')
	kill -KILL "$JPID"
	wait "$JPID" 2>/dev/null || true
	all_dead=1
	for ((i = 0; i < 50; i++)); do
		all_dead=1
		for p in $sshs; do dead "$p" || all_dead=0; done
		[ $all_dead = 1 ] && break
		sleep 0.1
	done
	if [ -n "$sshs" ] && [ $all_dead = 1 ]; then
		ok "jobcell killed: its ssh processes end with it"
	else
		not_ok "jobcell killed: its ssh processes end with it" "ssh pids: '$sshs'"
	fi
	if [ "$(count_site "${S}ok")" = 1 ]; then
		ok "jobcell killed: its container is left for gc"
	else
		not_ok "jobcell killed: its container is left for gc" "$(left_desc "${S}ok")"
	fi
	jc -c "$C" gc
	expect_line "gc over ssh removes what the dead supervisor left" "$OUT" "^removed +container +jobcell-${S}ok-dj "
	if nothing_left "${S}ok"; then ok "nothing of the killed jobcell is left once gc ran"; else not_ok "nothing of the killed jobcell left after gc" "$(left_desc "${S}ok")" "$OUT"; fi
else
	kill -KILL "$JPID" 2>/dev/null || true
	not_ok "a job over ssh runs (for the killed jobcell)" "$(cat "$TMP/dj.out")"
fi

# ---- the site volumes go; the sshd stops by its pid ----
for v in "$SV_START" "$SV_LOCAL"; do engine_req DELETE "/volumes/$v" >/dev/null 2>&1 || true; done
pid=$SSHD_PID
stop_sshd
if ! kill -0 "$pid" 2>/dev/null; then ok "the private sshd is stopped"; else not_ok "the private sshd is stopped" "pid $pid"; fi
summary ssh
