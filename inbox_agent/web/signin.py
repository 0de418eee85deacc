"""Sign-in limits that hold: attempts counted in the register before hashing, hashes bounded.

Following OWASP's authentication and credential-stuffing guidance:

* **Counted first.** Each attempt takes a slot with one conditional ``UPDATE ... SET attempts
  = attempts + 1 WHERE attempts < limit`` (row-locked on PostgreSQL, serialised on SQLite),
  committed before argon2 runs, so 300 parallel guesses at one account from one source get
  exactly ``limit`` password checks, whichever process or node they reach.
* **No lockout of a real user by strangers.** The tight limit is per account *and* source
  (5 in 15 minutes); a source has a looser one across accounts (password spraying), and an
  account a loose one across all sources (a botnet). A browser that signed in to the account
  before carries a signed *device cookie*; its attempts count only against that device
  (5 in 15 minutes), never the account-wide or source limits, so a stranger's guesses cannot
  keep the account's own people out.
* **Hashes bounded.** argon2id is slow and takes 64 MiB by design; ``HashGate`` lets at
  most ``web.login_concurrency`` run at once (one more slot is kept for device-cookie
  holders). An attempt that finds every slot taken is answered 429 at once, before it is
  counted or touches a worker thread, so staff pages keep their threads and memory.

Admins see the keys at their limit and clear them (accounts page, ``users lockouts`` and
``users unlock``); every clearance is audited.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from inbox_agent.register.models import LoginThrottle

WINDOW = dt.timedelta(minutes=15)
LIMITS = {"pair": 5, "source": 30, "account": 100, "device": 5}
DEVICE_COOKIE_DAYS = 365
USERNAME_KEY_MAX = 64


def _name(username: str) -> str:
    return username.strip().lower()


@dataclass(frozen=True)
class AttemptKey:
    """One counter an attempt takes a slot in: ``kind:identity`` with its limit."""

    key: str
    kind: str
    username: str
    client: str

    @property
    def limit(self) -> int:
        return LIMITS[self.kind]


def attempt_keys(username: str, client: str, device: str | None) -> list[AttemptKey]:
    """The counters this attempt counts against; a known device counts against itself only.

    The source comes first: once an address is at its limit, its guesses at new names add no
    rows, so spraying random usernames cannot grow the table without bound.
    """
    name = _name(username)[:USERNAME_KEY_MAX]
    if device is not None:
        return [AttemptKey(f"device:{device}", "device", name, client)]
    return [
        AttemptKey(f"source:{client}", "source", "", client),
        AttemptKey(f"pair:{name}|{client}", "pair", name, client),
        AttemptKey(f"account:{name}", "account", name, ""),
    ]


def _ensure_row(session: Session, key: AttemptKey, now: dt.datetime) -> None:
    values = {
        "key": key.key,
        "username": key.username,
        "client": key.client,
        "window_start": now,
        "attempts": 0,
        "last_attempt_at": now,
    }
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(pg_insert(LoginThrottle).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(LoginThrottle).values(values).on_conflict_do_nothing())


def take_slot(session: Session, key: AttemptKey, now: dt.datetime) -> bool:
    """Count one attempt against ``key`` if it is under its limit; atomic under concurrency."""
    _ensure_row(session, key, now)
    restarted = session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key.key, LoginThrottle.window_start <= now - WINDOW)
        .values(window_start=now, attempts=1, last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    if restarted.rowcount:  # type: ignore[attr-defined]
        return True
    counted = session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key.key, LoginThrottle.attempts < key.limit)
        .values(attempts=LoginThrottle.attempts + 1, last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(counted.rowcount)  # type: ignore[attr-defined]


def count_attempt(session: Session, keys: list[AttemptKey], now: dt.datetime) -> AttemptKey | None:
    """Take a slot in every counter; the first that is full, or None when the attempt may go on.

    The caller commits before hashing, so the slot is held whatever happens next.
    """
    for key in keys:
        if not take_slot(session, key, now):
            return key
    return None


def forget_failures(session: Session, keys: list[AttemptKey], now: dt.datetime) -> None:
    """After a correct password: the person at this source (or device) is who they say.

    Counters whose window ended long ago are deleted at the same time, so the table holds
    only the last half hour or so of attempts.
    """
    mine = [k.key for k in keys if k.kind in ("pair", "device")]
    stale = LoginThrottle.last_attempt_at < now - 2 * WINDOW
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(mine) | stale))


@dataclass(frozen=True)
class Lockout:
    """A counter at its limit: who it keeps out, from where, until when."""

    key: str
    kind: str
    username: str
    client: str
    attempts: int
    until: dt.datetime


def lockouts(session: Session, now: dt.datetime) -> list[Lockout]:
    rows = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.window_start > now - WINDOW)
        .order_by(LoginThrottle.last_attempt_at.desc())
    )
    found = []
    for row in rows:
        kind = row.key.split(":", 1)[0]
        if kind in LIMITS and row.attempts >= LIMITS[kind]:
            until = row.window_start + WINDOW
            found.append(Lockout(row.key, kind, row.username, row.client, row.attempts, until))
    return found


def clear_lockouts(session: Session, *, key: str = "", username: str = "") -> int:
    """Delete one counter, or every counter naming an account; how many went."""
    if key:
        condition = LoginThrottle.key == key
    elif username:
        condition = LoginThrottle.username == _name(username)
    else:
        return 0
    result = session.execute(delete(LoginThrottle).where(condition))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class HashGate:
    """At most ``slots`` argon2 checks at once, plus one for browsers that signed in before."""

    def __init__(self, slots: int) -> None:
        self._general = threading.BoundedSemaphore(slots)
        self._known = threading.BoundedSemaphore(1)

    def enter(self, *, known_device: bool) -> threading.BoundedSemaphore | None:
        """A slot without waiting, or None; give it back with ``release()``."""
        if self._general.acquire(blocking=False):
            return self._general
        if known_device and self._known.acquire(blocking=False):
            return self._known
        return None


class DeviceCookies:
    """A signed cookie naming an account this browser signed in to, and a random device id."""

    def __init__(self, secret_key: str, *, secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret_key, salt="inbox-agent-device")
        self.name = "__Host-inbox-agent-device" if secure else "inbox-agent-device"
        self.secure = secure
        self.max_age = DEVICE_COOKIE_DAYS * 86400

    def issue(self, username: str) -> str:
        return self._signer.dumps({"u": _name(username), "d": secrets.token_urlsafe(12)})

    def device_for(self, cookie: str | None, username: str) -> str | None:
        """The device id, when the cookie is genuine, recent and for this account."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("u") != _name(username):
            return None
        device = data.get("d")
        return device if isinstance(device, str) and device else None
