"""Peewee migrations -- 085_charts_exclusions.py: weekly charts and exclusions (issue 17, part 2).

- ``chart_week``: each listener's weekly charts (top 20 tracks, artists, albums of every local
  week), kept in step with the day summaries by ``models.summaries.charts``.
- ``exclusion``: the artists and tracks a listener keeps out of their statistics.

The charts of the plays already stored are built by the worker, not here: one ``charts`` job
per listener with plays, queued here exactly as ``models.jobs.charts.queue_build`` queues one,
so an upgrade builds them with the first worker (the pages say so until it is done).
"""

import datetime as dt

import peewee as pw
from peewee_migrate import Migrator

BACKGROUND = 100  # models.jobs.queue.BACKGROUND when this migration was written


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Create both tables, then queue the charts of every listener with plays."""

    @migrator.create_model
    class ChartWeek(pw.Model):
        user = pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            index=False,
        )
        kind = pw.CharField(max_length=8)
        week = pw.DateField()
        item = pw.CharField(column_name="item_id", max_length=64)
        position = pw.SmallIntegerField()
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()

        class Meta:
            table_name = "chart_week"
            primary_key = pw.CompositeKey("user", "kind", "week", "item")
            indexes = [(("user", "kind", "item", "week"), False)]

    @migrator.create_model
    class Exclusion(pw.Model):
        user = pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            index=False,
        )
        kind = pw.CharField(max_length=8)
        item = pw.CharField(column_name="item_id", max_length=64)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "exclusion"
            primary_key = pw.CompositeKey("user", "kind", "item")

    migrator.run(_queue_chart_builds, database)


def _queue_chart_builds(database: pw.Database):
    """One queued ``charts`` job per listener whose summaries count plays."""
    engine = getattr(database, "obj", database)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, like every timestamp
    param = engine.param
    engine.execute_sql(
        "INSERT INTO job (kind, target, payload, priority, state, run_after, attempts, "
        f"created_at) SELECT 'charts', CAST(user_id AS VARCHAR(128)), '{{}}', {BACKGROUND}, "
        f"'queued', {param}, 0, {param} FROM listening_summary WHERE plays > 0 ORDER BY user_id",
        (now, now),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("exclusion")
    migrator.remove_model("chart_week")
