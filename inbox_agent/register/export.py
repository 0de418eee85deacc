"""The register as the protocol's annex C table, for CSV/JSONL export and the CLI.

Column names follow the protocol so the export can be pasted into the office's own register
workbook; our own columns (reference, category, status, due date) follow them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.register.models import Case

COLUMNS: tuple[tuple[str, str], ...] = (
    ("reference", "Reference"),
    ("date_of_contact", "Date of contact"),
    ("requester", "Candidate / agent / representative"),
    ("requester_type", "Requester type"),
    ("officer", "Officer"),
    ("method_of_contact", "Method of contact"),
    ("information_sought", "Information sought"),
    ("information_provided", "Information provided"),
    ("date_added_to_register", "Date added to register"),
    ("date_added_to_website", "Date added to website"),
    ("decisions_and_risk_mitigations", "Decisions and risk mitigations"),
    ("category", "Category"),
    ("status", "Status"),
    ("due_date", "Due date"),
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def case_row(case: Case) -> dict[str, str]:
    """One register row; the requester shown as ``Name <address>``."""
    requester = case.requester_email
    if case.requester_name:
        requester = f"{case.requester_name} <{case.requester_email}>"
    values: dict[str, Any] = {
        "reference": case.reference,
        "date_of_contact": case.date_of_contact,
        "requester": requester,
        "requester_type": case.requester_type,
        "officer": case.officer,
        "method_of_contact": case.method_of_contact,
        "information_sought": case.information_sought,
        "information_provided": case.information_provided,
        "date_added_to_register": case.date_added_to_register,
        "date_added_to_website": case.date_added_to_website,
        "decisions_and_risk_mitigations": case.decisions_and_risk_mitigations,
        "category": case.category,
        "status": case.status,
        "due_date": case.due_date,
    }
    return {key: _text(values[key]) for key, _ in COLUMNS}


def all_cases(session: Session) -> Iterator[Case]:
    yield from session.scalars(select(Case).order_by(Case.id))


def _safe_cell(value: str) -> str:
    """Stop spreadsheet formula injection: a requester controls these strings."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(cases: Iterable[Case], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    count = 0
    for case in cases:
        row = case_row(case)
        writer.writerow([_safe_cell(row[key]) for key, _ in COLUMNS])
        count += 1
    return count


def write_jsonl(cases: Iterable[Case], out: IO[str]) -> int:
    count = 0
    for case in cases:
        out.write(json.dumps(case_row(case), ensure_ascii=False) + "\n")
        count += 1
    return count
