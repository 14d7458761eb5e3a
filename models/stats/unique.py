"""Unique tracks, artists and albums: every one played in a period, as sortable, searchable pages.

Unlike the top lists these hold every row of the period, so their cost is in ranking and
counting: a page is ranked and counted first, joining the catalogue only to sort by name or to
search, and only its own rows are then looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import SQL, NodeList, Value, fn

from models.periods import Period
from models.schema.db import is_postgresql
from models.schema.tables import Album, Artist, Track, TrackArtist
from models.stats.sources import (
    Page,
    Plan,
    album_base,
    album_totals,
    artist_base,
    artist_totals,
    as_int,
    check_page,
    check_sort,
    count_rows,
    per_track,
    plan_for,
    prefer_hash_joins,
    select_from,
    statistic,
    track_base,
    with_album_artists,
    with_catalogue,
    with_track_artists,
)


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


@dataclass(frozen=True)
class _Kind:
    """What tells the unique lists apart; the steps of a request are the same for all three."""

    key: str  # the aggregate's key column and the rows' id field
    model: (
        Any  # the catalogue table (a peewee model class): its ``name`` sorts, ``match`` searches it
    )
    base: Callable  # the catalogue columns of a row, as ``track_base``
    aggregate: Callable[[Plan], Any]  # per-key plays, time and first/last play of the period
    match: Callable[[str], Any]  # the search condition for a term
    finish: Callable[[Plan, list[dict]], list[dict]]  # what a page's rows gain after the lookup


def _unique_page(
    plan: Plan, kind: _Kind, match, sort: str, descending: bool, limit: int, offset: int
) -> tuple[list[dict], int]:
    """One sorted page of the kind's aggregate (a subquery: key, plays, ms_played,
    first/last_played_at) with the catalogue columns of its ``base()``, and the total row count.

    ``match`` is a search condition on the kind's catalogue ``model``, or None.  The page is
    ranked and counted first (joining the catalogue only when sorting by name or searching), then
    only its rows are looked up: a page of 60k all-time tracks costs a sort, not 60k look-ups.  The
    count is a window over the joined rows when the catalogue is joined anyway (searching,
    or a period by name), else a count of the aggregate, computed once for both (a window
    would hold every row of the period; all time by name walks an index and stops early).
    """
    aggregate, key, model, base = kind.aggregate(plan), kind.key, kind.model, kind.base
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

    query = select_from([source], columns)
    if joined:
        query = query.join(model, on=(model.id == key_column))
    if match is not None:
        query = query.where(match)
    if windowed:
        query = query.select_extend(fn.COUNT(SQL("*")).over().alias("total_rows"))
    else:
        query = query.select_extend(count_rows(source).alias("total_rows"))
        if source is not aggregate:
            query = query.with_cte(source)
    ranked = list(query.order_by(*order).limit(limit).offset(offset).dicts())
    if ranked:
        total = as_int(ranked[0]["total_rows"])
    elif offset == 0:
        total = 0
    else:  # past the end: count what there is
        counted = count_rows(aggregate)
        if match is not None:
            counted = counted.join(model, on=(model.id == key_column)).where(match)
        total = as_int(counted.scalar())
    for row in ranked:
        del row["total_rows"]
    return with_catalogue(ranked, key, model, base), total


def _unique(
    kind: _Kind,
    user_id: int,
    period: Period,
    sort: str,
    descending: bool,
    search: str | None,
    limit: int,
    offset: int,
) -> Page:
    """One page of a unique list (ValueError naming a bad argument)."""
    check_page(limit, offset)
    check_sort(sort)
    plan = plan_for(user_id, period, aggregate=False)
    if not (sort == "name" and plan.all_time):
        # all time by name: PostgreSQL walks the tracks' name index (migration 040) and probes
        # the user's track summaries, 150 look-ups instead of hashing 50k rows
        prefer_hash_joins(plan)
    search = _search_term(search)
    if plan.empty:
        return Page([], 0, limit, offset)
    match = kind.match(search) if search else None
    rows, total = _unique_page(plan, kind, match, sort, descending, limit, offset)
    return Page(kind.finish(plan, rows), total, limit, offset)


def _track_match(search: str):
    """The track's name or one of its artists' names contains the term."""
    by_artist = (
        TrackArtist.select(TrackArtist.track)
        .join(Artist, on=(Artist.id == TrackArtist.artist))
        .where(_contains(Artist.name, search))
    )
    return _contains(Track.name, search) | Track.id.in_(by_artist)


def _with_tracks_per_artist(plan: Plan, rows: list[dict]) -> list[dict]:
    """Each artist row gains ``tracks``: distinct tracks of the artist played in the period."""
    tracks = _tracks_per_artist(plan, [row["artist_id"] for row in rows])
    for row in rows:
        row["tracks"] = tracks.get(row["artist_id"], 0)
    return rows


def _tracks_per_artist(plan: Plan, artist_ids: list[str]) -> dict[str, int]:
    """{artist_id: distinct tracks of the artist played in the period}, for one page."""
    if not artist_ids:
        return {}
    credited = TrackArtist.artist.in_(artist_ids)
    pt = per_track(plan, TrackArtist.select(TrackArtist.track).where(credited))
    return dict(
        select_from([pt], [TrackArtist.artist, fn.COUNT(pt.c.track_id)])
        .join(TrackArtist, on=(TrackArtist.track == pt.c.track_id))
        .where(credited)
        .group_by(TrackArtist.artist)
        .tuples()
    )


_TRACKS = _Kind(
    "track_id",
    Track,
    track_base,
    lambda plan: per_track(plan, spans=True),
    _track_match,
    lambda plan, rows: with_track_artists(rows),
)
_ARTISTS = _Kind(
    "artist_id",
    Artist,
    artist_base,
    lambda plan: artist_totals(plan, spans=True),
    lambda search: _contains(Artist.name, search),
    _with_tracks_per_artist,
)
_ALBUMS = _Kind(
    "album_id",
    Album,
    album_base,
    lambda plan: album_totals(plan, spans=True),
    lambda search: _contains(Album.name, search),
    lambda plan, rows: with_album_artists(rows),
)


@statistic
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
    return _unique(_TRACKS, user_id, period, sort, descending, search, limit, offset)


@statistic
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
    return _unique(_ARTISTS, user_id, period, sort, descending, search, limit, offset)


@statistic
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
    return _unique(_ALBUMS, user_id, period, sort, descending, search, limit, offset)
