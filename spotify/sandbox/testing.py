"""Run the sandbox in a thread for tests, and drive it through its control endpoints.

Helpers go over HTTP like any other client, so a test exercises the same paths a person running
``python -m spotify.sandbox`` would.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from spotify.sandbox.server import create_app
from spotify.sandbox.state import (
    DEFAULT_APP_NAME,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URIS,
    make_state,
)

TEST_CLOCK_START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class _QuietHandler(WSGIRequestHandler):
    """No access log: tests would drown in it."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class SandboxServer:
    """``with SandboxServer() as sandbox:`` a sandbox on 127.0.0.1 and a free port.

    The clock is frozen at ``clock_start`` (default 2026-11-20 12:00 UTC) and moves only when a
    test calls :meth:`advance` or :meth:`set_clock`, so every run sees the same plays.
    """

    def __init__(
        self,
        *,
        seed: int = 42,
        listeners: int = 8,
        app_mode: str = "extended",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        app_name: str = DEFAULT_APP_NAME,
        redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS,
        clock_start: datetime = TEST_CLOCK_START,
        frozen: bool = True,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.state = make_state(
            seed,
            listeners,
            app_mode,
            start=clock_start,
            frozen=frozen,
            client_id=client_id,
            client_secret=client_secret,
            app_name=app_name,
            redirect_uris=redirect_uris,
        )
        self._running: tuple[BaseWSGIServer, threading.Thread] | None = None  # while started
        self._http = requests.Session()
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        server = make_server(
            "127.0.0.1", 0, create_app(self.state), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="sandbox-spotify", daemon=True)
        self._running = (server, thread)
        thread.start()
        return self

    def stop(self) -> None:
        if self._running is not None:
            server, thread = self._running
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._running = None
        self._http.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- where it is -------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.url + "/v1"

    @property
    def authorize_url(self) -> str:
        return self.url + "/authorize"

    @property
    def token_url(self) -> str:
        return self.url + "/api/token"

    def env(self) -> dict[str, str]:
        """Environment variables that point Spotify Tracker (settings.load) at this sandbox."""
        return {
            "OAUTH_AUTHORIZE_URL": self.authorize_url,
            "OAUTH_TOKEN_URL": self.token_url,
            "SPOTIFY_API_URL": self.api_url,
            "CLIENT_ID": self.client_id,
            "CLIENT_SECRET": self.client_secret,
        }

    # -- control -----------------------------------------------------------------------------
    def _post(self, path: str, body: dict | None = None) -> dict:
        response = self._http.post(self.url + path, json=body or {}, timeout=10)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text}")
        return response.json()

    def _get(self, path: str, **params) -> dict:
        response = self._http.get(self.url + path, params=params, timeout=30)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text}")
        return response.json()

    def control(self, **knobs) -> dict:
        """Change knobs (see ``spotify.sandbox.state.Knobs``); returns all knob values."""
        return self._post("/_sandbox/control", knobs)

    def knobs(self) -> dict:
        return self._get("/_sandbox/control")

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        return _moment(self._post("/_sandbox/clock", {"advance": total}))

    def set_clock(self, moment: datetime) -> datetime:
        return _moment(self._post("/_sandbox/clock", {"set": moment.isoformat()}))

    def now(self) -> datetime:
        return _moment(self._get("/_sandbox/clock"))

    def calls(self, endpoint: str | None = None) -> dict:
        """``{"calls": {endpoint: n, "429:<endpoint>": n}, "statuses": {...},
        "rate_limited": n, "log": [{"endpoint", "method", "path", "query", "status", "at"}]}``"""
        return self._get("/_sandbox/calls", **({"endpoint": endpoint} if endpoint else {}))

    def reset(self) -> None:
        """Knobs, clock, tokens, grants, redirect URIs and counters back to the start."""
        self._post("/_sandbox/reset")

    def grant(self, listener_id: str, scope: str | None = None) -> dict:
        """Tokens for a listener without a browser (counts towards the dev-mode user limit)."""
        return self._post("/_sandbox/grant", {"listener": listener_id, "scope": scope})

    def listeners(self) -> list[dict]:
        return self._get("/_sandbox/listeners")["listeners"]

    def plays(
        self, listener_id: str, start: datetime, end: datetime | None = None, *, skips: bool = False
    ) -> list[dict]:
        """Ground truth: the listener's counted plays ending in [start, end), oldest first."""
        params = {"from": start.isoformat()}
        if end is not None:
            params["to"] = end.isoformat()
        if skips:
            params["skips"] = "1"
        return self._get(f"/_sandbox/listeners/{listener_id}/plays", **params)["plays"]

    def register_redirect_uri(self, uri: str) -> None:
        self._post("/_sandbox/redirect_uris", {"uri": uri})


def _moment(body: dict) -> datetime:
    return datetime.fromisoformat(body["now"].replace("Z", "+00:00"))
