"""Totals of a period: plays, listening time and how many distinct tracks, artists and albums.

One SELECT: the distinct artists and albums are counted in subqueries of the select that sums
the per-track rows, so the dashboard's five numbers cost one round trip, not three.
"""

from __future__ import annotations

from peewee import fn

from models.periods import Period
from models.stats.sources import (
    as_int,
    count_rows,
    per_entity,
    per_track,
    plan_for,
    select_from,
    statistic,
)


@statistic
def totals(user_id: int, period: Period) -> dict:
    """``{"plays", "ms_played", "unique_tracks", "unique_artists", "unique_albums"}``."""
    plan = plan_for(user_id, period)
    result = {
        "plays": 0,
        "ms_played": 0,
        "unique_tracks": 0,
        "unique_artists": 0,
        "unique_albums": 0,
    }
    if plan.empty:
        return result
    pt = per_track(plan)
    row = (
        select_from(
            [pt],
            [
                fn.COUNT(pt.c.track_id),
                fn.SUM(pt.c.plays),
                fn.SUM(pt.c.ms_played),
                count_rows(per_entity(plan, "artist")),
                count_rows(per_entity(plan, "album")),
            ],
        )
        .tuples()
        .get()
    )
    for key, value in zip(
        ("unique_tracks", "plays", "ms_played", "unique_artists", "unique_albums"), row, strict=True
    ):
        result[key] = as_int(value)
    return result
