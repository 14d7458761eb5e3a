"""Provisional artists and albums: what a privacy export names, counted before Spotify says more.

An imported play carries a track id and the export's names of its album's artist
(``master_metadata_album_artist_name``) and album (``master_metadata_album_album_name``), but
no artist or album ids.  Waiting for the ETL to complete every track (one call per track for a
development-mode app: hours to days for a long history) would leave top artists and albums
empty.  So a track stub that Spotify has not described yet is linked at once to a provisional
artist and album, rows of the ordinary ``artist`` and ``album`` tables marked ``provisional``,
and the summaries count its plays for them like for any other link
(``models.summaries.catalogue``).

- The id derives from the folded name (an album's: from its artist's and its own), so every
  track naming one artist shares one provisional artist: two artists of one name stay one
  until Spotify tells them apart.
- "Various Artists" (a compilation's album artist) is no artist: such a track counts for its
  album only.
- When the ETL completes the track (``catalogue.write_catalogue``), :func:`unlink` removes the
  provisional artist links of every track Spotify gave artists for; Spotify's album replaces
  the provisional one in the same upsert.  ``summaries.catalogue.links_changed`` then
  recomputes the rows of the artists and albums concerned from the track summaries, so no play
  is counted twice or lost; :func:`drop_orphans` deletes the provisional rows nothing links any
  more.  A provisional artist or album is never asked of Spotify (it has no Spotify id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from peewee import chunked

from models.schema.db import db
from models.schema.tables import LEAD_POSITION, Album, Artist, Track, TrackArtist
from models.summaries import catalogue as catalogue_summaries

PREFIX = "provisional:"
VARIOUS_ARTISTS = frozenset({"various artists", "various", "varios artistas", "verschiedene"})
CHUNK = 200


def fold(text: str | None) -> str:
    """Names compared case-insensitively, whitespace collapsed."""
    return " ".join((text or "").casefold().split())


def _key(*parts: str) -> str:
    return PREFIX + hashlib.sha1("\0".join(parts).encode()).hexdigest()


def artist_id(name: str | None) -> str | None:
    """The provisional artist of an album artist's name; None for none or Various Artists."""
    folded = fold(name)
    if not folded or folded in VARIOUS_ARTISTS:
        return None
    return _key("artist", folded)


def album_id(artist_name: str | None, album_name: str | None) -> str | None:
    """The provisional album of (album artist, album) names; None without an album name."""
    if not fold(album_name):
        return None
    return _key("album", fold(artist_name), fold(album_name))


def is_provisional(row_id: str | None) -> bool:
    return row_id is not None and row_id.startswith(PREFIX)


def link_stubs(stubs: Iterable[Mapping]) -> int:
    """Link the stub tracks among ``stubs`` ({"id", "artist_name", "album_name"}) that have no
    artists and no album yet to their provisional ones; returns the tracks linked.

    Call in the write transaction that stores their plays, before the plays (the summaries
    then count the plays for the links at once); a stub already played (an import from before)
    has its summaries folded in by ``links_changed``.
    """
    names = {s["id"]: (s.get("artist_name"), s.get("album_name")) for s in stubs if s.get("id")}
    if not names:
        return 0
    candidates = []
    for chunk in chunked(sorted(names), CHUNK):
        candidates += [
            track_id
            for (track_id,) in Track.select(Track.id)
            .where(
                Track.id.in_(chunk)
                & Track.metadata_fetched_at.is_null()
                & ~Track.is_local
                & Track.album.is_null()
            )
            .tuples()
        ]
    if not candidates:
        return 0
    catalogue_summaries.lock_for_catalogue()
    before = catalogue_summaries.links_of(candidates)
    unlinked = [t for t in candidates if not before.get(t, (frozenset(), None))[0]]
    artists: dict[str, str] = {}
    albums: dict[str, str] = {}
    links = []
    album_of: dict[str, list[str]] = {}
    for track_id in unlinked:
        artist_name, album_name = names[track_id]
        artist = artist_id(artist_name)
        if artist is not None:
            artists.setdefault(artist, (artist_name or "").strip())
            links.append({"track": track_id, "artist": artist, "position": LEAD_POSITION})
        album = album_id(artist_name, album_name)
        if album is not None:
            albums.setdefault(album, (album_name or "").strip())
            album_of.setdefault(album, []).append(track_id)
    for model, rows in ((Artist, artists), (Album, albums)):
        for chunk in chunked(sorted(rows.items()), CHUNK):
            model.insert_many(
                [{"id": key, "name": name, "provisional": True} for key, name in chunk]
            ).on_conflict_ignore().execute()
    for album, track_ids in sorted(album_of.items()):
        for chunk in chunked(track_ids, CHUNK):
            Track.update(album=album).where(Track.id.in_(chunk) & Track.album.is_null()).execute()
    for chunk in chunked(links, CHUNK):
        TrackArtist.insert_many(chunk).on_conflict_ignore().execute()
    catalogue_summaries.links_changed(unlinked, before)
    return len(unlinked)


def unlink(track_ids: Iterable[str]) -> None:
    """Remove the provisional artist links of ``track_ids`` (Spotify just gave their artists).

    Call between reading the links as they were and ``links_changed``
    (``catalogue.write_catalogue`` does).
    """
    for chunk in chunked(sorted(set(track_ids)), CHUNK):
        marks = ", ".join([db.param] * len(chunk))
        db.execute_sql(
            f"DELETE FROM track_artist WHERE track_id IN ({marks}) AND artist_id IN "
            "(SELECT id FROM artist WHERE provisional)",
            list(chunk),
        )


def drop_orphans(artist_ids: Iterable[str], album_ids: Iterable[str | None]) -> None:
    """Delete the provisional artists and albums among these that nothing links any more."""
    artists = sorted({a for a in artist_ids if is_provisional(a)})
    albums = sorted({a for a in album_ids if a is not None and is_provisional(a)})
    for chunk in chunked(artists, CHUNK):
        linked = TrackArtist.select(TrackArtist.artist).where(TrackArtist.artist.in_(chunk))
        Artist.delete().where(
            Artist.id.in_(chunk) & Artist.provisional & Artist.id.not_in(linked)
        ).execute()
    for chunk in chunked(albums, CHUNK):
        used = Track.select(Track.album).where(Track.album.in_(chunk))
        Album.delete().where(
            Album.id.in_(chunk) & Album.provisional & Album.id.not_in(used)
        ).execute()
