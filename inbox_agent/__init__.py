"""inbox-agent: the unattended clerk of an OPCC election single-point-of-contact inbox."""

# The release, in one place: pyproject.toml reads it (dynamic version), ``inbox-agent
# --version`` prints it, the daemon logs it at start, and ``status`` reports it.
__version__ = "0.3.0"
