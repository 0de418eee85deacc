"""Packaging beyond what pyproject.toml can say: top-level folders mapped into the wheel.

``templates/``, ``config/``, ``systemd/`` and ``demo/`` stay at the top of the checkout (where
an operator looks for them) and ship inside the package as ``inbox_agent.templates``,
``inbox_agent.profiles``, ``inbox_agent.systemd`` and ``inbox_agent.demo``, so an installed
wheel carries everything it needs. ``inbox_agent/bundled.py`` finds them at run time.
"""

from setuptools import find_packages, setup

BUNDLED = {
    "inbox_agent.templates": "templates",
    "inbox_agent.profiles": "config",
    "inbox_agent.systemd": "systemd",
    "inbox_agent.demo": "demo",
}

setup(
    packages=[*find_packages(include=["inbox_agent", "inbox_agent.*"]), *BUNDLED],
    package_dir=BUNDLED,
)
