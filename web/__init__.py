"""The web app: log in with Spotify, then read your listening statistics as server-rendered pages.

``flask --app web run`` for development; ``gunicorn --no-control-socket "web:create_app()"`` in
production (Procfile).  Views parse input, check who asks, call ``models`` and render a template:
no SQL and no Spotify protocol lives here.
"""

from __future__ import annotations

from flask import Flask

import models
import settings as settings_module
from models.schema import crypto


def create_app(settings=None) -> Flask:
    """Build the app for ``settings`` (default: ``settings.load()`` from the environment)."""
    if settings is None:
        settings = settings_module.load()
    app = Flask(__name__)
    # Sessions are signed with their own key derived from SECRET_KEY; cookies signed before a
    # rotation (or before keys were derived) stay valid through Flask's SECRET_KEY_FALLBACKS.
    session_key, *old_session_keys = crypto.verifying_keys(
        crypto.SESSION_SIGNING, settings.secret_key, settings.secret_key_fallbacks
    )
    app.config.from_mapping(
        SECRET_KEY=session_key,
        SECRET_KEY_FALLBACKS=old_session_keys,
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    models.init(settings)

    from web import security

    security.init_app(app, settings)

    from web import auth

    auth.init_app(app, settings)

    from web import filters

    filters.init_app(app)

    from web import (
        account,
        admin,
        errors,
        exclusions,
        export_stats,
        genres,
        imports,
        metrics,
        rank,
        sharing,
        stats,
        story,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(genres.bp)
    app.register_blueprint(rank.bp)
    app.register_blueprint(export_stats.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(exclusions.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(story.bp)
    app.register_blueprint(sharing.bp)  # listening together (issue 18)
    app.register_blueprint(sharing.public)
    metrics.init_app(app)
    errors.init_app(app)
    _database_per_request(app)
    return app


def _database_per_request(app: Flask) -> None:
    """One connection per request, closed at teardown (flaskr's ``db.py``, peewee's FlaskDB)."""

    @app.before_request
    def connect():
        models.db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def close(_exc):
        if not models.db.is_closed():
            models.db.close()
