"""The time-zone rebuild as a queued job, for a worker to run instead of the account page.

``models.accounts.users.set_timezone`` re-buckets a user's summaries into a new zone (seconds
for a million plays).  :func:`queue_rebuild` queues that with the listener-waiting priority;
the worker's :func:`work_slice` runs it.  The account page still calls ``set_timezone``
itself for now: moving it off the request is its own change.
"""

from __future__ import annotations

from models.accounts.users import set_timezone
from models.jobs import queue
from models.periods import zone
from models.schema.tables import Job, User

KIND = "timezone"


def queue_rebuild(user_id: int, timezone: str) -> Job:
    """Queue the rebuild of ``user_id``'s summaries into ``timezone`` (checked here first:
    ``models.periods.PeriodError`` for an unknown zone, nothing queued).  A rebuild of theirs
    still queued takes the newer zone instead of running twice."""
    zone(timezone)
    return queue.enqueue(
        KIND, user_id, payload={"timezone": timezone}, priority=queue.LISTENER_WAITING
    )


def work_slice(work: queue.Slice) -> None:
    """One rebuild, in one transaction (it is short; nothing to yield between)."""
    user = User.get_or_none(User.id == int(work.job.target))
    if user is not None:  # the account was deleted meanwhile: nothing left to rebuild
        set_timezone(user, work.payload["timezone"])
