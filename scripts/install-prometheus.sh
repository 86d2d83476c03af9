#!/usr/bin/env bash
# Installs Debian's Prometheus (the `prometheus` server and `promtool`) for the tests of the
# operations kit in ops/prometheus: promtool checks and unit-tests the rules, and a real server
# scrapes `ov-memory serve`. CI runs this on every clean machine, as it does install-chromium.sh.
set -euo pipefail
if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-prometheus: Prometheus is missing and this is not root: run 'sudo apt-get install -y prometheus'" >&2
  exit 1
fi
apt-get update -qq
# The package's own service is not wanted: the tests start their own server on a free port.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
promtool --version | head -1
