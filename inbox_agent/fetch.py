"""The IMAP session: log in, select, find new UIDs, fetch them with BODY.PEEK[] in batches.

Each batch is committed to the register before the server is told anything; only then are the
messages moved to ``processed_folder`` (or flagged, when it is empty). The watermark is the
highest UID the ledger holds for this UIDVALIDITY, so it advances only with commits, and
``UID n:*`` answering with the last message is filtered out in code. A UIDVALIDITY change
simply starts a new watermark; intake's content hash keeps it from duplicating cases.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import imapclient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from sqlalchemy import func, select

from inbox_agent.clock import Clock
from inbox_agent.errors import ConfigError, MailboxUnavailable
from inbox_agent.intake import SourceKey, store_message
from inbox_agent.oauth import TokenProvider, token_provider
from inbox_agent.peers import tls_context, tls_mismatch
from inbox_agent.register.db import Register
from inbox_agent.register.models import LedgerEntry
from inbox_agent.settings import ImapSettings, Settings

log = logging.getLogger(__name__)

PROCESSED_KEYWORD = "$InboxAgentRegistered"


@dataclass
class FetchReport:
    """What one pass over the mailbox did, for the log line and for tests."""

    uidvalidity: int = 0
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    oversized: int = 0
    mailbox_updated: int = 0
    errors: list[str] = field(default_factory=list)


def imap_credentials(settings: Settings) -> tuple[str, TokenProvider | None]:
    """The password (or OAuth2 tokens) for ``[imap]``: one path for the poll, IDLE, check-config.

    An OAuth2 login has no password; a password login has no tokens. The provider is shared
    per process (``oauth.token_provider``), so every IMAP connection reuses a cached token.
    """
    cfg = settings.imap
    if cfg is not None and cfg.auth == "oauth2":
        return "", token_provider(settings)
    secret = settings.imap_password
    return (secret.get_secret_value() if secret else ""), None


@contextmanager
def imap_session(
    cfg: ImapSettings, password: str, tokens: TokenProvider | None = None
) -> Iterator[imapclient.IMAPClient]:
    """A logged-in client; every library or socket error leaves as MailboxUnavailable.

    With ``tokens`` (``auth = "oauth2"``) the login is SASL XOAUTH2 with a bearer token; the
    token is fetched before connecting, so a token endpoint failure leaves no socket open.
    """
    token = tokens.token() if tokens is not None else None
    try:
        client = imapclient.IMAPClient(
            cfg.host,
            port=cfg.port,
            ssl=cfg.security == "ssl",
            ssl_context=tls_context(cfg) if cfg.security != "none" else None,
            timeout=cfg.timeout_seconds,
        )
    except (OSError, IMAPClientError) as exc:
        mismatch = tls_mismatch("imap", cfg.host, cfg.port, cfg.security, exc)
        raise mismatch or MailboxUnavailable(
            f"cannot connect to {cfg.host}:{cfg.port}: {exc}"
        ) from exc
    client.normalise_times = False  # keep INTERNALDATE's zone: FOI clocks depend on it
    try:
        if cfg.security == "starttls":
            _starttls(client, cfg)
        if token is not None:
            client.oauth2_login(cfg.username, token)
        else:
            client.login(cfg.username, password)
    except imapclient.exceptions.LoginError as exc:
        _close(client)
        if _lost_during_login(exc):
            raise MailboxUnavailable(f"IMAP login to {cfg.host} failed: {exc}") from exc
        if tokens is not None:
            tokens.invalidate()  # a revoked token is not offered again
            raise ConfigError(
                f"imap.auth: XOAUTH2 login refused for {cfg.username} with a token from "
                f"{tokens.identity}: {exc}; check [oauth2] and the mailbox's access grants"
            ) from exc
        raise ConfigError(f"imap.username: login refused for {cfg.username}: {exc}") from exc
    except ConfigError:
        _close(client)
        raise
    except (OSError, IMAPClientError) as exc:
        _close(client)
        raise MailboxUnavailable(f"IMAP login to {cfg.host} failed: {exc}") from exc
    try:
        yield client
    except (TimeoutError, OSError, IMAPClientError) as exc:
        raise MailboxUnavailable(f"IMAP session with {cfg.host} failed: {exc}") from exc
    finally:
        _close(client)


def _starttls(client: imapclient.IMAPClient, cfg: ImapSettings) -> None:
    if not client.has_capability("STARTTLS"):
        raise ConfigError(
            f"imap.security: {cfg.host}:{cfg.port} does not offer STARTTLS; use its "
            'implicit-TLS port (993) with security = "ssl"'
        )
    try:
        client.starttls(tls_context(cfg))
    except ssl.SSLError as exc:
        mismatch = tls_mismatch("imap", cfg.host, cfg.port, cfg.security, exc)
        raise mismatch or MailboxUnavailable(f"STARTTLS with {cfg.host} failed: {exc}") from exc


def select_inbox(
    client: imapclient.IMAPClient, cfg: ImapSettings, *, readonly: bool = False
) -> dict[bytes, Any]:
    """SELECT ``imap.folder``; a folder the server does not have is the operator's to fix."""
    try:
        info: dict[bytes, Any] = client.select_folder(cfg.folder, readonly=readonly)
        return info
    except IMAPClientError as exc:
        if client.folder_exists(cfg.folder):
            raise
        names = sorted(str(f[2]) for f in client.list_folders())
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise ConfigError(
            f"imap.folder: {cfg.username} has no folder {cfg.folder!r} on {cfg.host} "
            f"(folders: {shown}); give the name as the server spells it"
        ) from exc


def _lost_during_login(exc: imapclient.exceptions.LoginError) -> bool:
    """imapclient reports every failure during LOGIN as LoginError, a dropped connection too.

    Only a refusal is the operator's to fix; a cut connection or a server saying it is
    temporarily unable (RFC 5530 ``[UNAVAILABLE]``) is retried like any other outage.
    """
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, IMAPClientAbortError | OSError) or "[UNAVAILABLE]" in str(exc)


def _close(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError):
        try:
            client.shutdown()
        except (OSError, IMAPClientError):
            log.debug("IMAP socket already closed")


def _watermark(register: Register, account: str, folder: str, uidvalidity: int) -> int:
    with register.transaction() as session:
        value = session.scalar(
            select(func.max(LedgerEntry.uid)).where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
            )
        )
    return int(value or 0)


def _unfinished(register: Register, account: str, folder: str, uidvalidity: int) -> list[int]:
    """UIDs committed but not yet moved or flagged: a crash fell between commit and update."""
    with register.transaction() as session:
        rows = session.scalars(
            select(LedgerEntry.uid).where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
                LedgerEntry.mailbox_updated_at.is_(None),
                LedgerEntry.uid.is_not(None),
            )
        ).all()
    return [int(uid) for uid in rows if uid is not None]


def _processed_flag(select_info: dict[bytes, object]) -> str:
    """Our own keyword where the server keeps keywords; else \\Flagged (e.g. Exchange Online)."""
    permanent = select_info.get(b"PERMANENTFLAGS") or ()
    if isinstance(permanent, tuple | list) and b"\\*" in permanent:
        return PROCESSED_KEYWORD
    return "\\Flagged"


def _internal_date(data: dict[bytes, object]) -> dt.datetime | None:
    value = data.get(b"INTERNALDATE")
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return None


class ImapFetcher:
    """One mailbox folder: owns the watermark logic and the move-after-commit rule."""

    def __init__(
        self,
        cfg: ImapSettings,
        password: str,
        register: Register,
        *,
        max_bytes: int,
        clock: Clock,
        stop: threading.Event | None = None,
        tokens: TokenProvider | None = None,
        on_search: Callable[[int], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.on_search = on_search  # told how many new messages the SEARCH found
        self.password = password
        self.tokens = tokens
        self.register = register
        self.max_bytes = max_bytes
        self.clock = clock
        self.stop = stop or threading.Event()
        self.account = cfg.account
        self.flag = PROCESSED_KEYWORD

    def fetch_new(self) -> FetchReport:
        """One pass: store every new message, then update the mailbox for what was stored."""
        report = FetchReport()
        with imap_session(self.cfg, self.password, self.tokens) as client:
            info = select_inbox(client, self.cfg)
            self._ensure_processed_folder(client)
            self.flag = _processed_flag(info)
            report.uidvalidity = int(info[b"UIDVALIDITY"])
            self._update_mailbox(
                client,
                report,
                _unfinished(self.register, self.account, self.cfg.folder, report.uidvalidity),
            )
            mark = _watermark(self.register, self.account, self.cfg.folder, report.uidvalidity)
            uids = sorted(u for u in client.search(["UID", f"{mark + 1}:*"]) if u > mark)
            report.seen = len(uids)
            if self.on_search is not None:
                self.on_search(len(uids))
            for start in range(0, len(uids), self.cfg.batch_size):
                if self.stop.is_set():
                    break
                batch = uids[start : start + self.cfg.batch_size]
                stored = self._store_batch(client, batch, report)
                self._update_mailbox(client, report, stored)
        return report

    def _ensure_processed_folder(self, client: imapclient.IMAPClient) -> None:
        target = self.cfg.processed_folder
        if target and not client.folder_exists(target):
            client.create_folder(target)
            log.info("event=folder_created folder=%s", target)

    def _store_batch(
        self, client: imapclient.IMAPClient, batch: Sequence[int], report: FetchReport
    ) -> list[int]:
        sizes = client.fetch(batch, ["RFC822.SIZE"])
        small = [u for u in batch if u in sizes and int(sizes[u][b"RFC822.SIZE"]) <= self.max_bytes]
        large = [u for u in batch if u in sizes and u not in small]
        bodies = client.fetch(small, ["BODY.PEEK[]", "INTERNALDATE"]) if small else {}
        heads = client.fetch(large, ["BODY.PEEK[HEADER]", "INTERNALDATE"]) if large else {}
        now = self.clock()
        stored: list[int] = []
        with self.register.transaction() as session:
            for uid in batch:
                raw, reason = self._raw_for(uid, bodies, heads, sizes)
                if raw is None:
                    continue  # expunged by someone else between SEARCH and FETCH
                key = SourceKey(self.account, self.cfg.folder, report.uidvalidity, str(uid), uid)
                result = store_message(
                    session,
                    key,
                    raw,
                    now,
                    quarantine_reason=reason,
                    delivered_at=_internal_date(bodies.get(uid) or heads.get(uid) or {}),
                )
                report.stored += int(result.new)
                report.duplicates += int(not result.new and not result.known)
                report.oversized += int(reason is not None)
                stored.append(uid)
        return stored

    def _raw_for(
        self,
        uid: int,
        bodies: dict[int, dict[bytes, object]],
        heads: dict[int, dict[bytes, object]],
        sizes: dict[int, dict[bytes, object]],
    ) -> tuple[bytes | None, str | None]:
        if uid in bodies:
            raw = bodies[uid].get(b"BODY[]")
            return (raw if isinstance(raw, bytes) else None), None
        if uid in heads:
            head = heads[uid].get(b"BODY[HEADER]")
            size = sizes[uid][b"RFC822.SIZE"]
            reason = (
                f"message of {size} bytes exceeds poll.max_message_bytes ({self.max_bytes}); "
                "headers kept; the full message stays on the IMAP server"
            )
            return (head if isinstance(head, bytes) else None), reason
        return None, None

    def _update_mailbox(
        self, client: imapclient.IMAPClient, report: FetchReport, uids: list[int]
    ) -> None:
        """Move (or flag) only what the register holds; record that it was done."""
        if not uids:
            return
        existing = set(client.search(["UID", ",".join(str(u) for u in uids)]))
        present = [u for u in uids if u in existing]
        if present:
            if self.cfg.processed_folder:
                self._move(client, present)
            else:
                client.add_flags(present, [self.flag])
        self._mark_updated(report.uidvalidity, uids)
        report.mailbox_updated += len(present)

    def _move(self, client: imapclient.IMAPClient, uids: list[int]) -> None:
        if client.has_capability("MOVE"):
            client.move(uids, self.cfg.processed_folder)
            return
        client.copy(uids, self.cfg.processed_folder)
        client.add_flags(uids, [imapclient.DELETED])
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)

    def _mark_updated(self, uidvalidity: int, uids: list[int]) -> None:
        now = self.clock()
        keys = [str(u) for u in uids]
        with self.register.transaction() as session:
            for entry in session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.account == self.account,
                    LedgerEntry.folder == self.cfg.folder,
                    LedgerEntry.uidvalidity == uidvalidity,
                    LedgerEntry.item_key.in_(keys),
                )
            ):
                entry.mailbox_updated_at = now
