"""The protocol register as a download: CSV (``register/export.py``) and an XLSX workbook.

Both carry the same columns in the same order as ``inbox-agent register export``. No cell may
become a formula, because the requester writes half of what is in them: the CSV prefixes such
cells with an apostrophe (``export._safe_cell``); the workbook stores every cell as text.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.styles import Font

from inbox_agent.register.export import COLUMNS, case_row, write_csv
from inbox_agent.register.models import Case

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WIDTHS = {"information_sought": 60, "information_provided": 60}


def register_csv(cases: Iterable[Case]) -> bytes:
    out = io.StringIO()
    write_csv(cases, out)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def register_xlsx(cases: Iterable[Case], title: str = "Register") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append([heading for _, heading in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for case in cases:
        row = case_row(case)
        sheet.append([row[key] for key, _ in COLUMNS])
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # openpyxl makes "=..." a formula; text stays text
    for index, (key, _) in enumerate(COLUMNS, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = _WIDTHS.get(key, 22)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
