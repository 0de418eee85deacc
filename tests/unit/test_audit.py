"""One audit module: every event has a registered name, and only register/audit.py writes one.

The checks read the package's source (an AST walk, so a comment or a docstring that mentions
``AuditEvent(`` does not count) and run a real pass of the demo mailbox to see what is stored.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
from support.builders import demo_office

from inbox_agent.cli import main
from inbox_agent.register import audit
from inbox_agent.register.audit import AuditAction
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "inbox_agent"
AUDIT_MODULE = PACKAGE / "register" / "audit.py"
WRITERS = {"record", "insert_event"}
SNAKE = re.compile(r"[a-z]+(?:_[a-z]+)+")  # the shape of an action name

NAMES_BEFORE_THE_REGISTRY = frozenset(
    [
        "acknowledgement_queued",
        "acknowledgement_withheld",
        "added_to_website",
        "alert_cleared",
        "alert_queued",
        "alert_raised",
        "answer_reused",
        "attachment_added",
        "attachment_approved",
        "attachment_removed",
        "attachments_sent",
        "case_closed",
        "case_opened",
        "case_reopened",
        "category_corrected",
        "clock_event_recorded",
        "contact_recorded",
        "decisions_recorded",
        "email_failed",
        "email_sent",
        "follow_up_read",
        "follow_up_received",
        "force_disclosure_filed",
        "forward_queued",
        "lockout_cleared",
        "login_failed",
        "login_succeeded",
        "machine_mail_logged",
        "message_joined_case",
        "message_quarantined",
        "message_released",
        "message_stored",
        "officer_assigned",
        "outcome_recorded",
        "paro_forward_queued",
        "publication_approved",
        "publication_withheld",
        "raw_mail_deleted",
        "reclassification_recorded",
        "register_downloaded",
        "register_row_anonymised",
        "reminder_queued",
        "reply_queued",
        "review_done",
        "review_opened",
        "review_requested",
        "roster_matched",
        "roster_updated",
        "sent_copy_deleted",
        "treated_as_public",
        "user_added",
        "user_disabled",
        "user_email_set",
        "user_enabled",
        "user_password_reset",
        "weekly_report_queued",
    ]
)
"""What registers written before register/audit.py hold in ``audit_events.action``."""


def _modules() -> list[tuple[Path, ast.Module]]:
    paths = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in paths]


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def test_no_module_but_the_audit_module_writes_an_audit_event() -> None:
    offenders = []
    for path, tree in _modules():
        if path == AUDIT_MODULE:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            builds = name == "AuditEvent"
            inserts = name == "insert" and any(
                isinstance(arg, ast.Name) and arg.id == "AuditEvent" for arg in node.args
            )
            if builds or inserts:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "write audit events through inbox_agent.register.audit.record"


def test_every_writer_names_its_action_from_the_registry() -> None:
    """A string literal where the action goes would store a name nobody registered."""
    literals = []
    calls = 0
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _called(node) not in WRITERS | {"audit"}:
                continue
            calls += 1
            for arg in [*node.args, *(k.value for k in node.keywords if k.arg == "action")]:
                if isinstance(arg, ast.Constant) and SNAKE.fullmatch(str(arg.value)):
                    literals.append(f"{path.relative_to(ROOT)}:{node.lineno}: {arg.value}")
    assert calls > 40  # the walk does see the writers
    assert literals == []


def test_record_refuses_a_name_that_is_not_registered(tmp_path: Path) -> None:
    register = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    try:
        with register.transaction() as session:
            now = dt.datetime(2027, 4, 1, 9, 0, tzinfo=dt.UTC)
            with pytest.raises(ValueError, match="case_deleted"):
                audit.record(session, "case_deleted", at=now)  # type: ignore[arg-type]
            event = audit.record(session, AuditAction.REVIEW_DONE, at=now, actor="sam", why="ok")
            session.flush()
            assert (event.action, event.actor, event.detail) == (
                "review_done",
                "sam",
                {"why": "ok"},
            )
    finally:
        register.dispose()


def test_every_name_is_documented_unique_and_the_old_names_still_read() -> None:
    source = ast.parse(AUDIT_MODULE.read_text(encoding="utf-8"))
    enum = next(
        n for n in source.body if isinstance(n, ast.ClassDef) and n.name == AuditAction.__name__
    )
    undocumented = []
    for assign, after in zip(enum.body, [*enum.body[1:], None], strict=True):
        if isinstance(assign, ast.Assign):
            documented = (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            )
            if not documented:
                undocumented.append(ast.unparse(assign.targets[0]))
    assert undocumented == []
    values = [a.value for a in AuditAction]
    assert len(values) == len(set(values))
    missing = [n for n in NAMES_BEFORE_THE_REGISTRY if n not in set(values)]
    assert missing == [], "an old register's rows would no longer read"
    assert all(AuditAction(n).value == n for n in NAMES_BEFORE_THE_REGISTRY)


def test_a_real_pass_stores_only_registered_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_office(tmp_path)
    assert main(["--config", str(config), "run", "--once"]) == 0, capsys.readouterr().err
    with sqlite3.connect(tmp_path / "demo" / "register.sqlite3") as db:
        stored = {row[0] for row in db.execute(f"SELECT action FROM {AuditEvent.__tablename__}")}
    assert {"message_stored", "case_opened", "machine_mail_logged", "email_sent"} <= stored
    assert stored <= {a.value for a in AuditAction}
