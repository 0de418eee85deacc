"""What a family of commands gives ``dispatch``: its parsers, each bound to its handler.

Each module under ``cli/`` owns one family (``run``, ``ops``, ``config``, ``register``, ...):
``add_parsers`` declares its commands' arguments and binds each command to a handler with one
of the three functions below, which say what the handler needs. ``dispatch`` builds the parser
from every family and calls the bound handler; it never names a command itself.

A family imports the modules its work needs inside the handler, not at the top, so that
``inbox-agent --help``, ``files`` and ``status`` do not load the pipeline, spaCy or the web UI.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inbox_agent.deployment import Deployment
    from inbox_agent.settings import Settings

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
OneMailbox: TypeAlias = "Callable[[Settings, argparse.Namespace, IO[str]], int]"
EveryMailbox: TypeAlias = "Callable[[Deployment, argparse.Namespace, IO[str]], int]"
WithoutConfig: TypeAlias = Callable[[argparse.Namespace, IO[str]], int]


def on_one_mailbox(parser: argparse.ArgumentParser, handler: OneMailbox) -> None:
    """The command works on one register: ``--mailbox NAME`` when there are several."""
    parser.set_defaults(one_mailbox=handler)


def on_every_mailbox(parser: argparse.ArgumentParser, handler: EveryMailbox) -> None:
    """The command covers every configured mailbox (or the one ``--mailbox`` names)."""
    parser.set_defaults(every_mailbox=handler)


def without_config(parser: argparse.ArgumentParser, handler: WithoutConfig) -> None:
    """The command needs no configuration at all (it is how one finds a profile)."""
    parser.set_defaults(without_config=handler)


@contextmanager
def register_transaction(settings: Settings) -> Iterator[Session]:
    """One transaction on the mailbox's register, its connections closed afterwards.

    A command is one short unit of work: committed when the block ends, rolled back if it
    raises, and it leaves no pooled connection behind (a PostgreSQL server counts them).
    """
    from inbox_agent.register.db import Register

    register = Register(settings.database.url)
    try:
        with register.transaction() as session:
            yield session
    finally:
        register.dispose()
