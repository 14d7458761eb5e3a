"""Peewee migrations -- 065_musicbrainz_pacing.py: the machine-wide pace of remote services.

- ``rate_limit``: one row per remote service whose rate limit counts per source address
  (MusicBrainz: one request per second), holding when the next request may start, so every
  process of the machine takes turns (``models.schema.pacing``). A new table: nothing to fill.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class RateLimit(pw.Model):
        service = pw.CharField(max_length=40, primary_key=True)
        next_at = pw.DoubleField(default=0.0)

        class Meta:
            table_name = "rate_limit"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("rate_limit")
