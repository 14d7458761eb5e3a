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

They are kept by recomputing, not by adding: a re-import's fill gives stored plays fields they
lacked (a play becomes covered, or a covered one learns its country), which no counter could
follow exactly.  Every writer of covered streams (``models.ingest.plays.store_plays``, its fill
included, and ``models.ingest.streams.store_short_streams``) calls :func:`refresh` with the
instants it wrote, in its transaction under ``listening.lock_user``: the local months holding
them are rebuilt from the raw streams (a month is a few thousand) and ``SkipTotal`` changes by
the difference.  :func:`rebuild` does the same for every month, from ``listening.rebuild`` (a new
time zone, a bulk load) and the ``listening_context`` job (streams stored before migration 092:
the user is on ``ContextBacklog`` until then, and the statistics read raw streams).  Rows go
with the user by FK cascade.  Like the statistics, these count excluded tracks' streams too:
exclusions (``models.summaries.exclusions``) are about plays, and change nothing here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import SQL, Case, Select, Value, chunked, fn

from models.periods import add_months, local_date, local_midnight_utc
from models.schema.bulk import adding_upsert, insert_rows
from models.schema.db import db
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


def context_groups(streams, bucket=None, *, user_id: int | None = None) -> Select:
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
        return _select([streams], [*leading, *keys, *values]).group_by(*keys)
    return _select([streams], [*leading, bucket, *keys, *values]).group_by(
        SQL(bucket._alias), *keys
    )


def on_backlog(user_id: int) -> bool:
    """Whether the user's export summaries are still to be built (``ContextBacklog``)."""
    return ContextBacklog.select().where(ContextBacklog.user == user_id).exists()


# --- building months from the raw streams ------------------------------------------------------


def _fill_months(
    user_id: int, tz: str, start: dt.datetime | None, end: dt.datetime | None, lo, hi
) -> None:
    """Insert the ``ContextMonth`` and ``SkipMonth`` rows of the covered streams in
    ``[start, end)`` (whole local months, or everything), whose instants lie in ``[lo, hi]``."""
    streams = covered_streams(user_id, start, end, *STREAM_COLUMNS)
    month = listening.LocalTime(streams.c.played_at, tz, lo, hi).month.alias("month")
    user_value = Value(user_id).alias("user_id")
    ContextMonth.insert_from(
        context_groups(streams, month, user_id=user_id), CONTEXT_COLUMNS
    ).execute()
    SkipMonth.insert_from(
        _select(
            [streams],
            [user_value, month, streams.c.track_id, fn.COUNT(SQL("*")), fn.SUM(streams.c.short)],
        )
        .group_by(SQL("month"), streams.c.track_id)
        .order_by(SQL("month"), streams.c.track_id),  # key order: cheaper B-tree inserts
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


def refresh(user_id: int, tz: str, instants: Iterable[dt.datetime]) -> None:
    """Bring the user's export summaries up to date after covered streams at ``instants`` were
    written (stored, or given how-you-listen fields) in the caller's transaction, which holds
    ``listening.lock_user`` (``tz``: the zone it returned).  The local months holding them are
    rebuilt from the raw streams; ``SkipTotal`` changes by what their rows changed."""
    months = sorted({local_date(instant, tz).replace(day=1) for instant in instants})
    if not months or on_backlog(user_id):  # on the backlog: its build will count them
        return
    change: dict[str, list[int]] = {}
    for first, last in _month_runs(months):
        before = _skip_sums(user_id, first, last)
        for model in (ContextMonth, SkipMonth):
            model.delete().where(
                (model.user == user_id) & (model.month >= first) & (model.month <= last)
            ).execute()
        start = local_midnight_utc(first, tz)
        end = local_midnight_utc(add_months(last, 1), tz)
        _fill_months(user_id, tz, start, end, start, end)
        after = _skip_sums(user_id, first, last)
        for track in before.keys() | after.keys():
            old, new = before.get(track, (0, 0)), after.get(track, (0, 0))
            cell = change.setdefault(track, [0, 0])
            cell[0] += new[0] - old[0]
            cell[1] += new[1] - old[1]
    rows = [(user_id, track, n, short) for track, (n, short) in change.items() if n or short]
    clause = adding_upsert(
        SkipTotal, [SkipTotal.user, SkipTotal.track], (SkipTotal.streams, SkipTotal.short_streams)
    )
    columns = [SkipTotal.user, SkipTotal.track, SkipTotal.streams, SkipTotal.short_streams]
    insert_rows(SkipTotal, columns, rows, conflict=clause, batch=UPSERT_CHUNK)
    fewer = sorted(track for track, (n, _) in change.items() if n < 0)
    for batch in chunked(fewer, UPSERT_CHUNK):  # a track with no covered stream left
        SkipTotal.delete().where(
            (SkipTotal.user == user_id) & SkipTotal.track.in_(batch) & (SkipTotal.streams <= 0)
        ).execute()


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
        _fill_months(user_id, tz, None, None, *bounds)
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
