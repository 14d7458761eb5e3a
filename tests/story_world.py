"""Helpers of the listening-story tests: the definitions rebuilt in Python from the raw plays."""

from __future__ import annotations

import datetime as dt

from models.schema.tables import Play
from models.summaries.sessions import SESSION_GAP

EPOCH = dt.datetime(1970, 1, 1)
MS = dt.timedelta(milliseconds=1)


def sessions_from_raw_plays(user_id: int) -> list[tuple]:
    """The sessions by the definition, in Python: (started_at, last_played_at, length_ms,
    plays, ms_played), oldest first."""
    found: list[list] = []
    previous_end = None
    for played_at, ms in (
        Play.select(Play.played_at, Play.ms_played)
        .where(Play.user == user_id)
        .order_by(Play.played_at)
        .tuples()
    ):
        start = (played_at - EPOCH) // MS
        if previous_end is None or start - previous_end >= SESSION_GAP // MS:
            found.append([played_at, played_at, start, start + ms, 0, 0])
        session = found[-1]
        session[1] = played_at
        session[3] = max(session[3], start + ms)
        session[4] += 1
        session[5] += ms
        previous_end = start + ms
    return [(first, last, end - start, n, ms) for first, last, start, end, n, ms in found]
