"""The pages: queue, case, dashboard, downloads, accounts. Each is a function of a ``Ctx``.

A page reads in one transaction and renders inside it; an action changes the register in one
transaction, then redirects (post/redirect/get) with a message for the next page.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from inbox_agent.casework.clock_status import clock_stops
from inbox_agent.casework.register_rows import register_rows
from inbox_agent.deadlines import received_local_date
from inbox_agent.register.audit import AuditAction
from inbox_agent.register.models import Case, CaseStatus, OutboxMessage, StoredMessage
from inbox_agent.web import (
    accounts,
    casework,
    reply_attachments,
    sessions,
    signin,
    similar_view,
    statistics_view,
    statutory_view,
)
from inbox_agent.web.casework import ActionError, AlreadySent
from inbox_agent.web.context import Ctx
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
    SEARCH_MAX,
    STATUS_CHOICES,
    QueueFilters,
    count_cases,
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
        stops = clock_stops(session, result.cases, ctx.web.calendar, ctx.settings.office.timezone)
        return ctx.render(
            "queue.html.j2",
            400 if filters.error else 200,
            title="Queue",
            filters=filters,
            result=result,
            counts=open_counts_by_category(session),
            new_replies=count_cases(session, QueueFilters(new_reply=True), today, ctx.web.calendar),
            overdue=count_cases(session, QueueFilters(due="overdue"), today, ctx.web.calendar),
            search_max=SEARCH_MAX,
            officers=officers(session),
            today=today,
            soon=due_soon_limit(today, ctx.web.calendar),
            status_choices=STATUS_CHOICES,
            due_choices=DUE_CHOICES,
            campaign_of=similar_view.queue_campaigns(session),
            stops=stops,
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


def _render_case(
    ctx: Ctx,
    session: Session,
    case: Case,
    *,
    kept: dict[str, str] | None = None,
    status: int = 200,
    error: str = "",
) -> Response:
    """The case page; ``kept`` puts back text staff typed (an expired session, a refusal)."""
    staff = [u.display_name or u.username for u in accounts.list_users(session) if u.active]
    kept = kept or {}
    similar = similar_view.case_panel(ctx, session, case)
    reused = similar.reuse.answer if similar.reuse else ""
    return ctx.render(
        "case.html.j2",
        status,
        title=f"{case.reference}: {case.subject or 'no subject'}",
        case=case,
        thread=_thread(session, case),
        events=list(case.events),
        follow_ups=casework.open_follow_ups(case),
        due_note=_due_note(ctx, case),
        staff=staff,
        reply_text=kept.get("body")
        or statutory_view.letter_draft(ctx, session, case)
        or _reply_draft(ctx, case, reused),
        decisions_text=kept.get("decisions", case.decisions_and_risk_mitigations or ""),
        reply_error=error,
        form_token=secrets.token_urlsafe(24),
        limits=LIMITS,
        today=_today(ctx),
        similar=similar,
        **statutory_view.case_values(ctx, session, case),
        **reply_attachments.case_values(session, case),
    )


LIMITS = {
    "reply": casework.REPLY_MAX,
    "note": casework.NOTE_MAX,
    "decisions": casework.TEXT_MAX,
    "officer": casework.OFFICER_MAX,
}


def show_case(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        case = _case(session, ctx.param("reference"))
        if case is None:
            return ctx.not_found("That case")
        token = ctx.web.session_token(ctx.request)
        kept = sessions.take_resume(session, token, f"/cases/{case.reference}") if token else {}
        if kept:
            ctx.flash(
                "You were signed out before that form was sent. What you typed is back in the "
                "form below; nothing has been sent or saved yet."
            )
        return _render_case(ctx, session, case, kept=kept)


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


def _send(ctx: Ctx, session: Session, case: Case) -> str:
    """The confirmed reply (from the preview page): queued once per form token.

    Refused unchanged is the blank draft (greeting and signature only); a reused answer or a
    statutory letter staff chose may go as it is, after the preview.
    """
    body = ctx.form.get("body", "")
    files = reply_attachments.files_for_reply(session, case)
    outbox = casework.send_reply(
        session,
        ctx.settings,
        case,
        body,
        draft=_reply_draft(ctx, case),
        form_token=ctx.form.get("form_token", ""),
        actor=ctx.user.username,
        now=ctx.now,
        files=reply_attachments.outgoing(files),
    )
    reply_attachments.mark_sent(session, case, files, outbox, actor=ctx.user.username, now=ctx.now)
    similar_view.record_reply_reuse(ctx, session, case, body)
    return (
        "Reply queued: the daemon sends it on its next pass. "
        "It is recorded as information provided."
    )


def preview_reply(ctx: Ctx) -> Response:
    """The email exactly as it will leave, with Send and Edit; nothing is queued yet.

    A refused reply (empty, too long, the untouched draft) comes back in the form with the
    reason, the text kept.
    """
    body = ctx.form.get("body", "")
    token = ctx.form.get("form_token", "") or secrets.token_urlsafe(24)
    with ctx.web.register.transaction() as session:
        case = _case(session, ctx.param("reference"))
        if case is None:
            return ctx.not_found("That case")
        try:
            text = casework.check_reply(body, _reply_draft(ctx, case))
            files = reply_attachments.files_for_reply(session, case)
        except ActionError as exc:
            return _render_case(ctx, session, case, kept={"body": body}, status=400, error=str(exc))
        return ctx.render(
            "reply_preview.html.j2",
            title=f"{case.reference}: check the reply",
            case=case,
            body=text,
            subject=casework.reply_subject(ctx.settings, case),
            form_token=token,
            reused_from=ctx.form.get(similar_view.REUSED_FIELD, ""),
            reused_field=similar_view.REUSED_FIELD,
            files=files,
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


def _follow_up_read(ctx: Ctx, session: Session, case: Case) -> str:
    casework.mark_follow_up_read(session, case, actor=ctx.user.username, now=ctx.now)
    return "The new reply is marked as read."


CASE_ACTIONS: dict[str, CaseAction] = {
    "reclassify": _reclassify,
    "assign": _assign,
    "decisions": _decisions,
    "send": _send,
    "website": _website,
    "close": _close,
    "reopen": _reopen,
    "reviewed": _reviewed,
    "follow_up_read": _follow_up_read,
    **statutory_view.ACTIONS,
    **reply_attachments.ACTIONS,
}
# what publishes on the public website is an administrator's decision (checked here, not
# only by hiding the form)
ADMIN_ACTIONS = frozenset({"website"})


def upload_attachment(ctx: Ctx) -> Response:
    """A file for the reply (a multipart form of its own): ``web/reply_attachments``."""
    return _run_case_action(ctx, "attachments", reply_attachments.upload)


def case_action(ctx: Ctx) -> Response:
    name = ctx.param("action")
    if name == "reply":
        return preview_reply(ctx)
    return _run_case_action(ctx, name, CASE_ACTIONS.get(name))


def _run_case_action(ctx: Ctx, name: str, action: CaseAction | None) -> Response:
    reference = ctx.param("reference")
    if action is None:
        return ctx.not_found("That action")
    if name in ADMIN_ACTIONS and not ctx.user.is_admin:
        return ctx.forbidden("Recording a publication on the website is for administrators.")
    try:
        with ctx.web.register.transaction() as session:
            case = _case(session, reference)
            if case is None:
                return ctx.not_found("That case")
            text = action(ctx, session, case)
    except AlreadySent as exc:
        ctx.flash(str(exc))
        return ctx.redirect(f"/cases/{reference}")
    except ActionError as exc:
        if name in ("send", "decisions"):  # keep what was typed, with the reason
            return _refused_text(ctx, name, str(exc))
        ctx.flash(str(exc), error=True)
        return ctx.redirect(f"/cases/{reference}")
    ctx.flash(text)
    return ctx.redirect(f"/cases/{reference}")


def _refused_text(ctx: Ctx, name: str, error: str) -> Response:
    field = "body" if name == "send" else "decisions"
    with ctx.web.register.transaction() as session:
        case = _case(session, ctx.param("reference"))
        if case is None:
            return ctx.not_found("That case")
        if name == "decisions":
            ctx.flash(error, error=True)
            error = ""
        kept = {field: ctx.form.get(field, "")}
        return _render_case(ctx, session, case, kept=kept, status=400, error=error)


# --------------------------------------------------------------------------- dashboard


def show_dashboard(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        board = build_dashboard(session, ctx.settings, ctx.now, ctx.web.calendar)
        statistics = statistics_view.dashboard_values(ctx, session)
        return ctx.render(
            "dashboard.html.j2", title="Dashboard", board=board, today=_today(ctx), **statistics
        )


# --------------------------------------------------------------------------- downloads


def _register_name(ctx: Ctx, extension: str) -> str:
    prefix = ctx.settings.office.reference_prefix.lower()
    return f"register-{prefix}-{_today(ctx).isoformat()}.{extension}"


def download_csv(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        data = register_csv(register_rows(session, ctx.settings))
    ctx.web.audit(ctx.user.username, AuditAction.REGISTER_DOWNLOADED, format="csv")
    return _download(data, _register_name(ctx, "csv"), "text/csv; charset=utf-8")


def download_xlsx(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        data = register_xlsx(register_rows(session, ctx.settings))
    ctx.web.audit(ctx.user.username, AuditAction.REGISTER_DOWNLOADED, format="xlsx")
    return _download(data, _register_name(ctx, "xlsx"), XLSX_MEDIA_TYPE)


# --------------------------------------------------------------------------- accounts


def show_users(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        return ctx.render(
            "users.html.j2",
            title="Staff accounts",
            users=accounts.list_users(session),
            lockouts=signin.lockouts(session, ctx.now),
        )


def clear_lockout(ctx: Ctx) -> Response:
    """An administrator lets an account (or a source) sign in again; audited."""
    key = ctx.form.get("key", "")
    with ctx.web.register.transaction() as session:
        cleared = signin.clear_lockouts(session, key=key)
    ctx.web.audit(ctx.user.username, AuditAction.LOCKOUT_CLEARED, key=key[:200], cleared=cleared)
    ctx.flash("Sign-in lockout cleared." if cleared else "That lockout had already ended.")
    return ctx.redirect("/admin/users")


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
                email=ctx.form.get("email", ""),
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
        elif action == "email":
            with ctx.web.register.transaction() as session:
                address = ctx.form.get("email", "")
                accounts.set_email(session, username, address, actor=actor, now=ctx.now)
        else:
            return ctx.not_found("That action")
    except accounts.AccountError as exc:
        ctx.flash(str(exc), error=True)
    else:
        done = {
            "disable": "disabled",
            "enable": "enabled",
            "reset": "given a new password",
            "email": "given a notification address",
        }
        ctx.flash(f"Account {username} {done[action]}.")
    return ctx.redirect("/admin/users")
