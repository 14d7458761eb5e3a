"""The export's summaries of skips and how you listen (``models.summaries.listening_context``)
never drift: after every write path their rows equal a rebuild from the raw streams, and every
statistic read from them equals the one read from the raw streams, in awkward zones, on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random

from models import stats
from models.accounts.users import delete_user, set_timezone
from models.ingest.plays import store_plays
from models.ingest.streams import store_short_streams
from models.jobs import exclusions
from models.jobs import listening_context as context_jobs
from models.periods import Period, parse_period
from models.schema.db import db
from models.schema.tables import (
    CONTEXT_SUMMARY_TABLES,
    DEVICE_FAMILIES,
    ContextBacklog,
    ContextMonth,
    ListeningSummary,
    SkipTotal,
    User,
)
from models.summaries import listening
from tests.factories import make_artist, make_track, make_user
from tests.workertools import run_worker_until_idle

NOW = dt.datetime(2026, 11, 20, 12, 0)
REASONS = ("trackdone", "fwdbtn", "endplay", "", None)
COUNTRIES = ("SE", "DE", "", None)


def how(rng: random.Random) -> dict:
    """What one extended entry tells; sometimes no device (then the stream is not covered)."""
    return {
        "skipped": rng.choice([True, False, None]),
        "shuffle": rng.choice([True, False, None]),
        "offline": rng.choice([True, False, False, None]),
        "reason_start": "clickrow",
        "reason_end": rng.choice(REASONS),
        "platform": "some platform",
        "device": rng.choice([*DEVICE_FAMILIES, None]),
        "conn_country": rng.choice(COUNTRIES),
    }


def context_rows(user_id: int) -> dict:
    return {
        model.__name__: sorted(model.select().where(model.user == user_id).tuples())
        for model in CONTEXT_SUMMARY_TABLES
    }


def rebuilt_rows(user_id: int) -> dict:
    """The rows a rebuild from the raw streams gives, in the summaries' zone (rolled back)."""
    with db.atomic() as transaction:
        listening.rebuild(user_id, listening.summary_timezone(user_id))
        rows = context_rows(user_id)
        transaction.rollback()
    return rows


def answers(user_id: int, period) -> dict:
    return {
        "how": stats.how_you_listen(user_id, period),
        "tracks": stats.most_skipped_tracks(user_id, period, limit=500),
        "artists": stats.most_skipped_artists(user_id, period, limit=500),
        "page": stats.most_skipped_tracks(user_id, period, limit=3, offset=2),
    }


def periods(tz: str) -> list:
    found = [parse_period(key, tz=tz, now=NOW) for key in ("7d", "4w", "6m", "12m", "all")]
    found += [
        parse_period(None, "2026-03-01", "2026-03-31", tz=tz, now=NOW),  # one whole month
        parse_period(None, "2025-12-17", "2026-02-03", tz=tz, now=NOW),  # edges and a month
        parse_period(None, "2026-10-31", "2026-11-01", tz=tz, now=NOW),  # across a month's end
    ]
    first, last = NOW - dt.timedelta(days=300, hours=5), NOW - dt.timedelta(days=20)
    found.append(Period(first, last, tz))  # not whole days: read raw
    return found


def assert_summaries_exact(user_id: int) -> None:
    """Rows equal a rebuild's; every statistic equals the raw streams' one."""
    assert context_rows(user_id) == rebuilt_rows(user_id)
    tz = listening.summary_timezone(user_id)
    for period in periods(tz):
        summarised = answers(user_id, period)
        with stats.from_raw_plays():
            assert summarised == answers(user_id, period), period


def moments(rng: random.Random, n: int) -> list[dt.datetime]:
    """``n`` distinct instants over the 400 days before NOW, to the second."""
    seconds = rng.sample(range(400 * 24 * 3600), n)
    return [NOW - dt.timedelta(seconds=s) for s in seconds]


def test_every_write_path_keeps_the_export_summaries_exact(db):
    rng = random.Random(92)
    user = make_user(timezone="America/St_Johns")
    other = make_user(timezone="UTC")  # rows of someone else, never counted
    artists = [make_artist() for _ in range(5)]
    tracks = [make_track(artists=rng.sample(artists, rng.choice([1, 2]))) for _ in range(15)]
    when = moments(rng, 400)

    def play(at, covered=True):
        entry = {"track_id": rng.choice(tracks).id, "played_at": at, "ms_played": 120_000}
        if covered:
            entry["how"] = how(rng)
        return entry

    # an import: plays an export described, some API plays (nothing said) in between
    first = [play(at, covered=rng.random() < 0.8) for at in when[:150]]
    store_plays(user.id, first, "import")
    store_plays(other.id, [play(at) for at in when[:40]], "import")
    assert ContextMonth.select().where(ContextMonth.user == user.id).exists()
    assert_summaries_exact(user.id)

    # short streams (skips): with and without a device
    short = [
        {"key": rng.choice(tracks).id, "played_at": at, "ms_played": 5_000, "how": how(rng)}
        for at in when[150:260]
    ]
    short += [{"key": tracks[0].id, "played_at": when[260], "ms_played": 1_000, "how": None}]
    assert store_short_streams(user.id, short) == len(short)
    store_short_streams(other.id, short[:30])
    assert_summaries_exact(user.id)

    # the ETL: API plays, nothing said; then a re-import fills what they lacked
    api = [play(at, covered=False) for at in when[260:330]]
    store_plays(user.id, api, "api")
    again = [{**entry, "how": how(rng) | {"device": "car"}} for entry in api[:40]]
    again += [{**entry, "how": {"conn_country": "NO"}} for entry in first[:30]]  # fills a field
    result = store_plays(user.id, again, "import")
    assert result.added == 0 and result.filled > 0
    assert_summaries_exact(user.id)
    assert store_plays(user.id, again, "import").filled == 0  # nothing left to fill

    # more of the export, in the middle of months already summarised
    store_plays(user.id, [play(at) for at in when[330:400]], "import")
    assert_summaries_exact(user.id)
    everything = stats.how_you_listen(user.id, parse_period("all", tz=user.timezone, now=NOW))
    totals = [
        (row.streams, row.short_streams)
        for row in SkipTotal.select().where(SkipTotal.user == user.id)
    ]
    assert everything["streams"] == sum(n for n, _ in totals) > 0
    assert everything["short_streams"] == sum(s for _, s in totals) > 0

    # a new time zone: rebuilt with the rest
    set_timezone(User.get_by_id(user.id), "Asia/Kolkata")
    assert listening.summary_timezone(user.id) == "Asia/Kolkata"
    assert_summaries_exact(user.id)

    # exclusions change plays' statistics, not these: the rebuild keeps them exact
    exclusions.exclude(user.id, "artist", artists[0].id)
    listening.rebuild(user.id)
    assert_summaries_exact(user.id)

    # the account goes, and its summaries with it; the other listener's stay
    delete_user(User.get_by_id(user.id))
    assert context_rows(user.id) == {model.__name__: [] for model in CONTEXT_SUMMARY_TABLES}
    assert_summaries_exact(other.id)


def test_a_listener_on_the_backlog_reads_raw_streams_until_the_build(db, make_settings):
    """Streams stored before the summaries were kept (migration 092's backlog): statistics read
    the raw streams, new streams wait for the build, and the queued job builds them exactly."""
    rng = random.Random(93)
    user = make_user(timezone="Europe/Paris")
    tracks = [make_track(artists=[make_artist()]) for _ in range(6)]
    when = moments(rng, 120)

    def entries(times):
        return [
            {
                "track_id": rng.choice(tracks).id,
                "played_at": at,
                "ms_played": 90_000,
                "how": how(rng),
            }
            for at in times
        ]

    store_plays(user.id, entries(when[:60]), "import")
    with db.atomic():  # as migration 092 finds an install: streams, no summaries of them
        for model in CONTEXT_SUMMARY_TABLES:
            model.delete().where(model.user == user.id).execute()
        context_jobs.queue_build(user.id)
    period = parse_period("all", tz="Europe/Paris", now=NOW)
    with stats.from_raw_plays():
        expected = answers(user.id, period)
    assert answers(user.id, period) == expected
    assert expected["how"]["streams"] > 0

    store_plays(user.id, entries(when[60:]), "import")  # left to the build
    assert not ContextMonth.select().where(ContextMonth.user == user.id).exists()
    run_worker_until_idle(make_settings())
    assert not ContextBacklog.select().exists()
    assert ListeningSummary.get_by_id(user.id).timezone == "Europe/Paris"
    assert_summaries_exact(user.id)
