"""Listening sessions over a period: how many, the typical (median) length, sessions per
week and the longest ones with their tracks.

Read from the stored sessions (``models.summaries.sessions``, kept by ``store_plays``), never
recomputed from the plays per request.  A session belongs to the period its first play starts
in; weeks start on Monday in the period's time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator

from peewee import fn

from models.periods import Period
from models.schema.tables import ListeningSession, Play, Track
from models.stats.habits import period_days
from models.stats.sources import (
    as_date,
    as_datetime,
    as_int,
    lookup,
    series_of,
    statistic,
    track_base,
    with_catalogue,
    with_track_artists,
)
from models.summaries.listening import LocalTime
from models.summaries.sessions import session_plays, sessions_pending


def _in_period(user_id: int, period: Period):
    where = (ListeningSession.user == user_id) & (ListeningSession.started_at < period.end)
    if period.start is not None:
        where &= ListeningSession.started_at >= period.start
    return where


def median_length(user_id: int, period: Period, count: int) -> int | None:
    """The median session length (ms) of the ``count`` sessions in the period: the middle one,
    or the mean of the two middle ones, found with an ordered index read, not a sort in Python."""
    if not count:
        return None
    middle = (
        ListeningSession.select(ListeningSession.length_ms)
        .where(_in_period(user_id, period))
        .order_by(ListeningSession.length_ms)
        .offset((count - 1) // 2)
        .limit(2 - count % 2)
        .tuples()
    )
    lengths = [as_int(length) for (length,) in middle]
    return sum(lengths) // len(lengths)


@lookup
def session_tracks(user_id: int, spans: list[tuple[dt.datetime, dt.datetime]]) -> list[list]:
    """The plays of each session ``(started_at, last_played_at)``, in order, as track rows
    with ``played_at`` and ``ms_played``: one query for the plays of all of them, one for
    their tracks' catalogue rows and one for the artists."""
    if not spans:
        return []
    within = functools.reduce(
        operator.or_,
        [(Play.played_at >= first) & (Play.played_at <= last) for first, last in spans],
    )
    plays = list(
        session_plays(user_id)
        .select(Play.track.alias("track_id"), Play.played_at, Play.ms_played)
        .where(within)
        .order_by(Play.played_at)
        .dicts()
    )
    distinct = [{"track_id": track_id} for track_id in dict.fromkeys(r["track_id"] for r in plays)]
    tracks = {
        row["track_id"]: row
        for row in with_track_artists(with_catalogue(distinct, "track_id", Track, track_base))
    }
    found: list[list] = [[] for _ in spans]
    for row in plays:  # one session may play a track more than once: one row per play
        played_at = as_datetime(row["played_at"])
        assert played_at is not None
        index = next(i for i, (first, last) in enumerate(spans) if first <= played_at <= last)
        found[index].append(
            {
                **tracks[row["track_id"]],
                "played_at": played_at,
                "ms_played": as_int(row["ms_played"]),
            }
        )
    return found


def longest_sessions(user_id: int, period: Period, limit: int = 5) -> list[dict]:
    """The ``limit`` longest sessions of the period, longest first (ties: the earlier first),
    each with its tracks."""
    found = list(
        ListeningSession.select()
        .where(_in_period(user_id, period))
        .order_by(ListeningSession.length_ms.desc(), ListeningSession.started_at)
        .limit(limit)
    )
    tracks = session_tracks(user_id, [(s.started_at, s.last_played_at) for s in found])
    return [
        {
            "started_at": session.started_at,
            "length_ms": as_int(session.length_ms),
            "plays": session.plays,
            "ms_played": as_int(session.ms_played),
            "tracks": played,
        }
        for session, played in zip(found, tracks, strict=True)
    ]


@statistic
def session_stats(user_id: int, period: Period, longest: int = 5) -> dict:
    """``{"building": the sessions are still being built, "count", "median_ms", "per_week":
    [{"bucket": Monday, "sessions", "length_ms"}], "longest": [{"started_at", "length_ms",
    "plays", "ms_played", "tracks": [...]}]}``."""
    count, first, last = (
        ListeningSession.select(
            fn.COUNT(ListeningSession.started_at),
            fn.MIN(ListeningSession.started_at),
            fn.MAX(ListeningSession.started_at),
        )
        .where(_in_period(user_id, period))
        .tuples()
        .get()
    )
    count = as_int(count)
    result = {
        "building": sessions_pending(user_id),
        "count": count,
        "median_ms": median_length(user_id, period, count),
        "per_week": [],
        "longest": longest_sessions(user_id, period, longest) if count else [],
    }
    if not count:
        return result
    lo, hi = as_datetime(first), as_datetime(last)
    assert lo is not None and hi is not None  # there are sessions
    local = LocalTime(ListeningSession.started_at, period.tz, lo, hi)
    per_day = {
        as_date(day): [as_int(n), as_int(length)]
        for day, n, length in ListeningSession.select(
            local.day.alias("day"),
            fn.COUNT(ListeningSession.started_at),
            fn.SUM(ListeningSession.length_ms),
        )
        .where(_in_period(user_id, period))
        .group_by(local.day)
        .tuples()
    }
    first_day, last_day = period_days(period)
    result["per_week"] = [
        {"bucket": row["bucket"], "sessions": row["plays"], "length_ms": row["ms_played"]}
        for row in series_of(per_day, first_day, last_day, "week")
    ]
    return result
