"""Where every statistic's numbers come from: the base queries, the plan that picks their source,
and what the families share (engine tuning, the Page type, paging checks, catalogue look-ups).

The statistics themselves live one family to a module beside this one; they only combine these
pieces, so a rule about reading plays (which summary, which bounds, which engine setting) is
written here once and every page and endpoint follows it.  These base queries feed them all:

- *per track* (track_id, plays, ms_played, first_played_at, last_played_at), one row a track;
- *per artist* and *per album* (the same sums, and the lead artist's share for genres);
- *per audio-features status* (plays and play-weighted feature sums), kept in ``taste.py``,
  the taste profile being its only reader, on the same plan and ``bucket_rows``;
- *per local time* (day, hour, weekday, plays, ms_played).

They are read from the summaries (``models.summaries.listening``, ``models.summaries.catalogue``)
when those can answer the period exactly: all time, or whole local days in the time zone the
summaries are bucketed in (periods from ``parse_period`` always are).  A period is then cut
into whole local months (``*Month``) plus the days at either end (``*Day``), so no statistic
joins the catalogue to more than a page of rows, except genres (artists to their genres),
sorting by name and searching.  Anything else (another time zone,
a hand-made period with odd bounds, a user whose plays bypassed ``store_plays``) is answered
from the raw plays, bucketed into local time in SQL, which is slower but equally exact.
``from_raw_plays()`` forces that path; the tests use it to check the two agree.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
from dataclasses import dataclass, field

from peewee import JOIN, SQL, Case, Select, fn

from models.periods import Period, add_months
from models.schema.db import db, is_postgresql
from models.schema.tables import (
    LEAD_POSITION,
    Album,
    AlbumMonth,
    AlbumTotal,
    Artist,
    ArtistMonth,
    ArtistTotal,
    HourSlot,
    ListeningSummary,
    Play,
    ShownGenre,
    Track,
    TrackArtist,
    TrackDay,
    TrackMonth,
    TrackTotal,
    User,
)
from models.summaries.exclusions import has_exclusions, kept_plays
from models.summaries.listening import LocalTime, play_bounds
from models.summaries.shown_genres import (  # noqa: F401  (the genre rule's names, read here)
    MUSICBRAINZ,
    MUSICBRAINZ_MIN_VOTES,
    MUSICBRAINZ_TOP_GENRES,
    SPOTIFY,
)

SORT_KEYS = ("plays", "time", "first", "last", "name")
MAX_LIMIT = 1000

_force_raw = contextvars.ContextVar("stats_force_raw", default=False)


@contextlib.contextmanager
def from_raw_plays():
    """Within this block every statistic ignores the summaries and reads the raw plays."""
    token = _force_raw.set(True)
    try:
        yield
    finally:
        _force_raw.reset(token)


@dataclass
class Page:
    """One page of a longer list: ``items``, the ``total`` count, and where the page starts."""

    items: list[dict]
    total: int
    limit: int
    offset: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.items)
        return following if following < self.total else None

    def as_dict(self) -> dict:
        return {
            "items": self.items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.next_offset,
        }


# --- small conversions and checks ----------------------------------------------------------------


def as_int(value) -> int:
    return 0 if value is None else int(value)


def as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def check_page(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or limit < 1 or limit > MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")


def check_sort(sort: str) -> None:
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")


# --- engine tuning, query helpers ----------------------------------------------------------------


AGGREGATE_SETTINGS = (
    "SET LOCAL max_parallel_workers_per_gather = 0; "
    "SET LOCAL work_mem = '32MB'; SET LOCAL random_page_cost = 1.1"
)
LOOKUP_SETTINGS = "SET LOCAL max_parallel_workers_per_gather = 0"
LONG_PERIOD_SETTINGS = "SET LOCAL enable_nestloop = off"


def _tuned(settings: str):
    """Run a statistic in a read transaction with ``settings`` on PostgreSQL.

    Parallel workers each rebuild the same hash of the catalogue and fight the web workers for
    a small machine's cores; a year of per-track sums fits in 32 MB instead of spilling.  See
    :func:`plan_for` for nested loops.  ``SET LOCAL`` ends with the transaction (the caller's, if
    it holds one).
    """

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            if not is_postgresql():
                return function(*args, **kwargs)
            with db.atomic():
                db.execute_sql(settings)
                return function(*args, **kwargs)

        return run

    return decorate


# Every statistic over a period is decorated with ``statistic``; the track and artist pages and
# the history, which read one user's rows by key, with ``lookup``.
statistic = _tuned(AGGREGATE_SETTINGS)
lookup = _tuned(LOOKUP_SETTINGS)


def select_from(sources, columns) -> Select:
    """A plain SELECT over subqueries, bound to the shared database."""
    return Select(from_list=sources, columns=columns).bind(db)


def count_rows(rows):
    """Subquery counting the rows of subquery ``rows``."""
    return select_from([rows], [fn.COUNT(SQL("*"))])


# --- where the answer comes from -----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How to read one user's plays over one period: from summaries, or raw."""

    user_id: int
    period: Period
    all_time: bool = False  # per-track rows from TrackTotal
    summary_days: bool = False  # local buckets (TrackDay/TrackMonth/HourSlot) are usable
    empty: bool = False
    # summaries are read and the period ends after the last play: nothing played later
    through_last_play: bool = False


def _summary_state(user_id: int):
    return (
        ListeningSummary.select(
            ListeningSummary.timezone,
            ListeningSummary.plays,
            ListeningSummary.ms_played,
            ListeningSummary.first_played_at,
            ListeningSummary.last_played_at,
        )
        .where(ListeningSummary.user == user_id)
        .tuples()
        .first()
    )


def plan_for(user_id: int, period: Period, aggregate: bool = True) -> Plan:
    """Where to read one user's period from.

    For an ``aggregate`` over a long period (whole months, all time, raw plays) PostgreSQL is
    told not to use nested loops: it underestimates the per-track sums and would probe the
    catalogue's indexes thousands of times, where one hash of it is two to three times faster.
    A week keeps nested loops: a few hundred probes beat hashing 60k tracks.
    """
    if period.start is not None and period.start >= period.end:
        return Plan(user_id, period, empty=True)
    state = None if _force_raw.get() else _summary_state(user_id)
    if state is None:
        plan = Plan(user_id, period)
    else:
        timezone, plays, _, _, last = state
        if not plays:
            return Plan(user_id, period, empty=True)
        last_at = as_datetime(last)
        assert last_at is not None  # a summary that counts plays has a last one
        all_time = period.start is None and period.end > last_at
        plan = Plan(
            user_id,
            period,
            all_time=all_time,
            summary_days=timezone == period.tz and (period.whole_days or all_time),
            through_last_play=period.end > last_at,
        )
    if aggregate:
        prefer_hash_joins(plan)
    return plan


def all_time_plan(user_id: int, tz: str | None) -> Plan:
    """All time in ``tz``, else the summaries' zone, else the user's: the track and artist
    pages' plan."""
    state = None if _force_raw.get() else _summary_state(user_id)
    zone_name = tz or (state[0] if state else None)
    if zone_name is None:
        zone_name = User.select(User.timezone).where(User.id == user_id).scalar() or "UTC"
    far = dt.datetime(9999, 1, 1)
    return plan_for(user_id, Period(None, far, zone_name, "All time", "all"), aggregate=False)


def summary_zone(user_id: int) -> str | None:
    """The zone the user's local summaries are bucketed in; None when statistics are to read
    raw rows (no summaries yet, or inside :func:`from_raw_plays`)."""
    state = None if _force_raw.get() else _summary_state(user_id)
    return None if state is None else state[0]


def prefer_hash_joins(plan: Plan) -> None:
    if is_postgresql() and _is_long(plan):
        db.execute_sql(LONG_PERIOD_SETTINGS)


def _is_long(plan: Plan) -> bool:
    return plan.all_time or not plan.summary_days or _day_ranges(plan)[0] is not None


def mine(user_id: int):
    """The user's plays that count: every reader of raw plays starts here, so exclusions
    (``models.summaries.exclusions``) hold everywhere."""
    where = Play.user == user_id
    if has_exclusions(user_id):
        where &= kept_plays(user_id)
    return where


def _raw_filter(plan: Plan):
    where = mine(plan.user_id) & (Play.played_at < plan.period.end)
    if plan.period.start is not None:
        where &= Play.played_at >= plan.period.start
    return where


def _day_ranges(plan: Plan):
    """Whole months ``(lo, hi)`` (or None) and day ranges ``[(lo, hi), ...]``, ends exclusive."""
    if plan.all_time:
        return (None, None), []
    return month_and_day_ranges(plan.period)


def month_and_day_ranges(period: Period):
    """A period of whole local days cut into whole local months ``(lo, hi)`` (or None; ``lo``
    None: from the first) and the day ranges at either end ``[(lo, hi), ...]``, ends exclusive:
    what a summarised period is summed from (the months' rows and the days')."""
    first = period.first_day
    if period.last_day is None:
        return (None, None), []
    end = period.last_day + dt.timedelta(days=1)
    month_hi = end.replace(day=1)
    if first is None:
        return (None, month_hi), [(month_hi, end)]
    month_lo = first if first.day == 1 else add_months(first.replace(day=1), 1)
    if month_lo < month_hi:
        return (month_lo, month_hi), [(first, month_lo), (month_hi, end)]
    return None, [(first, end)]


def bucket_rows(plan: Plan, month_model, day_model, columns, where=None, day_rows=None):
    """``UNION ALL`` of ``columns(model)`` over the whole local months of the period
    (``month_model``) and the days at either end (``day_model``), with ``where(model)`` if
    given and not None: the rows a summarised period is summed from.

    ``day_rows``: for a summary kept per month only (artists, albums, features: a time-zone
    change would rewrite a million day rows of theirs), a function from the condition on
    ``day_model`` (``TrackDay``) to the rows the edge days give, in ``columns``' order and
    names: the track days joined to the catalogue, a few thousand rows at most
    (docs/query-plans.md).
    """
    months, days = _day_ranges(plan)
    ranges = [(month_model, month_model.month, *months)] if months is not None else []
    ranges += [(day_model, day_model.day, lo, hi) for lo, hi in days if lo < hi]
    parts = []
    for model, bucket, lo, hi in ranges:
        condition = (model.user == plan.user_id) & (bucket < hi)
        if lo is not None:
            condition &= bucket >= lo
        narrowing = None if where is None else where(model)
        if narrowing is not None:
            condition &= narrowing
        if day_rows is not None and model is day_model:
            parts.append(day_rows(condition))
        else:
            parts.append(model.select(*columns(model)).where(condition))
    return functools.reduce(lambda a, b: a + b, parts).alias("parts")  # UNION ALL


def _summed(source, spans: bool) -> list:
    """SUM of plays and time over ``source``'s rows, and with ``spans`` their first and last."""
    columns = [fn.SUM(source.c.plays).alias("plays"), fn.SUM(source.c.ms_played).alias("ms_played")]
    if spans:
        columns += [
            fn.MIN(source.c.first_played_at).alias("first_played_at"),
            fn.MAX(source.c.last_played_at).alias("last_played_at"),
        ]
    return columns


# --- per track -----------------------------------------------------------------------------------


def per_track(plan: Plan, track_ids=None, spans: bool = False):
    """Subquery ``pt``: (track_id, plays, ms_played[, first_played_at, last_played_at]), one
    row per track played in the period.  First and last played are read only where shown
    (``spans``): they cost a third of the work."""
    return _per_track_query(plan, track_ids, spans).alias("pt")


def _track_columns(model, spans: bool) -> list:
    columns = [model.track.alias("track_id"), model.plays, model.ms_played]
    if spans:
        columns += [model.first_played_at, model.last_played_at]
    return columns


def _per_track_query(plan: Plan, track_ids, spans: bool):
    if plan.all_time:
        query = TrackTotal.select(*_track_columns(TrackTotal, spans)).where(
            TrackTotal.user == plan.user_id
        )
        if track_ids is not None:
            query = query.where(TrackTotal.track.in_(track_ids))
        return query
    if not plan.summary_days:
        columns = [
            Play.track.alias("track_id"),
            fn.COUNT(Play.id).alias("plays"),
            fn.SUM(Play.ms_played).alias("ms_played"),
        ]
        if spans:
            columns += [
                fn.MIN(Play.played_at).alias("first_played_at"),
                fn.MAX(Play.played_at).alias("last_played_at"),
            ]
        query = Play.select(*columns).where(_raw_filter(plan)).group_by(Play.track)
        if track_ids is not None:
            query = query.where(Play.track.in_(track_ids))
        return query
    rows = bucket_rows(
        plan,
        TrackMonth,
        TrackDay,
        lambda model: _track_columns(model, spans),
        None if track_ids is None else lambda model: model.track.in_(track_ids),
    )
    return select_from([rows], [rows.c.track_id, *_summed(rows, spans)]).group_by(rows.c.track_id)


# --- per artist, per album, per genre ------------------------------------------------------------


# Per artist and per album: their summaries (``models.summaries.catalogue``) when the period
# can be read from summaries; raw plays go through the catalogue's links.


_ENTITIES = {
    "artist": (
        ArtistTotal,
        ArtistMonth,
        "artist_id",
        ("plays", "ms_played", "lead_plays", "lead_ms_played"),
    ),
    "album": (AlbumTotal, AlbumMonth, "album_id", ("plays", "ms_played")),
}


def _linked(kind: str, source, spans: bool) -> Select:
    """Rows of per-track ``source`` (track_id, plays, ms_played[, first, last]) as rows of
    their artists (one per credit, with the lead's share) or of their album."""
    columns = [source.c.plays, source.c.ms_played]
    if kind == "artist":
        lead = [
            Case(None, [(TrackArtist.position == LEAD_POSITION, value)], 0).alias(f"lead_{name}")
            for name, value in (("plays", source.c.plays), ("ms_played", source.c.ms_played))
        ]
        columns = [TrackArtist.artist.alias("artist_id"), *columns, *lead]
    else:
        columns = [Track.album.alias("album_id"), *columns]
    if spans:
        columns += [source.c.first_played_at, source.c.last_played_at]
    query = select_from([source], columns)
    if kind == "artist":
        return query.join(TrackArtist, on=(TrackArtist.track == source.c.track_id))
    return query.join(Track, on=(Track.id == source.c.track_id)).where(Track.album.is_null(False))


def per_entity(plan: Plan, kind: str, spans: bool = False, keys=None):
    """Subquery ``per_<kind>``: (artist_id, plays, ms_played, lead_plays, lead_ms_played
    [, first/last_played_at]) per artist, or (album_id, plays, ms_played[, ...]) per album;
    with ``keys``, only the rows of those artists or albums, narrowed where they are read."""
    total_model, month_model, key, counters = _ENTITIES[kind]
    names = counters + (("first_played_at", "last_played_at") if spans else ())

    def columns(model):
        return [getattr(model, key[:-3]).alias(key), *[getattr(model, n) for n in names]]

    def narrowed(model):
        return getattr(model, key[:-3]).in_(keys)

    if plan.all_time:
        where = total_model.user == plan.user_id
        if keys is not None:
            where &= narrowed(total_model)
        return total_model.select(*columns(total_model)).where(where).alias(f"per_{kind}")
    if not plan.summary_days:
        tracks = None
        if keys is not None:  # only the tracks crediting these artists, or on these albums
            tracks = (
                TrackArtist.select(TrackArtist.track).where(TrackArtist.artist.in_(keys))
                if kind == "artist"
                else Track.select(Track.id).where(Track.album.in_(keys))
            )
        rows = _linked(kind, per_track(plan, track_ids=tracks, spans=spans), spans).alias("linked")
    else:

        def day_rows(condition):
            days = TrackDay.select(*_track_columns(TrackDay, spans)).where(condition)
            linked = _linked(kind, days.alias("days"), spans)
            if keys is not None:
                linked = linked.where(
                    (TrackArtist.artist if kind == "artist" else Track.album).in_(keys)
                )
            return linked

        def narrowed_months(model):
            return narrowed(model) if model is month_model else None

        rows = bucket_rows(
            plan,
            month_model,
            TrackDay,
            columns,
            None if keys is None else narrowed_months,
            day_rows=day_rows,
        )
    sums = [fn.SUM(getattr(rows.c, name)).alias(name) for name in counters]
    if spans:
        sums += [
            fn.MIN(rows.c.first_played_at).alias("first_played_at"),
            fn.MAX(rows.c.last_played_at).alias("last_played_at"),
        ]
    key_column = getattr(rows.c, key)
    query = select_from([rows], [key_column, *sums]).group_by(key_column)
    if keys is not None and not plan.summary_days:  # a track's other artists came along
        query = query.where(key_column.in_(keys))
    return query.alias(f"per_{kind}")


def artist_totals(plan: Plan, spans: bool = False, keys=None):
    """Subquery ``per_artist``: (artist_id, plays, ms_played, lead_plays, lead_ms_played
    [, first/last_played_at]), of the artists ``keys`` only if given."""
    return per_entity(plan, "artist", spans, keys)


def album_totals(plan: Plan, spans: bool = False):
    """Subquery ``per_album``: (album_id, plays, ms_played[, first/last_played_at])."""
    return per_entity(plan, "album", spans)


def shown_genres():
    """Subquery ``shown``: (artist_id, source, genre), the genres each artist shows by the one
    rule of every genre statistic, kept as rows by ``models.summaries.shown_genres``."""
    return ShownGenre.select(
        ShownGenre.artist.alias("artist_id"), ShownGenre.source, ShownGenre.genre
    ).alias("shown")


def lead_totals(plan: Plan):
    """Subquery ``per_lead``: (artist_id, plays, ms_played) of the tracks each artist leads:
    a track takes its lead artist's genres (a featured guest's would mostly be noise)."""
    per_artist = per_entity(plan, "artist")
    return (
        select_from(
            [per_artist],
            [
                per_artist.c.artist_id,
                per_artist.c.lead_plays.alias("plays"),
                per_artist.c.lead_ms_played.alias("ms_played"),
            ],
        )
        .where(per_artist.c.lead_plays > 0)
        .alias("per_lead")
    )


def genres_query(plan: Plan, limit: int, offset: int):
    """Genres played in the period: (source, genre, plays, ms_played), most plays first.

    Genres belong to artists (:func:`shown_genres`); a play counts once for each genre of its
    track's lead artist: the artists' ``lead_*`` sums, a few thousand rows.
    """
    per_lead = lead_totals(plan)
    shown = shown_genres()
    return (
        select_from(
            [per_lead],
            [
                shown.c.source,
                shown.c.genre,
                fn.SUM(per_lead.c.plays).alias("plays"),
                fn.SUM(per_lead.c.ms_played).alias("ms_played"),
            ],
        )
        .join(shown, on=(shown.c.artist_id == per_lead.c.artist_id))
        .group_by(shown.c.source, shown.c.genre)
        .order_by(SQL("plays").desc(), shown.c.genre, shown.c.source)
        .limit(limit)
        .offset(offset)
    )


def with_shares(rows: list[dict], total: int) -> list[dict]:
    for row in rows:
        row["share"] = row["plays"] / total if total else 0.0
    return rows


# --- per local time ------------------------------------------------------------------------------


def per_time(plan: Plan, *keys: str):
    """Rows (``keys``..., plays, ms_played) grouped by local day / hour / weekday."""
    if plan.summary_days:
        columns = [getattr(HourSlot, key).alias(key) for key in keys]
        where = HourSlot.user == plan.user_id
        if not plan.all_time and plan.period.first_day is not None:
            where &= HourSlot.day >= plan.period.first_day
        if not plan.all_time:
            where &= HourSlot.day <= plan.period.last_day
        query = HourSlot.select(
            *columns,
            fn.SUM(HourSlot.plays).alias("plays"),
            fn.SUM(HourSlot.ms_played).alias("ms_played"),
        ).where(where)
    else:
        bounds = play_bounds(plan.user_id)
        if bounds is None:
            return []
        lo = max(bounds[0], plan.period.start) if plan.period.start else bounds[0]
        hi = min(bounds[1], plan.period.end)
        local = LocalTime(Play.played_at, plan.period.tz, lo, max(lo, hi))
        columns = [getattr(local, key).alias(key) for key in keys]
        query = Play.select(
            *columns, fn.COUNT(Play.id).alias("plays"), fn.SUM(Play.ms_played).alias("ms_played")
        ).where(_raw_filter(plan))
    if keys:
        query = query.group_by(*[SQL(key) for key in keys])
    return list(query.dicts())


def play_total(plan: Plan) -> int:
    rows = per_time(plan)
    return as_int(rows[0]["plays"]) if rows else 0


def user_total_plays(user_id: int) -> int:
    state = None if _force_raw.get() else _summary_state(user_id)
    if state is not None:
        return as_int(state[1])
    return Play.select().where(mine(user_id)).count()


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: dt.date, bucket: str) -> dt.date:
    if bucket == "week":
        return start + dt.timedelta(days=7)
    if bucket == "month":
        return add_months(start, 1)
    return start + dt.timedelta(days=1)


def series_of(
    per_day: dict[dt.date, list[int]], first: dt.date | None, last: dt.date | None, bucket: str
) -> list[dict]:
    """Day totals rolled up into ``bucket``s from ``first`` to ``last``, empty buckets as 0."""
    if bucket not in ("day", "week", "month"):
        raise ValueError(f"bucket must be day, week or month, got {bucket!r}")
    if not per_day and (first is None or last is None):
        return []
    first = first or min(per_day)
    last = last or max(per_day)
    sums: dict[dt.date, list[int]] = {}
    for day, (plays, ms_played) in per_day.items():
        cell = sums.setdefault(_bucket_start(day, bucket), [0, 0])
        cell[0] += plays
        cell[1] += ms_played
    series = []
    start = _bucket_start(first, bucket)
    while start <= last:
        plays, ms_played = sums.get(start, (0, 0))
        series.append({"bucket": start.isoformat(), "plays": plays, "ms_played": ms_played})
        start = _next_bucket(start, bucket)
    return series


# --- catalogue look-ups for a page of rows -------------------------------------------------------


def _artists_of_tracks(track_ids) -> dict[str, list[dict]]:
    """{track_id: [{"id", "name"}, ...]} in credit order, in one query."""
    found: dict[str, list[dict]] = {track_id: [] for track_id in track_ids}
    if not found:
        return found
    rows = (
        TrackArtist.select(TrackArtist.track, Artist.id, Artist.name)
        .join(Artist, on=(Artist.id == TrackArtist.artist))
        .where(TrackArtist.track.in_(list(found)))
        .order_by(TrackArtist.track, TrackArtist.position, Artist.name)
        .tuples()
    )
    for track_id, artist_id, name in rows:
        found[track_id].append({"id": artist_id, "name": name})
    return found


def _artists_of_albums(album_ids) -> dict[str, list[dict]]:
    """{album_id: [{"id", "name"}]}: the lead artists of the album's known tracks."""
    found: dict[str, list[dict]] = {album_id: [] for album_id in album_ids if album_id}
    if not found:
        return found
    rows = (
        TrackArtist.select(Track.album, Artist.id, Artist.name)
        .join(Track, on=(Track.id == TrackArtist.track))
        .join(Artist, on=(Artist.id == TrackArtist.artist), src=TrackArtist)
        .where(Track.album.in_(list(found)) & (TrackArtist.position == LEAD_POSITION))
        .distinct()
        .order_by(Track.album, Artist.name)
        .tuples()
    )
    for album_id, artist_id, name in rows:
        found[album_id].append({"id": artist_id, "name": name})
    return found


def with_track_artists(rows: list[dict]) -> list[dict]:
    artists = _artists_of_tracks([row["track_id"] for row in rows])
    for row in rows:
        row["artists"] = artists[row["track_id"]]
    return rows


def with_album_artists(rows: list[dict]) -> list[dict]:
    artists = _artists_of_albums([row["album_id"] for row in rows])
    for row in rows:
        row["artists"] = artists.get(row["album_id"], [])
    return rows


def clean(row: dict) -> dict:
    """Numbers as ints, instants as naive UTC datetimes, whatever the engine returned."""
    for key in ("plays", "ms_played"):
        if key in row:
            row[key] = as_int(row[key])
    for key in ("first_played_at", "last_played_at", "played_at"):
        if key in row:
            row[key] = as_datetime(row[key])
    return row


def track_columns() -> list:
    """The fields every track row carries, whichever statistic returns it (the list, a detail
    page, the history): ``track_id, name, album_id, album_name, image_url``; the query joins
    ``Album`` LEFT OUTER on ``Track.album`` (a stub track has no album yet)."""
    return [
        Track.id.alias("track_id"),
        Track.name,
        Track.album.alias("album_id"),
        Album.name.alias("album_name"),
        Album.image_url,
    ]


def track_base(*columns):
    """Tracks with their album, plus ``columns`` (from a joined aggregate)."""
    return Track.select(*track_columns(), Track.popularity, *columns).join(
        Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album)
    )


def artist_base(*columns):
    return Artist.select(
        Artist.id.alias("artist_id"), Artist.name, Artist.image_url, Artist.popularity, *columns
    )


def album_base(*columns):
    return Album.select(Album.id.alias("album_id"), Album.name, Album.image_url, *columns)


def with_catalogue(ranked: list[dict], key: str, model, base) -> list[dict]:
    """The catalogue columns of ``base()`` for the ranked rows (a page: by primary key, so a
    long period's hash-join settings cannot turn 50 look-ups into a scan), in their order."""
    if not ranked:
        return []
    found = {
        row[key]: row for row in base().where(model.id.in_([row[key] for row in ranked])).dicts()
    }
    rows = []
    for row in ranked:
        row = {**found.get(row[key], {key: row[key]}), **row}
        rows.append(clean(row))
    return rows
