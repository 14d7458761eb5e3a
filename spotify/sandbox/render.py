"""Spotify's JSON objects (tracks, albums, artists, audio features, the user, a play) for the
sandbox's world.

A :class:`Renderer` is made per request: links point at the host the client called, and the app
mode decides which fields exist (development-mode apps get no popularity, followers, genres,
markets or private profile fields, as /work/shared/spotify-api.md describes and the OpenAPI
description's deprecations say; their genres come from MusicBrainz instead). The tests validate
every object against Spotify's OpenAPI description.
"""

from __future__ import annotations

from spotify.sandbox.catalogue import (
    COUNTRIES,
    Album,
    Artist,
    Listener,
    Stream,
    Track,
    World,
    iso_ms,
)


class Renderer:
    """Builds Spotify objects for one request (base URL and app mode fixed per request)."""

    def __init__(self, world: World, root: str, extended: bool):
        self.world = world
        self.api = root + "v1"
        self.root = root
        self.extended = extended

    def _common(self, kind: str, spotify_id: str) -> dict:
        return {
            "id": spotify_id,
            "type": kind,
            "uri": f"spotify:{kind}:{spotify_id}",
            "href": f"{self.api}/{kind}s/{spotify_id}",
            "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{spotify_id}"},
        }

    def images(self, kind: str, spotify_id: str, sizes=(640, 300, 64)) -> list[dict]:
        return [
            {
                "url": f"{self.root}images/{kind}/{spotify_id}.svg?size={size}",
                "height": size,
                "width": size,
            }
            for size in sizes
        ]

    def markets(self, index: int) -> list[str]:
        return [c for k, c in enumerate(COUNTRIES) if (index + k) % 7 != 0]

    def simple_artist(self, artist: Artist) -> dict:
        return {**self._common("artist", artist.id), "name": artist.name}

    def artist(self, artist: Artist) -> dict:
        body = {
            **self._common("artist", artist.id),
            "name": artist.name,
            "images": self.images("artist", artist.id),
        }
        if self.extended:  # deprecated fields a development-mode app no longer gets at all
            body["genres"] = list(artist.genres)
            body["popularity"] = artist.popularity
            body["followers"] = {"href": None, "total": artist.followers}
        return body

    def simple_album(self, album: Album) -> dict:
        body = {
            **self._common("album", album.id),
            "name": album.name,
            "album_type": album.album_type,
            "total_tracks": len(album.tracks),
            "release_date": album.release_date,
            "release_date_precision": album.release_date_precision,
            "images": self.images("album", album.id),
            "artists": [self.simple_artist(self.world.artists[a]) for a in album.artists],
        }
        if self.extended:
            body["available_markets"] = self.markets(album.index)
        return body

    def simple_track(self, track: Track) -> dict:
        body = {
            **self._common("track", track.id),
            "name": track.name,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "track_number": track.track_number,
            "disc_number": 1,
            "is_local": False,
            "preview_url": None,
            "artists": [self.simple_artist(self.world.artists[a]) for a in track.artists],
        }
        if self.extended:
            body["available_markets"] = self.markets(track.album)
        return body

    def track(self, track: Track) -> dict:
        body = self.simple_track(track)
        body["album"] = self.simple_album(self.world.albums[track.album])
        body["external_ids"] = {"isrc": track.isrc}
        if self.extended:
            body["popularity"] = track.popularity
        return body

    def album(self, album: Album) -> dict:
        body = self.simple_album(album)
        items = [self.simple_track(self.world.tracks[t]) for t in album.tracks]
        body.update(
            {
                "tracks": {
                    "href": f"{self.api}/albums/{album.id}/tracks?offset=0&limit=50",
                    "items": items,
                    "limit": 50,
                    "next": None,
                    "offset": 0,
                    "previous": None,
                    "total": len(items),
                },
                "copyrights": [
                    {"text": f"(C) {album.release_date[:4]} {album.label}", "type": "C"}
                ],
                "external_ids": {"upc": album.upc},
                "label": album.label,
            }
        )
        if self.extended:
            body["genres"] = []
            body["popularity"] = album.popularity
        return body

    def audio_features(self, track: Track) -> dict:
        return {
            **self.world.audio_features(track),
            "id": track.id,
            "type": "audio_features",
            "uri": f"spotify:track:{track.id}",
            "duration_ms": track.duration_ms,
            "track_href": f"{self.api}/tracks/{track.id}",
            "analysis_url": f"{self.api}/audio-analysis/{track.id}",
        }

    def me(self, who: Listener, scope: str) -> dict:
        body = {
            "id": who.id,
            "account_id": who.account_id,
            "display_name": who.display_name,
            "images": self.images("user", who.id, (300, 64)),
            "type": "user",
            "uri": f"spotify:user:{who.id}",
            "href": f"{self.api}/users/{who.id}",
            "external_urls": {"spotify": f"https://open.spotify.com/user/{who.id}"},
        }
        if self.extended:
            body["followers"] = {"href": None, "total": who.followers}
            if "user-read-email" in scope:
                body["email"] = who.email
            if "user-read-private" in scope:
                body.update(
                    country=who.country,
                    product=who.product,
                    explicit_content={"filter_enabled": False, "filter_locked": False},
                )
        return body

    def play(self, stream: Stream) -> dict:
        context = None
        if stream.context_type:
            kind, spotify_id = stream.context_type, stream.context_id
            context = {
                "type": kind,
                "uri": f"spotify:{kind}:{spotify_id}",
                "href": f"{self.api}/{kind}s/{spotify_id}",
                "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{spotify_id}"},
            }
        return {
            "track": self.track(self.world.tracks[stream.track]),
            "played_at": iso_ms(stream.played_at_ms),
            "context": context,
        }
