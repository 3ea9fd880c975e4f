#!/usr/bin/env bash
# The engine calls of one command, as strace sees them on the wire: each
# request line jobcell (libcurl) sends and the first line of its answer.
#   bench/calls.sh OUT CMD...
# Runs CMD once under `strace -f` (sends and receives only), then prints one
# line per call: when it was sent (ms after the first), how long until the
# answer's status line (ms), the status, the method and the path, with
# container ids and volume names shortened; and a last line with the count.
# The raw trace stays in OUT.raw.  Exit status: CMD's.
set -uo pipefail
out=$1
shift
strace -f -tt -qq -e trace=sendto,recvfrom,read,write -e signal=none -s 200 -o "$out.raw" "$@"
rc=$?
# a request is a send that starts with a method; its answer, the next
# receive on the same pid and descriptor that starts with HTTP/1.
awk '
function secs(t,  a) { split(t, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
BEGIN { for (i = 0; i < 64; i++) id = id "[0-9a-f]" } # mawk has no {64}
{
	pid = $1; t = secs($2)
	if (!match($3, /^(sendto|write|recvfrom|read)\([0-9]+,/)) next
	call = substr($3, 1, index($3, "(") - 1)
	fd = substr($3, index($3, "(") + 1); fd = substr(fd, 1, index(fd, ",") - 1)
	data = $0; sub(/^[^"]*"/, "", data)
	key = pid "/" fd
	if ((call == "sendto" || call == "write") &&
	    match(data, /^(GET|POST|PUT|DELETE|HEAD) [^ ]+ HTTP\/1\.1/)) {
		split(data, w, " ")
		path = w[2]
		sub(/^\/v1\.[0-9]+/, "", path)
		gsub(id, "ID", path)
		gsub(/tenant-[A-Za-z0-9_.-]+-run-[A-Za-z0-9_.-]+-[0-9]+-[0-9a-f]+/, "VOLUME", path)
		sub(/\?.*/, "", path)
		if (t0 == "") t0 = t
		sent[key] = t; what[key] = w[1] " " path
	} else if ((call == "recvfrom" || call == "read") && (key in sent) &&
		   data ~ /^HTTP\/1\.[01] [0-9][0-9][0-9]/) {
		n++
		row[n] = sprintf("%8.1f ms %7.1f ms  %s  %s", (sent[key] - t0) * 1000,
				 (t - sent[key]) * 1000, substr(data, 10, 3), what[key])
		start[n] = sent[key]
		delete sent[key]
	}
}
END {
	# in the order they were sent
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (start[j] < start[i]) {
				x = start[i]; start[i] = start[j]; start[j] = x
				x = row[i]; row[i] = row[j]; row[j] = x
			}
	printf "    sent at   answer  st  call\n"
	for (i = 1; i <= n; i++) print row[i]
	printf "%d engine calls\n", n
}' "$out.raw"
exit "$rc"
