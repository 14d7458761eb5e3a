"""bench/import.py keeps working: a small run on both engines prints its figures."""

from __future__ import annotations

import importlib.util

from settings import PROJECT_DIR


def test_the_import_benchmark_runs_small(capsys):
    spec = importlib.util.spec_from_file_location(
        "bench_import", PROJECT_DIR / "bench" / "import.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--plays", "1500"]) == 0
    printed = capsys.readouterr().out
    assert "1,500 counted plays" in printed
    for engine in ("sqlite", "postgresql"):
        line = next(row for row in printed.splitlines() if row.startswith(engine))
        assert line.split()[1] == "1,500"
        assert "peak RSS" in line and " MB " in line
    assert "worst ratio import/executemany:" in printed.splitlines()[-1]
