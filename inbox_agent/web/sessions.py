"""Server-side sessions: the cookie holds a random id, the register decides whether it is live.

A signed cookie alone cannot be revoked: until it expired, a copy taken from a shared PC would
keep working after "Sign out". Here the register keeps each session's SHA-256 (never the id
itself, so a leaked backup holds no usable session) with when it was last used, and a
session ends there: on sign-out, after ``web.idle_minutes`` without a request, after
``web.session_hours`` in all, or when the account is disabled or its password reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from inbox_agent.register.models import WebSession, WebUser

TOUCH_EVERY = dt.timedelta(seconds=30)  # last_seen_at is written at most this often
KEEP_ENDED = dt.timedelta(days=30)  # ended or abandoned sessions are deleted after this
IDLE = "idle"
EXPIRED = "expired"
SIGNED_OUT = "signed_out"
ACCOUNT_CHANGED = "account_changed"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row(session: Session, token: str) -> WebSession | None:
    return session.scalars(
        select(WebSession).where(WebSession.token_sha256 == _digest(token))
    ).first()


@dataclass(frozen=True)
class Lifetimes:
    idle: dt.timedelta
    absolute: dt.timedelta


def start_session(
    session: Session,
    user_id: int,
    client: str,
    now: dt.datetime,
    resume: dict[str, Any] | None = None,
) -> str:
    """A new session for the account; the id to put in the cookie.

    ``resume`` is a form the previous session left unsent, for the case page to put back.
    Sessions unused for ``KEEP_ENDED`` are deleted here, so the table stays small.
    """
    session.execute(delete(WebSession).where(WebSession.last_seen_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_sha256=_digest(token),
            user_id=user_id,
            client=client[:100],
            created_at=now,
            last_seen_at=now,
            resume=resume,
        )
    )
    return token


def live_session(
    session: Session, token: str, now: dt.datetime, lifetimes: Lifetimes
) -> WebSession | None:
    """The session if it is still live (and marks it used); ends it when it timed out."""
    row = _row(session, token)
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > lifetimes.idle:
        _end(row, now, IDLE)
        return None
    if now - row.created_at > lifetimes.absolute:
        _end(row, now, EXPIRED)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def ended_because(session: Session, token: str) -> str | None:
    row = _row(session, token)
    return row.ended_because if row is not None else None


def _end(row: WebSession, now: dt.datetime, because: str) -> None:
    row.ended_at = now
    row.ended_because = because
    row.resume = None


def end_session(session: Session, token: str, now: dt.datetime, because: str = SIGNED_OUT) -> None:
    row = _row(session, token)
    if row is not None and row.ended_at is None:
        _end(row, now, because)


def end_user_sessions(session: Session, user: WebUser, now: dt.datetime) -> None:
    """Every live session of the account (disabled, or a new password)."""
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=now, ended_because=ACCOUNT_CHANGED, resume=None)
        .execution_options(synchronize_session=False)
    )


def take_resume(session: Session, token: str, path: str) -> dict[str, str]:
    """The form typed before the last session ended, once, if it was for ``path``."""
    row = _row(session, token)
    if row is None or not row.resume or row.resume.get("path") != path:
        return {}
    fields: Any = row.resume.get("fields") or {}
    row.resume = None
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}
