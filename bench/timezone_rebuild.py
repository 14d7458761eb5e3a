"""Benchmark: the worker's time-zone rebuild of one heavy listener, per engine.

Builds the world of ``bench/stats.py`` (the same catalogue and play generator, one heavy
listener with ``--plays`` plays over ten years and 5 others), then re-buckets the heavy
listener's day, month and hour summaries from UTC into Asia/Kolkata as the worker's job does
(``models.summaries.listening.rebuild(..., local_only=True)``), ``--runs`` times (back and
forth between the two zones), and prints the wall time of each rebuild, this process's CPU
time, and each statement's share of the rebuild (which, unlike the wall time, holds on a
loaded machine).  Targets: 1,000,000 plays in at most 20 s on PostgreSQL and 40 s on SQLite.

    python bench/timezone_rebuild.py                      # 1,000,000 plays, both engines
    python bench/timezone_rebuild.py --plays 20000 --runs 1   # the smallest useful run
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.schema import crypto
from models.schema.db import db
from models.summaries import listening


def _stats_bench():
    """bench/stats.py, whose world this benchmark builds (bench/ is a folder of scripts)."""
    spec = importlib.util.spec_from_file_location(
        "bench_stats", Path(__file__).with_name("stats.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_stats"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


world = _stats_bench()
FULL, Size, build_reported, engine_database, settle = (
    world.FULL,
    world.Size,
    world.build_reported,
    world.engine_database,
    world.settle,
)

ZONES = ("Asia/Kolkata", "UTC")


def _statement(sql: str) -> str:
    """A short name for a statement: its verb and first table."""
    match = re.match(r'\s*(\w+)\s+(?:INTO\s+|FROM\s+)?"?(\w+)"?', sql, re.IGNORECASE)
    if match is None:
        return sql[:40]
    verb, table = match.groups()
    if verb.upper() == "SELECT":
        found = re.search(r'FROM\s+"?(\w+)"?', sql, re.IGNORECASE)
        table = found.group(1) if found else table
    return f"{verb.upper()} {table}"


def timed_statements():
    """Like ``captured_queries``, with each statement's wall time: {name: seconds}."""
    database = db.obj
    original = database.execute_sql
    spent: dict[str, float] = defaultdict(float)

    def timing(sql, params=None, *args, **kwargs):
        begin = time.perf_counter()
        try:
            return original(sql, params, *args, **kwargs)
        finally:
            spent[_statement(sql)] += time.perf_counter() - begin

    database.execute_sql = timing
    return spent, lambda: setattr(database, "execute_sql", original)


def run_engine(engine: str, size, runs: int, workdir: Path) -> list[float]:
    seconds = []
    with engine_database(engine, workdir) as (_, _database):
        heavy = build_reported(engine, size)
        for run in range(runs):
            tz = ZONES[run % len(ZONES)]
            spent, restore = timed_statements()
            cpu = time.process_time()
            begin = time.perf_counter()
            try:
                listening.rebuild(heavy, tz, local_only=True)
            finally:
                restore()
            wall = time.perf_counter() - begin
            seconds.append(wall)
            print(
                f"[{engine}] rebuild into {tz} of {size.heavy_plays:,} plays: {wall:.1f} s "
                f"(this process's CPU {time.process_time() - cpu:.1f} s)",
                flush=True,
            )
            total = sum(spent.values()) or 1.0
            for name, part in sorted(spent.items(), key=lambda item: -item[1])[:12]:
                print(f"    {part / total:6.1%}  {part:6.2f} s  {name}")
            settle()
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plays", type=int, default=FULL.heavy_plays)
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--runs", type=int, default=3, help="rebuilds per engine")
    args = parser.parse_args(argv)
    size = Size(**{**FULL.__dict__, "heavy_plays": args.plays, "users": 5})
    crypto.configure("bench-secret-key-0123456789-abcdef")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-tz-") as workdir:
        for engine in args.engines.split(","):
            results[engine] = run_engine(engine.strip(), size, args.runs, Path(workdir))
    for engine, seconds in results.items():
        median = sorted(seconds)[len(seconds) // 2]
        print(
            f"rebuild of {args.plays:,} plays on {engine}: median {median:.1f} s "
            f"over {len(seconds)} run(s)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
