"""``inbox-agent contact record | import``: non-email contacts into the register from a shell.

The same ``contacts.record_contact`` the web UI's form calls, so a telephone call typed in at
the command line gets the same clock, parity, publication and written confirmation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING
from zoneinfo import ZoneInfo

from inbox_agent.classify import Category
from inbox_agent.cli.family import Subparsers, on_one_mailbox
from inbox_agent.clock import Clock, utc_now
from inbox_agent.register.audit import cli_actor
from inbox_agent.register.models import RECORDED_METHODS
from inbox_agent.settings import Settings

if TYPE_CHECKING:  # the pipeline's modules load only when a contact is recorded
    from inbox_agent.casework.contacts import ContactRecord

_CATEGORIES = [c.value for c in Category if c is not Category.AUTOMATED]


def add_parsers(sub: Subparsers) -> None:
    contact = sub.add_parser("contact", help="record a telephone, letter, meeting ... contact")
    cmd = contact.add_subparsers(dest="contact_command", required=True)
    rec = cmd.add_parser("record", help="one contact; prints its case reference")
    rec.add_argument("--method", required=True, choices=RECORDED_METHODS)
    rec.add_argument("--category", required=True, choices=_CATEGORIES)
    rec.add_argument("--name", required=True, help="who made the contact")
    rec.add_argument("--email", default="", help="their address (for the written reply)")
    rec.add_argument("--phone", default="")
    rec.add_argument("--subject", default="")
    rec.add_argument("--attendees", default="", help="who was present (meeting logs)")
    text = rec.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="what was asked or discussed")
    text.add_argument("--text-file", type=Path, help="... read from a file ('-' for stdin)")
    rec.add_argument("--at", help="when, ISO 8601 (default now); office time if no zone")
    rec.add_argument("--log", choices=("opcc", "force"), default="opcc", help="whose SPOC log")
    imp = cmd.add_parser("import", help="a SPOC's log as CSV into the central register")
    imp.add_argument("file", type=Path)
    imp.add_argument("--log", choices=("opcc", "force"), required=True, help="whose SPOC log")
    on_one_mailbox(contact, run)


def run(settings: Settings, args: argparse.Namespace, out: IO[str], clock: Clock = utc_now) -> int:
    """Exit 0 with the references, or 2 naming the field to fix (nothing filed)."""
    from inbox_agent.casework.contacts import ContactError, file_contacts, read_contact_log
    from inbox_agent.deadlines import UkCalendar
    from inbox_agent.register.db import Register

    calendar = UkCalendar.from_settings(settings.calendar)
    zone = settings.office.zone
    now = clock()
    register = Register(settings.database.url)
    try:
        if args.contact_command == "import":
            with args.file.open(encoding="utf-8", newline="") as handle:
                records = read_contact_log(handle, args.log, zone)
        else:
            records = [_record(args, zone, now)]
        register.ensure_schema()
        with register.transaction() as session:
            refs = file_contacts(session, settings, calendar, records, actor=cli_actor(), now=now)
    except ContactError as exc:
        print(f"inbox-agent: contact: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"inbox-agent: contact: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        register.dispose()
    for ref in refs:
        print(ref, file=out)
    return 0


def _record(args: argparse.Namespace, zone: ZoneInfo, now: dt.datetime) -> ContactRecord:
    from inbox_agent.casework.contacts import ContactError, ContactRecord

    if args.text_file is not None:
        path: Path = args.text_file
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    else:
        text = args.text
    at = now
    if args.at:
        try:
            at = dt.datetime.fromisoformat(args.at)
        except ValueError as exc:
            raise ContactError(f"--at: not a date-time: {args.at!r}") from exc
        at = at if at.tzinfo else at.replace(tzinfo=zone)
    return ContactRecord(
        method=args.method,
        category=Category(args.category),
        name=args.name,
        text=text,
        at=at,
        email=args.email,
        phone=args.phone,
        subject=args.subject,
        log=args.log,
        attendees=args.attendees,
    )
