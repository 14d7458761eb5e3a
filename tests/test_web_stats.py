"""Statistics pages through the test client: values on the page, periods, sorting, search,
pagination, other users' data (404) and withheld fields (unknown, never 0)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from models.schema.db import utcnow
from models.schema.tables import ArtistGenre, Genre
from models.summaries import shown_genres
from tests.factories import make_album, make_artist, make_features, make_play, make_track, make_user
from tests.webtools import login_as, text_of, value


@pytest.fixture
def world(db):
    """Two listeners; "me" played two tracks recently and one long ago."""
    now = utcnow()
    me, other = make_user(display_name="Me", timezone="UTC"), make_user()
    artist, guest = make_artist(name="Aurora Lane"), make_artist(name="Guest Star")
    album = make_album(name="First Light", image_url=None)
    hit = make_track(artists=[artist], album=album, name="Morning Song", popularity=None)
    duet = make_track(artists=[artist, guest], album=album, name="Duet")
    old = make_track(artists=[guest], name="Old Tune")
    strangers = make_track(artists=[make_artist(name="Nobody Here")], name="Not Mine")
    for hours in (2, 5, 30):
        make_play(me, hit, now - dt.timedelta(hours=hours))
    make_play(me, duet, now - dt.timedelta(hours=3))
    make_play(me, old, now - dt.timedelta(days=20))
    make_play(other, strangers, now - dt.timedelta(hours=1))
    make_play(other, hit, now - dt.timedelta(hours=4))
    return dict(
        me=me,
        other=other,
        hit=hit,
        duet=duet,
        old=old,
        strangers=strangers,
        artist=artist,
        guest=guest,
        album=album,
    )


def test_dashboard_shows_my_totals_and_top_lists(client, world):
    login_as(client, world["me"])
    html = text_of(client.get("/dashboard", query_string={"range": "7d"}))
    assert value(html, "total-plays") == "4"
    assert value(html, "total-tracks") == "2"
    assert value(html, "total-artists") == "2"
    top = html.split('id="top-tracks"')[1].split("</ol>")[0]
    assert top.index("Morning Song") < top.index("Duet")
    assert "Not Mine" not in html and "Old Tune" not in html
    assert "Last 7 days" in html
    assert '<svg class="chart heatmap"' in html and "plays</title>" in html


def test_changing_the_period_changes_the_numbers(client, world):
    login_as(client, world["me"])
    html = text_of(client.get("/dashboard", query_string={"range": "4w"}))
    assert value(html, "total-plays") == "5"
    assert "Old Tune" in html
    assert "none in the previous period" in html  # the 4 weeks before had no plays
    assert "Listening time per day" in html
    half_year = text_of(client.get("/dashboard", query_string={"range": "6m"}))
    assert "Listening time per week" in half_year
    everything = text_of(client.get("/dashboard", query_string={"range": "all"}))
    assert value(everything, "total-plays") == "5" and "All time" in everything
    assert "Listening time per month" in everything
    assert "previous period" not in everything  # nothing comes before all time


def test_the_dashboard_compares_with_the_previous_period(client, world):
    make_play(world["me"], world["old"], utcnow() - dt.timedelta(days=9))
    login_as(client, world["me"])
    html = text_of(client.get("/dashboard", query_string={"range": "7d"}))
    plays_card = html.split('id="total-plays"')[1].split("</div></div>")[0]
    assert "+300% vs previous period" in plays_card  # 4 plays against 1


def test_custom_dates_and_a_bad_period(client, world):
    login_as(client, world["me"])
    today = utcnow().date()
    html = text_of(
        client.get(
            "/dashboard",
            query_string={
                "from": (today - dt.timedelta(days=25)).isoformat(),
                "to": (today - dt.timedelta(days=15)).isoformat(),
            },
        )
    )
    assert value(html, "total-plays") == "1" and "Old Tune" in html
    bad = client.get("/dashboard", query_string={"range": "3y"})
    assert bad.status_code == 400
    assert "Could not use that period (range: expected one of" in text_of(bad)
    swapped = client.get("/dashboard", query_string={"from": "2026-05-02", "to": "2026-05-01"})
    assert swapped.status_code == 400 and "from: 2026-05-02 is after" in text_of(swapped)


def test_a_new_user_sees_what_happens_next(client, db):
    login_as(client, make_user(timezone="Europe/Paris"))
    html = text_of(client.get("/dashboard"))
    assert 'id="welcome"' in html and "The next collection runs at about" in html
    for path in ("/tracks", "/artists", "/profile", "/history"):
        assert client.get(path).status_code == 200, path


def test_unique_tracks_sort_search_and_paginate(client, db):
    me = make_user()
    artist = make_artist(name="Prolific")
    now = utcnow()
    for n in range(53):
        track = make_track(artists=[artist], name=f"Song {n:02d}")
        for k in range(n % 3 + 1):
            make_play(me, track, now - dt.timedelta(hours=n, minutes=k))
    login_as(client, me)
    first = text_of(client.get("/tracks", query_string={"sort": "name", "order": "asc"}))
    assert value(first, "result-count") == "53 tracks."
    rows = re.findall(r">(Song \d\d)</a>", first)
    assert rows[:2] == ["Song 00", "Song 01"] and len(rows) == 50
    assert "Page 1 of 2" in first
    second = text_of(
        client.get("/tracks", query_string={"sort": "name", "order": "asc", "page": 2})
    )
    assert re.findall(r">(Song \d\d)</a>", second) == ["Song 50", "Song 51", "Song 52"]
    by_plays = text_of(client.get("/tracks", query_string={"sort": "plays"}))
    assert re.search(r">(Song \d\d)</a>", by_plays).group(1) in {
        f"Song {n:02d}" for n in range(53) if n % 3 == 2
    }
    found = text_of(client.get("/tracks", query_string={"q": "song 4"}))
    assert value(found, "result-count").startswith("10 tracks")
    assert client.get("/tracks", query_string={"sort": "popularity"}).status_code == 400
    assert client.get("/tracks", query_string={"page": "0"}).status_code == 400
    assert client.get("/tracks", query_string={"page": "9"}).status_code == 404


def test_unique_artists_page(client, world):
    login_as(client, world["me"])
    html = text_of(client.get("/artists", query_string={"sort": "plays"}))
    names = re.findall(r'/artists/[^"]+">([^<]+)</a></td>', html)
    assert names == ["Aurora Lane", "Guest Star"]
    assert "Nobody Here" not in html


def test_track_page_shows_my_numbers_and_unknown_popularity(client, world):
    login_as(client, world["me"])
    response = client.get(f"/tracks/{world['hit'].id}")
    assert response.status_code == 200
    html = text_of(response)
    assert value(html, "detail-name") == "Morning Song"
    assert value(html, "detail-plays") == "3"
    assert value(html, "detail-share") == "60%"  # 3 of my 5 plays
    assert 'id="detail-popularity"><span class="unknown"' in html  # NULL, not 0


def test_another_users_track_or_artist_is_a_404(client, world):
    login_as(client, world["me"])
    assert client.get(f"/tracks/{world['strangers'].id}").status_code == 404
    assert client.get("/tracks/0000000000000000000000").status_code == 404
    assert client.get(f"/artists/{world['artist'].id}").status_code == 200
    nobody = world["strangers"].artist_links.get().artist_id
    assert client.get(f"/artists/{nobody}").status_code == 404


def test_history_is_newest_first_in_my_time_zone(client, db):
    me = make_user(timezone="Asia/Kolkata")
    track = make_track(name="Late Night")
    make_play(me, track, dt.datetime(2026, 3, 1, 23, 30))
    make_play(me, make_track(name="Earlier"), dt.datetime(2026, 3, 1, 20, 0))
    login_as(client, me)
    html = text_of(client.get("/history"))
    assert html.index("Late Night") < html.index("Earlier")
    assert "2026-03-02 05:00" in html  # 23:30 UTC is 05:00 the next day in India
    assert client.get("/history", query_string={"page": 2}).status_code == 404


def test_profile_says_when_audio_features_are_unavailable(client, world):
    genre = Genre.create(name="dream pop")
    ArtistGenre.create(artist=world["artist"], genre=genre)
    shown_genres.refresh([world["artist"].id])  # as the artist step's writes keep them
    for track in (world["hit"], world["duet"], world["old"]):
        make_features(track, "forbidden")
    login_as(client, world["me"])
    html = text_of(client.get("/profile"))
    assert 'id="features-unavailable"' in html
    assert "dream pop" in html


def test_profile_draws_play_weighted_features(client, world):
    make_features(
        world["hit"],
        danceability=0.8,
        energy=0.5,
        valence=0.2,
        acousticness=0.1,
        instrumentalness=0.0,
        speechiness=0.05,
        liveness=0.1,
        tempo=120.0,
    )
    make_features(
        world["duet"],
        danceability=0.4,
        energy=0.9,
        valence=0.6,
        acousticness=0.3,
        instrumentalness=0.0,
        speechiness=0.05,
        liveness=0.2,
        tempo=100.0,
    )
    login_as(client, world["me"])
    html = text_of(client.get("/profile", query_string={"range": "7d"}))
    # 3 plays of "hit" and 1 of "duet": danceability (3*0.8 + 0.4) / 4 = 0.70
    assert "<title>Danceability: 0.70</title>" in html
    assert "Average tempo: <strong>115 BPM</strong>" in html
    assert 'id="features-unavailable"' not in html


def test_artist_page_shows_my_numbers_and_unknown_followers(client, world):
    login_as(client, world["me"])
    html = text_of(client.get(f"/artists/{world['artist'].id}"))
    assert value(html, "detail-name") == "Aurora Lane"
    assert value(html, "detail-plays") == "4"  # 3 x Morning Song + the duet
    assert value(html, "detail-share") == "80%"
    assert 'Followers on Spotify: <span class="unknown"' in html
    tracks = html.split("Your most played tracks")[1]
    assert tracks.index("Morning Song") < tracks.index("Duet")


def test_album_page_lists_my_tracks_of_it_and_is_linked(client, world):
    login_as(client, world["me"])
    album_url = f"/albums/{world['album'].id}"
    html = text_of(client.get(album_url))
    assert value(html, "detail-name") == "First Light"
    assert value(html, "detail-plays") == "4"  # 3 x Morning Song + the duet; not Old Tune
    assert value(html, "detail-share") == "80%"
    tracks = html.split('id="album-tracks"')[1]
    assert "Morning Song" in tracks and "Duet" in tracks and "Old Tune" not in tracks
    assert f'href="{album_url}"' in text_of(client.get("/dashboard", query_string={"range": "7d"}))
    assert f'href="{album_url}"' in text_of(client.get(f"/tracks/{world['hit'].id}"))
    login_as(client, world["other"])  # played Morning Song only
    assert value(text_of(client.get(album_url)), "detail-plays") == "1"
    assert client.get(f"/albums/{make_album(name='Unheard').id}").status_code == 404


def test_a_deferred_sync_moves_the_announced_collection_time(client, db):
    later = (utcnow() + dt.timedelta(hours=5)).replace(minute=20, second=0, microsecond=0)
    login_as(client, make_user(timezone="UTC", sync_deferred_until=later))
    html = text_of(client.get("/dashboard"))
    expected = (later.replace(minute=0) + dt.timedelta(hours=1)).strftime("%H:%M")
    assert f"runs at about <strong>{expected}</strong>" in html


def test_next_sync_is_the_next_top_of_the_hour_after_any_deferral():
    from types import SimpleNamespace

    from web.filters import next_sync

    now = dt.datetime(2026, 11, 26, 10, 15)
    assert next_sync(None, now) == dt.datetime(2026, 11, 26, 11, 0)
    waiting = SimpleNamespace(sync_deferred_until=dt.datetime(2026, 11, 26, 14, 0))
    assert next_sync(waiting, now) == dt.datetime(2026, 11, 26, 14, 0)
    past = SimpleNamespace(sync_deferred_until=dt.datetime(2026, 11, 26, 9, 0))
    assert next_sync(past, now) == dt.datetime(2026, 11, 26, 11, 0)


@pytest.mark.parametrize("path", ["/tracks", "/artists", "/history"])
def test_an_absurd_page_number_is_a_404_not_a_crash(client, world, path):
    login_as(client, world["me"])
    assert client.get(path, query_string={"page": "9" * 30}).status_code == 404
