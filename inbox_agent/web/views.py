"""The pages: queue, case, dashboard, downloads, accounts. Each is a function of a ``Ctx``.

A page reads in one transaction and renders inside it; an action changes the register in one
transaction, then redirects (post/redirect/get) with a message for the next page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from inbox_agent.deadlines import received_local_date
from inbox_agent.register.export import all_cases
from inbox_agent.register.models import Case, CaseStatus, OutboxMessage, StoredMessage
from inbox_agent.web import accounts, casework, similar_view, statutory_view
from inbox_agent.web.app import Ctx
from inbox_agent.web.casework import ActionError
from inbox_agent.web.dashboard import build_dashboard
from inbox_agent.web.downloads import XLSX_MEDIA_TYPE, register_csv, register_xlsx
from inbox_agent.web.labels import category_label
from inbox_agent.web.mailview import (
    FRAME_STYLE,
    FRAME_STYLE_HASH,
    MessageView,
    attachment_bytes,
    attachment_parts,
    content_disposition,
    html_body,
    safe_filename,
    sanitise_html,
    view_outbox,
    view_stored,
)
from inbox_agent.web.queue import (
    DUE_CHOICES,
    STATUS_CHOICES,
    QueueFilters,
    due_soon_limit,
    find_cases,
    officers,
    open_counts_by_category,
)
from inbox_agent.web.security import message_frame_csp

CaseAction = Callable[[Ctx, Session, Case], str]


def _today(ctx: Ctx) -> dt.date:
    return received_local_date(ctx.now, ctx.settings.office.timezone)


def _case(session: Session, reference: str) -> Case | None:
    return session.scalars(select(Case).where(Case.reference == reference)).first()


def _download(data: bytes, filename: str, media_type: str = "application/octet-stream") -> Response:
    return Response(
        data, media_type=media_type, headers={"content-disposition": content_disposition(filename)}
    )


# --------------------------------------------------------------------------- queue


def show_queue(ctx: Ctx) -> Response:
    filters = QueueFilters.from_query(ctx.request.query_params)
    today = _today(ctx)
    with ctx.web.register.transaction() as session:
        result = find_cases(session, filters, today, ctx.web.calendar)
        return ctx.render(
            "queue.html.j2",
            title="Queue",
            filters=filters,
            result=result,
            counts=open_counts_by_category(session),
            officers=officers(session),
            today=today,
            soon=due_soon_limit(today, ctx.web.calendar),
            status_choices=STATUS_CHOICES,
            due_choices=DUE_CHOICES,
            campaign_of=similar_view.queue_campaigns(session),
        )


# --------------------------------------------------------------------------- case


def _thread(session: Session, case: Case) -> list[MessageView]:
    inbound = [view_stored(m) for m in case.messages]
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id)
    )
    outbound = [view_outbox(row) for row in rows]
    return sorted([*inbound, *outbound], key=lambda v: (v.at, v.direction == "out", v.id))


def _due_note(ctx: Ctx, case: Case) -> str:
    if case.due_date is None:
        return "No due date"
    if case.status in (CaseStatus.ANSWERED, CaseStatus.CLOSED):
        return case.status.replace("_", " ")
    today = _today(ctx)
    if case.due_date < today:
        days = (today - case.due_date).days
        return f"overdue by {days} day{'s' if days != 1 else ''}"
    left = ctx.web.calendar.working_days_between(today, case.due_date)
    return "due today" if left == 0 else f"{left} working day{'s' if left != 1 else ''} left"


def _reply_draft(ctx: Ctx, case: Case, body: str = "") -> str:
    name = case.requester_name.split(" ")[0] if case.requester_name else ""
    greeting = f"Dear {case.requester_name}," if name else "Hello,"
    office = ctx.settings.office
    return (
        f"{greeting}\n\nThank you for your email.\n\n{body}\n\n"
        f"Yours sincerely,\n\n{ctx.user.name}\n{office.spoc_role}\n{office.name}\n"
    )


def _render_case(ctx: Ctx, session: Session, case: Case) -> Response:
    staff = [u.display_name or u.username for u in accounts.list_users(session) if u.active]
    similar = similar_view.case_panel(ctx, session, case)
    reused = similar.reuse.answer if similar.reuse else ""
    return ctx.render(
        "case.html.j2",
        title=f"{case.reference}: {case.subject or 'no subject'}",
        case=case,
        thread=_thread(session, case),
        events=list(case.events),
        follow_ups=casework.open_follow_ups(case),
        due_note=_due_note(ctx, case),
        staff=staff,
        reply_draft=statutory_view.letter_draft(ctx, session, case)
        or _reply_draft(ctx, case, reused),
        today=_today(ctx),
        similar=similar,
        **statutory_view.case_values(ctx, session, case),
    )


def show_case(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        case = _case(session, ctx.param("reference"))
        if case is None:
            return ctx.not_found("That case")
        return _render_case(ctx, session, case)


def _case_message(session: Session, ctx: Ctx) -> StoredMessage | None:
    case = _case(session, ctx.param("reference"))
    message = session.get(StoredMessage, int(ctx.param("message_id")))
    if case is None or message is None or message.case_id != case.id:
        return None
    return message


def download_original(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        message = _case_message(session, ctx)
        if message is None:
            return ctx.not_found("That message")
        name = f"{ctx.param('reference')}-message-{message.id}.eml"
        return _download(message.raw, name)


def formatted_message(ctx: Ctx) -> Response:
    """The sanitised HTML, for a sandboxed frame: nothing may load, nothing may run."""
    with ctx.web.register.transaction() as session:
        message = _case_message(session, ctx)
        html = html_body(message.raw) if message is not None else None
    if html is None:
        return ctx.not_found("A formatted version of that message")
    document = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>Formatted message</title><style>{FRAME_STYLE}</style></head>"
        f"<body>{sanitise_html(html)}</body></html>"
    )
    headers = {
        "content-security-policy": message_frame_csp(FRAME_STYLE_HASH),
        "x-frame-options": "SAMEORIGIN",
    }
    return HTMLResponse(document, headers=headers)


def download_attachment(ctx: Ctx) -> Response:
    index = int(ctx.param("index"))
    with ctx.web.register.transaction() as session:
        message = _case_message(session, ctx)
        parts = attachment_parts(message.raw) if message is not None else []
    if not 0 <= index < len(parts):
        return ctx.not_found("That attachment")
    part = parts[index]
    name = safe_filename(part.get_filename(), index, part.get_content_type())
    return _download(attachment_bytes(part), name)


# --------------------------------------------------------------------------- case actions


def _reclassify(ctx: Ctx, session: Session, case: Case) -> str:
    notes = casework.reclassify(
        session,
        ctx.settings,
        ctx.web.calendar,
        case,
        category=ctx.form.get("category", ""),
        note=ctx.form.get("note", ""),
        actor=ctx.user.username,
        now=ctx.now,
    )
    text = f"Classified as {category_label(case.category)}; kept as a training label."
    return text + (" Follow-up needed: " + " ".join(notes) if notes else "")


def _assign(ctx: Ctx, session: Session, case: Case) -> str:
    officer = ctx.form.get("officer", "")
    casework.assign_officer(session, case, officer, actor=ctx.user.username, now=ctx.now)
    return f"Assigned to {case.officer}." if case.officer else "Officer cleared."


def _decisions(ctx: Ctx, session: Session, case: Case) -> str:
    text = ctx.form.get("decisions", "")
    casework.record_decisions(session, case, text, actor=ctx.user.username, now=ctx.now)
    return "Decisions and risk mitigations saved."


def _reply(ctx: Ctx, session: Session, case: Case) -> str:
    body = ctx.form.get("body", "")
    casework.send_reply(session, ctx.settings, case, body, actor=ctx.user.username, now=ctx.now)
    similar_view.record_reply_reuse(ctx, session, case, body)
    return (
        "Reply queued: the daemon sends it on its next pass. "
        "It is recorded as information provided."
    )


def _website(ctx: Ctx, session: Session, case: Case) -> str:
    day = ctx.form.get("date", "")
    casework.mark_on_website(session, case, day, actor=ctx.user.username, now=ctx.now)
    return "Date added to the website recorded."


def _close(ctx: Ctx, session: Session, case: Case) -> str:
    note = ctx.form.get("note", "")
    casework.set_status(
        session, case, CaseStatus.CLOSED, note, actor=ctx.user.username, now=ctx.now
    )
    return "Case closed."


def _reopen(ctx: Ctx, session: Session, case: Case) -> str:
    note = ctx.form.get("note", "")
    casework.set_status(
        session, case, CaseStatus.IN_PROGRESS, note, actor=ctx.user.username, now=ctx.now
    )
    return "Case reopened."


def _reviewed(ctx: Ctx, session: Session, case: Case) -> str:
    casework.mark_reviewed(session, case, actor=ctx.user.username, now=ctx.now)
    return "Marked as reviewed."


CASE_ACTIONS: dict[str, CaseAction] = {
    "reclassify": _reclassify,
    "assign": _assign,
    "decisions": _decisions,
    "reply": _reply,
    "website": _website,
    "close": _close,
    "reopen": _reopen,
    "reviewed": _reviewed,
    **statutory_view.ACTIONS,
}


def case_action(ctx: Ctx) -> Response:
    action = CASE_ACTIONS.get(ctx.param("action"))
    reference = ctx.param("reference")
    if action is None:
        return ctx.not_found("That action")
    try:
        with ctx.web.register.transaction() as session:
            case = _case(session, reference)
            if case is None:
                return ctx.not_found("That case")
            text = action(ctx, session, case)
    except ActionError as exc:
        ctx.flash(str(exc), error=True)
        return ctx.redirect(f"/cases/{reference}")
    ctx.flash(text)
    return ctx.redirect(f"/cases/{reference}")


# --------------------------------------------------------------------------- dashboard


def show_dashboard(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        board = build_dashboard(session, ctx.settings, ctx.now)
    return ctx.render("dashboard.html.j2", title="Dashboard", board=board)


# --------------------------------------------------------------------------- downloads


def _register_name(ctx: Ctx, extension: str) -> str:
    prefix = ctx.settings.office.reference_prefix.lower()
    return f"register-{prefix}-{_today(ctx).isoformat()}.{extension}"


def download_csv(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        data = register_csv(all_cases(session))
    ctx.web.audit(ctx.user.username, "register_downloaded", format="csv")
    return _download(data, _register_name(ctx, "csv"), "text/csv; charset=utf-8")


def download_xlsx(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        data = register_xlsx(all_cases(session))
    ctx.web.audit(ctx.user.username, "register_downloaded", format="xlsx")
    return _download(data, _register_name(ctx, "xlsx"), XLSX_MEDIA_TYPE)


# --------------------------------------------------------------------------- accounts


def show_users(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        return ctx.render(
            "users.html.j2", title="Staff accounts", users=accounts.list_users(session)
        )


def _new_password(ctx: Ctx) -> str:
    password = ctx.form.get("password", "")
    if password != ctx.form.get("password_confirm", ""):
        raise accounts.AccountError("The two passwords differ.")
    return password


def add_user(ctx: Ctx) -> Response:
    username = ctx.form.get("username", "")
    try:
        password = _new_password(ctx)
        with ctx.web.register.transaction() as session:
            accounts.add_user(
                session,
                username,
                password,
                role=ctx.form.get("role", ""),
                display_name=ctx.form.get("display_name", ""),
                actor=ctx.user.username,
                now=ctx.now,
            )
    except accounts.AccountError as exc:
        ctx.flash(str(exc), error=True)
    else:
        ctx.flash(f"Account {username.strip().lower()} added.")
    return ctx.redirect("/admin/users")


def user_action(ctx: Ctx) -> Response:
    username, action = ctx.param("username"), ctx.param("action")
    actor = ctx.user.username
    try:
        if action in ("disable", "enable"):
            if username == actor:
                raise accounts.AccountError("You cannot disable your own account.")
            with ctx.web.register.transaction() as session:
                accounts.set_active(session, username, action == "enable", actor=actor, now=ctx.now)
        elif action == "reset":
            password = _new_password(ctx)
            with ctx.web.register.transaction() as session:
                accounts.reset_password(session, username, password, actor=actor, now=ctx.now)
        else:
            return ctx.not_found("That action")
    except accounts.AccountError as exc:
        ctx.flash(str(exc), error=True)
    else:
        done = {"disable": "disabled", "enable": "enabled", "reset": "given a new password"}
        ctx.flash(f"Account {username} {done[action]}.")
    return ctx.redirect("/admin/users")
