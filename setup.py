"""Packaging beyond what pyproject.toml can say: top-level folders mapped into the wheel.

``templates/``, ``config/``, ``systemd/`` and ``demo/`` stay at the top of the checkout (where
an operator looks for them) and ship inside the package as ``inbox_agent.templates``,
``inbox_agent.profiles``, ``inbox_agent.systemd`` and ``inbox_agent.demo``, so an installed
wheel carries everything it needs. ``inbox_agent/bundled.py`` finds them at run time.

Every folder that holds shipped files is listed as a (namespace) package, data-only ones too
(``templates/web/static``, the model, the migrations): setuptools only copies the files of
listed packages and warns about each folder it would otherwise have to guess at, so the build
states them all. Which files each one ships is ``[tool.setuptools.package-data]``.
"""

from setuptools import find_namespace_packages, setup

BUNDLED = {
    "inbox_agent.templates": "templates",
    "inbox_agent.profiles": "config",
    "inbox_agent.systemd": "systemd",
    "inbox_agent.demo": "demo",
}
NOT_SHIPPED = ["*.__pycache__", "__pycache__"]


def _folders(package: str, folder: str) -> list[str]:
    """``package`` and every folder below ``folder``, as the packages they become."""
    below = find_namespace_packages(where=folder, exclude=NOT_SHIPPED)
    return [package, *(f"{package}.{name}" for name in below)]


setup(
    packages=[
        *find_namespace_packages(include=["inbox_agent", "inbox_agent.*"], exclude=NOT_SHIPPED),
        *(name for package, folder in BUNDLED.items() for name in _folders(package, folder)),
    ],
    package_dir=BUNDLED,
)
