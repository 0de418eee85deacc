"""The register as a table: its columns, and the CSV and JSON-lines writers.

The first columns are the protocol's annex C, titled as the protocol titles them, so the export
can be pasted into the office's own register workbook; ours follow (reference first, then
category, status and due date), then the statutory casework: the statutory date before any
extension, the clock (running, extended, stopped, responded, closed) and what a stopped clock
awaits, the outcome, the exemptions cited, the date of the response, and the internal
review's link both ways. The rows are filled by ``casework/register_rows.py``, which knows
the law those columns need; this module lays them out.

No cell may become a formula: the requester writes half of what is in them, and staff paste
from emails. CSV cells that a spreadsheet would read as one get a leading apostrophe; the
XLSX download (``web/downloads.py``) stores every cell as text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from typing import IO

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
    ("statutory_date", "Statutory date"),
    ("clock", "Statutory clock"),
    ("clock_stopped_since", "Clock stopped since"),
    ("clock_stopped_awaiting", "Clock stopped awaiting"),
    ("outcome", "Outcome"),
    ("exemptions", "Exemptions cited"),
    ("responded_on", "Date of response"),
    ("internal_review", "Internal review"),
    ("review_of", "Review of"),
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""What a spreadsheet may read as the start of a formula (OWASP's CSV injection list)."""


def safe_cell(value: str) -> str:
    """Stop spreadsheet formula injection: a requester controls these strings."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_csv(rows: Iterable[Mapping[str, str]], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(row[key]) for key, _ in COLUMNS])
        count += 1
    return count


def write_jsonl(rows: Iterable[Mapping[str, str]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps({key: row[key] for key, _ in COLUMNS}, ensure_ascii=False) + "\n")
        count += 1
    return count
