"""The core's layering and the Lambda boundary, checked rather than hoped for.

* ``models/`` is layered, lowest first (README, "Folder"): a package may import its own and the
  ones below it, never one above, so each can be read, tested and shipped without the rest.
  Read statically from every import statement, those inside functions too (a lazy import that
  goes upward is the same dependency, only hidden).
* ``spotify/`` is the protocol and nothing else: it never imports the core or a shell;
  ``musicbrainz/`` neither, nor ``spotify/`` or ``settings`` (it imports none of the project;
  its sandbox reads the sandbox Spotify's world).
* Lambda gets ``models/`` and ``settings.py`` through ``chalice_app/vendor/``, not ``spotify/``
  or ``requests``.  ``models.ingest.etl`` and ``models.imports.history_import`` do import
  ``spotify`` and ship with the rest of ``models/``, so one innocent import from an API module
  would break the deployed API: the API's import closure is walked in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = (
    "models.schema",
    "models.periods",
    "models.summaries",
    "models.accounts",
    "models.ingest",
    "models.enrich",
    "models.jobs",
    "models.imports",
    "models.stats",
    "models.operations",
    "models.migrate",
)
SHELLS = ("models", "web", "batch", "chalice_app", "chalicelib")
OFF_LAMBDA = ("spotify", "musicbrainz", "requests", "luigi")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in the file, relative ones resolved; for
    ``from package import name`` also ``package.name``, which may be a module."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def layer_of(module: str) -> int | None:
    for rank, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return rank
    return None


def upward_imports(root: Path) -> list[str]:
    """``file:line: module imports module`` for every import of a higher layer under root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        own = layer_of(module_name(path))
        if own is None:  # models/__init__.py: the package's entry, above nothing
            continue
        for line, imported in imports_of(path):
            rank = layer_of(imported)
            if rank is not None and rank > own:
                found.append(f"{path.relative_to(ROOT)}:{line}: imports {imported}")
    return found


def test_no_package_of_models_imports_one_above_it():
    assert upward_imports(ROOT / "models") == []


def test_every_module_of_models_has_its_place_in_the_layering():
    """A module outside every layer would escape the check above."""
    unplaced = [
        module_name(path)
        for path in sorted((ROOT / "models").rglob("*.py"))
        if module_name(path) != "models" and layer_of(module_name(path)) is None
    ]
    assert unplaced == []


def test_the_layering_check_sees_an_upward_import_even_inside_a_function(tmp_path, monkeypatch):
    fake = tmp_path / "models" / "schema"
    fake.mkdir(parents=True)
    (fake / "tables.py").write_text(
        "from . import db\n\ndef later():\n    from ..stats import totals\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert upward_imports(tmp_path / "models") == [
        "models/schema/tables.py:4: imports models.stats",
        "models/schema/tables.py:4: imports models.stats.totals",
    ]


def test_spotify_imports_neither_the_core_nor_a_shell():
    found = [
        f"{path.relative_to(ROOT)}:{line}: imports {imported}"
        for path in sorted((ROOT / "spotify").rglob("*.py"))
        for line, imported in imports_of(path)
        if imported.split(".")[0] in SHELLS
    ]
    assert found == []


def test_musicbrainz_imports_none_of_the_project():
    """Only its sandbox reaches outside it, and only for the sandbox Spotify's world, which
    both sandboxes share so they agree."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: imports {imported}"
        for path in sorted((ROOT / "musicbrainz").rglob("*.py"))
        for line, imported in imports_of(path)
        if imported.split(".")[0] in (*SHELLS, "spotify", "settings")
        and not (
            path.is_relative_to(ROOT / "musicbrainz" / "sandbox")
            and imported.startswith("spotify.sandbox.catalogue")
        )
    ]
    assert found == []


# -- the Lambda boundary ---------------------------------------------------------------------
CLOSURE = """
import json, sys
try:
    import app
    missing = None
except ImportError as exc:  # what Lambda would say: the package has no such module
    missing = exc.name
print(json.dumps({"modules": sorted(sys.modules), "missing": missing}))
"""


def api_closure(chalice_dir: Path) -> set[str]:
    """Top-level packages importing ``app.py`` as Chalice does loads or tries to load: the
    project folder (for ``chalicelib``) and ``vendor/`` on the path, nothing of the repository
    besides (a module not found there is counted too: in Lambda it would be the error)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(chalice_dir / "vendor"), str(chalice_dir)])
    done = subprocess.run(
        [sys.executable, "-c", CLOSURE],
        cwd=chalice_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    walk = json.loads(done.stdout)
    names = walk["modules"] + ([walk["missing"]] if walk["missing"] else [])
    assert "chalicelib.auth" in names and "models.schema.tables" in names  # the app's own
    return {name.split(".")[0] for name in names}


def test_the_api_import_closure_reaches_neither_spotify_requests_nor_luigi():
    assert api_closure(ROOT / "chalice_app") & set(OFF_LAMBDA) == set()


@pytest.fixture
def chalice_copy(tmp_path) -> Path:
    """chalice_app/ copied, its vendor/ linked to this repository's core as the real one is."""
    copy = tmp_path / "chalice_app"
    shutil.copytree(
        ROOT / "chalice_app", copy, symlinks=True, ignore=shutil.ignore_patterns("vendor")
    )
    (copy / "vendor").mkdir()
    (copy / "vendor" / "models").symlink_to(ROOT / "models")
    (copy / "vendor" / "settings.py").symlink_to(ROOT / "settings.py")
    return copy


def test_the_walk_fails_when_an_api_module_imports_the_etl(chalice_copy):
    meta = chalice_copy / "chalicelib" / "api_meta.py"
    meta.write_text(meta.read_text() + "\nimport models.ingest.etl  # an innocent import\n")
    assert "spotify" in api_closure(chalice_copy)
