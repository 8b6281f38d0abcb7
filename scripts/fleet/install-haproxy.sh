#!/usr/bin/env bash
# scripts/fleet/install-haproxy.sh -- makes sure `haproxy` (2.6 or later) is
# on the PATH: installs Debian's package with apt-get when it is missing
# (root only; the package's postinst is kept from starting a system-wide
# haproxy service, like start-s3.sh does for Ceph). Prints nothing on stdout.
set -euo pipefail

say() { printf '[install-haproxy] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

if ! command -v haproxy >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || fail "haproxy is missing; install it (apt-get install haproxy) or run this as root"
  for tool in curl; do command -v "$tool" >/dev/null 2>&1 || extra="${extra:-} $tool"; done
  say "apt-get install haproxy${extra:-}"
  own_policy=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=true
  fi
  status=0
  (
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends haproxy ${extra:-}
  ) </dev/null >&2 || status=$?
  if $own_policy; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" -eq 0 ] || fail "apt-get failed with status $status"
fi
version=$(haproxy -v | sed -n 's/^HAProxy version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -n1)
read -r major minor <<<"${version:-0 0}"
if [ "$major" -lt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -lt 6 ]; }; then
  fail "haproxy $major.$minor is too old: the fleet's configuration needs 2.6 or later (balance hash)"
fi
