"""Statutory casework at a busy office's scale: statistics, reminders, attachment checks.

Prints figures; asserts only that the results are right. ``--cases`` FOI and SAR cases (a
third with a clock step, a third answered) go into a temporary SQLite register; then:

* ``statistics_s``: the dashboard's quarterly figures (every clock replayed);
* ``reminders_s``: one reminder pass over them (cold: every reminder owed is queued), and
  ``reminders_again_s``: the next pass, which finds every key sent and queues nothing;
* ``register_rows_s``: every row of the register export (each statutory clock replayed), and
  ``export_csv_s`` / ``export_xlsx_s``: writing them as the web download does;
* ``stopped_clocks_s``: the dashboard's list of open cases whose clock is stopped;
* ``xlsx_s`` / ``docx_s``: inspecting a spreadsheet of ``--rows`` rows with a hidden sheet,
  and a 200-paragraph Word file with tracked changes, anonymiser included.

    .venv/bin/python benchmarks/casework.py --cases 3000
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import docx
from docx.oxml import parse_xml
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.builders import base_config  # noqa: E402
from support.statutory_cases import statutory_case  # noqa: E402

from inbox_agent.casework.attachment_checks import Verdict, inspect_attachment  # noqa: E402
from inbox_agent.casework.clock_status import open_stopped_cases  # noqa: E402
from inbox_agent.casework.register_rows import register_rows  # noqa: E402
from inbox_agent.casework.statistics import quarterly_figures, statistics_records  # noqa: E402
from inbox_agent.casework.statutory import record_clock_event, record_outcome  # noqa: E402
from inbox_agent.deadlines import UkCalendar  # noqa: E402
from inbox_agent.ops.reminders import queue_reminders  # noqa: E402
from inbox_agent.register.db import Register  # noqa: E402
from inbox_agent.settings import settings_from_dict  # noqa: E402
from inbox_agent.transparency.anonymise import Anonymiser, Lexicon  # noqa: E402
from inbox_agent.web.casework import assign_officer  # noqa: E402
from inbox_agent.web.downloads import register_csv, register_xlsx  # noqa: E402

T = TypeVar("T")
TZ = "Europe/London"
NOW = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)


def _fill(register: Register, cases: int, cal: UkCalendar) -> None:
    start = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
    with register.transaction() as s:
        for n in range(1, cases + 1):
            received = start + dt.timedelta(hours=7 * n % (300 * 24))
            category = "subject_access_request" if n % 5 == 0 else "foi_request"
            case = statutory_case(s, n, received, category=category, requester=f"p{n}@x.org")
            day = received.date()
            if n % 3 == 0:
                record_clock_event(
                    s, cal, TZ, case, kind="clarification_sought", on=day, until=None,
                    reason="which period?", actor="b", now=received, today=day,
                )  # fmt: skip
            elif n % 3 == 1:
                record_outcome(
                    s, case, outcome="granted_in_full", exemptions=[],
                    responded_on=day + dt.timedelta(days=10), actor="b", now=received,
                    today=day + dt.timedelta(days=10),
                )  # fmt: skip
            if n % 4 == 0:
                assign_officer(s, case, "Fiona Officer", actor="b", now=received)


def _xlsx(rows: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in range(rows):
        ws.append([f"2026-{r % 12 + 1:02d}", r, r * 1.5, "Testshire"])
    wb.create_sheet("Working").sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _docx() -> bytes:
    d = docx.Document()
    for k in range(200):
        d.add_paragraph(f"Paragraph {k}: overtime hours paid to officers in Testshire in 2025.")
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    d.paragraphs[3]._p.append(
        parse_xml(f'<w:ins {w} w:id="1" w:author="A" w:date="2026-01-01T00:00:00Z"/>')
    )
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    t = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - t, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    cal = UkCalendar()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/register.sqlite3"
        data = base_config(url) | {
            "maildir": {"path": tmp},
            "casework": {"remind_working_days_before": 3},
        }
        settings = settings_from_dict(data, Path(tmp) / "inbox-agent.toml")
        register = Register(url)
        _, fill_s = _timed(lambda: _fill(register, args.cases, cal))
        with register.transaction() as s:
            table, stats_s = _timed(
                lambda: quarterly_figures(statistics_records(s, cal, TZ), NOW.date())
            )
        received = sum(f.received for rows in table.values() for f in rows)
        assert received == args.cases, received
        with register.transaction() as s:
            queued, reminders_s = _timed(lambda: queue_reminders(s, settings, NOW, cal))
        with register.transaction() as s:
            again, again_s = _timed(lambda: queue_reminders(s, settings, NOW, cal))
        assert queued and not again
        with register.transaction() as s:
            rows, rows_s = _timed(lambda: list(register_rows(s, settings)))
            stopped, stopped_s = _timed(lambda: open_stopped_cases(s, cal, TZ))
        assert len(rows) == args.cases
        assert sum(r["clock"] == "stopped" for r in rows) == len(stopped) == args.cases // 3
        export_csv, csv_s = _timed(lambda: register_csv(rows))
        export_xlsx, xlsx_export_s = _timed(lambda: register_xlsx(rows))
        register.dispose()
    anonymiser = Anonymiser(Lexicon(names=("Harriet Ogunleye",)))
    find = lambda text: [r.label for r in anonymiser.find(text)]  # noqa: E731
    xlsx = _xlsx(args.rows)
    result, xlsx_s = _timed(lambda: inspect_attachment("figures.xlsx", xlsx, find))
    assert result.verdict is Verdict.NEEDS_APPROVAL
    document = _docx()
    result, docx_s = _timed(lambda: inspect_attachment("letter.docx", document, find))
    assert result.verdict is Verdict.NEEDS_APPROVAL
    print(
        json.dumps(
            {
                "cases": args.cases,
                "fill_s": round(fill_s, 1),
                "statistics_s": stats_s,
                "reminders_queued": len(queued),
                "reminders_s": reminders_s,
                "reminders_again_s": again_s,
                "register_rows_s": rows_s,
                "export_csv_s": csv_s,
                "export_csv_bytes": len(export_csv),
                "export_xlsx_s": xlsx_export_s,
                "export_xlsx_bytes": len(export_xlsx),
                "stopped_clocks": len(stopped),
                "stopped_clocks_s": stopped_s,
                "xlsx_rows": args.rows,
                "xlsx_bytes": len(xlsx),
                "xlsx_s": xlsx_s,
                "docx_bytes": len(document),
                "docx_s": docx_s,
            }
        )
    )


if __name__ == "__main__":
    main()
