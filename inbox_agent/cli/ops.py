"""``inbox-agent status [--json|--nagios]`` and ``inbox-agent retention [--apply]``.

The operator's view of a running clerk: its health, read without secrets and without creating
or migrating anything, and the retention policy, shown before it is applied.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from inbox_agent.cli.family import Subparsers, on_every_mailbox, on_one_mailbox
from inbox_agent.clock import utc_now
from inbox_agent.errors import ConfigError

if TYPE_CHECKING:
    from inbox_agent.deployment import Deployment, Mailbox
    from inbox_agent.ops.health import Health
    from inbox_agent.settings import Settings


def add_parsers(sub: Subparsers) -> None:
    status_parser = sub.add_parser(
        "status", help="last poll, backlog, failures, quarantine, overdue"
    )
    form = status_parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object, errors too")
    form.add_argument("--nagios", action="store_true", help="a Nagios plugin line, exit 0-3")
    on_every_mailbox(status_parser, _status)
    retention_parser = sub.add_parser("retention", help="apply the [retention] policy (dry run)")
    retention_parser.add_argument("--apply", action="store_true", help="delete; default: only show")
    on_one_mailbox(retention_parser, lambda s, args, out: retention(s, out, apply=args.apply))


def machine_format(args: argparse.Namespace) -> str | None:
    """``json`` or ``nagios`` when ``status`` was asked for a format a program reads."""
    if args.command != "status":
        return None
    return "nagios" if args.nagios else "json" if args.json else None


_FORMATS = {"--json": "json", "--nagios": "nagios"}
_VALUED = ("--config", "--mailbox")  # the options that take a value, before or after the command


def requested_format(argv: Sequence[str]) -> str | None:
    """``machine_format`` read from the raw arguments, for when they could not be parsed.

    The command is the first word that is not an option or an option's value; the format is
    the first of ``--json`` or ``--nagios`` given after it (as argparse, a unique prefix such
    as ``--nag`` counts).
    """
    words = iter(argv)
    for word in words:
        if word == "--":
            return None
        if word in _VALUED:
            next(words, None)
        elif not word.startswith("-"):
            if word != "status":
                return None
            break
    else:
        return None
    for word in words:
        if word == "--":
            break
        for option, fmt in _FORMATS.items():
            if len(word) > 2 and option.startswith(word):
                return fmt
    return None


def _status(deployment: Deployment, args: argparse.Namespace, out: IO[str]) -> int:
    return status(deployment.mailboxes, out, fmt=machine_format(args) or "text")


def status(mailboxes: Sequence[Mailbox], out: IO[str], *, fmt: str = "text") -> int:
    """0 healthy, 1 degraded (``--nagios``: 0 OK, 1 WARNING, 2 CRITICAL).

    Read-only and secret-free: the register is neither created nor migrated, and no mail
    password is read, so it works from any shell that can read the configuration.
    """
    from inbox_agent.ops.health import build_info, render_health, render_nagios

    snapshots = [(m.name, *_snapshot(m.settings)) for m in mailboxes]
    healths = [(name, health) for name, health, _ in snapshots]
    if fmt == "nagios":
        code, line = render_nagios(healths, [m.settings for m in mailboxes])
        out.write(line + "\n")
        return code
    build = build_info()
    if fmt == "json":
        docs = {
            name: health.as_dict() | {"register_revision": rev} for name, health, rev in snapshots
        }
        ok = all(d["ok"] for d in docs.values())
        doc = next(iter(docs.values())) if len(docs) == 1 else {"ok": ok, "mailboxes": docs}
        out.write(json.dumps(doc | {"build": build}, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(
            f"inbox-agent {build['version']} (Python {build['python']}, {build['installed_at']})\n"
        )
        for name, health, revision in snapshots:
            if len(snapshots) > 1:
                out.write(f"== mailbox {name}\n")
            out.write(f"register revision {revision}\n")
            out.writelines(line + "\n" for line in render_health(health))
    return 1 if any(h.degraded for _, h in healths) else 0


def _snapshot(settings: Settings) -> tuple[Health, str | None]:
    """The health of one register, read without creating or migrating anything."""
    from inbox_agent.ops.health import build_health
    from inbox_agent.register.db import Register, schema_state, sqlite_path

    path = sqlite_path(settings.database.url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"database.url: no register at {path}; has inbox-agent run ever run with "
            f"{settings.source}?"
        )
    reg = Register(settings.database.url, migrate=False, create=False)
    try:
        state = schema_state(reg.engine)
        if not state.up_to_date:
            raise ConfigError(
                f"database.url: the register is at revision {state.current}, this release "
                f"reads {state.head}; inbox-agent db upgrade (or run, at start) migrates it"
            )
        with reg.transaction() as session:
            return build_health(session, utc_now(), settings), state.current
    finally:
        reg.dispose()


def retention(settings: Settings, out: IO[str], *, apply: bool) -> int:
    """Show what the retention policy would delete; with ``apply``, delete it."""
    from inbox_agent.ops.retention import apply_retention, plan_retention, render_report
    from inbox_agent.register.db import Register

    reg = Register(settings.database.url)
    try:
        if apply:
            report = apply_retention(reg, settings.retention, utc_now())
        else:
            with reg.transaction() as session:
                report = plan_retention(session, settings.retention, utc_now())
    finally:
        reg.dispose()
    out.writelines(line + "\n" for line in render_report(report, settings.retention))
    return 0
