"""Top lists: the most played tracks, artists, albums and genres of a period.

Each ranks one base query of :mod:`models.stats.sources` by plays, then looks up the catalogue
columns of the page it keeps, so a long period never joins the catalogue to more than a page of
rows (genres excepted: they are the join of artists to their genres).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from peewee import SQL, fn

from models.periods import Period
from models.schema.tables import Album, Artist, Track
from models.stats.sources import (
    MAX_LIMIT,
    Plan,
    album_base,
    album_totals,
    artist_base,
    artist_totals,
    as_int,
    check_page,
    clean,
    count_rows,
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


@dataclass(frozen=True)
class Ranked:
    """A page of a top list, and what the whole list adds up to: ``count`` items played in the
    period (tracks, artists, albums or genres), their ``plays`` and ``ms_played`` (for genres
    a play counts once per genre, so these exceed the period's plays)."""

    rows: list[dict]
    count: int
    plays: int
    ms_played: int


NOTHING = Ranked([], 0, 0, 0)


def _ranked_page(aggregate, key: str, order, limit: int, offset: int, materialized: bool):
    """``limit`` rows of ``aggregate`` (a query) in ``order(columns)``, each with the whole
    list's ``list_count``, ``list_plays`` and ``list_ms_played``: the aggregate is a CTE,
    materialized when it groups (computed once, read by the ranking and by the sums; all time's
    per-item totals are rows of a table, cheaper to read twice than to copy), so a page that
    shows a top list and the period's totals groups the period once, not twice."""
    ranked_from = aggregate.cte("ranked_from", materialized=materialized)
    whole = select_from(
        [ranked_from],
        [
            fn.COUNT(SQL("*")).alias("list_count"),
            fn.SUM(ranked_from.c.plays).alias("list_plays"),
            fn.SUM(ranked_from.c.ms_played).alias("list_ms_played"),
        ],
    ).alias("whole")
    return (
        select_from(
            [ranked_from, whole],
            [
                *(getattr(ranked_from.c, name) for name in key.split(",")),
                ranked_from.c.plays,
                ranked_from.c.ms_played,
                whole.c.list_count,
                whole.c.list_plays,
                whole.c.list_ms_played,
            ],
        )
        .order_by(*order(ranked_from.c))
        .limit(limit)
        .offset(offset)
        .with_cte(ranked_from)
    )


def _ranked_rows(query, count_query) -> tuple[list[dict], int, int, int]:
    """The page's rows without the whole list's columns, and those columns' values; a page
    past the end of the list has no row to carry them: then ``count_query`` counts (its sums
    are then not needed by any caller, and are left 0)."""
    rows = list(query.dicts())
    if not rows:
        return [], as_int(count_query.scalar()), 0, 0
    first = rows[0]
    sums = (as_int(first["list_count"]), as_int(first["list_plays"]))
    ms_played = as_int(first["list_ms_played"])
    for row in rows:
        del row["list_count"], row["list_plays"], row["list_ms_played"]
    return rows, *sums, ms_played


def _top(plan: Plan, aggregate, key: str, model, base, limit: int, offset: int) -> Ranked:
    """The ``limit`` rows of ``aggregate`` with the most plays, then their catalogue columns."""
    query = _ranked_page(
        aggregate,
        key,
        lambda c: (c.plays.desc(), c.ms_played.desc(), getattr(c, key)),
        limit,
        offset,
        materialized=not plan.all_time,
    )
    rows, count, plays, ms_played = _ranked_rows(query, count_rows(aggregate))
    return Ranked(with_catalogue(rows, key, model, base), count, plays, ms_played)


def _tracks(plan: Plan, limit: int, offset: int) -> Ranked:
    found = _top(plan, per_track(plan), "track_id", Track, track_base, limit, offset)
    return replace(found, rows=with_track_artists(found.rows))


def _artists(plan: Plan, limit: int, offset: int) -> Ranked:
    return _top(plan, artist_totals(plan), "artist_id", Artist, artist_base, limit, offset)


def _albums(plan: Plan, limit: int, offset: int) -> Ranked:
    found = _top(plan, album_totals(plan), "album_id", Album, album_base, limit, offset)
    return replace(found, rows=with_album_artists(found.rows))


def _genres(plan: Plan, limit: int, offset: int) -> Ranked:
    every_genre = genres_query(plan, MAX_LIMIT, 0).order_by().limit(None).offset(None)
    query = _ranked_page(
        every_genre,
        "source,genre",
        lambda c: (c.plays.desc(), c.genre, c.source),
        limit,
        offset,
        materialized=True,
    )
    rows, count, plays, ms_played = _ranked_rows(query, count_rows(every_genre.alias("every")))
    rows = [clean(row) for row in rows]
    return Ranked(with_shares(rows, play_total(plan) if rows else 0), count, plays, ms_played)


_RANKERS = {"tracks": _tracks, "artists": _artists, "albums": _albums, "genres": _genres}
TOP_KINDS = tuple(_RANKERS)


@statistic
def ranked(user_id: int, period: Period, kind: str, limit: int = 10, offset: int = 0) -> Ranked:
    """A page of the top list of ``kind`` (tracks, artists, albums, genres) with the sums of
    the whole list: the rows of ``top_<kind>``, and in the same statement what ``totals``
    would count of them (``count`` of tracks is ``unique_tracks``, their plays ``plays``...)."""
    check_page(limit, offset)
    plan = plan_for(user_id, period)
    if plan.empty:
        return NOTHING
    return _RANKERS[kind](plan, limit, offset)


def top_tracks(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played tracks: ``{track_id, name, artists: [{id, name}], album_id, album_name,
    image_url, popularity (None if unknown), plays, ms_played}``, most plays first."""
    return ranked(user_id, period, "tracks", limit, offset).rows


def top_artists(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played artists (a play counts for each credited artist): ``{artist_id, name,
    image_url, popularity (None if unknown), plays, ms_played}``."""
    return ranked(user_id, period, "artists", limit, offset).rows


def top_albums(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Most played albums: ``{album_id, name, image_url, artists: [{id, name}], plays,
    ms_played}`` (plays of tracks whose album is not known yet are left out)."""
    return ranked(user_id, period, "albums", limit, offset).rows


def top_genres(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Genres played: ``{genre, plays, ms_played, share}``, most plays first.

    A play counts once for each genre of the track's lead artist (the first credited);
    ``share`` is the part of the period's plays that had the genre (shares may add up to more
    than 1: an artist has several genres).
    """
    return ranked(user_id, period, "genres", limit, offset).rows
