"""Peewee migrations -- 078_sync_gap_state.py: a possible gap is open until an import fills it.

``sync_gap.filled_at``: when an imported export covered the gap's whole interval (NULL while it
is open).  An import covering part of a gap moves its bounds instead (``models.ingest.gaps``).
Gaps recorded before stay open, as they are.  On SQLite the column is added in place (a
NULL-able column needs no table rebuild).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("sync_gap", filled_at=pw.DateTimeField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("sync_gap", "filled_at")
