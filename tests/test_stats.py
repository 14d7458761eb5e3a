"""Each statistic against a hand-computed world, read from the summaries and from raw plays.

The world has near misses on purpose: a play one second before the period, one exactly at its
end, another user's plays of the same track, and a play at 23:30 UTC, which is already the next
day in Asia/Kolkata (UTC+5:30).
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from models import stats
from models.ingest.plays import store_plays
from models.periods import Period, parse_period
from models.schema.tables import ArtistGenre, AudioFeatures, Genre
from models.summaries import listening, shown_genres
from tests.factories import make_album, make_artist, make_track, make_user

NOW = dt.datetime(2026, 11, 26, 12, 0)
KOLKATA = "Asia/Kolkata"
START = dt.datetime(2026, 11, 19, 18, 30)  # 7d in Kolkata: local 2026-11-20 .. 2026-11-26
END = dt.datetime(2026, 11, 26, 18, 30)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(params=["summaries", "raw"])
def source(request):
    """Run the test against the summaries and against the raw plays."""
    with stats.from_raw_plays() if request.param == "raw" else contextlib.nullcontext():
        yield request.param


@pytest.fixture
def world(db):
    indie, pop = Genre.create(name="indie"), Genre.create(name="pop")
    x, y = make_artist(name="Xenia"), make_artist(name="Yann")
    ArtistGenre.create(artist=x, genre=indie)
    ArtistGenre.create(artist=x, genre=pop)
    ArtistGenre.create(artist=y, genre=pop)
    shown_genres.refresh([x.id, y.id])  # as the artist step's writes keep them
    album = make_album(name="Long Player", image_url="https://img.test/lp.jpg")
    a = make_track(name="Alpha", artists=[x, y], album=album, popularity=None)
    b = make_track(name="Beta", artists=[y], album=None)
    unplayed = make_track(name="Gamma", artists=[x])
    AudioFeatures.create(
        track=a,
        status="ok",
        danceability=0.5,
        energy=0.25,
        valence=0.75,
        acousticness=0.125,
        instrumentalness=0.0,
        speechiness=0.0625,
        liveness=0.5,
        tempo=120.0,
    )
    AudioFeatures.create(track=b, status="forbidden")
    me, other = make_user(timezone=KOLKATA), make_user(timezone="UTC")

    def p(track, at, ms):
        return {"track_id": track.id, "played_at": at, "ms_played": ms}

    store_plays(
        me.id,
        [
            p(b, START - SECOND, 10_000),  # one second too early
            p(a, START, 100_000),  # local 2026-11-20 00:00, a Friday
            p(a, dt.datetime(2026, 11, 25, 23, 30), 200_000),  # local 2026-11-26 05:00, Thursday
            p(b, dt.datetime(2026, 11, 22, 10, 0), 50_000),  # local 15:30, Sunday
            p(b, END - SECOND, 60_000),  # local 23:59:59 on the last day
            p(a, END, 70_000),  # local midnight after the period
        ],
        "api",
    )
    store_plays(other.id, [p(a, START + dt.timedelta(hours=h), 1) for h in range(3)], "api")
    return dict(me=me, other=other, a=a, b=b, x=x, y=y, album=album, unplayed=unplayed)


def week(tz=KOLKATA):
    return parse_period("7d", tz=tz, now=NOW)


def test_totals(world, source):
    assert stats.totals(world["me"].id, week()) == {
        "plays": 4,
        "ms_played": 410_000,
        "unique_tracks": 2,
        "unique_artists": 2,
        "unique_albums": 1,
    }


def test_totals_in_utc_bucket_the_same_plays_differently(world, source):
    # UTC days 11-20..11-26: the 18:30 play is out, the two late ones are in.
    assert stats.totals(world["me"].id, week("UTC")) == {
        "plays": 4,
        "ms_played": 380_000,
        "unique_tracks": 2,
        "unique_artists": 2,
        "unique_albums": 1,
    }


def test_previous_period_and_all_time(world, source):
    me = world["me"].id
    assert stats.totals(me, week().previous())["plays"] == 1
    everything = parse_period("all", tz=KOLKATA, now=NOW + dt.timedelta(days=1))
    assert stats.totals(me, everything)["plays"] == 6
    assert stats.totals(me, everything)["ms_played"] == 490_000


def test_top_tracks(world, source):
    rows = stats.top_tracks(world["me"].id, week())
    assert [(r["track_id"], r["plays"], r["ms_played"]) for r in rows] == [
        (world["a"].id, 2, 300_000),
        (world["b"].id, 2, 110_000),
    ]
    alpha = rows[0]
    assert alpha["name"] == "Alpha" and alpha["album_name"] == "Long Player"
    assert alpha["image_url"] == "https://img.test/lp.jpg"
    assert alpha["artists"] == [
        {"id": world["x"].id, "name": "Xenia"},
        {"id": world["y"].id, "name": "Yann"},
    ]
    assert alpha["popularity"] is None  # unknown stays unknown
    assert rows[1]["album_id"] is None
    assert [r["track_id"] for r in stats.top_tracks(world["me"].id, week(), 1, 1)] == [
        world["b"].id
    ]


def test_top_artists_albums_genres(world, source):
    me = world["me"].id
    assert [
        (r["artist_id"], r["plays"], r["ms_played"]) for r in stats.top_artists(me, week())
    ] == [(world["y"].id, 4, 410_000), (world["x"].id, 2, 300_000)]
    albums = stats.top_albums(me, week())
    assert [(r["album_id"], r["plays"], r["name"]) for r in albums] == [
        (world["album"].id, 2, "Long Player")
    ]
    assert albums[0]["artists"] == [{"id": world["x"].id, "name": "Xenia"}]
    # Genres come from the lead artist: Alpha (Xenia) is indie and pop, Beta (Yann) is pop.
    assert stats.top_genres(me, week()) == [
        {"source": "spotify", "genre": "pop", "plays": 4, "ms_played": 410_000, "share": 1.0},
        {"source": "spotify", "genre": "indie", "plays": 2, "ms_played": 300_000, "share": 0.5},
    ]


def test_unique_tracks_sort_search_and_pages(world, source):
    me = world["me"].id
    page = stats.unique_tracks(me, week(), sort="name", descending=False)
    assert [r["name"] for r in page.items] == ["Alpha", "Beta"] and page.total == 2
    assert page.items[0]["first_played_at"] == START
    assert page.items[0]["last_played_at"] == dt.datetime(2026, 11, 25, 23, 30)
    by_last = stats.unique_tracks(me, week(), sort="last", limit=1)
    assert [r["name"] for r in by_last.items] == ["Beta"]
    assert (by_last.total, by_last.next_offset) == (2, 1)
    assert [r["name"] for r in stats.unique_tracks(me, week(), search="bet").items] == ["Beta"]
    # Searching by artist name finds their tracks.
    assert [r["name"] for r in stats.unique_tracks(me, week(), search="xen").items] == ["Alpha"]
    assert stats.unique_tracks(me, week(), search="nothing like it").total == 0
    # LIKE's wildcards in a search are plain characters.
    assert stats.unique_tracks(me, week(), search="%").total == 0
    assert stats.unique_tracks(me, week(), search="A_pha").total == 0
    assert [r["name"] for r in stats.unique_tracks(me, week(), search="ALP").items] == ["Alpha"]
    assert stats.unique_tracks(me, week(), offset=5).total == 2
    with pytest.raises(ValueError, match="sort"):
        stats.unique_tracks(me, week(), sort="loudness")


def test_unique_artists_and_albums(world, source):
    me = world["me"].id
    artists = stats.unique_artists(me, week(), sort="time", descending=False)
    assert [(r["name"], r["plays"], r["tracks"]) for r in artists.items] == [
        ("Xenia", 2, 1),
        ("Yann", 4, 2),
    ]
    assert artists.items[1]["last_played_at"] == END - SECOND
    albums = stats.unique_albums(me, week(), search="long")
    assert [(r["name"], r["plays"]) for r in albums.items] == [("Long Player", 2)]
    with pytest.raises(ValueError, match="sort"):
        stats.unique_albums(me, week(), sort="bogus")


def test_listening_series_by_local_day(world, source):
    series = stats.listening_series(world["me"].id, week())
    assert series == [
        {"bucket": "2026-11-20", "plays": 1, "ms_played": 100_000},
        {"bucket": "2026-11-21", "plays": 0, "ms_played": 0},
        {"bucket": "2026-11-22", "plays": 1, "ms_played": 50_000},
        {"bucket": "2026-11-23", "plays": 0, "ms_played": 0},
        {"bucket": "2026-11-24", "plays": 0, "ms_played": 0},
        {"bucket": "2026-11-25", "plays": 0, "ms_played": 0},
        {"bucket": "2026-11-26", "plays": 2, "ms_played": 260_000},
    ]
    weekly = stats.listening_series(world["me"].id, week(), bucket="week")
    # Weeks start on Monday: Friday 20th and Sunday 22nd are one week.
    assert weekly == [
        {"bucket": "2026-11-16", "plays": 2, "ms_played": 150_000},
        {"bucket": "2026-11-23", "plays": 2, "ms_played": 260_000},
    ]


def test_hours_and_weekday_hour_in_local_time(world, source):
    hours = stats.hours_of_day(world["me"].id, week())
    assert len(hours) == 24
    assert {h["hour"]: h["plays"] for h in hours if h["plays"]} == {0: 1, 5: 1, 15: 1, 23: 1}
    assert hours[5]["ms_played"] == 200_000
    matrix = stats.weekday_hour(world["me"].id, week())
    assert len(matrix) == 7 and all(len(row) == 24 for row in matrix)
    cells = {(d, h): n for d, row in enumerate(matrix) for h, n in enumerate(row) if n}
    assert cells == {(4, 0): 1, (3, 5): 1, (6, 15): 1, (3, 23): 1}


def test_taste_profile_partial_when_features_are_forbidden(world, source):
    profile = stats.taste_profile(world["me"].id, week())
    assert profile["features_status"] == "partial"
    assert profile["features_reason"] == "forbidden"
    assert profile["coverage"] == 0.5
    assert profile["features"]["danceability"] == 0.5
    assert profile["features"]["tempo"] == 120.0
    assert [g["genre"] for g in profile["genres"]] == ["pop", "indie"]


def test_taste_profile_unavailable_and_no_data(world, source):
    AudioFeatures.update(
        status="forbidden",
        danceability=None,
        energy=None,
        valence=None,
        acousticness=None,
        instrumentalness=None,
        speechiness=None,
        liveness=None,
        tempo=None,
    ).execute()
    listening.rebuild(world["me"].id)  # features edited behind the ETL's back
    profile = stats.taste_profile(world["me"].id, week())
    assert profile["features"] is None and profile["features_status"] == "unavailable"
    assert profile["coverage"] == 0.0 and profile["genres"]  # genres still there
    empty = stats.taste_profile(make_user().id, week())
    assert empty["features_status"] == "no_data" and empty["features"] is None


def test_history_newest_first(world, source):
    page = stats.history(world["me"].id, limit=2)
    assert page.total == 6
    assert [(r["track_id"], r["played_at"]) for r in page.items] == [
        (world["a"].id, END),
        (world["b"].id, END - SECOND),
    ]
    assert page.items[1]["artists"] == [{"id": world["y"].id, "name": "Yann"}]
    in_week = stats.history(world["me"].id, period=week(), limit=10)
    assert in_week.total == 4 and in_week.items[-1]["played_at"] == START


def test_track_and_artist_detail(world, source):
    me = world["me"].id
    alpha = stats.track_detail(me, world["a"].id)
    assert (alpha["plays"], alpha["ms_played"]) == (3, 370_000)
    assert (alpha["first_played_at"], alpha["last_played_at"]) == (START, END)
    assert alpha["share"] == 0.5
    assert alpha["series"] == [{"bucket": "2026-11-01", "plays": 3, "ms_played": 370_000}]
    assert stats.track_detail(me, world["unplayed"].id) is None
    assert stats.track_detail(me, "no-such-track") is None
    yann = stats.artist_detail(me, world["y"].id)
    assert (yann["plays"], yann["tracks"], yann["genres"]) == (6, 2, ["pop"])
    assert yann["last_played_at"] == END and yann["share"] == 1.0
    assert [t["name"] for t in yann["top_tracks"]] == ["Alpha", "Beta"]
    assert stats.artist_detail(me, "nobody") is None
    # The other user played Alpha, never Beta: Beta's page is a 404 for them.
    assert stats.track_detail(world["other"].id, world["b"].id) is None
    assert stats.artist_detail(world["other"].id, world["x"].id)["plays"] == 3


def test_album_detail(world, source):
    me = world["me"].id
    album = stats.album_detail(me, world["album"].id)
    # Only Alpha is on the album: Beta's plays are not the album's.
    assert (album["plays"], album["ms_played"], album["share"]) == (3, 370_000, 0.5)
    assert (album["first_played_at"], album["last_played_at"]) == (START, END)
    assert [(t["name"], t["plays"]) for t in album["tracks"]] == [("Alpha", 3)]
    assert {a["name"] for a in album["artists"]} == {"Xenia"}  # the lead of its tracks
    assert album["series"] == [{"bucket": "2026-11-01", "plays": 3, "ms_played": 370_000}]
    assert stats.album_detail(me, "no-such-album") is None
    unplayed = make_album(name="Never")
    make_track(name="Delta", artists=[world["x"]], album=unplayed)
    assert stats.album_detail(me, unplayed.id) is None
    assert stats.album_detail(world["other"].id, world["album"].id)["plays"] == 3


def test_other_users_plays_never_count(world, source):
    other = world["other"].id
    assert stats.totals(other, week(KOLKATA))["plays"] == 3
    assert stats.totals(other, week(KOLKATA))["ms_played"] == 3


def test_a_user_without_plays_gets_empty_answers(db, source):
    user = make_user().id
    period = parse_period("all", now=NOW)
    assert stats.totals(user, period)["plays"] == 0
    assert stats.top_tracks(user, period) == [] and stats.top_genres(user, period) == []
    assert stats.unique_tracks(user, period).total == 0
    assert stats.listening_series(user, period) == []
    assert sum(h["plays"] for h in stats.hours_of_day(user, period)) == 0
    assert stats.history(user).total == 0


def test_a_hand_made_period_with_odd_bounds_is_exact(world, source):
    odd = Period(START + dt.timedelta(minutes=1), END, KOLKATA)
    assert stats.totals(world["me"].id, odd)["plays"] == 3


def test_bad_paging_is_refused(world):
    with pytest.raises(ValueError, match="limit"):
        stats.top_tracks(world["me"].id, week(), limit=0)
    with pytest.raises(ValueError, match="offset"):
        stats.history(world["me"].id, offset=-1)


def test_open_data_lengths_of_a_heavy_listener_do_not_overflow(db):
    """plays × length of one track passes 2**31 for a listener with years of history (10,000
    plays of a 4-minute track): PostgreSQL's integers would overflow inside the sum."""
    user = make_user()
    track = make_track(duration_ms=1_500_000_000)  # two plays: 3e9 ms, past 2**31
    at = dt.datetime(2026, 1, 1, 12)
    plays = [
        {"track_id": track.id, "played_at": at + dt.timedelta(days=n), "ms_played": 200_000}
        for n in range(2)
    ]
    assert store_plays(user.id, plays, "api").added == 2
    profile = stats.taste_profile(user.id, parse_period("all", tz="UTC"))
    assert profile["open_data"]["average_length_ms"] == 1_500_000_000
