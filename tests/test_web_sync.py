"""The web app with the real ETL in between: what a listener and the admin see after a sync,
on both kinds of Spotify app, and when Spotify stops accepting a user's grant (issue 9)."""

from __future__ import annotations

import re

import luigi
import pytest

from models.schema.tables import Play, Track, User
from tests.etl_world import naive, run_etl


def sync(auth, web_settings):
    hour = naive(auth.sandbox.now()).replace(minute=0, second=0, microsecond=0)
    result = run_etl(web_settings, hour)
    assert result.status == luigi.LuigiStatusCode.SUCCESS, result.summary_text


def plays_of(user) -> int:
    return Play.select().where(Play.user == user.id).count()


@pytest.mark.parametrize("app_mode", ["development", "extended"])
def test_after_a_sync_pages_show_the_plays_and_admin_the_app_mode(
    auth, client, db, web_settings, app_mode
):
    auth.sandbox.control(app_mode=app_mode)
    user = auth.login_user(0)
    sync(auth, web_settings)
    stored = plays_of(user)
    assert stored > 0

    html = client.get("/dashboard", query_string={"range": "all"}).get_data(as_text=True)
    assert re.search(r'id="total-plays">([\d,]+)<', html).group(1) == f"{stored:,}"
    track_id = re.search(r'href="/tracks/([^"]+)"', html).group(1)
    track_page = client.get(f"/tracks/{track_id}").get_data(as_text=True)
    popularity = track_page.split('id="detail-popularity">')[1].split("</dd>")[0]
    if app_mode == "development":
        assert Track.get_by_id(track_id).popularity is None
        assert 'class="unknown"' in popularity  # not "0"
    else:
        assert popularity == f"{Track.get_by_id(track_id).popularity:,}"

    auth.admin_login()
    admin = client.get("/admin").get_data(as_text=True)
    assert re.search(r'id="app-mode"[^>]*>([a-z]+)<', admin).group(1) == app_mode
    row = admin.split(user.display_name)[1].split("</tr>")[0]
    assert f'<td class="num">{stored:,}</td>' in row


def test_a_revoked_grant_shows_a_banner_and_logging_in_again_clears_it(
    auth, client, db, web_settings
):
    user = auth.login_user(0)
    sync(auth, web_settings)
    stored = plays_of(user)
    auth.sandbox.control(revoked=[user.spotify_id], expire_tokens=True)
    auth.sandbox.advance(hours=2)
    sync(auth, web_settings)
    assert User.get_by_id(user.id).needs_reauth is True

    html = client.get("/dashboard", query_string={"range": "all"}).get_data(as_text=True)
    assert 'id="reauth-banner"' in html and "Renew Spotify access" in html
    # Statistics are still served from what is stored.
    assert re.search(r'id="total-plays">([\d,]+)<', html).group(1) == f"{stored:,}"

    auth.login(0)
    assert User.get_by_id(user.id).needs_reauth is False
    assert 'id="reauth-banner"' not in client.get("/dashboard").get_data(as_text=True)
    sync(auth, web_settings)  # the next run catches up with the new grant
    assert plays_of(user) >= stored
    assert User.get_by_id(user.id).needs_reauth is False
