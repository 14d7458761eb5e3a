"""The sandbox keeps Spotify's contract: every answer validated against Spotify's OpenAPI
description for its path and status, in both app modes, plus the Accounts service's rules."""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from jsonschema import ValidationError

from spotify.sandbox.catalogue import World, normalise, to_ms
from tests.openapi_contract import DEV_MODE_ABSENT, validate

UNKNOWN = "0000000000000000000000"
REDIRECT = "http://127.0.0.1:5000/auth/callback"


@pytest.fixture(params=["extended", "development"])
def mode(request, fresh_sandbox) -> str:
    fresh_sandbox.control(app_mode=request.param)
    return request.param


@pytest.fixture
def token(fresh_sandbox) -> str:
    return fresh_sandbox.grant(fresh_sandbox.listeners()[1]["id"])["access_token"]


def get(sandbox, path: str, token: str | None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(sandbox.api_url + path, params=params, headers=headers, timeout=10)


def keys_anywhere(node) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys_anywhere(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys_anywhere(v)}
    return set()


def cases(world: World, now_ms: int):
    """(template, path, params, status in extended mode, status in development mode)."""
    track, artist, album = world.tracks[3], world.artists[3], world.albums[3]
    tracks = ",".join(t.id for t in world.tracks[:49]) + "," + UNKNOWN
    artists = ",".join(a.id for a in world.artists[:49]) + "," + UNKNOWN
    albums = ",".join(a.id for a in world.albums[:19]) + "," + UNKNOWN
    too_many = ",".join(t.id for t in world.tracks[:101])
    return [
        ("/me", "/me", {}, 200, 200),
        ("/me/player/recently-played", "/me/player/recently-played", {"limit": 50}, 200, 200),
        (
            "/me/player/recently-played",
            "/me/player/recently-played",
            {"limit": 7, "before": now_ms - 86_400_000},
            200,
            200,
        ),
        (
            "/me/player/recently-played",
            "/me/player/recently-played",
            {"limit": 5, "after": now_ms - 3 * 86_400_000},
            200,
            200,
        ),
        ("/me/player/recently-played", "/me/player/recently-played", {"limit": 0}, 400, 400),
        ("/me/player/recently-played", "/me/player/recently-played", {"limit": 51}, 400, 400),
        (
            "/me/player/recently-played",
            "/me/player/recently-played",
            {"after": 1, "before": 2},
            400,
            400,
        ),
        ("/audio-features", "/audio-features", {"ids": track.id + "," + UNKNOWN}, 200, 403),
        ("/audio-features", "/audio-features", {"ids": too_many}, 400, 403),
        ("/tracks", "/tracks", {"ids": tracks}, 200, 403),
        ("/tracks", "/tracks", {"ids": too_many[: 51 * 23 - 1]}, 400, 403),
        ("/tracks/{id}", f"/tracks/{track.id}", {}, 200, 200),
        ("/tracks/{id}", f"/tracks/{UNKNOWN}", {}, 404, 404),
        ("/tracks/{id}", "/tracks/not-an-id", {}, 400, 400),
        ("/artists", "/artists", {"ids": artists}, 200, 403),
        ("/artists/{id}", f"/artists/{artist.id}", {}, 200, 200),
        ("/artists/{id}", f"/artists/{UNKNOWN}", {}, 404, 404),
        ("/albums", "/albums", {"ids": albums}, 200, 403),
        ("/albums", "/albums", {"ids": ",".join(a.id for a in world.albums[:21])}, 400, 403),
        ("/albums/{id}", f"/albums/{album.id}", {}, 200, 200),
        (
            "/search",
            "/search",
            {"q": f'track:"{track.name}"', "type": "track", "limit": 20},
            200,
            400,
        ),
        ("/search", "/search", {"q": track.name, "type": "track,artist", "limit": 10}, 200, 200),
        ("/search", "/search", {"q": artist.name, "type": "artist"}, 200, 200),
        ("/search", "/search", {"type": "track"}, 400, 400),
    ]


def test_every_answer_matches_the_description(fresh_sandbox, mode, token):
    development = mode == "development"
    world = fresh_sandbox.state.world
    checked = 0
    for template, path, params, extended_status, dev_status in cases(
        world, to_ms(fresh_sandbox.now())
    ):
        response = get(fresh_sandbox, path, token, **params)
        expected = dev_status if development else extended_status
        assert response.status_code == expected, (path, params, response.text)
        body = response.json()
        validate(template, response.status_code, body, development)
        if response.status_code >= 400:
            assert body["error"]["status"] == expected and body["error"]["message"]
        elif development:
            assert not DEV_MODE_ABSENT & keys_anywhere(body), path
        checked += 1
    assert checked == 24


def test_extended_mode_sends_the_fields_dev_mode_drops(fresh_sandbox, token):
    world = fresh_sandbox.state.world
    profile = get(fresh_sandbox, "/me", token).json()
    assert {"email", "country", "product", "explicit_content", "followers"} <= set(profile)
    track = get(fresh_sandbox, f"/tracks/{world.tracks[0].id}", token).json()
    assert track["popularity"] == world.tracks[0].popularity
    assert track["available_markets"] and track["album"]["available_markets"]
    artist = get(fresh_sandbox, f"/artists/{world.artists[0].id}", token).json()
    assert artist["followers"]["total"] == world.artists[0].followers
    assert artist["genres"] == list(world.artists[0].genres)


def test_development_mode_sends_no_genres_and_keeps_isrcs(fresh_sandbox, token):
    """Spotify deprecated artist genres with the other fields development-mode apps lost:
    the sandbox sends none at all (MusicBrainz gives them back), but full track objects keep
    ``external_ids.isrc``, the key to MusicBrainz."""
    fresh_sandbox.control(app_mode="development")
    world = fresh_sandbox.state.world
    artists = [get(fresh_sandbox, f"/artists/{a.id}", token).json() for a in world.artists[:10]]
    assert all("genres" not in artist and artist["name"] for artist in artists)
    track = get(fresh_sandbox, f"/tracks/{world.tracks[0].id}", token).json()
    assert track["external_ids"]["isrc"] == world.tracks[0].isrc
    assert len(track["external_ids"]["isrc"]) == 12


@pytest.mark.parametrize(
    "problem,message",
    [
        (None, "No token provided"),
        ("garbage", "Invalid access token"),
        ("expired", "The access token expired"),
    ],
)
def test_unauthorized_answers(fresh_sandbox, mode, token, problem, message):
    if problem == "expired":
        fresh_sandbox.advance(seconds=3600)
    response = get(
        fresh_sandbox,
        "/me/player/recently-played",
        {"garbage": "nope", "expired": token}.get(problem),
    )
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "message": message}}
    validate("/me/player/recently-played", 401, response.json(), mode == "development")


def test_rate_limit_and_server_errors_match_the_description(fresh_sandbox, mode, token):
    track_id = fresh_sandbox.state.world.tracks[0].id
    fresh_sandbox.control(rate_limit=2, retry_after=86_000)
    statuses = [get(fresh_sandbox, f"/tracks/{track_id}", token).status_code for _ in range(3)]
    limited = get(fresh_sandbox, f"/tracks/{track_id}", token)
    assert statuses == [200, 200, 429] and limited.headers["Retry-After"] == "86000"
    validate("/tracks/{id}", 429, limited.json(), mode == "development")
    fresh_sandbox.control(rate_limit=None, fail_next=1, fail_status=502)
    failed = get(fresh_sandbox, f"/tracks/{track_id}", token)
    assert failed.status_code == 502
    validate("/tracks/{id}", 502, failed.json(), mode == "development")
    assert fresh_sandbox.calls()["rate_limited"] == 2


def test_honest_retry_after_is_the_time_until_the_window_frees(fresh_sandbox, token):
    fresh_sandbox.control(rate_limit=1, rate_window=30)
    assert get(fresh_sandbox, "/me", token).status_code == 200
    limited = get(fresh_sandbox, "/me", token)
    assert limited.status_code == 429 and 29 <= int(limited.headers["Retry-After"]) <= 30


def test_recently_played_paging_semantics(fresh_sandbox, token):
    listener = fresh_sandbox.listeners()[1]["id"]
    page = get(fresh_sandbox, "/me/player/recently-played", token, limit=20).json()
    truth = fresh_sandbox.plays(listener, fresh_sandbox.now() - timedelta(days=30))[-50:]
    assert [i["played_at"] for i in page["items"]] == [p["played_at"] for p in truth[::-1][:20]]
    assert page["cursors"] == {
        "after": str(truth[-1]["played_at_ms"]),
        "before": str(truth[-20]["played_at_ms"]),
    }
    assert parse_qs(urlparse(page["next"]).query) == {
        "before": [page["cursors"]["before"]],
        "limit": ["20"],
    }
    after = get(
        fresh_sandbox, "/me/player/recently-played", token, limit=10, after=truth[4]["played_at_ms"]
    ).json()
    assert [i["played_at"] for i in after["items"]] == [p["played_at"] for p in truth[5:15]][::-1]
    assert "after=" + after["cursors"]["after"] in after["next"]
    empty = get(
        fresh_sandbox, "/me/player/recently-played", token, after=truth[-1]["played_at_ms"]
    ).json()
    assert empty["items"] == [] and empty["cursors"] is None and empty["next"] is None


def test_plain_words_search_ranks_the_exact_track_name_first(fresh_sandbox, mode, token):
    """Spotify puts a track named exactly like the words first, ahead of more popular tracks
    that merely contain them; among several of that name, the most popular leads."""
    world = fresh_sandbox.state.world
    name_of = [normalise(t.name) for t in world.tracks]
    names = Counter(name_of)
    carrying = defaultdict(set)  # word -> indexes of the tracks whose name has it
    for index, name in enumerate(name_of):
        for word in name.split():
            carrying[word].add(index)

    def more_popular_containing(track):
        containing = set.intersection(*(carrying[w] for w in name_of[track.index].split()))
        return [
            world.tracks[i]
            for i in containing
            if world.tracks[i].popularity > track.popularity and name_of[i] != name_of[track.index]
        ]

    unique = [t for t in world.tracks if names[name_of[t.index]] == 1]
    track = max(unique, key=lambda t: len(more_popular_containing(t)))
    assert len(more_popular_containing(track)) >= 5  # popularity alone keeps it off the page
    found = get(fresh_sandbox, "/search", token, q=track.name.lower(), type="track", limit=5)
    assert [t["id"] for t in found.json()["tracks"]["items"]][:1] == [track.id]

    shared = max(names, key=names.get)  # a name many tracks carry
    top = get(fresh_sandbox, "/search", token, q=shared, type="track", limit=5).json()
    exact = sorted(
        (t for t in world.tracks if name_of[t.index] == shared), key=lambda t: -t.popularity
    )
    assert [t["id"] for t in top["tracks"]["items"]] == [t.id for t in exact[:5]]


def test_skips_are_streams_but_not_plays(fresh_sandbox):
    listener = fresh_sandbox.listeners()[2]["id"]
    start = fresh_sandbox.now() - timedelta(days=7)
    streams = fresh_sandbox.plays(listener, start, skips=True)
    plays = fresh_sandbox.plays(listener, start)
    skipped = [s for s in streams if s["ms_played"] <= 30_000]
    assert skipped and len(plays) == len(streams) - len(skipped)
    assert all(p["ms_played"] > 30_000 for p in plays)
    assert len({p["played_at"] for p in streams}) == len(streams)


def test_world_is_a_pure_function_of_the_seed():
    now = to_ms(datetime(2026, 3, 1, 18, tzinfo=UTC))
    one, same, other = World(7, 3), World(7, 3), World(8, 3)
    assert [t.id for t in one.tracks[:20]] == [t.id for t in same.tracks[:20]]
    week = (now - 7 * 86_400_000, now)
    assert one.plays(one.listeners[0], *week) == same.plays(same.listeners[0], *week)
    assert one.plays(one.listeners[0], *week) != other.plays(other.listeners[0], *week)
    # asking for a later window first does not change an earlier one (lazy per day, cached)
    later = one.plays(one.listeners[1], now, now + 86_400_000)
    fresh = World(7, 3)
    assert later == fresh.plays(fresh.listeners[1], now, now + 86_400_000)


# -- Accounts service --------------------------------------------------------------------
def token_post(sandbox, form, auth=(None, None)):
    headers = {}
    if auth[0]:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        )
    return requests.post(sandbox.token_url, data=form, headers=headers, timeout=10)


def test_token_endpoint_errors(fresh_sandbox):
    good = (fresh_sandbox.client_id, fresh_sandbox.client_secret)
    answers = {
        "unsupported_grant_type": token_post(fresh_sandbox, {"grant_type": "password"}, good),
        "invalid_request": token_post(fresh_sandbox, {"grant_type": "authorization_code"}, good),
        "invalid_client": token_post(
            fresh_sandbox, {"grant_type": "refresh_token", "refresh_token": "x"}, ("nope", "x")
        ),
        "invalid_grant": token_post(
            fresh_sandbox, {"grant_type": "refresh_token", "refresh_token": "x"}, good
        ),
    }
    for error, response in answers.items():
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == error and isinstance(body["error_description"], str), body


def test_token_answer_fields(fresh_sandbox):
    granted = fresh_sandbox.grant(fresh_sandbox.listeners()[0]["id"])
    refreshed = token_post(
        fresh_sandbox,
        {"grant_type": "refresh_token", "refresh_token": granted["refresh_token"]},
        (fresh_sandbox.client_id, fresh_sandbox.client_secret),
    ).json()
    assert set(granted) == {"access_token", "token_type", "scope", "expires_in", "refresh_token"}
    assert refreshed["token_type"] == "Bearer" and refreshed["expires_in"] == 3600
    assert "refresh_token" not in refreshed  # Spotify may omit it: the old one stays valid


def authorize_params(sandbox, **overrides):
    params = {
        "client_id": sandbox.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "s1",
        "scope": "user-read-recently-played",
    }
    params.update(overrides)
    return params


def test_authorize_page_validates_client_and_redirect(fresh_sandbox):
    page = requests.get(
        fresh_sandbox.authorize_url, params=authorize_params(fresh_sandbox), timeout=10
    )
    assert page.status_code == 200
    assert all(who["id"] in page.text for who in fresh_sandbox.listeners())
    wrong_client = requests.get(
        fresh_sandbox.authorize_url,
        timeout=10,
        params=authorize_params(fresh_sandbox, client_id="other"),
    )
    assert wrong_client.status_code == 400 and "INVALID_CLIENT" in wrong_client.text
    other = "http://127.0.0.1:8123/auth/callback"
    unregistered = requests.get(
        fresh_sandbox.authorize_url,
        timeout=10,
        params=authorize_params(fresh_sandbox, redirect_uri=other),
    )
    assert unregistered.status_code == 400 and "redirect URI" in unregistered.text
    fresh_sandbox.register_redirect_uri(other)
    assert (
        requests.get(
            fresh_sandbox.authorize_url,
            timeout=10,
            params=authorize_params(fresh_sandbox, redirect_uri=other),
        ).status_code
        == 200
    )
    plain = requests.get(
        fresh_sandbox.authorize_url,
        allow_redirects=False,
        timeout=10,
        params=authorize_params(fresh_sandbox, code_challenge="abc", code_challenge_method="plain"),
    )
    assert plain.status_code == 302
    assert parse_qs(urlparse(plain.headers["Location"]).query)["error"] == ["invalid_request"]


def test_authorize_page_names_the_app_the_account_and_the_scopes_in_plain_words(fresh_sandbox):
    scope = "user-read-email user-read-recently-played playlist-read-private"
    page = requests.get(
        fresh_sandbox.authorize_url,
        params=authorize_params(fresh_sandbox, scope=scope),
        timeout=10,
    ).text
    assert 'Allow <strong class="app-name">Spotify Tracker</strong>' in page
    assert '<select id="listener" name="listener">' in page
    first = fresh_sandbox.listeners()[0]
    assert f'<option value="{first["id"]}">{first["display_name"]} ({first["id"]})' in page
    assert "View your Spotify account data" in page and "Your email address" in page
    assert "View your activity on Spotify" in page
    assert "Content you have recently played" in page
    assert "subscription type" not in page  # user-read-private was not asked for
    assert "Your top artists" not in page
    assert "<li>playlist-read-private</li>" in page  # a scope without words is still named
    assert 'id="approve">Agree</button>' in page and 'id="deny">Cancel</button>' in page
    assert "<link" not in page and "<script" not in page  # styled inline, nothing to fetch


def test_development_mode_admits_five_users(fresh_sandbox):
    fresh_sandbox.control(app_mode="development")
    listeners = [who["id"] for who in fresh_sandbox.listeners()]
    for listener in listeners[:5]:
        fresh_sandbox.grant(listener)
    fresh_sandbox.grant(listeners[0])  # someone already admitted may log in again
    with pytest.raises(RuntimeError, match="403"):
        fresh_sandbox.grant(listeners[5])
    form = {**authorize_params(fresh_sandbox), "listener": listeners[6], "decision": "approve"}
    page = requests.post(fresh_sandbox.authorize_url, data=form, allow_redirects=False, timeout=10)
    assert page.status_code == 403 and "development mode" in page.text
    fresh_sandbox.control(app_mode="extended")
    assert fresh_sandbox.grant(listeners[6])["access_token"]


def test_control_rejects_unknown_knobs(fresh_sandbox):
    response = requests.post(fresh_sandbox.url + "/_sandbox/control", json={"speed": 3}, timeout=10)
    assert response.status_code == 400 and "speed" in response.json()["error"]["message"]


def test_the_contract_check_itself_can_fail(fresh_sandbox, token):
    album = get(fresh_sandbox, f"/albums/{fresh_sandbox.state.world.albums[0].id}", token).json()
    del album["popularity"]
    validate("/albums/{id}", 200, album, development=True)  # may be absent in dev mode
    with pytest.raises(ValidationError, match="popularity"):
        validate("/albums/{id}", 200, album, development=False)
    with pytest.raises(ValidationError):
        validate("/tracks", 200, {"tracks": [None, "not a track"]}, development=False)
    with pytest.raises(ValidationError):
        validate("/me", 401, {"error": {"status": 401}}, development=False)


def test_control_rejects_bad_values_without_changing_anything(fresh_sandbox):
    response = requests.post(
        fresh_sandbox.url + "/_sandbox/control",
        timeout=10,
        json={"app_mode": "development", "error_rate": 2},
    )
    assert response.status_code == 400 and "error_rate" in response.json()["error"]["message"]
    assert fresh_sandbox.knobs()["app_mode"] == "extended"
