"""Weekly charts: the stored positions equal a ranking of the raw plays, done here in Python.

The reference reads every play, takes its local day in the listener's zone with ``zoneinfo``
(not the SQL the summaries use), its week's Monday, sums plays and time per track, per
credited artist and per album, and ranks by plays, time, name and id.  The world is the one of
the summary equality test (half-hour zones, DST, imports and API plays with duplicates, stub
tracks linked later, a time-zone change, later plays), plus an import of older history last.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest

from models import stats
from models.ingest.plays import store_plays
from models.migrate import pending_model_changes, router
from models.schema.tables import (
    CHART_SIZE,
    Album,
    Artist,
    ChartWeek,
    Job,
    Play,
    Track,
    TrackArtist,
    User,
)
from models.summaries import charts, listening
from tests.factories import make_album, make_artist, make_play, make_track, make_user
from tests.test_migrations import _old_track, _schema, _user_of_an_old_schema, upgrading
from tests.test_stats_equality import FIRST, build_world
from tests.workertools import run_worker_until_idle

SEED = 20261202


def reference_charts(user_id: int) -> list[tuple]:
    """(kind, week, item, position, plays, ms_played) of every chart week, from raw plays."""
    tz = ZoneInfo(User.get_by_id(user_id).timezone)
    album_of = dict(Track.select(Track.id, Track.album).tuples())
    artists_of: dict[str, list[str]] = defaultdict(list)
    for track_id, artist_id in TrackArtist.select(TrackArtist.track, TrackArtist.artist).tuples():
        artists_of[track_id].append(artist_id)
    names = {
        "track": dict(Track.select(Track.id, Track.name).tuples()),
        "artist": dict(Artist.select(Artist.id, Artist.name).tuples()),
        "album": dict(Album.select(Album.id, Album.name).tuples()),
    }
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    plays = Play.select(Play.track, Play.played_at, Play.ms_played).where(Play.user == user_id)
    for track_id, played_at, ms in plays.tuples():
        local = played_at.replace(tzinfo=dt.UTC).astimezone(tz).date()
        week = local - dt.timedelta(days=local.weekday())
        items = [("track", track_id)] + [("artist", a) for a in artists_of[track_id]]
        if album_of.get(track_id):
            items.append(("album", album_of[track_id]))
        for kind, item in items:
            cell = sums[(kind, week, item)]
            cell[0] += 1
            cell[1] += ms
    per_week: dict[tuple, list] = defaultdict(list)
    for (kind, week, item), (n, ms) in sums.items():
        per_week[(kind, week)].append((-n, -ms, names[kind][item], item))
    rows = []
    for (kind, week), ranked in per_week.items():
        for position, (n, ms, _, item) in enumerate(sorted(ranked)[:CHART_SIZE], start=1):
            rows.append((kind, week, item, position, -n, -ms))
    return sorted(rows)


def stored_charts(user_id: int) -> list[tuple]:
    return sorted(
        ChartWeek.select(
            ChartWeek.kind,
            ChartWeek.week,
            ChartWeek.item,
            ChartWeek.position,
            ChartWeek.plays,
            ChartWeek.ms_played,
        )
        .where(ChartWeek.user == user_id)
        .tuples()
    )


def test_stored_charts_equal_a_ranking_of_the_raw_plays(db):
    rng = random.Random(SEED)
    users, tracks, _ = build_world(rng)
    # A busy week (more than 20 items, ties in plays and time: ranked by name), then, after
    # months of ETL, an import of older history: late plays in weeks long charted.
    for user in users:
        busy = [
            {
                "track_id": rng.choice(tracks).id,
                "played_at": dt.datetime(2025, 6, 2) + dt.timedelta(minutes=97 * n),
                "ms_played": rng.choice([60_000, 120_000]),
            }
            for n in range(90)
        ]
        store_plays(user.id, busy, "api")
        old = [
            {
                "track_id": rng.choice(tracks).id,
                "played_at": FIRST - dt.timedelta(days=rng.randrange(1, 400), minutes=n),
                "ms_played": rng.randint(1_000, 300_000),
            }
            for n in range(200)
        ]
        store_plays(user.id, old, "import")
    for user in users:
        expected = reference_charts(user.id)
        assert {kind for kind, *_ in expected} == {"track", "artist", "album"}
        assert max(position for *_, position, _, _ in expected) == CHART_SIZE
        assert stored_charts(user.id) == expected, User.get_by_id(user.id).timezone
        listening.rebuild(user.id)  # the rebuild ranks the same
        assert stored_charts(user.id) == expected


def test_ties_rank_by_time_then_name_and_weeks_start_on_monday_locally(db):
    kolkata = make_user(timezone="Asia/Kolkata")
    b_side, a_side, longer = (
        make_track(name="B side", duration_ms=100_000),
        make_track(name="A side", duration_ms=100_000),
        make_track(name="Zed", duration_ms=200_000),
    )
    sunday_late = dt.datetime(2026, 3, 1, 18, 29)  # Sunday 23:59 in Kolkata: week of Feb 23
    monday = dt.datetime(2026, 3, 1, 18, 30)  # Monday 00:00 in Kolkata: week of Mar 2
    for n, track in enumerate((b_side, a_side, longer)):
        make_play(kolkata, track, monday + dt.timedelta(hours=n + 1))
    make_play(kolkata, b_side, sunday_late)
    week = dt.date(2026, 3, 2)
    chart = [
        (row.item, row.position)
        for row in ChartWeek.select()
        .where((ChartWeek.kind == "track") & (ChartWeek.week == week))
        .order_by(ChartWeek.position)
    ]
    assert chart == [(longer.id, 1), (a_side.id, 2), (b_side.id, 3)]
    before = ChartWeek.get(ChartWeek.week == dt.date(2026, 2, 23), ChartWeek.kind == "track")
    assert (before.item, before.position, before.plays) == (b_side.id, 1, 1)


def test_a_tie_across_the_last_position_is_broken_by_name(db):
    """Items tied in plays and time at the last position: only the first by name charts
    (the ranking cuts by plays and time before it reads names)."""
    user = make_user()
    monday = dt.datetime(2026, 3, 2, 8)
    leaders = [make_track(name=f"Lead {n:02d}", duration_ms=100_000) for n in range(CHART_SIZE - 1)]
    tied = [make_track(name=name, duration_ms=100_000) for name in ("Tie c", "Tie a", "Tie b")]
    for n, track in enumerate(leaders):
        for k in range(2):
            make_play(user, track, monday + dt.timedelta(minutes=10 * n + 5 * k))
    for n, track in enumerate(tied):
        make_play(user, track, monday + dt.timedelta(hours=6, minutes=n))
    shorter = make_track(name="A shorter one", duration_ms=100_000)  # first by name, but behind
    make_play(user, shorter, monday + dt.timedelta(hours=7), ms_played=99_999)
    assert stored_charts(user.id) == reference_charts(user.id)
    last = ChartWeek.get(ChartWeek.kind == "track", ChartWeek.position == CHART_SIZE)
    assert last.item == tied[1].id
    listening.rebuild(user.id)
    assert stored_charts(user.id) == reference_charts(user.id)


def test_a_time_zone_change_ranks_every_week_again(db):
    from models.accounts.users import set_timezone

    user = make_user(timezone="UTC")
    track = make_track()
    make_play(user, track, dt.datetime(2026, 3, 1, 23, 0))  # Sunday in UTC, Monday in Tokyo
    assert [row.week for row in ChartWeek.select()] == [dt.date(2026, 2, 23)] * 1
    set_timezone(User.get_by_id(user.id), "Asia/Tokyo")
    assert sorted({row.week for row in ChartWeek.select()}) == [dt.date(2026, 3, 2)]
    assert stored_charts(user.id) == reference_charts(user.id)


def test_a_track_linked_later_moves_the_artist_and_album_charts(db):
    from models.ingest.catalogue import upsert_tracks
    from tests.factories import track_object

    user = make_user()
    stub = make_track(name="known from an import")
    make_play(user, stub, dt.datetime(2026, 3, 4, 12))
    assert {row.kind for row in ChartWeek.select()} == {"track"}
    artist, album = make_artist(name="Linked"), make_album(name="Linked LP")
    upsert_tracks([track_object(stub, [artist], album)])
    assert {(row.kind, row.item) for row in ChartWeek.select()} == {
        ("track", stub.id),
        ("artist", artist.id),
        ("album", album.id),
    }
    assert stored_charts(user.id) == reference_charts(user.id)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_085_queues_the_charts_of_listeners_with_plays(engine, tmp_path, make_settings):
    """An install upgraded from 060 has the schema of a fresh build and one ``charts`` job per
    listener with plays; the worker's build makes the charts keeping them would have made."""
    (tmp_path / "fresh").mkdir()
    with upgrading(engine, tmp_path / "fresh", None) as fresh:  # every migration
        fresh_schema = _schema(fresh)

    with upgrading(engine, tmp_path, "060_login_security") as database:
        listener, silent = (  # ``user`` and ``track`` as they were at 060
            _user_of_an_old_schema(database, name, at_060=True) for name in ("listener", "silent")
        )
        tracks = [_old_track(database, n) for n in range(3)]
        plays = [
            {
                "track_id": tracks[n % 3],
                "played_at": dt.datetime(2026, 1, 1) + dt.timedelta(hours=17 * n),
                "ms_played": 1000 * (n + 1),
            }
            for n in range(40)
        ]
        # The summary rows an install at 060 has (its charts do not exist yet).
        for user, count in ((listener, len(plays)), (silent, 0)):
            database.execute_sql(
                "INSERT INTO listening_summary (user_id, timezone, plays, ms_played) "
                f"VALUES ({database.param}, 'UTC', {database.param}, 0)",
                (user.id, count),
            )
        for play in plays:
            database.execute_sql(
                "INSERT INTO play (user_id, track_id, played_at, ms_played, source) "
                "VALUES (%s, %s, %s, %s, 'import')".replace("%s", database.param),
                (listener.id, play["track_id"], play["played_at"], play["ms_played"]),
            )
        router().run()
        assert pending_model_changes() == ""
        assert _schema(database) == fresh_schema
        jobs = [(job.kind, job.target, job.state) for job in Job.select()]
        assert [job for job in jobs if job[0] == "charts"] == [
            ("charts", str(listener.id), "queued")
        ]
        listening.rebuild(listener.id)  # the day summaries of 060 (its charts: the job's)
        ChartWeek.delete().execute()
        assert stats.charts_building(listener.id) and not stats.charts_building(silent.id)
        assert run_worker_until_idle(make_settings()) == len(jobs)  # charts, and 080's sessions
        assert not stats.charts_building(listener.id)
        assert stored_charts(listener.id) == reference_charts(listener.id)
        assert stored_charts(listener.id)
        charts.rebuild(listener.id)
        assert stored_charts(listener.id) == reference_charts(listener.id)


def test_a_weeks_chart_history_and_movement(db):
    from models import stats
    from models.periods import parse_period

    me, other = make_user(timezone="UTC"), make_user(timezone="UTC")
    hit, rival = make_track(name="Hit"), make_track(name="Rival")
    monday = dt.datetime(2026, 3, 2, 9)
    week = dt.timedelta(days=7)
    # week 1: rival 2, hit 1; week 2: hit 3, rival 1; week 3: nothing; week 4: hit 1
    plays = [(rival, 0), (rival, 1), (hit, 2)]
    plays += [(hit, 10), (hit, 11), (hit, 12), (rival, 13)]
    for track, hours in plays:
        at = monday + dt.timedelta(hours=hours) + (week if hours >= 10 else dt.timedelta())
        make_play(me, track, at)
    make_play(me, hit, monday + 3 * week)
    make_play(other, rival, monday + week)  # never in my charts
    second = stats.weekly_chart(me.id, dt.date(2026, 3, 12))  # any day of the week
    assert second["week"] == dt.date(2026, 3, 9)
    assert (second["previous_week"], second["next_week"]) == (
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 23),
    )
    assert [
        (r["name"], r["position"], r["plays"], r["movement"], r["previous_position"])
        for r in second["tracks"]
    ] == [("Hit", 1, 3, "up", 2), ("Rival", 2, 1, "down", 1)]
    last = stats.weekly_chart(me.id)  # the latest week charted
    assert last["week"] == dt.date(2026, 3, 23) and last["next_week"] is None
    assert [(r["name"], r["movement"]) for r in last["tracks"]] == [("Hit", "new")]
    history = stats.chart_history(me.id, "track", hit.id)
    assert [(row["week"], row["position"]) for row in history["weeks"]] == [
        (dt.date(2026, 3, 2), 2),
        (dt.date(2026, 3, 9), 1),
        (dt.date(2026, 3, 23), 1),
    ]
    assert (history["weeks_in_chart"], history["weeks_at_1"], history["peak"]) == (3, 2, 1)
    assert stats.chart_history(other.id, "track", hit.id)["weeks_in_chart"] == 0
    assert stats.track_detail(me.id, hit.id)["charts"] == history

    period = parse_period(from_="2026-03-09", to="2026-03-15", tz="UTC")
    moved = stats.top_with_movement(me.id, period, "tracks")
    assert [(r["name"], r["rank"], r["previous_rank"], r["movement"]) for r in moved] == [
        ("Hit", 1, 2, "up"),
        ("Rival", 2, 1, "down"),
    ]
    alone = parse_period(from_="2026-03-23", to="2026-03-29", tz="UTC")
    assert [r["movement"] for r in stats.top_with_movement(me.id, alone, "tracks")] == ["new"]
    everything = stats.top_with_movement(me.id, parse_period("all", tz="UTC"), "tracks")
    assert "movement" not in everything[0]  # all time: nothing before it
