"""What a failed connection to a mail server means, and so who must act on it.

A certificate we do not trust, TLS spoken to a plain port, or plain text spoken to a TLS
port fail the same way on every attempt: retrying would only hide a setting that is wrong,
so they are the operator's (``ConfigError`` naming ``imap.security`` or ``smtp.ca_file``).
Shared by the IMAP session and the SMTP transport, which the daemon and ``check-config``
both use; so is ``tls_context``, the one way a TLS connection to a peer is set up.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Protocol

from inbox_agent.errors import ConfigError


class TlsPeer(Protocol):
    """What a peer's settings say about TLS (``[imap]`` and ``[smtp]`` both have these)."""

    @property
    def ca_file(self) -> Path | None: ...
    @property
    def verify_tls(self) -> bool: ...


def tls_context(peer: TlsPeer) -> ssl.SSLContext:
    """The system's trust store (or ``ca_file``); ``verify_tls = false`` only for a lab server."""
    context = ssl.create_default_context(cafile=str(peer.ca_file) if peer.ca_file else None)
    if not peer.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tls_mismatch(
    section: str, host: str, port: int, security: str, exc: BaseException
) -> ConfigError | None:
    """The operator's error when a failed connection is the settings' fault, else None.

    A certificate we do not trust, TLS spoken to a plain port, or plain text to a TLS port
    (the server waits for a TLS hello that never comes, so the greeting times out; a probe
    then tells that apart from a slow network) fail the same way every time: retrying
    would only hide them. Everything else may be an outage, and is retried.
    """
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigError(
            f"{section}.ca_file: the certificate of {where} is not trusted "
            f"({exc.verify_message}); give its CA in ca_file, or fix the server's certificate"
        )
    if isinstance(exc, ssl.SSLError) and security == "ssl":
        return ConfigError(
            f"{section}.security: {where} does not speak TLS from the first byte ({exc}); "
            f'use security = "starttls" for a plain port (IMAP 143, SMTP 587), or the '
            "implicit-TLS port (IMAP 993, SMTP 465)"
        )
    if isinstance(exc, TimeoutError) and security != "ssl" and speaks_tls(host, port):
        return ConfigError(
            f"{section}.security: {where} expects TLS from the first byte (implicit TLS); "
            f'set security = "ssl", or use the plain port (IMAP 143, SMTP 587) with "starttls"'
        )
    return None


def speaks_tls(host: str, port: int, timeout: float = 5.0) -> bool:
    """Whether ``host:port`` completes a TLS handshake (certificate not judged here)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except (OSError, ValueError):
        return False
