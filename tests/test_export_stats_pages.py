"""The Listening and Podcasts pages and their endpoints: the same core function behind both,
the days an export covers, the empty state, one listener's rows only (SQLite and PostgreSQL)."""

from __future__ import annotations

import random

from models import stats
from models.periods import parse_period
from tests.export_world import build
from tests.factories import make_play, make_track, make_user
from tests.webtools import login_as, page_context

CUSTOM = "from=2026-03-01&to=2026-09-30"


def page(app, client, path):
    with page_context(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True), seen[0]


def test_the_listening_page_and_its_endpoints_show_the_same_figures(api, app, client, db):
    user, _ = build(random.Random(3))
    login_as(client, user)
    for query in ("", "range=12m", CUSTOM):
        text, context = page(app, client, f"/listening?{query}")
        body = api.get(f"/me/listening?{query}", user).body
        period = context["choice"].period
        assert body["period"]["key"] == period.key and (query or period.key == "all")
        figures = context["figures"]
        assert body["streams"] == figures["streams"] and body["skip_rate"] == figures["skip_rate"]
        assert body["devices"] == figures["devices"]
        assert body["countries"] == figures["countries"]
        assert body["reasons_end"] == figures["reasons_end"]
        assert body["coverage"]["first_day"] == figures["coverage"]["first_day"].isoformat()
        assert figures == stats.how_you_listen(user.id, period)
        for kind in ("tracks", "artists"):
            listed = api.get(f"/me/skipped/{kind}?{query}", user).body["items"]
            key = "track_id" if kind == "tracks" else "artist_id"
            assert [(r[key], r["short_streams"]) for r in listed] == [
                (r[key], r["short_streams"]) for r in context[kind]
            ]
        coverage = figures["coverage"]
        assert f"<strong>{coverage['first_day']:%d %b %Y}</strong>" in text
        assert f'id="skip-rate">{round(figures["skip_rate"] * 100)}%' in text
        assert "<svg" in text and 'id="skipped-tracks"' in text


def test_the_podcasts_page_and_its_endpoints_show_the_same_figures(api, app, client, db):
    user, _ = build(random.Random(4))
    login_as(client, user)
    for query in ("", CUSTOM):
        text, context = page(app, client, f"/podcasts?{query}")
        period = context["choice"].period
        body = api.get(f"/me/podcasts?{query}", user).body
        assert body["episodes"] == context["totals"]["episodes"]
        assert body["audiobooks"] == context["totals"]["audiobooks"]
        assert context["totals"] == stats.podcast_totals(user.id, period)
        for kind, shown in (("shows", "shows"), ("audiobooks", "audiobooks")):
            listed = api.get(f"/me/podcasts/{kind}?{query}", user).body["items"]
            assert listed == context[shown], kind
        finished = api.get(f"/me/podcasts/finished?{query}&limit=20", user).body["items"]
        assert [r["episode_id"] for r in finished] == [r["episode_id"] for r in context["finished"]]
        assert "Kept apart from your music" in text and 'id="top-shows"' in text
        for show in context["shows"]:
            assert show["name"] in text


def test_without_an_export_both_pages_say_what_an_export_brings(api, client, db):
    user = make_user()
    make_play(user, make_track(), parse_period("7d").start)  # an API play: nothing said
    login_as(client, user)
    for path in ("/listening", "/podcasts"):
        text = client.get(path).get_data(as_text=True)
        assert 'id="empty-state"' in text and "Extended streaming history" in text, path
        assert 'href="/account/import"' in text
    assert api.get("/me/listening", user).body["coverage"] is None
    assert api.get("/me/podcasts", user).body["coverage"] is None
    assert api.get("/me/skipped/tracks", user).body["items"] == []


def test_the_lists_page_and_refuse_unknown_kinds(api, db):
    user, _ = build(random.Random(5))
    whole = api.get("/me/skipped/tracks?limit=200", user).body["items"]
    first = api.get("/me/skipped/tracks?limit=2", user).body
    assert first["items"] == whole[:2] and first["next"]
    assert api.get(first["next"], user).body["items"] == whole[2:4]
    assert api.get("/me/skipped/albums", user).status == 404
    assert api.get("/me/podcasts/videos", user).status == 404
