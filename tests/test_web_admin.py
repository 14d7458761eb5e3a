"""The admin page: listeners, sync state, re-auth flags, the latest runs and their app mode."""

from __future__ import annotations

import datetime as dt

from models.schema.tables import EtlLog, User
from tests.factories import make_play, make_run, make_track, make_user
from tests.webtools import login_as

AT = dt.datetime(2026, 11, 20, 10, 0)


def test_the_admin_page_is_a_404_for_listeners(client, db):
    login_as(client, make_user())
    assert client.get("/admin").status_code == 404


def test_admin_sees_listeners_sync_state_and_runs(auth, client, db):
    fine = make_user(display_name="Fine Listener", last_synced_at=AT)
    stale = make_user(
        display_name="Stale Listener", needs_reauth=True, reauth_reason="Refresh token expired"
    )
    track = make_track()
    for minute in range(3):
        make_play(fine, track, AT + dt.timedelta(minutes=minute))
    run = make_run(AT, {"users": 2}, app_mode="development")
    make_run(AT - dt.timedelta(hours=1), app_mode=None, finished_at=None)
    EtlLog.create(run=run, user=fine, step="extract", status="done", new_plays=3)
    EtlLog.create(run=run, user=stale, step="extract", status="needs_reauth")

    assert auth.admin_login().status_code == 302
    page = client.get("/admin")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="app-mode" class="badge warn">development<' in text
    fine_row = text.split("Fine Listener")[1].split("</tr>")[0]
    assert '<td class="num">3</td>' in fine_row and "ok" in fine_row
    stale_row = text.split("Stale Listener")[1].split("</tr>")[0]
    assert "needs re-login" in stale_row and "Refresh token expired" in stale_row
    runs = text.split('id="runs"')[1]
    assert "1 done, 1 needs_reauth" in runs
    assert runs.index("development") < runs.index("unknown")  # newest run first
    assert "Administrator" not in text.split('id="users"')[1]  # the admin is not a listener


def test_admin_page_before_any_run(auth, client, db):
    auth.admin_login()
    text = client.get("/admin").get_data(as_text=True)
    assert "No ETL run recorded yet" in text and "Nobody has logged in" in text
    assert ">unknown</strong>" in text
    assert "<title>Admin · Spotify Tracker</title>" in text  # the page's sections are not in it
    assert text.count('id="enrichment"') == 1
    assert User.select().where(User.is_admin == True).count() == 1  # noqa: E712


def test_the_admin_is_sent_to_the_admin_page_not_listener_pages(auth, client, db):
    auth.admin_login()
    for path in ("/", "/dashboard", "/tracks", "/history", "/account", "/account/delete"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/admin"), path
