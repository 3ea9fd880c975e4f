#!/usr/bin/env bash
# The shared library's interface: launcher/libjobcell.map lists exactly the
# functions include/jobcell.h declares, the library exports exactly those,
# each at the map's version node, and its SONAME is libjobcell.so.MAJOR.
# Run by `make unit`; JOBCELL_LIB is the library the Makefile built.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB=${JOBCELL_LIB:-$ROOT/build/libjobcell.so.0.2.0}
MAP=$ROOT/launcher/libjobcell.map
HDR=$ROOT/include/jobcell.h
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$1"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$1"; [ $# -gt 1 ] && printf '     %s\n' "${@:2}"; return 0; }

# same WHAT NAME_A A NAME_B B: the two sorted lists of names are the same,
# else each difference on a line of its own
same() {
	local d=()
	mapfile -t d < <(comm -3 <(printf '%s\n' "$3") <(printf '%s\n' "$5") |
		sed "s/^\t\(.*\)/only in $4: \1/; t; s/^/only in $2: /")
	if [ ${#d[@]} -eq 0 ]; then ok "$1"; else not_ok "$1" "${d[@]}"; fi
}

# A declaration starts in column 0; the name is the word before the first `(`.
header=$(grep -E '^[a-z]' "$HDR" | grep -oE '\bjc_[a-z0-9_]+\(' | tr -d '(' | sort -u)
node=$(sed -n 's/^\([A-Z][A-Z0-9_.]*\) *{.*/\1/p' "$MAP")
map=$(sed -n '/^global:/,/^local:/p' "$MAP" | grep -oE '\bjc_[a-z0-9_]+' | sort -u)
same "the map lists the header's $(printf '%s\n' "$header" | wc -l) functions" \
	"the header" "$header" "the map" "$map"
if [ "$(printf '%s\n' "$node" | wc -l)" = 1 ] && [ -n "$node" ]; then
	ok "one version node ($node)"
else
	not_ok "one version node" "found: $node"
fi
if grep -qE '^local:' "$MAP" && sed -n '/^local:/,$p' "$MAP" | grep -qE '^[[:space:]]*\*;'; then
	ok "everything else is local"
else
	not_ok "everything else is local" "no \`local: *;\` in $MAP"
fi

if [ ! -f "$LIB" ]; then
	not_ok "the library is built" "$LIB is missing: make"
	printf 'abi: %d passed, %d failed\n' "$PASS" "$FAIL"
	exit 1
fi
# nm prints NAME@@NODE for a versioned definition, and the node itself as
# an absolute symbol (A).
dyn=$(nm -D --defined-only "$LIB" | awk '$2 != "A" { print $3 }')
exported=$(printf '%s\n' "$dyn" | sed 's/@.*//' | sort -u)
same "the library exports exactly the map's functions" \
	"the map" "$map" "the library" "$exported"
others=$(printf '%s\n' "$dyn" | grep -v "@@$node\$" || true)
if [ -z "$others" ]; then
	ok "each at $node"
else
	mapfile -t others <<<"$others"
	not_ok "each at $node" "${others[@]}"
fi
soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
want=libjobcell.so.$(sed -n 's/^#define JC_VERSION_MAJOR *\([0-9]*\).*/\1/p' "$HDR")
if [ "$soname" = "$want" ]; then
	ok "SONAME is $want"
else
	not_ok "SONAME is $want" "readelf -d: \`$soname\`"
fi
printf 'abi: %d passed, %d failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
