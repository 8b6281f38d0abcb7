#!/usr/bin/env bash
# scripts/s3/free-port.sh START -- prints the first TCP port >= START on which
# nothing accepts connections on 127.0.0.1 (tries 100 ports).
#
# with-s3.sh and .ci/run use it so that a throwaway S3 server can start next
# to one that is already running (e.g. a developer's long-lived cluster).
set -euo pipefail
start=${1:?usage: free-port.sh START}
for ((port = start; port < start + 100; port++)); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$port"
    exit 0
  fi
done
echo "free-port.sh: no free port in $start..$((start + 99))" >&2
exit 1
