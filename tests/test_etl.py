"""The ETL end to end: Luigi runs against the sandbox over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import luigi
import pytest

from models.ingest import catalogue
from models.schema.tables import Artist, AudioFeatures, EtlLog, EtlRun, SyncGap, Track, User
from tests.etl_world import connect_listeners, naive, run_etl, snapshot, stored, truth

HOUR = dt.timedelta(hours=1)


def window_truth(sandbox, user, until):
    """What the first sync may see (the last 50 plays) and everything played after it."""
    plays = sandbox.plays(user.spotify_id, until - dt.timedelta(days=30), until)
    start = naive(dt.datetime.fromisoformat(plays[-50]["played_at"].replace("Z", "+00:00")))
    return start


def assert_complete(sandbox, users, first_sync, now):
    """Every play since the first sync's window is stored, exactly once, and nothing else."""
    for user in users:
        start = window_truth(sandbox, user, first_sync)
        expected = truth(sandbox, user, start, now + dt.timedelta(seconds=1))
        got = stored(user)
        assert len(got) == len(set(got)), "a play is stored twice"
        assert set(got) == expected, f"{user.spotify_id}: plays differ from the ground truth"


def test_a_run_twice_for_the_same_hour_adds_nothing(etl, fresh_sandbox):
    users = connect_listeners(fresh_sandbox, 3)
    hour = naive(fresh_sandbox.now())
    first = run_etl(etl, hour)
    assert first.status == luigi.LuigiStatusCode.SUCCESS
    before = snapshot()
    assert len(before["plays"]) == 150 and before["features"] and before["genres"]
    calls = fresh_sandbox.calls()["calls"]

    again = run_etl(etl, hour)  # every target exists: nothing runs, nothing is called
    assert again.status == luigi.LuigiStatusCode.SUCCESS
    assert fresh_sandbox.calls()["calls"] == calls

    for path in (etl.data_dir / "etl").rglob("*.json*"):  # lose every target: all steps rerun
        path.unlink()
    assert run_etl(etl, hour).status == luigi.LuigiStatusCode.SUCCESS
    assert snapshot() == before
    logs = EtlLog.select().where(EtlLog.user == users[0].id, EtlLog.step == "load")
    assert [(row.new_plays, row.status) for row in logs] == [(0, "done")]  # replaced, not added
    run = EtlRun.get()
    assert run.status == "done" and run.app_mode == "extended"
    assert run.summary_data["api_calls"]["recently_played"] == 3


def test_consecutive_hours_store_every_play_exactly_once(etl, fresh_sandbox):
    users = connect_listeners(fresh_sandbox, 4)
    start = naive(fresh_sandbox.now())
    for n in range(8):
        hour = start + n * HOUR
        fresh_sandbox.set_clock(hour.replace(tzinfo=dt.UTC))
        assert run_etl(etl, hour).status == luigi.LuigiStatusCode.SUCCESS
    assert_complete(fresh_sandbox, users, start, start + 7 * HOUR)
    # Only the first syncs saw a full window (older history is the import's); no gap after.
    gaps = SyncGap.select().order_by(SyncGap.user)
    assert [(g.user_id, naive(g.gap_start)) for g in gaps] == [
        (user.id, catalogue.HISTORY_BEGINS) for user in users
    ]
    # Each track's features and each artist's details were asked for once and are stored.
    assert Track.select().count() == AudioFeatures.select().count()
    assert Artist.select().where(Artist.details_fetched_at.is_null()).count() == 0
    # One page per user and run; one catalogue call per 100 new tracks / 50 new artists a run.
    calls = fresh_sandbox.calls()["calls"]
    assert calls["recently_played"] == 4 * 8

    def logged(step):
        return [row.new_rows for row in EtlLog.select().where(EtlLog.step == step)]

    assert sum(logged("features")) == AudioFeatures.select().count()  # each track read once
    assert sum(logged("artists")) == Artist.select().count()  # each artist read once
    assert calls["audio_features"] == sum(-(-n // 100) for n in logged("features")) > 0
    assert calls["artists"] == sum(-(-n // 50) for n in logged("artists")) > 0
    assert "tracks" not in calls and "artist" not in calls
    # Each extract read only what was new since the cursor.
    extracted = {
        (row.run_id, row.user_id): row.new_rows
        for row in EtlLog.select().where(EtlLog.step == "extract")
    }
    loaded = {
        (row.run_id, row.user_id): row.new_plays
        for row in EtlLog.select().where(EtlLog.step == "load")
    }
    assert extracted == loaded and sum(loaded.values()) == len(snapshot()["plays"])


def test_a_long_pause_records_a_gap_and_loses_nothing_it_can_see(etl, fresh_sandbox):
    [user] = connect_listeners(fresh_sandbox, 1)
    start = naive(fresh_sandbox.now())
    run_etl(etl, start)
    cursor = naive(User.get_by_id(user.id).last_played_at)
    later = start + 3 * 24 * HOUR  # three days without a run: more than 50 plays
    fresh_sandbox.set_clock(later.replace(tzinfo=dt.UTC))
    run_etl(etl, later)
    first_sync, gap = SyncGap.select().where(SyncGap.user == user.id).order_by(SyncGap.gap_start)
    assert naive(first_sync.gap_start) == catalogue.HISTORY_BEGINS
    visible = sorted(
        truth(
            fresh_sandbox,
            user,
            cursor + dt.timedelta(milliseconds=1),
            later + dt.timedelta(seconds=1),
        )
    )[-50:]
    assert naive(gap.gap_start) == cursor and naive(gap.gap_end) == visible[0][0]
    assert set(visible) <= set(stored(user))
    assert EtlLog.get(
        EtlLog.step == "load", EtlLog.run == EtlRun.get(EtlRun.hour == later)
    ).error.startswith("possible gap")


def test_the_run_hour_defaults_to_the_current_hour_and_names_the_targets(make_settings):
    from batch import Extract, SpotifyEtl, runtime
    from models.ingest.etl import run_hour

    before = run_hour()
    default = SpotifyEtl().hour
    assert default in (before, run_hour()) and default.minute == 0
    parsed = SpotifyEtl.from_str_params({"hour": "2026-11-26T18"}).hour
    assert parsed == dt.datetime(2026, 11, 26, 18)
    runtime.use(make_settings())
    path = Extract(hour=parsed, first_user_id=101, last_user_id=200).output().path
    assert path.endswith("etl/2026-11-26T18/extract/users-101-200.jsonl")


def test_every_etl_process_takes_its_web_api_slots_from_one_row(etl):
    from models.ingest import etl as etl_steps
    from models.ingest.etl import Run
    from models.schema.tables import RateLimit

    hour = dt.datetime(2026, 11, 26, 18)
    first = Run(etl, hour, call_interval=0.5).app.pacer
    second = Run(etl, hour, call_interval=0.5).app.pacer  # as another worker process's run
    assert first is not second

    def row() -> float:
        return RateLimit.get().next_at

    block = etl_steps.SLOTS_PER_BOOKING
    first.reserve(10)  # books a block of slots: the row moves past all of them
    after_first = row()
    first.reserve(10)  # the block's next slot: no booking
    assert row() == after_first
    second.reserve(10)  # the other process's block comes after the first's
    assert row() - after_first == pytest.approx(0.5 * block)
    assert RateLimit.select().count() == 1
    assert Run(etl, hour).app.pacer is not first  # unpaced (call_interval 0): the local pacer


def test_a_process_that_fell_behind_gives_up_its_booked_slots(db):
    from models.schema.pacing import BlockPacer, DatabasePacer

    now = [1000.0]
    shared = DatabasePacer("spotify:test", 1.0, clock=lambda: now[0])
    pacer = BlockPacer(shared, 3, clock=lambda: now[0])
    assert [pacer.reserve(60) for _ in range(3)] == [0.0, 1.0, 2.0]  # one booking, 3 slots
    assert pacer.reserve(60) == 3.0  # the next block, right after the first
    now[0] = 1010.0  # the process stalled: slots 1004 and 1005 are long gone
    assert pacer.reserve(60) == 0.0  # a fresh block from now, not a burst of old slots
    assert shared.reserve(60) == 3.0  # the row moved past that block: others come after it


def test_users_are_batched_by_fixed_id_ranges():
    from batch.extract import user_batches

    assert user_batches([], 100) == []
    assert user_batches([1, 2, 100], 100) == [(1, 100)]
    assert user_batches([100, 101, 350, 7], 100) == [(1, 100), (101, 200), (301, 400)]
    assert user_batches([5, 6, 7], 2) == [(5, 6), (7, 8)]  # the same ranges whoever asks


def test_old_run_directories_are_pruned(make_settings):
    from batch import runtime

    runtime.use(make_settings())
    now = dt.datetime(2026, 11, 26, 18)
    for days in (0, 6, 8, 30):
        (runtime.etl_dir() / f"{now - dt.timedelta(days=days):%Y-%m-%dT%H}").mkdir(parents=True)
    (runtime.etl_dir() / "notes").mkdir()
    assert runtime.prune_targets(now) == 2
    assert sorted(p.name for p in runtime.etl_dir().iterdir()) == [
        "2026-11-20T18",
        "2026-11-26T18",
        "notes",
    ]
