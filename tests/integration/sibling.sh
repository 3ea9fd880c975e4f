#!/usr/bin/env bash
# Sibling containers: build/jobcell itself runs in a container on the real
# engine, with the engine's socket mounted, and launches the job as a sibling
# on the same engine.  The site workspace is mounted into jobcell's container
# at another path (/site-...) than it has on the host: jobcell checks it at
# [workspace] path and must send the engine [workspace] host_path.  Without
# host_path the engine looks for /site-... on the host: Docker refuses the
# missing bind source, so the run fails; Podman 4.3 creates it, empty, so
# the job runs without its workspace and nothing reports it.
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
	# only empty directories, which is what an engine creates for a missing
	# bind source: anything else there is not ours to delete
	if [ "$STRAY" = 1 ] && [ -d "$IN_PATH" ]; then
		find "$IN_PATH" -depth -type d -empty -delete 2>/dev/null || true
		[ ! -e "$IN_PATH" ] || printf 'cleanup: %s is left on the host\n' "$IN_PATH"
	fi
	cleanup_all
}
trap sibling_cleanup EXIT

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
# at the path the binary will look for it (-L: the file, not the symlink)
libs=$(ldd "$JOBCELL" | grep -o '/[^ ]*' | sort -u)
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

# in_container NAME SITE_FILE JOB CMD...: run jobcell in its own container
# (engine socket, workspace at /site, site file read-only, no network) and
# wait for it; sets RC (jobcell's exit status), OUT and ERR (its output)
in_container() {
	local name=$1 site=$2 job=$3 cmd="" a id body
	shift 3
	for a in /usr/local/bin/jobcell -c /etc/jobcell/site.ini run "$job" -- "$@"; do
		cmd+="${cmd:+,}$(json_esc "$a")"
	done
	body=$(printf '{"Image":%s,"User":"0:0","Cmd":[%s],"Labels":{"jobcell.test":%s},
		"HostConfig":{"NetworkMode":"none","Binds":[%s,%s,%s]}}' \
		"$(json_esc "$SELF")" "$cmd" "$(json_esc "$S")" \
		"$(json_esc "$SOCK:/run/engine.sock")" "$(json_esc "$HOST_WS:$IN_PATH")" \
		"$(json_esc "$TMP/$site:/etc/jobcell/site.ini:ro")")
	RC=x OUT="" ERR=""
	id=$(engine_json POST "/containers/create?name=$S-$name" "$body" |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4) || true
	if [ -z "$id" ]; then
		ERR="create failed: $(engine_json POST "/containers/create?name=$S-$name-again" "$body")"
		return 0
	fi
	CTRS+=("$id")
	engine_req POST "/containers/$id/start" >/dev/null || true
	RC=$(curl -sS --max-time 60 --unix-socket "$SOCK" -X POST "http://localhost/containers/$id/wait" |
		grep -o '"StatusCode":[0-9]*' | cut -d: -f2) || true
	engine_get "/containers/$id/logs?stdout=1&stderr=1" 2>/dev/null | demux >"$TMP/c.out" 2>"$TMP/c.err"
	OUT=$(cat "$TMP/c.out") ERR=$(cat "$TMP/c.err")
	[ -n "$RC" ] || RC=x
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

# ---- without host_path: the engine looks for the workspace at IN_PATH on the host ----
if [ -e "$IN_PATH" ]; then
	not_ok "without host_path the engine cannot find the workspace" \
		"$IN_PATH appeared on the host before this run: $(ls -A "$IN_PATH" 2>&1 | tr '\n' ' ')"
else
	in_container run3 without.ini job-2 sh -c 'cat /workspace/startup/fed.json 2>/dev/null || echo no-startup-data'
	lines=$(printf '%s\n' "$ERR" | grep -c '^jobcell: error: ' || true)
	if [ "$ENGINE_NAME" = podman ] && [ "$RC" = 125 ] && [ "$lines" = 1 ] && [ -z "$OUT" ] &&
		printf '%s\n' "$ERR" | grep -q '^jobcell: error: mount gate `/.jobcell-gate` did not run'; then
		# Podman 4.3's compatible API creates a missing bind source (as
		# Docker's legacy Binds did), the gate's among them: a directory,
		# which runc cannot execute.  The job never runs outside its
		# workspace; only host_path makes it run at all.
		ok "without host_path on Podman the mount gate cannot run: 125 and one error line, the job did not run"
		printf '     %s\n' "$ERR"
		if [ "$(count_site "$S")" = 0 ]; then
			ok "the failed run left no container"
		else
			not_ok "the failed run left no container" "$(count_site "$S") containers"
		fi
	elif [ "$RC" = 125 ]; then
		# Docker: "bind source path does not exist" names the path the engine tried
		if [ "$lines" = 1 ] && [ -z "$OUT" ] &&
			printf '%s\n' "$ERR" | grep -q "^jobcell: error: .*$IN_PATH/startup"; then
			ok "without host_path the engine cannot find $IN_PATH: 125 and one engine error line"
			printf '     %s\n' "$ERR"
		else
			not_ok "without host_path the engine cannot find $IN_PATH: 125 and one engine error line" \
				"$lines error lines" "stderr: $ERR" "stdout: $OUT"
		fi
		if [ ! -e "$HOST_WS/job-2" ] && [ ! -e "$IN_PATH" ] && [ "$(count_site "$S")" = 0 ]; then
			ok "the failed run left no job directory, no container, nothing at $IN_PATH"
		else
			not_ok "the failed run left no job directory, no container, nothing at $IN_PATH" \
				"$(ls -A "$HOST_WS" | tr '\n' ' '); $(count_site "$S") containers"
		fi
	elif [ "$ENGINE_NAME" = podman ] && [ "$OUT" = no-startup-data ] &&
		[ -d "$IN_PATH/startup" ] && [ -d "$IN_PATH/job-2" ]; then
		# Podman 4.3's compatible API creates a missing bind source (as
		# Docker's legacy Binds did): no error, and the job runs in empty
		# directories outside the workspace.  Only host_path prevents it.
		ok "without host_path Podman creates $IN_PATH/{startup,local,job-2} on the host: the job ran without its workspace (exit $RC, no error)"
	else
		not_ok "without host_path the engine cannot find $IN_PATH" "exit $RC (want 125)" \
			"stderr: $ERR" "stdout: $OUT" "$(ls -A "$IN_PATH" 2>&1 | tr '\n' ' ')"
	fi
fi
summary sibling
