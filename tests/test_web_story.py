"""The listening story pages through the test client: figures equal the core's, the image
downloads as SVG and PNG, empty and "being built" states, bad input, and nobody else's plays."""

from __future__ import annotations

import datetime as dt

import pytest

from models import stats
from models.ingest.plays import store_plays
from models.jobs import sessions as session_jobs
from models.schema.db import utcnow
from tests.factories import make_artist, make_track, make_user
from tests.webtools import login_as, text_of, value


@pytest.fixture
def world(db):
    """ "me" listened on the last three days (a streak of 3) and a year ago; "other" listened
    to a track of their own today."""
    now = utcnow().replace(microsecond=0)
    me, other = make_user(display_name="Me <b>", timezone="UTC"), make_user()
    artist = make_artist(name="Aurora Lane")
    song = make_track(artists=[artist], name="Morning Song")
    theirs = make_track(artists=[make_artist(name="Nobody Here")], name="Not Mine")
    plays = []
    for days in (0, 1, 2, 366):
        start = now - dt.timedelta(days=days, minutes=30)
        plays += [
            {
                "track_id": song.id,
                "played_at": start + dt.timedelta(minutes=4 * n),
                "ms_played": 200_000,
            }
            for n in range(3)
        ]
    store_plays(me.id, plays, "api")
    store_plays(other.id, [{"track_id": theirs.id, "played_at": now, "ms_played": 1000}], "api")
    return dict(me=me, other=other, song=song, theirs=theirs, now=now)


def test_story_page_shows_streaks_calendar_sessions_and_nobody_elses_plays(client, world):
    login_as(client, world["me"])
    response = client.get("/story")
    html = text_of(response)
    assert response.status_code == 200
    found = stats.streaks(world["me"].id, "UTC")
    assert value(html, "current-streak") == f"{found['current']['days']} days"
    assert found["current"]["days"] >= 2  # around midnight the three days may be two
    assert value(html, "longest-streak") == f"{found['longest']['days']} days"
    assert "<svg" in html and "Minutes per day in" in html
    assert "Morning Song" in html and "Not Mine" not in html
    year = stats.year_period(world["now"].year, "UTC")
    assert value(html, "session-count") == str(stats.session_stats(world["me"].id, year)["count"])
    assert 'id="young-history"' not in html  # a year of history


def test_review_page_and_its_image(client, world):
    login_as(client, world["me"])
    year = world["now"].year
    html = text_of(client.get("/review", query_string={"year": year}))
    review = stats.year_in_review(world["me"].id, stats.year_period(year, "UTC"))
    assert value(html, "review-plays") == str(review["totals"]["plays"])
    assert value(html, "review-minutes") == str(review["totals"]["ms_played"] // 60_000)
    assert "Not Mine" not in html
    svg = client.get(f"/review.svg?year={year}")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    body = svg.get_data(as_text=True)
    assert "Morning Song" in body and "Me &lt;b&gt;" in body and "Not Mine" not in body
    assert "http" not in body.replace("http://www.w3.org/2000/svg", "")  # nothing external
    png = client.get(f"/review.png?year={year}")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n" and len(png.data) > 10_000
    custom = client.get(
        "/review", query_string={"from": f"{year - 1}-01-01", "to": f"{year}-12-31"}
    )
    assert custom.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"year": "20x5"},
        {"year": "3000"},
        {"year": "2025", "from": "2025-01-01"},
        {"to": "2025-01-01"},
    ],
)
def test_a_bad_review_period_is_a_clear_400(client, world, query):
    login_as(client, world["me"])
    response = client.get("/review", query_string=query)
    assert response.status_code == 400
    assert 'id="review-error"' in text_of(response)
    assert client.get("/review.png", query_string=query).status_code == 400


def test_a_new_listener_sees_empty_states_and_a_backlogged_one_sees_building(client, db, settings):
    newcomer = make_user()
    login_as(client, newcomer)
    html = text_of(client.get("/story"))
    for element in ("calendar-empty", "sessions-empty", "discoveries-empty", "rediscover-empty"):
        assert f'id="{element}"' in html
    assert 'id="review-empty"' in text_of(client.get("/review"))
    session_jobs.queue_build(newcomer.id)
    assert 'id="sessions-building"' in text_of(client.get("/story"))


def test_story_pages_need_a_login(client, db):
    for path in ("/story", "/review", "/review.svg"):
        response = client.get(path)
        assert response.status_code in (302, 401)
