"""The genre page: one genre's artists and tracks in a period.

A genre is the pair (source, name) of :func:`models.stats.sources.shown_genres`, the rule every
genre statistic reads; its plays are those of the tracks led by its artists, so the page's
total equals the genre's row in ``top_genres``.
"""

from __future__ import annotations

from models.periods import Period
from models.schema.tables import LEAD_POSITION, Artist, Track, TrackArtist
from models.stats.sources import (
    MUSICBRAINZ,
    SPOTIFY,
    artist_base,
    as_int,
    lead_totals,
    per_track,
    plan_for,
    play_total,
    select_from,
    shown_genres,
    statistic,
    track_base,
    with_catalogue,
    with_track_artists,
)

GENRE_SOURCES = (SPOTIFY, MUSICBRAINZ)


def _artists_of(source: str, genre: str):
    """The ids of the artists showing the genre."""
    shown = shown_genres()
    return select_from([shown], [shown.c.artist_id]).where(
        (shown.c.source == source) & (shown.c.genre == genre)
    )


@statistic
def genre_detail(user_id: int, period: Period, source: str, genre: str, top: int = 20):
    """``{source, genre, plays, ms_played, share, artists: [{artist_id, name, image_url,
    popularity, plays, ms_played}], tracks: [track rows with artists, plays, ms_played]}`` of
    the period, the ``top`` most played of each; None when the genre was not played."""
    if source not in GENRE_SOURCES:
        raise ValueError(f"source must be one of {', '.join(GENRE_SOURCES)}, got {source!r}")
    plan = plan_for(user_id, period)
    if plan.empty:
        return None
    genre_artists = _artists_of(source, genre).alias("genre_artists")
    per_lead = lead_totals(plan)
    artists = list(
        select_from([per_lead], [per_lead.c.artist_id, per_lead.c.plays, per_lead.c.ms_played])
        .join(genre_artists, on=(genre_artists.c.artist_id == per_lead.c.artist_id))
        .order_by(per_lead.c.plays.desc(), per_lead.c.ms_played.desc(), per_lead.c.artist_id)
        .dicts()
    )
    plays = sum(as_int(row["plays"]) for row in artists)
    if not plays:
        return None
    led = TrackArtist.select(TrackArtist.track).where(
        (TrackArtist.position == LEAD_POSITION) & TrackArtist.artist.in_(_artists_of(source, genre))
    )
    pt = per_track(plan, track_ids=led)
    tracks = list(
        select_from([pt], [pt.c.track_id, pt.c.plays, pt.c.ms_played])
        .order_by(pt.c.plays.desc(), pt.c.ms_played.desc(), pt.c.track_id)
        .limit(top)
        .dicts()
    )
    total = play_total(plan)
    return {
        "source": source,
        "genre": genre,
        "plays": plays,
        "ms_played": sum(as_int(row["ms_played"]) for row in artists),
        "share": plays / total if total else 0.0,
        "artists": with_catalogue(artists[:top], "artist_id", Artist, artist_base),
        "tracks": with_track_artists(with_catalogue(tracks, "track_id", Track, track_base)),
    }
