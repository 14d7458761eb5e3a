"""Security review items 2, 4, 6, 7 and 11: guesses limited, sessions and tokens revocable,
OAuth state off the cookie, no text of anyone's on the login-failed page, CSRF rotated."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib

import pytest
from werkzeug.security import generate_password_hash

import settings as settings_module
from models.accounts import api_tokens, sessions, throttle, users
from models.accounts.users import delete_user
from models.schema.db import utcnow
from models.schema.tables import LoginFailure, LoginSession, OAuthState, User
from tests.environment import base_environ
from tests.factories import make_user
from tests.webtools import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AuthActions,
    csrf_token,
    login_as,
    web_environ,
)

COOKIE = "spotify_tracker_session"


class Clock:
    """The throttle's clock, moved by the test instead of waiting."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(throttle, "clock", fake)
    return fake


@pytest.fixture
def hashes(monkeypatch):
    """Counts the scrypt hashes the password check computes (the real functions still run)."""
    calls = []

    def counted(function):
        def wrapper(*args, **kwargs):
            calls.append(function.__name__)
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(users, "check_password_hash", counted(users.check_password_hash))
    monkeypatch.setattr(users, "generate_password_hash", counted(users.generate_password_hash))
    return calls


def _cookie_payload(client) -> bytes:
    """What anyone holding the session cookie can read (it is signed, not encrypted)."""
    value = client.get_cookie(COOKIE).value
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return zlib.decompress(data) if compressed else data


# -- 2. password guesses ----------------------------------------------------------------------


def test_ten_wrong_web_logins_then_the_right_one_is_429_without_a_hash(
    auth, client, db, clock, hashes
):
    for _ in range(10):
        auth.admin_login(password="wrong guess")
        clock.advance(1)
    hashes.clear()
    response = auth.admin_login()
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert hashes == []  # a throttled guess costs no scrypt hash
    assert client.get("/admin").status_code == 302
    clock.advance(int(response.headers["Retry-After"]))
    assert auth.admin_login().status_code == 302
    assert LoginFailure.select().count() == 0  # a success clears the counters


def test_the_address_limit_is_strict_and_the_account_limit_bounded(db, clock):
    for _ in range(40):  # one address, many guesses, each as soon as it is allowed
        try:
            throttle.check("admin@example.test", "203.0.113.9")
        except throttle.TooManyFailedLogins as exc:
            clock.advance(exc.resets_in)
        throttle.record_failure("admin@example.test", "203.0.113.9")
    with pytest.raises(throttle.TooManyFailedLogins) as address_wait:
        throttle.check("someone@example.test", "203.0.113.9")
    assert address_wait.value.resets_in == 24 * 60 * 60
    # The same account from a fresh address waits minutes, never hours.
    with pytest.raises(throttle.TooManyFailedLogins) as account_wait:
        throttle.check("admin@example.test", "198.51.100.7")
    assert account_wait.value.resets_in <= 5 * 60
    clock.advance(5 * 60)
    throttle.check("ADMIN@example.test ", "198.51.100.7")  # passes: the bound holds


def test_an_ipv6_client_counts_by_its_64(db):
    assert throttle.address_key("2001:db8:1:2::1") == throttle.address_key("2001:db8:1:2:ffff::9")
    assert throttle.address_key("2001:db8:1:3::1") != throttle.address_key("2001:db8:1:2::1")
    assert throttle.address_key("::ffff:192.0.2.1") == throttle.address_key("192.0.2.1")


def test_a_forwarded_for_header_is_ignored_without_trusted_proxies(auth, db, clock):
    for n in range(6):
        page = auth.client.get("/auth/admin")
        auth.client.post(
            "/auth/admin",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "email": f"guess{n}@example.test",
                "password": "wrong guess",
            },
            headers={"X-Forwarded-For": f"10.0.0.{n}"},
        )
    clock.advance(2)
    assert auth.admin_login().status_code == 429  # all six counted for the real address


def _post_admin(client, address: str, password: str):
    page = client.get("/auth/admin")
    return client.post(
        "/auth/admin",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": ADMIN_EMAIL,
            "password": password,
        },
        headers={"X-Forwarded-For": address},
    )


def test_behind_a_trusted_proxy_the_forwarded_address_counts(db, tmp_path, fresh_sandbox, clock):
    from web import create_app

    settings = settings_module.load(web_environ(db, tmp_path, fresh_sandbox, TRUSTED_PROXIES="1"))
    app = create_app(settings)
    app.config.update(TESTING=True)
    users.ensure_first_admin(settings)
    client = app.test_client()
    for _ in range(5):
        assert _post_admin(client, "192.0.2.10", "wrong guess").status_code == 401
    assert _post_admin(client, "192.0.2.10", ADMIN_PASSWORD).status_code == 429
    clock.advance(2)  # the account's short wait is over; the attacker's address waits on
    assert _post_admin(client, "192.0.2.20", ADMIN_PASSWORD).status_code == 302


def test_eight_wrong_token_requests_then_the_right_one_is_429(api, clock, hashes):
    make_user(
        spotify_id="admin",
        email=ADMIN_EMAIL,
        is_admin=True,
        password_hash=generate_password_hash(ADMIN_PASSWORD),
    )
    right = f"grant_type=password&username={ADMIN_EMAIL}&password={ADMIN_PASSWORD}"
    for _ in range(8):
        api.post_form("/token", f"grant_type=password&username={ADMIN_EMAIL}&password=wrong")
        clock.advance(1)
    hashes.clear()
    answer = api.post_form("/token", right)
    assert answer.status == 429, answer
    assert answer.error["Code"] == "TooManyRequestsError"
    assert int(answer.headers["retry-after"]) > 0
    assert "access_token" not in answer.body
    assert hashes == []
    clock.advance(int(answer.headers["retry-after"]))
    assert api.post_form("/token", right).status == 200


def test_the_first_admin_password_has_a_minimum_length():
    with pytest.raises(settings_module.ConfigError, match="FIRST_ADMIN_PASSWORD"):
        settings_module.load(base_environ(FIRST_ADMIN_PASSWORD="short-pw"))
    loaded = settings_module.load(base_environ(FIRST_ADMIN_PASSWORD="twelve-chars"))
    assert loaded.first_admin_password == "twelve-chars"


# -- 4. sessions and tokens end ---------------------------------------------------------------


def test_a_cookie_copied_before_logout_does_not_work_after(auth, app, db):
    auth.login_user(0)
    copied = auth.client.get_cookie(COOKIE).value
    assert auth.logout().status_code == 302
    thief = app.test_client()
    thief.set_cookie(COOKIE, copied)
    assert thief.get("/account").status_code == 302
    assert LoginSession.select().count() == 0


def test_log_out_everywhere_ends_every_browser_but_not_the_api_tokens(auth, app, db, api):
    user = auth.login_user(0)
    other_browser = app.test_client()
    login_as(other_browser, user)
    token = api.token(user)
    assert other_browser.get("/account").status_code == 200
    page = auth.client.get("/account")
    response = auth.client.post(
        "/account/sessions/end", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    assert auth.client.get("/account").status_code == 302
    assert other_browser.get("/account").status_code == 302
    assert api.get("/me", token=token).status == 200  # scripts keep running


def test_revoking_api_tokens_ends_them_and_not_the_session(client, db, api):
    user = make_user()
    login_as(client, user)
    old = api.token(user)
    assert api.get("/me", token=old).status == 200
    page = client.get("/account")
    assert "Revoke all API tokens" in page.get_data(as_text=True)
    response = client.post(
        "/account/tokens/revoke", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    refused = api.get("/me", token=old)
    assert refused.status == 401 and "revoked" in refused.error["Message"]
    assert client.get("/account").status_code == 200
    assert api.get("/me", token=api.token(User.get_by_id(user.id))).status == 200


def test_logging_out_leaves_api_tokens_working(auth, db, api):
    user = auth.login_user(0)
    token = api.token(user)
    auth.logout()
    assert api.get("/me", token=token).status == 200


def test_deleting_the_account_ends_its_sessions_and_tokens(client, app, db, api):
    user = make_user()
    login_as(client, user)
    other_browser = app.test_client()
    login_as(other_browser, user)
    token = api.token(user)
    page = client.get("/account/delete")
    client.post(
        "/account/delete",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "confirm": "delete"},
    )
    assert LoginSession.select().count() == 0
    assert other_browser.get("/account").status_code == 302
    assert api.get("/me", token=token).status == 401


def test_a_deleted_newest_users_id_is_never_given_again(db, api):
    first = make_user()
    newest = make_user()
    token = api.token(newest)
    delete_user(newest)
    again = User.create(spotify_id=newest.spotify_id, display_name="Same Spotify account")
    assert again.id > newest.id > first.id
    assert api.get("/me", token=token).status == 401


def test_the_token_lifetime_is_capped(db, make_settings):
    with pytest.raises(settings_module.ConfigError, match="ACCESS_TOKEN_EXPIRE_MINUTES"):
        make_settings(ACCESS_TOKEN_EXPIRE_MINUTES=str(10 * 365 * 24 * 60))
    settings = make_settings(ACCESS_TOKEN_EXPIRE_MINUTES=str(settings_module.MAX_TOKEN_MINUTES))
    user = make_user()
    token = api_tokens.issue(user, settings, minutes=10 * 365 * 24 * 60)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == settings_module.MAX_TOKEN_MINUTES * 60


def test_an_expired_session_logs_nobody_in(db):
    user = make_user()
    key = sessions.start(user, dt.timedelta(hours=1), now=utcnow() - dt.timedelta(hours=2))
    assert sessions.user_of(key) is None
    fresh = sessions.start(user, dt.timedelta(hours=1))
    assert sessions.user_of(fresh).id == user.id
    assert LoginSession.select().count() == 1  # the expired row was swept


# -- 6. OAuth state off the cookie ------------------------------------------------------------


def test_thirty_login_starts_keep_the_cookie_small_and_the_verifier_off_it(auth, db):
    sizes = []
    for _ in range(30):
        assert auth.client.get("/auth/login").status_code == 302
        sizes.append(len(auth.client.get_cookie(COOKIE).value))
    assert max(sizes) < 400 and sizes[-1] <= sizes[0] + 8
    (pending,) = OAuthState.select()
    verifier = json.loads(pending.value)["data"]["code_verifier"]
    assert len(verifier) >= 43
    assert verifier.encode() not in _cookie_payload(auth.client)
    raw = db.execute_sql("SELECT value FROM oauth_state").fetchone()[0]
    assert verifier not in raw  # encrypted at rest too
    assert auth.login_user(0)  # a login still completes after all that
    assert OAuthState.select().count() == 0


# -- 7. the login-failed page -----------------------------------------------------------------


@pytest.mark.parametrize("error", ["Your account is suspended, call 555-0100", "<b>x</b>"])
def test_the_login_failed_page_shows_only_known_messages(client, db, error):
    response = client.get("/auth/callback", query_string={"error": error, "state": "x"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "555-0100" not in text and "&lt;b&gt;" not in text and "<b>x" not in text
    assert "Spotify did not let you log in. Please try again." in text


def test_a_known_spotify_error_keeps_its_message(auth, db):
    assert "You chose not to give" in auth.deny().get_data(as_text=True)


# -- 11. CSRF rotated, imports for listeners only ---------------------------------------------


def test_the_csrf_token_changes_at_login(auth, client, db):
    before = csrf_token(client.get("/auth/admin").get_data(as_text=True))
    assert auth.admin_login().status_code == 302
    refused = client.post("/auth/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert client.get("/admin").status_code == 200  # still logged in


def test_the_admin_cannot_reach_the_import(auth, client, db):
    auth.admin_login()
    response = client.get("/account/import")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin")


def test_two_browsers_log_in_independently(auth, app, db):
    auth.login_user(0)
    other = AuthActions(app.test_client(), auth.sandbox)
    other.login_user(0)
    auth.logout()
    assert other.client.get("/account").status_code == 200


def test_logging_in_again_replaces_this_browsers_session(auth, db):
    auth.login_user(0)
    auth.login_user(0)  # as "Renew Spotify access" does
    assert LoginSession.select().count() == 1
    assert auth.client.get("/account").status_code == 200
