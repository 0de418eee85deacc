"""The trained classifier: the shipped model, the corpus split, the text it reads, training,
evaluation and staff corrections.

The messages classified here are written for this file, not taken from the corpus. Figures
(macro-F1, throughput) are printed by ``model evaluate`` and ``benchmarks/classify.py``;
nothing here asserts speed or a score.
"""

from __future__ import annotations

import io
import json
import mailbox
import shutil
from pathlib import Path

import pytest
import spacy
from support.builders import base_config, message

from inbox_agent.classify import Category
from inbox_agent.classify.classifier import classify_message, classify_with_model
from inbox_agent.classify.fusion import fuse
from inbox_agent.classify.text import classify_subject, mail_text, model_text, own_words
from inbox_agent.classify.textcat import MODEL_DIR, TextModel, load_model, shipped_model
from inbox_agent.classify.training.corpus import (
    Record,
    by_split,
    load_corpus,
    record_from_json,
    record_mail,
    record_text,
    split_of,
)
from inbox_agent.classify.training.corrections import correction_examples, record_correction
from inbox_agent.classify.training.evaluation import SISIMAI
from inbox_agent.classify.training.train import Example, train_textcat
from inbox_agent.cli import main
from inbox_agent.errors import OperatorError
from inbox_agent.parse import parse_message
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case
from inbox_agent.settings import settings_from_dict

OWN = frozenset({"elections@opcc.testshire.example.org"})
ROOT = Path(__file__).resolve().parents[2]

# (sender, subject, body, expected): written here, in the style of the inbox, not the corpus.
HANDWRITTEN = [
    (
        "Priya Shah <priya.shah@example.com>",
        "Nomination forms",
        "Hello, I'm hoping to stand as an independent. Where do I hand in my nomination papers "
        "and how many signatures do I need from people on the register?\n\nThanks\nPriya",
        Category.ELECTORAL_PROCESS,
    ),
    (
        "Gordon Price <g.price@example.net>",
        "Information request",
        "Under the Freedom of Information Act 2000 please provide the total spent by the "
        "Commissioner's office on external consultants in each of the last three financial "
        "years.",
        Category.FOI_REQUEST,
    ),
    (
        "Lena Marsh <lena.marsh@example.org>",
        "My records",
        "I would like a copy of all the personal data your office holds about me, including "
        "emails in which I am named. This is a subject access request.",
        Category.SUBJECT_ACCESS_REQUEST,
    ),
    (
        "Tom Reeve <tom.reeve@example.com>",
        "Someone has stolen my bike",
        "My bike was stolen from outside the station last night and I want to report it. "
        "It is a blue mountain bike. What do I do?",
        Category.OUT_OF_SCOPE,
    ),
]


# --- the shipped model ------------------------------------------------------------------------


def test_the_shipped_model_loads_with_every_category() -> None:
    model = shipped_model()
    assert model is not None, f"no model at {MODEL_DIR}: run `inbox-agent model train`"
    assert model.version.startswith("textcat-") and len(model.version) == len("textcat-") + 12
    assert set(model.labels) == set(Category)
    scores = model.scores("Where do I hand in my nomination papers?")
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    assert meta["inbox_agent"]["architecture"] in ("bow", "ensemble", "cnn")
    size = sum(p.stat().st_size for p in MODEL_DIR.rglob("*") if p.is_file())
    assert size < 10 * 1024 * 1024, "the shipped model should stay a few MB"


@pytest.mark.parametrize(("sender", "subject", "body", "expected"), HANDWRITTEN)
def test_handwritten_messages_are_classified_sensibly(
    sender: str, subject: str, body: str, expected: Category
) -> None:
    result = classify_message(parse_message(message(sender, subject, body)), OWN)
    assert result.category is expected, result.reasons


def test_reasons_show_rules_model_scores_and_versions() -> None:
    sender, subject, body, _ = HANDWRITTEN[0]
    result = classify_message(parse_message(message(sender, subject, body)), OWN)
    model = shipped_model()
    assert model is not None
    assert result.version == f"fusion-3+rules-2+{model.version}"
    model_lines = [r for r in result.reasons if r.startswith("model: ")]
    assert len(model_lines) == 1 and len(model_lines[0].split(", ")) == 3
    assert any(r.startswith("electoral: ") for r in result.reasons), "a rule that fired"
    assert result.reasons[-1].startswith("fusion: electoral_process at ")


def test_machine_mail_is_decided_by_headers_before_the_model() -> None:
    raw = message(
        "Away <away@example.com>",
        "Re: nomination papers",
        "I am out of the office until Monday.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    result = classify_message(parse_message(raw), OWN)
    assert result.category is Category.AUTOMATED and result.confidence == 1.0
    assert result.version == "machine-1"


def test_a_website_form_relayed_from_a_no_reply_address_is_a_person() -> None:
    body = (
        "Over to you.\n\n---------- Forwarded message ---------\n"
        "From: Website <noreply@force.example.org>\nDate: Mon, 8 Apr 2024 at 09:12\n"
        "Subject: Contact form\nTo: <comms@force.example.org>\n\n"
        "Name: Ruth Ames\nEmail: ruth.ames@example.com\n"
        "Message: Please send me a copy of everything your office holds about me.\n"
    )
    raw = message("Comms <comms@force.example.org>", "Fwd: Contact form", body)
    result = classify_message(parse_message(raw), OWN)
    assert result.category is Category.SUBJECT_ACCESS_REQUEST, result.reasons


class _MachineMindedModel(TextModel):
    """A model that reads every text as machine mail, to show what the classifier overrides."""

    def scores(self, text: str, evidence: str = "") -> dict[Category, float]:
        return {
            Category.AUTOMATED: 0.8,
            Category.ELECTORAL_PROCESS: 0.15,
            Category.OUT_OF_SCOPE: 0.05,
        }


def test_a_relayed_website_form_is_never_machine_text_to_the_model() -> None:
    body = (
        "A new message was submitted via the website.\n\nName: Kit Marlowe\n"
        "Email: kit.marlowe@example.com\nMessage: How do I vote by post this time?\n\n"
        "This email was generated automatically. Please do not reply.\n"
    )
    mail = parse_message(message("Website <no-reply@opcc.example.org>", "Web enquiry", body))
    model = _MachineMindedModel(spacy.blank("en"), "stub", tuple(Category))
    result = classify_with_model(mail, OWN, model)
    assert result.category is Category.ELECTORAL_PROCESS, result.reasons
    assert mail.requester is not None and mail.requester.email == "kit.marlowe@example.com"


def test_fusion_lowers_confidence_when_rules_and_model_disagree() -> None:
    rules = classify_message(parse_message(message(*HANDWRITTEN[3][:3])), frozenset())
    agree = fuse(
        rules, {rules.category: 3.0}, {rules.category: 0.9, Category.OUT_OF_SCOPE: 0.1}, "m"
    )
    other = (
        Category.MEETING_REQUEST
        if rules.category is not Category.MEETING_REQUEST
        else (Category.MEDIA_ENQUIRY)
    )
    disagree = fuse(rules, {rules.category: 3.0}, {other: 0.9, rules.category: 0.1}, "m")
    assert disagree.confidence < agree.confidence
    assert any("model says" in r for r in disagree.reasons)


def test_a_rival_rule_keeps_an_electoral_answer_from_the_paro() -> None:
    rules = classify_message(parse_message(message(*HANDWRITTEN[0][:3])), frozenset())
    assert rules.category is Category.ELECTORAL_PROCESS
    model = {Category.ELECTORAL_PROCESS: 0.8, Category.MEDIA_ENQUIRY: 0.2}
    alone = fuse(rules, {Category.ELECTORAL_PROCESS: 3.0}, model, "m")
    assert alone.category is Category.ELECTORAL_PROCESS and alone.confidence >= 0.5
    # a journalist's question about polling day: the media rules fired as well
    both = {Category.ELECTORAL_PROCESS: 3.0, Category.MEDIA_ENQUIRY: 4.0}
    rival = fuse(rules, both, model, "m")
    assert rival.category is Category.ELECTORAL_PROCESS and rival.confidence < 0.5, rival.reasons
    assert any("media_enquiry fired too" in r for r in rival.reasons)
    # information-request topics (money, figures) are no rival
    topics = {Category.ELECTORAL_PROCESS: 3.0, Category.INFORMATION_REQUEST: 3.0}
    assert fuse(rules, topics, model, "m").confidence == alone.confidence


def test_a_statutory_rule_stands_unless_the_model_all_but_rules_it_out() -> None:
    from inbox_agent.classify import Classification
    from inbox_agent.classify.fusion import STATUTORY_MIN

    foi = Classification(Category.FOI_REQUEST, 0.9, ("foi: 'freedom of information act'",), "r")
    fired = {Category.FOI_REQUEST: 3.0, Category.MEDIA_ENQUIRY: 2.0}
    # the model leans to a meeting but still gives the Act's category a fair share: FOI
    leaning = {Category.MEETING_REQUEST: 0.6, Category.FOI_REQUEST: 0.4}
    stands = fuse(foi, fired, leaning, "m")
    assert stands.category is Category.FOI_REQUEST
    assert any("statutory rule for foi_request stands" in r for r in stands.reasons)
    # a journalist thanking the office for its FOI response and asking for a comment
    media = {Category.MEDIA_ENQUIRY: 0.9, Category.FOI_REQUEST: STATUTORY_MIN / 2}
    comment = fuse(foi, fired, media, "m")
    assert comment.category is Category.MEDIA_ENQUIRY and comment.confidence < 0.9
    assert any("rules say foi_request, model says media_enquiry" in r for r in comment.reasons)


# --- the corpus ---------------------------------------------------------------------------------


def test_a_fresh_hold_out_record_is_pinned_to_test() -> None:
    pinned = [f"h-{i:04d}" for i in range(40)]
    assert {split_of(i) for i in pinned} != {"test"}, "the ids alone would spread them"
    records = [record_from_json(_row(i, "foi_request", "s", "b", split="test")) for i in pinned]
    assert {r.split for r in records} == {"test"} and all(r.pinned for r in records)
    assert by_split(records)["train"] == [] and by_split(records)["dev"] == []
    with pytest.raises(ValueError, match="only be pinned to 'test'"):
        record_from_json(_row("h-x", "foi_request", "s", "b", split="train"))
    corpus = load_corpus()
    fresh = [r for r in corpus if r.pinned]
    assert fresh and all(r.source.startswith("fresh_holdout") for r in fresh)
    # hold-out 2 was read and reported (issue 15), so it was unpinned: it trains now
    second = [r for r in corpus if r.source.startswith("fresh_holdout_2.jsonl")]
    assert second and not any(r.pinned for r in second)
    assert {r.split for r in second} == {"train", "dev", "test"}


def test_the_split_is_a_stable_function_of_the_id() -> None:
    ids = [f"x-{i:05d}" for i in range(6000)]
    first = [split_of(i) for i in ids]
    assert first == [split_of(i) for i in ids]
    shares = {s: first.count(s) / len(ids) for s in ("train", "dev", "test")}
    assert shares["train"] == pytest.approx(0.70, abs=0.03)
    assert shares["dev"] == pytest.approx(0.15, abs=0.02)
    assert shares["test"] == pytest.approx(0.15, abs=0.02)


def test_the_corpus_splits_are_disjoint_and_cover_every_record() -> None:
    records = load_corpus()
    grouped = by_split(records)
    ids = [{r.id for r in grouped[s]} for s in ("train", "dev", "test")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert sum(len(s) for s in ids) == len(records) == len({r.id for r in records})
    assert by_split(reversed(records))["test"] == list(reversed(grouped["test"]))


def _write_corpus(folder: Path, rows: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _row(record_id: str, label: str, subject: str, body: str, **extra: object) -> dict[str, object]:
    return {
        "id": record_id,
        "label": label,
        "subject": subject,
        "body": body,
        "sender_name": "Sam Ward",
        "sender_email": "sam.ward@example.com",
        **extra,
    }


def test_a_bad_corpus_line_names_its_file_and_line(tmp_path: Path) -> None:
    folder = _write_corpus(tmp_path / "c", [_row("a", "foi_request", "s", "b")])
    with (folder / "part.jsonl").open("a") as handle:
        handle.write(json.dumps(_row("b", "not_a_category", "s", "b")) + "\n")
    with pytest.raises(OperatorError, match=r"part\.jsonl:2"):
        load_corpus(folder)
    _write_corpus(folder, [_row("a", "foi_request", "s", "b"), _row("a", "foi_request", "s", "b")])
    with pytest.raises(OperatorError, match=r"already at part\.jsonl:1"):
        load_corpus(folder)


def test_an_html_record_is_read_as_production_reads_html_mail() -> None:
    record = record_from_json(
        _row(
            "h",
            "meeting_request",
            "Visit",
            "<p>Could I <b>visit</b> the control room?</p>",
            html=True,
        )
    )
    mail = record_mail(record)
    assert "Could I visit the control room?" in mail.text and "<b>" not in mail.text
    assert record_text(record) == "Visit\n\nCould I visit the control room?"


def test_the_model_reads_the_forwarded_original_without_quotes_or_signature() -> None:
    body = (
        "FYI - came to the force mailbox.\n\n-----Original Message-----\n"
        "From: Dan Holt <dan.holt@example.com>\nSent: 08 April 2024 10:02\n"
        "To: Force Enquiries\nSubject: deposit\n\n"
        "How do I pay the deposit for my nomination?\n\nKind regards\nDan Holt\n07700 900123\n\n"
        "On Mon, 8 Apr 2024 at 09:00, Elections <elections@example.org> wrote:\n"
        "> Please see our earlier reply about the count.\n"
    )
    mail = parse_message(message("Staff <staff@force.example.org>", "FW: deposit", body))
    assert mail_text(mail) == "deposit\n\nHow do I pay the deposit for my nomination?"


def test_quoted_history_signatures_and_disclaimers_are_dropped() -> None:
    body = (
        "Thanks - and can the PARO confirm the count venue?\n\n"
        "> On the earlier point about leaflets...\n\n"
        "-- \nJo Bloggs\nAgent\n\n"
        "This email is confidential and intended solely for the addressee. If received in "
        "error please notify the sender.\n"
    )
    assert own_words(body) == "Thanks - and can the PARO confirm the count venue?"
    assert model_text("  Re:  count ", body).startswith("Re: count\n\nThanks")


@pytest.mark.parametrize("subject", ["Re: FOI request", "RE: FOI request", "Ateb: Cais RhG"])
def test_a_reply_subject_is_quoted_context_and_is_not_read(subject: str) -> None:
    """The earlier message's subject does not decide a reply: its new text does."""
    mail = parse_message(message("Jo <jo@example.org>", subject, "Can you comment?"))
    assert mail_text(mail) == "Can you comment?"
    assert classify_subject(mail) == ""


def test_welsh_reply_headers_and_sign_offs_are_zoned() -> None:
    body = (
        "Diolch am y ffigurau. Pryd fydd y cyfrif?\n\nCofion,\nElen\n\n"
        "Ar Iau, 2 Ebr 2026 am 11:30, Un Pwynt Cyswllt <spoc@opcc.example.org> ysgrifennodd:\n"
        "Dyma'r ffigurau a gais o dan Ddeddf Rhyddid Gwybodaeth.\n"
    )
    assert own_words(body) == "Diolch am y ffigurau. Pryd fydd y cyfrif?"
    outlook = "Iawn.\n\n-----Neges Wreiddiol-----\nOddi wrth: X\nAnfonwyd: 1 Ebrill\nPwnc: Y\nZ\n"
    assert own_words(outlook) == "Iawn."


# --- training, evaluation, corrections ----------------------------------------------------------

TINY = [
    ("Nomination papers", "Where do I hand in my nomination papers?", Category.ELECTORAL_PROCESS),
    ("Deposit", "How do I pay the deposit to stand?", Category.ELECTORAL_PROCESS),
    (
        "FOI request",
        "Under the Freedom of Information Act send me the budget.",
        Category.FOI_REQUEST,
    ),
    ("FOI", "A request under the 2000 Act for recorded information.", Category.FOI_REQUEST),
    ("Meeting", "Could we meet the Chief Constable next week?", Category.MEETING_REQUEST),
    ("Visit", "Can I visit the control room with my agent?", Category.MEETING_REQUEST),
]


def test_training_on_a_tiny_set_is_reproducible(tmp_path: Path) -> None:
    examples = [Example(f"{s}\n\n{b}", c, f"t{i}") for i, (s, b, c) in enumerate(TINY)]
    overrides = {"training.max_steps": 20, "training.eval_frequency": 10}
    first = train_textcat(examples * 3, examples, tmp_path / "one" / "textcat", overrides=overrides)
    second = train_textcat(
        examples * 3, examples, tmp_path / "two" / "textcat", overrides=overrides
    )
    assert first.version == second.version, "same examples, config and seed: same model"
    model = load_model(first.output)
    assert set(model.labels) == {c for *_, c in TINY}
    assert first.train_counts == {"electoral_process": 6, "foi_request": 6, "meeting_request": 6}
    config = (first.output / "config.cfg").read_text()
    assert "train = null" in config and str(tmp_path) not in config


def test_model_evaluate_prints_tables_for_model_and_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sisimai = tmp_path / "sisimai"
    (sisimai / "bsd").mkdir(parents=True)
    for name in sorted(p.name for p in (SISIMAI / "bsd").glob("*.eml"))[:3]:
        shutil.copy(SISIMAI / "bsd" / name, sisimai / "bsd" / name)
    code = main(["model", "evaluate", "--limit", "12", "--sisimai", str(sisimai)])
    out = capsys.readouterr().out
    assert code == 0
    assert "== fused: rules + textcat" in out and "== keyword baseline" in out
    assert out.count("\nmacro-F1 ") == 3 and out.count("confusion (rows: true") == 3
    assert out.count("\ntargets: macro-F1 ") == 3 and ">= 0.93" in out and ">= 0.98" in out
    assert "evaluating on test: 12 messages" in out
    assert "PARO forwards (electoral_process at confidence >= 0.50)" in out
    assert "machine mail (sisimai bsd/ + err/): 3 files, 3 automated" in out


def test_model_evaluate_reports_the_fresh_hold_out_in_its_own_tables() -> None:
    from inbox_agent.classify.training.evaluation import run_evaluation

    test_ids = [i for i in (f"t-{n}" for n in range(50)) if split_of(i) == "test"][:2]
    rows = [
        _row(i, "foi_request", "FOI", "Under the FOI Act please send the budget.") for i in test_ids
    ]
    rows.append(_row("h-1", "out_of_scope", "Lost", "I lost my wallet.", split="test"))
    records = [record_from_json(r) for r in rows]
    out = io.StringIO()
    results = run_evaluation(records, "test", None, 0.5, out, sisimai=None)
    text = out.getvalue()
    assert "evaluating on test: 2 messages" in text
    assert "evaluating on the fresh hold-out (pinned to test): 1 messages" in text
    assert set(results) == {"keyword baseline", "hold-out keyword baseline"}


def test_each_hold_out_file_gets_its_tables_its_welsh_tables_and_the_targets() -> None:
    from inbox_agent.classify.training.evaluation import run_evaluation

    first = _row("h-9", "foi_request", "FOI", "Under the FOI Act please send the budget.")
    third = [
        _row("h3-1", "out_of_scope", "Lost", "I lost my wallet at the station."),
        _row("h3-2", "out_of_scope", "Colli", "Collais fy waled yn yr orsaf.", language="cy"),
    ]
    records = [record_from_json(first | {"split": "test"}, "fresh_holdout.jsonl:1")] + [
        record_from_json(r | {"split": "test"}, f"fresh_holdout_3.jsonl:{i}")
        for i, r in enumerate(third, 1)
    ]
    out = io.StringIO()
    results = run_evaluation(records, "test", None, 0.5, out, sisimai=None)
    text = out.getvalue()
    assert "evaluating on the fresh hold-out (pinned to test): 1 messages" in text
    assert "evaluating on the fresh hold-out fresh_holdout_3.jsonl (pinned to test): 2" in text
    assert (
        "the fresh hold-out fresh_holdout_3.jsonl (pinned to test), Welsh messages only: 1" in text
    )
    assert "hold-out fresh_holdout_3.jsonl welsh keyword baseline" in results
    # every table has the targets beside its figures
    assert text.count("\ntargets: macro-F1 ") == text.count("\nmacro-F1 ") == 4
    assert "every category F1 >= 0.85" in text and "PARO precision >= 0.98 (no forwards)" in text


def test_staff_corrections_become_training_examples(tmp_path: Path) -> None:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["actions"] = {"acknowledge": False}
    settings = settings_from_dict(data, tmp_path / "inbox-agent.toml")
    box = mailbox.Maildir(tmp_path / "box", create=True)
    box.add(message("Ann <ann@example.com>", "A question", "Can I bring my dog to the count?"))
    box.close()
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register).run_once()
        with register.transaction() as session:
            (case,) = session.query(Case).all()
            reference = case.reference
        out = io.StringIO()
        with register.transaction() as session:
            row = record_correction(session, reference, "out_of_scope", "j.smith", case.updated_at)
            print(row.old_category, file=out)
        with register.transaction() as session, pytest.raises(OperatorError, match="unknown"):
            record_correction(session, reference, "nonsense", "j.smith", case.updated_at)
        (example,) = correction_examples(register)
        assert example.label is Category.OUT_OF_SCOPE and example.source.startswith("correction:")
        assert example.text == "A question\n\nCan I bring my dog to the count?"
        with register.transaction() as session:
            corrected = session.query(Case).one()
            assert corrected.category == "out_of_scope" and not corrected.needs_review
    finally:
        register.dispose()


def test_records_are_frozen_dataclasses() -> None:
    record = Record("r", Category.FOI_REQUEST, "s", "b")
    with pytest.raises(AttributeError):
        record.id = "other"  # type: ignore[misc]
