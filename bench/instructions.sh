#!/usr/bin/env bash
# Benchmark: jobcell's own work for one `run` of `true`, against the fake
# engine of the tests (build/bench/fake-serve), so that no real engine is in
# the figures: wall, CPU and peak RSS (medians of BENCH_RUNS runs), and the
# instructions of one run counted by `valgrind --tool=callgrind` (total Ir:
# comparable across machines), with the shares of the dynamic loader
# (_dl_start: loading and relocating the libraries), of curl_global_init
# (OpenSSL's initialisation) and of jobcell's main.
# Usage: bench/instructions.sh   (settings: bench/lib.sh)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE_SERVE" ] || die "$FAKE_SERVE is missing: make build/bench/fake-serve"
# the server ends when its stdin does: when this script exits, however
coproc FAKE { "$FAKE_SERVE"; }
FAKE_CHILD=$FAKE_PID # bash unsets FAKE_PID when the coprocess ends
stop_fake() {
	kill -TERM "$FAKE_CHILD" 2>/dev/null
	wait "$FAKE_CHILD" 2>/dev/null
}
CLEANUP_HOOKS+=(stop_fake)
read -r fake_sock <&"${FAKE[0]}" || die "the fake engine did not start"

WS=$TMP/ws
mkdir -p "$WS/startup" "$WS/local" "$WS/j"
chmod 0755 "$WS"
cat >"$TMP/fake.ini" <<INI
[engine]
endpoint = unix://$fake_sock
[site]
name = $SITE
[workspace]
path = $WS
[job]
image = img
user = 0:0
allow_root = true
INI

say "client work: 1 + $RUNS runs against the fake engine"
measure "$TMP/warmup" "$JOBCELL" -c "$TMP/fake.ini" run j -- true
for ((i = 1; i <= RUNS; i++)); do
	measure "$TMP/fake" "$JOBCELL" -c "$TMP/fake.ini" run j -- true
done
cpu=$(median "$TMP/fake" 6)
rss=$(median "$TMP/fake" 4)

other="valgrind is not installed"
if command -v valgrind >/dev/null; then
	say "client work: one run under callgrind"
	valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
		"$JOBCELL" -c "$TMP/fake.ini" run j -- true >"$TMP/callgrind.log" 2>&1 ||
		die "jobcell failed under callgrind: $(tail -5 "$TMP/callgrind.log")"
	total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/callgrind.log")
	[ -n "$total" ] || die "no instruction count in the callgrind log"
	other=$(awk -v t="$total" 'BEGIN { printf "%.1f M Ir", t / 1e6 }')
	# inclusive counts of three functions, when callgrind_annotate names them
	if callgrind_annotate --inclusive=yes "$TMP/callgrind.out" >"$TMP/annotate" 2>/dev/null; then
		share() { # PATTERN: the function's share of the total, "" when not found
			awk -v t="$total" -v p="$1" '$0 ~ p {
				gsub(/,/, "", $1); printf "%.0f%%", 100 * $1 / t; exit }' "$TMP/annotate"
		}
		ld=$(share ':_dl_start ')
		ci=$(share ':curl_global_init ')
		mn=$(share 'cli\.c:main ')
		note "client work: of the ${other}, the dynamic loader (_dl_start) ${ld:-?}," \
			"curl_global_init ${ci:-?}, jobcell's main ${mn:-?} (inclusive)"
	fi
fi
row_of "client work (fake engine)" "jobcell run" "$TMP/fake" "" "$other" \
	"CPU ≤ 5 ms" "$(verdict le "$cpu" 0.005)"
row "" "" "" "" "" "" "" "peak < 8 MiB" "$(verdict lt "$rss" 8192)"
result launch_cpu_s "$cpu"
result launch_peak_kib "$rss"
[ -z "${total:-}" ] || result launch_ir "$total"

# The engine calls of one launch, from a fake engine of its own that lists
# what it answered when its stdin ends: a regression in their number shows.
mkfifo "$TMP/calls.in"
"$FAKE_SERVE" -l <"$TMP/calls.in" >"$TMP/calls.sock" 2>"$TMP/calls" &
lister=$!
exec 9>"$TMP/calls.in"
for ((i = 0; i < 50; i++)); do
	[ ! -s "$TMP/calls.sock" ] || break
	sleep 0.1
done
sed "s|^endpoint = .*|endpoint = unix://$(cat "$TMP/calls.sock")|" "$TMP/fake.ini" >"$TMP/calls.ini"
"$JOBCELL" -c "$TMP/calls.ini" run j -- true >/dev/null 2>"$TMP/calls.err" ||
	die "jobcell failed against the listing fake engine: $(cat "$TMP/calls.err")"
exec 9>&-
wait "$lister"
# ids and the site's name are not part of a call
calls=$(grep -c '^[A-Z]' "$TMP/calls")
note "engine calls of one launch (\`run j -- true\`, bind mode, fake engine): $calls"
sed -e 's/[0-9a-f]\{12,\}/ID/g' -e "s/$SITE/SITE/g" -e 's/^/    /' "$TMP/calls" | grep '^    [A-Z]' |
	while IFS= read -r l; do note "$l"; done
result launch_calls "$calls"
