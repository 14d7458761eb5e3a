"""/me (with the Spotify-access flag), and the administrator's /users and /etl/runs."""

from __future__ import annotations

import datetime as dt

from models.schema.tables import EtlLog
from tests.factories import make_play, make_run, make_track, make_user

AT = dt.datetime(2026, 3, 1, 12, 0, 0)


def test_me_localises_timestamps_and_keeps_unknowns_null(api):
    user = make_user(
        display_name="Ada",
        email=None,
        country=None,
        product=None,
        timezone="Europe/Paris",
        created_at=AT,
        last_synced_at=dt.datetime(2026, 7, 1, 22, 30),
    )
    answer = api.get("/me", user)
    assert answer.status == 200
    body = answer.body
    assert (body["email"], body["country"], body["product"]) == (None, None, None)
    assert body["created_at"] == "2026-03-01T13:00:00+01:00"
    assert body["last_synced_at"] == "2026-07-02T00:30:00+02:00"
    assert body["last_played_at"] is None
    assert body["needs_reauth"] is False
    assert body["spotify_access"]["status"] == "ok"
    assert "x-spotify-reauth-required" not in answer.headers
    assert answer.headers["cache-control"] == "private, no-store"


def test_a_flagged_user_is_told_to_renew_spotify_access_but_keeps_their_data(api):
    user = make_user(needs_reauth=True, reauth_reason="invalid_grant: refresh token revoked")
    make_play(user, make_track(), AT)
    answer = api.get("/me", user)
    assert answer.status == 200
    assert answer.body["needs_reauth"] is True
    access = answer.body["spotify_access"]
    assert access["status"] == "reauth_required"
    assert access["reason"] == "invalid_grant: refresh token revoked"
    assert "log in again" in access["message"]
    assert answer.headers["x-spotify-reauth-required"] == "true"
    plays = api.get("/me/plays", user)
    assert plays.status == 200
    assert plays.headers["x-spotify-reauth-required"] == "true"
    assert plays.body["total"] == 1


def test_users_lists_listeners_with_their_play_counts(api):
    admin = make_user(is_admin=True, spotify_id="admin")
    ada = make_user(
        display_name="Ada", needs_reauth=True, reauth_reason="invalid_grant", created_at=AT
    )
    bob = make_user(display_name="Bob", created_at=AT + dt.timedelta(days=1))
    cyd = make_user(display_name="Cyd", created_at=AT + dt.timedelta(days=2))
    track = make_track()
    for minutes in range(3):
        make_play(ada, track, AT + dt.timedelta(minutes=minutes))
    make_play(bob, track, AT)
    answer = api.get("/users", admin)
    assert answer.status == 200
    rows = answer.body["items"]
    assert [(row["id"], row["plays"]) for row in rows] == [(cyd.id, 0), (bob.id, 1), (ada.id, 3)]
    assert rows[2]["needs_reauth"] is True
    assert rows[2]["reauth_reason"] == "invalid_grant"
    assert rows[2]["created_at"] == "2026-03-01T12:00:00+00:00"
    assert (answer.body["total"], answer.body["next"]) == (3, None)

    first = api.get("/users?limit=2", admin)
    assert [row["id"] for row in first.body["items"]] == [cyd.id, bob.id]
    assert first.body["next"] == "/users?limit=2&offset=2"
    second = api.get(first.body["next"], admin)
    assert [row["id"] for row in second.body["items"]] == [ada.id]
    assert second.body["next"] is None


def test_etl_runs_newest_first_with_step_counts(api):
    admin = make_user(is_admin=True)
    listener = make_user()
    old = make_run(AT, {"new_plays": 12}, app_mode="extended")
    new = make_run(
        AT + dt.timedelta(hours=1), status="failed", app_mode="development", finished_at=None
    )
    EtlLog.create(run=old, user=listener, step="extract", status="done", new_plays=12)
    EtlLog.create(run=old, user=listener, step="features", status="done")
    EtlLog.create(run=new, user=listener, step="extract", status="failed", error="boom")
    EtlLog.create(run=new, user=None, step="artists", status="done")
    answer = api.get("/etl/runs", admin)
    assert answer.status == 200
    items = answer.body["items"]
    assert [run["id"] for run in items] == [new.id, old.id]
    assert items[0]["steps"] == {"failed": 1, "done": 1}
    assert items[0]["app_mode"] == "development"
    assert items[0]["finished_at"] is None
    assert items[1]["steps"] == {"done": 2}
    assert items[1]["summary"] == {"new_plays": 12}
    assert answer.body["total"] == 2


def test_admin_listings_refuse_bad_paging(api):
    admin = make_user(is_admin=True)
    for query, param in (
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
        ("limit=abc", "limit"),
        ("page=2", "page"),
        ("limit=5&limit=6", "limit"),
    ):
        answer = api.get(f"/users?{query}", admin)
        assert answer.status == 400, query
        assert answer.error["param"] == param
        assert answer.error["Message"].startswith(f"{param}: ")


def test_a_stored_time_zone_zoneinfo_does_not_know_falls_back_to_utc(api):
    user = make_user(timezone="Mars/Olympus_Mons", created_at=AT)
    me = api.get("/me", user)
    assert (me.status, me.body["created_at"]) == (200, "2026-03-01T12:00:00+00:00")
    stats = api.get("/me/stats?from=2026-03-01&to=2026-03-01", user)
    assert (stats.status, stats.body["period"]["tz"]) == (200, "UTC")
