"""The Jinja2 toolkit: the one place that builds template environments, and their filters.

Everything this daemon writes in words comes from a template: acknowledgements and forward
covers, alerts, reminders, the weekly report, the disclosure log, the statutory letters
(``casework/letters.py``) and the web UI's pages. They share one policy, set here:

* **Office overrides.** ``mail_environment`` searches ``policy.template_dir`` first, then the
  bundled ``templates/``, so an office rewords only the templates it wants to change.
* **Escaping.** Email text is plain text (nothing to escape into, so nothing escaped); an
  ``.html.j2`` template is escaped, so a ``<script>`` in a display name arrives as text. The
  web UI's pages (``page_environment``) escape everything.
* **StrictUndefined.** A misspelt variable is an error at render time, never a silently blank
  sentence in a letter to a candidate; ``render_template`` turns any template fault into a
  ``ConfigError`` naming the template, because it is the operator's to fix.
* **Dates in English and Welsh**, spelt out ("Thursday 29 April 2027", "dydd Iau 29 Ebrill
  2027") so no reader can mistake 04/05, and in British English whatever the server's locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from inbox_agent.bundled import templates_dir
from inbox_agent.errors import ConfigError

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS_CY = (
    "dydd Llun",
    "dydd Mawrth",
    "dydd Mercher",
    "dydd Iau",
    "dydd Gwener",
    "dydd Sadwrn",
    "dydd Sul",
)
_MONTHS_CY = (
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
)
_WELSH_VOWELS = frozenset("aeiouwyâêîôûŵŷ")
_BLANK_RUNS = re.compile(r"\n{3,}")

MAIL_AUTOESCAPE = select_autoescape(
    enabled_extensions=("html", "htm", "html.j2", "htm.j2"),
    disabled_extensions=(),
    default_for_string=False,
    default=False,
)
"""Escape HTML templates only: an email's text part is plain text."""


def long_date(day: date) -> str:
    """``Thursday 29 April 2027``: spelled out so no reader can mistake 04/05 for 5 April.

    English names are spelled here rather than taken from ``strftime`` so a server running
    under another locale still writes British English.
    """
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    """``Thu 29 Apr 2027``: the same date where space is short (the web UI's tables)."""
    return f"{_DAYS[day.weekday()][:3]} {day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def long_date_cy(day: date, soft: bool = False) -> str:
    """``dydd Iau 29 Ebrill 2027``: the Welsh long date, as it reads inside a sentence.

    ``soft``: the soft mutation that follows "ar" (on): "ar ddydd Iau 29 Ebrill 2027".
    """
    name = _DAYS_CY[day.weekday()]
    if soft:
        name = "d" + name
    return f"{name} {day.day} {_MONTHS_CY[day.month - 1]} {day.year}"


def join_cy(items: list[str]) -> str:
    """Welsh "X a Y": "a'r" before the article ("y Prif Weithredwr a'r Prif Gwnstabl"),
    "ac" before a vowel, else "a"."""
    if not items:
        return ""
    joined = items[0]
    for item in items[1:]:
        first, _, rest = item.partition(" ")
        if first.lower() in ("y", "yr") and rest:
            joined += f" a'r {rest}"
        elif item[:1].lower() in _WELSH_VOWELS:
            joined += f" ac {item}"
        else:
            joined += f" a {item}"
    return joined


def long_datetime(moment: datetime) -> str:
    """``Thursday 29 April 2027 at 14:05 (BST)``, in the zone ``moment`` already carries."""
    zone = moment.tzname()
    suffix = f" ({zone})" if zone else ""
    return f"{long_date(moment.date())} at {moment:%H:%M}{suffix}"


FILTERS: dict[str, Callable[..., str]] = {
    "long_date": long_date,
    "short_date": short_date,
    "long_date_cy": long_date_cy,
    "join_cy": join_cy,
    "long_datetime": long_datetime,
}
"""The filters every environment has, mail and pages alike."""


def bundled_templates_dir() -> Path:
    """The ``templates/`` folder shipped with the code (``inbox_agent.templates``, see bundled)."""
    return templates_dir()


@lru_cache(maxsize=16)
def mail_environment(template_dir: Path | None) -> Environment:
    """The environment of everything sent or published, one per override folder, built once.

    The office folder is searched first, then the bundled one, so an office overrides only
    the templates it wants to change; a folder that is not there is the operator's error.
    """
    loaders: list[BaseLoader] = []
    if template_dir is not None:
        if not template_dir.is_dir():
            raise ConfigError(f"policy.template_dir: {template_dir} is not a directory")
        loaders.append(FileSystemLoader(template_dir))
    loaders.append(FileSystemLoader(bundled_templates_dir()))
    return _environment(ChoiceLoader(loaders), MAIL_AUTOESCAPE, keep_trailing_newline=True)


def page_environment(folder: Path) -> Environment:
    """The web UI's pages: every value escaped, whatever the template's name."""
    return _environment(FileSystemLoader(folder), True, keep_trailing_newline=False)


def _environment(
    loader: BaseLoader,
    autoescape: bool | Callable[[str | None], bool],
    *,
    keep_trailing_newline: bool,
) -> Environment:
    env = Environment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
    env.filters.update(FILTERS)
    return env


def render_template(env: Environment, name: str, context: dict[str, Any]) -> str:
    """Render ``name``; any template fault becomes a ConfigError naming the template.

    A broken or missing template is the operator's to fix (it is configuration, not a bad
    message), and the name is what they need to find it.
    """
    try:
        return env.get_template(name).render(context)
    except TemplateNotFound as exc:
        missing = exc.name if exc.name == name else f"{exc.name} (included by {name})"
        raise ConfigError(f"template {missing} not found") from exc
    except TemplateError as exc:
        raise ConfigError(f"template {name} failed to render: {exc}") from exc


def normalise(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, exactly one final newline.

    Template authors can then lay out ``{% if %}`` blocks for readability without the
    layout leaking into the message.
    """
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUNS.sub("\n\n", lines).strip("\n") + "\n"
