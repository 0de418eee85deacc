"""The shipped profiles validate and carry their protocols' facts; bad files fail by name.

Every ``config/*.toml`` is loaded through ``load_settings`` exactly as the daemon loads it,
with the systemd credentials the office profiles name supplied from ``tmp_path``. The
second half feeds deliberately broken files and checks that the ConfigError names both
the file and the offending key, because that message is all the operator sees.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from inbox_agent.errors import ConfigError
from inbox_agent.settings import Settings, load_settings

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEMO_DIR = CONFIG_DIR.parent / "demo"
PROFILES = sorted(CONFIG_DIR.glob("*.toml"))
OFFICE_PROFILES = [p for p in PROFILES if p.stem != "example"]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A $CREDENTIALS_DIRECTORY holding the two credentials the office profiles name."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "imap-password").write_text("imap-secret\n", encoding="utf-8")
    (creds / "smtp-password").write_text("smtp-secret\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    return creds


def test_every_expected_profile_is_shipped() -> None:
    assert {p.stem for p in PROFILES} >= {
        "example",
        "bedfordshire",
        "cambridgeshire-peterborough",
        "nottinghamshire",
        "norfolk",
    }


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_profile_validates(path: Path) -> None:
    settings = load_settings(path)
    assert isinstance(settings, Settings)
    assert settings.source == path


# --- the embedded demo ------------------------------------------------------------------


def test_example_is_the_local_demo() -> None:
    settings = load_settings(CONFIG_DIR / "example.toml")
    assert settings.imap is None
    assert settings.maildir is not None
    assert settings.maildir.path.resolve() == DEMO_DIR / "maildir"
    assert settings.smtp is not None
    assert settings.smtp.deliver == "maildir"
    assert settings.smtp.maildir_path is not None
    assert settings.smtp.maildir_path.resolve() == DEMO_DIR / "outbox"
    assert settings.smtp_password is None
    url = settings.database.url
    assert url.startswith("sqlite:////")
    assert Path(url.removeprefix("sqlite:///")).resolve() == DEMO_DIR / "register.sqlite3"


def test_example_election_follows_the_statutory_pattern() -> None:
    election = load_settings(CONFIG_DIR / "example.toml").election
    assert election.poll_date == dt.date(2027, 5, 6)
    assert election.poll_date.strftime("%A") == "Thursday"
    # 25, 19 and 18 working days before the poll, as in the Nottinghamshire 2024 table;
    # 2027 bank holidays: 26 and 29 March (Easter), 3 May.
    assert election.pre_election_period_start == dt.date(2027, 3, 31)
    assert election.nominations_close == dt.date(2027, 4, 8)
    assert election.persons_nominated_published == dt.date(2027, 4, 9)


def _uncommented_imap_example(*, keep_demo: bool = False) -> str:
    """example.toml with [maildir] removed and the documented [imap] block switched on
    (and, as its comment says to, ``office.demo`` removed)."""
    lines = (CONFIG_DIR / "example.toml").read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    in_imap = skip_maildir = False
    for line in lines:
        if line == "demo = true" and not keep_demo:
            continue
        if line == "[maildir]":
            skip_maildir = True
            continue
        if skip_maildir:
            skip_maildir = not line.startswith("# ---")
            if skip_maildir:
                continue
        if line == "# [imap]":
            in_imap = True
        elif in_imap and line.startswith("# ---"):
            in_imap = False
        out.append(re.sub(r"^# ?", "", line) if in_imap else line)
    return "\n".join(out) + "\n"


def test_example_documented_imap_block_validates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "example-imap.toml"
    path.write_text(_uncommented_imap_example(), encoding="utf-8")
    monkeypatch.setenv("INBOX_AGENT_IMAP_PASSWORD", "demo-secret")
    settings = load_settings(path)
    assert settings.maildir is None
    assert settings.imap is not None
    assert (settings.imap.port, settings.imap.security) == (993, "ssl")
    assert settings.imap.processed_folder == ""
    assert settings.imap_password is not None
    assert settings.imap_password.get_secret_value() == "demo-secret"


def test_a_demo_profile_reading_a_real_mailbox_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "example-imap.toml"
    path.write_text(_uncommented_imap_example(keep_demo=True), encoding="utf-8")
    monkeypatch.setenv("INBOX_AGENT_IMAP_PASSWORD", "demo-secret")
    with pytest.raises(ConfigError, match=r"office\.demo = true"):
        load_settings(path)


# --- the office profiles ----------------------------------------------------------------

PROTOCOL_FACTS: dict[str, dict[str, Any]] = {
    "bedfordshire": {
        "inbox_address": "BedsPCCelectionsInbox@beds.police.uk",
        "spoc_role": "Head of Governance and Transparency",
        "reference_prefix": "BEDS",
        "paro_name": "Robin Porter",
        "paro_email": None,
        "dates": ("2024-05-02", "2024-03-26", "2024-04-05", "2024-04-08"),
    },
    "cambridgeshire-peterborough": {
        "inbox_address": "cambs-pcc@cambs.police.uk",
        "spoc_role": "Chief Executive",
        "reference_prefix": "CAMBS",
        "paro_name": "John Hill",
        "paro_email": None,
        "website_url": "https://www.cambridgeshire-pcc.gov.uk",
        "dates": ("2024-05-02", "2024-03-26", "2024-04-05", "2024-04-08"),
    },
    "nottinghamshire": {
        "inbox_address": "ExecutiveSupport@Notts.police.uk",
        "spoc_role": "Chief Executive & Monitoring Officer",
        "reference_prefix": "NOTTS",
        "paro_name": "Katherine Marriott",
        "paro_email": None,
        "dates": ("2024-05-02", "2024-03-26", "2024-04-05", "2024-04-08"),
    },
    "norfolk": {
        "inbox_address": None,
        "spoc_role": "Chief Executive",
        "reference_prefix": "NORF",
        "paro_name": "Trevor Holden",
        "paro_email": "mdtobdcandsnc@s-norfolk.gov.uk",
        "website_url": "https://www.norfolk-pcc.gov.uk",
        "dates": ("2021-05-06", "2021-03-29", "2021-04-08", "2021-04-09"),
    },
}


def _is_placeholder(address: str) -> bool:
    return address.endswith("@example.org") and "to-be-confirmed" in address


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("name", sorted(PROTOCOL_FACTS))
def test_profile_matches_its_protocol(name: str) -> None:
    facts = PROTOCOL_FACTS[name]
    settings = load_settings(CONFIG_DIR / f"{name}.toml")
    office, paro, election = settings.office, settings.paro, settings.election

    if facts["inbox_address"] is None:
        assert _is_placeholder(office.inbox_address)
    else:
        assert office.inbox_address.casefold() == facts["inbox_address"].casefold()
    assert office.spoc_role == facts["spoc_role"]
    assert office.reference_prefix == facts["reference_prefix"]
    if "website_url" in facts:
        assert office.website_url == facts["website_url"]
    assert paro.name == facts["paro_name"]
    if facts["paro_email"] is None:
        assert _is_placeholder(paro.email)
    else:
        assert paro.email == facts["paro_email"]

    poll, pre_election, nominations, persons = map(dt.date.fromisoformat, facts["dates"])
    assert election.poll_date == poll
    assert election.pre_election_period_start == pre_election
    assert election.nominations_close == nominations
    assert election.persons_nominated_published == persons


@pytest.mark.parametrize("path", OFFICE_PROFILES, ids=lambda p: p.stem)
def test_office_profile_uses_microsoft_365_and_postgresql(credentials: Path, path: Path) -> None:
    settings = load_settings(path)
    imap, smtp = settings.imap, settings.smtp
    assert settings.maildir is None
    assert imap is not None
    assert (imap.host, imap.port, imap.security) == ("outlook.office365.com", 993, "ssl")
    assert imap.password_credential == "imap-password"
    assert imap.processed_folder == "Processed"
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.office365.com", 587, "starttls")
    assert smtp.deliver == "smtp"
    assert smtp.password_credential == "smtp-password"
    assert smtp.from_address.casefold() == settings.office.inbox_address.casefold()
    assert settings.database.url == "postgresql+psycopg://inbox_agent@localhost/inbox_agent"
    assert settings.imap_password is not None
    assert settings.imap_password.get_secret_value() == "imap-secret"
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "smtp-secret"


@pytest.mark.parametrize("path", OFFICE_PROFILES, ids=lambda p: p.stem)
def test_office_profile_marks_every_placeholder(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for address in re.findall(r"[\w.+-]+@example\.org", text):
        assert "to-be-confirmed" in address, f"{path.name}: unmarked placeholder {address}"
    if "@example.org" in text:
        assert "TO BE CONFIRMED" in text


@pytest.mark.usefixtures("credentials")
def test_nottinghamshire_key_dates() -> None:
    """The protocol's key-dates table (para 12.0), spelled out for the record."""
    settings = load_settings(CONFIG_DIR / "nottinghamshire.toml")
    assert settings.election.pre_election_period_start == dt.date(2024, 3, 26)
    assert settings.election.nominations_close == dt.date(2024, 4, 5)
    assert settings.election.persons_nominated_published == dt.date(2024, 4, 8)


# --- broken files -----------------------------------------------------------------------

VALID = """\
[office]
name = "Office of the Police and Crime Commissioner for Testshire"
inbox_address = "elections@opcc.testshire.example.org"
spoc_role = "Chief Executive"
website_url = "https://opcc.testshire.example.org"

[imap]
host = "imap.testshire.example.org"
username = "elections@opcc.testshire.example.org"
password_env = "TESTSHIRE_IMAP_PASSWORD"

[paro]
name = "Pat Example"
email = "paro@testshire.example.org"

[election]
poll_date = 2024-05-02
pre_election_period_start = 2024-03-26
nominations_close = 2024-04-05
persons_nominated_published = 2024-04-08
"""

BROKEN = {
    "imap-port-wrong-type": (
        'host = "imap.testshire.example.org"\n',
        'host = "imap.testshire.example.org"\nport = "imaps"\n',
        ["imap.port"],
    ),
    "unknown-key": (
        'spoc_role = "Chief Executive"\n',
        'spoc_role = "Chief Executive"\ncolour = "blue"\n',
        ["office.colour", "Extra inputs are not permitted"],
    ),
    "unknown-section": ("[paro]\n", '[polling]\nhustings = "refuse"\n\n[paro]\n', ["polling"]),
    "missing-office-name": (
        'name = "Office of the Police and Crime Commissioner for Testshire"\n',
        "",
        ["office.name", "Field required"],
    ),
    "imap-and-maildir": (
        "[paro]\n",
        '[maildir]\npath = "mail"\n\n[paro]\n',
        ["[imap] or [maildir]"],
    ),
    "election-dates-out-of-order": (
        "nominations_close = 2024-04-05\n",
        "nominations_close = 2024-03-01\n",
        ["election", "pre_election_period_start <= nominations_close"],
    ),
    "two-passwords": (
        'password_env = "TESTSHIRE_IMAP_PASSWORD"\n',
        'password_env = "TESTSHIRE_IMAP_PASSWORD"\npassword_file = "imap-password"\n',
        ["imap", "password_env", "password_file"],
    ),
    "welsh-office-without-its-welsh-name": (
        "[paro]\n",
        '[welsh]\nstandards = true\nspoc_role = "Prif Weithredwr"\n\n[paro]\n',
        ["welsh", "welsh.office_name", "required when welsh.standards = true"],
    ),
    "welsh-office-without-a-recipients-welsh-title": (
        "[paro]\n",
        '[welsh]\nstandards = true\noffice_name = "Swyddfa"\nspoc_role = "Prif Weithredwr"\n\n'
        '[protocol.recipients.dpo]\ntitle = "the DPO"\nemail = "dpo@testshire.example.org"\n\n'
        "[paro]\n",
        ["welsh.recipients.dpo", "give its Welsh title"],
    ),
    "no-process-at-all": (
        "[paro]\n",
        "[poll]\nworkers = 0\n\n[paro]\n",
        ["poll.workers", "greater than or equal to 1"],
    ),
}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def imap_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTSHIRE_IMAP_PASSWORD", "secret")


@pytest.mark.usefixtures("imap_password")
def test_valid_base_loads(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, VALID))
    assert settings.imap_password is not None
    assert settings.imap_password.get_secret_value() == "secret"


@pytest.mark.usefixtures("imap_password")
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_config_names_file_and_key(tmp_path: Path, case: str) -> None:
    old, new, fragments = BROKEN[case]
    assert old in VALID
    path = write_config(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    message = str(excinfo.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_password_env_naming_unset_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TESTSHIRE_IMAP_PASSWORD", raising=False)
    path = write_config(tmp_path, VALID)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "imap.password_env" in message
    assert "TESTSHIRE_IMAP_PASSWORD" in message


def test_password_credential_without_credentials_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = write_config(
        tmp_path,
        VALID.replace('password_env = "TESTSHIRE_IMAP_PASSWORD"', 'password_credential = "imap"'),
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "imap.password_credential" in message
    assert "CREDENTIALS_DIRECTORY" in message


def test_password_credential_missing_file_names_the_credential(
    credentials: Path, tmp_path: Path
) -> None:
    path = write_config(
        tmp_path,
        VALID.replace('password_env = "TESTSHIRE_IMAP_PASSWORD"', 'password_credential = "nope"'),
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "imap.password_credential" in message
    assert str(credentials / "nope") in message


@pytest.mark.usefixtures("credentials")
def test_office_profile_without_credentials_fails_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    path = CONFIG_DIR / "bedfordshire.toml"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    assert str(path) in str(excinfo.value)
    assert "imap.password_credential" in str(excinfo.value)
