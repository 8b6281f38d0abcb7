#!/usr/bin/env bash
# scripts/fleet/start-fleet.sh -- N Skerry servers on one S3 bucket behind
# HAProxy, on loopback, in one command (docs/fleet.md).
#
#   eval "$(scripts/fleet/start-fleet.sh [DIR])"   # DIR: ${FLEET_DIR:-${TMPDIR:-/tmp}/skerry-fleet}
#   curl -H "Authorization: Bearer $FLEET_ADMIN_KEY" "$FLEET_URL/v1/stats"
#   scripts/fleet/stop-fleet.sh [DIR]
#
# What it runs:
# - S3: the one S3_ENDPOINT / S3_BUCKET in the environment (e.g. after
#   `eval "$(scripts/s3/start-s3.sh)"`); when S3_BUCKET is unset, a loopback
#   Ceph RGW of its own in DIR/s3 (scripts/s3/start-s3.sh), stopped again by
#   stop-fleet.sh. Every node uses the same bucket and S3_PREFIX.
# - N nodes (scripts/fleet/fleet-node.sh): `apps/demo` servers on
#   127.0.0.1, one port each, one shared admin key, no sample dataset.
# - HAProxy (Debian's `haproxy`, installed with apt-get when missing: root
#   only) on FLEET_PORT, routing each request by its namespace with
#   consistent hashing (scripts/fleet/haproxy.cfg.sh), health-checking
#   GET /ready, failing over to the next node when one goes down; with
#   FLEET_BALANCERS=2 (or more) a second HAProxy on its own port with the
#   same nodes and ring (scripts/fleet/fleet-balancer.sh). Nodes are added
#   and removed while it runs with scripts/fleet/fleet-scale.sh.
#
# Contract (like start-s3.sh): stdout carries nothing but `export NAME=value`
# lines (also written to DIR/fleet.env); progress goes to stderr. A failed
# start stops what it started (logs stay in DIR/log) and exits non-zero.
#
# Environment knobs:
#   FLEET_NODES (3)            number of Skerry servers
#   FLEET_PORT (first free from 7800)   the (first) balancer's port on 127.0.0.1
#   FLEET_BALANCERS (1)        number of HAProxy instances (the others on the first free ports after the nodes')
#   FLEET_NODE_PORT (first free from FLEET_PORT+1)   first node port (the others follow)
#   SKERRY_ADMIN_KEY           the admin key of every node (default: generated)
#   S3_PREFIX                  key prefix in the bucket (default: fleet-<random>)
#   Any other SKERRY_* setting (apps/demo/src/config.ts) is passed to every node.
set -euo pipefail

say() { printf '[start-fleet] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NODES=${FLEET_NODES:-3}
[[ $NODES =~ ^[1-9][0-9]?$ ]] || fail "FLEET_NODES must be 1..99, got '$NODES'"
BALANCERS=${FLEET_BALANCERS:-1}
[[ $BALANCERS =~ ^[1-9]$ ]] || fail "FLEET_BALANCERS must be 1..9, got '$BALANCERS'"
STARTED_AT=$(date +%s%N)
took() { echo "$(( ($(date +%s%N) - STARTED_AT) / 1000000 )) ms"; }

DIR=${1:-${FLEET_DIR:-${TMPDIR:-/tmp}/skerry-fleet}}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
case $DIR in *[[:space:]]*) fail "DIR must not contain whitespace: '$DIR'" ;; esac
if [ -n "$(ls -A "$DIR")" ]; then
  [ -e "$DIR/.skerry-fleet" ] || fail "$DIR is not empty and not made by this script; refusing to touch it"
  say "found an earlier fleet in $DIR; stopping it first"
  "$HERE/stop-fleet.sh" "$DIR" >&2
  mkdir -p "$DIR"
fi
touch "$DIR/.skerry-fleet"
mkdir -p "$DIR"/{run,log,nodes,balancers}

on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "start failed (status $status); stopping what was started; logs kept in $DIR/log"
    FLEET_KEEP_LOGS=1 "$HERE/stop-fleet.sh" "$DIR" >&2 || true
  fi
}
trap on_exit EXIT

# ------------------------------------------------------------------ haproxy
"$HERE/install-haproxy.sh"

# ------------------------------------------------------------------ S3
if [ -z "${S3_BUCKET:-}" ]; then
  say "S3_BUCKET unset: starting a loopback S3 server of our own in $DIR/s3"
  export S3_PORT=${S3_PORT:-$("$ROOT/scripts/s3/free-port.sh" 7480)}
  export S3_MON_PORT=${S3_MON_PORT:-$("$ROOT/scripts/s3/free-port.sh" 43300)}
  eval "$("$ROOT/scripts/s3/start-s3.sh" "$DIR/s3" </dev/null)"
  touch "$DIR/.own-s3"
fi
export S3_PREFIX=${S3_PREFIX:-fleet-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')}

# ------------------------------------------------------------------ ports, key
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BALANCER_PORT=${FLEET_PORT:-$("$ROOT/scripts/s3/free-port.sh" 7800)}
port_taken "$BALANCER_PORT" && fail "127.0.0.1:$BALANCER_PORT is in use (choose another FLEET_PORT)"
ADMIN_KEY=${SKERRY_ADMIN_KEY:-sk_fleet_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
[ ${#ADMIN_KEY} -ge 16 ] || fail "SKERRY_ADMIN_KEY must be at least 16 characters"

NODE_PORTS=()
next=${FLEET_NODE_PORT:-$((BALANCER_PORT + 1))}
for ((i = 1; i <= NODES; i++)); do
  next=$("$ROOT/scripts/s3/free-port.sh" "$next")
  NODE_PORTS+=("$next")
  next=$((next + 1))
done
BALANCER_PORTS=("$BALANCER_PORT")
for ((b = 2; b <= BALANCERS; b++)); do
  next=$("$ROOT/scripts/s3/free-port.sh" "$next")
  BALANCER_PORTS+=("$next")
  next=$((next + 1))
done

# ------------------------------------------------------------------ nodes
q() { printf '%q' "$1"; }
for ((i = 1; i <= NODES; i++)); do
  mkdir -p "$DIR/nodes/$i"
  {
    # Every SKERRY_* setting of the caller, then the node's own.
    while IFS='=' read -r name _; do
      case $name in SKERRY_PORT | SKERRY_ADMIN_KEY | SKERRY_DATA_DIR | SKERRY_SAMPLE | SKERRY_FLEET_NODE) continue ;; esac
      printf 'export %s=%s\n' "$name" "$(q "${!name}")"
    done < <(env | grep -E '^SKERRY_[A-Z0-9_]+=' || true)
    for name in S3_ENDPOINT S3_BUCKET S3_PREFIX S3_FORCE_PATH_STYLE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION \
      AWS_REQUEST_CHECKSUM_CALCULATION AWS_RESPONSE_CHECKSUM_VALIDATION AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED; do
      [ -n "${!name:-}" ] && printf 'export %s=%s\n' "$name" "$(q "${!name}")"
    done
    printf 'export SKERRY_PORT=%s\n' "${NODE_PORTS[i - 1]}"
    printf 'export SKERRY_HOST=127.0.0.1\n'
    printf 'export SKERRY_ADMIN_KEY=%s\n' "$(q "$ADMIN_KEY")"
    printf 'export SKERRY_DATA_DIR=%s\n' "$(q "$DIR/nodes/$i/data")"
    printf 'export SKERRY_SAMPLE=0\n'
  } >"$DIR/nodes/$i/node.env"
  chmod 600 "$DIR/nodes/$i/node.env"
done

say "starting $NODES nodes on ports ${NODE_PORTS[*]} (S3 bucket $S3_BUCKET, prefix $S3_PREFIX)"
# The first node alone (it bootstraps the admin key record in the bucket), then the others together.
"$HERE/fleet-node.sh" "$DIR" start 1
pids=()
for ((i = 2; i <= NODES; i++)); do
  "$HERE/fleet-node.sh" "$DIR" start "$i" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a node did not start"; done

# ------------------------------------------------------------------ balancers
for ((b = 1; b <= BALANCERS; b++)); do
  mkdir -p "$DIR/balancers/$b"
  printf '%s\n' "${BALANCER_PORTS[b - 1]}" >"$DIR/balancers/$b/port"
  "$HERE/fleet-balancer.sh" "$DIR" start "$b" || fail "balancer $b did not start"
done
balancer_urls=""
for port in "${BALANCER_PORTS[@]}"; do balancer_urls+="${balancer_urls:+ }http://127.0.0.1:$port"; done

node_urls=""
for port in "${NODE_PORTS[@]}"; do node_urls+="${node_urls:+ }http://127.0.0.1:$port"; done
lines=$(printf 'export %s\n' \
  "FLEET_DIR=$(q "$DIR")" \
  "FLEET_URL=http://127.0.0.1:$BALANCER_PORT" \
  "FLEET_URLS=$(q "$balancer_urls")" \
  "FLEET_NODE_URLS=$(q "$node_urls")" \
  "FLEET_ADMIN_KEY=$(q "$ADMIN_KEY")" \
  "FLEET_S3_PREFIX=$(q "$S3_PREFIX")" \
  "FLEET_HAPROXY_STATS=http://127.0.0.1:$BALANCER_PORT/haproxy-stats")
if [ -e "$DIR/.own-s3" ]; then
  # The S3 server is ours: its settings too, for tools that read the bucket (the `skerry` CLI).
  lines+=$'\n'$(printf 'export %s\n' "S3_ENDPOINT=$S3_ENDPOINT" "S3_BUCKET=$S3_BUCKET" "S3_PREFIX=$S3_PREFIX" \
    "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" "AWS_REGION=$AWS_REGION" \
    "AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED" "AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED")
fi
printf '%s\n' "$lines" >"$DIR/fleet.env"
chmod 600 "$DIR/fleet.env"
say "fleet ready at $balancer_urls: $NODES nodes ($node_urls) ($(took))"
trap - EXIT
printf '%s\n' "$lines"
