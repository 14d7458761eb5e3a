"""The dashboard's composition: a period's totals, the previous period's, and four top lists
with their movement, in one pass per list and period.

The totals are not counted apart: each top list's statement also sums its whole list
(``top.Ranked``), and the tracks' list holds the plays, the listening time and the distinct
tracks, the artists' and albums' lists the distinct artists and albums, exactly what
``counts.totals`` counts from the same per-track, per-artist and per-album rows (the tests
check the two agree).  A 12-month dashboard thus groups each year of summaries four times, not
seven.
"""

from __future__ import annotations

from models.periods import Period
from models.stats.charts import ranked_with_movement
from models.stats.top import TOP_KINDS, Ranked


def totals_of(tracks: Ranked, artists: Ranked, albums: Ranked) -> dict:
    """``counts.totals``'s dict, from the sums of a period's three top lists."""
    return {
        "plays": tracks.plays,
        "ms_played": tracks.ms_played,
        "unique_tracks": tracks.count,
        "unique_artists": artists.count,
        "unique_albums": albums.count,
    }


def overview(user_id: int, period: Period, limit: int = 10) -> dict:
    """``{"totals", "previous" (the previous period's totals; None for all time), "top":
    {kind: the top list's rows with movement}}`` for tracks, artists, albums and genres."""
    lists = {kind: ranked_with_movement(user_id, period, kind, limit) for kind in TOP_KINDS}
    tracks, artists, albums = (lists[kind] for kind in ("tracks", "artists", "albums"))
    previous = None
    if tracks[1] is not None and artists[1] is not None and albums[1] is not None:
        previous = totals_of(tracks[1], artists[1], albums[1])
    return {
        "totals": totals_of(tracks[0], artists[0], albums[0]),
        "previous": previous,
        "top": {kind: found.rows for kind, (found, _) in lists.items()},
    }
