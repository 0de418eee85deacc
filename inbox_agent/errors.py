"""The exception tree, arranged by who must act.

::

    InboxAgentError
    ├── OperatorError        the configuration or the deployment is wrong: a human must fix it,
    │   ├── ConfigError      retrying will not help (bad key, missing secret, unknown category)
    │   └── RegisterTooNew   the register was written by a newer release than this one
    ├── SenderError          one message is bad: quarantine it with the reason, carry on
    │   ├── UnparseableMessage
    │   └── MessageTooLarge
    └── TransientError       time may fix it: retry with backoff, touch nothing not committed
        ├── MailboxUnavailable   IMAP / Maildir could not be reached or read
        ├── DeliveryDeferred     SMTP answered 4xx or the connection dropped
        ├── TokenUnavailable     the OAuth2 token endpoint could not be reached or failed
        └── RegisterUnavailable  the database is down or locked

Library exceptions are wrapped with ``raise ... from exc`` at the module that talks to the
library, so callers only ever need to know this tree. A failure that repeats identically on
every attempt is the operator's even when a peer reports it: a TLS mode that does not match
the port or a certificate not trusted (``peers``), a folder the server does not have, a
refused login, a PostgreSQL role or database refused, a SQLite file that cannot be written
(``register.db.register_error``). The command line maps the tree to exit codes: 2 for an
OperatorError, 1 for the rest.
"""

from __future__ import annotations


class InboxAgentError(Exception):
    """Root of every error inbox-agent raises on purpose."""


class OperatorError(InboxAgentError):
    """Only the operator can fix this; the daemon reports it and leaves the mailbox untouched."""


class ConfigError(OperatorError):
    """The configuration file or a secret is invalid; the message names the file and the key."""


class RegisterTooNew(OperatorError):
    """The register's schema revision is unknown to this code: refuse rather than misread it."""


class SenderError(InboxAgentError):
    """One message cannot be handled as it stands; it is quarantined, never dropped."""


class UnparseableMessage(SenderError):
    """The MIME structure defeats the parser."""


class MessageTooLarge(SenderError):
    """The message exceeds the configured maximum size."""


class TransientError(InboxAgentError):
    """A peer is unavailable for now; the work is retried later with backoff."""


class MailboxUnavailable(TransientError):
    """The IMAP server or local mailbox could not be reached or read."""


class DeliveryDeferred(TransientError):
    """The SMTP server deferred (4xx) or the connection was lost."""


class RegisterUnavailable(TransientError):
    """The register database could not be reached or was locked."""


class TokenUnavailable(TransientError):
    """The OAuth2 token endpoint could not be reached, timed out or answered 5xx."""


def unwritable(key: str, path: object, exc: OSError) -> str:
    """The message for an output the operator named that cannot be written: whose fix it is."""
    return (
        f"{key} {path}: cannot write: {exc.strerror or exc}; choose a path in a directory "
        "this user can write"
    )
