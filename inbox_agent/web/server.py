"""``inbox-agent web``: the web UI under uvicorn, on 127.0.0.1 for a TLS reverse proxy.

The proxy terminates TLS and passes ``X-Forwarded-For``/``-Proto``, which uvicorn trusts from
loopback only, so login throttling sees each client's own address. SIGTERM (systemd) lets
uvicorn finish the requests in hand; the command then exits 0.

The HTTP parser is h11 with a bounded buffer for the request head (``web.max_header_bytes``):
a client sending endless headers is cut off instead of growing the process. Idle keep-alive
connections close after 5 s and at most ``CONCURRENCY_LIMIT`` connections are served at once
(the rest get 503), so a flood cannot hold every socket.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

import uvicorn

from inbox_agent.register.db import Register
from inbox_agent.settings import Settings, WebSettings
from inbox_agent.web.app import create_app

log = logging.getLogger(__name__)
CONCURRENCY_LIMIT = 200
KEEP_ALIVE_S = 5


def http_options(web: WebSettings) -> dict[str, Any]:
    """The uvicorn settings that bound what one client can make the server hold."""
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": web.max_header_bytes,
        "limit_concurrency": CONCURRENCY_LIMIT,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "server_header": False,
        "ws": "none",
    }


def serve(settings: Settings) -> int:
    secret = settings.web.secret_key()  # ConfigError names the key: fail before binding
    host, port = settings.web.address
    register = Register(settings.database.url)
    try:
        app = create_app(settings, register, secret_key=secret.get_secret_value())
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1,::1",
            log_config=None,
            timeout_graceful_shutdown=20,
            **http_options(settings.web),
        )
        log.info("event=web_listening address=%s:%d", host, port)
        _run_until_signalled(uvicorn.Server(config))
    finally:
        register.dispose()
    return 0


def _run_until_signalled(server: uvicorn.Server) -> None:
    """Serve until SIGTERM or SIGINT; then return, so the command exits 0.

    uvicorn shuts down gracefully on either signal and then raises it again for the handler
    that was in place before; this one only notes it.
    """
    received: list[int] = []
    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {
        sig: signal.signal(sig, lambda sig, _frame: received.append(sig)) for sig in handled
    }
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    names = ",".join(signal.Signals(sig).name for sig in received) or "none"
    log.info("event=web_stopped signal=%s", names)
