"""What the admin page shows: every listener's sync state and the latest ETL runs.

Kept in the core so that a future API endpoint or a command-line report reads the same figures.
"""

from __future__ import annotations

from peewee import JOIN, fn

from models.schema.tables import EtlLog, EtlRun, Play, User


def users_overview(limit: int | None = None, offset: int = 0) -> list[dict]:
    """Listeners (not the admin) with their play count and sync state, newest first."""
    plays = (
        Play.select(Play.user, fn.COUNT(Play.id).alias("plays"))
        .group_by(Play.user)
        .alias("play_counts")
    )
    query = (
        User.select(
            User.id,
            User.spotify_id,
            User.display_name,
            User.created_at,
            User.last_synced_at,
            User.last_played_at,
            User.needs_reauth,
            User.reauth_reason,
            User.sync_deferred_until,
            fn.COALESCE(plays.c.plays, 0).alias("plays"),
        )
        .join(plays, JOIN.LEFT_OUTER, on=(plays.c.user_id == User.id))
        .where(User.is_admin == False)  # noqa: E712 (peewee expression)
        .order_by(User.created_at.desc(), User.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(query.dicts())


def listener_count() -> int:
    """How many rows ``users_overview`` has on all pages (for the API's ``total``)."""
    return User.select().where(User.is_admin == False).count()  # noqa: E712


def latest_runs(limit: int = 10, offset: int = 0) -> list[dict]:
    """The most recent ETL runs with their detected app mode and per-status step counts."""
    runs = list(EtlRun.select().order_by(EtlRun.hour.desc()).limit(limit).offset(offset))
    counts: dict[int, dict[str, int]] = {run.id: {} for run in runs}
    if runs:
        query = (
            EtlLog.select(EtlLog.run, EtlLog.status, fn.COUNT(EtlLog.id))
            .where(EtlLog.run.in_([run.id for run in runs]))
            .group_by(EtlLog.run, EtlLog.status)
            .tuples()
        )
        for run_id, status, count in query:
            counts[run_id][status] = count
    return [
        {
            "id": run.id,
            "hour": run.hour,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "status": run.status,
            "app_mode": run.app_mode or "unknown",
            "summary": run.summary_data,
            "steps": counts[run.id],
        }
        for run in runs
    ]


def run_count() -> int:
    """How many ETL runs are recorded (for the API's ``total``)."""
    return EtlRun.select().count()
