"""What each CLI command does, kept apart from argument parsing so tests can call it directly."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from inbox_agent import __version__
from inbox_agent.classify.classifier import classify_message
from inbox_agent.clock import utc_now
from inbox_agent.deadlines import UkCalendar, received_local_date
from inbox_agent.decide import decide
from inbox_agent.deployment import Deployment, Mailbox
from inbox_agent.errors import (
    ConfigError,
    OperatorError,
    SenderError,
    TransientError,
    unwritable,
)
from inbox_agent.facts import gather_facts
from inbox_agent.localbox import LocalFetcher
from inbox_agent.logs import mailbox_context
from inbox_agent.ops.health import Health, build_health, build_info, render_health, render_nagios
from inbox_agent.ops.retention import apply_retention, plan_retention, render_report
from inbox_agent.parse import parse_message
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register, schema_state, sqlite_path
from inbox_agent.register.export import all_cases, case_row, write_csv, write_jsonl
from inbox_agent.register.locks import InstanceLock, instance_lock
from inbox_agent.register.models import Case
from inbox_agent.scheduler import run_daemon
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)


def run(deployment: Deployment, *, once: bool) -> int:
    """The daemon, or one pass of every mailbox; registers that are down are retried.

    With ``--once`` a mailbox that fails is reported and the next one still runs; the exit
    code is 1 when any failed, so a cron wrapper notices, and 2 when any met an operator's
    error (configuration, templates, a register newer than this release).
    """
    log.info(
        "event=starting version=%s once=%s mailboxes=%d",
        __version__,
        once,
        len(deployment.mailboxes),
    )
    stop = threading.Event()
    pipelines = [
        Pipeline(
            m.settings, Register(m.settings.database.url, migrate=False), stop=stop, name=m.name
        )
        for m in deployment
    ]
    failed = operator = 0
    locks: list[InstanceLock] = []
    try:
        # one run per SQLite register: a second daemon stops here, before it polls or sends
        for pipeline in pipelines:
            if (lock := instance_lock(pipeline.register)) is not None:
                locks.append(lock)
        if not once:
            _check_schemas(pipelines)
            run_daemon(pipelines)
            return 0
        for pipeline in pipelines:
            with mailbox_context(pipeline.name):
                try:
                    report = pipeline.run_once()
                except (TransientError, OperatorError) as exc:
                    if len(pipelines) == 1:
                        raise
                    is_operator = isinstance(exc, OperatorError)
                    failed, operator = failed + (not is_operator), operator + is_operator
                    log.error("event=poll_failed error=%s", exc)
                    continue
            if len(pipelines) > 1:
                print(f"mailbox {pipeline.name}:", file=sys.stderr)
            _print_pass(report, sys.stderr)
    finally:
        for pipeline in pipelines:
            pipeline.lease.release()
            pipeline.register.dispose()
        for lock in locks:
            lock.release()
    return 2 if operator else (1 if failed else 0)


def _check_schemas(pipelines: list[Pipeline]) -> None:
    """At start-up: upgrade each reachable register (logged), refuse one newer than this code.

    A register that is down is left to the poll job, which migrates it when it comes back.
    """
    for pipeline in pipelines:
        with mailbox_context(pipeline.name):
            try:
                pipeline.register.ensure_schema()
            except TransientError as exc:
                log.warning("event=register_unavailable_at_start error=%s", exc)


def _print_pass(report: PassReport, out: IO[str]) -> None:
    f = report.fetch
    print(
        f"fetched {f.seen} (new {f.stored}, duplicates {f.duplicates}); "
        f"cases opened {report.cases_opened}, joined {report.joined}, "
        f"machine mail {report.machine}, quarantined {report.quarantined}, "
        f"retry later {report.retried}; emails sent {report.sent.sent}, "
        f"deferred {report.sent.deferred}, failed {report.sent.failed}",
        file=out,
    )


def classify_one(settings: Settings, path: Path, today: dt.date) -> dict[str, Any]:
    """The JSON object for one file: what the daemon would decide, without doing it."""
    try:
        mail = parse_message(path.read_bytes())
    except OSError as exc:
        return {"file": str(path), "error": f"cannot read: {exc.strerror}"}
    except SenderError as exc:
        return {"file": str(path), "category": None, "error": str(exc), "quarantine": True}
    result = classify_message(mail, settings.own_addresses)
    calendar = UkCalendar.from_settings(settings.calendar)
    facts = gather_facts(settings, mail, result, today)
    decision = decide(facts, calendar)
    requester = mail.requester
    return {
        "file": str(path),
        "category": str(result.category),
        "confidence": round(result.confidence, 3),
        "acknowledge": decision.acknowledge,
        "forward_paro": decision.forward_paro,
        "routes": list(decision.routes),
        "phase": facts.phase.value,
        "topics": sorted(t.value for t in facts.topics),
        "needs_review": decision.needs_review,
        "requester": requester.email if requester else None,
        "requester_name": requester.name if requester else None,
        "forwarded_by_staff": mail.forwarded is not None,
        "due_date": decision.due_date.isoformat() if decision.due_date else None,
        "reasons": list(result.reasons) + list(decision.reasons),
        "version": result.version,
    }


def classify_files(settings: Settings, files: Iterable[Path], out: IO[str]) -> int:
    today = received_local_date(utc_now(), settings.office.timezone)
    status = 0
    for path in files:
        row = classify_one(settings, path, today)
        status = status or int("error" in row and "quarantine" not in row)
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return status


def register(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    reg = Register(settings.database.url)
    try:
        with reg.transaction() as session:
            if args.register_command == "list":
                return _list(session.scalars(select(Case).order_by(Case.id)), args, out)
            if args.register_command == "show":
                case = session.scalars(select(Case).where(Case.reference == args.reference)).first()
                if case is None:
                    print(f"inbox-agent: no case {args.reference}", file=sys.stderr)
                    return 1
                _show(case, out)
                return 0
            writer = write_csv if args.format == "csv" else write_jsonl
            if args.output is None:
                writer(all_cases(session), out)
            else:
                try:
                    handle = args.output.open("w", encoding="utf-8", newline="")
                except OSError as exc:
                    raise OperatorError(unwritable("--output", args.output, exc)) from exc
                with handle:
                    count = writer(all_cases(session), handle)
                print(f"wrote {count} cases to {args.output}", file=sys.stderr)
            return 0
    finally:
        reg.dispose()


def _list(cases: Iterable[Case], args: argparse.Namespace, out: IO[str]) -> int:
    header = f"{'reference':<16} {'received':<16} {'category':<24} {'status':<11} {'due':<10}  "
    print(header + "requester / subject", file=out)
    for case in cases:
        if args.category and case.category != args.category:
            continue
        if args.status and case.status != args.status:
            continue
        review = " [review]" if case.needs_review else ""
        due = case.due_date.isoformat() if case.due_date else "-"
        received = case.date_of_contact.strftime("%Y-%m-%d %H:%M")
        print(
            f"{case.reference:<16} {received:<16} {case.category:<24} {case.status:<11} "
            f"{due:<10}  {case.requester_email} / {case.subject[:60]}{review}",
            file=out,
        )
    return 0


def _show(case: Case, out: IO[str]) -> None:
    for key, value in case_row(case).items():
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


IMPORT_PROGRESS_EVERY = 100  # messages between two progress lines of ``import``


def import_mailbox(settings: Settings, path: Path) -> int:
    """Register a Maildir or mbox export without emailing anyone; progress goes to stderr.

    A large export takes a while: a line after each stored batch and every hundred processed
    messages tells the operator it is moving, and how far it has to go.
    """
    reg = Register(settings.database.url)
    try:
        pipeline = Pipeline(settings, reg)
        pipeline.acknowledge_since = pipeline.clock()  # an import never emails anyone
        report = PassReport()
        fetcher = LocalFetcher(
            path,
            reg,
            max_bytes=settings.poll.max_message_bytes,
            clock=pipeline.clock,
            progress=lambda f: print(f"import: read {f.seen}, stored {f.stored}", file=sys.stderr),
        )
        report.fetch = fetcher.fetch_new()
        pipeline.process_pending(report, progress=_print_progress)
        _print_pass(report, sys.stderr)
    finally:
        reg.dispose()
    return 0


def _print_progress(done: int, total: int) -> None:
    if done % IMPORT_PROGRESS_EVERY == 0 or done == total:
        print(f"import: processed {done}/{total}", file=sys.stderr, flush=True)


def status(mailboxes: Sequence[Mailbox], out: IO[str], *, fmt: str = "text") -> int:
    """0 healthy, 1 degraded (``--nagios``: 0 OK, 1 WARNING, 2 CRITICAL).

    Read-only and secret-free: the register is neither created nor migrated, and no mail
    password is read, so it works from any shell that can read the configuration.
    """
    snapshots = [(m.name, *_snapshot(m.settings)) for m in mailboxes]
    healths = [(name, health) for name, health, _ in snapshots]
    if fmt == "nagios":
        code, line = render_nagios(healths, [m.settings for m in mailboxes])
        out.write(line + "\n")
        return code
    build = build_info()
    if fmt == "json":
        docs = {
            name: health.as_dict() | {"register_revision": rev} for name, health, rev in snapshots
        }
        ok = all(d["ok"] for d in docs.values())
        doc = next(iter(docs.values())) if len(docs) == 1 else {"ok": ok, "mailboxes": docs}
        out.write(json.dumps(doc | {"build": build}, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(
            f"inbox-agent {build['version']} (Python {build['python']}, {build['installed_at']})\n"
        )
        for name, health, revision in snapshots:
            if len(snapshots) > 1:
                out.write(f"== mailbox {name}\n")
            out.write(f"register revision {revision}\n")
            out.writelines(line + "\n" for line in render_health(health))
    return 1 if any(h.degraded for _, h in healths) else 0


def _snapshot(settings: Settings) -> tuple[Health, str | None]:
    """The health of one register, read without creating or migrating anything."""
    path = sqlite_path(settings.database.url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"database.url: no register at {path}; has inbox-agent run ever run with "
            f"{settings.source}?"
        )
    reg = Register(settings.database.url, migrate=False, create=False)
    try:
        state = schema_state(reg.engine)
        if not state.up_to_date:
            raise ConfigError(
                f"database.url: the register is at revision {state.current}, this release "
                f"reads {state.head}; inbox-agent db upgrade (or run, at start) migrates it"
            )
        with reg.transaction() as session:
            return build_health(session, utc_now(), settings), state.current
    finally:
        reg.dispose()


def retention(settings: Settings, out: IO[str], *, apply: bool) -> int:
    """Show what the retention policy would delete; with ``apply``, delete it."""
    reg = Register(settings.database.url)
    try:
        if apply:
            report = apply_retention(reg, settings.retention, utc_now())
        else:
            with reg.transaction() as session:
                report = plan_retention(session, settings.retention, utc_now())
    finally:
        reg.dispose()
    out.writelines(line + "\n" for line in render_report(report, settings.retention))
    return 0


def check_config(
    settings: Settings, out: IO[str], *, offline: bool = False, allow_past_poll: bool = False
) -> int:
    """Each check in turn (``preflight``); 2 if the operator must fix something, 1 if only
    a peer was unavailable, 0 when all passed. Never the secret, never a write."""
    from inbox_agent.ops.preflight import run_checks

    print(f"configuration {settings.source}: valid", file=out)
    today = received_local_date(utc_now(), settings.office.timezone)
    worst = 0
    for finding in run_checks(settings, today, offline=offline, allow_past_poll=allow_past_poll):
        verdict = "ok" if finding.error is None else "FAILED"
        print(f"{finding.name}: {verdict}: {finding.detail}", file=out)
        worst = max(worst, finding.code)
    if offline:
        print("offline: database, mail source and SMTP not contacted", file=out)
    return worst


def model(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """``model train | evaluate | correct``: see inbox_agent/classify/training/."""
    from inbox_agent.classify import textcat
    from inbox_agent.classify.training import corpus, corrections, evaluation
    from inbox_agent.classify.training import train as training

    if args.model_command == "correct":
        return _correct_category(settings, args, out)
    records = corpus.load_corpus(args.corpus or corpus.DEFAULT_CORPUS)
    if args.model_command == "train":
        extra: list[training.Example] = []
        if args.include_corrections:
            reg = Register(settings.database.url)
            try:
                extra = corrections.correction_examples(reg)
            finally:
                reg.dispose()
        output = args.output or textcat.MODEL_DIR
        training.run_training(
            records, out, corrections=extra, architecture=args.architecture, output=output
        )
        return 0
    trained = textcat.load_model(args.model) if args.model else textcat.shipped_model()
    evaluation.run_evaluation(
        records,
        args.split,
        trained,
        settings.cases.review_below_confidence,
        out,
        limit=args.limit,
        sisimai=None if args.no_machine else (args.sisimai or evaluation.SISIMAI),
    )
    return 0


def _correct_category(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """A staff correction: the case's new category, its due date, and a training label."""
    from inbox_agent.classify import Category
    from inbox_agent.classify.training.corrections import record_correction
    from inbox_agent.decide import due_date_for

    calendar = UkCalendar.from_settings(settings.calendar)
    reg = Register(settings.database.url)
    try:
        with reg.transaction() as session:
            row = record_correction(session, args.reference, args.category, args.user, utc_now())
            case = session.get(Case, row.case_id)
            if case is not None:
                received = received_local_date(
                    case.messages[0].received_at, settings.office.timezone
                )
                days = settings.cases.target_working_days
                case.due_date = due_date_for(Category(row.new_category), received, calendar, days)
            print(f"{args.reference}: {row.old_category} -> {row.new_category}", file=out)
    finally:
        reg.dispose()
    return 0


def db(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """``db status | upgrade | backup PATH``; none of them migrates by surprise.

    ``status`` exits 0 when the register is at this release's head, 1 when it needs ``db
    upgrade``, 2 when it is newer than this release (which ``run`` refuses).
    """
    from inbox_agent.register.backup import backup_register
    from inbox_agent.register.db import make_engine, schema_state, upgrade_schema

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


def quarantine(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """``quarantine list`` and ``quarantine release ID-or-REF`` (casework/quarantine.py)."""
    from inbox_agent.casework import quarantine as shunt
    from inbox_agent.cli.transparency import cli_actor

    reg = Register(settings.database.url)
    try:
        with reg.transaction() as session:
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
    finally:
        reg.dispose()
