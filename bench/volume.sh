#!/usr/bin/env bash
# Benchmark: one large file (BENCH_MIB, default 1 GiB) into a volume and
# back out, BENCH_BIG_RUNS times each (default 5), alternating; medians:
#   jobcell  `jobcell volume put VOLUME big`, `jobcell volume get VOLUME big`
#   docker   `docker cp` into and out of a created (never started) container
#            that mounts a volume
# What comes back is checked by SHA-256.  Targets: each way at least the
# rate of docker cp (a wall time at most its), and a peak RSS that does not
# grow with the file (under 16 MiB): the archive is streamed both ways.
# Usage: bench/volume.sh   (settings: bench/lib.sh)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_engine
XFER=$TMP/xfer
mkdir -p "$XFER/got"
volume_site "$XFER"
# the file and its headers are more than the default [output] max_bytes (1g)
printf '[output]\nmax_bytes = 0\n' >>"$TMP/vsite.ini"

say "large file: writing $MIB MiB of random bytes"
head -c $((MIB * 1048576)) /dev/urandom >"$XFER/big"
want=$(sha256sum <"$XFER/big" | cut -d' ' -f1)

JVOL=$("$JOBCELL" -c "$TMP/vsite.ini" volume create --run bench)
DVOL=$SITE-cp
make_volume "$DVOL"
CID=$("$DOCKER" create --network none --label "jobcell-bench=$SITE" -v "$DVOL:/v" "$IMAGE" true)

check() { # FILE WHO
	[ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$want" ] ||
		die "large file ($2): what came back is not what went in"
	rm -rf "$XFER/got"/*
}
one() { # CONTENDER
	case $1 in
	jobcell)
		measure "$TMP/put.jobcell" "$JOBCELL" -c "$TMP/vsite.ini" volume put "$JVOL" big
		measure "$TMP/get.jobcell" "$JOBCELL" -c "$TMP/vsite.ini" volume get "$JVOL" big --to got/j
		check "$XFER/got/j/big" jobcell
		;;
	docker)
		measure "$TMP/put.docker" "$DOCKER" cp "$XFER/big" "$CID:/v/big"
		measure "$TMP/get.docker" "$DOCKER" cp "$CID:/v/big" "$XFER/got/d"
		check "$XFER/got/d" "docker cp"
		;;
	esac
}

say "large file: 2 ways, $BIG_RUNS runs each, in and out"
for ((i = 1; i <= BIG_RUNS; i++)); do
	if [ $((i % 2)) = 1 ]; then order=(docker jobcell); else order=(jobcell docker); fi
	for w in "${order[@]}"; do one "$w"; done
done
"$DOCKER" rm -f "$CID" >/dev/null
"$JOBCELL" -c "$TMP/vsite.ini" volume rm "$JVOL"

rate() { awk -v m="$MIB" -v s="$(median "$1" 1)" 'BEGIN { printf "%.0f MiB/s", (s > 0 ? m / s : 0) }'; }
B="large file: $MIB MiB"
for dir in put get; do
	d=$(median "$TMP/$dir.docker" 1)
	j=$(median "$TMP/$dir.jobcell" 1)
	jr=$(median "$TMP/$dir.jobcell" 4)
	if [ $dir = put ]; then
		what=("docker cp in" "jobcell volume put")
	else
		what=("docker cp out" "jobcell volume get")
	fi
	row_of "$B" "${what[0]}" "$TMP/$dir.docker" "1.00×" "$(rate "$TMP/$dir.docker")" "" ""
	row_of "$B" "${what[1]}" "$TMP/$dir.jobcell" "$(fmt_x "$j" "$d")" "$(rate "$TMP/$dir.jobcell")" \
		"rate ≥ 1.0× docker cp" "$(verdict le "$j" "$d")"
	row "$B" "" "" "" "" "" "" "peak < 16 MiB" "$(verdict lt "$jr" 16384)"
	# the rate's ratio: docker cp's time over jobcell's
	result "${dir}_ratio" "$(awk -v d="$d" -v j="$j" 'BEGIN { printf "%.3f", (j > 0 ? d / j : 0) }')"
	result "${dir}_peak_kib" "$jr"
done
