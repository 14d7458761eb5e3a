"""A listener whose history an extended export covered in part: API plays (nothing said),
export-covered plays and short streams with every how-you-listen field, podcast episodes and
audiobook chapters; and a second listener with the same kinds of rows, whom nothing may show.
Random but seeded, so each test that builds it gets the same rows."""

from __future__ import annotations

import datetime as dt
import random

from models.schema.tables import (
    DEVICE_FAMILIES,
    Audiobook,
    Chapter,
    ChapterPlay,
    Episode,
    EpisodePlay,
    Show,
)
from tests.factories import make_artist, make_play, make_short_stream, make_track, make_user

NOW = dt.datetime(2026, 11, 20, 12, 0)
REASONS = ("trackdone", "fwdbtn", "endplay", "clickrow", None)
COUNTRIES = ("SE", "DE", "ZZ", None)


def how(rng: random.Random) -> dict:
    """The how-you-listen fields of one extended entry (flags sometimes not said)."""
    return {
        "skipped": rng.choice([True, False, None]),
        "shuffle": rng.choice([True, False, False, None]),
        "offline": rng.choice([True, False, False, False, None]),
        "reason_start": "clickrow",
        "reason_end": rng.choice(REASONS),
        "platform": "some platform",
        "device": rng.choice(DEVICE_FAMILIES),
        "conn_country": rng.choice(COUNTRIES),
    }


def build(rng: random.Random, user=None):
    """A listener (``user``, or a new one) with API plays (nothing said), export-covered plays
    and short streams, episode and chapter streams; and another listener with the same kinds
    of rows."""
    user, other = user or make_user(), make_user()
    artists = [make_artist() for _ in range(5)]
    tracks = [make_track(artists=rng.sample(artists, rng.choice([1, 2]))) for _ in range(12)]
    shows = [Show.create(id=f"show{n}", name=f"Show {n}") for n in range(3)]
    episodes = [
        Episode.create(id=f"ep{n}", name=f"Episode {n}", show=shows[n % 3]) for n in range(8)
    ]
    books = [Audiobook.create(id=f"book{n}", name=f"Book {n}") for n in range(2)]
    chapters = [
        Chapter.create(id=f"ch{n}", name=f"Chapter {n}", audiobook=books[n % 2]) for n in range(5)
    ]
    for listener in (user, other):
        taken: set = set()

        def moment(taken=taken):
            while True:  # export-covered from 300 days ago, API plays throughout
                at = NOW - dt.timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
                if at not in taken:
                    taken.add(at)
                    return at

        for _ in range(90):
            at = moment()
            covered = at > NOW - dt.timedelta(days=300) and rng.random() < 0.8
            fields = how(rng) if covered else {}
            make_play(
                listener,
                rng.choice(tracks),
                at,
                ms_played=rng.randint(30_000, 300_000),
                source="import" if covered else "api",
                **fields,
            )
        for _ in range(45):
            at = moment()
            fields = how(rng) if at > NOW - dt.timedelta(days=300) else {}
            make_short_stream(
                listener, rng.choice(tracks), at, ms_played=rng.randint(0, 29_999), **fields
            )
        for _ in range(30):
            EpisodePlay.create(
                user=listener,
                episode=rng.choice(episodes),
                played_at=moment(),
                ms_played=rng.randint(1_000, 3_600_000),
                reason_end=rng.choice(REASONS),
            )
        for _ in range(15):
            ChapterPlay.create(
                user=listener,
                chapter=rng.choice(chapters),
                played_at=moment(),
                ms_played=rng.randint(1_000, 1_800_000),
                reason_end=rng.choice(REASONS),
            )
    return user, tracks
