"""The open-data facts of each track (``TrackFacts``), kept equal to what the catalogue and the
MusicBrainz enrichment say now.

The taste profile's open-data half (``models.stats.open_data``) groups a period's plays by the
decade of their track's first release, the lead artist's country and type, the length and the
explicit flag.  Read live, that joins every played track to ``track``, ``musicbrainz_track``,
``musicbrainz_album``, ``track_artist`` and ``musicbrainz_artist`` on each request: 60k tracks
five ways for a heavy listener's year.  These facts belong to the track, not to the listener,
so they are kept once for the whole instance, one row a track, and the profile joins the
user's track summaries to this one table (docs/query-plans.md says why not per-user sums).

The rule (:func:`_facts_query`) is the one definition; every write that moves one of its
inputs recomputes the rows it touches, in its own transaction:

- the catalogue writing tracks, their album or their artists (``summaries.catalogue
  .links_changed``, which ``ingest.write_catalogue`` and the provisional links call);
- the enrichment recording verdicts (``enrich.store.record``): a track's release year, an
  album's (its tracks), an artist's country and type (the tracks it leads);
- deleting a track (the foreign key's cascade).

A track without a row counts as knowing nothing, so a stub from an import needs none.
``tests/test_stats_equality.py`` compares the rows with :func:`rebuild`.
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import JOIN, Case, chunked, fn

from models.schema.db import write_transaction
from models.schema.tables import (
    LEAD_POSITION,
    AlbumEnrichment,
    ArtistEnrichment,
    Track,
    TrackArtist,
    TrackEnrichment,
    TrackFacts,
)

CHUNK = 500
COLUMNS = (
    TrackFacts.track,
    TrackFacts.decade,
    TrackFacts.country,
    TrackFacts.artist_type,
    TrackFacts.minutes,
    TrackFacts.duration_ms,
    TrackFacts.explicit,
)


def _facts_query():
    """The facts of every track, in the order of ``COLUMNS``: the year is the recording's first
    release, else its album's release group's; the lead artist is the one at
    ``LEAD_POSITION`` (the first by id if a relinked track has two there, so that one row each,
    the same on both engines)."""
    year = fn.COALESCE(TrackEnrichment.release_year, AlbumEnrichment.release_year)
    credit = TrackArtist.alias("credit")
    lead = credit.select(fn.MIN(credit.artist)).where(
        (credit.track == Track.id) & (credit.position == LEAD_POSITION)
    )
    return (
        Track.select(
            Track.id,
            Case(None, [(year.is_null(False), (year / 10) * 10)], None),
            ArtistEnrichment.country,
            ArtistEnrichment.artist_type,
            Track.duration_ms / 60000,
            Track.duration_ms,
            Track.explicit,
        )
        .join(TrackEnrichment, JOIN.LEFT_OUTER, on=(TrackEnrichment.track == Track.id))
        .join(
            AlbumEnrichment, JOIN.LEFT_OUTER, on=(AlbumEnrichment.album == Track.album), src=Track
        )
        .join(ArtistEnrichment, JOIN.LEFT_OUTER, on=(ArtistEnrichment.artist == lead), src=Track)
    )


def _insert(query) -> None:
    TrackFacts.insert_from(query, list(COLUMNS)).execute()


def refresh(track_ids: Iterable[str]) -> int:
    """Recompute the facts of ``track_ids`` (call after writing what they are made of)."""
    ids = sorted(set(track_ids))
    with write_transaction():
        for chunk in chunked(ids, CHUNK):
            TrackFacts.delete().where(TrackFacts.track.in_(chunk)).execute()
            _insert(_facts_query().where(Track.id.in_(chunk)))
    return len(ids)


def refresh_albums(album_ids: Iterable[str]) -> int:
    """Recompute the facts of the tracks of ``album_ids`` (their release year changed)."""
    tracks: list[tuple[str]] = []
    for chunk in chunked(sorted(set(album_ids)), CHUNK):
        tracks.extend(Track.select(Track.id).where(Track.album.in_(chunk)).tuples())
    return refresh(track for (track,) in tracks)


def refresh_artists(artist_ids: Iterable[str]) -> int:
    """Recompute the facts of the tracks ``artist_ids`` lead (their country or type changed)."""
    tracks: list[tuple[str]] = []
    for chunk in chunked(sorted(set(artist_ids)), CHUNK):
        tracks.extend(
            TrackArtist.select(TrackArtist.track)
            .where(TrackArtist.artist.in_(chunk) & (TrackArtist.position == LEAD_POSITION))
            .tuples()
        )
    return refresh(track for (track,) in tracks)


def rebuild() -> int:
    """Every track's facts from scratch (a fresh copy of the bench, a repair)."""
    with write_transaction():
        TrackFacts.delete().execute()
        _insert(_facts_query())
    return TrackFacts.select().count()
