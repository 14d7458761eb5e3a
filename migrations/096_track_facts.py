"""Peewee migrations -- 096_track_facts.py: each track's open-data facts (issue 15, speed).

- ``track_facts``: per track, the decade of its first release, its lead artist's country and
  type, its whole minutes and length, and whether it is explicit: what the open-data taste
  profile groups plays by, kept by ``models.summaries.track_facts`` from the catalogue and the
  MusicBrainz enrichment, so the profile joins one table instead of four.

Filled here from the tables as they stand, by the rule of ``track_facts._facts_query`` written
out in SQL (a migration must not follow later changes of the models);
``tests/test_migrations.py`` checks an upgraded install's rows equal a fresh rebuild.
Only a new table: no existing table is rebuilt.
"""

import peewee as pw
from peewee_migrate import Migrator

LEAD_POSITION = 0  # models.schema.tables.LEAD_POSITION when this migration was written


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class TrackFacts(pw.Model):
        track = pw.ForeignKeyField(
            column_name="track_id",
            field="id",
            model=migrator.orm["track"],
            on_delete="CASCADE",
            primary_key=True,
        )
        decade = pw.SmallIntegerField(null=True)
        country = pw.CharField(max_length=2, null=True)
        artist_type = pw.CharField(max_length=32, null=True)
        minutes = pw.SmallIntegerField(null=True)
        duration_ms = pw.IntegerField(null=True)
        explicit = pw.BooleanField(null=True)

        class Meta:
            table_name = "track_facts"

    migrator.run(_fill, database)


def _fill(database: pw.Database):
    """One row per track, as ``track_facts.rebuild`` writes them."""
    engine = getattr(database, "obj", database)
    engine.execute_sql(
        "INSERT INTO track_facts (track_id, decade, country, artist_type, minutes, "
        "duration_ms, explicit) "
        "SELECT t.id, "
        "CASE WHEN COALESCE(mt.release_year, ma.release_year) IS NOT NULL "
        "THEN (COALESCE(mt.release_year, ma.release_year) / 10) * 10 END, "
        "mr.country, mr.artist_type, t.duration_ms / 60000, t.duration_ms, t.explicit "
        "FROM track t "
        "LEFT JOIN musicbrainz_track mt ON mt.track_id = t.id "
        "LEFT JOIN musicbrainz_album ma ON ma.album_id = t.album_id "
        "LEFT JOIN musicbrainz_artist mr ON mr.artist_id = (SELECT MIN(ta.artist_id) "
        f"FROM track_artist ta WHERE ta.track_id = t.id AND ta.position = {LEAD_POSITION})"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("track_facts")
