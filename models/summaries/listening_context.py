"""Summaries of what only an export tells (skips and how you listen), kept in step with the streams.

``models.stats.listening_context`` reads a period's *export-covered streams*: the music plays
and short streams (under 30 s) whose extended entry named a device (:func:`covered_streams`).
Grouping a heavy listener's 700,000 of them for every page view took seconds, so each local
month (in the zone of ``ListeningSummary.timezone``, like every local summary) is kept:

- ``ContextMonth``: per month and (device family, country, ``reason_end``) the streams, short
  streams, time, flag counts and first and last instant: what ``how_you_listen`` sums;
- ``SkipMonth``: per month and track, streams and short streams; ``SkipTotal``: all time.

A period is read as its whole months from these plus the raw streams of the days at either end
(a few thousand), which the statistics group with the same :func:`context_groups`.

Every writer of covered streams keeps them in its transaction, under ``listening.lock_user``:
new streams are added (:func:`add_streams`, from ``models.ingest.plays.store_plays`` and
``models.ingest.streams.store_short_streams``: one pass in Python, one upsert per table).  A
re-import's fill gives stored plays fields they lacked (a play becomes covered, or a covered one
learns its country), which no counter could follow exactly: ``store_plays`` then calls
:func:`refresh` with the filled instants, and the local months holding them are rebuilt from the
raw streams (a month is a few thousand) and ``SkipTotal`` changes by the difference.
:func:`rebuild` rebuilds every month, from ``listening.rebuild`` (a new time zone, a bulk load)
and the ``listening_context`` job (streams stored before migration 092: the user is on
``ContextBacklog`` until then, and the statistics read raw streams).  Rows go with the user by
FK cascade.  Like the statistics, these count excluded tracks' streams too:
exclusions (``models.summaries.exclusions``) are about plays, and change nothing here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import SQL, Case, Select, Value, chunked, fn

from models.periods import add_months, local_midnight_utc
from models.schema.bulk import adding_upsert, insert_rows
from models.schema.db import db, is_postgresql
from models.schema.tables import (
    CONTEXT_SUMMARY_TABLES,
    ContextBacklog,
    ContextMonth,
    Play,
    ShortStream,
    SkipMonth,
    SkipTotal,
)

# ``listening`` imports this module for its rebuild; its ``LocalTime`` is read at call time.
from models.summaries import listening

FLAGS = ("skipped", "shuffle", "offline")
NO_COUNTRY = "ZZ"  # the country shown for a stream whose entry named none
NO_REASON = "unknown"  # the reason_end shown for a stream whose entry gave none
# Every column a summary reads of a covered stream.
STREAM_COLUMNS = ("played_at", *FLAGS, "reason_end", "device", "conn_country", "track_id")
CONTEXT_COLUMNS = [
    ContextMonth.user,
    ContextMonth.month,
    ContextMonth.device,
    ContextMonth.country,
    ContextMonth.reason_end,
    ContextMonth.streams,
    ContextMonth.short_streams,
    ContextMonth.ms_played,
    *(getattr(ContextMonth, f"{name}_{said}") for name in FLAGS for said in ("true", "told")),
    ContextMonth.first_played_at,
    ContextMonth.last_played_at,
]
UPSERT_CHUNK = 500


def _select(sources, columns) -> Select:
    return Select(from_list=sources, columns=columns).bind(db)


def covered_streams(user_id: int, start: dt.datetime | None, end: dt.datetime | None, *columns):
    """The user's export-covered streams in ``[start, end)`` (None: unbounded), plays and short
    streams as one subquery ``streams`` (UNION ALL): ``short`` (1 for a short stream),
    ``ms_played`` and ``columns``.  Each half reads its table's ``(user, played_at, ...)`` index."""
    parts = []
    for model, short in ((Play, 0), (ShortStream, 1)):
        where = (model.user == user_id) & model.device.is_null(False)
        if start is not None:
            where &= model.played_at >= start
        if end is not None:
            where &= model.played_at < end
        parts.append(
            model.select(
                SQL(str(short)).alias("short"),
                model.ms_played.alias("ms_played"),
                *(getattr(model, name).alias(name) for name in columns),
            ).where(where)
        )
    return (parts[0] + parts[1]).alias("streams")  # UNION ALL


def _or(column, default: str):
    """``column``, or ``default`` where the entry said nothing (NULL or empty)."""
    return fn.COALESCE(fn.NULLIF(column, ""), default)


def context_keys(streams) -> list:
    """(device, country, reason_end) of ``covered_streams`` rows, as ``ContextMonth`` keys them."""
    c = streams.c
    return [c.device, _or(c.conn_country, NO_COUNTRY), _or(c.reason_end, NO_REASON)]


def context_groups(streams, bucket=None, *, user_id: int | None = None, where=None) -> Select:
    """``covered_streams`` rows grouped by ``bucket`` (an aliased expression, if given) and
    :func:`context_keys`: ``[user_id,] [bucket,] device, country, reason_end, streams,
    short_streams, ms_played, skipped_true, skipped_told, shuffle_true, shuffle_told,
    offline_true, offline_told, first, last`` (``CONTEXT_COLUMNS``' order)."""
    c = streams.c
    keys = context_keys(streams)
    values = [fn.COUNT(SQL("*")), fn.SUM(c.short), fn.SUM(c.ms_played)]
    for name in FLAGS:
        column = getattr(c, name)
        values += [fn.SUM(Case(None, [(column == True, 1)], 0)), fn.COUNT(column)]  # noqa: E712
    values += [fn.MIN(c.played_at), fn.MAX(c.played_at)]
    leading = [] if user_id is None else [Value(user_id).alias("user_id")]
    if bucket is None:
        query = _select([streams], [*leading, *keys, *values]).group_by(*keys)
    else:
        query = _select([streams], [*leading, bucket, *keys, *values])
        query = query.group_by(SQL(bucket._alias), *keys)
    return query if where is None else query.where(where)


def on_backlog(user_id: int) -> bool:
    """Whether the user's export summaries are still to be built (``ContextBacklog``)."""
    return ContextBacklog.select().where(ContextBacklog.user == user_id).exists()


# --- building months from the raw streams ------------------------------------------------------


# Read around the months refreshed, so that each stream's month is the one SQL buckets it in
# (at a DST change at midnight, a month's first instant per ``local_midnight_utc`` may differ).
MARGIN = dt.timedelta(days=2)


def _fill_months(user_id: int, tz: str, months: tuple[dt.date, dt.date] | None, lo, hi) -> None:
    """Insert the ``ContextMonth`` and ``SkipMonth`` rows of the covered streams of local
    ``months`` (first and last, inclusive), or of every month; ``[lo, hi]`` holds their
    instants."""
    start = end = None
    if months is not None:
        start, end = lo, hi
    streams = covered_streams(user_id, start, end, *STREAM_COLUMNS)
    month = listening.LocalTime(streams.c.played_at, tz, lo, hi).month
    where = None
    if months is not None:
        where = (month >= months[0].isoformat()) & (month <= months[1].isoformat())
    bucket = month.alias("month")
    ContextMonth.insert_from(
        context_groups(streams, bucket, user_id=user_id, where=where), CONTEXT_COLUMNS
    ).execute()
    per_track = _select(
        [streams],
        [
            Value(user_id).alias("user_id"),
            bucket,
            streams.c.track_id,
            fn.COUNT(SQL("*")),
            fn.SUM(streams.c.short),
        ],
    )
    if where is not None:
        per_track = per_track.where(where)
    SkipMonth.insert_from(
        per_track.group_by(SQL("month"), streams.c.track_id).order_by(
            SQL("month"),
            streams.c.track_id,  # key order: cheaper B-tree inserts
        ),
        [
            SkipMonth.user,
            SkipMonth.month,
            SkipMonth.track,
            SkipMonth.streams,
            SkipMonth.short_streams,
        ],
    ).execute()


def _skip_sums(user_id: int, first: dt.date, last: dt.date) -> dict[str, tuple[int, int]]:
    """{track: (streams, short streams)} over the user's ``SkipMonth`` rows of months
    ``first``..``last``."""
    rows = (
        SkipMonth.select(
            SkipMonth.track, fn.SUM(SkipMonth.streams), fn.SUM(SkipMonth.short_streams)
        )
        .where((SkipMonth.user == user_id) & (SkipMonth.month >= first) & (SkipMonth.month <= last))
        .group_by(SkipMonth.track)
        .tuples()
    )
    return {track: (int(streams), int(short)) for track, streams, short in rows}


def _month_runs(months: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted month starts as runs of consecutive months ``(first, last)``."""
    runs: list[list[dt.date]] = []
    for month in months:
        if runs and add_months(runs[-1][1], 1) == month:
            runs[-1][1] = month
        else:
            runs.append([month, month])
    return [(first, last) for first, last in runs]


def _months_of(instants: list[dt.datetime], tz: str) -> list[dt.date]:
    """The local month (its first day) of each instant, by the UTC offsets that bucket streams
    in SQL (``listening.LocalTime``), so both agree at every DST change."""
    if not instants:
        return []
    offset_at = listening._local_offsets(tz, min(instants), max(instants))
    return [(instant + offset_at(instant)).date().replace(day=1) for instant in instants]


def add_streams(user_id: int, tz: str, streams: list[tuple]) -> None:
    """Add newly stored covered streams to the user's export summaries, in the caller's
    transaction holding ``listening.lock_user`` (``tz``: its zone): ``(track_id, played_at,
    ms_played, short, how)`` each, ``how`` a mapping of ``HOW_YOU_LISTEN`` values with a
    device.  Summed here in one pass and written as one multi-row upsert per table, like
    ``listening.record_plays`` (recomputing whole months for each chunk of an import would read
    every month's streams again and again)."""
    if not streams or on_backlog(user_id):  # on the backlog: its build will count them
        return
    as_stored = (lambda at: at) if is_postgresql() else listening._stored_text
    months = _months_of([at for _, at, _, _, _ in streams], tz)
    context: dict[tuple, list] = {}
    per_month: dict[tuple, list[int]] = {}
    per_track: dict[str, list[int]] = {}
    for (track, at, ms, short, how), month in zip(streams, months, strict=True):
        key = (
            month,
            how["device"],
            how.get("conn_country") or NO_COUNTRY,
            how.get("reason_end") or NO_REASON,
        )
        stamp = as_stored(at)
        cell = context.get(key)
        if cell is None:
            cell = context[key] = [0] * 9 + [stamp, stamp]
        cell[0] += 1
        cell[1] += short
        cell[2] += ms
        for index, name in enumerate(FLAGS):
            said = how.get(name)
            if said is not None:
                cell[3 + 2 * index] += 1 if said else 0
                cell[4 + 2 * index] += 1
        cell[9] = min(cell[9], stamp)
        cell[10] = max(cell[10], stamp)
        for counts in (
            per_month.setdefault((month, track), [0, 0]),
            per_track.setdefault(track, [0, 0]),
        ):
            counts[0] += 1
            counts[1] += short
    m = ContextMonth
    sums = CONTEXT_COLUMNS[5:-2]
    clause = adding_upsert(
        m,
        CONTEXT_COLUMNS[:5],
        sums=sums,
        earliest=(m.first_played_at,),
        latest=(m.last_played_at,),
    )
    rows = [(user_id, *key, *cell) for key, cell in context.items()]
    insert_rows(m, CONTEXT_COLUMNS, rows, conflict=clause, batch=UPSERT_CHUNK)
    counted = (SkipMonth.streams, SkipMonth.short_streams)
    columns = [SkipMonth.user, SkipMonth.month, SkipMonth.track, *counted]
    clause = adding_upsert(SkipMonth, columns[:3], sums=counted)
    rows = [(user_id, month, track, *n) for (month, track), n in per_month.items()]
    insert_rows(SkipMonth, columns, rows, conflict=clause, batch=UPSERT_CHUNK)
    _add_to_totals(user_id, per_track)


def _add_to_totals(user_id: int, change: dict[str, list[int]]) -> None:
    """``SkipTotal`` += ``change`` ({track: [streams, short streams]}); a track left with no
    covered stream loses its row."""
    rows = [(user_id, track, n, short) for track, (n, short) in change.items() if n or short]
    clause = adding_upsert(
        SkipTotal, [SkipTotal.user, SkipTotal.track], (SkipTotal.streams, SkipTotal.short_streams)
    )
    columns = [SkipTotal.user, SkipTotal.track, SkipTotal.streams, SkipTotal.short_streams]
    insert_rows(SkipTotal, columns, rows, conflict=clause, batch=UPSERT_CHUNK)
    fewer = sorted(track for track, (n, _) in change.items() if n < 0)
    for batch in chunked(fewer, UPSERT_CHUNK):
        SkipTotal.delete().where(
            (SkipTotal.user == user_id) & SkipTotal.track.in_(batch) & (SkipTotal.streams <= 0)
        ).execute()


def refresh(user_id: int, tz: str, instants: Iterable[dt.datetime]) -> None:
    """Bring the user's export summaries up to date after covered streams at ``instants`` were
    written (stored, or given how-you-listen fields) in the caller's transaction, which holds
    ``listening.lock_user`` (``tz``: the zone it returned).  The local months holding them are
    rebuilt from the raw streams; ``SkipTotal`` changes by what their rows changed."""
    months = sorted(set(_months_of(list(instants), tz)))
    if not months or on_backlog(user_id):  # on the backlog: its build will count them
        return
    change: dict[str, list[int]] = {}
    for first, last in _month_runs(months):
        before = _skip_sums(user_id, first, last)
        for model in (ContextMonth, SkipMonth):
            model.delete().where(
                (model.user == user_id) & (model.month >= first) & (model.month <= last)
            ).execute()
        lo = local_midnight_utc(first, tz) - MARGIN
        hi = local_midnight_utc(add_months(last, 1), tz) + MARGIN
        _fill_months(user_id, tz, (first, last), lo, hi)
        after = _skip_sums(user_id, first, last)
        for track in before.keys() | after.keys():
            old, new = before.get(track, (0, 0)), after.get(track, (0, 0))
            cell = change.setdefault(track, [0, 0])
            cell[0] += new[0] - old[0]
            cell[1] += new[1] - old[1]
    _add_to_totals(user_id, change)


def _stream_bounds(user_id: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The first and last instant of the user's plays and short streams (index probes)."""
    found = []
    for model in (Play, ShortStream):
        mine = model.select(model.played_at).where(model.user == user_id).limit(1)
        first = mine.order_by(model.played_at).scalar()
        if first is not None:
            found += [first, mine.order_by(model.played_at.desc()).scalar()]
    return (min(found), max(found)) if found else None


def rebuild(user_id: int, tz: str) -> None:
    """Recompute the user's export summaries from the raw streams, bucketed in ``tz``, and take
    the user off the backlog.  Call in a transaction holding ``listening.lock_user`` (or the
    rebuild's lock): three INSERT ... SELECT ... GROUP BY."""
    for model in CONTEXT_SUMMARY_TABLES:
        model.delete().where(model.user == user_id).execute()
    bounds = _stream_bounds(user_id)
    if bounds is not None:
        _fill_months(user_id, tz, None, *bounds)
        SkipTotal.insert_from(
            SkipMonth.select(
                Value(user_id).alias("user_id"),
                SkipMonth.track,
                fn.SUM(SkipMonth.streams),
                fn.SUM(SkipMonth.short_streams),
            )
            .where(SkipMonth.user == user_id)
            .group_by(SkipMonth.track)
            .order_by(SkipMonth.track),
            [SkipTotal.user, SkipTotal.track, SkipTotal.streams, SkipTotal.short_streams],
        ).execute()
    ContextBacklog.delete().where(ContextBacklog.user == user_id).execute()
