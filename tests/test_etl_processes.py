"""The ETL as cron and a cluster run it: the `luigi` command killed mid-run, and a real luigid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import luigi
import pytest

from models.schema.tables import EtlLog, EtlRun, Play, User
from settings import PROJECT_DIR
from tests.environment import TEST_SECRET_KEY, empty_all_tables
from tests.etl_world import (
    central_scheduler,
    connect_listeners,
    naive,
    run_etl,
    snapshot,
    task_list,
)

USERS = 5


def command_environ(settings, sandbox, tmp_path, call_interval: float) -> dict:
    """The environment cron would give `luigi --module batch SpotifyEtl`."""
    config = tmp_path / "luigi-test.cfg"
    config.write_text(f"[etl]\ncall_interval = {call_interval}\nusers_per_task = 2\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_DB_", "DATABASE"))}
    environ.update(
        sandbox.env(),
        SECRET_KEY=TEST_SECRET_KEY,
        DATABASE_URL=settings.database_url,
        DATA_DIR=str(settings.data_dir),
        LUIGI_CONFIG_PATH=str(config),
    )
    return environ


def test_a_run_killed_midway_then_rerun_ends_like_an_uninterrupted_run(
    etl, db, fresh_sandbox, tmp_path
):
    connect_listeners(fresh_sandbox, USERS)
    hour = naive(fresh_sandbox.now())
    assert run_etl(etl, hour).status == luigi.LuigiStatusCode.SUCCESS
    uninterrupted = snapshot()

    # The same world again from scratch, this time killed with SIGKILL part way through.
    empty_all_tables(db)
    shutil.rmtree(etl.data_dir / "etl")
    fresh_sandbox.reset()
    connect_listeners(fresh_sandbox, USERS)
    loads = etl.data_dir / "etl" / f"{hour:%Y-%m-%dT%H}" / "load"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "luigi",
            "--module",
            "batch",
            "SpotifyEtl",
            "--local-scheduler",
            "--hour",
            f"{hour:%Y-%m-%dT%H}",
        ],
        cwd=PROJECT_DIR,
        env=command_environ(etl, fresh_sandbox, tmp_path, 0.15),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not (loads.is_dir() and any(loads.iterdir())) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    process.stderr.close()
    done_when_killed = len(list(loads.iterdir()))  # batches of two users: three of them
    assert 1 <= done_when_killed < 3
    assert Play.select().count() < len(uninterrupted["plays"])

    assert run_etl(etl, hour).status == luigi.LuigiStatusCode.SUCCESS
    assert snapshot() == uninterrupted
    assert EtlRun.get().status == "done"
    for user in User.select():  # one log row per step, whatever was retried
        steps = [row.step for row in EtlLog.select().where(EtlLog.user == user.id)]
        assert sorted(steps) == ["extract", "load"]


@pytest.fixture
def luigid(tmp_path):
    """A central scheduler on a free port, its logs and state under tmp_path."""
    with central_scheduler(tmp_path) as scheduler:
        yield scheduler.port


def test_the_dag_runs_on_a_central_scheduler_with_two_workers(etl, fresh_sandbox, luigid):
    from batch import SpotifyEtl, runtime

    users = connect_listeners(fresh_sandbox, 3)
    luigi.configuration.get_config().set("etl", "users_per_task", "2")  # two batches
    hour = naive(fresh_sandbox.now())
    runtime.use(etl)
    result = luigi.build(
        [SpotifyEtl(hour=hour)],
        scheduler_host="127.0.0.1",
        scheduler_port=luigid,
        workers=2,
        detailed_summary=True,
        log_level="WARNING",
    )
    assert result.status == luigi.LuigiStatusCode.SUCCESS

    done = task_list(luigid, "DONE")
    names = sorted(task["name"] for task in done.values())
    assert names == sorted(
        ["SpotifyEtl", "ResumeImports", "FinishRun", "Features", "Artists", "CompleteTracks"]
        + ["MusicBrainzEnrichment"]
        + ["Extract"] * 2
        + ["Load"] * 2
    )
    batches = [
        range(int(task["params"]["first_user_id"]), int(task["params"]["last_user_id"]) + 1)
        for task in done.values()
        if task["name"] == "Load"
    ]
    assert sorted(u.id for u in users for b in batches if u.id in b) == sorted(u.id for u in users)
    assert {task["params"]["hour"] for task in done.values()} == {f"{hour:%Y-%m-%dT%H}"}
    assert task_list(luigid, "FAILED") == {}
    assert Play.select().count() == 150 and EtlRun.get().status == "done"
