"""Weekly charts, stored and kept in step with the per-local-day summaries.

A listener's chart of a week is the top ``CHART_SIZE`` tracks, artists and albums of that local
week (Monday to Sunday in the zone the summaries are bucketed in), ranked by plays, ties by
listening time, then by name (codepoint order on both engines), then by id.  An item's page
shows its positions over ten years: ranking 500 weeks per request would be too slow, so the
positions are stored (``ChartWeek``) and only the weeks that change are ranked again:

- new plays (``listening.record_plays``): the weeks of the local days they landed on;
- a rebuild of the summaries (time-zone change, exclusions changed, bulk loads): every week;
- the catalogue learning a track's artists or album (``catalogue.links_changed``): the weeks
  in which its players played it.

A week is ranked from the track day summaries (``summary_track_day``, at most seven rows per
track; for artists and albums joined to the catalogue, as ``catalogue.day_source_sql`` says),
in one ``INSERT ... SELECT`` with ``ROW_NUMBER()`` for all the weeks touched together, so a
history import that touches hundreds of weeks costs a few statements, not hundreds.
``tests/test_charts.py`` checks the stored positions against a ranking of the raw plays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import chunked

from models.schema.db import db, is_postgresql
from models.schema.tables import CHART_KINDS, CHART_SIZE, ChartWeek
from models.summaries import catalogue  # which imports this module: read at call time

BUILD_JOB_KIND = "charts"  # the queued build of a listener's charts (``models.jobs.charts``)
WEEK = dt.timedelta(days=7)
RANGES_PER_STATEMENT = 200  # day ranges OR-ed in one ranking statement (parameters: 2 each)
CHUNK = 500


def _source(kind: str) -> tuple[str, str, str]:
    """(the item's key, FROM the day summaries ``s`` of its plays, the catalogue table holding
    its name)."""
    if kind == "track":
        return "s.track_id", "summary_track_day s", "track"
    return (*catalogue.day_source_sql(artists=kind == "artist"), kind)


def week_of(day: dt.date) -> dt.date:
    """The Monday starting ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def _week_sql(column: str) -> str:
    if is_postgresql():
        return f"CAST(date_trunc('week', {column}) AS date)"
    # SQLite: forward to Sunday (itself if it is one), then back to its Monday
    return f"date({column}, 'weekday 0', '-6 days')"


def _day_param(day: dt.date):
    return day if is_postgresql() else day.isoformat()


def _ranges(weeks: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted weeks as ``[lo, hi)`` day ranges, consecutive weeks merged."""
    ranges: list[list[dt.date]] = []
    for week in sorted(set(weeks)):
        if ranges and week == ranges[-1][1]:
            ranges[-1][1] = week + WEEK
        else:
            ranges.append([week, week + WEEK])
    return [(lo, hi) for lo, hi in ranges]


def _within(column: str, ranges: list[tuple[dt.date, dt.date]] | None) -> tuple[str, list]:
    """SQL (and parameters) for ``column`` in any of the day ranges (None: no condition)."""
    if ranges is None:
        return "", []
    clauses = " OR ".join(f"({column} >= ? AND {column} < ?)" for _ in ranges)
    return f" AND ({clauses})", [_day_param(day) for lo_hi in ranges for day in lo_hi]


def _rank(user_id: int, kind: str, ranges: list[tuple[dt.date, dt.date]] | None) -> None:
    """Delete and rank again the user's ``kind`` chart weeks in the day ``ranges`` (None: all),
    in two statements whatever their number: a history import touches hundreds of weeks.

    Names break ties only, so the weeks' items are first ranked by plays and time alone
    (``RANK()``, integers): one whose rank is past ``CHART_SIZE`` has that many items strictly
    ahead of it and cannot chart whatever its name, so only the few others are joined to the
    catalogue and sorted by name (ten years of a heavy listener: about 20 items a week
    instead of a thousand).  Every item has its catalogue row (the plays' and links' foreign
    keys), so the join drops none."""
    key, source, names = _source(kind)
    collate = ' COLLATE "C"' if is_postgresql() else ""
    days, day_params = _within("s.day", ranges)
    weeks, week_params = _within("week", ranges)
    sql = (
        "INSERT INTO chart_week (user_id, kind, week, item_id, position, plays, ms_played) "
        "SELECT ?, ?, week, item_id, position, plays, ms_played FROM ("
        " SELECT w.week, w.item_id, w.plays, w.ms_played, ROW_NUMBER() OVER ("
        "  PARTITION BY w.week ORDER BY w.plays DESC, w.ms_played DESC,"
        f"  c.name{collate}, w.item_id{collate}) AS position"
        " FROM (SELECT week, item_id, plays, ms_played, RANK() OVER ("
        "   PARTITION BY week ORDER BY plays DESC, ms_played DESC) AS ahead"
        f"  FROM (SELECT {_week_sql('s.day')} AS week, {key} AS item_id,"
        "    SUM(s.plays) AS plays, SUM(s.ms_played) AS ms_played"
        f"   FROM {source} WHERE s.user_id = ?{days} GROUP BY 1, 2) g) w"
        f" JOIN {names} c ON c.id = w.item_id"
        " WHERE w.ahead <= ?"
        ") ranked WHERE position <= ? ORDER BY week, position"
    )
    mark = db.param
    db.execute_sql(
        f"DELETE FROM chart_week WHERE user_id = ? AND kind = ?{weeks}".replace("?", mark),
        [user_id, kind, *week_params],
    )
    db.execute_sql(
        sql.replace("?", mark), [user_id, kind, user_id, *day_params, CHART_SIZE, CHART_SIZE]
    )


def refresh_weeks(
    user_id: int, days: Iterable[dt.date], kinds: Iterable[str] = CHART_KINDS
) -> None:
    """Rank again the ``kinds`` charts of the weeks holding these local days (call in the
    transaction that changed the day summaries of those days)."""
    ranges = _ranges(week_of(day) for day in days)
    with db.atomic():
        for chunk in chunked(ranges, RANGES_PER_STATEMENT):
            for kind in kinds:
                _rank(user_id, kind, list(chunk))


def rebuild(user_id: int) -> None:
    """Rank every week of the user again from the day summaries (after they were rebuilt)."""
    with db.atomic():
        for kind in CHART_KINDS:
            _rank(user_id, kind, None)


def tracks_relinked(track_ids: Iterable[str]) -> None:
    """The artists or album of these tracks changed: rank again, for everyone who played
    them, the weeks they played them in (the artist and album charts moved)."""
    weeks: dict[int, set[dt.date]] = {}
    for chunk in chunked(sorted(set(track_ids)), CHUNK):
        marks = ", ".join([db.param] * len(chunk))
        rows = db.execute_sql(
            "SELECT DISTINCT d.user_id, d.day FROM summary_track_day d "
            f"WHERE d.track_id IN ({marks}) AND d.user_id IN "
            f"(SELECT p.user_id FROM summary_track p WHERE p.track_id IN ({marks}))",
            [*chunk, *chunk],
        ).fetchall()
        for user_id, day in rows:
            day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
            weeks.setdefault(user_id, set()).add(day)
    for user_id, days in sorted(weeks.items()):
        refresh_weeks(user_id, days, kinds=("artist", "album"))  # a track's chart stays


def delete(user_id: int) -> None:
    ChartWeek.delete().where(ChartWeek.user == user_id).execute()
