"""Mistakes only the operator can fix exit 2, name the key or option and say what to do;
never a traceback. Real files throughout; the read-only register is opened by a process
that cannot write it (an unprivileged user when the tests run as root)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.builders import demo_office

from inbox_agent.cli import main


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo profile whose relative paths point into tmp_path."""
    return demo_office(tmp_path)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return code, text


def test_a_byte_order_mark_is_named_with_the_fix(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.write_bytes(b"\xef\xbb\xbf" + demo.read_bytes())
    code, text = _cli(capsys, "status", "--config", str(demo))
    assert code == 2
    assert f"{demo}: the file starts with a byte-order mark (BOM)" in text
    assert "without BOM" in text


def test_a_legacy_code_page_is_named_by_line(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo.read_text(encoding="utf-8")
    text = text.replace('name = "Office of', 'name = "\u00a3 Office of', 1)
    demo.write_bytes(text.encode("cp1252"))
    line = text.splitlines().index(next(x for x in text.splitlines() if "\u00a3" in x)) + 1
    code, out = _cli(capsys, "register", "list", "--config", str(demo))
    assert code == 2
    assert f"{demo}: line {line}: not UTF-8 (byte 0xa3); save the file as UTF-8" in out


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("nosuchdb://host/x", "Can't load plugin: sqlalchemy.dialects:nosuchdb"),
        ("mysql://inbox_agent@localhost/inbox_agent", "No module named 'MySQLdb'"),
        ("sqlite:////proc/inbox-agent/register.sqlite3", "cannot create the SQLite register"),
    ],
)
def test_a_bad_database_url_names_the_key_and_an_example(
    demo: Path, capsys: pytest.CaptureFixture[str], url: str, fragment: str
) -> None:
    text = demo.read_text(encoding="utf-8")
    demo.write_text(text.replace("sqlite:///../demo/register.sqlite3", url), encoding="utf-8")
    code, out = _cli(capsys, "run", "--once", "--config", str(demo))
    assert code == 2
    assert "database.url:" in out and fragment in out


def test_an_unwritable_output_is_the_operators(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(demo), "run", "--once"]) == 0
    capsys.readouterr()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n", encoding="utf-8")
    target = blocker / "register.csv"
    code, out = _cli(capsys, "register", "export", "--output", str(target), "--config", str(demo))
    assert code == 2
    assert f"--output {target}: cannot write: Not a directory" in out
    code, out = _cli(capsys, "publish", "--output", str(blocker), "--config", str(demo))
    assert code == 2 and f"--output {blocker}" in out and "cannot write" in out


def _make_read_only(path: Path) -> None:
    """No process of ours can write ``path``: mode 0444, and for root (whom modes do not
    stop) the immutable attribute, as an overzealous backup or hardening tool might set."""
    path.chmod(0o444)
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, f"chattr +i is needed as root: {done.stderr}"


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o600)


def test_a_read_only_sqlite_register_exits_2_and_status_still_reads_it(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(demo), "run", "--once"]) == 0
    capsys.readouterr()
    register = demo.parent.parent / "demo" / "register.sqlite3"
    _make_read_only(register)  # the file cannot be written; its directory can
    try:
        code, out = _cli(capsys, "--config", str(demo), "run", "--once")
        assert code == 2
        assert "database.url: the SQLite register cannot be written" in out
        assert "readonly database" in out and "ReadWritePaths=" in out
        code, out = _cli(capsys, "--config", str(demo), "status", "--json")
        assert code == 0 and '"ok": true' in out, out
        code, out = _cli(capsys, "--config", str(demo), "check-config")
        assert code == 2 and f"database: FAILED: database.url: {register} is not writable" in out
    finally:
        _make_writable(register)
