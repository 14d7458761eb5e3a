"""Peewee migrations -- 097_shown_genre.py: the genres each artist shows, kept (issue 15, speed).

- ``shown_genre``: per artist, the (source, genre) pairs of the one genre rule of
  ``models.summaries.shown_genres``: Spotify's genres where Spotify sent the artist any, else
  its MusicBrainz genres with at least 2 votes, its 5 most voted.  Kept by the two writers of
  genres, so the genre statistics join it by artist instead of deriving the rule per request.

Filled here from the tables as they stand, by that rule written out in SQL (a migration must
not follow later changes of the models); ``tests/test_migrations.py`` checks an upgraded
install's rows equal a fresh rebuild.  Only a new table: no existing table is rebuilt.
"""

import peewee as pw
from peewee_migrate import Migrator

MIN_VOTES, TOP = 2, 5  # models.summaries.shown_genres' rule when this migration was written


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ShownGenre(pw.Model):
        artist = pw.ForeignKeyField(
            column_name="artist_id", field="id", model=migrator.orm["artist"], on_delete="CASCADE"
        )
        source = pw.CharField(max_length=16)
        genre = pw.CharField(max_length=255)

        class Meta:
            table_name = "shown_genre"
            primary_key = pw.CompositeKey("artist", "source", "genre")
            indexes = ((("source", "genre"), False),)

    migrator.run(_fill, database)


def _fill(database: pw.Database):
    engine = getattr(database, "obj", database)
    engine.execute_sql(
        "INSERT INTO shown_genre (artist_id, source, genre) "
        "SELECT ag.artist_id, 'spotify', g.name FROM artist_genre ag "
        "JOIN genre g ON g.id = ag.genre_id "
        "UNION ALL "
        "SELECT mg.artist_id, 'musicbrainz', mg.name FROM musicbrainz_artist_genre mg "
        f"WHERE mg.rank <= {TOP} AND mg.votes >= {MIN_VOTES} "
        "AND mg.artist_id NOT IN (SELECT artist_id FROM artist_genre)"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("shown_genre")
