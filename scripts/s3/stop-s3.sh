#!/usr/bin/env bash
# scripts/s3/stop-s3.sh -- stop the loopback S3 server started by start-s3.sh
# and delete its data.
#
#   scripts/s3/stop-s3.sh [DIR]     # same DIR as start-s3.sh
#
# Safety: it only acts on a DIR that start-s3.sh marked as its own, and only
# signals processes whose pid file is in DIR/run AND whose command line names
# DIR/ceph.conf -- never daemons found by name. The data is memstore (RAM),
# so there is nothing to flush: SIGTERM, a short grace, then SIGKILL.
# Stopping a cluster that is not running (or a DIR that is gone) succeeds.
#
# Environment: S3_STOP_GRACE (2) seconds between SIGTERM and SIGKILL.
set -euo pipefail

say() { printf '[stop-s3] %s\n' "$*" >&2; }

OWNER_MARK=.skerry-s3-cluster
GRACE=${S3_STOP_GRACE:-2}
DIR=${1:-${S3_TEST_DIR:-${TMPDIR:-/tmp}/skerry-s3}}

if [ ! -d "$DIR" ]; then
  say "$DIR does not exist; nothing to stop"
  exit 0
fi
DIR=$(cd "$DIR" && pwd)
if [ ! -e "$DIR/$OWNER_MARK" ]; then
  say "$DIR was not made by start-s3.sh; leaving it alone"
  exit 1
fi

daemon_pid() {
  local file="$DIR/run/$1.pid" pid
  [ -s "$file" ] || return 1
  pid=$(<"$file")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/ceph.conf" || return 1
  printf '%s\n' "$pid"
}

any_alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}

pids=()
for name in client.rgw.a osd.0 mon.a; do
  if pid=$(daemon_pid "$name"); then
    say "stopping $name (pid $pid)"
    pids+=("$pid")
  fi
done

if [ ${#pids[@]} -gt 0 ]; then
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + GRACE))
  while any_alive "${pids[@]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if any_alive "${pids[@]}"; then
    # Expected for radosgw, which takes ~10 s to shut down politely; the
    # data is being discarded anyway.
    say "SIGKILL to what is left after ${GRACE}s"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while any_alive "${pids[@]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    any_alive "${pids[@]}" && say "WARNING: still alive: ${pids[*]}"
  fi
fi

find "$DIR" -mindepth 1 -delete
rmdir "$DIR" 2>/dev/null || true
say "stopped; removed $DIR"
