"""The web application: sessions, login, roles and CSRF around every page; the routes.

Every route but ``/login`` and ``/static`` goes through ``page``: no account, a redirect to
the login page; the wrong role, 403; a POST without the session's CSRF token, 403. Handlers
are plain functions of a ``Ctx`` and run in a worker thread, because the register is
synchronous SQLAlchemy and argon2 is deliberately slow.

Sessions are signed cookies (itsdangerous): HttpOnly, SameSite=Lax, Secure unless
``web.secure_cookies`` is false, and ``__Host-`` prefixed when Secure. A session names the
account and its ``session_generation``, so disabling an account or resetting its password
ends its sessions at once, and it ends anyway ``web.session_hours`` after login.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from inbox_agent.acknowledge import bundled_templates_dir
from inbox_agent.clock import Clock, utc_now
from inbox_agent.deadlines import UkCalendar
from inbox_agent.errors import ConfigError
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent
from inbox_agent.settings import Settings
from inbox_agent.web import labels
from inbox_agent.web.accounts import StaffUser, authenticate, load_user, user_by_name
from inbox_agent.web.security import (
    CSRF_FIELD,
    LoginThrottle,
    SecurityHeadersMiddleware,
    csrf_token,
    csrf_valid,
    rotate_csrf_token,
    safe_next,
)

log = logging.getLogger(__name__)
Handler = Callable[["Ctx"], Response]
FORM_FIELDS_MAX = 30


def web_templates_dir() -> Path:
    folder = bundled_templates_dir() / "web"
    if not (folder / "static").is_dir():  # a broken installation: exit 2, not a traceback
        raise ConfigError(f"the web UI's templates are missing from this installation: {folder}")
    return folder


@dataclass
class WebContext:
    """What every request shares: configuration, the register, the clock, the templates."""

    settings: Settings
    register: Register
    clock: Clock
    env: Environment
    calendar: UkCalendar
    zone: ZoneInfo
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

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
        uid, gen, since = (request.session.get(k) for k in ("uid", "gen", "since"))
        if not (isinstance(uid, int) and isinstance(gen, int) and isinstance(since, int | float)):
            return None
        age = self.clock().timestamp() - since
        if not 0 <= age <= self.settings.web.session_hours * 3600:
            request.session.clear()
            return None
        with self.register.transaction() as session:
            user = load_user(session, uid, gen)
        if user is None:
            request.session.clear()
        return user

    def audit(self, actor: str, action: str, **detail: Any) -> None:
        """An event that belongs to no case: sign-ins, downloads, account changes."""
        with self.register.transaction() as session:
            session.add(AuditEvent(at=self.clock(), actor=actor, action=action, detail=detail))


@dataclass
class Ctx:
    """One request from a signed-in member of staff."""

    web: WebContext
    request: Request
    user: StaffUser
    form: dict[str, str]
    now: dt.datetime

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

    def not_found(self, what: str = "That page") -> Response:
        return self.render(
            "error.html.j2", 404, title="Not found", message=f"{what} was not found."
        )


def _to_login(request: Request) -> Response:
    """To the login page, and back here afterwards (a form post cannot be replayed: home)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in ("GET", "HEAD"):
        target = "/"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def page(handler: Handler, *, admin: bool = False) -> Callable[[Request], Any]:
    """Login required, the role checked, the CSRF token checked on POST; then the handler."""

    async def endpoint(request: Request) -> Response:
        web: WebContext = request.app.state.web
        user = await run_in_threadpool(web.current_user, request)
        if user is None:
            return _to_login(request)
        if admin and not user.is_admin:
            message = "This page is for administrators."
            return web.render(
                request, "error.html.j2", 403, user=user, title="Not allowed", message=message
            )
        form: dict[str, str] = {}
        if request.method == "POST":
            data = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            if not csrf_valid(request.session, form.get(CSRF_FIELD)):
                message = (
                    "The form had expired or did not come from this site. Nothing was changed."
                )
                return web.render(
                    request, "error.html.j2", 403, user=user, title="Refused", message=message
                )
        ctx = Ctx(web, request, user, form, web.clock())
        response: Response = await run_in_threadpool(handler, ctx)
        return response

    return endpoint


# --------------------------------------------------------------------------- login


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_page(request: Request) -> Response:
    web: WebContext = request.app.state.web
    target = safe_next(request.query_params.get("next"))
    if await run_in_threadpool(web.current_user, request) is not None:
        return RedirectResponse(target, status_code=303)
    return web.render(
        request, "login.html.j2", title="Sign in", next=target, error=None, username=""
    )


def _sign_in(web: WebContext, username: str, password: str, client: str) -> StaffUser | None:
    now = web.clock()
    with web.register.transaction() as session:
        user = authenticate(session, username, password, now)
        session.add(
            AuditEvent(
                at=now,
                actor=user.username if user else "anonymous",
                action="login_succeeded" if user else "login_failed",
                detail={"username": username.strip().lower()[:64], "client": client},
            )
        )
    return user


async def login_submit(request: Request) -> Response:
    web: WebContext = request.app.state.web
    form = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))

    def again(status: int, error: str) -> Response:
        return web.render(
            request,
            "login.html.j2",
            status,
            title="Sign in",
            next=target,
            error=error,
            username=username[:64],
        )

    if not csrf_valid(request.session, form.get(CSRF_FIELD)):
        return again(403, "The sign-in form had expired. Please try again.")
    keys = web.throttle.keys(username, _client(request))
    if web.throttle.blocked(keys, web.clock()):
        return again(429, "Too many failed sign-ins. Wait 15 minutes, then try again.")
    if not username or not password:
        return again(400, "Enter your username and password.")
    user = await run_in_threadpool(_sign_in, web, username, password, _client(request))
    if user is None:
        web.throttle.failed(keys, web.clock())
        return again(401, "The username or password is not right.")
    web.throttle.succeeded(keys[0])
    request.session.clear()
    request.session.update(uid=user.id, gen=user.generation, since=int(web.clock().timestamp()))
    rotate_csrf_token(request.session)
    return RedirectResponse(target, status_code=303)


def logout(ctx: Ctx) -> Response:
    ctx.request.session.clear()
    return ctx.redirect("/login")


# --------------------------------------------------------------------------- the app


def _environment(zone: ZoneInfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(web_templates_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    labels.install(env, zone)
    return env


async def _not_found(request: Request, exc: Exception) -> Response:
    web: WebContext = request.app.state.web
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    title = "Not found" if status == 404 else "Not allowed"
    return web.render(request, "error.html.j2", status, title=title, message=f"{title}.")


def _routes() -> list[BaseRoute]:
    from inbox_agent.web import parity_view, publication, similar_view, views

    case = "/cases/{reference}"
    entry = "/publication/{reference}"
    message = case + "/messages/{message_id:int}"
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/", page(views.show_queue)),
        Route("/dashboard", page(views.show_dashboard)),
        Route(case, page(views.show_case)),
        Route(message + "/original.eml", page(views.download_original)),
        Route(message + "/formatted", page(views.formatted_message)),
        Route(message + "/attachments/{index:int}", page(views.download_attachment)),
        Route(case + "/{action}", page(views.case_action), methods=["POST"]),
        Route("/publication", page(publication.show_publications)),
        Route("/publication/write", page(publication.write_log), methods=["POST"]),
        Route(entry, page(publication.show_publication)),
        Route(entry + "/approve", page(publication.approve), methods=["POST"]),
        Route(entry + "/withhold", page(publication.withhold), methods=["POST"]),
        Route("/parity", page(parity_view.show_parity)),
        Route("/campaigns", page(similar_view.show_campaigns)),
        Route("/register.csv", page(views.download_csv, admin=True)),
        Route("/register.xlsx", page(views.download_xlsx, admin=True)),
        Route("/admin/users", page(views.show_users, admin=True)),
        Route("/admin/users", page(views.add_user, admin=True), methods=["POST"]),
        Route(
            "/admin/users/{username}/{action}",
            page(views.user_action, admin=True),
            methods=["POST"],
        ),
        Mount("/static", StaticFiles(directory=web_templates_dir() / "static"), name="static"),
    ]


def create_app(
    settings: Settings, register: Register, *, secret_key: str, clock: Clock = utc_now
) -> Starlette:
    """The ASGI app; ``inbox-agent web`` serves it, tests run it in a thread."""
    cfg = settings.web
    secure = cfg.secure_cookies
    app = Starlette(
        routes=_routes(),
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie="__Host-inbox-agent" if secure else "inbox-agent",
                max_age=int(cfg.session_hours * 3600),
                same_site="lax",
                https_only=secure,
            ),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    zone = ZoneInfo(settings.office.timezone)
    app.state.web = WebContext(
        settings=settings,
        register=register,
        clock=clock,
        env=_environment(zone),
        calendar=UkCalendar(settings.calendar.extra_closures, settings.calendar.extra_working_days),
        zone=zone,
    )
    return app
