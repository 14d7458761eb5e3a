"""Spotify JSON in, catalogue rows out: pure converters and the bulk upserts that store them.

The ETL (``batch/``) and the history import both end here, so a track, artist or album is
written the same way whoever found it.  Converters do no I/O and are tested on sandbox JSON; the
writers take many rows at once (chunked ``INSERT ... ON CONFLICT``, sorted by key so concurrent
workers on PostgreSQL lock rows in one order) inside one transaction.

A field Spotify did not send (development-mode apps get no ``popularity``, ``followers``, often
no ``genres``) becomes NULL, never 0 or "".  An upsert never overwrites a known value with such a
NULL: ``COALESCE(new, old)``.  Plays are inserted only through ``models.ingest.plays.store_plays``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from peewee import EXCLUDED, JOIN, chunked, fn

from models.ingest import provisional
from models.ingest.gaps import HISTORY_BEGINS
from models.schema.db import (  # write_transaction: imported from here by the import job
    is_postgresql,
    naive_utc,
    utcnow,
    write_transaction,
)
from models.schema.tables import (
    AUDIO_FEATURE_NAMES,
    Album,
    Artist,
    ArtistGenre,
    AudioFeatures,
    Genre,
    SyncGap,
    Track,
    TrackArtist,
    User,
)
from models.summaries import catalogue as catalogue_summaries
from models.summaries import shown_genres
from spotify.recent import possible_gap

CHUNK = 100  # rows per INSERT: well under SQLite's bound-variable limit for our widest table
IMAGE_WIDTH = 300  # the width pages show; Spotify lists images largest first
FEATURES_OK, FEATURES_MISSING, FEATURES_FORBIDDEN = "ok", "missing", "forbidden"


# -- converters: Spotify JSON -> rows (no I/O) -----------------------------------------------
def parse_played_at(text: str) -> dt.datetime:
    """``2026-11-23T21:04:05.123Z`` -> naive UTC datetime (milliseconds kept)."""
    return naive_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def to_ms(moment: dt.datetime) -> int:
    """Naive UTC datetime -> Spotify's millisecond cursor."""
    return round(moment.replace(tzinfo=dt.UTC).timestamp() * 1000)


def image_url(images: Sequence[Mapping] | None) -> str | None:
    """The smallest image at least IMAGE_WIDTH wide, else the largest one; None if none."""
    if not images:
        return None
    sized = [i for i in images if (i.get("width") or 0) >= IMAGE_WIDTH]
    if sized:
        return min(sized, key=lambda i: i.get("width") or 0)["url"]
    return max(images, key=lambda i: i.get("width") or 0)["url"]


def _total(value: Mapping | None) -> int | None:
    return value.get("total") if isinstance(value, Mapping) else None


def _named_row(item: Mapping) -> dict:
    """The id and name of any Spotify object as a row: the ``name`` columns are NOT NULL and an
    object may come with no name or an empty one, so the id stands in for it."""
    return {"id": item["id"], "name": item.get("name") or item["id"]}


def album_row(album: Mapping) -> dict:
    return {
        **_named_row(album),
        "album_type": album.get("album_type"),
        "release_date": album.get("release_date"),
        "release_date_precision": album.get("release_date_precision"),
        "total_tracks": album.get("total_tracks"),
        "image_url": image_url(album.get("images")),
        "popularity": album.get("popularity"),
    }


def artist_stub_row(artist: Mapping) -> dict:
    """A simplified artist (inside a track or album): id and name; details come later."""
    return _named_row(artist)


def artist_detail_row(artist: Mapping, fetched_at: dt.datetime) -> dict:
    return {
        **_named_row(artist),
        "popularity": artist.get("popularity"),
        "followers": _total(artist.get("followers")),
        "image_url": image_url(artist.get("images")),
        "details_fetched_at": fetched_at,
    }


def track_row(track: Mapping, fetched_at: dt.datetime) -> dict:
    album = track.get("album") or {}
    return {
        **_named_row(track),
        "album": album.get("id"),
        "duration_ms": track.get("duration_ms"),
        "explicit": track.get("explicit"),
        "popularity": track.get("popularity"),
        "isrc": (track.get("external_ids") or {}).get("isrc"),
        "track_number": track.get("track_number"),
        "disc_number": track.get("disc_number"),
        "metadata_fetched_at": fetched_at,
    }


def track_artist_rows(track: Mapping) -> list[dict]:
    return [
        {"track": track["id"], "artist": artist["id"], "position": position}
        for position, artist in enumerate(_with_ids(track.get("artists")))
    ]


def audio_features_row(track_id: str, features: Mapping | None, fetched_at: dt.datetime) -> dict:
    """Spotify's features object, or ``None`` (Spotify has none for the id) -> status missing."""
    row = {
        "track": track_id,
        "fetched_at": fetched_at,
        "status": FEATURES_OK if features else FEATURES_MISSING,
    }
    for name in AUDIO_FEATURE_NAMES:
        row[name] = features.get(name) if features else None
    return row


def play_row(item: Mapping) -> dict | None:
    """One recently-played item -> the dict ``store_plays`` takes; None for local files
    (:func:`local_file`).

    Spotify does not say how long a recently-played track ran, only that it counted (> 30 s),
    so ``ms_played`` is the track's duration, the same figure Spotify's own recap uses.
    """
    track = item.get("track") or {}
    if not track.get("id"):
        return None
    context = item.get("context") or {}
    return {
        "track_id": track["id"],
        "played_at": parse_played_at(item["played_at"]),
        "ms_played": track.get("duration_ms") or 0,
        "context_uri": context.get("uri"),
    }


def local_file(item: Mapping) -> tuple[tuple[str, str, str | None], dict] | None:
    """A recently-played item of a local file -> ((track, artist, album) names, the play dict
    without its track id); None for any other item.  Spotify gives local files no id: they are
    kept by their names (``models.ingest.streams``), never looked up."""
    track = item.get("track") or {}
    if not track.get("is_local") or not (track.get("name") or "").strip():
        return None
    artists = [a for a in track.get("artists") or () if a and a.get("name")]
    album = (track.get("album") or {}).get("name")
    names = (track["name"].strip(), artists[0]["name"].strip() if artists else "", album or None)
    return names, {
        "played_at": parse_played_at(item["played_at"]),
        "ms_played": track.get("duration_ms") or 0,
        "context_uri": (item.get("context") or {}).get("uri"),
    }


def _with_ids(objects: Iterable[Mapping | None] | None) -> Iterator[Mapping]:
    """Skip nulls and id-less objects (local files have no Spotify id)."""
    return (o for o in objects or () if o and o.get("id"))


@dataclass
class Catalogue:
    """Rows for albums, artist stubs, tracks and their links, deduplicated by key."""

    albums: dict[str, dict] = field(default_factory=dict)
    artists: dict[str, dict] = field(default_factory=dict)
    tracks: dict[str, dict] = field(default_factory=dict)
    links: dict[tuple[str, str], dict] = field(default_factory=dict)

    def add_track(self, track: Mapping, fetched_at: dt.datetime) -> None:
        album = track.get("album")
        if album and album.get("id"):
            self.albums[album["id"]] = album_row(album)
            for artist in _with_ids(album.get("artists")):
                self.artists.setdefault(artist["id"], artist_stub_row(artist))
        for artist in _with_ids(track.get("artists")):
            self.artists[artist["id"]] = artist_stub_row(artist)
        self.tracks[track["id"]] = track_row(track, fetched_at)
        for link in track_artist_rows(track):
            self.links[(link["track"], link["artist"])] = link


def catalogue_of(tracks: Iterable[Mapping | None], fetched_at: dt.datetime) -> Catalogue:
    """Everything the given full track objects say about albums, artists and tracks."""
    catalogue = Catalogue()
    for track in _with_ids(tracks):
        catalogue.add_track(track, fetched_at)
    return catalogue


# -- writers: bulk upserts in one transaction ------------------------------------------------
def _sorted_rows(rows: Mapping | Iterable[dict], *key: str) -> list[dict]:
    values = rows.values() if isinstance(rows, Mapping) else rows
    return sorted(values, key=lambda row: tuple(str(row[k]) for k in key))


def _coalesce(column):
    """Keep the stored value when the new row has none (a dev-mode app's missing field)."""
    return fn.COALESCE(getattr(EXCLUDED, column.column_name), column)


def _upsert(
    model, rows: list[dict], conflict: list, replace: Sequence = (), keep_known: Sequence = ()
) -> int:
    """INSERT rows; on a key conflict set ``replace`` columns and COALESCE ``keep_known`` ones."""
    if not rows:
        return 0
    update = {column: getattr(EXCLUDED, column.column_name) for column in replace}
    update.update({column: _coalesce(column) for column in keep_known})
    with write_transaction():
        for chunk in chunked(rows, CHUNK):
            query = model.insert_many(chunk)
            if update:
                query = query.on_conflict(conflict_target=conflict, update=update)
            else:
                query = query.on_conflict_ignore()
            query.execute()
    return len(rows)


def upsert_albums(rows: Mapping | Iterable[dict]) -> int:
    return _upsert(
        Album,
        _sorted_rows(rows, "id"),
        [Album.id],
        replace=[Album.name],
        keep_known=[
            Album.album_type,
            Album.release_date,
            Album.release_date_precision,
            Album.total_tracks,
            Album.image_url,
            Album.popularity,
        ],
    )


def upsert_artist_stubs(rows: Mapping | Iterable[dict]) -> int:
    """Artists known from a track: insert new ones; a stored artist keeps its details."""
    return _upsert(Artist, _sorted_rows(rows, "id"), [Artist.id], replace=[Artist.name])


def upsert_track_rows(rows: Mapping | Iterable[dict]) -> int:
    return _upsert(
        Track,
        _sorted_rows(rows, "id"),
        [Track.id],
        replace=[Track.name, Track.metadata_fetched_at],
        keep_known=[
            Track.album,
            Track.duration_ms,
            Track.explicit,
            Track.popularity,
            Track.isrc,
            Track.track_number,
            Track.disc_number,
        ],
    )


def upsert_track_artists(rows: Mapping | Iterable[dict]) -> int:
    return _upsert(
        TrackArtist,
        _sorted_rows(rows, "track", "artist"),
        [TrackArtist.track, TrackArtist.artist],
        replace=[TrackArtist.position],
    )


def write_catalogue(catalogue: Catalogue) -> int:
    """Albums, then artists, then tracks, then links (foreign keys point backwards)."""
    if not catalogue.tracks and not catalogue.albums and not catalogue.artists:
        return 0
    with write_transaction():
        # The links of tracks decide the artist and album summaries (models.summaries.catalogue).
        catalogue_summaries.lock_for_catalogue()
        before = catalogue_summaries.links_of(catalogue.tracks)
        upsert_albums(catalogue.albums)
        upsert_artist_stubs(catalogue.artists)
        upsert_track_rows(catalogue.tracks)
        # Spotify's artists replace the provisional ones an export gave (models.ingest.provisional);
        # its album replaced the provisional one in the track upsert.
        provisional.unlink({track for track, _ in catalogue.links})
        upsert_track_artists(catalogue.links)
        catalogue_summaries.links_changed(catalogue.tracks, before)
        provisional.drop_orphans(
            (artist for artists, _ in before.values() for artist, _ in artists),
            (album for _, album in before.values()),
        )
    return len(catalogue.tracks)


def upsert_tracks(
    track_objects: Iterable[Mapping | None], fetched_at: dt.datetime | None = None
) -> int:
    """Full track objects (from recently played or ``GET /tracks``) with albums and artists."""
    return write_catalogue(catalogue_of(track_objects, fetched_at or utcnow()))


def upsert_artists(
    artist_objects: Iterable[Mapping | None], fetched_at: dt.datetime | None = None
) -> int:
    """Full artist objects: details, and genres replacing what was stored for them."""
    fetched_at = fetched_at or utcnow()
    artists = {a["id"]: a for a in _with_ids(artist_objects)}
    if not artists:
        return 0
    rows = [artist_detail_row(a, fetched_at) for a in artists.values()]
    genre_names = {
        a["id"]: sorted({g.strip() for g in a.get("genres") or () if g.strip()})
        for a in artists.values()
    }
    with write_transaction():
        _upsert(
            Artist,
            _sorted_rows(rows, "id"),
            [Artist.id],
            replace=[Artist.name, Artist.details_fetched_at],
            keep_known=[Artist.popularity, Artist.followers, Artist.image_url],
        )
        all_names = sorted({g for names in genre_names.values() for g in names})
        _upsert(Genre, [{"name": g} for g in all_names], [Genre.name])
        genre_ids = {}
        for chunk in chunked(all_names, CHUNK):
            genre_ids.update(
                Genre.select(Genre.name, Genre.id).where(Genre.name.in_(chunk)).tuples()
            )
        with_genres = sorted(a for a, names in genre_names.items() if names)
        for chunk in chunked(with_genres, CHUNK):
            # An empty list from a development-mode app means "not told", not "has none".
            ArtistGenre.delete().where(ArtistGenre.artist.in_(chunk)).execute()
        _upsert(
            ArtistGenre,
            [{"artist": a, "genre": genre_ids[g]} for a in with_genres for g in genre_names[a]],
            [ArtistGenre.artist, ArtistGenre.genre],
        )
        shown_genres.refresh(with_genres)
    return len(rows)


def _mark_fetched(stamp_field, ids: Iterable[str], fetched_at: dt.datetime | None) -> int:
    """Set ``stamp_field`` where it is NULL: asked once, Spotify had nothing, never ask again."""
    ids = sorted(set(ids))
    model = stamp_field.model
    with write_transaction():
        for chunk in chunked(ids, CHUNK):
            (
                model.update({stamp_field: fetched_at or utcnow()})
                .where(model._meta.primary_key.in_(chunk) & stamp_field.is_null())
                .execute()
            )
    return len(ids)


def mark_artists_unavailable(
    artist_ids: Iterable[str], fetched_at: dt.datetime | None = None
) -> int:
    """Spotify answered null or 404 for these artists: the stub stays, details never come."""
    return _mark_fetched(Artist.details_fetched_at, artist_ids, fetched_at)


def ensure_track_stubs(stubs: Iterable[Mapping]) -> int:
    """Tracks known only by id and name (history imports): inserted if new, never overwritten.

    The export names the album's artist and the album but gives no ids: a stub Spotify has not
    described yet is linked to provisional ones (``models.ingest.provisional``), so its plays
    count for them at once; the ETL's tracks step later reads the track from Spotify and its
    album and artists take their place.  Call in the transaction that stores the plays, before.
    """
    stubs = [s for s in stubs if s.get("id")]
    rows = {s["id"]: _named_row(s) for s in stubs}
    with write_transaction():
        written = _upsert(Track, _sorted_rows(rows, "id"), [Track.id])
        provisional.link_stubs(stubs)
    return written


def mark_tracks_unavailable(track_ids: Iterable[str], fetched_at: dt.datetime | None = None) -> int:
    """Spotify has no track for these ids (null or 404): keep the stub, stop asking."""
    return _mark_fetched(Track.metadata_fetched_at, track_ids, fetched_at)


def store_audio_features(
    answers: Mapping[str, Mapping | None], fetched_at: dt.datetime | None = None
) -> dict[str, int]:
    """``{track id: features or None}`` -> one row each: status ok, or missing for None."""
    fetched_at = fetched_at or utcnow()
    rows = [audio_features_row(t, features, fetched_at) for t, features in answers.items()]
    with _features_transaction(answers):
        _upsert(
            AudioFeatures,
            _sorted_rows(rows, "track"),
            [AudioFeatures.track],
            replace=[
                AudioFeatures.status,
                AudioFeatures.fetched_at,
                *(getattr(AudioFeatures, n) for n in AUDIO_FEATURE_NAMES),
            ],
        )
    ok = sum(1 for r in rows if r["status"] == FEATURES_OK)
    return {FEATURES_OK: ok, FEATURES_MISSING: len(rows) - ok}


def mark_audio_features(
    track_ids: Iterable[str], status: str, fetched_at: dt.datetime | None = None
) -> int:
    """Rows without features for ``track_ids`` (``forbidden``: the app may not read them)."""
    fetched_at = fetched_at or utcnow()
    ids = sorted(set(track_ids))
    rows = [{"track": t, "status": status, "fetched_at": fetched_at} for t in ids]
    with _features_transaction(ids):
        return _upsert(
            AudioFeatures,
            rows,
            [AudioFeatures.track],
            replace=[AudioFeatures.status, AudioFeatures.fetched_at],
        )


@contextmanager
def _features_transaction(track_ids: Iterable[str]):
    """Write features of ``track_ids`` in the block, moving their plays in the users' features
    summaries from the old status and values to the new (``models.summaries.catalogue``)."""
    track_ids = sorted(set(track_ids))
    if not track_ids:
        yield
        return
    with write_transaction():
        catalogue_summaries.lock_for_catalogue()
        played = catalogue_summaries.played(track_ids)
        if played:
            catalogue_summaries.features_changing(played)
        yield
        if played:
            catalogue_summaries.features_changed(played)


# -- what the catalogue still lacks ----------------------------------------------------------
def tracks_lacking_features(include_forbidden: bool = True) -> list[str]:
    """Track ids with no features row (or, by default, one Spotify refused to fill)."""
    missing = AudioFeatures.track.is_null()
    if include_forbidden:
        missing |= AudioFeatures.status == FEATURES_FORBIDDEN
    query = (
        Track.select(Track.id)
        .join(AudioFeatures, on=(AudioFeatures.track == Track.id), join_type=JOIN.LEFT_OUTER)
        .where(missing & ~Track.is_local)
        .order_by(Track.id)
    )
    return [row[0] for row in query.tuples()]


def artists_lacking_details() -> list[str]:
    """Artists stored only as stubs: never read from ``/artists``."""
    query = (
        Artist.select(Artist.id)
        .where(Artist.details_fetched_at.is_null() & ~Artist.provisional)
        .order_by(Artist.id)
    )
    return [row[0] for row in query.tuples()]


def tracks_lacking_metadata() -> list[str]:
    """Track stubs (from imports) never read from ``/tracks``; local files are not Spotify's."""
    query = (
        Track.select(Track.id)
        .where(Track.metadata_fetched_at.is_null() & ~Track.is_local)
        .order_by(Track.id)
    )
    return [row[0] for row in query.tuples()]


# -- one user's recently played page(s) ------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    new_plays: int
    duplicates: int
    tracks: int  # track rows written (new or refreshed)
    cursor: dt.datetime | None  # the user's last_played_at after the load
    # plays possibly missing (``spotify.recent.possible_gap``); start HISTORY_BEGINS: first sync
    gap: tuple[dt.datetime, dt.datetime] | None = None


def load_recently_played(
    user_id: int, items: Sequence[Mapping], fetched_at: dt.datetime | None = None
) -> LoadResult:
    """Catalogue upsert, plays, gap record and cursor advance for one user, in one transaction.

    ``items`` are recently-played items read after the user's cursor.  The cursor
    (``User.last_played_at``) moves to the newest item only with the plays stored, and never
    backwards, so loading old or repeated items is harmless.
    """
    from models.ingest import streams
    from models.ingest.plays import store_plays

    fetched_at = fetched_at or utcnow()
    plays = [p for p in (play_row(item) for item in items) if p is not None]
    local = [found for found in (local_file(item) for item in items) if found is not None]
    played = [parse_played_at(item["played_at"]) for item in items]
    with write_transaction():
        query = User.select(User.last_played_at).where(User.id == user_id)
        if is_postgresql():  # two loads of one user (two run hours) take turns
            query = query.for_update()
        cursor = query.scalar()
        possible = possible_gap(cursor, played)
        gap = (possible[0] or HISTORY_BEGINS, possible[1]) if possible else None
        tracks = write_catalogue(catalogue_of((item.get("track") for item in items), fetched_at))
        if local:
            local_ids = streams.ensure_local_tracks(user_id, {names for names, _ in local})
            plays += [{**play, "track_id": local_ids[names]} for names, play in local]
        stored = store_plays(user_id, plays, "api")
        if gap:
            (
                SyncGap.insert(user=user_id, gap_start=gap[0], gap_end=gap[1])
                .on_conflict_ignore()
                .execute()
            )
        if played and (cursor is None or max(played) > cursor):
            cursor = max(played)
            User.update(last_played_at=cursor).where(User.id == user_id).execute()
    return LoadResult(
        new_plays=stored.added, duplicates=stored.duplicates, tracks=tracks, cursor=cursor, gap=gap
    )
