"""What every test stands on: a valid settings environment and one database per engine.

Plain helpers, imported by ``tests/conftest.py`` (which builds the fixtures from them), by the
helper modules and tests that need a database of their own, and by ``bench/``.
"""

from __future__ import annotations

import os
import uuid

import psycopg2
import pytest
from psycopg2 import sql

from models.schema.db import connect_url
from models.schema.db import db as database_proxy

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ENGINES = ("sqlite", "postgresql")


def base_environ(**extra: str) -> dict[str, str]:
    """A complete, valid environment for ``settings.load`` in tests."""
    environ = {
        "SECRET_KEY": TEST_SECRET_KEY,
        "CLIENT_ID": "test-client-id",
        "CLIENT_SECRET": "test-client-secret",
    }
    environ.update(extra)
    return environ


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _admin_execute(statement) -> None:
    connection = psycopg2.connect(POSTGRES_ADMIN_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_postgres_database() -> str:
    """A new, empty PostgreSQL database for this test process; returns its URL."""
    name = f"st_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg2.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}", returncode=3)
    return _postgres_url(name)


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    _admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrated_database(url: str):
    """Connect the shared proxy to ``url`` and run every migration on it."""
    from models.migrate import router

    database = connect_url(url)
    database_proxy.initialize(database)
    router().run()
    return database


def empty_all_tables(database) -> None:
    tables = [t for t in database.get_tables() if t != "migratehistory"]
    if not tables:
        return
    if database.__class__.__name__.startswith("Postgres"):
        quoted = ", ".join(f'"{t}"' for t in tables)
        database.execute_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        database.execute_sql("PRAGMA foreign_keys = OFF")
        for table in tables:
            database.execute_sql(f'DELETE FROM "{table}"')
        database.execute_sql("PRAGMA foreign_keys = ON")


def everything(database) -> dict:
    """Every row of every table: what "the database exactly as before" compares."""
    tables = sorted(t for t in database.get_tables() if t != "migratehistory")
    return {
        t: sorted(map(repr, database.execute_sql(f'SELECT * FROM "{t}"').fetchall()))
        for t in tables
    }
