"""MusicBrainz's JSON objects for the sandbox's world, in ws/2's shapes.

Lookups follow the server's serializers (``Serializer/JSON/2/*.pm`` in musicbrainz-server, and
the expected answers of its ``WS/2/JSON`` tests): every key present, ``null`` where unknown,
lists under the ``inc`` that asks for them. Search results follow the search server's documents
(metabrainz/sir's ``wscompat``): a ``score``, only the keys with a value, tags (never genres),
and for recordings their releases with each release's group.
"""

from __future__ import annotations

from musicbrainz.sandbox.world import (
    MbArtist,
    MbRecording,
    MbRelease,
    MbReleaseGroup,
    MusicBrainzWorld,
    mbid,
)

ARTIST_TYPE_IDS = {
    "Person": "b6e035f4-3ce9-331c-97df-83397230b0df",
    "Group": "e431f5f6-b5d2-343d-8b36-72607fffb74b",
    "Other": "ac897045-5043-3294-a6b2-7ea0b0a5b3ed",
}
PRIMARY_TYPE_IDS = {
    "Album": "f529b476-6e62-324f-b0aa-1f3e33d313fc",
    "Single": "d6038452-8ee0-3f68-affc-2de9a1ede0b9",
}
OFFICIAL = ("Official", "4e304316-386d-3409-af2e-78857eec5cfe")
STREAMING_LINK = ("free streaming", "769085a1-c2f7-4c24-a532-2375a77693bd")
COUNTRY_NAMES = {
    "SE": "Sweden",
    "US": "United States",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
    "BR": "Brazil",
    "JP": "Japan",
    "ES": "Spain",
    "NL": "Netherlands",
    "MX": "Mexico",
    "CA": "Canada",
    "AU": "Australia",
}


class Renderer:
    """Builds ws/2 objects; ``inc`` is the set of ``inc`` words of the request."""

    def __init__(self, world: MusicBrainzWorld):
        self.world = world

    # -- small parts -------------------------------------------------------------------------------
    @staticmethod
    def area(country: str | None) -> dict | None:
        if country is None:
            return None
        return {
            "id": mbid("area", country),
            "name": COUNTRY_NAMES.get(country, country),
            "sort-name": COUNTRY_NAMES.get(country, country),
            "disambiguation": "",
            "iso-3166-1-codes": [country],
            "type": None,
            "type-id": None,
        }

    @staticmethod
    def tags(tags: tuple[tuple[str, int], ...]) -> list[dict]:
        return [{"name": name, "count": count} for name, count in tags]

    def folksonomy(self, body: dict, tags: tuple[tuple[str, int], ...], inc: set[str]) -> None:
        """``genres`` (the tags that are genres) and ``tags``, each when ``inc`` asks for it."""
        if "genres" in inc:
            body["genres"] = self.genres(tags)
        if "tags" in inc:
            body["tags"] = self.tags(tags)

    def genres(self, tags: tuple[tuple[str, int], ...]) -> list[dict]:
        return [
            {"id": mbid("genre", name), "name": name, "count": count, "disambiguation": ""}
            for name, count in self.world.genres_of(tags)
        ]

    def artist_ref(self, artist: MbArtist) -> dict:
        """An artist inside a credit or relationship (the serializer's short form)."""
        return {
            "id": artist.id,
            "name": artist.name,
            "sort-name": artist.sort_name,
            "disambiguation": artist.disambiguation,
            "type": artist.type,
            "type-id": ARTIST_TYPE_IDS.get(artist.type or ""),
            "country": artist.country,
        }

    def credit(self, artist_ids: tuple[str, ...], *, search: bool = False) -> list[dict]:
        names = []
        for position, key in enumerate(artist_ids):
            artist = self.world.artists[key]
            join = "" if position == len(artist_ids) - 1 else (
                " & " if position == len(artist_ids) - 2 else ", "
            )  # fmt: skip
            if search:
                ref = {"id": artist.id, "name": artist.name, "sort-name": artist.sort_name}
                if artist.disambiguation:
                    ref["disambiguation"] = artist.disambiguation
                entry: dict = {"name": artist.name, "artist": ref}
                if join:
                    entry["joinphrase"] = join
            else:
                entry = {"name": artist.name, "joinphrase": join, "artist": self.artist_ref(artist)}
            names.append(entry)
        return names

    # -- artists -----------------------------------------------------------------------------------
    def artist(self, artist: MbArtist, inc: set[str]) -> dict:
        body: dict = {
            **self.artist_ref(artist),
            "area": self.area(artist.country),
            "begin-area": None,
            "end-area": None,
            "life-span": {"begin": artist.begin, "end": None, "ended": False},
            "gender": None,
            "gender-id": None,
            "ipis": [],
            "isnis": [],
        }
        self.folksonomy(body, artist.tags, inc)
        if "url-rels" in inc:
            body["relations"] = (
                [self.url_relation(artist, "url")]
                if artist.spotify_id and artist.spotify_url
                else []
            )
        return body

    def artist_search(self, artist: MbArtist, score: int) -> dict:
        body: dict = {
            "id": artist.id,
            "score": score,
            "name": artist.name,
            "sort-name": artist.sort_name,
            "life-span": {"ended": None},
        }
        if artist.type:
            body["type"] = artist.type
            body["type-id"] = ARTIST_TYPE_IDS[artist.type]
        if artist.country:
            body["country"] = artist.country
            area = self.area(artist.country) or {}
            body["area"] = {k: area[k] for k in ("id", "name", "sort-name")} | {
                "life-span": {"ended": None}
            }
        if artist.begin:
            body["life-span"] = {"begin": artist.begin, "ended": None}
        if artist.disambiguation:
            body["disambiguation"] = artist.disambiguation
        if artist.tags:
            body["tags"] = [{"count": count, "name": name} for name, count in artist.tags]
        return body

    def url_relation(self, artist: MbArtist, target: str) -> dict:
        """The artist's Spotify link: a URL relation on the artist, or an artist relation on
        the URL (``target`` says which side this is)."""
        relation: dict = {
            "attribute-ids": {},
            "attribute-values": {},
            "attributes": [],
            "begin": None,
            "end": None,
            "ended": False,
            "source-credit": "",
            "target-credit": "",
            "type": STREAMING_LINK[0],
            "type-id": STREAMING_LINK[1],
        }
        url = f"https://open.spotify.com/artist/{artist.spotify_id}"
        if target == "url":
            relation.update(
                {"direction": "forward", "target-type": "url", "url": self.url_ref(url)}
            )
        else:
            relation.update(
                {
                    "direction": "backward",
                    "target-type": "artist",
                    "artist": self.artist_ref(artist),
                }
            )
        return relation

    @staticmethod
    def url_ref(url: str) -> dict:
        return {"id": mbid("url", url), "resource": url}

    def url(self, resource: str, inc: set[str]) -> dict:
        body = self.url_ref(resource)
        if "artist-rels" in inc:
            artist = self.world.artists[self.world.artist_by_spotify_url[resource]]
            body["relations"] = [self.url_relation(artist, "artist")]
        return body

    # -- recordings --------------------------------------------------------------------------------
    def recording(self, recording: MbRecording, inc: set[str]) -> dict:
        body: dict = {
            "id": recording.id,
            "title": recording.title,
            "length": recording.length,
            "disambiguation": recording.disambiguation,
            "video": False,
            "first-release-date": recording.first_release_date,
        }
        if "artist-credits" in inc or "artists" in inc:
            body["artist-credit"] = self.credit(recording.artists)
        if "isrcs" in inc:
            body["isrcs"] = list(recording.isrcs)
        if "releases" in inc:
            body["releases"] = [
                self.release(self.world.releases[r], {"release-groups"} & inc)
                for r in recording.releases
            ]
        self.folksonomy(body, recording.tags, inc)
        return body

    def recording_search(self, recording: MbRecording, score: int) -> dict:
        body: dict = {
            "id": recording.id,
            "score": score,
            "title": recording.title,
            "video": None,
            "artist-credit": self.credit(recording.artists, search=True),
        }
        if recording.length is not None:
            body["length"] = recording.length
        if recording.disambiguation:
            body["disambiguation"] = recording.disambiguation
        if recording.first_release_date:
            body["first-release-date"] = recording.first_release_date
        if recording.releases:
            body["releases"] = [
                self.release_in_search(self.world.releases[r], recording)
                for r in recording.releases
            ]
        if recording.isrcs:
            body["isrcs"] = list(recording.isrcs)
        if recording.tags:
            body["tags"] = [{"count": count, "name": name} for name, count in recording.tags]
        return body

    def release_in_search(self, release: MbRelease, recording: MbRecording) -> dict:
        group = self.world.release_groups[release.release_group]
        body: dict = {
            "id": release.id,
            "status-id": OFFICIAL[1],
            "count": 1,
            "title": release.title,
            "status": OFFICIAL[0],
            "release-group": self.group_in_release(group),
            "track-count": len(release.recordings),
            "media": [
                {
                    "position": 1,
                    "format": "Digital Media",
                    "track-count": len(release.recordings),
                    "track-offset": release.recordings.index(recording.id)
                    if recording.id in release.recordings
                    else 0,
                }
            ],
        }
        if release.artists != recording.artists:
            body["artist-credit"] = self.credit(release.artists, search=True)
        if release.date:
            body["date"] = release.date
        if release.country:
            body["country"] = release.country
        return body

    @staticmethod
    def group_in_release(group: MbReleaseGroup) -> dict:
        body: dict = {"id": group.id, "title": group.title}
        if group.primary_type:
            body["type-id"] = PRIMARY_TYPE_IDS[group.primary_type]
            body["primary-type-id"] = PRIMARY_TYPE_IDS[group.primary_type]
            body["primary-type"] = group.primary_type
        if group.secondary_types:
            body["secondary-types"] = list(group.secondary_types)
        return body

    # -- releases and release groups ---------------------------------------------------------------
    def release(self, release: MbRelease, inc: set[str]) -> dict:
        body: dict = {
            "id": release.id,
            "title": release.title,
            "status": OFFICIAL[0],
            "status-id": OFFICIAL[1],
            "date": release.date,
            "country": release.country,
            "barcode": None,
            "disambiguation": "",
            "quality": "normal",
            "packaging": None,
            "packaging-id": None,
            "text-representation": {"language": "eng", "script": "Latn"},
            "release-events": [{"date": release.date, "area": self.area(release.country)}],
        }
        if "artist-credits" in inc:
            body["artist-credit"] = self.credit(release.artists)
        if "release-groups" in inc:
            group = self.world.release_groups[release.release_group]
            body["release-group"] = self.release_group(group, set())
        if "recordings" in inc:
            tracks = []
            for position, key in enumerate(release.recordings, start=1):
                recording = self.world.recordings[key]
                tracks.append(
                    {
                        "id": mbid("track", f"{release.id}:{position}"),
                        "position": position,
                        "number": str(position),
                        "title": recording.title,
                        "length": recording.length,
                        "recording": self.recording(recording, set()),
                    }
                )
            body["media"] = [
                {
                    "position": 1,
                    "title": "",
                    "format": "Digital Media",
                    "format-id": "907a28d9-b3b2-3ef6-89a8-7b18d91d4794",
                    "track-count": len(tracks),
                    "track-offset": 0,
                    "tracks": tracks,
                }
            ]
        return body

    def release_group(self, group: MbReleaseGroup, inc: set[str]) -> dict:
        body: dict = {
            "id": group.id,
            "title": group.title,
            "primary-type": group.primary_type,
            "primary-type-id": PRIMARY_TYPE_IDS.get(group.primary_type or ""),
            "secondary-types": list(group.secondary_types),
            "secondary-type-ids": [mbid("secondary-type", s) for s in group.secondary_types],
            "first-release-date": group.first_release_date or "",
            "disambiguation": "",
        }
        if "artist-credits" in inc:
            body["artist-credit"] = self.credit(group.artists)
        if "releases" in inc:
            body["releases"] = [self.release(self.world.releases[r], set()) for r in group.releases]
        self.folksonomy(body, group.tags, inc)
        return body

    def release_group_search(self, group: MbReleaseGroup, score: int) -> dict:
        body: dict = {"id": group.id, "score": score, "count": len(group.releases)}
        body.update(self.group_in_release(group))
        if group.first_release_date:
            body["first-release-date"] = group.first_release_date
        body["artist-credit"] = self.credit(group.artists, search=True)
        body["releases"] = [
            {
                "id": r,
                "title": self.world.releases[r].title,
                "status-id": OFFICIAL[1],
                "status": OFFICIAL[0],
            }
            for r in group.releases
        ]
        if group.tags:
            body["tags"] = [{"count": count, "name": name} for name, count in group.tags]
        return body
