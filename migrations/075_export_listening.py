"""Peewee migrations -- 075_export_listening.py: everything in the privacy export kept (issue 16).

- ``play``: how each play was listened to, as the extended export tells (``skipped``,
  ``shuffle``, ``offline``, ``reason_start``, ``reason_end``, ``platform`` as given, its
  ``device`` family, ``conn_country``); all NULL-able: the API and account-data files say none
  of it, and plays stored before this migration have none until their export is imported again.
- ``track.is_local`` and ``local_track``: local-file plays, kept by their names for the
  listener who played them, never matched to a catalogue track.
- ``artist.provisional``, ``album.provisional``: the artists and albums an export names, counted
  at once, until Spotify's own arrive with the ETL's track completion.
- ``short_stream``: music streams under 30 s (skips), not plays.
- ``show``, ``episode``, ``audiobook``, ``chapter``, ``episode_play``, ``chapter_play``: podcasts
  and audiobooks, their own listening, never in the music summaries.

On SQLite the NOT NULL booleans are added with a plain ``ALTER TABLE ... ADD COLUMN ...
DEFAULT``: peewee's SQLite migrator would rebuild ``track`` (and ``artist``) inside
peewee-migrate's transaction, where "foreign keys off" is ignored, and dropping the old table
would cascade-delete links and summaries (migration 060 says more).
"""

import peewee as pw
from peewee_migrate import Migrator

FLAGS = (("album", "provisional"), ("artist", "provisional"), ("track", "is_local"))


def _how_you_listen() -> dict:
    return dict(
        skipped=pw.BooleanField(null=True),
        shuffle=pw.BooleanField(null=True),
        offline=pw.BooleanField(null=True),
        reason_start=pw.CharField(max_length=32, null=True),
        reason_end=pw.CharField(max_length=32, null=True),
        platform=pw.TextField(null=True),
        device=pw.CharField(max_length=16, null=True),
        conn_country=pw.CharField(max_length=2, null=True),
    )


# The same fields as a base of the new tables (never created itself).
_HowYouListen = type("_HowYouListen", (pw.Model,), _how_you_listen())


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(getattr(database, "obj", database), pw.SqliteDatabase):
        for table, column in FLAGS:
            migrator.orm[table]._meta.add_field(column, pw.BooleanField(default=False))
            migrator.sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" INTEGER NOT NULL DEFAULT 0')
    else:
        for table, column in FLAGS:
            migrator.add_fields(table, **{column: pw.BooleanField(default=False)})

    migrator.add_fields("play", **_how_you_listen())  # NULL-able: ALTER TABLE in place

    @migrator.create_model
    class LocalTrack(pw.Model):
        track = pw.ForeignKeyField(
            column_name="track_id",
            field="id",
            model=migrator.orm["track"],
            on_delete="CASCADE",
            primary_key=True,
        )
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        artist_name = pw.TextField(null=True)
        album_name = pw.TextField(null=True)

        class Meta:
            table_name = "local_track"
            indexes = [(("user",), False)]

    @migrator.create_model
    class ShortStream(_HowYouListen):
        id = pw.BigAutoField()
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        track = pw.ForeignKeyField(column_name="track_id", field="id", model=migrator.orm["track"])
        played_at = pw.DateTimeField()
        ms_played = pw.IntegerField()
        source = pw.CharField(default="import", max_length=8)

        class Meta:
            table_name = "short_stream"
            indexes = [(("user", "played_at", "track"), True), (("track",), False)]

    @migrator.create_model
    class Show(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()

        class Meta:
            table_name = "show"

    @migrator.create_model
    class Episode(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()
        show = pw.ForeignKeyField(
            column_name="show_id", field="id", model=migrator.orm["show"], on_delete="CASCADE"
        )
        uri = pw.CharField(max_length=64, null=True)

        class Meta:
            table_name = "episode"
            indexes = [(("show",), False)]

    @migrator.create_model
    class Audiobook(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()

        class Meta:
            table_name = "audiobook"

    @migrator.create_model
    class Chapter(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()
        audiobook = pw.ForeignKeyField(
            column_name="audiobook_id",
            field="id",
            model=migrator.orm["audiobook"],
            on_delete="CASCADE",
        )

        class Meta:
            table_name = "chapter"
            indexes = [(("audiobook",), False)]

    @migrator.create_model
    class EpisodePlay(_HowYouListen):
        id = pw.BigAutoField()
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        episode = pw.ForeignKeyField(
            column_name="episode_id", field="id", model=migrator.orm["episode"]
        )
        played_at = pw.DateTimeField()
        ms_played = pw.IntegerField()

        class Meta:
            table_name = "episode_play"
            indexes = [(("user", "played_at", "episode"), True), (("episode",), False)]

    @migrator.create_model
    class ChapterPlay(_HowYouListen):
        id = pw.BigAutoField()
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        chapter = pw.ForeignKeyField(
            column_name="chapter_id", field="id", model=migrator.orm["chapter"]
        )
        played_at = pw.DateTimeField()
        ms_played = pw.IntegerField()

        class Meta:
            table_name = "chapter_play"
            indexes = [(("user", "played_at", "chapter"), True), (("chapter",), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table in ("chapter_play", "episode_play", "chapter", "audiobook", "episode", "show"):
        migrator.remove_model(table)
    migrator.remove_model("short_stream")
    migrator.remove_model("local_track")
    migrator.remove_fields("play", *_how_you_listen())
    for table, column in FLAGS:
        migrator.remove_fields(table, column)
