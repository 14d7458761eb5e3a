"""Browser-facing protections in one place: CSRF, cookie flags, security headers, log masking,
and which client address to believe.

The pages use no JavaScript at all, so the Content-Security-Policy forbids every script; charts
are inline SVG drawn with presentation attributes, which CSP does not treat as inline styles.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import urlparse

from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()
SESSION_DAYS = 30  # how long a listener stays logged in on one browser
# Spotify's image CDNs are https; the sandbox serves its pictures from its own (http) origin.
IMAGE_SOURCES = ("'self'", "data:", "https:")
SECRET_QUERY = re.compile(r"\b(code|state|access_token|refresh_token|code_verifier)=[^&\s\"]+")
# A public link's key is its whole credential (``web.sharing``): access logs show ``/s/***``.
PUBLIC_LINK_PATH = re.compile(r"(/s/)[^/?\s\"]+")


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings) -> str:
    images = list(IMAGE_SOURCES)
    api_origin = _origin(settings.spotify_api_url)
    if api_origin.startswith("http://"):
        images.append(api_origin)
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'none'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _masked(value):
    if not isinstance(value, str):
        return value
    return PUBLIC_LINK_PATH.sub(r"\1***", SECRET_QUERY.sub(r"\1=***", value))


class MaskSecrets(logging.Filter):
    """Hide OAuth codes, states and tokens in log lines (werkzeug logs the callback's URL).

    A record's ``args`` keep their shape: gunicorn's access log formats with a dict of values
    (``%(r)s``), so a dict stays a dict, a tuple a tuple.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_masked(value) for value in record.args)
        record.msg = _masked(record.msg)
        return True


def init_app(app: Flask, settings) -> None:
    secure = settings.redirect_uri.startswith("https://")
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="spotify_tracker_session",
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=SESSION_DAYS),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
    )
    csrf.init_app(app)
    if settings.trusted_proxies:
        # Believe X-Forwarded-For/-Proto only as far back as our own proxies wrote it: any
        # client can send the header, so its leftmost entries are theirs to invent.
        count = settings.trusted_proxies
        # Flask's documented way to wrap its WSGI app; mypy sees a method being replaced.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    policy = content_security_policy(settings)

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Referrer-Policy", "same-origin")  # public links: none
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if response.mimetype == "text/html" or current_user.is_authenticated:
            # Pages, exports and the import status are personal: no cache (a shared proxy, the
            # browser's disk) may keep them.  Static files for anonymous visitors may be cached.
            response.headers["Cache-Control"] = "no-store"
        return response

    masker = MaskSecrets()
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskSecrets) for f in logger.filters):
            logger.addFilter(masker)
    # authlib logs the PKCE code verifier at DEBUG; never let that level through.
    logging.getLogger("authlib").setLevel(logging.INFO)
