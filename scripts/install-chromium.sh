#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (playwright-core drives it; no browser download).
# `npm test` runs it first (a no-op when Chromium is there), and CI on every clean machine, so a
# missing install step cannot hide behind a machine that happens to have Chromium already.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  command -v chromium >/dev/null || { echo "install-chromium: Chromium is missing and this is not root: run 'sudo apt-get install -y chromium'" >&2; exit 1; }
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
chromium --version
