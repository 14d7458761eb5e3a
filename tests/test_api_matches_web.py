"""The API and the web pages show the same numbers for the same user and period.

The pages' numbers are read from what Flask handed their templates (``template_rendered``),
the API's from its JSON, for the hand-computed world of week_world.py and a listener in
another time zone, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import make_play, make_user
from tests.webtools import csrf_token, login_as, page_context
from tests.week_world import WEEK, World


def _page(web_app, web_client, path: str) -> dict:
    with page_context(web_app) as rendered:
        response = web_client.get(path)
    assert response.status_code == 200, path
    return rendered[-1]


@pytest.fixture
def listeners(api):
    world = World()
    paris = make_user(display_name="Paris", timezone="Europe/Paris")
    for at in (
        dt.datetime(2026, 2, 28, 23, 30),
        dt.datetime(2026, 3, 7, 22, 30),
        dt.datetime(2026, 3, 7, 23, 30),
    ):  # Mar 1 00:30, Mar 7 23:30, Mar 8 00:30 local
        make_play(paris, world.two, at)
    return world, paris


@pytest.mark.parametrize("query", [WEEK, "from=2026-03-02&to=2026-03-05", "range=all"])
def test_dashboard_and_api_agree(api, app, client, listeners, query):
    world, paris = listeners
    for user in (world.ada, world.bob, paris):
        login_as(client, user)
        page = _page(app, client, f"/dashboard?{query}")
        stats = api.get(f"/me/stats?{query}", user).body
        assert stats["totals"] == page["totals"]
        assert (stats["previous"] or {}).get("totals") == page["previous"]
        for kind in ("tracks", "artists", "albums", "genres"):
            top = api.get(f"/me/top/{kind}?{query}", user).body["items"]
            shown = page[f"top_{kind}"]
            key = {
                "tracks": "track_id",
                "artists": "artist_id",
                "albums": "album_id",
                "genres": "genre",
            }[kind]
            assert [(row[key], row["plays"], row["ms_played"]) for row in top] == [
                (row[key], row["plays"], row["ms_played"]) for row in shown
            ], kind


def test_unique_tracks_and_artists_pages_and_api_agree(api, app, client, listeners):
    world, paris = listeners
    for user in (world.ada, paris):
        login_as(client, user)
        for kind in ("tracks", "artists"):
            page = _page(app, client, f"/{kind}?{WEEK}&sort=time")
            listed = api.get(f"/me/{kind}?{WEEK}&sort=time", user).body
            key = "track_id" if kind == "tracks" else "artist_id"
            assert listed["total"] == page["result"].total
            assert [(row[key], row["plays"], row["ms_played"]) for row in listed["items"]] == [
                (row[key], row["plays"], row["ms_played"]) for row in page["result"].items
            ]


def test_detail_pages_and_api_agree(api, app, client, listeners):
    world, paris = listeners
    for user in (world.ada, paris):
        login_as(client, user)
        for kind, item in (("tracks", world.two), ("artists", world.x), ("albums", world.a2)):
            shown = _page(app, client, f"/{kind}/{item.id}")[kind[:-1]]
            answer = api.get(f"/me/{kind}/{item.id}", user).body
            assert (answer["plays"], answer["ms_played"], answer["share"]) == (
                shown["plays"],
                shown["ms_played"],
                shown["share"],
            ), kind
            assert answer["series"] == shown["series"], kind


def test_profile_page_and_api_agree(api, app, client, listeners):
    world, _ = listeners
    login_as(client, world.ada)
    page = _page(app, client, f"/profile?{WEEK}")
    profile = api.get(f"/me/profile?{WEEK}", world.ada).body
    taste = page["taste"]
    assert (profile["features"], profile["features_status"], profile["coverage"]) == (
        taste["features"],
        taste["features_status"],
        taste["coverage"],
    )
    assert [(row["genre"], row["plays"]) for row in profile["genres"]] == [
        (row["genre"], row["plays"]) for row in taste["genres"]
    ]


def test_a_token_from_the_account_page_opens_the_api(api, app, client, listeners):
    world, _ = listeners
    login_as(client, world.ada)
    form = csrf_token(client.get("/account").get_data(as_text=True))
    page = client.post("/account/token", data={"csrf_token": form}).get_data(as_text=True)
    token = page.split('<code class="token" id="api-token">')[1].split("</code>")[0]
    me = api.get("/me", token=token)
    assert (me.status, me.body["id"]) == (200, world.ada.id)
    assert api.get(f"/me/stats?{WEEK}", token=token).body["totals"]["plays"] == 7


def test_story_and_review_pages_and_api_agree(api, app, client, listeners):
    """/story and /review show what /me/story and /me/review return (dates and instants as
    the API writes them), and the API points at the page's image."""
    from chalicelib.render import jsonable
    from models.periods import display_zone

    world, paris = listeners
    for user in (world.ada, paris):
        login_as(client, user)
        tz = display_zone(user.timezone)
        page = _page(app, client, "/story?year=2026")
        story = api.get("/me/story?year=2026", user).body
        for key in ("streaks", "calendar", "sessions", "rediscover"):
            assert story[key] == jsonable(page[key], tz), key
        page = _page(app, client, "/review?from=2026-03-01&to=2026-03-08")
        review = api.get("/me/review?from=2026-03-01&to=2026-03-08", user).body
        shown = jsonable(page["review"], tz)
        for key in ("totals", "top_tracks", "top_artists", "top_day", "longest_streak"):
            assert review[key] == shown[key], key
        assert review["previous"]["totals"] == shown["previous"]["totals"]
        assert review["image"]["png"].endswith(page["image_png"])
