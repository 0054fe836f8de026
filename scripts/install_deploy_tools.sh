#!/usr/bin/env bash
# Install what tests/e2e/test_deploy.py drives: nginx (Debian nginx-light) and openssl,
# to check deploy/nginx/finsms.conf with `nginx -t` and pass requests through it.
# Installs only what is missing; FINSMS_SOAP_CLIENTS_NO_APT=1 skips apt here too. What
# cannot be installed makes those tests skip, saying why.
set -euo pipefail
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v openssl >/dev/null || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "${FINSMS_SOAP_CLIENTS_NO_APT:-0}" = "1" ] || ! command -v apt-get >/dev/null; then
  echo "install_deploy_tools: not installing ${missing[*]}; the nginx test will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# The package's own start of nginx (port 80) is not wanted: policy-rc.d refuses it.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.finsms
if [ ! -e /usr/sbin/policy-rc.d ]; then
  mv /usr/sbin/policy-rc.d.finsms /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
else
  rm -f /usr/sbin/policy-rc.d.finsms
fi
apt-get update -qq || true
apt-get install -y -qq "${missing[@]}" >/dev/null || echo "install_deploy_tools: apt-get install ${missing[*]} failed; the nginx test will skip" >&2
