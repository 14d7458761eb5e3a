"""The sandbox's state: its knobs, its clock, and the grants, tokens and counters of one run.

One :class:`SandboxState` is the whole mutable sandbox; ``create_app(state)`` keeps it in the
app's extensions and every view reaches it through :func:`current_state`, so two sandboxes in
one process (tests run several) never share anything. The server is threaded: views take
``state.lock`` around whatever they read and change together.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from flask import current_app, request

from spotify.sandbox.catalogue import World, iso_ms, to_ms

DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_APP_NAME = "Spotify Tracker"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:5000/auth/callback",
    "http://localhost:5000/auth/callback",
)
EXTENSION = "spotify_sandbox"  # the key of the state in ``app.extensions``


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
        app_name: str = DEFAULT_APP_NAME,
        redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS,
        clock: Clock | None = None,
    ):
        self.world = world
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_name = app_name  # what the authorize page calls the app, as in its dashboard
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


def current_state() -> SandboxState:
    """The state of the sandbox serving this request."""
    return current_app.extensions[EXTENSION]


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
