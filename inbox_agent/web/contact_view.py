"""Record a telephone call, letter, visit, meeting or social-media contact from the web UI.

A form over ``contacts.record_contact``, the function the CLI calls: the contact becomes a
case with the same clock, routes, written confirmation and publication as an email would.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from starlette.responses import Response

from inbox_agent.casework.contacts import ContactError, ContactRecord, record_contact
from inbox_agent.classify import Category
from inbox_agent.register.models import RECORDED_METHODS
from inbox_agent.web.context import Ctx
from inbox_agent.web.labels import CASE_CATEGORIES, category_label

METHOD_LABELS = {
    "telephone": "Telephone",
    "letter": "Letter",
    "in_person": "In person",
    "meeting": "Meeting (log of a meeting held)",
    "social_media": "Social media",
}


def show_contact_form(ctx: Ctx) -> Response:
    return _form(ctx, {})


def _form(ctx: Ctx, values: dict[str, str], status: int = 200) -> Response:
    return ctx.render(
        "contact.html.j2",
        status=status,
        title="Record a contact",
        methods=[(m, METHOD_LABELS.get(m, m)) for m in RECORDED_METHODS],
        categories=[(c, category_label(c)) for c in CASE_CATEGORIES],
        values=values,
        confirms=ctx.settings.protocol.confirm_telephone_requests,
    )


def record_contact_form(ctx: Ctx) -> Response:
    """File the contact and open its case; a mistake keeps what was typed, naming the field."""
    form = ctx.form
    try:
        record = ContactRecord(
            method=form.get("method", ""),
            category=_category(form.get("category", "")),
            name=form.get("name", "").strip(),
            text=form.get("text", ""),
            at=_when(form.get("at", ""), ctx.settings.office.zone, ctx.now),
            email=form.get("email", "").strip(),
            phone=form.get("phone", "").strip(),
            subject=form.get("subject", "").strip(),
            log="force" if form.get("log") == "force" else "opcc",
            attendees=form.get("attendees", "").strip(),
        )
        with ctx.web.register.transaction() as session:
            case = record_contact(
                session,
                ctx.settings,
                ctx.web.calendar,
                record,
                actor=ctx.user.username,
                now=ctx.now,
            )
            reference = case.reference
    except ContactError as exc:
        ctx.flash(f"Not recorded: {exc}", error=True)
        return _form(ctx, dict(form), status=400)
    ctx.flash(f"Contact recorded as {reference}.")
    return ctx.redirect(f"/cases/{reference}")


def _category(value: str) -> Category:
    if value not in CASE_CATEGORIES:
        raise ContactError("category: choose one")
    return Category(value)


def _when(value: str, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The form's local date-time (``datetime-local``), or now when left empty."""
    if not value.strip():
        return now
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ContactError(f"at: not a date and time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
