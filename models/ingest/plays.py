"""The one write path for plays: the ETL and the history import both store through here.

A play can reach us twice: the same recently-played page read by two runs (identical
``played_at``), or once from the API and once from the user's streaming-history export, whose
timestamps for the same listen differ by a few seconds.  Both are the same listen, so a play of
the same track within :data:`PLAY_TOLERANCE` of one already stored (or kept earlier in the same
call) is a duplicate, whichever source came first.  Everything happens in one transaction that
also updates the summaries (``models.summaries.listening``, and for plays an export entry
described ``models.summaries.listening_context``) and the listening sessions
(``models.summaries.sessions``), so statistics never see half a load.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter

from peewee import chunked

from models.schema.bulk import insert_rows
from models.schema.db import db, naive_utc, write_transaction
from models.schema.tables import HOW_YOU_LISTEN, PLAY_SOURCES, Play, Track
from models.summaries import listening, listening_context, sessions

PLAY_TOLERANCE = dt.timedelta(seconds=30)
"""Two plays of one track closer than this are one listen (export vs API clocks differ by
seconds; no track is listened to twice within 30 s).  Your Spotify uses the same window."""

CHUNK = 5000
INSERT_CHUNK = 1000


@dataclass(frozen=True)
class StoreResult:
    added: int
    duplicates: int
    filled: int = 0  # duplicates whose stored play took how-you-listen fields it lacked


class InvalidPlay(ValueError):
    """A play dict that cannot be stored; says which play and which key."""


def _normalise(index: int, play: Mapping) -> Row:
    """``(track id, naive UTC played_at, ms_played, context_uri, how)`` of a play dict,
    checked; ``how``: the ``HOW_YOU_LISTEN`` values in order, or () if none were given."""
    try:
        track_id = play["track_id"]
        played_at = play["played_at"]
        ms_played = play["ms_played"]
    except (KeyError, TypeError) as exc:
        raise InvalidPlay(f"play #{index}: missing key {exc}") from None
    if not isinstance(track_id, str) or not track_id:
        raise InvalidPlay(f"play #{index}: track_id must be a non-empty string")
    if not isinstance(played_at, dt.datetime):
        raise InvalidPlay(f"play #{index}: played_at must be a datetime, got {played_at!r}")
    played_at = naive_utc(played_at)
    if isinstance(ms_played, bool) or not isinstance(ms_played, int) or ms_played < 0:
        raise InvalidPlay(f"play #{index}: ms_played must be a non-negative integer")
    how = play.get("how")
    values = tuple(how.get(name) for name in HOW_YOU_LISTEN) if how else ()
    if values and not any(value is not None for value in values):
        values = ()
    return track_id, played_at, ms_played, play.get("context_uri"), values


class _Seen:
    """Stored (and already kept) plays near a chunk: instants, and instants per track."""

    def __init__(self, user_id: int, lo: dt.datetime, hi: dt.datetime):
        self.instants: set[dt.datetime] = set()
        self.by_track: dict[str, list[dt.datetime]] = defaultdict(list)
        stored = (
            Play.select(Play.track, Play.played_at)
            .where((Play.user == user_id) & (Play.played_at >= lo) & (Play.played_at <= hi))
            .order_by(Play.played_at)
            .tuples()
        )
        for track_id, played_at in stored:
            self.add(track_id, played_at)

    def add(self, track_id: str, played_at: dt.datetime) -> None:
        self.instants.add(played_at)
        bisect.insort(self.by_track[track_id], played_at)

    def same_listen(self, track_id: str, played_at: dt.datetime) -> dt.datetime | None:
        """The stored instant of this track nearest ``played_at`` within the tolerance."""
        times = self.by_track.get(track_id)
        if not times:
            return None
        i = bisect.bisect_left(times, played_at - PLAY_TOLERANCE)
        near = [t for t in times[i : i + 3] if abs(t - played_at) <= PLAY_TOLERANCE]
        return min(near, key=lambda t: abs(t - played_at)) if near else None

    def is_duplicate(self, track_id: str, played_at: dt.datetime) -> bool:
        if played_at in self.instants:
            return True
        times = self.by_track.get(track_id)
        if not times:
            return False
        i = bisect.bisect_left(times, played_at - PLAY_TOLERANCE)
        return i < len(times) and times[i] <= played_at + PLAY_TOLERANCE


def _check_tracks_exist(track_ids: set[str]) -> None:
    known: set[str] = set()
    for batch in chunked(sorted(track_ids), 500):
        known.update(
            track_id for (track_id,) in Track.select(Track.id).where(Track.id.in_(batch)).tuples()
        )
    missing = track_ids - known
    if missing:
        sample = ", ".join(sorted(missing)[:5])
        raise InvalidPlay(
            f"{len(missing)} unknown track id(s), e.g. {sample}: store the tracks "
            "(or stubs, models.ingest.catalogue.ensure_track_stubs) first"
        )


def store_plays(user_id: int, plays: Iterable[Mapping], source: str) -> StoreResult:
    """Store new plays of one user in bulk; return how many were added and how many were not.

    ``plays``: dicts ``{"track_id", "played_at" (naive UTC datetime; aware ones are converted),
    "ms_played", "context_uri" (optional), "how" (optional: {column: value} of
    ``HOW_YOU_LISTEN``, what an extended export tells)}``; ``source``: "api" or "import".  A
    play is a duplicate when the user already has a play at the same instant, or a play of the
    same track within ``PLAY_TOLERANCE`` (stored before, from either source, or earlier in this
    call).  A duplicate's ``how`` fills the fields its stored listen lacks (a play from the API,
    or imported before these fields were kept), never overwriting one.
    Runs in one transaction (a savepoint if the caller holds one) with the summary updates;
    raises :class:`InvalidPlay` (nothing stored) for a malformed play or an unknown track.
    """
    return store_rows(user_id, [_normalise(i, play) for i, play in enumerate(plays)], source)


Row = tuple[str, dt.datetime, int, str | None, tuple]
"""A play as :func:`store_rows` takes it: track id, naive UTC played_at, ms_played,
context_uri, and the ``HOW_YOU_LISTEN`` values in order or () if none were given."""


def store_rows(user_id: int, rows: list[Row], source: str) -> StoreResult:
    """:func:`store_plays` for plays already checked, as :data:`Row` tuples (sorted here): the
    history import's, which ``models.imports.privacy_export`` validated, skip building a dict
    per play only to check it again."""
    if source not in PLAY_SOURCES:
        raise ValueError(f"source must be one of {', '.join(PLAY_SOURCES)}, got {source!r}")
    rows.sort(key=itemgetter(1))
    if not rows:
        return StoreResult(0, 0)
    with write_transaction():  # IMMEDIATE on SQLite: it reads, then writes
        _check_tracks_exist({row[0] for row in rows})
        timezone = listening.lock_user(user_id)
        added: list[tuple[str, dt.datetime, int]] = []
        fills: list[tuple] = []
        covered: list[tuple] = []  # new plays an export entry named a device for
        for chunk in chunked(rows, CHUNK):
            seen = _Seen(user_id, chunk[0][1] - PLAY_TOLERANCE, chunk[-1][1] + PLAY_TOLERANCE)
            fresh = []
            for track_id, played_at, ms_played, context_uri, how in chunk:
                if not seen.is_duplicate(track_id, played_at):
                    seen.add(track_id, played_at)
                    fresh.append(
                        (
                            user_id,
                            track_id,
                            played_at,
                            ms_played,
                            context_uri,
                            source,
                            *(how or NO_HOW),
                        )
                    )
                    if how and how[DEVICE] is not None:
                        said = dict(zip(HOW_YOU_LISTEN, how, strict=True))
                        covered.append((track_id, played_at, ms_played, 0, said))
                elif how:
                    stored_at = seen.same_listen(track_id, played_at)
                    if stored_at is not None:
                        fills.append((*how, user_id, track_id, stored_at))
            _insert(fresh)
            added.extend((row[1], row[2], row[3]) for row in fresh)
        listening.record_plays(user_id, added, timezone)
        if added:
            sessions.record_plays(user_id, added[0][1], added[-1][1])
        filled = _fill(fills)
        # what skips and how-you-listen read: the new covered plays are added; the months of
        # filled ones recomputed (a re-import of what is stored already fills none)
        listening_context.add_streams(user_id, timezone, covered)
        if filled:
            listening_context.refresh(user_id, timezone, [fill[-1] for fill in fills])
    return StoreResult(len(added), len(rows) - len(added), filled)


INSERT_COLUMNS = (
    Play.user,
    Play.track,
    Play.played_at,
    Play.ms_played,
    Play.context_uri,
    Play.source,
    *(getattr(Play, name) for name in HOW_YOU_LISTEN),
)
NO_HOW = (None,) * len(HOW_YOU_LISTEN)
DEVICE = HOW_YOU_LISTEN.index("device")  # an export-covered stream is one with a device
FILL_SQL = (
    "UPDATE play SET "
    + ", ".join(f"{name} = COALESCE({name}, %s)" for name in HOW_YOU_LISTEN)
    + " WHERE user_id = %s AND track_id = %s AND played_at = %s AND ("
    + " OR ".join(f"({name} IS NULL AND %s IS NOT NULL)" for name in HOW_YOU_LISTEN)
    + ")"
)


def _fill(fills: list[tuple]) -> int:
    """Give stored plays the how-you-listen fields they lack (a re-import, an API play);
    returns how many plays gained any (a play that has them all is not written)."""
    if not fills:
        return 0
    sql = FILL_SQL.replace("%s", db.param)
    cursor = db.cursor()
    filled = 0
    for chunk in chunked(fills, CHUNK):
        cursor.executemany(sql, [(*row, *row[: len(HOW_YOU_LISTEN)]) for row in chunk])
        filled += cursor.rowcount
    return filled


def _insert(rows: list[tuple]) -> None:
    """Insert rows in ``INSERT_COLUMNS`` order; every one must go in.

    The duplicate check saw every stored play of the user at these instants, under the lock
    of ``listening.lock_user``, so none can conflict; if one did anyway, the summaries would
    count a play that is not stored, hence the error (the transaction rolls back).
    """
    inserted = insert_rows(
        Play, INSERT_COLUMNS, rows, conflict="ON CONFLICT DO NOTHING", batch=INSERT_CHUNK
    )
    if inserted != len(rows):
        raise RuntimeError(
            f"{len(rows) - inserted} play(s) were stored by another writer "
            "during this call; nothing was stored, run it again"
        )
