"""A user's own data, exported in full ("download my data") as CSV or JSON.

Both formats stream from one ordered query, so a listener with years of history gets a file
without the server holding it all in memory.  Tokens and the password hash are never exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from peewee import JOIN

from models.schema.db import utcnow
from models.schema.tables import (
    Album,
    Artist,
    Play,
    SyncGap,
    Track,
    TrackArtist,
    TrackEnrichment,
    User,
)

PROFILE_FIELDS = (
    "spotify_id",
    "account_id",
    "display_name",
    "email",
    "country",
    "product",
    "timezone",
    "created_at",
    "last_played_at",
    "last_synced_at",
    "needs_reauth",
)
PLAY_COLUMNS = (
    "played_at_utc",
    "played_at_local",
    "track_id",
    "track_name",
    "artists",
    "album_id",
    "album_name",
    "ms_played",
    "source",
    "context_uri",
    "recording_mbid",  # MusicBrainz's recording, when the enrichment matched the track
)
BATCH = 2000


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (dt.datetime, dt.date)) else value


def _artist_names(track_ids: set[str]) -> dict[str, str]:
    """ "A, B" per track, in credit order, for one batch of tracks."""
    names: dict[str, list[str]] = {}
    query = (
        TrackArtist.select(TrackArtist.track, Artist.name)
        .join(Artist)
        .where(TrackArtist.track.in_(list(track_ids)))
        .order_by(TrackArtist.track, TrackArtist.position)
        .tuples()
    )
    for track_id, name in query:
        names.setdefault(track_id, []).append(name)
    return {track_id: ", ".join(found) for track_id, found in names.items()}


def _recording_mbids(track_ids: set[str]) -> dict[str, str]:
    """The matched MusicBrainz recording of each track of one batch that has one."""
    query = (
        TrackEnrichment.select(TrackEnrichment.track, TrackEnrichment.mbid)
        .where(TrackEnrichment.track.in_(list(track_ids)) & TrackEnrichment.mbid.is_null(False))
        .tuples()
    )
    return dict(query)


def iter_plays(user: User) -> Iterator[dict]:
    """Every play of ``user``, oldest first, with track, artists and album names."""
    zone = ZoneInfo(user.timezone)
    query = (
        Play.select(
            Play.played_at,
            Play.ms_played,
            Play.source,
            Play.context_uri,
            Track.id,
            Track.name,
            Album.id,
            Album.name,
        )
        .join(Track)
        .join(Album, JOIN.LEFT_OUTER)
        .where(Play.user == user.id)
        .order_by(Play.played_at)
        .tuples()
    )
    rows: list[tuple] = []

    def flush():
        artists = _artist_names({row[4] for row in rows})
        recordings = _recording_mbids({row[4] for row in rows})
        for (
            played_at,
            ms_played,
            source,
            context_uri,
            track_id,
            track_name,
            album_id,
            album_name,
        ) in rows:
            local = played_at.replace(tzinfo=dt.UTC).astimezone(zone)
            yield {
                "played_at_utc": played_at.isoformat() + "Z",
                "played_at_local": local.isoformat(),
                "track_id": track_id,
                "track_name": track_name,
                "artists": artists.get(track_id, ""),
                "album_id": album_id,
                "album_name": album_name,
                "ms_played": ms_played,
                "source": source,
                "context_uri": context_uri,
                "recording_mbid": recordings.get(track_id),
            }
        rows.clear()

    for row in query.iterator():
        rows.append(row)
        if len(rows) >= BATCH:
            yield from flush()
    yield from flush()


def profile(user: User) -> dict:
    return {name: _iso(getattr(user, name)) for name in PROFILE_FIELDS}


# A cell a spreadsheet would run as a formula (OWASP's "CSV injection"): track and artist names
# are anyone's text, so such a cell is written with a leading apostrophe, shown but not run.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` as a spreadsheet shows it without evaluating it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_csv(user: User) -> Iterator[str]:
    """The plays as CSV text chunks, header first (one row per play), every text cell
    :func:`spreadsheet_safe` (the JSON export keeps names exactly as they are)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PLAY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for count, play in enumerate(iter_plays(user), 1):
        writer.writerow({key: spreadsheet_safe(value) for key, value in play.items()})
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_json(user: User) -> Iterator[str]:
    """Everything stored about ``user`` as one JSON document, in chunks:
    ``{"exported_at", "profile", "sync_gaps", "plays": [...]}``."""
    gaps = [
        {"gap_start": _iso(gap.gap_start), "gap_end": _iso(gap.gap_end)}
        for gap in SyncGap.select().where(SyncGap.user == user.id).order_by(SyncGap.gap_start)
    ]
    head = {"exported_at": utcnow().isoformat() + "Z", "profile": profile(user), "sync_gaps": gaps}
    yield json.dumps(head)[:-1] + ', "plays": ['
    for index, play in enumerate(iter_plays(user)):
        yield ("," if index else "") + "\n" + json.dumps(play)
    yield "\n]}\n"
