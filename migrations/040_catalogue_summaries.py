"""Peewee migrations -- 040_catalogue_summaries.py: plays per artist, album and features status.

Adds the artist, album and audio-features summaries of ``models.summaries.catalogue`` (all
time, per local month, per local day), filled from the track summaries already stored; indexes
on ``summary_track (track_id)`` and ``summary_track_day (user_id, track_id, day)`` to find who
played a track, and when; and, on PostgreSQL, primary keys of the summary tables that carry the
summed columns (``INCLUDE``), so a period is read by an index-only scan instead of one heap page
per row, and an index of tracks in name order.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    migrator.add_index('summary_track', 'track', unique=False)
    migrator.add_index('summary_track_day', 'user', 'track', 'day', unique=False)

    @migrator.create_model
    class AlbumDay(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        album = pw.CharField(column_name='album_id', max_length=64)
        day = pw.DateField()

        class Meta:
            table_name = "summary_album_day"
            primary_key = pw.CompositeKey('user', 'day', 'album')

    @migrator.create_model
    class AlbumMonth(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        album = pw.CharField(column_name='album_id', max_length=64)
        month = pw.DateField()

        class Meta:
            table_name = "summary_album_month"
            primary_key = pw.CompositeKey('user', 'month', 'album')

    @migrator.create_model
    class AlbumTotal(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        album = pw.CharField(column_name='album_id', max_length=64)

        class Meta:
            table_name = "summary_album"
            primary_key = pw.CompositeKey('user', 'album')

    @migrator.create_model
    class ArtistDay(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        artist = pw.CharField(column_name='artist_id', max_length=64)
        lead_plays = pw.IntegerField()
        lead_ms_played = pw.BigIntegerField()
        day = pw.DateField()

        class Meta:
            table_name = "summary_artist_day"
            primary_key = pw.CompositeKey('user', 'day', 'artist')

    @migrator.create_model
    class ArtistMonth(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        artist = pw.CharField(column_name='artist_id', max_length=64)
        lead_plays = pw.IntegerField()
        lead_ms_played = pw.BigIntegerField()
        month = pw.DateField()

        class Meta:
            table_name = "summary_artist_month"
            primary_key = pw.CompositeKey('user', 'month', 'artist')

    @migrator.create_model
    class ArtistTotal(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        artist = pw.CharField(column_name='artist_id', max_length=64)
        lead_plays = pw.IntegerField()
        lead_ms_played = pw.BigIntegerField()

        class Meta:
            table_name = "summary_artist"
            primary_key = pw.CompositeKey('user', 'artist')

    @migrator.create_model
    class FeatureTotal(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        status = pw.CharField(max_length=16)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        sum_danceability = pw.BigIntegerField()
        n_danceability = pw.IntegerField()
        sum_energy = pw.BigIntegerField()
        n_energy = pw.IntegerField()
        sum_valence = pw.BigIntegerField()
        n_valence = pw.IntegerField()
        sum_acousticness = pw.BigIntegerField()
        n_acousticness = pw.IntegerField()
        sum_instrumentalness = pw.BigIntegerField()
        n_instrumentalness = pw.IntegerField()
        sum_speechiness = pw.BigIntegerField()
        n_speechiness = pw.IntegerField()
        sum_liveness = pw.BigIntegerField()
        n_liveness = pw.IntegerField()
        sum_tempo = pw.BigIntegerField()
        n_tempo = pw.IntegerField()

        class Meta:
            table_name = "summary_features"
            primary_key = pw.CompositeKey('user', 'status')

    @migrator.create_model
    class FeatureMonth(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        status = pw.CharField(max_length=16)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        sum_danceability = pw.BigIntegerField()
        n_danceability = pw.IntegerField()
        sum_energy = pw.BigIntegerField()
        n_energy = pw.IntegerField()
        sum_valence = pw.BigIntegerField()
        n_valence = pw.IntegerField()
        sum_acousticness = pw.BigIntegerField()
        n_acousticness = pw.IntegerField()
        sum_instrumentalness = pw.BigIntegerField()
        n_instrumentalness = pw.IntegerField()
        sum_speechiness = pw.BigIntegerField()
        n_speechiness = pw.IntegerField()
        sum_liveness = pw.BigIntegerField()
        n_liveness = pw.IntegerField()
        sum_tempo = pw.BigIntegerField()
        n_tempo = pw.IntegerField()
        month = pw.DateField()

        class Meta:
            table_name = "summary_features_month"
            primary_key = pw.CompositeKey('user', 'month', 'status')

    @migrator.create_model
    class FeatureDay(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        status = pw.CharField(max_length=16)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        sum_danceability = pw.BigIntegerField()
        n_danceability = pw.IntegerField()
        sum_energy = pw.BigIntegerField()
        n_energy = pw.IntegerField()
        sum_valence = pw.BigIntegerField()
        n_valence = pw.IntegerField()
        sum_acousticness = pw.BigIntegerField()
        n_acousticness = pw.IntegerField()
        sum_instrumentalness = pw.BigIntegerField()
        n_instrumentalness = pw.IntegerField()
        sum_speechiness = pw.BigIntegerField()
        n_speechiness = pw.IntegerField()
        sum_liveness = pw.BigIntegerField()
        n_liveness = pw.IntegerField()
        sum_tempo = pw.BigIntegerField()
        n_tempo = pw.IntegerField()
        day = pw.DateField()

        class Meta:
            table_name = "summary_features_day"
            primary_key = pw.CompositeKey('user', 'day', 'status')

    migrator.run(_engine_specific, migrator, database)
    migrator.run(_fill, database)


NEW_TABLES = ("summary_artist", "summary_artist_month", "summary_artist_day", "summary_album",
              "summary_album_month", "summary_album_day", "summary_features",
              "summary_features_month", "summary_features_day")
PROFILE_FEATURES = ("danceability", "energy", "valence", "acousticness", "instrumentalness",
                    "speechiness", "liveness", "tempo")

# On PostgreSQL: each summary's primary key, with the columns the statistics sum.
COVERING_KEYS = {
    "summary_track": ("user_id, track_id", "plays, ms_played, first_played_at, last_played_at"),
    "summary_track_day": ("user_id, day, track_id",
                          "plays, ms_played, first_played_at, last_played_at"),
    "summary_track_month": ("user_id, month, track_id",
                            "plays, ms_played, first_played_at, last_played_at"),
    "summary_hour": ("user_id, day, hour", "weekday, plays, ms_played"),
    "summary_artist": ("user_id, artist_id", "plays, ms_played, lead_plays, lead_ms_played, "
                                             "first_played_at, last_played_at"),
    "summary_artist_month": ("user_id, month, artist_id",
                             "plays, ms_played, lead_plays, lead_ms_played, "
                             "first_played_at, last_played_at"),
    "summary_artist_day": ("user_id, day, artist_id",
                           "plays, ms_played, lead_plays, lead_ms_played, "
                           "first_played_at, last_played_at"),
    "summary_album_day": ("user_id, day, album_id",
                          "plays, ms_played, first_played_at, last_played_at"),
    "summary_album": ("user_id, album_id", "plays, ms_played, first_played_at, last_played_at"),
    "summary_album_month": ("user_id, month, album_id",
                            "plays, ms_played, first_played_at, last_played_at"),
}


def _engine(database):
    return getattr(database, "obj", database)


def _engine_specific(migrator: Migrator, database: pw.Database):
    engine = _engine(database)
    if isinstance(engine, pw.SqliteDatabase):
        # WITHOUT ROWID, like the track summaries (migration 010): the key is the table.
        for name in NEW_TABLES:
            model = migrator.orm[name]
            model._meta.without_rowid = True
            try:
                with model.bind_ctx(engine):
                    model.drop_table()
                    model.create_table()
            finally:
                model._meta.without_rowid = False
    elif isinstance(engine, pw.PostgresqlDatabase):
        # Tracks in the order of the unique-tracks page sorted by name (models.stats): all time,
        # the page walks this index and probes the user's track summaries.
        engine.execute_sql('CREATE INDEX "track_name_order" ON "track" '
                           '((LOWER("name") COLLATE "C"), "id")')
        for table, (key, carried) in COVERING_KEYS.items():
            engine.execute_sql(
                f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey", '
                f'ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({key}) INCLUDE ({carried})')


def _fill(database: pw.Database):
    """The artist and album summaries of the plays already summarised per track."""
    engine = _engine(database)
    lead = "CASE WHEN ta.position = 0 THEN s.{0} ELSE 0 END"
    artist_sums = (f"SUM(s.plays), SUM(s.ms_played), SUM({lead.format('plays')}), "
                   f"SUM({lead.format('ms_played')}), MIN(s.first_played_at), "
                   "MAX(s.last_played_at)")
    album_sums = ("SUM(s.plays), SUM(s.ms_played), MIN(s.first_played_at), "
                  "MAX(s.last_played_at)")
    artist_columns = ("plays, ms_played, lead_plays, lead_ms_played, first_played_at, "
                      "last_played_at")
    album_columns = "plays, ms_played, first_played_at, last_played_at"
    for bucket_name in (None, "month", "day"):
        bucket = f", s.{bucket_name}" if bucket_name else ""
        suffix = f"_{bucket_name}" if bucket_name else ""
        bucket_column = f", {bucket_name}" if bucket_name else ""
        source = f"summary_track{suffix}"
        engine.execute_sql(
            f"INSERT INTO summary_artist{suffix} (user_id{bucket_column}, artist_id, "
            f"{artist_columns}) SELECT s.user_id{bucket}, ta.artist_id, {artist_sums} "
            f"FROM {source} s JOIN track_artist ta ON ta.track_id = s.track_id "
            f"GROUP BY s.user_id{bucket}, ta.artist_id")
        engine.execute_sql(
            f"INSERT INTO summary_album{suffix} (user_id{bucket_column}, album_id, "
            f"{album_columns}) SELECT s.user_id{bucket}, t.album_id, {album_sums} "
            f"FROM {source} s JOIN track t ON t.id = s.track_id WHERE t.album_id IS NOT NULL "
            f"GROUP BY s.user_id{bucket}, t.album_id")
    _fill_features(engine)


def _fill_features(engine):
    """The features summaries: plays by features status, feature sums in millionths."""
    def micro(name):
        if isinstance(engine, pw.PostgresqlDatabase):
            return f"CAST(FLOOR(CAST(af.{name} AS DOUBLE PRECISION) * 1000000 + 0.5) AS BIGINT)"
        return f"CAST(af.{name} * 1000000 + 0.5 AS INTEGER)"

    columns = ", ".join(f"sum_{name}, n_{name}" for name in PROFILE_FEATURES)
    sums = ", ".join(f"COALESCE(SUM(s.plays * {micro(name)}), 0), "
                     f"SUM(CASE WHEN af.{name} IS NOT NULL THEN s.plays ELSE 0 END)"
                     for name in PROFILE_FEATURES)
    status = "COALESCE(af.status, 'pending')"
    for bucket_name in (None, "month", "day"):
        bucket = f", s.{bucket_name}" if bucket_name else ""
        suffix = f"_{bucket_name}" if bucket_name else ""
        bucket_column = f", {bucket_name}" if bucket_name else ""
        engine.execute_sql(
            f"INSERT INTO summary_features{suffix} (user_id{bucket_column}, status, plays, "
            f"ms_played, {columns}) SELECT s.user_id{bucket}, {status}, SUM(s.plays), "
            f"SUM(s.ms_played), {sums} FROM summary_track{suffix} s LEFT JOIN audio_features af "
            f"ON af.track_id = s.track_id GROUP BY s.user_id{bucket}, {status}")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    engine = _engine(database)
    if isinstance(engine, pw.PostgresqlDatabase):
        engine.execute_sql('DROP INDEX IF EXISTS "track_name_order"')
        for table, (key, _) in COVERING_KEYS.items():
            if table in NEW_TABLES:
                continue
            engine.execute_sql(
                f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey", '
                f'ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({key})')
    for name in NEW_TABLES:
        migrator.remove_model(name)
    migrator.drop_index('summary_track_day', 'user', 'track', 'day')
    migrator.drop_index('summary_track', 'track')
