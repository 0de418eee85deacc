"""The protocol register as a download: CSV (``register/export.py``) and an XLSX workbook.

Both carry the same columns in the same order as ``inbox-agent register export``. No cell may
become a formula, because the requester writes half of what is in them: the CSV prefixes such
cells with an apostrophe (``export.safe_cell``); the workbook stores every cell as text.

A workbook cell has limits a CSV field has not: XML 1.0 cannot hold most control characters
(a hostile subject line carries them; openpyxl refuses the whole workbook), and Excel holds at
most 32,767 characters in a cell (a long reply has more; Excel "repairs" the file by emptying
it). Such characters become U+FFFD, and a longer text is cut there with a note saying so:
the CSV download and ``register export`` carry it whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from inbox_agent.register.export import COLUMNS, write_csv

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_CELL_MAX = 32_767  # Excel's limit on the characters of one cell
_WIDTHS = {
    "information_sought": 60,
    "information_provided": 60,
    "decisions_and_risk_mitigations": 40,
}


def register_csv(rows: Iterable[Mapping[str, str]]) -> bytes:
    out = io.StringIO()
    write_csv(rows, out)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def xlsx_text(value: str) -> str:
    """``value`` as a workbook cell can hold it: no illegal characters, at most 32,767 long."""
    text = str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    if len(text) <= XLSX_CELL_MAX:
        return text
    note = f" [cut at {XLSX_CELL_MAX:,} of {len(text):,} characters: the CSV has it all]"
    return text[: XLSX_CELL_MAX - len(note)] + note


def _text_cell(sheet: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=xlsx_text(value))
    cell.data_type = "s"  # openpyxl makes "=..." a formula; text stays text
    return cell


def register_xlsx(rows: Iterable[Mapping[str, str]], title: str = "Register") -> bytes:
    """The workbook, streamed row by row (openpyxl's write-only mode: memory stays flat)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for index, (key, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(key, 22)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    headings = [_text_cell(sheet, heading) for _, heading in COLUMNS]
    for cell in headings:
        cell.font = bold
    sheet.append(headings)
    for row in rows:
        sheet.append([_text_cell(sheet, row[key]) for key, _ in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
