"""``inbox-agent run [--once]`` and ``inbox-agent import PATH``: passes of the pipeline.

``run`` is the daemon (or one pass of every mailbox); ``import`` is one pass over an mbox file
or Maildir export that never emails anyone. Both print the same pass summary.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

from inbox_agent import __version__
from inbox_agent.cli.family import Subparsers, on_every_mailbox, on_one_mailbox
from inbox_agent.errors import OperatorError, TransientError
from inbox_agent.logs import mailbox_context

if TYPE_CHECKING:
    from inbox_agent.deployment import Deployment
    from inbox_agent.pipeline import PassReport, Pipeline
    from inbox_agent.settings import Settings

log = logging.getLogger(__name__)

IMPORT_PROGRESS_EVERY = 100  # messages between two progress lines of ``import``


def add_parsers(sub: Subparsers) -> None:
    run_parser = sub.add_parser("run", help="poll the inbox on a schedule (the daemon)")
    run_parser.add_argument("--once", action="store_true", help="one full pass, then exit")
    on_every_mailbox(run_parser, lambda deployment, args, out: run(deployment, once=args.once))
    imp = sub.add_parser("import", help="register an mbox file or Maildir (Outlook/Thunderbird)")
    imp.add_argument("path", type=Path)
    on_one_mailbox(imp, lambda settings, args, out: import_mailbox(settings, args.path))


def run(deployment: Deployment, *, once: bool) -> int:
    """The daemon, or one pass of every mailbox; registers that are down are retried.

    With ``--once`` a mailbox that fails is reported and the next one still runs; the exit
    code is 1 when any failed, so a cron wrapper notices, and 2 when any met an operator's
    error (configuration, templates, a register newer than this release).
    """
    from inbox_agent.pipeline import Pipeline
    from inbox_agent.register.db import Register
    from inbox_agent.register.locks import InstanceLock, instance_lock
    from inbox_agent.scheduler import run_daemon

    log.info(
        "event=starting version=%s once=%s mailboxes=%d",
        __version__,
        once,
        len(deployment.mailboxes),
    )
    stop = threading.Event()
    pipelines = [
        Pipeline(
            m.settings, Register(m.settings.database.url, migrate=False), stop=stop, name=m.name
        )
        for m in deployment
    ]
    failed = operator = 0
    locks: list[InstanceLock] = []
    try:
        # one run per SQLite register: a second daemon stops here, before it polls or sends
        for pipeline in pipelines:
            if (lock := instance_lock(pipeline.register)) is not None:
                locks.append(lock)
        if not once:
            _check_schemas(pipelines)
            run_daemon(pipelines)
            return 0
        for pipeline in pipelines:
            with mailbox_context(pipeline.name):
                try:
                    report = pipeline.run_once()
                except (TransientError, OperatorError) as exc:
                    if len(pipelines) == 1:
                        raise
                    is_operator = isinstance(exc, OperatorError)
                    failed, operator = failed + (not is_operator), operator + is_operator
                    log.error("event=poll_failed error=%s", exc)
                    continue
            if len(pipelines) > 1:
                print(f"mailbox {pipeline.name}:", file=sys.stderr)
            _print_pass(report, sys.stderr)
    finally:
        for pipeline in pipelines:
            pipeline.lease.release()
            pipeline.register.dispose()
        for lock in locks:
            lock.release()
    return 2 if operator else (1 if failed else 0)


def _check_schemas(pipelines: list[Pipeline]) -> None:
    """At start-up: upgrade each reachable register (logged), refuse one newer than this code.

    A register that is down is left to the poll job, which migrates it when it comes back.
    """
    for pipeline in pipelines:
        with mailbox_context(pipeline.name):
            try:
                pipeline.register.ensure_schema()
            except TransientError as exc:
                log.warning("event=register_unavailable_at_start error=%s", exc)


def _print_pass(report: PassReport, out: IO[str]) -> None:
    f = report.fetch
    print(
        f"fetched {f.seen} (new {f.stored}, duplicates {f.duplicates}); "
        f"cases opened {report.cases_opened}, joined {report.joined}, "
        f"machine mail {report.machine}, quarantined {report.quarantined}, "
        f"retry later {report.retried}; emails sent {report.sent.sent}, "
        f"deferred {report.sent.deferred}, failed {report.sent.failed}",
        file=out,
    )


def import_mailbox(settings: Settings, path: Path) -> int:
    """Register a Maildir or mbox export without emailing anyone; progress goes to stderr.

    A large export takes a while: a line after each stored batch and every hundred processed
    messages tells the operator it is moving, and how far it has to go.
    """
    from inbox_agent.localbox import LocalFetcher
    from inbox_agent.pipeline import PassReport, Pipeline
    from inbox_agent.register.db import Register

    reg = Register(settings.database.url)
    try:
        pipeline = Pipeline(settings, reg)
        pipeline.acknowledge_since = pipeline.clock()  # an import never emails anyone
        report = PassReport()
        fetcher = LocalFetcher(
            path,
            reg,
            max_bytes=settings.poll.max_message_bytes,
            clock=pipeline.clock,
            progress=lambda f: print(f"import: read {f.seen}, stored {f.stored}", file=sys.stderr),
        )
        report.fetch = fetcher.fetch_new()
        pipeline.process_pending(report, progress=_print_progress)
        _print_pass(report, sys.stderr)
    finally:
        reg.dispose()
    return 0


def _print_progress(done: int, total: int) -> None:
    if done % IMPORT_PROGRESS_EVERY == 0 or done == total:
        print(f"import: processed {done}/{total}", file=sys.stderr, flush=True)
