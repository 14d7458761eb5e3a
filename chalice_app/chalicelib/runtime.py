"""Settings and database connection, set up once per Lambda container (or ``chalice local``).

Nothing happens at import: the first request loads the settings from the environment and
connects the shared ``models.schema.db`` proxy, like the lazy client getters in Chalice's testing
docs.  Later requests of the same warm container reuse both (``reuse_if_open``).  A Lambda
container is frozen between invocations, and RDS may drop a connection meanwhile, so a
connection idle for more than :data:`IDLE_CHECK_SECONDS` is pinged first and replaced if it
died, instead of failing the request.  Tests call :func:`use` with their own settings and
already connected database.
"""

from __future__ import annotations

import contextlib
import os
import time

from peewee import InterfaceError, OperationalError

import models
import settings as settings_module
from models.schema.db import db

IDLE_CHECK_SECONDS = 30.0

_settings = None
_database = None
_last_used = 0.0


def in_lambda() -> bool:
    """True inside AWS Lambda, where one container serves requests one at a time."""
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def use(settings, database=None) -> None:
    """Run the API on ``settings`` (and ``database``, if the caller connected it already)."""
    global _settings, _database
    _settings = settings
    _database = database
    if database is not None:
        db.initialize(database)


def settings():
    global _settings
    if _settings is None:
        _settings = settings_module.load()
    return _settings


def database():
    """The connected database; initialised on first use, reconnected if the link died."""
    global _database, _last_used
    if _database is None:
        _database = models.init(settings())
    elif db.obj is not _database:
        db.initialize(_database)
    if not _database.is_closed() and not _alive(_database):
        discard_connection()
    _database.connect(reuse_if_open=True)
    _last_used = time.monotonic()
    return _database


def release() -> None:
    """End of a request: keep the connection in Lambda, close it elsewhere.

    ``chalice local`` serves each request on a new thread, and peewee keeps one connection per
    thread, so outside Lambda a request closes what it opened.
    """
    if _database is not None and not in_lambda() and not _database.is_closed():
        _database.close()


def discard_connection() -> None:
    """Forget a connection that failed, so the next request opens a fresh one."""
    if _database is not None:
        # a dead connection may fail to close; peewee has forgotten it either way
        with contextlib.suppress(OperationalError, InterfaceError):
            _database.close()


def _alive(database) -> bool:
    check = getattr(database, "is_connection_usable", None)
    if check is not None and not check():
        return False
    if time.monotonic() - _last_used < IDLE_CHECK_SECONDS:
        return True
    try:
        database.execute_sql("SELECT 1").fetchone()
    except (OperationalError, InterfaceError):
        return False
    return True
