"""CLI for transparency: ``roster``, ``publication``, ``publish``, ``parity``, ``report``.

Argument parsing and printing only; the work is in ``roster``, ``publish``, ``parity`` and
``reports``, which the web UI calls too. Each command is one register transaction. Those
modules (spaCy among them) are imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import IO, TYPE_CHECKING

from inbox_agent.cli.family import Subparsers, on_one_mailbox, register_transaction
from inbox_agent.clock import Clock, utc_now
from inbox_agent.errors import ConfigError, OperatorError, unwritable
from inbox_agent.register.audit import cli_actor
from inbox_agent.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inbox_agent.deadlines import UkCalendar
    from inbox_agent.register.models import Case, Publication, RosterPerson


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def add_parsers(sub: Subparsers) -> None:
    """``roster``, ``publication``, ``publish``, ``parity`` and ``report``: one handler, ``run``."""
    _add_roster(sub)
    pub = sub.add_parser("publication", help="approve or withhold answers for the disclosure log")
    cmd = pub.add_subparsers(dest="publication_command", required=True)
    preview = cmd.add_parser("preview", help="the question and answer, as written and anonymised")
    preview.add_argument("reference")
    approve = cmd.add_parser("approve", help="approve a case for the disclosure log")
    approve.add_argument("reference")
    approve.add_argument("--question-file", type=Path, help="your anonymised question (UTF-8)")
    approve.add_argument("--answer-file", type=Path, help="your anonymised answer (UTF-8)")
    approve.add_argument("--force", action="store_true", help="accept your texts as written")
    withhold = cmd.add_parser("withhold", help="record that an answer is not to be published")
    withhold.add_argument("reference")
    withhold.add_argument("--reason", required=True)
    cmd.add_parser("list", help="approved and withheld cases")
    out = sub.add_parser("publish", help="write the disclosure log (HTML and CSV)")
    out.add_argument("--output", type=Path, help="folder (default: transparency.publish_dir)")
    par = sub.add_parser("parity", help="equal treatment of candidates, with alerts")
    par.add_argument("--json", action="store_true", help="one JSON object")
    rep = sub.add_parser("report", help="the weekly summary to the Chief Executive")
    rcmd = rep.add_subparsers(dest="report_command", required=True)
    weekly = rcmd.add_parser("weekly", help="print it; --send queues it to weekly_report_to")
    weekly.add_argument("--send", action="store_true", help="queue it (even if already sent)")
    for command in ("roster", "publication", "publish", "parity", "report"):
        on_one_mailbox(sub.choices[command], run)


def _add_roster(sub: Subparsers) -> None:
    ros = sub.add_parser("roster", help="candidates, agents and representatives")
    cmd = ros.add_subparsers(dest="roster_command", required=True)
    imp = cmd.add_parser("import", help="import a CSV (e.g. the statement of persons nominated)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--date", type=_date, help="date of the source document (YYYY-MM-DD)")
    add = cmd.add_parser("add", help="add or update one person")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="candidate, prospective candidate, agent...")
    add.add_argument("--party", default="", help='party name, or "Independent"')
    add.add_argument("--email", action="append", default=[], help="an address (repeatable)")
    add.add_argument("--acts-for", default="", help="an agent's or representative's candidate")
    add.add_argument("--incumbent", action="store_true", help="the serving PCC")
    add.add_argument("--deputy", action="store_true", help="the serving Deputy PCC")
    add.add_argument("--address", default="", help="postal address (redacted when published)")
    add.add_argument("--phone", default="")
    add.add_argument("--source", default="added by staff")
    add.add_argument("--date", type=_date)
    listing = cmd.add_parser("list", help="everyone on the roster")
    listing.add_argument("--json", action="store_true", help="one JSON object per person")


def run(settings: Settings, args: argparse.Namespace, out: IO[str], clock: Clock = utc_now) -> int:
    with register_transaction(settings) as session:
        handler = {
            "roster": _roster,
            "publication": _publication,
            "publish": _publish,
            "parity": _parity,
            "report": _report,
        }[args.command]
        return handler(session, settings, args, out, clock())


def _roster(
    session: Session, settings: Settings, args: argparse.Namespace, out: IO[str], now: dt.datetime
) -> int:
    from inbox_agent.transparency import roster

    command = args.roster_command
    if command == "list":
        for person in roster.list_people(session):
            if args.json:
                out.write(json.dumps(_person_json(person), ensure_ascii=False) + "\n")
            else:
                print(roster.describe(person), file=out)
        return 0
    if command == "import":
        try:
            text = args.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise roster.RosterError(f"{args.file}: cannot read: {exc}") from exc
        report = roster.import_roster_csv(
            session, text, file=str(args.file), source_date=args.date, actor=cli_actor(), now=now
        )
    else:
        values = {
            "name": args.name,
            "role": args.role,
            "party": args.party,
            "email": ";".join(args.email),
            "acts_for": args.acts_for,
            "incumbent": "yes" if args.incumbent else "no",
            "deputy": "yes" if args.deputy else "no",
            "postal_address": args.address,
            "phone": args.phone,
        }
        try:
            entry = roster.make_entry(values, source=args.source, source_date=args.date)
        except roster.RowError as exc:
            problems = "; ".join(f"{c}: {m}" for c, m in exc.problems)
            raise roster.RosterError(f"roster add {args.name!r}: {problems}") from None
        report = roster.save_entries(
            session, [entry], actor=cli_actor(), now=now, what="roster add"
        )
    print(
        f"roster: {report.added} added, {report.updated} updated; "
        f"cases matched: {', '.join(report.cases_matched) or 'none'}",
        file=out,
    )
    return 0


def _person_json(person: RosterPerson) -> dict[str, object]:
    return {
        "name": person.name,
        "role": person.role,
        "party": "Independent" if person.independent else person.party,
        "emails": [a.email for a in person.addresses],
        "acts_for_id": person.acts_for_id,
        "incumbent": person.incumbent,
        "deputy": person.deputy,
        "source": person.source,
        "source_date": person.source_date.isoformat() if person.source_date else None,
        "id": person.id,
    }


def _read(path: Path | None) -> str | None:
    from inbox_agent.transparency import publish

    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise publish.PublicationError(f"{path}: cannot read: {exc}") from exc


def _publication(
    session: Session, settings: Settings, args: argparse.Namespace, out: IO[str], now: dt.datetime
) -> int:
    from inbox_agent.transparency import publish

    command = args.publication_command
    if command == "list":
        for row, case in _all_publications(session):
            when = row.published_on.isoformat() if row.published_on else "not yet published"
            what = row.decision if row.decision == publish.PUBLISH else f"withheld: {row.reason}"
            print(f"{case.reference:<16} {what:<40} {when}  by {row.approved_by}", file=out)
        return 0
    case = publish.find_case(session, args.reference)
    if command == "preview":
        draft = publish.draft_publication(session, settings, case)
        for title, text in (
            ("question as asked", draft.question_original),
            ("question, anonymised", draft.question),
            ("answer given", draft.answer_original or "(no answer recorded)"),
            ("answer, anonymised", draft.answer),
        ):
            print(f"--- {title} ---\n{text}\n", file=out)
        return 0
    if command == "withhold":
        publish.withhold_publication(session, case, args.reason, actor=cli_actor(), now=now)
        print(f"{case.reference}: withheld from the disclosure log", file=out)
        return 0
    publish.approve_publication(
        session,
        settings,
        case,
        actor=cli_actor(),
        now=now,
        question=_read(args.question_file),
        answer=_read(args.answer_file),
        force=args.force,
    )
    print(f"{case.reference}: approved; run 'inbox-agent publish' to put it online", file=out)
    return 0


def _all_publications(session: Session) -> list[tuple[Publication, Case]]:
    from sqlalchemy import select

    from inbox_agent.register.models import Case, Publication

    rows = session.execute(
        select(Publication, Case).join(Case, Case.id == Publication.case_id).order_by(Case.id)
    )
    return [(p, c) for p, c in rows]


def _publish(
    session: Session, settings: Settings, args: argparse.Namespace, out: IO[str], now: dt.datetime
) -> int:
    from inbox_agent.transparency import publish

    output = args.output or settings.transparency.publish_dir
    if output is None:
        raise ConfigError(
            f"{settings.source}: transparency.publish_dir is not set; give --output DIR"
        )
    try:
        report = publish.publish_log(session, settings, output, actor=cli_actor(), now=now)
    except OSError as exc:
        key = "--output" if args.output else f"{settings.source}: transparency.publish_dir"
        raise OperatorError(unwritable(key, Path(exc.filename or output), exc)) from exc
    print(
        f"wrote {report.entries} entries to {report.html} and {report.csv}; "
        f"new on the page: {', '.join(report.newly_published) or 'none'}",
        file=out,
    )
    return 0


def _calendar(settings: Settings) -> UkCalendar:
    from inbox_agent.deadlines import UkCalendar

    return UkCalendar.from_settings(settings.calendar)


def _parity(
    session: Session, settings: Settings, args: argparse.Namespace, out: IO[str], now: dt.datetime
) -> int:
    from inbox_agent.transparency import parity

    report = parity.build_parity(session, settings, now, _calendar(settings), compare=True)
    if args.json:
        out.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.writelines(line + "\n" for line in parity.render_parity(report))
    return 0


def _report(
    session: Session, settings: Settings, args: argparse.Namespace, out: IO[str], now: dt.datetime
) -> int:
    from inbox_agent.ops import reports

    calendar = _calendar(settings)
    if not args.send:
        summary = reports.build_weekly_summary(session, settings, now, calendar)
        rendered = reports.render_weekly_summary(settings, summary)
        print(f"Subject: {rendered.subject}\n\n{rendered.text}", file=out, end="")
        return 0
    if settings.transparency.weekly_report_to is None:
        raise ConfigError(f"{settings.source}: transparency.weekly_report_to is not set")
    row = reports.queue_weekly_report(session, settings, now, calendar, force=True)
    print(f"queued the weekly summary to {row.recipient if row else '?'}", file=out)
    return 0
