"""``inbox-agent check-config [--offline] [--allow-past-poll]`` and ``inbox-agent files``.

Setting an office up: where the shipped files are (a profile to copy, the systemd units), and
whether a profile can work, checked the way the daemon would use it.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, TYPE_CHECKING

from inbox_agent.bundled import BUNDLES, Bundle, bundled_dir
from inbox_agent.cli.family import Subparsers, on_every_mailbox, without_config
from inbox_agent.clock import utc_now
from inbox_agent.deadlines import received_local_date

if TYPE_CHECKING:
    from inbox_agent.deployment import Deployment
    from inbox_agent.settings import Settings


def add_parsers(sub: Subparsers) -> None:
    check = sub.add_parser(
        "check-config", help="values, every template, then database, IMAP and SMTP (read-only)"
    )
    check.add_argument(
        "--offline", action="store_true", help="no network: the file, values and templates only"
    )
    check.add_argument(
        "--allow-past-poll", action="store_true", help="accept an election.poll_date in the past"
    )
    on_every_mailbox(check, _check_every)
    files = sub.add_parser("files", help="where this installation keeps its shipped files")
    files.add_argument("bundle", nargs="?", choices=BUNDLES, help="print only this folder")
    without_config(files, lambda args, out: print_files(args.bundle, out))


def _check_every(deployment: Deployment, args: argparse.Namespace, out: IO[str]) -> int:
    """Every mailbox in turn, each under its name when there are several; the worst code."""
    worst = 0
    for mailbox in deployment:
        if len(deployment.mailboxes) > 1:
            print(f"== mailbox {mailbox.name}", file=out)
        code = check_config(
            mailbox.settings, out, offline=args.offline, allow_past_poll=args.allow_past_poll
        )
        worst = max(worst, code)
    return worst


def check_config(
    settings: Settings, out: IO[str], *, offline: bool = False, allow_past_poll: bool = False
) -> int:
    """Each check in turn (``preflight``); 2 if the operator must fix something, 1 if only
    a peer was unavailable, 0 when all passed. Never the secret, never a write."""
    from inbox_agent.ops.preflight import run_checks

    print(f"configuration {settings.source}: valid", file=out)
    today = received_local_date(utc_now(), settings.office.timezone)
    worst = 0
    for finding in run_checks(settings, today, offline=offline, allow_past_poll=allow_past_poll):
        verdict = "ok" if finding.error is None else "FAILED"
        print(f"{finding.name}: {verdict}: {finding.detail}", file=out)
        worst = max(worst, finding.code)
    if offline:
        print("offline: database, mail source and SMTP not contacted", file=out)
    return worst


def print_files(bundle: Bundle | None, out: IO[str] = sys.stdout) -> int:
    """The installed folders, for copying a profile or the systemd units out of the wheel."""
    if bundle is not None:
        print(bundled_dir(bundle), file=out)
        return 0
    for name in BUNDLES:
        print(f"{name:<10} {bundled_dir(name)}", file=out)
    return 0
