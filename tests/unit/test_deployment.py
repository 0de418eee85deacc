"""Several mailboxes in one configuration: a file of tables, or a directory of profiles."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from support.builders import message

from inbox_agent.cli import main
from inbox_agent.deployment import load_deployment
from inbox_agent.errors import ConfigError

SHARED = """
[paro]
name = "Chief Executive, Shared Council"
email = "paro@council.shared.example.org"

[election]
poll_date = "2027-05-06"
pre_election_period_start = "2027-03-29"
nominations_close = "2027-04-08"
persons_nominated_published = "2027-04-09"

[poll]
interval_seconds = 90
"""


def _office(name: str, prefix: str) -> str:
    return f"""
name = "Office of the Police and Crime Commissioner for {name.title()}"
inbox_address = "elections@opcc.{name}.example.org"
spoc_role = "Head of Governance"
website_url = "https://opcc.{name}.example.org/election"
reference_prefix = "{prefix}"
"""


def _two_mailboxes(tmp_path: Path, extra: str = "", edit: tuple[str, str] = ("", "")) -> Path:
    for name in ("north", "south"):
        (tmp_path / name / "new").mkdir(parents=True)
        (tmp_path / name / "cur").mkdir()
        (tmp_path / name / "tmp").mkdir()
    text = (
        SHARED
        + "\n[mailboxes.north.office]"
        + _office("north", "NTH")
        + '\n[mailboxes.north.maildir]\npath = "north"\n'
        + '\n[mailboxes.north.database]\nurl = "sqlite:///north.db"\n'
        + "\n[mailboxes.north.paro]\n"
        + 'email = "paro@council.north.example.org"\n'
        + "\n[mailboxes.south.office]"
        + _office("south", "STH")
        + '\n[mailboxes.south.maildir]\npath = "south"\n'
        + '\n[mailboxes.south.database]\nurl = "sqlite:///south.db"\n'
        + "\n[mailboxes.south.poll]\ninterval_seconds = 30\n"
        + extra
    )
    if edit[0]:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1])
    path = tmp_path / "offices.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_of_mailboxes_merges_each_over_the_shared_tables(tmp_path: Path) -> None:
    deployment = load_deployment(_two_mailboxes(tmp_path))
    assert deployment.names == ["north", "south"]
    north, south = (m.settings for m in deployment)
    assert north.office.reference_prefix == "NTH" and south.office.reference_prefix == "STH"
    # a table key overrides one default and keeps the rest of that table
    assert str(north.paro.email) == "paro@council.north.example.org"
    assert north.paro.name == "Chief Executive, Shared Council"
    assert str(south.paro.email) == "paro@council.shared.example.org"
    assert (north.poll.interval_seconds, south.poll.interval_seconds) == (90, 30)
    # relative paths are the file's, per mailbox
    assert north.maildir is not None and north.maildir.path == tmp_path / "north"
    assert north.database.url == f"sqlite:///{tmp_path / 'north.db'}"
    assert north.source_name != south.source_name


def test_a_directory_is_one_mailbox_per_profile(tmp_path: Path) -> None:
    single = load_deployment(_two_mailboxes(tmp_path))
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    data = tomllib.loads((tmp_path / "offices.toml").read_text())
    for name in ("north", "south"):
        text = SHARED + f"\n[office]{_office(name, name[:3].upper())}"
        text += f'\n[maildir]\npath = "../{name}"\n[database]\nurl = "sqlite:///{name}.db"\n'
        (profiles / f"{name}.toml").write_text(text, encoding="utf-8")
    (profiles / "README.txt").write_text("not a profile")
    deployment = load_deployment(profiles)
    assert deployment.names == ["north", "south"]
    assert deployment.select("south").settings.office.name.endswith("South")
    assert [m.settings.source_name for m in deployment] == [m.settings.source_name for m in single]
    assert "mailboxes" in data  # the same two offices, written the other way


def test_an_existing_single_profile_is_the_default_mailbox() -> None:
    deployment = load_deployment(Path(__file__).parents[2] / "config" / "example.toml")
    assert deployment.names == ["default"]
    assert deployment.select(None) is deployment.mailboxes[0]


@pytest.mark.parametrize(
    ("extra", "edit", "expected"),
    [
        ("\n[mailboxes.south.imap]\nport = 0\n", ("", ""), "mailboxes.south.imap"),
        ("", ('"STH"', '"STH"\nreference_prefx = "X"'), "mailboxes.south.office.reference_prefx"),
        ('\n[mailboxes.Bad_Name.office]\nname = "x"\n', ("", ""), "mailboxes.Bad_Name"),
        ("", ("south.db", "north.db"), "south: database.url"),
        ("", ('path = "south"', 'path = "north"'), "south: polls the same mailbox"),
    ],
)
def test_errors_name_the_mailbox_and_key(
    tmp_path: Path, extra: str, edit: tuple[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_deployment(_two_mailboxes(tmp_path, extra, edit))
    assert expected in str(caught.value)
    assert str(tmp_path / "offices.toml") in str(caught.value)


def test_a_table_key_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_text('mailboxes = "north"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="mailboxes"):
        load_deployment(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"no \*\.toml"):
        load_deployment(empty)


def test_commands_on_one_register_need_mailbox_when_there_are_several(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_two_mailboxes(tmp_path))
    assert main(["--config", config, "register", "list"]) == 2
    err = capsys.readouterr().err
    assert "several mailboxes (north, south)" in err and "--mailbox" in err
    assert main(["--config", config, "--mailbox", "east", "register", "list"]) == 2
    assert "no mailbox named 'east'" in capsys.readouterr().err
    assert main(["--config", config, "--mailbox", "south", "register", "list"]) == 0


def test_run_once_passes_every_mailbox_into_its_own_register(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_two_mailboxes(tmp_path))
    for name, sender in (("north", "ann@example.com"), ("south", "bob@example.com")):
        raw = message(sender, f"Question for {name}", "When is the count being held?")
        (tmp_path / name / "new" / f"1.{name}").write_bytes(raw)
    assert main(["--config", config, "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", config, "--mailbox", "north", "register", "list"]) == 0
    north = capsys.readouterr().out
    assert main(["--config", config, "--mailbox", "south", "register", "list"]) == 0
    south = capsys.readouterr().out
    assert "NTH-" in north and "STH-" not in north
    assert "STH-" in south and "NTH-" not in south
    assert main(["--config", config, "status"]) in (0, 1)
    out = capsys.readouterr().out
    assert "== mailbox north" in out and "== mailbox south" in out
