"""Affinity, blends and the instance's boards equal a brute-force count of the raw plays.

Five listeners play overlapping but different favourites (tracks with one or two artists,
stubs with none, Spotify and MusicBrainz genres), stored through ``store_plays``; one lives in
another time zone, so comparing with them reads their raw plays while the others' come from
the summaries.  For several periods every list, share and score of ``models.stats.together``
must equal what this file counts from the ``play`` table in Python, by the formulas of
docs/sharing.md (ties by id), from the summaries and with ``stats.from_raw_plays()``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from models import stats
from models.enrich.store import Verdict, record, store_artist_genres
from models.ingest.plays import store_plays
from models.periods import parse_period
from models.schema.tables import LEAD_POSITION, ArtistGenre, Genre, Play, TrackArtist, User
from models.stats import together
from models.stats.sources import select_from, shown_genres
from tests.factories import make_artist, make_track, make_user

SEED = 20261202
FIRST = dt.datetime(2024, 1, 1)
LAST = dt.datetime(2026, 6, 30)
NOW = LAST + dt.timedelta(hours=30)
LISTS = ("shared", "only_you", "only_them")


def build_world(rng: random.Random) -> list[User]:
    genres = [Genre.create(name=f"genre {i}") for i in range(5)]
    artists = [make_artist() for _ in range(12)]
    for artist in artists[:8]:
        for genre in rng.sample(genres, rng.randint(0, 2)):
            ArtistGenre.create(artist=artist, genre=genre)
    # MusicBrainz genres: shown for artists Spotify gave none, hidden for the others
    record("artist", [Verdict(a.id, "matched", f"mb-{a.id}") for a in artists[6:]], NOW)
    store_artist_genres(
        {
            a.id: [(f"mb genre {rng.randrange(3)}", rng.randint(1, 4)) for _ in range(3)]
            for a in artists[6:]
        }
    )
    tracks = [make_track(artists=rng.sample(artists, rng.choice([1, 1, 2]))) for _ in range(45)]
    tracks += [make_track(name=f"stub {i}") for i in range(5)]  # no artists (yet)
    zones = ["Europe/Paris", "Europe/Paris", "Asia/Kolkata", "Europe/Paris", "Europe/Paris"]
    users = []
    span = int((LAST - FIRST).total_seconds())
    for n, zone in enumerate(zones):
        user = make_user(timezone=zone)
        favourites = rng.sample(tracks, rng.randint(8, 30))
        weights = [1 / (rank + 1) for rank in range(len(favourites))]
        count = 150 if n else 600  # the first listens most
        plays = [
            {
                "track_id": rng.choices(favourites, weights)[0].id,
                "played_at": FIRST + dt.timedelta(seconds=rng.randrange(span)),
                "ms_played": rng.randint(1_000, 300_000),
            }
            for _ in range(count)
        ]
        store_plays(user.id, plays[::2], "import")
        store_plays(user.id, plays[1::2], "api")
        users.append(User.get_by_id(user.id))
    return users


# --- counting by hand --------------------------------------------------------------------------


class Counted:
    """One listener's period counted from raw plays: plays per track, credits per artist,
    plays per (source, genre) of the lead artist, time per track."""

    def __init__(self, user: User, period):
        where = (Play.user == user.id) & (Play.played_at < period.end)
        if period.start is not None:
            where &= Play.played_at >= period.start
        rows = list(Play.select(Play.track, Play.ms_played).where(where).tuples())
        self.tracks = Counter(track for track, _ in rows)
        self.ms = Counter()
        for track, ms in rows:
            self.ms[track] += ms
        self.artists: Counter = Counter()
        self.genres: Counter = Counter()
        credits = TrackArtist.select(TrackArtist.track, TrackArtist.artist, TrackArtist.position)
        shown = shown_genres()
        genres_of: dict[str, list] = {}
        for artist, source, genre in select_from(
            [shown], [shown.c.artist_id, shown.c.source, shown.c.genre]
        ).tuples():
            genres_of.setdefault(artist, []).append((source, genre))
        for track, artist, position in credits.tuples():
            plays = self.tracks.get(track, 0)
            if plays:
                self.artists[artist] += plays
                if position == LEAD_POSITION:
                    for genre in genres_of.get(artist, []):
                        self.genres[genre] += plays
        self.total = sum(self.tracks.values())


def shares_of(counts: Counter) -> dict:
    total = sum(counts.values())
    return {key: plays / total for key, plays in counts.items()}


def compared(first: Counter, second: Counter):
    """(overlap, shared, only first, only second) as docs/sharing.md defines them; rows as
    (key, plays, shares, score)."""
    s0, s1 = shares_of(first), shares_of(second)
    both = first.keys() & second.keys()
    overlap = sum(min(s0[key], s1[key]) for key in both)
    shared = [
        (key, [first[key], second[key]], [s0[key], s1[key]], min(s0[key], s1[key])) for key in both
    ]
    only_first = [(k, [first[k], 0], [s0[k], 0.0], s0[k]) for k in first.keys() - second.keys()]
    only_second = [(k, [0, second[k]], [0.0, s1[k]], s1[k]) for k in second.keys() - first.keys()]
    lists = [
        sorted(rows, key=lambda row: (-row[3], row[0]))
        for rows in (shared, only_first, only_second)
    ]
    return overlap, *[rows[: together.LIST_SIZE] for rows in lists]


def blended(counts: list[Counter], mode: str) -> list:
    shares = [shares_of(c) for c in counts]
    everyone = set.intersection(*[set(c) for c in counts])
    rows = []
    for key in everyone:
        own = [s[key] for s in shares]
        score = min(own) if mode == "least" else sum(own) / len(own)
        rows.append((key, [c[key] for c in counts], own, score))
    return sorted(rows, key=lambda row: (-row[3], row[0]))[:25]


def as_tuples(rows: list[dict], key: str) -> list:
    return [(row[key], row["plays"], row["shares"], row["score"]) for row in rows]


# --- the checks --------------------------------------------------------------------------------


def periods_of(tz: str):
    return [
        parse_period("all", tz=tz, now=NOW),
        parse_period("12m", tz=tz, now=NOW),
        parse_period("4w", tz=tz, now=NOW),
        parse_period(from_="2024-03-10", to="2025-07-31", tz=tz, now=NOW),
    ]


def check_affinity(you: User, them: User, period) -> None:
    result = together.affinity_between(you, them, period)
    first, second = Counted(you, period), Counted(them, period)
    overlaps = {}
    for kind, counts in (("track", "tracks"), ("artist", "artists")):
        overlap, *lists = compared(getattr(first, counts), getattr(second, counts))
        overlaps[kind] = overlap
        assert result[f"{kind}_overlap"] == pytest.approx(round(overlap, 4), abs=1e-4)
        for name, expected in zip(LISTS, lists, strict=True):
            got = as_tuples(result[f"{name}_{kind}s"], f"{kind}_id")
            assert got == expected, (you.id, them.id, period.key, kind, name)
    score = round(100 * (0.6 * overlaps["artist"] + 0.4 * overlaps["track"]))
    assert result["score"] == score
    genres = []
    for genre in first.genres.keys() & second.genres.keys():
        plays = [first.genres[genre], second.genres[genre]]
        shares = [plays[0] / first.total, plays[1] / second.total]
        genres.append(((genre[1], genre[0]), plays, shares, min(shares)))
    genres.sort(key=lambda row: (-row[3], row[0]))
    got = [
        ((row["genre"], row["source"]), row["plays"], row["shares"], row["score"])
        for row in result["shared_genres"]
    ]
    assert got == genres[: together.LIST_SIZE], (you.id, them.id, period.key, "genres")


def test_affinity_and_blends_equal_a_count_of_the_raw_plays(db):
    users = build_world(random.Random(SEED))
    ada, bob, cyd = users[:3]
    assert Counted(ada, periods_of(ada.timezone)[0]).genres  # the genres were in play
    checked = 0
    for period in periods_of(ada.timezone):
        for them in (bob, cyd):  # Bob's summaries answer; Cyd's zone is not Ada's: raw plays
            check_affinity(ada, them, period)
            check_affinity(them, ada, period)
            checked += 2
        counts = [Counted(user, period) for user in users]
        for mode in together.BLEND_MODES:
            result = together.blend_of(users, period, mode)
            for kind, name in (("track", "tracks"), ("artist", "artists")):
                expected = blended([getattr(c, name) for c in counts], mode)
                assert as_tuples(result[name], f"{kind}_id") == expected, (period.key, mode, kind)
        pair = together.blend_of([ada, bob], period, "least")
        assert as_tuples(pair["tracks"], "track_id") == blended(
            [counts[0].tracks, counts[1].tracks], "least"
        )
    assert checked == 16
    whole = periods_of(ada.timezone)[0]
    summarised = together.affinity_between(ada, bob, whole)
    assert (
        summarised["shared_tracks"]
        and summarised["only_you_tracks"]
        and summarised["only_them_tracks"]
    )
    with stats.from_raw_plays():
        assert together.affinity_between(ada, bob, whole) == summarised
        check_affinity(ada, bob, periods_of(ada.timezone)[1])


def test_the_boards_equal_a_count_of_the_raw_plays(db):
    users = build_world(random.Random(SEED + 1))
    for period in periods_of(users[0].timezone)[:3]:
        counts = [Counted(user, period) for user in users]
        busiest = max(counts, key=lambda c: c.total)
        track = busiest.tracks.most_common(1)[0][0]
        artist = busiest.artists.most_common(1)[0][0]
        for kind, item, of in (("track", track, "tracks"), ("artist", artist, "artists")):
            expected = []
            for user, counted in zip(users, counts, strict=True):
                plays = getattr(counted, of).get(item, 0)
                if kind == "track":
                    ms = counted.ms.get(item, 0)
                else:
                    credited = {
                        t
                        for (t,) in TrackArtist.select(TrackArtist.track)
                        .where(TrackArtist.artist == item)
                        .tuples()
                    }
                    ms = sum(v for t, v in counted.ms.items() if t in credited)
                if plays:
                    expected.append((user.id, plays, ms))
            expected.sort(key=lambda row: (-row[1], -row[2], str(User.get_by_id(row[0]))))
            board = together.listeners_of(kind, item, users, period)
            assert [(r["listener"]["id"], r["plays"], r["ms_played"]) for r in board] == expected
            with stats.from_raw_plays():
                assert together.listeners_of(kind, item, users, period) == board
        minutes = together.minutes_of(users, period)
        expected = sorted(
            ((u.id, c.total, sum(c.ms.values())) for u, c in zip(users, counts, strict=True)),
            key=lambda row: (-row[2], str(User.get_by_id(row[0]))),
        )
        assert [(r["listener"]["id"], r["plays"], r["ms_played"]) for r in minutes] == expected
