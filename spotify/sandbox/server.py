"""The sandbox as a Flask app: ``create_app(state)`` registers the three services' blueprints.

It answers at Spotify's real paths with Spotify's field names, status codes and error bodies, so
pointing OAUTH_AUTHORIZE_URL, OAUTH_TOKEN_URL and SPOTIFY_API_URL at it is the only difference
from production. Both kinds of 2026 app are reproduced (``app_mode`` extended | development, see
/work/shared/spotify-api.md), and faults are switched on through ``/_sandbox/control`` instead
of being mocked: rate limits with Retry-After, 5xx, early token expiry, revoked grants, expired
refresh tokens, closed audio features, the dev-mode user limit.

Time is a sandbox clock (``/_sandbox/clock``): token lifetimes and "what was played by now" use
it, so tests move hours forward without sleeping. Only the rate-limit window is real time, since
it is about how fast calls really arrive.

The blueprints: ``accounts`` (accounts.spotify.com: /authorize, /api/token), ``web_api``
(api.spotify.com: /v1/...) with ``images`` (the image CDN), and ``control`` (/_sandbox/...).
Views find the state with :func:`spotify.sandbox.state.current_state`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, request

from spotify.sandbox import accounts, control, web_api
from spotify.sandbox.errors import api_error, error_page
from spotify.sandbox.state import EXTENSION, SandboxState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class _SandboxFlask(Flask):
    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Spotify answers /v1/me/ like /v1/me (spotipy, for one, always adds the slash)."""
        path = environ.get("PATH_INFO", "")
        if path.startswith("/v1/") and len(path) > 4 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/")
        return super().wsgi_app(environ, start_response)


def create_app(state: SandboxState) -> Flask:
    """The sandbox as a Flask app around ``state`` (see :mod:`spotify.sandbox.testing`)."""
    app = _SandboxFlask("spotify.sandbox")
    app.extensions[EXTENSION] = state
    app.register_blueprint(accounts.bp)
    app.register_blueprint(web_api.bp)
    app.register_blueprint(web_api.images)
    app.register_blueprint(control.bp)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(405, _not_allowed)
    return app


def _not_found(_error):
    """The Web API answers unknown paths in its JSON; the Accounts service with a page."""
    if request.path.startswith("/v1/"):
        return api_error(404, "Service not found")
    return error_page("Not found", "No such page in the sandbox", 404)


def _not_allowed(_error):
    return api_error(405, "Method not allowed")
