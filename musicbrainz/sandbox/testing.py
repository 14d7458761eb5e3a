"""Run the sandbox MusicBrainz in a thread for tests, and drive it through ``/_sandbox``.

Helpers go over HTTP like any client, so tests exercise what ``python -m musicbrainz.sandbox``
serves. Tests scale the rate window down (e.g. 0.02 s) together with the client's interval, so
pacing is proven on the request log without waiting real seconds.
"""

from __future__ import annotations

import threading

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from musicbrainz.sandbox.server import create_app
from musicbrainz.sandbox.state import SandboxState, make_state
from musicbrainz.sandbox.world import MusicBrainzWorld


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class MusicBrainzSandbox:
    """``with MusicBrainzSandbox() as mb:`` a sandbox MusicBrainz on 127.0.0.1, a free port.

    ``rate_window`` (default 1 s like MusicBrainz; tests pass a small one) and ``rate_slack``
    (the share of a window forgiven between two arrivals, for the jitter of a loaded machine)
    are kept across :meth:`reset`. ``state`` may be shared to skip rebuilding the world.
    """

    def __init__(
        self,
        *,
        seed: int = 42,
        artists: int = 300,
        rate_window: float = 1.0,
        rate_slack: float = 0.1,
        state: SandboxState | None = None,
    ):
        self.state = state or make_state(seed, artists)
        self.rate_window = rate_window
        self.rate_slack = rate_slack
        self.state.knobs.rate_window = rate_window
        self.state.knobs.rate_slack = rate_slack
        self._running: tuple[BaseWSGIServer, threading.Thread] | None = None
        self._http = requests.Session()
        self.url = ""

    @property
    def world(self) -> MusicBrainzWorld:
        return self.state.world

    @property
    def base_url(self) -> str:
        """What MUSICBRAINZ_BASE_URL should be."""
        return self.url + "/ws/2/"

    @property
    def client_interval(self) -> float:
        """The pace a client keeps against this sandbox: twice its window, so a test's
        client stays clear of the rule through the jitter of a loaded machine (scaled, that is
        two seconds against MusicBrainz's one: tests prove pacing, not its last millisecond)."""
        return round(self.rate_window * 2, 4)

    def env(self, contact: str = "https://tracker.example.test/contact") -> dict[str, str]:
        """Environment variables that point Spotify Tracker (settings.load) at this sandbox."""
        return {
            "MUSICBRAINZ_BASE_URL": self.base_url,
            "MUSICBRAINZ_CONTACT": contact,
            "MUSICBRAINZ_ENRICHMENT": "on",
            "MUSICBRAINZ_MIN_INTERVAL": f"{self.client_interval:g}",
        }

    def start(self) -> MusicBrainzSandbox:
        self.state.warm()
        server = make_server(
            "127.0.0.1", 0, create_app(self.state), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="sandbox-mb", daemon=True)
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

    def __enter__(self) -> MusicBrainzSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _post(self, path: str, body: dict | None = None) -> dict:
        response = self._http.post(self.url + path, json=body or {}, timeout=10)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text}")
        return response.json()

    def control(self, **knobs) -> dict:
        """Change knobs (see ``musicbrainz.sandbox.state.Knobs``); returns all of them."""
        return self._post("/_sandbox/control", knobs)

    def reset(self) -> None:
        """Knobs (the rate window and slack back to this sandbox's), counters and the log."""
        self._post("/_sandbox/reset")
        self.control(rate_window=self.rate_window, rate_slack=self.rate_slack)

    def calls(self, endpoint: str | None = None, since: float | None = None) -> dict:
        """``{"calls": {endpoint: n}, "statuses": {..}, "log": [{"at", "endpoint", "path",
        "query", "status", "user_agent"}]}``."""
        params: dict = {}
        if endpoint:
            params["endpoint"] = endpoint
        if since is not None:
            params["since"] = since
        response = self._http.get(self.url + "/_sandbox/calls", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def answered(self) -> dict[str, int]:
        """Requests answered 200, per endpoint: the questions a client really asked (a
        request the rate rule refused and the client repeated counts once)."""
        counts: dict[str, int] = {}
        for entry in self.calls()["log"]:
            if entry["status"] == 200:
                counts[entry["endpoint"]] = counts.get(entry["endpoint"], 0) + 1
        return counts
