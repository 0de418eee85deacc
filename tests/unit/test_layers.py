"""The folder listing is the architecture: each layer imports only the layers below it.

The contracts are import-linter's, in ``pyproject.toml`` (``[tool.importlinter]``): cli on top,
then the web UI and the scheduler, ops, transparency, the pipeline loop, the stages that touch
the register or a peer, ``decide``, the pure stages, the register, settings, and logs/errors/clock
at the bottom. Nothing under cli imports the web UI, and ``decide`` and ``classify`` never reach
the register, the web UI or the sender, directly or through another module. A new top-level
module fails here until it is given a layer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_follows_the_layers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=os.fspath(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert status == EXIT_STATUS_SUCCESS, report
    assert "0 broken" in report
