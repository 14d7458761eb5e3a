"""Logging in: listeners with Spotify (authorization code + PKCE), the admin with a password.

authlib's Flask client builds the authorize redirect, keeps ``state`` and the PKCE verifier in
the session, verifies ``state`` on the way back and exchanges the code; ``spotify.client`` then
reads ``/v1/me``; ``models.accounts.users`` creates or updates the listener and stores the grant
encrypted.  Every way the round trip can fail ends on a page that says what happened.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    current_app,
    flash,
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

from models.accounts.users import AccountConflict, authenticate_admin, upsert_spotify_user
from models.schema.tables import User
from spotify.client import SpotifyApp, TokenSet
from spotify.errors import SpotifyError

bp = Blueprint("auth", __name__, url_prefix="/auth")
log = logging.getLogger(__name__)
NEXT_KEY = "login_next"

# What Spotify's ``error`` parameter means, in words a listener understands.
AUTHORIZE_ERRORS = {
    "access_denied": "You chose not to give Spotify Tracker access. Nothing was stored; you "
    "can try again whenever you like.",
}


class Account(UserMixin):
    """flask-login's view of a ``User`` row (the model stays free of web concerns).

    Attribute reads fall through to the row, so ``current_user.timezone`` works in views and
    templates; ``current_user.row`` is the ``User`` to hand to ``models`` functions.

    The session names the row by id *and* Spotify id: SQLite may give a deleted user's id to
    the next new user, and a browser still logged in as the deleted user must not become them.
    """

    def __init__(self, row: User):
        self.row = row

    def get_id(self) -> str:
        return f"{self.row.id}:{self.row.spotify_id}"

    @staticmethod
    def load(session_id: str) -> Account | None:
        row_id, _, spotify_id = session_id.partition(":")
        if not row_id.isdigit() or not spotify_id:
            return None
        row = User.get_or_none((User.id == int(row_id)) & (User.spotify_id == spotify_id))
        return Account(row) if row is not None else None

    def __getattr__(self, name):
        return getattr(self.row, name)


class AdminLoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def init_app(app, settings) -> None:
    oauth = OAuth(app)
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
    """Send the browser to Spotify's authorize page (state + PKCE S256 kept in the session)."""
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
        message = AUTHORIZE_ERRORS.get(exc.error) or (
            f"Spotify did not let you log in ({exc.error}). Please try again."
        )
        return _failed("Spotify login did not complete", message)
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
    session.permanent = True  # stay logged in for SESSION_DAYS, not just this browser session
    login_user(Account(user))
    log.info("user %s logged in with Spotify", user.id)
    return redirect(safe_next(session.pop(NEXT_KEY, None)) or url_for("stats.dashboard"))


@bp.route("/admin", methods=("GET", "POST"))
def admin_login():
    form = AdminLoginForm()
    if form.validate_on_submit():
        admin = authenticate_admin(form.email.data, form.password.data)
        if admin is not None:
            login_user(Account(admin))  # the admin's session ends with the browser
            return redirect(url_for("admin.index"))
        flash("Wrong email or password.", "error")
        return render_template("auth/admin_login.html", form=form), 401
    status = 400 if form.errors else 200
    return render_template("auth/admin_login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """A POST (CSRF-checked by ``web.security``), so no other site can log you out."""
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("stats.index"))
