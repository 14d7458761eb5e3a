"""Logging in: listeners with Spotify (authorization code + PKCE), the admin with a password.

authlib's Flask client builds the authorize redirect, verifies ``state`` on the way back and
exchanges the code; ``spotify.client`` then reads ``/v1/me``; ``models.accounts.users`` creates
or updates the listener and stores the grant encrypted.  Every way the round trip can fail ends
on a page that says what happened, in our words only (``?error=`` is anyone's to write).

What stays off the cookie: the PKCE verifier and state data live in the database
(:class:`StateCache`, authlib's cache-backed state), one pending login per browser; the login
itself is a server-side session (``models.accounts.sessions``) whose random key is all the
cookie holds, so logging out ends it even for a copied cookie.  Logging in starts a fresh
session (new CSRF token).  Admin password attempts are limited (``models.accounts.throttle``).
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlparse

from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from requests import RequestException
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from models.accounts import sessions, throttle
from models.accounts.users import AccountConflict, upsert_spotify_user
from models.schema.db import utcnow
from models.schema.tables import OAuthState, User
from spotify.client import SpotifyApp, TokenSet
from spotify.errors import SpotifyError
from web.security import SESSION_DAYS

bp = Blueprint("auth", __name__, url_prefix="/auth")
log = logging.getLogger(__name__)
NEXT_KEY = "login_next"
STATE_PREFIX = "_state_spotify_"  # authlib's session keys of a pending login
ADMIN_SESSION = dt.timedelta(hours=12)  # the admin's session also ends with the browser

# What Spotify's ``error`` values mean, in words a listener understands.  Anything else in
# ``?error=`` gets GENERIC_ERROR: the page never repeats what the URL said.
AUTHORIZE_ERRORS = {
    "access_denied": "You chose not to give Spotify Tracker access. Nothing was stored; you "
    "can try again whenever you like.",
    "invalid_grant": "The login took too long or was already used. Please log in again.",
    "server_error": "Spotify had a problem on its side. Please try again in a minute.",
    "temporarily_unavailable": "Spotify is busy right now. Please try again in a minute.",
    "invalid_scope": "This server asks Spotify for permissions Spotify does not offer; tell "
    "whoever runs it.",
    "unauthorized_client": "Spotify does not accept this server's app; tell whoever runs it.",
    "invalid_client": "Spotify does not accept this server's app; tell whoever runs it.",
}
GENERIC_ERROR = "Spotify did not let you log in. Please try again."


class Account(UserMixin):
    """flask-login's view of a ``User`` row (the model stays free of web concerns).

    Attribute reads fall through to the row, so ``current_user.timezone`` works in views and
    templates; ``current_user.row`` is the ``User`` to hand to ``models`` functions.

    flask-login's "user id" in the cookie is the key of a ``models.accounts.sessions`` row,
    looked up on every request: once the row is gone (logout, "log out everywhere", account
    deleted, expired) the cookie logs nobody in, copied or not.
    """

    def __init__(self, row: User, session_key: str):
        self.row = row
        self.session_key = session_key

    def get_id(self) -> str:
        return self.session_key

    @staticmethod
    def load(session_key: str) -> Account | None:
        row = sessions.user_of(session_key)
        if row is not None:
            return Account(row, session_key)
        upgraded = sessions.upgrade_legacy(session_key, dt.timedelta(days=SESSION_DAYS))
        if upgraded is None:
            return None
        row, new_key = upgraded
        session["_user_id"] = new_key  # the browser gets the new cookie with this answer
        return Account(row, new_key)

    def __getattr__(self, name):
        return getattr(self.row, name)


class AdminLoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class StateCache:
    """authlib's cache interface over ``OAuthState``: a pending login's data stays on the
    server (encrypted), and the session keeps only authlib's marker of the ``state``."""

    def get(self, key: str):
        row = OAuthState.get_or_none(OAuthState.key == key)
        return row.value if row is not None and row.expires_at > utcnow() else None

    def set(self, key: str, value: str, expires_in: int | None = None) -> None:
        now = utcnow()
        OAuthState.delete().where(OAuthState.expires_at < now).execute()
        expires_at = now + dt.timedelta(seconds=expires_in or 3600)
        OAuthState.insert(key=key, value=value, expires_at=expires_at).on_conflict(
            conflict_target=[OAuthState.key],
            update={OAuthState.value: value, OAuthState.expires_at: expires_at},
        ).execute()

    def delete(self, key: str) -> None:
        OAuthState.delete().where(OAuthState.key == key).execute()


def client_address() -> str | None:
    """The client's address: the connection's, or what ``TRUSTED_PROXIES`` proxies said
    (``web.security`` installs werkzeug's ProxyFix for exactly that many)."""
    return request.remote_addr


def _start_session(account_row: User, lifetime: dt.timedelta) -> None:
    """Log in on a clean session: nothing from before (an old CSRF token, a session of this
    browser's, as when a listener logs in again to renew Spotify access) carries over."""
    if current_user.is_authenticated:
        sessions.end(current_user.session_key)
    session.clear()
    g.pop("csrf_token", None)  # flask-wtf caches the request's token here
    login_user(Account(account_row, sessions.start(account_row, lifetime)))


def init_app(app, settings) -> None:
    oauth = OAuth(app, cache=StateCache())
    oauth.register(
        "spotify",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        authorize_url=settings.oauth_authorize_url,
        access_token_url=settings.oauth_token_url,
        client_kwargs={
            "scope": settings.scope,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "timeout": 15,
        },
    )
    app.extensions["spotify_app"] = SpotifyApp.from_settings(settings)

    login_manager = LoginManager(app)
    login_manager.login_view = "stats.index"
    login_manager.login_message = "Log in to see that page."
    login_manager.login_message_category = "info"

    login_manager.user_loader(Account.load)


def for_listeners_only(blueprint: Blueprint) -> None:
    """The admin is not a listener (no plays, no Spotify grant): send them to the admin page
    from every page of ``blueprint``."""

    @blueprint.before_request
    def admin_elsewhere():
        if current_user.is_authenticated and current_user.is_admin:
            return redirect(url_for("admin.index"))
        return None


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: no open redirect after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _spotify():
    return current_app.extensions["authlib.integrations.flask_client"].spotify


def _failed(title: str, message: str, status: int = 400):
    return render_template("auth/failed.html", title=title, message=message), status


@bp.get("/login")
def login():
    """Send the browser to Spotify's authorize page (state + PKCE S256 kept server-side).

    One pending login per browser: starting another forgets the last, so the cookie does not
    grow with every click on "Log in".
    """
    cache = StateCache()
    for key in [key for key in session if key.startswith(STATE_PREFIX)]:
        session.pop(key)
        cache.delete(key)
    target = safe_next(request.args.get("next"))
    if target:
        session[NEXT_KEY] = target
    else:
        session.pop(NEXT_KEY, None)
    settings = current_app.config["SETTINGS"]
    return _spotify().authorize_redirect(settings.redirect_uri)


@bp.get("/callback")
def callback():
    """Where Spotify sends the browser back with ``code`` (or ``error``) and ``state``."""
    try:
        token = _spotify().authorize_access_token()
    except MismatchingStateError:
        return _failed(
            "That login link has expired",
            "The answer from Spotify did not match a login started in this browser "
            "(it may be old, or was opened in another browser). Please log in again.",
        )
    except OAuthError as exc:
        known = AUTHORIZE_ERRORS.get(str(exc.error))
        if known is None:
            log.info("Spotify login ended with an unknown error value %r", str(exc.error)[:64])
        return _failed("Spotify login did not complete", known or GENERIC_ERROR)
    except RequestException:
        log.warning("Spotify token endpoint unreachable during login")
        return _failed(
            "Spotify could not be reached",
            "We could not reach Spotify to finish logging you in. Please try again in a minute.",
            502,
        )
    try:
        client = current_app.extensions["spotify_app"].client(TokenSet.from_response(token))
        me = client.me()
    except SpotifyError as exc:
        log.warning("reading /v1/me after login failed: %s", exc)
        return _failed(
            "Spotify login did not complete",
            "Spotify accepted the login but would not tell us who you are. Please try again.",
            502,
        )
    try:
        user = upsert_spotify_user(me, token)
    except AccountConflict:
        return _failed(
            "This Spotify account cannot log in here",
            "Its Spotify id is used by this server's admin account.",
            409,
        )
    target = safe_next(session.pop(NEXT_KEY, None))
    _start_session(user, dt.timedelta(days=SESSION_DAYS))
    session.permanent = True  # stay logged in for SESSION_DAYS, not just this browser session
    log.info("user %s logged in with Spotify", user.id)
    return redirect(target or url_for("stats.dashboard"))


@bp.route("/admin", methods=("GET", "POST"))
def admin_login():
    form = AdminLoginForm()
    if form.validate_on_submit():
        try:
            admin = throttle.authenticate_admin_limited(
                form.email.data, form.password.data, client_address()
            )
        except throttle.TooManyFailedLogins as exc:
            flash(f"Too many failed logins. Try again in {exc.resets_in} seconds.", "error")
            page = render_template("auth/admin_login.html", form=form)
            return page, 429, {"Retry-After": str(exc.resets_in)}
        if admin is not None:
            _start_session(admin, ADMIN_SESSION)  # and it ends with the browser
            return redirect(url_for("admin.index"))
        flash("Wrong email or password.", "error")
        return render_template("auth/admin_login.html", form=form), 401
    status = 400 if form.errors else 200
    return render_template("auth/admin_login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """A POST (CSRF-checked by ``web.security``), so no other site can log you out.  The
    session's row goes, so a copy of the cookie is worth nothing after."""
    sessions.end(current_user.session_key)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("stats.index"))
