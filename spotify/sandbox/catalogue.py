"""A deterministic synthetic music world: catalogue, listeners and their listening history.

Everything is a pure function of the seed. The catalogue (artists, albums, tracks) is built
eagerly in compact tuples (a few thousand objects, well under a second); listening history is
generated lazily per listener per UTC day and cached, so "plays of listener X between t1 and t2"
can be answered for any time without simulating the past.

Popularity follows a Zipf law like real streaming: a few artists get most of the plays, and
listeners pick favourites with the same skew. Plays come in sessions (an album from its first
track, a playlist, an artist's songs) at the hours a listener is usually active; a track stopped
before 30 s is a skip, present in the stream log (the privacy export) but not a counted play.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DAY_MS = 86_400_000
COUNTED_PLAY_MS = 30_000  # a track counts once played for more than 30 s

GENRES = (
    "pop",
    "dance pop",
    "indie pop",
    "synthpop",
    "electropop",
    "k-pop",
    "rock",
    "indie rock",
    "alternative rock",
    "classic rock",
    "hard rock",
    "punk",
    "post-punk",
    "metal",
    "hip hop",
    "rap",
    "trap",
    "r&b",
    "soul",
    "funk",
    "disco",
    "house",
    "deep house",
    "techno",
    "trance",
    "drum and bass",
    "dubstep",
    "ambient",
    "lo-fi beats",
    "jazz",
    "bebop",
    "smooth jazz",
    "blues",
    "country",
    "folk",
    "indie folk",
    "singer-songwriter",
    "reggae",
    "dancehall",
    "latin",
    "reggaeton",
    "bossa nova",
    "afrobeats",
    "classical",
    "baroque",
    "opera",
    "soundtrack",
    "chillhop",
    "shoegaze",
    "dream pop",
    "grunge",
    "emo",
    "ska",
    "gospel",
    "new wave",
    "edm",
)
SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "ven",
    "tor",
    "el",
    "an",
    "sa",
    "ri",
    "no",
    "va",
    "lu",
    "ze",
    "ta",
    "mo",
    "ne",
    "ly",
    "dor",
    "fi",
    "ko",
    "sha",
    "qui",
    "bel",
    "ar",
    "is",
    "um",
    "ro",
    "de",
    "ja",
)
WORDS = (
    "Midnight",
    "Echo",
    "Golden",
    "River",
    "Neon",
    "Heart",
    "Summer",
    "Ghost",
    "Fire",
    "Silver",
    "Dream",
    "Paper",
    "Ocean",
    "Static",
    "Velvet",
    "Shadow",
    "Electric",
    "Wild",
    "Glass",
    "Honey",
    "Thunder",
    "Lonely",
    "City",
    "Lights",
    "Storm",
    "Sugar",
    "Broken",
    "Dancing",
    "Morning",
    "Stars",
    "Blue",
    "Empty",
    "Highway",
    "Satellite",
    "Caravan",
    "Mirror",
    "Paradise",
    "Fever",
    "Orbit",
    "Winter",
    "Rain",
    "Youth",
    "Garden",
    "Signal",
    "Atlas",
    "Bloom",
    "Crystal",
    "Drift",
)
FIRST_NAMES = (
    "Alex",
    "Sam",
    "Robin",
    "Kim",
    "Noa",
    "Jules",
    "Mika",
    "Ari",
    "Lou",
    "Eden",
    "Rene",
    "Sasha",
    "Toni",
    "Yuri",
    "Charlie",
    "Dani",
)
COUNTRIES = ("SE", "US", "GB", "DE", "FR", "BR", "JP", "ES", "NL", "MX", "CA", "AU")
ALBUM_TYPES = ("album", "single", "compilation")


def spotify_id(seed: int, kind: str, index: int, length: int = 22) -> str:
    """A base62 id like Spotify's, stable for (seed, kind, index)."""
    number = int.from_bytes(
        hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=32).digest(), "big"
    )
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 62)
        chars.append(BASE62[rest])
    return "".join(chars)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_ms(ms: int) -> str:
    """Spotify's played_at format: 2026-11-23T21:04:05.123Z."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Artist:
    index: int
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int
    weight: float  # Zipf share of all listening


@dataclass(frozen=True, slots=True)
class Album:
    index: int
    id: str
    name: str
    album_type: str
    artists: tuple[int, ...]
    release_date: str
    release_date_precision: str
    tracks: tuple[int, ...]
    label: str
    upc: str
    popularity: int


@dataclass(frozen=True, slots=True)
class Track:
    index: int
    id: str
    name: str
    album: int
    artists: tuple[int, ...]
    track_number: int
    duration_ms: int
    explicit: bool
    popularity: int
    isrc: str


@dataclass(frozen=True, slots=True)
class Stream:
    """One listening event: a play if ``ms_played`` > 30 s, else a skip."""

    played_at_ms: int  # when the stream ended, like the export's endTime/ts
    track: int
    ms_played: int
    context_type: str | None
    context_id: str | None

    @property
    def counted(self) -> bool:
        return self.ms_played > COUNTED_PLAY_MS


@dataclass(frozen=True)
class Listener:
    index: int
    id: str
    account_id: str
    display_name: str
    email: str
    country: str
    product: str
    followers: int
    favourites: tuple[int, ...]  # artist indexes, most loved first
    favourite_weights: tuple[float, ...]
    sessions_per_day: float
    hour_weights: tuple[float, ...]
    playlists: tuple[tuple[str, tuple[int, ...]], ...] = field(repr=False)


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _zipf_weights(count: int, exponent: float = 1.07) -> list[float]:
    raw = [1.0 / (rank**exponent) for rank in range(1, count + 1)]
    total = sum(raw)
    return [value / total for value in raw]


class World:
    """The catalogue and listeners for one seed. Build once; everything else is lookups."""

    def __init__(self, seed: int = 42, listeners: int = 8, artists: int = 300):
        self.seed = seed
        self.artists: list[Artist] = []
        self.albums: list[Album] = []
        self.tracks: list[Track] = []
        self._build_catalogue(artists)
        self.track_by_id = {track.id: track for track in self.tracks}
        self.artist_by_id = {artist.id: artist for artist in self.artists}
        self.album_by_id = {album.id: album for album in self.albums}
        self.albums_by_artist: dict[int, list[int]] = {}
        for album in self.albums:
            self.albums_by_artist.setdefault(album.artists[0], []).append(album.index)
        self.tracks_by_artist: dict[int, list[int]] = {}
        for track in self.tracks:
            for artist in track.artists:
                self.tracks_by_artist.setdefault(artist, []).append(track.index)
        self.listeners = [self._make_listener(i) for i in range(listeners)]
        self.listener_by_id = {listener.id: listener for listener in self.listeners}
        self._streams_of_day = lru_cache(maxsize=16384)(self._generate_day)

    # -- catalogue ---------------------------------------------------------------------------
    def _build_catalogue(self, artist_count: int) -> None:
        rng = random.Random(f"catalogue:{self.seed}")
        weights = _zipf_weights(artist_count)
        top = weights[0]
        for i in range(artist_count):
            genres = tuple(sorted(set(rng.sample(GENRES, rng.randint(1, 3)))))
            name = _name(rng, rng.randint(2, 3))
            if rng.random() < 0.3:
                name = f"The {name}s"
            popularity = max(1, round(100 * (weights[i] / top) ** 0.22))
            self.artists.append(
                Artist(
                    i,
                    spotify_id(self.seed, "artist", i),
                    name,
                    genres,
                    popularity,
                    int(40_000_000 * weights[i] / top) + rng.randint(50, 5000),
                    weights[i],
                )
            )
        for artist in self.artists:
            for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
                self._add_album(rng, artist)

    def _add_album(self, rng: random.Random, artist: Artist) -> None:
        index = len(self.albums)
        album_type = rng.choices(ALBUM_TYPES, (60, 35, 5))[0]
        size = rng.randint(8, 15) if album_type != "single" else rng.randint(1, 3)
        year = rng.randint(1965, 2026)
        precision = rng.choices(("day", "month", "year"), (85, 5, 10))[0]
        release = {
            "day": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "month": f"{year}-{rng.randint(1, 12):02d}",
            "year": str(year),
        }[precision]
        artists: tuple[int, ...] = (artist.index,)
        if rng.random() < 0.08:
            artists += (rng.randrange(len(self.artists)),)
        first = len(self.tracks)
        title = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        track_ids = []
        for number in range(1, size + 1):
            t = len(self.tracks)
            featured = artists + ((rng.randrange(len(self.artists)),) if rng.random() < 0.1 else ())
            name = (
                title
                if album_type == "single" and number == 1
                else " ".join(rng.sample(WORDS, rng.randint(1, 3)))
            )
            popularity = max(0, min(100, artist.popularity - rng.randint(0, 35)))
            self.tracks.append(
                Track(
                    t,
                    spotify_id(self.seed, "track", t),
                    name,
                    index,
                    tuple(dict.fromkeys(featured)),
                    number,
                    rng.randint(95_000, 390_000),
                    rng.random() < 0.15,
                    popularity,
                    self._isrc(year, t, number),
                )
            )
            track_ids.append(first + number - 1)
        self.albums.append(
            Album(
                index,
                spotify_id(self.seed, "album", index),
                title,
                album_type,
                artists,
                release,
                precision,
                tuple(track_ids),
                f"{_name(rng, 2)} Records",
                f"{index:012d}",
                max(0, artist.popularity - rng.randint(0, 20)),
            )
        )

    def _isrc(self, year: int, index: int, number: int) -> str:
        """The track's ISRC; like real catalogues, a few tracks repeat the previous track's
        (a label's mistake MusicBrainz cannot resolve: see musicbrainz.sandbox.world)."""
        if number > 1 and index % 97 == 3:
            return self.tracks[-1].isrc
        # CC "SB", registrant (3), year (2), designation (5): 12 characters, like real ISRCs
        registrant = f"{self.seed % 100:02d}{BASE62[(index // 100_000) % 36]}"
        return f"SB{registrant}{year % 100:02d}{index % 100_000:05d}"

    def audio_features(self, track: Track) -> dict:
        rng = random.Random(f"features:{self.seed}:{track.index}")
        return {
            "danceability": round(rng.random(), 3),
            "energy": round(rng.random(), 3),
            "key": rng.randint(-1, 11),
            "loudness": round(rng.uniform(-30, 0), 3),
            "mode": rng.randint(0, 1),
            "speechiness": round(rng.random() * 0.6, 4),
            "acousticness": round(rng.random(), 4),
            "instrumentalness": round(rng.random() ** 3, 4),
            "liveness": round(rng.random() * 0.8, 4),
            "valence": round(rng.random(), 3),
            "tempo": round(rng.uniform(60, 200), 3),
            "time_signature": rng.choice((3, 4, 4, 4, 5)),
        }

    # -- listeners ---------------------------------------------------------------------------
    def _make_listener(self, i: int) -> Listener:
        rng = random.Random(f"listener:{self.seed}:{i}")
        population = range(len(self.artists))
        global_weights = [artist.weight for artist in self.artists]
        favourites: list[int] = []
        while len(favourites) < min(25, len(self.artists)):
            pick = rng.choices(population, global_weights)[0]
            if pick not in favourites:
                favourites.append(pick)
        name = f"{rng.choice(FIRST_NAMES)} {_name(rng, 2)}"
        peak = rng.choice((8, 13, 18, 21, 23))
        hours = tuple(
            0.15
            + 2.0 * max(0.0, 1 - min(abs(h - peak), 24 - abs(h - peak)) / 5)
            + (0.0 if 1 <= h <= 6 else 0.5)
            for h in range(24)
        )
        pool = [t for a in favourites for t in self.tracks_by_artist[a]]
        playlists = tuple(
            (
                spotify_id(self.seed, f"playlist:{i}", p),
                tuple(rng.sample(pool, min(len(pool), rng.randint(15, 60)))),
            )
            for p in range(rng.randint(2, 5))
        )
        return Listener(
            index=i,
            id=spotify_id(self.seed, "user", i, 28).lower(),
            account_id=spotify_id(self.seed, "account", i, 10),
            display_name=name,
            email=f"{name.lower().replace(' ', '.')}.{i}@sandbox.example",
            country=rng.choice(COUNTRIES),
            product=rng.choices(("premium", "free"), (75, 25))[0],
            followers=rng.randint(0, 300),
            favourites=tuple(favourites),
            favourite_weights=tuple(_zipf_weights(len(favourites), 0.9)),
            sessions_per_day=rng.uniform(2.0, 6.0),
            hour_weights=hours,
            playlists=playlists,
        )

    def listener(self, key: str) -> Listener | None:
        """By id, account_id or 0-based index (as text)."""
        found = self.listener_by_id.get(key)
        if found is None:
            found = next((who for who in self.listeners if who.account_id == key), None)
        if found is None and key.isdigit() and int(key) < len(self.listeners):
            found = self.listeners[int(key)]
        return found

    # -- listening history -------------------------------------------------------------------
    def _session_tracks(
        self, rng: random.Random, who: Listener
    ) -> tuple[list[int], str | None, str | None]:
        kind = rng.choices(("album", "playlist", "artist", None), (40, 35, 15, 10))[0]
        artist = rng.choices(who.favourites, who.favourite_weights)[0]
        length = rng.randint(3, 16)
        if kind == "album":
            album = self.albums[rng.choice(self.albums_by_artist[artist])]
            return list(album.tracks[:length]), "album", album.id
        if kind == "playlist":
            playlist_id, tracks = rng.choice(who.playlists)
            start = rng.randrange(len(tracks))
            return (
                [tracks[(start + k) % len(tracks)] for k in range(length)],
                "playlist",
                playlist_id,
            )
        if kind == "artist":
            songs = self.tracks_by_artist[artist]
            ranked = sorted(songs, key=lambda t: -self.tracks[t].popularity)[:10]
            return [rng.choice(ranked) for _ in range(length)], "artist", self.artists[artist].id
        picks = rng.choices(who.favourites, who.favourite_weights, k=length)
        return [rng.choice(self.tracks_by_artist[a]) for a in picks], None, None

    def _generate_day(self, listener_index: int, day: int) -> tuple[Stream, ...]:
        """All streams of one listener on one UTC day (day = days since the epoch)."""
        who = self.listeners[listener_index]
        rng = random.Random(f"day:{self.seed}:{listener_index}:{day}")
        count = max(0, round(rng.gauss(who.sessions_per_day, 1.5)))
        starts = sorted(
            day * DAY_MS
            + rng.choices(range(24), who.hour_weights)[0] * 3_600_000
            + rng.randrange(3_600_000)
            for _ in range(count)
        )
        end_of_day = (day + 1) * DAY_MS
        streams: list[Stream] = []
        cursor = day * DAY_MS
        for start in starts:
            cursor = max(start, cursor + rng.randint(60_000, 1_200_000))
            tracks, context_type, context_id = self._session_tracks(rng, who)
            for t in tracks:
                duration = self.tracks[t].duration_ms
                roll = rng.random()
                if roll < 0.12:
                    played = rng.randint(1_500, 29_000)  # skipped: not a counted play
                elif roll < 0.18:
                    played = rng.randint(31_000, duration)  # stopped part way, still counted
                else:
                    played = duration
                ended = cursor + played
                if ended >= end_of_day:
                    break
                streams.append(Stream(ended, t, played, context_type, context_id))
                cursor = ended + rng.randint(50, 3_000)
        return tuple(streams)

    def streams(self, listener: Listener, start_ms: int, end_ms: int) -> list[Stream]:
        """Streams (plays and skips) ending in [start_ms, end_ms), oldest first."""
        found: list[Stream] = []
        for day in range(start_ms // DAY_MS, (end_ms - 1) // DAY_MS + 1):
            day_streams = self._streams_of_day(listener.index, day)
            ends = [s.played_at_ms for s in day_streams]
            lo = bisect.bisect_left(ends, start_ms)
            hi = bisect.bisect_left(ends, end_ms)
            found.extend(day_streams[lo:hi])
        return found

    def plays(self, listener: Listener, start_ms: int, end_ms: int) -> list[Stream]:
        """Counted plays (more than 30 s) ending in [start_ms, end_ms), oldest first."""
        return [s for s in self.streams(listener, start_ms, end_ms) if s.counted]

    def last_plays(
        self, listener: Listener, now_ms: int, count: int = 50, max_days: int = 120
    ) -> list[Stream]:
        """The ``count`` most recent counted plays at ``now_ms``, newest first."""
        found: list[Stream] = []
        day = now_ms // DAY_MS
        for back in range(max_days):
            start = (day - back) * DAY_MS
            end = min(now_ms + 1, start + DAY_MS)
            found.extend(reversed(self.plays(listener, start, end)))
            if len(found) >= count:
                break
        return found[:count]

    # -- search ------------------------------------------------------------------------------
    def search_tracks(
        self, track: str | None, artist: str | None, album: str | None, words: list[str]
    ) -> list[Track]:
        """Tracks matching every given filter (case-insensitive substrings), best first.

        Best is Spotify's order: a track whose name is exactly the ``track:`` filter (or, with
        no filter, exactly the plain words) comes before more popular tracks that only contain
        them, and so does an artist named exactly like the ``artist:`` filter; then popularity.
        """
        track_q, artist_q, album_q = (normalise(v) if v else None for v in (track, artist, album))
        word_q = [normalise(w) for w in words if normalise(w)]
        hits = []
        for t in self.tracks:
            name = normalise(t.name)
            artist_names = [normalise(self.artists[a].name) for a in t.artists]
            album_name = normalise(self.albums[t.album].name)
            if track_q and track_q not in name:
                continue
            if artist_q and not any(artist_q in a for a in artist_names):
                continue
            if album_q and album_q not in album_name:
                continue
            haystack = " ".join([name, album_name, *artist_names])
            if any(w not in haystack for w in word_q):
                continue
            exact = (name == (track_q or " ".join(word_q))) + (
                artist_q in artist_names if artist_q else 0
            )
            hits.append((-exact, -t.popularity, t.index, t))
        hits.sort(key=lambda h: h[:3])
        return [h[3] for h in hits]

    def search_artists(self, name: str | None, words: list[str]) -> list[Artist]:
        wanted = [normalise(w) for w in ([name] if name else []) + words if normalise(w)]
        hits = [a for a in self.artists if all(w in normalise(a.name) for w in wanted)]
        return sorted(
            hits, key=lambda a: (-(normalise(a.name) == " ".join(wanted)), -a.popularity, a.index)
        )


def normalise(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())
