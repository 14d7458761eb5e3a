"""SECRET_KEY: one derived key per purpose, rotation through SECRET_KEY_FALLBACKS, the upgrade
from the single-secret design, and a login that repairs a grant no key can read any more.

Everything runs through the real shells: the Flask app (its session cookie, the login against
the sandbox Spotify), the Chalice app in-process (bearer tokens) and the stored grant on both
database engines.  "Before" is made with the code paths of that time: the raw SECRET_KEY
signing sessions and JWTs, the SHA-256 derivation encrypting grants.
"""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from chalice.test import Client
from cryptography.fernet import Fernet
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from peewee import Value

import settings as settings_module
from models.accounts import api_tokens, grants, sessions
from models.schema import crypto
from models.schema.tables import OAuthToken, User
from settings import ConfigError
from spotify.client import SpotifyApp
from tests.api_support import load_app, runtime
from tests.factories import make_user
from tests.webtools import AuthActions, csrf_token, web_environ

OLD_KEY = "the-old-secret-key-of-this-install-0123"
NEW_KEY = "the-new-secret-key-after-rotation-456789"
SHORT_OLD_KEY = "sixteen-chars-ok"  # the old minimum: allowed as a fallback, not as SECRET_KEY
COOKIE = "spotify_tracker_session"


def web_app(db, tmp_path, sandbox, **environ):
    from web import create_app

    app = create_app(settings_module.load(web_environ(db, tmp_path, sandbox, **environ)))
    app.config.update(TESTING=True)
    return app


def cookie_signed_with(key, user: User, *, legacy: bool = False) -> str:
    """A logged-in session cookie for ``user`` signed with ``key``, the way Flask signs one:
    naming a server-side session, or (``legacy``) the user as cookies did before those."""
    signer = Flask("elsewhere")
    signer.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    session_id = (
        f"{user.id}:{user.spotify_id}" if legacy else sessions.start(user, dt.timedelta(days=1))
    )
    return serializer.dumps({"_user_id": session_id, "_fresh": True})


def account_page(app, cookie: str):
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client.get("/account")


def stored_ciphertext(user: User) -> str:
    return (
        OAuthToken.select(grants._ciphertext(OAuthToken.refresh_token))
        .where(OAuthToken.user == user.id)
        .scalar()
    )


def api_get(settings, db, path: str, token: str):
    runtime().use(settings, db)
    try:
        with Client(load_app()) as client:
            return client.http.get(path, headers={"Authorization": f"Bearer {token}"})
    finally:
        runtime().use(None)


# --- item 3: a login repairs an undecryptable grant ---------------------------------------


def test_a_login_replaces_a_grant_that_no_key_can_decrypt(db, tmp_path, fresh_sandbox):
    app = web_app(db, tmp_path, fresh_sandbox)
    auth = AuthActions(app.test_client(), fresh_sandbox)
    user = auth.login_user(0)
    crypto.configure("a-secret-key-of-another-install-000000")  # the key that wrote it is gone
    OAuthToken.update(access_token="lost", refresh_token="lost").where(
        OAuthToken.user == user.id
    ).execute()
    crypto.configure(app.config["SETTINGS"].secret_key)
    with pytest.raises(grants.GrantLost):
        grants.load(user.id)  # what the ETL meets: the user is flagged
    assert User.get_by_id(user.id).needs_reauth

    response = auth.login(0)

    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert not User.get_by_id(user.id).needs_reauth
    assert grants.load(user.id)["refresh_token"] not in ("", "lost")
    spotify = SpotifyApp.from_settings(app.config["SETTINGS"])
    assert grants.client(spotify, user.id).me()["id"] == user.spotify_id  # Spotify's fresh grant


# --- item 3: rotation keeps sessions, API tokens and grants ------------------------------


def test_after_rotating_old_sessions_tokens_and_grants_still_work(db, tmp_path, fresh_sandbox):
    old_app = web_app(db, tmp_path, fresh_sandbox, SECRET_KEY=OLD_KEY)
    old_client = old_app.test_client()
    user = AuthActions(old_client, fresh_sandbox).login_user(0)
    cookie = old_client.get_cookie(COOKIE).value
    old_settings = old_app.config["SETTINGS"]
    token = api_tokens.issue(user, old_settings)
    grant_before = grants.load(user.id)
    old_ciphertext = stored_ciphertext(user)

    new_app = web_app(db, tmp_path, fresh_sandbox, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=OLD_KEY)
    new_settings = new_app.config["SETTINGS"]

    page = account_page(new_app, cookie)
    assert page.status_code == 200 and user.display_name in page.get_data(as_text=True)
    answer = api_get(new_settings, db, "/me", token)
    assert answer.status_code == 200 and answer.json_body["id"] == user.id
    assert not crypto.is_current(old_ciphertext)
    assert grants.load(user.id)["refresh_token"] == grant_before["refresh_token"]
    assert stored_ciphertext(user) != old_ciphertext and crypto.is_current(
        stored_ciphertext(user)
    )  # re-encrypted under the new key when it was read

    # What is new is under the new key only: the old key no longer reads it.
    new_token = api_tokens.issue(user, new_settings)
    with pytest.raises(api_tokens.InvalidApiToken):
        api_tokens.user_of(new_token, old_settings)
    crypto.configure(NEW_KEY)  # the fallback dropped: the re-encrypted grant needs none
    assert grants.load(user.id)["refresh_token"] == grant_before["refresh_token"]

    # Without the fallback the old session and token are refused.
    bare_app = web_app(db, tmp_path, fresh_sandbox, SECRET_KEY=NEW_KEY)
    assert account_page(bare_app, cookie).status_code == 302
    assert api_get(bare_app.config["SETTINGS"], db, "/me", token).status_code == 401


# --- item 9: the upgrade from the single-secret design ----------------------------------


def test_pre_upgrade_sessions_and_tokens_signed_with_the_raw_key_still_verify(
    db, tmp_path, fresh_sandbox
):
    user = make_user(legacy_cookies=True)  # an account from before migration 060
    app = web_app(db, tmp_path, fresh_sandbox, SECRET_KEY=NEW_KEY)
    settings = app.config["SETTINGS"]
    legacy_cookie = cookie_signed_with(NEW_KEY, user, legacy=True)
    page = account_page(app, legacy_cookie)
    assert page.status_code == 200 and user.display_name in page.get_data(as_text=True)
    claims = jwt.decode(api_tokens.issue(user, settings), options={"verify_signature": False})
    legacy_token = jwt.encode(claims, NEW_KEY, algorithm="HS256")
    assert api_tokens.user_of(legacy_token, settings).id == user.id
    # A key that was never configured signs nothing we accept.
    assert account_page(app, cookie_signed_with("some-other-raw-key-" * 2, user)).status_code == 302
    forged = jwt.encode(claims, "some-other-raw-key-" * 2, algorithm="HS256")
    with pytest.raises(api_tokens.InvalidApiToken, match="Signature"):
        api_tokens.user_of(forged, settings)


@pytest.mark.parametrize("old_key", [None, SHORT_OLD_KEY], ids=["same-key", "rotated-short-key"])
def test_a_pre_upgrade_grant_decrypts_and_is_re_encrypted(db, old_key):
    """The SHA-256 derivation of the current key (an upgrade) or of a fallback (an upgrade of
    an install whose 16-character key had to be rotated out)."""
    writer = old_key or NEW_KEY
    crypto.configure(NEW_KEY, [old_key] if old_key else [])
    user = make_user()
    OAuthToken.create(user=user, refresh_token="placeholder")
    legacy = Fernet(crypto.legacy_key_from_secret(writer))
    OAuthToken.update(
        {
            OAuthToken.refresh_token: Value(
                legacy.encrypt(b"AQD-from-before").decode(), converter=False
            ),
            OAuthToken.access_token: Value(legacy.encrypt(b"BQ-before").decode(), converter=False),
        }
    ).where(OAuthToken.user == user.id).execute()
    assert not crypto.is_current(stored_ciphertext(user))

    grant = grants.load(user.id)

    assert grant["refresh_token"] == "AQD-from-before"
    assert crypto.is_current(stored_ciphertext(user))
    crypto.configure(NEW_KEY)  # neither the fallback nor the legacy key is needed any more
    row = OAuthToken.get(OAuthToken.user == user.id)
    assert (row.refresh_token, row.access_token) == ("AQD-from-before", "BQ-before")


def test_a_grant_under_the_current_key_is_not_rewritten(db):
    crypto.configure(NEW_KEY, [OLD_KEY])
    user = make_user()
    OAuthToken.create(user=user, refresh_token="AQD-current", access_token=None)
    before = stored_ciphertext(user)
    assert grants.load(user.id)["refresh_token"] == "AQD-current"
    assert stored_ciphertext(user) == before


def test_re_encrypting_never_undoes_a_write_made_meanwhile(db):
    crypto.configure(OLD_KEY)
    user = make_user()
    OAuthToken.create(user=user, refresh_token="AQD-old", access_token="BQ-old")
    crypto.configure(NEW_KEY, [OLD_KEY])
    read = grants._with_ciphertexts(user.id).get()  # the ETL read it under the old key...
    grants.store(user, {"access_token": "BQ-new", "refresh_token": "AQD-new", "expires_in": 60})
    grants._reencrypt_if_old(read)  # ...and re-encrypts after a login stored a new grant
    row = OAuthToken.get(OAuthToken.user == user.id)
    assert (row.refresh_token, row.access_token) == ("AQD-new", "BQ-new")


# --- item 9: one key per purpose ----------------------------------------------------------


def test_each_purpose_has_its_own_key(db, tmp_path, fresh_sandbox):
    purposes = (crypto.SESSION_SIGNING, crypto.API_TOKEN_SIGNING, crypto.TOKEN_ENCRYPTION)
    keys = {crypto.derive_key(NEW_KEY, purpose) for purpose in purposes}
    assert len(keys) == 3 and NEW_KEY.encode() not in keys
    assert crypto.derive_key(NEW_KEY, crypto.SESSION_SIGNING) != crypto.derive_key(
        OLD_KEY, crypto.SESSION_SIGNING
    )

    user = make_user()
    app = web_app(db, tmp_path, fresh_sandbox, SECRET_KEY=NEW_KEY)
    settings = app.config["SETTINGS"]
    session_key = crypto.signing_key(crypto.SESSION_SIGNING, NEW_KEY)
    token_key = crypto.signing_key(crypto.API_TOKEN_SIGNING, NEW_KEY)
    assert app.secret_key == session_key
    # A session cookie made with the session key logs in; one made with the API key does not.
    assert account_page(app, cookie_signed_with(session_key, user)).status_code == 200
    assert account_page(app, cookie_signed_with(token_key, user)).status_code == 302
    # A JWT made with the API key verifies; one made with the session key does not.
    claims = jwt.decode(api_tokens.issue(user, settings), options={"verify_signature": False})
    assert api_tokens.user_of(jwt.encode(claims, token_key, "HS256"), settings).id == user.id
    with pytest.raises(api_tokens.InvalidApiToken, match="Signature"):
        api_tokens.user_of(jwt.encode(claims, session_key, "HS256"), settings)


# --- the settings -------------------------------------------------------------------------


def test_a_31_character_secret_key_is_refused_with_the_way_out(make_settings):
    with pytest.raises(ConfigError) as refused:
        make_settings(SECRET_KEY="k" * 31)
    message = str(refused.value)
    assert message.startswith("SECRET_KEY is too short (31 characters)")
    assert "at least 32" in message and "SECRET_KEY_FALLBACKS" in message
    assert "k" * 31 not in message
    assert make_settings(SECRET_KEY="k" * 32).secret_key == "k" * 32


def test_fallbacks_are_comma_separated_and_may_be_as_short_as_the_old_minimum(make_settings):
    loaded = make_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=f"{OLD_KEY}, {SHORT_OLD_KEY}")
    assert loaded.secret_key_fallbacks == (OLD_KEY, SHORT_OLD_KEY)
    assert make_settings(SECRET_KEY=NEW_KEY).secret_key_fallbacks == ()
    assert OLD_KEY not in repr(loaded)
    for bad in ("fifteen-chars-x", f"{OLD_KEY},,{SHORT_OLD_KEY}"):
        with pytest.raises(ConfigError, match=r"^SECRET_KEY_FALLBACKS=\(hidden\) is invalid"):
            make_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=bad)


def test_a_pre_upgrade_cookie_becomes_a_session_and_dies_with_the_first_logout(
    db, tmp_path, fresh_sandbox
):
    """Upgrading logs nobody out, and revocation still holds: the old cookie works only until
    its user logs out anywhere; an account made since never honours such a cookie."""
    before = make_user(legacy_cookies=True)
    since = make_user()
    app = web_app(db, tmp_path, fresh_sandbox, SECRET_KEY=NEW_KEY)
    legacy_cookie = cookie_signed_with(NEW_KEY, before, legacy=True)
    client = app.test_client()
    client.set_cookie(COOKIE, legacy_cookie)
    assert client.get("/account").status_code == 200
    upgraded = client.get_cookie(COOKIE).value
    assert upgraded != legacy_cookie  # the browser now holds a server-side session
    assert client.get("/account").status_code == 200
    assert account_page(app, legacy_cookie).status_code == 200  # a copy, until a logout
    token = csrf_token(client.get("/account").get_data(as_text=True))
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code in (302, 303)
    assert account_page(app, legacy_cookie).status_code == 302
    assert account_page(app, cookie_signed_with(NEW_KEY, since, legacy=True)).status_code == 302
