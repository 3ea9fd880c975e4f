#!/usr/bin/env bash
# Bring a Debian 12 machine to the point where jobcell builds and its tests
# run against a real engine.  Idempotent: each step checks before it acts.
#  1. install the Debian packages that are missing (xfsprogs: volcap.sh
#     makes a loop-backed XFS for a Podman that can hold [volume] size;
#     openssh-server: ssh.sh starts an sshd of its own, and the one the
#     package may start is stopped at once, by its pid)
#  2. start a Docker engine when none answers on the socket
#     (dockerd --bridge=none --iptables=false: no container gets an address)
#  3. build the local test images with `docker import` from a busybox-static
#     root: nothing is ever pulled
#  4. the same for Podman: `podman system service` on its own socket, with
#     contrib/podman/containers.conf, and the same images imported
#  5. a virtual environment with the pinned nvflare package from PyPI, for
#     make nvflare (contrib/python/jobcell/nvflare.py's tests)
# slurm.sh starts its own munged, slurmctld and slurmd (Debian's slurm-wlm
# 22.05): when this run installs them, the services the packages enable are
# disabled, and a daemon their install started is stopped by its pid.
# An engine that cannot be started is reported; the tests then SKIP, or fail
# under JOBCELL_REQUIRE_ENGINE=1.
set -euo pipefail

SOCK=${JOBCELL_TEST_SOCKET:-/var/run/docker.sock}
LOG=${JOBCELL_DOCKERD_LOG:-/var/log/jobcell-dockerd.log}
PKGS=(build-essential pkg-config curl libcurl4-openssl-dev libcjson-dev libinih-dev
	libcmocka-dev libarchive-dev libmicrohttpd-dev docker.io busybox-static man-db podman
	time python3-docker valgrind xfsprogs openssh-client openssh-server libssl-dev
	libgnutls28-dev python3-venv python3-setuptools python3-wheel
	munge slurmctld slurmd slurm-client)
# make node: any Node.js with `node --test` will do (Debian's 18 or a newer
# one already on PATH); Debian's is installed only when none is there
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
PODMAN_SOCK=${JOBCELL_PODMAN_SOCKET:-/run/jobcell-podman.sock}
PODMAN_LOG=${JOBCELL_PODMAN_LOG:-/var/log/jobcell-podman.log}
export CONTAINERS_CONF=$(cd "$(dirname "$0")" && pwd)/podman/containers.conf
# make nvflare: NVFlare's launcher API as jobcell.nvflare is written against
# it (nvflare/apis/job_launcher_spec.py of 2.9.0)
NVFLARE_VERSION=2.9.0
NVFLARE_VENV=${JOBCELL_NVFLARE_VENV:-/opt/jobcell-nvflare-venv}
IMAGES=(jobcell-test/root:latest jobcell-test/nonroot:latest)
# bump when the recipe below changes: images with another stamp are rebuilt
RECIPE=3

say() { printf 'bootstrap: %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		say "need root for: $*"; return 1; fi
}

install_packages() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# stop_package_sshd BEFORE: the package's postinst starts sshd on port 22
# where no policy-rc.d forbids it; the tests never want it.  Only an sshd
# whose pid file appeared with this install (BEFORE: the pid file's content
# before it; called only when sshd was not installed) is stopped.
stop_package_sshd() {
	local pid
	pid=$(cat /run/sshd.pid 2>/dev/null || true)
	[ -n "$pid" ] && [ "$pid" != "$1" ] || return 0
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ] || return 0
	say "stopping the sshd that installing openssh-server started (pid $pid)"
	as_root kill "$pid"
}

# quiet_slurm_services: called only when this run installed them, so that
# a machine's own Slurm is never touched: munge, slurmd and slurmctld are
# not to start at boot (tests/integration/slurm.sh runs its own, by pid),
# and a daemon the install started is stopped, known by its pid file and
# its name.
quiet_slurm_services() {
	local svc pidf pid name
	for svc in munge:/run/munge/munged.pid:munged slurmd:/run/slurmd.pid:slurmd \
		slurmctld:/run/slurmctld.pid:slurmctld; do
		IFS=: read -r svc pidf name <<<"$svc"
		[ -e "/etc/init.d/$svc" ] || [ -e "/lib/systemd/system/$svc.service" ] || continue
		if command -v systemctl >/dev/null && systemctl -q is-enabled "$svc" 2>/dev/null; then
			say "disabling the $svc service"
			as_root systemctl -q disable "$svc" >/dev/null 2>&1 || true
		fi
		pid=$(cat "$pidf" 2>/dev/null || true)
		[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || continue
		say "stopping the $name the package started (pid $pid)"
		as_root kill "$pid"
	done
}

engine_answers() {
	curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
}

start_engine() {
	engine_answers && return 0
	if [ "$SOCK" != /var/run/docker.sock ]; then
		say "no engine answers on $SOCK, and only the default socket is started here"
		return 1
	fi
	command -v dockerd >/dev/null || { say "dockerd is not installed"; return 1; }
	say "starting dockerd (log: $LOG)"
	# setsid: the engine outlives this script and the make that ran it; from
	# /, so that nothing an engine writes by a relative path lands in the tree
	(cd / && as_root setsid dockerd --bridge=none --iptables=false --ip6tables=false) \
		>>"$LOG" 2>&1 </dev/null &
	await engine_answers 60 "$LOG" engine
}

# await CHECK SECONDS LOG WHAT: poll CHECK once a second until it succeeds
await() {
	for _ in $(seq 1 "$2"); do
		"$1" && { say "$4 is up"; return 0; }
		sleep 1
	done
	say "$4 did not answer within $2 s; last lines of $3:"
	tail -n 5 "$3" 2>/dev/null || true
	return 1
}

# build_images CLI: import both images with CLI (docker or podman) unless
# they are there with this recipe's stamp
build_images() {
	local cli=$1 missing=0 root q=()
	[ "$cli" = podman ] && q=(-q) # podman reports progress on stderr
	for img in "${IMAGES[@]}"; do
		[ "$("$cli" image inspect -f '{{index .Config.Labels "jobcell.recipe"}}' "$img" \
			2>/dev/null)" = "$RECIPE" ] || missing=1
	done
	[ "$missing" -eq 0 ] && return 0
	root=$(mktemp -d)
	"$(dirname "$0")/make-root.sh" "$root"
	say "importing ${IMAGES[*]} into $cli"
	tar -C "$root" -c . | "$cli" import "${q[@]}" -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' \
		-c "LABEL jobcell.recipe=$RECIPE" - jobcell-test/root:latest >/dev/null
	tar -C "$root" -c . | "$cli" import "${q[@]}" -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' \
		-c 'USER 65532:65532' -c "LABEL jobcell.recipe=$RECIPE" - jobcell-test/nonroot:latest \
		>/dev/null
	rm -rf "$root"
}

podman_answers() {
	curl -fsS --max-time 3 --unix-socket "$PODMAN_SOCK" http://localhost/_ping >/dev/null 2>&1
}

start_podman() {
	podman_answers && return 0
	command -v podman >/dev/null || { say "podman is not installed"; return 1; }
	say "starting podman system service on $PODMAN_SOCK (log: $PODMAN_LOG)"
	rm -f "$PODMAN_SOCK"
	# from /: Podman 4.3's conmon writes its `oom` marker relative to the
	# service's directory when a parent cgroup's limit kills a container
	(cd / && as_root setsid env CONTAINERS_CONF="$CONTAINERS_CONF" podman system service \
		--time=0 "unix://$PODMAN_SOCK") >>"$PODMAN_LOG" 2>&1 </dev/null &
	await podman_answers 30 "$PODMAN_LOG" podman
}

# nvflare_venv: the venv with nvflare==NVFLARE_VERSION, made with Debian's
# python3 (python3-venv); nothing is done when that version is there
nvflare_venv() {
	local py=$NVFLARE_VENV/bin/python
	[ -x "$py" ] && [ "$("$py" -c 'import importlib.metadata as m; print(m.version("nvflare"))' \
		2>/dev/null)" = "$NVFLARE_VERSION" ] && return 0
	say "installing nvflare==$NVFLARE_VERSION into $NVFLARE_VENV"
	[ -x "$py" ] || as_root /usr/bin/python3 -m venv "$NVFLARE_VENV" || return 1
	as_root "$py" -m pip install -q --disable-pip-version-check "nvflare==$NVFLARE_VERSION"
}

sshd_before=$(cat /run/sshd.pid 2>/dev/null || true)
sshd_new=0
[ -x /usr/sbin/sshd ] || sshd_new=1
slurm_new=0
dpkg-query -W -f='${Status}' munge slurmd slurmctld 2>/dev/null | grep -q '^install ok installed\(install ok installed\)\{2\}$' ||
	slurm_new=1
install_packages
[ "$sshd_new" = 0 ] || stop_package_sshd "$sshd_before"
[ "$slurm_new" = 0 ] || quiet_slurm_services
status=0
if start_engine; then
	build_images docker
else
	say "no engine: real-engine tests will SKIP (or fail under JOBCELL_REQUIRE_ENGINE=1)"
	status=1
fi
if start_podman; then
	build_images podman
else
	say "no podman: its tests will SKIP (or fail under JOBCELL_REQUIRE_ENGINE=1)"
	status=1
fi
if ! nvflare_venv; then
	say "no nvflare $NVFLARE_VERSION in $NVFLARE_VENV: make nvflare will SKIP (or fail under JOBCELL_REQUIRE_ENGINE=1)"
	status=1
fi
[ "${JOBCELL_REQUIRE_ENGINE:-0}" = 1 ] && exit $status
exit 0
