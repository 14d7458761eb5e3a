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

from flask import Blueprint, jsonify, redirect, request
from werkzeug.wrappers import Response  # what redirect() returns; jsonify() a subclass

from spotify.sandbox.errors import error_page, token_error
from spotify.sandbox.state import Grant, SandboxState, current_state

ALL_SCOPES = "user-read-private user-read-email user-read-recently-played user-top-read"
CODE_LIFETIME_MS = 600_000

bp = Blueprint("accounts", __name__)

# What the consent page says for each scope, grouped under its headings as Spotify's page
# groups them; what every grant shows (the public profile) comes first.
SCOPE_WORDS = {
    "View your Spotify account data": (
        (
            None,
            "Your name and username, your profile picture, how many followers you have on "
            "Spotify and your public playlists",
        ),
        ("user-read-email", "Your email address"),
        (
            "user-read-private",
            "Your Spotify subscription type, account country and your "
            "settings for explicit content filtering",
        ),
    ),
    "View your activity on Spotify": (
        ("user-read-recently-played", "Content you have recently played"),
        ("user-top-read", "Your top artists and content"),
    ),
}

AUTHORIZE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {app} - Sandbox Spotify</title>
<style>
body {{ margin: 0; background: #121212; color: #fff; font: 15px/1.5 system-ui, -apple-system,
  "Segoe UI", Helvetica, Arial, sans-serif; }}
header {{ padding: 24px 32px; display: flex; align-items: center; gap: 10px; font-weight: 700;
  font-size: 20px; }}
header small {{ font-weight: 400; color: #a7a7a7; font-size: 13px; }}
main {{ max-width: 480px; margin: 0 auto 48px; background: #fff; color: #121212;
  border-radius: 12px; padding: 32px 36px; }}
h1 {{ font-size: 24px; margin: 0 0 20px; line-height: 1.25; }}
label {{ display: block; font-weight: 700; font-size: 13px; margin-bottom: 6px; }}
select {{ width: 100%; padding: 10px 12px; font: inherit; border: 1px solid #878787;
  border-radius: 4px; background: #fff; }}
.account {{ padding-bottom: 20px; border-bottom: 1px solid #e0e0e0; }}
h2 {{ font-size: 16px; margin: 22px 0 6px; }}
ul {{ margin: 0; padding-left: 20px; color: #404040; }}
li {{ margin: 4px 0; }}
.fine {{ color: #6a6a6a; font-size: 13px; margin-top: 22px; }}
.actions {{ display: flex; gap: 12px; margin-top: 24px; }}
button {{ flex: 1; font: inherit; font-weight: 700; padding: 12px 0; border-radius: 500px;
  cursor: pointer; border: 1px solid #878787; background: #fff; color: #121212; }}
button#approve {{ background: #1ed760; border-color: #1ed760; }}
button:hover {{ transform: scale(1.03); }}
</style></head>
<body>
<header><svg width="32" height="32" viewBox="0 0 32 32" aria-hidden="true">
<circle cx="16" cy="16" r="16" fill="#1ed760"/><path d="M8 12c5-1.6 11-1.2 16 1.4M9 16.5c4.2-1.2
 9-.9 13 1.2M10 20.6c3.4-.9 7-.7 10 .9" stroke="#121212" stroke-width="2.2" fill="none"
 stroke-linecap="round"/></svg>Sandbox Spotify <small>a local stand-in for Spotify</small></header>
<main>
<form method="post" action="{action}">
{hidden}
<h1>Allow <strong class="app-name">{app}</strong> to access your Spotify account?</h1>
<div class="account">
<label for="listener">Log in as</label>
<select id="listener" name="listener">{options}</select>
</div>
<p>You agree that {app} will be able to:</p>
{scopes}
<p class="fine">You can remove this access at any time on your Spotify account page.
{app} (client ID <code>{client}</code>) will send you back to <code>{redirect}</code>.</p>
<div class="actions">
<button type="submit" name="decision" value="deny" id="deny">Cancel</button>
<button type="submit" name="decision" value="approve" id="approve">Agree</button>
</div>
</form></main></body></html>
"""


def scopes_in_words(scope: str) -> str:
    """The scopes asked for, as the consent page's headed lists (HTML); a scope the sandbox
    has no words for is listed by its name, so nothing asked for goes unmentioned."""
    asked = scope.split()
    sections = []
    known: set[str | None] = set()
    for heading, lines in SCOPE_WORDS.items():
        items = [words for name, words in lines if name is None or name in asked]
        known.update(name for name, _ in lines)
        if items:
            sections.append((heading, items))
    others = [name for name in asked if name not in known]
    if others:
        sections.append(("Other access", others))
    return "\n".join(
        f"<h2>{html.escape(heading)}</h2><ul>"
        + "".join(f"<li>{html.escape(item)}</li>" for item in items)
        + "</ul>"
        for heading, items in sections
    )


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
        app=html.escape(state.app_name),
        client=html.escape(state.client_id),
        redirect=html.escape(params["redirect_uri"]),
        action="/authorize",
        scopes=scopes_in_words(params.get("scope", "")),
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
