"""The web application: sessions, login, roles and CSRF around every page; the routes.

Every route but ``/login`` and ``/static`` goes through ``page``: no account, a redirect to
the login page; the wrong role, 403; a POST without the session's CSRF token, 403. Handlers
are plain functions of a ``Ctx`` and run in a worker thread, because the register is
synchronous SQLAlchemy and argon2 is deliberately slow.

The cookie (signed by itsdangerous: HttpOnly, SameSite=Lax, Secure unless
``web.secure_cookies`` is false, and ``__Host-`` prefixed when Secure) carries a random session
id and the CSRF token; whether the session is live is the register's answer
(``web.sessions``): sign-out, ``web.idle_minutes`` idle, ``web.session_hours`` in all, or a
disabled account or new password end it there. Sign-in is limited by ``web.signin``.

A form posted after its session ended (typed for longer than the idle timeout) is not lost:
its CSRF token still matches the cookie, so the login page carries the text in hidden
fields and, once signed in again, the case page puts it back in the form. Nothing is sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from inbox_agent.casework.attachment_checks import MAX_BYTES
from inbox_agent.clock import Clock, utc_now
from inbox_agent.deadlines import UkCalendar
from inbox_agent.errors import ConfigError
from inbox_agent.letters import bundled_templates_dir, page_environment
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.db import Register
from inbox_agent.settings import Settings
from inbox_agent.web import labels, sessions, signin
from inbox_agent.web.accounts import StaffUser, authenticate
from inbox_agent.web.context import Ctx, WebContext
from inbox_agent.web.security import (
    CSRF_FIELD,
    DEFAULT_HEADERS,
    RequestLimitMiddleware,
    SecurityHeadersMiddleware,
    csrf_valid,
    rotate_csrf_token,
    safe_next,
)

log = logging.getLogger(__name__)
Handler = Callable[["Ctx"], Response]
FORM_FIELDS_MAX = 30
UPLOAD_MAX_BYTES = MAX_BYTES
# forms whose text survives an expired session: path -> the fields kept
RESUMABLE = re.compile(r"^/cases/(?P<reference>[^/]+)/(?P<action>reply|send|decisions)$")
RESUME_FIELDS = {"reply": ("body",), "send": ("body",), "decisions": ("decisions",)}
RESUME_PREFIX = "resume_"


def web_templates_dir() -> Path:
    folder = bundled_templates_dir() / "web"
    if not (folder / "static").is_dir():  # a broken installation: exit 2, not a traceback
        raise ConfigError(f"the web UI's templates are missing from this installation: {folder}")
    return folder


def _to_login(request: Request) -> Response:
    """To the login page, and back here afterwards (a form post cannot be replayed: home)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in ("GET", "HEAD"):
        target = "/"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def page(handler: Handler, *, admin: bool = False, files: int = 0) -> Callable[[Request], Any]:
    """Login required, the role checked, the CSRF token checked on POST; then the handler.

    ``files``: how many uploaded files the form may carry (0 for every form but the reply's
    attachments); each is read up to ``UPLOAD_MAX_BYTES`` + 1, so an oversized one is seen
    as such and refused by the handler without ever being held whole.
    """

    async def endpoint(request: Request) -> Response:
        web: WebContext = request.app.state.web
        user = await run_in_threadpool(web.current_user, request)
        if user is None:
            if request.method == "POST" and RESUMABLE.match(request.url.path):
                return await _resume_after_sign_in(web, request)
            return _to_login(request)
        if admin and not user.is_admin:
            message = "This page is for administrators."
            return web.render(
                request, "error.html.j2", 403, user=user, title="Not allowed", message=message
            )
        form: dict[str, str] = {}
        uploads: dict[str, tuple[str, bytes]] = {}
        if request.method == "POST":
            async with request.form(max_files=files, max_fields=FORM_FIELDS_MAX) as data:
                form = {k: v for k, v in data.items() if isinstance(v, str)}
                for key, value in data.items():  # read now: the spooled files close on exit
                    if isinstance(value, UploadFile) and value.filename:
                        uploads[key] = (value.filename, await value.read(UPLOAD_MAX_BYTES + 1))
            if not csrf_valid(request.session, form.get(CSRF_FIELD)):
                message = (
                    "The form had expired or did not come from this site. Nothing was changed."
                )
                return web.render(
                    request, "error.html.j2", 403, user=user, title="Refused", message=message
                )
        ctx = Ctx(web, request, user, form, web.clock(), uploads)
        response: Response = await run_in_threadpool(handler, ctx)
        return response

    return endpoint


# --------------------------------------------------------------------------- login


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_form(
    web: WebContext,
    request: Request,
    status: int = 200,
    *,
    target: str = "/",
    error: str | None = None,
    username: str = "",
    resume: dict[str, str] | None = None,
    notice: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    response = web.render(
        request,
        "login.html.j2",
        status,
        title="Sign in",
        next=target,
        error=error,
        username=username,
        resume=resume or {},
        resume_prefix=RESUME_PREFIX,
        notice=notice,
        idle_minutes=f"{web.settings.web.idle_minutes:g}",
    )
    response.headers.update(headers or {})
    return response


async def login_page(request: Request) -> Response:
    web: WebContext = request.app.state.web
    target = safe_next(request.query_params.get("next"))
    if await run_in_threadpool(web.current_user, request) is not None:
        return RedirectResponse(target, status_code=303)
    return _login_form(web, request, target=target)


async def _resume_after_sign_in(web: WebContext, request: Request) -> Response:
    """A form posted after its session ended: sign in again, and keep what was typed."""
    data = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    match = RESUMABLE.match(request.url.path)
    if match is None or not csrf_valid(request.session, form.get(CSRF_FIELD)):
        return _to_login(request)
    resume = {"path": request.url.path}
    resume |= {name: form.get(name, "") for name in RESUME_FIELDS[match["action"]]}
    notice = (
        "Your session ended before this form was sent. Sign in again and what you typed will "
        "be back in the form. Nothing has been sent or saved."
    )
    return _login_form(
        web, request, 401, target=f"/cases/{match['reference']}", resume=resume, notice=notice
    )


def _resume_from(form: dict[str, str]) -> dict[str, Any] | None:
    """The kept form from the login page's hidden fields, if it names a resumable form."""
    match = RESUMABLE.match(form.get(RESUME_PREFIX + "path", ""))
    if match is None:
        return None
    fields = {name: form.get(RESUME_PREFIX + name, "") for name in RESUME_FIELDS[match["action"]]}
    return {"path": f"/cases/{match['reference']}", "fields": fields}


@dataclass(frozen=True)
class SignIn:
    user: StaffUser | None
    token: str = ""
    throttled: bool = False


def _sign_in(
    web: WebContext,
    username: str,
    password: str,
    client: str,
    device: str | None,
    resume: dict[str, Any] | None,
) -> SignIn:
    """Count the attempt (committed), then check the password; a session when it is right."""
    keys = signin.attempt_keys(username, client, device)
    now = web.clock()
    with web.register.transaction() as session:
        full = signin.count_attempt(session, keys, now)
    if full is not None:
        log.warning("event=login_throttled kind=%s client=%s", full.kind, client)
        return SignIn(None, throttled=True)
    now = web.clock()
    with web.register.transaction() as session:
        user = authenticate(session, username, password, now)
        record(
            session,
            AuditAction.LOGIN_SUCCEEDED if user else AuditAction.LOGIN_FAILED,
            at=now,
            actor=user.username if user else "anonymous",
            username=username.strip().lower()[:64],
            client=client,
        )
        if user is None:
            return SignIn(None)
        signin.forget_failures(session, keys, now)
        token = sessions.start_session(session, user.id, client, now, resume)
    return SignIn(user, token)


async def login_submit(request: Request) -> Response:
    web: WebContext = request.app.state.web
    data = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    username, password = form.get("username", ""), form.get("password", "")
    resume = _resume_from(form)
    target = safe_next(form.get("next", "/"))
    kept = {
        k.removeprefix(RESUME_PREFIX): v for k, v in form.items() if k.startswith(RESUME_PREFIX)
    }

    def again(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
        return _login_form(
            web,
            request,
            status,
            target=target,
            error=error,
            username=username if len(username) <= 64 else "",
            resume=kept if resume is not None else None,
            headers=headers,
        )

    if not csrf_valid(request.session, form.get(CSRF_FIELD)):
        return again(403, "The sign-in form had expired. Please try again.")
    if not username or not password:
        return again(400, "Enter your username and password.")
    device = web.devices.device_for(request.cookies.get(web.devices.name), username)
    slot = web.gate.enter(known_device=device is not None)
    if slot is None:
        busy = (
            "Too many sign-ins are being checked at this moment. Wait a few seconds and try again."
        )
        return again(429, busy, {"retry-after": "5"})
    try:
        outcome = await run_in_threadpool(
            _sign_in, web, username, password, _client(request), device, resume
        )
    finally:
        slot.release()
    if outcome.throttled:
        return again(
            429,
            "Too many failed sign-ins. Wait 15 minutes, or ask an administrator to clear the "
            "lockout.",
            {"retry-after": str(int(signin.WINDOW.total_seconds()))},
        )
    if outcome.user is None:
        return again(401, "The username or password is not right.")
    request.session.clear()
    request.session.update(sid=outcome.token, gen=outcome.user.generation)
    rotate_csrf_token(request.session)
    if resume is not None:
        target = f"{resume['path']}#{'decisions' if 'decisions' in resume['fields'] else 'reply'}"
    response = RedirectResponse(target, status_code=303)
    if device is None:
        response.set_cookie(
            web.devices.name,
            web.devices.issue(outcome.user.username),
            max_age=web.devices.max_age,
            httponly=True,
            secure=web.devices.secure,
            samesite="strict",
        )
    return response


def logout(ctx: Ctx) -> Response:
    """Ends the session in the register, so a copy of the cookie is worthless too."""
    token = ctx.web.session_token(ctx.request)
    if token:
        with ctx.web.register.transaction() as session:
            sessions.end_session(session, token, ctx.now)
    ctx.request.session.clear()
    return ctx.redirect("/login")


# --------------------------------------------------------------------------- the app


def _environment(zone: ZoneInfo) -> Environment:
    env = page_environment(web_templates_dir())
    labels.install(env, zone)
    return env


async def _server_error(request: Request, exc: Exception) -> Response:
    """A bug: a plain page with the same security headers as every other (no template, which
    might be what failed), and the details in the log only."""
    log.error("event=web_error path=%s error=%s", request.url.path, type(exc).__name__)
    body = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Error</title>'
        "</head><body><main><h1>Something went wrong</h1><p>Nothing was changed. Please try "
        "again; if it happens again, tell the office's administrator.</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=500, headers=dict(DEFAULT_HEADERS))


async def _not_found(request: Request, exc: Exception) -> Response:
    web: WebContext = request.app.state.web
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    title = "Not found" if status == 404 else "Not allowed"
    return web.render(request, "error.html.j2", status, title=title, message=f"{title}.")


def _routes() -> list[BaseRoute]:
    from inbox_agent.web import (
        contact_view,
        parity_view,
        publication,
        similar_view,
        statistics_view,
        views,
    )

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
        Route(case + "/attachments", page(views.upload_attachment, files=1), methods=["POST"]),
        Route(case + "/{action}", page(views.case_action), methods=["POST"]),
        Route("/publication", page(publication.show_publications)),
        Route("/publication/write", page(publication.write_log, admin=True), methods=["POST"]),
        Route(entry, page(publication.show_publication)),
        Route(entry + "/approve", page(publication.approve, admin=True), methods=["POST"]),
        Route(entry + "/withhold", page(publication.withhold), methods=["POST"]),
        Route("/parity", page(parity_view.show_parity)),
        Route("/contacts/new", page(contact_view.show_contact_form)),
        Route("/contacts/new", page(contact_view.record_contact_form), methods=["POST"]),
        Route("/campaigns", page(similar_view.show_campaigns)),
        Route(
            "/campaigns/{reference}/assign", page(similar_view.assign_campaign), methods=["POST"]
        ),
        Route("/statistics.csv", page(statistics_view.download_csv)),
        Route("/register.csv", page(views.download_csv, admin=True)),
        Route("/register.xlsx", page(views.download_xlsx, admin=True)),
        Route("/admin/users", page(views.show_users, admin=True)),
        Route("/admin/users", page(views.add_user, admin=True), methods=["POST"]),
        Route("/admin/lockouts/clear", page(views.clear_lockout, admin=True), methods=["POST"]),
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
                RequestLimitMiddleware,
                max_bytes=cfg.max_request_bytes,
                max_header_bytes=cfg.max_header_bytes,
            ),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie="__Host-inbox-agent" if secure else "inbox-agent",
                max_age=int(cfg.session_hours * 3600),
                same_site="lax",
                https_only=secure,
            ),
        ],
        exception_handlers={404: _not_found, 405: _not_found, Exception: _server_error},
    )
    # a slash redirect would be built from the request's Host header: never echo it back
    app.router.redirect_slashes = False
    zone = settings.office.zone
    app.state.web = WebContext(
        settings=settings,
        register=register,
        clock=clock,
        env=_environment(zone),
        calendar=UkCalendar.from_settings(settings.calendar),
        zone=zone,
        gate=signin.HashGate(cfg.login_concurrency),
        devices=signin.DeviceCookies(secret_key, secure=secure),
    )
    return app
