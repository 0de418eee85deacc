"""The files shipped inside the package: templates, profiles, systemd units, the demo Maildir.

They live at the top of the checkout (``templates/``, ``config/``, ``systemd/``, ``demo/``),
where an operator looks for them, and ``setup.py`` maps them into the wheel as
``inbox_agent.templates``, ``.profiles``, ``.systemd`` and ``.demo``. They are found through
``importlib.resources``, never by walking up from a source file, so an installed wheel, an
editable install and a checkout all agree. Jinja2 and the TOML loader need real paths; a
wheel is always installed unzipped, and anything else is reported as the operator's to fix.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

from inbox_agent.errors import ConfigError

Bundle = Literal["templates", "profiles", "systemd", "demo"]
BUNDLES: tuple[Bundle, ...] = ("templates", "profiles", "systemd", "demo")
EXAMPLE_PROFILE = "example.toml"


def bundled_dir(name: Bundle) -> Path:
    """The installed folder ``name``; a ConfigError if the installation lacks it."""
    package = f"inbox_agent.{name}"
    try:
        found = files(package)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"{package} is missing from this installation; reinstall inbox-agent"
        ) from exc
    if not isinstance(found, Path) or not found.is_dir():
        raise ConfigError(f"{package} is not a folder on disk ({found}); install unzipped")
    return found


def templates_dir() -> Path:
    """Every template the daemon and the web UI render, overridable per office."""
    return bundled_dir("templates")


def example_profile() -> Path:
    """``config/example.toml``: the schema reference, and the demo's profile."""
    return bundled_dir("profiles") / EXAMPLE_PROFILE
