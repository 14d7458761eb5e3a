"""Building the export's summaries of streams stored before they were kept, as a queued job.

Migration 092 puts every listener with export-covered streams on the backlog
(``ContextBacklog``) and queues one ``listening_context`` job each; :func:`work_slice` runs
``models.summaries.listening_context.rebuild`` (three set-based statements over the user's
streams) under the lock storing plays takes, which also takes the user off the backlog.
Meanwhile the statistics of skips and how you listen read the raw streams, and new streams
leave the summaries to the build, which sees them.
"""

from __future__ import annotations

from models.jobs import queue
from models.schema.db import write_transaction
from models.schema.tables import ContextBacklog, Job, User
from models.summaries import listening, listening_context

KIND = "listening_context"


def queue_build(user_id: int) -> Job:
    """Put the user on the backlog and queue the build of their export summaries."""
    ContextBacklog.insert(user=user_id).on_conflict_ignore().execute()
    return queue.enqueue(KIND, user_id, priority=queue.BACKGROUND)


def work_slice(work: queue.Slice) -> None:
    """One build, in one transaction, in the zone the user's summaries are bucketed in."""
    user_id = int(work.job.target)
    if not User.select().where(User.id == user_id).exists():  # deleted meanwhile
        return
    with write_transaction():
        timezone = listening.lock_user(user_id)
        listening_context.rebuild(user_id, timezone)
