"""Attachments judged before they go: real XLSX and DOCX files built with openpyxl/python-docx."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import docx
import pytest
from docx.oxml import parse_xml
from openpyxl import Workbook
from openpyxl.comments import Comment

from inbox_agent.casework.attachment_checks import MAX_BYTES, Verdict, inspect_attachment
from inbox_agent.transparency.anonymise import Anonymiser, Lexicon

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


@pytest.fixture(scope="module")
def personal() -> Callable[[str], list[str]]:
    anonymiser = Anonymiser(Lexicon(names=("Harriet Ogunleye",)))
    return lambda text: [r.label for r in anonymiser.find(text)]


def _xlsx(change: Callable[[Workbook], None] = lambda wb: None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Overtime"
    ws.append(["Month", "Hours"])
    ws.append(["January", 1200])
    ws.append(["February", 1100])
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _docx(change: Callable[[docx.document.Document], None] = lambda d: None) -> bytes:
    d = docx.Document()
    d.add_paragraph("Overtime hours paid in 2025 were 14,200.")
    change(d)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _codes(
    name: str, data: bytes, find: Callable[[str], list[str]] | None
) -> tuple[Verdict, list[str]]:
    result = inspect_attachment(name, data, find)
    return result.verdict, [f.code for f in result.findings]


def _hide_sheet(wb: Workbook) -> None:
    wb.create_sheet("Names").append(["Officer", "Home address"])
    wb["Names"].sheet_state = "hidden"


def _very_hidden(wb: Workbook) -> None:
    wb.create_sheet("Source").sheet_state = "veryHidden"


def _hide_row(wb: Workbook) -> None:
    wb.active.row_dimensions[3].hidden = True


def _hide_column(wb: Workbook) -> None:
    wb.active.column_dimensions["B"].hidden = True


def _external(wb: Workbook) -> None:
    wb.active["C2"] = "='[Payroll 2025.xlsx]Sheet1'!A1"


def _comment(wb: Workbook) -> None:
    wb.active["B2"].comment = Comment("check with finance", "Reviewer")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_hide_sheet, "hidden_sheet"),
        (_very_hidden, "hidden_sheet"),
        (_hide_row, "hidden_rows"),
        (_hide_column, "hidden_columns"),
        (_external, "external_links"),
        (_comment, "comments"),
    ],
)
def test_xlsx_hidden_content_and_links_need_a_second_approval(
    change: Callable[[Workbook], None], code: str
) -> None:
    assert _codes("figures.xlsx", _xlsx(), None) == (Verdict.OK, [])
    assert _codes("figures.xlsx", _xlsx(change), None) == (Verdict.NEEDS_APPROVAL, [code])


def test_the_anonymiser_reads_hidden_sheets_too(personal: Callable[[str], list[str]]) -> None:
    def names(wb: Workbook) -> None:
        _hide_sheet(wb)
        wb["Names"].append(["Harriet Ogunleye", "harriet@example.org"])

    result = inspect_attachment("figures.xlsx", _xlsx(names), personal)
    assert result.verdict is Verdict.NEEDS_APPROVAL
    assert [f.code for f in result.findings] == ["hidden_sheet", "personal_data"]
    assert "1 email, 1 person" in result.findings[1].text
    assert "Harriet" not in result.findings[1].text, "findings never repeat the personal data"


def _tracked(d: docx.document.Document) -> None:
    """An insertion and a deletion, as Word writes them with Track Changes on."""
    mark = 'w:author="A" w:date="2026-03-01T10:00:00Z"'
    p = d.paragraphs[0]._p
    p.append(parse_xml(f'<w:ins {W} w:id="1" {mark}><w:r><w:t>new</w:t></w:r></w:ins>'))
    deleted = "<w:r><w:delText>Harriet Ogunleye</w:delText></w:r>"
    p.append(parse_xml(f'<w:del {W} w:id="2" {mark}>{deleted}</w:del>'))


def _docx_comment(d: docx.document.Document) -> None:
    d.add_comment(d.paragraphs[0].runs, text="is this right?", author="Reviewer")


def _hidden_text(d: docx.document.Document) -> None:
    d.add_paragraph().add_run("internal note").font.hidden = True


@pytest.mark.parametrize(
    ("change", "codes"),
    [
        (_tracked, ["tracked_changes", "personal_data"]),  # the deleted text is still read
        (_docx_comment, ["comments"]),
        (_hidden_text, ["hidden_text"]),
    ],
)
def test_docx_tracked_changes_comments_and_hidden_text(
    personal: Callable[[str], list[str]],
    change: Callable[[docx.document.Document], None],
    codes: list[str],
) -> None:
    assert _codes("letter.docx", _docx(), personal) == (Verdict.OK, [])
    assert _codes("letter.docx", _docx(change), personal) == (Verdict.NEEDS_APPROVAL, codes)


def test_text_files_go_through_the_anonymiser(personal: Callable[[str], list[str]]) -> None:
    clean = b"month,hours\r\nJanuary,1200\r\n"
    assert _codes("figures.csv", clean, personal) == (Verdict.OK, [])
    leaky = clean + b"note,call 07700 900123\r\n"
    assert _codes("figures.csv", leaky, personal) == (Verdict.NEEDS_APPROVAL, ["personal_data"])


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("macro.xlsm", b"PK", "refused_type"),
        ("old.doc", b"\xd0\xcf\x11\xe0", "refused_type"),
        ("tool.exe", b"MZ", "refused_type"),
        ("fake.docx", b"this is not a zip", "bad_file"),
        ("bomb.xlsx", _bomb(), "bad_file"),
        ("huge.csv", b"a" * (MAX_BYTES + 1), "too_large"),
        ("empty.xlsx", b"PK\x05\x06" + b"\0" * 18, "bad_file"),  # a zip with nothing in it
    ],
)
def test_files_that_cannot_go(name: str, data: bytes, code: str) -> None:
    assert _codes(name, data, None) == (Verdict.BLOCKED, [code])


def test_uninspected_types_need_a_look() -> None:
    assert _codes("scan.pdf", b"%PDF-1.7", None) == (Verdict.NEEDS_APPROVAL, ["not_inspected"])
