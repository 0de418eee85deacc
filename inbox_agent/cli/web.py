"""``inbox-agent web`` (the staff UI) and ``inbox-agent users add | disable | enable | reset |
email | list | lockouts | unlock`` (its accounts).

Passwords are read from the terminal or standard input, never from the command line.
"""

from __future__ import annotations

import argparse
from typing import IO, TYPE_CHECKING

from inbox_agent.cli.family import Subparsers, on_one_mailbox

if TYPE_CHECKING:
    from inbox_agent.settings import Settings


def add_parsers(sub: Subparsers) -> None:
    web = sub.add_parser("web", help="serve the staff web UI (web.listen, default 127.0.0.1:8080)")
    on_one_mailbox(web, serve)
    users = sub.add_parser("users", help="staff accounts for the web UI")
    cmd = users.add_subparsers(dest="users_command", required=True)
    add = cmd.add_parser("add", help="a new account; the password is read from stdin or a prompt")
    add.add_argument("username")
    add.add_argument("--role", choices=("triage", "admin"), default="triage")
    add.add_argument("--name", help="the name shown to colleagues, e.g. 'Sam Jones (FOI)'")
    add.add_argument("--email", help="where requesters' follow-ups to their cases are notified")
    for name, text in (
        ("disable", "disable an account and end its sessions"),
        ("enable", "enable a disabled account"),
        ("reset", "set a new password (stdin or prompt); ends the account's sessions"),
    ):
        cmd.add_parser(name, help=text).add_argument("username")
    cmd.add_parser("list", help="accounts, roles, last login")
    email = cmd.add_parser("email", help="set the address follow-ups are notified to")
    email.add_argument("username")
    email.add_argument("address", help='an email address, or "" for none')
    cmd.add_parser("lockouts", help="sign-in counters at their limit (who, from where, until)")
    unlock = cmd.add_parser("unlock", help="clear an account's sign-in lockouts")
    unlock.add_argument("username")
    on_one_mailbox(users, manage_users)


def serve(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    from inbox_agent.web.server import serve as serve_web

    return serve_web(settings)


def manage_users(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    from inbox_agent.register.db import Register
    from inbox_agent.web.accounts import users_command

    register = Register(settings.database.url)
    try:
        return users_command(register, args, out)
    finally:
        register.dispose()
