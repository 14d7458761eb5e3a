"""Plays per artist, album and audio features: the track summaries, summed over the catalogue.

Artist, album and genre statistics over a year or all time would otherwise join tens of
thousands of per-track rows to ``track_artist`` and ``track`` on every page view, which costs
more than everything else a page does (docs/query-plans.md).  So each user also has:

- ``ArtistTotal`` / ``ArtistMonth``: per artist, all time / per local month, the sum of the
  track summaries of every track crediting the artist (``lead_*``: only the tracks the artist
  leads, whose genres are the artist's);
- ``AlbumTotal`` / ``AlbumMonth``: per album, the sum over the album's tracks;
- ``FeatureTotal`` / ``FeatureMonth``: per audio-features status, the plays and the
  play-weighted sums of the taste profile's features (in millionths: integers, so a track's
  part can be taken out exactly when its features arrive).

There are no per-day rows of these: a period needs at most about 62 edge days, which the
statistics sum from ``TrackDay`` joined to the catalogue when they read (:func:`day_source_sql`
and ``models.stats.sources``); the weekly charts rank from the same join.  Per-day rows were
1.4 million rows of the 1,000,000-play listener that every time-zone change rewrote and every
import wrote (docs/query-plans.md).

The invariant (``tests/test_stats_equality.py`` compares the incremental rows with
:func:`rebuild`): each row equals that sum computed from the track summaries and the catalogue
as they are now.  Three kinds of event move the sum, each handled in the transaction that
causes it:

- new plays (:func:`record`, from ``summaries.record_plays``), with the links and features of
  their tracks as they stand when the plays are stored;
- the catalogue learning or changing a track's artists or album (``ingest.write_catalogue``
  calls :func:`links_changed`).  The usual case is a stub track from a history import that the
  ETL completes: its summaries are simply added (:func:`_fold`).  A track whose known artists
  or album change (Spotify relinked it, or its provisional ones from an export give way to
  Spotify's) has the rows of the artists and albums it leaves recomputed (:func:`_recompute`),
  since a first or last play cannot be subtracted; those it joins gain its summaries by a fold
  when none of them counted it before, else they are recomputed too;
- a track's audio features arriving or changing (``ingest.store_audio_features`` and
  ``mark_audio_features``): its plays move from the old status and values to the new ones
  (:func:`features_changing`, :func:`features_changed`).

On PostgreSQL the writers must not interleave: plays stored while a catalogue writer reads the
links or features would be counted by neither (or both).  Storing plays takes a shared
advisory lock, writing the catalogue an exclusive one, each before any row lock, so they
serialise without deadlocking on each other (SQLite has one writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from peewee import chunked

from models.schema.bulk import adding_upsert, insert_rows, replace_user_rows
from models.schema.db import db, is_postgresql
from models.schema.tables import (
    LEAD_POSITION,
    PROFILE_FEATURES,
    AlbumMonth,
    AlbumTotal,
    ArtistMonth,
    ArtistTotal,
    FeatureMonth,
    FeatureTotal,
)
from models.summaries import charts, exclusions, track_facts

LOCK_KEY = 0x53_70_54_72  # "SpTr": the pg_advisory lock between plays and catalogue writers
CHUNK = 500

ARTIST_SUMS = (
    "plays",
    "ms_played",
    "lead_plays",
    "lead_ms_played",
    "first_played_at",
    "last_played_at",
)
ALBUM_SUMS = ("plays", "ms_played", "first_played_at", "last_played_at")


# --- locks -------------------------------------------------------------------------------------


def lock_for_plays() -> None:
    """Call before storing plays: the links and features of tracks cannot change until the
    commit."""
    if is_postgresql():
        db.execute_sql("SELECT pg_advisory_xact_lock_shared(%s)", (LOCK_KEY,))


def lock_for_catalogue() -> None:
    """Call before reading links or features that will be changed: no plays are being stored
    until the commit."""
    if is_postgresql():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))


# --- the links ---------------------------------------------------------------------------------

Links = dict[str, tuple[frozenset, str | None]]  # track -> ({(artist, lead)}, album)


def links_of(track_ids: Iterable[str]) -> Links:
    """The artists (with whether each leads) and album of each given track that is stored."""
    found: dict[str, tuple[set, str | None]] = {}
    for chunk in chunked(sorted(set(track_ids)), CHUNK):
        rows = db.execute_sql(
            "SELECT t.id, t.album_id, ta.artist_id, ta.position FROM track t "
            "LEFT JOIN track_artist ta ON ta.track_id = t.id "
            f"WHERE t.id IN ({', '.join([db.param] * len(chunk))})",
            list(chunk),
        ).fetchall()
        for track_id, album_id, artist_id, position in rows:
            artists = found.setdefault(track_id, (set(), album_id))[0]
            if artist_id is not None:
                artists.add((artist_id, position == LEAD_POSITION))
    return {track: (frozenset(artists), album) for track, (artists, album) in found.items()}


def _of_summary_track(column: str, track_ids: Iterable[str]) -> list:
    """The distinct ``column`` values of the track summaries of ``track_ids`` (any user)."""
    found: set = set()
    for chunk in chunked(sorted(set(track_ids)), CHUNK):
        found.update(
            value
            for (value,) in db.execute_sql(
                f"SELECT DISTINCT {column} FROM summary_track WHERE track_id IN ("
                + ", ".join([db.param] * len(chunk))
                + ")",
                list(chunk),
            ).fetchall()
        )
    return sorted(found)


def played(track_ids: Iterable[str]) -> list[str]:
    """The tracks someone has summaries of.  Under :func:`lock_for_catalogue` no plays are
    being stored, so the others cannot gain any before the catalogue change commits."""
    return _of_summary_track("track_id", track_ids)


def _players(track_ids: Iterable[str]) -> list[int]:
    """The users who played any of ``track_ids``."""
    return _of_summary_track("user_id", track_ids)


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


def record(
    user_id: int, buckets: Mapping[str, Mapping[tuple, list]], totals: Mapping[str, list]
) -> None:
    """Add the track summary cells just recorded for new plays (``summaries.record_plays``):
    ``buckets`` {"month": {(local month, track): [plays, ms, first, last]}}, ``totals``
    {track: cell}."""
    _record_features(user_id, buckets, totals)
    links = links_of(totals)
    if not any(artists or album for artists, album in links.values()):
        return  # stub tracks of an import: added when the ETL links them
    for bucket, cells in (*buckets.items(), (None, {(None, t): c for t, c in totals.items()})):
        artist_cells: dict = {}
        album_cells: dict = {}
        for (when, track), cell in cells.items():
            artists, album = links.get(track, ((), None))
            for artist, lead in artists:
                _merge(artist_cells, (when, artist), cell, lead)
            if album:
                _merge(album_cells, (when, album), cell)
        _add(_MODELS[(True, bucket)], bucket, ARTIST_SUMS, user_id, artist_cells)
        _add(_MODELS[(False, bucket)], bucket, ALBUM_SUMS, user_id, album_cells)


_MODELS = {
    (True, None): ArtistTotal,
    (True, "month"): ArtistMonth,
    (False, None): AlbumTotal,
    (False, "month"): AlbumMonth,
}
BUCKETS = (None, "month")
# The summaries here that depend on the time zone (``listening.rebuild`` empties them).
MONTH_MODELS = (ArtistMonth, AlbumMonth, FeatureMonth)


def _key_columns(model, bucket: str | None, key) -> list:
    """The primary key of a catalogue summary: user, the bucket if any, then ``key``."""
    return [model.user, *([getattr(model, bucket)] if bucket else []), key]


def _conflict_clause(model, bucket: str | None, sums: tuple) -> tuple[list, str]:
    """The key columns of ``model`` and its ON CONFLICT clause adding counters, keeping the
    earliest first and the latest last play."""
    conflict = _key_columns(
        model, bucket, model.artist if hasattr(model, "artist") else model.album
    )
    counters = [getattr(model, name) for name in sums if not name.endswith("_played_at")]
    return conflict, adding_upsert(
        model,
        conflict,
        sums=counters,
        earliest=(model.first_played_at,),
        latest=(model.last_played_at,),
    )


def _add(model, bucket: str | None, sums: tuple, user_id: int, cells: dict) -> None:
    if not cells:
        return
    conflict, clause = _conflict_clause(model, bucket, sums)
    columns = [*conflict, *(getattr(model, name) for name in sums)]
    if bucket is None:
        rows = [(user_id, key, *cell) for (_, key), cell in cells.items()]
    else:
        rows = [(user_id, when, key, *cell) for (when, key), cell in cells.items()]
    insert_rows(model, columns, rows, conflict=clause)


# --- the catalogue changes ---------------------------------------------------------------------


def links_changed(track_ids: Iterable[str], before: Links) -> None:
    """Bring the summaries in line after the links of ``track_ids`` were written; ``before``:
    their links as read under :func:`lock_for_catalogue` before the change.  The tracks'
    open-data facts (``track_facts``) follow their rows, played or not."""
    track_ids = sorted(set(track_ids))
    track_facts.refresh(track_ids)
    after = links_of(played(track_ids))  # a track nobody played moves no summary
    fold_artists, fold_albums = [], []
    users_of: set[str] = set()
    artists_to_redo: set[str] = set()
    albums_to_redo: set[str] = set()
    for track, (new_artists, new_album) in after.items():
        old_artists, old_album = before.get(track, (frozenset(), None))
        if new_artists != old_artists:
            old_ids = {artist for artist, _ in old_artists}
            new_ids = {artist for artist, _ in new_artists}
            if not old_ids & new_ids:
                # none of its new artists counted it before (a stub completed, provisional
                # artists replaced by Spotify's): they gain its plays, the old ones are redone
                fold_artists.append(track)
                if old_ids:
                    users_of.add(track)
                    artists_to_redo |= old_ids
            else:
                users_of.add(track)
                artists_to_redo |= old_ids | new_ids
        if new_album != old_album:
            if new_album is not None:
                fold_albums.append(track)  # its new album never counted it
            if old_album is not None:
                users_of.add(track)
                albums_to_redo.add(old_album)
    # folds first: a row both gains a track and is redone ends as the recomputation says
    if fold_artists:
        _fold(fold_artists, artists=True)
    if fold_albums:
        _fold(fold_albums, artists=False)
    if users_of:
        _recompute(_players(users_of), artists_to_redo, albums_to_redo)
    if fold_artists or fold_albums or users_of:
        charts.tracks_relinked({*fold_artists, *fold_albums, *users_of})
    relinked = {*fold_artists, *users_of}
    for user_id in exclusions.players_excluding_artists_of(relinked):
        # a track they played now credits an artist they exclude: its plays leave every sum
        from models.summaries import listening, sessions  # listening imports this module

        listening.rebuild(user_id)
        sessions.rebuild_sessions(user_id)


def _sums_sql(artists: bool) -> tuple[str, str]:
    """(column list, SELECT expressions) of the sums, over track summaries ``s`` and links
    ``ta`` (artists) or tracks ``t`` (albums)."""
    if artists:
        lead = f"CASE WHEN ta.position = {LEAD_POSITION} THEN s.{{}} ELSE 0 END"
        return (
            ", ".join(ARTIST_SUMS),
            f"SUM(s.plays), SUM(s.ms_played), SUM({lead.format('plays')}), "
            f"SUM({lead.format('ms_played')}), MIN(s.first_played_at), "
            "MAX(s.last_played_at)",
        )
    return (
        ", ".join(ALBUM_SUMS),
        "SUM(s.plays), SUM(s.ms_played), MIN(s.first_played_at), MAX(s.last_played_at)",
    )


def day_source_sql(artists: bool, bucket: str | None = "day") -> tuple[str, str]:
    """(key expression, FROM ... joining the track summaries ``s`` of ``bucket`` to their
    artists ``ta`` or their album ``t``): the rows an artist or album summary sums, and for
    days, which have no summary of their own, what a reader of days sums instead."""
    summary = "summary_track" + (f"_{bucket}" if bucket else "")
    if artists:
        return "ta.artist_id", f"{summary} s JOIN track_artist ta ON ta.track_id = s.track_id"
    return (
        "t.album_id",
        f"{summary} s JOIN track t ON t.id = s.track_id AND t.album_id IS NOT NULL",
    )


def _source_sql(artists: bool, bucket: str | None) -> tuple[str, str, str]:
    """(target table, key expression, FROM ... joining the track summaries to the links)."""
    suffix = f"_{bucket}" if bucket else ""
    table = ("summary_artist" if artists else "summary_album") + suffix
    return (table, *day_source_sql(artists, bucket))


def _select_sql(artists: bool, bucket: str | None, where: str) -> tuple[str, list[str], str]:
    """(target table, its columns, the SELECT of the sums over the track summaries)."""
    table, key, source = _source_sql(artists, bucket)
    columns, sums = _sums_sql(artists)
    key_column = "artist_id" if artists else "album_id"
    by = f", s.{bucket}" if bucket else ""
    names = ["user_id", *([bucket] if bucket else []), key_column, *columns.split(", ")]
    select = (
        f"SELECT s.user_id{by}, {key}, {sums} FROM {source} WHERE {where} "
        # in key order: appending to the primary key's B-tree is cheaper than random inserts
        f"GROUP BY s.user_id{by}, {key} ORDER BY s.user_id{by}, {key}"
    )
    return table, names, select


def _insert_select(
    artists: bool, bucket: str | None, where: str, params: list, conflict: str = ""
) -> None:
    table, names, select = _select_sql(artists, bucket, where)
    db.execute_sql(f"INSERT INTO {table} ({', '.join(names)}) {select} {conflict}", params)


def _of_tracks(bucket: str | None, track_ids: list[str]) -> tuple[str, list]:
    """WHERE clause (and parameters) for the track summaries ``s`` of ``track_ids``, all users:
    through their players (``summary_track (track_id)``), so the monthly rows are read by
    the ``(user_id, track_id, ...)`` index, not by a scan of every user's rows."""
    marks = ", ".join([db.param] * len(track_ids))
    if bucket is None:
        return f"s.track_id IN ({marks})", list(track_ids)
    return (
        f"s.track_id IN ({marks}) AND s.user_id IN "
        f"(SELECT p.user_id FROM summary_track p WHERE p.track_id IN ({marks}))",
        [*track_ids, *track_ids],
    )


def _fold(track_ids: list[str], artists: bool) -> None:
    """Add every user's summaries of tracks that had no artists (or album) until now."""
    for bucket in BUCKETS:
        _, clause = _conflict_clause(
            _MODELS[(artists, bucket)], bucket, ARTIST_SUMS if artists else ALBUM_SUMS
        )
        for chunk in chunked(sorted(track_ids), CHUNK):
            _insert_select(artists, bucket, *_of_tracks(bucket, chunk), clause)


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
                for bucket in BUCKETS:
                    table = _source_sql(artists, bucket)[0]
                    db.execute_sql(
                        f"DELETE FROM {table} WHERE user_id IN ({users}) "
                        f"AND {key_column} IN ({keys})",
                        params,
                    )
                    _insert_select(
                        artists, bucket, f"s.user_id IN ({users}) AND {key} IN ({keys})", params
                    )


# --- audio features ----------------------------------------------------------------------------

MICRO = 1_000_000
PENDING = "pending"  # no features row yet: the ETL has not asked Spotify
_FEATURE_MODELS = {None: FeatureTotal, "month": FeatureMonth}
FEATURE_COUNTERS = (
    "plays",
    "ms_played",
    *(f"{kind}_{name}" for name in PROFILE_FEATURES for kind in ("sum", "n")),
)


def micro_sql(column: str) -> str:
    """SQL for a feature value in millionths, rounded half up (features are never negative).

    Both the incremental path and the recomputations take the integers from this expression,
    so they add up exactly whatever the engine stores (PostgreSQL's float4 is not Python's
    float)."""
    if is_postgresql():
        return f"CAST(FLOOR(CAST({column} AS DOUBLE PRECISION) * {MICRO} + 0.5) AS BIGINT)"
    return f"CAST({column} * {MICRO} + 0.5 AS INTEGER)"


def _features_of(track_ids) -> dict[str, tuple[str, list]]:
    """{track: (status, [value in millionths or None per profile feature])} of stored rows."""
    columns = ", ".join(micro_sql(f"af.{name}") for name in PROFILE_FEATURES)
    found: dict[str, tuple[str, list]] = {}
    for chunk in chunked(sorted(track_ids), CHUNK):
        rows = db.execute_sql(
            f"SELECT af.track_id, af.status, {columns} FROM audio_features af WHERE "
            f"af.track_id IN ({', '.join([db.param] * len(chunk))})",
            list(chunk),
        ).fetchall()
        found.update((row[0], (row[1], list(row[2:]))) for row in rows)
    return found


def _record_features(
    user_id: int, buckets: Mapping[str, Mapping[tuple, list]], totals: Mapping[str, list]
) -> None:
    # Per track: its status and the (counter index, value) of the features it has; a history
    # import's stub tracks have none yet, so their cells only add plays and time.
    known = {
        track: (status, [(2 + 2 * i, v) for i, v in enumerate(values) if v is not None])
        for track, (status, values) in _features_of(totals).items()
    }
    unknown: tuple[str, list] = (PENDING, [])
    for bucket, cells in (*buckets.items(), (None, {(None, t): c for t, c in totals.items()})):
        sums: dict = {}
        for (when, track), (plays, ms, _, _) in cells.items():
            status, values = known.get(track, unknown)
            row = sums.get((when, status))
            if row is None:
                row = sums[(when, status)] = [0] * len(FEATURE_COUNTERS)
            row[0] += plays
            row[1] += ms
            for at, value in values:
                row[at] += plays * value
                row[at + 1] += plays
        if not sums:
            continue
        model = _FEATURE_MODELS[bucket]
        conflict = _key_columns(model, bucket, model.status)
        counters = [getattr(model, name) for name in FEATURE_COUNTERS]
        if bucket is None:
            rows = [(user_id, status, *row) for (_, status), row in sums.items()]
        else:
            rows = [(user_id, when, status, *row) for (when, status), row in sums.items()]
        insert_rows(
            model,
            [*conflict, *counters],
            rows,
            conflict=adding_upsert(model, conflict, sums=counters),
        )


def _features_select(bucket: str | None, where: str, sign: int = 1) -> tuple[str, list[str], str]:
    """(target table, its columns, the SELECT of the features summaries of track summaries
    ``s`` (``where``), multiplied by ``sign``, by the tracks' features as stored now)."""
    suffix = f"_{bucket}" if bucket else ""
    by = f", s.{bucket}" if bucket else ""
    status = f"COALESCE(af.status, '{PENDING}')"
    sums = [f"{sign} * SUM(s.plays)", f"{sign} * SUM(s.ms_played)"]
    for name in PROFILE_FEATURES:
        sums.append(f"{sign} * COALESCE(SUM(s.plays * {micro_sql('af.' + name)}), 0)")
        sums.append(f"{sign} * SUM(CASE WHEN af.{name} IS NOT NULL THEN s.plays ELSE 0 END)")
    select = (
        f"SELECT s.user_id{by}, {status}, {', '.join(sums)} "
        f"FROM summary_track{suffix} s LEFT JOIN audio_features af "
        f"ON af.track_id = s.track_id WHERE {where} GROUP BY s.user_id{by}, {status}"
    )
    names = ["user_id", *([bucket] if bucket else []), "status", *FEATURE_COUNTERS]
    return f"summary_features{suffix}", names, select


def _features_sql(bucket: str | None, where: str, sign: int = 1, conflict: str = "") -> str:
    """INSERT ... SELECT of :func:`_features_select`."""
    table, names, select = _features_select(bucket, where, sign)
    return f"INSERT INTO {table} ({', '.join(names)}) {select} {conflict}"


def features_changing(track_ids: Iterable[str]) -> None:
    """Call (under :func:`lock_for_catalogue`) before the features of these tracks (those
    :func:`played`) are written: takes their plays out of every user's features summaries ..."""
    _shift_features(sorted(set(track_ids)), -1)


def features_changed(track_ids: Iterable[str]) -> None:
    """... and after: puts them back under the new status and values."""
    track_ids = sorted(set(track_ids))
    _shift_features(track_ids, 1)
    users = _players(track_ids)
    for user_chunk in chunked(users, CHUNK):
        marks = ", ".join([db.param] * len(user_chunk))
        for model in _FEATURE_MODELS.values():
            # a status no play has any more (every "pending" play of a user now "ok")
            db.execute_sql(
                f"DELETE FROM {model._meta.table_name} WHERE user_id IN ({marks}) AND plays = 0",
                list(user_chunk),
            )


def _shift_features(track_ids: list[str], sign: int) -> None:
    for bucket, model in _FEATURE_MODELS.items():
        conflict = _key_columns(model, bucket, model.status)
        clause = adding_upsert(
            model, conflict, sums=[getattr(model, name) for name in FEATURE_COUNTERS]
        )
        for chunk in chunked(track_ids, CHUNK):
            where, params = _of_tracks(bucket, chunk)
            db.execute_sql(_features_sql(bucket, where, sign, clause), params)


# --- rebuilding --------------------------------------------------------------------------------


def rebuild(user_id: int, local_only: bool = False, rewrite_months: bool = False) -> None:
    """Fill one user's artist, album and features summaries from their track summaries, in
    ``summaries.rebuild``, which has deleted the user's rows of every summary (with
    ``local_only``, the zone changed: only the monthly ones; with ``rewrite_months`` not
    those either, which are rewritten where they differ: ``bulk.replace_user_rows``)."""
    for bucket in BUCKETS[1:] if local_only else BUCKETS:
        where = f"s.user_id = {db.param}"
        selects = [_select_sql(True, bucket, where), _select_sql(False, bucket, where)]
        selects.append(_features_select(bucket, where))
        for table, names, select in selects:
            if rewrite_months and bucket == "month":
                keys = 2
                replace_user_rows(
                    table, names[1 : 1 + keys], names[1 + keys :], select, [user_id], user_id
                )
            else:
                db.execute_sql(f"INSERT INTO {table} ({', '.join(names)}) {select}", [user_id])
