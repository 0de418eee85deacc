#!/usr/bin/env bash
# Install everything the tests need (Dovecot, isync, PostgreSQL from Debian when missing; the
# Python test tools in .venv) and run lint, type checks and the whole test suite.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" test
need=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v mbsync >/dev/null 2>&1 || need+=(isync)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# the web UI's browser tests: Debian's Chromium, driven by Playwright from .venv (never
# `playwright install`), and npm for axe-core
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi
# axe-core (the accessibility checker the browser tests inject), cached per user
AXE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/inbox-agent/axe"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-save --no-audit --no-fund --loglevel=error axe-core@4
fi
export INBOX_AGENT_AXE_DIR="$AXE_DIR/node_modules/axe-core"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy inbox_agent tests/servers.py benchmarks
# the wheel an office installs, built and installed (not editable) into a fresh venv;
# tests/integration/test_wheel.py drives its inbox-agent against Dovecot and SMTP
PYTHON=.venv/bin/python bash scripts/install-wheel.sh "$ROOT/.venv-wheel" >/dev/null
export INBOX_AGENT_INSTALLED="$ROOT/.venv-wheel"
.venv/bin/pytest -n 2 "$@"
