"""Top lists: the most played tracks, artists, albums and genres of a period.

Each ranks one base query of :mod:`models.stats.sources` by plays, then looks up the catalogue
columns of the page it keeps, so a long period never joins the catalogue to more than a page of
rows (genres excepted: they are the join of artists to their genres).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass

from peewee import SQL, Value, fn

from models.periods import Period
from models.schema.tables import Album, Artist, Track
from models.stats.sources import (
    Plan,
    album_base,
    album_totals,
    artist_base,
    artist_totals,
    as_int,
    check_page,
    clean,
    genres_query,
    per_track,
    plan_for,
    play_total,
    select_from,
    statistic,
    track_base,
    with_album_artists,
    with_catalogue,
    with_shares,
    with_track_artists,
)


def top_order(source, key_column) -> list:
    """The order of every top list: most plays, then most time, then the key."""
    return [source.c.plays.desc(), source.c.ms_played.desc(), key_column]


def _top(aggregate, key: str, model, base, limit: int, offset: int) -> list[dict]:
    """The ``limit`` rows of ``aggregate`` with the most plays, then their catalogue columns."""
    key_column = getattr(aggregate.c, key)
    ranked = list(
        select_from([aggregate], [key_column, aggregate.c.plays, aggregate.c.ms_played])
        .order_by(*top_order(aggregate, key_column))
        .limit(limit)
        .offset(offset)
        .dicts()
    )
    return with_catalogue(ranked, key, model, base)


@dataclass
class Ranked:
    """One list of :func:`ranked_lists`: how many rows, their plays and time, the top ones."""

    count: int
    plays: int
    ms_played: int
    top: list[dict]


def ranked_lists(
    aggregate, key: str, lists: dict[str, tuple[Callable | None, int]]
) -> dict[str, Ranked]:
    """Several lists of one aggregate (``key``, plays, ms_played) in one statement: for each
    ``name: (condition, limit)``, the rows meeting ``condition(key column)`` (all without
    one) counted and summed, and their ``limit`` first in :func:`top_order` (``{key, plays,
    ms_played}``, no catalogue columns).

    The aggregate (a year's month rows summed per track, say) is computed once, as a
    materialized CTE both engines keep for the statement, and each list reads those few
    thousand rows: the review's period totals, top list and discoveries cost one sum, not
    three.
    """
    inner_key = getattr(aggregate.c, key)
    summed = select_from(
        [aggregate], [inner_key.alias("key"), aggregate.c.plays, aggregate.c.ms_played]
    ).cte("summed", materialized=True)
    parts = []
    for name, (condition, limit) in lists.items():
        where = condition(summed.c.key) if condition is not None else None
        counted = select_from(
            [summed],
            [
                Value(name).alias("list"),
                Value(None).alias("key"),
                Value(0).alias("position"),
                fn.COUNT(SQL("*")).alias("n"),
                fn.SUM(summed.c.plays).alias("plays"),
                fn.SUM(summed.c.ms_played).alias("ms_played"),
            ],
        )
        parts.append(counted if where is None else counted.where(where))
        if not limit:
            continue
        order = top_order(summed, summed.c.key)
        top = select_from(
            [summed],
            [
                Value(name).alias("list"),
                summed.c.key,
                fn.ROW_NUMBER().over(order_by=order).alias("position"),
                Value(1).alias("n"),
                summed.c.plays,
                summed.c.ms_played,
            ],
        )
        top = (top if where is None else top.where(where)).order_by(*order).limit(limit)
        # a compound's parts may not order or limit on SQLite: each top list is a subquery
        first = top.alias(f"top_{len(parts)}")
        parts.append(
            select_from(
                [first],
                [
                    first.c.list,
                    first.c.key,
                    first.c.position,
                    first.c.n,
                    first.c.plays,
                    first.c.ms_played,
                ],
            )
        )
    query = functools.reduce(operator.add, parts).with_cte(summed)
    found = {name: Ranked(0, 0, 0, []) for name in lists}
    for name, row_key, _position, n, plays, ms_played in sorted(
        query.tuples(), key=lambda row: (row[0], row[2])
    ):
        ranked = found[name]
        if row_key is None:
            ranked.count, ranked.plays, ranked.ms_played = (
                as_int(n),
                as_int(plays),
                as_int(ms_played),
            )
        else:
            ranked.top.append(
                {key: row_key, "plays": as_int(plays), "ms_played": as_int(ms_played)}
            )
    return found


@statistic
def top_tracks(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played tracks: ``{track_id, name, artists: [{id, name}], album_id, album_name,
    image_url, popularity (None if unknown), plays, ms_played}``, most plays first."""
    check_page(limit, offset)
    plan = plan_for(user_id, period)
    if plan.empty:
        return []
    return with_track_artists(_top(per_track(plan), "track_id", Track, track_base, limit, offset))


@statistic
def top_artists(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played artists (a play counts for each credited artist): ``{artist_id, name,
    image_url, popularity (None if unknown), plays, ms_played}``."""
    check_page(limit, offset)
    plan = plan_for(user_id, period)
    if plan.empty:
        return []
    return _top(artist_totals(plan), "artist_id", Artist, artist_base, limit, offset)


@statistic
def top_albums(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played albums: ``{album_id, name, image_url, artists: [{id, name}], plays,
    ms_played}`` (plays of tracks whose album is not known yet are left out)."""
    check_page(limit, offset)
    plan = plan_for(user_id, period)
    if plan.empty:
        return []
    rows = _top(album_totals(plan), "album_id", Album, album_base, limit, offset)
    return with_album_artists(rows)


@statistic
def top_genres(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Genres played: ``{genre, plays, ms_played, share}``, most plays first.

    A play counts once for each genre of the track's lead artist (the first credited);
    ``share`` is the part of the period's plays that had the genre (shares may add up to more
    than 1: an artist has several genres).
    """
    check_page(limit, offset)
    plan = plan_for(user_id, period)
    if plan.empty:
        return []
    return _genres(plan, limit, offset)


def _genres(plan: Plan, limit: int, offset: int) -> list[dict]:
    rows = [clean(row) for row in genres_query(plan, limit, offset).dicts()]
    return with_shares(rows, play_total(plan) if rows else 0)
