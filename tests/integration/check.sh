#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in patterns are jobcell's quoting, not expansions
# Integration tests of `jobcell check`: the linter, the engine probe, and the
# isolation probe run as a job of the site on a real engine -- every promise
# kept on hardened sites, and the weakened promise named on weakened ones.
. "$(dirname "$0")/lib.sh"
set -e
S=ck$$ # site-name prefix: unique per run, so leftovers are attributable
PROBE=${JOBCELL_PROBE_BIN:-$(dirname "$JOBCELL")/jobcell-probe}
SV_START=${S}-startup SV_LOCAL=${S}-local # the site volumes this script makes
NPROMISES=16                              # launcher/probe/promises.h

# ---- helpers ----
count_vols() { vols_by_label "jobcell.site=$1" | wc -l; }

# set_key FILE SECTION KEY=VALUE: add a key at the top of [SECTION]
set_key() {
	sed -i "s|^\[$2\]\$|[$2]\n${3/=/ = }|" "$1"
}

# expect_line NAME TEXT PATTERN: a line of TEXT matches PATTERN
expect_line() { if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1"; else not_ok "$1" "want /$3/ in:" "$2"; fi; }

# row NAME: the state of row NAME in the last table (OUT)
row() { printf '%s\n' "$OUT" | awk -v n="$1" '$1 == n { print $2; exit }'; }
# kept_rows: how many rows of the last table are kept
kept_rows() { printf '%s\n' "$OUT" | awk '$2 == "kept"' | wc -l; }
broken_lines() { printf '%s\n' "$ERR" | grep -c '^jobcell: check: broken: ' || true; }

# expect_all_kept NAME: exit 0, config + engine + probe + every promise kept
expect_all_kept() {
	if [ "$RC" = 0 ] && [ "$(kept_rows)" = $((NPROMISES + 3)) ] && [ -z "$ERR" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $RC, $(kept_rows) rows kept (want $((NPROMISES + 3)))" "$OUT" "$ERR"
	fi
}

# expect_broken NAME PROMISE: exit 1, and PROMISE alone named broken on stderr
expect_broken() {
	if [ "$RC" = 1 ] && [ "$(row "$2")" = broken ] && [ "$(broken_lines)" = 1 ] &&
		printf '%s\n' "$ERR" | grep -q "^jobcell: check: broken: $2: "; then
		ok "$1"
	else
		not_ok "$1" "exit $RC (want 1), row $2: $(row "$2"), $(broken_lines) broken lines" "$ERR"
	fi
}

# nothing of the check job left: no container, no volume, no directory
expect_clean() { # NAME SITE
	local ws=$TMP/$2 left
	left=$(count_site "$2")
	if [ -d "$ws" ]; then left="$left containers, entries: $(ls -A "$ws" | tr '\n' ' ')"; fi
	if [ "$(count_site "$2")" = 0 ] && [ "$(count_vols "$2")" = 0 ] &&
		{ [ ! -d "$ws" ] || [ "$(ls -A "$ws" | tr '\n' ' ')" = "local startup " ]; }; then
		ok "$1"
	else
		not_ok "$1" "$left, volumes: $(vols_by_label "jobcell.site=$2" | tr '\n' ' ')"
	fi
}


# ---- the linter: every problem with file:line, then 125 ----
printf '[site]\nname = %slint\n[job]\nnope = 1\nstop_grace = 10 parsecs\n[wat]\n' "$S" >"$TMP/lint.ini"
jc -c "$TMP/lint.ini" check
if [ "$RC" = 125 ] && printf '%s\n' "$OUT" | grep -q "^config .*broken .*lint.ini:4: unknown key \`nope\`" &&
	printf '%s\n' "$OUT" | grep -q "^config .*broken .*lint.ini:5: \[job\] stop_grace" &&
	printf '%s\n' "$OUT" | grep -q "^config .*broken .*lint.ini:6: unknown section \[wat\]" &&
	[ "$(printf '%s\n' "$ERR" | grep -c '^jobcell: error: ')" = 1 ]; then
	ok "lint: every problem of the file is a row with file:line; exit 125"
else
	not_ok "lint: every problem is a row with file:line" "exit $RC" "$OUT" "$ERR"
fi
jc --json -c "$TMP/lint.ini" check
if [ "$RC" = 125 ] && printf '%s' "$OUT" | grep -q '^{"schema":1,"ok":false,"exit_code":125,"rows":\[' &&
	[ "$(printf '%s' "$OUT" | grep -o '"state":"broken"' | wc -l)" = 3 ] &&
	printf '%s' "$OUT" | grep -q '"error":{"kind":"config"'; then
	ok "lint --json: one object, three broken rows, the error"
else
	not_ok "lint --json: one object, three broken rows, the error" "exit $RC" "$OUT"
fi
jc check
expect_refusal "check without a site fails (125)" 125 'no site'
jc -c "$TMP/lint.ini" check --bogus
expect_refusal "check takes no options" 125 'unknown option `--bogus`'

# ---- the engine is down: 125, the row says why ----
make_site "${S}down" image=jobcell-test/root:latest
sed -i "s|^endpoint = .*|endpoint = unix://$TMP/no-engine.sock|" "$TMP/${S}down.ini"
jc -c "$TMP/${S}down.ini" check
if [ "$RC" = 125 ] && [ "$(row config)" = kept ] && [ "$(row engine)" = broken ] &&
	printf '%s\n' "$ERR" | grep -q '^jobcell: error: .*no-engine.sock'; then
	ok "engine down: config kept, engine broken, exit 125"
else
	not_ok "engine down: config kept, engine broken, exit 125" "exit $RC" "$OUT" "$ERR"
fi

# ---- the probe itself, on the host: it sees what is wrong ----
if [ -x "$PROBE" ]; then
	fake=$TMP/fake
	mkdir -p "$fake/startup" "$fake/local" "$fake/job" "$fake/sib"
	touch "$fake/startup/f"
	chmod 0750 "$fake"
	(cd "$fake/job" && "$PROBE" --mount-point "$fake" --job job --sibling sib --network none \
		--root-mode 0555) \
		>"$TMP/probe.out" 2>"$TMP/probe.err"
	prc=$?
	OUT=$(cat "$TMP/probe.out")
	if [ "$prc" = 0 ] && [ "$(grep -cE $'^[a-z-]+\t(kept|broken|unknown)\t' "$TMP/probe.out")" = "$NPROMISES" ] &&
		[ "$(cut -f1 "$TMP/probe.out" | grep -v '^#' | sort -u | wc -l)" = "$NPROMISES" ]; then
		ok "the probe reports each of the $NPROMISES promises once and exits 0"
	else
		not_ok "the probe reports each promise once" "exit $prc" "$OUT" "$(cat "$TMP/probe.err")"
	fi
	want_host() { # PROMISE STATE PATTERN
		if grep -qE "^$1"$'\t'"$2"$'\t'"$3" "$TMP/probe.out"; then ok "probe on a bad layout: $1 $2"; else
			not_ok "probe on a bad layout: $1 $2" "$(grep "^$1" "$TMP/probe.out")"; fi
	}
	want_host siblings-invisible broken 'sibling job directory visible at `[^`]*/fake/sib`.*unexpected entries `sib`'
	want_host workspace-root-readonly broken '.*succeeded'
	want_host workspace-root-mode broken '`[^`]*/fake` has mode 0750, not root_mode 0555 '
	want_host startup-readonly broken '.*(created a file|mounted writable)'
	want_host job-dir-writable kept ''
	want_host workdir-is-job-dir kept ''
	if [ -z "$(ls -A "$fake/job")" ] && [ "$(ls -A "$fake" | tr '\n' ' ')" = "job local sib startup " ]; then
		ok "the probe removes what it managed to create"
	else
		not_ok "the probe removes what it managed to create" "$(ls -laR "$fake")"
	fi
	# [volume] size: an uncapped directory takes the cap and 1 MiB more
	(cd "$fake/job" && "$PROBE" --mount-point "$fake" --job job --volume-size 65536) \
		>"$TMP/probe.out" 2>"$TMP/probe.err"
	want_host volume-size-capped broken 'a cap of 65536 bytes: wrote 1114112 into'
	# a 256 KiB tmpfs in a mount namespace of its own (root only) holds the cap
	if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
		unshare -m sh -c "mount -t tmpfs -o size=256k tmpfs '$fake/job' &&
			cd '$fake/job' && '$PROBE' --mount-point '$fake' --job job --volume-size 1048576" \
			>"$TMP/probe.out" 2>"$TMP/probe.err"
		want_host volume-size-capped kept 'a cap of 1048576 bytes: writing stopped after [0-9]+: ENOSPC'
	else
		skip "probe on a capped directory" "needs root and unshare -m"
	fi
	if [ -z "$(ls -A "$fake/job")" ]; then ok "the probe removes its fill file"; else
		not_ok "the probe removes its fill file" "$(ls -la "$fake/job")"; fi
	"$PROBE" --job x >/dev/null 2>&1 && prc=0 || prc=$?
	if [ "$prc" = 2 ]; then ok "the probe refuses a bad command line (2)"; else not_ok "the probe refuses a bad command line" "exit $prc"; fi
else
	not_ok "the probe is built" "$PROBE is missing: cc -static -O2 -o build/jobcell-probe launcher/probe/probe.c"
fi

if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary check
	exit $?
fi
for img in jobcell-test/root:latest jobcell-test/nonroot:latest; do
	image_present "$img" || {
		skip "real engine" "image $img is missing (run contrib/bootstrap.sh)"
		summary check
		exit $?
	}
done

# ---- root_mode: Docker 20.10 makes the working directory's parents (0755)
# before runc mounts the tmpfs over them, and runc keeps their mode ----
make_site "${S}rm" image=jobcell-test/nonroot:latest
jc -c "$TMP/${S}rm.ini" check
if [ "$ENGINE_NAME" = docker ]; then
	expect_broken "Docker: the default root_mode 0555 is reported broken" workspace-root-mode
	expect_line "the row says the mode seen" "$OUT" \
		'^workspace-root-mode +broken +`/workspace` has mode 0755, not root_mode 0555 '
	# the rest of this suite asks Docker for the mode it gives
	WORKSPACE_KEYS='root_mode = 0755'
else
	expect_all_kept "Podman: the default root_mode 0555 holds"
	expect_line "the row says the mode seen" "$OUT" '^workspace-root-mode +kept +mode 0555, owner 0:0'
fi

# ---- bind mode: hardened sites keep every promise ----
make_site "${S}nr" image=jobcell-test/nonroot:latest # 65532 from the image
jc -c "$TMP/${S}nr.ini" check
expect_all_kept "bind, as 65532: every promise kept, exit 0"
expect_line "the report names the engine, its source, its API and the transport" "$OUT" '^engine +kept +`unix://.*` \(from the site file\) answers: .*API 1\.[0-9]+; reached by unix socket `/'
expect_line "the report says whether volume subpaths work" "$OUT" '^engine-subpath +(yes|no) '
expect_line "the report says whether CreateMountpoint works" "$OUT" '^engine-create-mountpoint +(yes|no) .*API 1\.42'
expect_line "the probe ran as 65532" "$OUT" '^workspace-root-readonly +kept +as uid 65532:'
expect_line "every writable mount is sized or the job's" "$OUT" \
	'^writable-mounts-sized +kept +writable: .*/tmp \(tmpfs 65536k\)'
expect_line "a sibling was looked for" "$OUT" '^siblings-invisible +kept .*sibling `check\.[0-9a-f]{8}`'
expect_clean "bind: the check job, its directory and its sibling are gone" "${S}nr"

# ---- [workspace] job_path and scratch (issue 14): every promise still proved ----
WORKSPACE_KEYS_SAVED=${WORKSPACE_KEYS:-}
WORKSPACE_KEYS=$(printf '%s\njob_path = /inputs\nscratch = snapshot-storage, jobs-storage\nscratch_size = 8m' "$WORKSPACE_KEYS_SAVED")
make_site "${S}jp" image=jobcell-test/nonroot:latest
WORKSPACE_KEYS=$WORKSPACE_KEYS_SAVED
jc -c "$TMP/${S}jp.ini" check
expect_all_kept "bind, job_path and scratch: every promise kept, exit 0"
expect_line "job_path: the probe's working directory is /inputs" "$OUT" '^workdir-is-job-dir +kept +`/inputs`'
expect_line "job_path: the job directory at /inputs is writable" "$OUT" '^job-dir-writable +kept '
expect_line "scratch: the root lists startup, local and the scratch names only" "$OUT" \
	'^siblings-invisible +kept +`/workspace` lists `startup`, `local`, `snapshot-storage` and `jobs-storage` only'
expect_line "scratch: both writable, 8m tmpfs each" "$OUT" \
	'^scratch-writable +kept +writable tmpfs of scratch_size: `/workspace/snapshot-storage` \(8192k\), `/workspace/jobs-storage` \(8192k\)'
expect_line "scratch: the root stays read-only" "$OUT" '^workspace-root-readonly +kept +as uid 65532: create EROFS'
expect_clean "job_path and scratch: nothing of the check job left" "${S}jp"

# ---- a site that allows root is probed as its user and again as root ----
make_site "${S}ar" image=jobcell-test/nonroot:latest allow_root=true
jc -c "$TMP/${S}ar.ini" check
if [ "$RC" = 0 ] && [ "$(kept_rows)" = $((2 * NPROMISES + 4)) ] && [ -z "$ERR" ]; then
	ok "allow_root: every promise kept as 65532 and as root, exit 0"
else
	not_ok "allow_root: every promise kept as 65532 and as root, exit 0" \
		"exit $RC, $(kept_rows) rows kept (want $((2 * NPROMISES + 4)))" "$OUT" "$ERR"
fi
expect_line "the first run is as 65532" "$OUT" '^workspace-root-readonly +kept +as uid 65532:'
expect_line "the second run is as root" "$OUT" '^as-root:workspace-root-readonly +kept +as uid 0:'
expect_line "the second run has its probe row" "$OUT" '^as-root:probe +kept '
expect_clean "allow_root: nothing left" "${S}ar"
make_site "${S}arw" image=jobcell-test/nonroot:latest allow_root=true
set_key "$TMP/${S}arw.ini" workspace root_readonly=false
jc -c "$TMP/${S}arw.ini" check
if [ "$RC" = 1 ] && printf '%s' "$ERR" | grep -q 'broken: as-root:workspace-root-readonly'; then
	ok "allow_root with a writable root: the root run names the broken promise"
else
	not_ok "allow_root with a writable root: the root run names the broken promise" "exit $RC" "$ERR"
fi
expect_clean "allow_root, weakened: nothing left" "${S}arw"

# ---- an image whose ENTRYPOINT would print a report of its own ----
ENTRY_IMG=jobcell-test/entry:$S
eid=$(curl -sS --max-time 20 --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
	-d '{"Image":"jobcell-test/nonroot:latest","Cmd":["true"]}' \
	"http://localhost/containers/create" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
curl -sS --max-time 20 --unix-socket "$SOCK" -X POST "http://localhost/commit" \
	-H 'Content-Type: application/json' -d '{}' \
	--url-query "container=$eid" --url-query "repo=jobcell-test/entry" --url-query "tag=$S" \
	--url-query 'changes=ENTRYPOINT ["/bin/sh","-c","printf \"workspace-root-readonly\\tkept\\tfake\\n# end\\n\""]' \
	>/dev/null
engine_req DELETE "/containers/$eid?force=1" >/dev/null 2>&1
if image_present "$ENTRY_IMG"; then
	make_site "${S}ep" image="$ENTRY_IMG"
	jc -c "$TMP/${S}ep.ini" check
	expect_all_kept "an image's ENTRYPOINT is replaced by the probe: every promise kept"
	expect_line "the report is the probe's, not the entrypoint's" "$OUT" \
		'^workspace-root-readonly +kept +as uid 65532:'
	expect_clean "entrypoint image: nothing left" "${S}ep"
	engine_req DELETE "/images/$ENTRY_IMG?force=1" >/dev/null 2>&1
else
	not_ok "an image with an ENTRYPOINT could be made for the test" "commit of $eid failed"
fi

make_site "${S}rt" image=jobcell-test/root:latest user=0:0 allow_root=true
jc -c "$TMP/${S}rt.ini" check
expect_all_kept "bind, as root: every promise kept, exit 0"
expect_line "the probe ran as root" "$OUT" '^workspace-root-readonly +kept +as uid 0:'
jc --json -c "$TMP/${S}rt.ini" check
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q '^{"schema":1,"ok":true,"exit_code":0,"rows":\[' &&
	[ "$(printf '%s' "$OUT" | grep -o '"state":"kept"' | wc -l)" = $((NPROMISES + 3)) ] &&
	printf '%s' "$OUT" | grep -q '"error":null}$' && [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ]; then
	ok "--json: one object, ok, every row kept"
else
	not_ok "--json: one object, ok, every row kept" "exit $RC" "$OUT"
fi
expect_clean "bind, as root: nothing left" "${S}rt"

make_site "${S}cap" image=jobcell-test/root:latest user=0:0 allow_root=true cap_add=CHOWN
jc -c "$TMP/${S}cap.ini" check
expect_all_kept "cap_add = CHOWN: the capability the site adds is allowed"
expect_line "CapEff shows CHOWN alone" "$OUT" '^capabilities +kept +CapEff 0000000000000001 '

# ---- bind mode: weakened sites fail, naming the promise ----
make_site "${S}wr" image=jobcell-test/root:latest user=0:0 allow_root=true
set_key "$TMP/${S}wr.ini" workspace root_readonly=false
jc -c "$TMP/${S}wr.ini" check
expect_broken "root_readonly = false, as root: workspace-root-readonly broken, exit 1" workspace-root-readonly
expect_clean "a broken promise leaves nothing either" "${S}wr"
if [ ! -e "$TMP/${S}wr/.jobcell-probe.1" ] && [ -z "$(find "$TMP/${S}wr" -maxdepth 1 -name '.jobcell-probe*')" ]; then
	ok "what the probe could plant in the root did not outlive the job"
else
	not_ok "what the probe could plant did not outlive the job" "$(ls -A "$TMP/${S}wr")"
fi

make_site "${S}wn" image=jobcell-test/nonroot:latest
set_key "$TMP/${S}wn.ini" workspace root_readonly=false
jc -c "$TMP/${S}wn.ini" check
expect_broken "root_readonly = false, as 65532: broken all the same (mode bits would not stop root)" \
	workspace-root-readonly

make_site "${S}fs" image=jobcell-test/root:latest user=0:0 allow_root=true readonly_rootfs=false
jc -c "$TMP/${S}fs.ini" check
expect_broken "readonly_rootfs = false: rootfs-readonly broken, exit 1" rootfs-readonly

make_site "${S}jm" image=jobcell-test/nonroot:latest
set_key "$TMP/${S}jm.ini" workspace job_mode=0755
jc -c "$TMP/${S}jm.ini" check
expect_broken "job_mode = 0755 (readable by others): job-dir-private broken, exit 1" job-dir-private

make_site "${S}nn" image=jobcell-test/root:latest user=0:0 allow_root=true no_new_privileges=false
jc -c "$TMP/${S}nn.ini" check
expect_broken "no_new_privileges = false: no-new-privileges broken, exit 1" no-new-privileges

make_site "${S}cd" image=jobcell-test/nonroot:latest cap_drop=
jc -c "$TMP/${S}cd.ini" check
expect_broken "cap_drop emptied, as 65532: capabilities broken (bounding set), exit 1" capabilities

for s in wr wn fs jm nn cd cap; do
	[ "$(count_site "${S}$s")" = 0 ] || not_ok "site ${S}$s left a container" "$(count_site "${S}$s")"
done

# ---- volume mode: two site volumes, the probe in the job's own volume ----
mkdir -p "$TMP/sv/startup" "$TMP/sv/local"
echo "startup-$S" >"$TMP/sv/startup/fed.json"
echo "local-$S" >"$TMP/sv/local/resources.json"
chmod 0644 "$TMP/sv/startup/fed.json" "$TMP/sv/local/resources.json"
tar --owner=0 --group=0 -C "$TMP/sv/startup" -cf "$TMP/sv/startup.tar" fed.json
tar --owner=0 --group=0 -C "$TMP/sv/local" -cf "$TMP/sv/local.tar" resources.json
made=0
for v in "$SV_START:startup" "$SV_LOCAL:local"; do
	engine_json POST /volumes/create "{\"Name\":\"${v%%:*}\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null &&
		fill_volume "${v%%:*}" "$TMP/sv/${v#*:}.tar" && made=$((made + 1))
done
make_vsite() { # NAME [job key=value]...
	local name=$1 kv
	shift
	SITES+=("$name")
	{
		printf '[engine]\nendpoint = unix://%s\n' "$SOCK"
		printf '[site]\nname = %s\n' "$name"
		printf '[workspace]\nmode = volume\n'
		[ -z "${WORKSPACE_KEYS:-}" ] || printf '%s\n' "$WORKSPACE_KEYS"
		printf '[volume]\nstartup_volume = %s\nlocal_volume = %s\n' "$SV_START" "$SV_LOCAL"
		printf '[job]\n'
		for kv in "$@"; do printf '%s\n' "${kv/=/ = }"; done
	} >"$TMP/$name.ini"
}
if [ $made = 2 ]; then
	make_vsite "${S}vn" image=jobcell-test/nonroot:latest
	jc -c "$TMP/${S}vn.ini" check
	expect_all_kept "volume mode, as 65532: every promise kept, exit 0"
	expect_line "volume mode has no sibling directory to look for" "$OUT" '^siblings-invisible +kept .*no sibling to look for'
	expect_clean "volume mode: the check job's container and volume are gone" "${S}vn"
	WORKSPACE_KEYS_SAVED=${WORKSPACE_KEYS:-}
	WORKSPACE_KEYS=$(printf '%s\njob_path = /inputs\nscratch = jobs-storage' "$WORKSPACE_KEYS_SAVED")
	make_vsite "${S}vj" image=jobcell-test/nonroot:latest
	WORKSPACE_KEYS=$WORKSPACE_KEYS_SAVED
	jc -c "$TMP/${S}vj.ini" check
	expect_all_kept "volume mode, job_path and scratch: every promise kept, exit 0"
	expect_line "volume mode: the job's volume is the working directory at /inputs" "$OUT" \
		'^workdir-is-job-dir +kept +`/inputs`'
	expect_line "volume mode: scratch writable" "$OUT" '^scratch-writable +kept +writable tmpfs of scratch_size: `/workspace/jobs-storage` \(65536k\)'
	expect_clean "volume mode, job_path: nothing left" "${S}vj"
	make_vsite "${S}vr" image=jobcell-test/root:latest user=0:0 allow_root=true
	jc -c "$TMP/${S}vr.ini" check
	expect_all_kept "volume mode, as root: every promise kept, exit 0"
	expect_clean "volume mode, as root: nothing left" "${S}vr"
	make_vsite "${S}vw" image=jobcell-test/root:latest user=0:0 allow_root=true
	set_key "$TMP/${S}vw.ini" workspace root_readonly=false
	jc -c "$TMP/${S}vw.ini" check
	expect_broken "volume mode, root_readonly = false: workspace-root-readonly broken" workspace-root-readonly
	expect_clean "volume mode, weakened: nothing left" "${S}vw"
else
	not_ok "site volumes made and filled" "$made of 2"
fi

# ---- nothing labelled is left ----
left=0
for s in "${SITES[@]}"; do left=$((left + $(count_site "$s") + $(count_vols "$s"))); done
if [ "$left" = 0 ]; then ok "no container or volume labelled for these sites is left"; else not_ok "nothing labelled is left" "$left left"; fi
summary check
