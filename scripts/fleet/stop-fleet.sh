#!/usr/bin/env bash
# scripts/fleet/stop-fleet.sh -- stops a fleet started by start-fleet.sh:
# every HAProxy, every node (SIGTERM: graceful, then SIGKILL after
# FLEET_STOP_GRACE seconds), and the S3 server start-fleet.sh started itself
# (never one it was given). Deletes DIR unless FLEET_KEEP_LOGS=1 (then DIR/log
# stays). The data the nodes wrote to a given bucket stays there.
#
#   scripts/fleet/stop-fleet.sh [DIR]     # same DIR as start-fleet.sh
#
# Only processes whose pid file is in DIR and that belong to DIR are
# signalled (never found by name). Stopping a stopped fleet succeeds.
set -euo pipefail

say() { printf '[stop-fleet] %s\n' "$*" >&2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-${FLEET_DIR:-${TMPDIR:-/tmp}/skerry-fleet}}

if [ ! -d "$DIR" ]; then
  say "$DIR does not exist; nothing to stop"
  exit 0
fi
DIR=$(cd "$DIR" && pwd)
if [ ! -e "$DIR/.skerry-fleet" ]; then
  say "$DIR was not made by start-fleet.sh; leaving it alone"
  exit 1
fi

# The balancers first: no new requests reach the nodes.
if [ -d "$DIR/balancers" ]; then
  for b in $("$HERE/fleet-balancer.sh" "$DIR" list); do
    "$HERE/fleet-balancer.sh" "$DIR" kill "$b" || true
  done
fi

if [ -d "$DIR/nodes" ]; then
  pids=()
  for node in "$DIR"/nodes/*/; do
    [ -f "$node/node.env" ] || continue
    i=$(basename "$node")
    # In parallel: each graceful shutdown takes up to a few seconds.
    "$HERE/fleet-node.sh" "$DIR" stop "$i" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
fi

if [ -e "$DIR/.own-s3" ]; then
  "$ROOT/scripts/s3/stop-s3.sh" "$DIR/s3" || say "WARNING: stop-s3.sh failed"
fi

if [ "${FLEET_KEEP_LOGS:-0}" = 1 ]; then
  find "$DIR" -mindepth 1 -maxdepth 1 ! -name log -exec rm -rf {} +
  say "stopped; logs kept in $DIR/log"
else
  rm -rf "$DIR"
  say "stopped; removed $DIR"
fi
