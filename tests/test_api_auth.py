"""Who may ask what: every refused token is a 401 JSON, the admin's password grant, 403s."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest
from werkzeug.security import generate_password_hash

from models.accounts.users import delete_user
from tests.environment import TEST_SECRET_KEY
from tests.factories import make_user

ADMIN_EMAIL = "admin@example.test"
ADMIN_PASSWORD = "correct horse battery staple"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user, **changes) -> dict:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "sub": str(user.id),
        "sid": user.spotify_id,
        "iss": "spotify-tracker",
        "aud": "spotify-tracker-api",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def refused_tokens(user) -> dict[str, str]:
    """Each way a token can be wrong, named."""
    good = _claims(user)
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(good)}.",
        "wrong key": jwt.encode(good, "another-secret-key-of-enough-length", "HS256"),
        "other algorithm": jwt.encode(good, TEST_SECRET_KEY, "HS512"),
        "expired": jwt.encode(
            _claims(user, iat=1_600_000_000, exp=1_600_000_600), TEST_SECRET_KEY, "HS256"
        ),
        "wrong audience": jwt.encode(_claims(user, aud="someone-else"), TEST_SECRET_KEY, "HS256"),
        "wrong issuer": jwt.encode(_claims(user, iss="someone-else"), TEST_SECRET_KEY, "HS256"),
        "no expiry": jwt.encode(_claims(user, exp=None), TEST_SECRET_KEY, "HS256"),
        "malformed": "not.a.jwt",
        "garbage": "x" * 40,
        "tampered subject": _tamper(
            jwt.encode(good, TEST_SECRET_KEY, "HS256"), {**good, "sub": str(user.id + 1)}
        ),
    }


def _tamper(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64(claims)}.{signature}"


def _assert_401(answer, fragment: str = "") -> None:
    assert answer.status == 401, answer
    assert answer.error["Code"] == "UnauthorizedError"
    assert fragment in answer.error["Message"]
    assert answer.headers["www-authenticate"].startswith('Bearer realm="spotify-tracker"')
    assert answer.headers["content-type"] == "application/json"


def test_a_valid_token_reaches_me(api):
    user = make_user(display_name="Ada")
    answer = api.get("/me", user)
    assert answer.status == 200
    assert (answer.body["id"], answer.body["display_name"]) == (user.id, "Ada")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    "kind",
    [
        "alg none",
        "wrong key",
        "other algorithm",
        "expired",
        "wrong audience",
        "wrong issuer",
        "no expiry",
        "malformed",
        "garbage",
        "tampered subject",
    ],
)
def test_every_bad_token_is_refused_with_401_json(api, kind):
    user = make_user()
    make_user()  # the tampered subject's account exists: the signature alone must refuse it
    _assert_401(api.get("/me", token=refused_tokens(user)[kind]), "refused")


def test_missing_and_non_bearer_authorization_are_401(api):
    user = make_user()
    _assert_401(api.get("/me/stats"), "Missing bearer token")
    token = api.token(user)
    _assert_401(api.get("/me", headers={"Authorization": f"Token {token}"}), "Bearer")
    _assert_401(api.get("/me", headers={"Authorization": "Bearer "}), "Bearer")


def test_a_deleted_users_token_stops_working(api):
    user = make_user()
    token = api.token(user)
    assert api.get("/me", token=token).status == 200
    delete_user(user)
    _assert_401(api.get("/me", token=token), "no longer exists")


def test_a_deleted_users_token_does_not_follow_a_reused_id(api, db):
    """SQLite hands a deleted row's id to the next insert: the token must not follow it."""
    user = make_user()
    token = api.token(user)
    user_id = user.id
    delete_user(user)
    newcomer = make_user(id=user_id)
    assert newcomer.id == user_id
    _assert_401(api.get("/me", token=token), "no longer exists")
    assert api.get("/me", token=api.token(newcomer)).status == 200


def test_expired_message_says_expired(api):
    user = make_user()
    token = api.token(user, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), minutes=60)
    _assert_401(api.get("/me", token=token), "expired")


def test_admin_endpoints_answer_403_json_to_listeners(api):
    listener = make_user()
    for path in ("/users", "/etl/runs"):
        answer = api.get(path, listener)
        assert answer.status == 403
        assert answer.error["Code"] == "ForbiddenError"
        _assert_401(api.get(path))


ADMIN_HASH = generate_password_hash(ADMIN_PASSWORD)


def _make_admin():
    return make_user(spotify_id="admin", email=ADMIN_EMAIL, is_admin=True, password_hash=ADMIN_HASH)


def test_password_grant_gives_the_admin_a_working_token(api):
    admin = _make_admin()
    # the email in another case, as people type it
    answer = api.post_form(
        "/token",
        f"grant_type=password&username={ADMIN_EMAIL.upper()}"
        f"&password={ADMIN_PASSWORD.replace(' ', '+')}",
    )
    assert answer.status == 200, answer
    assert answer.body["token_type"] == "bearer"
    assert answer.body["expires_in"] == 60 * 60
    assert answer.headers["cache-control"] == "no-store"
    listener = make_user()
    users = api.get("/users", token=answer.body["access_token"])
    assert users.status == 200
    assert [row["id"] for row in users.body["items"]] == [listener.id]
    me = api.get("/me", token=answer.body["access_token"])
    assert (me.body["id"], me.body["is_admin"]) == (admin.id, True)


GRANT_REFUSALS = [
    (f"grant_type=password&username={ADMIN_EMAIL}&password=wrong", "invalid_grant", None),
    ("grant_type=password&username=nobody@example.test&password=x", "invalid_grant", None),
    ("grant_type=client_credentials&username=a&password=b", "unsupported_grant_type", "grant_type"),
    (f"username={ADMIN_EMAIL}&password={ADMIN_PASSWORD}", "invalid_request", "grant_type"),
    (f"grant_type=password&username={ADMIN_EMAIL}", "invalid_request", "password"),
    ("grant_type=password&username=a%00b&password=x", "invalid_request", "username"),
]


def test_password_grant_refusals(api):
    _make_admin()
    for form, error, param in GRANT_REFUSALS:
        answer = api.post_form("/token", form)
        assert answer.status == 400, form
        assert answer.body["error"] == error, form
        assert answer.body.get("param") == param, form
        assert "access_token" not in answer.body


def test_a_listener_cannot_use_the_password_grant(api):
    make_user(email="listener@example.test", password_hash=generate_password_hash("their-password"))
    answer = api.post_form(
        "/token", "grant_type=password&username=listener@example.test&password=their-password"
    )
    assert (answer.status, answer.body["error"]) == (400, "invalid_grant")


def test_token_wants_a_form(api):
    answer = api.request(
        "POST", "/token", b'{"username": "a"}', {"Content-Type": "application/json"}
    )
    assert answer.status == 415
    assert answer.error["Code"] == "UnsupportedMediaType"


def test_health_needs_no_token_and_checks_the_database(api):
    answer = api.get("/health")
    assert (answer.status, answer.body) == (200, {"status": "ok", "database": "ok"})


def test_unknown_paths_are_404_json_with_or_without_a_token(api):
    user = make_user()
    for path in ("/", "/nope", "/me/nothing", "/a/b/c/d", "/me/tracks/x/y"):
        for answer in (api.get(path), api.get(path, user)):
            assert answer.status == 404, (path, answer)
            assert answer.error["Code"] == "NotFoundError"
    answer = api.get("/me/top/songs", user)
    assert (answer.status, answer.error["Code"]) == (404, "NotFoundError")


def test_wrong_method_is_405_json(api):
    user = make_user()
    for answer in (
        api.request("DELETE", "/health"),
        api.request("POST", "/me", headers={"Authorization": f"Bearer {api.token(user)}"}),
    ):
        assert answer.status == 405
        assert answer.error["Code"] == "MethodNotAllowedError"
