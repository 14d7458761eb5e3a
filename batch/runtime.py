"""What every ETL task needs from its process: settings, the database, the run, target paths.

Luigi runs tasks in the scheduling process (``--workers 1``) or in forked worker processes
(``--workers N``), and several machines may share one ``luigid``.  Settings are read from the
environment once per process (``settings.load()``) and the database is connected once per
process: a forked worker opens its own connection and leaves the parent's alone (closing an
inherited PostgreSQL connection would end the parent's session too).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import luigi

import models
import settings as settings_module
from models.ingest.etl import Run
from models.schema import crypto
from models.schema.db import db

TARGET_DAYS = 7  # targets older than this are pruned at the end of a run
_process: dict = {"pid": None, "settings": None, "runs": {}}
_inherited: list = []  # databases of a parent process: referenced forever, never closed here


def use(settings) -> None:
    """Run this process's tasks with ``settings`` (tests, benchmarks); keeps a connected db."""
    crypto.configure(settings.secret_key, settings.secret_key_fallbacks)
    if db.obj is None:
        models.init(settings)
    _process.update(pid=os.getpid(), settings=settings, runs={})


def current_settings():
    """This process's settings, loading them and connecting the database on first use."""
    pid = os.getpid()
    if _process["pid"] != pid:
        if _process["settings"] is None:
            _process["settings"] = settings_module.load()
        elif db.obj is not None:  # a forked worker: the connection belongs to the parent
            _inherited.append(db.obj)
        models.init(_process["settings"])
        _process.update(pid=pid, runs={})
    return _process["settings"]


def call_interval() -> float:
    """Seconds between Spotify calls of one process (luigi.cfg ``[etl] call_interval``)."""
    return luigi.configuration.get_config().getfloat("etl", "call_interval", 0.0)


def run_for(hour: dt.datetime) -> Run:
    """The run of ``hour`` in this process: one Spotify app (pacing, capabilities) per run."""
    settings = current_settings()
    runs = _process["runs"]
    if hour not in runs:
        runs[hour] = Run(settings, hour, call_interval=call_interval())
    return runs[hour]


def etl_dir() -> Path:
    return Path(current_settings().data_dir) / "etl"


def target_path(hour: dt.datetime, *parts: str) -> str:
    """``<DATA_DIR>/etl/<YYYY-MM-DDTHH>/<parts...>``: one directory per run."""
    return str(etl_dir().joinpath(f"{hour:%Y-%m-%dT%H}", *parts))


def write_json_lines(target: luigi.LocalTarget, rows: Iterable[dict]) -> None:
    """Atomically: LocalTarget writes a temporary file and renames it when the block ends."""
    with target.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


def read_json_lines(target: luigi.LocalTarget) -> list[dict]:
    with target.open("r") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_json(target: luigi.LocalTarget, data: dict) -> None:
    with target.open("w") as out:
        json.dump(data, out, indent=1, sort_keys=True, default=str)


def prune_targets(now: dt.datetime, keep_days: int = TARGET_DAYS) -> int:
    """Remove run directories older than ``keep_days`` (hourly runs make 24 a day)."""
    removed = 0
    root = etl_dir()
    if not root.is_dir():
        return 0
    for entry in root.iterdir():
        try:
            hour = dt.datetime.strptime(entry.name, "%Y-%m-%dT%H")
        except ValueError:
            continue
        if entry.is_dir() and hour < now - dt.timedelta(days=keep_days):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed
