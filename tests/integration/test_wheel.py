"""What an office installs: the built wheel, in a fresh virtualenv, driven by its own script.

Every other test imports the checkout (an editable install), which would hide a wheel that
lacks its templates, profiles or static files. Here ``scripts/install-wheel.sh`` builds the
wheel and installs it (not editable, with ``constraints.txt``) into a fresh venv; the tests
read the wheel's file list and run the INSTALLED ``inbox-agent`` from a directory outside the
checkout against a real Dovecot and a real SMTP server, then start its web UI.
``scripts/test.sh`` builds it once and names it in ``$INBOX_AGENT_INSTALLED``; without that
the first test here builds it (about a minute with pip's cache warm).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import DovecotServer, SmtpSink, free_port, wait_until
from sqlalchemy import func, select
from support.builders import HUMAN, MACHINE, PARO, dovecot_profile, message, write_profile

from inbox_agent.register.db import Register
from inbox_agent.register.models import Case, Disposition, StoredMessage

ROOT = Path(__file__).resolve().parents[2]
INSTALLED_ENV = "INBOX_AGENT_INSTALLED"
pytestmark = pytest.mark.integration

# top-level folder of the checkout -> where it must sit inside the wheel
BUNDLED = {
    "templates": "inbox_agent/templates",
    "config": "inbox_agent/profiles",
    "systemd": "inbox_agent/systemd",
    "demo/maildir": "inbox_agent/demo/maildir",
}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def command(self) -> str:
        return str(self.venv / "bin" / "inbox-agent")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    given = os.environ.get(INSTALLED_ENV)
    dest = Path(given) if given else tmp_path_factory.mktemp("wheel")
    if not given:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "install-wheel.sh"), str(dest)],
            env={**os.environ, "PYTHON": sys.executable},
            check=True,
            timeout=900,
            stdout=subprocess.DEVNULL,
        )
    wheels = sorted((dest / "dist").glob("inbox_agent-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {dest / 'dist'}, found {wheels}"
    return Installed(wheels[0], dest / "venv")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of an operator's shell: nothing pointing into the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "INBOX_AGENT_CONFIG", "VIRTUAL_ENV")
    }
    return {**env, **extra}


def _inbox_agent(
    installed: Installed, cwd: Path, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed.command, *args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _checkout_files(folder: str) -> set[str]:
    """The files under ``folder`` that belong in the wheel (no caches, no Python shims)."""
    base = ROOT / folder
    return {
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"
    }


def test_the_wheel_carries_templates_profiles_units_demo_and_licence(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    for folder, inside in BUNDLED.items():
        expected = _checkout_files(folder)
        assert expected, f"nothing found under {folder}/"
        missing = sorted(f for f in expected if f"{inside}/{f}" not in names)
        assert not missing, f"{folder}/ files missing from the wheel: {missing}"
    assert "inbox_agent/templates/web/static/web.css" in names
    assert "inbox_agent/systemd/inbox-agent-retention.timer" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE not shipped"
    assert not [n for n in names if "register.sqlite3" in n or "/outbox/" in n], "demo state"
    with zipfile.ZipFile(installed.wheel) as wheel:
        for unit in ("inbox-agent.service", "inbox-agent-web.service"):
            text = wheel.read(f"inbox_agent/systemd/{unit}").decode()
            assert "\nRestartPreventExitStatus=2\n" in text, f"{unit}: exit 2 is not retried"
        timer = wheel.read("inbox_agent/systemd/inbox-agent-retention.timer").decode()
        service = wheel.read("inbox_agent/systemd/inbox-agent-retention.service").decode()
        assert "OnCalendar=" in timer and "retention --apply" in service
    site = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import inbox_agent; print(inbox_agent.__file__)",
        ],
        cwd=installed.venv,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert site.startswith(str(installed.venv)), f"not the installed package: {site}"


def test_the_wheel_builds_without_setuptools_warnings(installed: Installed) -> None:
    """A folder setuptools has to guess about (data, not code) is a warning in every build."""
    log = installed.wheel.parent.parent / "build.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    assert any("inbox_agent/templates/web/static/web.css" in line for line in lines), (
        f"{log} is not a verbose build log"
    )
    warned = [line.strip() for line in lines if re.search(r"setuptools.*Warning\b", line)]
    assert not warned, f"the wheel build warns ({len(warned)} lines), first: {warned[:3]}"


def test_the_installed_version_is_the_package_version(installed: Installed, tmp_path: Path) -> None:
    from inbox_agent import __version__

    result = _inbox_agent(installed, tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"inbox-agent {__version__}"
    assert f"inbox_agent-{__version__}-" in installed.wheel.name


def test_classify_works_with_no_configuration(installed: Installed, tmp_path: Path) -> None:
    eml = tmp_path / "foi.eml"
    eml.write_bytes(message(*HUMAN[1]))
    result = _inbox_agent(installed, tmp_path, "classify", "--json", str(eml))
    assert result.returncode == 0, result.stderr
    assert '"category": "foi_request"' in result.stdout


def _write_profile(tmp_path: Path, dovecot: DovecotServer, sink: SmtpSink, web_port: int) -> Path:
    data = dovecot_profile(
        f"sqlite:///{tmp_path / 'register.sqlite3'}",
        (dovecot.host, dovecot.port, dovecot.user),
        (sink.host, sink.port),
        password_env="TEST_IMAP_PASSWORD",
    )
    data["web"] = {
        "listen": f"127.0.0.1:{web_port}",
        "secret_key_env": "TEST_WEB_KEY",
        "secure_cookies": False,
    }
    return write_profile(tmp_path / "office.toml", data)


@pytest.fixture
def office(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> Iterator[tuple[Path, dict[str, str]]]:
    config = _write_profile(tmp_path, dovecot, smtp_sink, free_port())
    env = _clean_env(TEST_IMAP_PASSWORD=dovecot.password, TEST_WEB_KEY="k" * 48)
    yield config, env


def test_the_installed_command_runs_a_real_pass(
    installed: Installed,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    office: tuple[Path, dict[str, str]],
) -> None:
    config, env = office
    dovecot.create_folder("Processed")
    for sender, subject, body in HUMAN:
        dovecot.append("INBOX", message(sender, subject, body))
    sender, subject, body, headers = MACHINE[0]
    dovecot.append("INBOX", message(sender, subject, body, headers=headers))
    work = tmp_path / "elsewhere"  # not the checkout: nothing importable from the cwd
    work.mkdir()
    result = subprocess.run(
        [installed.command, "--config", str(config), "run", "--once"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    from inbox_agent import __version__

    assert f"event=starting version={__version__} " in result.stderr
    reg = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}", migrate=False)
    try:
        with reg.transaction() as s:
            cases = int(s.scalar(select(func.count()).select_from(Case)) or 0)
            dispositions = list(s.scalars(select(StoredMessage.disposition)))
    finally:
        reg.dispose()
    assert cases == len(HUMAN), result.stderr
    assert Disposition.QUARANTINED not in dispositions, result.stderr
    recipients = [r for m in smtp_sink.messages for r in m.rcpt_tos]
    for human in HUMAN:
        address = human[0].split("<")[1].rstrip(">")
        assert recipients.count(address) == 1, f"one acknowledgement to {address}"
    assert recipients.count(PARO) == 1, "the deposit question is forwarded to the PARO"
    assert "away@example.com" not in recipients, "machine mail is never answered"
    assert dovecot.uids("INBOX") == [], "every message moved after it was stored"
    assert len(dovecot.uids("Processed")) == len(HUMAN) + 1


def test_the_installed_web_ui_serves_its_login_page(
    installed: Installed, tmp_path: Path, office: tuple[Path, dict[str, str]]
) -> None:
    config, env = office
    listen = tomllib.loads(config.read_text(encoding="utf-8"))["web"]["listen"]
    base = f"http://{listen}"
    proc = subprocess.Popen(
        [installed.command, "--config", str(config), "web"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pages: dict[str, tuple[int, str]] = {}

        def fetched() -> bool:
            if proc.poll() is not None:
                return True
            try:
                for path in ("/login", "/static/web.css"):
                    with urllib.request.urlopen(base + path, timeout=5) as response:
                        pages[path] = (response.status, response.read().decode("utf-8"))
            except (urllib.error.URLError, ConnectionError):
                return False
            return True

        wait_until(fetched, timeout=120, what="the installed web UI to answer")
        assert proc.poll() is None, proc.communicate(timeout=10)[1]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert pages["/login"][0] == 200
    assert "<form" in pages["/login"][1] and 'name="password"' in pages["/login"][1]
    assert pages["/static/web.css"][0] == 200 and pages["/static/web.css"][1].strip()
    assert proc.returncode == 0, err
