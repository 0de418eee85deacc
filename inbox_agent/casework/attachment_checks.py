"""What an attachment to a reply could leak, found before it is queued.

The well-known FOI breaches are spreadsheets whose hidden sheets held personal data, pivot
tables fed by a hidden source, Word files that still carried tracked changes or reviewers'
comments. So every file a member of staff attaches is opened here and judged:

* BLOCKED: it cannot go at all. Too large; not the file its name says; an archive that
  would expand beyond reason; a macro-enabled or legacy binary Office file we cannot inspect
  (save it as .xlsx, .docx or PDF); a file type we do not send.
* NEEDS_APPROVAL: a second member of staff (not the one who attached it) must look and
  approve. XLSX: hidden or very hidden sheets, hidden rows or columns, external links
  (``xl/externalLinks`` parts or formulas that name another workbook), cell comments.
  DOCX: tracked changes (insertions, deletions, moves), comments, hidden text. Any
  inspected file whose text (hidden parts included) the anonymiser finds personal data in.
  A PDF or image, whose content is not inspected here.
* OK: nothing found.

The XLSX checks use openpyxl; the DOCX checks python-docx (its parser does not resolve
entities) and its lxml tree for the revision marks python-docx does not model. The zip
container is measured before either library opens it. Findings say what and how many, never
the personal data itself, because they go on the audit trail.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import Any

MAX_BYTES = 15 * 1024 * 1024
"""Largest attachment accepted (most mail systems refuse a message over 20-25 MB)."""

MAX_UNZIPPED = 200 * 1024 * 1024
MAX_RATIO = 200
"""An Office file whose parts expand beyond these is refused as a possible zip bomb."""

PersonalDataFinder = Callable[[str], list[str]]
"""Text -> the labels of the personal data found in it (the anonymiser's, e.g. "PERSON")."""

_EXTERNAL_FORMULA = re.compile(r"\[(?:\d+|[^\]]+\.xl\w+)\]")
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_REVISIONS = ("ins", "del", "moveFrom", "moveTo")
TEXT_TYPES = {".txt": "text/plain", ".csv": "text/csv"}
UNINSPECTED = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
OFFICE = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
REFUSED = {
    ".xlsm": "a macro-enabled workbook cannot be sent: save it as .xlsx",
    ".docm": "a macro-enabled document cannot be sent: save it as .docx",
    ".xls": "an old-format workbook cannot be inspected: save it as .xlsx",
    ".doc": "an old-format document cannot be inspected: save it as .docx",
}


class Verdict(StrEnum):
    OK = "ok"
    NEEDS_APPROVAL = "needs_approval"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Finding:
    code: str
    text: str
    blocks: bool = False


@dataclass(frozen=True)
class Inspection:
    content_type: str
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        if any(f.blocks for f in self.findings):
            return Verdict.BLOCKED
        return Verdict.NEEDS_APPROVAL if self.findings else Verdict.OK


def inspect_attachment(
    filename: str, data: bytes, find_personal: PersonalDataFinder | None
) -> Inspection:
    """Open the file as its extension says and list what could leak; never raises for a file."""
    suffix = PurePath(filename).suffix.lower()
    if len(data) > MAX_BYTES:
        return _blocked("too_large", f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    if suffix in REFUSED:
        return _blocked("refused_type", REFUSED[suffix])
    if suffix in UNINSPECTED:
        finding = Finding("not_inspected", "this kind of file is not inspected: check it by eye")
        return Inspection(UNINSPECTED[suffix], (finding,))
    if suffix in TEXT_TYPES:
        text = _decode(data)
        return Inspection(TEXT_TYPES[suffix], tuple(_personal(text, find_personal)))
    if suffix not in OFFICE:
        return _blocked("refused_type", f"files of type {suffix or '(none)'} are not sent")
    problem = _zip_problem(data)
    if problem is not None:
        return _blocked("bad_file", problem)
    inspect = _inspect_xlsx if suffix == ".xlsx" else _inspect_docx
    try:
        findings, text = inspect(data)
    except Exception as exc:  # a library's parse error: whatever it is, the file cannot go
        return _blocked("bad_file", f"the file could not be read ({type(exc).__name__})")
    return Inspection(OFFICE[suffix], (*findings, *_personal(text, find_personal)))


def _blocked(code: str, text: str) -> Inspection:
    return Inspection("application/octet-stream", (Finding(code, text, blocks=True),))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _zip_problem(data: bytes) -> str | None:
    """Why the container is unsafe to open, or None: not a zip, or a bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        return "not a valid Office file"
    expanded = sum(i.file_size for i in infos)
    if expanded > MAX_UNZIPPED or expanded > MAX_RATIO * max(len(data), 1):
        return "it expands to far more than its size (a possible zip bomb)"
    return None


def _personal(text: str, find: PersonalDataFinder | None) -> list[Finding]:
    if find is None or not text.strip():
        return []
    labels = Counter(find(text))
    if not labels:
        return []
    counts = ", ".join(f"{n} {label.lower()}" for label, n in sorted(labels.items()))
    return [Finding("personal_data", f"the text appears to contain personal data ({counts})")]


def _inspect_xlsx(data: bytes) -> tuple[list[Finding], str]:
    from openpyxl import load_workbook

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    links = [n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml")]
    workbook = load_workbook(io.BytesIO(data), data_only=False)
    findings: list[Finding] = []
    texts: list[str] = []
    formulas = comments = 0
    for sheet in workbook.worksheets:
        findings += _hidden_parts(sheet)
        sheet_texts, sheet_formulas, sheet_comments = _cells(sheet)
        texts += sheet_texts
        formulas += sheet_formulas
        comments += sheet_comments
    workbook.close()
    if links or formulas:
        text = f"{len(links)} external link parts, {formulas} formulas naming another workbook"
        findings.append(Finding("external_links", text))
    if comments:
        findings.append(Finding("comments", f"{comments} cell comments"))
    return findings, "\n".join(texts)


def _hidden_parts(sheet: Any) -> list[Finding]:
    """A hidden or very hidden sheet, and its hidden rows and columns."""
    found = []
    if sheet.sheet_state != "visible":
        found.append(Finding("hidden_sheet", f"sheet '{sheet.title}' is {sheet.sheet_state}"))
    rows = sum(1 for d in sheet.row_dimensions.values() if d.hidden)
    columns = sum(1 for d in sheet.column_dimensions.values() if d.hidden)
    if rows:
        found.append(Finding("hidden_rows", f"sheet '{sheet.title}' has {rows} hidden rows"))
    if columns:
        found.append(
            Finding("hidden_columns", f"sheet '{sheet.title}' has {columns} hidden columns")
        )
    return found


def _cells(sheet: Any) -> tuple[list[str], int, int]:
    """Each distinct cell text (comments too), formulas naming another workbook, comments.

    Numbers are left out of the text the anonymiser reads (none of its patterns can match a
    bare number: a phone number typed as a number has already lost its leading 0), and so
    are repeats, so a large table of figures is read in seconds. Dates are kept (a date of
    birth is personal data in the wrong column).
    """
    texts: dict[str, None] = {}
    formulas = comments = 0
    for row in sheet.iter_rows():
        for cell in row:
            value = cell.value
            if isinstance(value, str) and value.startswith("=") and _EXTERNAL_FORMULA.search(value):
                formulas += 1
            if isinstance(value, int | float):
                value = None
            if value is not None:
                texts[str(value)] = None
            if cell.comment is not None:
                comments += 1
                texts[cell.comment.text] = None
    return list(texts), formulas, comments


def _inspect_docx(data: bytes) -> tuple[list[Finding], str]:
    import docx

    document = docx.Document(io.BytesIO(data))
    roots = [document.element]
    for section in document.sections:
        for part in (section.header, section.footer):
            if not part.is_linked_to_previous:  # else it has no definition of its own
                roots.append(part._element)
    revisions = Counter[str]()
    hidden = 0
    texts: list[str] = []
    for root in roots:
        for name in _REVISIONS:
            revisions[name] += len(root.findall(f".//{{{_W}}}{name}"))
        hidden += len(root.findall(f".//{{{_W}}}rPr/{{{_W}}}vanish"))
        for paragraph in root.iter(f"{{{_W}}}p"):  # a word may be split across runs
            runs = paragraph.iter(f"{{{_W}}}t", f"{{{_W}}}delText")
            texts.append("".join(t.text or "" for t in runs))
    findings: list[Finding] = []
    if sum(revisions.values()):
        counts = ", ".join(f"{n} {k}" for k, n in revisions.items() if n)
        findings.append(Finding("tracked_changes", f"tracked changes are still in it ({counts})"))
    comments = list(document.comments)
    if comments:
        findings.append(Finding("comments", f"{len(comments)} comments"))
        texts += [c.text for c in comments]
    if hidden:
        findings.append(Finding("hidden_text", f"{hidden} runs of hidden text"))
    return findings, "\n".join(texts)
