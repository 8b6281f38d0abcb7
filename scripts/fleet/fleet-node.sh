#!/usr/bin/env bash
# scripts/fleet/fleet-node.sh -- start, stop or kill one Skerry server of a
# fleet made by start-fleet.sh.
#
#   scripts/fleet/fleet-node.sh DIR start I    # (re)start node I with its saved settings; waits for /ready
#   scripts/fleet/fleet-node.sh DIR stop I     # SIGTERM: graceful shutdown (in-flight requests finish)
#   scripts/fleet/fleet-node.sh DIR kill I     # SIGKILL: a crash, nothing finishes
#   scripts/fleet/fleet-node.sh DIR status I   # exit 0 when alive, prints its pid
#
# Node I's settings live in DIR/nodes/I/node.env (written by start-fleet.sh:
# port, admin key, S3 settings); its log in DIR/log/node-I.log (appended
# across restarts), its pid in DIR/run/node-I.pid. A pid is only signalled
# when its command line still names DIR (never a process found by name).
#
# Environment: FLEET_START_TIMEOUT (60) seconds to wait for /ready;
# FLEET_STOP_GRACE (15) seconds between SIGTERM and SIGKILL.
set -euo pipefail

say() { printf '[fleet-node] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

[ $# -eq 3 ] || fail "usage: $0 DIR start|stop|kill|status I"
DIR=$(cd "$1" && pwd) || fail "no fleet directory $1"
ACTION=$2
I=$3
[ -e "$DIR/.skerry-fleet" ] || fail "$DIR was not made by start-fleet.sh"
NODE_ENV="$DIR/nodes/$I/node.env"
[ -f "$NODE_ENV" ] || fail "no node $I in $DIR"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PID_FILE="$DIR/run/node-$I.pid"
LOG="$DIR/log/node-$I.log"
WAIT_SECONDS=${FLEET_START_TIMEOUT:-60}
GRACE=${FLEET_STOP_GRACE:-15}

node_pid() {
  local pid
  [ -s "$PID_FILE" ] || return 1
  pid=$(<"$PID_FILE")
  [ -r "/proc/$pid/environ" ] || return 1
  # Our node: its environment names this fleet directory and node number.
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "SKERRY_FLEET_NODE=$DIR#$I" || return 1
  printf '%s\n' "$pid"
}

port_of() { sed -n 's/^export SKERRY_PORT=//p' "$NODE_ENV"; }

ready() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$(port_of)/ready" 2>/dev/null || true)" = 200 ]; }

start() {
  if pid=$(node_pid); then
    say "node $I already runs (pid $pid)"
    return 0
  fi
  (
    # shellcheck disable=SC1090
    source "$NODE_ENV"
    export SKERRY_FLEET_NODE="$DIR#$I"
    cd "$ROOT/apps/demo"
    # setsid: the node outlives the shell that started it, in a process group of its own.
    exec setsid node --conditions=@skerry/source --import tsx src/server/main.ts </dev/null >>"$LOG" 2>&1
  ) &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + WAIT_SECONDS))
  until ready; do
    node_pid >/dev/null || fail "node $I exited during start; see $LOG: $(tail -n 5 "$LOG")"
    [ "$SECONDS" -lt "$deadline" ] || fail "node $I not ready after ${WAIT_SECONDS}s; see $LOG"
    sleep 0.2
  done
  say "node $I ready on port $(port_of) (pid $(<"$PID_FILE"))"
}

signal_and_wait() {
  local sig=$1 pid
  pid=$(node_pid) || { say "node $I is not running"; return 0; }
  kill "-$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + GRACE))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "node $I still alive after ${GRACE}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  say "node $I stopped ($sig)"
}

case $ACTION in
  start) start ;;
  stop) signal_and_wait TERM ;;
  kill) signal_and_wait KILL ;;
  status) node_pid ;;
  *) fail "unknown action $ACTION (start|stop|kill|status)" ;;
esac
