#!/usr/bin/env bash
# scripts/browser/install-chromium.sh -- make sure Debian's chromium is at
# /usr/bin/chromium for the web console's browser test
# (apps/demo/test/console.browser.test.ts, driven by playwright-core).
#
# Idempotent: does nothing when /usr/bin/chromium exists (or CHROMIUM_PATH
# names an executable); otherwise installs the `chromium` package with apt,
# which needs root (or passwordless sudo). Quiet: prints one line.
set -euo pipefail

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null | head -n1)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "install-chromium.sh: $CHROMIUM is missing and installing it with apt needs root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium.sh: $CHROMIUM is missing and there is no apt-get to install it" >&2
  exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/install-chromium.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-chromium.sh: apt-get install chromium failed" >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "install-chromium.sh: the chromium package did not install /usr/bin/chromium" >&2
  exit 1
fi
echo "chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
