"""inbox-agent: the unattended clerk of an OPCC election single-point-of-contact inbox."""

__version__ = "0.1.0"
