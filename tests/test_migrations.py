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


def _user_of_an_old_schema(
    database, spotify_id: str = "old-listener", *, at_060: bool = False
) -> User:
    """A listener row in a database migrated only part of the way, whose ``user`` table lacks
    columns the model has now (so ``make_user`` cannot write it); ``at_060``: with the columns
    migration 060 added (NOT NULL, no default in PostgreSQL)."""
    extra = ", token_epoch, legacy_cookies" if at_060 else ""
    values = ", 0, %s" if at_060 else ""
    database.execute_sql(
        f'INSERT INTO "user" (spotify_id, display_name, is_admin, timezone, created_at, '
        f"needs_reauth{extra}) VALUES (%s, %s, %s, 'UTC', %s, %s{values})".replace(
            "%s", database.param
        ),
        (spotify_id, "Old Listener", False, dt.datetime(2025, 1, 1), False)
        + ((False,) if at_060 else ()),
    )
    (user_id,) = database.execute_sql(
        'SELECT id FROM "user" WHERE spotify_id = %s'.replace("%s", database.param), (spotify_id,)
    ).fetchone()
    return User(id=user_id, spotify_id=spotify_id)


def _old_row(database, table: str, **columns) -> str:
    """A catalogue row written with only the columns given, as a schema of an older migration
    has them (the factories write every column the models have now); returns its id."""
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join([database.param] * len(columns))
    database.execute_sql(
        f'INSERT INTO "{table}" ({names}) VALUES ({marks})', tuple(columns.values())
    )
    return columns["id"]


def _old_track(database, n: int, artists=(), album=None, **columns) -> str:
    track_id = _old_row(
        database, "track", id=f"oldtrack{n:014d}", name=f"Track {n}", album_id=album, **columns
    )
    for position, artist in enumerate(artists):
        database.execute_sql(
            "INSERT INTO track_artist (track_id, artist_id, position) VALUES (%s, %s, %s)".replace(
                "%s", database.param
            ),
            (track_id, artist, position),
        )
    return track_id


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

    with upgrading(engine, tmp_path, "030_import_job") as database:
        user = _user_of_an_old_schema(database)
        lead, guest = (_old_row(database, "artist", id=f"oldartist{n}", name="A") for n in (1, 2))
        album = _old_row(database, "album", id="oldalbum1", name="Album")
        tracks = [
            _old_track(database, 1, artists=[lead, guest], album=album),
            _old_track(database, 2, artists=[guest]),
            _old_track(database, 3),
        ]  # the last: a stub, no artists or album yet
        database.execute_sql(
            "INSERT INTO audio_features (track_id, status, danceability, "
            "tempo, fetched_at) VALUES (%s, 'ok', 0.25, 120.5, %s)".replace("%s", database.param),
            (tracks[0], dt.datetime(2026, 1, 1)),
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
                cell = cells.setdefault((*key, track), [0, 0, at, at])
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
        assert ArtistTotal.get(artist=guest).plays == 20
        assert ArtistTotal.get(artist=lead).lead_plays == 10
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


def _fresh_schema(engine: str, tmp_path) -> list[tuple]:
    """The schema every migration builds on an empty database of ``engine``."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}" if engine == "sqlite" else create_postgres_database()
    database = connect_url(url)
    try:
        proxy.initialize(database)
        database.connect()
        router().run()
        return _schema(database)
    finally:
        database.close()
        if engine == "postgresql":
            drop_postgres_database(url)


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


@contextmanager
def fresh_and_upgrading(engine: str, tmp_path, migration: str) -> Iterator[tuple]:
    """The schema of a fresh build of ``engine``, and a database migrated up to ``migration``
    only (the install about to be upgraded, current in the block): ``(database, schema)``."""
    crypto.configure(TEST_SECRET_KEY)
    fresh_schema = _fresh_schema(engine, tmp_path)
    with upgrading(engine, tmp_path, migration) as database:
        yield database, fresh_schema


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_060_keeps_every_row_and_ids_are_never_reused(engine, tmp_path):
    """An install upgraded from 040 (with listeners, plays, grants) ends with the schema a
    fresh build has; on SQLite the user table's rebuild cascades nothing away, and a deleted
    newest user's id is not given to the next sign-up."""
    from models.accounts import sessions
    from models.accounts.users import delete_user
    from models.schema.tables import LoginSession, OAuthToken, Play
    from tests.factories import make_user

    with fresh_and_upgrading(engine, tmp_path, "040_catalogue_summaries") as (
        database,
        fresh_schema,
    ):
        listeners = [_user_of_an_old_schema(database, f"old-{n}") for n in range(3)]
        track = _old_track(database, 1)
        for n, listener in enumerate(listeners):
            database.execute_sql(
                "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                "VALUES (%s, %s, %s, %s, 'import')".replace("%s", database.param),
                (listener.id, track, dt.datetime(2026, 1, 1, n), 1000),
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


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_075_keeps_every_play_link_and_summary(engine, tmp_path):
    """An install at 060 holding listeners, a linked catalogue, plays and summaries, upgraded to
    the newest migration, has a fresh build's schema and every row it had: adding the export's
    columns to ``track``, ``artist`` and ``play`` rebuilds no table (a rebuild of ``track`` or
    ``artist`` on SQLite would cascade-delete plays' links and summaries)."""
    from models.schema.tables import Album, Artist, Play, Track, TrackArtist, TrackTotal

    with fresh_and_upgrading(engine, tmp_path, "060_login_security") as (database, fresh_schema):
        listeners = [_user_of_an_old_schema(database, f"old-{n}", at_060=True) for n in range(2)]
        artist = _old_row(database, "artist", id="oldartist1", name="Artist")
        album = _old_row(database, "album", id="oldalbum1", name="Album")
        tracks = [_old_track(database, n, artists=[artist], album=album) for n in range(3)]
        for n, listener in enumerate(listeners):
            for m, track in enumerate(tracks):
                at = dt.datetime(2026, 1, 1, n, m)
                database.execute_sql(
                    "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                    "VALUES (%s, %s, %s, %s, 'import')".replace("%s", database.param),
                    (listener.id, track, at, 1000),
                )
                database.execute_sql(
                    "INSERT INTO summary_track (user_id, track_id, plays, ms_played, "
                    "first_played_at, last_played_at) VALUES (%s, %s, 1, 1000, %s, %s)".replace(
                        "%s", database.param
                    ),
                    (listener.id, track, at, at),
                )
        before = {
            "play": sorted(Play.select(Play.user, Play.track, Play.played_at).tuples()),
            "links": sorted(TrackArtist.select(TrackArtist.track, TrackArtist.artist).tuples()),
            "summaries": sorted(TrackTotal.select(TrackTotal.user, TrackTotal.track).tuples()),
        }

        router().run()
        assert _schema(database) == fresh_schema
        assert pending_model_changes() == ""
        after = {
            "play": sorted(Play.select(Play.user, Play.track, Play.played_at).tuples()),
            "links": sorted(TrackArtist.select(TrackArtist.track, TrackArtist.artist).tuples()),
            "summaries": sorted(TrackTotal.select(TrackTotal.user, TrackTotal.track).tuples()),
        }
        assert after == before and len(after["play"]) == 6 and len(after["links"]) == 3
        # what was stored is Spotify's catalogue, played before the export's details were kept
        assert {t.is_local for t in Track.select()} == {False}
        assert {a.provisional for a in Artist.select()} == {False}
        assert {a.provisional for a in Album.select()} == {False}
        assert {(p.skipped, p.device, p.conn_country) for p in Play.select()} == {
            (None, None, None)
        }
        if engine == "sqlite":
            assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


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

    with fresh_and_upgrading(engine, tmp_path, "060_login_security") as (database, fresh_schema):
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


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_090_adds_sharing_keeping_every_row_private_by_default(engine, tmp_path):
    """An install at 060 with listeners and plays, migrated to the newest, has the schema of a
    fresh build (whatever other migrations come before or after 090), every row still there,
    nobody shared, and the sharing tables cascade with the account."""
    from models.accounts import sharing
    from models.accounts.users import delete_user
    from models.schema.tables import Play, PublicLink, SharingSettings

    with fresh_and_upgrading(engine, tmp_path, "060_login_security") as (database, fresh_schema):
        # the user table as 060 left it (a later migration may add columns the model has)
        for n in range(2):
            database.execute_sql(
                'INSERT INTO "user" (spotify_id, is_admin, timezone, created_at, needs_reauth,'
                " token_epoch, legacy_cookies) VALUES (%s, %s, 'UTC', %s, %s, 0, %s)".replace(
                    "%s", database.param
                ),
                (f"old-{n}", False, dt.datetime(2025, 1, 1), False, True),
            )
        listeners = list(User.select(User.id).order_by(User.id))
        track = _old_track(database, 0)
        for n, listener in enumerate(listeners):
            database.execute_sql(
                "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                "VALUES (%s, %s, %s, %s, 'api')".replace("%s", database.param),
                (listener.id, track, dt.datetime(2026, 1, 1, n), 1000),
            )
        router().run()
        assert _schema(database) == fresh_schema
        assert Play.select().count() == 2 and sharing.visible_ids() == set()
        owner = User.get_by_id(listeners[0].id)
        sharing.update(owner, True, ["all"], ["totals"])
        sharing.create_link(owner, ["all"], ["totals"])
        delete_user(owner)
        assert SharingSettings.select().count() == PublicLink.select().count() == 0
        assert Play.select().count() == 1


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_080_queues_the_sessions_of_plays_already_stored(engine, tmp_path, make_settings):
    """An install upgraded from 060 gets the fresh schema, a backlog row and a queued
    ``sessions`` job for each listener with plays (none for one without), and the worker then
    builds sessions equal to the raw plays' (other migrations may come before or after)."""
    from models.jobs import sessions as session_jobs
    from models.schema.tables import Job, ListeningSession, SessionBacklog
    from tests.story_world import sessions_from_raw_plays
    from tests.workertools import run_worker_until_idle

    with upgrading(engine, tmp_path, "060_login_security") as database:
        listeners = [_user_of_an_old_schema(database, f"old-{n}", at_060=True) for n in range(3)]
        track = _old_track(database, 0)
        for n, listener in enumerate(listeners[:2]):
            for minutes in (0, 5, 50, 55 + n):
                database.execute_sql(
                    "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                    "VALUES (%s, %s, %s, %s, 'import')".replace("%s", database.param),
                    (listener.id, track, dt.datetime(2026, 1, 1, 9, minutes), 60_000),
                )
        router().run()
        assert pending_model_changes() == ""
        queued = sorted(
            (job.target, job.priority, job.state)
            for job in Job.select().where(Job.kind == session_jobs.KIND)
        )
        assert queued == sorted((str(u.id), 100, "queued") for u in listeners[:2])
        assert sorted(row.user_id for row in SessionBacklog.select()) == [
            u.id for u in listeners[:2]
        ]
        assert ListeningSession.select().count() == 0
        run_worker_until_idle(make_settings())
        assert SessionBacklog.select().count() == 0
        for listener in listeners:
            stored = sorted(
                (s.started_at, s.last_played_at, s.length_ms, s.plays, s.ms_played)
                for s in ListeningSession.select().where(ListeningSession.user == listener.id)
            )
            assert stored == sessions_from_raw_plays(listener.id)
        assert ListeningSession.select().count() == 4


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_078_keeps_the_gaps_recorded_before_open(engine, tmp_path):
    """An install upgraded from 060 with recorded gaps (and plays) ends with a fresh build's
    schema, every gap kept and open (``filled_at`` NULL) and every play kept; an import then
    fills them as on a fresh build."""
    from models.ingest import gaps
    from models.schema.tables import Play, SyncGap

    with fresh_and_upgrading(engine, tmp_path, "060_login_security") as (database, fresh):
        listener = _user_of_an_old_schema(database, "gappy", at_060=True)
        track = _old_track(database, 1)
        at = dt.datetime(2026, 6, 1, 12)
        for n in range(3):
            database.execute_sql(
                "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                "VALUES (%s, %s, %s, %s, 'api')".replace("%s", database.param),
                (listener.id, track, at + dt.timedelta(hours=n), 200_000),
            )
        for start, end in ((dt.datetime(2008, 1, 1), at), (at, at + dt.timedelta(hours=2))):
            database.execute_sql(
                "INSERT INTO sync_gap (user_id, gap_start, gap_end, detected_at) "
                "VALUES (%s, %s, %s, %s)".replace("%s", database.param),
                (listener.id, start, end, end),
            )

        router().run()
        assert _schema(database) == fresh
        assert Play.select().count() == 3
        assert [(g.gap_end, g.filled_at) for g in SyncGap.select().order_by(SyncGap.gap_start)] == [
            (at, None),
            (at + dt.timedelta(hours=2), None),
        ]
        assert len(gaps.open_gaps(listener.id)) == 2
        gaps.cover(listener.id, at, at + dt.timedelta(hours=3))
        assert [g.end for g in gaps.open_gaps(listener.id)] == [at]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_092_builds_the_export_summaries_of_streams_already_stored(
    engine, tmp_path, make_settings
):
    """An install at 090 with export-covered plays and short streams ends with a fresh build's
    schema, a backlog row and a queued ``listening_context`` job for each listener with such
    streams (none for one with API plays only); the worker then builds summaries equal to a
    rebuild from the raw streams, and the statistics read from them equal the raw streams'."""
    from models import stats
    from models.jobs import listening_context as context_jobs
    from models.periods import parse_period
    from models.schema.tables import CONTEXT_SUMMARY_TABLES, ContextBacklog, Job
    from tests.test_context_summaries import answers, context_rows, rebuilt_rows
    from tests.workertools import run_worker_until_idle

    with fresh_and_upgrading(engine, tmp_path, "090_sharing") as (database, fresh_schema):
        listeners = [_user_of_an_old_schema(database, f"old-{n}", at_060=True) for n in range(2)]
        tracks = [  # as 075 left the table: is_local NOT NULL, without a default in PostgreSQL
            _old_row(database, "track", id=f"oldtrack{n:014d}", name=f"Track {n}", is_local=False)
            for n in range(3)
        ]
        insert = (
            "INSERT INTO {table} (user_id, track_id, played_at, ms_played, source, skipped, "
            "shuffle, reason_end, device, conn_country) VALUES (%s, %s, %s, %s, 'import', %s, "
            "%s, %s, %s, %s)"
        ).replace("%s", database.param)
        for n in range(40):
            at = dt.datetime(2026, 1, 28) + dt.timedelta(hours=7 * n)
            how = (n % 3 == 0, n % 2 == 0, ["trackdone", "fwdbtn", None][n % 3])
            how += (["phone", "car"][n % 2], ["SE", None][n % 2])
            table = "short_stream" if n % 4 == 0 else "play"
            database.execute_sql(
                insert.format(table=table), (listeners[0].id, tracks[n % 3], at, 20_000, *how)
            )
        database.execute_sql(  # an API play: nothing said
            "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
            "VALUES (%s, %s, %s, 60000, 'api')".replace("%s", database.param),
            (listeners[1].id, tracks[0], dt.datetime(2026, 2, 1)),
        )

        router().run()
        assert _schema(database) == fresh_schema
        assert pending_model_changes() == ""
        assert [row.user_id for row in ContextBacklog.select()] == [listeners[0].id]
        queued = [(j.target, j.state) for j in Job.select().where(Job.kind == context_jobs.KIND)]
        assert queued == [(str(listeners[0].id), "queued")]
        assert all(not model.select().exists() for model in CONTEXT_SUMMARY_TABLES)

        period = parse_period("all", tz="UTC", now=dt.datetime(2026, 6, 1))
        with stats.from_raw_plays():
            expected = answers(listeners[0].id, period)
        assert expected["how"]["streams"] == 40 and expected["how"]["short_streams"] == 10
        run_worker_until_idle(make_settings())
        assert not ContextBacklog.select().exists()
        built = context_rows(listeners[0].id)
        assert built["ContextMonth"] and built == rebuilt_rows(listeners[0].id)
        assert answers(listeners[0].id, period) == expected
        month = parse_period(None, "2026-02-01", "2026-02-28", tz="UTC")
        summarised = answers(listeners[0].id, month)
        with stats.from_raw_plays():
            assert summarised == answers(listeners[0].id, month)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_094_indexes_first_plays_keeping_every_summary_row(engine, tmp_path):
    """An install at 092 with all-time summaries, migrated to the newest, has a fresh build's
    schema (the first-play indexes included), every summary row as it was, and its discoveries
    equal what its raw plays say."""
    from models import stats
    from models.periods import Period
    from models.schema.tables import ArtistTotal, TrackTotal
    from models.summaries import listening

    with fresh_and_upgrading(engine, tmp_path, "092_context_summaries") as (database, fresh_schema):
        listener = _user_of_an_old_schema(database, at_060=True)
        artist = _old_row(
            database, "artist", id="oldartist000001", name="Old Artist", provisional=False
        )
        tracks = [
            _old_row(database, "track", id=f"oldtrack{n:014d}", name=f"Track {n}", is_local=False)
            for n in range(3)
        ]
        for n, track in enumerate(tracks):  # first played in 2024, 2025 and 2026
            at = dt.datetime(2024 + n, 3, 1, 12)
            for sql, values in (
                (
                    "INSERT INTO track_artist (track_id, artist_id, position) VALUES (%s, %s, 0)",
                    (track, artist),
                ),
                (
                    "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                    "VALUES (%s, %s, %s, %s, 'api')",
                    (listener.id, track, at, 1000 * (n + 1)),
                ),
            ):
                database.execute_sql(sql.replace("%s", database.param), values)
        listening.rebuild(listener.id)
        kept = [
            sorted(model.select().where(model.user == listener.id).tuples())
            for model in (TrackTotal, ArtistTotal)
        ]
        router().run()
        assert _schema(database) == fresh_schema
        assert [
            sorted(model.select().where(model.user == listener.id).tuples())
            for model in (TrackTotal, ArtistTotal)
        ] == kept
        period = Period.of_days(dt.date(2025, 1, 1), dt.date(2026, 12, 31), "UTC")
        found = stats.discovered(listener.id, period)
        with stats.from_raw_plays():
            assert stats.discovered(listener.id, period) == found
        assert (found["tracks"], found["artists"]) == (2, 0)
        assert [row["track_id"] for row in found["top_tracks"]] == [tracks[2], tracks[1]]


DAY_TABLES_099 = ("summary_artist_day", "summary_album_day", "summary_features_day")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_099_drops_the_catalogue_day_summaries_and_its_rollback_refills_them(
    engine, tmp_path
):
    """An install at 097 with artist, album and features day rows ends with a fresh build's
    schema and every other summary row kept; the statistics of a few days (now summed from
    the track days and the catalogue) equal the raw plays'; the rollback writes the day rows
    again exactly as the writers of 090 had kept them."""
    from models import stats
    from models.periods import Period
    from models.schema.tables import PROFILE_FEATURES, SUMMARY_TABLES
    from models.summaries import listening

    with fresh_and_upgrading(engine, tmp_path, "097_shown_genre") as (database, fresh):
        listener = _user_of_an_old_schema(database, at_060=True)
        lead, guest = (
            _old_row(database, "artist", id=f"oldartist{n}", name="A", provisional=False)
            for n in (1, 2)
        )
        album = _old_row(database, "album", id="oldalbum1", name="Album", provisional=False)
        duet = _old_track(database, 1, artists=[lead, guest], album=album, is_local=False)
        solo = _old_track(database, 2, artists=[guest], is_local=False)  # the guest leads it
        database.execute_sql(
            "INSERT INTO audio_features (track_id, status, danceability, tempo, fetched_at) "
            "VALUES (%s, 'ok', 0.25, 120.5, %s)".replace("%s", database.param),
            (duet, dt.datetime(2026, 1, 1)),
        )
        at = dt.datetime(2026, 3, 1)
        plays = [(duet, 10, 1000), (duet, 11, 2000), (solo, 12, 4000), (duet, 33, 8000)]
        for track, hour, ms in plays:
            database.execute_sql(
                "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                "VALUES (%s, %s, %s, %s, 'api')".replace("%s", database.param),
                (listener.id, track, at + dt.timedelta(hours=hour), ms),
            )
        listening.rebuild(listener.id)  # the track summaries, catalogue months and totals
        day1, day2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)

        def h(hour):
            return at + dt.timedelta(hours=hour)

        features = ", ".join(f"sum_{n}, n_{n}" for n in PROFILE_FEATURES)
        day_rows = {  # what 090's writers kept, worked out by hand from the four plays
            "summary_artist_day (user_id, day, artist_id, plays, ms_played, lead_plays, "
            "lead_ms_played, first_played_at, last_played_at)": [
                (day1, lead, 2, 3000, 2, 3000, h(10), h(11)),
                (day1, guest, 3, 7000, 1, 4000, h(10), h(12)),
                (day2, lead, 1, 8000, 1, 8000, h(33), h(33)),
                (day2, guest, 1, 8000, 0, 0, h(33), h(33)),
            ],
            "summary_album_day (user_id, day, album_id, plays, ms_played, first_played_at, "
            "last_played_at)": [
                (day1, album, 2, 3000, h(10), h(11)),
                (day2, album, 1, 8000, h(33), h(33)),
            ],
            f"summary_features_day (user_id, day, status, plays, ms_played, {features})": [
                (day1, "ok", 2, 3000, 500_000, 2, *[0] * 12, 241_000_000, 2),
                (day1, "pending", 1, 4000, *[0] * 16),
                (day2, "ok", 1, 8000, 250_000, 1, *[0] * 12, 120_500_000, 1),
            ],
        }
        for into, rows in day_rows.items():
            for row in rows:
                marks = ", ".join([database.param] * (len(row) + 1))
                database.execute_sql(f"INSERT INTO {into} VALUES ({marks})", (listener.id, *row))

        def stored_day_rows():
            return {
                table: database.execute_sql(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
                for table in DAY_TABLES_099
            }

        def summaries():
            return {model: sorted(model.select().tuples()) for model in SUMMARY_TABLES}

        old_days, kept = stored_day_rows(), summaries()
        router().run()
        assert _schema(database) == fresh
        assert not set(DAY_TABLES_099) & set(database.get_tables())
        assert summaries() == kept
        both_days = Period.of_days(day1, day2, "UTC")
        for statistic in (stats.top_artists, stats.top_albums, stats.taste_profile):
            summarised = statistic(listener.id, both_days)
            with stats.from_raw_plays():
                assert summarised == statistic(listener.id, both_days)
        top = stats.top_artists(listener.id, both_days)
        assert [(artist["artist_id"], artist["plays"]) for artist in top] == [(guest, 4), (lead, 3)]

        migration_router = router()
        migration_router.run_one(
            "099_no_catalogue_day_summaries", migration_router.migrator, fake=False, downgrade=True
        )
        assert stored_day_rows() == old_days
        router().run()
        assert _schema(database) == fresh


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migrations_096_097_fill_the_facts_and_shown_genres_a_fresh_build_keeps(engine, tmp_path):
    """An install at 090 with a catalogue and its MusicBrainz enrichment (a track with its own
    release year, one with only its album's, one led by a matched artist, a track relinked to
    two leads, a stub; Spotify and MusicBrainz genres) ends with the schema of a fresh build
    and the ``track_facts`` and ``shown_genre`` rows that ``track_facts.rebuild`` and
    ``shown_genres.rebuild`` write from the same tables; rows are written in 090's columns."""
    from models.schema.tables import ShownGenre, TrackFacts
    from models.summaries import shown_genres, track_facts

    with fresh_and_upgrading(engine, tmp_path, "094_first_plays_index") as (database, fresh_schema):
        for artist in ("a1", "a2", "a3"):
            _old_row(database, "artist", id=artist, name=artist, provisional=False)
        _old_row(database, "album", id="b1", name="Old Album", provisional=False)
        for n, (duration, explicit) in enumerate([(59_000, True), (250_000, False), (None, None)]):
            _old_row(
                database, "track", id=f"t{n}", name=f"T{n}", album_id="b1",
                duration_ms=duration, explicit=explicit, is_local=False,
            )  # fmt: skip
        _old_row(database, "track", id="stub", name="Stub", is_local=False)
        for track, artist, position in [
            ("t0", "a1", 0), ("t0", "a2", 1), ("t1", "a2", 0), ("t2", "a3", 0), ("t2", "a1", 0),
        ]:  # fmt: skip
            database.execute_sql(
                "INSERT INTO track_artist (track_id, artist_id, position) VALUES (%s, %s, %s)"
                .replace("%s", database.param),
                (track, artist, position),
            )  # fmt: skip
        checked = dt.datetime(2026, 11, 1)
        for table, key, entity, extra in [
            ("musicbrainz_track", "track_id", "t0", {"release_year": 1987}),
            ("musicbrainz_track", "track_id", "t1", {"release_year": None}),
            ("musicbrainz_album", "album_id", "b1", {"release_year": 2004}),
            (
                "musicbrainz_artist",
                "artist_id",
                "a1",
                {"country": "GB", "artist_type": "Group", "details_fetched": True},
            ),
            (
                "musicbrainz_artist",
                "artist_id",
                "a2",
                {"country": "US", "artist_type": None, "details_fetched": True},
            ),
        ]:
            columns = {key: entity, "state": "matched", "attempts": 1, "checked_at": checked}
            names = ", ".join([*columns, *extra])
            marks = ", ".join([database.param] * (len(columns) + len(extra)))
            database.execute_sql(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",
                (*columns.values(), *extra.values()),
            )
        database.execute_sql("INSERT INTO genre (name) VALUES ('shoegaze')")
        database.execute_sql(
            "INSERT INTO artist_genre (artist_id, genre_id) SELECT 'a3', id FROM genre"
        )
        for artist, name, votes, rank in [
            ("a1", "rock", 5, 1), ("a1", "pop", 1, 2), ("a3", "noise", 9, 1),
        ]:  # fmt: skip
            database.execute_sql(
                "INSERT INTO musicbrainz_artist_genre (artist_id, name, votes, rank) "
                "VALUES (%s, %s, %s, %s)".replace("%s", database.param),
                (artist, name, votes, rank),
            )
        router().run()
        assert _schema(database) == fresh_schema
        assert pending_model_changes() == ""
        shown = sorted(ShownGenre.select().tuples())
        assert shown == [("a1", "musicbrainz", "rock"), ("a3", "spotify", "shoegaze")]
        shown_genres.rebuild()
        assert sorted(ShownGenre.select().tuples()) == shown
        upgraded = sorted(TrackFacts.select().tuples())
        assert upgraded == sorted(
            [
                ("stub", None, None, None, None, None, None),
                ("t0", 1980, "GB", "Group", 0, 59_000, True),
                ("t1", 2000, "US", None, 4, 250_000, False),
                ("t2", 2000, "GB", "Group", None, None, None),  # the first lead by id: a1
            ]
        )
        track_facts.rebuild()
        assert sorted(TrackFacts.select().tuples()) == upgraded
