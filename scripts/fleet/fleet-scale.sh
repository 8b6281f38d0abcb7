#!/usr/bin/env bash
# scripts/fleet/fleet-scale.sh -- add a node to a running fleet, or remove
# one, without restarting HAProxy and without dropping requests
# (docs/fleet.md).
#
#   scripts/fleet/fleet-scale.sh DIR add         # prints `export FLEET_NEW_NODE=I` and `export FLEET_NEW_NODE_URL=...`
#   scripts/fleet/fleet-scale.sh DIR remove I
#
# add: node I = one more than the highest node number the fleet ever had,
# on the first free port after the highest node port, with the settings of
# the fleet's other nodes (their node.env, another port and data
# directory). It is started and waited for on /ready first; then, on every
# running balancer, through HAProxy's runtime API (its stats socket):
# `add server nodes/nodeI 127.0.0.1:PORT id I <the configuration's server
# options>` (HAProxy 2.6 adds servers to a `balance hash` backend with
# `hash-type consistent`; the id places it on the ring exactly where a
# configured `server ... id I` would be), `enable health`, `enable server`.
# Requests in flight are not touched; the namespaces the ring now gives to
# node I go there from their next request.
#
# remove: on every running balancer `disable server nodes/nodeI`
# (maintenance: no new request goes to it; the ring gives its namespaces to
# the others), then wait until no balancer has a request in flight on it
# (`show stat` scur; at most FLEET_DRAIN_TIMEOUT, 70 s, longer than
# HAProxy's `timeout server`), then `del server`, then the node's graceful
# stop (SIGTERM: fleet-node.sh stop). Its node.env becomes
# node.env.removed (its log stays). The fleet's last node is not removed.
#
# Both rewrite every balancer's configuration (fleet-balancer.sh config)
# so a balancer started or restarted later has the same nodes. A balancer
# that is not running only gets the new configuration. Scale operations of
# one fleet are serialized (flock on DIR/run/scale.lock).
set -euo pipefail

say() { printf '[fleet-scale] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

[ $# -ge 2 ] || fail "usage: $0 DIR add | DIR remove I"
DIR=$(cd "$1" && pwd) || fail "no fleet directory $1"
ACTION=$2
[ -e "$DIR/.skerry-fleet" ] || fail "$DIR was not made by start-fleet.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DRAIN=${FLEET_DRAIN_TIMEOUT:-70}

exec 9>"$DIR/run/scale.lock"
flock 9

balancers() { "$HERE/fleet-balancer.sh" "$DIR" list; }
running() { "$HERE/fleet-balancer.sh" "$DIR" status "$1" >/dev/null 2>&1; }
# One runtime API command on balancer B; fails unless the answer is one of the expected ones (an empty answer is HAProxy's "done").
api() {
  local b=$1 command=$2 expect=${3:-} answer
  answer=$("$HERE/fleet-balancer.sh" "$DIR" cmd "$b" "$command") || return 1
  answer=$(printf '%s' "$answer" | tr -d '\r' | sed '/^$/d')
  if [ "$answer" != "$expect" ]; then
    say "balancer $b: '$command' answered: ${answer:-<nothing>}"
    return 1
  fi
}
rewrite_configs() {
  local b
  for b in $(balancers); do "$HERE/fleet-balancer.sh" "$DIR" config "$b"; done
}
# Requests in flight on nodeI through balancer B (show stat: field 5 is scur).
in_flight() {
  "$HERE/fleet-balancer.sh" "$DIR" cmd "$1" "show stat" | awk -F, -v s="node$2" '$1 == "nodes" && $2 == s { print $5 }'
}

add() {
  local max_id=0 max_port=0 template="" d id port
  for d in "$DIR"/nodes/*/; do
    id=$(basename "$d")
    [[ $id =~ ^[0-9]+$ ]] || continue
    [ "$id" -gt "$max_id" ] && max_id=$id
    for f in "$d/node.env" "$d/node.env.removed"; do
      [ -f "$f" ] || continue
      [ -f "$d/node.env" ] && template="$d/node.env"
      port=$(sed -n 's/^export SKERRY_PORT=//p' "$f")
      [ "$port" -gt "$max_port" ] && max_port=$port
    done
  done
  [ -n "$template" ] || fail "the fleet has no running node to copy settings from"
  local i=$((max_id + 1))
  port=$("$ROOT/scripts/s3/free-port.sh" $((max_port + 1)))
  mkdir -p "$DIR/nodes/$i"
  {
    grep -v -e '^export SKERRY_PORT=' -e '^export SKERRY_DATA_DIR=' "$template"
    printf 'export SKERRY_PORT=%s\n' "$port"
    printf 'export SKERRY_DATA_DIR=%q\n' "$DIR/nodes/$i/data"
  } >"$DIR/nodes/$i/node.env"
  chmod 600 "$DIR/nodes/$i/node.env"
  say "starting node $i on port $port"
  # 9>&-: the node must not inherit (and hold forever) the scale lock.
  if ! "$HERE/fleet-node.sh" "$DIR" start "$i" 9>&-; then
    mv -f "$DIR/nodes/$i/node.env" "$DIR/nodes/$i/node.env.removed"
    fail "node $i did not start"
  fi
  local options b
  options=$("$HERE/haproxy.cfg.sh" --server-options)
  for b in $(balancers); do
    if ! running "$b"; then
      say "balancer $b is not running: it gets node $i from its configuration when started"
      continue
    fi
    api "$b" "add server nodes/node$i 127.0.0.1:$port id $i $options" "New server registered." || fail "balancer $b did not add node $i"
    api "$b" "enable health nodes/node$i" || fail "balancer $b did not enable node $i's health checks"
    api "$b" "enable server nodes/node$i" || fail "balancer $b did not enable node $i"
    say "balancer $b routes to node $i"
  done
  rewrite_configs
  printf 'export FLEET_NEW_NODE=%s\nexport FLEET_NEW_NODE_URL=http://127.0.0.1:%s\n' "$i" "$port"
}

remove() {
  local i=$1 b left n deadline
  [[ $i =~ ^[0-9]+$ ]] && [ -f "$DIR/nodes/$i/node.env" ] || fail "no running node $i in $DIR"
  left=0
  for d in "$DIR"/nodes/*/node.env; do [ -f "$d" ] && left=$((left + 1)); done
  [ "$left" -gt 1 ] || fail "node $i is the fleet's last node"
  local live=()
  for b in $(balancers); do
    if running "$b"; then
      api "$b" "disable server nodes/node$i" || fail "balancer $b did not put node $i in maintenance"
      live+=("$b")
    fi
  done
  say "node $i takes no new requests; waiting for its requests in flight (at most ${DRAIN}s)"
  deadline=$((SECONDS + DRAIN))
  for b in "${live[@]}"; do
    while n=$(in_flight "$b" "$i") && [ "${n:-0}" -gt 0 ]; do
      [ "$SECONDS" -lt "$deadline" ] || { say "balancer $b still has $n requests on node $i after ${DRAIN}s; removing it anyway"; break; }
      sleep 0.2
    done
  done
  for b in "${live[@]}"; do
    # Refused while HAProxy still holds a connection to the server: retried for a while.
    deadline=$((SECONDS + 15))
    until api "$b" "del server nodes/node$i" "Server deleted."; do
      [ "$SECONDS" -lt "$deadline" ] || fail "balancer $b did not delete node $i (it stays in maintenance there)"
      sleep 0.5
    done
  done
  # The node itself: nothing routes to it any more (graceful: anything still in flight finishes).
  "$HERE/fleet-node.sh" "$DIR" stop "$i" || true
  mv -f "$DIR/nodes/$i/node.env" "$DIR/nodes/$i/node.env.removed"
  rewrite_configs
  say "node $i removed"
}

case $ACTION in
  add) [ $# -eq 2 ] || fail "usage: $0 DIR add"; add ;;
  remove) [ $# -eq 3 ] || fail "usage: $0 DIR remove I"; remove "$3" ;;
  *) fail "unknown action $ACTION (add|remove)" ;;
esac
