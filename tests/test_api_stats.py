"""Each /me endpoint's numbers against the small world of tests/week_world.py, whose
docstring gives the expected numbers for the week."""

from __future__ import annotations

import datetime as dt

import pytest

from models.schema.tables import ArtistGenre, Genre
from models.summaries import shown_genres
from tests.factories import make_features, make_play, make_user
from tests.week_world import WEEK, World

T = dt.datetime


@pytest.fixture
def world(api):
    return World()


def test_stats_totals_previous_period_series_and_clock(api, world):
    answer = api.get(f"/me/stats?{WEEK}", world.ada)
    assert answer.status == 200, answer
    body = answer.body
    assert body["period"]["start"] == "2026-03-01T00:00:00+00:00"
    assert body["period"]["end"] == "2026-03-08T00:00:00+00:00"
    assert body["totals"] == {
        "plays": 7,
        "ms_played": 1_300_000,
        "unique_tracks": 3,
        "unique_artists": 2,
        "unique_albums": 2,
    }
    previous = body["previous"]
    assert previous["period"]["from"] == "2026-02-22"
    assert previous["totals"]["plays"] == 1
    assert previous["totals"]["ms_played"] == 200_000
    assert previous["change"]["plays"] == {"difference": 6, "ratio": 6.0}
    by_day = {point["bucket"]: (point["plays"], point["ms_played"]) for point in body["series"]}
    assert {day: value for day, value in by_day.items() if value[0]} == {
        "2026-03-01": (1, 200_000),
        "2026-03-02": (1, 200_000),
        "2026-03-03": (1, 100_000),
        "2026-03-04": (1, 100_000),
        "2026-03-05": (1, 300_000),
        "2026-03-06": (1, 200_000),
        "2026-03-07": (1, 200_000),
    }
    hours = {row["hour"]: row["plays"] for row in body["hours"] if row["plays"]}
    assert hours == {8: 1, 10: 2, 12: 2, 21: 1, 23: 1}
    matrix = body["weekday_hour"]
    assert len(matrix) == 7 and all(len(row) == 24 for row in matrix)
    expected = {(6, 10), (0, 10), (1, 12), (2, 12), (3, 8), (4, 21), (5, 23)}
    assert {(day, hour) for day in range(7) for hour in range(24) if matrix[day][hour]} == expected
    assert sum(map(sum, matrix)) == 7


def test_periods_are_local_days_of_the_users_time_zone(api, world):
    tokyo = make_user(timezone="Asia/Tokyo")
    make_play(tokyo, world.one, T(2026, 2, 28, 16))  # Mar 1 01:00 in Tokyo: inside
    make_play(tokyo, world.one, T(2026, 3, 7, 16))  # Mar 8 01:00 in Tokyo: outside
    make_play(tokyo, world.one, T(2026, 3, 7, 14, 59))  # Mar 7 23:59 in Tokyo: inside
    body = api.get(f"/me/stats?{WEEK}", tokyo).body
    assert body["totals"]["plays"] == 2
    assert body["period"]["start"] == "2026-03-01T00:00:00+09:00"
    plays = api.get(f"/me/plays?{WEEK}", tokyo).body["items"]
    assert [play["played_at"] for play in plays] == [
        "2026-03-07T23:59:00+09:00",
        "2026-03-01T01:00:00+09:00",
    ]


def test_top_lists_rank_by_plays(api, world):
    tracks = api.get(f"/me/top/tracks?{WEEK}", world.ada).body
    assert [(row["name"], row["plays"], row["ms_played"]) for row in tracks["items"]] == [
        ("One", 4, 800_000),
        ("Two", 2, 200_000),
        ("Three", 1, 300_000),
    ]
    assert tracks["total"] == 3 and tracks["next"] is None
    assert tracks["items"][0]["artists"] == [{"id": world.x.id, "name": "Xenia"}]
    artists = api.get(f"/me/top/artists?{WEEK}", world.ada).body
    assert [(row["name"], row["plays"]) for row in artists["items"]] == [("Xenia", 6), ("Yusuf", 3)]
    albums = api.get(f"/me/top/albums?{WEEK}", world.ada).body
    assert [(row["name"], row["plays"]) for row in albums["items"]] == [
        ("First Album", 4),
        ("Second Album", 3),
    ]
    first = api.get(f"/me/top/tracks?{WEEK}&limit=2", world.ada).body
    assert [row["name"] for row in first["items"]] == ["One", "Two"]
    assert first["next"] == f"/me/top/tracks?{WEEK}&limit=2&offset=2"
    rest = api.get(first["next"], world.ada).body
    assert [row["name"] for row in rest["items"]] == ["Three"]
    assert rest["next"] is None


def test_unknown_popularity_is_null_not_zero(api, world):
    rows = {row["name"]: row for row in api.get(f"/me/tracks?{WEEK}", world.ada).body["items"]}
    assert rows["One"]["popularity"] is None
    assert rows["Two"]["popularity"] == 40
    artists = {
        row["name"]: row for row in api.get(f"/me/top/artists?{WEEK}", world.ada).body["items"]
    }
    assert (artists["Xenia"]["popularity"], artists["Yusuf"]["popularity"]) == (None, 61)
    detail = api.get(f"/me/artists/{world.x.id}", world.ada).body
    assert (detail["popularity"], detail["followers"]) == (None, None)


def test_unique_tracks_sort_search_and_page(api, world):
    by_plays = api.get(f"/me/tracks?{WEEK}", world.ada).body
    assert [row["name"] for row in by_plays["items"]] == ["One", "Two", "Three"]
    assert (by_plays["sort"], by_plays["order"], by_plays["total"]) == ("plays", "desc", 3)
    one = by_plays["items"][0]
    assert one["first_played_at"] == "2026-03-01T10:00:00+00:00"
    assert one["last_played_at"] == "2026-03-07T23:59:59+00:00"
    by_time = api.get(f"/me/tracks?{WEEK}&sort=time", world.ada).body
    assert [row["name"] for row in by_time["items"]] == ["One", "Three", "Two"]
    by_name = api.get(f"/me/tracks?{WEEK}&sort=name", world.ada).body
    assert [row["name"] for row in by_name["items"]] == ["One", "Three", "Two"]
    assert by_name["order"] == "asc"
    by_last = api.get(f"/me/tracks?{WEEK}&sort=last&order=asc", world.ada).body
    assert [row["name"] for row in by_last["items"]] == ["Two", "Three", "One"]
    found = api.get(f"/me/tracks?{WEEK}&q=tw", world.ada).body
    assert ([row["name"] for row in found["items"]], found["total"]) == (["Two"], 1)
    page = api.get(f"/me/tracks?{WEEK}&limit=1&offset=1", world.ada).body
    assert ([row["name"] for row in page["items"]], page["total"]) == (["Two"], 3)
    assert page["next"] == f"/me/tracks?{WEEK}&limit=1&offset=2"


def test_unique_artists_and_albums(api, world):
    artists = api.get(f"/me/artists?{WEEK}", world.ada).body
    assert [(row["name"], row["plays"], row["ms_played"]) for row in artists["items"]] == [
        ("Xenia", 6, 1_000_000),
        ("Yusuf", 3, 500_000),
    ]
    albums = api.get(f"/me/albums?{WEEK}&sort=name", world.ada).body
    assert [(row["name"], row["plays"]) for row in albums["items"]] == [
        ("First Album", 4),
        ("Second Album", 3),
    ]


def test_plays_newest_first_with_paging(api, world):
    first = api.get(f"/me/plays?{WEEK}&limit=3", world.ada).body
    assert first["total"] == 7
    assert [play["played_at"] for play in first["items"]] == [
        "2026-03-07T23:59:59+00:00",
        "2026-03-06T21:00:00+00:00",
        "2026-03-05T08:00:00+00:00",
    ]
    assert [play["track_id"] for play in first["items"]] == [
        world.one.id,
        world.one.id,
        world.three.id,
    ]
    assert first["next"] == f"/me/plays?{WEEK}&limit=3&offset=3"
    everything = api.get("/me/plays", world.ada).body
    assert everything["period"]["key"] == "all"
    assert everything["total"] == 9


def test_genres_and_taste_profile(api, world):
    indie, jazz = Genre.create(name="indie"), Genre.create(name="jazz")
    ArtistGenre.create(artist=world.x, genre=indie)
    ArtistGenre.create(artist=world.y, genre=jazz)
    shown_genres.refresh([world.x.id, world.y.id])  # as the artist step's writes keep them
    genres = api.get(f"/me/genres?{WEEK}", world.ada).body
    # a play counts for the genres of its track's lead artist (Two's is Xenia); share is of
    # all plays
    assert [(row["genre"], row["plays"], row["ms_played"]) for row in genres["items"]] == [
        ("indie", 6, 1_000_000),
        ("jazz", 1, 300_000),
    ]
    assert [row["share"] for row in genres["items"]] == [pytest.approx(6 / 7), pytest.approx(1 / 7)]
    top = api.get(f"/me/top/genres?{WEEK}", world.ada).body
    movement = ("rank", "previous_rank", "movement")  # the top list's, against last week
    assert [{k: v for k, v in row.items() if k not in movement} for row in top["items"]] == (
        genres["items"]
    )
    assert top["total"] is None
    profile = api.get(f"/me/profile?{WEEK}", world.ada).body
    assert profile["genres"] == genres["items"]


def test_audio_features_unavailable_for_a_development_mode_app(api, world):
    for track in (world.one, world.two, world.three):
        make_features(track, "forbidden")
    profile = api.get(f"/me/profile?{WEEK}", world.ada).body
    assert profile["features_status"] == "unavailable"
    assert profile["features"] is None
    assert profile["features_reason"] == "forbidden"
    assert "development mode" in profile["features_message"]


def test_audio_features_not_fetched_yet_say_so(api, world):
    profile = api.get(f"/me/profile?{WEEK}", world.ada).body
    assert (profile["features_status"], profile["features_reason"]) == ("unavailable", "pending")
    assert profile["features"] is None
    assert "not been fetched yet" in profile["features_message"]


def test_audio_feature_averages_when_spotify_gives_them(api, world):
    make_features(world.one, energy=0.8, danceability=0.5)
    make_features(world.two, energy=0.2, danceability=0.9)
    make_features(world.three, "forbidden")
    profile = api.get(f"/me/profile?{WEEK}", world.ada).body
    assert profile["features_status"] == "partial"
    # weighted by plays: one 4x, two 2x; three has none
    assert profile["features"]["energy"] == pytest.approx((4 * 0.8 + 2 * 0.2) / 6)
    assert profile["coverage"] == pytest.approx(6 / 7)


def test_a_token_never_reaches_another_users_data(api, world):
    ada_tracks = api.get(f"/me/tracks?{WEEK}", world.ada).body
    assert world.four.id not in {row["track_id"] for row in ada_tracks["items"]}
    assert api.get(f"/me/stats?{WEEK}", world.bob).body["totals"]["plays"] == 6
    missing = api.get(f"/me/tracks/{world.four.id}", world.ada)
    assert (missing.status, missing.error["Code"]) == (404, "NotFoundError")
    assert api.get(f"/me/tracks/{world.four.id}", world.bob).status == 200
    detail = api.get(f"/me/tracks/{world.one.id}", world.ada)
    assert (detail.status, detail.body["plays"]) == (200, 5)
    assert api.get(f"/me/artists/{world.x.id}", world.bob).status == 404
    assert api.get(f"/me/artists/{world.x.id}", world.ada).body["plays"] == 7
    assert api.get(f"/me/albums/{world.a1.id}", world.bob).status == 404
    second = api.get(f"/me/albums/{world.a2.id}", world.ada).body
    # in album order; these tracks have no track numbers, so by name
    assert (second["plays"], [t["name"] for t in second["tracks"]]) == (4, ["Three", "Two"])


BAD_QUERIES = [
    ("range=3d", "range"),
    ("range=7d&from=2026-03-01", "range"),
    ("from=2026-13-01", "from"),
    ("from=2026-03-05&to=2026-03-01", "from"),
    ("to=yesterday", "to"),
    ("limit=500", "limit"),
    ("limit=0", "limit"),
    ("offset=x", "offset"),
    ("offset=-1", "offset"),
    ("sort=popularity", "sort"),
    ("order=up", "order"),
    ("rnage=7d", "rnage"),
    ("q=" + "a" * 201, "q"),
    ("q=%00", "q"),
    ("range=7d&range=4w", "range"),
    ("to=0200-05-04", "to"),
    ("to=", "to"),
    ("limit=", "limit"),
]


def test_bad_parameters_are_400_naming_the_parameter(api):
    user = make_user()
    for query, param in BAD_QUERIES:
        answer = api.get(f"/me/tracks?{query}", user)
        assert answer.status == 400, (query, answer)
        assert answer.error["Code"] == "BadRequestError"
        assert answer.error["param"] == param, query
    assert api.get("/me/tracks?q=", user).status == 200  # an empty search filters nothing
    for path in (
        "/me/stats?range=1y",
        "/me/profile?from=x",
        "/me/plays?limit=201",
        "/me/top/tracks?offset=1e3",
        "/me/genres?to=2026-02-30",
    ):
        answer = api.get(path, user)
        assert answer.status == 400, (path, answer)
        assert answer.error["param"] == path.split("?")[1].split("=")[0]


def test_weekly_charts_chart_positions_and_movement(api, world):
    # Week world: Mar 1 is a Sunday, so Ada's plays fall in the weeks of Feb 23 and Mar 2.
    chart = api.get("/me/charts?week=2026-03-04", world.ada)
    assert chart.status == 200, chart
    body = chart.body
    assert (body["week"], body["previous_week"], body["next_week"]) == (
        "2026-03-02",
        "2026-02-23",
        None,
    )
    assert [(r["name"], r["position"], r["plays"], r["movement"]) for r in body["tracks"]] == [
        ("One", 1, 3, "same"),
        ("Three", 2, 2, "new"),  # ties Two on plays, more listening time
        ("Two", 3, 2, "new"),
    ]
    assert body["building"] is False
    assert api.get("/me/charts?week=soon", world.ada).error["param"] == "week"
    assert api.get("/me/charts?week=0001-01-01", world.ada).status == 400
    assert api.get("/me/charts", world.bob).body["tracks"][0]["name"] == "Three"
    detail = api.get(f"/me/tracks/{world.one.id}", world.ada).body["charts"]
    assert [(w["week"], w["position"]) for w in detail["weeks"]] == [
        ("2026-02-23", 1),
        ("2026-03-02", 1),
    ]
    assert (detail["weeks_at_1"], detail["peak"]) == (2, 1)
    top = api.get(f"/me/top/tracks?{WEEK}", world.ada).body["items"]
    assert [(r["name"], r["rank"], r["previous_rank"], r["movement"]) for r in top] == [
        ("One", 1, 1, "same"),
        ("Two", 2, None, "new"),
        ("Three", 3, None, "new"),
    ]
    assert "movement" not in api.get("/me/top/tracks?range=all", world.ada).body["items"][0]
