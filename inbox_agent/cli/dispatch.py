"""The ``inbox-agent`` command: parse the arguments, load the configuration, call the handler.

Every family of commands (``run``, ``status``, ``check-config``, ``register``, ``model``,
``quarantine``, ``contact``, the transparency commands, ``web`` and ``users``) lives in its own
module under ``cli/`` and declares its own arguments (``cli/family.py``); this module only puts
them together, says what failed and in which exit code.

Every command takes ``--config`` (else ``$INBOX_AGENT_CONFIG``, else the bundled demo profile).
Exit codes: 0 done, 1 a peer was unavailable (retry later), 2 the operator must fix something.

Arguments that cannot be parsed are the operator's to fix too (exit 2, the usage on stderr, as
argparse says it), except for a monitoring probe: ``status --json`` and ``status --nagios``
answer in their own format whatever went wrong, the argument named, so the probe reports
"bad arguments" rather than failing to parse the usage text as JSON or a plugin line.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from inbox_agent import __version__
from inbox_agent.cli import casework, config, contacts, model, ops, register, run, transparency, web
from inbox_agent.cli.family import EveryMailbox, OneMailbox, WithoutConfig
from inbox_agent.deployment import Deployment, load_deployment
from inbox_agent.errors import InboxAgentError, OperatorError
from inbox_agent.logs import redact, setup_logging
from inbox_agent.ops.health import NAGIOS_UNKNOWN, build_info, nagios_unknown

log = logging.getLogger("inbox_agent")

FAMILIES = (run, ops, config, register, model, casework, contacts, transparency, web)
"""Each declares its commands and binds each to its handler (``cli/family.py``)."""


_NAMED = (
    re.compile(r"^argument ([^:]+):"),  # argument --mailbox: expected one argument
    re.compile(r"^unrecognized arguments: (\S+)"),
    re.compile(r"^the following arguments are required: ([^,]+)"),
)


class ArgumentsRefused(OperatorError):
    """The command line could not be parsed; ``argument`` is the one argparse names."""

    def __init__(self, message: str, prog: str, usage: str) -> None:
        super().__init__(message)
        self.prog, self.usage = prog, usage
        found = (pattern.match(message) for pattern in _NAMED)
        self.argument = next((m.group(1) for m in found if m), "")


class Parser(argparse.ArgumentParser):
    """argparse, raising instead of exiting, so ``main`` can answer in the format asked for.

    The command parsers argparse makes for ``add_subparsers`` are of this class too.
    """

    def error(self, message: str) -> NoReturn:
        raise ArgumentsRefused(message, self.prog, self.format_usage())


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="inbox-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=f"inbox-agent {__version__}")
    parser.add_argument(
        "--config",
        help="TOML profile, or a file or directory of several (default: $INBOX_AGENT_CONFIG)",
    )
    parser.add_argument(
        "--mailbox",
        help="with several mailboxes configured: the one to work on (run: only this one)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for family in FAMILIES:
        family.add_parsers(sub)
    _accept_global_options(parser)
    return parser


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--mailbox`` after the command too (``inbox-agent status --config F``).

    Given after the command they are stored only when present (SUPPRESS), so the value given
    before the command, or the default, stands otherwise.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in action.choices.values():
            sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            sub.add_argument("--mailbox", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            _accept_global_options(sub)


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(given)
    except ArgumentsRefused as exc:
        return _refused(exc, ops.requested_format(given))
    machine = ops.machine_format(args)
    try:
        bare: WithoutConfig | None = getattr(args, "without_config", None)
        if bare is not None:  # e.g. ``files``: it is how one finds a profile
            return bare(args, sys.stdout)
        # the mail secrets are read now only by the daemon; check-config reports them itself
        deployment = load_deployment(args.config, secrets=args.command == "run")
        setup_logging(deployment.mailboxes[0].settings.logging.level)
        return _dispatch(args, deployment)
    except OperatorError as exc:
        return _failed(exc, 2, machine)
    except InboxAgentError as exc:
        return _failed(exc, 1, machine)
    except Exception as exc:
        if machine is None:
            raise
        return _failed(exc, 1, machine)  # a monitoring probe must get its format, even now


def _refused(exc: ArgumentsRefused, machine: str | None) -> int:
    """Bad arguments: argparse's usage and message, or the probe's format naming the argument."""
    if machine == "json":
        error = {"ok": False, "error": str(exc), "argument": exc.argument, "exit_code": 2}
        print(json.dumps(error | {"build": build_info()}, ensure_ascii=False), file=sys.stdout)
        return 2
    if machine == "nagios":
        print(nagios_unknown(f"bad argument {exc.argument}: {exc}"), file=sys.stdout)
        return NAGIOS_UNKNOWN
    sys.stderr.write(f"{exc.usage}{exc.prog}: error: {exc}\n")  # as argparse says it
    return 2


def _failed(exc: Exception, code: int, machine: str | None) -> int:
    """Say what failed in the format asked for; the exit code still says who must act."""
    if machine == "json":
        error = {"ok": False, "error": redact(str(exc)), "exit_code": code}
        print(json.dumps(error | {"build": build_info()}, ensure_ascii=False), file=sys.stdout)
        return code
    if machine == "nagios":
        print(nagios_unknown(str(exc)), file=sys.stdout)
        return NAGIOS_UNKNOWN
    print(f"inbox-agent: {exc}", file=sys.stderr)
    return code


def _dispatch(args: argparse.Namespace, deployment: Deployment) -> int:
    """``run``, ``check-config`` and ``status`` cover every mailbox; the rest work on one."""
    every: EveryMailbox | None = getattr(args, "every_mailbox", None)
    if every is not None:
        return every(deployment.only(args.mailbox), args, sys.stdout)
    one: OneMailbox = args.one_mailbox
    return one(deployment.select(args.mailbox).settings, args, sys.stdout)
