#!/usr/bin/env bash
# Shared by demo.sh and test.sh: a virtualenv in .venv with inbox-agent installed.
# Usage: source scripts/bootstrap.sh [extra]   (extra = "test" installs the test tools too)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  apt_install python3-venv
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "test" ]; then
  .venv/bin/python -m pip install -q --constraint constraints.txt -e '.[test]'
else
  .venv/bin/python -m pip install -q --constraint constraints.txt -e .
fi
