"""The disclosure-log screens: answers waiting for a decision, one draft beside its original.

Every decision goes through ``inbox_agent.transparency.publish`` (``draft_publication``,
``approve_publication``, ``withhold_publication``, ``publish_log``), the functions behind
``inbox-agent publication`` and ``inbox-agent publish``: the identifier check on staff's texts,
the audit events and the published texts are the CLI's, whichever door staff used. This module
only chooses what to show and turns a form into those functions' arguments.

A refused decision (personal data still found, no reason given) re-renders the page with the
staff's own text kept and the reason shown, instead of redirecting and losing what they typed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.models import Case, Publication
from inbox_agent.settings import Settings
from inbox_agent.transparency import publish
from inbox_agent.transparency.anonymise import Redaction
from inbox_agent.transparency.parity import ParityAlert, answered_on, build_parity
from inbox_agent.web.context import Ctx

LIST_URL = "/publication"


@dataclass(frozen=True)
class Waiting:
    """An answered case nobody has decided on yet; ``alert`` when it is past its time."""

    case: Case
    answered: dt.date | None
    alert: ParityAlert | None


@dataclass(frozen=True)
class Overview:
    """The publication list page: undecided answers first, then what was decided."""

    waiting: list[Waiting]
    approved: list[tuple[Publication, Case]]  # approved, not yet on the published page
    published: list[tuple[Publication, Case]]
    withheld: list[tuple[Publication, Case]]
    publish_dir: Path | None
    publish_after_working_days: int


def undecided_answers(session: Session) -> list[Case]:
    """Cases with an answer recorded and no publication decision, oldest contact first."""
    decided = exists().where(Publication.case_id == Case.id)
    query = (
        select(Case)
        .where(Case.information_provided.is_not(None), ~decided)
        .order_by(Case.date_of_contact, Case.id)
    )
    return [case for case in session.scalars(query) if publish.answer_text(case)]


def build_overview(
    session: Session, settings: Settings, now: dt.datetime, calendar: UkCalendar
) -> Overview:
    """Alerts come from ``parity.build_parity`` so the list and the parity page never differ."""
    alerts = {a.reference: a for a in build_parity(session, settings, now, calendar).alerts}
    waiting = [
        Waiting(case, answered_on(case, settings), alerts.get(case.reference))
        for case in undecided_answers(session)
    ]
    waiting.sort(key=lambda w: (w.answered or dt.date.max, w.case.reference))
    rows = session.execute(
        select(Publication, Case)
        .join(Case, Case.id == Publication.case_id)
        .order_by(Publication.updated_at.desc(), Case.id.desc())
    )
    approved, published, withheld = [], [], []
    for row, case in rows:
        if row.decision == publish.WITHHOLD:
            withheld.append((row, case))
        elif row.published_on is None:
            approved.append((row, case))
        else:
            published.append((row, case))
    return Overview(
        waiting=waiting,
        approved=approved,
        published=published,
        withheld=withheld,
        publish_dir=settings.transparency.publish_dir,
        publish_after_working_days=settings.transparency.publish_after_working_days,
    )


def found_items(text: str, redactions: tuple[Redaction, ...]) -> list[tuple[str, str]]:
    """What the anonymiser took out, as (kind, original words), each once, in text order."""
    items = [(r.label, text[r.start : r.end]) for r in sorted(redactions, key=lambda r: r.start)]
    return list(dict.fromkeys(items))


def edited_text(submitted: str | None, draft: str) -> str | None:
    """Staff's text, or None when it is the draft as shown: then ``approve_publication``
    takes the draft itself, and its audit event says staff changed nothing."""
    if submitted is None:
        return None
    return None if submitted.replace("\r\n", "\n").strip() == draft.strip() else submitted


# --------------------------------------------------------------------------- pages


def _case(session: Session, reference: str) -> Case | None:
    return session.scalars(select(Case).where(Case.reference == reference)).first()


def show_publications(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        overview = build_overview(session, ctx.settings, ctx.now, ctx.web.calendar)
        return ctx.render("publications.html.j2", title="Publication", overview=overview)


def _render_case(
    ctx: Ctx,
    session: Session,
    case: Case,
    *,
    status: int = 200,
    texts: tuple[str, str] | None = None,
    error: str = "",
    error_field: str = "",
    reason: str = "",
    force: bool = False,
) -> Response:
    draft = publish.draft_publication(session, ctx.settings, case)
    row = publish.publication_of(session, case)
    if texts is None:
        approved = row is not None and row.decision == publish.PUBLISH
        texts = (row.question, row.answer) if row and approved else (draft.question, draft.answer)
    return ctx.render(
        "publication.html.j2",
        status,
        title=f"{case.reference}: publication",
        case=case,
        draft=draft,
        row=row,
        withheld=row is not None and row.decision == publish.WITHHOLD,
        answered=answered_on(case, ctx.settings),
        question=texts[0],
        answer=texts[1],
        question_found=found_items(draft.question_original, draft.question_redactions),
        answer_found=found_items(draft.answer_original, draft.answer_redactions),
        error=error,
        error_field=error_field,
        reason=reason,
        force=force,
    )


def show_publication(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        case = _case(session, ctx.param("reference"))
        if case is None:
            return ctx.not_found("That case")
        return _render_case(ctx, session, case)


def _refused(
    ctx: Ctx,
    error: str,
    field: str,
    *,
    texts: tuple[str, str] | None = None,
    reason: str = "",
    force: bool = False,
) -> Response:
    """The page again, as staff left it, with why nothing was saved (the change rolled back)."""
    with ctx.web.register.transaction() as session:
        case = _case(session, ctx.param("reference"))
        if case is None:
            return ctx.not_found("That case")
        return _render_case(
            ctx,
            session,
            case,
            status=400,
            texts=texts,
            error=error,
            error_field=field,
            reason=reason,
            force=force,
        )


def approve(ctx: Ctx) -> Response:
    question, answer = ctx.form.get("question"), ctx.form.get("answer")
    force = ctx.form.get("force") == "yes"
    reference = ctx.param("reference")
    try:
        with ctx.web.register.transaction() as session:
            case = _case(session, reference)
            if case is None:
                return ctx.not_found("That case")
            draft = publish.draft_publication(session, ctx.settings, case)
            publish.approve_publication(
                session,
                ctx.settings,
                case,
                actor=ctx.user.username,
                now=ctx.now,
                question=edited_text(question, draft.question),
                answer=edited_text(answer, draft.answer),
                force=force,
            )
    except publish.PublicationError as exc:
        texts = (question or "", answer or "")
        return _refused(ctx, str(exc), "texts", texts=texts, force=force)
    ctx.flash(
        f"{reference} approved for the disclosure log. "
        "It goes on the published page the next time the log is written."
    )
    return ctx.redirect(LIST_URL)


def withhold(ctx: Ctx) -> Response:
    reason = ctx.form.get("reason", "")
    reference = ctx.param("reference")
    try:
        with ctx.web.register.transaction() as session:
            case = _case(session, reference)
            if case is None:
                return ctx.not_found("That case")
            publish.withhold_publication(
                session, case, reason, actor=ctx.user.username, now=ctx.now
            )
    except publish.PublicationError as exc:
        return _refused(ctx, str(exc), "withhold-reason", reason=reason)
    ctx.flash(f"{reference} withheld from the disclosure log; the reason is kept.")
    return ctx.redirect(LIST_URL)


def write_log(ctx: Ctx) -> Response:
    """``inbox-agent publish`` from the page: a file the web server cannot write is reported
    and, the transaction rolling back, no entry is recorded as published."""
    output = ctx.settings.transparency.publish_dir
    if output is None:
        ctx.flash(
            "transparency.publish_dir is not set in the configuration, so the web UI cannot "
            "write the log: run 'inbox-agent publish --output DIR' instead.",
            error=True,
        )
        return ctx.redirect(LIST_URL)
    try:
        with ctx.web.register.transaction() as session:
            report = publish.publish_log(
                session, ctx.settings, output, actor=ctx.user.username, now=ctx.now
            )
    except OSError as exc:
        ctx.flash(
            f"The disclosure log could not be written to {output}: {exc.strerror or exc}. "
            "Nothing was recorded as published; run 'inbox-agent publish' on the server.",
            error=True,
        )
        return ctx.redirect(LIST_URL)
    new = ", ".join(report.newly_published) or "none"
    ctx.flash(f"Disclosure log written: {report.entries} entries; new on the page: {new}.")
    return ctx.redirect(LIST_URL)
