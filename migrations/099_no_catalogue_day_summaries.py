"""Peewee migrations -- 099_no_catalogue_day_summaries.py: no per-day artist, album, features rows.

Drops ``summary_artist_day``, ``summary_album_day`` and ``summary_features_day`` (issue 20,
target 3).  The statistics sum the few edge days a period needs from ``summary_track_day``
joined to the catalogue, and the weekly charts rank from the same join, so nothing reads them
any more; they were 1.4 million rows of the 1,000,000-play listener that every time-zone change
rewrote and every import wrote (docs/query-plans.md).  No other table changes, so no row of
another table can be touched.  The rollback builds them again from the track day summaries and
the catalogue, as migration 040 first filled them.
"""

import peewee as pw
from peewee_migrate import Migrator

TABLES = ("summary_artist_day", "summary_album_day", "summary_features_day")
PROFILE_FEATURES = (
    "danceability",
    "energy",
    "valence",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "tempo",
)
# On PostgreSQL the primary keys that carried the summed columns (migration 040).
COVERING_KEYS = {
    "summary_artist_day": (
        "user_id, day, artist_id",
        "plays, ms_played, lead_plays, lead_ms_played, first_played_at, last_played_at",
    ),
    "summary_album_day": (
        "user_id, day, album_id",
        "plays, ms_played, first_played_at, last_played_at",
    ),
}


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for name in TABLES:
        migrator.remove_model(name)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    def user_field():
        return pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            index=False,
        )

    @migrator.create_model
    class ArtistDay(pw.Model):
        user = user_field()
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        artist = pw.CharField(column_name="artist_id", max_length=64)
        lead_plays = pw.IntegerField()
        lead_ms_played = pw.BigIntegerField()
        day = pw.DateField()

        class Meta:
            table_name = "summary_artist_day"
            primary_key = pw.CompositeKey("user", "day", "artist")

    @migrator.create_model
    class AlbumDay(pw.Model):
        user = user_field()
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        album = pw.CharField(column_name="album_id", max_length=64)
        day = pw.DateField()

        class Meta:
            table_name = "summary_album_day"
            primary_key = pw.CompositeKey("user", "day", "album")

    fields = {  # in the order of migration 040's columns
        "user": user_field(),
        "status": pw.CharField(max_length=16),
        "plays": pw.IntegerField(),
        "ms_played": pw.BigIntegerField(),
    }
    for name in PROFILE_FEATURES:
        fields[f"sum_{name}"] = pw.BigIntegerField()
        fields[f"n_{name}"] = pw.IntegerField()
    fields["day"] = pw.DateField()
    meta = {"table_name": "summary_features_day",
            "primary_key": pw.CompositeKey("user", "day", "status")}
    FeatureDay = type("FeatureDay", (pw.Model,),
                      {"__module__": __name__, **fields, "Meta": type("Meta", (), meta)})
    migrator.create_model(FeatureDay)
    migrator.run(_engine_specific, migrator, database)
    migrator.run(_fill, database)


def _engine(database):
    return getattr(database, "obj", database)


def _engine_specific(migrator: Migrator, database: pw.Database):
    engine = _engine(database)
    if isinstance(engine, pw.SqliteDatabase):
        for name in TABLES:  # WITHOUT ROWID, as migration 040 made them
            model = migrator.orm[name]
            model._meta.without_rowid = True
            try:
                with model.bind_ctx(engine):
                    model.drop_table()
                    model.create_table()
            finally:
                model._meta.without_rowid = False
    elif isinstance(engine, pw.PostgresqlDatabase):
        for table, (key, carried) in COVERING_KEYS.items():
            engine.execute_sql(
                f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey", '
                f'ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({key}) INCLUDE ({carried})'
            )


def _fill(database: pw.Database):
    engine = _engine(database)
    lead = "CASE WHEN ta.position = 0 THEN s.{0} ELSE 0 END"
    engine.execute_sql(
        "INSERT INTO summary_artist_day (user_id, day, artist_id, plays, ms_played, lead_plays, "
        "lead_ms_played, first_played_at, last_played_at) SELECT s.user_id, s.day, "
        f"ta.artist_id, SUM(s.plays), SUM(s.ms_played), SUM({lead.format('plays')}), "
        f"SUM({lead.format('ms_played')}), MIN(s.first_played_at), MAX(s.last_played_at) "
        "FROM summary_track_day s JOIN track_artist ta ON ta.track_id = s.track_id "
        "GROUP BY s.user_id, s.day, ta.artist_id"
    )
    engine.execute_sql(
        "INSERT INTO summary_album_day (user_id, day, album_id, plays, ms_played, "
        "first_played_at, last_played_at) SELECT s.user_id, s.day, t.album_id, SUM(s.plays), "
        "SUM(s.ms_played), MIN(s.first_played_at), MAX(s.last_played_at) "
        "FROM summary_track_day s JOIN track t ON t.id = s.track_id "
        "WHERE t.album_id IS NOT NULL GROUP BY s.user_id, s.day, t.album_id"
    )

    def micro(name):
        if isinstance(engine, pw.PostgresqlDatabase):
            return f"CAST(FLOOR(CAST(af.{name} AS DOUBLE PRECISION) * 1000000 + 0.5) AS BIGINT)"
        return f"CAST(af.{name} * 1000000 + 0.5 AS INTEGER)"

    columns = ", ".join(f"sum_{name}, n_{name}" for name in PROFILE_FEATURES)
    sums = ", ".join(
        f"COALESCE(SUM(s.plays * {micro(name)}), 0), "
        f"SUM(CASE WHEN af.{name} IS NOT NULL THEN s.plays ELSE 0 END)"
        for name in PROFILE_FEATURES
    )
    status = "COALESCE(af.status, 'pending')"
    engine.execute_sql(
        f"INSERT INTO summary_features_day (user_id, day, status, plays, ms_played, {columns}) "
        f"SELECT s.user_id, s.day, {status}, SUM(s.plays), SUM(s.ms_played), {sums} "
        "FROM summary_track_day s LEFT JOIN audio_features af ON af.track_id = s.track_id "
        f"GROUP BY s.user_id, s.day, {status}"
    )
