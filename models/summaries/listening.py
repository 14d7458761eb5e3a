"""Summary tables of the plays, kept in step with them, and local-time bucketing in SQL.

A heavy listener has a million plays; grouping them for every page view is too slow.  So each
stored play also adds to (see ``models.schema.tables``):

- ``ListeningSummary``: the user's all-time totals and the time zone of the local buckets;
- ``TrackTotal``: per track, all time (the all-time pages read only this);
- ``TrackDay`` / ``TrackMonth``: per local day / local month and track (periods are cut into
  whole months plus the days at either end);
- ``HourSlot``: per local day and hour (series, hours of the day, weekday × hour).

They change only here: :func:`record_plays` in the transaction of
``models.ingest.plays.store_plays``, and :func:`rebuild` (a user's time zone changed: the
worker's job, ``models.jobs.timezones``; or plays were loaded in bulk by the benchmark), which
recomputes them from the raw plays in one transaction, under the lock storing plays takes.
Rows go with the user by FK cascade.  Summaries never hold catalogue facts (artists, albums,
genres), which are joined at query time; ``models.summaries.catalogue`` keeps the per-artist
and per-album sums of these rows, and is told of new plays here, as is
``models.summaries.charts`` (the weekly charts).  :func:`rebuild` also rebuilds the export's
summaries of skips and how you listen (``models.summaries.listening_context``).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from peewee import SQL, Case, Cast, Expression, Select, Value, fn

from models.periods import utc_offset_spans, zone
from models.schema.bulk import adding_upsert, insert_rows, replace_user_rows
from models.schema.db import db, is_postgresql, write_transaction
from models.schema.tables import (
    AlbumTotal,
    ArtistTotal,
    FeatureTotal,
    HourSlot,
    ListeningSummary,
    Play,
    TrackDay,
    TrackMonth,
    TrackTotal,
    User,
)
from models.summaries import catalogue as catalogue_summaries
from models.summaries import charts, exclusions, listening_context

UPSERT_CHUNK = 500
# The order both writers of HourSlot give its values in: the incremental upsert and the rebuild.
_HOUR_SLOT_COLUMNS = (
    HourSlot.user,
    HourSlot.day,
    HourSlot.hour,
    HourSlot.weekday,
    HourSlot.plays,
    HourSlot.ms_played,
)


# --- local time in SQL -------------------------------------------------------------------------


def _sql_instant(instant: dt.datetime):
    """A naive UTC instant as a parameter both engines compare correctly with stored values."""
    if is_postgresql():
        return Value(instant)
    return Value(instant.strftime("%Y-%m-%d %H:%M:%S.%f"))


def offset_seconds_sql(field, spans: list[tuple[dt.datetime | None, int]]):
    """SQL for the UTC offset (seconds) at ``field``, from ``periods.utc_offset_spans``."""
    if len(spans) == 1:
        return Value(spans[0][1])
    # every span but the last has an end (``until``), so the filter drops nothing
    whens = [
        (field < _sql_instant(until), Value(seconds))
        for until, seconds in spans[:-1]
        if until is not None
    ]
    return Case(None, whens, Value(spans[-1][1]))


class LocalTime:
    """SQL expressions for the local date, hour, weekday (0 = Monday) and month of a UTC column,
    exact for instants in [lo, hi]."""

    def __init__(self, field, tz: str, lo: dt.datetime, hi: dt.datetime):
        spans = utc_offset_spans(tz, lo, hi)
        local = field
        if is_postgresql():
            if spans != [(None, 0)]:
                local = field + offset_seconds_sql(field, spans) * SQL("interval '1 second'")
            self.day = Cast(local, "date")
            self.hour = Cast(fn.date_part("hour", local), "integer")
            self.weekday = Cast(fn.date_part("isodow", local), "integer") - 1
            self.month = Cast(fn.date_trunc("month", local), "date")
        else:
            if spans != [(None, 0)]:
                local = fn.datetime(field, offset_seconds_sql(field, spans).concat(" seconds"))
            self.day = fn.date(local)
            self.hour = Cast(fn.strftime("%H", local), "integer")
            # strftime's %w counts from Sunday; peewee's ``%`` means LIKE, hence Expression.
            self.weekday = Expression(Cast(fn.strftime("%w", local), "integer") + 6, "%", Value(7))
            self.month = fn.strftime("%Y-%m-01", local)


def play_bounds(user_id: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The first and last played_at of a user's plays (two index probes), or None."""
    first = (
        Play.select(Play.played_at)
        .where(Play.user == user_id)
        .order_by(Play.played_at)
        .limit(1)
        .scalar()
    )
    if first is None:
        return None
    last = (
        Play.select(Play.played_at)
        .where(Play.user == user_id)
        .order_by(Play.played_at.desc())
        .limit(1)
        .scalar()
    )
    return first, last


# --- the summary state of a user ---------------------------------------------------------------


def summary_timezone(user_id: int) -> str | None:
    """The time zone the user's local summaries are bucketed in (None: no summary row yet)."""
    return (
        ListeningSummary.select(ListeningSummary.timezone)
        .where(ListeningSummary.user == user_id)
        .scalar()
    )


def _lock_summary_row(user_id: int, timezone: str) -> tuple[str, int]:
    """Make sure the user's summary row exists and lock it until the transaction ends; return
    the zone its local buckets are in and the plays it counts.

    On PostgreSQL the row lock serialises the writers of one user's summaries (``store_plays``
    and :func:`rebuild`); on SQLite the INSERT takes the database's write lock at once, so the
    reads that follow cannot go stale.  Takes the shared catalogue lock first, as every writer
    of plays does (``catalogue_summaries.lock_for_plays``), so the order of locks is the same.
    """
    catalogue_summaries.lock_for_plays()
    (
        ListeningSummary.insert(user=user_id, timezone=timezone, plays=0, ms_played=0)
        .on_conflict_ignore()
        .execute()
    )
    query = ListeningSummary.select(ListeningSummary.timezone, ListeningSummary.plays).where(
        ListeningSummary.user == user_id
    )
    if is_postgresql():
        query = query.for_update()
    bucketed_in, plays = query.tuples().get()
    return bucketed_in, plays


def lock_user(user_id: int) -> str:
    """Lock the user's summaries for storing plays (see :func:`_lock_summary_row`); return the
    time zone new plays are to be bucketed in: the one the summaries are in.

    Storing plays reads what is stored, then writes: two writers for one user (the ETL and an
    import) must not interleave.  When ``User.timezone`` is not the summaries' zone, a rebuild
    is on its way (``models.jobs.timezones``: the worker runs it, never a writer of plays):
    until it runs, new plays go into the buckets of the old zone like the plays before them,
    the statistics of the new zone read the raw plays, and the rebuild re-buckets all of them.
    """
    timezone = User.select(User.timezone).where(User.id == user_id).scalar()
    if timezone is None:
        raise ValueError(f"no user with id {user_id}")
    return _lock_summary_row(user_id, timezone)[0]


# --- incremental maintenance -------------------------------------------------------------------


def _upsert(model, columns: list, rows: list[tuple], conflict: list, with_first_last: bool) -> None:
    """Add ``rows`` (tuples in ``columns`` order) to ``model``'s counters in bulk."""
    if not rows:
        return
    clause = adding_upsert(
        model,
        conflict,
        sums=(model.plays, model.ms_played),
        earliest=(model.first_played_at,) if with_first_last else (),
        latest=(model.last_played_at,) if with_first_last else (),
    )
    insert_rows(model, columns, rows, conflict=clause, batch=UPSERT_CHUNK)


def _local_offsets(tz: str, lo: dt.datetime, hi: dt.datetime):
    """A function from a naive UTC instant in [lo, hi] to its UTC offset in ``tz``: the spans
    of ``periods.utc_offset_spans`` (the same that bucket plays in SQL), found by bisection."""
    spans = utc_offset_spans(tz, lo, hi)
    offsets = [dt.timedelta(seconds=seconds) for _, seconds in spans]
    if len(offsets) == 1:
        offset = offsets[0]
        return lambda instant: offset
    untils = [until for until, _ in spans[:-1]]
    return lambda instant: offsets[bisect_right(untils, instant)]


def _stored_text(instant: dt.datetime) -> str:
    """A naive datetime as sqlite3 stores it (its default adapter)."""
    return instant.isoformat(" ")


def _add(cells: dict, key, played_at, ms: int) -> None:
    cell = cells.get(key)
    if cell is None:
        cells[key] = [1, ms, played_at, played_at]
        return
    cell[0] += 1
    cell[1] += ms
    if played_at < cell[2]:
        cell[2] = played_at
    elif played_at > cell[3]:
        cell[3] = played_at


def record_plays(user_id: int, plays: Iterable[tuple[str, dt.datetime, int]], tz: str) -> None:
    """Add newly stored plays ``(track_id, played_at, ms_played)`` to every summary.

    Call inside the transaction that inserted them (``store_plays`` does), with the time zone
    from :func:`lock_user`, so summaries and plays commit or roll back together.  A history
    import brings 100,000s of plays: they are summed here in one pass and written as one
    multi-row upsert per summary table.
    """
    plays = plays if isinstance(plays, list) else list(plays)
    excluded = exclusions.excluded_among(user_id, {track_id for track_id, _, _ in plays})
    if excluded:  # stored, but kept out of the statistics (models.summaries.exclusions)
        plays = [play for play in plays if play[0] not in excluded]
    if not plays:
        return
    first = min(played_at for _, played_at, _ in plays)
    last = max(played_at for _, played_at, _ in plays)
    offset_at = _local_offsets(tz, first, last)
    # First and last instants go to SQLite as the text it stores (sqlite3 would call its
    # adapter for each of ~3 values per play); that text sorts as the instants do.
    as_stored = (lambda instant: instant) if is_postgresql() else _stored_text
    totals: dict = {}
    days: dict = {}
    months: dict = {}
    hours: dict = {}
    ms_sum = 0
    for track_id, played_at, ms in plays:
        local = played_at + offset_at(played_at)
        day = local.date()
        stamp = as_stored(played_at)
        _add(totals, track_id, stamp, ms)
        _add(days, (day, track_id), stamp, ms)
        _add(months, (day.replace(day=1), track_id), stamp, ms)
        hour = hours.get((day, local.hour))
        if hour is None:
            hours[(day, local.hour)] = [1, ms]
        else:
            hour[0] += 1
            hour[1] += ms
        ms_sum += ms

    sums = (
        TrackTotal.plays,
        TrackTotal.ms_played,
        TrackTotal.first_played_at,
        TrackTotal.last_played_at,
    )
    _upsert(
        TrackTotal,
        [TrackTotal.user, TrackTotal.track, *sums],
        [(user_id, track, *cell) for track, cell in totals.items()],
        [TrackTotal.user, TrackTotal.track],
        True,
    )
    for model, bucket, cells in (
        (TrackDay, TrackDay.day, days),
        (TrackMonth, TrackMonth.month, months),
    ):
        _upsert(
            model,
            [model.user, bucket, model.track, *(getattr(model, f.name) for f in sums)],
            [(user_id, *key, *cell) for key, cell in cells.items()],
            [model.user, bucket, model.track],
            True,
        )
    _upsert(
        HourSlot,
        list(_HOUR_SLOT_COLUMNS),
        [(user_id, day, hour, day.weekday(), n, ms) for (day, hour), (n, ms) in hours.items()],
        [HourSlot.user, HourSlot.day, HourSlot.hour],
        False,
    )
    catalogue_summaries.record(user_id, {"month": months}, totals)
    charts.refresh_weeks(user_id, {day for day, _ in days})

    least, greatest = (fn.LEAST, fn.GREATEST) if is_postgresql() else (fn.MIN, fn.MAX)
    (
        ListeningSummary.update(
            plays=ListeningSummary.plays + len(plays),
            ms_played=ListeningSummary.ms_played + ms_sum,
            first_played_at=fn.COALESCE(least(ListeningSummary.first_played_at, first), first),
            last_played_at=fn.COALESCE(greatest(ListeningSummary.last_played_at, last), last),
        )
        .where(ListeningSummary.user == user_id)
        .execute()
    )


# --- rebuilding from the raw plays -------------------------------------------------------------


@dataclass(frozen=True)
class LocalSummary:
    """A summary bucketed in local time, as :func:`rebuild` writes it: ``columns`` (the user,
    ``keys`` key columns, then values) filled from ``select``'s rows, given the local-time
    expressions of the plays, the condition on the user's kept plays and the user's id.
    ``rewrite``: on PostgreSQL, written as differences (few rows change with the zone:
    months)."""

    model: Any  # a summary model (peewee's metaclass attributes are not typed)
    columns: tuple
    keys: int
    select: Callable[[LocalTime, Expression, int], Select]
    rewrite: bool = False


_TRACK_SUMS = ("plays", "ms_played", "first_played_at", "last_played_at")


def _track_columns(model, bucket) -> tuple:
    return (model.user, bucket, model.track, *(getattr(model, name) for name in _TRACK_SUMS))


def _track_days(local: LocalTime, mine: Expression, user_id: int) -> Select:
    """Per local day and track, from the plays: the one scan that computes local days per
    play besides :func:`_hour_slots`; months, artists, albums, features and charts are summed
    from these rows."""
    day = local.day.alias("bucket")
    return (
        Play.select(
            Value(user_id).alias("user_id"),
            day,
            Play.track,
            fn.COUNT(Play.id),
            fn.SUM(Play.ms_played),
            fn.MIN(Play.played_at),
            fn.MAX(Play.played_at),
        )
        .where(mine)
        .group_by(SQL("bucket"), Play.track)
        .order_by(SQL("bucket"), Play.track)  # key order: cheaper B-tree inserts
    )


def _month_of_day(day):
    """SQL for the first day of the month of a stored local day."""
    if is_postgresql():
        return Cast(fn.date_trunc("month", day), "date")
    return fn.strftime("%Y-%m-01", day)


def _track_months(local: LocalTime, mine: Expression, user_id: int) -> Select:
    """Per local month and track, summed from the day rows just written (a third as many rows
    as plays, and no local time to compute per row)."""
    month = _month_of_day(TrackDay.day).alias("bucket")
    return (
        TrackDay.select(
            Value(user_id).alias("user_id"),
            month,
            TrackDay.track,
            fn.SUM(TrackDay.plays),
            fn.SUM(TrackDay.ms_played),
            fn.MIN(TrackDay.first_played_at),
            fn.MAX(TrackDay.last_played_at),
        )
        .where(TrackDay.user == user_id)
        .group_by(SQL("bucket"), TrackDay.track)
        .order_by(SQL("bucket"), TrackDay.track)
    )


def _hour_slots(local: LocalTime, mine: Expression, user_id: int) -> Select:
    return (
        Play.select(
            Value(user_id).alias("user_id"),
            local.day.alias("day"),
            local.hour.alias("hour"),
            local.weekday.alias("weekday"),
            fn.COUNT(Play.id),
            fn.SUM(Play.ms_played),
        )
        .where(mine)
        .group_by(SQL("day"), SQL("hour"), SQL("weekday"))
    )


# Every summary that depends on the zone, in the order :func:`rebuild` fills them (a summary
# may read those before it); the catalogue's monthly sums and the weekly charts follow, read
# from these.  A new local summary is one entry here.
LOCAL_SUMMARIES = (
    LocalSummary(TrackDay, _track_columns(TrackDay, TrackDay.day), 2, _track_days),
    LocalSummary(HourSlot, _HOUR_SLOT_COLUMNS, 2, _hour_slots),
    LocalSummary(
        TrackMonth, _track_columns(TrackMonth, TrackMonth.month), 2, _track_months, rewrite=True
    ),
)
ALL_TIME_MODELS = (TrackTotal, ArtistTotal, AlbumTotal, FeatureTotal)


def _fill(summary: LocalSummary, query: Select, user_id: int, rewrite: bool) -> None:
    """Write ``query``'s rows into the summary: inserted into emptied rows, or with
    ``rewrite`` written as the differences from the user's rows (``bulk.replace_user_rows``)."""
    if not rewrite:
        summary.model.insert_from(query, list(summary.columns)).execute()
        return
    sql, params = query.sql()
    names = [column.column_name for column in summary.columns]
    keys = summary.keys
    replace_user_rows(
        summary.model._meta.table_name, names[1 : 1 + keys], names[1 + keys :], sql, params, user_id
    )


def _tune_rebuild_transaction(outermost: bool) -> None:
    """PostgreSQL: the GROUP BYs of a rebuild sort a million rows, which spill to disk with the
    default 4 MB of ``work_mem``; and a rebuild in a transaction of its own (the worker's) is
    recomputable from the plays, so its commit need not wait for the WAL flush: a crash loses
    at most the rebuild, never a play (the zone stays pending and the worker queues it again).
    Inside another transaction (a catalogue change that rebuilds, with plays or links of its
    own to keep) the commit stays synchronous."""
    if is_postgresql():
        db.execute_sql("SET LOCAL work_mem = '64MB'")
        if outermost:
            db.execute_sql("SET LOCAL synchronous_commit = off")


def rebuild(user_id: int, tz: str | None = None, local_only: bool = False) -> None:
    """Recompute the summaries of one user from the raw plays, in one transaction.

    ``tz`` (default: the user's time zone) becomes the zone of the local buckets.  Used when a
    user changes time zone (the worker's job, ``models.jobs.timezones``, with ``local_only``:
    the all-time rows do not depend on the zone and stay as they are; nor do the sessions),
    when the plays that count changed (exclusions) and after bulk loads that bypass
    ``store_plays`` (the benchmark).  Runs as one ``INSERT ... SELECT ... GROUP BY`` per
    summary (:data:`LOCAL_SUMMARIES`, then the catalogue's and the charts').
    """
    outermost = db.transaction_depth() == 0
    with write_transaction():
        if tz is None:
            tz = User.select(User.timezone).where(User.id == user_id).scalar()
            if tz is None:
                raise ValueError(f"no user with id {user_id}")
        zone(tz)
        # Locked first: a play stored meanwhile waits, then goes into the rebuilt buckets.
        _, counted = _lock_summary_row(user_id, tz)
        _tune_rebuild_transaction(outermost)
        if local_only and not counted:
            local_only = False  # nothing summarised yet: the all-time rows are needed too
        # From scratch, every summary is emptied; in a new zone the local ones.  On PostgreSQL
        # a new zone rewrites the month rows, most of which do not change, where they differ
        # (see _fill): a third less WAL.  SQLite spends the same CPU either way, so it keeps
        # the simpler path.
        rewrite_months = local_only and is_postgresql()
        emptied = [
            summary.model for summary in LOCAL_SUMMARIES if not (rewrite_months and summary.rewrite)
        ]
        emptied += [] if rewrite_months else list(catalogue_summaries.MONTH_MODELS)
        if not local_only:
            emptied += ALL_TIME_MODELS
        for model in emptied:
            model.delete().where(model.user == user_id).execute()
        ListeningSummary.update(timezone=tz).where(ListeningSummary.user == user_id).execute()
        listening_context.rebuild(user_id, tz)  # the export's summaries: streams, not plays
        bounds = play_bounds(user_id)
        if bounds is None:
            if rewrite_months:
                for model in (
                    *(summary.model for summary in LOCAL_SUMMARIES if summary.rewrite),
                    *catalogue_summaries.MONTH_MODELS,
                ):
                    model.delete().where(model.user == user_id).execute()
            if not local_only:
                ListeningSummary.update(
                    plays=0, ms_played=0, first_played_at=None, last_played_at=None
                ).where(ListeningSummary.user == user_id).execute()
            charts.rebuild(user_id)
            return
        local = LocalTime(Play.played_at, tz, *bounds)
        mine = Play.user == user_id
        if exclusions.has_exclusions(user_id):
            mine &= exclusions.kept_plays(user_id)
        user_value = Value(user_id).alias("user_id")

        if not local_only:
            TrackTotal.insert_from(
                Play.select(
                    user_value,
                    Play.track,
                    fn.COUNT(Play.id),
                    fn.SUM(Play.ms_played),
                    fn.MIN(Play.played_at),
                    fn.MAX(Play.played_at),
                )
                .where(mine)
                .group_by(Play.track),
                [TrackTotal.user, TrackTotal.track, *(getattr(TrackTotal, n) for n in _TRACK_SUMS)],
            ).execute()
        for summary in LOCAL_SUMMARIES:
            query = summary.select(local, mine, user_id)
            _fill(summary, query, user_id, rewrite_months and summary.rewrite)
        catalogue_summaries.rebuild(user_id, local_only, rewrite_months)
        charts.rebuild(user_id)
        if local_only:
            return
        totals = (
            Play.select(
                fn.COUNT(Play.id),
                fn.COALESCE(fn.SUM(Play.ms_played), 0),  # every play excluded: no sum
                fn.MIN(Play.played_at),
                fn.MAX(Play.played_at),
            )
            .where(mine)
            .tuples()
            .get()
        )
        plays, ms_played, first_played_at, last_played_at = totals
        ListeningSummary.update(
            plays=plays,
            ms_played=ms_played,
            first_played_at=first_played_at,
            last_played_at=last_played_at,
        ).where(ListeningSummary.user == user_id).execute()
