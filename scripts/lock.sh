#!/usr/bin/env bash
# Rewrite constraints.txt: install the wheel into a throwaway venv with no pins and freeze
# what pip chose. Review the diff, then run scripts/test.sh, which installs with the new pins.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$ROOT"
python3 -m pip wheel -q --no-deps -w "$tmp/dist" .
rm -rf build
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q "$tmp"/dist/inbox_agent-*.whl
{
  sed -n '1,/^# Regenerate/p' constraints.txt
  "$tmp/venv/bin/python" -m pip freeze --exclude inbox-agent
} > "$tmp/constraints.txt"
mv "$tmp/constraints.txt" constraints.txt
