"""Changing the time zone: the account page answers without re-bucketing, the worker rebuilds,
and pages are right before, during and after (a play stored meanwhile is counted once)."""

from __future__ import annotations

import random
import threading

import pytest

from batch import worker
from models import stats
from models.ingest.plays import store_plays
from models.jobs import timezones
from models.schema.db import db as database
from models.schema.tables import Job, ListeningSummary, Play, User
from models.summaries import catalogue as catalogue_summaries
from models.summaries import listening
from tests.test_stats_equality import LAST, SEED, _summary_rows, answers, build_world
from tests.test_web_account import _post
from tests.webtools import login_as

NEW_ZONE = "Asia/Kolkata"


def _periods(tz: str):
    from models.periods import parse_period

    return [parse_period(key, tz=tz, now=LAST) for key in ("7d", "12m", "all")]


def _right_in(user_id: int, tz: str) -> None:
    """Every statistic the pages show equals the one computed from the raw plays in ``tz``."""
    for period in _periods(tz):
        shown = answers(user_id, period, "plays")
        with stats.from_raw_plays():
            raw = answers(user_id, period, "plays")
        for name in shown:
            if name == "taste_profile":  # float sums in another order: equal to 1e-3
                features, raw_features = shown[name].pop("features"), raw[name].pop("features")
                assert features is None or features == pytest.approx(raw_features, abs=1e-3)
            assert shown[name] == raw[name], (period.key, name)


def _rebuilt_rows(user_id: int) -> dict:
    """The rows a rebuild from the raw plays gives (the summaries are put back afterwards)."""
    with database.atomic() as transaction:
        listening.rebuild(user_id)
        rows = _summary_rows(user_id)
        transaction.rollback()
    return rows


def test_a_zone_change_answers_at_once_and_the_worker_rebuckets(client, db, settings):
    users, tracks, _ = build_world(random.Random(SEED + 5))
    user = User.get_by_id(users[1].id)
    assert user.timezone != NEW_ZONE
    before = _summary_rows(user.id)
    login_as(client, user)

    response = _post(client, "/account", "/account/timezone", timezone=NEW_ZONE)
    assert response.status_code == 302
    assert User.get_by_id(user.id).timezone == NEW_ZONE
    assert _summary_rows(user.id) == before  # nothing re-bucketed in the request
    assert listening.summary_timezone(user.id) == users[1].timezone
    assert Job.get(Job.kind == timezones.KIND).target == str(user.id)

    # Meanwhile: the ETL stores a play (into the old buckets) and every page is right.
    new_play = {"track_id": tracks[0].id, "played_at": LAST, "ms_played": 61_000}
    assert store_plays(user.id, [new_play], "api").added == 1
    assert listening.summary_timezone(user.id) == users[1].timezone
    assert timezones.recomputing(user.id)
    _right_in(user.id, NEW_ZONE)
    page = client.get("/dashboard?range=12m").get_data(as_text=True)
    assert 'id="recomputing-banner"' in page and f"Recomputing for {NEW_ZONE}" in page

    assert worker.run_until_idle(settings) == 1
    assert listening.summary_timezone(user.id) == NEW_ZONE
    assert not timezones.recomputing(user.id)
    assert _summary_rows(user.id) == _rebuilt_rows(user.id)
    _right_in(user.id, NEW_ZONE)
    assert 'id="recomputing-banner"' not in client.get("/dashboard").get_data(as_text=True)
    plays = ListeningSummary.get(ListeningSummary.user == user.id).plays
    assert plays == Play.select().where(Play.user == user.id).count()


def test_a_play_stored_during_the_rebuild_is_counted_once(db, settings, monkeypatch):
    """The rebuild holds the user's summary lock: a store that comes in meanwhile waits for it
    (PostgreSQL: the row lock; SQLite: the write lock), then adds to the rebuilt buckets."""
    users, tracks, _ = build_world(random.Random(SEED + 6))
    user = User.get_by_id(users[0].id)
    timezones.change_timezone(user, NEW_ZONE)
    plays_before = Play.select().where(Play.user == user.id).count()

    rebuilding, release = threading.Event(), threading.Event()
    real_rebuild = catalogue_summaries.rebuild

    def slow_rebuild(*args):
        real_rebuild(*args)
        rebuilding.set()
        assert release.wait(30)

    monkeypatch.setattr(catalogue_summaries, "rebuild", slow_rebuild)
    outcome: dict = {}

    def store():
        rebuilding.wait(30)
        try:
            late = {"track_id": tracks[1].id, "played_at": LAST, "ms_played": 42_000}
            outcome["result"] = store_plays(user.id, [late], "api")
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc
        finally:
            database.close()

    storer = threading.Thread(target=store)
    storer.start()
    rebuilder = threading.Thread(target=lambda: worker.run_until_idle(settings))
    rebuilder.start()
    assert rebuilding.wait(30)
    storer.join(0.5)
    assert storer.is_alive()  # waiting for the rebuild's lock, not storing beside it
    release.set()
    rebuilder.join(30)
    storer.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].added == 1
    monkeypatch.undo()

    assert Play.select().where(Play.user == user.id).count() == plays_before + 1
    summary = ListeningSummary.get(ListeningSummary.user == user.id)
    assert (summary.timezone, summary.plays) == (NEW_ZONE, plays_before + 1)
    assert _summary_rows(user.id) == _rebuilt_rows(user.id)
    _right_in(user.id, NEW_ZONE)


def test_a_zone_changed_behind_the_summaries_back_is_queued_by_the_worker(db, settings):
    users, tracks, _ = build_world(random.Random(SEED + 7))
    user = users[2]
    old_zone = listening.summary_timezone(user.id)
    User.update(timezone=NEW_ZONE).where(User.id == user.id).execute()
    new_play = {"track_id": tracks[0].id, "played_at": LAST, "ms_played": 1000}
    store_plays(user.id, [new_play], "api")
    assert listening.summary_timezone(user.id) == old_zone  # never rebuilt inline
    _right_in(user.id, NEW_ZONE)
    assert worker.run_until_idle(settings) == 1  # queue_stale found it
    assert listening.summary_timezone(user.id) == NEW_ZONE
    assert _summary_rows(user.id) == _rebuilt_rows(user.id)
    assert timezones.queue_stale() == 0


def test_an_unknown_zone_changes_nothing(db):
    from models.periods import PeriodError

    user = User.get_by_id(build_world(random.Random(SEED + 8))[0][0].id)
    with pytest.raises(PeriodError):
        timezones.change_timezone(user, "Nowhere/Special")
    assert User.get_by_id(user.id).timezone == user.timezone
    assert Job.select().count() == 0


def test_the_rebuild_of_a_deleted_account_does_nothing(db, settings):
    user = User.get_by_id(build_world(random.Random(SEED + 9))[0][0].id)
    timezones.change_timezone(user, NEW_ZONE)
    User.delete().where(User.id == user.id).execute()
    assert worker.run_until_idle(settings) == 1
    assert Job.get().state == "done"
