"""The shared core: Peewee models, statistics and ingestion, used by web, API and batch."""

from __future__ import annotations

from models.schema import crypto
from models.schema.db import db


def init(settings):
    """Connect the shared database and token cipher to ``settings``; call once per process.

    The cipher reads with the old keys too (``SECRET_KEY_FALLBACKS``), so a rotation loses no
    stored grant."""
    from models.schema.db import init as init_db

    crypto.configure(settings.secret_key, settings.secret_key_fallbacks)
    return init_db(settings.database_url)


__all__ = ["db", "init"]
