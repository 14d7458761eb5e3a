"""Peewee migrations -- 080_listening_story.py: listening sessions (issue 17, part 1).

- ``listening_session``: one row per session of a user (``models.summaries.sessions``), kept in
  step with the plays by ``store_plays`` from now on.
- ``session_backlog``: the listeners whose plays were stored before sessions were kept.  Each
  gets a queued ``sessions`` job here (as ``models.jobs.sessions.queue_build`` queues one), which
  a worker runs with one set-based rebuild; until then the pages say the sessions are being
  built.  First plays need nothing: the all-time summaries carry them already.
"""

import datetime as dt

import peewee as pw
from peewee_migrate import Migrator

BACKGROUND = 100  # models.jobs.queue.BACKGROUND when this migration was written
KIND = "sessions"  # models.jobs.sessions.KIND


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Create the tables, then list and queue every listener with plays."""

    @migrator.create_model
    class ListeningSession(pw.Model):
        user = pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            index=False,
        )
        started_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        length_ms = pw.BigIntegerField()
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()

        class Meta:
            table_name = "listening_session"
            primary_key = pw.CompositeKey("user", "started_at")
            indexes = [(("user", "length_ms"), False)]

    @migrator.create_model
    class SessionBacklog(pw.Model):
        user = pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            primary_key=True,
        )
        queued_at = pw.DateTimeField()

        class Meta:
            table_name = "session_backlog"

    migrator.run(_queue_listeners_with_plays, database)


def _queue_listeners_with_plays(database: pw.Database):
    """A backlog row and a queued ``sessions`` job for every user who has plays."""
    engine = getattr(database, "obj", database)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, like every timestamp
    param = engine.param
    with_plays = 'SELECT id FROM "user" u WHERE EXISTS (SELECT 1 FROM play p WHERE p.user_id = u.id)'
    engine.execute_sql(
        f"INSERT INTO session_backlog (user_id, queued_at) SELECT id, {param} "
        f"FROM ({with_plays}) listeners ORDER BY id",
        (now,),
    )
    engine.execute_sql(
        "INSERT INTO job (kind, target, payload, priority, state, run_after, attempts, "
        f"created_at) SELECT '{KIND}', CAST(user_id AS VARCHAR(128)), '{{}}', {BACKGROUND}, "
        f"'queued', {param}, 0, {param} FROM session_backlog ORDER BY user_id",
        (now, now),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Drop the tables and the queued builds."""
    migrator.sql(f"DELETE FROM job WHERE kind = '{KIND}'")
    migrator.remove_model("session_backlog")
    migrator.remove_model("listening_session")
