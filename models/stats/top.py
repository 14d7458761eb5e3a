"""Top lists: the most played tracks, artists, albums and genres of a period.

Each ranks one base query of :mod:`models.stats.sources` by plays, then looks up the catalogue
columns of the page it keeps, so a long period never joins the catalogue to more than a page of
rows (genres excepted: they are the join of artists to their genres).
"""

from __future__ import annotations

from models.periods import Period
from models.schema.tables import Album, Artist, Track
from models.stats.sources import (
    Plan,
    album_base,
    album_totals,
    artist_base,
    artist_totals,
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


def _top(aggregate, key: str, model, base, limit: int, offset: int) -> list[dict]:
    """The ``limit`` rows of ``aggregate`` with the most plays, then their catalogue columns."""
    key_column = getattr(aggregate.c, key)
    ranked = list(
        select_from([aggregate], [key_column, aggregate.c.plays, aggregate.c.ms_played])
        .order_by(aggregate.c.plays.desc(), aggregate.c.ms_played.desc(), key_column)
        .limit(limit)
        .offset(offset)
        .dicts()
    )
    return with_catalogue(ranked, key, model, base)


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
