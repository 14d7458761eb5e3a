"""Peewee migrations -- 045_etl_log_rate_limited.py: 429 answers per endpoint in the run log.

``etl_log.rate_limited`` holds, like ``api_calls``, a JSON object of endpoint name to count: how
many of that step's calls Spotify answered with 429.  Rows written before it read as ``{}``.
``/metrics`` reports the last run's figures from it (``models.operations``).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("etl_log", rate_limited=pw.TextField(default="{}"))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("etl_log", "rate_limited")
