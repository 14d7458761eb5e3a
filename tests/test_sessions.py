"""Listening sessions kept by ``store_plays`` equal sessions drawn from the raw plays.

Plays arrive in random batches out of time order (ETL-like recent batches, then an old history
imported months later, then late single plays in the middle of sessions and in their gaps), so
new plays extend, merge and split nothing they must not; after each batch the stored rows must
equal a rebuild in Python from the raw plays, and ``rebuild_sessions`` must change nothing.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from models.ingest.plays import store_plays
from models.jobs import sessions as session_jobs
from models.schema.tables import ListeningSession, SessionBacklog
from models.summaries.sessions import rebuild_sessions
from tests.factories import make_track, make_user
from tests.story_world import sessions_from_raw_plays
from tests.workertools import run_worker_until_idle


def stored_sessions(user_id: int) -> list[tuple]:
    return list(
        ListeningSession.select(
            ListeningSession.started_at,
            ListeningSession.last_played_at,
            ListeningSession.length_ms,
            ListeningSession.plays,
            ListeningSession.ms_played,
        )
        .where(ListeningSession.user == user_id)
        .order_by(ListeningSession.started_at)
        .tuples()
    )


def random_plays(rng: random.Random, tracks, start: dt.datetime, count: int) -> list[dict]:
    """Plays one after another with gaps around the 20-minute rule (some exactly on it)."""
    plays, at = [], start
    for _ in range(count):
        ms = rng.choice([30_000, 180_000, 215_123, 600_000])
        plays.append({"track_id": rng.choice(tracks).id, "played_at": at, "ms_played": ms})
        gap = rng.choice([0, 1, 5_000, 60_000, 1_199_999, 1_200_000, 1_200_001, 7_200_000])
        at = at + dt.timedelta(milliseconds=ms + gap)
    return plays


def check(user_id: int) -> None:
    assert stored_sessions(user_id) == sessions_from_raw_plays(user_id)


@pytest.mark.parametrize("seed", [1, 2])
def test_sessions_stay_equal_to_the_raw_plays_whatever_order_plays_arrive_in(db, seed):
    rng = random.Random(seed)
    user, other = make_user(), make_user()
    tracks = [make_track() for _ in range(8)]
    recent = random_plays(rng, tracks, dt.datetime(2026, 6, 1, 8, 0, 0, 123000), 120)
    old = random_plays(rng, tracks, dt.datetime(2024, 3, 1, 22, 30), 150)
    for start in range(0, len(recent), 25):  # the ETL, batch after batch
        store_plays(user.id, recent[start : start + 25], "api")
        check(user.id)
    store_plays(other.id, recent[:40], "api")
    store_plays(user.id, old, "import")  # old history, imported months later
    check(user.id)
    # late plays: inside sessions, in gaps (merging two), before everything, a duplicate
    stored = sorted(p["played_at"] for p in recent + old)
    late = []
    for _ in range(30):
        i = rng.randrange(len(stored) - 1)
        middle = stored[i] + (stored[i + 1] - stored[i]) / 2
        late.append({"track_id": tracks[0].id, "played_at": middle, "ms_played": 1000})
    late.append({"track_id": tracks[1].id, "played_at": dt.datetime(2020, 1, 1), "ms_played": 5})
    late.append(dict(recent[3]))
    rng.shuffle(late)
    store_plays(user.id, late[:10], "import")
    check(user.id)
    for play in late[10:]:
        store_plays(user.id, [play], "api")
    check(user.id)
    check(other.id)
    stored = stored_sessions(user.id)
    rebuild_sessions(user.id)
    assert stored_sessions(user.id) == stored
    assert len(stored) > 20 and max(s[3] for s in stored) > 5


def test_a_play_between_two_sessions_merges_them_and_one_past_the_gap_does_not(db):
    user, track = make_user(), make_track()
    at = dt.datetime(2026, 1, 1, 10)
    minute = dt.timedelta(minutes=1)
    store_plays(user.id, [{"track_id": track.id, "played_at": at, "ms_played": 60_000}], "api")
    later = at + 41 * minute  # 40 minutes after the first play ended
    store_plays(user.id, [{"track_id": track.id, "played_at": later, "ms_played": 60_000}], "api")
    assert [s[3] for s in stored_sessions(user.id)] == [1, 1]
    # starts 19 minutes after the first ends and ends 19 minutes before the second starts
    bridge = at + 20 * minute
    store_plays(user.id, [{"track_id": track.id, "played_at": bridge, "ms_played": 120_000}], "api")
    assert stored_sessions(user.id) == [(at, later, 42 * 60_000, 3, 240_000)]
    exactly = later + 21 * minute  # 20 minutes after the last play ended: a new session
    store_plays(user.id, [{"track_id": track.id, "played_at": exactly, "ms_played": 1}], "api")
    assert [s[3] for s in stored_sessions(user.id)] == [3, 1]


def test_a_backlogged_user_gets_sessions_from_the_worker_job_and_deletion_removes_them(
    db, settings
):
    user, track = make_user(), make_track()
    at = dt.datetime(2026, 1, 1, 10)
    session_jobs.queue_build(user.id)
    plays = [
        {"track_id": track.id, "played_at": at + dt.timedelta(hours=n), "ms_played": 1000}
        for n in range(5)
    ]
    store_plays(user.id, plays, "import")
    assert stored_sessions(user.id) == []  # pending: the job builds them
    run_worker_until_idle(settings)
    assert not SessionBacklog.select().exists()
    check(user.id)
    assert len(stored_sessions(user.id)) == 5
    import json

    from models.accounts.export import export_json
    from models.accounts.users import delete_user

    exported = json.loads("".join(export_json(user)))["listening_sessions"]
    assert [(s["started_at"], s["plays"]) for s in exported] == [
        (p["played_at"].isoformat(), 1) for p in plays
    ]

    delete_user(user)
    assert ListeningSession.select().count() == 0
