"""``check-config --offline``: the values, the secrets and every template, with no network.

This is what the systemd unit runs before every start, so each refusal names its key.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from inbox_agent.cli import main
from inbox_agent.preflight import placeholder_values, render_every_template, value_problems
from inbox_agent.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
TODAY = dt.date(2026, 12, 3)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name in ("imap-password", "smtp-password"):
        (creds / name).write_text("secret\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    return creds


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """The demo profile as an office would make it its own: no demo mark, real addresses."""
    text = (CONFIG_DIR / "example.toml").read_text(encoding="utf-8")
    text = text.replace("demo = true\n", "").replace("example.org", "gov.uk")
    text = text.replace("../demo/", f"{tmp_path}/demo/")
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_a_real_profile_passes_offline_without_touching_the_register(
    office: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(capsys, "check-config", "--offline", "--config", str(office))
    assert code == 0, out
    assert "values: ok" in out and re.search(r"templates: ok: \d{2,} emails rendered", out)
    assert "offline: database, mail source and SMTP not contacted" in out
    assert not (tmp_path / "demo").exists()  # neither the register nor the outbox made


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize(
    ("profile", "keys"),
    [
        ("bedfordshire", ["paro.email", "election.poll_date: 2024-05-02 is in the past"]),
        ("norfolk", ["office.inbox_address", "imap.username", "smtp.from_address"]),
    ],
)
def test_the_shipped_office_profiles_are_refused_until_confirmed(
    capsys: pytest.CaptureFixture[str], profile: str, keys: list[str]
) -> None:
    code, out = _check(capsys, "--config", str(CONFIG_DIR / f"{profile}.toml"), "check-config")
    assert code == 2
    assert "values: FAILED" in out and "(TO BE CONFIRMED)" in out
    for key in keys:
        assert key in out
    assert "database:" not in out.split("values:")[0]


def test_placeholders_and_empty_values_are_named_by_key(office: Path) -> None:
    text = office.read_text(encoding="utf-8")
    text = text.replace('spoc_role = "Head of Governance and Transparency"', 'spoc_role = " "')
    text = text.replace(
        'email = "elections@demoshire-council.gov.uk"', 'email = "paro@council.example.com"'
    )
    text = text.replace(
        'website_url = "https://www.opcc.demoshire.gov.uk"',
        'website_url = "https://www.opcc.example/election"',
    )
    text = text.replace('name = "Alex Example"', 'name = "PARO name TO BE CONFIRMED"')
    office.write_text(text, encoding="utf-8")
    found = dict(placeholder_values(load_settings(office)))
    assert found == {
        "office.spoc_role": "empty; a value is required",
        "office.website_url": (
            "'https://www.opcc.example/election' uses the reserved example domain www.opcc.example"
        ),
        "paro.name": (
            "'PARO name TO BE CONFIRMED' is a placeholder (TO BE CONFIRMED); put the real value"
        ),
        "paro.email": (
            "'paro@council.example.com' uses the reserved example domain council.example.com"
        ),
    }


def test_a_past_poll_date_is_refused_unless_the_office_says_so(
    office: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(office)
    after = settings.election.poll_date + dt.timedelta(days=1)
    assert value_problems(settings, settings.election.poll_date, allow_past_poll=False) == []
    (problem,) = value_problems(settings, after, allow_past_poll=False)
    assert problem.startswith("election.poll_date: 2027-05-06 is in the past")
    assert value_problems(settings, after, allow_past_poll=True) == []
    text = office.read_text(encoding="utf-8")
    office.write_text(
        text.replace("allow_past_poll_date = false", "allow_past_poll_date = true"),
        encoding="utf-8",
    )
    assert value_problems(load_settings(office), after, allow_past_poll=False) == []


def test_a_broken_override_template_is_found_in_every_phase(
    office: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = tmp_path / "templates" / "acknowledgement"
    overrides.mkdir(parents=True)
    (overrides / "foi_request.txt.j2").write_text(
        "Dear {{ requester_name }}, we answer by {{ due_date | long_date }} "
        "{{ office.postcode }}.\n",
        encoding="utf-8",
    )
    text = office.read_text(encoding="utf-8")
    office.write_text(
        text.replace("[policy]\n", f'[policy]\ntemplate_dir = "{tmp_path / "templates"}"\n', 1),
        encoding="utf-8",
    )
    count, failures = render_every_template(load_settings(office))
    assert len(failures) == 4  # the FOI acknowledgement, in each phase
    assert all(f.startswith("acknowledgement foi_request, ") for f in failures)
    assert "template acknowledgement/foi_request.txt.j2 failed to render" in failures[0]
    assert "postcode" in failures[0]
    code, out = _check(capsys, "check-config", "--offline", "--config", str(office))
    assert code == 2 and f"templates: FAILED: 4 of {count} failed" in out


def test_the_demo_profile_is_accepted_as_a_demo(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(CONFIG_DIR / "example.toml")
    assert settings.office.demo and len(list(placeholder_values(settings))) > 0
    code, out = _check(
        capsys, "check-config", "--offline", "--config", str(CONFIG_DIR / "example.toml")
    )
    assert code == 0, out
    assert "placeholder value(s) accepted" in out


def test_config_and_mailbox_are_accepted_after_every_command(
    office: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "demo" / "maildir", tmp_path / "demo" / "maildir")
    assert main(["run", "--once", "--config", str(office), "--mailbox", "default"]) == 0
    capsys.readouterr()
    assert main(["register", "list", "--config", str(office)]) == 0
    assert "DEMO-" in capsys.readouterr().out
    assert main(["--config", "/nonexistent.toml", "register", "list", "--config", str(office)]) == 0
    capsys.readouterr()
    assert main(["roster", "list", "--mailbox", "default", "--config", str(office)]) == 0
