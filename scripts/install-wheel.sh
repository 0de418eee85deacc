#!/usr/bin/env bash
# Build the wheel from this checkout and install it, as an office would (`pip install`, not
# editable), into a fresh virtualenv DEST/venv, with the pinned versions of constraints.txt.
# Prints the wheel's path. Used by scripts/test.sh and by tests/integration/test_wheel.py,
# which then drive DEST/venv/bin/inbox-agent. pip's cache is reused, so a rerun is quick.
# Usage: bash scripts/install-wheel.sh DEST
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$1"
PYTHON="${PYTHON:-python3}"
rm -rf "$DEST/dist" "$DEST/venv"
mkdir -p "$DEST/dist"
cd "$ROOT"
rm -rf build  # setuptools' staging folder: a file deleted from the source must not ship
"$PYTHON" -m pip wheel -q --no-deps -w "$DEST/dist" . >&2
rm -rf build
"$PYTHON" -m venv "$DEST/venv"
wheel="$(ls "$DEST"/dist/inbox_agent-*.whl)"
"$DEST/venv/bin/python" -m pip install -q --constraint "$ROOT/constraints.txt" "$wheel" >&2
echo "$wheel"
