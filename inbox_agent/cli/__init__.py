"""The command line: ``dispatch`` parses and dispatches; one module per family of commands.

Argument parsing and printing live here and nowhere else, so every command can be called from
a test without a subprocess, and the stages below never print. ``main`` is the ``inbox-agent``
script's entry point (and ``python -m inbox_agent.cli``).
"""

from inbox_agent.cli.dispatch import main

__all__ = ["main"]
