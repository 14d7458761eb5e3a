"""A third-party client (spotipy), unchanged, gets from the sandbox what Spotify would give it."""

from __future__ import annotations

import pytest
import spotipy
from spotipy.oauth2 import SpotifyOAuth, SpotifyOauthError

# spotipy warns that Spotify deprecated audio features; calling them is the point here
pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")


def spotipy_client(sandbox, access_token: str) -> spotipy.Spotify:
    client = spotipy.Spotify(auth=access_token, retries=0, status_retries=0, requests_timeout=10)
    client.prefix = sandbox.api_url + "/"  # spotipy's documented base-URL attribute
    return client


def sandbox_oauth(sandbox) -> SpotifyOAuth:
    class SandboxOAuth(SpotifyOAuth):
        OAUTH_AUTHORIZE_URL = sandbox.authorize_url
        OAUTH_TOKEN_URL = sandbox.token_url

    return SandboxOAuth(
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        redirect_uri="http://127.0.0.1:5000/auth/callback",
        scope="user-read-recently-played",
        open_browser=False,
        cache_handler=spotipy.MemoryCacheHandler(),
    )


@pytest.fixture
def listener(fresh_sandbox) -> dict:
    return fresh_sandbox.listeners()[3]


@pytest.fixture
def sp(fresh_sandbox, listener) -> spotipy.Spotify:
    return spotipy_client(fresh_sandbox, fresh_sandbox.grant(listener["id"])["access_token"])


def test_extended_mode_reads(fresh_sandbox, sp, listener):
    world = fresh_sandbox.state.world
    assert sp.current_user()["email"] == listener["email"]
    recent = sp.current_user_recently_played(limit=50)
    assert len(recent["items"]) == 50
    ids = [item["track"]["id"] for item in recent["items"]][:5]
    assert [t["id"] for t in sp.tracks(ids)["tracks"]] == ids
    assert [f["id"] for f in sp.audio_features(ids)] == ids
    assert sp.artists([world.artists[0].id])["artists"][0]["followers"]["total"] > 0
    assert sp.albums([world.albums[0].id])["albums"][0]["name"] == world.albums[0].name
    found = sp.search(q=f'track:"{world.tracks[9].name}"', type="track", limit=50)
    assert world.tracks[9].id in [t["id"] for t in found["tracks"]["items"]]


def test_development_mode_errors_are_spotifys(fresh_sandbox, sp):
    fresh_sandbox.control(app_mode="development")
    track_id = fresh_sandbox.state.world.tracks[0].id
    for call in (
        lambda: sp.tracks([track_id]),
        lambda: sp.artists(["0" * 22]),
        lambda: sp.albums(["0" * 22]),
        lambda: sp.audio_features([track_id]),
    ):
        with pytest.raises(spotipy.SpotifyException) as refused:
            call()
        assert refused.value.http_status == 403 and "Forbidden" in refused.value.msg
    assert sp.track(track_id)["id"] == track_id and "popularity" not in sp.track(track_id)
    with pytest.raises(spotipy.SpotifyException) as too_many:
        sp.search(q="Echo", type="track", limit=20)
    assert too_many.value.http_status == 400
    assert len(sp.search(q="Echo", type="track", limit=10)["tracks"]["items"]) == 10
    assert "email" not in sp.current_user()


def test_expired_token_and_refresh_through_spotipy_oauth(fresh_sandbox, listener):
    granted = fresh_sandbox.grant(listener["id"])
    fresh_sandbox.advance(hours=1, seconds=1)
    with pytest.raises(spotipy.SpotifyException) as expired:
        spotipy_client(fresh_sandbox, granted["access_token"]).current_user()
    assert expired.value.http_status == 401 and "expired" in expired.value.msg
    refreshed = sandbox_oauth(fresh_sandbox).refresh_access_token(granted["refresh_token"])
    assert refreshed["refresh_token"] == granted["refresh_token"]  # kept when none is sent
    profile = spotipy_client(fresh_sandbox, refreshed["access_token"]).current_user()
    assert profile["id"] == listener["id"]
    fresh_sandbox.control(revoked=[listener["id"]])
    with pytest.raises(SpotifyOauthError) as revoked:
        sandbox_oauth(fresh_sandbox).refresh_access_token(granted["refresh_token"])
    assert revoked.value.error == "invalid_grant"
