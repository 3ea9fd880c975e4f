#!/usr/bin/env bash
# The library as a user gets it: `make install` into a scratch root, the
# example program (contrib/example) built against that root alone with
# pkg-config, then run against a real engine: the job's status and output
# pass through, and a refusal is one error line with status 125.
. "$(dirname "$0")/lib.sh"
set -e
S=ex$$ # site-name prefix: unique per run, so leftovers are attributable
DEST=$TMP/dest
EX=$TMP/example

# The same build directory as the rest of the run: make passes B down.
if make -C "$ROOT" --no-print-directory install DESTDIR="$DEST" PREFIX=/usr \
	>"$TMP/install.log" 2>&1; then
	ok "make install DESTDIR PREFIX=/usr"
else
	not_ok "make install DESTDIR PREFIX=/usr" "$(tail -n 5 "$TMP/install.log")"
	summary example
	exit $?
fi
missing=()
for f in usr/lib/libjobcell.so.0.2.0 usr/lib/libjobcell.so.0 usr/lib/libjobcell.so \
	usr/include/jobcell.h usr/lib/pkgconfig/jobcell.pc; do
	[ -e "$DEST/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -eq 0 ] && [ "$(readlink "$DEST/usr/lib/libjobcell.so.0")" = libjobcell.so.0.2.0 ]; then
	ok "the library, its links, the header and jobcell.pc are installed"
else
	not_ok "the library, its links, the header and jobcell.pc are installed" "missing: ${missing[*]}"
fi

# Only the scratch root: its jobcell.pc, with paths beneath $DEST.
export PKG_CONFIG_PATH=$DEST/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST
flags=$(pkg-config --cflags --libs jobcell 2>&1 || true)
if printf '%s' "$flags" | grep -qF -- "-I$DEST/usr/include" &&
	printf '%s' "$flags" | grep -qF -- "-L$DEST/usr/lib -ljobcell" &&
	[ "$(pkg-config --modversion jobcell)" = 0.2.0 ]; then
	ok "pkg-config finds jobcell 0.2.0 in the scratch root"
else
	not_ok "pkg-config finds jobcell 0.2.0 in the scratch root" "$flags"
fi
cp -r "$ROOT/contrib/example" "$EX"
# MAKEFLAGS unset: the example is built as a user builds it, not as part of this make.
if env -u MAKEFLAGS -u MFLAGS make -C "$EX" --no-print-directory >"$TMP/example.log" 2>&1; then
	ok "the example builds with pkg-config --cflags --libs jobcell"
else
	not_ok "the example builds with pkg-config --cflags --libs jobcell" "$(tail -n 5 "$TMP/example.log")"
	summary example
	exit $?
fi
if readelf -d "$EX/run-job" | grep -q 'NEEDED.*\[libjobcell\.so\.0\]'; then
	ok "the example needs libjobcell.so.0"
else
	not_ok "the example needs libjobcell.so.0" "$(readelf -d "$EX/run-job" | grep NEEDED)"
fi

# run-job with the installed library; sets OUT, ERR, RC.
rj() {
	set +e
	LD_LIBRARY_PATH=$DEST/usr/lib JOBCELL_LIBEXECDIR=$DEST/usr/libexec/jobcell \
		"$EX/run-job" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	set -e
	OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}

# ---- a refusal: no engine needed ----
make_site "${S}in" image=jobcell-test/root:latest
rj -c "$TMP/${S}in.ini" .. true
if [ "$RC" = 125 ] && [ "$(printf '%s\n' "$ERR" | grep -c '^run-job: error: ')" = 1 ] &&
	[ -z "$OUT" ]; then
	ok "a refused job name: one error line, status 125"
else
	not_ok "a refused job name: one error line, status 125" "exit $RC, stdout: $OUT" "stderr: $ERR"
fi

if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary example
	exit $?
fi
image_present jobcell-test/root:latest || {
	skip "real engine" "image jobcell-test/root:latest is missing (run contrib/bootstrap.sh)"
	summary example
	exit $?
}

# ---- a job on the engine ----
make_site "${S}x" image=jobcell-test/root:latest user=0:0 allow_root=true stop_grace=2s
rj -c "$TMP/${S}x.ini" j3 sh -c 'echo from-the-job; echo to-stderr >&2; exit 3'
if [ "$RC" = 3 ] && [ "$OUT" = "$(printf 'from-the-job\nexit_status=3')" ] &&
	[ "$ERR" = to-stderr ]; then
	ok "exit_status=3 and the job's output pass through"
else
	not_ok "exit_status=3 and the job's output pass through" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
rj -c "$TMP/${S}x.ini" j0 true
if [ "$RC" = 0 ] && [ "$OUT" = exit_status=0 ]; then
	ok "exit_status=0"
else
	not_ok "exit_status=0" "exit $RC, stdout: $OUT, stderr: $ERR"
fi
if [ "$(count_site "${S}x")" = 0 ]; then
	ok "no container is left"
else
	not_ok "no container is left" "$(site_ids "${S}x")"
fi
summary example
