"""Sandbox Spotify: the Accounts service and Web API paths the tracker uses, on a synthetic world.

It answers at Spotify's real paths with Spotify's field names, status codes and error bodies, so
pointing OAUTH_AUTHORIZE_URL, OAUTH_TOKEN_URL and SPOTIFY_API_URL at it is the only difference
from production. Both kinds of 2026 app are reproduced (``app_mode`` extended | development, see
/work/shared/spotify-api.md), and faults are switched on through ``/_sandbox/control`` instead
of being mocked: rate limits with Retry-After, 5xx, early token expiry, revoked grants, expired
refresh tokens, closed audio features, the dev-mode user limit.

Time is a sandbox clock (``/_sandbox/clock``): token lifetimes and "what was played by now" use
it, so tests move hours forward without sleeping. Only the rate-limit window is real time, since
it is about how fast calls really arrive.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from functools import wraps
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request

from spotify.sandbox.catalogue import (
    COUNTRIES,
    Album,
    Artist,
    Listener,
    Stream,
    Track,
    World,
    iso_ms,
    to_ms,
)

DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:5000/auth/callback",
    "http://localhost:5000/auth/callback",
)
ALL_SCOPES = "user-read-private user-read-email user-read-recently-played user-top-read"
BATCH_LIMITS = {"tracks": 50, "artists": 50, "albums": 20, "audio_features": 100}
ID_PATTERN = re.compile(r"^[0-9A-Za-z]{22}$")
QUERY_TOKEN = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
CODE_LIFETIME_MS = 600_000


@dataclass
class Knobs:
    """Everything ``POST /_sandbox/control`` can change; ``reset`` restores the start values."""

    app_mode: str = "extended"  # or "development"
    rate_limit: int | None = None  # calls allowed per rolling window; None = unlimited
    rate_window: float = 30.0  # seconds (real time)
    retry_after: int | None = None  # forced Retry-After (may be hours); None = honest value
    error_rate: float = 0.0  # share of Web API calls answered with a 5xx (seeded, repeatable)
    error_statuses: tuple[int, ...] = (500, 502, 503)
    fail_next: int = 0  # the next N Web API calls answer ``fail_status``
    fail_status: int = 503
    token_ttl: int = 3600  # access-token lifetime, sandbox seconds
    refresh_token_lifetime: int = 180 * 86400  # from login, sandbox seconds
    rotate_refresh_tokens: bool = False  # refresh answers carry a new refresh token
    audio_features: bool = True  # False: 403 even for extended apps
    max_users: int = 5  # development mode only
    revoked: tuple[str, ...] = ()  # listener ids whose grant was revoked

    def update(self, changes: dict) -> None:
        """Apply knob changes, refusing unknown names and values of the wrong kind."""
        defaults = Knobs()
        unknown = set(changes) - {f.name for f in fields(self)} - {"expire_tokens"}
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(sorted(unknown))}")
        checked = {
            name: _knob_value(name, value, getattr(defaults, name))
            for name, value in changes.items()
            if name != "expire_tokens"
        }
        for name, value in checked.items():  # all or nothing
            setattr(self, name, value)


def _knob_value(name: str, value, default):
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name in ("rate_limit", "retry_after"):
        valid = value is None or (number and value >= 0)
    elif name == "app_mode":
        valid = value in ("extended", "development")
    elif isinstance(default, bool):
        valid = isinstance(value, bool)
    elif isinstance(default, tuple):
        valid = isinstance(value, (list, tuple))
        value = tuple(value) if valid else value
    elif name == "error_rate":
        valid = number and 0 <= value <= 1
    else:
        valid = number and value >= 0
    if not valid:
        raise ValueError(f"{name}={value!r} is not a valid value")
    return value


class Clock:
    """Sandbox time: frozen at a moment tests move, or real time plus an offset."""

    def __init__(self, start: datetime | None = None, frozen: bool = False):
        self._start_ms = to_ms(start) if start else None
        self._frozen = frozen
        self.reset()

    def reset(self) -> None:
        real = int(time.time() * 1000)
        start = self._start_ms if self._start_ms is not None else real
        self.offset_ms = start - real
        self.frozen_ms = start if self._frozen else None

    def now_ms(self) -> int:
        if self.frozen_ms is not None:
            return self.frozen_ms
        return int(time.time() * 1000) + self.offset_ms

    def set(self, moment_ms: int) -> None:
        if self.frozen_ms is not None:
            self.frozen_ms = moment_ms
        else:
            self.offset_ms = moment_ms - int(time.time() * 1000)

    def advance(self, seconds: float) -> None:
        self.set(self.now_ms() + int(seconds * 1000))


@dataclass
class Grant:
    listener: str
    client_id: str
    scope: str
    login_ms: int  # refresh tokens die refresh_token_lifetime after this


class SandboxState:
    """All mutable state of one sandbox, behind one lock (the server is threaded)."""

    def __init__(
        self,
        world: World,
        *,
        app_mode: str = "extended",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS,
        clock: Clock | None = None,
    ):
        self.world = world
        self.client_id = client_id
        self.client_secret = client_secret
        self.initial_redirect_uris = tuple(redirect_uris)
        self.initial_knobs = Knobs(app_mode=app_mode)
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.knobs = Knobs(**asdict(self.initial_knobs))
            self.redirect_uris = set(self.initial_redirect_uris)
            self.clock.reset()
            self.codes: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.refresh_tokens: dict[str, Grant] = {}
            self.authorized: dict[str, int] = {}  # listener id -> first authorization (ms)
            self.calls: Counter = Counter()
            self.statuses: Counter = Counter()
            self.log: deque = deque(maxlen=20_000)
            self.window: deque = deque()
            self.error_rng = random.Random(f"errors:{self.world.seed}")

    @property
    def extended(self) -> bool:
        return self.knobs.app_mode == "extended"

    # -- grants and tokens -------------------------------------------------------------------
    def may_authorize(self, listener_id: str) -> bool:
        if self.extended or listener_id in self.authorized:
            return True
        return len(self.authorized) < self.knobs.max_users

    def authorize(self, listener_id: str) -> None:
        self.authorized.setdefault(listener_id, self.clock.now_ms())
        if listener_id in self.knobs.revoked:  # a new login replaces a revoked grant
            self.knobs.revoked = tuple(r for r in self.knobs.revoked if r != listener_id)

    def issue(self, grant: Grant, refresh_token: str | None = None) -> dict:
        access = secrets.token_urlsafe(32)
        self.access_tokens[access] = {
            "grant": grant,
            "expires_ms": self.clock.now_ms() + self.knobs.token_ttl * 1000,
        }
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "scope": grant.scope,
            "expires_in": self.knobs.token_ttl,
        }
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(48)
            self.refresh_tokens[refresh_token] = grant
            body["refresh_token"] = refresh_token
        return body

    def grant_error(self, grant: Grant) -> str | None:
        if grant.listener in self.knobs.revoked:
            return "Refresh token revoked"
        if self.clock.now_ms() - grant.login_ms > self.knobs.refresh_token_lifetime * 1000:
            return "Refresh token expired"
        return None

    # -- call accounting and faults ----------------------------------------------------------
    def record(self, endpoint: str, status: int) -> None:
        self.calls[endpoint] += 1
        self.statuses[str(status)] += 1
        if status == 429:
            self.calls["429:" + endpoint] += 1
        self.log.append(
            {
                "endpoint": endpoint,
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(),
                "status": status,
                "at": iso_ms(self.clock.now_ms()),
            }
        )

    def injected_fault(self) -> tuple[int, str] | None:
        knobs = self.knobs
        if knobs.fail_next > 0:
            knobs.fail_next -= 1
            return knobs.fail_status, _server_message(knobs.fail_status)
        if knobs.error_rate and self.error_rng.random() < knobs.error_rate:
            status = self.error_rng.choice(knobs.error_statuses)
            return status, _server_message(status)
        return None

    def rate_limited(self) -> int | None:
        """Retry-After seconds if this call is over the limit, else None (and count it)."""
        knobs = self.knobs
        now = time.monotonic()
        while self.window and self.window[0] <= now - knobs.rate_window:
            self.window.popleft()
        if knobs.rate_limit is not None and len(self.window) >= knobs.rate_limit:
            if knobs.retry_after is not None:
                return knobs.retry_after
            return max(1, math.ceil(self.window[0] + knobs.rate_window - now))
        self.window.append(now)
        return None


def _server_message(status: int) -> str:
    return {
        500: "Server error",
        502: "Bad gateway",
        503: "Service unavailable",
        504: "Gateway timeout",
    }.get(status, "Server error")


def api_error(status: int, message: str, headers: dict | None = None) -> Response:
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def token_error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# -- JSON renderers: Spotify's object shapes -------------------------------------------------
class Renderer:
    """Builds Spotify objects for one request (base URL and app mode fixed per request)."""

    def __init__(self, world: World, root: str, extended: bool):
        self.world = world
        self.api = root + "v1"
        self.root = root
        self.extended = extended

    def _common(self, kind: str, spotify_id: str) -> dict:
        return {
            "id": spotify_id,
            "type": kind,
            "uri": f"spotify:{kind}:{spotify_id}",
            "href": f"{self.api}/{kind}s/{spotify_id}",
            "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{spotify_id}"},
        }

    def images(self, kind: str, spotify_id: str, sizes=(640, 300, 64)) -> list[dict]:
        return [
            {
                "url": f"{self.root}images/{kind}/{spotify_id}.svg?size={size}",
                "height": size,
                "width": size,
            }
            for size in sizes
        ]

    def markets(self, index: int) -> list[str]:
        return [c for k, c in enumerate(COUNTRIES) if (index + k) % 7 != 0]

    def simple_artist(self, artist: Artist) -> dict:
        return {**self._common("artist", artist.id), "name": artist.name}

    def artist(self, artist: Artist) -> dict:
        body = {
            **self._common("artist", artist.id),
            "name": artist.name,
            "images": self.images("artist", artist.id),
            "genres": list(artist.genres),
        }
        if self.extended:
            body["popularity"] = artist.popularity
            body["followers"] = {"href": None, "total": artist.followers}
        elif artist.index % 5 < 2:  # dev mode: genres come back empty for a share of artists
            body["genres"] = []
        return body

    def simple_album(self, album: Album) -> dict:
        body = {
            **self._common("album", album.id),
            "name": album.name,
            "album_type": album.album_type,
            "total_tracks": len(album.tracks),
            "release_date": album.release_date,
            "release_date_precision": album.release_date_precision,
            "images": self.images("album", album.id),
            "artists": [self.simple_artist(self.world.artists[a]) for a in album.artists],
        }
        if self.extended:
            body["available_markets"] = self.markets(album.index)
        return body

    def simple_track(self, track: Track) -> dict:
        body = {
            **self._common("track", track.id),
            "name": track.name,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "track_number": track.track_number,
            "disc_number": 1,
            "is_local": False,
            "preview_url": None,
            "artists": [self.simple_artist(self.world.artists[a]) for a in track.artists],
        }
        if self.extended:
            body["available_markets"] = self.markets(track.album)
        return body

    def track(self, track: Track) -> dict:
        body = self.simple_track(track)
        body["album"] = self.simple_album(self.world.albums[track.album])
        body["external_ids"] = {"isrc": track.isrc}
        if self.extended:
            body["popularity"] = track.popularity
        return body

    def album(self, album: Album) -> dict:
        body = self.simple_album(album)
        items = [self.simple_track(self.world.tracks[t]) for t in album.tracks]
        body.update(
            {
                "tracks": {
                    "href": f"{self.api}/albums/{album.id}/tracks?offset=0&limit=50",
                    "items": items,
                    "limit": 50,
                    "next": None,
                    "offset": 0,
                    "previous": None,
                    "total": len(items),
                },
                "copyrights": [
                    {"text": f"(C) {album.release_date[:4]} {album.label}", "type": "C"}
                ],
                "external_ids": {"upc": album.upc},
                "genres": [],
                "label": album.label,
            }
        )
        if self.extended:
            body["popularity"] = album.popularity
        return body

    def audio_features(self, track: Track) -> dict:
        return {
            **self.world.audio_features(track),
            "id": track.id,
            "type": "audio_features",
            "uri": f"spotify:track:{track.id}",
            "duration_ms": track.duration_ms,
            "track_href": f"{self.api}/tracks/{track.id}",
            "analysis_url": f"{self.api}/audio-analysis/{track.id}",
        }

    def me(self, who: Listener, scope: str) -> dict:
        body = {
            "id": who.id,
            "account_id": who.account_id,
            "display_name": who.display_name,
            "images": self.images("user", who.id, (300, 64)),
            "type": "user",
            "uri": f"spotify:user:{who.id}",
            "href": f"{self.api}/users/{who.id}",
            "external_urls": {"spotify": f"https://open.spotify.com/user/{who.id}"},
        }
        if self.extended:
            body["followers"] = {"href": None, "total": who.followers}
            if "user-read-email" in scope:
                body["email"] = who.email
            if "user-read-private" in scope:
                body.update(
                    country=who.country,
                    product=who.product,
                    explicit_content={"filter_enabled": False, "filter_locked": False},
                )
        return body

    def play(self, stream: Stream) -> dict:
        context = None
        if stream.context_type:
            kind, spotify_id = stream.context_type, stream.context_id
            context = {
                "type": kind,
                "uri": f"spotify:{kind}:{spotify_id}",
                "href": f"{self.api}/{kind}s/{spotify_id}",
                "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{spotify_id}"},
            }
        return {
            "track": self.track(self.world.tracks[stream.track]),
            "played_at": iso_ms(stream.played_at_ms),
            "context": context,
        }


def ground_truth(world: World, stream: Stream) -> dict:
    """A stream as the test helper reports it (flat, with names for import tests)."""
    track = world.tracks[stream.track]
    return {
        "played_at": iso_ms(stream.played_at_ms),
        "played_at_ms": stream.played_at_ms,
        "track_id": track.id,
        "track_name": track.name,
        "ms_played": stream.ms_played,
        "artist_names": [world.artists[a].name for a in track.artists],
        "album_name": world.albums[track.album].name,
        "context_uri": (
            f"spotify:{stream.context_type}:{stream.context_id}" if stream.context_type else None
        ),
    }


def _int_arg(
    name: str, default: int | None, low: int, high: int | None, message: str
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, message) from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, message)
    return value


def _ids_arg(maximum: int) -> list[str]:
    raw = request.args.get("ids")
    if raw is None:
        raise ApiError(400, "Missing required parameter: ids")
    ids = [i for i in raw.split(",") if i]
    if not ids:
        raise ApiError(400, "Missing required parameter: ids")
    if len(ids) > maximum:
        raise ApiError(400, "Too many ids requested")
    for spotify_id in ids:
        _one_id(spotify_id)
    return ids


def _one_id(spotify_id: str) -> str:
    if not ID_PATTERN.match(spotify_id):
        raise ApiError(400, "Invalid base62 id")
    return spotify_id


def _parse_query(q: str) -> tuple[dict[str, str], list[str]]:
    filters: dict[str, str] = {}
    words: list[str] = []
    for key_q, value_q, key, value, quoted, word in QUERY_TOKEN.findall(q):
        if key_q or key:
            filters[(key_q or key).lower()] = value_q or value
        else:
            words.append(quoted or word)
    return filters, words


def _svg(key: str) -> str:
    digest = hashlib.sha1(key.encode()).hexdigest()
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 2 2">'
        f'<rect width="2" height="2" fill="#{digest[:6]}"/>'
        f'<rect width="1" height="1" fill="#{digest[6:12]}"/>'
        f'<rect x="1" y="1" width="1" height="1" fill="#{digest[12:18]}"/></svg>'
    )


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


def _page(title: str, message: str, status: int) -> Response:
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="error">{html.escape(message)}</p></body></html>'
    )
    return Response(body, status=status, mimetype="text/html")


def create_app(state: SandboxState) -> Flask:
    """The sandbox as a Flask app around ``state`` (see :mod:`spotify.sandbox.testing`)."""
    app = Flask("spotify.sandbox")
    app.config["SANDBOX"] = state
    world = state.world

    def renderer() -> Renderer:
        return Renderer(world, request.host_url, state.extended)

    def web_api(endpoint: str, scope: str | None = None):
        """Wraps a Web API view: faults, rate limit, bearer auth, JSON errors, accounting."""

        def decorate(view):
            @wraps(view)
            def wrapper(*args, **kwargs):
                with state.lock:
                    response = _answer(view, endpoint, scope, args, kwargs)
                    state.record(endpoint, response.status_code)
                    return response

            return wrapper

        return decorate

    def _answer(view, endpoint, scope, args, kwargs) -> Response:
        fault = state.injected_fault()
        if fault:
            return api_error(*fault)
        retry_after = state.rate_limited()
        if retry_after is not None:
            return api_error(429, "API rate limit exceeded", {"Retry-After": str(retry_after)})
        header = request.headers.get("Authorization", "")
        if not header:
            return api_error(401, "No token provided")
        token = header[7:] if header.startswith("Bearer ") else ""
        record = state.access_tokens.get(token)
        if record is None or record["grant"].listener in state.knobs.revoked:
            return api_error(401, "Invalid access token")
        if record["expires_ms"] <= state.clock.now_ms():
            return api_error(401, "The access token expired")
        grant: Grant = record["grant"]
        if scope and scope not in grant.scope.split():
            return api_error(403, "Insufficient client scope")
        try:
            result = view(world.listener_by_id[grant.listener], grant, *args, **kwargs)
        except ApiError as exc:
            return api_error(exc.status, exc.message)
        return result if isinstance(result, Response) else jsonify(result)

    # -- Accounts service --------------------------------------------------------------------
    def authorize_problem(params) -> Response | None:
        """Errors shown on Spotify's own page (the redirect URI cannot be trusted yet)."""
        if params.get("client_id") != state.client_id:
            return _page("Error", "INVALID_CLIENT: Invalid client", 400)
        if params.get("redirect_uri") not in state.redirect_uris:
            return _page("Error", "INVALID_CLIENT: Invalid redirect URI", 400)
        return None

    def back(params, **answer) -> Response:
        answer["state"] = params.get("state", "")
        target = params["redirect_uri"]
        joiner = "&" if "?" in target else "?"
        return redirect(
            target + joiner + urlencode({k: v for k, v in answer.items() if v is not None})
        )

    def authorize_redirect_problem(params) -> Response | None:
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

    @app.get("/authorize")
    def authorize_page():
        params = request.args
        with state.lock:
            state.calls["authorize"] += 1
            problem = authorize_problem(params) or authorize_redirect_problem(params)
            if problem:
                return problem
        hidden = "\n".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        options = "".join(
            f'<option value="{l.id}">{html.escape(l.display_name)} ({l.id})</option>'
            for l in world.listeners
        )
        return AUTHORIZE_PAGE.format(
            client=html.escape(state.client_id),
            action="/authorize",
            scopes=html.escape(params.get("scope", "")),
            hidden=hidden,
            options=options,
        )

    @app.post("/authorize")
    def authorize_decision():
        params = request.form
        with state.lock:
            problem = authorize_problem(params) or authorize_redirect_problem(params)
            if problem:
                return problem
            if params.get("decision") != "approve":
                return back(params, error="access_denied")
            who = world.listener(params.get("listener", ""))
            if who is None:
                return _page("Error", "Unknown listener", 400)
            if not state.may_authorize(who.id):
                return _page(
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

    def client_credentials() -> tuple[str | None, str | None]:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return "", ""
            return client_id, secret
        return request.form.get("client_id"), request.form.get("client_secret")

    @app.post("/api/token")
    def token():
        with state.lock:
            response = _token()
            state.record("token", response.status_code)
            return response

    def _token() -> Response:
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
            return _refresh(form, secret)
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

    def _refresh(form, secret) -> Response:
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

    # -- Web API -----------------------------------------------------------------------------
    @app.get("/v1/me")
    @web_api("me")
    def me(who: Listener, grant: Grant):
        return renderer().me(who, grant.scope)

    @app.get("/v1/me/player/recently-played")
    @web_api("recently_played", scope="user-read-recently-played")
    def recently_played(who: Listener, grant: Grant):
        limit = _int_arg("limit", 20, 1, 50, "Invalid limit")
        after = _int_arg("after", None, 0, None, "Invalid after cursor")
        before = _int_arg("before", None, 0, None, "Invalid before cursor")
        if after is not None and before is not None:
            raise ApiError(400, "Only one of after and before may be given")
        visible = world.last_plays(who, state.clock.now_ms())  # newest first, at most 50
        if after is not None:
            newer = [s for s in visible if s.played_at_ms > after]
            page = newer[-limit:]  # the ones right after the cursor
            more = len(newer) > len(page)
        else:
            older = [s for s in visible if before is None or s.played_at_ms < before]
            page = older[:limit]
            more = len(older) > len(page)
        base = f"{request.host_url}v1/me/player/recently-played"
        cursors = None
        next_url = None
        if page:
            cursors = {"after": str(page[0].played_at_ms), "before": str(page[-1].played_at_ms)}
            if more:
                cursor = (
                    {"after": cursors["after"]}
                    if after is not None
                    else {"before": cursors["before"]}
                )
                next_url = f"{base}?{urlencode({**cursor, 'limit': limit})}"
        render = renderer()
        return {
            "items": [render.play(s) for s in page],
            "next": next_url,
            "cursors": cursors,
            "limit": limit,
            "href": request.url,
        }

    def batch_read(kind: str, lookup: dict, render_one):
        if kind != "audio_features" and not state.extended:
            raise ApiError(403, "Forbidden")
        ids = _ids_arg(BATCH_LIMITS[kind])
        return {kind: [render_one(lookup[i]) if i in lookup else None for i in ids]}

    def single_read(lookup: dict, spotify_id: str, render_one):
        found = lookup.get(_one_id(spotify_id))
        if found is None:
            raise ApiError(404, "Resource not found")
        return render_one(found)

    @app.get("/v1/audio-features")
    @web_api("audio_features")
    def audio_features(who, grant):
        if not (state.extended and state.knobs.audio_features):
            raise ApiError(403, "Forbidden")
        return batch_read("audio_features", world.track_by_id, renderer().audio_features)

    def catalogue_routes(kind: str, single: str, lookup: dict, render_name: str) -> None:
        """``/v1/<kind>?ids=`` (batch, refused in development mode) and ``/v1/<kind>/<id>``."""

        def batch(who, grant):
            return batch_read(kind, lookup, getattr(renderer(), render_name))

        def one(who, grant, spotify_id):
            return single_read(lookup, spotify_id, getattr(renderer(), render_name))

        batch.__name__, one.__name__ = kind, single
        app.get(f"/v1/{kind}")(web_api(kind)(batch))
        app.get(f"/v1/{kind}/<spotify_id>")(web_api(single)(one))

    catalogue_routes("tracks", "track", world.track_by_id, "track")
    catalogue_routes("artists", "artist", world.artist_by_id, "artist")
    catalogue_routes("albums", "album", world.album_by_id, "album")

    @app.get("/v1/search")
    @web_api("search")
    def search(who, grant):
        q = request.args.get("q", "")
        if not q.strip():
            raise ApiError(400, "No search query")
        types = [t for t in request.args.get("type", "").split(",") if t]
        if not types:
            raise ApiError(400, "Missing parameter type")
        if any(
            t not in ("album", "artist", "playlist", "track", "show", "episode", "audiobook")
            for t in types
        ):
            raise ApiError(400, "Bad search type field")
        limit = _int_arg(
            "limit",
            5 if not state.extended else 20,
            1,
            50 if state.extended else 10,
            "Invalid limit",
        )
        offset = _int_arg("offset", 0, 0, 1000, "Invalid offset")
        filters, words = _parse_query(q)
        render = renderer()
        body = {}
        for kind in types:
            if kind == "track":
                hits = world.search_tracks(
                    filters.get("track"), filters.get("artist"), filters.get("album"), words
                )
                items = [render.track(t) for t in hits[offset : offset + limit]]
            elif kind == "artist":
                hits = world.search_artists(filters.get("artist"), words)
                items = [render.artist(a) for a in hits[offset : offset + limit]]
            else:  # the sandbox has no other kinds of things: honest empty results
                hits, items = [], []
            body[kind + "s"] = _paging(q, kind, items, len(hits), limit, offset)
        return body

    def _paging(q, kind, items, total, limit, offset):
        def page_url(at):
            return (
                f"{request.host_url}v1/search?"
                f"{urlencode({'q': q, 'type': kind, 'offset': at, 'limit': limit})}"
            )

        return {
            "href": page_url(offset),
            "items": items,
            "limit": limit,
            "offset": offset,
            "total": total,
            "next": page_url(offset + limit) if offset + limit < total else None,
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
        }

    @app.get("/images/<kind>/<key>.svg")
    def image(kind, key):
        return Response(_svg(kind + key), mimetype="image/svg+xml")

    @app.errorhandler(404)
    def not_found(_error):
        if request.path.startswith("/v1/"):
            return api_error(404, "Service not found")
        return _page("Not found", "No such page in the sandbox", 404)

    @app.errorhandler(405)
    def not_allowed(_error):
        return api_error(405, "Method not allowed")

    _control_routes(app, state)
    app.wsgi_app = _ignore_trailing_slash(app.wsgi_app)
    return app


def _ignore_trailing_slash(wsgi_app):
    """Spotify answers /v1/me/ like /v1/me (spotipy, for one, always adds the slash)."""

    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/v1/") and len(path) > 4 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/")
        return wsgi_app(environ, start_response)

    return middleware


def _control_routes(app: Flask, state: SandboxState) -> None:
    """``/_sandbox/*``: knobs, clock, counters and ground truth for tests and demos."""
    world = state.world

    def bad(message: str) -> Response:
        return api_error(400, message)

    @app.route("/_sandbox/control", methods=["GET", "POST"])
    def control():
        with state.lock:
            if request.method == "POST":
                changes = request.get_json(silent=True)
                if not isinstance(changes, dict):
                    return bad("send a JSON object of knobs")
                try:
                    state.knobs.update(changes)
                except (ValueError, TypeError) as exc:
                    return bad(str(exc))
                if changes.get("expire_tokens"):
                    now = state.clock.now_ms()
                    for record in state.access_tokens.values():
                        record["expires_ms"] = min(record["expires_ms"], now)
            return jsonify(asdict(state.knobs))

    @app.route("/_sandbox/clock", methods=["GET", "POST"])
    def clock():
        with state.lock:
            if request.method == "POST":
                body = request.get_json(silent=True) or {}
                try:
                    if "set" in body:
                        state.clock.set(
                            to_ms(datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")))
                        )
                    if "advance" in body:
                        state.clock.advance(float(body["advance"]))
                except ValueError as exc:
                    return bad(f"bad clock change: {exc}")
            now = state.clock.now_ms()
            return jsonify({"now": iso_ms(now), "now_ms": now})

    @app.get("/_sandbox/calls")
    def calls():
        with state.lock:
            log = list(state.log)
            if request.args.get("endpoint"):
                log = [c for c in log if c["endpoint"] == request.args["endpoint"]]
            return jsonify(
                {
                    "calls": dict(state.calls),
                    "statuses": dict(state.statuses),
                    "rate_limited": state.statuses.get("429", 0),
                    "log": log,
                }
            )

    @app.post("/_sandbox/reset")
    def reset():
        state.reset()
        return jsonify({"ok": True})

    @app.post("/_sandbox/redirect_uris")
    def redirect_uris():
        uri = (request.get_json(silent=True) or {}).get("uri")
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            return bad('send {"uri": "http(s)://..."}')
        with state.lock:
            state.redirect_uris.add(uri)
            return jsonify({"redirect_uris": sorted(state.redirect_uris)})

    @app.post("/_sandbox/grant")
    def grant():
        body = request.get_json(silent=True) or {}
        with state.lock:
            who = world.listener(str(body.get("listener", "")))
            if who is None:
                return bad("unknown listener")
            if not state.may_authorize(who.id):
                return token_error(
                    "access_denied",
                    "The app is in development mode and has reached its user limit",
                    403,
                )
            state.authorize(who.id)
            scope = body.get("scope") or ALL_SCOPES
            state.calls["grant"] += 1
            return jsonify(state.issue(Grant(who.id, state.client_id, scope, state.clock.now_ms())))

    @app.get("/_sandbox/listeners")
    def listeners():
        return jsonify(
            {
                "listeners": [
                    {
                        "id": l.id,
                        "account_id": l.account_id,
                        "display_name": l.display_name,
                        "email": l.email,
                        "country": l.country,
                        "product": l.product,
                        "authorized": l.id in state.authorized,
                    }
                    for l in world.listeners
                ]
            }
        )

    @app.get("/_sandbox/listeners/<key>/plays")
    def plays(key):
        who = world.listener(key)
        if who is None:
            return api_error(404, "unknown listener")
        try:
            start = to_ms(datetime.fromisoformat(request.args["from"].replace("Z", "+00:00")))
            end = (
                to_ms(datetime.fromisoformat(request.args["to"].replace("Z", "+00:00")))
                if request.args.get("to")
                else state.clock.now_ms() + 1
            )
        except (KeyError, ValueError):
            return bad("give from=ISO and optionally to=ISO")
        if request.args.get("skips") in ("1", "true"):
            found = world.streams(who, start, end)
        else:
            found = world.plays(who, start, end)
        return jsonify(
            {
                "listener": who.id,
                "from": iso_ms(start),
                "to": iso_ms(end),
                "plays": [ground_truth(world, s) for s in found],
            }
        )


def make_state(
    seed: int = 42,
    listeners: int = 8,
    app_mode: str = "extended",
    start: datetime | None = None,
    frozen: bool = False,
    **kwargs,
) -> SandboxState:
    return SandboxState(
        World(seed, listeners), app_mode=app_mode, clock=Clock(start, frozen), **kwargs
    )
