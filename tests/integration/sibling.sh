#!/usr/bin/env bash
# Sibling containers: build/jobcell itself runs in a container on the real
# engine (a worker), with the engine's socket mounted, and launches the job
# as a sibling on the same engine.
#
# Bind mode: the site workspace is mounted into the worker at another path
# (/site-...) than it has on the host: jobcell checks it at [workspace] path
# and must send the engine [workspace] host_path.  A wrong host_path, or none,
# makes the engine mount something else (Podman 4.3 creates a missing bind
# source, empty): the mount proof refuses the run before the start.
#
# Volume mode, the scenario of the documents: inputs from the worker's own
# file system (which the engine cannot see), outputs back into it, the job
# as 65532, and nothing left on the engine or the host.
. "$(dirname "$0")/lib.sh"
set -e
S=sib$$                          # site name: unique per run, no `-`
SELF=jobcell-test/self:sib$$     # the image with build/jobcell in it
IN_PATH=/site-$S                 # where jobcell's container sees the workspace
                                 # (unique: Podman creates it on the host, see below)
HOST_WS=$TMP/host-ws             # where the host (and the engine) has it
CTRS=()                          # jobcell containers this script made
IMPORTED=0
STRAY=0                          # 1: IN_PATH was absent on the host; remove what appears there
SELF_ID=""
VS=${S}v                         # the volume-mode site
XFER_IN=/xfer-$S                 # the worker's transfer_dir: only inside the worker
GATE_STRAY=0                     # 1: the gate's path in the worker was absent on the host
[ -e /usr/local/bin/jobcell-gate ] || GATE_STRAY=1

sibling_cleanup() {
	local c
	for c in "${CTRS[@]}"; do
		engine_req DELETE "/containers/$c?force=1" >/dev/null 2>&1 || true
	done
	if [ "$IMPORTED" = 1 ]; then
		engine_req DELETE "/images/$SELF?force=1" >/dev/null 2>&1 || true
		# an import that was never tagged is known by its id alone
		[ -z "$SELF_ID" ] || engine_req DELETE "/images/$SELF_ID?force=1" >/dev/null 2>&1 || true
	fi
	for v in $(site_vols "$VS") "$S-startup" "$S-local"; do
		engine_req DELETE "/volumes/$v?force=1" >/dev/null 2>&1 || true
	done
	# only empty directories, which is what an engine creates for a missing
	# bind source: anything else there is not ours to delete
	for d in "$IN_PATH" "$TMP/absent-ws"; do
		if [ "$STRAY" = 1 ] && [ -d "$d" ]; then
			find "$d" -depth -type d -empty -delete 2>/dev/null || true
			[ ! -e "$d" ] || printf 'cleanup: %s is left on the host\n' "$d"
		fi
	done
	if [ "$GATE_STRAY" = 1 ] && [ -d /usr/local/bin/jobcell-gate ]; then
		rmdir /usr/local/bin/jobcell-gate 2>/dev/null || true
	fi
	cleanup_all
}
trap sibling_cleanup EXIT
# volumes by one label (Podman 4.3 ORs several label filters on /volumes)
site_vols() {
	engine_get "/volumes?filters=%7B%22label%22%3A%5B%22jobcell.site%3D$1%22%5D%7D" 2>/dev/null |
		grep -o '"Name":"[^"]*"' | cut -d'"' -f4 | sort -u
}

# Docker's multiplexed log stream -> stdout and stderr (8-byte frame headers)
demux() {
	perl -e 'binmode STDIN; while (read(STDIN, $h, 8) == 8) {
		my ($t, $n) = unpack("C x3 N", $h); read(STDIN, $d, $n);
		if ($t == 2) { print STDERR $d } else { print STDOUT $d } }'
}
json_esc() { # a string as a JSON string literal: \ " newline and tab escaped
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	printf '"%s"' "${s//$'\t'/\\t}"
}

if ! engine_up; then
	skip "sibling containers" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary sibling
	exit $?
fi
if ! image_present jobcell-test/nonroot:latest; then
	skip "sibling containers" "image jobcell-test/nonroot:latest is missing (run contrib/bootstrap.sh)"
	summary sibling
	exit $?
fi
if [ "$(id -u)" != 0 ]; then
	# jobcell in its container runs as root, and refuses a workspace owned by
	# another user than the one it runs as
	skip "sibling containers" "needs root: the host workspace must belong to root"
	summary sibling
	exit $?
fi
if [ -e "$IN_PATH" ]; then
	skip "sibling containers" "$IN_PATH exists on this host: it must not, for the engine to miss it"
	summary sibling
	exit $?
fi
# from here, any run that sends the engine IN_PATH (on Podman) creates it
STRAY=1
[ -x "$JOBCELL" ] || { not_ok "sibling containers" "$JOBCELL is not built"; summary sibling; exit 1; }

# ---- the image: build/jobcell, every library it links, the loader, busybox ----
ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/usr/local/bin"
chmod 0755 "$ROOTFS" # the root of the image: jobcell checks the directories above /site
chmod 1777 "$ROOTFS/tmp"
cp "$JOBCELL" "$ROOTFS/usr/local/bin/jobcell"
# the mount gate beside it, where jobcell looks first (a bind-mode job needs it)
cp "$(dirname "$JOBCELL")/jobcell-gate" "$ROOTFS/usr/local/bin/jobcell-gate"
# every absolute path ldd names: the libraries and the dynamic loader, each
# at the path the binary will look for it (-L: the file, not the symlink);
# libarchive and what it needs too, which jobcell loads only when files
# move (archive_lib.h), so ldd of the binary does not name them
LIBARCHIVE=$(ldconfig -p | awk '$1 == "libarchive.so.13" { print $NF; exit }')
[ -n "$LIBARCHIVE" ] || { not_ok "sibling containers" "no libarchive.so.13 in ldconfig's cache"; summary sibling; exit 1; }
libs=$({ ldd "$JOBCELL"; echo "$LIBARCHIVE"; ldd "$LIBARCHIVE"; } | grep -o '/[^ ]*' | sort -u)
for lib in $libs; do
	mkdir -p "$ROOTFS$(dirname "$lib")"
	cp -L "$lib" "$ROOTFS$lib"
done
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$ROOTFS/bin/$applet"
done
printf 'root:x:0:0:root:/:/bin/sh\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\n' >"$ROOTFS/etc/group"
# the engine's own import endpoint, on Docker and Podman alike
import_out=$(tar --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -c . |
	curl -sS --max-time 60 --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' \
		--data-binary @- \
		"http://localhost/images/create?fromSrc=-&repo=${SELF%:*}&tag=${SELF#*:}" 2>&1) || true
IMPORTED=1
SELF_ID=$(printf '%s' "$import_out" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1) || true
# Podman 4.3 imports but ignores repo and tag on this endpoint: tag it by id
if ! image_present "$SELF" && [ -n "$SELF_ID" ]; then
	engine_req POST "/images/$SELF_ID/tag?repo=${SELF%:*}&tag=${SELF#*:}" >/dev/null 2>&1 || true
fi
if image_present "$SELF"; then
	ok "image $SELF imported ($(printf '%s\n' "$libs" | wc -l) libraries and the loader)"
else
	not_ok "image $SELF imported" "$import_out"
	summary sibling
	exit 1
fi

# ---- the host's side: a workspace with a sibling job holding a secret ----
mkdir -p "$HOST_WS/startup" "$HOST_WS/local" "$HOST_WS/other-job"
chmod 0755 "$HOST_WS"
echo "startup-$S" >"$HOST_WS/startup/fed.json"
echo "local-$S" >"$HOST_WS/local/resources.json"
echo secret >"$HOST_WS/other-job/secret.txt"
chmod 0700 "$HOST_WS/other-job"
SITES+=("$S")

# site_file NAME [host_path]: the site file as jobcell's container sees it
site_file() {
	{
		printf '[engine]\nendpoint = unix:///run/engine.sock\n'
		printf '[site]\nname = %s\n' "$S"
		printf '[workspace]\npath = %s\n' "$IN_PATH"
		[ $# -gt 1 ] && printf 'host_path = %s\n' "$2"
		printf '[job]\nimage = jobcell-test/nonroot:latest\nstop_grace = 2s\n'
	} >"$TMP/$1"
	chmod 0644 "$TMP/$1"
}
site_file with.ini "$HOST_WS"
site_file without.ini

# worker NAME BINDS CMD...: run CMD in a worker container (this image, as
# root, no network, the engine socket at /run/engine.sock, and BINDS: more
# JSON strings, each with a leading comma) and wait for it; sets RC (its
# exit status), OUT and ERR (its output)
worker() {
	local name=$1 binds=$2 cmd="" a id body
	shift 2
	for a in "$@"; do
		cmd+="${cmd:+,}$(json_esc "$a")"
	done
	body=$(printf '{"Image":%s,"User":"0:0","Cmd":[%s],"Labels":{"jobcell.test":%s},
		"HostConfig":{"NetworkMode":"none","Binds":[%s%s]}}' \
		"$(json_esc "$SELF")" "$cmd" "$(json_esc "$S")" \
		"$(json_esc "$SOCK:/run/engine.sock")" "$binds")
	RC=x OUT="" ERR=""
	id=$(engine_json POST "/containers/create?name=$S-$name" "$body" |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4) || true
	if [ -z "$id" ]; then
		ERR="create failed: $(engine_json POST "/containers/create?name=$S-$name-again" "$body")"
		return 0
	fi
	CTRS+=("$id")
	engine_req POST "/containers/$id/start" >/dev/null || true
	RC=$(curl -sS --max-time 120 --unix-socket "$SOCK" -X POST "http://localhost/containers/$id/wait" |
		grep -o '"StatusCode":[0-9]*' | cut -d: -f2) || true
	engine_get "/containers/$id/logs?stdout=1&stderr=1" 2>/dev/null | demux >"$TMP/c.out" 2>"$TMP/c.err"
	OUT=$(cat "$TMP/c.out") ERR=$(cat "$TMP/c.err")
	[ -n "$RC" ] || RC=x
}

# in_container NAME SITE_FILE JOB CMD...: jobcell run JOB -- CMD in a worker
# with the workspace at IN_PATH and the site file read-only
in_container() {
	local name=$1 site=$2 job=$3
	shift 3
	worker "$name" ",$(json_esc "$HOST_WS:$IN_PATH"),$(json_esc "$TMP/$site:/etc/jobcell/site.ini:ro")" \
		/usr/local/bin/jobcell -c /etc/jobcell/site.ini run "$job" -- "$@"
}

# ---- with host_path: the job sees its own directory and nothing else ----
# (JOB is literal in the probe: the shell of the job expands nothing of ours)
probe='
fail=0
t() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1"; fail=1; fi; }
t "only startup, local, job-1" "[ \"\$(ls -A /workspace | tr \"\n\" \" \")\" = \"job-1 local startup \" ]"
t "no sibling job" "[ ! -e /workspace/other-job ] && ! grep -rqs secret /workspace"
t "startup is the host one" "[ \"\$(cat /workspace/startup/fed.json)\" = startup-SITE ]"
t "local is the host one" "[ \"\$(cat /workspace/local/resources.json)\" = local-SITE ]"
t "startup read-only" "! touch /workspace/startup/x 2>/dev/null"
t "root not writable" "! touch /workspace/planted 2>/dev/null"
t "cwd is job dir" "[ \"\$(pwd)\" = /workspace/job-1 ]"
t "no engine socket" "[ ! -e /run/engine.sock ] && [ ! -e /var/run/docker.sock ]"
t "job dir writable" "echo from-job-\$(id -u) > result.txt"
exit $fail'
in_container run1 with.ini job-1 sh -c "${probe//SITE/$S}"
if [ "$RC" = 0 ]; then
	ok "jobcell in a container: the job's exit status 0 passes through ($(printf '%s\n' "$OUT" | grep -c '^ok') checks)"
else
	not_ok "jobcell in a container: the job's exit status 0 passes through" "exit $RC" \
		"$(printf '%s\n' "$OUT" | grep -v '^ok')" "stderr: $ERR"
fi
if [ "$(cat "$HOST_WS/job-1/result.txt" 2>/dev/null)" = from-job-65532 ] &&
	[ "$(stat -c %u "$HOST_WS/job-1")" = 65532 ]; then
	ok "the job's file is on the host in host-ws/job-1, which belongs to the job's user"
else
	not_ok "the job's file is on the host in host-ws/job-1" "$(ls -la "$HOST_WS" "$HOST_WS/job-1" 2>&1)"
fi
if [ ! -e "$HOST_WS/planted" ] && [ ! -e "$HOST_WS/startup/x" ] &&
	[ "$(ls -A "$HOST_WS" | tr '\n' ' ')" = "job-1 local other-job startup " ]; then
	ok "nothing else appeared in the host workspace"
else
	not_ok "nothing else appeared in the host workspace" "$(ls -A "$HOST_WS" | tr '\n' ' ')"
fi
in_container run2 with.ini job-1 sh -c 'exit 7'
if [ "$RC" = 7 ]; then
	ok "jobcell in a container: the job's exit status 7 passes through"
else
	not_ok "jobcell in a container: the job's exit status 7 passes through" "exit $RC" "stderr: $ERR"
fi
if [ "$(count_site "$S")" = 0 ]; then
	ok "the job containers jobcell created are gone"
else
	not_ok "the job containers jobcell created are gone" "$(count_site "$S") left"
fi

# proof_refused NAME JOB HINT: the run was refused by the mount proof of
# JOB's own directory, with one error line ending in HINT, and left nothing:
# no container, no job directory, no proof file
proof_refused() {
	local name=$1 job=$2 hint=$3 lines want
	lines=$(printf '%s\n' "$ERR" | grep -c '^jobcell: error: ' || true)
	want="jobcell: error: mount \`$job\` of job \`$job\`: the engine did not mount the directory jobcell checked (no proof file at /workspace/$job; $hint)"
	if [ "$RC" = 125 ] && [ "$lines" = 1 ] && [ -z "$OUT" ] &&
		[ "$(printf '%s\n' "$ERR" | grep '^jobcell: error: ')" = "$want" ]; then
		ok "$name: 125 and one error line of the mount proof, the job did not run"
		printf '     %s\n' "$ERR"
	else
		not_ok "$name: 125 and one error line of the mount proof" "exit $RC, $lines error lines" \
			"stderr: $ERR" "stdout: $OUT" "want: $want"
	fi
	if [ ! -e "$HOST_WS/$job" ] && [ "$(count_site "$S")" = 0 ] &&
		[ -z "$(find "$HOST_WS" "$TMP/wrong-ws" -name '.jobcell-proof-*' 2>/dev/null)" ] &&
		[ "$(ls -A "$HOST_WS" | tr '\n' ' ')" = "job-1 local other-job startup " ]; then
		ok "$name: no job directory, no container, no proof file left"
	else
		not_ok "$name: no job directory, no container, no proof file left" \
			"$(ls -A "$HOST_WS" | tr '\n' ' '); $(count_site "$S") containers"
	fi
}

# ---- without host_path: the engine looks for the workspace at IN_PATH on the host ----
if [ -e "$IN_PATH" ]; then
	not_ok "without host_path the engine cannot find the workspace" \
		"$IN_PATH appeared on the host before this run: $(ls -A "$IN_PATH" 2>&1 | tr '\n' ' ')"
elif [ "$ENGINE_NAME" = podman ]; then
	# Podman 4.3's compatible API creates a missing bind source (as Docker's
	# legacy Binds did), empty: the job would run without its workspace
	in_container run3 without.ini job-2 sh -c 'cat /workspace/startup/fed.json 2>/dev/null || echo no-startup-data'
	proof_refused "without host_path on Podman (which made $IN_PATH/job-2 empty)" job-2 \
		'does the engine see [workspace] path as jobcell does? jobcell in a container needs host_path'
else
	in_container run3 without.ini job-2 sh -c 'cat /workspace/startup/fed.json 2>/dev/null || echo no-startup-data'
	lines=$(printf '%s\n' "$ERR" | grep -c '^jobcell: error: ' || true)
	# Docker: "bind source path does not exist" names the path the engine tried
	if [ "$RC" = 125 ] && [ "$lines" = 1 ] && [ -z "$OUT" ] &&
		printf '%s\n' "$ERR" | grep -q "^jobcell: error: .*$IN_PATH/startup"; then
		ok "without host_path Docker cannot find $IN_PATH: 125 and one engine error line"
		printf '     %s\n' "$ERR"
	else
		not_ok "without host_path Docker cannot find $IN_PATH: 125 and one engine error line" \
			"exit $RC, $lines error lines" "stderr: $ERR" "stdout: $OUT"
	fi
	if [ ! -e "$HOST_WS/job-2" ] && [ ! -e "$IN_PATH" ] && [ "$(count_site "$S")" = 0 ]; then
		ok "the failed run left no job directory, no container, nothing at $IN_PATH"
	else
		not_ok "the failed run left no job directory, no container, nothing at $IN_PATH" \
			"$(ls -A "$HOST_WS" | tr '\n' ' '); $(count_site "$S") containers"
	fi
fi

# ---- a wrong host_path: another workspace on the host, with the same children ----
mkdir -p "$TMP/wrong-ws/startup" "$TMP/wrong-ws/local" "$TMP/wrong-ws/job-3"
echo "stale-$S" >"$TMP/wrong-ws/startup/fed.json"
site_file wrong.ini "$TMP/wrong-ws"
in_container run4 wrong.ini job-3 sh -c 'cat /workspace/startup/fed.json; touch planted'
proof_refused "a wrong host_path (an existing other workspace)" job-3 'is [workspace] host_path right?'
if [ "$(ls -A "$TMP/wrong-ws" "$TMP/wrong-ws/job-3" | tr '\n' ' ')" = "$TMP/wrong-ws: job-3 local startup  $TMP/wrong-ws/job-3: " ]; then
	ok "a wrong host_path: the other workspace is as it was"
else
	not_ok "a wrong host_path: the other workspace is as it was" "$(ls -AR "$TMP/wrong-ws")"
fi
if [ "$ENGINE_NAME" = podman ]; then
	# a host_path that does not exist: Podman makes each bind source, empty
	site_file absent.ini "$TMP/absent-ws"
	in_container run5 absent.ini job-4 sh -c 'echo ran'
	proof_refused "a host_path that does not exist on Podman (which made it empty)" job-4 \
		'is [workspace] host_path right?'
fi

# ---- volume mode, as the documents have it: jobcell in a worker with the
# engine socket, inputs from the worker's own file system, outputs back
# into it, the job as 65532, nothing left on the engine or the host ----
mkdir -p "$TMP/sv"
echo "startup-$VS" >"$TMP/sv/fed.json"
echo "local-$VS" >"$TMP/sv/resources.json"
chmod 0644 "$TMP/sv/fed.json" "$TMP/sv/resources.json"
tar --owner=0 --group=0 -C "$TMP/sv" -cf "$TMP/sv/startup.tar" fed.json
tar --owner=0 --group=0 -C "$TMP/sv" -cf "$TMP/sv/local.tar" resources.json
made=0
for v in startup local; do
	engine_json POST /volumes/create "{\"Name\":\"$S-$v\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null &&
		fill_volume "$S-$v" "$TMP/sv/$v.tar" && made=$((made + 1))
done
{
	printf '[engine]\nendpoint = unix:///run/engine.sock\n'
	printf '[site]\nname = %s\n' "$VS"
	printf '[workspace]\nmode = volume\n'
	printf '[volume]\nstartup_volume = %s-startup\nlocal_volume = %s-local\n' "$S" "$S"
	printf 'transfer_dir = %s\n' "$XFER_IN"
	printf '[job]\nimage = jobcell-test/nonroot:latest\nuser = 65532:65532\nstop_grace = 2s\n'
} >"$TMP/volume.ini"
chmod 0644 "$TMP/volume.ini"
host_before=$(ls -A / | tr '\n' ' ')
# the worker makes its inputs in its own file system, runs the job, and
# shows what came back; the job copies its inputs, says who it is and what
# it sees of the workspace
script='set -e
mkdir -p XFER/in/sub
printf "input-data\n" >XFER/in/sub/a.txt
printf "second\n" >XFER/in/b.txt
rc=0
/usr/local/bin/jobcell -c /etc/jobcell/site.ini run vjob --input in --output out -- sh -c '"'"'
	cat in/sub/a.txt in/b.txt >copied.txt
	id -u >uid.txt
	stat -c %u in/sub/a.txt >owner.txt
	cat /workspace/startup/fed.json >startup.txt
	ls -A /workspace | tr "\n" " " >ls.txt'"'"' || rc=$?
echo "jobcell-rc $rc"
for f in copied.txt uid.txt owner.txt startup.txt ls.txt; do echo "== $f"; cat XFER/out/$f; echo; done
echo "== out"; ls -A XFER/out | tr "\n" " "; echo'
if [ "$made" != 2 ]; then
	not_ok "volume mode in a worker: site volumes made and filled" "$made of 2"
else
	worker vol1 ",$(json_esc "$TMP/volume.ini:/etc/jobcell/site.ini:ro")" sh -c "${script//XFER/$XFER_IN}"
	want="jobcell-rc 0
== copied.txt
input-data
second

== uid.txt
65532

== owner.txt
65532

== startup.txt
startup-$VS

== ls.txt
local startup vjob 
== out
copied.txt in ls.txt owner.txt startup.txt uid.txt "
	if [ "$RC" = 0 ] && [ "$OUT" = "$want" ] && ! printf '%s\n' "$ERR" | grep -q '^jobcell: '; then
		ok "volume mode in a worker: inputs from the worker in, outputs back into the worker, the job as 65532"
	else
		not_ok "volume mode in a worker: inputs in, outputs back, the job as 65532" "exit $RC" \
			"stdout: $OUT" "stderr: $ERR"
	fi
	if [ "$(count_site "$VS")" = 0 ] && [ -z "$(site_vols "$VS")" ]; then
		ok "volume mode in a worker: no container or volume labelled with the site is left on the engine"
	else
		not_ok "volume mode in a worker: nothing left on the engine" \
			"$(count_site "$VS") containers, volumes: $(site_vols "$VS" | tr '\n' ' ')"
	fi
	if [ ! -e "$XFER_IN" ] && [ "$(ls -A / | tr '\n' ' ')" = "$host_before" ]; then
		ok "volume mode in a worker: nothing new on the host ($XFER_IN is only in the worker)"
	else
		not_ok "volume mode in a worker: nothing new on the host" "$(ls -A / | tr '\n' ' ')"
	fi
fi
summary sibling
