"""Rank history: a week's charts, an item's positions over time, and top-list movement.

The weekly charts are stored (``models.summaries.charts``: top 20 tracks, artists and albums of
each local week, Monday first, ranked by plays, then time, then name), so a week's chart is one
primary-key range and an item's ten years of positions one index range.  Movement on the
dashboard's top lists compares each row's rank with its rank in the previous period of the
same length.
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN

from models.periods import Period
from models.schema.db import utcnow
from models.schema.tables import CHART_SIZE, Album, Artist, ChartWeek, Job, Track
from models.stats import top as top_lists
from models.stats.sources import (
    MAX_LIMIT,
    as_date,
    as_int,
    lookup,
    with_album_artists,
    with_track_artists,
)
from models.summaries.charts import BUILD_JOB_KIND, week_of

CHART_KINDS = {"tracks": "track", "artists": "artist", "albums": "album"}
_CATALOGUE = {
    "track": (Track, "track_id"),
    "artist": (Artist, "artist_id"),
    "album": (Album, "album_id"),
}
MOVEMENTS = ("new", "up", "down", "same")


def movement(rank: int, previous_rank: int | None) -> str:
    """``new`` (not ranked before), ``up``, ``down`` or ``same``."""
    if previous_rank is None:
        return "new"
    if rank < previous_rank:
        return "up"
    return "down" if rank > previous_rank else "same"


def with_movement(
    rows: list[dict], previous_rows: list[dict], key: str, first_rank: int = 1
) -> list[dict]:
    """Each row of a ranked list gets ``rank`` (its place, from ``first_rank``), ``previous_rank``
    (its place in
    ``previous_rows``, the same list for the previous period, or None: not in it) and
    ``movement``."""
    before = {row[key]: rank for rank, row in enumerate(previous_rows, start=1)}
    for rank, row in enumerate(rows, start=first_rank):
        row["rank"] = rank
        row["previous_rank"] = before.get(row[key])
        row["movement"] = movement(rank, row["previous_rank"])
    return rows


TOP_KEYS = {"tracks": "track_id", "artists": "artist_id", "albums": "album_id", "genres": "genre"}


def ranked_with_movement(
    user_id: int, period: Period, kind: str, limit: int = 10, offset: int = 0
) -> tuple[top_lists.Ranked, top_lists.Ranked | None]:
    """A page of the top list of ``kind`` (tracks, artists, albums, genres) for the period,
    each row with ``rank``, ``previous_rank`` and ``movement`` against the previous period of
    the same length (``Period.previous``), whose list is read down to this page's last rank;
    and that previous list (None when there is none), whose sums are the previous period's.
    An all-time list has nothing before it, and ranks past ``MAX_LIMIT`` are not compared:
    those rows carry no movement."""
    found = top_lists.ranked(user_id, period, kind, limit=limit, offset=offset)
    if period.start is None or offset + limit > MAX_LIMIT:
        return found, None
    previous = top_lists.ranked(user_id, period.previous(), kind, limit=offset + limit)
    with_movement(found.rows, previous.rows, TOP_KEYS[kind], first_rank=offset + 1)
    return found, previous


def top_with_movement(
    user_id: int, period: Period, kind: str, limit: int = 10, offset: int = 0
) -> list[dict]:
    """The rows of :func:`ranked_with_movement`."""
    return ranked_with_movement(user_id, period, kind, limit, offset)[0].rows


def _neighbour_week(user_id: int, week: dt.date, later: bool) -> dt.date | None:
    """The nearest week before (or after) ``week`` that has a chart."""
    query = ChartWeek.select(ChartWeek.week).where(
        (ChartWeek.user == user_id)
        & (ChartWeek.kind == "track")
        & ((ChartWeek.week > week) if later else (ChartWeek.week < week))
    )
    found = query.order_by(ChartWeek.week if later else ChartWeek.week.desc()).limit(1).scalar()
    return None if found is None else as_date(found)


def parse_week(text: str) -> dt.date:
    """A ``week`` parameter (any day of it, ``YYYY-MM-DD``) as that week's Monday; ValueError,
    with the words to show, for anything else or a day outside 1970-9998 (the shells answer
    400)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("week must be a date, YYYY-MM-DD") from None
    if not 1970 <= day.year <= 9998:
        raise ValueError("week must be a day between 1970 and 9998")
    return week_of(day)


def charts_building(user_id: int) -> bool:
    """Whether the user's charts are still being built for plays stored before they existed
    (their ``charts`` job is queued or running, ``models.jobs.charts``)."""
    return (
        Job.select()
        .where(
            (Job.kind == BUILD_JOB_KIND)
            & (Job.target == str(user_id))
            & Job.state.in_(("queued", "running"))
        )
        .exists()
    )


def latest_week(user_id: int) -> dt.date | None:
    found = (
        ChartWeek.select(ChartWeek.week)
        .where((ChartWeek.user == user_id) & (ChartWeek.kind == "track"))
        .order_by(ChartWeek.week.desc())
        .limit(1)
        .scalar()
    )
    return None if found is None else as_date(found)


def _chart(user_id: int, kind: str, week: dt.date) -> list[dict]:
    model, key = _CATALOGUE[kind]
    image = Album.image_url if kind != "artist" else Artist.image_url
    query = (
        ChartWeek.select(
            ChartWeek.position,
            ChartWeek.item,
            model.name,
            image,
            ChartWeek.plays,
            ChartWeek.ms_played,
        )
        .join(model, on=(model.id == ChartWeek.item))
        .where((ChartWeek.user == user_id) & (ChartWeek.kind == kind) & (ChartWeek.week == week))
        .order_by(ChartWeek.position)
    )
    if kind == "track":  # a track's picture is its album's
        query = query.join(Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album))
    rows = [
        {
            "position": position,
            key: item,
            "name": name,
            "image_url": image_url,
            "plays": as_int(plays),
            "ms_played": as_int(ms_played),
        }
        for position, item, name, image_url, plays, ms_played in query.tuples()
    ]
    before = dict(
        ChartWeek.select(ChartWeek.item, ChartWeek.position)
        .where(
            (ChartWeek.user == user_id)
            & (ChartWeek.kind == kind)
            & (ChartWeek.week == week - dt.timedelta(days=7))
            & ChartWeek.item.in_([row[key] for row in rows])
        )
        .tuples()
    )
    for row in rows:
        row["previous_position"] = before.get(row[key])
        row["movement"] = movement(row["position"], row["previous_position"])
    if kind == "track":
        with_track_artists(rows)
    elif kind == "album":
        with_album_artists(rows)
    return rows


@lookup
def weekly_chart(user_id: int, week: dt.date | None = None, tz: str | None = None) -> dict:
    """The charts of the local week holding ``week`` (default: the latest week charted).

    ``{week (its Monday), previous_week, next_week (the nearest charted weeks, or None),
    tracks, artists, albums: [{position, <kind>_id, name, image_url, plays, ms_played,
    previous_position (last week's, or None), movement (new/up/down/same)[, artists]}],
    building (:func:`charts_building`)}``,
    at most ``CHART_SIZE`` rows each.  ``tz`` is unused: weeks are those of the summaries.
    """
    if week is None:
        week = latest_week(user_id) or week_of(utcnow().date())
    week = week_of(week)
    return {
        "week": week,
        "previous_week": _neighbour_week(user_id, week, later=False),
        "next_week": _neighbour_week(user_id, week, later=True),
        "size": CHART_SIZE,
        "building": charts_building(user_id),
        **{name: _chart(user_id, kind, week) for name, kind in CHART_KINDS.items()},
    }


def chart_history(user_id: int, kind: str, item_id: str) -> dict:
    """One track's, artist's or album's weekly chart positions, oldest first:
    ``{weeks: [{week, position, plays}], weeks_in_chart, weeks_at_1, peak (best position, or
    None), peak_weeks (weeks at the peak)}``."""
    weeks = [
        {"week": as_date(week), "position": position, "plays": as_int(plays)}
        for week, position, plays in ChartWeek.select(
            ChartWeek.week, ChartWeek.position, ChartWeek.plays
        )
        .where((ChartWeek.user == user_id) & (ChartWeek.kind == kind) & (ChartWeek.item == item_id))
        .order_by(ChartWeek.week)
        .tuples()
    ]
    peak = min((row["position"] for row in weeks), default=None)
    return {
        "weeks": weeks,
        "weeks_in_chart": len(weeks),
        "weeks_at_1": sum(1 for row in weeks if row["position"] == 1),
        "peak": peak,
        "peak_weeks": sum(1 for row in weeks if row["position"] == peak),
    }
