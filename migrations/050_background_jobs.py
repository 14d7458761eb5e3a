"""Peewee migrations -- 050_background_jobs.py: the job queue the worker processes share.

Adds ``job`` (``models.jobs.queue``): background work (history imports, time-zone rebuilds)
that ``python -m batch.worker`` claims from the database instead of threads inside the web
process.  Imports that were unfinished when this migration ran are queued here exactly as
``models.imports.history_import.queue_job`` queues a new one (a listener waits for them), so an
upgrade picks them up with the first worker.
"""

import datetime as dt
from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

LISTENER_WAITING = 10  # models.jobs.queue.LISTENER_WAITING when this migration was written


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Create the queue, then queue the unfinished imports."""

    @migrator.create_model
    class Job(pw.Model):
        id = pw.AutoField()
        kind = pw.CharField(max_length=32)
        target = pw.CharField(max_length=128)
        payload = pw.TextField(default='{}')
        priority = pw.SmallIntegerField(default=100)
        state = pw.CharField(default='queued', max_length=16)
        run_after = pw.DateTimeField()
        claimed_by = pw.CharField(max_length=128, null=True)
        heartbeat_at = pw.DateTimeField(null=True)
        attempts = pw.IntegerField(default=0)
        last_error = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        finished_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "job"
            indexes = [(('state', 'priority', 'run_after'), False), (('kind', 'target'), False)]

    migrator.run(_queue_unfinished_imports, database)


def _queue_unfinished_imports(database: pw.Database):
    """One queued ``import`` row per unfinished import: not before its Retry-After, if any."""
    engine = getattr(database, "obj", database)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, like every timestamp
    param = engine.param
    engine.execute_sql(
        "INSERT INTO job (kind, target, payload, priority, state, run_after, attempts, "
        f"created_at) SELECT 'import', CAST(id AS VARCHAR(128)), '{{}}', {LISTENER_WAITING}, "
        f"'queued', COALESCE(resume_at, {param}), 0, {param} FROM import_job "
        "WHERE status IN ('pending', 'running', 'waiting') ORDER BY id",
        (now, now),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Drop the queue (unfinished imports stay resumable by ``ResumeImports``)."""

    migrator.remove_model('job')
