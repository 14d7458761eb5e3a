"""The one database handle shared by every shell.

Models are declared against a ``DatabaseProxy`` so that importing them does no I/O; each shell
(web, API, batch, tests) calls :func:`init` once with the configured URL, as peewee's docs and
``playhouse.flask_utils`` do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect

db = DatabaseProxy()

# WAL lets the web app read while the ETL writes; foreign keys make ON DELETE CASCADE real.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10_000,
    "cache_size": -64_000,
}


def connect_url(url: str):
    """A peewee Database for ``url`` (sqlite:///path or postgresql://...), not yet connected."""
    if url.startswith("sqlite"):
        from pathlib import Path

        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return connect(url, pragmas=SQLITE_PRAGMAS)
    return connect(url)


def init(url: str):
    """Point the shared proxy at ``url`` and return the database."""
    database = connect_url(url)
    db.initialize(database)
    return database


def is_postgresql() -> bool:
    return isinstance(db.obj, PostgresqlDatabase)


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def write_transaction():
    """A transaction that takes SQLite's write lock up front.

    A deferred SQLite transaction that reads first and writes later fails at once with
    "database is locked" when another process writes meanwhile (the busy timeout does not
    apply to the upgrade); IMMEDIATE makes it wait its turn instead.  Nested calls are savepoints.
    """
    return db.atomic("IMMEDIATE") if is_sqlite() and db.transaction_depth() == 0 else db.atomic()


# What "now" is for every reader of the clock (periods, sessions, jobs): the real time unless
# ``set_clock`` replaced it, so a benchmark can run the shells at its data's "now" and move it
# across a listener's local midnight.
_clock: Callable[[], dt.datetime] | None = None


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    """Make :func:`utcnow` answer ``clock()`` (a naive UTC instant); None restores real time."""
    global _clock
    _clock = clock


def utcnow() -> dt.datetime:
    """Naive UTC: every timestamp in the database is UTC without tzinfo."""
    if _clock is not None:
        return _clock()
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as the database keeps it: an aware instant converted to UTC and stripped of
    its tzinfo; a naive one is taken to be UTC already and returned as it is."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment
