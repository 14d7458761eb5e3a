"""Every statistic Spotify Tracker shows: one function each, called by the pages and the API.

Each function takes a user id and a :class:`models.periods.Period` and aggregates in SQL.  Rows
are plain dicts with JSON-friendly values: datetimes are naive UTC (the caller localises them),
local buckets (days, months, hours) are in the period's time zone, and values Spotify does not
give a development-mode app (popularity, audio features) are None, never 0.

Where the answer comes from.  These base queries feed every statistic:

- *per track* (track_id, plays, ms_played, first_played_at, last_played_at), one row a track;
- *per artist* and *per album* (the same sums, and the lead artist's share for genres);
- *per audio-features status* (plays and play-weighted feature sums, for the taste profile);
- *per local time* (day, hour, weekday, plays, ms_played).

They are read from the summaries (``models.summaries.listening``, ``models.summaries.catalogue``) when
those can answer the period exactly: all time, or whole local days in the time zone the
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
from decimal import Decimal

from peewee import JOIN, SQL, Case, NodeList, Select, Value, fn

from models.periods import Period, add_months, local_date
from models.schema.db import db, is_postgresql
from models.schema.tables import (
    LEAD_POSITION,
    PROFILE_FEATURES,
    Album,
    AlbumDay,
    AlbumMonth,
    AlbumTotal,
    Artist,
    ArtistDay,
    ArtistGenre,
    ArtistMonth,
    ArtistTotal,
    AudioFeatures,
    FeatureDay,
    FeatureMonth,
    FeatureTotal,
    Genre,
    HourSlot,
    ListeningSummary,
    Play,
    Track,
    TrackArtist,
    TrackDay,
    TrackMonth,
    TrackTotal,
)
from models.summaries.catalogue import MICRO
from models.summaries.listening import LocalTime, play_bounds

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


# --- small conversions -------------------------------------------------------------------------


def _int(value) -> int:
    return 0 if value is None else int(value)


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _check_page(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or limit < 1 or limit > MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")


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
    :func:`_plan` for nested loops.  ``SET LOCAL`` ends with the transaction (the caller's, if
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


_statistic = _tuned(AGGREGATE_SETTINGS)
_lookup = _tuned(LOOKUP_SETTINGS)


def _select(sources, columns) -> Select:
    """A plain SELECT over subqueries, bound to the shared database."""
    return Select(from_list=sources, columns=columns).bind(db)


# --- where the answer comes from ---------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How to read one user's plays over one period: from summaries, or raw."""

    user_id: int
    period: Period
    all_time: bool = False  # per-track rows from TrackTotal
    summary_days: bool = False  # local buckets (TrackDay/TrackMonth/HourSlot) are usable
    empty: bool = False


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


def _plan(user_id: int, period: Period, aggregate: bool = True) -> _Plan:
    """Where to read one user's period from.

    For an ``aggregate`` over a long period (whole months, all time, raw plays) PostgreSQL is
    told not to use nested loops: it underestimates the per-track sums and would probe the
    catalogue's indexes thousands of times, where one hash of it is two to three times faster.
    A week keeps nested loops: a few hundred probes beat hashing 60k tracks.
    """
    if period.start is not None and period.start >= period.end:
        return _Plan(user_id, period, empty=True)
    state = None if _force_raw.get() else _summary_state(user_id)
    if state is None:
        plan = _Plan(user_id, period)
    else:
        timezone, plays, _, _, last = state
        if not plays:
            return _Plan(user_id, period, empty=True)
        all_time = period.start is None and period.end > _datetime(last)
        plan = _Plan(
            user_id,
            period,
            all_time=all_time,
            summary_days=timezone == period.tz and (period.whole_days or all_time),
        )
    if aggregate:
        _prefer_hash_joins(plan)
    return plan


def _prefer_hash_joins(plan: _Plan) -> None:
    if is_postgresql() and _is_long(plan):
        db.execute_sql(LONG_PERIOD_SETTINGS)


def _is_long(plan: _Plan) -> bool:
    return plan.all_time or not plan.summary_days or _day_ranges(plan)[0] is not None


def _raw_filter(plan: _Plan):
    where = (Play.user == plan.user_id) & (Play.played_at < plan.period.end)
    if plan.period.start is not None:
        where &= Play.played_at >= plan.period.start
    return where


def _day_ranges(plan: _Plan):
    """Whole months ``(lo, hi)`` (or None) and day ranges ``[(lo, hi), ...]``, ends exclusive."""
    first = plan.period.first_day
    if plan.all_time or plan.period.last_day is None:
        return (None, None), []
    end = plan.period.last_day + dt.timedelta(days=1)
    month_hi = end.replace(day=1)
    if first is None:
        return (None, month_hi), [(month_hi, end)]
    month_lo = first if first.day == 1 else add_months(first.replace(day=1), 1)
    if month_lo < month_hi:
        return (month_lo, month_hi), [(first, month_lo), (month_hi, end)]
    return None, [(first, end)]


def _bucket_rows(plan: _Plan, month_model, day_model, columns, where=None):
    """``UNION ALL`` of ``columns(model)`` over the whole local months of the period
    (``month_model``) and the days at either end (``day_model``), with ``where(model)`` if
    given: the rows a summarised period is summed from."""
    months, days = _day_ranges(plan)
    ranges = [(month_model, month_model.month, *months)] if months is not None else []
    ranges += [(day_model, day_model.day, lo, hi) for lo, hi in days if lo < hi]
    parts = []
    for model, bucket, lo, hi in ranges:
        condition = (model.user == plan.user_id) & (bucket < hi)
        if lo is not None:
            condition &= bucket >= lo
        if where is not None:
            condition &= where(model)
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


def _per_track(plan: _Plan, track_ids=None, spans: bool = False):
    """Subquery ``pt``: (track_id, plays, ms_played[, first_played_at, last_played_at]), one
    row per track played in the period.  First and last played are read only where shown
    (``spans``): they cost a third of the work."""
    return _per_track_query(plan, track_ids, spans).alias("pt")


def _track_columns(model, spans: bool) -> list:
    columns = [model.track.alias("track_id"), model.plays, model.ms_played]
    if spans:
        columns += [model.first_played_at, model.last_played_at]
    return columns


def _per_track_query(plan: _Plan, track_ids, spans: bool):
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
    rows = _bucket_rows(
        plan,
        TrackMonth,
        TrackDay,
        lambda model: _track_columns(model, spans),
        None if track_ids is None else lambda model: model.track.in_(track_ids),
    )
    return _select([rows], [rows.c.track_id, *_summed(rows, spans)]).group_by(rows.c.track_id)


# Per artist and per album: their summaries (``models.summaries.catalogue``) when the period
# can be read from summaries; raw plays go through the catalogue's links.
_ENTITIES = {
    "artist": (
        ArtistTotal,
        ArtistMonth,
        ArtistDay,
        "artist_id",
        ("plays", "ms_played", "lead_plays", "lead_ms_played"),
    ),
    "album": (AlbumTotal, AlbumMonth, AlbumDay, "album_id", ("plays", "ms_played")),
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
    query = _select([source], columns)
    if kind == "artist":
        return query.join(TrackArtist, on=(TrackArtist.track == source.c.track_id))
    return query.join(Track, on=(Track.id == source.c.track_id)).where(Track.album.is_null(False))


def _per_entity(plan: _Plan, kind: str, spans: bool = False):
    """Subquery ``per_<kind>``: (artist_id, plays, ms_played, lead_plays, lead_ms_played
    [, first/last_played_at]) per artist, or (album_id, plays, ms_played[, ...]) per album."""
    total_model, month_model, day_model, key, counters = _ENTITIES[kind]
    names = counters + (("first_played_at", "last_played_at") if spans else ())

    def columns(model):
        return [getattr(model, key[:-3]).alias(key), *[getattr(model, n) for n in names]]

    if plan.all_time:
        return (
            total_model.select(*columns(total_model))
            .where(total_model.user == plan.user_id)
            .alias(f"per_{kind}")
        )
    if not plan.summary_days:
        rows = _linked(kind, _per_track(plan, spans=spans), spans).alias("linked")
    else:
        rows = _bucket_rows(plan, month_model, day_model, columns)
    sums = [fn.SUM(getattr(rows.c, name)).alias(name) for name in counters]
    if spans:
        sums += [
            fn.MIN(rows.c.first_played_at).alias("first_played_at"),
            fn.MAX(rows.c.last_played_at).alias("last_played_at"),
        ]
    key_column = getattr(rows.c, key)
    return _select([rows], [key_column, *sums]).group_by(key_column).alias(f"per_{kind}")


def _per_time(plan: _Plan, *keys: str):
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


# --- catalogue look-ups for a page of rows -----------------------------------------------------


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


def _track_rows(rows: list[dict]) -> list[dict]:
    artists = _artists_of_tracks([row["track_id"] for row in rows])
    for row in rows:
        row["artists"] = artists[row["track_id"]]
    return rows


def _clean(row: dict) -> dict:
    """Numbers as ints, instants as naive UTC datetimes, whatever the engine returned."""
    for key in ("plays", "ms_played"):
        if key in row:
            row[key] = _int(row[key])
    for key in ("first_played_at", "last_played_at", "played_at"):
        if key in row:
            row[key] = _datetime(row[key])
    return row


# --- totals ------------------------------------------------------------------------------------


@_statistic
def totals(user_id: int, period: Period) -> dict:
    """``{"plays", "ms_played", "unique_tracks", "unique_artists", "unique_albums"}``."""
    plan = _plan(user_id, period)
    result = dict(plays=0, ms_played=0, unique_tracks=0, unique_artists=0, unique_albums=0)
    if plan.empty:
        return result
    pt = _per_track(plan)
    row = (
        _select(
            [pt],
            [
                fn.COUNT(pt.c.track_id),
                fn.SUM(pt.c.plays),
                fn.SUM(pt.c.ms_played),
                _count(_per_entity(plan, "artist")),
                _count(_per_entity(plan, "album")),
            ],
        )
        .tuples()
        .get()
    )
    for key, value in zip(
        ("unique_tracks", "plays", "ms_played", "unique_artists", "unique_albums"), row
    ):
        result[key] = _int(value)
    return result


def _count(rows):
    """Subquery counting the rows of subquery ``rows``."""
    return _select([rows], [fn.COUNT(SQL("*"))])


def _play_total(plan: _Plan) -> int:
    rows = _per_time(plan)
    return _int(rows[0]["plays"]) if rows else 0


# --- top lists ---------------------------------------------------------------------------------


def _track_base(*columns):
    """Tracks with their album, plus ``columns`` (from a joined aggregate)."""
    return Track.select(
        Track.id.alias("track_id"),
        Track.name,
        Track.album.alias("album_id"),
        Album.name.alias("album_name"),
        Album.image_url,
        Track.popularity,
        *columns,
    ).join(Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album))


def _artist_base(*columns):
    return Artist.select(
        Artist.id.alias("artist_id"), Artist.name, Artist.image_url, Artist.popularity, *columns
    )


def _album_base(*columns):
    return Album.select(Album.id.alias("album_id"), Album.name, Album.image_url, *columns)


def _with_catalogue(ranked: list[dict], key: str, model, base) -> list[dict]:
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
        rows.append(_clean(row))
    return rows


def _top(aggregate, key: str, model, base, limit: int, offset: int) -> list[dict]:
    """The ``limit`` rows of ``aggregate`` with the most plays, then their catalogue columns."""
    key_column = getattr(aggregate.c, key)
    ranked = list(
        _select([aggregate], [key_column, aggregate.c.plays, aggregate.c.ms_played])
        .order_by(aggregate.c.plays.desc(), aggregate.c.ms_played.desc(), key_column)
        .limit(limit)
        .offset(offset)
        .dicts()
    )
    return _with_catalogue(ranked, key, model, base)


@_statistic
def top_tracks(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played tracks: ``{track_id, name, artists: [{id, name}], album_id, album_name,
    image_url, popularity (None if unknown), plays, ms_played}``, most plays first."""
    _check_page(limit, offset)
    plan = _plan(user_id, period)
    if plan.empty:
        return []
    return _track_rows(_top(_per_track(plan), "track_id", Track, _track_base, limit, offset))


def _artist_totals(plan: _Plan, spans: bool = False):
    """Subquery ``per_artist``: (artist_id, plays, ms_played, lead_plays, lead_ms_played
    [, first/last_played_at])."""
    return _per_entity(plan, "artist", spans)


def _album_totals(plan: _Plan, spans: bool = False):
    """Subquery ``per_album``: (album_id, plays, ms_played[, first/last_played_at])."""
    return _per_entity(plan, "album", spans)


@_statistic
def top_artists(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played artists (a play counts for each credited artist): ``{artist_id, name,
    image_url, popularity (None if unknown), plays, ms_played}``."""
    _check_page(limit, offset)
    plan = _plan(user_id, period)
    if plan.empty:
        return []
    return _top(_artist_totals(plan), "artist_id", Artist, _artist_base, limit, offset)


@_statistic
def top_albums(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played albums: ``{album_id, name, image_url, artists: [{id, name}], plays,
    ms_played}`` (plays of tracks whose album is not known yet are left out)."""
    _check_page(limit, offset)
    plan = _plan(user_id, period)
    if plan.empty:
        return []
    rows = _top(_album_totals(plan), "album_id", Album, _album_base, limit, offset)
    return _with_album_artists(rows)


def _with_album_artists(rows: list[dict]) -> list[dict]:
    artists = _artists_of_albums([row["album_id"] for row in rows])
    for row in rows:
        row["artists"] = artists.get(row["album_id"], [])
    return rows


@_statistic
def top_genres(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Genres played: ``{genre, plays, ms_played, share}``, most plays first.

    A play counts once for each genre of the track's lead artist (the first credited);
    ``share`` is the part of the period's plays that had the genre (shares may add up to more
    than 1: an artist has several genres).
    """
    _check_page(limit, offset)
    plan = _plan(user_id, period)
    if plan.empty:
        return []
    return _genres(plan, limit, offset)


def _genres(plan: _Plan, limit: int, offset: int) -> list[dict]:
    rows = [_clean(row) for row in _genres_query(plan, limit, offset).dicts()]
    return _with_shares(rows, _play_total(plan) if rows else 0)


def _genres_query(plan: _Plan, limit: int, offset: int):
    """Genres played in the period: (genre, plays, ms_played), most plays first.

    Genres belong to artists in Spotify's model; a track takes its lead artist's (a featured
    guest's genres would mostly be noise): the artists' ``lead_*`` sums, a few thousand rows.
    """
    per_artist = _per_entity(plan, "artist")
    per_lead = (
        _select(
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
    return (
        _select(
            [per_lead],
            [
                Genre.name.alias("genre"),
                fn.SUM(per_lead.c.plays).alias("plays"),
                fn.SUM(per_lead.c.ms_played).alias("ms_played"),
            ],
        )
        .join(ArtistGenre, on=(ArtistGenre.artist == per_lead.c.artist_id))
        .join(Genre, on=(Genre.id == ArtistGenre.genre))
        .group_by(Genre.id, Genre.name)
        .order_by(SQL("plays").desc(), Genre.name)
        .limit(limit)
        .offset(offset)
    )


def _with_shares(rows: list[dict], total: int) -> list[dict]:
    for row in rows:
        row["share"] = row["plays"] / total if total else 0.0
    return rows


# --- unique tracks / artists / albums (sortable, searchable pages) ------------------------------


def _check_sort(sort: str) -> None:
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")


def _search_term(search: str | None) -> str | None:
    if search is None:
        return None
    search = search.strip()
    if len(search) > 200:
        raise ValueError("search must be at most 200 characters")
    return search or None


def _name_order(column):
    """Names in code-point order of their lower case, as SQLite sorts them: on PostgreSQL the
    "C" collation, which also compares bytes instead of asking the locale (a third faster)."""
    lowered = fn.LOWER(column)
    return lowered.collate('"C"') if is_postgresql() else lowered


def _contains(column, term: str):
    """``column`` contains ``term``, case-insensitively, ``%`` and ``_`` meaning themselves.

    ``LOWER(x) LIKE LOWER(y)`` rather than PostgreSQL's ILIKE, which folds case character by
    character and took twice as long over 60k track names."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return NodeList(
        (fn.LOWER(column), SQL("LIKE"), fn.LOWER(Value(f"%{escaped}%")), SQL("ESCAPE '\\'"))
    )


def _page_request(
    user_id: int, period: Period, sort: str, search: str | None, limit: int, offset: int
) -> tuple[_Plan, str | None]:
    """Check a unique-list request (ValueError naming the bad argument); plan and search term."""
    _check_page(limit, offset)
    _check_sort(sort)
    plan = _plan(user_id, period, aggregate=False)
    if not (sort == "name" and plan.all_time):
        # all time by name: PostgreSQL walks the tracks' name index (migration 040) and probes
        # the user's track summaries, 150 look-ups instead of hashing 50k rows
        _prefer_hash_joins(plan)
    return plan, _search_term(search)


def _unique_page(
    plan: _Plan,
    aggregate,
    key: str,
    model,
    base,
    match,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict], int]:
    """One sorted page of ``aggregate`` (a subquery: key, plays, ms_played, first/last_played_at)
    with the catalogue columns of ``base()``, and the total row count.

    ``match`` is a search condition on the catalogue ``model``, or None.  The page is ranked and
    counted first (joining the catalogue only when sorting by name or searching), then only its
    rows are looked up: a page of 60k all-time tracks costs a sort, not 60k look-ups.  The
    count is a window over the joined rows when the catalogue is joined anyway (searching,
    or a period by name), else a count of the aggregate, computed once for both (a window
    would hold every row of the period; all time by name walks an index and stops early).
    """
    joined = sort == "name" or match is not None
    windowed = match is not None or (sort == "name" and not plan.all_time)
    source = aggregate
    if not windowed and is_postgresql() and not plan.all_time:
        # read twice, so computed once (SQLite does so itself); all time is a range of one
        # summary's primary key, cheaper to read again than to materialise
        source = aggregate.cte(f"{aggregate._alias}_rows", materialized=True)
    key_column = getattr(source.c, key)
    columns = [
        key_column,
        source.c.plays,
        source.c.ms_played,
        source.c.first_played_at,
        source.c.last_played_at,
    ]
    primary = {
        "plays": source.c.plays,
        "time": source.c.ms_played,
        "first": source.c.first_played_at,
        "last": source.c.last_played_at,
        "name": _name_order(model.name),
    }[sort]
    order = [primary.desc() if descending else primary.asc()]
    if sort != "plays":
        order.append(source.c.plays.desc())
    order.append(key_column.asc())

    query = _select([source], columns)
    if joined:
        query = query.join(model, on=(model.id == key_column))
    if match is not None:
        query = query.where(match)
    if windowed:
        query = query.select_extend(fn.COUNT(SQL("*")).over().alias("total_rows"))
    else:
        query = query.select_extend(_count(source).alias("total_rows"))
        if source is not aggregate:
            query = query.with_cte(source)
    ranked = list(query.order_by(*order).limit(limit).offset(offset).dicts())
    if ranked:
        total = _int(ranked[0]["total_rows"])
    elif offset == 0:
        total = 0
    else:  # past the end: count what there is
        counted = _count(aggregate)
        if match is not None:
            counted = counted.join(model, on=(model.id == key_column)).where(match)
        total = _int(counted.scalar())
    for row in ranked:
        del row["total_rows"]
    return _with_catalogue(ranked, key, model, base), total


@_statistic
def unique_tracks(
    user_id: int,
    period: Period,
    sort: str = "plays",
    descending: bool = True,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Every track played in the period, one row each: ``{track_id, name, artists, album_id,
    album_name, image_url, popularity, plays, ms_played, first_played_at, last_played_at}``.

    ``sort``: plays | time | first | last | name; ``search`` matches the track's name or one of
    its artists' names, case-insensitively.
    """
    plan, search = _page_request(user_id, period, sort, search, limit, offset)
    if plan.empty:
        return Page([], 0, limit, offset)

    match = None
    if search:
        by_artist = (
            TrackArtist.select(TrackArtist.track)
            .join(Artist, on=(Artist.id == TrackArtist.artist))
            .where(_contains(Artist.name, search))
        )
        match = _contains(Track.name, search) | Track.id.in_(by_artist)
    rows, total = _unique_page(
        plan,
        _per_track(plan, spans=True),
        "track_id",
        Track,
        _track_base,
        match,
        sort,
        descending,
        limit,
        offset,
    )
    return Page(_track_rows(rows), total, limit, offset)


@_statistic
def unique_artists(
    user_id: int,
    period: Period,
    sort: str = "plays",
    descending: bool = True,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Every artist played in the period: ``{artist_id, name, image_url, popularity, plays,
    ms_played, first_played_at, last_played_at, tracks}`` (``tracks``: distinct tracks)."""
    plan, search = _page_request(user_id, period, sort, search, limit, offset)
    if plan.empty:
        return Page([], 0, limit, offset)

    match = _contains(Artist.name, search) if search else None
    rows, total = _unique_page(
        plan,
        _artist_totals(plan, spans=True),
        "artist_id",
        Artist,
        _artist_base,
        match,
        sort,
        descending,
        limit,
        offset,
    )
    tracks = _tracks_per_artist(plan, [row["artist_id"] for row in rows])
    for row in rows:
        row["tracks"] = tracks.get(row["artist_id"], 0)
    return Page(rows, total, limit, offset)


def _tracks_per_artist(plan: _Plan, artist_ids: list[str]) -> dict[str, int]:
    """{artist_id: distinct tracks of the artist played in the period}, for one page."""
    if not artist_ids:
        return {}
    credited = TrackArtist.artist.in_(artist_ids)
    pt = _per_track(plan, TrackArtist.select(TrackArtist.track).where(credited))
    return dict(
        _select([pt], [TrackArtist.artist, fn.COUNT(pt.c.track_id)])
        .join(TrackArtist, on=(TrackArtist.track == pt.c.track_id))
        .where(credited)
        .group_by(TrackArtist.artist)
        .tuples()
    )


@_statistic
def unique_albums(
    user_id: int,
    period: Period,
    sort: str = "plays",
    descending: bool = True,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Every album played in the period: ``{album_id, name, image_url, artists, plays,
    ms_played, first_played_at, last_played_at}``."""
    plan, search = _page_request(user_id, period, sort, search, limit, offset)
    if plan.empty:
        return Page([], 0, limit, offset)

    match = _contains(Album.name, search) if search else None
    rows, total = _unique_page(
        plan,
        _album_totals(plan, spans=True),
        "album_id",
        Album,
        _album_base,
        match,
        sort,
        descending,
        limit,
        offset,
    )
    return Page(_with_album_artists(rows), total, limit, offset)


# --- time: series, hours, weekday × hour -------------------------------------------------------


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


def _series(
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


def _period_days(period: Period) -> tuple[dt.date | None, dt.date]:
    if period.whole_days:
        return period.first_day, period.last_day
    first = local_date(period.start, period.tz) if period.start else None
    return first, local_date(period.end - dt.timedelta(microseconds=1), period.tz)


@_statistic
def listening_series(user_id: int, period: Period, bucket: str | None = None) -> list[dict]:
    """Plays and listening time per local day, week (from Monday) or month:
    ``[{"bucket": "YYYY-MM-DD" (the bucket's first day), "plays", "ms_played"}]``, oldest
    first, with empty buckets as zeros; ``bucket`` defaults to ``period.bucket``.  All time
    starts at the first play."""
    bucket = bucket or period.bucket
    plan = _plan(user_id, period)
    if plan.empty:
        return []
    per_day = {
        _date(row["day"]): [_int(row["plays"]), _int(row["ms_played"])]
        for row in _per_time(plan, "day")
    }
    first, last = _period_days(period)
    if first is None and not per_day:
        return []
    return _series(per_day, first, last, bucket)


@_statistic
def hours_of_day(user_id: int, period: Period) -> list[dict]:
    """24 rows ``{"hour": 0..23 (local), "plays", "ms_played"}``."""
    plan = _plan(user_id, period)
    found = {} if plan.empty else {_int(row["hour"]): row for row in _per_time(plan, "hour")}
    return [
        {
            "hour": hour,
            "plays": _int(found.get(hour, {}).get("plays")),
            "ms_played": _int(found.get(hour, {}).get("ms_played")),
        }
        for hour in range(24)
    ]


@_statistic
def weekday_hour(user_id: int, period: Period) -> list[list[int]]:
    """Play counts as 7 rows (Monday first) of 24 local hours."""
    plan = _plan(user_id, period)
    matrix = [[0] * 24 for _ in range(7)]
    if not plan.empty:
        for row in _per_time(plan, "weekday", "hour"):
            matrix[_int(row["weekday"])][_int(row["hour"])] += _int(row["plays"])
    return matrix


# --- taste profile -----------------------------------------------------------------------------


def _features_by_status(plan: _Plan) -> dict[str, dict]:
    """{features status: {"plays", "ms_played", "sum_<feature>" (Σ plays × value, None if no
    value), "n_<feature>" (plays with a value)}} of the period's plays."""
    counters = (
        "plays",
        "ms_played",
        *(f"{kind}_{name}" for name in PROFILE_FEATURES for kind in ("sum", "n")),
    )
    if plan.all_time or plan.summary_days:
        # The features summaries, whose sums are in millionths (models.summaries.catalogue).
        def columns(model):
            return [model.status, *[getattr(model, name) for name in counters]]

        if plan.all_time:
            rows = (
                FeatureTotal.select(*columns(FeatureTotal))
                .where(FeatureTotal.user == plan.user_id)
                .alias("parts")
            )
        else:
            rows = _bucket_rows(plan, FeatureMonth, FeatureDay, columns)
        found = {}
        for row in (
            _select(
                [rows],
                [rows.c.status, *[fn.SUM(getattr(rows.c, name)).alias(name) for name in counters]],
            )
            .group_by(rows.c.status)
            .dicts()
        ):
            for name in PROFILE_FEATURES:
                row[f"sum_{name}"] = Decimal(_int(row[f"sum_{name}"])) / MICRO
            found[row.pop("status")] = row
        return found
    pt = _per_track(plan)
    feature_columns = []
    for name in PROFILE_FEATURES:
        value = getattr(AudioFeatures, name)
        feature_columns.append(fn.SUM(pt.c.plays * value).alias(f"sum_{name}"))
        feature_columns.append(
            fn.SUM(Case(None, [(value.is_null(False), pt.c.plays)], 0)).alias(f"n_{name}")
        )
    status = Case(None, [(AudioFeatures.status.is_null(), "pending")], AudioFeatures.status)
    rows = (
        _select(
            [pt],
            [
                status.alias("label"),
                fn.SUM(pt.c.plays).alias("plays"),
                fn.SUM(pt.c.ms_played).alias("ms_played"),
                *feature_columns,
            ],
        )
        .join(AudioFeatures, JOIN.LEFT_OUTER, on=(AudioFeatures.track == pt.c.track_id))
        .group_by(status)
        .dicts()
    )
    return {row.pop("label"): row for row in rows}


@_statistic
def taste_profile(user_id: int, period: Period, genres: int = 20) -> dict:
    """Play-weighted average audio features and the genre distribution.

    ``{"features": {name: average} | None, "features_status": "ok" | "partial" | "unavailable"
    | "no_data", "features_reason": None | "forbidden" | "missing" | "pending", "coverage":
    share of plays whose track has features, "genres": top_genres(...)}``.  Features are None
    (never zeros) when no played track has them: development-mode apps may not read audio
    features ("forbidden"), Spotify may have none ("missing"), or the ETL has not fetched them
    yet ("pending").
    """
    plan = _plan(user_id, period)
    result = {
        "features": None,
        "features_status": "no_data",
        "features_reason": None,
        "coverage": 0.0,
        "genres": [],
    }
    if plan.empty:
        return result
    by_status = _features_by_status(plan)
    genre_rows = [_clean(row) for row in _genres_query(plan, genres, 0).dicts()]
    total = sum(_int(row["plays"]) for row in by_status.values())
    if not total:
        return result
    result["genres"] = _with_shares(genre_rows, total)
    ok = by_status.get("ok")
    covered = _int(ok["plays"]) if ok else 0
    result["coverage"] = covered / total
    if covered:
        result["features"] = {
            # rounded: PostgreSQL keeps features as float4, whose noise is not information
            name: (
                round(float(Decimal(ok[f"sum_{name}"]) / Decimal(ok[f"n_{name}"])), 4)
                if _int(ok[f"n_{name}"])
                else None
            )
            for name in PROFILE_FEATURES
        }
        result["features_status"] = "ok" if covered == total else "partial"
    else:
        result["features_status"] = "unavailable"
    if covered < total:
        for reason in ("forbidden", "missing", "pending"):
            if reason in by_status:
                result["features_reason"] = reason
                break
    return result


# --- history -----------------------------------------------------------------------------------


@_lookup
def history(user_id: int, limit: int = 50, offset: int = 0, period: Period | None = None) -> Page:
    """The user's plays, newest first: ``{played_at (naive UTC), track_id, name, artists,
    album_id, album_name, image_url, ms_played, context_uri, source}``."""
    _check_page(limit, offset)
    where = Play.user == user_id
    if period is not None:
        if period.start is not None:
            where &= Play.played_at >= period.start
        where &= Play.played_at < period.end
    rows = [
        _clean(row)
        for row in Play.select(
            Play.played_at,
            Play.track.alias("track_id"),
            Track.name,
            Track.album.alias("album_id"),
            Album.name.alias("album_name"),
            Album.image_url,
            Play.ms_played,
            Play.context_uri,
            Play.source,
        )
        .join(Track, on=(Track.id == Play.track))
        .join(Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album))
        .where(where)
        .order_by(Play.played_at.desc())
        .limit(limit)
        .offset(offset)
        .dicts()
    ]
    plan = _plan(user_id, period or Period(None, dt.datetime.max, "UTC"), aggregate=False)
    if plan.empty:
        total = 0
    elif plan.all_time:
        total = _user_total_plays(user_id)
    elif plan.summary_days:
        total = _play_total(plan)
    else:
        total = Play.select().where(where).count()
    return Page(_track_rows(rows), total, limit, offset)


# --- track and artist pages --------------------------------------------------------------------


def _user_total_plays(user_id: int) -> int:
    state = None if _force_raw.get() else _summary_state(user_id)
    if state is not None:
        return _int(state[1])
    return Play.select().where(Play.user == user_id).count()


def _all_time(user_id: int, tz: str | None) -> _Plan:
    state = None if _force_raw.get() else _summary_state(user_id)
    zone_name = tz or (state[0] if state else None)
    if zone_name is None:
        from models.schema.tables import User

        zone_name = User.select(User.timezone).where(User.id == user_id).scalar() or "UTC"
    far = dt.datetime(9999, 1, 1)
    return _plan(user_id, Period(None, far, zone_name, "All time", "all"), aggregate=False)


def _monthly_series(plan: _Plan, track_ids) -> list[dict]:
    """Plays per local month of the given tracks, all time, zero-filled."""
    if plan.summary_days:
        rows = (
            TrackMonth.select(
                TrackMonth.month.alias("day"),
                fn.SUM(TrackMonth.plays).alias("plays"),
                fn.SUM(TrackMonth.ms_played).alias("ms_played"),
            )
            .where((TrackMonth.user == plan.user_id) & TrackMonth.track.in_(track_ids))
            .group_by(TrackMonth.month)
            .tuples()
        )
    else:
        bounds = play_bounds(plan.user_id)
        if bounds is None:
            return []
        local = LocalTime(Play.played_at, plan.period.tz, *bounds)
        rows = (
            Play.select(local.month.alias("day"), fn.COUNT(Play.id), fn.SUM(Play.ms_played))
            .where((Play.user == plan.user_id) & Play.track.in_(track_ids))
            .group_by(SQL("day"))
            .tuples()
        )
    per_month = {_date(day): [_int(plays), _int(ms)] for day, plays, ms in rows}
    if not per_month:
        return []
    return _series(per_month, None, None, "month")


@_lookup
def track_detail(user_id: int, track_id: str, tz: str | None = None) -> dict | None:
    """One track as this user heard it, or None if they never played it (answer 404).

    ``{track_id, name, artists, album_id, album_name, image_url, duration_ms, popularity,
    explicit, plays, ms_played, first_played_at, last_played_at, share (of all the user's
    plays), series: [{"bucket", "plays", "ms_played"}] per local month}``.
    """
    plan = _all_time(user_id, tz)
    if plan.empty:
        return None
    pt = _per_track(plan, [track_id], spans=True)
    row = (
        Track.select(
            Track.id.alias("track_id"),
            Track.name,
            Track.album.alias("album_id"),
            Album.name.alias("album_name"),
            Album.image_url,
            Track.duration_ms,
            Track.popularity,
            Track.explicit,
            pt.c.plays,
            pt.c.ms_played,
            pt.c.first_played_at,
            pt.c.last_played_at,
        )
        .join(pt, on=(pt.c.track_id == Track.id))
        .join(Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album), src=Track)
        .dicts()
        .first()
    )
    if row is None or not _int(row["plays"]):
        return None
    _clean(row)
    _track_rows([row])
    total = _user_total_plays(user_id)
    row["share"] = row["plays"] / total if total else 0.0
    row["series"] = _monthly_series(plan, [track_id])
    return row


@_lookup
def artist_detail(
    user_id: int, artist_id: str, tz: str | None = None, top: int = 10
) -> dict | None:
    """One artist as this user heard them, or None if never played (answer 404).

    ``{artist_id, name, image_url, popularity, followers, genres: [name], plays, ms_played,
    first_played_at, last_played_at, share, tracks (distinct tracks played), top_tracks:
    [{track_id, name, plays, ms_played}], series: per local month}``.
    """
    artist = (
        Artist.select(Artist.id, Artist.name, Artist.image_url, Artist.popularity, Artist.followers)
        .where(Artist.id == artist_id)
        .dicts()
        .first()
    )
    if artist is None:
        return None
    plan = _all_time(user_id, tz)
    if plan.empty:
        return None
    track_ids = TrackArtist.select(TrackArtist.track).where(TrackArtist.artist == artist_id)
    pt = _per_track(plan, track_ids, spans=True)
    plays, ms_played, first, last, tracks = (
        _select(
            [pt],
            [
                fn.SUM(pt.c.plays),
                fn.SUM(pt.c.ms_played),
                fn.MIN(pt.c.first_played_at),
                fn.MAX(pt.c.last_played_at),
                fn.COUNT(pt.c.track_id),
            ],
        )
        .tuples()
        .get()
    )
    if not _int(plays):
        return None
    pt = _per_track(plan, track_ids)
    top_rows = [
        _clean(row)
        for row in Track.select(Track.id.alias("track_id"), Track.name, pt.c.plays, pt.c.ms_played)
        .join(pt, on=(pt.c.track_id == Track.id))
        .order_by(pt.c.plays.desc(), pt.c.ms_played.desc(), Track.id)
        .limit(top)
        .dicts()
    ]
    genres = [
        name
        for (name,) in Genre.select(Genre.name)
        .join(ArtistGenre, on=(ArtistGenre.genre == Genre.id))
        .where(ArtistGenre.artist == artist_id)
        .order_by(Genre.name)
        .tuples()
    ]
    total = _user_total_plays(user_id)
    return {
        "artist_id": artist["id"],
        "name": artist["name"],
        "image_url": artist["image_url"],
        "popularity": artist["popularity"],
        "followers": artist["followers"],
        "genres": genres,
        "plays": _int(plays),
        "ms_played": _int(ms_played),
        "first_played_at": _datetime(first),
        "last_played_at": _datetime(last),
        "share": _int(plays) / total if total else 0.0,
        "tracks": _int(tracks),
        "top_tracks": top_rows,
        "series": _monthly_series(plan, track_ids),
    }


__all__ = [
    "PROFILE_FEATURES",
    "SORT_KEYS",
    "Page",
    "artist_detail",
    "from_raw_plays",
    "history",
    "hours_of_day",
    "listening_series",
    "taste_profile",
    "top_albums",
    "top_artists",
    "top_genres",
    "top_tracks",
    "totals",
    "track_detail",
    "unique_albums",
    "unique_artists",
    "unique_tracks",
    "weekday_hour",
]
