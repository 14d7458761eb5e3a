"""Changing what a listener keeps out of their statistics, and the rebuild that follows.

Adding or lifting an exclusion writes the ``Exclusion`` row and queues an ``exclusions`` job
(listener-waiting priority) that rebuilds the user's summaries and charts from the raw plays
with the new list (``models.summaries.listening.rebuild``, which leaves excluded plays out).
Until it has run, :func:`recomputing` is true and the pages say the statistics are being
recomputed.  The plays themselves are never touched: lifting an exclusion brings them back.
"""

from __future__ import annotations

from models.jobs import queue
from models.schema.db import db
from models.schema.tables import EXCLUSION_KINDS, Artist, Exclusion, Job, Track, User
from models.summaries import listening, sessions

KIND = "exclusions"


class ExclusionError(ValueError):
    """A kind or item that cannot be excluded; the message says why."""


def _check(kind: str, item_id: str) -> None:
    if kind not in EXCLUSION_KINDS:
        raise ExclusionError(f"kind must be one of {', '.join(EXCLUSION_KINDS)}, got {kind!r}")
    model = Artist if kind == "artist" else Track
    if not isinstance(item_id, str) or not model.select().where(model.id == item_id).exists():
        raise ExclusionError(f"no {kind} with id {item_id!r}")


def exclude(user_id: int, kind: str, item_id: str) -> Job:
    """Keep an artist's or a track's plays out of the user's statistics (queues the rebuild;
    excluding twice is harmless)."""
    _check(kind, item_id)
    with db.atomic():
        Exclusion.insert(user=user_id, kind=kind, item=item_id).on_conflict_ignore().execute()
        return _queue(user_id)


def include(user_id: int, kind: str, item_id: str) -> Job | None:
    """Lift an exclusion: its plays count again once the rebuild has run (None: there was
    no such exclusion, nothing to do)."""
    with db.atomic():
        removed = (
            Exclusion.delete()
            .where(
                (Exclusion.user == user_id) & (Exclusion.kind == kind) & (Exclusion.item == item_id)
            )
            .execute()
        )
        return _queue(user_id) if removed else None


def _queue(user_id: int) -> Job:
    return queue.enqueue(KIND, user_id, priority=queue.LISTENER_WAITING)


def recomputing(user_id: int) -> bool:
    """Whether the user's statistics are still being recomputed after an exclusion changed."""
    return queue.active(KIND, user_id) is not None


def exclusions_of(user_id: int) -> list[dict]:
    """The user's exclusions with their names: ``[{kind, id, name, created_at}]``, artists
    first, then by name."""
    rows = []
    for kind, model in (("artist", Artist), ("track", Track)):
        query = (
            Exclusion.select(Exclusion.item, model.name, Exclusion.created_at)
            .join(model, on=(model.id == Exclusion.item))
            .where((Exclusion.user == user_id) & (Exclusion.kind == kind))
            .order_by(model.name, Exclusion.item)
        )
        for item_id, name, created_at in query.tuples():
            rows.append({"kind": kind, "id": item_id, "name": name, "created_at": created_at})
    return rows


def work_slice(work: queue.Slice) -> None:
    """One rebuild of the user's summaries and charts, in one transaction."""
    user_id = int(work.job.target)
    if User.select().where(User.id == user_id).exists():  # else deleted meanwhile
        with db.atomic():
            listening.lock_user(user_id)  # plays stored meanwhile wait for the rebuild
            listening.rebuild(user_id)
            sessions.rebuild_sessions(user_id)  # sessions leave excluded plays out too
