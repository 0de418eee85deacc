"""Save before you touch the mailbox: raw bytes and a ledger row, in the caller's transaction.

After the transaction that calls ``store_message`` commits, the message cannot be lost, and only
then may the source move or flag it. The same message seen again (a second poll, a UIDVALIDITY
reset, a copy in another folder) finds its earlier row by content hash, or by Message-ID plus
body hash when only transport headers differ, and never opens a second case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Disposition, LedgerEntry, StoredMessage

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class SourceKey:
    """Where a message lives: an IMAP (account, folder, UIDVALIDITY, UID) or a file key."""

    account: str
    folder: str
    uidvalidity: int
    item_key: str
    uid: int | None = None


@dataclass(frozen=True)
class StoreResult:
    stored_message_id: int
    ledger_id: int
    new: bool  # True only when this opened a new stored message (not a duplicate)
    known: bool = False  # True when this very key was already in the ledger: nothing was done


def header_message_id(raw: bytes) -> str:
    """Message-ID from the raw header block, without a full parse (intake must never fail)."""
    head = _HEADER_END.split(raw, maxsplit=1)[0]
    match = _MESSAGE_ID.search(head)
    if not match:
        return ""
    value = re.sub(rb"\s+", b"", match.group(1)).decode("ascii", "replace")
    return value[:998]


def body_digest(raw: bytes) -> str:
    """Hash of everything after the header block: stable when a server adds Received lines."""
    parts = _HEADER_END.split(raw, maxsplit=1)
    return hashlib.sha256(parts[1] if len(parts) > 1 else b"").hexdigest()


def _find_existing(session: Session, sha: str, message_id: str, body: str) -> StoredMessage | None:
    found = session.scalars(select(StoredMessage).where(StoredMessage.sha256 == sha)).first()
    if found is not None or not message_id:
        return found
    return session.scalars(
        select(StoredMessage)
        .where(StoredMessage.message_id == message_id, StoredMessage.body_sha256 == body)
        .order_by(StoredMessage.id)
    ).first()


def known_keys(session: Session, account: str, folder: str, uidvalidity: int) -> set[str]:
    """Item keys already in the ledger, so a local source reads only what is new."""
    return set(
        session.scalars(
            select(LedgerEntry.item_key).where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
            )
        )
    )


def _ledger_for(session: Session, key: SourceKey) -> LedgerEntry | None:
    return session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.account == key.account,
            LedgerEntry.folder == key.folder,
            LedgerEntry.uidvalidity == key.uidvalidity,
            LedgerEntry.item_key == key.item_key,
        )
    ).first()


def store_message(
    session: Session,
    key: SourceKey,
    raw: bytes,
    now: dt.datetime,
    *,
    quarantine_reason: str | None = None,
    delivered_at: dt.datetime | None = None,
) -> StoreResult:
    """Record ``raw`` under ``key``; the caller's commit makes it durable.

    ``delivered_at`` is when the mailbox received the message (IMAP INTERNALDATE); statutory
    clocks start then, not when a daemon that was down for the weekend got round to it.
    """
    known = _ledger_for(session, key)
    if known is not None:
        return StoreResult(known.stored_message_id, known.id, new=False, known=True)
    sha = hashlib.sha256(raw).hexdigest()
    message_id, body = header_message_id(raw), body_digest(raw)
    existing = _find_existing(session, sha, message_id, body)
    if existing is not None and existing.sha256 == sha:
        stored, new = existing, False
    else:
        stored = StoredMessage(
            sha256=sha,
            body_sha256=body,
            message_id=message_id,
            raw=raw,
            size=len(raw),
            received_at=min(delivered_at, now) if delivered_at else now,
            disposition=Disposition.PENDING,
            attempts=0,
        )
        new = existing is None
        if existing is not None:
            stored.disposition = Disposition.DUPLICATE
            stored.duplicate_of_id = existing.id
        if quarantine_reason is not None:
            stored.disposition = Disposition.QUARANTINED
            stored.error = quarantine_reason
        session.add(stored)
        session.flush()
        _audit_stored(session, stored, key, now)
    entry = LedgerEntry(
        account=key.account,
        folder=key.folder,
        uidvalidity=key.uidvalidity,
        item_key=key.item_key,
        uid=key.uid,
        stored_message_id=stored.id,
        seen_at=now,
    )
    session.add(entry)
    session.flush()
    return StoreResult(stored.id, entry.id, new=new)


def _audit_stored(
    session: Session, stored: StoredMessage, key: SourceKey, now: dt.datetime
) -> None:
    detail: dict[str, Any] = {
        "folder": key.folder,
        "uidvalidity": key.uidvalidity,
        "item": key.item_key,
        "size": stored.size,
        "disposition": stored.disposition,
    }
    if stored.error:
        detail["reason"] = stored.error
    record(session, AuditAction.MESSAGE_STORED, at=now, stored_message_id=stored.id, **detail)
