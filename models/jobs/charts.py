"""Building a listener's weekly charts from the plays already stored, as a queued job.

New plays keep the charts in step as they are stored (``models.summaries.charts``); the
listeners who had plays before the charts existed get one ``charts`` job each (migration 085
queues them), which ranks every week of theirs from the day summaries in a few set-based
statements.  Until it has run, ``models.stats.charts_building`` is true and the pages say the
charts are being built.
"""

from __future__ import annotations

from models.jobs import queue
from models.schema.db import db
from models.schema.tables import Job, User
from models.summaries import charts, listening

KIND = charts.BUILD_JOB_KIND


def queue_build(user_id: int) -> Job:
    """Queue the build of ``user_id``'s charts (a build still queued is reused)."""
    return queue.enqueue(KIND, user_id, priority=queue.BACKGROUND)


def build(user_id: int) -> None:
    """Rank every week of the user again, holding the user's summary lock (plays stored
    meanwhile wait, so their weeks are not ranked twice at once)."""
    with db.atomic():
        listening.lock_user(user_id)
        charts.rebuild(user_id)


def work_slice(work: queue.Slice) -> None:
    """One build, in one transaction (seconds even for a million plays)."""
    user_id = int(work.job.target)
    if User.select().where(User.id == user_id).exists():  # else deleted meanwhile
        build(user_id)
