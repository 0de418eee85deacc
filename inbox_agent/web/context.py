"""What every page handler is given: the app's ``WebContext`` and the request's ``Ctx``.

Kept apart from ``app`` (the routes and the sign-in flow) so the page modules import their
context without importing the application that imports them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from inbox_agent.clock import Clock
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.db import Register
from inbox_agent.settings import Settings
from inbox_agent.web import sessions, signin
from inbox_agent.web.accounts import StaffUser, load_user, user_by_name
from inbox_agent.web.security import (
    CSRF_FIELD,
    csrf_token,
)


@dataclass
class WebContext:
    """What every request shares: configuration, the register, the clock, the templates."""

    settings: Settings
    register: Register
    clock: Clock
    env: Environment
    calendar: UkCalendar
    zone: ZoneInfo
    gate: signin.HashGate
    devices: signin.DeviceCookies

    @property
    def lifetimes(self) -> sessions.Lifetimes:
        web = self.settings.web
        return sessions.Lifetimes(
            idle=dt.timedelta(minutes=web.idle_minutes),
            absolute=dt.timedelta(hours=web.session_hours),
        )

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> Response:
        session = request.session
        flashes = session.pop("flash", [])
        context = {
            "office": self.settings.office,
            "csrf_field": CSRF_FIELD,
            "csrf_token": csrf_token(session),
            "flashes": flashes if isinstance(flashes, list) else [],
            "path": request.url.path,
            "user": None,
            "title": "",
        } | values
        html = self.env.get_template(name).render(context)
        return HTMLResponse(html, status_code=status)

    def current_user(self, request: Request) -> StaffUser | None:
        header = self.settings.web.trusted_proxy_header
        if header and request.headers.get(header):
            with self.register.transaction() as session:
                return user_by_name(session, request.headers[header])
        token, gen = request.session.get("sid"), request.session.get("gen")
        if not isinstance(token, str) or not isinstance(gen, int):
            return None
        with self.register.transaction() as session:
            row = sessions.live_session(session, token, self.clock(), self.lifetimes)
            user = load_user(session, row.user_id, gen) if row is not None else None
        if user is None:
            # keep the CSRF token: a form typed before the session ended can still be resumed
            for key in ("sid", "gen"):
                request.session.pop(key, None)
        return user

    def session_token(self, request: Request) -> str:
        token = request.session.get("sid")
        return token if isinstance(token, str) else ""

    def audit(self, actor: str, action: AuditAction, **detail: Any) -> None:
        """An event that belongs to no case (sign-ins, downloads ...), in its own transaction."""
        with self.register.transaction() as session:
            record(session, action, at=self.clock(), actor=actor, **detail)


@dataclass
class Ctx:
    """One request from a signed-in member of staff."""

    web: WebContext
    request: Request
    user: StaffUser
    form: dict[str, str]
    now: dt.datetime
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name -> (filename, data)

    @property
    def settings(self) -> Settings:
        return self.web.settings

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        return self.web.render(self.request, name, status, user=self.user, **values)

    def flash(self, text: str, *, error: bool = False) -> None:
        flashes = self.request.session.get("flash")
        if not isinstance(flashes, list):
            flashes = []
        flashes.append({"text": text, "error": error})
        self.request.session["flash"] = flashes[-5:]

    def redirect(self, url: str) -> Response:
        return RedirectResponse(url, status_code=303)

    def forbidden(self, message: str) -> Response:
        return self.render("error.html.j2", 403, title="Not allowed", message=message)

    def not_found(self, what: str = "That page") -> Response:
        return self.render(
            "error.html.j2", 404, title="Not found", message=f"{what} was not found."
        )
