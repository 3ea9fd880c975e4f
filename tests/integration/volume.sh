#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in patterns are jobcell's quoting, not expansions
# Integration tests of volume mode: build/jobcell against a real engine.
# Inputs go into a per-run volume, outputs come back through a hostile-proof
# extraction, and nothing labelled with a site is left behind (gc included).
. "$(dirname "$0")/lib.sh"
set -e
S=vt$$ # site-name prefix: unique per run, so leftovers are attributable
SV_START=${S}-startup SV_LOCAL=${S}-local # the site volumes this script makes
# --input, --output and --to are relative to jobcell's current directory
# (an empty [volume] transfer_dir): every jobcell here runs from XFER
XFER=$TMP/xfer
mkdir -p "$XFER"
cd "$XFER"

# ---- helpers ----
# (not_ok gets two arguments or more throughout: with one, it returns 1,
# which set -e turns into the end of the script)
http_code() { # METHOD PATH: the status code alone
	curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" -X "$1" \
		"http://localhost$2" 2>/dev/null || true
}
count_vols() { site_vols "$1" | wc -l; }
vol_exists() { [ "$(http_code GET "/volumes/$1")" = 200 ]; }
ctr_exists() { [ "$(http_code GET "/containers/$1/json")" = 200 ]; }
vol_label() { # NAME KEY: the label's value
	engine_get "/volumes/$1" 2>/dev/null | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4
}
# the volume of SITE's job JOB (by label, checked on each volume)
job_vol() {
	local v
	for v in $(site_vols "$1"); do
		[ "$(vol_label "$v" jobcell.job)" = "$2" ] && printf '%s\n' "$v"
	done
	return 0
}
nothing_left() { [ "$(count_site "$1")" = 0 ] && [ "$(count_vols "$1")" = 0 ]; }
left_desc() { printf '%s containers, volumes: %s' "$(count_site "$1")" "$(site_vols "$1" | tr '\n' ' ')"; }

# make_vsite NAME [job.K=V | volume.K=V | workspace.K=V]...: a volume-mode
# site file at $TMP/NAME.ini; the site volumes of this script and the root
# image unless given
make_vsite() {
	local name=$1 kv img=0 sv=0
	local -a job=() vol=() wsk=() outk=()
	shift
	SITES+=("$name")
	for kv in "$@"; do
		case $kv in
		job.image=*) img=1 job+=("${kv#job.}") ;;
		job.*) job+=("${kv#job.}") ;;
		volume.site_volume=*) sv=1 vol+=("${kv#volume.}") ;;
		volume.*) vol+=("${kv#volume.}") ;;
		workspace.*) wsk+=("${kv#workspace.}") ;;
		output.*) outk+=("${kv#output.}") ;;
		*) echo "make_vsite: bad key $kv" >&2 && exit 2 ;;
		esac
	done
	[ $img = 1 ] || job+=("image=jobcell-test/root:latest" "allow_root=true")
	[ $sv = 1 ] || vol+=("startup_volume=$SV_START" "local_volume=$SV_LOCAL")
	{
		printf '[engine]\nendpoint = unix://%s\n' "$SOCK"
		printf '[site]\nname = %s\n' "$name"
		printf '[workspace]\nmode = volume\n'
		for kv in ${wsk[@]+"${wsk[@]}"}; do printf '%s\n' "${kv/=/ = }"; done
		printf '[volume]\n'
		for kv in "${vol[@]}"; do printf '%s\n' "${kv/=/ = }"; done
		printf '[job]\n'
		for kv in "${job[@]}"; do printf '%s\n' "${kv/=/ = }"; done
		printf '[output]\n'
		for kv in ${outk[@]+"${outk[@]}"}; do printf '%s\n' "${kv/=/ = }"; done
	} >"$TMP/$name.ini"
}


# expect_out NAME PATTERN: stdout has a line matching the ERE
expect_line() { # NAME TEXT PATTERN
	if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1"; else not_ok "$1" "want /$3/ in:" "$2"; fi
}

# a supervisor id of a process that is gone: this boot, this pid namespace
dead_supervisor() {
	local pid
	pid=$(sh -c 'echo $$')
	printf '%s/%s/%s/1' "$(cat /proc/sys/kernel/random/boot_id)" \
		"$(stat -L -c %i /proc/self/ns/pid)" "$pid"
}


# ---- refusals that need no engine: one error line, status 125 ----
make_vsite "${S}ref" job.user=0:0
C=$TMP/${S}ref.ini
printf 'hello\n' >in.txt
mkdir -p realdir && echo x >realdir/f
ln -s in.txt lnk
ln -s realdir lnkdir
mkfifo fifo.in
mkdir -p "$TMP/outside"
ln -s "$TMP/outside" outl
refuse() { # NAME PATTERN ARGS...
	local name=$1 pat=$2
	shift 2
	jc -c "$C" run refjob "$@" -- true
	expect_refusal "$name" 125 "$pat"
}
refuse "--tenant ../x refused" 'tenant `\.\./x` must start' --tenant '../x'
refuse "--tenant 'a b' refused" 'tenant has a character outside' --tenant 'a b'
refuse "--run ../r refused" 'run `\.\./r` must start' --run '../r'
refuse "--run r/x refused" 'run has a character outside' --run 'r/x'
refuse "--input with an absolute SRC refused" 'source `/etc/passwd`: absolute path' --input /etc/passwd
refuse "--input SRC with .. refused" 'source `\.\./in\.txt`: path component `\.\.`' --input ../in.txt
refuse "--input SRC with .. inside refused" 'path component `\.\.`' --input realdir/../in.txt
refuse "--input SRC that is a symlink refused" '`lnk` is a symlink' --input lnk
refuse "--input SRC through a symlinked dir refused" 'passes through a symlink' --input lnkdir/f
refuse "--input missing SRC refused" 'missing\.txt.*No such file' --input missing.txt
refuse "--input fifo SRC refused (and does not block)" '`fifo\.in` is a fifo' --input fifo.in
refuse "--input DEST with .. refused" 'destination `\.\./x`: path component `\.\.`' --input in.txt:../x
refuse "--input DEST nested .. refused" 'destination `a/\.\./\.\./x`' --input in.txt:a/../../x
refuse "--input absolute DEST refused" 'destination `/abs`: absolute' --input in.txt:/abs
refuse "two inputs with one DEST refused" 'also the destination' --input in.txt --input realdir/f:in.txt
refuse "--output absolute refused" 'output directory `/tmp/[^`]*`: absolute' --output "$TMP/abs-out"
refuse "--output through a symlink refused" 'output directory `outl`.*symlinks are not followed' --output outl
refuse "--output beneath a symlink refused" 'output directory `outl/sub`.*symlinks are not followed' --output outl/sub
refuse "--output with .. refused" 'output directory `\.\./up`: path component `\.\.`' --output ../up
if [ -z "$(ls -A "$TMP/outside")" ] && [ ! -e "$TMP/abs-out" ] && [ ! -e "$TMP/up" ]; then
	ok "refused --output created nothing on disk"
else
	not_ok "refused --output created nothing on disk" "$(ls -la "$TMP/outside" "$TMP" 2>&1)"
fi
jc -c "$C" volume create --tenant '../x'
expect_refusal "volume create --tenant ../x refused" 125 'tenant `\.\./x`'
jc -c "$C" volume get some-volume ../x --to got
expect_refusal "volume get PATH with .. refused" 125 'path component `\.\.`'
# a request's job name after --job is judged as a name, never obeyed as an
# option (a kept volume, a spoofed tenant, another's file sent in)
for name in --keep --tenant=victim --input=in.txt; do
	jc -c "$C" run --job "$name" -- true
	expect_refusal "job name $name after --job refused as a name" 125 'job name'
done
make_site "${S}bind" image=jobcell-test/root:latest user=0:0 allow_root=true
for opt in "--tenant t" "--run r" "--input in.txt" "--output o" "--keep"; do
	# shellcheck disable=SC2086 # the option and its value are two words
	jc -c "$TMP/${S}bind.ini" run bj $opt -- true
	expect_refusal "$opt on a bind-mode site refused" 125 'need \[workspace\] mode = volume'
done

if ! engine_up; then
	skip "real engine" "no engine answers on $SOCK (run contrib/bootstrap.sh)"
	summary volume
	exit $?
fi
for img in jobcell-test/root:latest jobcell-test/nonroot:latest; do
	image_present "$img" || { skip "real engine" "image $img is missing (run contrib/bootstrap.sh)"; summary volume; exit $?; }
done
for s in "${S}ref" "${S}bind"; do
	if nothing_left "$s"; then ok "refusals of $s created nothing on the engine"; else not_ok "refusals of $s created nothing" "$(left_desc "$s")"; fi
done

# ---- the site volumes: startup/fed.json and local/resources.json ----
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
if [ $made = 2 ]; then
	ok "site volumes $SV_START and $SV_LOCAL made and filled"
else
	not_ok "site volumes made and filled" "$made of 2"
	summary volume
	exit $?
fi

# ---- refusals that need the engine ----
API=$(engine_get /version | grep -o '"ApiVersion":"[0-9.]*"' | head -1 | cut -d'"' -f4)
make_vsite "${S}api" volume.site_volume="$SV_START"
if [[ $API =~ ^1\.([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -lt 45 ]; then
	jc -c "$TMP/${S}api.ini" run apijob --input in.txt -- true
	expect_refusal "site_volume on an API $API engine refused, naming 1.45" 125 'subpaths need Engine API 1\.45'
	if nothing_left "${S}api"; then ok "the site_volume refusal created nothing"; else not_ok "the site_volume refusal created nothing" "$(left_desc "${S}api")"; fi
else
	skip "site_volume refused below API 1.45" "the engine speaks API $API: subpaths are supported"
fi
# a volume made by hand: no jobcell labels
engine_json POST /volumes/create "{\"Name\":\"${S}-plain\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null || true
# one labelled as another site's
engine_json POST /volumes/create "{\"Name\":\"${S}-foreign\",\"Labels\":{\"jobcell-test.run\":\"$S\",\"jobcell.managed\":\"true\",\"jobcell.site\":\"${S}oth\",\"jobcell.keep\":\"true\"}}" >/dev/null || true
jc -c "$C" volume get "${S}-plain" --to gotplain
expect_refusal "volume get of an unlabelled volume refused" 125 "volume \`${S}-plain\` is not labelled"
if [ ! -e gotplain ]; then ok "refused volume get created no --to directory"; else not_ok "refused volume get created no --to directory" "$(find gotplain)"; fi
jc -c "$C" volume get "${S}-foreign" --to gotplain
expect_refusal "volume get of another site's volume refused" 125 "is not labelled as a volume of site \`${S}ref\`"
jc -c "$C" volume put "${S}-plain" in.txt
expect_refusal "volume put into an unlabelled volume refused" 125 'is not labelled'
jc -c "$C" volume rm "${S}-plain"
expect_refusal "volume rm of an unlabelled volume refused" 125 'is not labelled'
jc -c "$C" volume rm "${S}-foreign"
expect_refusal "volume rm of another site's volume refused" 125 'is not labelled'
if vol_exists "${S}-plain" && vol_exists "${S}-foreign"; then ok "refused volume rm removed nothing"; else not_ok "refused volume rm removed nothing" "${S}-plain or ${S}-foreign is gone"; fi
jc -c "$C" volume get "${S}-nosuch" --to gotplain
if [ "$RC" = 125 ] && [ ! -e gotplain ]; then ok "volume get of a missing volume fails (125)"; else not_ok "volume get of a missing volume fails" "rc $RC: $ERR"; fi
if nothing_left "${S}ref"; then ok "engine-side refusals created nothing"; else not_ok "engine-side refusals created nothing" "$(left_desc "${S}ref")"; fi

# ---- an image cannot set jobcell's labels ----
# An image labelled jobcell.keep / jobcell.volume / jobcell.supervisor
# (the engine merges an image's labels into a container's) is refused by
# every command before anything is made (the test images' own
# jobcell.recipe stamp is no key of jobcell's, and is not refused); a create's own "" overrides an
# image's label on both engines, which is what jobcell sets for every key.
LIMG=jobcell-test/labelled-$S:latest
LIMG_ID=
mkdir -p "$TMP/limg/bin"
cp /bin/busybox "$TMP/limg/bin/busybox"
enc() { printf '%s' "$1" | sed 's/%/%25/g; s/ /%20/g; s/=/%3D/g; s/\//%2F/g'; }
limg_changes="changes=$(enc "LABEL jobcell.keep=true")&changes=$(enc "LABEL jobcell.volume=${S}-foreign")"
limg_changes="$limg_changes&changes=$(enc "LABEL jobcell.supervisor=$(dead_supervisor)")"
import_out=$(tar --owner=0 --group=0 --numeric-owner -C "$TMP/limg" -c . |
	curl -sS --max-time 60 --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' \
		--data-binary @- \
		"http://localhost/images/create?fromSrc=-&repo=${LIMG%:*}&tag=${LIMG#*:}&$limg_changes" 2>&1) || true
LIMG_ID=$(printf '%s' "$import_out" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1) || true
# Podman 4.3 may ignore repo and tag on this endpoint: tag it by id
if ! image_present "$LIMG" && [ -n "$LIMG_ID" ]; then
	engine_req POST "/images/$LIMG_ID/tag?repo=${LIMG%:*}&tag=${LIMG#*:}" >/dev/null 2>&1 || true
fi
if engine_get "/images/$LIMG/json" 2>/dev/null | grep -q '"jobcell.keep":"true"'; then
	ok "image $LIMG imported with jobcell.keep, jobcell.volume and jobcell.supervisor labels"
	# the engine's side: the image's labels are merged, a create's "" wins
	lid=$(engine_json POST /containers/create "{\"Image\":\"$LIMG\",\"Cmd\":[\"true\"],\"Labels\":{\"jobcell-test.run\":\"$S\",\"jobcell.keep\":\"\"}}" |
		grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4) || true
	lj=$(engine_get "/containers/$lid/json" 2>/dev/null)
	if printf '%s' "$lj" | grep -q '"jobcell.keep":""' && printf '%s' "$lj" | grep -q "\"jobcell.volume\":\"${S}-foreign\""; then
		ok "the engine merges an image's labels into a container's, and a create's empty label overrides"
	else
		not_ok "the engine merges image labels, a create's empty label overrides" "$(printf '%s' "$lj" | grep -o '"Labels":{[^}]*}')"
	fi
	[ -z "$lid" ] || engine_req DELETE "/containers/$lid?force=1" >/dev/null 2>&1 || true
	make_vsite "${S}lab" job.image="$LIMG" job.user=0:0 job.allow_root=true
	make_vsite "${S}lao" job.overridable=image
	make_site "${S}lbb" image="$LIMG" user=0:0 allow_root=true
	LC=$TMP/${S}lab.ini
	jc -c "$LC" volume create # needs no image
	kept_vol=$OUT
	lpat="image \`[^\`]*labelled-$S[^\`]*\` carries label \`jobcell\.(keep|volume|supervisor)\`"
	jc -c "$LC" run lj -- true
	expect_refusal "run of an image with jobcell labels refused" 125 "$lpat"
	jc -c "$LC" start lj -- true
	expect_refusal "start of an image with jobcell labels refused" 125 "$lpat"
	jc -c "$TMP/${S}lao.ini" run lj --image "$LIMG" -- true
	expect_refusal "run --image with jobcell labels refused" 125 "$lpat"
	jc -c "$TMP/${S}lao.ini" start lj --image "$LIMG" -- true
	expect_refusal "start --image with jobcell labels refused" 125 "$lpat"
	jc -c "$TMP/${S}lbb.ini" start lj -- true
	expect_refusal "start of an image with jobcell labels refused in bind mode" 125 "$lpat"
	jc -c "$LC" volume put "$kept_vol" in.txt
	expect_refusal "volume put through an image with jobcell labels refused" 125 "$lpat"
	jc -c "$LC" volume get "$kept_vol" --to lgot
	expect_refusal "volume get through an image with jobcell labels refused" 125 "$lpat"
	jc -c "$LC" check
	if [ "$RC" = 125 ] && printf '%s' "$ERR" | grep -qE -- "$lpat"; then
		ok "check of an image with jobcell labels refused"
	else
		not_ok "check of an image with jobcell labels refused" "rc $RC: $ERR"
	fi
	left=
	for s in "${S}lab" "${S}lao" "${S}lbb"; do
		[ "$(count_site "$s")" = 0 ] || left="$left $s: $(count_site "$s") containers;"
	done
	[ "$(site_vols "${S}lab")" = "$kept_vol" ] || left="$left ${S}lab: volumes $(site_vols "${S}lab");"
	[ "$(count_vols "${S}lao")" = 0 ] || left="$left ${S}lao: volumes $(site_vols "${S}lao");"
	[ ! -e lgot ] || left="$left lgot made;"
	vol_exists "${S}-foreign" || left="$left ${S}-foreign is gone;"
	if [ -z "$left" ]; then ok "the refusals created and removed nothing"; else not_ok "the refusals created and removed nothing" "$left"; fi
	jc -c "$LC" volume rm "$kept_vol"
	[ "$RC" = 0 ] || not_ok "volume rm of the labels test's kept volume" "$ERR"
else
	not_ok "image $LIMG imported with jobcell labels" "$import_out"
fi
engine_req DELETE "/images/$LIMG?force=1" >/dev/null 2>&1 || true
[ -z "$LIMG_ID" ] || engine_req DELETE "/images/$LIMG_ID?force=1" >/dev/null 2>&1 || true

# ---- round trip: inputs in, sums inside, outputs back byte for byte ----
make_vsite "${S}rt" # root image, no user: runs as 0:0
# shellcheck disable=SC2059 # the format is the octal escape of byte i
for ((i = 0; i < 256; i++)); do printf "\\$(printf %03o "$i")"; done >bin.dat
head -c 150000 /dev/urandom >>bin.dat # past one 64 KiB block
printf 'notes line 1\nline 2\twith a tab\n' >notes.txt
mkdir -p data/inner
printf 'secret\n' >data/secret.txt && chmod 0640 data/secret.txt
printf 'inner\n' >data/inner/x.txt && chmod 0755 data data/inner
if [ "$(wc -c <bin.dat)" != 150256 ] || [ "$(od -An -tx1 -N256 bin.dat | tr -d ' \n' | cut -c1-8,505-512)" != 00010203fcfdfeff ]; then
	not_ok "test setup: bin.dat holds bytes 0..255" "$(od -c bin.dat | head -3)"
fi
jc -c "$TMP/${S}rt.ini" run rt --input bin.dat --input notes.txt:sub/dir/notes.txt --input data --output out -- \
	sh -c 'sha256sum bin.dat sub/dir/notes.txt data/secret.txt data/inner/x.txt &&
		stat -c "mode %a %n" data/secret.txt && cp bin.dat copy.dat &&
		mkdir -p made/deep && echo created >made/deep/new.txt && exit 7'
expect_rc "round trip: the job's status 7 passes through" 7
host_sums=$(sha256sum bin.dat notes.txt data/secret.txt data/inner/x.txt | awk '{print $1}')
job_sums=$(printf '%s\n' "$OUT" | grep -E '^[0-9a-f]{64} ' | awk '{print $1}')
if [ -n "$job_sums" ] && [ "$job_sums" = "$host_sums" ]; then
	ok "the job reads its inputs byte-exact (sha256 of 4 files)"
else
	not_ok "the job reads its inputs byte-exact" "job: $OUT" "host: $host_sums" "$ERR"
fi
expect_line "an input keeps its mode 0640 inside" "$OUT" '^mode 640 data/secret\.txt$'
rt_ok=1 rt_why=
for pair in bin.dat:bin.dat bin.dat:copy.dat notes.txt:sub/dir/notes.txt data/secret.txt:data/secret.txt \
	data/inner/x.txt:data/inner/x.txt; do
	cmp -s "${pair%%:*}" "out/${pair#*:}" || { rt_ok=0 rt_why="$rt_why out/${pair#*:} differs or is missing;"; }
done
[ "$(cat out/made/deep/new.txt 2>/dev/null)" = created ] || { rt_ok=0 rt_why="$rt_why made/deep/new.txt;"; }
if [ $rt_ok = 1 ]; then ok "--output brings back inputs and outputs byte-exact"; else not_ok "--output brings back byte-exact files" "$rt_why" "$(cd out 2>/dev/null && find . | sort | tr '\n' ' ')" "$ERR"; fi
if [ "$(stat -c %a out/data/secret.txt 2>/dev/null)" = 640 ] && [ ! -L out/copy.dat ] && [ -f out/copy.dat ]; then
	ok "mode 0640 kept through the round trip"
else
	not_ok "mode 0640 kept through the round trip" "$(ls -l out/data 2>&1)"
fi
if ! printf '%s' "$ERR" | grep -q 'warning'; then ok "a clean round trip warns about nothing"; else not_ok "a clean round trip warns about nothing" "$ERR"; fi
if nothing_left "${S}rt"; then ok "round trip: container and volume removed"; else not_ok "round trip: container and volume removed" "$(left_desc "${S}rt")"; fi

# ---- as 65532: the job owns and writes its volume ----
make_vsite "${S}nr" job.image=jobcell-test/nonroot:latest # USER 65532:65532 from the image
make_vsite "${S}nru" job.user=65532:65532                 # root image, site user
echo input-for-nonroot >nr.txt
for site in "${S}nr" "${S}nru"; do
	rm -rf outnr
	jc -c "$TMP/$site.ini" run nr --input nr.txt --output outnr -- \
		sh -c 'echo "uid $(id -u)"; echo "ls $(ls -ldn .)"; echo "input $(stat -c %u:%g nr.txt)";
			echo from-nonroot >w.txt && echo appended >>nr.txt'
	if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qx 'uid 65532' &&
		printf '%s\n' "$OUT" | grep '^ls ' | awk '{print $4}' | grep -qx 65532 &&
		printf '%s\n' "$OUT" | grep -qx 'input 65532:65532'; then
		ok "$site: runs as 65532, owns its job dir (ls -ld .) and its inputs"
	else
		not_ok "$site: runs as 65532 and owns its job dir" "rc $RC: $OUT" "$ERR"
	fi
	if [ "$(cat outnr/w.txt 2>/dev/null)" = from-nonroot ] &&
		[ "$(tail -1 outnr/nr.txt 2>/dev/null)" = appended ]; then
		ok "$site: a file written by 65532 comes back in --output"
	else
		not_ok "$site: a file written by 65532 comes back" "$(ls -la outnr 2>&1)" "$ERR"
	fi
	# no input: only the volume's root, as jobcell prepared it
	jc -c "$TMP/$site.ini" run nr2 -- sh -c 'echo "dir $(stat -c %a:%u:%g .)"; echo x >f'
	if [ "$RC" = 0 ] && [ "$OUT" = "dir 700:65532:65532" ]; then
		ok "$site: without inputs the job dir has job_mode 0700 and owner 65532 and is writable"
	else
		not_ok "$site: without inputs the job dir has job_mode 0700, owner 65532" "rc $RC: $OUT" "$ERR"
	fi
	if nothing_left "$site"; then ok "$site: nothing left"; else not_ok "$site: nothing left" "$(left_desc "$site")"; fi
done

# ---- isolation inside volume mode, as root ----
make_vsite "${S}iso" job.user=0:0
probe='
fail=0
t() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1"; fail=1; fi; }
t "root not writable" "! touch /workspace/x 2>/dev/null && [ ! -e /workspace/x ]"
t "root no mkdir" "! mkdir /workspace/d 2>/dev/null"
t "only three entries" "[ \"\$(ls -A /workspace | tr \"\n\" \" \")\" = \"iso local startup \" ]"
t "startup readable" "[ \"\$(cat /workspace/startup/fed.json)\" = startup-$SITE ]"
t "local readable" "[ \"\$(cat /workspace/local/resources.json)\" = local-$SITE ]"
t "startup read-only" "! touch /workspace/startup/x 2>/dev/null"
t "startup no rm" "! rm /workspace/startup/fed.json 2>/dev/null && [ -e /workspace/startup/fed.json ]"
t "local read-only" "! touch /workspace/local/x 2>/dev/null"
t "local no mkdir" "! mkdir /workspace/local/d 2>/dev/null"
t "cwd is job dir" "[ \"\$(pwd)\" = /workspace/iso ]"
t "job dir writable" "echo x > w.txt && [ -s w.txt ]"
t "no engine socket" "[ ! -e /var/run/docker.sock ] && [ ! -e /run/docker.sock ] && [ ! -e /run/jobcell-podman.sock ]"
exit $fail'
jc -c "$TMP/${S}iso.ini" run iso --env SITE="$S" -- sh -c "SITE=$S; $probe"
if [ "$RC" = 0 ]; then
	ok "isolation holds in volume mode as root ($(printf '%s' "$OUT" | grep -c '^ok') checks)"
else
	not_ok "isolation holds in volume mode as root" "$(printf '%s' "$OUT" | grep FAIL)" "$ERR"
fi
jc -c "$TMP/${S}iso.ini" run iso2 -- ls -A /workspace/startup /workspace/local
if [ "$RC" = 0 ] && [ "$(printf '%s' "$OUT" | grep -c -E '^(fed\.json|resources\.json)$')" = 2 ] &&
	[ "$(printf '%s\n' "$OUT" | grep -c -v -E '^(fed\.json|resources\.json|/workspace/(startup|local):|)$')" = 0 ]; then
	ok "the site volumes are unchanged after the probe"
else
	not_ok "the site volumes are unchanged after the probe" "$OUT" "$ERR"
fi
if nothing_left "${S}iso"; then ok "isolation runs left nothing"; else not_ok "isolation runs left nothing" "$(left_desc "${S}iso")"; fi

# ---- hostile outputs ----
make_vsite "${S}host" job.user=0:0
SENT=$TMP/sentinel
mkdir -p "$SENT"
listing() { find "$1" -mindepth 1 -maxdepth 1 ! -name hout -printf '%f\n' | sort | tr '\n' ' '; }
before_xfer=$(listing "$XFER")
before_tmp=$(listing "$TMP")
jc -c "$TMP/${S}host.ini" run hostile --output hout -- sh -c "
	ln -s /etc link; ln -s .. up; ln -s $SENT esc; ln -s ../../../../../../../../..$SENT rel
	echo data >f; ln f hard; mkfifo fifo
	echo s >suid; chmod 4755 suid
	mkdir x; ln -s .. x/l; ln -s l/.. x/l2
	echo kept >plain.txt
	exit 5"
H1_ERR=$ERR
expect_rc "hostile outputs: the job's status 5 still passes through" 5
if [ ! -L hout/link ] && [ ! -e hout/link ]; then ok "out/link -> /etc refused"; else not_ok "out/link -> /etc refused" "$(ls -la hout)"; fi
if [ ! -L hout/up ] && [ ! -L hout/esc ] && [ ! -L hout/rel ]; then
	ok "symlinks to .., to a host dir, and a long ../ climb refused"
else
	not_ok "escaping symlinks refused" "$(ls -la hout)"
fi
if [ ! -e hout/fifo ] && [ ! -p hout/fifo ]; then ok "fifo refused"; else not_ok "fifo refused" "$(ls -la hout)"; fi
if [ -f hout/suid ] && [ "$(stat -c %a hout/suid)" = 755 ]; then ok "setuid bit dropped (4755 comes back 755)"; else not_ok "setuid bit dropped" "$(ls -la hout/suid 2>&1)"; fi
if [ "$(cat hout/f 2>/dev/null)" = data ] && { [ ! -e hout/hard ] || { [ -f hout/hard ] && [ ! -L hout/hard ] && [ "$(cat hout/hard)" = data ]; }; } &&
	[ "$(cat hout/plain.txt 2>/dev/null)" = kept ]; then
	ok "the harmless members (a file, its hard link, plain.txt) still come back"
else
	not_ok "the harmless members still come back" "$(ls -la hout 2>&1)"
fi
miss=
for m in link up esc rel fifo; do
	printf '%s\n' "$H1_ERR" | grep -qE "^jobcell: warning: output: refused \`(\./)?$m\`" || miss="$miss $m"
done
if [ -z "$miss" ]; then ok "each refusal is reported as a warning"; else not_ok "each refusal is reported as a warning" "missing:$miss" "$H1_ERR"; fi
# a symlink that stays inside lexically may still resolve outside through
# another symlink: x/l -> .. and x/l2 -> l/.. (= the parent of out)
outside=
[ -d hout ] || outside="there is no hout at all;"
base=$(readlink -f hout)
while IFS= read -r l; do
	r=$(readlink -m "$l")
	case $r in "$base" | "$base"/*) ;; *) outside="$outside ${l#hout/} -> $(readlink "$l") (resolves to $r);" ;; esac
done < <(find hout -type l 2>/dev/null)
if [ -z "$outside" ]; then ok "no symlink in --output resolves outside it"; else not_ok "no symlink in --output resolves outside it" "$outside"; fi
# second stage into the same directory: members beneath planted symlinks
mkdir -p hout && ln -sfn "$SENT" hout/d # as if a symlink to a host dir were there already
jc -c "$TMP/${S}host.ini" run hostile2 --output hout -- sh -c '
	mkdir -p d x/l2 link && echo pwn >d/file && echo pwn >x/l2/pwn2 && echo pwn >link/pwn3'
expect_rc "second hostile run: status 0" 0
if [ -z "$(listing "$SENT")" ] && [ ! -e "$XFER/pwn2" ] && [ ! -e /etc/pwn3 ] && [ ! -e "$TMP/pwn2" ] &&
	[ "$(listing "$XFER")" = "$before_xfer" ] && [ "$(listing "$TMP")" = "$before_tmp" ]; then
	ok "nothing was written outside --output (sentinel empty, no pwn files, /etc untouched)"
else
	not_ok "nothing was written outside --output" "sentinel: $(listing "$SENT")" "xfer: $(listing "$XFER")" "tmp: $(listing "$TMP")" "$ERR"
fi
expect_line "a member beneath a planted symlink is refused with a warning" "$ERR" '^jobcell: warning: output: refused `(\./)?d/file`'
if nothing_left "${S}host"; then ok "hostile runs left nothing"; else not_ok "hostile runs left nothing" "$(left_desc "${S}host")"; fi

# ---- bounded outputs: [output] limits end the fetch; the job's status stands ----
make_vsite "${S}lim" output.max_bytes=1m output.max_members=50
# 256 MiB of zeros: holes on the host, but read all the same
jc -c "$TMP/${S}lim.ini" --status-fd 3 run zeros --output limz -- \
	sh -c 'head -c 1048 /dev/zero | tr "\0" a > first.txt; head -c 268435456 /dev/zero > zeros.img; exit 4'
expect_rc "max_bytes: a job writing 256 MiB of zeros ends in 125" 125
expect_line "max_bytes: one error names the limit and its value" "$ERR" \
	'^jobcell: error: output of job `zeros` into `limz`: more than 1048576 bytes \(\[output\] max_bytes\)$'
expect_line "max_bytes: the job's status is still reported on stderr" "$ERR" '^jobcell: job `zeros` exited with status 4$'
expect_line "max_bytes: and in the --json record, beside the error" "$REC" \
	'"exit_code":125,"job_status":4,.*"error":\{"kind":"input","message":"output of job `zeros`.*max_bytes.*"errno":"EFBIG"'
lim_bytes=$(find limz -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
lim_disk=$(du -sk limz 2>/dev/null | cut -f1)
if [ "$lim_bytes" = 0 ] && [ -d limz ] && [ -z "$(ls -A limz)" ] && [ "${lim_disk:-0}" -le 8 ]; then
	ok "max_bytes: what the cut output wrote is removed again, limz stays empty"
else
	not_ok "max_bytes: what the cut output wrote is removed again" "$lim_bytes bytes, ${lim_disk} KiB" "$(ls -la limz)"
fi
if nothing_left "${S}lim"; then ok "max_bytes: container and volume removed"; else not_ok "max_bytes: nothing left" "$(left_desc "${S}lim")"; fi

jc -c "$TMP/${S}lim.ini" run many --output limm -- sh -c 'i=0; while [ $i -lt 400 ]; do : > f$i; i=$((i + 1)); done'
expect_rc "max_members: a job writing 400 empty files ends in 125" 125
expect_line "max_members: one error names the limit" "$ERR" \
	'^jobcell: error: output of job `many` into `limm`: more than 50 members \(\[output\] max_members\)$'
expect_line "max_members: the job's status is still reported" "$ERR" '^jobcell: job `many` exited with status 0$'
lim_n=$(find limm -mindepth 1 2>/dev/null | wc -l)
if [ -d limm ] && [ "$lim_n" = 0 ]; then ok "max_members: the entries it wrote are removed again"; else not_ok "max_members: the entries it wrote are removed again" "$lim_n left"; fi
if nothing_left "${S}lim"; then ok "max_members: container and volume removed"; else not_ok "max_members: nothing left" "$(left_desc "${S}lim")"; fi

jc -c "$TMP/${S}lim.ini" volume create
lim_vol=$OUT
head -c 2097152 /dev/urandom >limbig.dat
jc -c "$TMP/${S}lim.ini" volume put "$lim_vol" limbig.dat
jc -c "$TMP/${S}lim.ini" volume get "$lim_vol" --to limg
expect_refusal "volume get: max_bytes ends the fetch with one error" 125 \
	"^jobcell: error: volume get \`$lim_vol\` into \`limg\`: more than 1048576 bytes"
if [ -z "$(ls -A limg 2>/dev/null)" ]; then ok "volume get: the cut output is removed again"; else not_ok "volume get: the cut output is removed again" "$(ls -la limg)"; fi
if [ "$(count_site "${S}lim")" = 0 ]; then ok "volume get: the transfer container is removed after the limit"; else
	not_ok "volume get: the transfer container is removed" "$(left_desc "${S}lim")"; fi
jc -c "$TMP/${S}lim.ini" volume rm "$lim_vol"

# ---- bounded volumes: [volume] size, and check's row ----
make_vsite "${S}cap" volume.size=4m
jc -c "$TMP/${S}cap.ini" run cap -- sh -c 'head -c 8388608 /dev/zero | tr "\0" c > fill; echo rc=$?'
if [ "$RC" = 125 ]; then
	# Docker 20.10: the local driver wants a device for o=; Podman 4.3:
	# o=size= needs an XFS project quota on its volume directory
	expect_line "[volume] size: the engine refuses a cap it cannot hold, at volume creation" "$ERR" \
		'^jobcell: error: .*create volume `[^`]*`: engine said [0-9]+: .*(missing required option|Project Quota|size)'
	if nothing_left "${S}cap"; then ok "[volume] size refused: nothing left"; else not_ok "[volume] size refused: nothing left" "$(left_desc "${S}cap")"; fi
	jc -c "$TMP/${S}cap.ini" check
	if [ "$RC" = 125 ] && printf '%s\n' "$ERR" | grep -q 'create volume'; then
		ok "[volume] size refused: check fails with the engine's reason (exit 125)"
	else
		not_ok "[volume] size refused: check fails with the engine's reason" "exit $RC" "$OUT" "$ERR"
	fi
else
	expect_line "[volume] size: the job cannot write past the cap" "$OUT" '^rc=[1-9]'
	jc -c "$TMP/${S}cap.ini" check
	expect_line "[volume] size: check reports the cap held" "$OUT" '^volume-size-capped +kept +a cap of 4194304 bytes'
fi
if nothing_left "${S}cap"; then ok "[volume] size: nothing left after check"; else not_ok "[volume] size: nothing left after check" "$(left_desc "${S}cap")"; fi

# ---- names: volumes made at once for one tenant and run stay distinct ----
make_vsite "${S}par"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	"$JOBCELL" -c "$TMP/${S}par.ini" volume create --tenant t --run r >"$TMP/par.$i" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
names=$(cat "$TMP"/par.? | sort)
distinct=$(printf '%s\n' "$names" | sort -u | grep -cE '^tenant-t-run-r-[0-9]{13}-[0-9a-f]{8}$' || true)
ms=$(printf '%s\n' "$names" | sed -E 's/^tenant-t-run-r-([0-9]+)-.*/\1/' | sort -u | wc -l)
if [ $bad = 0 ] && [ "$distinct" = 8 ]; then
	ok "8 parallel volume creates give 8 distinct names ($ms distinct milliseconds)"
else
	not_ok "8 parallel volume creates give 8 distinct names" "$bad failed" "$names"
fi
exist=0
for v in $names; do
	vol_exists "$v" && [ "$(vol_label "$v" jobcell.site)" = "${S}par" ] && [ "$(vol_label "$v" jobcell.keep)" = true ] &&
		[ "$(vol_label "$v" jobcell.tenant)" = t ] && [ "$(vol_label "$v" jobcell.run)" = r ] && exist=$((exist + 1))
done
if [ "$exist" = 8 ]; then ok "all 8 exist, labelled site, tenant, run and keep"; else not_ok "all 8 exist and are labelled" "$exist of 8"; fi
# shellcheck disable=SC2086
jc -c "$TMP/${S}par.ini" volume rm $names
if [ "$RC" = 0 ] && [ "$(count_vols "${S}par")" = 0 ]; then ok "volume rm removes all 8"; else not_ok "volume rm removes all 8" "rc $RC: $ERR" "$(site_vols "${S}par")"; fi

# ---- lifecycle: nothing left after any ending; --keep keeps ----
make_vsite "${S}life" job.user=0:0 job.stop_grace=2s
L=$TMP/${S}life.ini
jc -c "$L" run ok --input in.txt -- cat in.txt
if [ "$RC" = 0 ] && [ "$OUT" = hello ] && nothing_left "${S}life"; then ok "a normal run leaves nothing"; else not_ok "a normal run leaves nothing" "rc $RC out $OUT: $ERR" "$(left_desc "${S}life")"; fi
jc -c "$L" run fails -- sh -c 'exit 3'
if [ "$RC" = 3 ] && nothing_left "${S}life"; then ok "a failing run (3) leaves nothing"; else not_ok "a failing run (3) leaves nothing" "rc $RC: $ERR" "$(left_desc "${S}life")"; fi
jc -c "$L" run slow --timeout 1s -- sleep 30
if [ "$RC" = 124 ] && nothing_left "${S}life"; then ok "a timed-out run (124) leaves nothing"; else not_ok "a timed-out run (124) leaves nothing" "rc $RC: $ERR" "$(left_desc "${S}life")"; fi
trap_loop='trap "exit 143" TERM; while :; do sleep 0.2; done'
# (lib's signal_case, but safe under set -e when jobcell ends before its container runs)
"$JOBCELL" -c "$L" run termed -- sh -c "$trap_loop" >"$TMP/termed.out" 2>&1 &
tpid=$!
BGPIDS+=("$tpid")
if wait_running "jobcell-${S}life-termed"; then
	kill -TERM "$tpid" 2>/dev/null || true
	if wait_gone "$tpid" 15; then
		set +e; wait "$tpid"; RC=$?; set -e
		ERR=$(cat "$TMP/termed.out")
		expect_rc "a SIGTERM'd run gives 143" 143
	else
		not_ok "a SIGTERM'd run gives 143" "jobcell still runs 15 s after SIGTERM"
	fi
else
	not_ok "a SIGTERM'd run gives 143" "its container never ran: $(cat "$TMP/termed.out")"
fi
if nothing_left "${S}life"; then ok "a SIGTERM'd run leaves nothing"; else not_ok "a SIGTERM'd run leaves nothing" "$(left_desc "${S}life")"; fi
jc -c "$L" run kept --tenant acme --run r7 --keep -- sh -c 'echo kept-data >result.txt; mkdir -p sub; echo deep >sub/d.txt'
KV=$(printf '%s\n' "$ERR" | sed -n 's/^jobcell: kept volume `\(.*\)`$/\1/p')
if [ "$RC" = 0 ] && [[ $KV =~ ^tenant-acme-run-r7-[0-9]{13}-[0-9a-f]{8}$ ]] && vol_exists "$KV" &&
	[ "$(count_site "${S}life")" = 0 ]; then
	ok "--keep: stderr names the kept volume, which remains; the container is gone"
else
	not_ok "--keep keeps the volume" "rc $RC: $ERR" "$(left_desc "${S}life")"
fi
if [ -n "$KV" ] && [ "$(vol_label "$KV" jobcell.keep)" = true ] && [ "$(vol_label "$KV" jobcell.job)" = kept ] &&
	[ "$(vol_label "$KV" jobcell.tenant)" = acme ] && [ "$(vol_label "$KV" jobcell.run)" = r7 ] &&
	[ "$(vol_label "$KV" jobcell.managed)" = true ] && [ -n "$(vol_label "$KV" jobcell.nonce)" ] &&
	[ -n "$(vol_label "$KV" jobcell.supervisor)" ] && [ -n "$(vol_label "$KV" jobcell.created)" ]; then
	ok "the kept volume carries its labels"
else
	not_ok "the kept volume carries its labels" "$(engine_get "/volumes/$KV" 2>&1)"
fi
jc -c "$L" volume ls
expect_line "volume ls lists the kept volume" "$OUT" "^$KV +acme +r7 +kept +[0-9]+ +kept\$"
jc -c "$L" --json volume ls
expect_line "volume ls --json lists it" "$OUT" "\\{\"schema\":1,\"volume\":\"$KV\",\"tenant\":\"acme\",\"run\":\"r7\",\"job\":\"kept\",\"created\":\"[0-9]+\",\"keep\":true\\}"
jc -c "$L" volume get "$KV" --to got
if [ "$RC" = 0 ] && [ "$(cat got/result.txt 2>/dev/null)" = kept-data ] && [ "$(cat got/sub/d.txt 2>/dev/null)" = deep ]; then
	ok "volume get fetches the whole volume"
else
	not_ok "volume get fetches the whole volume" "rc $RC: $ERR" "$(find got 2>&1)"
fi
jc -c "$L" volume get "$KV" sub/d.txt --to got2
if [ "$RC" = 0 ] && [ "$(cat got2/d.txt 2>/dev/null)" = deep ] && [ ! -e got2/sub ]; then
	ok "volume get PATH lands at DIR/basename(PATH)"
else
	not_ok "volume get PATH lands at DIR/basename(PATH)" "rc $RC: $ERR" "$(find got2 2>&1)"
fi
jc -c "$L" volume put "$KV" bin.dat:more/bin.dat
jc -c "$L" volume get "$KV" more/bin.dat --to got3
if [ "$RC" = 0 ] && cmp -s bin.dat got3/bin.dat; then ok "volume put then get is byte-exact"; else not_ok "volume put then get is byte-exact" "rc $RC: $ERR"; fi
jc -c "$L" volume rm "$KV"
if [ "$RC" = 0 ] && ! vol_exists "$KV" && nothing_left "${S}life"; then ok "volume rm removes the kept volume"; else not_ok "volume rm removes the kept volume" "rc $RC: $ERR"; fi

# ---- chained jobs (issue 14): a kept volume of the tenant, read-only ----
make_vsite "${S}ch" job.user=0:0 "job.overridable=entrypoint"
CH=$TMP/${S}ch.ini
jc -c "$CH" volume create --tenant acme --run clone
CV=$OUT
printf 'repo-content\n' >repo.txt
jc -c "$CH" volume put "$CV" repo.txt
[ "$RC" = 0 ] || not_ok "chained: the kept volume is filled" "rc $RC: $ERR"
seen=0
for scanner in scan1 scan2 scan3; do
	jc -c "$CH" run "$scanner" --tenant acme --mount-volume "$CV:/src" -- \
		sh -c 'cat /src/repo.txt; touch /src/w 2>/dev/null && echo wrote || echo ro'
	[ "$RC" = 0 ] && [ "$OUT" = "$(printf 'repo-content\nro')" ] && seen=$((seen + 1))
done
[ $seen = 3 ] && ok "chained: three jobs in turn read the kept volume, read-only" ||
	not_ok "chained: three jobs in turn read the kept volume, read-only" "$seen of 3; last rc $RC out $OUT" "$ERR"
jc -c "$CH" run scanx --tenant rival --mount-volume "$CV:/src" -- true
expect_refusal "chained: another tenant's volume refused" 125 "volume \`$CV\` is not tenant \`rival\`'s"
jc -c "$CH" run scany --tenant acme --mount-volume "${S}-plain:/src" -- true
expect_refusal "chained: an unmanaged volume refused" 125 "volume \`${S}-plain\` is not labelled as a volume of site"
jc -c "$CH" run scanz --tenant acme --mount-volume "${S}-foreign:/src" -- true
expect_refusal "chained: another site's volume refused" 125 "volume \`${S}-foreign\` is not labelled as a volume of site"
jc -c "$CH" run scanp --tenant acme --mount-volume "$CV:/etc/x" -- true
expect_refusal "chained: a path under /etc refused" 125 "is at or under \`/etc\`"
if [ "$(count_site "${S}ch")" = 0 ] && [ "$(count_vols "${S}ch")" = 1 ]; then
	ok "chained: the refusals made nothing, the kept volume stays"
else
	not_ok "chained: the refusals made nothing, the kept volume stays" "$(left_desc "${S}ch")"
fi
# --entrypoint in volume mode: the create's own Entrypoint (no gate)
jc -c "$CH" run epv --entrypoint /bin/echo -- vol-entrypoint
[ "$RC" = 0 ] && [ "$OUT" = vol-entrypoint ] && ok "volume mode: --entrypoint runs the command as its arguments" ||
	not_ok "volume mode: --entrypoint runs the command as its arguments" "rc $RC: $OUT $ERR"
jc -c "$CH" volume rm "$CV"
[ "$RC" = 0 ] || not_ok "chained: volume rm of the kept volume" "$ERR"

# ---- [workspace] job_path in volume mode: inputs in, outputs out there ----
make_vsite "${S}jp" job.user=0:0 workspace.job_path=/inputs workspace.scratch=jobs-storage
printf 'param\n' >jp-in.txt
jc -c "$TMP/${S}jp.ini" run jpv --input jp-in.txt --output jpout -- \
	sh -c 'pwd; cat jp-in.txt > result.txt; echo s > /workspace/jobs-storage/x && echo scratch'
if [ "$RC" = 0 ] && [ "$OUT" = "$(printf '/inputs\nscratch')" ] && [ "$(cat jpout/result.txt 2>/dev/null)" = param ] &&
	nothing_left "${S}jp"; then
	ok "volume mode, job_path: inputs arrive and outputs leave /inputs; scratch writable"
else
	not_ok "volume mode, job_path: inputs arrive and outputs leave /inputs; scratch writable" "rc $RC: $OUT" "$ERR" "$(left_desc "${S}jp")"
fi

# ---- gc: what a dead jobcell left goes, a live one's stays ----
make_vsite "${S}gc" job.user=0:0 job.stop_grace=1s
G=$TMP/${S}gc.ini
"$JOBCELL" -c "$G" run gcdead -- sleep 60 >"$TMP/gcdead.out" 2>&1 &
dpid=$!
BGPIDS+=("$dpid")
if wait_running "jobcell-${S}gc-gcdead"; then
	kill -KILL "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
else
	not_ok "gc: the first job's container never ran" "$(cat "$TMP/gcdead.out")"
fi
"$JOBCELL" -c "$G" run gclive -- sleep 60 >"$TMP/gclive.out" 2>&1 &
lpid=$!
BGPIDS+=("$lpid")
wait_running "jobcell-${S}gc-gclive" || not_ok "gc: the live job's container never ran" "$(cat "$TMP/gclive.out")"
DV=$(job_vol "${S}gc" gcdead)
LV=$(job_vol "${S}gc" gclive)
jc -c "$G" volume create --tenant g
GK=$OUT
# another site's volume and container, with a supervisor that is gone
dead=$(dead_supervisor)
FL="\"jobcell-test.run\":\"$S\",\"jobcell.managed\":\"true\",\"jobcell.site\":\"${S}oth\",\"jobcell.created\":\"1\",\"jobcell.supervisor\":\"$dead\""
engine_json POST /volumes/create "{\"Name\":\"${S}-othvol\",\"Labels\":{$FL}}" >/dev/null || true
engine_json POST "/containers/create?name=${S}-othctr" \
	"{\"Image\":\"jobcell-test/root:latest\",\"Cmd\":[\"true\"],\"Labels\":{$FL},\"HostConfig\":{\"NetworkMode\":\"none\"}}" >/dev/null || true
if [ -n "$DV" ] && [ -n "$LV" ] && [ -n "$GK" ] && vol_exists "${S}-othvol" && ctr_exists "${S}-othctr"; then
	ok "gc setup: a dead and a live run, a kept volume, another site's dead leftovers"
else
	not_ok "gc setup" "dead vol '$DV' live vol '$LV' kept '$GK'" "$(cat "$TMP/gcdead.out" "$TMP/gclive.out")"
fi
jc -c "$G" gc --dry-run
D_OUT=$OUT
if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qE "^removed +container +jobcell-${S}gc-gcdead " &&
	ctr_exists "jobcell-${S}gc-gcdead" && vol_exists "$DV" && vol_exists "$LV"; then
	ok "gc --dry-run says what it would remove and removes nothing"
else
	not_ok "gc --dry-run removes nothing" "rc $RC: $OUT" "$ERR"
fi
# a gc that lists what is neither this run's nor the objects it made to
# look foreign would remove other users' objects on this engine: it is not
# run for real then
mine=$(for s in "${SITES[@]}"; do site_vols "$s"; done)
foreign=$(printf '%s\n' "$D_OUT" | awk '$1 == "removed" {print $3}' | while read -r n; do
	case $n in "jobcell-$S"* | "$S-"*) ;; *) printf '%s\n' "$mine" | grep -qxF -- "$n" || printf '%s ' "$n" ;; esac
done)
O_OUT='' G_OUT=''
if [ -n "$foreign" ]; then
	not_ok "gc for real" "not run: its dry run would remove objects of other users: $foreign"
	# what gc should have removed goes by hand, so that what follows
	# measures the live run alone
	engine_req DELETE "/containers/jobcell-${S}gc-gcdead?force=1" >/dev/null 2>&1 || true
	[ -z "$DV" ] || engine_req DELETE "/volumes/$DV?force=1" >/dev/null 2>&1 || true
else
	jc -c "$G" gc --older-than 1h
	O_OUT=$OUT
	if [ "$RC" = 0 ] && ctr_exists "jobcell-${S}gc-gcdead" && vol_exists "$DV" &&
		printf '%s\n' "$OUT" | grep -qE "^kept +container +jobcell-${S}gc-gcdead +younger than"; then
		ok "gc --older-than 1h keeps the young leftovers"
	else
		not_ok "gc --older-than 1h keeps the young leftovers" "rc $RC: $OUT" "$ERR"
	fi
	jc -c "$G" gc
	G_OUT=$OUT G_RC=$RC G_ERR=$ERR
	expect_line "gc: the dead run's container removed" "$G_OUT" "^removed +container +jobcell-${S}gc-gcdead +its supervising jobcell is gone"
	expect_line "gc: the dead run's volume removed" "$G_OUT" "^removed +volume +$DV +its supervising jobcell is gone"
	expect_line "gc: the live run's container kept" "$G_OUT" "^kept +container +jobcell-${S}gc-gclive +its supervising jobcell is alive"
	expect_line "gc: the live run's volume kept" "$G_OUT" "^kept +volume +$LV +its supervising jobcell is alive"
	expect_line "gc: the kept volume kept" "$G_OUT" "^kept +volume +$GK +kept"
	if [ "$G_RC" = 0 ] && ! ctr_exists "jobcell-${S}gc-gcdead" && ! vol_exists "$DV" &&
		ctr_exists "jobcell-${S}gc-gclive" && vol_exists "$LV" && vol_exists "$GK"; then
		ok "gc removed exactly the dead run's container and volume"
	else
		not_ok "gc removed exactly the dead run's container and volume" "rc $G_RC: $G_OUT" "$G_ERR"
	fi
fi
OTHERS="${S}-(oth|foreign)"
if vol_exists "${S}-othvol" && ctr_exists "${S}-othctr" && vol_exists "${S}-foreign" &&
	! printf '%s\n%s\n%s\n' "$D_OUT" "$O_OUT" "$G_OUT" | grep -qE -- "$OTHERS"; then
	ok "gc leaves another site's leftovers alone (and does not list them)"
else
	not_ok "gc leaves another site's leftovers alone" \
		"${S}-othvol exists: $(vol_exists "${S}-othvol" && echo yes || echo NO)" \
		"gc --dry-run: $(printf '%s\n' "$D_OUT" | grep -E -- "$OTHERS")" \
		"gc --older-than 1h: $(printf '%s\n' "$O_OUT" | grep -E -- "$OTHERS")" \
		"gc: $(printf '%s\n' "$G_OUT" | grep -E -- "$OTHERS")"
fi
jc -c "$G" volume ls
if ! printf '%s\n' "$OUT" | grep -qE -- "$OTHERS"; then ok "volume ls does not list another site's volume"; else not_ok "volume ls does not list another site's volume" "$OUT"; fi
kill -TERM "$lpid" 2>/dev/null || true # (gone already if gc took its container)
if wait_gone "$lpid" 15; then
	set +e; wait "$lpid"; RC=$?; set -e
	if nothing_left_but=$(site_vols "${S}gc" | grep -v -x -- "$GK"); [ -z "$nothing_left_but" ] && [ "$(count_site "${S}gc")" = 0 ]; then
		ok "the live run, stopped (status $RC), removes its container and volume"
	else
		not_ok "the live run, stopped, removes its container and volume" "$(left_desc "${S}gc")" "$(cat "$TMP/gclive.out")"
	fi
else
	not_ok "the live run stops on SIGTERM" "$(cat "$TMP/gclive.out")"
fi
jc -c "$G" volume rm "$GK"
[ "$RC" = 0 ] || not_ok "volume rm of the kept gc volume" "$ERR"
# the hand-made leftovers of the other site go by hand
engine_req DELETE "/containers/${S}-othctr?force=1" >/dev/null 2>&1 || true

# ---- nothing labelled is left; the site volumes go ----
left=
for s in "${SITES[@]}"; do nothing_left "$s" || left="$left $s: $(left_desc "$s");"; done
if [ -z "$left" ]; then ok "no container or volume labelled with a site of this run is left"; else not_ok "nothing labelled is left" "$left"; fi
gone=0
for v in "$SV_START" "$SV_LOCAL" "${S}-plain" "${S}-foreign" "${S}-othvol"; do
	c=$(http_code DELETE "/volumes/$v") # 404: gone already (a gc that overreached says so above)
	{ [ "$c" = 204 ] || [ "$c" = 200 ] || [ "$c" = 404 ]; } && ! vol_exists "$v" && gone=$((gone + 1))
done
if [ $gone = 5 ]; then ok "the site volumes and hand-made volumes are removed"; else not_ok "the site volumes and hand-made volumes are removed" "$gone of 5"; fi
summary volume
