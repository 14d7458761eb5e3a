"""Peewee migrations -- 070_musicbrainz.py: what MusicBrainz says about the catalogue.

Five new tables beside the Spotify catalogue (models/schema/tables.py, "MusicBrainz
enrichment"): ``musicbrainz_track``, ``musicbrainz_artist`` and ``musicbrainz_album`` hold one
row per entity the enrichment looked at (its MBID, the open facts, the matcher's verdict and
when to ask again); ``musicbrainz_artist_genre`` the genres of matched artists with their votes;
``musicbrainz_genre_name`` MusicBrainz's genre list (which tags are genres).
``etl_log.outcomes``: what a step concluded (the enrichment's verdicts per kind), as JSON.
Only new tables and a NULL-able column: no existing table is rebuilt (on SQLite a rebuild of ``track`` or ``artist``
inside the migration's transaction would cascade-delete), and an upgraded install starts with an
empty enrichment state that the next hourly runs fill.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    # NULL-able: a plain ALTER TABLE ... ADD COLUMN on both engines, no rebuild
    migrator.add_fields("etl_log", outcomes=pw.TextField(null=True))

    @migrator.create_model
    class AlbumEnrichment(pw.Model):
        album = pw.ForeignKeyField(
            column_name="album_id",
            field="id",
            model=migrator.orm["album"],
            on_delete="CASCADE",
            primary_key=True,
        )
        mbid = pw.CharField(max_length=36, null=True)
        state = pw.CharField(max_length=16)
        attempts = pw.IntegerField(default=0)
        checked_at = pw.DateTimeField()
        next_try_at = pw.DateTimeField(null=True)
        note = pw.TextField(null=True)
        primary_type = pw.CharField(max_length=32, null=True)
        release_year = pw.SmallIntegerField(null=True)

        class Meta:
            table_name = "musicbrainz_album"
            indexes = [(("next_try_at",), False)]

    @migrator.create_model
    class ArtistEnrichment(pw.Model):
        artist = pw.ForeignKeyField(
            column_name="artist_id",
            field="id",
            model=migrator.orm["artist"],
            on_delete="CASCADE",
            primary_key=True,
        )
        mbid = pw.CharField(max_length=36, null=True)
        state = pw.CharField(max_length=16)
        attempts = pw.IntegerField(default=0)
        checked_at = pw.DateTimeField()
        next_try_at = pw.DateTimeField(null=True)
        note = pw.TextField(null=True)
        artist_type = pw.CharField(max_length=32, null=True)
        country = pw.CharField(max_length=2, null=True)
        begin_year = pw.SmallIntegerField(null=True)
        details_fetched = pw.BooleanField(default=False)

        class Meta:
            table_name = "musicbrainz_artist"
            indexes = [(("next_try_at",), False)]

    @migrator.create_model
    class MusicBrainzArtistGenre(pw.Model):
        artist = pw.ForeignKeyField(
            column_name="artist_id", field="id", model=migrator.orm["artist"], on_delete="CASCADE"
        )
        name = pw.CharField(max_length=255)
        votes = pw.IntegerField()
        rank = pw.SmallIntegerField()

        class Meta:
            table_name = "musicbrainz_artist_genre"
            primary_key = pw.CompositeKey("artist", "name")
            indexes = [(("name",), False)]

    @migrator.create_model
    class TrackEnrichment(pw.Model):
        track = pw.ForeignKeyField(
            column_name="track_id",
            field="id",
            model=migrator.orm["track"],
            on_delete="CASCADE",
            primary_key=True,
        )
        mbid = pw.CharField(max_length=36, null=True)
        state = pw.CharField(max_length=16)
        attempts = pw.IntegerField(default=0)
        checked_at = pw.DateTimeField()
        next_try_at = pw.DateTimeField(null=True)
        note = pw.TextField(null=True)
        method = pw.CharField(max_length=8, null=True)
        release_year = pw.SmallIntegerField(null=True)
        credits = pw.TextField(null=True)
        release_groups = pw.TextField(null=True)

        class Meta:
            table_name = "musicbrainz_track"
            indexes = [(("next_try_at",), False)]

    @migrator.create_model
    class MusicBrainzGenreName(pw.Model):
        name = pw.CharField(max_length=255, primary_key=True)
        fetched_at = pw.DateTimeField()

        class Meta:
            table_name = "musicbrainz_genre_name"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("etl_log", "outcomes")
    migrator.remove_model("musicbrainz_genre_name")
    migrator.remove_model("musicbrainz_track")
    migrator.remove_model("musicbrainz_artist_genre")
    migrator.remove_model("musicbrainz_artist")
    migrator.remove_model("musicbrainz_album")
