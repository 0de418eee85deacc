"""Entry points: ``inbox-agent run | classify | register | import | status | check-config | model``.

``web`` serves the staff UI; ``users`` manages its accounts.

Every command takes ``--config`` (else ``$INBOX_AGENT_CONFIG``, else the bundled demo profile).
Exit codes: 0 done, 1 a peer was unavailable (retry later), 2 the operator must fix something.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from inbox_agent import __version__, contacts_cli, transparency
from inbox_agent.bundled import BUNDLES, Bundle, bundled_dir
from inbox_agent.deployment import Deployment, load_deployment
from inbox_agent.errors import InboxAgentError, OperatorError
from inbox_agent.health import NAGIOS_UNKNOWN, build_info, nagios_unknown
from inbox_agent.logs import redact, setup_logging
from inbox_agent.settings import Settings

log = logging.getLogger("inbox_agent")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inbox-agent", description=__doc__)
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
    run = sub.add_parser("run", help="poll the inbox on a schedule (the daemon)")
    run.add_argument("--once", action="store_true", help="one full pass, then exit")
    classify = sub.add_parser("classify", help="classify .eml files; writes and sends nothing")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.add_argument("files", nargs="+", type=Path)
    register = sub.add_parser("register", help="read the register")
    reg = register.add_subparsers(dest="register_command", required=True)
    listing = reg.add_parser("list", help="cases, newest last")
    listing.add_argument("--category")
    listing.add_argument("--status")
    show = reg.add_parser("show", help="one case with its messages and audit trail")
    show.add_argument("reference")
    export = reg.add_parser("export", help="the protocol register as CSV or JSON lines")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    imp = sub.add_parser("import", help="register an mbox file or Maildir (Outlook/Thunderbird)")
    imp.add_argument("path", type=Path)
    status = sub.add_parser("status", help="last poll, backlog, failures, quarantine, overdue")
    form = status.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object, errors too")
    form.add_argument("--nagios", action="store_true", help="a Nagios plugin line, exit 0-3")
    retention = sub.add_parser("retention", help="apply the [retention] policy (dry run)")
    retention.add_argument("--apply", action="store_true", help="delete; default: only show")
    check = sub.add_parser(
        "check-config", help="values, every template, then database, IMAP and SMTP (read-only)"
    )
    check.add_argument(
        "--offline", action="store_true", help="no network: the file, values and templates only"
    )
    check.add_argument(
        "--allow-past-poll", action="store_true", help="accept an election.poll_date in the past"
    )
    files = sub.add_parser("files", help="where this installation keeps its shipped files")
    files.add_argument("bundle", nargs="?", choices=BUNDLES, help="print only this folder")
    _add_model_parser(sub)
    _add_admin_parsers(sub)
    _add_web_parsers(sub)
    transparency.add_parsers(sub)  # roster, publication, publish, parity, report
    contacts_cli.add_parser(sub)  # contact record | import
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


def _add_model_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``model train | evaluate | correct``: the classifier's textcat and its corpus."""
    model = sub.add_parser("model", help="train and evaluate the classifier's model")
    cmd = model.add_subparsers(dest="model_command", required=True)
    train = cmd.add_parser("train", help="rebuild the shipped textcat from the corpus")
    train.add_argument("--corpus", type=Path, help="corpus folder (default: data/corpus)")
    train.add_argument("--architecture", choices=("bow", "ensemble", "cnn"), default="bow")
    train.add_argument("--include-corrections", action="store_true", help="add staff corrections")
    train.add_argument("--output", type=Path, help="model folder (default: the shipped one)")
    evaluate = cmd.add_parser("evaluate", help="figures on the test split, and a baseline")
    evaluate.add_argument("--corpus", type=Path, help="corpus folder (default: data/corpus)")
    evaluate.add_argument("--split", choices=("test", "dev", "train"), default="test")
    evaluate.add_argument("--limit", type=int, help="only the first N messages of the split")
    evaluate.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    evaluate.add_argument("--sisimai", type=Path, help="sisimai maildir for machine-mail recall")
    evaluate.add_argument("--no-machine", action="store_true", help="skip machine-mail recall")
    correct = cmd.add_parser("correct", help="put a case in another category (a new example)")
    correct.add_argument("reference")
    correct.add_argument("category")
    correct.add_argument("--user", required=True, help="who is correcting it")


def _add_admin_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``db status | upgrade | backup PATH`` and ``quarantine list | release ID-or-REF``."""
    db = sub.add_parser("db", help="the register's schema version, upgrades and backups")
    cmd = db.add_subparsers(dest="db_command", required=True)
    cmd.add_parser("status", help="schema revision against this release's (exit 1: upgrade)")
    cmd.add_parser("upgrade", help="migrate the register to this release's schema (logged)")
    backup = cmd.add_parser("backup", help="a checked copy: SQLite VACUUM INTO, or pg_dump -Fc")
    backup.add_argument("path", type=Path, help="a new file")
    shunt = sub.add_parser("quarantine", help="messages that could not be handled")
    cmd = shunt.add_subparsers(dest="quarantine_command", required=True)
    cmd.add_parser("list", help="every quarantined message with its reason")
    release = cmd.add_parser("release", help="put it back for processing (audited)")
    release.add_argument("message", help="stored message id (as status shows) or case reference")
    release.add_argument("--user", help="who is releasing it (default: cli:<login>)")


def _add_web_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``web`` (the staff UI) and ``users add | disable | enable | reset | email | list |
    lockouts | unlock`` (its accounts).

    Passwords are read from the terminal or standard input, never from the command line.
    """
    sub.add_parser("web", help="serve the staff web UI (web.listen, default 127.0.0.1:8080)")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    machine = _machine_output(args)
    try:
        if args.command == "files":  # needs no configuration: it is how one finds a profile
            return _print_files(args.bundle)
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


def _machine_output(args: argparse.Namespace) -> str | None:
    """``json`` or ``nagios`` when ``status`` was asked for a format a program reads."""
    if args.command != "status":
        return None
    return "nagios" if args.nagios else "json" if args.json else None


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


def _print_files(bundle: Bundle | None) -> int:
    """The installed folders, for copying a profile or the systemd units out of the wheel."""
    if bundle is not None:
        print(bundled_dir(bundle))
        return 0
    for name in BUNDLES:
        print(f"{name:<10} {bundled_dir(name)}")
    return 0


def _dispatch(args: argparse.Namespace, deployment: Deployment) -> int:
    """``run``, ``check-config`` and ``status`` cover every mailbox; the rest work on one."""
    from inbox_agent import commands

    if args.command == "run":
        return commands.run(deployment.only(args.mailbox), once=args.once)
    chosen = deployment.only(args.mailbox)
    if args.command == "status":
        fmt = _machine_output(args) or "text"
        return commands.status(chosen.mailboxes, sys.stdout, fmt=fmt)
    if args.command == "check-config":
        worst = 0
        for mailbox in chosen:
            if len(chosen.mailboxes) > 1:
                print(f"== mailbox {mailbox.name}", file=sys.stdout)
            code = commands.check_config(
                mailbox.settings,
                sys.stdout,
                offline=args.offline,
                allow_past_poll=args.allow_past_poll,
            )
            worst = max(worst, code)
        return worst
    return _dispatch_one(args, deployment.select(args.mailbox).settings)


def _dispatch_one(args: argparse.Namespace, settings: Settings) -> int:
    from inbox_agent import commands

    if args.command in transparency.COMMANDS:
        return transparency.run(settings, args, sys.stdout)
    if args.command == contacts_cli.COMMAND:
        return contacts_cli.run(settings, args, sys.stdout)
    if args.command == "classify":
        return commands.classify_files(settings, args.files, sys.stdout)
    if args.command == "register":
        return commands.register(settings, args, sys.stdout)
    if args.command == "import":
        return commands.import_mailbox(settings, args.path)
    if args.command == "retention":
        return commands.retention(settings, sys.stdout, apply=args.apply)
    if args.command == "model":
        return commands.model(settings, args, sys.stdout)
    if args.command == "db":
        return commands.db(settings, args, sys.stdout)
    if args.command == "quarantine":
        return commands.quarantine(settings, args, sys.stdout)
    if args.command == "web":
        from inbox_agent.web.server import serve

        return serve(settings)
    assert args.command == "users", args.command
    from inbox_agent.register.db import Register
    from inbox_agent.web.accounts import users_command

    register = Register(settings.database.url)
    try:
        return users_command(register, args, sys.stdout)
    finally:
        register.dispose()


if __name__ == "__main__":
    sys.exit(main())
