"""Listening sessions over a period: how many, the typical (median) length, sessions per
week and the longest ones with their tracks.

Read from the stored sessions (``models.summaries.sessions``, kept by ``store_plays``), never
recomputed from the plays per request.  A session belongs to the period its first play starts
in; weeks start on Monday in the period's time zone.
"""

from __future__ import annotations

import datetime as dt

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
def session_tracks(user_id: int, started_at: dt.datetime, last_played_at: dt.datetime):
    """The plays of one session, in order: track rows with ``played_at`` and ``ms_played``."""
    plays = list(
        session_plays(user_id)
        .select(Play.track.alias("track_id"), Play.played_at, Play.ms_played)
        .where((Play.played_at >= started_at) & (Play.played_at <= last_played_at))
        .order_by(Play.played_at)
        .dicts()
    )
    distinct = [{"track_id": track_id} for track_id in dict.fromkeys(r["track_id"] for r in plays)]
    tracks = {
        row["track_id"]: row
        for row in with_track_artists(with_catalogue(distinct, "track_id", Track, track_base))
    }
    return [  # one session may play a track more than once: one row per play
        {
            **tracks[row["track_id"]],
            "played_at": as_datetime(row["played_at"]),
            "ms_played": as_int(row["ms_played"]),
        }
        for row in plays
    ]


def longest_sessions(user_id: int, period: Period, limit: int = 5) -> list[dict]:
    """The ``limit`` longest sessions of the period, longest first (ties: the earlier first),
    each with its tracks."""
    found = (
        ListeningSession.select()
        .where(_in_period(user_id, period))
        .order_by(ListeningSession.length_ms.desc(), ListeningSession.started_at)
        .limit(limit)
    )
    return [
        {
            "started_at": session.started_at,
            "length_ms": as_int(session.length_ms),
            "plays": session.plays,
            "ms_played": as_int(session.ms_played),
            "tracks": session_tracks(user_id, session.started_at, session.last_played_at),
        }
        for session in found
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
