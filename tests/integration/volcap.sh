#!/usr/bin/env bash
# [volume] size on a Podman that can hold it: a private `podman system
# service` whose volumes live on a loop-backed XFS mounted with prjquota.
# Podman 4.3 turns o=size= into an XFS project quota on the volume's
# directory, so a job writing past the cap fails inside the container, a job
# below it runs and its output comes back, and `jobcell check` reports
# volume-size-capped kept.  The shared engines cannot hold a cap; their
# refusal at volume creation is tested in volume.sh.
#
# The private service shares the shared Podman's storage (graph root and
# run root: the test images are there; tmp_dir: a fresh one would make it
# run Podman's first-start refresh of the lock state the shared service
# uses too) but has its own static_dir: the libpod database records the
# volume path and overrides any other while it is in use (`--volumepath`
# alone is silently ignored on 4.3).  The shared engines' APIs never list
# what it makes (another database), so the engine lock is not needed.
. "$(dirname "$0")/lib.sh"
set -e
S=vc$$
ENGINE_NAME=podman-xfs
CAP=8388608 # [volume] size = 8m

finish() {
	summary volcap
}

# everything made here lives under WORK (not TMP: lib.sh removes TMP
# recursively, which must not happen while the file system is mounted)
WORK=$(mktemp -d /var/tmp/jobcell-volcap.XXXXXX)
IMG=$WORK/xfs.img MNT=$WORK/mnt CONF=$WORK/containers.conf PSOCK=$WORK/podman.sock
PLOG=$WORK/podman.log
PPID_SVC= LOOP=
SOCK=$PSOCK # lib.sh's engine helpers (and its cleanup) ask the private service only

cap_cleanup() {
	set +e
	cleanup_all # the site's containers and volumes, through the private service
	if [ -n "$PPID_SVC" ]; then
		kill -TERM "$PPID_SVC" 2>/dev/null
		wait_gone "$PPID_SVC" 10 || kill -KILL "$PPID_SVC" 2>/dev/null
	fi
	if mountpoint -q "$MNT"; then
		LOOP=$(findmnt -n -o SOURCE "$MNT")
		umount "$MNT" || printf 'cleanup: cannot unmount %s\n' "$MNT"
	fi
	[ -z "$LOOP" ] || ! losetup "$LOOP" >/dev/null 2>&1 || losetup -d "$LOOP" 2>/dev/null
	mountpoint -q "$MNT" || rm -rf "$WORK"
}
trap cap_cleanup EXIT

pre() { # a host that cannot carry the test: SKIP with the reason
	skip "capped volume on Podman over XFS prjquota" "$1"
	finish
	exit $?
}
[ "$(id -u)" -eq 0 ] || pre "needs root (mount, losetup, a Podman service as root)"
command -v mkfs.xfs >/dev/null || pre "no mkfs.xfs (apt-get install xfsprogs; contrib/bootstrap.sh does)"
command -v podman >/dev/null || pre "no podman"
[ -e /dev/loop-control ] && losetup -f >/dev/null 2>&1 || pre "no free loop device"
grep -qw xfs /proc/filesystems || pre "the kernel has no XFS"

truncate -s 320M "$IMG" # mkfs.xfs 6.x wants 300 MB at least; sparse
mkfs.xfs -q -f "$IMG" || pre "mkfs.xfs failed on $IMG"
mkdir -p "$MNT"
if ! mount -o loop,prjquota "$IMG" "$MNT" 2>"$WORK/mount.err"; then
	if mount -o loop "$IMG" "$MNT" 2>/dev/null; then
		umount "$MNT"
		# e.g. a kernel without CONFIG_XFS_QUOTA: "XFS: quota support not
		# available in this kernel"
		why=$(dmesg 2>/dev/null | grep -o 'XFS ([^)]*): quota support not available.*' | tail -n 1)
		pre "XFS mounts, but not with prjquota: ${why:-the kernel refuses it (CONFIG_XFS_QUOTA?)}"
	fi
	pre "cannot mount a loop device: $(tr '\n' ' ' <"$WORK/mount.err")"
fi
ok "loop-backed XFS mounted with prjquota at $MNT"

# the project's Podman settings, with this service's database and volumes
{
	sed -n '/^\[engine\]/q;p' "$ROOT/contrib/podman/containers.conf"
	printf '[engine]\nstatic_dir = "%s/static"\nvolume_path = "%s/volumes"\n' "$WORK" "$MNT"
	sed -n '/^\[engine\]/,$p' "$ROOT/contrib/podman/containers.conf" | sed 1d
} >"$CONF"
# the daemon inherits no descriptor above 2 (a caller's lock, say)
(
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	exec setsid env CONTAINERS_CONF="$CONF" podman system service --time=0 "unix://$PSOCK" \
		</dev/null >"$PLOG" 2>&1
) &
PPID_SVC=$!
for ((i = 0; i < 300; i++)); do engine_up && break; sleep 0.1; done
if ! engine_up; then
	not_ok "private podman service answers on $PSOCK" "$(tail -n 5 "$PLOG")"
	finish
	exit $?
fi
ok "private podman service answers on $PSOCK"
vp=$(CONTAINERS_CONF="$CONF" podman info --format '{{.Store.VolumePath}}' 2>&1)
if [ "$vp" = "$MNT/volumes" ]; then ok "its volume path is on the XFS mount"; else not_ok "its volume path is on the XFS mount" "podman info: $vp"; fi
for img in jobcell-test/root:latest jobcell-test/nonroot:latest; do
	if image_present "$img"; then ok "it sees $img in the shared storage"; else
		not_ok "it sees $img in the shared storage" "missing (run contrib/bootstrap.sh)"; finish; exit $?; fi
done

# ---- a volume-mode site capped at 8 MiB ----
SITE=${S}cap
SITES+=("$SITE")
for v in startup local; do
	engine_json POST /volumes/create "{\"Name\":\"${S}-$v\",\"Labels\":{\"jobcell-test.run\":\"$S\"}}" >/dev/null
done
cat >"$TMP/$SITE.ini" <<EOF
[engine]
endpoint = unix://$SOCK
[site]
name = $SITE
[workspace]
mode = volume
[volume]
startup_volume = ${S}-startup
local_volume = ${S}-local
size = 8m
[job]
image = jobcell-test/root:latest
allow_root = true
EOF
XFER=$TMP/xfer
mkdir -p "$XFER"
cd "$XFER"
nothing_left() { [ "$(count_site "$SITE")" = 0 ] && [ -z "$(site_vols "$SITE")" ]; }

# (a) 16 MiB into the job's directory: the job's own write fails
jc -c "$TMP/$SITE.ini" run big -- dd if=/dev/zero of=fill bs=1048576 count=16
if [ "$RC" != 0 ] && [ "$RC" != 125 ] && printf '%s\n' "$ERR" | grep -qE 'No space left on device|Disk quota exceeded'; then
	ok "a job writing 16 MiB into an 8 MiB volume fails inside (exit $RC, ENOSPC/EDQUOT on its stderr)"
else
	not_ok "a job writing 16 MiB into an 8 MiB volume fails inside" "exit $RC" "stderr: $ERR"
fi
if nothing_left; then ok "the failed job left nothing"; else not_ok "the failed job left nothing" "$(count_site "$SITE") containers, volumes: $(site_vols "$SITE")"; fi

# (b) 4 MiB: runs, and --output brings the 4 MiB back
jc -c "$TMP/$SITE.ini" run small --output out -- sh -c 'head -c 4194304 /dev/zero | tr "\0" s > four'
expect_rc "a job writing 4 MiB into an 8 MiB volume succeeds" 0
if [ -f out/four ] && [ "$(stat -c %s out/four)" = 4194304 ] &&
	cmp -s out/four <(head -c 4194304 /dev/zero | tr '\0' s); then
	ok "--output brings the 4 MiB back, byte for byte"
else
	not_ok "--output brings the 4 MiB back" "$(ls -l out 2>&1)" "stderr: $ERR"
fi

# (c) check's row, from inside
jc -c "$TMP/$SITE.ini" check
if printf '%s\n' "$OUT" | grep -qE "^volume-size-capped +kept +a cap of $CAP bytes"; then
	ok "check reports volume-size-capped kept"
else
	not_ok "check reports volume-size-capped kept" "exit $RC" "$(printf '%s\n' "$OUT" | grep volume-size || printf '%s' "$OUT")" "$ERR"
fi
if nothing_left; then ok "nothing of the site left on the private engine"; else not_ok "nothing of the site left on the private engine" "$(count_site "$SITE") containers, volumes: $(site_vols "$SITE")"; fi
finish
