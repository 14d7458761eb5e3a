"""The export's listening that is not a music play: local files, short streams, podcasts and
audiobooks, written in bulk, once each.

Music plays of 30 s or more go through ``models.ingest.plays.store_plays`` (a local file's
too: it is a play, counted in the totals, of a track row of its own).  What this module stores
never reaches the music summaries:

- local files: a ``track`` row marked ``is_local`` whose id derives from the listener and the
  folded names, with the names in ``local_track``.  It belongs to that listener alone (deleted
  with the account), is never asked of Spotify and never matched to a catalogue track by a
  name search, and has audio features ``missing`` from the start (a local file has none);
- short streams (under 30 s, skips) in ``short_stream``, counted in the export's summaries of
  skips (``models.summaries.listening_context``), which are not music plays' sums;
- podcast episodes and audiobook chapters with their shows and audiobooks, and their streams
  in ``episode_play`` / ``chapter_play``.  Exports name shows but give no show id, and the
  account-data podcast file gives no episode URI either, so shows and episodes are keyed by
  their folded names: both formats of one listen land on one episode.

A stream already stored is not stored again, so re-importing adds nothing: the same track or
chapter at the same instant (only extended files have them, to the second), the same episode
within ``PLAY_TOLERANCE`` (the two formats' clocks differ by up to 30 s).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from peewee import chunked

from models.ingest.plays import PLAY_TOLERANCE
from models.ingest.provisional import fold
from models.schema.bulk import insert_rows
from models.schema.db import utcnow, write_transaction
from models.schema.tables import (
    HOW_YOU_LISTEN,
    Audiobook,
    AudioFeatures,
    Chapter,
    ChapterPlay,
    Episode,
    EpisodePlay,
    LocalTrack,
    ShortStream,
    Show,
    Track,
)
from models.summaries import listening, listening_context

CHUNK = 200
LOCAL_PREFIX = "local:"
UNNAMED = "(no name in the export)"

Names = tuple[str, str, str | None]


def name_key(prefix: str, *names: str | None) -> str:
    """A stable id from folded names (``prefix`` says of what)."""
    return prefix + hashlib.sha1("\0".join(fold(n) for n in names).encode()).hexdigest()


def local_track_id(user_id: int, names: Names) -> str:
    """The track id of a local file (track, artist, album names) played by ``user_id``."""
    return name_key(LOCAL_PREFIX, str(user_id), *names)


def ensure_local_tracks(user_id: int, names: Iterable[Names]) -> dict[Names, str]:
    """The track ids of these local files of ``user_id``'s, their rows written if new."""
    ids = {n: local_track_id(user_id, n) for n in names}
    if not ids:
        return ids
    by_id = {track_id: n for n, track_id in ids.items()}
    for chunk in chunked(sorted(by_id), CHUNK):
        rows = [(t, by_id[t][0] or UNNAMED, True) for t in chunk]
        insert_rows(
            Track, (Track.id, Track.name, Track.is_local), rows, conflict="ON CONFLICT DO NOTHING"
        )
        insert_rows(
            LocalTrack,
            (LocalTrack.track, LocalTrack.user, LocalTrack.artist_name, LocalTrack.album_name),
            [(t, user_id, by_id[t][1] or None, by_id[t][2]) for t in chunk],
            conflict="ON CONFLICT DO NOTHING",
        )
        # No plays of a new local track yet, so no features summary moves.
        insert_rows(
            AudioFeatures,
            (AudioFeatures.track, AudioFeatures.status, AudioFeatures.fetched_at),
            [(t, "missing", utcnow()) for t in chunk],
            conflict="ON CONFLICT DO NOTHING",
        )
    return ids


def ensure_episodes(items: Iterable[tuple[Names, str | None]]) -> dict[Names, str]:
    """Episode ids of (episode, show) names, with Spotify's URI id when given; rows if new."""
    shows: dict[str, str] = {}
    episodes: dict[str, tuple] = {}
    ids: dict[Names, str] = {}
    for names, uri_id in items:
        episode, show = names[0], names[1]
        show_id = name_key("show:", show)
        shows.setdefault(show_id, show or UNNAMED)
        episode_id = ids[names] = name_key("episode:", show, episode)
        known = episodes.get(episode_id)
        if known is None or (known[3] is None and uri_id is not None):
            uri = f"spotify:episode:{uri_id}" if uri_id else None
            episodes[episode_id] = (episode_id, episode or UNNAMED, show_id, uri)
    _insert_new(Show, (Show.id, Show.name), sorted(shows.items()))
    _insert_new(
        Episode, (Episode.id, Episode.name, Episode.show, Episode.uri), sorted(episodes.values())
    )
    return ids


def ensure_chapters(items: Iterable[tuple[Names, str | None, str | None]]) -> dict[tuple, str]:
    """Chapter ids of (chapter, audiobook) names with their URIs' ids; rows if new.  Keys:
    (names, chapter id, audiobook id) as given."""
    books: dict[str, str] = {}
    chapters: dict[str, tuple] = {}
    ids: dict[tuple, str] = {}
    for names, chapter_uri, book_uri in items:
        chapter, book = names[0], names[1]
        book_id = book_uri or name_key("audiobook:", book)
        books.setdefault(book_id, book or UNNAMED)
        chapter_id = ids[(names, chapter_uri, book_uri)] = chapter_uri or name_key(
            "chapter:", book_id, chapter
        )
        chapters.setdefault(chapter_id, (chapter_id, chapter or UNNAMED, book_id))
    _insert_new(Audiobook, (Audiobook.id, Audiobook.name), sorted(books.items()))
    _insert_new(Chapter, (Chapter.id, Chapter.name, Chapter.audiobook), sorted(chapters.values()))
    return ids


def _insert_new(model, columns: Sequence, rows: list[tuple]) -> None:
    insert_rows(model, columns, rows, conflict="ON CONFLICT DO NOTHING", batch=CHUNK)


class _Stored:
    """A user's stored streams of one table around a batch: instants per key (track, episode
    or chapter), to tell a stream already stored from a new one."""

    def __init__(
        self,
        model,
        key_field,
        user_id: int,
        lo: dt.datetime,
        hi: dt.datetime,
        tolerance: dt.timedelta,
    ):
        self.tolerance = tolerance
        self.by_key: dict[str, list[dt.datetime]] = defaultdict(list)
        query = (
            model.select(key_field, model.played_at)
            .where((model.user == user_id) & (model.played_at >= lo) & (model.played_at <= hi))
            .order_by(model.played_at)
            .tuples()
        )
        for key, played_at in query:
            self.by_key[key].append(played_at)

    def is_new(self, key: str, played_at: dt.datetime) -> bool:
        times = self.by_key[key]
        i = bisect.bisect_left(times, played_at - self.tolerance)
        if i < len(times) and times[i] <= played_at + self.tolerance:
            return False
        bisect.insort(times, played_at)
        return True


def _store(
    model,
    key_field,
    user_id: int,
    rows: Iterable[Mapping],
    source: str | None,
    tolerance: dt.timedelta = dt.timedelta(0),
) -> tuple[int, list[tuple], int]:
    """Insert the new ones of ``rows`` ({"key", "played_at", "ms_played", "how": {...} or
    None}); returns how many went in, ``(key, played_at, ms_played, 1, how)`` of those whose
    entry named a device (for ``listening_context.add_streams``), and how many were tried."""
    rows = sorted(rows, key=lambda r: r["played_at"])
    if not rows:
        return 0, [], 0
    lo, hi = rows[0]["played_at"] - tolerance, rows[-1]["played_at"] + tolerance
    stored = _Stored(model, key_field, user_id, lo, hi, tolerance)
    columns = [model.user, key_field, model.played_at, model.ms_played]
    columns += [getattr(model, name) for name in HOW_YOU_LISTEN]
    if source is not None:
        columns.append(model.source)
    fresh = []
    covered = []
    for row in rows:
        if stored.is_new(row["key"], row["played_at"]):
            how = row.get("how") or {}
            values = [user_id, row["key"], row["played_at"], row["ms_played"]]
            values += [how.get(name) for name in HOW_YOU_LISTEN]
            fresh.append((*values, source) if source is not None else tuple(values))
            if how.get("device") is not None:
                covered.append((row["key"], row["played_at"], row["ms_played"], 1, how))
    added = insert_rows(model, columns, fresh, conflict="ON CONFLICT DO NOTHING", batch=CHUNK)
    return added, covered, len(fresh)


def store_short_streams(user_id: int, rows: Iterable[Mapping], source: str = "import") -> int:
    """Music streams under 30 s; ``key``: the track id (the track row must exist).  Under the
    lock storing plays takes, with the export's summaries of skips
    (``models.summaries.listening_context``) in the same transaction."""
    rows = list(rows)
    if not rows:
        return 0
    with write_transaction():
        timezone = listening.lock_user(user_id)
        added, covered, tried = _store(ShortStream, ShortStream.track, user_id, rows, source)
        if added == tried:
            listening_context.add_streams(user_id, timezone, covered)
        else:  # some were there already after all: the months are recomputed from what is
            listening_context.refresh(user_id, timezone, [stream[1] for stream in covered])
    return added


def store_episode_plays(user_id: int, rows: Iterable[Mapping]) -> int:
    """Episode streams; ``key``: the episode id (``ensure_episodes``)."""
    return _store(EpisodePlay, EpisodePlay.episode, user_id, rows, None, PLAY_TOLERANCE)[0]


def store_chapter_plays(user_id: int, rows: Iterable[Mapping]) -> int:
    """Audiobook chapter streams; ``key``: the chapter id (``ensure_chapters``)."""
    return _store(ChapterPlay, ChapterPlay.chapter, user_id, rows, None)[0]
