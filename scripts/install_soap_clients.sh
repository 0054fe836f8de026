#!/usr/bin/env bash
# Install the foreign SOAP clients the end-to-end tests drive (tests/e2e/soap):
#   PHP SoapClient  - Debian php-cli + php-soap
#   Java JAX-WS     - Debian jaxws (wsimport and the runtime) + a JDK for javac
#   Node soap       - npm `soap`, installed from the committed package-lock.json into
#                     tests/e2e/soap/node/node_modules (project-local, not global)
# Safe to run again: installs only what is missing. Debian/Ubuntu (apt) only.
# Set FINSMS_SOAP_CLIENTS_NO_APT=1 to skip the apt part (e.g. no root on a dev machine).
# What cannot be installed is reported; it is an error (exit 1) only with
# FINSMS_REQUIRE_CLIENTS=1 (CI), otherwise the client tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_DIR=tests/e2e/soap/node

# grep -q would close the pipe early and, with pipefail, fail the pipeline.
has_php_soap() {
  command -v php >/dev/null && php -m 2>/dev/null | grep -x soap >/dev/null
}

# The apt packages providing what is missing. Tools already on the PATH are kept as they
# are (a node from NodeSource, say, conflicts with Debian's npm package).
missing_packages() {
  command -v php >/dev/null || echo php-cli
  has_php_soap || echo php-soap
  command -v wsimport >/dev/null && [ -f /usr/share/java/jaxws-rt.jar ] || echo jaxws
  command -v javac >/dev/null || echo default-jdk-headless
  command -v node >/dev/null || echo nodejs
  command -v npm >/dev/null || echo npm
}

install_apt() {
  if [ "${FINSMS_SOAP_CLIENTS_NO_APT:-0}" = "1" ]; then
    echo "install_soap_clients: skipping apt (FINSMS_SOAP_CLIENTS_NO_APT=1)"
    return
  fi
  if ! command -v apt-get >/dev/null; then
    echo "install_soap_clients: no apt-get; install $(missing_packages | tr '\n' ' ')yourself" >&2
    return 1
  fi
  local wanted
  wanted=$(missing_packages | tr '\n' ' ')
  if [ -z "$wanted" ]; then
    return
  fi
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    sudo="sudo"
  fi
  echo "install_soap_clients: apt-get install $wanted"
  # shellcheck disable=SC2086  # word splitting of the package list is intended
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $wanted \
    || { $sudo apt-get update && \
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $wanted; }
}

install_node_soap() {
  if ! command -v npm >/dev/null; then
    return 1
  fi
  if [ -f "$NODE_DIR/node_modules/soap/package.json" ] && \
     [ "$NODE_DIR/node_modules/.package-lock.json" -nt "$NODE_DIR/package-lock.json" ]; then
    return
  fi
  echo "install_soap_clients: npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
}

install_apt || echo "install_soap_clients: apt could not install everything" >&2
install_node_soap || echo "install_soap_clients: npm soap could not be installed" >&2

still_missing=$(missing_packages | tr '\n' ' ')
[ -f "$NODE_DIR/node_modules/soap/package.json" ] || still_missing="${still_missing}npm:soap"
if [ -n "${still_missing// /}" ]; then
  echo "install_soap_clients: still missing: $still_missing" >&2
  if [ "${FINSMS_REQUIRE_CLIENTS:-0}" = "1" ]; then
    exit 1
  fi
  echo "install_soap_clients: the PHP/Java/Node SOAP client tests will be skipped" >&2
  exit 0
fi
echo "install_soap_clients: php $(php -r 'echo PHP_VERSION;'), $(wsimport -version 2>&1 | head -1)," \
  "node $(node --version), soap $(node -p "require('./$NODE_DIR/node_modules/soap/package.json').version")"
