#!/usr/bin/env bash
# Run each cmocka test binary; print one summary line that CI can read.
# With --wrap LAUNCHER, run them all a second time as `LAUNCHER BINARY`
# (make unit passes build/tests/no-openat2: openat2 fails ENOSYS, as before
# Linux 5.6, so fsutil.c's fallback walk answers).  Each run prints its own
# line; the last line adds both up.
set -u
wrap=
if [ "${1-}" = --wrap ]; then
	wrap=$2
	shift 2
fi
pass=0 fail=0

# run LABEL [LAUNCHER]: every binary once; adds to pass and fail
run() {
	local label=$1 p=0 f=0 t
	shift
	for t in "${tests[@]}"; do
		if "$@" "$t"; then p=$((p + 1)); else f=$((f + 1)); echo "FAILED ($label): $t"; fi
	done
	echo "$label: $p passed, $f failed"
	pass=$((pass + p)) fail=$((fail + f))
}

tests=("$@")
if [ -z "$wrap" ]; then
	run unit
else
	echo "== unit (openat2): as the kernel is =="
	run "unit (openat2)"
	echo "== unit (no openat2): every binary under $wrap =="
	run "unit (no openat2)" "$wrap"
	echo "unit: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
