"""The API as people run it locally: `chalice local --no-autoreload` over real HTTP.

One server per database engine for this module, configured only through environment
variables (as the README tells people to run it), reading what the tests write.
"""

from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.security import generate_password_hash

from models.accounts import api_tokens
from tests.api_support import ChaliceLocal
from tests.environment import base_environ
from tests.factories import make_play, make_track, make_user

AT = dt.datetime(2026, 3, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def servers(engine_urls, tmp_path_factory):
    started: dict[str, ChaliceLocal] = {}

    def server(engine: str) -> ChaliceLocal:
        if engine not in started:
            data_dir = tmp_path_factory.mktemp(f"chalice-local-{engine}")
            started[engine] = ChaliceLocal(
                base_environ(DATABASE_URL=engine_urls[engine], DATA_DIR=str(data_dir))
            )
        return started[engine]

    yield server
    for running in started.values():
        running.stop()


@pytest.fixture
def local(db, servers):
    return servers(db.engine)


def test_health_and_openapi_over_http(local):
    assert local.get("/health").body == {"status": "ok", "database": "ok"}
    document = local.get("/openapi.json").body
    assert document["openapi"].startswith("3.")
    assert "/me/stats" in document["paths"]


def test_a_token_reaches_only_its_owners_account_over_http(local, settings):
    ada, bob = make_user(display_name="Ada", needs_reauth=True), make_user(display_name="Bob")
    answer = local.get("/me", api_tokens.issue(ada, settings))
    assert answer.status == 200
    assert (answer.body["id"], answer.body["display_name"]) == (ada.id, "Ada")
    assert answer.headers["x-spotify-reauth-required"] == "true"
    assert local.get("/me", api_tokens.issue(bob, settings)).body["display_name"] == "Bob"


def test_errors_are_json_over_http(local, settings):
    user = make_user()
    token = api_tokens.issue(user, settings)
    refused = local.get("/me", "not-a-token")
    assert (refused.status, refused.body["Code"]) == (401, "UnauthorizedError")
    assert refused.headers["content-type"] == "application/json"
    missing = local.get("/me")
    assert (missing.status, missing.body["Code"]) == (401, "UnauthorizedError")
    unknown = local.get("/no/such/thing")
    assert (unknown.status, unknown.body["Code"]) == (404, "NotFoundError")
    bad = local.get("/me/stats?range=3d", token)
    assert (bad.status, bad.body["param"]) == (400, "range")
    admin_only = local.get("/users", token)
    assert (admin_only.status, admin_only.body["Code"]) == (403, "ForbiddenError")


def test_password_grant_and_statistics_over_http(local, settings):
    make_user(
        spotify_id="admin",
        email="admin@example.test",
        is_admin=True,
        password_hash=generate_password_hash("s3cret-admin-pw"),
    )
    granted = local.get(
        "/token",
        method="POST",
        body=b"grant_type=password&username=admin%40example.test&password=s3cret-admin-pw",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert granted.status == 200, granted.body
    listener = make_user()
    track = make_track(duration_ms=100_000)
    for minutes in (0, 5, 10):
        make_play(listener, track, AT + dt.timedelta(minutes=minutes))
    users = local.get("/users", granted.body["access_token"])
    assert [(row["id"], row["plays"]) for row in users.body["items"]] == [(listener.id, 3)]
    stats = local.get(
        "/me/stats?from=2026-03-01&to=2026-03-01", api_tokens.issue(listener, settings)
    )
    assert stats.status == 200, stats.body
    assert stats.body["totals"]["plays"] == 3
    assert stats.body["totals"]["ms_played"] == 300_000
