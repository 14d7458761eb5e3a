"""The sandbox MusicBrainz's data: the sandbox Spotify's world as MusicBrainz would know it.

:class:`MusicBrainzWorld` is a pure function of a :class:`spotify.sandbox.catalogue.World` (so
of its seed: the same default seed 42): every Spotify artist, album and track has an MBID
(``uuid5`` of its Spotify id, see :func:`mbid`), recordings carry the Spotify tracks' ISRCs, and
artists have tags with vote counts (some of them genres), types, countries and life spans;
release groups have types and first-release dates. Like real data it also has

* tracks MusicBrainz does not know at all, and tracks whose recording has no ISRC there (so
  their Spotify ISRC is unknown; two Spotify tracks even share one, see ``catalogue.py``);
* ISRCs on several recordings: a live version (same credit, a length far off) or a version
  with another credit, which a matcher tells apart; and twins (same credit, same length) it
  cannot;
* artists with genres, with tags but no genres, or with nothing; artists without a Spotify URL
  relationship; homonyms: a second artist with a Spotify artist's name, and a recording of the
  same title and length, so a search by names alone is ambiguous;
* recording lengths a few seconds off the Spotify duration; release groups whose first release
  is older than Spotify's release date (a reissue); "best of" compilations sharing recordings.

What a correct matcher can and must not match is :meth:`MusicBrainzWorld.expected_matches`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from functools import cached_property

from spotify.sandbox.catalogue import COUNTRIES, GENRES, World, normalise

NAMESPACE = uuid.UUID("5c1b3a52-8e0f-4a57-9d0e-6d7b3f2a9c41")  # the sandbox's own namespace
EXTRA_GENRES = (
    "electronic",
    "acid jazz",
    "krautrock",
    "j-pop",
    "grime",
    "big beat",
    "post-rock",
    "industrial",
    "psychedelic rock",
    "math rock",
)
NON_GENRE_TAGS = ("seen live", "favorites", "female vocalists", "00s", "british", "awesome")
ARTIST_TYPES = ("Person", "Group", "Other", None)
NAME_TOLERANCE_MS = 10_000  # "the same duration" for a match by names (expected_matches)

# How a Spotify track appears in MusicBrainz (see the module docstring).
ISRC = "isrc"  # one recording carries the track's ISRC
NAME_ONLY = "name"  # a recording without the ISRC: reachable by title + artist + duration
ABSENT = "absent"  # MusicBrainz does not know the track
ISRC_LIVE = "isrc+live"  # the ISRC is also on a live version (same credit, length far off)
ISRC_OTHER_CREDIT = "isrc+credit"  # the ISRC is also on a version with another credit
ISRC_TWINS = "isrc-twins"  # the ISRC is on two recordings of the same credit and length
HOMONYM = "homonym"  # no ISRC, and a same-named artist has a recording of that title/length


def mbid(kind: str, key: str) -> str:
    """The sandbox's MBID for ``kind`` (artist, recording, release, release-group, url, genre,
    or a name of the sandbox's own) and ``key`` (usually a Spotify id): stable everywhere."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True, slots=True)
class MbArtist:
    id: str
    name: str
    sort_name: str
    type: str | None
    country: str | None
    begin: str | None  # partial date
    disambiguation: str
    tags: tuple[tuple[str, int], ...]  # (name, votes); genres are tags on the genre list
    spotify_id: str | None  # None for an artist Spotify does not have (a homonym)
    spotify_url: bool  # MusicBrainz links the artist to its Spotify page


@dataclass(frozen=True, slots=True)
class MbRecording:
    id: str
    title: str
    length: int | None
    artists: tuple[str, ...]  # artist MBIDs, credit order
    isrcs: tuple[str, ...]
    releases: tuple[str, ...]  # release MBIDs
    first_release_date: str | None
    tags: tuple[tuple[str, int], ...]
    disambiguation: str
    spotify_id: str | None  # the Spotify track it is (None: another version)


@dataclass(frozen=True, slots=True)
class MbReleaseGroup:
    id: str
    title: str
    primary_type: str | None
    secondary_types: tuple[str, ...]
    first_release_date: str | None
    artists: tuple[str, ...]
    releases: tuple[str, ...]
    tags: tuple[tuple[str, int], ...]
    spotify_id: str | None


@dataclass(frozen=True, slots=True)
class MbRelease:
    id: str
    title: str
    date: str | None
    country: str | None
    release_group: str
    artists: tuple[str, ...]
    recordings: tuple[str, ...]  # the track list, in order


@dataclass
class Expectations:
    """What a correct matcher ends with, per Spotify id (documented in
    :meth:`MusicBrainzWorld.expected_matches`)."""

    tracks: dict[str, str | None] = field(default_factory=dict)
    track_kinds: dict[str, str] = field(default_factory=dict)
    artists: dict[str, str | None] = field(default_factory=dict)
    albums: dict[str, str | None] = field(default_factory=dict)
    album_years: dict[str, int | None] = field(default_factory=dict)
    artist_genres: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)


class MusicBrainzWorld:
    """MusicBrainz's view of a sandbox Spotify world; build once, then look things up."""

    def __init__(self, spotify: World):
        self.spotify = spotify
        self.seed = spotify.seed
        self.genres: tuple[tuple[str, str], ...] = tuple(
            (mbid("genre", name), name) for name in sorted(set(GENRES) | set(EXTRA_GENRES))
        )
        self.genre_names = frozenset(name for _, name in self.genres)
        self.artists: dict[str, MbArtist] = {}
        self.recordings: dict[str, MbRecording] = {}
        self.release_groups: dict[str, MbReleaseGroup] = {}
        self.releases: dict[str, MbRelease] = {}
        self.track_kinds: dict[str, str] = {}  # Spotify track id -> one of the kinds above
        self._homonym_of: dict[str, str] = {}  # homonym MBID -> the Spotify artist's MBID
        self._build(random.Random(f"musicbrainz:{self.seed}"))

    # -- building --------------------------------------------------------------------------------
    def _build(self, rng: random.Random) -> None:
        world = self.spotify
        for artist in world.artists:
            self.artists[mbid("artist", artist.id)] = self._artist(rng, artist)
        homonyms = self._choose_homonyms(rng)
        compilation_of: dict[int, list[str]] = {}
        for album in world.albums:
            group_id, release_id = mbid("release-group", album.id), mbid("release", album.id)
            date = album.release_date
            if rng.random() < 0.1:  # a reissue: MusicBrainz knows the older first release
                date = str(max(1950, int(date[:4]) - rng.randint(1, 20)))
            primary, secondary = {
                "album": ("Album", ()),
                "single": ("Single", ()),
                "compilation": ("Album", ("Compilation",)),
            }[album.album_type]
            credit = tuple(mbid("artist", world.artists[a].id) for a in album.artists)
            tracklist = []
            for t in album.tracks:
                track = world.tracks[t]
                kind = HOMONYM if track.id in homonyms else self._track_kind(rng, track)
                if kind not in (ABSENT, NAME_ONLY, HOMONYM) and self._spotify_shares_isrc(track):
                    kind = NAME_ONLY  # MusicBrainz cannot know an ISRC Spotify gives twice
                self.track_kinds[track.id] = kind
                if kind == ABSENT:
                    continue
                recording = self._recording(rng, track, kind, release_id, date)
                tracklist.append(recording.id)
                self._add_versions(rng, track, kind, recording)
            if len(tracklist) >= 4 and rng.random() < 0.2:  # one track on a "best of"
                compilation_of.setdefault(album.artists[0], []).append(rng.choice(tracklist))
            tags = self._tags(rng, genres=rng.sample(GENRES, rng.randint(0, 2)), others=0)
            self.release_groups[group_id] = MbReleaseGroup(
                group_id,
                album.name,
                primary,
                secondary,
                date,
                credit,
                (release_id,),
                tags,
                album.id,
            )
            self.releases[release_id] = MbRelease(
                release_id, album.name, date, rng.choice(COUNTRIES), group_id, credit,
                tuple(tracklist),
            )  # fmt: skip
        for artist_index, recordings in compilation_of.items():
            self._add_compilation(world.artists[artist_index], recordings)
        for spotify_track_id, homonym_id in homonyms.items():
            self._add_homonym_recording(rng, spotify_track_id, homonym_id)

    def _artist(self, rng: random.Random, artist) -> MbArtist:
        roll = rng.random()
        if roll < 0.70:  # genres (Spotify's and maybe one more), sometimes weak, plus tags
            genres = list(artist.genres) + (
                [rng.choice(EXTRA_GENRES)] if rng.random() < 0.3 else []
            )
            tags = self._tags(rng, genres, rng.randint(0, 2))
        elif roll < 0.85:  # tags, none of them a genre
            tags = self._tags(rng, [], rng.randint(1, 3))
        else:  # nothing at all
            tags = ()
        group = artist.name.startswith("The ")
        kind = "Group" if group else rng.choices(ARTIST_TYPES, (70, 20, 5, 5))[0]
        begin = None
        if rng.random() < 0.9:
            year = rng.randint(1940, 2020)
            begin = rng.choice((str(year), f"{year}-{rng.randint(1, 12):02d}"))
        sort_name = f"{artist.name[4:]}, The" if group else artist.name
        return MbArtist(
            mbid("artist", artist.id),
            artist.name,
            sort_name,
            kind,
            rng.choice(COUNTRIES) if rng.random() < 0.9 else None,
            begin,
            "",
            tags,
            artist.id,
            rng.random() < 0.7,
        )

    @staticmethod
    def _tags(rng: random.Random, genres, others: int) -> tuple[tuple[str, int], ...]:
        votes = {name: rng.choice((1, 1, 2, 3, 5, 8, 13, 21)) for name in genres}
        for name in rng.sample(NON_GENRE_TAGS, others):
            votes[name] = rng.randint(1, 6)
        return tuple(sorted(votes.items(), key=lambda item: (-item[1], item[0])))

    def _choose_homonyms(self, rng: random.Random) -> dict[str, str]:
        """Spotify track id -> the MBID of a second artist named like the track's first artist
        (at least two, whatever the world's size)."""
        world = self.spotify
        count = max(2, len(world.artists) // 100)
        picks = rng.sample(range(len(world.artists)), count)
        found = {}
        for index in picks:
            artist = world.artists[index]
            first = [
                t for t in world.tracks_by_artist[index] if world.tracks[t].artists[0] == index
            ]
            track = world.tracks[first[0]]
            twin = MbArtist(
                mbid("homonym", artist.id),
                artist.name,
                self.artists[mbid("artist", artist.id)].sort_name,
                "Person",
                rng.choice(COUNTRIES),
                str(rng.randint(1950, 2015)),
                f"the other {artist.name}, from the sandbox's {index}th homonym pair",
                self._tags(rng, rng.sample(GENRES, 1), 0),
                None,
                False,
            )
            self.artists[twin.id] = twin
            self._homonym_of[twin.id] = mbid("artist", artist.id)
            found[track.id] = twin.id
        return found

    def _track_kind(self, rng: random.Random, track) -> str:
        roll = rng.random()
        if roll < 0.06:
            return ABSENT
        if roll < 0.13:
            return NAME_ONLY
        if roll < 0.15:
            return ISRC_LIVE
        if roll < 0.17:
            return ISRC_OTHER_CREDIT
        if roll < 0.19:
            return ISRC_TWINS
        return ISRC

    def _recording(self, rng, track, kind: str, release_id: str, date: str) -> MbRecording:
        length = track.duration_ms
        if rng.random() < 0.25:  # a few seconds off Spotify's duration
            length += rng.choice((-1, 1)) * rng.randint(1_000, 4_000)
        world = self.spotify
        credit = tuple(mbid("artist", world.artists[a].id) for a in track.artists)
        has_isrc = kind not in (NAME_ONLY, HOMONYM)
        tags = self._tags(rng, rng.sample(GENRES, 1), 0) if rng.random() < 0.2 else ()
        recording = MbRecording(
            mbid("recording", track.id),
            track.name,
            length,
            credit,
            (track.isrc,) if has_isrc else (),
            (release_id,),
            date,
            tags,
            "",
            track.id,
        )
        self.recordings[recording.id] = recording
        return recording

    def _spotify_shares_isrc(self, track) -> bool:
        """Spotify gives this track's ISRC to another track too: MusicBrainz cannot know it."""
        return len(self._spotify_isrc_users.get(track.isrc, ())) > 1

    @cached_property
    def _spotify_isrc_users(self) -> dict[str, list[str]]:
        users: dict[str, list[str]] = {}
        for track in self.spotify.tracks:
            users.setdefault(track.isrc, []).append(track.id)
        return users

    def _add_versions(self, rng, track, kind: str, original: MbRecording) -> None:
        if kind == ISRC_LIVE:
            other = mbid("live", track.id)
            length = (original.length or track.duration_ms) + rng.randint(25_000, 90_000)
            self._version(other, original, length, original.artists, "live")
        elif kind == ISRC_OTHER_CREDIT:
            other = mbid("remix", track.id)
            remixer = f"DJ {track.name.split()[0]}"  # one remixer per name, not in Spotify
            extra = mbid("remixer", remixer)
            self.artists.setdefault(
                extra, MbArtist(extra, remixer, remixer, "Person", None, None, "", (), None, False)
            )
            self._version(other, original, original.length, (*original.artists, extra), "remix")
        elif kind == ISRC_TWINS:
            other = mbid("twin", track.id)
            self._version(other, original, original.length, original.artists, "")

    def _version(self, key: str, original: MbRecording, length, artists, note: str) -> None:
        self.recordings[key] = MbRecording(
            key, original.title, length, tuple(artists), original.isrcs, (),
            original.first_release_date, (), note, None,
        )  # fmt: skip

    def _add_compilation(self, artist, recordings: list[str]) -> None:
        group_id = mbid("compilation-group", artist.id)
        release_id = mbid("compilation", artist.id)
        credit = (mbid("artist", artist.id),)
        self.release_groups[group_id] = MbReleaseGroup(
            group_id, f"The Best of {artist.name}", "Album", ("Compilation",), "2024-01-01",
            credit, (release_id,), (), None,
        )  # fmt: skip
        self.releases[release_id] = MbRelease(
            release_id, f"The Best of {artist.name}", "2024-01-01", None, group_id, credit,
            tuple(recordings),
        )  # fmt: skip
        for key in recordings:
            recording = self.recordings[key]
            self.recordings[key] = MbRecording(
                recording.id, recording.title, recording.length, recording.artists,
                recording.isrcs, (*recording.releases, release_id),
                recording.first_release_date, recording.tags, recording.disambiguation,
                recording.spotify_id,
            )  # fmt: skip

    def _add_homonym_recording(self, rng, spotify_track_id: str, homonym_id: str) -> None:
        original = self.recordings[mbid("recording", spotify_track_id)]
        key = mbid("homonym-recording", spotify_track_id)
        length = (original.length or 0) + rng.randint(-1_500, 1_500)
        self._version(key, original, length, (homonym_id,), "")

    # -- indexes ---------------------------------------------------------------------------------
    @cached_property
    def recordings_by_isrc(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for recording in self.recordings.values():
            for isrc in recording.isrcs:
                found.setdefault(isrc, []).append(recording.id)
        return found

    @cached_property
    def artist_by_spotify_url(self) -> dict[str, str]:
        return {
            f"https://open.spotify.com/artist/{a.spotify_id}": a.id
            for a in self.artists.values()
            if a.spotify_id and a.spotify_url
        }

    @cached_property
    def release_groups_of_recording(self) -> dict[str, tuple[str, ...]]:
        return {
            r.id: tuple(dict.fromkeys(self.releases[x].release_group for x in r.releases))
            for r in self.recordings.values()
        }

    def genres_of(self, tags: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        """The tags that are genres (as ``inc=genres`` answers them)."""
        return tuple(t for t in tags if t[0] in self.genre_names)

    # -- ground truth ------------------------------------------------------------------------------
    def expected_matches(self, name_tolerance_ms: int = NAME_TOLERANCE_MS) -> Expectations:
        """What a correct matcher can and must not match, per Spotify id.

        ``tracks[id]``: the recording MBID a matcher must find, or None where it must leave the
        track alone. Found means: by ISRC, the one recording carrying it, or among several the
        only one with the track's artist credit and the closest length (``isrc+live``,
        ``isrc+credit``); by names (no recording carries the ISRC), the only recording with the
        same normalised title, an artist credit naming the track's first artist and a length
        within ``name_tolerance_ms``, not counting recordings that list ISRCs without the
        track's (the ISRC evidence a matcher may use: those are other recordings). None:
        unknown to MusicBrainz (``absent``), two recordings of one credit and length on one ISRC
        (``isrc-twins``), or a names search that finds two artists of that name (``homonym``).
        ``track_kinds[id]`` says which case it is.

        ``artists[id]``: the artist MBID when a matched recording credits it or MusicBrainz
        links its Spotify URL, else None (nothing leads to it). ``artist_genres[id]``: that
        artist's genres with their votes, most first (empty: tags without genres, or nothing);
        the enrichment's own threshold decides which of them count. ``albums[id]``: the album's
        release group when at least one of its tracks is matched (every matched track of an
        album is on its release group; a few also on a "best of", never a majority), and
        ``album_years[id]`` that group's first-release year (MusicBrainz's, older than
        Spotify's release date for reissues).
        """
        world = self.spotify
        expected = Expectations(track_kinds=dict(self.track_kinds))
        by_name = self._name_index()
        reached_artists: set[str] = set()
        for track in world.tracks:
            kind = self.track_kinds[track.id]
            found: str | None = None
            if kind in (ISRC, ISRC_LIVE, ISRC_OTHER_CREDIT):
                found = mbid("recording", track.id)
            elif kind in (NAME_ONLY, HOMONYM):
                first = normalise(world.artists[track.artists[0]].name)
                candidates = [
                    r
                    for r in by_name.get((normalise(track.name), first), ())
                    if r.length is not None
                    and abs(r.length - track.duration_ms) <= name_tolerance_ms
                    # the ISRC evidence a matcher may use: a recording listing ISRCs, none of
                    # them the track's, is another recording of that title
                    and not (track.isrc and r.isrcs and track.isrc.upper() not in r.isrcs)
                ]
                if len(candidates) == 1 and candidates[0].spotify_id == track.id:
                    found = candidates[0].id
                elif kind == NAME_ONLY:
                    expected.track_kinds[track.id] = "name-ambiguous"
            expected.tracks[track.id] = found
            if found:
                reached_artists.update(self.recordings[found].artists)
        for artist in world.artists:
            key = mbid("artist", artist.id)
            mb_artist = self.artists[key]
            reached = key in reached_artists or mb_artist.spotify_url
            expected.artists[artist.id] = key if reached else None
            if reached:
                expected.artist_genres[artist.id] = self.genres_of(mb_artist.tags)
        for album in world.albums:
            matched = any(expected.tracks[world.tracks[t].id] for t in album.tracks)
            group = self.release_groups[mbid("release-group", album.id)]
            expected.albums[album.id] = group.id if matched else None
            expected.album_years[album.id] = (
                int(group.first_release_date[:4]) if matched and group.first_release_date else None
            )
        return expected

    def _name_index(self) -> dict[tuple[str, str], list[MbRecording]]:
        """(normalised title, normalised name of a credited artist) -> the recordings."""
        index: dict[tuple[str, str], list[MbRecording]] = {}
        names = {key: normalise(artist.name) for key, artist in self.artists.items()}
        for recording in self.recordings.values():
            title = normalise(recording.title)
            for name in dict.fromkeys(names[a] for a in recording.artists):
                index.setdefault((title, name), []).append(recording)
        return index
