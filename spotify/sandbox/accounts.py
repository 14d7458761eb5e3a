"""The Accounts service: the authorize page and its decision, and the token endpoint.

``GET /authorize`` shows the consent page; its form posts the query's parameters back with the
chosen listener and the decision, and ``POST /authorize`` redirects to the app with a code (or
``error=access_denied``). ``POST /api/token`` trades a code (client secret or PKCE verifier) or a
refresh token for tokens. Errors the redirect URI cannot be trusted with (unknown client,
unregistered URI) stay on the sandbox's own page, as Spotify's do.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from spotify.sandbox.errors import error_page, token_error
from spotify.sandbox.state import Grant, SandboxState, current_state

ALL_SCOPES = "user-read-private user-read-email user-read-recently-played user-top-read"
CODE_LIFETIME_MS = 600_000

bp = Blueprint("accounts", __name__)

AUTHORIZE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox Spotify - Authorize</title></head>
<body><main>
<h1>Sandbox Spotify</h1>
<p><strong>{client}</strong> wants to access your account: {scopes}</p>
<form method="post" action="{action}">
{hidden}
<label for="listener">Log in as</label>
<select id="listener" name="listener">{options}</select>
<button type="submit" name="decision" value="approve" id="approve">Agree</button>
<button type="submit" name="decision" value="deny" id="deny">Cancel</button>
</form></main></body></html>
"""


# -- the authorize page ----------------------------------------------------------------------
def authorize_problem(state: SandboxState, params) -> Response | None:
    """Errors shown on Spotify's own page (the redirect URI cannot be trusted yet)."""
    if params.get("client_id") != state.client_id:
        return error_page("Error", "INVALID_CLIENT: Invalid client", 400)
    if params.get("redirect_uri") not in state.redirect_uris:
        return error_page("Error", "INVALID_CLIENT: Invalid redirect URI", 400)
    return None


def back(params, **answer) -> Response:
    """The redirect to the app's redirect URI with ``answer`` and the app's ``state``."""
    answer["state"] = params.get("state", "")
    target = params["redirect_uri"]
    joiner = "&" if "?" in target else "?"
    return redirect(target + joiner + urlencode({k: v for k, v in answer.items() if v is not None}))


def authorize_redirect_problem(params) -> Response | None:
    """Errors sent back to the (registered, so trusted) redirect URI."""
    if params.get("response_type") != "code":
        return back(params, error="unsupported_response_type")
    method = params.get("code_challenge_method")
    if (method or params.get("code_challenge")) and (
        method != "S256" or not params.get("code_challenge")
    ):
        return back(
            params,
            error="invalid_request",
            error_description="code_challenge_method must be S256",
        )
    return None


@bp.get("/authorize")
def authorize_page():
    state = current_state()
    params = request.args
    with state.lock:
        state.calls["authorize"] += 1
        problem = authorize_problem(state, params) or authorize_redirect_problem(params)
        if problem:
            return problem
    hidden = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    options = "".join(
        f'<option value="{who.id}">{html.escape(who.display_name)} ({who.id})</option>'
        for who in state.world.listeners
    )
    return AUTHORIZE_PAGE.format(
        client=html.escape(state.client_id),
        action="/authorize",
        scopes=html.escape(params.get("scope", "")),
        hidden=hidden,
        options=options,
    )


@bp.post("/authorize")
def authorize_decision():
    state = current_state()
    params = request.form
    with state.lock:
        problem = authorize_problem(state, params) or authorize_redirect_problem(params)
        if problem:
            return problem
        if params.get("decision") != "approve":
            return back(params, error="access_denied")
        who = state.world.listener(params.get("listener", ""))
        if who is None:
            return error_page("Error", "Unknown listener", 400)
        if not state.may_authorize(who.id):
            return error_page(
                "Error",
                "You are not allowed to use this app: it is in "
                "development mode and has reached its user limit.",
                403,
            )
        state.authorize(who.id)
        code = secrets.token_urlsafe(24)
        state.codes[code] = {
            "listener": who.id,
            "redirect_uri": params["redirect_uri"],
            "scope": params.get("scope", ""),
            "challenge": params.get("code_challenge"),
            "expires_ms": state.clock.now_ms() + CODE_LIFETIME_MS,
        }
    return back(params, code=code)


# -- the token endpoint ----------------------------------------------------------------------
def client_credentials() -> tuple[str | None, str | None]:
    """(client id, secret) from HTTP Basic, else from the form (a PKCE client sends no secret)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return request.form.get("client_id"), request.form.get("client_secret")


@bp.post("/api/token")
def token():
    state = current_state()
    with state.lock:
        response = _token(state)
        state.record("token", response.status_code)
        return response


def _token(state: SandboxState) -> Response:
    form = request.form
    grant_type = form.get("grant_type")
    if not grant_type:
        return token_error("invalid_request", "grant_type must be provided")
    if grant_type not in ("authorization_code", "refresh_token"):
        return token_error(
            "unsupported_grant_type", f"grant_type parameter is invalid: {grant_type}"
        )
    client_id, secret = client_credentials()
    if client_id != state.client_id:
        return token_error("invalid_client", "Invalid client")
    if secret is not None and secret != state.client_secret:
        return token_error("invalid_client", "Invalid client secret")
    if grant_type == "refresh_token":
        return _refresh(state, form)
    code, redirect_uri = form.get("code"), form.get("redirect_uri")
    if not code or not redirect_uri:
        return token_error("invalid_request", "code and redirect_uri must be provided")
    record = state.codes.pop(code, None)
    if record is None or record["expires_ms"] < state.clock.now_ms():
        return token_error("invalid_grant", "Invalid authorization code")
    if record["redirect_uri"] != redirect_uri:
        return token_error("invalid_grant", "Invalid redirect URI")
    verifier = form.get("code_verifier")
    if record["challenge"]:
        digest = hashlib.sha256((verifier or "").encode()).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if not verifier or expected != record["challenge"]:
            return token_error("invalid_grant", "code_verifier was incorrect")
    elif secret is None:
        return token_error("invalid_client", "Invalid client secret")
    grant = Grant(record["listener"], client_id, record["scope"], state.clock.now_ms())
    return jsonify(state.issue(grant))


def _refresh(state: SandboxState, form) -> Response:
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        return token_error("invalid_request", "refresh_token must be supplied")
    grant = state.refresh_tokens.get(refresh_token)
    if grant is None:
        return token_error("invalid_grant", "Invalid refresh token")
    problem = state.grant_error(grant)
    if problem:
        return token_error("invalid_grant", problem)
    if state.knobs.rotate_refresh_tokens:
        del state.refresh_tokens[refresh_token]
        return jsonify(state.issue(grant))
    return jsonify(state.issue(grant, refresh_token=refresh_token))
