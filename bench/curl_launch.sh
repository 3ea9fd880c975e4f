#!/usr/bin/env bash
# The floor of a launch: the Engine API calls jobcell makes for `run`, made
# bare with curl, in jobcell's order: create, wait (registered before the
# start: Docker sends the wait's headers once it is), start, logs (followed
# to the end), inspect, delete.  Three curl processes: create; the wait;
# start, logs, inspect and delete on one connection.
# Usage: bench/curl_launch.sh SOCKET CREATE_BODY_FILE NAME
set -euo pipefail
SOCK=$1 BODY=$2 NAME=$3
API=http://localhost/v1.41
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
c() { curl -sS --fail --max-time 60 --unix-socket "$SOCK" "$@"; }

out=$(c -X POST -H 'Content-Type: application/json' --data-binary @"$BODY" \
	"$API/containers/create?name=$NAME")
[[ $out =~ \"Id\":\"([0-9a-f]+)\" ]] || { echo "create: $out" >&2; exit 1; }
id=${BASH_REMATCH[1]}

mkfifo "$DIR/headers"
c -X POST -D "$DIR/headers" -o "$DIR/wait" "$API/containers/$id/wait?condition=next-exit" &
waiter=$!
# the header block ends with an empty line: the wait is registered
while IFS= read -r line && [ "$line" != $'\r' ]; do :; done <"$DIR/headers"

c -o /dev/null -X POST "$API/containers/$id/start" \
	--next -sS --fail --max-time 60 --unix-socket "$SOCK" -o "$DIR/logs" \
	"$API/containers/$id/logs?follow=1&stdout=1&stderr=1" \
	--next -sS --fail --max-time 60 --unix-socket "$SOCK" -o /dev/null "$API/containers/$id/json" \
	--next -sS --fail --max-time 60 --unix-socket "$SOCK" -o /dev/null -X DELETE \
	"$API/containers/$id?force=1&v=1"
wait "$waiter"
grep -q '"StatusCode":0' "$DIR/wait" || { echo "wait: $(cat "$DIR/wait")" >&2; exit 1; }
