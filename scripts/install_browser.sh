#!/usr/bin/env bash
# Install what tests/e2e/test_kvkk_browser.py drives: Debian's chromium (Playwright's
# own browser download cannot run here; the test launches /usr/bin/chromium). Installs
# only when missing; FINSMS_SOAP_CLIENTS_NO_APT=1 skips apt here too. Without it the
# browser test skips, or fails under FINSMS_REQUIRE_CLIENTS=1.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "${FINSMS_SOAP_CLIENTS_NO_APT:-0}" = "1" ] || ! command -v apt-get >/dev/null; then
  echo "install_browser: not installing chromium; the KVKK browser test will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq chromium >/dev/null \
  || echo "install_browser: apt-get install chromium failed; the KVKK browser test will skip" >&2
