"""Which mailboxes one daemon serves: one profile, or several in one file or a directory.

Offices share IT: a force and its OPCC, or a regional collaboration, may run one daemon for
several election inboxes. Each mailbox keeps its own profile (office, templates, PARO) and its
own register, so one office's requesters never appear in another's register, disclosure log
or parity report, and one mailbox failing leaves the others polling.

Three shapes, all validated by ``settings.Settings``:

- a file without ``[mailboxes]``: one mailbox, named ``default`` (every existing profile);
- a file with ``[mailboxes.<name>]`` tables: the file's other tables are defaults that every
  mailbox starts from, and each mailbox table overrides them key by key;
- a directory: every ``*.toml`` in it is one mailbox's complete profile, named after the file.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbox_agent.errors import ConfigError
from inbox_agent.logs import SINGLE_MAILBOX
from inbox_agent.settings import Settings, config_path, read_toml, settings_from_dict

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Mailbox:
    name: str
    settings: Settings


@dataclass(frozen=True)
class Deployment:
    source: Path
    mailboxes: tuple[Mailbox, ...]

    def __iter__(self) -> Iterator[Mailbox]:
        return iter(self.mailboxes)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.mailboxes]

    def select(self, name: str | None) -> Mailbox:
        """The one mailbox a command works on: ``--mailbox``, or the only one there is."""
        if name is None:
            if len(self.mailboxes) == 1:
                return self.mailboxes[0]
            raise ConfigError(
                f"{self.source}: several mailboxes ({', '.join(self.names)}); "
                "choose one with --mailbox"
            )
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise ConfigError(
            f"{self.source}: no mailbox named {name!r} (there are: {', '.join(self.names)})"
        )

    def only(self, name: str | None) -> Deployment:
        """All mailboxes, or just the one ``--mailbox`` names."""
        if name is None:
            return self
        return Deployment(self.source, (self.select(name),))


def load_deployment(
    path: str | os.PathLike[str] | None = None, *, secrets: bool = True
) -> Deployment:
    """Read and validate every mailbox; ConfigError names the file and the dotted key.

    ``secrets=False``: passwords are read when a connection needs them, not now (the admin
    commands, which run outside the daemon's unit and its credentials).
    """
    where = config_path(path)
    if where.is_dir():
        mailboxes = _from_directory(where, secrets)
    else:
        data = read_toml(where)
        if "mailboxes" in data:
            mailboxes = _from_tables(where, data, secrets)
        else:
            mailboxes = [Mailbox(SINGLE_MAILBOX, settings_from_dict(data, where, secrets=secrets))]
    _check_distinct(where, mailboxes)
    return Deployment(where, tuple(mailboxes))


def _from_directory(directory: Path, secrets: bool) -> list[Mailbox]:
    files = sorted(p for p in directory.glob("*.toml") if not p.name.startswith("."))
    if not files:
        raise ConfigError(f"{directory}: no *.toml profiles in this directory")
    mailboxes = []
    for file in files:
        data = read_toml(file)
        if "mailboxes" in data:
            raise ConfigError(
                f"{file}: mailboxes: a profile in a directory is one mailbox; "
                "[mailboxes] tables belong in a single file"
            )
        mailboxes.append(
            Mailbox(
                _checked_name(file, file.stem, ""),
                settings_from_dict(data, file, secrets=secrets),
            )
        )
    return mailboxes


def _from_tables(file: Path, data: dict[str, Any], secrets: bool) -> list[Mailbox]:
    tables = data["mailboxes"]
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{file}: mailboxes: expected one or more [mailboxes.<name>] tables")
    defaults = {k: v for k, v in data.items() if k != "mailboxes"}
    mailboxes = []
    for name, table in tables.items():
        key = f"mailboxes.{name}"
        _checked_name(file, name, "mailboxes.")
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: {key}: expected a table")
        merged = copy.deepcopy(_merge(defaults, table))  # path resolution edits it
        settings = settings_from_dict(merged, file, key_prefix=f"{key}.", secrets=secrets)
        mailboxes.append(Mailbox(name, settings))
    return mailboxes


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in ``override`` replaces the default."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _checked_name(file: Path, name: str, prefix: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"{file}: {prefix}{name}: a mailbox name is 1-40 lower-case letters, digits, "
            "'-' or '_', starting with a letter or digit"
        )
    return name


def _check_distinct(where: Path, mailboxes: list[Mailbox]) -> None:
    """Each mailbox has its own register and is polled by one profile only."""
    registers: dict[str, str] = {}
    sources: dict[str, str] = {}
    for mailbox in mailboxes:
        url = mailbox.settings.database.url
        if url in registers:
            raise ConfigError(
                f"{where}: {mailbox.name}: database.url is also {registers[url]}'s register; "
                "every mailbox needs its own (a SQLite file, or a PostgreSQL database)"
            )
        registers[url] = mailbox.name
        source = mailbox.settings.source_name
        if source in sources:
            raise ConfigError(
                f"{where}: {mailbox.name}: polls the same mailbox as {sources[source]}"
            )
        sources[source] = mailbox.name
