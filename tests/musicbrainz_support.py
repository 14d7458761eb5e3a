"""Helpers for the MusicBrainz enrichment's tests and benchmark: a catalogue loaded from the
sandbox world both sandboxes share, played by one listener, and a client of the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from models.ingest.catalogue import upsert_artists, upsert_tracks
from models.ingest.plays import store_plays
from models.schema.tables import User
from musicbrainz.client import MusicBrainzClient
from musicbrainz.sandbox.world import MusicBrainzWorld
from spotify.sandbox.render import Renderer

RATE_WINDOW = 0.01  # the sandbox's rate window in tests, and the client's interval above it
INTERVAL = 0.012
FIRST_PLAY = dt.datetime(2026, 1, 1)


def mb_client(sandbox, client_class=MusicBrainzClient, **overrides) -> MusicBrainzClient:
    """A client of the sandbox MusicBrainz, paced just above its scaled-down rate window
    (``client_class``: a subclass taking the same options, and its own from ``overrides``)."""
    options: dict = {
        "contact": "tests@example.test",
        "version": "test",
        "base_url": sandbox.base_url,
        "interval": INTERVAL,
        "timeout": 5.0,
        "max_wait": 1.0,
    }
    options.update(overrides)
    return client_class(**options)


def load_catalogue(
    world: MusicBrainzWorld,
    track_indexes: Iterable[int],
    user: User,
    *,
    extended: bool = False,
    plays_of=lambda n: 1,
) -> list[str]:
    """The world's tracks (full objects, with ISRCs) as Spotify sends them, stored with their
    albums and artists; in extended mode with the artists' Spotify genres.  ``user`` plays
    track number ``n`` ``plays_of(n)`` times.  Returns the track ids in that order."""
    spotify = world.spotify
    renderer = Renderer(spotify, "http://sandbox.invalid/", extended=extended)
    tracks = [spotify.tracks[i] for i in track_indexes]
    upsert_tracks([renderer.track(track) for track in tracks])
    artists = {a for track in tracks for a in track.artists}
    artist_objects = [renderer.artist(spotify.artists[a]) for a in sorted(artists)]
    if not extended:  # a development-mode app: Spotify sends no genres at all
        artist_objects = [{**body, "genres": []} for body in artist_objects]
    upsert_artists(artist_objects)
    plays = []
    at = FIRST_PLAY
    for n, track in enumerate(tracks):
        for _ in range(plays_of(n)):
            at += dt.timedelta(minutes=5)
            plays.append({"track_id": track.id, "played_at": at, "ms_played": 60_000})
    store_plays(user.id, plays, "import")
    return [track.id for track in tracks]


def tracks_of_every_kind(world: MusicBrainzWorld, per_kind: int) -> list[int]:
    """Indexes of up to ``per_kind`` tracks of each of the world's kinds (ISRC, names only,
    absent, several recordings on one ISRC, twins, homonyms), in the world's order."""
    chosen: dict[str, list[int]] = {}
    for track in world.spotify.tracks:
        picked = chosen.setdefault(world.track_kinds[track.id], [])
        if len(picked) < per_kind:
            picked.append(track.index)
    return sorted(index for picked in chosen.values() for index in picked)
