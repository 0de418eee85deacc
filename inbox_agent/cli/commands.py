"""What each CLI command does, kept apart from argument parsing so tests can call it directly."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import smtplib
import ssl
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select

from inbox_agent.classify.classifier import classify_message
from inbox_agent.clock import utc_now
from inbox_agent.deadlines import UkCalendar, received_local_date
from inbox_agent.decide import Facts, decide
from inbox_agent.deployment import Deployment
from inbox_agent.errors import InboxAgentError, SenderError, TransientError
from inbox_agent.fetch import imap_session
from inbox_agent.localbox import LocalFetcher
from inbox_agent.logs import mailbox_context
from inbox_agent.oauth import smtp_xoauth2_login, token_provider
from inbox_agent.ops.health import build_health, render_health
from inbox_agent.ops.retention import apply_retention, plan_retention, render_report
from inbox_agent.parse import parse_message
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.export import all_cases, case_row, write_csv, write_jsonl
from inbox_agent.register.models import Case
from inbox_agent.scheduler import run_daemon
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)


def run(deployment: Deployment, *, once: bool) -> int:
    """The daemon, or one pass of every mailbox; registers that are down are retried.

    With ``--once`` a mailbox that fails is reported and the next one still runs; the exit
    code is 1 when any failed, so a cron wrapper notices.
    """
    stop = threading.Event()
    pipelines = [
        Pipeline(
            m.settings, Register(m.settings.database.url, migrate=False), stop=stop, name=m.name
        )
        for m in deployment
    ]
    failed = 0
    try:
        if not once:
            run_daemon(pipelines)
            return 0
        for pipeline in pipelines:
            with mailbox_context(pipeline.name):
                try:
                    report = pipeline.run_once()
                except TransientError as exc:
                    if len(pipelines) == 1:
                        raise
                    failed += 1
                    log.error("event=poll_failed error=%s", exc)
                    continue
            if len(pipelines) > 1:
                print(f"mailbox {pipeline.name}:", file=sys.stderr)
            _print_pass(report, sys.stderr)
    finally:
        for pipeline in pipelines:
            pipeline.lease.release()
            pipeline.register.dispose()
    return 1 if failed else 0


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
    calendar = UkCalendar(settings.calendar.extra_closures, settings.calendar.extra_working_days)
    facts = Facts(
        result,
        today,
        None,
        mail.requester is not None,
        settings.cases.review_below_confidence,
        settings.cases.target_working_days,
    )
    decision = decide(facts, calendar)
    requester = mail.requester
    return {
        "file": str(path),
        "category": str(result.category),
        "confidence": round(result.confidence, 3),
        "acknowledge": decision.acknowledge,
        "forward_paro": decision.forward_paro,
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
                with args.output.open("w", encoding="utf-8", newline="") as handle:
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
    print("audit trail:", file=out)
    for event in case.events:
        print(
            f"  {event.at.isoformat()} {event.actor} {event.action} "
            f"{json.dumps(event.detail, ensure_ascii=False)}",
            file=out,
        )


def import_mailbox(settings: Settings, path: Path) -> int:
    reg = Register(settings.database.url)
    try:
        pipeline = Pipeline(settings, reg)
        pipeline.acknowledge_since = pipeline.clock()  # an import never emails anyone
        report = PassReport()
        fetcher = LocalFetcher(
            path, reg, max_bytes=settings.poll.max_message_bytes, clock=pipeline.clock
        )
        report.fetch = fetcher.fetch_new()
        pipeline.process_pending(report)
        _print_pass(report, sys.stderr)
    finally:
        reg.dispose()
    return 0


def status(settings: Settings, out: IO[str], *, as_json: bool = False) -> int:
    """0 when healthy, 1 when degraded (polling failing too long, or emails failed for good)."""
    reg = Register(settings.database.url)
    try:
        with reg.transaction() as session:
            health = build_health(session, utc_now(), settings)
    finally:
        reg.dispose()
    if as_json:
        out.write(json.dumps(health.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.writelines(line + "\n" for line in render_health(health))
    return 1 if health.degraded else 0


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


def check_config(settings: Settings, out: IO[str]) -> int:
    """Each peer in turn; say which failed and why, never the secret."""
    print(f"configuration {settings.source}: valid", file=out)
    checks = [
        ("database", _check_database),
        ("mail source", _check_source),
        ("outgoing mail", _check_smtp),
    ]
    failed = 0
    for name, check in checks:
        try:
            detail = check(settings)
            print(f"{name}: ok ({detail})", file=out)
        except (InboxAgentError, OSError, smtplib.SMTPException) as exc:
            failed += 1
            print(f"{name}: FAILED: {exc}", file=out)
    return 2 if failed else 0


def _check_database(settings: Settings) -> str:
    reg = Register(settings.database.url)
    try:
        with reg.transaction() as session:
            cases = session.scalar(select(func.count()).select_from(Case))
    finally:
        reg.dispose()
    return f"{reg.engine.url.render_as_string(hide_password=True)}, {cases} cases"


def _check_source(settings: Settings) -> str:
    if settings.maildir is not None:
        path = settings.maildir.path
        if not ((path / "new").is_dir() or (path / "cur").is_dir() or path.is_file()):
            raise InboxAgentError(f"maildir.path: {path} is not a Maildir or mbox")
        return f"maildir {path}"
    cfg = settings.imap
    assert cfg is not None
    secret = settings.imap_password
    tokens = token_provider(settings) if cfg.auth == "oauth2" else None
    with imap_session(cfg, secret.get_secret_value() if secret else "", tokens) as client:
        info = client.select_folder(cfg.folder, readonly=True)
    who = f"logged in as {cfg.username}" + (f" via OAuth2, {tokens.identity}" if tokens else "")
    return f"imap {cfg.host}:{cfg.port} folder {cfg.folder}, {info[b'EXISTS']} messages; {who}"


def _check_smtp(settings: Settings) -> str:
    cfg = settings.smtp
    if cfg is None or cfg.deliver == "maildir":
        where = cfg.maildir_path if cfg else "(none: no [smtp] section)"
        return f"local maildir {where}; nothing leaves this server"
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    smtp_class = smtplib.SMTP_SSL if cfg.security == "ssl" else smtplib.SMTP
    kwargs: dict[str, Any] = {"timeout": cfg.timeout_seconds}
    if cfg.security == "ssl":
        kwargs["context"] = context
    with smtp_class(cfg.host, cfg.port, **kwargs) as smtp:
        smtp.ehlo()
        if cfg.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        secret = settings.smtp_password
        if cfg.auth == "oauth2":
            tokens = token_provider(settings)
            smtp_xoauth2_login(smtp, cfg.username or "", tokens)
            return (
                f"smtp {cfg.host}:{cfg.port} ({cfg.security}); logged in as {cfg.username} "
                f"via OAuth2, {tokens.identity}"
            )
        if cfg.username and secret:
            smtp.login(cfg.username, secret.get_secret_value())
    return f"smtp {cfg.host}:{cfg.port} ({cfg.security})"


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

    calendar = UkCalendar(settings.calendar.extra_closures, settings.calendar.extra_working_days)
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
