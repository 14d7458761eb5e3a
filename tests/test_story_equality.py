"""The listening story equals what the raw plays say: streaks, the calendar, discoveries,
rediscoveries, sessions and the year in review, for random users, periods and time zones.

Users in a half-hour zone, a DST zone and a half-hour zone with DST get plays from months of
ETL batches first, then an old history imported later (first plays move back), stub tracks
that learn their artists afterwards, a time-zone change, and more plays.  Each figure read from
the summaries must equal the same figure with ``stats.from_raw_plays()`` and, where the rule is
simple, a rebuild in Python from the raw plays.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from models import stats
from models.accounts.users import set_timezone
from models.ingest.catalogue import upsert_tracks
from models.ingest.plays import store_plays
from models.periods import Period, local_date, local_midnight_utc, parse_period
from models.schema.tables import ListeningSession
from tests.factories import make_album, make_artist, make_track, make_user, track_object
from tests.story_world import (
    all_play_instants,
    artist_year_sums,
    first_plays_from_raw_plays,
    last_artist_plays,
    local_days_from_raw_plays,
    longest_run_from_days,
    sessions_from_raw_plays,
)

ZONES = ("Asia/Kolkata", "Europe/Paris", "America/St_Johns")
NOW = dt.datetime(2026, 6, 30, 20, 0)


def _plays_on_days(rng, tracks, first: dt.date, last: dt.date, chance: float) -> list[dict]:
    plays = []
    day = first
    while day <= last:
        if rng.random() < chance:
            at = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=rng.randrange(1440))
            for _ in range(rng.randint(1, 4)):
                ms = rng.randint(30_000, 300_000)
                plays.append({"track_id": rng.choice(tracks).id, "played_at": at, "ms_played": ms})
                at += dt.timedelta(milliseconds=ms + rng.choice([0, 60_000, 1_500_000]))
        day += dt.timedelta(days=1)
    return plays


def build_world(rng: random.Random):
    artists = [make_artist() for _ in range(30)]
    albums = [make_album() for _ in range(5)]
    # the first 15 tracks are by artists nobody plays after 2025: candidates to rediscover
    tracks = [
        make_track(
            artists=rng.sample(artists[:8] if n < 15 else artists[8:], rng.choice([1, 1, 2])),
            album=rng.choice(albums),
        )
        for n in range(60)
    ]
    stubs = [make_track(name=f"stub {i}") for i in range(5)]
    users = []
    for zone in ZONES:
        user = make_user(timezone=zone)
        recent = _plays_on_days(rng, tracks[15:] + stubs, dt.date(2026, 1, 1), NOW.date(), 0.7)
        for start in range(0, len(recent), 60):  # the ETL, hour after hour
            store_plays(user.id, recent[start : start + 60], "api")
        old = _plays_on_days(
            rng, tracks[:40] + stubs, dt.date(2024, 1, 1), dt.date(2025, 12, 31), 0.3
        )
        store_plays(user.id, old, "import")  # old history imported after months of ETL
        users.append(user)
    upsert_tracks([track_object(stub, [rng.choice(artists)], albums[0]) for stub in stubs[:3]])
    set_timezone(users[0], "America/St_Johns")
    for user in users:
        more = _plays_on_days(rng, tracks[15:], dt.date(2026, 6, 25), NOW.date(), 1.0)
        store_plays(
            user.id,
            [{**p, "played_at": p["played_at"] + dt.timedelta(seconds=47)} for p in more],
            "api",
        )
    return users


def both(function, *args, **kwargs):
    answer = function(*args, **kwargs)
    with stats.from_raw_plays():
        assert function(*args, **kwargs) == answer
    return answer


@pytest.mark.parametrize("seed", [17])
def test_the_listening_story_equals_the_raw_plays(db, seed):
    rng = random.Random(seed)
    users = build_world(rng)
    for user in users:
        user = user.__class__.get_by_id(user.id)
        tz = user.timezone
        days = local_days_from_raw_plays(user.id, tz)
        today = local_date(NOW, tz)

        # streaks and the calendar
        found = both(stats.streaks, user.id, tz, now=NOW)
        active = sorted(day for day in days if day <= today)
        assert found["longest"] == longest_run_from_days(active)
        run = 0
        cursor = today if today in days else today - dt.timedelta(days=1)
        while cursor in days:
            run += 1
            cursor -= dt.timedelta(days=1)
        assert found["current"]["days"] == run
        assert found["longest"]["days"] >= run > 0
        for year in (2024, 2025, 2026):
            calendar = both(stats.calendar, user.id, year, tz)
            expected = {d: c for d, c in days.items() if d.year == year}
            assert {
                d["day"]: [d["plays"], d["ms_played"]] for d in calendar["days"] if d["plays"]
            } == expected
            assert len(calendar["days"]) == (366 if year == 2024 else 365)

        # discoveries
        first_tracks, first_artists = first_plays_from_raw_plays(user.id)
        per_month = both(stats.discoveries_per_month, user.id, tz)
        counted: dict = {}
        for kind, firsts in (("tracks", first_tracks), ("artists", first_artists)):
            for at in firsts.values():
                month = local_date(at, tz).replace(day=1).isoformat()
                counted.setdefault(month, {"tracks": 0, "artists": 0})[kind] += 1
        assert {
            row["bucket"]: {"tracks": row["tracks"], "artists": row["artists"]}
            for row in per_month
            if row["tracks"] or row["artists"]
        } == counted
        for _ in range(4):
            first = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(900))
            period = Period.of_days(first, first + dt.timedelta(days=rng.randrange(1, 200)), tz)
            new = both(stats.discovered, user.id, period)
            assert new["tracks"] == sum(period.contains(at) for at in first_tracks.values())
            assert new["artists"] == sum(period.contains(at) for at in first_artists.values())
        for key in ("7d", "12m", "all"):  # ending after the last play: read from first plays
            period = parse_period(key, tz=tz, now=NOW)
            new = both(stats.discovered, user.id, period)
            assert new["tracks"] == sum(period.contains(at) for at in first_tracks.values())
            assert new["artists"] == sum(period.contains(at) for at in first_artists.values())
        cutoff = local_midnight_utc(dt.date(2025, 12, 30), tz)
        expected = set()
        for year in (2024, 2025):
            ranked = sorted(
                artist_year_sums(user.id, tz, year).items(),
                key=lambda i: (-i[1][0], -i[1][1], i[0]),
            )
            expected |= {
                artist for artist, _ in ranked[:20] if last_artist_plays(user.id)[artist] < cutoff
            }
        again = both(stats.rediscover, user.id, tz, now=NOW)
        assert {row["artist_id"] for row in again} == expected and expected

        # sessions
        stored = sessions_from_raw_plays(user.id)
        assert ListeningSession.select().where(ListeningSession.user == user.id).count() == len(
            stored
        )
        year = Period.of_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31), tz)
        in_year = sorted(s[2] for s in stored if year.contains(s[0]))
        summary = stats.session_stats(user.id, year)
        assert summary["count"] == len(in_year)
        n = len(in_year)
        assert summary["median_ms"] == (in_year[(n - 1) // 2] + in_year[n // 2]) // 2
        assert summary["longest"][0]["length_ms"] == in_year[-1]
        assert sum(week["sessions"] for week in summary["per_week"]) == n
        longest = sorted((s for s in stored if year.contains(s[0])), key=lambda s: (-s[2], s[0]))
        for shown, (first, last, length, plays, ms) in zip(
            summary["longest"], longest[:5], strict=True
        ):
            assert (shown["started_at"], shown["length_ms"], shown["plays"]) == (
                first,
                length,
                plays,
            )
            assert [t["played_at"] for t in shown["tracks"]] == sorted(
                at for at in all_play_instants(user.id) if first <= at <= last
            )
            assert sum(t["ms_played"] for t in shown["tracks"]) == ms

        # the year in review, this year so far and a custom period
        for period in (
            stats.year_period(2025, tz, now=NOW),
            stats.year_period(2026, tz, now=NOW),
            Period.of_days(dt.date(2025, 11, 3), dt.date(2026, 2, 14), tz),
        ):
            review = both(stats.year_in_review, user.id, period)
            in_period = {d: c for d, c in days.items() if period.first_day <= d <= period.last_day}
            assert review["totals"]["plays"] == sum(c[0] for c in in_period.values())
            assert review["active_days"] == len(in_period)
            assert review["longest_streak"] == longest_run_from_days(in_period)
            assert (
                review["previous"]["period"]["from"]
                == period.first_day.replace(year=period.first_day.year - 1).isoformat()
            )
            top_day = max(in_period.items(), key=lambda item: (item[1][1], item[1][0], item[0]))
            assert review["top_day"]["key"] == top_day[0].isoformat()
            # the figures it reads from one sum per track, artist and album are the families'
            before = stats.year_before(period)
            assert review["totals"] == stats.totals(user.id, period)
            assert review["previous"]["totals"] == stats.totals(user.id, before)
            for kind in ("tracks", "artists", "albums", "genres"):
                top = getattr(stats, f"top_{kind}")(user.id, period, limit=5)
                assert review[f"top_{kind}"] == top, kind
            assert review["discoveries"] == stats.discovered(user.id, period)
            assert review["previous"]["discoveries"] == stats.discovered(user.id, before, limit=0)
