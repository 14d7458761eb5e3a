"""Who is asking: bearer-token authentication for every route, and the admin's password grant.

Why a middleware and not ``@app.authorizer``: measured with chalice 1.34, a built-in
authorizer that denies a token answers 403 ``{"Message": "User is not authorized..."}`` in
``chalice.test.Client`` and ``chalice local``; raising ``Exception("Unauthorized")`` (the API
Gateway idiom for 401) escapes as a Python exception locally; only a missing header gives 401,
with API Gateway's own body.  The API promises 401 with its JSON error for every refused token,
everywhere, so :func:`authenticate` checks tokens inside the Lambda, for every route except
:data:`PUBLIC_ROUTES` (deny by default: a new endpoint is protected without opting in).
The user id comes only from the verified token; a deleted user's token stops working at once,
and so does every token of a user who revoked them (``models.accounts.api_tokens``).

``POST /token`` guesses are limited like the web's admin login (``models.accounts.throttle``),
per account and per client address; the address is API Gateway's ``identity.sourceIp`` (its
own view of the connection, not a header a client writes).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib import runtime
from chalicelib.errors import NOT_FOUND_ROUTES, ApiError, Forbidden, Unauthorized
from models.accounts import api_tokens, throttle
from models.schema.tables import User

# Chalice route patterns that answer without a token (unknown paths answer 404 to anyone).
PUBLIC_ROUTES = frozenset({"/health", "/openapi.json", "/token", *NOT_FOUND_ROUTES})
REAUTH_HEADER = "X-Spotify-Reauth-Required"

auth_routes = Blueprint(__name__)


def authenticate(event, get_response):
    """Middleware: verify the bearer token and load its user before any protected view."""
    if event.context.get("resourcePath") in PUBLIC_ROUTES:
        return get_response(event)
    user = user_from_header(event.headers.get("authorization"))
    event.context["authorizer"] = {"principalId": str(user.id)}
    event.context["user"] = user
    response = get_response(event)
    # One person's statistics: no shared cache (proxy, CDN) may keep them.
    response.headers.setdefault("Cache-Control", "private, no-store")
    if user.needs_reauth:
        response.headers[REAUTH_HEADER] = "true"
    return response


def user_from_header(header: str | None) -> User:
    if not header:
        raise Unauthorized("Missing bearer token: send 'Authorization: Bearer <token>'.", error="")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "The Authorization header must be 'Bearer <token>'.", error="invalid_request"
        )
    runtime.database()
    try:
        return api_tokens.user_of(token.strip(), runtime.settings())
    except api_tokens.InvalidApiToken as exc:
        raise Unauthorized(f"The bearer token was refused ({exc}).") from None


def current_user(request) -> User:
    return request.context["user"]


def require_admin(request) -> User:
    user = current_user(request)
    if not user.is_admin:
        raise Forbidden("This endpoint is for the administrator.")
    return user


class TooManyAttempts(ApiError):
    """429: this account or address failed too often; ``Retry-After`` says when to come back."""

    status = 429
    code = "TooManyRequestsError"

    def __init__(self, resets_in: int):
        super().__init__(
            f"Too many failed logins: try again in {resets_in} seconds.",
            headers={"Retry-After": str(resets_in)},
        )


def source_ip(request) -> str | None:
    return (request.context.get("identity") or {}).get("sourceIp")


class TokenError(ApiError):
    """RFC 6749 section 5.2 error, with the OAuth ``error`` field clients look for."""

    code = "TokenError"

    def __init__(self, error: str, description: str, param: str | None = None):
        super().__init__(description, param=param, error=error, error_description=description)


@auth_routes.route("/token", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def token():
    """OAuth2 password grant for the admin account (email and password from FIRST_ADMIN_*)."""
    request = auth_routes.current_request
    form = _form(request.raw_body)
    if form.get("grant_type") != "password":
        if "grant_type" not in form:
            raise TokenError("invalid_request", "grant_type is required", "grant_type")
        raise TokenError(
            "unsupported_grant_type", "only grant_type=password is supported", "grant_type"
        )
    for name in ("username", "password"):
        if not form.get(name):
            raise TokenError("invalid_request", f"{name} is required", name)
    if not _plain(form["username"]):
        raise TokenError("invalid_request", "username must be an email address", "username")
    runtime.database()
    try:
        admin = throttle.authenticate_admin_limited(
            form["username"], form["password"], source_ip(request)
        )
    except throttle.TooManyFailedLogins as exc:
        raise TooManyAttempts(exc.resets_in) from None
    if admin is None:
        raise TokenError("invalid_grant", "wrong email or password")
    settings = runtime.settings()
    body = {
        "access_token": api_tokens.issue(admin, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_expire_minutes * 60,
    }
    return Response(body=body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _form(raw_body: str | bytes | None) -> dict[str, str]:
    """The form's fields; chalice types the raw body as text or bytes."""
    try:
        text = raw_body.decode("utf-8") if isinstance(raw_body, bytes) else raw_body or ""
    except UnicodeDecodeError:
        raise TokenError("invalid_request", "the form must be UTF-8") from None
    fields = parse_qs(text, keep_blank_values=True, strict_parsing=False)
    return {name: values[-1] for name, values in fields.items()}


def _plain(text: str) -> bool:
    """No control characters (PostgreSQL refuses NUL in text)."""
    return len(text) <= 320 and all(ch >= " " for ch in text)
