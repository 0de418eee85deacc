"""Local mail sources: a Maildir (the demo, or a server's own spool) and mbox imports.

The standard library's ``mailbox`` reads both. These sources are read-only: the ledger remembers
each item by its key, so nothing on disk is renamed or rewritten, and a mailbox exported from
Outlook or Thunderbird can be imported twice without a second case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mailbox
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from inbox_agent.arrival import delivery_time
from inbox_agent.clock import Clock
from inbox_agent.errors import MailboxUnavailable
from inbox_agent.fetch import FetchReport
from inbox_agent.intake import SourceKey, known_keys, store_message
from inbox_agent.register.db import Register

BATCH = 100


def _open(path: Path) -> mailbox.Maildir | mailbox.mbox:
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise MailboxUnavailable(f"{path} is a directory but not a Maildir (no cur/ or new/)")
        for sub in ("cur", "new", "tmp"):  # git and some exporters drop empty folders
            (path / sub).mkdir(exist_ok=True)
        return mailbox.Maildir(path, factory=None, create=False)
    if path.is_file():
        return mailbox.mbox(path, factory=None, create=False)
    raise MailboxUnavailable(f"mail source {path} does not exist")


def local_account(path: Path) -> str:
    """The ledger's account name for a local mailbox: ``mbox:<path>`` or ``maildir:<path>``."""
    resolved = path.resolve()
    return f"{'mbox' if resolved.is_file() else 'maildir'}:{resolved}"


class LocalFetcher:
    """Same contract as ImapFetcher.fetch_new, for a Maildir directory or an mbox file."""

    def __init__(
        self,
        path: Path,
        register: Register,
        *,
        max_bytes: int,
        clock: Clock,
        stop: threading.Event | None = None,
        progress: Callable[[FetchReport], None] | None = None,
    ) -> None:
        self.path = path.resolve()
        self.progress = progress  # told after each committed batch (``import`` prints it)
        self.register = register
        self.max_bytes = max_bytes
        self.clock = clock
        self.stop = stop or threading.Event()
        self.is_mbox = self.path.is_file()
        self.account = local_account(self.path)

    def fetch_new(self) -> FetchReport:
        report = FetchReport()
        try:
            box = _open(self.path)
        except OSError as exc:
            raise MailboxUnavailable(f"cannot open {self.path}: {exc}") from exc
        try:
            self._store_unseen(box, report)
        except OSError as exc:
            raise MailboxUnavailable(f"cannot read {self.path}: {exc}") from exc
        finally:
            box.close()
        return report

    def _store_unseen(self, box: mailbox.Maildir | mailbox.mbox, report: FetchReport) -> None:
        with self.register.transaction() as session:
            done = known_keys(session, self.account, "", 0)
        batch: list[tuple[str, bytes, dt.datetime | None]] = []
        for item in self._unseen(box, done):
            report.seen += 1
            batch.append(item)
            if len(batch) >= BATCH:
                self._store_batch(batch, report)
                batch = []
            if self.stop.is_set():
                break
        self._store_batch(batch, report)

    def _unseen(
        self, box: mailbox.Maildir | mailbox.mbox, done: set[str]
    ) -> Iterator[tuple[str, bytes, dt.datetime | None]]:
        for key in sorted(box.iterkeys(), key=str):
            if not self.is_mbox and str(key) in done:
                continue
            try:
                raw = box.get_bytes(key)
            except (KeyError, FileNotFoundError):
                continue  # removed by another reader between listing and reading
            # mbox keys are positions, not identities: there the content is the identity
            item_key = hashlib.sha256(raw).hexdigest() if self.is_mbox else str(key)
            if item_key not in done:
                yield item_key, raw, self._delivered_at(box, key, raw)

    def _delivered_at(
        self, box: mailbox.Maildir | mailbox.mbox, key: str, raw: bytes
    ) -> dt.datetime | None:
        """When it arrived (``arrival.delivery_time``): Received header, From_ line, file time.

        Reading the mailbox's own record parses the message; one nested deeper than the stdlib
        parser can recurse must still reach intake (and quarantine), not stop the source.
        """
        from_line: str | None = None
        file_time: dt.datetime | None = None
        try:
            msg = box.get_message(key)
        except RecursionError:
            return delivery_time(raw)
        if isinstance(msg, mailbox.MaildirMessage):
            file_time = dt.datetime.fromtimestamp(msg.get_date(), dt.UTC)
        elif isinstance(msg, mailbox.mboxMessage):
            from_line = msg.get_from()
        return delivery_time(raw, from_line=from_line, file_time=file_time)

    def _store_batch(
        self, batch: list[tuple[str, bytes, dt.datetime | None]], report: FetchReport
    ) -> None:
        if not batch:
            return
        now = self.clock()
        with self.register.transaction() as session:
            for item_key, raw, delivered in batch:
                reason = None
                if len(raw) > self.max_bytes:
                    reason = f"message of {len(raw)} bytes exceeds poll.max_message_bytes"
                key = SourceKey(self.account, "", 0, item_key)
                result = store_message(
                    session, key, raw, now, quarantine_reason=reason, delivered_at=delivered
                )
                report.stored += int(result.new)
                report.duplicates += int(not result.new and not result.known)
                report.oversized += int(reason is not None)
        if self.progress is not None:
            self.progress(report)
