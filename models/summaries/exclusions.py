"""What a listener keeps out of their statistics: the one rule every reader of plays follows.

A listener may exclude artists and tracks (``Exclusion`` rows: white noise, a child's music).
Their plays stay stored; a play is *excluded* when its track is excluded or any artist credited
on it is.  The summaries leave excluded plays out (``listening.record_plays`` skips them,
``listening.rebuild`` filters them), so everything read from summaries honours the list; what
reads raw plays (``models.stats.sources``, the history, the weekly charts' day summaries)
filters through :func:`kept_plays`.  A change of the list rebuilds the user's summaries
(``models.jobs.exclusions``).
"""

from __future__ import annotations

from peewee import Expression

from models.schema.tables import Exclusion, Play, TrackArtist, TrackTotal


def has_exclusions(user_id: int) -> bool:
    return Exclusion.select().where(Exclusion.user == user_id).exists()


def excluded_track_ids(user_id: int):
    """Subquery: the ids of the tracks whose plays the user keeps out (the tracks excluded,
    and every track crediting an excluded artist)."""
    direct = Exclusion.select(Exclusion.item).where(
        (Exclusion.user == user_id) & (Exclusion.kind == "track")
    )
    by_artist = TrackArtist.select(TrackArtist.track).where(
        TrackArtist.artist.in_(
            Exclusion.select(Exclusion.item).where(
                (Exclusion.user == user_id) & (Exclusion.kind == "artist")
            )
        )
    )
    return direct | by_artist  # UNION


def kept_plays(user_id: int) -> Expression:
    """The condition on ``Play`` a reader of the user's raw plays adds: not excluded."""
    return Play.track.not_in(excluded_track_ids(user_id))


def excluded_among(user_id: int, track_ids) -> set[str]:
    """Which of ``track_ids`` the user keeps out (one query; none when nothing is excluded)."""
    if not has_exclusions(user_id):
        return set()
    wanted = set(track_ids)
    return {track_id for (track_id,) in excluded_track_ids(user_id).tuples() if track_id in wanted}


def players_excluding_artists_of(track_ids) -> list[int]:
    """Users who played any of ``track_ids`` and exclude an artist now credited on it: when
    the catalogue links a track to its artists later, their summaries must be rebuilt."""
    track_ids = sorted(set(track_ids))
    if not track_ids or not Exclusion.select().where(Exclusion.kind == "artist").exists():
        return []
    credited = TrackArtist.select(TrackArtist.artist).where(TrackArtist.track.in_(track_ids))
    excluding = Exclusion.select(Exclusion.user).where(
        (Exclusion.kind == "artist") & Exclusion.item.in_(credited)
    )
    return sorted(
        user_id
        for (user_id,) in TrackTotal.select(TrackTotal.user)
        .where(TrackTotal.track.in_(track_ids) & TrackTotal.user.in_(excluding))
        .distinct()
        .tuples()
    )
