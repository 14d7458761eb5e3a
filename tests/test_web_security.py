"""Headers, cookie flags, CSRF on every form, log masking, 404 for what is not yours."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging

from models.schema.tables import User
from tests.factories import make_play, make_track, make_user
from tests.webtools import login_as, web_environ
from web.security import MaskSecrets

FORMS = [  # (page that shows the form, where it posts, valid fields without the token)
    ("/account", "/account/timezone", {"timezone": "Europe/Paris"}),
    ("/account", "/account/token", {}),
    ("/account/delete", "/account/delete", {"confirm": "delete"}),
    ("/account", "/auth/logout", {}),
]


def test_every_page_sends_security_headers(client, db):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script" not in response.get_data(as_text=True)


def test_session_cookie_is_httponly_lax_and_secure_behind_https(db, tmp_path, sandbox):
    import settings as settings_module
    from web import create_app

    plain = create_app(settings_module.load(web_environ(db, tmp_path, sandbox)))
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    secure = create_app(
        settings_module.load(
            web_environ(db, tmp_path, sandbox, REDIRECT_URI="https://tracker.example/auth/callback")
        )
    )
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    response = secure.test_client().get("/auth/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_every_form_refuses_a_post_without_csrf_token(client, db):
    user = make_user(timezone="UTC")
    login_as(client, user)
    for page, action, fields in FORMS:
        assert client.get(page).status_code == 200
        response = client.post(action, data=fields)
        assert response.status_code == 400, action
        assert "This form has expired" in response.get_data(as_text=True)
    # Nothing changed and nobody was deleted or logged out.
    assert User.get_by_id(user.id).timezone == "UTC"
    assert client.get("/account").status_code == 200


def test_a_token_from_another_session_is_refused(app, db):
    alice, bob = make_user(), make_user(timezone="UTC")
    alice_client, bob_client = app.test_client(), app.test_client()
    login_as(alice_client, alice)
    login_as(bob_client, bob)
    from tests.webtools import csrf_token

    alice_token = csrf_token(alice_client.get("/account").get_data(as_text=True))
    response = bob_client.post(
        "/account/timezone", data={"csrf_token": alice_token, "timezone": "Asia/Tokyo"}
    )
    assert response.status_code == 400
    assert User.get_by_id(bob.id).timezone == "UTC"


def test_unknown_pages_are_a_friendly_404(client, db):
    login_as(client, make_user())
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is nothing here" in response.get_data(as_text=True)


def test_log_filter_masks_oauth_secrets():
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s',
        ("127.0.0.1", "GET /auth/callback?code=AQBsecret&state=xyz HTTP/1.1", "302"),
        None,
    )
    MaskSecrets().filter(record)
    line = record.getMessage()
    assert "AQBsecret" not in line and "xyz" not in line
    assert "code=***" in line and "state=***" in line


def test_an_unexpected_error_is_a_friendly_page_without_details(app, db):
    def broken():
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", "broken", broken)
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Something went wrong" in text and "secret internals" not in text


def test_a_session_of_a_deleted_user_does_not_log_in_whoever_gets_the_id_next(client, db):
    from models.accounts.users import delete_user

    gone = make_user(display_name="Deleted Person")
    login_as(client, gone)
    assert client.get("/account").status_code == 200
    delete_user(gone)
    # SQLite may hand the same id to the next new user.
    make_user(id=gone.id, display_name="Someone Else")
    response = client.get("/account")
    assert response.status_code == 302
    assert "Someone Else" not in client.get("/dashboard").get_data(as_text=True)


def test_log_filter_keeps_gunicorns_dict_of_values_and_masks_them():
    """gunicorn's access log calls ``info(format, {"h": ..., "r": ...})``: the record's args
    are a dict, and the masked record must still format (no logging error, nothing unmasked)."""
    stream = io.StringIO()
    logger = logging.getLogger("test.gunicorn.access")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.addFilter(MaskSecrets())
    try:
        logger.warning(
            '%(h)s "%(r)s" %(s)s',
            {
                "h": "127.0.0.1",
                "r": "GET /auth/callback?code=AQBsecret&state=xyz HTTP/1.1",
                "s": "302",
            },
        )
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert line == '127.0.0.1 "GET /auth/callback?code=***&state=*** HTTP/1.1" 302\n'


def test_every_response_to_a_logged_in_listener_is_not_cached(client, db):
    me = make_user()
    track = make_track(name="Song")
    make_play(me, track, dt.datetime(2026, 3, 1, 12))
    with client.get("/static/style.css") as anonymous:
        assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    login_as(client, me)
    for path in ("/account/export.csv", "/account/export.json", "/dashboard", "/static/style.css"):
        with client.get(path) as response:
            response.get_data()  # the exports stream: read them within the request
            assert response.status_code == 200, path
            assert response.headers["Cache-Control"] == "no-store", path


def test_csv_export_neutralises_spreadsheet_formulas(client, db):
    me = make_user()
    at = dt.datetime(2026, 3, 1, 12)
    names = ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@SUM(A1)", "\tTab", "Plain"]
    for offset, name in enumerate(names):
        make_play(me, make_track(name=name), at + dt.timedelta(minutes=5 * offset))
    login_as(client, me)
    rows = list(csv.DictReader(io.StringIO(client.get("/account/export.csv").get_data(True))))
    assert [row["track_name"] for row in rows] == ["'" + n for n in names[:-1]] + ["Plain"]
    exported = client.get("/account/export.json").get_json()
    assert names[0] in {play["track_name"] for play in exported["plays"]}  # JSON keeps names
