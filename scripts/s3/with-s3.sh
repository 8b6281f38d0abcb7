#!/usr/bin/env bash
# scripts/s3/with-s3.sh -- run one command with a loopback S3 server around it.
#
#   scripts/s3/with-s3.sh pnpm test
#
# Starts the server (start-s3.sh), exports its S3_* / AWS_* variables into the
# command's environment, runs the command, and always stops the server again
# (also on failure or Ctrl-C). Exits with the command's status.
#
# Environment: S3_TEST_DIR picks the cluster directory; by default a fresh
# temporary one, so this never reuses (or stops) a server someone else started.
# S3_PORT / S3_MON_PORT default to the first free ports from 7480 / 43300.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${S3_TEST_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/skerry-s3.XXXXXX")}
export S3_PORT=${S3_PORT:-$("$HERE/free-port.sh" 7480)}
export S3_MON_PORT=${S3_MON_PORT:-$("$HERE/free-port.sh" 43300)}

cleanup() { "$HERE/stop-s3.sh" "$DIR" || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

exports=$("$HERE/start-s3.sh" "$DIR")
eval "$exports"

status=0
"$@" || status=$?
exit "$status"
