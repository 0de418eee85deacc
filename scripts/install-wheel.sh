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
rm -rf "$DEST/dist" "$DEST/venv" "$DEST/src"
mkdir -p "$DEST/dist" "$DEST/src"
# build from a clean copy of what git tracks (and new files it does not ignore): no stale
# build/ folder, no demo register, and two builds at once cannot trip over each other
git -C "$ROOT" ls-files -z -co --exclude-standard \
  | (cd "$ROOT" && tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$DEST/src"
# the build's own output stays in DEST/build.log (shown if it fails); test_wheel.py reads it
# to keep the build free of setuptools warnings
if ! "$PYTHON" -m pip wheel -v --no-deps -w "$DEST/dist" "$DEST/src" >"$DEST/build.log" 2>&1; then
  cat "$DEST/build.log" >&2
  exit 1
fi
rm -rf "$DEST/src"
"$PYTHON" -m venv "$DEST/venv"
wheel="$(ls "$DEST"/dist/inbox_agent-*.whl)"
"$DEST/venv/bin/python" -m pip install -q --constraint "$ROOT/constraints.txt" "$wheel" >&2
echo "$wheel"
