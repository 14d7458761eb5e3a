"""Peewee migrations -- 078_sync_gap_state.py: gaps an import fills; the export's query paths.

- ``sync_gap.filled_at``: when an imported export covered the gap's whole interval (NULL while
  it is open).  An import covering part of a gap moves its bounds instead
  (``models.ingest.gaps``).  Gaps recorded before stay open, as they are.  NULL-able, so SQLite
  adds it in place (no table rebuild).
- ``play_export_listening``, ``short_stream_export_listening``: partial covering indexes of the
  export-covered streams (``device IS NOT NULL``), the only rows ``models.stats.listening_context``
  reads: one user's range of them is read from the index alone, without touching the table or
  the plays the API stored (which say none of it).  PostgreSQL keeps the read columns as
  ``INCLUDE``; SQLite, which has no ``INCLUDE``, in the key.  Written as SQL: peewee's model
  indexes cannot say ``INCLUDE``, and the drift check compares only those.
"""

import peewee as pw
from peewee_migrate import Migrator

READ = ("track_id", "ms_played", "skipped", "shuffle", "offline", "reason_end", "device",
        "conn_country")
COVERED = ("play", "short_stream")


def _index_sql(table: str, sqlite: bool) -> str:
    columns = ", ".join(f'"{name}"' for name in READ)
    keys = f'"user_id", "played_at", {columns}' if sqlite else '"user_id", "played_at"'
    include = "" if sqlite else f" INCLUDE ({columns})"
    return (
        f'CREATE INDEX "{table}_export_listening" ON "{table}" ({keys}){include} '
        'WHERE "device" IS NOT NULL'
    )


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("sync_gap", filled_at=pw.DateTimeField(null=True))
    sqlite = isinstance(getattr(database, "obj", database), pw.SqliteDatabase)
    for table in COVERED:
        migrator.sql(_index_sql(table, sqlite))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table in COVERED:
        migrator.sql(f'DROP INDEX IF EXISTS "{table}_export_listening"')
    migrator.remove_fields("sync_gap", "filled_at")
