"""Staff accounts: argon2id hashes, two roles, and the ``inbox-agent users`` command.

A password is read from the terminal (twice, not echoed) or from the first line of standard
input, never from the command line, where ``ps`` and the shell history would keep it. Every
change to an account is an audit event with who made it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox_agent.clock import utc_now
from inbox_agent.errors import OperatorError
from inbox_agent.register.audit import AuditAction, cli_actor, record
from inbox_agent.register.db import Register
from inbox_agent.register.models import WebRole, WebUser
from inbox_agent.web import signin
from inbox_agent.web.sessions import end_user_sessions

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
DISPLAY_NAME_MAX = 100
EMAIL_MAX = 254
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


class AccountError(OperatorError):
    """A username, role or password that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class StaffUser:
    """The signed-in member of staff, as the pages see them (no hash, no ORM state)."""

    id: int
    username: str
    display_name: str
    role: str
    generation: int

    @property
    def is_admin(self) -> bool:
        return self.role == WebRole.ADMIN

    @property
    def name(self) -> str:
        return self.display_name or self.username


def _staff(user: WebUser) -> StaffUser:
    return StaffUser(user.id, user.username, user.display_name, user.role, user.session_generation)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against for unknown usernames, so timing does not reveal which names exist."""
    return _HASHER.hash("no such user: this hash only equalises timing")


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(
            f"username {username!r}: use 2 to 64 lower-case letters, digits, '.', '_', '-' or '@'"
        )
    return name


def check_password(username: str, password: str) -> None:
    """Length is what matters (NCSC guidance): at least 12 characters, not the username."""
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"the password must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"the password must be at most {PASSWORD_MAX} characters")
    if password.strip().lower() == username.lower():
        raise AccountError("the password must not be the username")


def check_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if len(name) > DISPLAY_NAME_MAX:
        raise AccountError(
            f"the display name is {len(name)} characters; at most {DISPLAY_NAME_MAX} are allowed"
        )
    return name


def check_email(address: str) -> str:
    """Where follow-ups to this officer's cases are notified; empty means nobody."""
    text = address.strip()
    if not text:
        return ""
    if len(text) > EMAIL_MAX or not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text):
        raise AccountError(f"{text[:60]!r} is not an email address")
    return text


def check_role(role: str) -> WebRole:
    try:
        return WebRole(role)
    except ValueError:
        raise AccountError(f"role {role!r}: choose triage or admin") from None


def _get(session: Session, username: str) -> WebUser:
    user = session.scalars(select(WebUser).where(WebUser.username == username.lower())).first()
    if user is None:
        raise AccountError(f"no account {username!r}")
    return user


def add_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: str,
    display_name: str,
    actor: str,
    now: dt.datetime,
    email: str = "",
) -> WebUser:
    name = check_username(username)
    check_password(name, password)
    checked_role = check_role(role)
    shown = check_display_name(display_name)
    address = check_email(email)
    if session.scalar(select(func.count()).where(WebUser.username == name)):
        raise AccountError(f"account {name!r} already exists")
    user = WebUser(
        username=name,
        display_name=shown,
        email=address,
        role=checked_role,
        password_hash=_HASHER.hash(password),
        active=True,
        session_generation=0,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    record(session, AuditAction.USER_ADDED, at=now, actor=actor, username=name, role=checked_role)
    return user


def set_active(
    session: Session, username: str, active: bool, *, actor: str, now: dt.datetime
) -> WebUser:
    """Disable (or enable) an account; disabling ends its sessions at once."""
    user = _get(session, username)
    user.active = active
    user.session_generation += 1
    user.updated_at = now
    end_user_sessions(session, user, now)
    action = AuditAction.USER_ENABLED if active else AuditAction.USER_DISABLED
    record(session, action, at=now, actor=actor, username=user.username)
    return user


def reset_password(
    session: Session, username: str, password: str, *, actor: str, now: dt.datetime
) -> WebUser:
    """A new password; every existing session of the account ends."""
    user = _get(session, username)
    check_password(user.username, password)
    user.password_hash = _HASHER.hash(password)
    user.session_generation += 1
    user.updated_at = now
    end_user_sessions(session, user, now)
    record(session, AuditAction.USER_PASSWORD_RESET, at=now, actor=actor, username=user.username)
    return user


def authenticate(
    session: Session, username: str, password: str, now: dt.datetime
) -> StaffUser | None:
    """The account if the password matches and it is active; None otherwise, same timing.

    Nothing is cut short: a name or password longer than any account can have simply fails.
    """
    name = username.strip().lower()
    too_long = len(name) > 64 or len(password) > PASSWORD_MAX
    user = None if too_long else _by_name(session, name)
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        _HASHER.verify(stored, password if not too_long else "x")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = now
    return _staff(user)


def _by_name(session: Session, name: str) -> WebUser | None:
    return session.scalars(select(WebUser).where(WebUser.username == name)).first()


def set_email(
    session: Session, username: str, email: str, *, actor: str, now: dt.datetime
) -> WebUser:
    user = _get(session, username)
    user.email = check_email(email)
    user.updated_at = now
    record(session, AuditAction.USER_EMAIL_SET, at=now, actor=actor, username=user.username)
    return user


def load_user(session: Session, user_id: int, generation: int) -> StaffUser | None:
    """The account a session cookie names, if it is still active and of the same generation."""
    user = session.get(WebUser, user_id)
    if user is None or not user.active or user.session_generation != generation:
        return None
    return _staff(user)


def user_by_name(session: Session, username: str) -> StaffUser | None:
    """For the trusted proxy header: an active account of that name, else None."""
    user = session.scalars(
        select(WebUser).where(WebUser.username == username.strip().lower())
    ).first()
    return _staff(user) if user is not None and user.active else None


def list_users(session: Session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.username)))


def read_password(
    stdin: IO[str], *, prompt: Callable[[str], str] = getpass.getpass, tty: bool | None = None
) -> str:
    """Twice from the terminal, or the first line of a pipe; never from argv."""
    interactive = stdin.isatty() if tty is None else tty
    if not interactive:
        return stdin.readline().rstrip("\r\n")
    first = prompt("New password: ")
    if prompt("Repeat the password: ") != first:
        raise AccountError("the two passwords differ")
    return first


def users_command(register: Register, args: argparse.Namespace, out: IO[str]) -> int:
    """``inbox-agent users add|disable|enable|reset|email|list|lockouts|unlock``."""
    actor, now, command = cli_actor(), utc_now(), args.users_command
    with register.transaction() as session:
        if command == "list":
            for user in list_users(session):
                state = "active" if user.active else "disabled"
                last = user.last_login_at.isoformat() if user.last_login_at else "never"
                print(f"{user.username:<24} {user.role:<7} {state:<8} last login {last}", file=out)
            return 0
        if command in ("disable", "enable"):
            set_active(session, args.username, command == "enable", actor=actor, now=now)
            print(f"{args.username}: {command}d", file=out)
            return 0
        if command == "email":
            set_email(session, args.username, args.address, actor=actor, now=now)
            print(
                f"{args.username}: follow-up notifications to {args.address or 'nobody'}", file=out
            )
            return 0
        if command in ("lockouts", "unlock"):
            return _lockouts_command(session, args, out, actor=actor, now=now)
    password = read_password(sys.stdin)
    with register.transaction() as session:
        if command == "add":
            add_user(
                session,
                args.username,
                password,
                role=args.role,
                display_name=args.name or "",
                email=args.email or "",
                actor=actor,
                now=now,
            )
            print(f"{args.username}: added ({args.role})", file=out)
        else:
            reset_password(session, args.username, password, actor=actor, now=now)
            print(f"{args.username}: password reset; existing sessions ended", file=out)
    return 0


def _lockouts_command(
    session: Session, args: argparse.Namespace, out: IO[str], *, actor: str, now: dt.datetime
) -> int:
    """``users lockouts`` lists the sign-in counters at their limit; ``users unlock`` clears."""
    if args.users_command == "lockouts":
        found = signin.lockouts(session, now)
        for lock in found:
            who = lock.username or "-"
            print(
                f"{lock.kind:<8} account {who:<24} source {lock.client or '-':<16} "
                f"{lock.attempts} attempts, until {lock.until.isoformat(timespec='minutes')}",
                file=out,
            )
        if not found:
            print("no sign-in lockouts", file=out)
        return 0
    cleared = signin.clear_lockouts(session, username=args.username)
    record(
        session,
        AuditAction.LOCKOUT_CLEARED,
        at=now,
        actor=actor,
        username=args.username.strip().lower(),
    )
    print(f"{args.username}: {cleared} sign-in counter(s) cleared", file=out)
    return 0
