"""Peewee migrations -- 094_first_plays_index.py: the all-time summaries by first play.

- ``summary_track (user_id, first_played_at)`` and ``summary_artist (user_id,
  first_played_at)``: a period's discoveries are the user's rows first played in it
  (``models.stats.discoveries``), a range of this index instead of a scan of every track or
  artist the user ever played.

Only indexes: no table is rebuilt and no row changes.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index("summary_track", "user", "first_played_at", unique=False)
    migrator.add_index("summary_artist", "user", "first_played_at", unique=False)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("summary_artist", "user", "first_played_at")
    migrator.drop_index("summary_track", "user", "first_played_at")
