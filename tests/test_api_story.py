"""/me/story and /me/review: the token's user only, the figures of the core, bad input a 400
naming the parameter."""

from __future__ import annotations

import datetime as dt

import pytest

from models import stats
from models.ingest.plays import store_plays
from tests.factories import make_artist, make_track, make_user


@pytest.fixture
def pair(db):
    me, other = make_user(timezone="Asia/Kolkata"), make_user()
    mine = make_track(artists=[make_artist(name="Mine")], name="My Song")
    theirs = make_track(artists=[make_artist(name="Theirs")], name="Their Song")
    at = dt.datetime(2025, 5, 1, 18, 0)
    store_plays(
        me.id,
        [
            {"track_id": mine.id, "played_at": at + dt.timedelta(days=d), "ms_played": 60_000}
            for d in range(4)
        ],
        "api",
    )
    store_plays(other.id, [{"track_id": theirs.id, "played_at": at, "ms_played": 1}], "api")
    return me, other


def test_review_returns_the_core_figures_and_the_image_address(api, pair):
    me, _ = pair
    body = api.get("/me/review?year=2025", me).body
    review = stats.year_in_review(me.id, stats.year_period(2025, me.timezone))
    assert body["totals"] == review["totals"] and body["totals"]["plays"] == 4
    assert body["longest_streak"]["days"] == 4
    assert [row["name"] for row in body["top_tracks"]] == ["My Song"]
    assert body["discoveries"]["tracks"] == 1 and body["previous"]["totals"]["plays"] == 0
    assert body["image"]["png"].endswith("/review.png?year=2025")
    assert (
        body["period"]["from"] == "2025-01-01"
        and body["previous"]["period"]["from"] == "2024-01-01"
    )


def test_story_is_the_token_users_own(api, pair):
    me, other = pair
    body = api.get("/me/story?year=2025", other).body
    assert body["calendar"]["active_days"] == 1
    assert body["sessions"]["count"] == 1
    assert all(t["name"] != "My Song" for s in body["sessions"]["longest"] for t in s["tracks"])
    mine = api.get("/me/story?year=2025", me).body
    assert mine["calendar"]["active_days"] == 4 and mine["sessions"]["count"] == 4


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/me/review?year=abc", "year"),
        ("/me/review?year=2025&from=2025-01-01", "year"),
        ("/me/review?to=2025-01-01", "from"),
        ("/me/review?range=7d", "range"),
        ("/me/story?year=1900", "year"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api, pair, path, param):
    answer = api.get(path, pair[0])
    assert answer.status == 400
    assert answer.body["param"] == param
