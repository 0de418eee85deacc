"""``inbox-agent register list | show REF | export`` and ``inbox-agent db status | upgrade |
backup PATH``: reading the register, and looking after its schema and its copies."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from inbox_agent.cli.family import Subparsers, on_one_mailbox, register_transaction
from inbox_agent.errors import ConfigError, OperatorError, unwritable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inbox_agent.register.models import Case
    from inbox_agent.settings import Settings

log = logging.getLogger(__name__)


def add_parsers(sub: Subparsers) -> None:
    register_parser = sub.add_parser("register", help="read the register")
    reg = register_parser.add_subparsers(dest="register_command", required=True)
    listing = reg.add_parser("list", help="cases, newest last")
    listing.add_argument("--category")
    listing.add_argument("--status")
    show = reg.add_parser("show", help="one case with its messages and audit trail")
    show.add_argument("reference")
    export = reg.add_parser("export", help="the protocol register as CSV or JSON lines")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    on_one_mailbox(register_parser, register)
    db_parser = sub.add_parser("db", help="the register's schema version, upgrades and backups")
    cmd = db_parser.add_subparsers(dest="db_command", required=True)
    cmd.add_parser("status", help="schema revision against this release's (exit 1: upgrade)")
    cmd.add_parser("upgrade", help="migrate the register to this release's schema (logged)")
    backup = cmd.add_parser("backup", help="a checked copy: SQLite VACUUM INTO, or pg_dump -Fc")
    backup.add_argument("path", type=Path, help="a new file")
    on_one_mailbox(db_parser, db)


def register(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    from sqlalchemy import select

    from inbox_agent.casework.register_rows import register_rows
    from inbox_agent.register.export import write_csv, write_jsonl
    from inbox_agent.register.models import Case

    with register_transaction(settings) as session:
        if args.register_command == "list":
            return _list(session, settings, args, out)
        if args.register_command == "show":
            case = session.scalars(select(Case).where(Case.reference == args.reference)).first()
            if case is None:
                print(f"inbox-agent: no case {args.reference}", file=sys.stderr)
                return 1
            _show(session, settings, case, out)
            return 0
        writer = write_csv if args.format == "csv" else write_jsonl
        if args.output is None:
            writer(register_rows(session, settings), out)
            return 0
        try:
            handle = args.output.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise OperatorError(unwritable("--output", args.output, exc)) from exc
        with handle:
            count = writer(register_rows(session, settings), handle)
        print(f"wrote {count} cases to {args.output}", file=sys.stderr)
        return 0


def _list(session: Session, settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """The queue in a terminal; a stopped statutory clock shows as ``stopped``, not ``-``."""
    from sqlalchemy import select

    from inbox_agent.casework.clock_status import clock_stops
    from inbox_agent.deadlines import UkCalendar
    from inbox_agent.register.models import Case

    query = select(Case).order_by(Case.id)
    if args.category:
        query = query.where(Case.category == args.category)
    if args.status:
        query = query.where(Case.status == args.status)
    cases = list(session.scalars(query))
    calendar = UkCalendar.from_settings(settings.calendar)
    stops = clock_stops(session, cases, calendar, settings.office.timezone)
    header = f"{'reference':<16} {'received':<16} {'category':<24} {'status':<11} {'due':<10}  "
    print(header + "requester / subject", file=out)
    for case in cases:
        review = " [review]" if case.needs_review else ""
        due = case.due_date.isoformat() if case.due_date else "-"
        if case.id in stops:
            due = "stopped"
        received = case.date_of_contact.strftime("%Y-%m-%d %H:%M")
        print(
            f"{case.reference:<16} {received:<16} {case.category:<24} {case.status:<11} "
            f"{due:<10}  {case.requester_email} / {case.subject[:60]}{review}",
            file=out,
        )
    return 0


def _show(session: Session, settings: Settings, case: Case, out: IO[str]) -> None:
    from inbox_agent.casework.register_rows import one_row

    for key, value in one_row(session, settings, case).items():
        print(f"{key}: {value}", file=out)
    print(f"confidence: {case.confidence:.2f} ({case.classifier_version})", file=out)
    for reason in case.classification_reasons:
        print(f"  reason: {reason}", file=out)
    print("messages:", file=out)
    for message in case.messages:
        print(
            f"  {message.received_at.isoformat()} {message.message_id} {message.subject}", file=out
        )
    print("emails:", file=out)
    for row in case.outbox:
        print(
            f"  {row.created_at.isoformat()} {row.kind} to {row.recipient} [{row.status}] "
            f"{row.message_id}",
            file=out,
        )
    print("audit trail:", file=out)
    for event in case.events:
        print(
            f"  {event.at.isoformat()} {event.actor} {event.action} "
            f"{json.dumps(event.detail, ensure_ascii=False)}",
            file=out,
        )


def db(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """``db status | upgrade | backup PATH``; none of them migrates by surprise.

    ``status`` exits 0 when the register is at this release's head, 1 when it needs ``db
    upgrade``, 2 when it is newer than this release (which ``run`` refuses).
    """
    from inbox_agent.register.backup import backup_register
    from inbox_agent.register.db import make_engine, schema_state, sqlite_path, upgrade_schema

    path = sqlite_path(settings.database.url)
    if args.db_command != "upgrade" and path is not None and not path.exists():
        raise ConfigError(
            f"database.url: no register at {path} (`inbox-agent db upgrade` makes one)"
        )
    engine = make_engine(settings.database.url, create=args.db_command == "upgrade")
    where = engine.url.render_as_string(hide_password=True)
    try:
        if args.db_command == "backup":
            backup = backup_register(engine, args.path)
            print(
                f"backup of {where} written to {backup.path} ({backup.size} bytes, schema "
                f"revision {backup.revision}), checked",
                file=out,
            )
            log.info("event=db_backup path=%s bytes=%d", backup.path, backup.size)
            return 0
        before = schema_state(engine)
        if args.db_command == "upgrade" and not before.newer:
            upgrade_schema(engine)
            after = schema_state(engine)
            done = "already up to date" if before.up_to_date else "upgraded"
            print(f"register {where}: {done}, {after.describe()}", file=out)
            return 0
        print(f"register {where}: {before.describe()}", file=out)
        return 2 if before.newer else (0 if before.up_to_date else 1)
    finally:
        engine.dispose()
