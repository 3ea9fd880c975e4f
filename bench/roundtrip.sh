#!/usr/bin/env bash
# Benchmark: a volume round trip of three small files.  Make a volume, put
# the three files in, run a job that reads them and writes one output,
# fetch it, remove the volume:
#   jobcell  one `jobcell run --input a --input b --input c --output DIR`
#            in volume mode (docs/volumes.md: it does all of the above);
#            one more run under strace lists its engine calls (bench/calls.sh)
#   helper   the docker CLI and helper containers (bench/helper_roundtrip.sh)
# BENCH_RUNS times each, interleaved after one warm-up round; medians.
# Usage: bench/roundtrip.sh   (settings: bench/lib.sh)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_engine
XFER=$TMP/xfer
mkdir -p "$XFER/out"
for f in a b c; do head -c 4096 /dev/urandom | base64 >"$XFER/$f.txt"; done
cat "$XFER/a.txt" "$XFER/b.txt" "$XFER/c.txt" >"$TMP/want"
volume_site "$XFER"

one() { # CONTENDER FILE N
	local got
	case $1 in
	jobcell)
		measure "$2" "$JOBCELL" -c "$TMP/vsite.ini" run --input a.txt --input b.txt \
			--input c.txt --output "out/j$3" rt -- sh -c 'cat a.txt b.txt c.txt > result.txt'
		got=$XFER/out/j$3/result.txt
		;;
	helper)
		measure "$2" "$BENCH/helper_roundtrip.sh" "$DOCKER" "$IMAGE" "$SITE" "$STARTUP" "$LOCAL" \
			"$XFER" "$XFER/out/h$3" a.txt b.txt c.txt
		got=$XFER/out/h$3
		;;
	esac
	cmp -s "$got" "$TMP/want" || die "round trip ($1): the output is not the three inputs"
	rm -rf "$got"
}

say "round trip: 2 ways, 1 + $RUNS runs each"
for ((i = 0; i <= RUNS; i++)); do
	if [ $((i % 2)) = 0 ]; then order=(jobcell helper); else order=(helper jobcell); fi
	for w in "${order[@]}"; do
		if [ "$i" = 0 ]; then one "$w" "$TMP/warmup" "$i"; else one "$w" "$TMP/rt.$w" "$i"; fi
	done
done

# the engine calls of one more run, with the time each took (strace)
calls=none
if command -v strace >/dev/null; then
	if "$BENCH/calls.sh" "$TMP/calls" "$JOBCELL" -c "$TMP/vsite.ini" run --input a.txt \
		--input b.txt --input c.txt --output out/calls rt -- \
		sh -c 'cat a.txt b.txt c.txt > result.txt' >"$TMP/calls.txt" 2>"$TMP/calls.err"; then
		calls=$(tail -n 1 "$TMP/calls.txt" | cut -d' ' -f1)
		note "Engine calls of one round trip (bench/calls.sh: sent at, time to the answer):"
		sed -n '1,/engine calls$/p' "$TMP/calls.txt" | sed 's/^/    /' >>"$BENCH_OUT.notes"
	else
		note "round trip: the traced run failed: $(head -c 300 "$TMP/calls.err")"
	fi
else
	note "round trip: no strace, so no list of engine calls"
fi

helper=$(median "$TMP/rt.helper" 1)
jc=$(median "$TMP/rt.jobcell" 1)
B="round trip: 3 files in, 1 out"
row_of "$B" "docker CLI, 6 helper runs" "$TMP/rt.helper" "1.00×" "" "" ""
row_of "$B" "jobcell run --input ×3 --output" "$TMP/rt.jobcell" "$(fmt_x "$jc" "$helper")" \
	"$calls calls" "wall ≤ 0.20× helpers" \
	"$(verdict le "$jc" "$(awk -v h="$helper" 'BEGIN { print h / 5 }')")"
result roundtrip_ratio "$(awk -v j="$jc" -v h="$helper" 'BEGIN { printf "%.3f", (h > 0 ? j / h : 0) }')"
[ "$calls" = none ] || result roundtrip_calls "$calls"
