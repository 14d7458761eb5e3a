"""Fixtures and helpers for the web app's tests (imported by tests/test_web_*.py).

``auth`` is flaskr's ``AuthActions`` walking the real login: the app's /auth/login redirect,
the sandbox's authorize page over HTTP (pick a listener, approve or deny), and back to the app's
callback, which exchanges the code with the sandbox's token endpoint and reads /v1/me.
"""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import pytest
import requests

import settings as settings_module
from models.schema.tables import User
from tests.environment import base_environ

REDIRECT_URI = "http://127.0.0.1:5000/auth/callback"  # registered in the sandbox by default
ADMIN_EMAIL = "admin@example.test"
ADMIN_PASSWORD = "correct horse battery staple"
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"'
    r'|name="csrf_token" value="([^"]+)"'
)


def web_environ(db, tmp_path, sandbox, **extra) -> dict[str, str]:
    environ = base_environ(
        DATABASE_URL=db.url,
        DATA_DIR=str(tmp_path / "data"),
        REDIRECT_URI=REDIRECT_URI,
        FIRST_ADMIN_EMAIL=ADMIN_EMAIL,
        FIRST_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **sandbox.env(),
    )
    environ.update(extra)
    return environ


@pytest.fixture
def web_settings(db, tmp_path, sandbox):
    return settings_module.load(web_environ(db, tmp_path, sandbox))


@pytest.fixture
def app(web_settings):
    from models.accounts.users import ensure_first_admin
    from web import create_app

    application = create_app(web_settings)
    application.config.update(TESTING=True)
    ensure_first_admin(web_settings)
    return application


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(page_html: str) -> str:
    """The CSRF token of the first form on a page, as a browser would submit it."""
    match = CSRF_INPUT.search(page_html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client, sandbox):
        self.client = client
        self.sandbox = sandbox

    def listener(self, index: int = 0) -> dict:
        return self.sandbox.listeners()[index]

    def authorize(
        self, listener_id: str | None, decision: str = "approve", next_path: str | None = None
    ):
        """Start a login, answer Spotify's page; return the callback URL Spotify sent back."""
        query = {"next": next_path} if next_path else {}
        start = self.client.get("/auth/login", query_string=query)
        assert start.status_code == 302, start.data
        authorize_url = start.headers["Location"]
        page = requests.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        form = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(page.text)}
        form.update(decision=decision, listener=listener_id or "")
        answer = requests.post(
            self.sandbox.url + "/authorize", data=form, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def callback(self, location: str):
        """Follow Spotify's redirect back into the app (the test client serves every host)."""
        parts = urlparse(location)
        return self.client.get(parts.path, query_string=parts.query)

    def login(self, index: int = 0, next_path: str | None = None):
        """Log in as sandbox listener ``index``; returns the callback's response."""
        listener = self.listener(index)
        return self.callback(self.authorize(listener["id"], next_path=next_path))

    def login_user(self, index: int = 0) -> User:
        response = self.login(index)
        assert response.status_code == 302, response.data
        return User.get(User.spotify_id == self.listener(index)["id"])

    def deny(self):
        return self.callback(self.authorize(self.listener(0)["id"], decision="deny"))

    def admin_login(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD):
        page = self.client.get("/auth/admin")
        return self.client.post(
            "/auth/admin",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "email": email,
                "password": password,
            },
        )

    def logout(self):
        page = self.client.get("/account")
        return self.client.post(
            "/auth/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
        )


@pytest.fixture
def auth(client, fresh_sandbox):
    return AuthActions(client, fresh_sandbox)


def code_and_state(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def login_as(client, user) -> None:
    """Put ``user`` in the test client's session, as flask-login does after a login (for page
    tests; the real login through the sandbox is tested in test_web_auth.py)."""
    import datetime as dt

    from models.accounts import sessions

    with client.session_transaction() as session:
        session["_user_id"] = sessions.start(user, dt.timedelta(days=1))
        session["_fresh"] = True


@contextmanager
def rendered_templates(app):
    """A list that fills with the context of every template ``app`` renders in the block: what
    a page's numbers were, before any HTML (the API-matches-web tests compare them)."""
    from flask import template_rendered

    rendered: list = []

    def record(sender, template, context, **extra):
        rendered.append(context)

    template_rendered.connect(record, app)
    try:
        yield rendered
    finally:
        template_rendered.disconnect(record, app)
