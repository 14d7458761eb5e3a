"""Exclusions: a listener's statistics with an artist or track excluded equal the statistics of
a listener who never played it, and lifting the exclusion restores them exactly.

The twin is a second user in the same zone holding the same plays minus the excluded ones
(stored through ``store_plays`` like any plays); every statistic, detail page, the history and
the weekly charts of both are compared, from the summaries and from the raw plays.
"""

from __future__ import annotations

import datetime as dt
import random

from models import stats
from models.ingest.catalogue import upsert_tracks
from models.ingest.plays import store_plays
from models.jobs import exclusions
from models.schema.tables import ListeningSession, Play, TrackArtist, User
from tests.factories import make_album, make_artist, make_track, make_user, track_object
from tests.test_charts import stored_charts
from tests.test_stats_equality import answers, build_world, random_periods
from tests.workertools import run_worker_until_idle

SEED = 20261203


def everything(user_id: int, periods, tracks, artists) -> dict:
    """Every answer a listener can see, keyed so two users' can be compared."""
    seen = {}
    for i, period in enumerate(periods):
        sort = stats.SORT_KEYS[i % len(stats.SORT_KEYS)]
        seen[f"summaries {i}"] = answers(user_id, period, sort)
        with stats.from_raw_plays():
            seen[f"raw {i}"] = answers(user_id, period, sort)
    seen["tracks"] = [stats.track_detail(user_id, t.id) for t in tracks]
    seen["artists"] = [stats.artist_detail(user_id, a.id) for a in artists]
    seen["albums"] = [
        stats.album_detail(user_id, album_id)
        for album_id in sorted({t.album_id for t in tracks if t.album_id})
    ]
    page = stats.history(user_id, limit=1000)
    seen["history"] = ([{**row} for row in page.items], page.total)
    seen["charts"] = stored_charts(user_id)
    seen["sessions"] = sorted(
        (s.started_at, s.last_played_at, s.length_ms, s.plays, s.ms_played)
        for s in ListeningSession.select().where(ListeningSession.user == user_id)
    )
    seen["session stats"] = [stats.session_stats(user_id, period) for period in periods]
    return seen


def twin_of(user: User, excluded_tracks: set[str]) -> User:
    twin = make_user(timezone=user.timezone)
    for source in ("api", "import"):
        kept = [
            {"track_id": track_id, "played_at": at, "ms_played": ms}
            for track_id, at, ms in Play.select(Play.track, Play.played_at, Play.ms_played)
            .where((Play.user == user.id) & (Play.source == source))
            .tuples()
            if track_id not in excluded_tracks
        ]
        assert store_plays(twin.id, kept, source).added == len(kept)
    return twin


def test_excluded_plays_leave_every_statistic_and_come_back(db, make_settings):
    rng = random.Random(SEED)
    users, tracks, artists = build_world(rng)
    user = User.get_by_id(users[1].id)
    periods = random_periods(rng, user.timezone)
    before = everything(user.id, periods, tracks, artists)
    artist, track = artists[0], next(t for t in tracks if t.name.startswith("Track"))
    credited = {
        t
        for (t,) in TrackArtist.select(TrackArtist.track)
        .where(TrackArtist.artist == artist.id)
        .tuples()
    }
    exclusions.exclude(user.id, "artist", artist.id)
    exclusions.exclude(user.id, "track", track.id)
    assert exclusions.recomputing(user.id)
    assert run_worker_until_idle(make_settings()) == 1
    assert not exclusions.recomputing(user.id)
    twin = twin_of(user, credited | {track.id})
    excluded = everything(user.id, periods, tracks, artists)
    assert excluded == everything(twin.id, periods, tracks, artists)
    assert excluded != before
    assert [e["name"] for e in exclusions.exclusions_of(user.id)] == [artist.name, track.name]

    # New plays of an excluded track are stored but not counted, like the old ones.
    later = dt.datetime(2026, 6, 30, 12)
    store_plays(user.id, [{"track_id": track.id, "played_at": later, "ms_played": 1000}], "api")
    assert Play.select().where(Play.user == user.id, Play.played_at == later).exists()
    assert stats.track_detail(user.id, track.id) is None

    exclusions.include(user.id, "artist", artist.id)
    exclusions.include(user.id, "track", track.id)
    assert exclusions.include(user.id, "track", track.id) is None  # already lifted
    run_worker_until_idle(make_settings())
    Play.delete().where(Play.user == user.id, Play.played_at == later).execute()
    from models.summaries import listening, sessions

    listening.rebuild(user.id)  # without the extra play again
    sessions.rebuild_sessions(user.id)
    assert everything(user.id, periods, tracks, artists) == before


def test_a_track_linked_later_to_an_excluded_artist_leaves_the_statistics(db, make_settings):
    from models.periods import parse_period

    me = make_user()
    noise, kept = make_artist(name="White Noise"), make_track(name="Kept")
    stub = make_track(name="rain sounds")  # known from an import: no artists yet
    plays = [
        {"track_id": t.id, "played_at": dt.datetime(2026, 3, 2, h), "ms_played": 60_000}
        for h, t in ((1, stub), (2, stub), (3, kept))
    ]
    store_plays(me.id, plays, "import")
    exclusions.exclude(me.id, "artist", noise.id)
    run_worker_until_idle(make_settings())
    everything_period = parse_period("all", tz="UTC")
    assert stats.totals(me.id, everything_period)["plays"] == 3  # not known to be noise yet
    upsert_tracks([track_object(stub, [noise], make_album(name="Sleep"))])
    assert stats.totals(me.id, everything_period)["plays"] == 1
    with stats.from_raw_plays():
        assert stats.totals(me.id, everything_period)["plays"] == 1
    assert [row["name"] for row in stats.weekly_chart(me.id)["tracks"]] == ["Kept"]


def test_bad_exclusions_are_refused(db):
    import pytest

    me = make_user()
    with pytest.raises(exclusions.ExclusionError, match="kind"):
        exclusions.exclude(me.id, "album", "x")
    with pytest.raises(exclusions.ExclusionError, match="no artist"):
        exclusions.exclude(me.id, "artist", "nobody")
    assert exclusions.exclusions_of(me.id) == []


def test_the_account_page_and_the_api_exclude_and_lift(api, client, make_settings):
    from tests.webtools import csrf_token, login_as
    from tests.week_world import WEEK, World

    world = World()
    login_as(client, world.ada)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="no-exclusions"' in page
    token = csrf_token(page)
    assert (
        client.post("/account/exclusions", data={"kind": "artist", "item": "https://x"}).status_code
        == 400
    )  # no CSRF token: refused
    answer = client.post(
        "/account/exclusions",
        data={
            "csrf_token": token,
            "kind": "track",
            "item": f"https://open.spotify.com/track/{world.one.id}?si=abc",
        },
    )
    assert answer.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert 'id="recomputing"' in page and "One" in page.split('id="exclusion-list"')[1]
    run_worker_until_idle(make_settings())
    assert api.get(f"/me/stats?{WEEK}", world.ada).body["totals"]["plays"] == 3  # 7 - One's 4
    assert api.get(f"/me/stats?{WEEK}", world.bob).body["totals"]["plays"] == 6  # untouched
    listed = api.get("/me/exclusions", world.ada).body
    assert ([e["id"] for e in listed["items"]], listed["recomputing"]) == ([world.one.id], False)

    put = api.request(
        "PUT",
        f"/me/exclusions/artist/{world.y.id}",
        headers={"Authorization": f"Bearer {api.token(world.ada)}"},
    )
    assert put.status == 200 and put.body["recomputing"] is True
    run_worker_until_idle(make_settings())
    assert api.get(f"/me/stats?{WEEK}", world.ada).body["totals"]["plays"] == 0
    bad = api.request(
        "PUT",
        "/me/exclusions/album/abc",
        headers={"Authorization": f"Bearer {api.token(world.ada)}"},
    )
    assert bad.status == 400
    gone = api.request(
        "DELETE",
        f"/me/exclusions/artist/{world.y.id}",
        headers={"Authorization": f"Bearer {api.token(world.ada)}"},
    )
    assert gone.status == 200
    page = client.get("/account").get_data(as_text=True)
    client.post(
        "/account/exclusions/lift",
        data={"csrf_token": csrf_token(page), "kind": "track", "item": world.one.id},
    )
    run_worker_until_idle(make_settings())
    assert api.get(f"/me/stats?{WEEK}", world.ada).body["totals"]["plays"] == 7
    assert api.get("/me/exclusions", world.ada).body["items"] == []


def test_deleting_the_account_takes_its_charts_and_exclusions(db):
    from models.accounts.users import delete_user
    from models.schema.tables import ChartWeek, Exclusion
    from tests.factories import make_play

    me, other = make_user(), make_user()
    track = make_track()
    for user in (me, other):
        make_play(user, track, dt.datetime(2026, 3, 2, 12))
        exclusions.exclude(user.id, "track", track.id)
    delete_user(User.get_by_id(me.id))
    assert {row.user_id for row in ChartWeek.select()} == {other.id}
    assert {row.user_id for row in Exclusion.select()} == {other.id}
