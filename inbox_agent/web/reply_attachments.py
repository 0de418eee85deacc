"""Files attached to a reply: uploaded, inspected, approved by a second person, then sent.

Upload is its own form (multipart; the reply form stays a plain one): the file is stored on
the case with its ``attachment_checks`` verdict straight away, so staff see at once what
was found. The reply then carries every file still on the case, and is refused while one is
blocked or waits for a second member of staff. The anonymiser is the disclosure log's own
(``publish.lexicon_for``): the same names and parties it would redact from a publication.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.casework.attachment_checks import Verdict, inspect_attachment
from inbox_agent.outbox import OutgoingFile
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Case, OutboxMessage, ReplyAttachment
from inbox_agent.settings import Settings
from inbox_agent.transparency.anonymise import Anonymiser
from inbox_agent.transparency.publish import lexicon_for
from inbox_agent.web.casework import ActionError
from inbox_agent.web.context import Ctx

UPLOAD_FIELD = "file"
MAX_ON_CASE = 10
FILENAME_MAX = 200


def waiting(session: Session, case: Case) -> list[ReplyAttachment]:
    """The files on the case that the next reply will carry."""
    return list(
        session.scalars(
            select(ReplyAttachment)
            .where(
                ReplyAttachment.case_id == case.id,
                ReplyAttachment.outbox_id.is_(None),
                ReplyAttachment.removed_at.is_(None),
            )
            .order_by(ReplyAttachment.id)
        )
    )


def add_file(
    session: Session,
    settings: Settings,
    case: Case,
    filename: str,
    data: bytes,
    *,
    actor: str,
    now: dt.datetime,
) -> ReplyAttachment:
    name = " ".join(filename.replace("\\", "/").rsplit("/", 1)[-1].split())[:FILENAME_MAX]
    if not name or not data:
        raise ActionError("Choose a file to attach.")
    if len(waiting(session, case)) >= MAX_ON_CASE:
        raise ActionError(f"A reply can carry at most {MAX_ON_CASE} files.")
    anonymiser = Anonymiser(lexicon_for(session, settings))
    inspection = inspect_attachment(
        name, data, lambda text: [r.label for r in anonymiser.find(text)]
    )
    row = ReplyAttachment(
        case_id=case.id,
        filename=name,
        content_type=inspection.content_type,
        data=data if inspection.verdict != Verdict.BLOCKED else b"",  # never sent: not kept
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        verdict=inspection.verdict.value,
        findings=[
            {"code": f.code, "text": f.text, "blocks": f.blocks} for f in inspection.findings
        ],
        uploaded_by=actor,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    findings = [f.text for f in inspection.findings]
    record(
        session,
        AuditAction.ATTACHMENT_ADDED,
        at=now,
        actor=actor,
        case=case,
        file=name,
        size=len(data),
        verdict=row.verdict,
        findings=findings,
    )
    return row


def _waiting_file(session: Session, case: Case, ident: str) -> ReplyAttachment:
    try:
        row = session.get(ReplyAttachment, int(ident))
    except ValueError:
        row = None
    if row is None or row.case_id != case.id or row.outbox_id or row.removed_at:
        raise ActionError("That attachment is not waiting on this case.")
    return row


def approve_file(
    session: Session, case: Case, ident: str, *, actor: str, now: dt.datetime
) -> ReplyAttachment:
    row = _waiting_file(session, case, ident)
    if row.verdict == Verdict.BLOCKED:
        raise ActionError("A blocked file cannot be approved: remove it and attach a clean one.")
    if row.verdict != Verdict.NEEDS_APPROVAL:
        raise ActionError("That file needs no approval.")
    if actor == row.uploaded_by:
        raise ActionError("A second member of staff must approve it, not the one who attached it.")
    row.approved_by, row.approved_at = actor, now
    record(
        session,
        AuditAction.ATTACHMENT_APPROVED,
        at=now,
        actor=actor,
        case=case,
        file=row.filename,
        uploaded_by=row.uploaded_by,
    )
    return row


def remove_file(
    session: Session, case: Case, ident: str, *, actor: str, now: dt.datetime
) -> ReplyAttachment:
    row = _waiting_file(session, case, ident)
    row.removed_at = now
    record(
        session, AuditAction.ATTACHMENT_REMOVED, at=now, actor=actor, case=case, file=row.filename
    )
    return row


def files_for_reply(session: Session, case: Case) -> list[ReplyAttachment]:
    """What the reply carries; ActionError while a file is blocked or awaits its approval."""
    rows = waiting(session, case)
    for row in rows:
        if row.verdict == Verdict.BLOCKED:
            raise ActionError(f"{row.filename} is blocked: remove it before sending the reply.")
    for row in rows:
        if row.verdict == Verdict.NEEDS_APPROVAL and row.approved_by is None:
            raise ActionError(
                f"{row.filename} needs a second member of staff to approve it before the reply "
                "can be sent."
            )
    return rows


def outgoing(rows: list[ReplyAttachment]) -> list[OutgoingFile]:
    return [OutgoingFile(r.filename, r.content_type, r.data) for r in rows]


def mark_sent(
    session: Session,
    case: Case,
    rows: list[ReplyAttachment],
    outbox: OutboxMessage,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    """The files went with this reply: they leave the case's list, the trail says so."""
    for row in rows:
        row.outbox_id = outbox.id
    if rows:
        names = [r.filename for r in rows]
        record(
            session,
            AuditAction.ATTACHMENTS_SENT,
            at=now,
            actor=actor,
            case=case,
            outbox=outbox.id,
            files=names,
        )


# --------------------------------------------------------------------------- the page


def case_values(session: Session, case: Case) -> dict[str, Any]:
    return {"reply_files": waiting(session, case)}


def _approve(ctx: Ctx, session: Session, case: Case) -> str:
    row = approve_file(
        session, case, ctx.form.get("attachment", ""), actor=ctx.user.username, now=ctx.now
    )
    return f"{row.filename} approved to go with the reply."


def _remove(ctx: Ctx, session: Session, case: Case) -> str:
    row = remove_file(
        session, case, ctx.form.get("attachment", ""), actor=ctx.user.username, now=ctx.now
    )
    return f"{row.filename} removed from the reply."


def upload(ctx: Ctx, session: Session, case: Case) -> str:
    upload = ctx.files.get(UPLOAD_FIELD)
    if upload is None:
        raise ActionError("Choose a file to attach.")
    name, data = upload
    row = add_file(session, ctx.settings, case, name, data, actor=ctx.user.username, now=ctx.now)
    if row.verdict == Verdict.BLOCKED:
        return f"{row.filename} is blocked and will not be sent: " + "; ".join(
            f["text"] for f in row.findings
        )
    if row.verdict == Verdict.NEEDS_APPROVAL:
        return f"{row.filename} attached; a second member of staff must approve it."
    return f"{row.filename} attached; it goes with the next reply."


ACTIONS = {"attachment-approve": _approve, "attachment-remove": _remove}
