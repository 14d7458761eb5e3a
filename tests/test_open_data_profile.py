"""The open-data profile and the genres equal a brute-force count from the raw plays and the
enrichment as it is now, on both engines, also after the enrichment and the catalogue change
under them: a track newly matched, an artist's country and type corrected, a track relinked to
another lead artist and album, an artist's genres replaced.

The brute force reads every play row and looks each fact up in Python, the definition in
docs/musicbrainz.md; the statistics read the summaries joined to ``track_facts`` (and from raw
plays with ``stats.from_raw_plays()``).  The kept ``track_facts`` rows must also equal a
rebuild from scratch after every change.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from contextlib import nullcontext

import pytest

from models import stats
from models.enrich.store import Verdict, record, store_artist_genres
from models.ingest.catalogue import upsert_tracks
from models.ingest.plays import store_plays
from models.periods import parse_period
from models.schema.tables import (
    LEAD_POSITION,
    AlbumEnrichment,
    ArtistEnrichment,
    ArtistGenre,
    Genre,
    MusicBrainzArtistGenre,
    Play,
    ShownGenre,
    Track,
    TrackArtist,
    TrackEnrichment,
    TrackFacts,
)
from models.stats.open_data import LENGTH_MINUTES, TOP_COUNTRIES
from models.summaries import shown_genres, track_facts
from tests.factories import make_album, make_artist, make_track, make_user, track_object

NOW = dt.datetime(2026, 7, 1)
FIRST = dt.datetime(2025, 1, 1)


# --- the brute force: one play at a time ---------------------------------------------------------


def _plays(user_id: int, period) -> list[str]:
    where = (Play.user == user_id) & (Play.played_at < period.end)
    if period.start is not None:
        where &= Play.played_at >= period.start
    return [track for (track,) in Play.select(Play.track).where(where).tuples()]


def _leads(track_id: str) -> list[str]:
    """The artists at the lead position: one, except for a track Spotify relinked to another
    lead (the old link stays, ``ingest.write_catalogue``)."""
    return sorted(
        artist
        for (artist,) in TrackArtist.select(TrackArtist.artist)
        .where((TrackArtist.track == track_id) & (TrackArtist.position == LEAD_POSITION))
        .tuples()
    )


def _length_label(minutes: int) -> str:
    if minutes < LENGTH_MINUTES[0]:
        return f"under {LENGTH_MINUTES[0]} min"
    for low, high in itertools.pairwise(LENGTH_MINUTES):
        if minutes < high:
            return f"{low}–{high} min"
    return f"{LENGTH_MINUTES[-1]} min and over"


def brute_open_profile(user_id: int, period) -> dict:
    decades: dict[int, int] = {}
    countries: dict[str, int] = {}
    types: dict[str, int] = {}
    lengths: dict[int, int] = {}
    plays = _plays(user_id, period)
    length_ms = explicit = explicit_known = 0
    for track_id in plays:
        track = Track.get_by_id(track_id)
        recording = TrackEnrichment.get_or_none(TrackEnrichment.track == track_id)
        group = AlbumEnrichment.get_or_none(AlbumEnrichment.album == track.album_id)
        year = recording.release_year if recording else None
        if year is None and group is not None:
            year = group.release_year
        if year is not None:
            decades[year - year % 10] = decades.get(year - year % 10, 0) + 1
        leads = _leads(track_id)  # the facts are the first's
        artist = (
            ArtistEnrichment.get_or_none(ArtistEnrichment.artist == leads[0]) if leads else None
        )
        if artist and artist.country:
            countries[artist.country] = countries.get(artist.country, 0) + 1
        if artist and artist.artist_type:
            types[artist.artist_type] = types.get(artist.artist_type, 0) + 1
        if track.duration_ms is not None:
            bucket = min(track.duration_ms // 60000, LENGTH_MINUTES[-1])
            lengths[bucket] = lengths.get(bucket, 0) + 1
            length_ms += track.duration_ms
        if track.explicit is not None:
            explicit_known += 1
            explicit += int(track.explicit)
    total = len(plays)

    def shares(counts: dict, key: str, order) -> list[dict]:
        known = sum(counts.values())
        return [
            {key: name, "plays": n, "share": n / known}
            for name, n in sorted(counts.items(), key=order)
        ]

    by_label: dict[str, int] = {}
    for bucket in sorted(lengths):
        by_label[_length_label(bucket)] = by_label.get(_length_label(bucket), 0) + lengths[bucket]
    timed = sum(lengths.values())
    most = lambda item: (-item[1], item[0])  # noqa: E731
    return {
        "plays": total,
        "decades": shares(decades, "decade", lambda item: item[0]),
        "decades_coverage": sum(decades.values()) / total,
        "countries": shares(countries, "country", most)[:TOP_COUNTRIES],
        "countries_coverage": sum(countries.values()) / total,
        "artist_types": shares(types, "type", most),
        "artist_types_coverage": sum(types.values()) / total,
        "lengths": [
            {"length": label, "plays": n, "share": n / timed} for label, n in by_label.items()
        ],
        "average_length_ms": round(length_ms / timed) if timed else None,
        "explicit_share": explicit / explicit_known if explicit_known else None,
    }


def _shown_genres(artist_id: str) -> list[tuple[str, str]]:
    """docs/musicbrainz.md: Spotify's genres where Spotify sent any, else MusicBrainz's with at
    least two votes, the five most voted."""
    spotify = [
        ("spotify", name)
        for (name,) in Genre.select(Genre.name)
        .join(ArtistGenre)
        .where(ArtistGenre.artist == artist_id)
        .tuples()
    ]
    if spotify:
        return spotify
    ranked = (
        MusicBrainzArtistGenre.select(MusicBrainzArtistGenre.name)
        .where((MusicBrainzArtistGenre.artist == artist_id) & (MusicBrainzArtistGenre.rank <= 5))
        .where(MusicBrainzArtistGenre.votes >= 2)
    )
    return [("musicbrainz", name) for (name,) in ranked.tuples()]


def brute_genres(user_id: int, period) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for track_id in _plays(user_id, period):
        for lead in _leads(track_id):  # each lead's genres count (the artist summaries')
            for genre in _shown_genres(lead):
                counts[genre] = counts.get(genre, 0) + 1
    return counts


# --- the world ---------------------------------------------------------------------------------


def _facts_rows() -> list[tuple]:
    return sorted(TrackFacts.select().tuples(), key=lambda row: tuple(str(v) for v in row))


def build(rng: random.Random):
    artists = [make_artist() for _ in range(6)]
    albums = [make_album() for _ in range(4)]
    tracks = [
        make_track(
            artists=rng.sample(artists, rng.choice([1, 2])),
            album=rng.choice([*albums, None]),
            duration_ms=rng.choice([None, 59_000, 125_000, 200_000, 250_000, 301_000, 480_000]),
            explicit=rng.choice([None, True, False]),
        )
        for _ in range(24)
    ]
    tracks.append(make_track(name="stub", duration_ms=None, explicit=None))  # an import's stub
    users = [make_user(timezone="UTC"), make_user(timezone="Asia/Kolkata")]
    span = int((NOW - FIRST).total_seconds())
    for user in users:
        plays = [
            {
                "track_id": rng.choice(tracks).id,
                "played_at": FIRST + dt.timedelta(seconds=rng.randrange(span)),
                "ms_played": 100_000,
            }
            for _ in range(300)
        ]
        store_plays(user.id, plays, "api")
    record(
        "artist",
        [
            Verdict(
                a.id,
                "matched",
                f"00000000-0000-4000-8000-{n:012d}",
                facts={"country": rng.choice(["GB", "US", None]), "artist_type": "Person"},
            )
            for n, a in enumerate(artists[:4])
        ],
        NOW,
    )
    record(
        "track",
        [
            Verdict(t.id, "matched", f"10000000-0000-4000-8000-{n:012d}", facts={"release_year": y})
            for n, (t, y) in enumerate(zip(tracks[:12], [1969, None, 1984, 2001] * 3, strict=True))
        ],
        NOW,
    )
    record(
        "album",
        [Verdict(albums[0].id, "matched", "20000000-0000-4000-8000-000000000000",
                 facts={"release_year": 1999})],
        NOW,
    )  # fmt: skip
    store_artist_genres({artists[0].id: [("rock", 5), ("pop", 1)], artists[1].id: [("jazz", 3)]})
    return users, tracks, artists, albums


def periods(tz: str) -> list:
    now = NOW + dt.timedelta(hours=5)
    return [
        *(parse_period(key, tz=tz, now=now) for key in ("4w", "12m", "all")),
        parse_period(from_="2025-03-17", to="2025-11-02", tz=tz, now=now),
    ]


def check_everything(users) -> int:
    """Every statistic reading open data equals the brute force, from summaries and raw."""
    compared = 0
    for user in users:
        for period in periods(user.timezone):
            want_profile = brute_open_profile(user.id, period)
            want_genres = brute_genres(user.id, period)
            for raw in (False, True):
                with stats.from_raw_plays() if raw else nullcontext():
                    profile = stats.taste_profile(user.id, period, genres=100)
                    genres = stats.top_genres(user.id, period, limit=100)
                assert profile["open_data"] == want_profile, (user.timezone, period, raw)
                got = {(g["source"], g["genre"]): g["plays"] for g in genres}
                assert got == want_genres, (user.timezone, period, raw)
                assert {(g["source"], g["genre"]): g["plays"] for g in profile["genres"]} == got
            for (source, genre), plays in want_genres.items():
                assert stats.genre_detail(user.id, period, source, genre)["plays"] == plays
            compared += 1
    kept = _facts_rows()
    track_facts.rebuild()
    assert kept == _facts_rows()  # what the writes kept equals a rebuild
    kept_genres = sorted(ShownGenre.select().tuples())
    shown_genres.rebuild()
    assert kept_genres == sorted(ShownGenre.select().tuples())
    return compared


def test_the_open_data_profile_equals_a_count_of_the_raw_plays_through_changes(db):
    rng = random.Random(20261202)
    users, tracks, artists, albums = build(rng)
    assert check_everything(users) == 8
    profile = stats.taste_profile(users[0].id, periods("UTC")[2])["open_data"]
    assert profile["decades"] and profile["countries"] and profile["lengths"]

    # a track newly matched, with a release year older than its album's
    record("track", [Verdict(tracks[15].id, "matched", "10000000-0000-4000-8000-0000000000ff",
                             facts={"release_year": 1958})], NOW)  # fmt: skip
    # an artist's country and type corrected, another matched for the first time
    record("artist", [
        Verdict(artists[0].id, "matched", "00000000-0000-4000-8000-000000000000",
                facts={"country": "SE", "artist_type": "Group"}),
        Verdict(artists[5].id, "matched", "00000000-0000-4000-8000-000000000005",
                facts={"country": "JP", "artist_type": "Orchestra"}),
    ], NOW)  # fmt: skip
    # a match that no longer holds: its facts are cleared
    record("album", [Verdict(albums[0].id, "unmatched")], NOW)
    record("album", [Verdict(albums[1].id, "matched", "20000000-0000-4000-8000-000000000001",
                             facts={"release_year": 1972})], NOW)  # fmt: skip
    # the ETL completes a stub and Spotify relinks a track to another lead artist and album
    # (the catalogue's writes)
    stub = tracks[-1]
    upsert_tracks(
        [
            {**track_object(stub, [artists[5]], albums[1]), "duration_ms": 181_000},
            track_object(tracks[2], [artists[5], artists[1]], albums[1]),
        ]
    )
    # an artist's genres replaced
    store_artist_genres({artists[0].id: [("metal", 9)], artists[5].id: [("enka", 4)]})
    assert check_everything(users) == 8
    completed = TrackFacts.get_by_id(stub.id)
    assert (completed.country, completed.artist_type, completed.decade) == ("JP", "Orchestra", 1970)
    assert (completed.minutes, completed.duration_ms) == (3, 181_000)


@pytest.mark.parametrize("raw", [False, True])
def test_a_profile_without_facts_counts_the_plays_as_unknown(db, raw):
    """A stub from an import has no facts row: its plays count in the total, in no share."""
    user = make_user()
    known = make_track(duration_ms=200_000, explicit=True)
    stub = make_track(name="stub", duration_ms=None, explicit=None)
    TrackFacts.delete().where(TrackFacts.track == stub.id).execute()
    store_plays(
        user.id,
        [{"track_id": t.id, "played_at": FIRST + dt.timedelta(hours=n), "ms_played": 1000}
         for n, t in enumerate([known, stub, stub])],
        "api",
    )  # fmt: skip
    with stats.from_raw_plays() if raw else nullcontext():
        profile = stats.taste_profile(user.id, parse_period("all", now=NOW))["open_data"]
    assert profile["plays"] == 3 and profile["lengths"] == [
        {"length": "3–4 min", "plays": 1, "share": 1.0}
    ]
    assert profile["explicit_share"] == 1.0 and profile["decades_coverage"] == 0.0
