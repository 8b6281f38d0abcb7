#!/usr/bin/env bash
# scripts/s3/start-s3.sh -- a real, throwaway S3 server on loopback for tests.
#
# What it runs: Ceph's RADOS Gateway (Debian's `radosgw`) in front of a
# single-node RADOS cluster -- one monitor and one OSD whose object store is
# `memstore`, so every byte lives in the OSD's RAM and nothing touches a disk
# device. It is the only S3 server with working conditional writes
# (If-None-Match / If-Match) reachable from Debian apt here.
#
#   eval "$(scripts/s3/start-s3.sh [DIR])"     # DIR: ${S3_TEST_DIR:-${TMPDIR:-/tmp}/skerry-s3}
#   ... use S3 ...
#   scripts/s3/stop-s3.sh [DIR]
#
# Contract:
# - stdout carries nothing but `export NAME=value` lines (also written to
#   DIR/s3.env); every progress or error message goes to stderr.
# - Missing packages are installed with apt-get (root only); their postinst
#   scripts are kept from starting system-wide Ceph services.
# - Idempotent: if the cluster in DIR is up and answering, it only makes sure
#   the user and bucket exist and prints the same exports. A dead or
#   half-started cluster in DIR is stopped and rebuilt.
# - If starting fails, the daemons it started are stopped again (logs stay in
#   DIR/log for diagnosis) and the exit status is non-zero.
#
# Environment knobs:
#   S3_PORT (7480)            S3 port on 127.0.0.1
#   S3_MON_PORT (43300)       monitor port on 127.0.0.1 (msgr2 only)
#   S3_BUCKET (skerry-test)   bucket created up front
#   S3_ACCESS_KEY, S3_SECRET_KEY   credentials of the test user
#   S3_REGION (us-east-1)     region for the SDK; RGW accepts any in SigV4
#   S3_MEMSTORE_BYTES (2 GiB) capacity of the in-RAM store
#   S3_START_TIMEOUT (120)    seconds to wait for each daemon
set -euo pipefail

say() { printf '[start-s3] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

PORT=${S3_PORT:-7480}
MON_PORT=${S3_MON_PORT:-43300}
BUCKET=${S3_BUCKET:-skerry-test}
ACCESS_KEY=${S3_ACCESS_KEY:-skerrytestaccesskey}
SECRET_KEY=${S3_SECRET_KEY:-skerrytestsecretkey0123456789}
REGION=${S3_REGION:-us-east-1}
MEMSTORE_BYTES=${S3_MEMSTORE_BYTES:-2147483648}
WAIT_SECONDS=${S3_START_TIMEOUT:-120}
ENDPOINT="http://127.0.0.1:${PORT}"
# A file that marks DIR as ours: we only ever wipe or signal inside such a dir.
OWNER_MARK=.skerry-s3-cluster
DAEMONS=(client.rgw.a osd.0 mon.a)   # stop order; start order is the reverse
STARTED_AT=$(date +%s%N)
took() { echo "$(( ($(date +%s%N) - STARTED_AT) / 1000000 )) ms"; }

# --------------------------------------------------------------- packages
install_missing_packages() {
  local -a missing=()
  local tool pkg
  for tool in radosgw:radosgw ceph-mon:ceph-mon ceph-osd:ceph-osd curl:curl uuidgen:uuid-runtime; do
    pkg=${tool#*:}
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || fail "packages missing (${missing[*]}); install them or run this as root"

  say "apt-get install ${missing[*]}"
  # policy-rc.d answering 101 tells invoke-rc.d "do not start services": the
  # packages would otherwise try to launch a system Ceph next to ours.
  local own_policy=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=true
  fi
  local status=0
  (
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  ) </dev/null >&2 || status=$?
  if $own_policy; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" -eq 0 ] || fail "apt-get failed with status $status"
  say "packages installed ($(took))"
}

# --------------------------------------------------------------- process helpers
# Prints the pid of daemon $1 of the cluster in $DIR if it is alive. The pid
# file alone is not trusted: the process must also name our ceph.conf.
daemon_pid() {
  local file="$DIR/run/$1.pid" pid
  [ -s "$file" ] || return 1
  pid=$(<"$file")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/ceph.conf" || return 1
  printf '%s\n' "$pid"
}

stop_our_daemons() {
  local name pid
  for name in "${DAEMONS[@]}"; do
    pid=$(daemon_pid "$name") || continue
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

s3_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$ENDPOINT/" 2>/dev/null || true; }
s3_answers() { [ "$(s3_status)" = 200 ]; }

cluster_healthy() {
  local name
  for name in "${DAEMONS[@]}"; do daemon_pid "$name" >/dev/null || return 1; done
  s3_answers
}

# wait_until DESCRIPTION COMMAND... : polls COMMAND every 0.2 s.
wait_until() {
  local what=$1 deadline=$((SECONDS + WAIT_SECONDS))
  shift
  while ! "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "gave up after ${WAIT_SECONDS}s waiting for $what (logs in $DIR/log)"
    sleep 0.2
  done
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ceph_cli() { timeout 60 ceph -c "$DIR/ceph.conf" --connect-timeout 30 "$@"; }

# --------------------------------------------------------------- cluster
write_ceph_conf() {
  local fsid=$1
  cat >"$DIR/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:${MON_PORT}/0
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
# No cephx: this cluster is loopback-only and thrown away. Without auth the
# msgr2 "secure" mode cannot be negotiated, so crc must be allowed.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms client mode = crc secure
ms cluster mode = crc secure
ms service mode = crc secure
keyring = $DIR/keyring
run dir = $DIR/run
crash dir = $DIR/crash
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
# One OSD: pools of size 1, few PGs, no health noise about it.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
# Commit monitor (paxos) changes quickly: a cold start takes seconds, not ~16 s.
paxos propose interval = 0.05
paxos min wait = 0.01
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES

[mon.a]
mon data = $DIR/mon/a

[osd.0]
osd data = $DIR/osd/0

[client.rgw.a]
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:${PORT} tcp_nodelay=1
rgw run sync thread = false
rgw dynamic resharding = false
rgw thread pool size = 64
CONF
}

start_monitor() {
  local fsid=$1
  say "monitor: mkfs + start"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:${MON_PORT}/0]" \
    --enable-all-features --set-min-mon-release pacific "$DIR/monmap" >/dev/null
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
    </dev/null >>"$DIR/log/mkfs.out" 2>&1 || fail "ceph-mon --mkfs failed: $(tail -n 5 "$DIR/log/mkfs.out")"
  ceph-mon -c "$DIR/ceph.conf" -i a </dev/null >>"$DIR/log/daemons.out" 2>&1 || fail "ceph-mon did not start"
  wait_until "the monitor" daemon_pid mon.a
}

osd_is_up() { ceph_cli osd stat 2>/dev/null | grep -q ' 1 up'; }

start_osd() {
  local osd_uuid
  osd_uuid=$(uuidgen)
  say "osd.0: register, mkfs (memstore, $MEMSTORE_BYTES bytes), start ($(took))"
  ceph_cli osd new "$osd_uuid" 0 >/dev/null || fail "'ceph osd new' failed; see $DIR/log/mon.a.log"
  ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
    </dev/null >>"$DIR/log/mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed: $(tail -n 5 "$DIR/log/mkfs.out")"
  ceph-osd -c "$DIR/ceph.conf" -i 0 </dev/null >>"$DIR/log/daemons.out" 2>&1 || fail "ceph-osd did not start"
  wait_until "osd.0 to be up" osd_is_up
}

start_gateway() {
  say "radosgw: start on $ENDPOINT ($(took))"
  radosgw -c "$DIR/ceph.conf" -n client.rgw.a </dev/null >>"$DIR/log/daemons.out" 2>&1 || fail "radosgw did not start"
  wait_until "radosgw to answer on $ENDPOINT" s3_answers
  daemon_pid client.rgw.a >/dev/null || fail "radosgw answers but its pid file is missing"
}

# Creates the test user (or adds our key to it) and the bucket; both steps
# accept "already there" so a rerun is harmless.
ensure_user_and_bucket() {
  local info
  if ! info=$(radosgw-admin -c "$DIR/ceph.conf" user info --uid=skerry 2>/dev/null); then
    radosgw-admin -c "$DIR/ceph.conf" user create --uid=skerry --display-name="Skerry tests" \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null || fail "radosgw-admin user create failed"
  elif ! grep -qF "\"$ACCESS_KEY\"" <<<"$info"; then
    radosgw-admin -c "$DIR/ceph.conf" key create --uid=skerry --key-type=s3 \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null || fail "radosgw-admin key create failed"
  fi
  # CreateBucket with curl's SigV4 signer. RGW insists on x-amz-content-sha256
  # (here: the SHA-256 of the empty body).
  local status answer="$DIR/log/create-bucket.xml"
  status=$(curl -s -m 30 -o "$answer" -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:${REGION}:s3" --user "${ACCESS_KEY}:${SECRET_KEY}" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "$ENDPOINT/$BUCKET") || true
  case $status in
    200) ;;
    409) grep -q BucketAlreadyOwnedByYou "$answer" || fail "bucket $BUCKET belongs to someone else: $(cat "$answer")" ;;
    *) fail "CreateBucket $BUCKET answered HTTP $status: $(cat "$answer" 2>/dev/null)" ;;
  esac
}

emit_exports() {
  local lines
  lines=$(printf 'export %s\n' \
    "S3_ENDPOINT=$ENDPOINT" \
    "S3_BUCKET=$BUCKET" \
    "AWS_ACCESS_KEY_ID=$ACCESS_KEY" \
    "AWS_SECRET_ACCESS_KEY=$SECRET_KEY" \
    "AWS_REGION=$REGION" \
    "AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED" \
    "AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED")
  printf '%s\n' "$lines" >"$DIR/s3.env"
  printf '%s\n' "$lines"
}

# --------------------------------------------------------------- main
install_missing_packages

DIR=${1:-${S3_TEST_DIR:-${TMPDIR:-/tmp}/skerry-s3}}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
case $DIR in *[[:space:]]*) fail "DIR must not contain whitespace: '$DIR'" ;; esac

if [ -e "$DIR/$OWNER_MARK" ] && cluster_healthy; then
  say "reusing the running cluster in $DIR"
  ensure_user_and_bucket
  emit_exports
  exit 0
fi

if [ -n "$(ls -A "$DIR")" ]; then
  [ -e "$DIR/$OWNER_MARK" ] || fail "$DIR is not empty and not made by this script; refusing to touch it"
  say "found a dead or partial cluster in $DIR; rebuilding it"
  stop_our_daemons
  find "$DIR" -mindepth 1 -delete
fi
port_taken "$PORT" && fail "127.0.0.1:$PORT is in use (choose another S3_PORT)"
port_taken "$MON_PORT" && fail "127.0.0.1:$MON_PORT is in use (choose another S3_MON_PORT)"

touch "$DIR/$OWNER_MARK"
mkdir -p "$DIR"/{mon/a,osd/0,rgw,run,log,crash}
# From here on a failure must not leave half a cluster behind.
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "start failed (status $status); stopping what was started; logs kept in $DIR/log"
    stop_our_daemons
  fi
}
trap on_exit EXIT

FSID=$(uuidgen)
write_ceph_conf "$FSID"
start_monitor "$FSID"
start_osd
start_gateway
ensure_user_and_bucket
say "S3 ready at $ENDPOINT, bucket $BUCKET ($(took))"
trap - EXIT
emit_exports
