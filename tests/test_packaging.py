"""The editable install (``pip install -e .``, what ``make install`` runs) names every package
of the project: cron's ``luigi --module batch`` and the worker import them from any directory,
where only the installed packages are found (the suite itself runs from the checkout, where a
forgotten package would still import)."""

from __future__ import annotations

import tomllib

from settings import PROJECT_DIR

TOP_LEVEL = ("models", "spotify", "musicbrainz", "batch", "web", "demo")


def test_every_package_of_the_project_is_installed():
    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    installed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(PROJECT_DIR).parts)
        for top in TOP_LEVEL
        for init in (PROJECT_DIR / top).rglob("__init__.py")
    }
    assert on_disk - installed == set(), "add them to [tool.setuptools] packages in pyproject.toml"
    assert installed - on_disk == set()
