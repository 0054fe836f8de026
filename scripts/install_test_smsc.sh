#!/usr/bin/env bash
# Install the test SMSC (tests/smsc: the npm package `smpp` from the committed
# package-lock.json) that the SMPP carrier's integration tests and scripts/bench_smpp.py
# talk to. Safe to run again: installs only when the lock file changed. Without node/npm
# the SMPP tests skip, unless FINSMS_REQUIRE_CLIENTS=1 (then this script fails).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=tests/smsc

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "install_test_smsc: node/npm missing (apt-get install nodejs npm); SMPP tests will skip" >&2
  [ "${FINSMS_REQUIRE_CLIENTS:-0}" = "1" ] && exit 1
  exit 0
fi
if [ -f "$DIR/node_modules/smpp/package.json" ] && \
   [ "$DIR/node_modules/.package-lock.json" -nt "$DIR/package-lock.json" ]; then
  exit 0
fi
echo "install_test_smsc: npm ci in $DIR"
(cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
