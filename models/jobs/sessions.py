"""Building the sessions of plays stored before sessions were kept, as a queued job.

Migration 080 puts every listener with plays on the backlog (``SessionBacklog``) and queues one
``sessions`` job each; :func:`work_slice` runs ``rebuild_sessions``, one set-based statement
over the user's plays (well under a minute for a million plays on PostgreSQL), which also takes
the user off the backlog.  New plays meanwhile wait for it: ``store_plays`` skips the sessions
of a user on the backlog, and the rebuild, under the same lock, sees them.
"""

from __future__ import annotations

from models.jobs import queue
from models.schema.tables import Job, SessionBacklog, User
from models.summaries.sessions import rebuild_sessions

KIND = "sessions"


def queue_build(user_id: int) -> Job:
    """Put the user on the backlog and queue the build of their sessions."""
    SessionBacklog.insert(user=user_id).on_conflict_ignore().execute()
    return queue.enqueue(KIND, user_id, priority=queue.BACKGROUND)


def work_slice(work: queue.Slice) -> None:
    """One build, in one transaction."""
    user_id = int(work.job.target)
    if User.select().where(User.id == user_id).exists():  # else deleted meanwhile: nothing to do
        rebuild_sessions(user_id)
