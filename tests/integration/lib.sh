# Shared helpers for the integration tests: a tiny harness that counts
# passes, failures and skips and prints one summary line at the end.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# the binary under test: the Makefile exports its build directory's
JOBCELL=${JOBCELL_BIN:-$ROOT/build/jobcell}
SOCK=${JOBCELL_TEST_SOCKET:-/var/run/docker.sock}
PASS=0 FAIL=0 SKIP=0
SITES=()
TMP=$(mktemp -d /tmp/jobcell-it.XXXXXX)
trap 'cleanup_all' EXIT

BGPIDS=() # background jobcells a script started: killed first

cleanup_all() {
	# whatever a failed test left: remove it, then say so.  Containers
	# first (a volume in use cannot go); what a script made by hand carries
	# the label jobcell-test.run=$S.
	local pid site id v
	set +e
	for pid in "${BGPIDS[@]}"; do kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	if engine_up; then
		for site in "${SITES[@]}"; do
			for id in $(site_ids "$site"); do
				printf 'cleanup: removing container %s left by site %s\n' "$id" "$site"
				engine_req DELETE "/containers/$id?force=1" >/dev/null 2>&1
			done
		done
		if [ -n "${S:-}" ]; then
			for id in $(engine_get "/containers/json?all=1&filters=$(label_filter "jobcell-test.run=$S")" |
				grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
				engine_req DELETE "/containers/$id?force=1" >/dev/null 2>&1
			done
		fi
		for site in "${SITES[@]}"; do
			for v in $(site_vols "$site"); do
				printf 'cleanup: removing volume %s left by site %s\n' "$v" "$site"
				engine_req DELETE "/volumes/$v?force=1" >/dev/null 2>&1
			done
		done
		if [ -n "${S:-}" ]; then
			for v in $(vols_by_label "jobcell-test.run=$S"); do
				engine_req DELETE "/volumes/$v?force=1" >/dev/null 2>&1
			done
		fi
	fi
	cd /
	rm -rf "$TMP"
}

ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$1"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$1"; [ $# -gt 1 ] && printf '     %s\n' "${@:2}"; return 0; }
skip() {
	if [ "${JOBCELL_REQUIRE_ENGINE:-0}" = 1 ]; then
		not_ok "$1" "skipped but JOBCELL_REQUIRE_ENGINE=1: $2"
	else
		SKIP=$((SKIP + 1)); printf 'SKIP %s: %s\n' "$1" "$2"
	fi
}
ENGINE_NAME=${JOBCELL_TEST_ENGINE:-docker}
summary() {
	printf '%s-%s: %d passed, %d failed, %d skipped\n' "$1" "$ENGINE_NAME" "$PASS" "$FAIL" "$SKIP"
	[ "$FAIL" -eq 0 ]
}

engine_req() { curl -sS --max-time 20 --unix-socket "$SOCK" -X "$1" "http://localhost$2"; }
engine_get() { engine_req GET "$1"; }
engine_up() { curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
image_present() { curl -fsS --max-time 5 --unix-socket "$SOCK" "http://localhost/images/$1/json" >/dev/null 2>&1; }

engine_json() { # METHOD PATH BODY
	curl -sS --max-time 20 --unix-socket "$SOCK" -X "$1" -H 'Content-Type: application/json' \
		-d "$3" "http://localhost$2"
}

# fill_volume VOLUME TARFILE: unpack TARFILE at the volume's root through a
# never-started throwaway container (labelled jobcell-test.run=$S).  Tried
# up to 3 times: Podman 4.3 now and then answers an archive PUT with 500
# "passing bulk input to subprocess: ... broken pipe".
fill_volume() {
	local id code try
	id=$(engine_json POST /containers/create "{\"Image\":\"jobcell-test/root:latest\",\"Cmd\":[\"true\"],\"Labels\":{\"jobcell-test.run\":\"$S\"},\"HostConfig\":{\"NetworkMode\":\"none\",\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"$1\",\"Target\":\"/v\"}]}}" |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
	[ -n "$id" ] || return 1
	for try in 1 2 3; do
		code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" -X PUT \
			-H 'Content-Type: application/x-tar' --data-binary @"$2" \
			"http://localhost/containers/$id/archive?path=/v" || true)
		[ "$code" = 200 ] && break
		sleep 0.2
	done
	engine_req DELETE "/containers/$id?force=1" >/dev/null 2>&1 || true
	[ "$code" = 200 ]
}

# Containers of a site (all states), by label.
site_ids() {
	engine_get "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22jobcell.site%3D$1%22%5D%7D" 2>/dev/null |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4
}
count_site() { site_ids "$1" | wc -l; }
# url-encoded {"label":["K=V"]}, for the engine's list filters: one label
# only -- Podman 4.3 ORs several label filters on /volumes where Docker ANDs
# them
label_filter() { printf '%s' "%7B%22label%22%3A%5B%22${1/=/%3D}%22%5D%7D"; }
# Volumes labelled K=V, and a site's.
vols_by_label() {
	engine_get "/volumes?filters=$(label_filter "$1")" 2>/dev/null |
		grep -o '"Name":"[^"]*"' | cut -d'"' -f4 | sort -u
}
site_vols() { vols_by_label "jobcell.site=$1"; }

# make_site NAME [key=value...]: a workspace with startup/ and local/ and a
# site file at $TMP/NAME.ini; extra keys go to [job], and the lines of
# $WORKSPACE_KEYS (if set) to [workspace].
make_site() {
	local name=$1; shift
	local ws=$TMP/$name
	SITES+=("$name")
	mkdir -p "$ws/startup" "$ws/local"
	chmod 0755 "$ws"
	echo "startup-$name" >"$ws/startup/fed.json"
	echo "local-$name" >"$ws/local/resources.json"
	{
		printf '[engine]\nendpoint = unix://%s\n' "$SOCK"
		printf '[site]\nname = %s\n' "$name"
		printf '[workspace]\npath = %s\n' "$ws"
		[ -z "${WORKSPACE_KEYS:-}" ] || printf '%s\n' "$WORKSPACE_KEYS"
		printf '[job]\n'
		for kv in "$@"; do printf '%s\n' "${kv/=/ = }"; done
	} >"$TMP/$name.ini"
}

# Run jobcell; sets OUT, ERR, RC, and REC: what it wrote on descriptor 3
# (--status-fd 3).
jc() {
	set +e
	"$JOBCELL" "$@" >"$TMP/out" 2>"$TMP/err" 3>"$TMP/rec"
	RC=$?
	set -e
	OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err"); REC=$(cat "$TMP/rec")
}

expect_rc() { # name want
	if [ "$RC" = "$2" ]; then ok "$1"; else not_ok "$1" "exit $RC, want $2" "stderr: $ERR"; fi
}

# expect_refusal NAME WANT_RC PATTERN: one error line matching PATTERN.
expect_refusal() {
	local lines
	lines=$(printf '%s' "$ERR" | grep -c '^jobcell: error: ' || true)
	if [ "$RC" = "$2" ] && [ "$lines" = 1 ] && printf '%s' "$ERR" | grep -qE -- "$3"; then
		ok "$1"
	else
		not_ok "$1" "exit $RC (want $2), $lines error lines, stderr: $ERR" "want /$3/"
	fi
}

# wait_running CONTAINER: true once the engine reports it running (20 s at most)
wait_running() {
	local i
	for ((i = 0; i < 200; i++)); do
		engine_get "/containers/$1/json" 2>/dev/null | grep -q '"Running":true' && return 0
		sleep 0.1
	done
	return 1
}

# signal_case NAME SITE JOB WANT_RC "SIG [SIG...]" CMD...: run a job in the
# background, signal jobcell once the container runs, expect WANT_RC
signal_case() {
	local name=$1 site=$2 job=$3 want=$4 sigs=$5 pid s
	shift 5
	"$JOBCELL" -c "$TMP/$site.ini" run "$job" -- "$@" >"$TMP/$job.out" 2>&1 &
	pid=$!
	if ! wait_running "jobcell-$site-$job"; then
		kill -KILL "$pid" 2>/dev/null || true; not_ok "$name" "container never ran: $(cat "$TMP/$job.out")"
		return
	fi
	for s in $sigs; do kill "-$s" "$pid"; sleep 0.2; done
	if wait_gone "$pid" 15; then
		set +e; wait "$pid"; RC=$?; set -e; ERR=$(cat "$TMP/$job.out")
		expect_rc "$name" "$want"
	else
		kill -KILL "$pid" 2>/dev/null || true; not_ok "$name" "jobcell still running 15 s after the signal"
	fi
}

# wait_gone PID SECONDS: true when the process exits in time
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
