# Shared by the benchmark scripts (sourced): settings, a scratch directory,
# the engine request helper, cleanup of everything made on the engine, the
# measuring runner, medians, and the result table.
#
# Settings (environment):
#   JOBCELL_BIN          the binary (default build/jobcell; the Makefile sets it)
#   JOBCELL_TEST_SOCKET  engine socket (default /var/run/docker.sock)
#   BENCH_RUNS           measured runs of each launch and round trip (default 15)
#   BENCH_BIG_RUNS       measured runs of each large transfer (default 5)
#   BENCH_MIB            size of the large file in MiB (default 1024)
#   BENCH_CONC           jobs at once in bench/many.sh (default 32)
#   BENCH_CONC_SLEEP     how long each of them sleeps, in seconds (default 3)
#   BENCH_CONC_RUNS      rounds of each way in bench/many.sh (default 3)
#   BENCH_IDLE_S         seconds a sleeping job's supervisor is watched in
#                        bench/idle.sh (default 120)
#   BENCH_DOCKER         docker CLI (default: `docker` on PATH)
#   BENCH_PYTHON         Python with Debian's python3-docker (default /usr/bin/python3)
#   BENCH_OUT            file the result rows go to (set by bench/run.sh; when
#                        unset, a script prints its own table at the end)
#   BENCH_RESULTS        file of `NAME VALUE` lines, the figures the targets are
#                        judged on (default $BENCH_OUT.results; bench/targets.sh
#                        reads it, and lists the names)
# shellcheck shell=bash disable=SC2034 # the settings are for the scripts that source this

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
JOBCELL=${JOBCELL_BIN:-$ROOT/build/jobcell}
MEASURE=${MEASURE:-$(dirname "$JOBCELL")/bench/measure}
FAKE_SERVE=${FAKE_SERVE:-$(dirname "$JOBCELL")/bench/fake-serve}
SOCK=${JOBCELL_TEST_SOCKET:-/var/run/docker.sock}
RUNS=${BENCH_RUNS:-15}
BIG_RUNS=${BENCH_BIG_RUNS:-5}
MIB=${BENCH_MIB:-1024}
DOCKER=${BENCH_DOCKER:-$(command -v docker || echo docker)}
PYTHON=${BENCH_PYTHON:-/usr/bin/python3}
IMAGE=jobcell-test/root:latest
# the docker CLI and the SDK talk to the same engine as jobcell
export DOCKER_HOST=unix://$SOCK

# A site name unique to this script's run (no `-`: jobcell's rule); every
# container and volume made here carries it, as jobcell.site or as
# jobcell-bench, and cleanup finds them by it.
SITE=${BENCH_SITE:-bench$$}
TMP=$(mktemp -d /var/tmp/jobcell-bench.XXXXXX)
chmod 0755 "$TMP"
OWN_OUT=0
if [ -z "${BENCH_OUT:-}" ]; then
	BENCH_OUT=$TMP/rows.tsv
	OWN_OUT=1
fi
CLEANUP_HOOKS=()

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

req() { curl -sS --max-time 30 --unix-socket "$SOCK" "$@"; }
engine_up() { req -f -o /dev/null http://localhost/_ping 2>/dev/null; }

# url-encoded {"label":["K=V"]}
label_filter() { printf '%s' "%7B%22label%22%3A%5B%22${1/=/%3D}%22%5D%7D"; }
ids_by_label() {
	req "http://localhost/containers/json?all=1&filters=$(label_filter "$1")" 2>/dev/null |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4
}
vols_by_label() {
	req "http://localhost/volumes?filters=$(label_filter "$1")" 2>/dev/null |
		grep -o '"Name":"[^"]*"' | cut -d'"' -f4 | sort -u
}

# Remove every container, then every volume, labelled with this site; then
# the scratch directory.  Runs on any exit, also after a failure.
bench_cleanup() {
	local rc=$? id v hook label
	set +e
	for hook in ${CLEANUP_HOOKS[@]+"${CLEANUP_HOOKS[@]}"}; do "$hook"; done
	if engine_up; then
		for label in "jobcell.site=$SITE" "jobcell-bench=$SITE"; do
			for id in $(ids_by_label "$label"); do
				req -X DELETE "http://localhost/containers/$id?force=1&v=1" >/dev/null 2>&1
			done
		done
		for label in "jobcell.site=$SITE" "jobcell-bench=$SITE"; do
			for v in $(vols_by_label "$label"); do
				req -X DELETE "http://localhost/volumes/$v?force=1" >/dev/null 2>&1
			done
		done
	fi
	if [ "$OWN_OUT" = 1 ] && [ -s "$BENCH_OUT" ] && [ "$rc" = 0 ]; then
		print_table "$BENCH_OUT"
		[ ! -s "$BENCH_OUT.notes" ] || cat "$BENCH_OUT.notes"
		[ ! -s "$BENCH_OUT.results" ] || "$BENCH/targets.sh" "$BENCH_OUT.results"
	fi
	rm -rf "$TMP"
	return "$rc"
}
trap bench_cleanup EXIT

need_engine() {
	engine_up || die "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	req -f -o /dev/null "http://localhost/images/$IMAGE/json" 2>/dev/null ||
		die "image $IMAGE is missing on $SOCK (run contrib/bootstrap.sh)"
}

# make_volume NAME: a volume labelled for cleanup
make_volume() {
	req -f -X POST -H 'Content-Type: application/json' \
		-d "{\"Name\":\"$1\",\"Labels\":{\"jobcell-bench\":\"$SITE\"}}" \
		http://localhost/volumes/create >/dev/null
}

# bind_site WS: $TMP/site.ini, a bind-mode site on the workspace WS whose
# jobs run as root (the benches' image has no other user)
bind_site() {
	cat >"$TMP/site.ini" <<INI
[engine]
endpoint = unix://$SOCK
[site]
name = $SITE
[workspace]
path = $1
[job]
image = $IMAGE
user = 0:0
allow_root = true
INI
}

# volume_site XFER: the site's two volumes, and $TMP/vsite.ini, a volume-mode
# site with transfer_dir XFER; sets STARTUP and LOCAL
volume_site() {
	STARTUP=$SITE-startup LOCAL=$SITE-local
	make_volume "$STARTUP"
	make_volume "$LOCAL"
	cat >"$TMP/vsite.ini" <<INI
[engine]
endpoint = unix://$SOCK
[site]
name = $SITE
[workspace]
mode = volume
[volume]
startup_volume = $STARTUP
local_volume = $LOCAL
transfer_dir = $1
[job]
image = $IMAGE
user = 0:0
allow_root = true
INI
}

# measure FILE CMD...: run CMD once, append "wall user sys maxrss status" to
# FILE (bench/measure.c); CMD's stdout and stderr go to $TMP/last.out
measure() {
	local file=$1
	shift
	if ! "$MEASURE" "$file" "$@" >"$TMP/last.out" 2>&1; then
		say "failed: $*"
		sed 's/^/    /' "$TMP/last.out" >&2
		return 1
	fi
}

# median FILE COLUMN: the median of that column (1 wall, 2 user, 3 sys,
# 4 maxrss, 6 user+sys)
median() {
	awk -v c="$2" '{ print (c == 6 ? $2 + $3 : $c) }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
			else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# formatting: seconds, CPU milliseconds, KiB as MiB, a ratio
fmt_s() { awk -v v="$1" 'BEGIN { printf "%.3f s", v }'; }
fmt_ms() { awk -v v="$1" 'BEGIN { printf (v < 1 ? "%.1f ms" : "%.2f s"), (v < 1 ? v * 1000 : v) }'; }
fmt_mib() { awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }
fmt_x() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f×" : "-"), a / b }'; }
# le A B / lt A B: numeric comparisons for the verdicts
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
verdict() { if "$@"; then echo met; else echo "NOT met"; fi; }

# row BENCH CONTENDER WALL CPU RSS VS_REF OTHER TARGET VERDICT: one line of the table
row() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$BENCH_OUT"
}

# note TEXT: a line printed under the table
note() { printf '%s\n' "$*" >>"$BENCH_OUT.notes"; }

# result NAME VALUE: a figure a target is judged on (bench/targets.sh); plain
# numbers in seconds, KiB or ratios, the last one of a name counts
result() { printf '%s %s\n' "$1" "$2" >>"${BENCH_RESULTS:-$BENCH_OUT.results}"; }

# row_of BENCH CONTENDER FILE VS_REF OTHER TARGET VERDICT: a row with the
# medians of FILE's wall, CPU and peak RSS
row_of() {
	row "$1" "$2" "$(fmt_s "$(median "$3" 1)")" "$(fmt_ms "$(median "$3" 6)")" \
		"$(fmt_mib "$(median "$3" 4)")" "$4" "$5" "$6" "$7"
}

# print_table FILE: the rows as an aligned Markdown table; the figures
# right-aligned
print_table() {
	LC_ALL=C awk -F'\t' '
	BEGIN {
		n = split("bench|contender|wall|CPU|peak RSS|vs ref|other|target|verdict", h, "|")
		for (i = 1; i <= n; i++) { cell[0, i] = h[i]; w[i] = length(h[i]) }
	}
	{
		rows++
		# a bench is named on its first row only
		if ($1 == prev) $1 = ""; else if ($1 != "") prev = $1
		for (i = 1; i <= n; i++) {
			cell[rows, i] = $i
			# count characters, not bytes (×, ≤)
			l = length($i); t = $i; l -= gsub(/[\200-\277]/, "", t)
			len[rows, i] = l
			if (l > w[i]) w[i] = l
		}
	}
	END {
		for (r = 0; r <= rows; r++) {
			line = "|"
			for (i = 1; i <= n; i++) {
				l = (r == 0 ? length(cell[0, i]) : len[r, i])
				pad = sprintf("%" (w[i] - l) "s", "")
				if (i >= 3 && i <= 6 && r > 0) line = line " " pad cell[r, i] " |"
				else line = line " " cell[r, i] pad " |"
			}
			print line
			if (r == 0) {
				line = "|"
				for (i = 1; i <= n; i++) {
					d = sprintf("%" w[i] "s", ""); gsub(/ /, "-", d)
					line = line (i >= 3 && i <= 6 ? " " substr(d, 2) ": |" : " " d " |")
				}
				print line
			}
		}
	}' "$1"
}
