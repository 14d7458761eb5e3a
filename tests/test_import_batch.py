"""The Luigi task ImportHistory: in process on both engines, and as the command people type."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

from batch import ImportHistory, ResumeImports, runtime
from demo.export import EXTENDED_FOLDER, extended_history, write_zip
from models.imports import history_import
from models.schema.tables import ImportJob, Play
from settings import PROJECT_DIR
from spotify.sandbox.catalogue import World
from tests.factories import make_user

START = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def world():
    return World()


@pytest.fixture
def export_zip(tmp_path, world):
    listener = world.listeners[0]
    entries = extended_history(world, listener, START, END, username=listener.id)
    path = write_zip(
        tmp_path / "my_spotify_data.zip",
        {f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": entries},
    )
    counted = len(world.plays(listener, int(START.timestamp() * 1000), int(END.timestamp() * 1000)))
    return path, listener.id, counted


def build(**params):
    return luigi.build(
        [ImportHistory(**params)], local_scheduler=True, detailed_summary=True, log_level="WARNING"
    )


def test_the_task_imports_once_and_a_rerun_changes_nothing(db, settings, export_zip):
    runtime.use(settings)
    path, spotify_id, counted = export_zip
    user = make_user(spotify_id=spotify_id)
    result = build(user=spotify_id, path=str(path))
    assert result.status.name == "SUCCESS"
    assert Play.select().where(Play.user == user.id).count() == counted
    task = ImportHistory(user=spotify_id, path=str(path))
    report = json.loads(Path(task.output().path).read_text())
    assert report["status"] == "done" and report["plays_added"] == counted
    # the target exists: luigi sees the task complete and does not import again
    assert build(user=spotify_id, path=str(path)).status.name == "SUCCESS"
    assert ImportJob.select().count() == 1
    # by numeric user id, with the target gone: a second job finds every play stored
    os.remove(task.output().path)
    assert build(user=str(user.id), path=str(path)).status.name == "SUCCESS"
    assert Play.select().count() == counted
    assert ImportJob.select().order_by(ImportJob.id.desc()).first().duplicates == counted


def test_a_refused_export_fails_the_task_and_stores_nothing(db, settings, export_zip):
    runtime.use(settings)
    path, _, _ = export_zip
    make_user(spotify_id="somebody-else")
    result = build(user="somebody-else", path=str(path))
    assert result.status.name == "FAILED"
    assert ImportJob.select().count() == 0 and Play.select().count() == 0
    assert build(user="nobody", path=str(path)).status.name == "FAILED"


def test_the_command_line_imports_and_exits_non_zero_on_bad_input(tmp_path, export_zip):
    """``luigi --module batch ImportHistory --user ... --path ...`` on a fresh SQLite file."""
    path, spotify_id, counted = export_zip
    environ = {
        "SECRET_KEY": "x" * 32,
        "CLIENT_ID": "c",
        "CLIENT_SECRET": "s",
        "DATA_DIR": str(tmp_path / "data"),
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "LUIGI_CONFIG_PATH": str(PROJECT_DIR / "luigi.cfg"),
    }
    subprocess.run(
        [sys.executable, "-m", "models.migrate"],
        cwd=PROJECT_DIR,
        env=environ,
        check=True,
        capture_output=True,
        timeout=120,
    )
    import sqlite3

    database = sqlite3.connect(tmp_path / "data" / "spotify_tracker.db")
    database.execute(
        "INSERT INTO user (spotify_id, is_admin, timezone, created_at, "
        "needs_reauth) VALUES (?, 0, 'UTC', '2026-11-20 00:00:00', 0)",
        (spotify_id,),
    )
    database.commit()

    command = [sys.executable, "-m", "luigi", "--module", "batch", "ImportHistory"]

    def import_history(file) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*command, "--user", spotify_id, "--local-scheduler", "--path", str(file)],
            cwd=PROJECT_DIR,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = import_history(path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert database.execute("SELECT COUNT(*) FROM play").fetchone()[0] == counted
    bad = tmp_path / "notes.json"
    bad.write_text('{"not": "an export"}')
    refused = import_history(bad)
    assert refused.returncode != 0
    assert "not a Spotify streaming history" in refused.stderr + refused.stdout
    assert database.execute("SELECT COUNT(*) FROM play").fetchone()[0] == counted
    database.close()


def test_resume_imports_finishes_a_job_the_web_left_behind(db, settings, export_zip):
    runtime.use(settings)
    path, spotify_id, counted = export_zip
    user = make_user(spotify_id=spotify_id)
    job, export = history_import.create_job(user, path)
    history_import.run_job(job.id, export=export, chunk_size=10, should_stop=lambda: True)
    result = luigi.build(
        [ResumeImports(hour=dt.datetime(2026, 11, 20, 12))],
        local_scheduler=True,
        detailed_summary=True,
        log_level="WARNING",
    )
    assert result.status.name == "SUCCESS"
    assert ImportJob.get_by_id(job.id).status == "done"
    assert Play.select().where(Play.user == user.id).count() == counted
