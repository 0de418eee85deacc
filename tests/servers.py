"""Real peers for integration tests: Dovecot (IMAP), PostgreSQL and an SMTP sink.

Each server listens only on 127.0.0.1, at a port nobody else asked for, and keeps all of its
files in a private temporary directory that ``close()`` removes. Every wait is bounded in
both attempts and seconds; a server that does not come up raises ``ServerError`` with the tail
of its log, so a failing fixture says why.

Running as root (as in the project's containers):

- Dovecot refuses to run mail processes as root, so mail runs as ``nobody`` and the login and
  internal processes as the packaged ``dovenull`` and ``dovecot`` users. The temporary
  directory is made world-traversable (0755) because those users must reach it.
- ``initdb`` refuses root, so PostgreSQL's commands run through ``runuser -u postgres`` and its
  directory belongs to ``postgres``.

Run as an ordinary user, both servers run as that user instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import grp
import math
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session
from imapclient import IMAPClient
from psycopg import sql

LOCALHOST = "127.0.0.1"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
CLIENT_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.02
LOG_TAIL_LINES = 25


class ServerError(RuntimeError):
    """A test server failed to start, answer or stop within its time limit."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it is true; give up after ``timeout`` seconds.

    ``condition`` may raise to stop waiting early (for example when the process has died).
    """
    deadline = time.monotonic() + timeout
    for _ in range(math.ceil(timeout / POLL_INTERVAL_S) + 1):
        if condition():
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    raise ServerError(f"timed out after {timeout:.1f}s waiting for {what}")


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"(no log at {path}: {e.strerror})"
    return "\n".join(text.splitlines()[-lines:])


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _check_passwd_field(value: str, what: str) -> None:
    if not value or any(c in value for c in ":\r\n"):
        raise ValueError(f"{what} must be non-empty and contain no ':' or newline: {value!r}")


def _greets_with(host: str, port: int, banner: bytes) -> bool:
    """Return True if a TCP connection to host:port opens with ``banner``."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            return sock.recv(256).startswith(banner)
    except OSError:
        return False


# --------------------------------------------------------------------------- Dovecot


@dataclass(frozen=True)
class _DovecotAccounts:
    """Which system users Dovecot's processes run as."""

    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int

    @classmethod
    def for_current_process(cls) -> _DovecotAccounts:
        if _running_as_root():
            nobody = pwd.getpwnam("nobody")
            return cls("dovecot", "dovecot", "dovenull", nobody.pw_uid, nobody.pw_gid)
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(me.pw_gid).gr_name
        return cls(me.pw_name, group, me.pw_name, me.pw_uid, me.pw_gid)


_DOVECOT_CONF = """\
# Written by tests/servers.py for one throwaway Dovecot 2.3 instance.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = inbox-agent-test-{port}
protocols = imap
listen = {host}
{ssl_settings}
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
auth_failure_delay = 0
auth_verbose = yes
default_internal_user = {accounts.internal_user}
default_internal_group = {accounts.internal_group}
default_login_user = {accounts.login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 100
mailbox_idle_check_interval = {idle_check_interval_s} secs
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users.passwd
}}
userdb {{
  driver = static
  args = uid={accounts.mail_uid} gid={accounts.mail_gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {port}
  }}{imaps_listener}
}}
service anvil {{
  chroot ={auth_penalty_listener}
}}
"""

# SASL XOAUTH2 / OAUTHBEARER: Dovecot POSTs the token to the test's introspection endpoint
# and accepts it when the JSON answer has ``"active": true`` and ``"username"`` the login name.
_OAUTH2_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {conf}
}}
"""
_OAUTH2_CONF = """\
introspection_url = {url}
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""

# Mode 0 removes anvil's auth-penalty socket; auth then skips the penalty silently. Without
# this, a login after a failed one from 127.0.0.1 waits 4 s or more.
_NO_AUTH_PENALTY = """
  unix_listener anvil-auth-penalty {
    mode = 0
  }"""


class DovecotServer:
    """A private Dovecot 2.3 IMAP server with plaintext logins and Maildir storage.

    The folder separator is ``/``. IDLE is advertised and Dovecot re-checks an idling mailbox
    every ``idle_check_interval_s`` seconds, so tests see new mail quickly. A failed login is
    answered after about 0.5 s; the growing per-IP penalty on later attempts is off unless
    ``auth_penalty`` is true.
    """

    def __init__(
        self,
        user: str = "spoc",
        password: str = "spoc-test-password",
        *,
        binary: str | None = None,
        idle_check_interval_s: int = 1,
        auth_penalty: bool = False,
        tls: tuple[Path, Path] | None = None,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        # With an introspection URL, XOAUTH2 and OAUTHBEARER logins are offered too.
        self._oauth2_introspection_url = oauth2_introspection_url
        self._tls = tls  # (certificate chain PEM, private key PEM): enables STARTTLS and IMAPS
        self._tls_port = free_port() if tls else None
        self._binary = binary or shutil.which("dovecot") or "/usr/sbin/dovecot"
        self._root = Path(tempfile.mkdtemp(prefix="inbox-agent-dovecot-"))
        self._root.chmod(0o755)  # Dovecot's unprivileged processes must traverse it.
        self._port = free_port()
        self._accounts = _DovecotAccounts.for_current_process()
        self._idle_check_interval_s = idle_check_interval_s
        self._auth_penalty = auth_penalty
        self._users: dict[str, str] = {}
        self._default_user = user
        self._proc: subprocess.Popen[bytes] | None = None
        self.last_start_seconds: float | None = None
        home = self._root / "home"
        home.mkdir()
        os.chown(home, self._accounts.mail_uid, self._accounts.mail_gid)
        self.add_user(user, password)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def user(self) -> str:
        return self._default_user

    @property
    def password(self) -> str:
        return self._users[self._default_user]

    @property
    def root(self) -> Path:
        return self._root

    @property
    def log_path(self) -> Path:
        return self._root / "dovecot.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start Dovecot in the foreground as our child; return once it greets."""
        if self._proc is not None:
            raise ServerError("Dovecot is already running")
        config = self._root / "dovecot.conf"
        config.write_text(self._render_config(), encoding="utf-8")
        started = time.monotonic()
        with (self._root / "dovecot.stderr").open("ab") as stderr:
            self._proc = subprocess.Popen(
                [self._binary, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its own process group, so stop() can reap it all
            )
        try:
            wait_until(self._is_ready, timeout=START_TIMEOUT_S, what="Dovecot to greet")
        except ServerError:
            self.stop()
            raise
        self.last_start_seconds = time.monotonic() - started

    def stop(self) -> None:
        """SIGTERM the master (by its master.pid), wait, then SIGKILL its process group."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        pid = self._master_pid() or proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
            wait_until(
                lambda: not _live_group_members(proc.pid),
                timeout=STOP_TIMEOUT_S,
                what="Dovecot's child processes to exit",
            )
        except (subprocess.TimeoutExpired, ServerError):
            _kill_process_group(proc)

    def restart(self) -> None:
        """Stop and start again on the same port with the same mail and users."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Kill the server at once and delete its directory, mail included.

        Nothing is kept, so there is nothing to shut down gracefully; a graceful ``stop()``
        costs about a second because Dovecot's master waits for its log process.
        """
        proc, self._proc = self._proc, None
        try:
            if proc is not None:
                _kill_process_group(proc)
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add_user(self, user: str, password: str) -> None:
        """Add (or change the password of) a mail user; a running server sees it at once."""
        _check_passwd_field(user, "user")
        _check_passwd_field(password, "password")
        self._users[user] = password
        lines = "".join(f"{name}:{{PLAIN}}{secret}\n" for name, secret in self._users.items())
        passwd = self._root / "users.passwd"
        staging = passwd.with_suffix(".tmp")
        staging.write_text(lines, encoding="utf-8")
        staging.chmod(0o644)  # the auth process runs as the internal user
        staging.replace(passwd)

    @property
    def tls_port(self) -> int:
        """The implicit-TLS (IMAPS) port; only when started with ``tls``."""
        if self._tls_port is None:
            raise ServerError("this Dovecot was started without tls")
        return self._tls_port

    def _ssl_settings(self) -> tuple[str, str]:
        if self._tls is None:
            return "ssl = no", ""
        cert, key = self._tls
        settings = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
        listener = (
            f"\n  inet_listener imaps {{\n    address = {self.host}\n"
            f"    port = {self._tls_port}\n    ssl = yes\n  }}"
        )
        return settings, listener

    def _oauth2_settings(self) -> tuple[str, str]:
        url = self._oauth2_introspection_url
        if url is None:
            return "", ""
        conf = self._root / "dovecot-oauth2.conf.ext"
        conf.write_text(_OAUTH2_CONF.format(url=url), encoding="utf-8")
        conf.chmod(0o644)  # the auth process runs as the internal user
        return " xoauth2 oauthbearer", _OAUTH2_PASSDB.format(conf=conf)

    def _render_config(self) -> str:
        ssl_settings, imaps_listener = self._ssl_settings()
        oauth2_mechanisms, oauth2_passdb = self._oauth2_settings()
        return _DOVECOT_CONF.format(
            oauth2_mechanisms=oauth2_mechanisms,
            oauth2_passdb=oauth2_passdb,
            ssl_settings=ssl_settings,
            imaps_listener=imaps_listener,
            root=self._root,
            host=self.host,
            port=self._port,
            accounts=self._accounts,
            idle_check_interval_s=self._idle_check_interval_s,
            auth_penalty_listener="" if self._auth_penalty else _NO_AUTH_PENALTY,
        )

    def _is_ready(self) -> bool:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            code = None if proc is None else proc.returncode
            raise ServerError(
                f"Dovecot exited with status {code}:\n"
                f"{read_log_tail(self._root / 'dovecot.stderr')}\n{read_log_tail(self.log_path)}"
            )
        return _greets_with(self.host, self._port, b"* OK")

    def _master_pid(self) -> int | None:
        try:
            return int((self._root / "run" / "master.pid").read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    # -- IMAP helpers (each opens its own short session) ----------------------------------

    @contextlib.contextmanager
    def client(self, user: str | None = None) -> Iterator[IMAPClient]:
        """Yield an IMAPClient logged in as ``user`` (default: the first user)."""
        name = user or self._default_user
        imap = IMAPClient(self.host, port=self._port, ssl=False, timeout=CLIENT_TIMEOUT_S)
        try:
            imap.login(name, self._users[name])
            yield imap
        finally:
            try:
                imap.logout()
            except Exception:
                imap.shutdown()

    def append(
        self,
        folder: str,
        raw: bytes,
        *,
        flags: Sequence[bytes] = (),
        user: str | None = None,
        internal_date: dt.datetime | None = None,
    ) -> int:
        """Append one message and return the UID the server gave it (APPENDUID).

        ``internal_date`` sets the arrival time the server reports (INTERNALDATE).
        """
        with self.client(user) as imap:
            response = imap.append(folder, raw, flags=tuple(flags), msg_time=internal_date)
        match = re.search(rb"APPENDUID \d+ (\d+)", bytes(response))
        if match is None:
            raise ServerError(f"APPEND to {folder!r} returned no APPENDUID: {response!r}")
        return int(match.group(1))

    def create_folder(self, name: str, *, user: str | None = None) -> None:
        with self.client(user) as imap:
            imap.create_folder(name)

    def delete_folder(self, name: str, *, user: str | None = None) -> None:
        with self.client(user) as imap:
            imap.delete_folder(name)

    def list_folders(self, *, user: str | None = None) -> list[str]:
        with self.client(user) as imap:
            return sorted(str(name) for _flags, _sep, name in imap.list_folders())

    def uidvalidity(self, folder: str, *, user: str | None = None) -> int:
        with self.client(user) as imap:
            status = imap.folder_status(folder, [b"UIDVALIDITY"])
        return int(status[b"UIDVALIDITY"])

    def uids(self, folder: str, *, user: str | None = None) -> list[int]:
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            return sorted(int(uid) for uid in imap.search(["ALL"]))

    def fetch_raw(self, folder: str, *, user: str | None = None) -> dict[int, bytes]:
        """Return {uid: raw bytes} for every message in ``folder``, without setting \\Seen."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            if not uids:
                return {}
            fetched = imap.fetch(uids, [b"BODY.PEEK[]"])
        return {int(uid): bytes(data[b"BODY[]"]) for uid, data in sorted(fetched.items())}

    def flags(self, folder: str, *, user: str | None = None) -> dict[int, tuple[bytes, ...]]:
        """Return {uid: flags} for every message in ``folder``."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            fetched = imap.get_flags(uids) if uids else {}
        return {int(uid): tuple(bytes(f) for f in got) for uid, got in sorted(fetched.items())}


def _live_group_members(pgid: int) -> list[int]:
    """PIDs in process group ``pgid`` that are not zombies (a zombie holds no sockets).

    Dovecot's helpers are reparented to PID 1 when the master exits, and PID 1 may take a
    second to reap them, so ``killpg(pgid, 0)`` alone would wait for the reaper.
    """
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # pid (comm) state ppid pgrp ...; comm may contain spaces, so split after ')'.
            fields = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def _kill_process_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child started with ``start_new_session=True`` and everything in its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=STOP_TIMEOUT_S)


# --------------------------------------------------------------------------- PostgreSQL


def find_postgres_bin_dir() -> Path:
    """Find initdb/pg_ctl: on PATH, else the newest Debian /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    versions = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    numbered = [p for p in versions if p.parent.name.isdigit()]
    if not numbered:
        raise ServerError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    return max(numbered, key=lambda p: int(p.parent.name))


_POSTGRES_CONF = """
# Added by tests/servers.py: private, fast, throwaway.
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{root}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""

_DBNAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresServer:
    """A throwaway PostgreSQL cluster with trust authentication for the ``postgres`` role."""

    def __init__(
        self,
        dbname: str = "inbox_agent_test",
        *,
        bin_dir: Path | None = None,
        os_user: str = "postgres",
    ) -> None:
        _check_dbname(dbname)
        self._bin_dir = bin_dir or find_postgres_bin_dir()
        self._dbname = dbname
        self._root = Path(tempfile.mkdtemp(prefix="inbox-agent-postgres-"))
        self._port = free_port()
        self._run_as: list[str] = []
        if _running_as_root():
            account = pwd.getpwnam(os_user)
            os.chown(self._root, account.pw_uid, account.pw_gid)
            self._run_as = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", os_user, "--"]
        self._initialised = False
        self._running = False
        self.last_start_seconds: float | None = None

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def dbname(self) -> str:
        return self._dbname

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's own database."""
        return self.url_for(self._dbname)

    @property
    def log_path(self) -> Path:
        return self._root / "postgres.log"

    @property
    def running(self) -> bool:
        return self._running

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self._port}/{dbname}"

    def start(self) -> None:
        """initdb on first start, then ``pg_ctl start -w`` and create the database."""
        if self._running:
            raise ServerError("PostgreSQL is already running")
        started = time.monotonic()
        if not self._initialised:
            self._initdb()
        self._running = True  # from here on, stop() must clean up even a half-started server
        try:
            self._pg_ctl("start", "-l", str(self.log_path))
            self._ensure_database(self._dbname)
        except BaseException:
            self.stop()
            raise
        self.last_start_seconds = time.monotonic() - started

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; if that fails, ``-m immediate``, then SIGKILL."""
        if not self._running:
            return
        self._running = False
        try:
            self._pg_ctl("stop", "-m", "fast")
        except (ServerError, subprocess.TimeoutExpired):
            try:
                self._pg_ctl("stop", "-m", "immediate")
            except (ServerError, subprocess.TimeoutExpired):
                self._kill_postmaster()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete the cluster."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def create_database(self, dbname: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        _check_dbname(dbname)
        with self._admin_connection() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.url_for(dbname)

    def drop_database(self, dbname: str) -> None:
        """Drop a database, disconnecting anyone still using it."""
        _check_dbname(dbname)
        with self._admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self._port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=int(CLIENT_TIMEOUT_S),
        )

    def _ensure_database(self, dbname: str) -> None:
        with self._admin_connection() as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            exists = found.fetchone() is not None
        if not exists:
            self.create_database(dbname)

    def _initdb(self) -> None:
        data = self._root / "data"
        options = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]
        self._run("initdb", ["-D", str(data), *options])
        settings = _POSTGRES_CONF.format(host=self.host, port=self._port, root=self._root)
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(settings)
        self._initialised = True

    def _pg_ctl(self, action: str, *options: str) -> None:
        wait = ["-w", "-t", str(int(START_TIMEOUT_S))]
        self._run("pg_ctl", [action, "-D", str(self._root / "data"), *wait, *options])

    def _run(self, program: str, args: list[str]) -> None:
        command = [*self._run_as, str(self._bin_dir / program), *args]
        done = subprocess.run(
            command,
            cwd=self._root,  # the postgres user must be able to stand in its cwd
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=START_TIMEOUT_S + 5,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode("utf-8", errors="replace")
            raise ServerError(
                f"{' '.join([program, *args])} failed with status {done.returncode}:\n{output}\n"
                f"{read_log_tail(self.log_path)}"
            )

    def _kill_postmaster(self) -> None:
        pid_file = self._root / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text(encoding="ascii").splitlines()[0])
            os.kill(pid, signal.SIGKILL)


def _check_dbname(dbname: str) -> None:
    if not _DBNAME.fullmatch(dbname):
        raise ValueError(f"database name must match {_DBNAME.pattern}: {dbname!r}")


# --------------------------------------------------------------------------- SMTP


SmtpStage = Literal["MAIL", "RCPT", "DATA"]


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the sink accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


class _SinkHandler:
    """aiosmtpd handler: answers scripted failures, else accepts and records."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        failure = self._sink._take_failure("MAIL", server)
        if failure is not None:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        failure = self._sink._take_failure("RCPT", server)
        if failure is not None:
            return failure
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self._sink._take_failure("DATA", server)
        if failure is not None:
            return failure
        raw = envelope.original_content
        if raw is None:
            raw = b""
        self._sink._record(
            ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(raw))
        )
        return "250 OK: queued"


class _XOAuth2SinkHandler(_SinkHandler):
    """Also speaks SASL XOAUTH2: ``validate(user, token)`` decides; mail needs a login."""

    def __init__(self, sink: SmtpSink, validate: Callable[[str, str], bool]) -> None:
        super().__init__(sink)
        self._validate = validate

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # aiosmtpd's auth_required warns without TLS; the same rule, kept here.
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 2:
            try:
                blob: object = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
        if blob is MISSING or not isinstance(blob, bytes):
            return AuthResult(success=False, handled=True)
        parts = blob.decode("utf-8", "replace").split("\x01")
        fields = dict(part.split("=", 1) for part in parts if "=" in part)
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        token = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else ""
        if user and token and self._validate(user, token):
            self._sink._login(user)
            return AuthResult(success=True, auth_data=user)
        # XOAUTH2 reports the error in a 334 challenge; the client answers with an empty line.
        await server.challenge_auth(b'{"status":"401","schemes":"bearer"}')
        return AuthResult(success=False, handled=False)  # aiosmtpd then answers 535


class SmtpSink:
    """An aiosmtpd ``Controller`` on 127.0.0.1 that keeps every message it accepts.

    ``fail_next`` scripts refusals for fault tests. A 421 reply also closes the connection,
    as a real server does.
    """

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        xoauth2: Callable[[str, str], bool] | None = None,
    ) -> None:
        # xoauth2: offer only AUTH XOAUTH2 (over plain TCP too), require it before MAIL, and
        # accept a (user, token) when this returns True; ``logins`` lists who logged in.
        self._xoauth2 = xoauth2
        self.logins: list[str] = []
        self._starttls = starttls  # offer STARTTLS with this server context
        self._implicit_tls = implicit_tls  # or speak TLS from the first byte (SMTPS)
        self._port = free_port()
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._failures: dict[str, deque[str]] = {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}
        self._controller: Controller | None = None
        self.last_start_seconds: float | None = None

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A snapshot of the messages accepted so far, oldest first."""
        with self._lock:
            return list(self._messages)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Start the server thread (a fresh event loop each time) on the same port."""
        if self._controller is not None:
            raise ServerError("the SMTP sink is already running")
        started = time.monotonic()
        handler: _SinkHandler = _SinkHandler(self)
        auth: dict[str, object] = {}
        if self._xoauth2 is not None:
            handler = _XOAuth2SinkHandler(self, self._xoauth2)
            auth = {
                "auth_require_tls": False,
                "auth_exclude_mechanism": ["PLAIN", "LOGIN"],
            }
        controller = Controller(
            handler,
            hostname=LOCALHOST,
            port=self._port,
            ready_timeout=START_TIMEOUT_S,
            enable_SMTPUTF8=True,
            tls_context=self._starttls,
            ssl_context=self._implicit_tls,
            **auth,  # type: ignore[arg-type]
        )
        try:
            controller.start()
        except BaseException:
            # A failed start (port taken, timeout) leaves the thread's event loop open.
            with contextlib.suppress(Exception):
                controller.stop(no_assert=True)
            controller.loop.close()
            raise
        self._controller = controller
        self.last_start_seconds = time.monotonic() - started

    def stop(self) -> None:
        """Stop accepting connections and end the server thread; messages are kept."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, code: int, text: str, count: int = 1, stage: SmtpStage = "DATA") -> None:
        """Answer the next ``count`` commands of ``stage`` with ``code text`` instead of 250."""
        if not 400 <= code <= 599:
            raise ValueError(f"a failure code is 4xx or 5xx, not {code}")
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        with self._lock:
            self._failures[stage].extend([f"{code} {text}"] * count)

    def clear(self) -> None:
        """Forget received messages and any scripted failures not yet used."""
        with self._lock:
            self._messages.clear()
            for queue in self._failures.values():
                queue.clear()

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages have arrived; return them all."""
        wait_until(
            lambda: len(self.messages) >= count,
            timeout=timeout,
            what=f"{count} message(s) at the SMTP sink",
        )
        return self.messages

    def _take_failure(self, stage: SmtpStage, server: SMTP) -> str | None:
        with self._lock:
            queue = self._failures[stage]
            reply = queue.popleft() if queue else None
        if reply is not None and reply.startswith("421") and server.transport is not None:
            # The reply is written before this callback runs; close() flushes it first.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return reply

    def _login(self, user: str) -> None:
        with self._lock:
            self.logins.append(user)

    def _record(self, message: ReceivedMessage) -> None:
        with self._lock:
            self._messages.append(message)
