"""Statistics only an export tells (models.stats.listening_context, models.stats.podcasts):
every figure equals what the raw rows say, computed here independently in Python, for the
standard periods and hand-made ones, in several time zones, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from models import stats
from models.periods import local_date, parse_period
from models.schema.tables import (
    Audiobook,
    Chapter,
    ChapterPlay,
    Episode,
    EpisodePlay,
    Play,
    ShortStream,
    Show,
    TrackArtist,
)
from tests.export_world import NOW, build

ZONES = ("UTC", "Asia/Kolkata", "America/St_Johns")
RANGES = ("7d", "4w", "6m", "12m", "all")


def within(rows, period):
    return [
        r
        for r in rows
        if (period.start is None or r.played_at >= period.start) and r.played_at < period.end
    ]


def covered_streams(user, period) -> list[tuple]:
    """(short, row) of every export-covered stream of the period, read row by row."""
    plays = Play.select().where((Play.user == user.id) & Play.device.is_null(False))
    shorts = ShortStream.select().where(
        (ShortStream.user == user.id) & ShortStream.device.is_null(False)
    )
    return [(0, r) for r in within(plays, period)] + [(1, r) for r in within(shorts, period)]


def share(part, whole):
    return None if not whole else round(part / whole, 4)


def expected_how(user, period) -> dict:
    streams = covered_streams(user, period)
    n = len(streams)
    short = sum(s for s, _ in streams)

    def flag(name):
        told = [getattr(r, name) for _, r in streams if getattr(r, name) is not None]
        true = sum(1 for value in told if value)
        return {"true": true, "told": len(told), "share": share(true, len(told))}

    def ranked(key, attr, default=None):
        count, ms = Counter(), Counter()
        for _, r in streams:
            value = getattr(r, attr) or default
            count[value] += 1
            ms[value] += r.ms_played
        return [
            {key: k, "streams": c, "ms_played": ms[k], "share": share(c, n)}
            for k, c in sorted(count.items(), key=lambda i: (-i[1], str(i[0])))
        ]

    reasons = Counter(r.reason_end or "unknown" for _, r in streams)
    days = [local_date(r.played_at, period.tz) for _, r in streams]
    return {
        "coverage": None
        if not streams
        else {
            "first_day": min(days),
            "last_day": max(days),
            "streams": n,
            "plays": n - short,
            "short_streams": short,
        },
        "streams": n,
        "short_streams": short,
        "skip_rate": share(short, n),
        "skipped_flag": flag("skipped"),
        "shuffle": flag("shuffle"),
        "offline": flag("offline"),
        "reasons_end": [
            {"reason": k, "streams": c, "share": share(c, n)}
            for k, c in sorted(reasons.items(), key=lambda i: (-i[1], i[0]))
        ],
        "devices": ranked("device", "device"),
        "countries": ranked("country", "conn_country", "ZZ"),
    }


def expected_skipped(user, period, key):
    credits = defaultdict(list)
    for link in TrackArtist.select():
        credits[link.track_id].append(link.artist_id)
    per: dict = defaultdict(lambda: [0, 0])
    for short, r in covered_streams(user, period):
        for owner in [r.track_id] if key == "track_id" else credits[r.track_id]:
            per[owner][0] += short
            per[owner][1] += 1
    rows = [(k, s, c) for k, (s, c) in per.items() if s > 0]
    rows.sort(key=lambda i: (-i[1], -i[2], i[0]))
    return [(k, s, c, share(s, c)) for k, s, c in rows]


def periods():
    """Every standard range in UTC; in the other zones the ones whose edges move with it."""
    for tz in ZONES:
        for key in RANGES if tz == "UTC" else ("7d", "12m"):
            yield parse_period(key, tz=tz, now=NOW)
        yield parse_period(None, "2026-03-01", "2026-03-31", tz=tz, now=NOW)
    yield parse_period(None, "2020-01-01", "2020-12-31", now=NOW)  # before any export


def test_how_you_listen_equals_the_raw_streams(db):
    user, _ = build(random.Random(16))
    for period in periods():
        assert stats.how_you_listen(user.id, period) == expected_how(user, period), period
        for key, statistic in (
            ("track_id", stats.most_skipped_tracks),
            ("artist_id", stats.most_skipped_artists),
        ):
            got = statistic(user.id, period, limit=200)
            assert [
                (r[key], r["short_streams"], r["streams"], r["skip_rate"]) for r in got
            ] == expected_skipped(user, period, key), (period, key)
    empty = stats.how_you_listen(user.id, parse_period(None, "2020-01-01", "2020-12-31"))
    assert empty["coverage"] is None and empty["skip_rate"] is None and empty["devices"] == []


def test_most_skipped_lists_page_and_name_their_tracks(db):
    user, tracks = build(random.Random(7))
    period = parse_period("all", now=NOW)
    whole = stats.most_skipped_tracks(user.id, period, limit=200)
    assert stats.most_skipped_tracks(user.id, period, limit=3, offset=2) == whole[2:5]
    by_id = {t.id: t for t in tracks}
    assert all(row["name"] == by_id[row["track_id"]].name and row["artists"] for row in whole)
    artists = stats.most_skipped_artists(user.id, period, limit=200)
    assert artists and all(row["name"] for row in artists)


def expected_podcasts(user, period):
    episodes = within(
        EpisodePlay.select(EpisodePlay, Episode, Show)
        .join(Episode)
        .join(Show)
        .where(EpisodePlay.user == user.id),
        period,
    )
    chapters = within(
        ChapterPlay.select(ChapterPlay, Chapter, Audiobook)
        .join(Chapter)
        .join(Audiobook)
        .where(ChapterPlay.user == user.id),
        period,
    )
    days = [local_date(r.played_at, period.tz) for r in (*episodes, *chapters)]

    def totals(rows, item, parent, items_key):
        return {
            "streams": len(rows),
            "ms_played": sum(r.ms_played for r in rows),
            parent[0]: len({parent[1](r) for r in rows}),
            items_key: len({item(r) for r in rows}),
            "finished": len({item(r) for r in rows if r.reason_end == "trackdone"}),
        }

    def top(rows, item, parent, name, key, items_key):
        grouped = defaultdict(list)
        for r in rows:
            grouped[parent(r)].append(r)
        found = [
            {
                key: pid,
                "name": name(group[0]),
                "streams": len(group),
                "ms_played": sum(r.ms_played for r in group),
                items_key: len({item(r) for r in group}),
                f"{items_key}_finished": len(
                    {item(r) for r in group if r.reason_end == "trackdone"}
                ),
            }
            for pid, group in grouped.items()
        ]
        return sorted(found, key=lambda r: (-r["ms_played"], r["name"], r[key]))

    finished = defaultdict(list)
    for r in episodes:
        if r.reason_end == "trackdone":
            finished[r.episode_id].append(r)
    finished_rows = sorted(
        (
            {
                "episode_id": eid,
                "name": rows[0].episode.name,
                "show_id": rows[0].episode.show_id,
                "show_name": rows[0].episode.show.name,
                "times": len(rows),
                "last_finished_at": max(r.played_at for r in rows),
            }
            for eid, rows in finished.items()
        ),
        key=lambda r: (-r["last_finished_at"].timestamp(), r["episode_id"]),
    )
    return (
        {
            "coverage": None if not days else {"first_day": min(days), "last_day": max(days)},
            "episodes": totals(
                episodes, lambda r: r.episode_id, ("shows", lambda r: r.episode.show_id), "episodes"
            ),
            "audiobooks": totals(
                chapters,
                lambda r: r.chapter_id,
                ("books", lambda r: r.chapter.audiobook_id),
                "chapters",
            ),
        },
        top(
            episodes,
            lambda r: r.episode_id,
            lambda r: r.episode.show_id,
            lambda r: r.episode.show.name,
            "show_id",
            "episodes",
        ),
        top(
            chapters,
            lambda r: r.chapter_id,
            lambda r: r.chapter.audiobook_id,
            lambda r: r.chapter.audiobook.name,
            "audiobook_id",
            "chapters",
        ),
        finished_rows,
    )


def test_podcasts_and_audiobooks_equal_the_raw_streams(db):
    user, _ = build(random.Random(61))
    for period in periods():
        totals, shows, books, finished = expected_podcasts(user, period)
        assert stats.podcast_totals(user.id, period) == totals, period
        assert stats.top_shows(user.id, period, limit=200) == shows, period
        assert stats.top_audiobooks(user.id, period, limit=200) == books, period
        got = stats.finished_episodes(user.id, period, limit=200)
        for row in got:
            row["last_finished_at"] = row["last_finished_at"].replace(tzinfo=None)
        assert got == finished, period


def test_podcasts_stay_out_of_music_statistics(db):
    user, _ = build(random.Random(5))
    period = parse_period("all", now=NOW)
    music = stats.totals(user.id, period)
    plays = Play.select().where(Play.user == user.id)
    assert music["plays"] == plays.count()
    assert music["ms_played"] == sum(p.ms_played for p in plays)
