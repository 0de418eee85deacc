"""The audit trail: who did what to the register, and when.

(STEP B of issue 17 gives every action a name here.)
"""

from __future__ import annotations

import getpass


def cli_actor() -> str:
    """The actor recorded for a command typed at a shell: ``cli:<login>``, else ``cli``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
