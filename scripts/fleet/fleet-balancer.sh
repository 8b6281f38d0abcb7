#!/usr/bin/env bash
# scripts/fleet/fleet-balancer.sh -- one HAProxy of a fleet made by
# start-fleet.sh (a fleet may run several: FLEET_BALANCERS, docs/fleet.md).
#
#   scripts/fleet/fleet-balancer.sh DIR start B    # write its configuration from the fleet's nodes, start it, wait for /ready through it
#   scripts/fleet/fleet-balancer.sh DIR stop B     # SIGUSR1: soft stop (stops listening, lets requests in flight finish), SIGKILL after FLEET_STOP_GRACE
#   scripts/fleet/fleet-balancer.sh DIR kill B     # SIGKILL: a crash
#   scripts/fleet/fleet-balancer.sh DIR status B   # exit 0 when alive, prints its pid
#   scripts/fleet/fleet-balancer.sh DIR config B   # rewrite its configuration from the fleet's current nodes (checked with haproxy -c)
#   scripts/fleet/fleet-balancer.sh DIR cmd B 'COMMAND'   # one runtime API command (haproxy-cmd.mjs); prints the answer
#   scripts/fleet/fleet-balancer.sh DIR list       # the balancers' numbers
#
# Balancer B: port in DIR/balancers/B/port, configuration
# DIR/balancers/B/haproxy.cfg, runtime API socket DIR/run/haproxy-B.sock,
# pid DIR/run/haproxy-B.pid, log DIR/log/haproxy-B.log. Every balancer gets
# the same nodes with the same server ids, so they route every namespace to
# the same node. The fleet's nodes: every DIR/nodes/I/node.env (a removed
# node's is renamed node.env.removed). A pid is only signalled when its
# command line names this balancer's configuration file.
set -euo pipefail

say() { printf '[fleet-balancer] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

[ $# -ge 2 ] || fail "usage: $0 DIR start|stop|kill|status|config|cmd B | DIR list"
DIR=$(cd "$1" && pwd) || fail "no fleet directory $1"
ACTION=$2
[ -e "$DIR/.skerry-fleet" ] || fail "$DIR was not made by start-fleet.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "$ACTION" = list ]; then
  for b in "$DIR"/balancers/*/; do [ -f "$b/port" ] && basename "$b"; done | sort -n
  exit 0
fi
[ $# -ge 3 ] || fail "usage: $0 DIR $ACTION B"
B=$3
[ -f "$DIR/balancers/$B/port" ] || fail "no balancer $B in $DIR"
PORT=$(<"$DIR/balancers/$B/port")
CFG="$DIR/balancers/$B/haproxy.cfg"
SOCKET="$DIR/run/haproxy-$B.sock"
PID_FILE="$DIR/run/haproxy-$B.pid"
LOG="$DIR/log/haproxy-$B.log"
GRACE=${FLEET_STOP_GRACE:-15}

# ID:PORT of every node of the fleet, by id.
nodes() {
  local env id port
  for env in "$DIR"/nodes/*/node.env; do
    [ -f "$env" ] || continue
    id=$(basename "$(dirname "$env")")
    port=$(sed -n 's/^export SKERRY_PORT=//p' "$env")
    printf '%s:%s\n' "$id" "$port"
  done | sort -n
}

haproxy_pid() {
  local pid
  [ -s "$PID_FILE" ] || return 1
  pid=$(head -n 1 "$PID_FILE")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$CFG" || return 1
  printf '%s\n' "$pid"
}

write_config() {
  local list
  mapfile -t list < <(nodes)
  [ ${#list[@]} -gt 0 ] || fail "the fleet has no nodes"
  "$HERE/haproxy.cfg.sh" "$SOCKET" "$PORT" "${list[@]}" >"$CFG.new"
  haproxy -c -q -f "$CFG.new" >&2 || fail "haproxy rejected $CFG.new"
  mv -f "$CFG.new" "$CFG"
}

case $ACTION in
  start)
    if pid=$(haproxy_pid); then
      say "balancer $B already runs (pid $pid)"
      exit 0
    fi
    write_config
    haproxy -D -f "$CFG" -p "$PID_FILE" </dev/null >>"$LOG" 2>&1 || fail "haproxy did not start; see $LOG"
    deadline=$((SECONDS + 30))
    until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/ready" 2>/dev/null || true)" = 200 ]; do
      [ "$SECONDS" -lt "$deadline" ] || fail "balancer $B on port $PORT does not answer /ready"
      sleep 0.2
    done
    say "balancer $B ready on port $PORT (pid $(haproxy_pid))"
    ;;
  stop | kill)
    pid=$(haproxy_pid) || { say "balancer $B is not running"; rm -f "$PID_FILE"; exit 0; }
    if [ "$ACTION" = stop ]; then kill -USR1 "$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
    deadline=$((SECONDS + GRACE))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$PID_FILE" "$SOCKET"
    say "balancer $B stopped ($ACTION)"
    ;;
  status) haproxy_pid ;;
  config) write_config ;;
  cmd)
    [ $# -eq 4 ] || fail "usage: $0 DIR cmd B 'COMMAND'"
    haproxy_pid >/dev/null || fail "balancer $B is not running"
    node "$HERE/haproxy-cmd.mjs" "$SOCKET" "$4"
    ;;
  *) fail "unknown action $ACTION (start|stop|kill|status|config|cmd|list)" ;;
esac
