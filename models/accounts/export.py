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

from models.accounts import sharing
from models.schema.db import utcnow
from models.schema.tables import (
    HOW_YOU_LISTEN,
    Album,
    Artist,
    Audiobook,
    Chapter,
    ChapterPlay,
    Episode,
    EpisodePlay,
    Exclusion,
    ListeningSession,
    LocalTrack,
    Play,
    ShortStream,
    Show,
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
    "local_file",
    *HOW_YOU_LISTEN,
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


def _how(model) -> list:
    return [getattr(model, name) for name in HOW_YOU_LISTEN]


def _recording_mbids(track_ids: set[str]) -> dict[str, str]:
    """The matched MusicBrainz recording of each track of one batch that has one."""
    query = (
        TrackEnrichment.select(TrackEnrichment.track, TrackEnrichment.mbid)
        .where(TrackEnrichment.track.in_(list(track_ids)) & TrackEnrichment.mbid.is_null(False))
        .tuples()
    )
    return dict(query)


def iter_plays(user: User) -> Iterator[dict]:
    """Every play of ``user``, oldest first, with track, artists and album names (a local
    file's as the export or the API named them), and how it was listened to."""
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
            Track.is_local,
            LocalTrack.artist_name,
            LocalTrack.album_name,
            *_how(Play),
        )
        .join(Track)
        .join(Album, JOIN.LEFT_OUTER)
        .switch(Track)
        .join(LocalTrack, JOIN.LEFT_OUTER, on=(LocalTrack.track == Track.id))
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
            is_local,
            local_artist,
            local_album,
            *how,
        ) in rows:
            local = played_at.replace(tzinfo=dt.UTC).astimezone(zone)
            yield {
                "played_at_utc": played_at.isoformat() + "Z",
                "played_at_local": local.isoformat(),
                "track_id": None if is_local else track_id,
                "track_name": track_name,
                "artists": (local_artist or "") if is_local else artists.get(track_id, ""),
                "album_id": album_id,
                "album_name": local_album if is_local else album_name,
                "ms_played": ms_played,
                "source": source,
                "context_uri": context_uri,
                "local_file": bool(is_local),
                "recording_mbid": recordings.get(track_id),
                **dict(zip(HOW_YOU_LISTEN, how, strict=True)),
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


def _streams(query, names: tuple[str, ...]) -> Iterator[dict]:
    for row in query.tuples().iterator():
        item = dict(zip(names, row, strict=True))
        item["played_at_utc"] = item["played_at_utc"].isoformat() + "Z"
        yield item


def iter_short_streams(user: User) -> Iterator[dict]:
    """Music streams under 30 s (skips), oldest first."""
    query = (
        ShortStream.select(
            ShortStream.played_at,
            ShortStream.ms_played,
            Track.id,
            Track.name,
            Track.is_local,
            LocalTrack.artist_name,
            *_how(ShortStream),
        )
        .join(Track)
        .join(LocalTrack, JOIN.LEFT_OUTER, on=(LocalTrack.track == Track.id))
        .where(ShortStream.user == user.id)
        .order_by(ShortStream.played_at)
    )
    names = ("played_at_utc", "ms_played", "track_id", "track_name", "local_file")
    for item in _streams(query, (*names, "local_artist", *HOW_YOU_LISTEN)):
        if item["local_file"]:
            item["track_id"] = None
        else:
            item.pop("local_artist")
        item["local_file"] = bool(item["local_file"])
        yield item


def iter_episode_plays(user: User) -> Iterator[dict]:
    """Podcast episodes streamed, oldest first."""
    query = (
        EpisodePlay.select(
            EpisodePlay.played_at,
            EpisodePlay.ms_played,
            Episode.name,
            Episode.uri,
            Show.name,
            *_how(EpisodePlay),
        )
        .join(Episode)
        .join(Show)
        .where(EpisodePlay.user == user.id)
        .order_by(EpisodePlay.played_at)
    )
    names = ("played_at_utc", "ms_played", "episode", "episode_uri", "show")
    return _streams(query, (*names, *HOW_YOU_LISTEN))


def iter_chapter_plays(user: User) -> Iterator[dict]:
    """Audiobook chapters streamed, oldest first."""
    query = (
        ChapterPlay.select(
            ChapterPlay.played_at,
            ChapterPlay.ms_played,
            Chapter.name,
            Audiobook.name,
            *_how(ChapterPlay),
        )
        .join(Chapter)
        .join(Audiobook)
        .where(ChapterPlay.user == user.id)
        .order_by(ChapterPlay.played_at)
    )
    names = ("played_at_utc", "ms_played", "chapter", "audiobook")
    return _streams(query, (*names, *HOW_YOU_LISTEN))


def _json_list(key: str, items: Iterator[dict]) -> Iterator[str]:
    yield f', "{key}": ['
    for index, item in enumerate(items):
        yield ("," if index else "") + "\n" + json.dumps(item)
    yield "\n]"


def _sessions(user: User) -> Iterator[dict]:
    """The user's listening sessions (``models.summaries.sessions``), oldest first."""
    query = (
        ListeningSession.select()
        .where(ListeningSession.user == user.id)
        .order_by(ListeningSession.started_at)
    )
    for row in query.iterator():
        yield {
            "started_at": _iso(row.started_at),
            "last_played_at": _iso(row.last_played_at),
            "length_ms": row.length_ms,
            "plays": row.plays,
            "ms_played": row.ms_played,
        }


def export_json(user: User) -> Iterator[str]:
    """Everything stored about ``user`` as one JSON document, in chunks: ``{"exported_at",
    "profile", "sync_gaps", "sharing", "exclusions", "plays": [...], "short_streams": [...],
    "episode_plays": [...], "chapter_plays": [...], "listening_sessions": [...]}``."""
    gaps = [
        {
            "gap_start": _iso(gap.gap_start),
            "gap_end": _iso(gap.gap_end),
            "filled_at": _iso(gap.filled_at),
        }
        for gap in SyncGap.select().where(SyncGap.user == user.id).order_by(SyncGap.gap_start)
    ]
    # what the listener keeps out of their statistics (weekly charts are derived, not exported)
    excluded = [
        {"kind": kind, "id": item, "created_at": _iso(created_at)}
        for kind, item, created_at in Exclusion.select(
            Exclusion.kind, Exclusion.item, Exclusion.created_at
        )
        .where(Exclusion.user == user.id)
        .order_by(Exclusion.kind, Exclusion.item)
        .tuples()
    ]
    head = {
        "exported_at": utcnow().isoformat() + "Z",
        "profile": profile(user),
        "sync_gaps": gaps,
        "sharing": sharing.export_of(user),  # settings and public links (never their keys)
        "exclusions": excluded,
    }
    yield json.dumps(head)[:-1]
    yield from _json_list("plays", iter_plays(user))
    yield from _json_list("short_streams", iter_short_streams(user))
    yield from _json_list("episode_plays", iter_episode_plays(user))
    yield from _json_list("chapter_plays", iter_chapter_plays(user))
    yield from _json_list("listening_sessions", _sessions(user))
    yield "}\n"
