"""``python -m inbox_agent.cli``: the same entry point as the ``inbox-agent`` script."""

import sys

from inbox_agent.cli import main

sys.exit(main())
