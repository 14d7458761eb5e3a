"""Plays per artist and per album: the track summaries, summed over the catalogue's links.

Artist, album and genre statistics over a year or all time would otherwise join tens of
thousands of per-track rows to ``track_artist`` and ``track`` on every page view, which costs
more than everything else a page does (docs/query-plans.md).  So each user also has:

- ``ArtistTotal`` / ``ArtistMonth``: per artist, all time / per local month, the sum of the
  track summaries of every track crediting the artist (``lead_*``: only the tracks the artist
  leads, whose genres are the artist's);
- ``AlbumTotal`` / ``AlbumMonth``: per album, the sum over the album's tracks.

The invariant, which ``tests/test_catalogue_summaries.py`` checks against :func:`rebuild`: each
row equals that sum computed from the track summaries and the catalogue as they are now.  Two
kinds of event move the sum, and both are handled in the transaction that causes them:

- new plays (:func:`record`, from ``summaries.record_plays``), with the links of their tracks
  as they stand when the plays are stored;
- the catalogue learning or changing a track's artists or album (``ingest.write_catalogue``
  calls :func:`links_changed`).  The usual case is a stub track from a history import that the
  ETL completes: its summaries are simply added (:func:`_fold`).  A track whose known artists
  or album change (Spotify relinked it) has the rows of the artists and albums concerned
  recomputed (:func:`_recompute`), since a first or last play cannot be subtracted.

On PostgreSQL the two writers must not interleave: plays stored while a catalogue writer reads
the links would be counted by neither (or both).  Storing plays takes a shared advisory lock,
writing the catalogue an exclusive one, each before any row lock, so they serialise without
deadlocking on each other (SQLite has one writer at a time anyway).
"""
from __future__ import annotations

from typing import Iterable, Mapping

from peewee import chunked

from models.bulk import adding_upsert, insert_rows
from models.db import db, is_postgresql
from models.tables import (AlbumMonth, AlbumTotal, ArtistMonth, ArtistTotal, Track,
                           TrackArtist)

LOCK_KEY = 0x53_70_54_72  # "SpTr": the pg_advisory lock between plays and catalogue writers
CHUNK = 500

ARTIST_SUMS = ("plays", "ms_played", "lead_plays", "lead_ms_played", "first_played_at",
               "last_played_at")
ALBUM_SUMS = ("plays", "ms_played", "first_played_at", "last_played_at")


# --- locks -------------------------------------------------------------------------------------

def lock_for_plays() -> None:
    """Call before storing plays: the catalogue's links cannot change until the commit."""
    if is_postgresql():
        db.execute_sql("SELECT pg_advisory_xact_lock_shared(%s)", (LOCK_KEY,))


def lock_for_catalogue() -> None:
    """Call before reading links that will be changed: no plays are being stored meanwhile."""
    if is_postgresql():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))


# --- the links ---------------------------------------------------------------------------------

Links = dict[str, tuple[frozenset, str | None]]  # track -> ({(artist, lead)}, album)


def links_of(track_ids: Iterable[str]) -> Links:
    """The artists (with whether each leads) and album of each given track that is stored."""
    found: dict[str, tuple[set, str | None]] = {}
    for chunk in chunked(sorted(set(track_ids)), CHUNK):
        for track_id, album_id in (Track.select(Track.id, Track.album)
                                   .where(Track.id.in_(chunk)).tuples()):
            found[track_id] = (set(), album_id)
        for track_id, artist_id, position in (
                TrackArtist.select(TrackArtist.track, TrackArtist.artist, TrackArtist.position)
                .where(TrackArtist.track.in_(chunk)).tuples()):
            found[track_id][0].add((artist_id, position == 0))
    return {track: (frozenset(artists), album) for track, (artists, album) in found.items()}


# --- new plays ---------------------------------------------------------------------------------

def _merge(cells: dict, key, cell: list, lead: bool | None = None) -> None:
    """Add a track summary cell [plays, ms, first, last] to an artist or album cell."""
    plays, ms, first, last = cell
    row = cells.get(key)
    if lead is None:
        if row is None:
            cells[key] = [plays, ms, first, last]
            return
        row[0] += plays
        row[1] += ms
        row[2] = min(row[2], first)
        row[3] = max(row[3], last)
        return
    lead_plays, lead_ms = (plays, ms) if lead else (0, 0)
    if row is None:
        cells[key] = [plays, ms, lead_plays, lead_ms, first, last]
        return
    row[0] += plays
    row[1] += ms
    row[2] += lead_plays
    row[3] += lead_ms
    row[4] = min(row[4], first)
    row[5] = max(row[5], last)


def record(user_id: int, months: Mapping[tuple, list], totals: Mapping[str, list]) -> None:
    """Add the track summary cells just recorded for new plays (``summaries.record_plays``):
    ``months`` {(local month, track): [plays, ms, first, last]}, ``totals`` {track: cell}."""
    links = links_of(totals)
    if not any(artists or album for artists, album in links.values()):
        return  # stub tracks of an import: added when the ETL links them
    artist_months: dict = {}
    artist_totals: dict = {}
    album_months: dict = {}
    album_totals: dict = {}
    for (month, track), cell in months.items():
        artists, album = links.get(track, ((), None))
        for artist, lead in artists:
            _merge(artist_months, (month, artist), cell, lead)
        if album:
            _merge(album_months, (month, album), cell)
    for track, cell in totals.items():
        artists, album = links.get(track, ((), None))
        for artist, lead in artists:
            _merge(artist_totals, artist, cell, lead)
        if album:
            _merge(album_totals, album, cell)
    _add(ArtistMonth, ArtistMonth.month, ArtistMonth.artist, ARTIST_SUMS, user_id, artist_months)
    _add(ArtistTotal, None, ArtistTotal.artist, ARTIST_SUMS, user_id, artist_totals)
    _add(AlbumMonth, AlbumMonth.month, AlbumMonth.album, ALBUM_SUMS, user_id, album_months)
    _add(AlbumTotal, None, AlbumTotal.album, ALBUM_SUMS, user_id, album_totals)


def _add(model, bucket, key, sums: tuple, user_id: int, cells: dict) -> None:
    if not cells:
        return
    sum_fields = [getattr(model, name) for name in sums]
    counters = [f for f in sum_fields if not f.name.endswith("_played_at")]
    conflict = [model.user, *([bucket] if bucket is not None else []), key]
    columns = [*conflict, *sum_fields]
    if bucket is None:
        rows = [(user_id, k, *cell) for k, cell in cells.items()]
    else:
        rows = [(user_id, *k, *cell) for k, cell in cells.items()]
    clause = adding_upsert(model, conflict, sums=counters, earliest=(model.first_played_at,),
                           latest=(model.last_played_at,))
    insert_rows(model, columns, rows, conflict=clause)


# --- the catalogue changes ---------------------------------------------------------------------

def links_changed(track_ids: Iterable[str], before: Links) -> None:
    """Bring the summaries in line after the links of ``track_ids`` were written; ``before``:
    their links as read under :func:`lock_for_catalogue` before the change."""
    after = links_of(track_ids)
    fold_artists, fold_albums = [], []
    users_of: set[str] = set()
    artists_to_redo: set[str] = set()
    albums_to_redo: set[str] = set()
    for track, (new_artists, new_album) in after.items():
        old_artists, old_album = before.get(track, (frozenset(), None))
        if new_artists != old_artists:
            if not old_artists:
                fold_artists.append(track)
            else:
                users_of.add(track)
                artists_to_redo |= {artist for artist, _ in old_artists | new_artists}
        if new_album != old_album:
            if old_album is None:
                fold_albums.append(track)
            else:
                users_of.add(track)
                albums_to_redo |= {album for album in (old_album, new_album) if album}
    if fold_artists:
        _fold(fold_artists, artists=True)
    if fold_albums:
        _fold(fold_albums, artists=False)
    if users_of:
        _recompute(_players(users_of), artists_to_redo, albums_to_redo)


def _players(track_ids: Iterable[str]) -> list[int]:
    users: set[int] = set()
    for chunk in chunked(sorted(track_ids), CHUNK):
        users.update(user for (user,) in db.execute_sql(
            "SELECT DISTINCT user_id FROM summary_track WHERE track_id IN ("
            + ", ".join([db.param] * len(chunk)) + ")", chunk).fetchall())
    return sorted(users)


def _sums_sql(artists: bool) -> tuple[str, str]:
    """(column list, SELECT expressions) of the sums, over track summaries ``s`` and links
    ``ta`` (artists) or tracks ``t`` (albums)."""
    if artists:
        lead = "CASE WHEN ta.position = 0 THEN s.{} ELSE 0 END"
        return (", ".join(ARTIST_SUMS),
                f"SUM(s.plays), SUM(s.ms_played), SUM({lead.format('plays')}), "
                f"SUM({lead.format('ms_played')}), MIN(s.first_played_at), "
                "MAX(s.last_played_at)")
    return (", ".join(ALBUM_SUMS),
            "SUM(s.plays), SUM(s.ms_played), MIN(s.first_played_at), MAX(s.last_played_at)")


def _source_sql(artists: bool, month: bool) -> tuple[str, str, str]:
    """(target table, key expression, FROM ... joining the track summaries to the links)."""
    table = ("summary_artist" if artists else "summary_album") + ("_month" if month else "")
    summary = "summary_track_month" if month else "summary_track"
    if artists:
        return table, "ta.artist_id", (f"{summary} s JOIN track_artist ta "
                                       "ON ta.track_id = s.track_id")
    return table, "t.album_id", (f"{summary} s JOIN track t ON t.id = s.track_id "
                                 "AND t.album_id IS NOT NULL")


def _insert_select(artists: bool, month: bool, where: str, params: list,
                   conflict: str = "") -> None:
    table, key, source = _source_sql(artists, month)
    columns, sums = _sums_sql(artists)
    key_column = "artist_id" if artists else "album_id"
    bucket = ", s.month" if month else ""
    bucket_column = ", month" if month else ""
    db.execute_sql(
        f"INSERT INTO {table} (user_id{bucket_column}, {key_column}, {columns}) "
        f"SELECT s.user_id{bucket}, {key}, {sums} FROM {source} WHERE {where} "
        f"GROUP BY s.user_id{bucket}, {key} {conflict}", params)


def _fold(track_ids: list[str], artists: bool) -> None:
    """Add every user's summaries of tracks that had no artists (or album) until now."""
    for month in (False, True):
        model = {(True, False): ArtistTotal, (True, True): ArtistMonth,
                 (False, False): AlbumTotal, (False, True): AlbumMonth}[(artists, month)]
        key = model.artist if artists else model.album
        conflict = [model.user, *([model.month] if month else []), key]
        counters = [getattr(model, name) for name in (ARTIST_SUMS if artists else ALBUM_SUMS)
                    if not name.endswith("_played_at")]
        clause = adding_upsert(model, conflict, sums=counters,
                               earliest=(model.first_played_at,), latest=(model.last_played_at,))
        for chunk in chunked(sorted(track_ids), CHUNK):
            where = "s.track_id IN (" + ", ".join([db.param] * len(chunk)) + ")"
            _insert_select(artists, month, where, list(chunk), clause)


def _recompute(user_ids: list[int], artist_ids: set[str], album_ids: set[str]) -> None:
    """Recompute the rows of these users for these artists and albums from their tracks."""
    for ids, artists in ((sorted(artist_ids), True), (sorted(album_ids), False)):
        if not ids or not user_ids:
            continue
        key_column = "artist_id" if artists else "album_id"
        key = "ta.artist_id" if artists else "t.album_id"
        for user_chunk in chunked(user_ids, CHUNK):
            for id_chunk in chunked(ids, CHUNK):
                users = ", ".join([db.param] * len(user_chunk))
                keys = ", ".join([db.param] * len(id_chunk))
                params = [*user_chunk, *id_chunk]
                for month in (False, True):
                    table = _source_sql(artists, month)[0]
                    db.execute_sql(f"DELETE FROM {table} WHERE user_id IN ({users}) "
                                   f"AND {key_column} IN ({keys})", params)
                    _insert_select(artists, month,
                                   f"s.user_id IN ({users}) AND {key} IN ({keys})", params)


# --- rebuilding --------------------------------------------------------------------------------

def rebuild(user_id: int, local_only: bool = False) -> None:
    """Recompute one user's artist and album summaries from their track summaries (after
    ``summaries.rebuild``; ``local_only``: the monthly rows only, the zone changed)."""
    for artists in (True, False):
        for month in (True,) if local_only else (False, True):
            table = _source_sql(artists, month)[0]
            db.execute_sql(f"DELETE FROM {table} WHERE user_id = {db.param}", [user_id])
            _insert_select(artists, month, f"s.user_id = {db.param}", [user_id])
