"""What the administrator sees: every account with its sync state, and the ETL runs.

The admin web page and the API's ``/users`` and ``/etl/runs`` both list these, so the queries
live here, once, aggregated in SQL (one grouped query per page, not one per row).
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN, fn

from models.tables import EtlLog, EtlRun, Play, User


@dataclass(frozen=True)
class Listing:
    """One page of rows and the number of rows on all pages."""

    items: list[dict]
    total: int


def users_overview(limit: int = 50, offset: int = 0) -> Listing:
    """Accounts, oldest first, with their play count and whether Spotify access needs renewal."""
    plays = (Play.select(Play.user.alias("user_id"), fn.COUNT(Play.id).alias("plays"))
             .group_by(Play.user).alias("counts"))
    query = (User.select(User, fn.COALESCE(plays.c.plays, 0).alias("plays"))
             .join(plays, JOIN.LEFT_OUTER, on=(plays.c.user_id == User.id))
             .order_by(User.id).limit(limit).offset(offset))
    items = [{
        "id": user.id,
        "spotify_id": user.spotify_id,
        "display_name": user.display_name,
        "email": user.email,
        "is_admin": user.is_admin,
        "timezone": user.timezone,
        "created_at": user.created_at,
        "last_played_at": user.last_played_at,
        "last_synced_at": user.last_synced_at,
        "needs_reauth": bool(user.needs_reauth),
        "reauth_reason": user.reauth_reason,
        "sync_deferred_until": user.sync_deferred_until,
        "plays": int(user.plays),
    } for user in query]
    return Listing(items, User.select().count())


def etl_runs(limit: int = 50, offset: int = 0) -> Listing:
    """ETL runs, newest first, each with how many of its steps ended in each status."""
    runs = list(EtlRun.select().order_by(EtlRun.hour.desc()).limit(limit).offset(offset))
    steps: dict[int, dict[str, int]] = {run.id: {} for run in runs}
    if runs:
        counted = (EtlLog.select(EtlLog.run, EtlLog.status, fn.COUNT(EtlLog.id).alias("n"))
                   .where(EtlLog.run.in_(list(steps)))
                   .group_by(EtlLog.run, EtlLog.status).tuples())
        for run_id, status, count in counted:
            steps[run_id][status] = int(count)
    items = [{
        "id": run.id,
        "hour": run.hour,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "status": run.status,
        "app_mode": run.app_mode,
        "summary": run.summary_data,
        "steps": steps[run.id],
    } for run in runs]
    return Listing(items, EtlRun.select().count())
