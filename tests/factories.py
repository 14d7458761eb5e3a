"""Rows for tests, with defaults that satisfy every constraint; override what a test asserts."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from models.schema.tables import (
    HOW_YOU_LISTEN,
    Album,
    Artist,
    EtlRun,
    Play,
    ShortStream,
    Track,
    TrackArtist,
    User,
)
from models.summaries import track_facts

_serial = itertools.count(1)


def _next() -> int:
    return next(_serial)


def make_user(**overrides) -> User:
    n = _next()
    fields = dict(
        spotify_id=f"listener{n}",
        display_name=f"Listener {n}",
        email=f"listener{n}@example.test",
        timezone="UTC",
    )
    fields.update(overrides)
    return User.create(**fields)


def make_album(**overrides) -> Album:
    n = _next()
    fields = dict(
        id=f"album{n:018d}",
        name=f"Album {n}",
        album_type="album",
        release_date="2020-01-01",
        release_date_precision="day",
    )
    fields.update(overrides)
    Album.insert(**fields).execute()
    return Album.get_by_id(fields["id"])


def make_artist(**overrides) -> Artist:
    n = _next()
    fields = dict(id=f"artist{n:017d}", name=f"Artist {n}")
    fields.update(overrides)
    Artist.insert(**fields).execute()
    return Artist.get_by_id(fields["id"])


def make_track(artists=(), album=None, **overrides) -> Track:
    """A track with full metadata; ``artists`` are linked in order."""
    n = _next()
    fields = dict(
        id=f"track{n:018d}",
        name=f"Track {n}",
        duration_ms=200_000,
        explicit=False,
        album=album,
        metadata_fetched_at=dt.datetime(2026, 1, 1),
    )
    fields.update(overrides)
    Track.insert(**fields).execute()
    for position, artist in enumerate(artists):
        TrackArtist.create(track=fields["id"], artist=artist, position=position)
    track_facts.refresh([fields["id"]])  # as the catalogue's writes keep them
    return Track.get_by_id(fields["id"])


def make_play(user, track, at: dt.datetime, **overrides) -> Play:
    """One play, added to the summaries too, as ``models.ingest.plays.store_plays`` would."""
    from models.schema.db import db
    from models.summaries import listening, listening_context

    fields = dict(
        user=user, track=track, played_at=at, ms_played=track.duration_ms or 180_000, source="api"
    )
    fields.update(overrides)
    with db.atomic():
        play = Play.create(**fields)
        timezone = listening.lock_user(play.user_id)
        listening.record_plays(
            play.user_id, [(play.track_id, play.played_at, play.ms_played)], timezone
        )
        if play.device is not None:
            how = {name: getattr(play, name) for name in HOW_YOU_LISTEN}
            stream = (play.track_id, play.played_at, play.ms_played, 0, how)
            listening_context.add_streams(play.user_id, timezone, [stream])
    return play


def make_short_stream(user, track, at: dt.datetime, **overrides) -> ShortStream:
    """One short stream (under 30 s), added to the export's summaries too, as
    ``models.ingest.streams.store_short_streams`` would."""
    from models.schema.db import db
    from models.summaries import listening, listening_context

    fields = dict(user=user, track=track, played_at=at, ms_played=10_000, source="import")
    fields.update(overrides)
    with db.atomic():
        stream = ShortStream.create(**fields)
        timezone = listening.lock_user(stream.user_id)
        if stream.device is not None:
            how = {name: getattr(stream, name) for name in HOW_YOU_LISTEN}
            row = (stream.track_id, stream.played_at, stream.ms_played, 1, how)
            listening_context.add_streams(stream.user_id, timezone, [row])
    return stream


def make_features(track, status: str = "ok", **values) -> None:
    """Audio features of a track, written as the ETL writes them (``models.ingest.catalogue``), so
    the summaries of plays already stored follow; ``values`` as in Spotify's features object."""
    from models.ingest import catalogue

    if status == "ok":
        catalogue.store_audio_features({track.id: values or {"danceability": 0.5}})
    elif status == "missing":
        catalogue.store_audio_features({track.id: None})
    else:
        catalogue.mark_audio_features([track.id], status)


def track_object(track, artists, album) -> dict:
    """``track`` as Spotify's GET /tracks gives it, crediting ``artists`` on ``album``: what the
    ETL writes when it completes a stub or Spotify relinks a track."""
    return {
        "id": track.id,
        "name": track.name,
        "duration_ms": track.duration_ms,
        "album": {"id": album.id, "name": album.name, "artists": []},
        "artists": [{"id": artist.id, "name": artist.name} for artist in artists],
    }


def make_run(hour: dt.datetime, summary: dict | None = None, **overrides) -> EtlRun:
    """An ETL run of ``hour`` that ended done a minute later; ``summary`` a dict, stored as JSON
    text the way the ETL stores it."""
    fields = dict(hour=hour, status="done", finished_at=hour + dt.timedelta(minutes=1))
    if summary is not None:
        fields["summary"] = json.dumps(summary, sort_keys=True)
    fields.update(overrides)
    return EtlRun.create(**fields)
