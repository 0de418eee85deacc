#!/usr/bin/env bash
# Install inbox-agent and run the real pipeline once on the bundled demo Maildir,
# with an SQLite register in demo/, then show the queue it produced.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
export INBOX_AGENT_CONFIG="$ROOT/config/example.toml"
.venv/bin/inbox-agent run --once
echo
.venv/bin/inbox-agent register list
echo
echo "Register: demo/register.sqlite3   Try: .venv/bin/inbox-agent register show <reference>"
