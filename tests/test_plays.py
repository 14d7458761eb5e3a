"""store_plays: the one write path for plays, its deduplication and its summaries."""

from __future__ import annotations

import datetime as dt

import pytest

from models import stats
from models.accounts.users import delete_user
from models.ingest.plays import PLAY_TOLERANCE, InvalidPlay, StoreResult, store_plays
from models.periods import parse_period
from models.schema.tables import (
    HourSlot,
    ListeningSummary,
    Play,
    TrackDay,
    TrackMonth,
    TrackTotal,
    User,
)
from tests.factories import make_track, make_user

AT = dt.datetime(2026, 3, 1, 12, 0, 0)


def play(track, at, ms=200_000, context=None):
    return {"track_id": track.id, "played_at": at, "ms_played": ms, "context_uri": context}


def test_stores_new_plays_and_ignores_exact_duplicates(db):
    user, a, b = make_user(), make_track(), make_track()
    batch = [play(a, AT), play(b, AT + dt.timedelta(minutes=4), context="spotify:playlist:x")]
    assert store_plays(user.id, batch, "api") == StoreResult(added=2, duplicates=0)
    result = store_plays(user.id, batch, "api")
    assert (result.added, result.duplicates) == (0, 2)
    rows = list(Play.select().order_by(Play.played_at).dicts())
    assert [(r["track"], r["played_at"], r["source"]) for r in rows] == [
        (a.id, AT, "api"),
        (b.id, AT + dt.timedelta(minutes=4), "api"),
    ]
    assert rows[1]["context_uri"] == "spotify:playlist:x"


def test_first_run_reports_added_and_duplicates_within_the_batch(db):
    user, a = make_user(), make_track()
    result = store_plays(user.id, [play(a, AT), play(a, AT)], "import")
    assert (result.added, result.duplicates) == (1, 1)


def test_same_track_within_tolerance_from_the_other_source_is_the_same_play(db):
    user, a, b = make_user(), make_track(), make_track()
    store_plays(user.id, [play(a, AT)], "api")
    near = AT + PLAY_TOLERANCE - dt.timedelta(seconds=1)
    far = AT + PLAY_TOLERANCE + dt.timedelta(seconds=1)
    result = store_plays(
        user.id,
        [
            play(a, near),
            play(a, AT - dt.timedelta(seconds=3)),
            play(a, far),
            play(b, AT + dt.timedelta(seconds=2)),
        ],
        "import",
    )
    assert (result.added, result.duplicates) == (2, 2)
    stored = {(p.track_id, p.played_at, p.source) for p in Play.select()}
    assert stored == {
        (a.id, AT, "api"),
        (a.id, far, "import"),
        (b.id, AT + dt.timedelta(seconds=2), "import"),
    }


def test_import_first_then_api_is_deduplicated_too(db):
    user, a = make_user(), make_track()
    store_plays(user.id, [play(a, AT)], "import")
    result = store_plays(user.id, [play(a, AT + dt.timedelta(seconds=7))], "api")
    assert (result.added, result.duplicates) == (0, 1)
    assert Play.select().count() == 1


def test_rerunning_a_large_batch_adds_nothing_and_summaries_stay_equal(db):
    user, tracks = make_user(timezone="Asia/Kolkata"), [make_track() for _ in range(7)]
    batch = [
        play(tracks[i % 7], AT + dt.timedelta(minutes=3 * i), ms=1000 + i) for i in range(12_000)
    ]
    first = store_plays(user.id, batch, "import")
    assert (first.added, first.duplicates) == (12_000, 0)
    before = [
        list(model.select().where(model.user == user.id).tuples())
        for model in (TrackTotal, TrackDay, TrackMonth, HourSlot, ListeningSummary)
    ]
    again = store_plays(user.id, reversed(batch), "api")
    assert (again.added, again.duplicates) == (0, 12_000)
    after = [
        list(model.select().where(model.user == user.id).tuples())
        for model in (TrackTotal, TrackDay, TrackMonth, HourSlot, ListeningSummary)
    ]
    assert before == after
    summary = ListeningSummary.get(ListeningSummary.user == user.id)
    assert summary.plays == 12_000
    assert summary.ms_played == sum(1000 + i for i in range(12_000))


def test_aware_timestamps_are_stored_as_naive_utc(db):
    user, a = make_user(), make_track()
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    store_plays(user.id, [play(a, dt.datetime(2026, 3, 1, 17, 30, tzinfo=kolkata))], "api")
    assert Play.get().played_at == AT


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"played_at": AT, "ms_played": 1}, "missing key 'track_id'"),
        ({"track_id": "x", "played_at": "2026-03-01", "ms_played": 1}, "played_at must be"),
        ({"track_id": "x", "played_at": AT, "ms_played": -5}, "ms_played must be"),
    ],
)
def test_a_malformed_play_stores_nothing(db, bad, message):
    user, a = make_user(), make_track()
    with pytest.raises(InvalidPlay, match=message):
        store_plays(user.id, [play(a, AT), bad], "api")
    assert Play.select().count() == 0


def test_an_unknown_track_stores_nothing_and_says_so(db):
    user, a = make_user(), make_track()
    with pytest.raises(InvalidPlay, match=r"unknown track id.*nope"):
        store_plays(
            user.id, [play(a, AT), {"track_id": "nope", "played_at": AT, "ms_played": 1}], "api"
        )
    assert Play.select().count() == 0
    assert TrackTotal.select().count() == 0


def test_a_bad_source_is_refused(db):
    user, a = make_user(), make_track()
    with pytest.raises(ValueError, match="source"):
        store_plays(user.id, [play(a, AT)], "radio")


def test_a_failure_in_the_callers_transaction_rolls_back_plays_and_summaries(db):
    user, a = make_user(), make_track()
    with pytest.raises(RuntimeError), db.atomic():
        store_plays(user.id, [play(a, AT)], "api")
        raise RuntimeError("the caller's next step failed")
    assert Play.select().count() == 0
    assert TrackTotal.select().count() == 0 and HourSlot.select().count() == 0
    assert ListeningSummary.select().where(ListeningSummary.plays > 0).count() == 0


def test_deleting_a_user_removes_their_summaries_only(db):
    keep, gone, a = make_user(), make_user(), make_track()
    for user in (keep, gone):
        store_plays(user.id, [play(a, AT)], "api")
    delete_user(User.get_by_id(gone.id))
    for model in (TrackTotal, TrackDay, TrackMonth, HourSlot, ListeningSummary):
        assert model.select().where(model.user == gone.id).count() == 0
        assert model.select().where(model.user == keep.id).count() == 1
    period = parse_period("all", now=AT + dt.timedelta(days=1))
    assert stats.totals(keep.id, period)["plays"] == 1


def test_changing_time_zone_rebuckets_the_summaries(db):
    from models.accounts.users import set_timezone
    from models.periods import PeriodError

    user, a = make_user(timezone="UTC"), make_track()
    store_plays(user.id, [play(a, dt.datetime(2026, 3, 1, 23, 30))], "api")
    assert [d.day for d in TrackDay.select()] == [dt.date(2026, 3, 1)]
    set_timezone(user, "Asia/Kolkata")
    assert User.get_by_id(user.id).timezone == "Asia/Kolkata"
    assert [d.day for d in TrackDay.select()] == [dt.date(2026, 3, 2)]
    assert [(h.hour, h.weekday) for h in HourSlot.select()] == [(5, 0)]
    with pytest.raises(PeriodError):
        set_timezone(user, "Nowhere/Special")
    assert User.get_by_id(user.id).timezone == "Asia/Kolkata"
    period = parse_period("7d", tz="Asia/Kolkata", now=dt.datetime(2026, 3, 2, 12))
    assert stats.hours_of_day(user.id, period)[5]["plays"] == 1
