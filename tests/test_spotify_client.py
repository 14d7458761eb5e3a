"""The Spotify client against the sandbox over real HTTP: every endpoint and every fault."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

import settings as settings_module
from spotify.client import Pacer, SpotifyApp, TokenSet, played_at_ms
from spotify.errors import (
    AudioFeaturesUnavailable,
    ClientRejected,
    RateLimited,
    ReauthorizationNeeded,
    RetryLater,
    SpotifyError,
    SpotifyRequestError,
    SpotifyUnavailable,
)
from tests.environment import base_environ


def make_app(sandbox, **options) -> SpotifyApp:
    defaults = dict(
        client_secret=sandbox.client_secret,
        token_url=sandbox.token_url,
        api_url=sandbox.api_url,
        backoff=0.01,
        max_retry_wait=2.0,
        max_total_wait=5.0,
        max_retries=3,
    )
    defaults.update(options)
    return SpotifyApp(sandbox.client_id, **defaults)


@pytest.fixture
def app(fresh_sandbox):
    spotify_app = make_app(fresh_sandbox)
    yield spotify_app
    spotify_app.close()


@pytest.fixture
def listener(fresh_sandbox) -> dict:
    return fresh_sandbox.listeners()[0]


@pytest.fixture
def saved() -> list:
    return []


@pytest.fixture
def client(app, fresh_sandbox, listener, saved):
    return app.client(TokenSet.from_response(fresh_sandbox.grant(listener["id"])), saved.append)


def sandbox_ids(sandbox, endpoint: str) -> list[list[str]]:
    """The ids sent in each batch call to ``endpoint``, in call order."""
    return [call["query"]["ids"].split(",") for call in sandbox.calls(endpoint)["log"]]


def catalogue_ids(sandbox, kind: str, count: int) -> list[str]:
    items = getattr(sandbox.state.world, kind)
    return [item.id for item in items[:count]]


# -- Accounts service ------------------------------------------------------------------------
# The login's half (authorize page, code exchange) is authlib's, as in ``web.auth``; the client
# only refreshes.  These walk the sandbox's token endpoint with authlib's requests session.
REDIRECT_URI = "http://127.0.0.1:5000/auth/callback"
SCOPE = "user-read-private user-read-email user-read-recently-played"


def oauth(sandbox, secret: str | None = None) -> OAuth2Session:
    """authlib's client for the sandbox app: Basic auth, or a PKCE public client (secret "")."""
    secret = sandbox.client_secret if secret is None else secret
    return OAuth2Session(
        sandbox.client_id,
        secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
    )


def authorize(sandbox, session, listener_id, *, decision="approve", verifier=None):
    """Walk the authorize page as a browser would; returns the redirect's query parameters."""
    url, _ = session.create_authorization_url(
        sandbox.authorize_url, state="xyz-state", code_verifier=verifier
    )
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and 'name="listener"' in page.text
    form = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    form.update(listener=listener_id, decision=decision)
    answer = requests.post(sandbox.authorize_url, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = urlparse(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_code_exchange_then_profile(fresh_sandbox, app, listener):
    session = oauth(fresh_sandbox)
    answer = authorize(fresh_sandbox, session, listener["id"])
    assert answer["state"] == "xyz-state"
    token = session.fetch_token(fresh_sandbox.token_url, code=answer["code"])
    tokens = TokenSet.from_response(token)
    assert tokens.refresh_token and tokens.expires_at > datetime.now(UTC)
    profile = app.client(tokens).me()
    assert (profile["id"], profile["account_id"], profile["email"]) == (
        listener["id"],
        listener["account_id"],
        listener["email"],
    )
    with pytest.raises(OAuthError) as reused:  # a code works once
        oauth(fresh_sandbox).fetch_token(fresh_sandbox.token_url, code=answer["code"])
    assert reused.value.error == "invalid_grant"


def test_pkce_public_client(fresh_sandbox, listener):
    public = make_app(fresh_sandbox, client_secret="")
    verifier = generate_token(64)
    session = oauth(fresh_sandbox, secret="")
    answer = authorize(fresh_sandbox, session, listener["id"], verifier=verifier)
    with pytest.raises(OAuthError, match="code_verifier"):
        session.fetch_token(fresh_sandbox.token_url, code=answer["code"], code_verifier="w" * 43)
    answer = authorize(fresh_sandbox, session, listener["id"], verifier=verifier)
    token = session.fetch_token(
        fresh_sandbox.token_url, code=answer["code"], code_verifier=verifier
    )
    refreshed = public.refresh(token["refresh_token"])  # the client's own half: client_id only
    assert refreshed.access_token != token["access_token"]
    assert public.client(refreshed).me()["id"] == listener["id"]


def test_denied_authorization_redirects_with_error(fresh_sandbox, listener):
    answer = authorize(fresh_sandbox, oauth(fresh_sandbox), listener["id"], decision="deny")
    assert answer == {"error": "access_denied", "state": "xyz-state"}


def test_wrong_secret_is_client_rejected(fresh_sandbox, listener):
    token = fresh_sandbox.grant(listener["id"])
    with pytest.raises(ClientRejected) as rejected:
        make_app(fresh_sandbox, client_secret="not-the-secret").refresh(token["refresh_token"])
    assert rejected.value.status in (400, 401) and "Invalid client secret" in rejected.value.message


# -- tokens ----------------------------------------------------------------------------------
def test_expired_token_is_refreshed_before_the_call(fresh_sandbox, app, listener, saved):
    granted = fresh_sandbox.grant(listener["id"])
    stale = TokenSet(
        "stale-access-token",
        granted["refresh_token"],
        datetime.now(UTC) - timedelta(minutes=1),
    )
    client = app.client(stale, saved.append)
    assert client.me()["id"] == listener["id"]
    assert client.calls == {"token": 1, "me": 1}
    assert len(saved) == 1 and saved[0].access_token != "stale-access-token"
    assert saved[0].refresh_token == granted["refresh_token"]  # refresh answer had none


def test_rotated_refresh_token_is_handed_over(fresh_sandbox, client, saved):
    fresh_sandbox.control(rotate_refresh_tokens=True)
    old = client.tokens.refresh_token
    client.refresh()
    assert saved[-1].refresh_token != old
    fresh_sandbox.control(expire_tokens=True)
    assert client.me()["type"] == "user"  # the new refresh token works
    assert client.calls["token"] == 2


@pytest.mark.parametrize("how", ["clock", "early_expiry"])
def test_401_refreshes_once_and_retries(fresh_sandbox, client, saved, how):
    if how == "clock":
        fresh_sandbox.advance(hours=2)  # the sandbox clock passes the 3600 s lifetime
    else:
        fresh_sandbox.control(expire_tokens=True)
    profile = client.me()
    assert profile["type"] == "user"
    assert client.calls == {"me": 2, "token": 1}
    assert [c["status"] for c in fresh_sandbox.calls("me")["log"]] == [401, 200]
    assert len(saved) == 1


def test_revoked_grant_needs_reauthorization(fresh_sandbox, client, listener, saved):
    fresh_sandbox.control(revoked=[listener["id"]])
    with pytest.raises(ReauthorizationNeeded) as needed:
        client.me()
    assert isinstance(needed.value, ReauthorizationNeeded) and "revoked" in needed.value.message
    assert saved == [] and client.calls == {"me": 1, "token": 1}


def test_refresh_token_dies_after_its_lifetime(fresh_sandbox, client):
    fresh_sandbox.advance(days=179)
    client.refresh()
    fresh_sandbox.advance(days=2)
    with pytest.raises(ReauthorizationNeeded, match="expired"):
        client.refresh()


def test_tokens_and_secrets_never_logged(fresh_sandbox, client, caplog):
    caplog.set_level(logging.DEBUG)
    fresh_sandbox.control(expire_tokens=True)
    client.me()
    secrets_seen = [
        client.tokens.access_token,
        client.tokens.refresh_token,
        fresh_sandbox.client_secret,
    ]
    text = caplog.text + repr(client.tokens)
    assert "refreshed" in caplog.text
    assert not [s for s in secrets_seen if s in text]


# -- rate limits, 5xx, connection ------------------------------------------------------------
def test_short_429_is_waited_out(fresh_sandbox, listener):
    slept = []

    def sleep(seconds: float) -> None:
        """The client's injected sleep: what it waits for is recorded, not slept; as the time
        passes, the sandbox's rate window frees."""
        slept.append(seconds)
        fresh_sandbox.control(rate_limit=None)

    patient = make_app(fresh_sandbox, sleep=sleep)
    client = patient.client(TokenSet.from_response(fresh_sandbox.grant(listener["id"])))
    fresh_sandbox.control(rate_limit=1, rate_window=1)
    client.me()
    assert client.me()["type"] == "user"
    assert slept == [1.0]  # honoured Retry-After: 1
    assert client.rate_limited == 1 and client.calls["me"] == 3
    assert fresh_sandbox.calls()["calls"]["429:me"] == 1
    patient.close()


def test_long_retry_after_raises_without_sleeping(fresh_sandbox, client):
    fresh_sandbox.control(rate_limit=0, retry_after=7200)
    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        client.me()
    assert time.monotonic() - started < 1
    error = limited.value
    assert error.retry_after == 7200 and isinstance(error, RetryLater)
    expected = datetime.now(UTC) + timedelta(hours=2)
    assert abs((error.resume_at - expected).total_seconds()) < 5
    with pytest.raises(RateLimited):  # the app stops calling until resume_at
        client.tracks(catalogue_ids(fresh_sandbox, "tracks", 3))
    assert fresh_sandbox.calls()["calls"] == {"me": 1, "429:me": 1, "grant": 1}


def test_total_wait_is_bounded(fresh_sandbox, listener):
    slept = []
    bounded = make_app(fresh_sandbox, max_total_wait=2.5, sleep=slept.append)
    client = bounded.client(TokenSet.from_response(fresh_sandbox.grant(listener["id"])))
    fresh_sandbox.control(rate_limit=0, retry_after=1)
    with pytest.raises(RateLimited):
        client.me()
    assert slept == [1.0, 1.0] and client.rate_limited == 3


def test_server_errors_are_retried(fresh_sandbox, client):
    fresh_sandbox.control(fail_next=2)
    assert client.me()["type"] == "user"
    assert [c["status"] for c in fresh_sandbox.calls("me")["log"]] == [503, 503, 200]


def test_persistent_server_errors_give_up(fresh_sandbox, client):
    fresh_sandbox.control(error_rate=1.0)
    with pytest.raises(SpotifyUnavailable) as down:
        client.me()
    assert down.value.status in (500, 502, 503) and isinstance(down.value, RetryLater)
    assert client.calls["me"] == 4  # 1 + max_retries


def test_seeded_share_of_server_errors_is_absorbed(fresh_sandbox, client):
    fresh_sandbox.control(error_rate=0.3)
    ids = catalogue_ids(fresh_sandbox, "tracks", 400)
    assert len([t for t in client.tracks(ids).values() if t]) == 400
    statuses = [c["status"] for c in fresh_sandbox.calls("tracks")["log"]]
    assert statuses.count(200) == 8 and len(statuses) > 8


def test_connection_errors_give_up(fresh_sandbox, listener):
    unreachable = make_app(fresh_sandbox, api_url="http://127.0.0.1:9/v1", timeout=1)
    client = unreachable.client(TokenSet.from_response(fresh_sandbox.grant(listener["id"])))
    with pytest.raises(SpotifyUnavailable, match="no connection"):
        client.me()
    assert client.calls["me"] == 4


def test_pacer_spaces_calls_across_clients(fresh_sandbox, listener):
    first = make_app(fresh_sandbox, min_interval=0.15)
    second = make_app(fresh_sandbox, min_interval=0.15)
    assert first.pacer is second.pacer is Pacer.for_app(fresh_sandbox.client_id, 0.15)
    tokens = TokenSet.from_response(fresh_sandbox.grant(listener["id"]))
    started = time.monotonic()
    try:
        for spotify_app in (first, second, first, second, first):
            spotify_app.client(tokens).me()
    finally:
        Pacer.for_app(fresh_sandbox.client_id, 0.0)  # other tests run unpaced
    assert time.monotonic() - started >= 0.15 * 4 - 0.01


def test_a_shared_pacer_spaces_web_api_calls_but_not_token_refreshes(fresh_sandbox, listener):
    pacer = Pacer(0.4)  # any SharedPacer: the ETL's keeps its slots in the database
    spotify_app = make_app(fresh_sandbox, pacer=pacer)
    assert spotify_app.pacer is pacer
    grant = fresh_sandbox.grant(listener["id"])
    client = spotify_app.client(TokenSet.from_response(grant))
    client.me()  # books the slot now; the next Web API slot is 0.4 s away
    started = time.monotonic()
    spotify_app.refresh(grant["refresh_token"])  # the Accounts service: not in the window
    refreshed = time.monotonic() - started
    client.me()
    assert refreshed < 0.3 <= time.monotonic() - started


# -- recently played -------------------------------------------------------------------------
def test_recently_played_follows_next_across_the_window(fresh_sandbox, client, listener):
    result = client.recently_played(limit=20)
    truth = fresh_sandbox.plays(listener["id"], fresh_sandbox.now() - timedelta(days=30))
    assert [i["played_at"] for i in result.items] == [p["played_at"] for p in truth[-50:]][::-1]
    assert [i["track"]["id"] for i in result.items] == [p["track_id"] for p in truth[-50:]][::-1]
    assert result.pages == 3 and client.calls["recently_played"] == 3
    assert result.possible_gap is True  # no cursor: history before the window is unseen
    assert result.cursor == played_at_ms(result.items[0])


def test_recently_played_after_cursor_gets_exactly_the_new_plays(fresh_sandbox, client, listener):
    cursor = client.recently_played().cursor
    synced_at = fresh_sandbox.now()
    fresh_sandbox.advance(hours=9)
    result = client.recently_played(after=cursor)
    truth = fresh_sandbox.plays(listener["id"], synced_at)
    assert 0 < len(truth) < 50
    assert [i["played_at"] for i in result.items] == [p["played_at"] for p in truth][::-1]
    assert result.possible_gap is False
    again = client.recently_played(after=result.cursor)
    assert again.items == [] and again.cursor == result.cursor and not again.possible_gap


def test_recently_played_reports_a_possible_gap(fresh_sandbox, client, listener):
    cursor = client.recently_played().cursor
    fresh_sandbox.advance(days=4)
    result = client.recently_played(after=cursor)
    assert len(result.items) == 50 and result.possible_gap is True
    missed = fresh_sandbox.plays(listener["id"], datetime.fromtimestamp((cursor + 1) / 1000, UTC))
    assert len(missed) > 50  # there really was more than Spotify could show


# -- catalogue reads -------------------------------------------------------------------------
@pytest.mark.parametrize("kind,size", [("tracks", 50), ("artists", 50), ("albums", 20)])
def test_batches_fill_the_maximum_and_ask_only_for_wanted_ids(fresh_sandbox, client, kind, size):
    ids = catalogue_ids(fresh_sandbox, kind, size * 2 + 3)
    asked = ids + ids[:5] + ["0000000000000000000000"]  # duplicates and an unknown id
    found = getattr(client, kind)(asked)
    assert list(found) == [*ids, "0000000000000000000000"]
    assert found["0000000000000000000000"] is None
    assert all(found[i]["id"] == i for i in ids)
    sent = sandbox_ids(fresh_sandbox, kind)
    assert [len(batch) for batch in sent] == [size, size, 4]
    flat = [i for batch in sent for i in batch]
    assert sorted(flat) == sorted(set(asked)) and client.calls[kind] == 3
    assert client.app_mode == "extended" and "popularity" in found[ids[0]]


def test_audio_features_in_batches_of_100(fresh_sandbox, client):
    ids = catalogue_ids(fresh_sandbox, "tracks", 230)
    features = client.audio_features(ids)
    assert [len(batch) for batch in sandbox_ids(fresh_sandbox, "audio_features")] == [100, 100, 30]
    assert features[ids[7]]["id"] == ids[7] and 0 <= features[ids[7]]["energy"] <= 1
    assert client.capabilities.audio_features is True


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_audio_features_closed_is_a_distinct_error(fresh_sandbox, client, mode):
    fresh_sandbox.control(app_mode=mode, audio_features=False)
    ids = catalogue_ids(fresh_sandbox, "tracks", 3)
    with pytest.raises(AudioFeaturesUnavailable) as closed:
        client.audio_features(ids)
    assert closed.value.status == 403
    with pytest.raises(AudioFeaturesUnavailable):  # remembered: no second call
        client.audio_features(ids)
    assert client.calls["audio_features"] == 1


def test_single_reads_and_unknown_ids(fresh_sandbox, client):
    world = fresh_sandbox.state.world
    track, artist, album = world.tracks[5], world.artists[5], world.albums[5]
    assert client.track(track.id)["name"] == track.name
    assert client.artist(artist.id)["name"] == artist.name
    assert client.album(album.id)["total_tracks"] == len(album.tracks)
    assert client.track("0000000000000000000000") is None
    with pytest.raises(SpotifyRequestError) as malformed:
        client.track("not-an-id")
    assert type(malformed.value) is SpotifyRequestError and malformed.value.status == 400


def test_development_mode_is_detected_and_single_reads_used(fresh_sandbox, client):
    fresh_sandbox.control(app_mode="development")
    assert client.app_mode == "unknown"
    ids = catalogue_ids(fresh_sandbox, "tracks", 8)
    first = client.tracks(ids[:5])
    assert client.app_mode == "development" and client.capabilities.batch["tracks"] is False
    second = client.tracks(ids[3:])  # asks only for what it is given, one by one
    assert client.calls["tracks"] == 1 and client.calls["track"] == 5 + 5
    assert [c["path"].rsplit("/", 1)[1] for c in fresh_sandbox.calls("track")["log"]] == ids[
        :5
    ] + ids[3:]
    assert all(t["id"] == i for i, t in {**first, **second}.items())
    assert all("popularity" not in t and "available_markets" not in t for t in first.values())
    artists = client.artists(catalogue_ids(fresh_sandbox, "artists", 3))
    assert all("followers" not in a for a in artists.values())
    profile = client.me()
    assert not {"email", "country", "product", "followers"} & set(profile)


def test_search_learns_the_development_limit(fresh_sandbox, client):
    world = fresh_sandbox.state.world
    track = world.tracks[42]
    artist = world.artists[track.artists[0]]
    found = client.find_track(track.name.upper(), artist.name)
    assert found["id"] == track.id and client.calls["search"] == 1
    fresh_sandbox.control(app_mode="development")
    assert client.find_track(track.name, artist.name)["id"] == track.id
    assert [c["query"]["limit"] for c in fresh_sandbox.calls("search")["log"]] == ["20", "20", "10"]
    assert client.capabilities.search_limit == 10 and client.app_mode == "development"
    client.search_tracks(track.name)
    assert fresh_sandbox.calls("search")["log"][-1]["query"]["limit"] == "10"
    assert client.find_track("No Such Song Anywhere", artist.name) is None


def test_other_errors_carry_spotifys_status_and_message(fresh_sandbox, listener):
    scoped = fresh_sandbox.grant(listener["id"], scope="user-read-private")
    client = make_app(fresh_sandbox).client(TokenSet.from_response(scoped))
    with pytest.raises(SpotifyError) as refused:
        client.recently_played()
    assert (refused.value.status, refused.value.message) == (403, "Insufficient client scope")


def test_app_from_settings_points_at_the_sandbox(fresh_sandbox, listener):
    loaded = settings_module.load(base_environ(**fresh_sandbox.env()))
    spotify_app = SpotifyApp.from_settings(loaded)
    client = spotify_app.client(TokenSet.from_response(fresh_sandbox.grant(listener["id"])))
    assert client.me()["id"] == listener["id"]


def test_tokens_round_trip_through_a_dict(fresh_sandbox, client):
    again = TokenSet.from_dict(client.tokens.to_dict())
    assert again == client.tokens
    only_refresh = TokenSet.from_dict({"refresh_token": client.tokens.refresh_token})
    assert only_refresh.expired()
    naive = client.tokens.expires_at.replace(tzinfo=None)  # as SQLite gives it back
    stored = TokenSet(None, client.tokens.refresh_token, naive)
    assert stored.expires_at == client.tokens.expires_at and not stored.expired()
