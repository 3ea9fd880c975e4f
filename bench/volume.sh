#!/usr/bin/env bash
# Benchmark: a volume-mode round trip of one large file (default 1 GiB):
# --input into the job's volume, the job copies it, --output brings both
# back.  Reports wall time and jobcell's peak resident memory (GNU time's
# %M), which must not grow with the file: the archive is streamed.
# Usage: bench/volume.sh [SIZE_MIB]   (JOBCELL_TEST_SOCKET picks the engine)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBCELL=${JOBCELL:-$ROOT/build/jobcell}
SOCK=${JOBCELL_TEST_SOCKET:-/var/run/docker.sock}
MIB=${1:-1024}
TMP=$(mktemp -d /var/tmp/jobcell-bench.XXXXXX)
SITE=bench$$
VOLS=("$SITE-startup" "$SITE-local")

req() { curl -sS --max-time 20 --unix-socket "$SOCK" "$@"; }
cleanup() {
	for v in "${VOLS[@]}"; do req -X DELETE "http://localhost/volumes/$v" >/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

for v in "${VOLS[@]}"; do
	req -X POST -H 'Content-Type: application/json' -d "{\"Name\":\"$v\"}" \
		http://localhost/volumes/create >/dev/null
done
cat >"$TMP/site.ini" <<INI
[engine]
endpoint = unix://$SOCK
[site]
name = $SITE
[workspace]
mode = volume
[volume]
startup_volume = ${VOLS[0]}
local_volume = ${VOLS[1]}
transfer_dir = $TMP
[job]
image = jobcell-test/root:latest
user = 0:0
allow_root = true
INI
head -c $((MIB * 1048576)) /dev/urandom >"$TMP/big"
want=$(sha256sum <"$TMP/big" | cut -d' ' -f1)

for small in 1; do
	head -c $((small * 1048576)) /dev/urandom >"$TMP/small"
	/usr/bin/time -f '%e %M' -o "$TMP/time.small" "$JOBCELL" -c "$TMP/site.ini" run bench \
		--input small --output out.small -- cp small copy >/dev/null
done
/usr/bin/time -f '%e %M' -o "$TMP/time.big" "$JOBCELL" -c "$TMP/site.ini" run bench \
	--input big --output out.big -- cp big copy </dev/null
for f in big copy; do
	got=$(sha256sum <"$TMP/out.big/$f" | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "bench: $f came back different" >&2; exit 1; }
done
read -r s_wall s_rss <"$TMP/time.small"
read -r b_wall b_rss <"$TMP/time.big"
printf 'volume round trip, engine %s\n' "$SOCK"
printf '  %6s MiB in, %6s MiB out: %7ss wall, peak RSS %6s KiB\n' 1 2 "$s_wall" "$s_rss"
printf '  %6s MiB in, %6s MiB out: %7ss wall, peak RSS %6s KiB\n' "$MIB" $((2 * MIB)) "$b_wall" "$b_rss"
printf '  MiB/s through the engine (in + out): %s\n' \
	"$(awk -v m=$((3 * MIB)) -v s="$b_wall" 'BEGIN { printf "%.0f", (s > 0 ? m / s : 0) }')"
