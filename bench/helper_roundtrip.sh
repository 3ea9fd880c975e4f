#!/usr/bin/env bash
# One volume round trip the way it is done without jobcell, with helper
# containers and the docker CLI: make a volume, copy each input in with its
# own `docker run` through a read-only bind of the host file, a `chmod` run,
# the job run (the isolated layout: read-only tmpfs root, the site volumes
# read-only, the volume as the working directory), one `docker run` that
# reads the output back, remove the volume.
# Usage: bench/helper_roundtrip.sh DOCKER IMAGE SITE STARTUP_VOL LOCAL_VOL SRC_DIR OUT_FILE FILE...
#   (DOCKER_HOST picks the engine; every object is labelled jobcell-bench=SITE)
set -euo pipefail
DOCKER=$1 IMAGE=$2 SITE=$3 STARTUP=$4 LOCAL=$5 SRC=$6 OUT=$7
shift 7
vol=$("$DOCKER" volume create --label "jobcell-bench=$SITE")
trap '"$DOCKER" volume rm -f "$vol" >/dev/null 2>&1 || true' EXIT
helper=(run --rm --network none --user 0:0 --label "jobcell-bench=$SITE")

for f in "$@"; do
	"$DOCKER" "${helper[@]}" -v "$vol:/v" --mount "type=bind,src=$SRC/$f,dst=/in/$f,readonly" \
		"$IMAGE" cp "/in/$f" "/v/$f"
done
"$DOCKER" "${helper[@]}" -v "$vol:/v" "$IMAGE" chmod -R u=rwX,go=rX /v
"$DOCKER" "${helper[@]}" --workdir /workspace/rt --read-only --cap-drop ALL \
	--security-opt no-new-privileges --pids-limit 512 --tmpfs /workspace:ro,mode=0555,size=1m \
	--mount "type=volume,src=$STARTUP,dst=/workspace/startup,readonly,volume-nocopy" \
	--mount "type=volume,src=$LOCAL,dst=/workspace/local,readonly,volume-nocopy" \
	--mount "type=volume,src=$vol,dst=/workspace/rt,volume-nocopy" \
	--mount type=tmpfs,dst=/tmp,tmpfs-size=67108864,tmpfs-mode=1777 \
	"$IMAGE" sh -c "cat $* > result.txt"
"$DOCKER" "${helper[@]}" -v "$vol:/v:ro" "$IMAGE" cat /v/result.txt >"$OUT"
"$DOCKER" volume rm "$vol" >/dev/null
trap - EXIT
