"""Changing a listener's time zone: the choice at once, the re-bucketing in the worker.

A user's day, month and hour summaries are bucketed in one zone (``ListeningSummary.timezone``);
re-bucketing a million plays takes seconds, too long for a web request.  So
:func:`change_timezone` records the new ``User.timezone`` and queues the rebuild, in one short
transaction, and the worker's :func:`work_slice` re-buckets.  Meanwhile nothing is wrong, only
slower: the statistics of the new zone read the raw plays (``models.stats.sources.plan_for``
uses the summaries only when their zone is the period's), new plays keep going into the
old buckets (``models.summaries.listening.lock_user``) and the rebuild re-buckets all of them;
pages say "recomputing" (:func:`recomputing`).  :func:`queue_stale` queues the rebuild of a
user whose zone changed by any other way (an admin's SQL), so summaries never lag for good.
"""

from __future__ import annotations

from models.jobs import queue
from models.periods import zone
from models.schema.db import write_transaction
from models.schema.tables import Job, ListeningSummary, User
from models.summaries import listening

KIND = "timezone"


def queue_rebuild(user_id: int, timezone: str) -> Job:
    """Queue the rebuild of ``user_id``'s summaries into ``timezone`` (checked here first:
    ``models.periods.PeriodError`` for an unknown zone, nothing queued).  A rebuild of theirs
    still queued takes the newer zone instead of running twice."""
    zone(timezone)
    return queue.enqueue(
        KIND, user_id, payload={"timezone": timezone}, priority=queue.LISTENER_WAITING
    )


def change_timezone(user: User, timezone: str) -> Job:
    """The listener chose ``timezone``: store it and queue the rebuild, in one transaction
    (a few milliseconds: what the account page calls).  ``models.periods.PeriodError`` for an
    unknown zone, nothing changed."""
    zone(timezone)
    with write_transaction():
        User.update(timezone=timezone).where(User.id == user.id).execute()
        job = queue_rebuild(user.id, timezone)
    user.timezone = timezone
    return job


def recomputing(user_id: int) -> bool:
    """Whether the user's summaries are still in another zone than theirs (a rebuild queued or
    running): pages are right but read raw plays, and say so.  One primary-key join."""
    return (
        User.select(User.id)
        .join(ListeningSummary, on=(ListeningSummary.user == User.id))
        .where((User.id == user_id) & (ListeningSummary.timezone != User.timezone))
        .exists()
    )


def queue_stale() -> int:
    """Queue a rebuild for every user whose summaries are in another zone than theirs and who
    has none queued or running (the worker calls this when idle); returns how many."""
    active = Job.select(Job.target).where((Job.kind == KIND) & Job.state.in_(queue.ACTIVE_STATES))
    stale = (
        User.select(User.id, User.timezone)
        .join(ListeningSummary, on=(ListeningSummary.user == User.id))
        .where((ListeningSummary.timezone != User.timezone) & User.id.cast("text").not_in(active))
        .tuples()
    )
    found = list(stale)
    for user_id, timezone in found:
        queue_rebuild(user_id, timezone)
    return len(found)


def work_slice(work: queue.Slice) -> None:
    """One rebuild into the zone the user has now (a newer choice than the job's wins), in one
    transaction under the lock ``store_plays`` takes too: a play stored meanwhile waits and is
    then bucketed in the new zone."""
    timezone = User.select(User.timezone).where(User.id == int(work.job.target)).scalar()
    if timezone is None:  # the account was deleted meanwhile: nothing left to rebuild
        return
    if listening.summary_timezone(int(work.job.target)) != timezone:
        listening.rebuild(int(work.job.target), timezone, local_only=True)
