"""The account page and its forms: time zone, API token, export, delete, Spotify banners."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from models.accounts import api_tokens
from models.schema.db import utcnow
from models.schema.tables import ImportJob, OAuthToken, Play, User
from tests.factories import make_album, make_artist, make_play, make_track, make_user
from tests.webtools import csrf_token, login_as

AT = dt.datetime(2026, 3, 1, 23, 30)


def _post(client, page, action, **fields):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **fields})


def test_changing_the_time_zone(client, db):
    user = make_user(timezone="UTC")
    login_as(client, user)
    response = _post(client, "/account", "/account/timezone", timezone="Asia/Kolkata")
    assert response.status_code == 302
    assert User.get_by_id(user.id).timezone == "Asia/Kolkata"
    assert "Times are shown in Asia/Kolkata" in client.get("/account").get_data(as_text=True)


def test_an_unknown_time_zone_is_refused_with_a_message(client, db):
    user = make_user(timezone="UTC")
    login_as(client, user)
    response = _post(client, "/account", "/account/timezone", timezone="Mars/Olympus_Mons")
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert User.get_by_id(user.id).timezone == "UTC"


def test_creating_an_api_token_for_me(client, db, web_settings):
    user = make_user()
    login_as(client, user)
    response = _post(client, "/account", "/account/token")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    token = text.split('<code class="token" id="api-token">')[1].split("</code>")[0]
    assert api_tokens.user_of(token, web_settings).id == user.id
    assert f"valid for {web_settings.access_token_expire_minutes} minutes" in text


def _library():
    artist_a, artist_b = make_artist(name="Ada"), make_artist(name="Bo")
    album = make_album(name='Night, "Live"')
    return make_track(artists=[artist_a, artist_b], album=album, name="Song, with comma")


def test_csv_export_has_every_play_of_mine_in_my_time_zone(client, db):
    me, other = make_user(timezone="Asia/Kolkata"), make_user()
    track = _library()
    make_play(me, track, AT)
    make_play(me, track, AT + dt.timedelta(hours=1), ms_played=1234)
    make_play(other, track, AT)
    login_as(client, me)
    response = client.get("/account/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2
    assert rows[0]["played_at_utc"] == "2026-03-01T23:30:00Z"
    assert rows[0]["played_at_local"] == "2026-03-02T05:00:00+05:30"
    assert rows[0]["track_name"] == "Song, with comma"
    assert rows[0]["artists"] == "Ada, Bo"
    assert rows[0]["album_name"] == 'Night, "Live"'
    assert rows[1]["ms_played"] == "1234"


def test_json_export_has_profile_and_plays_but_no_secrets(client, db):
    me = make_user(timezone="UTC", display_name="Me Myself")
    OAuthToken.create(user=me, refresh_token="refresh-secret-value", access_token="acc-secret")
    track = _library()
    make_play(me, track, AT)
    make_play(make_user(), track, AT)
    from models.jobs import exclusions

    exclusions.exclude(me.id, "track", track.id)
    login_as(client, me)
    response = client.get("/account/export.json")
    body = response.get_data(as_text=True)
    data = json.loads(body)
    assert data["profile"]["display_name"] == "Me Myself"
    assert [p["track_id"] for p in data["plays"]] == [track.id]  # excluded, still exported
    assert [(e["kind"], e["id"]) for e in data["exclusions"]] == [("track", track.id)]
    assert "refresh-secret-value" not in body and "acc-secret" not in body
    assert "password" not in body


def _upload(user, folder) -> Path:
    """An uploaded privacy export on disk, stored as the import page stores one."""
    from models.accounts.uploads import save_upload

    path = save_upload(folder, user.id, [("my_spotify_data.zip", io.BytesIO(b"PK personal"))])
    ImportJob.create(
        user=user,
        file_name="my_spotify_data.zip",
        file_path=str(path),
        file_sha256="0" * 64,
        status="done",
    )
    return path


def test_deleting_my_account_needs_the_confirmation_word(client, db, tmp_path):
    me, other = make_user(), make_user()
    track = _library()
    make_play(me, track, AT)
    make_play(other, track, AT)
    my_upload, their_upload = _upload(me, tmp_path), _upload(other, tmp_path)
    login_as(client, me)
    assert "Delete your account?" in client.get("/account/delete").get_data(as_text=True)
    refused = _post(client, "/account/delete", "/account/delete", confirm="yes please")
    assert refused.status_code == 400
    assert User.get_or_none(User.id == me.id) is not None

    response = _post(client, "/account/delete", "/account/delete", confirm="DELETE")
    assert response.status_code == 302
    assert User.get_or_none(User.id == me.id) is None
    assert Play.select().where(Play.user == me.id).count() == 0
    assert Play.select().where(Play.user == other.id).count() == 1
    assert not my_upload.exists() and not my_upload.parent.exists()
    assert their_upload.exists() and ImportJob.select().count() == 1


def test_deleting_an_account_leaves_files_an_admin_imported_from(client, db, tmp_path):
    """A Luigi import records the admin's own path: deleting the user must not delete it."""
    me = make_user()
    admins_file = tmp_path / "exports" / "my_spotify_data.zip"
    admins_file.parent.mkdir()
    admins_file.write_bytes(b"PK the admin's copy")
    ImportJob.create(
        user=me,
        file_name=admins_file.name,
        file_path=str(admins_file),
        file_sha256="0" * 64,
        status="done",
    )
    login_as(client, me)
    assert _post(client, "/account/delete", "/account/delete", confirm="delete").status_code == 302
    assert User.get_or_none(User.id == me.id) is None
    assert admins_file.exists()
    assert client.get("/account").status_code == 302  # logged out


def test_reauth_banner_asks_to_log_in_again(client, db):
    user = make_user(needs_reauth=True, reauth_reason="Refresh token expired")
    login_as(client, user)
    text = client.get("/account").get_data(as_text=True)
    assert 'id="reauth-banner"' in text and "Refresh token expired" in text
    assert "/auth/login?next=" in text
    User.update(needs_reauth=False).where(User.id == user.id).execute()
    assert 'id="reauth-banner"' not in client.get("/account").get_data(as_text=True)


def test_a_grant_near_six_months_old_is_announced(client, db):
    user = make_user()
    OAuthToken.create(user=user, refresh_token="r", granted_at=utcnow() - dt.timedelta(days=175))
    login_as(client, user)
    assert 'id="expiry-banner"' in client.get("/account").get_data(as_text=True)
    OAuthToken.update(granted_at=utcnow()).execute()
    assert 'id="expiry-banner"' not in client.get("/account").get_data(as_text=True)


def test_profile_fields_spotify_did_not_send_read_unknown(client, db):
    login_as(client, make_user(email=None, country=None, product=None))
    text = client.get("/account").get_data(as_text=True)
    assert text.count('class="unknown"') == 3


def test_the_account_page_links_to_the_history_import(client, db):
    login_as(client, make_user())
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/account/import"' in html
    assert client.get("/account/import").status_code == 200
