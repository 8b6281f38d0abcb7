#!/usr/bin/env bash
# scripts/fleet/haproxy.cfg.sh -- prints the HAProxy configuration of a
# fleet (docs/fleet.md explains every choice).
#
#   scripts/fleet/haproxy.cfg.sh SOCKET BALANCER_PORT ID:PORT...
#   scripts/fleet/haproxy.cfg.sh --server-options
#
# SOCKET: the runtime API socket (fleet-scale.sh adds and removes servers
# through it). Each node is `ID:PORT`: server `node<ID>` with `id <ID>`. The
# id places the node on the hash ring, so a node keeps its namespaces when
# others come and go, and every balancer given the same nodes routes alike.
# --server-options prints the options of every server line (the
# default-server of the file), which fleet-scale.sh repeats on `add server`
# (a dynamic server takes nothing from default-server).
#
# Routing: the namespace part of the path is hashed with consistent hashing,
# so each namespace stays on one node (its caches warm there) and a node
# going down or up moves only its own namespaces:
#   /v1/orgs/:org/projects/:project/namespaces/:ns/...  -> key :ns (field 8)
#   /v2/namespaces/:ns..., /v1/namespaces/:ns/...       -> key :ns (field 4)
# (turbopuffer routes carry no project in the path; hashing the name alone
# sends both APIs' requests for one namespace to the same node). Every other
# path (keys, stats, health, namespace listing) goes round robin.
#
# Failover: GET /ready every second (it fails from the moment a node begins
# its graceful shutdown; 3 failures take a node out, 2 successes bring it
# back); a refused connection marks a node down at once (observe layer4). A request whose connection failed is retried on another
# node (any method: it was never sent). After the request reached a node --
# empty response (the node died), 503 (ShuttingDown, Overloaded, Unavailable)
# -- it is replayed on another node only when replaying is harmless: GET /
# HEAD, the read-only POSTs (query, explain, documents/get, recall), and
# writes that carry an Idempotency-Key (the server applies a key at most
# once, on any node: the keys live in the manifest). A write without one is
# never replayed: the client gets the error and decides.
set -euo pipefail

# A busy node answers /ready slowly: 2 s per check (timeout check), 3 failures in a row before it is taken out. A
# dead node is taken out at once by the first refused connection (observe layer4), not by the checks.
SERVER_OPTIONS="check inter 1s fastinter 500ms downinter 1s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down"
if [ "${1:-}" = --server-options ]; then
  printf '%s\n' "$SERVER_OPTIONS"
  exit 0
fi
[ $# -ge 3 ] || { echo "usage: $0 SOCKET BALANCER_PORT ID:PORT... | --server-options" >&2; exit 2; }
SOCKET=$1
PORT=$2
shift 2
for node in "$@"; do
  [[ $node =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || { echo "$0: a node is ID:PORT, got '$node'" >&2; exit 2; }
done

cat <<CFG
global
  maxconn 4096
  stats socket $SOCKET mode 600 level admin
  # Requests up to 64 KiB can be replayed (L7 retries need the whole request in one buffer).
  tune.bufsize 65536

defaults
  mode http
  option http-keep-alive
  timeout connect 1s
  timeout client 65s
  # Longer than the server's own request timeout (SKERRY_REQUEST_TIMEOUT_MS, 30 s): the server answers first.
  timeout server 65s
  timeout http-request 10s
  timeout http-keep-alive 10s
  timeout queue 10s
  retries 3
  # Every retry goes to another node when the chosen one is down.
  option redispatch 1
  retry-on conn-failure empty-response 503

frontend skerry
  bind 127.0.0.1:$PORT
  stats enable
  stats uri /haproxy-stats
  stats refresh 5s
  acl skerry_ns path_reg ^/v1/orgs/[^/]+/projects/[^/]+/namespaces/[^/]+
  acl tpuf_ns path_reg ^/v[12]/namespaces/[^/]+
  http-request set-var(txn.ns) path,field(8,/) if skerry_ns
  http-request set-var(txn.ns) path,field(4,/) if tpuf_ns
  default_backend nodes

backend nodes
  balance hash var(txn.ns)
  hash-type consistent sdbm avalanche
  option httpchk
  # HTTP/1.1 with a Host header: the server refuses a request without one (400).
  http-check send meth GET uri /ready ver HTTP/1.1 hdr Host skerry-fleet-check
  http-check expect status 200
  timeout check 2s
  default-server $SERVER_OPTIONS
  acl safe_method method GET HEAD OPTIONS
  acl read_post path_end /query /explain_query /documents/get /_debug/recall
  acl idempotent_write req.hdr(idempotency-key) -m found
  http-request disable-l7-retry unless safe_method || read_post || idempotent_write
  # Which node answered (its server name), for operators and the fleet test.
  http-response set-header X-Skerry-Node %s
CFG
for node in "$@"; do
  printf '  server node%d 127.0.0.1:%s id %d\n' "${node%%:*}" "${node#*:}" "${node%%:*}"
done
