"""Acknowledgements render for every category and every shipped profile, and stay safe.

The profiles are loaded exactly as the daemon loads them, so a [policy] text that breaks a
template fails here, not in a letter to a candidate. The safety tests feed hostile input
(CR/LF in a subject, markup in a display name) through the real renderer.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest

from inbox_agent.acknowledge import (
    BILINGUAL_NOTE,
    SUBJECT_MAX,
    RenderedEmail,
    check_protocol_templates,
    render_acknowledgement,
    render_paro_cover,
    route_recipient,
)
from inbox_agent.classify import Category
from inbox_agent.errors import ConfigError
from inbox_agent.language import Language
from inbox_agent.letters import bundled_templates_dir, join_cy, long_date, long_date_cy
from inbox_agent.protocol.rules import protocol_outcome
from inbox_agent.settings import Settings, load_settings

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
CONFIGS = sorted(CONFIG_DIR.glob("*.toml"))
DEMO = CONFIG_DIR / "example.toml"
WELSH_OFFICE = CONFIG_DIR / "dyfed-powys.toml"
ACKNOWLEDGED = [c for c in Category if c is not Category.AUTOMATED]


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The systemd credentials the office profiles name; the demo ignores them."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "imap-password").write_text("imap-secret\n", encoding="utf-8")
    (creds / "smtp-password").write_text("smtp-secret\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    return creds


def flat(text: str) -> str:
    """The text with line wrapping undone, so a phrase can be found wherever it wraps."""
    return " ".join(text.split())


def reference_for(settings: Settings) -> str:
    return f"{settings.office.reference_prefix}-2024-0007"


def render(
    settings: Settings,
    category: Category,
    *,
    received_on: dt.date | None = None,
    due_date: dt.date | None = dt.date(2027, 4, 29),
    requester_name: str = "Jo Bloggs",
    original_subject: str = "A question about the budget",
    needs_review: bool = False,
    language: Language = Language.ENGLISH,
) -> RenderedEmail:
    return render_acknowledgement(
        settings,
        category=category,
        reference=reference_for(settings),
        requester_name=requester_name,
        original_subject=original_subject,
        due_date=due_date,
        received_on=received_on or settings.election.nominations_close,
        needs_review=needs_review,
        language=language,
    )


def with_template_dir(settings: Settings, folder: Path) -> Settings:
    policy = settings.policy.model_copy(update={"template_dir": folder})
    return settings.model_copy(update={"policy": policy})


def write_template(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- every category, every profile ------------------------------------------------------


@pytest.mark.parametrize("category", ACKNOWLEDGED, ids=str)
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_category_renders(path: Path, category: Category) -> None:
    settings = load_settings(path)
    email = render(settings, category)
    reference = reference_for(settings)
    assert email.subject.startswith(f"[{reference}] ")
    assert reference in email.text
    assert "Dear Jo Bloggs," in email.text
    text = flat(email.text)
    assert f"{settings.office.spoc_role} {settings.office.name}" in text
    assert "{{" not in email.text
    assert "{%" not in email.text
    assert email.html is not None
    assert reference in email.html
    for line in email.text.splitlines():
        assert len(line) <= 72 or " " not in line, line


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_review_acknowledgement_promises_no_route(path: Path) -> None:
    settings = load_settings(path)
    email = render(settings, Category.ELECTORAL_PROCESS, needs_review=True)
    text = flat(email.text)
    assert reference_for(settings) in email.subject
    assert reference_for(settings) in text
    assert "logged" in text
    assert settings.paro.name not in text
    assert "forwarded" not in text
    assert long_date(dt.date(2027, 4, 29)) not in text


def test_reply_does_not_echo_the_message() -> None:
    settings = load_settings(DEMO)
    for category in ACKNOWLEDGED:
        email = render(settings, category, original_subject="Secret plan 12345")
        assert "Secret plan 12345" in email.subject
        assert "Secret plan 12345" not in email.text


# --- Welsh: the Welsh Language Standards ------------------------------------------------

WELSH_TEMPLATES = bundled_templates_dir() / "acknowledgement" / "cy"


def test_every_acknowledgement_template_has_a_welsh_version() -> None:
    """Every letter, partial and wording block, by the same relative name under cy/."""
    root = bundled_templates_dir() / "acknowledgement"
    english = {p.relative_to(root) for p in root.rglob("*.txt.j2") if "cy" not in p.parts}
    assert len(english) > 30
    assert {p.relative_to(WELSH_TEMPLATES) for p in WELSH_TEMPLATES.rglob("*.txt.j2")} == english


@pytest.mark.parametrize("needs_review", [False, True])
@pytest.mark.parametrize("category", ACKNOWLEDGED, ids=str)
def test_a_welsh_office_answers_welsh_in_welsh(category: Category, needs_review: bool) -> None:
    settings = load_settings(WELSH_OFFICE)
    email = render(settings, category, language=Language.WELSH, needs_review=needs_review)
    text = flat(email.text)
    assert text.startswith("Annwyl Jo Bloggs,")
    assert f"Cyfeirnod eich achos yw {reference_for(settings)}." in text
    assert f"{settings.welsh.spoc_role} {settings.welsh.office_name}" in text
    assert "Dear" not in text and "Kind regards" not in text and "Thank you" not in text
    assert "{{" not in email.text and BILINGUAL_NOTE not in text
    assert email.html is not None and '<html lang="cy">' in email.html
    for line in email.text.splitlines():
        assert len(line) <= 72 or " " not in line, line


@pytest.mark.parametrize("category", ACKNOWLEDGED, ids=str)
def test_unknown_preference_is_answered_bilingually_welsh_first(category: Category) -> None:
    settings = load_settings(WELSH_OFFICE)
    email = render(settings, category, language=Language.UNKNOWN)
    text = flat(email.text)
    assert text.startswith(BILINGUAL_NOTE)
    welsh, english = text.index("Annwyl Jo Bloggs,"), text.index("Dear Jo Bloggs,")
    assert welsh < english
    assert text.count(reference_for(settings)) == 2
    assert email.html is not None
    assert email.html.index('<div lang="cy">') < email.html.index('<div lang="en-GB">')


def test_english_mail_to_a_welsh_office_is_answered_in_english() -> None:
    settings = load_settings(WELSH_OFFICE)
    text = flat(render(settings, Category.FOI_REQUEST, language=Language.ENGLISH).text)
    assert text.startswith("Dear Jo Bloggs,") and "Annwyl" not in text


@pytest.mark.parametrize("language", [Language.WELSH, Language.UNKNOWN])
def test_an_office_outside_wales_answers_in_english(language: Language) -> None:
    text = flat(render(load_settings(DEMO), Category.FOI_REQUEST, language=language).text)
    assert text.startswith("Dear Jo Bloggs,") and "Annwyl" not in text


def test_welsh_acknowledgements_use_welsh_dates() -> None:
    settings = load_settings(WELSH_OFFICE)
    due = dt.date(2028, 5, 2)
    foi = flat(render(settings, Category.FOI_REQUEST, language=Language.WELSH, due_date=due).text)
    assert "o dan Ddeddf Rhyddid Gwybodaeth 2000" in foi
    assert "erbyn dydd Mawrth 2 Mai 2028" in foi
    assert "a ddaeth i law ar ddydd Mercher 5 Ebrill 2028" in foi  # "ar" mutates "dydd"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_protocol_wording_block_renders_in_welsh(path: Path) -> None:
    """Each office's own rules, with its blocks and routes, as a Welsh office would send them."""
    settings = load_settings(path)
    titles = {key: f"teitl Cymraeg {key}" for key in settings.protocol.recipients}
    welsh = settings.welsh.model_copy(
        update={
            "standards": True,
            "office_name": "Swyddfa",
            "spoc_role": "Prif",
            "recipients": titles,
        }
    )
    settings = settings.model_copy(update={"welsh": welsh})
    check_protocol_templates(settings)
    for rule in settings.protocol.rules:
        outcome = protocol_outcome(settings.protocol, rule.categories[0], rule.phases[0])
        forwarded = tuple(route_recipient(settings, key) for key in outcome.routes)
        email = render_acknowledgement(
            settings,
            category=rule.categories[0],
            reference="TST-2027-0001",
            requester_name="Jo",
            original_subject="Cwestiwn",
            due_date=dt.date(2027, 4, 29),
            received_on=dt.date(2027, 4, 1),
            needs_review=False,
            outcome=outcome,
            forwarded_to=forwarded,
            language=Language.WELSH,
        )
        text = flat(email.text)
        assert "{{" not in text and "Dear" not in text
        for key in (k for k in outcome.routes if k != "paro"):
            if rule.categories[0] is not Category.ELECTORAL_PROCESS:
                assert titles[key] in text, (rule.cite, key)


def test_welsh_joins_names_with_a_ar_and_ac() -> None:
    assert join_cy(["y Prif Weithredwr", "y Prif Gwnstabl"]) == (
        "y Prif Weithredwr a'r Prif Gwnstabl"
    )
    assert join_cy(["dîm cyfathrebu'r swyddfa", "Swyddog Diogelu Data"]) == (
        "dîm cyfathrebu'r swyddfa a Swyddog Diogelu Data"
    )
    assert join_cy(["y Prif Weithredwr", "uned yr heddlu"]) == "y Prif Weithredwr ac uned yr heddlu"


def test_bilingual_subject_without_one_of_their_own() -> None:
    settings = load_settings(WELSH_OFFICE)
    email = render(settings, Category.FOI_REQUEST, language=Language.UNKNOWN, original_subject="")
    assert email.subject == f"[{reference_for(settings)}] Ymholiad etholiad / Election enquiry"


def test_long_date_in_welsh() -> None:
    assert long_date_cy(dt.date(2027, 4, 29)) == "dydd Iau 29 Ebrill 2027"
    assert long_date_cy(dt.date(2028, 1, 2)) == "dydd Sul 2 Ionawr 2028"
    assert long_date_cy(dt.date(2028, 1, 2), soft=True) == "ddydd Sul 2 Ionawr 2028"


# --- what each category says ------------------------------------------------------------


def test_long_date_is_spelled_out() -> None:
    assert long_date(dt.date(2027, 4, 29)) == "Thursday 29 April 2027"
    assert long_date(dt.date(2024, 5, 2)) == "Thursday 2 May 2024"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_foi_gives_the_statutory_due_date(path: Path) -> None:
    email = render(load_settings(path), Category.FOI_REQUEST, due_date=dt.date(2027, 4, 29))
    text = flat(email.text)
    assert "Freedom of Information Act 2000" in text
    assert "Thursday 29 April 2027" in text


def test_subject_access_names_the_law_and_the_due_date() -> None:
    email = render(
        load_settings(DEMO), Category.SUBJECT_ACCESS_REQUEST, due_date=dt.date(2027, 5, 1)
    )
    text = flat(email.text)
    assert "Data Protection Act 2018" in text
    assert "UK General Data Protection Regulation" in text
    assert "Saturday 1 May 2027" in text
    assert "identity" in text


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_electoral_process_names_the_paro(path: Path) -> None:
    settings = load_settings(path)
    text = flat(render(settings, Category.ELECTORAL_PROCESS).text)
    assert settings.paro.name in text
    assert settings.paro.email in text
    assert "Police Area Returning Officer" in text


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_meeting_wording_follows_the_election_phase(path: Path) -> None:
    """The same meeting request reads differently before and after nominations close."""
    settings = load_settings(path)
    close = settings.election.nominations_close
    before = render(settings, Category.MEETING_REQUEST, received_on=close).text
    after = render(settings, Category.MEETING_REQUEST, received_on=close + dt.timedelta(1)).text
    poll = render(settings, Category.MEETING_REQUEST, received_on=settings.election.poll_date)
    later = settings.election.poll_date + dt.timedelta(1)
    after_poll = render(settings, Category.MEETING_REQUEST, received_on=later).text
    if path.stem == "dyfed-powys":  # an example office without a [protocol]: no phases
        assert before == after == poll.text == after_poll
        return
    # Norfolk 19 and Cambridgeshire 13-15 draw no line at the close of nominations
    if path.stem not in ("norfolk", "cambridgeshire-peterborough"):
        assert before != after
    assert poll.text == after
    assert after_poll != after


def test_meeting_acknowledgement_never_promises_a_decision_by_itself() -> None:
    """No "the Chief Executive decides ... we will let you know" unless a rule routes it."""
    for path in CONFIGS:
        settings = load_settings(path)
        for day in (settings.election.pre_election_period_start, settings.election.poll_date):
            text = flat(render(settings, Category.MEETING_REQUEST, received_on=day).text)
            assert "We will let you know the decision" not in text
            assert "passed your message" not in text  # no forward was queued in this render


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_out_of_scope_points_to_999_and_101(path: Path) -> None:
    settings = load_settings(path)
    text = flat(render(settings, Category.OUT_OF_SCOPE, due_date=None).text)
    assert "999" in text
    assert "101" in text
    assert (settings.office.general_address or settings.office.website_url) in text


def test_information_request_links_the_briefing_page() -> None:
    settings = load_settings(DEMO)
    assert settings.policy.briefing_url is not None
    text = flat(render(settings, Category.INFORMATION_REQUEST).text)
    assert settings.policy.briefing_url in text
    assert "as soon as possible" in text
    assert "Thursday 29 April 2027" not in text, "the demo protocol sets no date"
    assert "member of the public" in text


def test_information_request_without_briefing_page_names_the_website() -> None:
    settings = load_settings(CONFIG_DIR / "bedfordshire.toml")
    assert settings.policy.briefing_url is None
    text = flat(render(settings, Category.INFORMATION_REQUEST).text)
    assert settings.office.website_url in text


def test_media_enquiry_names_only_recipients_really_forwarded() -> None:
    settings = load_settings(DEMO)
    team = settings.protocol.recipients["media_team"]
    unrouted = flat(render(settings, Category.MEDIA_ENQUIRY).text)
    assert team.title not in unrouted and "neutral" in unrouted
    routed = render_acknowledgement(
        settings,
        category=Category.MEDIA_ENQUIRY,
        reference="DEMO-2027-0001",
        requester_name="",
        original_subject="",
        due_date=None,
        received_on=settings.election.poll_date,
        needs_review=False,
        forwarded_to=(team,),
    )
    assert f"We have passed your message to {team.title}." in flat(routed.text)


def test_automated_mail_has_no_acknowledgement() -> None:
    settings = load_settings(DEMO)
    assert not (bundled_templates_dir() / "acknowledgement" / "automated.txt.j2").exists()
    for review in (False, True):
        with pytest.raises(ValueError, match="never acknowledged"):
            render(settings, Category.AUTOMATED, needs_review=review)


# --- per-office templates ---------------------------------------------------------------


def test_office_template_dir_overrides_the_bundled_template(tmp_path: Path) -> None:
    folder = tmp_path / "office-templates"
    write_template(folder, "acknowledgement/foi_request.txt.j2", "Custom FOI {{ reference }}\n")
    settings = with_template_dir(load_settings(DEMO), folder)
    assert render(settings, Category.FOI_REQUEST).text == "Custom FOI DEMO-2024-0007\n"
    # Templates the office did not override still come from the bundle.
    assert "999" in render(settings, Category.OUT_OF_SCOPE).text


def test_template_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    write_template(tmp_path / "overrides", "acknowledgement/media_enquiry.txt.j2", "Ours\n")
    text = DEMO.read_text(encoding="utf-8")
    marker = '# template_dir = "templates-demoshire"'
    assert marker in text
    config = tmp_path / "office.toml"
    config.write_text(text.replace(marker, 'template_dir = "overrides"'), encoding="utf-8")
    settings = load_settings(config)
    assert settings.policy.template_dir == tmp_path / "overrides"
    assert render(settings, Category.MEDIA_ENQUIRY).text == "Ours\n"


def test_broken_template_is_a_config_error_naming_it(tmp_path: Path) -> None:
    write_template(tmp_path, "acknowledgement/conduct_concern.txt.j2", "{{ no_such_thing }}\n")
    settings = with_template_dir(load_settings(DEMO), tmp_path)
    with pytest.raises(ConfigError, match=r"acknowledgement/conduct_concern\.txt\.j2"):
        render(settings, Category.CONDUCT_CONCERN)


def test_missing_included_template_is_a_config_error_naming_it(tmp_path: Path) -> None:
    write_template(tmp_path, "acknowledgement/media_enquiry.txt.j2", '{% include "nope.j2" %}')
    settings = with_template_dir(load_settings(DEMO), tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.j2"):
        render(settings, Category.MEDIA_ENQUIRY)


def test_missing_template_dir_is_a_config_error(tmp_path: Path) -> None:
    settings = with_template_dir(load_settings(DEMO), tmp_path / "absent")
    with pytest.raises(ConfigError, match=r"policy\.template_dir"):
        render(settings, Category.MEDIA_ENQUIRY)


# --- hostile input ----------------------------------------------------------------------


def test_crlf_in_the_subject_cannot_inject_headers() -> None:
    hostile = "Hello\r\nBcc: victim@example.com\r\n\r\nInjected body\nX-Evil: 1\u2028Y: 2"
    email = render(load_settings(DEMO), Category.INFORMATION_REQUEST, original_subject=hostile)
    assert "\r" not in email.subject
    assert "\n" not in email.subject
    assert "\u2028" not in email.subject
    assert email.subject.startswith("[DEMO-2024-0007] Re: Hello Bcc: victim@example.com")
    message = EmailMessage()
    message["Subject"] = email.subject
    message.set_content(email.text)
    parsed = message_from_bytes(message.as_bytes())
    assert parsed["Bcc"] is None
    assert parsed["X-Evil"] is None


def test_subject_is_capped_and_never_doubles_re() -> None:
    settings = load_settings(DEMO)
    long_subject = render(settings, Category.MEDIA_ENQUIRY, original_subject="word " * 500)
    assert len(long_subject.subject) <= SUBJECT_MAX
    again = render(settings, Category.MEDIA_ENQUIRY, original_subject="RE: Re: Budget")
    assert again.subject == "[DEMO-2024-0007] Re: Budget"
    blank = render(settings, Category.MEDIA_ENQUIRY, original_subject=" \r\n ")
    assert blank.subject == "[DEMO-2024-0007] Election enquiry"


def test_crlf_in_the_name_stays_on_the_greeting_line() -> None:
    name = "Jo\r\n\r\nPlease also send the payroll"
    email = render(load_settings(DEMO), Category.MEDIA_ENQUIRY, requester_name=name)
    assert email.text.splitlines()[0] == "Dear Jo Please also send the payroll,"


def test_html_alternative_escapes_the_requester_name() -> None:
    name = '<script>alert("x")</script>'
    email = render(load_settings(DEMO), Category.INFORMATION_REQUEST, requester_name=name)
    assert email.html is not None
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "<p>Dear &lt;script&gt;" in email.html
    assert name in email.text  # plain text has nothing to escape into


def test_no_name_gets_a_plain_greeting() -> None:
    email = render(load_settings(DEMO), Category.MEDIA_ENQUIRY, requester_name="  ")
    assert email.text.startswith("Hello,\n")


# --- the PARO cover note ----------------------------------------------------------------


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_paro_cover_carries_the_case_facts(path: Path) -> None:
    settings = load_settings(path)
    cover = render_paro_cover(
        settings,
        reference=reference_for(settings),
        requester_name="Jo Bloggs",
        requester_email="jo@example.com",
        received_at=dt.datetime(2024, 4, 3, 23, 30, tzinfo=dt.UTC),
        subject="Postal vote\r\nBcc: x@example.com",
    )
    text = flat(cover.text)
    assert cover.subject.startswith(f"[{reference_for(settings)}] ")
    assert "\n" not in cover.subject
    assert reference_for(settings) in text
    assert "Jo Bloggs <jo@example.com>" in text
    assert "Subject: Postal vote Bcc: x@example.com" in text
    # 23:30 UTC on 3 April is 00:30 BST on 4 April: the UK day is the one that counts.
    assert "Thursday 4 April 2024 at 00:30 (BST)" in text
    assert "attached intact" in text
    assert f"Dear {settings.paro.name}," in cover.text


def test_paro_cover_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_paro_cover(
            load_settings(DEMO),
            reference="DEMO-2027-0001",
            requester_name="Jo",
            requester_email="jo@example.com",
            received_at=dt.datetime(2027, 4, 1, 12, 0),
            subject="Postal votes",
        )
