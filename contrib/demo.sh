#!/usr/bin/env bash
# make demo: an example site with two jobs; run one and show what it can
# and cannot see.  The site lives in a fresh directory under /tmp: jobcell
# refuses a workspace with a parent that another user could rename entries
# in, which a clone in someone's home directory may have.
set -euo pipefail
cd "$(dirname "$0")/.."
JC=${JOBCELL_BIN:-$PWD/build/jobcell}
D=$(mktemp -d /tmp/jobcell-demo.XXXXXX)
WS=$D/workspace
mkdir -p "$WS/startup" "$WS/local" "$WS/job-other"
chmod 0755 "$D" "$WS"
echo '{"server": "fl.example"}' >"$WS/startup/fed_client.json"
echo '{"gpus": 0}' >"$WS/local/resources.json"
echo 'the other tenant'"'"'s model' >"$WS/job-other/model.bin"
sed "s#^path = .*#path = $WS#" config/examples/demo.ini >"$D/demo.ini"

echo "== site workspace on the host: $WS"
(cd "$WS" && find . -mindepth 1 | sort | sed 's/^/   /')
echo
echo "== jobcell -c $D/demo.ini run --job job-1 -- sh -c '...'"
set +e
"$JC" -c "$D/demo.ini" run --job job-1 -- sh -c '
say() { printf "   %-44s %s\n" "$1" "$2"; }
try() { if eval "$2" >/dev/null 2>&1; then say "$1" yes; else say "$1" no; fi; }
say "running as" "$(id -u):$(id -g)"
say "working directory" "$(pwd)"
say "what /workspace holds" "$(ls -A /workspace | tr "\n" " ")"
try "read startup/fed_client.json" "cat /workspace/startup/fed_client.json"
try "write startup/" "touch /workspace/startup/x"
try "write local/" "touch /workspace/local/x"
try "create a file in the workspace root" "touch /workspace/x"
try "see the sibling job-other" "ls /workspace/job-other"
try "write its own job directory" "echo result > output.txt"
try "reach the engine socket" "ls /var/run/docker.sock"
try "write the image root filesystem" "touch /etc/x"
say "network interfaces" "$(ls /sys/class/net | tr "\n" " ")"
exit 0'
rc=$?
set -e
echo "   (exit status $rc)"
echo
echo "== afterwards on the host: $WS/job-1"
ls -la "$WS/job-1" | sed 's/^/   /'
echo
echo "== the exact engine request: jobcell -c $D/demo.ini plan job-1"
"$JC" -c "$D/demo.ini" plan job-1 | sed 's/^/   /'

echo
echo "== volume mode: the job's directory is its own named volume; files go in and out"
echo "   through the engine (config/examples/demo-volume.ini)"
T=$D/transfer
mkdir -p "$T"
printf 'x,y\n1,2\n3,4\n' >"$T/data.csv"
sed "s#^transfer_dir = .*#transfer_dir = $T#" config/examples/demo-volume.ini >"$D/demo-volume.ini"
for v in jobcell-demo-startup jobcell-demo-local; do
	curl -fsS --unix-socket /var/run/docker.sock -X POST -H 'Content-Type: application/json' \
		-d "{\"Name\":\"$v\"}" http://localhost/volumes/create >/dev/null
done
echo "== jobcell -c $D/demo-volume.ini run --job job-1 --input data.csv --output results -- sh -c '...'"
set +e
"$JC" -c "$D/demo-volume.ini" run --job job-1 --input data.csv --output results -- sh -c '
printf "   %-44s %s\n" "working directory" "$(pwd)" "owner of ." "$(stat -c %u:%g .)" \
	"what /workspace holds" "$(ls -A /workspace | tr "\n" " ")" \
	"sum of column y in data.csv" "$(awk -F, "NR > 1 { s += \$2 } END { print s }" data.csv)"
awk -F, "NR > 1 { s += \$2 } END { print s }" data.csv >sum.txt'
rc=$?
set -e
echo "   (exit status $rc)"
echo "== afterwards on the host: $T/results"
(cd "$T/results" && for f in *; do printf '   %-12s %s\n' "$f" "$(tr '\n' ' ' <"$f")"; done)
echo "== volumes the site still has (jobcell volume ls): none, the job's was removed"
"$JC" -c "$D/demo-volume.ini" volume ls | sed 's/^/   /'
for v in jobcell-demo-startup jobcell-demo-local; do
	curl -fsS --unix-socket /var/run/docker.sock -X DELETE "http://localhost/volumes/$v" >/dev/null
done

echo
echo "== jobcell -c $D/demo.ini check: every promise, observed from inside a probe job"
"$JC" -c "$D/demo.ini" check | sed 's/^/   /'
