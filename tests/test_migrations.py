"""peewee-migrate owns the schema: the migrations build exactly the models, on both engines."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from models.migrate import pending_model_changes, router, upgrade
from models.schema import crypto
from models.schema.db import connect_url
from models.schema.db import db as proxy
from models.schema.tables import ALL_TABLES, CATALOGUE_SUMMARY_TABLES, User
from settings import PROJECT_DIR
from tests.environment import TEST_SECRET_KEY, create_postgres_database, drop_postgres_database


def _user_of_an_old_schema(database, spotify_id: str = "old-listener") -> User:
    """A listener row in a database migrated only part of the way, whose ``user`` table lacks
    columns the model has now (so ``make_user`` cannot write it)."""
    database.execute_sql(
        'INSERT INTO "user" (spotify_id, display_name, is_admin, timezone, created_at, '
        "needs_reauth) VALUES (%s, %s, %s, 'UTC', %s, %s)".replace("%s", database.param),
        (spotify_id, "Old Listener", False, dt.datetime(2025, 1, 1), False),
    )
    (user_id,) = database.execute_sql(
        'SELECT id FROM "user" WHERE spotify_id = %s'.replace("%s", database.param), (spotify_id,)
    ).fetchone()
    return User(id=user_id, spotify_id=spotify_id)


def test_migrations_build_every_table(db):
    tables = set(db.get_tables())
    assert {model._meta.table_name for model in ALL_TABLES} <= tables
    assert "basemodel" not in tables


def test_models_and_migrations_do_not_drift(db):
    assert pending_model_changes() == "", (
        "models/schema/tables.py changed without a migration: "
        "run `python -m models.migrate create NAME`"
    )


def test_drift_check_sees_a_new_field(db, monkeypatch):
    from peewee import TextField

    field = TextField(null=True)
    User._meta.add_field("nickname", field)
    try:
        assert "nickname" in pending_model_changes()
    finally:
        User._meta.remove_field("nickname")


def test_every_migration_is_applied(db):
    migration_router = router()
    assert migration_router.diff == []
    assert migration_router.done == migration_router.todo


def test_first_admin_is_created_once_with_a_hashed_password(db, make_settings):
    settings = make_settings(
        FIRST_ADMIN_ID="root",
        FIRST_ADMIN_EMAIL="admin@example.test",
        FIRST_ADMIN_PASSWORD="correct horse battery",
    )
    upgrade(settings)
    upgrade(settings)
    admins = list(User.select().where(User.is_admin))
    assert len(admins) == 1
    assert admins[0].email == "admin@example.test"
    assert "correct horse battery" not in admins[0].password_hash
    from models.accounts.users import check_password

    assert check_password(admins[0], "correct horse battery")
    assert not check_password(admins[0], "wrong")


def test_migrate_command_on_a_fresh_sqlite_file(tmp_path):
    """What `make demo` and the Procfile release step run, end to end in a subprocess."""
    environ = {
        "SECRET_KEY": "x" * 32,
        "CLIENT_ID": "c",
        "CLIENT_SECRET": "s",
        "DATA_DIR": str(tmp_path),
        "FIRST_ADMIN_EMAIL": "a@example.test",
        "FIRST_ADMIN_PASSWORD": "pw-pw-pw-pw-pw",
        "PATH": "/usr/bin:/bin",
    }
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "models.migrate"],
            cwd=PROJECT_DIR,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    assert "0 migration(s) applied" in result.stdout
    assert (tmp_path / "spotify_tracker.db").exists()


@contextmanager
def upgrading(engine: str, tmp_path, migration: str | None) -> Iterator:
    """A fresh database of ``engine`` migrated up to ``migration`` only, as an install that is
    about to be upgraded; closed (and on PostgreSQL dropped) afterwards."""
    url = (
        f"sqlite:///{tmp_path / 'upgrade.db'}" if engine == "sqlite" else create_postgres_database()
    )
    database = connect_url(url)
    proxy.initialize(database)
    crypto.configure(TEST_SECRET_KEY)
    try:
        database.connect()
        router().run(migration)
        yield database
    finally:
        database.close()
        if engine == "postgresql":
            drop_postgres_database(url)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_040_fills_the_catalogue_summaries_of_plays_already_stored(engine, tmp_path):
    """An install upgraded from 030 gets artist, album and features summaries equal to what
    keeping them from the start would have given."""
    from models.schema.tables import (
        ArtistTotal,
        FeatureTotal,
        Play,
        TrackDay,
        TrackMonth,
        TrackTotal,
    )
    from models.summaries import listening
    from tests.factories import make_album, make_artist, make_track

    with upgrading(engine, tmp_path, "030_import_job") as database:
        user = _user_of_an_old_schema(database)
        lead, guest = make_artist(), make_artist()
        album = make_album()
        tracks = [
            make_track(artists=[lead, guest], album=album),
            make_track(artists=[guest]),
            make_track(),
        ]  # the last: a stub, no artists or album yet
        database.execute_sql(
            "INSERT INTO audio_features (track_id, status, danceability, "
            "tempo, fetched_at) VALUES (%s, 'ok', 0.25, 120.5, %s)".replace("%s", database.param),
            (tracks[0].id, dt.datetime(2026, 1, 1)),
        )
        cells: dict = {}
        for n in range(30):
            track = tracks[n % 3]
            at = dt.datetime(2025, 12, 25) + dt.timedelta(hours=13 * n)
            Play.create(
                user=user, track=track, played_at=at, ms_played=1000 * (n + 1), source="import"
            )
            for key in (
                (TrackTotal, None),
                (TrackMonth, at.date().replace(day=1)),
                (TrackDay, at.date()),
            ):
                cell = cells.setdefault((*key, track.id), [0, 0, at, at])
                cell[0] += 1
                cell[1] += 1000 * (n + 1)
                cell[3] = at
        for (model, bucket, track_id), (plays, ms, first, last) in cells.items():
            row = dict(
                user=user.id,
                track=track_id,
                plays=plays,
                ms_played=ms,
                first_played_at=first,
                last_played_at=last,
            )
            if bucket is not None:
                row["month" if model is TrackMonth else "day"] = bucket
            model.insert(**row).execute()

        router().run()
        catalogue = CATALOGUE_SUMMARY_TABLES  # all of them: one added later is compared too
        migrated = {model: sorted(model.select().tuples()) for model in catalogue}
        assert ArtistTotal.get(artist=guest.id).plays == 20
        assert ArtistTotal.get(artist=lead.id).lead_plays == 10
        assert {row.status: row.plays for row in FeatureTotal.select()} == {"ok": 10, "pending": 20}
        listening.rebuild(user.id)
        assert {model: sorted(model.select().tuples()) for model in catalogue} == migrated


def _schema(database) -> list[tuple]:
    """Everything a schema is made of, comparable between two databases of one engine."""
    if database.__class__.__name__.startswith("Sqlite"):
        return database.execute_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT IN ('sqlite_sequence', 'migratehistory') ORDER BY type, name"
        ).fetchall()
    columns = database.execute_sql(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name != 'migratehistory' ORDER BY table_name, column_name"
    ).fetchall()
    indexes = database.execute_sql(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename != 'migratehistory' ORDER BY tablename, indexname"
    ).fetchall()
    constraints = database.execute_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
    ).fetchall()
    return [*columns, *indexes, *constraints]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_050_queues_the_unfinished_imports_as_a_fresh_install_would(engine, tmp_path):
    """An install upgraded from 040 has the queue, with one row per unfinished import equal to
    the row ``history_import.queue_job`` makes on a fresh build; finished imports get none."""
    from models.imports import history_import
    from models.schema.tables import ImportJob, Job

    with upgrading(engine, tmp_path, "040_catalogue_summaries") as database:
        user = _user_of_an_old_schema(database)
        resume_at = dt.datetime(2026, 12, 1, 15, 30)
        jobs = {
            status: ImportJob.create(
                user=user,
                status=status,
                file_name=f"{status}.zip",
                file_path=f"/data/imports/{status}.zip",
                file_sha256="0" * 64,
                resume_at=resume_at if status == "waiting" else None,
            ).id
            for status in ("pending", "running", "waiting", "done", "failed")
        }
        router().run()
        assert pending_model_changes() == ""

        def rows():
            return sorted(
                (job.kind, job.target, job.payload_data, job.priority, job.state, job.attempts)
                for job in Job.select()
            )

        migrated = rows()
        assert Job.get(Job.target == str(jobs["waiting"])).run_after == resume_at
        Job.delete().execute()
        for status in ("pending", "running", "waiting"):
            waiting = status == "waiting"
            history_import.queue_job(jobs[status], run_after=resume_at if waiting else None)
        assert migrated == rows()
        assert {target for _, target, *_ in migrated} == {
            str(jobs[s]) for s in ("pending", "running", "waiting")
        }


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_060_keeps_every_row_and_ids_are_never_reused(engine, tmp_path):
    """An install upgraded from 040 (with listeners, plays, grants) ends with the schema a
    fresh build has; on SQLite the user table's rebuild cascades nothing away, and a deleted
    newest user's id is not given to the next sign-up."""
    from models.accounts import sessions
    from models.accounts.users import delete_user
    from models.schema import crypto
    from models.schema.db import connect_url
    from models.schema.db import db as proxy
    from models.schema.tables import LoginSession, OAuthToken, Play
    from tests.environment import TEST_SECRET_KEY, create_postgres_database, drop_postgres_database
    from tests.factories import make_track, make_user

    def new_url(name):
        if engine == "sqlite":
            return f"sqlite:///{tmp_path / name}"
        return create_postgres_database()

    fresh_url, url = new_url("fresh.db"), new_url("upgrade.db")
    crypto.configure(TEST_SECRET_KEY)
    fresh = connect_url(fresh_url)
    database = connect_url(url)
    try:
        proxy.initialize(fresh)
        fresh.connect()
        router().run()
        fresh_schema = _schema(fresh)
        fresh.close()

        proxy.initialize(database)
        database.connect()
        router().run("040_catalogue_summaries")
        listeners = [_user_of_an_old_schema(database, f"old-{n}") for n in range(3)]
        track = make_track()
        for n, listener in enumerate(listeners):
            database.execute_sql(
                "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                "VALUES (%s, %s, %s, %s, 'import')".replace("%s", database.param),
                (listener.id, track.id, dt.datetime(2026, 1, 1, n), 1000),
            )
            database.execute_sql(
                "INSERT INTO oauth_token (user_id, refresh_token, scope, granted_at, updated_at) "
                "VALUES (%s, %s, '', %s, %s)".replace("%s", database.param),
                (
                    listener.id,
                    crypto.encrypt("refresh"),
                    dt.datetime(2026, 1, 1),
                    dt.datetime(2026, 1, 1),
                ),
            )

        router().run()
        assert _schema(database) == fresh_schema
        assert [user.id for user in User.select().order_by(User.id)] == [u.id for u in listeners]
        assert {user.token_epoch for user in User.select()} == {0}
        assert Play.select().count() == 3 and OAuthToken.select().count() == 3
        if engine == "sqlite":  # the rebuild turned foreign keys back on
            assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1

        newest = User.get_by_id(listeners[-1].id)
        sessions.start(newest, dt.timedelta(hours=1))
        delete_user(newest)  # cascades through the rebuilt table's foreign keys
        assert Play.select().count() == 2 and LoginSession.select().count() == 0
        assert make_user().id > newest.id
    finally:
        database.close()
        if engine == "postgresql":
            drop_postgres_database(url)
            drop_postgres_database(fresh_url)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_070_adds_the_musicbrainz_tables_and_keeps_the_catalogue(engine, tmp_path):
    """An install upgraded from 060 (listeners, plays, a catalogue with Spotify genres) ends with
    the schema a fresh build has, every row kept, and an empty enrichment state; rows are
    written in 060's columns only, so migrations of other features before or after 070 do not
    change what this checks."""
    from models.schema.tables import ENRICHMENT_TABLES, ArtistGenre, Play, Track

    with upgrading(engine, tmp_path, "060_login_security") as database:
        param = database.param
        database.execute_sql(
            'INSERT INTO "user" (spotify_id, is_admin, timezone, created_at, needs_reauth, '
            "token_epoch, legacy_cookies) VALUES ('old', %s, 'UTC', %s, %s, 0, %s)".replace(
                "%s", param
            ),
            (False, dt.datetime(2025, 1, 1), False, True),
        )
        (user_id,) = database.execute_sql('SELECT id FROM "user"').fetchone()
        database.execute_sql(
            "INSERT INTO artist (id, name) VALUES (%s, 'Old Artist')".replace("%s", param), ("a1",)
        )
        database.execute_sql(
            "INSERT INTO album (id, name) VALUES (%s, 'Old Album')".replace("%s", param), ("b1",)
        )
        database.execute_sql(
            "INSERT INTO track (id, name, album_id, isrc) VALUES (%s, 'Old Track', %s, %s)".replace(
                "%s", param
            ),
            ("t1", "b1", "USABC0000001"),
        )
        database.execute_sql(
            "INSERT INTO track_artist (track_id, artist_id, position) VALUES (%s, %s, 0)".replace(
                "%s", param
            ),
            ("t1", "a1"),
        )
        database.execute_sql("INSERT INTO genre (name) VALUES ('old genre')")
        database.execute_sql(
            "INSERT INTO artist_genre (artist_id, genre_id) SELECT %s, id FROM genre".replace(
                "%s", param
            ),
            ("a1",),
        )
        database.execute_sql(
            "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
            "VALUES (%s, %s, %s, %s, 'import')".replace("%s", param),
            (user_id, "t1", dt.datetime(2026, 1, 1), 1000),
        )
        router().run()
        assert pending_model_changes() == ""
        upgraded = _schema(database)
        assert Play.select().count() == 1 and ArtistGenre.select().count() == 1
        assert Track.get_by_id("t1").isrc == "USABC0000001"
        assert [model.select().count() for model in ENRICHMENT_TABLES] == [0] * 5
    (tmp_path / "fresh").mkdir()
    with upgrading(engine, tmp_path / "fresh", None) as fresh:
        assert _schema(fresh) == upgraded


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_065_adds_the_pacing_table_and_keeps_every_row(engine, tmp_path):
    """An install upgraded from 060 (a listener and a play) ends with the schema a fresh build
    has, its rows kept, and an empty ``rate_limit`` the pacer fills on first use."""
    from models.schema.pacing import DatabasePacer
    from models.schema.tables import Play, RateLimit

    fresh_url = (
        f"sqlite:///{tmp_path / 'fresh.db'}" if engine == "sqlite" else create_postgres_database()
    )
    fresh = connect_url(fresh_url)
    try:
        proxy.initialize(fresh)
        fresh.connect()
        router().run()
        fresh_schema = _schema(fresh)
    finally:
        fresh.close()
        if engine == "postgresql":
            drop_postgres_database(fresh_url)
    with upgrading(engine, tmp_path, "060_login_security") as database:
        database.execute_sql(  # the user table as 060 left it (later columns may not exist)
            'INSERT INTO "user" (spotify_id, display_name, is_admin, timezone, created_at, '
            "needs_reauth, token_epoch, legacy_cookies) VALUES (%s, %s, %s, 'UTC', %s, %s, 0, %s)"
            .replace("%s", database.param),
            ("listener-060", "Listener", False, dt.datetime(2025, 1, 1), False, False),
        )  # fmt: skip
        (listener_id,) = database.execute_sql('SELECT id FROM "user"').fetchone()
        database.execute_sql(
            "INSERT INTO track (id, name, isrc) VALUES ('track-060', 'Song', 'SB0000000001')"
        )
        database.execute_sql(
            "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
            "VALUES (%s, 'track-060', %s, %s, 'import')".replace("%s", database.param),
            (listener_id, dt.datetime(2026, 1, 1), 1000),
        )
        router().run()
        assert _schema(database) == fresh_schema
        assert Play.select().count() == 1 and User.select().count() == 1
        assert RateLimit.select().count() == 0
        assert DatabasePacer(interval=1.0, clock=lambda: 5000.5).reserve(5) == 0.0
        assert RateLimit.get_by_id("musicbrainz").next_at == 5001.5  # sub-second precision
