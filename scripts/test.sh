#!/usr/bin/env bash
# Install everything the test suite needs, then run it. Arguments go to pytest.
#   FINSMS_REQUIRE_POSTGRES=1  fail (not skip) when PostgreSQL is unreachable
#   FINSMS_REQUIRE_REDIS=1     fail (not skip) when Redis (127.0.0.1:6379) is unreachable
#   FINSMS_REQUIRE_CLIENTS=1   fail (not skip) when PHP, Java or Node SOAP clients or chromium are missing
#   FINSMS_SKIP_INSTALL=1      run the tests without installing anything
#   FINSMS_LINT=1              first ruff (lint and format) and mypy (strict), failing on any finding
set -euo pipefail
cd "$(dirname "$0")/.."

PY=$(command -v python3.11 || command -v python3)
"$PY" - <<'PYCHECK'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"FinSMS needs Python 3.11 (Spyne 2.14 does not import on newer); found {sys.version.split()[0]}")
PYCHECK

if [ "${FINSMS_SKIP_INSTALL:-0}" != "1" ]; then
  "$PY" -m pip install --quiet --disable-pip-version-check -e '.[test]'
  if [ -x scripts/install_soap_clients.sh ]; then
    scripts/install_soap_clients.sh
  fi
  scripts/install_deploy_tools.sh
  scripts/install_test_smsc.sh
  scripts/install_browser.sh
fi

if [ "${FINSMS_LINT:-0}" = "1" ]; then
  "$PY" -m ruff check .
  "$PY" -m ruff format --check .
  "$PY" -m mypy
fi

exec "$PY" -m pytest "$@"
