"""The history: the user's plays one by one, newest first, a page at a time.

The only statistic that reads plays rather than sums of them; its total still comes from the
summaries when they can answer the period, so paging a long history does not count the plays.
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN

from models.periods import Period
from models.schema.tables import Album, Play, Track
from models.stats.sources import (
    Page,
    check_page,
    clean,
    lookup,
    mine,
    plan_for,
    play_total,
    track_columns,
    user_total_plays,
    with_track_artists,
)


@lookup
def history(user_id: int, limit: int = 50, offset: int = 0, period: Period | None = None) -> Page:
    """The user's plays, newest first: ``{played_at (naive UTC), track_id, name, artists,
    album_id, album_name, image_url, ms_played, context_uri, source}``."""
    check_page(limit, offset)
    where = mine(user_id)
    if period is not None:
        if period.start is not None:
            where &= Play.played_at >= period.start
        where &= Play.played_at < period.end
    rows = [
        clean(row)
        for row in Play.select(
            Play.played_at,
            *track_columns(),
            Play.ms_played,
            Play.context_uri,
            Play.source,
        )
        .join(Track, on=(Track.id == Play.track))
        .join(Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album))
        .where(where)
        .order_by(Play.played_at.desc())
        .limit(limit)
        .offset(offset)
        .dicts()
    ]
    plan = plan_for(user_id, period or Period(None, dt.datetime.max, "UTC"), aggregate=False)
    if plan.empty:
        total = 0
    elif plan.all_time:
        total = user_total_plays(user_id)
    elif plan.summary_days:
        total = play_total(plan)
    else:
        total = Play.select().where(where).count()
    return Page(with_track_artists(rows), total, limit, offset)
