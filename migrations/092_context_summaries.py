"""Peewee migrations -- 092_context_summaries.py: the export's summaries of skips and how you
listen (issue 16's statistics at the speed of the others).

- ``summary_context_month``: per user, local month and (device family, country, reason_end)
  the export-covered streams, their short streams, time and flag counts;
- ``summary_skip_month`` / ``summary_skip``: per user and track, covered streams and short
  streams, per local month and all time (``models.summaries.listening_context``);
- ``context_backlog``: the listeners whose covered streams were stored before these were
  kept.  Each gets a queued ``listening_context`` job here (as
  ``models.jobs.listening_context.queue_build`` queues one), which a worker runs with one
  set-based rebuild; until then their statistics read the raw streams, as before.

On SQLite the three summaries are WITHOUT ROWID tables, like the others (migration 010).
"""

import datetime as dt

import peewee as pw
from peewee_migrate import Migrator

BACKGROUND = 100  # models.jobs.queue.BACKGROUND when this migration was written
KIND = "listening_context"  # models.jobs.listening_context.KIND
NEW_SUMMARIES = ("summary_context_month", "summary_skip_month", "summary_skip")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Create the tables, then list and queue every listener with export-covered streams."""

    def user_field():
        return pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            index=False,
        )

    @migrator.create_model
    class ContextMonth(pw.Model):
        user = user_field()
        month = pw.DateField()
        device = pw.CharField(max_length=16)
        country = pw.CharField(max_length=2)
        reason_end = pw.CharField(max_length=32)
        streams = pw.IntegerField()
        short_streams = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        skipped_true = pw.IntegerField()
        skipped_told = pw.IntegerField()
        shuffle_true = pw.IntegerField()
        shuffle_told = pw.IntegerField()
        offline_true = pw.IntegerField()
        offline_told = pw.IntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()

        class Meta:
            table_name = "summary_context_month"
            primary_key = pw.CompositeKey("user", "month", "device", "country", "reason_end")

    @migrator.create_model
    class SkipMonth(pw.Model):
        user = user_field()
        track = pw.CharField(column_name="track_id", max_length=64)
        streams = pw.IntegerField()
        short_streams = pw.IntegerField()
        month = pw.DateField()

        class Meta:
            table_name = "summary_skip_month"
            primary_key = pw.CompositeKey("user", "month", "track")

    @migrator.create_model
    class SkipTotal(pw.Model):
        user = user_field()
        track = pw.CharField(column_name="track_id", max_length=64)
        streams = pw.IntegerField()
        short_streams = pw.IntegerField()

        class Meta:
            table_name = "summary_skip"
            primary_key = pw.CompositeKey("user", "track")

    @migrator.create_model
    class ContextBacklog(pw.Model):
        user = pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            primary_key=True,
        )
        queued_at = pw.DateTimeField()

        class Meta:
            table_name = "context_backlog"

    migrator.run(_without_rowid_on_sqlite, migrator, database)
    migrator.run(_queue_listeners_with_covered_streams, database)


def _without_rowid_on_sqlite(migrator: Migrator, database: pw.Database):
    """The new summaries are empty here: created again WITHOUT ROWID (the key is the table)."""
    engine = getattr(database, "obj", database)
    if not isinstance(engine, pw.SqliteDatabase):
        return
    for name in NEW_SUMMARIES:
        model = migrator.orm[name]
        model._meta.without_rowid = True
        try:
            with model.bind_ctx(engine):
                model.drop_table()
                model.create_table()
        finally:
            model._meta.without_rowid = False


def _queue_listeners_with_covered_streams(database: pw.Database):
    """A backlog row and a queued job for every user with a play or short stream whose export
    entry named a device."""
    engine = getattr(database, "obj", database)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, like every timestamp
    param = engine.param
    covered = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} s WHERE s.user_id = u.id AND s.device IS NOT NULL)"
        for table in ("play", "short_stream")
    )
    engine.execute_sql(
        f"INSERT INTO context_backlog (user_id, queued_at) SELECT id, {param} "
        f'FROM "user" u WHERE {covered} ORDER BY id',
        (now,),
    )
    engine.execute_sql(
        "INSERT INTO job (kind, target, payload, priority, state, run_after, attempts, "
        f"created_at) SELECT '{KIND}', CAST(user_id AS VARCHAR(128)), '{{}}', {BACKGROUND}, "
        f"'queued', {param}, 0, {param} FROM context_backlog ORDER BY user_id",
        (now, now),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Drop the tables and the queued builds."""
    migrator.sql(f"DELETE FROM job WHERE kind = '{KIND}'")
    for name in ("context_backlog", *NEW_SUMMARIES):
        migrator.remove_model(name)
