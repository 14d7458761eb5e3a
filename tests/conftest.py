"""Fixtures shared by the whole suite.

Every database test runs twice: on SQLite (a file) and on the real PostgreSQL server
(127.0.0.1:5432, or TEST_POSTGRES_URL).  Each engine gets one database per test session, built
by running ``migrations/``, so the migrations themselves are exercised on both engines; tables
are emptied before each test, not after, so a failed test leaves its rows to inspect.

Where things live: fixtures here and in the helper modules registered below
(``pytest_plugins``), which no test imports; plain helpers in modules a test may import
(``tests.environment``, ``tests.factories``, ``tests.week_world``, the helpers of the plugin
modules); never one ``test_*.py`` imported by another.
"""

from __future__ import annotations

import pytest

import settings as settings_module
from models.schema.db import connect_url
from models.schema.db import db as database_proxy
from tests.environment import (
    ENGINES,
    TEST_SECRET_KEY,
    base_environ,
    create_postgres_database,
    drop_postgres_database,
    empty_all_tables,
    migrated_database,
)

# The fixtures of the helper modules, for every test without importing them.
pytest_plugins = ["tests.webtools", "tests.api_support", "tests.etl_world"]


@pytest.fixture(scope="session")
def engine_urls(tmp_path_factory):
    """One migrated database per engine for the whole session: {engine: url}."""
    urls = {}
    sqlite_path = tmp_path_factory.mktemp("sqlite") / "spotify_tracker_test.db"
    urls["sqlite"] = f"sqlite:///{sqlite_path}"
    urls["postgresql"] = create_postgres_database()
    from models.schema import crypto

    crypto.configure(TEST_SECRET_KEY)
    for url in urls.values():
        migrated_database(url).close()
    yield urls
    database_proxy.initialize(None)
    drop_postgres_database(urls["postgresql"])


_connections: dict[str, object] = {}


@pytest.fixture(params=ENGINES)
def db(request, engine_urls):
    """The shared database proxy, connected to a freshly emptied database of one engine."""
    engine = request.param
    database = _connections.get(engine)
    if database is None:
        database = _connections[engine] = connect_url(engine_urls[engine])
    database_proxy.initialize(database)
    from models.schema import crypto

    crypto.configure(TEST_SECRET_KEY)
    database.connect(reuse_if_open=True)
    empty_all_tables(database)
    database.engine = engine
    database.url = engine_urls[engine]
    yield database
    if not database.is_closed():
        database.close()


@pytest.fixture
def settings(db, tmp_path):
    """Settings for a test: its database, a private data directory, a test secret."""
    return settings_module.load(base_environ(DATABASE_URL=db.url, DATA_DIR=str(tmp_path / "data")))


@pytest.fixture
def make_settings(tmp_path):
    """Settings from a test environment (no database connection implied)."""

    def make(**environ: str):
        merged = base_environ(DATA_DIR=str(tmp_path / "data"))
        merged.update(environ)
        return settings_module.load(merged)

    return make


@pytest.fixture(scope="session")
def sandbox():
    """Sandbox Spotify for the whole run: a thread on 127.0.0.1, a free port, extended mode.

    Its clock is frozen at 2026-11-20 12:00 UTC; tests move it. Use ``fresh_sandbox`` to start
    from the default knobs, clock and no tokens.
    """
    from spotify.sandbox.testing import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def fresh_sandbox(sandbox):
    """The session's sandbox, reset (knobs, clock, tokens, counters) before this test."""
    sandbox.reset()
    return sandbox


# -- the sandbox MusicBrainz (issue 15) ----------------------------------------------------------
MUSICBRAINZ_TEST_WINDOW = 0.02  # the sandbox's rate window in tests: MusicBrainz's 1 s, scaled


@pytest.fixture(scope="session")
def musicbrainz_sandbox():
    """Sandbox MusicBrainz for the whole run (the sandbox Spotify's world, seed 42), over real
    HTTP, its rate window scaled to 0.02 s (half of it forgiven as jitter); clients keep
    ``client_interval``, twice the window (see ``env()``).
    Use ``fresh_musicbrainz`` to start from the default knobs and empty counters."""
    from musicbrainz.sandbox.testing import MusicBrainzSandbox

    with MusicBrainzSandbox(rate_window=MUSICBRAINZ_TEST_WINDOW, rate_slack=0.5) as server:
        yield server


@pytest.fixture
def fresh_musicbrainz(musicbrainz_sandbox):
    """The session's sandbox MusicBrainz, reset (knobs, counters, request log) before this test."""
    musicbrainz_sandbox.reset()
    return musicbrainz_sandbox
