"""``inbox-agent classify FILE.eml...`` and ``inbox-agent model train | evaluate | correct``.

The classifier from a shell: what it (and ``decide``) would make of a message, without writing
or sending anything, and the offline work on its model (see ``classify/training/``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from inbox_agent.cli.family import Subparsers, on_one_mailbox, register_transaction
from inbox_agent.clock import utc_now
from inbox_agent.deadlines import UkCalendar, received_local_date
from inbox_agent.errors import SenderError

if TYPE_CHECKING:
    from inbox_agent.settings import Settings


def add_parsers(sub: Subparsers) -> None:
    classify = sub.add_parser("classify", help="classify .eml files; writes and sends nothing")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.add_argument("files", nargs="+", type=Path)
    on_one_mailbox(classify, lambda settings, args, out: classify_files(settings, args.files, out))
    model_parser = sub.add_parser("model", help="train and evaluate the classifier's model")
    cmd = model_parser.add_subparsers(dest="model_command", required=True)
    train = cmd.add_parser("train", help="rebuild the shipped textcat from the corpus")
    train.add_argument("--corpus", type=Path, help="corpus folder (default: data/corpus)")
    train.add_argument("--architecture", choices=("bow", "ensemble", "cnn"), default="bow")
    train.add_argument("--include-corrections", action="store_true", help="add staff corrections")
    train.add_argument("--output", type=Path, help="model folder (default: the shipped one)")
    evaluate = cmd.add_parser("evaluate", help="figures on the test split, and a baseline")
    evaluate.add_argument("--corpus", type=Path, help="corpus folder (default: data/corpus)")
    evaluate.add_argument("--split", choices=("test", "dev", "train"), default="test")
    evaluate.add_argument("--limit", type=int, help="only the first N messages of the split")
    evaluate.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    evaluate.add_argument("--sisimai", type=Path, help="sisimai maildir for machine-mail recall")
    evaluate.add_argument("--no-machine", action="store_true", help="skip machine-mail recall")
    correct = cmd.add_parser("correct", help="put a case in another category (a new example)")
    correct.add_argument("reference")
    correct.add_argument("category")
    correct.add_argument("--user", required=True, help="who is correcting it")
    on_one_mailbox(model_parser, model)


def classify_one(settings: Settings, path: Path, today: dt.date) -> dict[str, Any]:
    """The JSON object for one file: what the daemon would decide, without doing it."""
    from inbox_agent.classify.classifier import classify_message
    from inbox_agent.decide import decide
    from inbox_agent.facts import gather_facts
    from inbox_agent.parse import parse_message

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


def model(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    """``model train | evaluate | correct``: see inbox_agent/classify/training/."""
    from inbox_agent.classify import textcat
    from inbox_agent.classify.training import corpus, corrections, evaluation
    from inbox_agent.classify.training import train as training
    from inbox_agent.register.db import Register

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
    from inbox_agent.register.models import Case

    calendar = UkCalendar.from_settings(settings.calendar)
    with register_transaction(settings) as session:
        row = record_correction(session, args.reference, args.category, args.user, utc_now())
        case = session.get(Case, row.case_id)
        if case is not None:
            received = received_local_date(case.messages[0].received_at, settings.office.timezone)
            days = settings.cases.target_working_days
            case.due_date = due_date_for(Category(row.new_category), received, calendar, days)
        print(f"{args.reference}: {row.old_category} -> {row.new_category}", file=out)
    return 0
