"""``inbox-agent quarantine list | release ID-or-REF``: the messages that could not be handled.

The work is in ``casework/quarantine.py``; this module parses and prints. (``contact record |
import``, the other casework from a shell, is ``cli/contacts.py``.)
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import IO, TYPE_CHECKING

from inbox_agent.cli.family import Subparsers, on_one_mailbox, register_transaction
from inbox_agent.clock import utc_now

if TYPE_CHECKING:
    from inbox_agent.settings import Settings

log = logging.getLogger(__name__)


def add_parsers(sub: Subparsers) -> None:
    shunt = sub.add_parser("quarantine", help="messages that could not be handled")
    cmd = shunt.add_subparsers(dest="quarantine_command", required=True)
    cmd.add_parser("list", help="every quarantined message with its reason")
    release = cmd.add_parser("release", help="put it back for processing (audited)")
    release.add_argument("message", help="stored message id (as status shows) or case reference")
    release.add_argument("--user", help="who is releasing it (default: cli:<login>)")
    on_one_mailbox(shunt, quarantine)


def quarantine(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """``quarantine list`` and ``quarantine release ID-or-REF``."""
    from inbox_agent.casework import quarantine as shunt
    from inbox_agent.register.audit import cli_actor

    with register_transaction(settings) as session:
        if args.quarantine_command == "list":
            rows = shunt.quarantined(session)
            for row in rows:
                case = f" case {row.case}" if row.case else ""
                print(
                    f"{row.stored_message_id:>6} {row.received_at:%Y-%m-%d %H:%M} "
                    f"attempts {row.attempts}{case} {row.sender} / {row.subject[:60]}\n"
                    f"       reason: {row.reason[:300]}",
                    file=out,
                )
            print(f"{len(rows)} quarantined", file=out)
            return 0
        messages = shunt.find_quarantined(session, args.message)
        if not messages:
            print(f"inbox-agent: no quarantined message {args.message}", file=sys.stderr)
            return 1
        actor = args.user or cli_actor()
        for message in messages:
            shunt.release(session, message, actor, utc_now())
            log.info("event=released stored_message=%d actor=%s", message.id, actor)
            print(f"released {message.id}: it is processed on the next pass", file=out)
        return 0
