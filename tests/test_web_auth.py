"""Logging in: Spotify's authorization code flow against the sandbox, over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from models.schema.tables import OAuthToken, User
from tests.factories import make_user
from tests.webtools import ADMIN_EMAIL, ADMIN_PASSWORD, AuthActions, code_and_state


def test_login_redirects_to_spotify_with_state_pkce_and_scope(client, web_settings):
    response = client.get("/auth/login")
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == web_settings.oauth_authorize_url
    )
    assert query["client_id"] == web_settings.client_id
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == web_settings.redirect_uri
    assert query["scope"] == web_settings.scope
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20


def test_login_creates_the_user_stores_the_token_encrypted_and_logs_in(auth, client, db):
    listener = auth.listener(0)
    response = auth.login(0)
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == "/dashboard"

    user = User.get(User.spotify_id == listener["id"])
    assert user.account_id == listener["account_id"]
    assert user.display_name == listener["display_name"]
    assert user.email == listener["email"]  # extended mode sends it
    assert user.needs_reauth is False
    token = OAuthToken.get(OAuthToken.user == user.id)
    assert token.refresh_token and token.access_token
    raw = db.execute_sql(
        "SELECT refresh_token FROM oauth_token WHERE user_id = %s".replace(
            "%s", "?" if db.engine == "sqlite" else "%s"
        ),
        (user.id,),
    ).fetchone()[0]
    assert raw != token.refresh_token and token.refresh_token not in raw  # encrypted at rest
    page = client.get("/account")
    assert page.status_code == 200
    assert listener["display_name"] in page.get_data(as_text=True)


def test_a_returning_user_is_matched_by_account_id_and_reauth_is_cleared(auth, db):
    first = auth.login_user(0)
    User.update(
        needs_reauth=True, reauth_reason="Refresh token expired", spotify_id="renamed-locally"
    ).where(User.id == first.id).execute()
    response = auth.login(0)
    assert response.status_code == 302
    users = list(User.select().where(User.is_admin == False))  # noqa: E712
    assert len(users) == 1 and users[0].id == first.id
    assert users[0].needs_reauth is False and users[0].reauth_reason is None
    assert users[0].spotify_id == auth.listener(0)["id"]


def test_development_mode_login_stores_missing_profile_fields_as_null(auth, db):
    auth.sandbox.control(app_mode="development")
    user = auth.login_user(1)
    assert user.email is None and user.country is None and user.product is None
    assert user.display_name == auth.listener(1)["display_name"]


def test_denying_access_shows_a_friendly_page_and_creates_nobody(auth, db):
    response = auth.deny()
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "You chose not to give Spotify Tracker access" in text
    assert User.select().where(User.is_admin == False).count() == 0  # noqa: E712


def test_a_callback_with_a_forged_state_is_refused(auth, db):
    location = auth.authorize(auth.listener(0)["id"])
    answer = code_and_state(location)
    response = auth.client.get(
        "/auth/callback",
        query_string={"code": answer["code"], "state": "forged-" + answer["state"]},
    )
    assert response.status_code == 400
    assert "did not match a login started in this browser" in response.get_data(as_text=True)
    assert User.select().where(User.is_admin == False).count() == 0  # noqa: E712


def test_a_callback_in_another_browser_is_refused(auth, app, db):
    location = auth.authorize(auth.listener(0)["id"])
    other_browser = app.test_client()
    response = AuthActions(other_browser, auth.sandbox).callback(location)
    assert response.status_code == 400
    assert User.select().where(User.is_admin == False).count() == 0  # noqa: E712


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/history?page=2", "/history?page=2"),
        ("https://evil.example/phish", "/dashboard"),
        ("//evil.example/phish", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
    ],
)
def test_after_login_only_local_next_paths_are_followed(auth, db, target, expected):
    response = auth.login(0, next_path=target)
    location = urlparse(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path + (f"?{location.query}" if location.query else "") == expected


def test_pages_need_a_login_and_send_you_to_the_landing_page(client, db):
    for path in (
        "/dashboard",
        "/tracks",
        "/artists",
        "/profile",
        "/history",
        "/account",
        "/admin",
        "/tracks/abc",
        "/account/export.csv",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        location = urlparse(response.headers["Location"])
        assert location.path == "/" and parse_qs(location.query)["next"] == [path]
    landing = client.get("/")
    assert landing.status_code == 200
    assert "Log in with Spotify" in landing.get_data(as_text=True)


def test_logout_is_a_csrf_checked_post(auth, client, db):
    auth.login_user(0)
    assert client.get("/auth/logout").status_code == 405
    refused = client.post("/auth/logout")
    assert refused.status_code == 400
    assert client.get("/account").status_code == 200  # still logged in
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_admin_logs_in_with_email_and_password(auth, client, db):
    wrong = auth.admin_login(password="not it")
    assert wrong.status_code == 401
    assert "Wrong email or password" in wrong.get_data(as_text=True)
    assert client.get("/admin").status_code == 302
    response = auth.admin_login(email=ADMIN_EMAIL.upper())
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin")
    assert client.get("/admin").status_code == 200


def test_admin_form_without_csrf_token_is_refused(client, db):
    response = client.post("/auth/admin", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_a_listener_cannot_log_in_with_a_password(auth, client, db):
    make_user(email="listener@example.test", password_hash=None)
    response = auth.admin_login(email="listener@example.test", password="")
    assert response.status_code in (400, 401)
    assert client.get("/admin").status_code == 302


def test_the_oauth_code_never_reaches_the_log(auth, caplog, db):
    location = auth.authorize(auth.listener(0)["id"])
    code = code_and_state(location)["code"]
    with caplog.at_level("DEBUG"):
        auth.callback(location)
    assert code not in caplog.text
    token = OAuthToken.get()
    assert token.refresh_token not in caplog.text and token.access_token not in caplog.text


def test_a_token_answer_without_refresh_token_keeps_the_stored_one(db):
    from models.accounts.users import store_grant

    user = make_user()
    store_grant(
        user,
        {
            "access_token": "a1",
            "refresh_token": "r1",
            "expires_in": 3600,
            "scope": "user-read-recently-played",
        },
    )
    store_grant(user, {"access_token": "a2", "expires_in": 3600, "scope": ""})
    token = OAuthToken.get(OAuthToken.user == user.id)
    assert (token.access_token, token.refresh_token) == ("a2", "r1")
    with pytest.raises(ValueError):
        store_grant(make_user(), {"access_token": "a3"})


def test_a_spotify_login_cannot_take_over_the_admin(db, web_settings):
    from models.accounts.users import AccountConflict, ensure_first_admin, upsert_spotify_user

    admin = ensure_first_admin(web_settings)
    with pytest.raises(AccountConflict):
        upsert_spotify_user(
            {"id": admin.spotify_id, "display_name": "Mallory"},
            {"access_token": "a", "refresh_token": "r", "expires_in": 60},
        )
    assert User.get_by_id(admin.id).display_name == "Administrator"


def test_spotify_unreachable_at_the_token_step_is_a_friendly_page(db, tmp_path, fresh_sandbox):
    import settings as settings_module
    from tests.webtools import web_environ
    from web import create_app

    broken = create_app(
        settings_module.load(
            web_environ(db, tmp_path, fresh_sandbox, OAUTH_TOKEN_URL="http://127.0.0.1:9/api/token")
        )
    )
    actions = AuthActions(broken.test_client(), fresh_sandbox)
    response = actions.callback(actions.authorize(actions.listener(0)["id"]))
    assert response.status_code == 502
    assert "could not reach Spotify" in response.get_data(as_text=True)
    assert User.select().count() == 0


def test_spotify_refusing_the_profile_read_is_a_friendly_page(auth, db):
    location = auth.authorize(auth.listener(0)["id"])
    auth.sandbox.control(fail_next=1, fail_status=403)
    response = auth.callback(location)
    assert response.status_code == 502
    assert "would not tell us who you are" in response.get_data(as_text=True)
    assert User.select().where(User.is_admin == False).count() == 0  # noqa: E712


def test_a_listener_stays_logged_in_across_browser_restarts(auth, db):
    response = auth.login(0)
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie
