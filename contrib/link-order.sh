#!/bin/sh
# The order in which build/jobcell names its shared libraries, for a
# cheaper start (docs/performance.md, "Where jobcell's CPU time goes").
#
#     contrib/link-order.sh CC LINK-ARGUMENTS...
#
# At start the dynamic loader resolves every symbol reference of every
# library (Debian builds them with BIND_NOW) by searching the loaded objects
# in order: the program, the libraries it names, then theirs, breadth
# first.  Debian's libcurl brings some 30 libraries, and a reference to
# libcrypto, GnuTLS or nettle (most of them: libcrypto's own references go
# through the search too) walks past most of the others first.  Naming the
# most sought libraries first in the program shortens every walk.
#
# The order is measured, not guessed: the program is linked as given and
# run once (no arguments) with LD_DEBUG=bindings, and the libraries are
# ranked by the references resolved in them.  It must change nothing but
# the cost: the program linked in the new order is run again, both times
# with every reference bound at start (LD_BIND_NOW), and unless each
# reference binds to the same library as before, nothing is printed and the
# link keeps its own order.  Prints the flags to add to the link:
# `-l:libX.so.N` names between -Wl,--push-state,--no-as-needed and
# -Wl,--pop-state.  Without glibc's LD_DEBUG, prints nothing.
set -eu
[ $# -ge 2 ] || { echo "usage: contrib/link-order.sh CC LINK-ARGUMENTS..." >&2; exit 2; }
CC=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# bindings PROGRAM [now]: "REFERRER TARGET SYMBOL" for every reference
# bound in a start (with `now`, every reference the program has), the
# program itself called `main`, sorted
bindings() {
	env ${2:+LD_BIND_NOW=1} LD_DEBUG=bindings "$1" </dev/null 2>&1 >/dev/null |
		sed -n "s|^ *[0-9]*:[[:space:]]*binding file \([^ ]*\) \[[0-9]*\] to \([^ ]*\) \[[0-9]*\]: [a-z]* symbol \`\([^']*\)'.*|\1 \2 \3|p" |
		sed -e "s|^$1 |main |" -e "s| $1 | main |" | sort
}

"$CC" -o "$dir/before" "$@" || exit 0
bindings "$dir/before" >"$dir/start.txt"
bindings "$dir/before" now >"$dir/before.txt"
[ -s "$dir/start.txt" ] || exit 0
# the libraries by the references a start resolves in them, most first;
# not the program, the loader or the vDSO
order=$(awk '{ print $2 }' "$dir/start.txt" | grep -v -e '/ld-linux' -e 'linux-vdso' -e '^main$' |
	sort | uniq -c | sort -k1,1nr -k2 | awk '{ n = split($2, p, "/"); printf " -l:%s", p[n] }')
[ -n "$order" ] || exit 0
flags="-Wl,--push-state,--no-as-needed$order -Wl,--pop-state"
# shellcheck disable=SC2086 # the flags are words
"$CC" -o "$dir/after" $flags "$@" || exit 0
bindings "$dir/after" now >"$dir/after.txt"
if ! cmp -s "$dir/before.txt" "$dir/after.txt"; then
	echo "link-order.sh: a reference binds elsewhere in the measured order: keeping the link's" >&2
	exit 0
fi
echo "$flags"
