"""The genres each artist shows (``ShownGenre``): the one genre rule, kept as rows.

An artist's genres are Spotify's where Spotify sent it any (``artist_genre``), else its
MusicBrainz genres with at least ``MUSICBRAINZ_MIN_VOTES`` votes, at most its
``MUSICBRAINZ_TOP_GENRES`` most voted (docs/musicbrainz.md).  The two vocabularies are never
merged: a genre is the pair (source, name).

Every genre statistic (top genres, the genre page, the profile, an artist's page) joins the
period's per-artist sums to these rows.  Derived per request, the rule cost a union of both
genre tables with an anti-join, materialised whole (tens of thousands of rows) before the join:
more than the sums themselves.  The rows belong to the artist, not to a listener, so they are
kept once, recomputed for the artists whose genres a write touched, in its transaction:

- Spotify's artist details (``ingest.catalogue.upsert_artists``);
- MusicBrainz's genres (``enrich.store.store_artist_genres``);
- an artist deleted (the foreign key's cascade).

``tests/test_open_data_profile.py`` compares the statistics with a count from raw plays through
such changes, and the kept rows with :func:`rebuild`.
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import Value, chunked

from models.schema.db import write_transaction
from models.schema.tables import ArtistGenre, Genre, MusicBrainzArtistGenre, ShownGenre

SPOTIFY, MUSICBRAINZ = "spotify", "musicbrainz"
MUSICBRAINZ_MIN_VOTES = 2  # fewer votes is one editor's opinion, not evidence
MUSICBRAINZ_TOP_GENRES = 5  # an artist's most voted genres; the long tail is noise
CHUNK = 500
COLUMNS = (ShownGenre.artist, ShownGenre.source, ShownGenre.genre)


def rule(artist_ids: list[str] | None = None):
    """(artist_id, source, genre) by the rule, of ``artist_ids`` (all artists if None)."""
    from_spotify = ArtistGenre.select(ArtistGenre.artist, Value(SPOTIFY), Genre.name).join(
        Genre, on=(Genre.id == ArtistGenre.genre)
    )
    spotify_artists = ArtistGenre.select(ArtistGenre.artist)
    mb = MusicBrainzArtistGenre
    from_musicbrainz = mb.select(mb.artist, Value(MUSICBRAINZ), mb.name).where(
        (mb.rank <= MUSICBRAINZ_TOP_GENRES)
        & (mb.votes >= MUSICBRAINZ_MIN_VOTES)
        & mb.artist.not_in(spotify_artists)
    )
    if artist_ids is not None:
        from_spotify = from_spotify.where(ArtistGenre.artist.in_(artist_ids))
        from_musicbrainz = from_musicbrainz.where(mb.artist.in_(artist_ids))
    return from_spotify.union_all(from_musicbrainz)


def refresh(artist_ids: Iterable[str]) -> int:
    """Recompute the shown genres of ``artist_ids`` (call after writing either genre table)."""
    ids = sorted(set(artist_ids))
    with write_transaction():
        for chunk in chunked(ids, CHUNK):
            ShownGenre.delete().where(ShownGenre.artist.in_(chunk)).execute()
            ShownGenre.insert_from(rule(chunk), list(COLUMNS)).execute()
    return len(ids)


def rebuild() -> int:
    """Every artist's shown genres from scratch (a fresh copy of the bench, a repair)."""
    with write_transaction():
        ShownGenre.delete().execute()
        ShownGenre.insert_from(rule(), list(COLUMNS)).execute()
    return ShownGenre.select().count()
