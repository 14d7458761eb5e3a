"""Sandbox Spotify: a local stand-in for accounts.spotify.com and api.spotify.com.

No machine here reaches Spotify, so the tracker is developed, tested and demonstrated against
this server. It speaks the protocol at Spotify's paths; pointing OAUTH_AUTHORIZE_URL,
OAUTH_TOKEN_URL and SPOTIFY_API_URL at it is the only change from production.

Run it::

    python -m spotify.sandbox --port 8900 [--seed N] [--listeners N]
        [--app-mode extended|development] [--app-name NAME] [--redirect-uri URI ...]
        [--clock ISO] [--frozen]

Default client id/secret: ``sandbox-client-id`` / ``sandbox-client-secret``; registered redirect
URIs: http://127.0.0.1:5000/auth/callback and http://localhost:5000/auth/callback (add more
with ``--redirect-uri`` or ``POST /_sandbox/redirect_uris {"uri": ...}``). From the CLI the
clock follows real time; tests use :class:`spotify.sandbox.testing.SandboxServer` (frozen clock).

Modules: ``catalogue.py`` (the seeded world: catalogue, listeners, plays), ``state.py`` (knobs,
clock, grants and tokens of one run), ``server.py`` (``create_app(state)``, which registers the
blueprints), ``accounts.py`` (/authorize, /api/token), ``web_api.py`` (/v1 and the images),
``render.py`` (Spotify's JSON objects), ``control.py`` (/_sandbox), ``errors.py`` (the error
bodies), ``testing.py`` (thread runner and helpers for tests), ``__main__.py`` (the CLI).

Authorize page: a consent page like Spotify's, naming the app (``--app-name``, default
"Spotify Tracker") and the scopes asked for in plain words. For browser tests,
``select#listener`` picks the listener, ``button#approve`` ("Agree") and ``button#deny``
("Cancel") answer.

Control endpoints (JSON):

* ``GET|POST /_sandbox/control``: knobs (see ``state.Knobs``): ``app_mode``, ``rate_limit``,
  ``rate_window``, ``retry_after``, ``error_rate``, ``error_statuses``, ``fail_next``,
  ``fail_status``, ``token_ttl``, ``refresh_token_lifetime``, ``rotate_refresh_tokens``,
  ``audio_features``, ``max_users``, ``revoked``; and the action ``expire_tokens: true``.
* ``GET|POST /_sandbox/clock``: ``{"set": ISO}`` or ``{"advance": seconds}``.
* ``GET /_sandbox/calls[?endpoint=name]``: counters per endpoint, statuses, the call log.
* ``POST /_sandbox/reset``; ``POST /_sandbox/grant {"listener": id, "scope"?}``;
  ``GET /_sandbox/listeners``; ``GET /_sandbox/listeners/<id>/plays?from=ISO&to=ISO[&skips=1]``.
"""
