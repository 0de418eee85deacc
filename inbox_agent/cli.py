"""Entry points: ``inbox-agent run | classify | register | import | status | check-config``.

Every command takes ``--config`` (else ``$INBOX_AGENT_CONFIG``, else the bundled demo profile).
Exit codes: 0 done, 1 a peer was unavailable (retry later), 2 the operator must fix something.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from inbox_agent import __version__
from inbox_agent.errors import InboxAgentError, OperatorError
from inbox_agent.logs import setup_logging
from inbox_agent.settings import Settings, load_settings

log = logging.getLogger("inbox_agent")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inbox-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=f"inbox-agent {__version__}")
    parser.add_argument("--config", help="TOML configuration (default: $INBOX_AGENT_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="poll the inbox on a schedule (the daemon)")
    run.add_argument("--once", action="store_true", help="one full pass, then exit")
    classify = sub.add_parser("classify", help="classify .eml files; writes and sends nothing")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.add_argument("files", nargs="+", type=Path)
    register = sub.add_parser("register", help="read the register")
    reg = register.add_subparsers(dest="register_command", required=True)
    listing = reg.add_parser("list", help="cases, newest last")
    listing.add_argument("--category")
    listing.add_argument("--status")
    show = reg.add_parser("show", help="one case with its messages and audit trail")
    show.add_argument("reference")
    export = reg.add_parser("export", help="the protocol register as CSV or JSON lines")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    imp = sub.add_parser("import", help="register an mbox file or Maildir (Outlook/Thunderbird)")
    imp.add_argument("path", type=Path)
    sub.add_parser("status", help="last poll, backlog, quarantine")
    sub.add_parser("check-config", help="validate the file and connect to IMAP, SMTP, database")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        setup_logging(settings.logging.level)
        return _dispatch(args, settings)
    except OperatorError as exc:
        print(f"inbox-agent: {exc}", file=sys.stderr)
        return 2
    except InboxAgentError as exc:
        print(f"inbox-agent: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from inbox_agent import commands

    if args.command == "run":
        return commands.run(settings, once=args.once)
    if args.command == "classify":
        return commands.classify_files(settings, args.files, sys.stdout)
    if args.command == "register":
        return commands.register(settings, args, sys.stdout)
    if args.command == "import":
        return commands.import_mailbox(settings, args.path)
    if args.command == "status":
        return commands.status(settings, sys.stdout)
    return commands.check_config(settings, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
