"""models/stats/ keeps its place in the core's layering and its package API.

Statistics sit above the schema, periods and summaries and below the migrate command; a
statistic that imported an account helper, the ingest code or a shell would pull the web app
or the ETL into the Lambda and into every import of the API.  Read from the source (ast), so a
new module is checked the day it is added.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import models.stats
from models import stats

STATS_DIR = Path(models.stats.__file__).parent
# What a module of models/stats may import besides the standard library.
ALLOWED = (
    "peewee",
    "models.schema",
    "models.periods",
    "models.summaries",
    "models.stats",
    # who may see whom: the rule the statistics of listening together apply (database only)
    "models.accounts.sharing",
)


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            # ``from models.accounts import sharing`` imports models.accounts.sharing
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def outside_the_layers(name: str) -> bool:
    if name == "__future__" or name.split(".")[0] in sys.stdlib_module_names:
        return False
    return not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)


def test_stats_modules_import_only_the_layers_below_them():
    modules = sorted(STATS_DIR.glob("*.py"))
    assert {path.stem for path in modules} >= {"__init__", "sources", "top", "unique"}
    found = {
        path.name: [name for name in imported_modules(path) if outside_the_layers(name)]
        for path in modules
    }
    assert {module: names for module, names in found.items() if names} == {}


def test_the_check_sees_a_forbidden_import():
    assert outside_the_layers("web.stats")
    assert outside_the_layers("models.accounts.users")
    assert outside_the_layers("models.ingest.plays")
    assert outside_the_layers(".sources")  # relative imports are spelled out in this package
    assert not outside_the_layers("models.summaries.listening")
    assert not outside_the_layers("datetime")


def test_the_package_exports_each_statistic_from_its_family_module():
    exported = {name: getattr(stats, name) for name in stats.__all__}
    family_modules = {path.stem for path in STATS_DIR.glob("*.py")} - {"__init__"}
    assert {"counts", "top", "unique", "sources"} <= family_modules
    public = {name for name in dir(stats) if not name.startswith("_")}
    assert set(stats.__all__) == public - family_modules
    homes = {
        name: value.__module__
        for name, value in exported.items()
        if callable(value) and not isinstance(value, type)
    }
    assert homes["totals"] == "models.stats.counts"
    assert homes["top_genres"] == "models.stats.top"
    assert homes["unique_albums"] == "models.stats.unique"
    assert homes["weekday_hour"] == "models.stats.habits"
    assert homes["taste_profile"] == "models.stats.taste"
    assert homes["history"] == "models.stats.plays"
    assert homes["artist_detail"] == "models.stats.detail"
    assert homes["weekly_chart"] == "models.stats.charts"
    # __init__ defines nothing itself: it is the docstring and the re-exports
    assert not any(module.endswith(".stats") for module in homes.values())
    tree = ast.parse((STATS_DIR / "__init__.py").read_text())
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}
