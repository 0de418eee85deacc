"""Sign-in under attack: a flood of guesses against ``inbox-agent web``, and a staff page meanwhile.

Runs the real command (``inbox-agent web``, uvicorn, argon2) in a child process on 127.0.0.1
with a temporary SQLite register, then, from this process:

1. times a signed-in staff page alone (the baseline);
2. sends ``--guesses`` wrong passwords at one account, ``--parallel`` at a time, and
3. at the same time sends ``--guesses`` guesses at different accounts (password spraying),
   while a member of staff keeps loading the queue.

It prints how many guesses were checked (argon2 ran) and refused, how fast a refusal came,
the staff page's latency (median, 95th percentile, worst) during the flood against the
baseline, and the child's peak memory (VmHWM). It asserts nothing about speed; it exits 1 only
if the limits did not hold (more password checks than the sign-in limits allow).

    .venv/bin/python benchmarks/web_login.py
    .venv/bin/python benchmarks/web_login.py --guesses 1000 --parallel 50
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent
from inbox_agent.web import accounts

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF = ("sam", "sam-password-12345")
KEY = "benchmark-session-key-" + "z" * 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, port: int) -> Path:
    text = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    text = text.replace('"127.0.0.1:8080"', f'"127.0.0.1:{port}"')
    text = text.replace(
        'url = "sqlite:///../demo/register.sqlite3"', 'url = "sqlite:///register.sqlite3"'
    )
    text = text.replace("secure_cookies = true", "secure_cookies = false")
    text = text.replace('path = "../demo/maildir"', f'path = "{ROOT / "demo" / "maildir"}"')
    config = tmp / "inbox-agent.toml"
    config.write_text(text, encoding="utf-8")
    return config


def _token(client: httpx.Client) -> str:
    found = CSRF.search(client.get("/login").text)
    if found is None:
        raise RuntimeError("no CSRF token on the login page")
    return found[1]


def _flood(base: str, names: list[str], parallel: int) -> list[tuple[int, float]]:
    with httpx.Client(base_url=base, timeout=120) as first:
        token, cookies = _token(first), dict(first.cookies)
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=0)
    with httpx.Client(base_url=base, cookies=cookies, timeout=120, limits=limits) as client:

        def guess(name: str) -> tuple[int, float]:
            started = time.monotonic()
            form = {"username": name, "password": "wrong-guess-123", "csrf_token": token}
            return client.post("/login", data=form).status_code, time.monotonic() - started

        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            return list(pool.map(guess, names))


def _page_times(client: httpx.Client, stop: threading.Event, limit: int) -> list[float]:
    times: list[float] = []
    while not stop.is_set() and len(times) < limit:
        started = time.monotonic()
        if client.get("/").status_code != 200:
            raise RuntimeError("the staff page failed during the flood")
        times.append(time.monotonic() - started)
    return times


def _describe(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"worst {ordered[-1] * 1000:.0f} ms ({len(ordered)} loads)"
    )


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _wait_up(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError("inbox-agent web exited before it answered")
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("inbox-agent web did not answer within 60 s")


def run(guesses: int, parallel: int) -> int:
    with tempfile.TemporaryDirectory(prefix="inbox-agent-login-") as name:
        tmp = Path(name)
        port = _free_port()
        config = _config(tmp, port)
        register = Register(f"sqlite:///{tmp / 'register.sqlite3'}")
        with register.transaction() as session:
            accounts.add_user(
                session,
                STAFF[0],
                STAFF[1],
                role="admin",
                display_name="Sam",
                actor="benchmark",
                now=dt.datetime.now(dt.UTC),
            )
        env = {**os.environ, "INBOX_AGENT_WEB_KEY": KEY, "INBOX_AGENT_CONFIG": str(config)}
        command = [sys.executable, "-m", "inbox_agent.cli", "web"]
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(base, child)
            return _measure(base, register, child.pid, guesses, parallel)
        finally:
            child.terminate()
            child.wait(timeout=30)
            register.dispose()


def _measure(base: str, register: Register, pid: int, guesses: int, parallel: int) -> int:
    with httpx.Client(base_url=base, timeout=120) as staff:
        token = _token(staff)
        staff.post("/login", data={"username": STAFF[0], "password": STAFF[1], "csrf_token": token})
        baseline = _page_times(staff, threading.Event(), 30)
        stop = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            pages = pool.submit(_page_times, staff, stop, 10_000)
            one = pool.submit(_flood, base, [STAFF[0]] * guesses, parallel)
            spray = pool.submit(_flood, base, [f"user{n}" for n in range(guesses)], parallel)
            results = {"one account": one.result(), "many accounts": spray.result()}
            stop.set()
            during = pages.result()
    with register.transaction() as session:
        checked = session.query(AuditEvent).filter(AuditEvent.action == "login_failed").count()
    print(
        f"guesses: {guesses} at one account and {guesses} at different accounts, "
        f"{parallel} connections each, from one address"
    )
    for label, found in results.items():
        statuses = [status for status, _ in found]
        refused = [seconds for status, seconds in found if status == 429]
        print(
            f"  {label}: {statuses.count(401)} checked, {statuses.count(429)} refused "
            f"(refusal {_describe(refused) if refused else 'none'})"
        )
    print(f"password checks (argon2) in all: {checked}")
    print(f"staff page alone:      {_describe(baseline)}")
    print(f"staff page in a flood: {_describe(during)}")
    print(f"server peak memory:    {_peak_kib(pid) / 1024:.0f} MiB")
    allowed = 5 + 30  # per account and address, per address across accounts
    return 0 if checked <= allowed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guesses", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=30)
    args = parser.parse_args()
    return run(args.guesses, args.parallel)


if __name__ == "__main__":
    sys.exit(main())
