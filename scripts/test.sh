#!/usr/bin/env bash
# Install everything the tests need (Dovecot, isync, PostgreSQL from Debian when missing; the
# Python test tools in .venv) and run lint, type checks and the whole test suite.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" test
need=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v mbsync >/dev/null 2>&1 || need+=(isync)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy inbox_agent tests/servers.py benchmarks
.venv/bin/pytest -n 2 "$@"
