"""The job queue the workers share (models.jobs.queue), on SQLite and PostgreSQL: claims, order,
takeover of a dead worker's job, deferral, retries, and the time-zone rebuild as a job."""

from __future__ import annotations

import datetime as dt
import threading

from models.jobs import queue, timezones
from models.schema.db import db as proxy
from models.schema.db import utcnow
from models.schema.tables import Job, TrackDay, User
from models.summaries import listening
from tests.factories import make_play, make_track, make_user


def test_two_workers_claiming_at_once_never_take_the_same_job(db):
    for n in range(40):
        queue.enqueue("work", n)
    start = threading.Barrier(2)
    taken: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name: str) -> None:
        try:
            start.wait()
            while (job := queue.claim(name, ["work"])) is not None:
                taken[name].append(int(job.target))
        finally:
            proxy.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == list(range(40))
    assert taken["a"] and taken["b"]  # both had a share, neither waited for the other to end
    held = {job.target: job.claimed_by for job in Job.select()}
    assert all(held[str(n)] == name for name, targets in taken.items() for n in targets)


def test_a_long_background_job_yields_to_a_short_urgent_one_between_chunks(db):
    events, chunks = [], []

    def long(work):
        while len(chunks) < 3:
            chunks.append(1)
            events.append(f"long {len(chunks)}")
            if len(chunks) == 1:  # a listener starts something meanwhile, and a backfill
                queue.enqueue("short", 1, priority=queue.LISTENER_WAITING)
                queue.enqueue("other-background", 1, priority=queue.BACKGROUND)
            if work.should_yield():
                return queue.Again()
        return None

    handlers = {
        "long": long,
        "short": lambda work: events.append("short"),
        "other-background": lambda work: events.append("other"),
    }
    queue.enqueue("long", 1, priority=queue.BACKGROUND)
    assert queue.run_until_idle(handlers, settings=None) == 4
    # the short job ran at the first chunk's end; the long one, back in the queue, took its
    # turn behind the other background job queued before it was re-queued
    assert events == ["long 1", "short", "other", "long 2", "long 3"]
    assert {job.kind: job.state for job in Job.select()} == {
        "long": "done",
        "short": "done",
        "other-background": "done",
    }


def test_a_slice_past_its_time_lets_a_job_as_urgent_take_a_turn(db):
    first = queue.enqueue("import", 1, priority=queue.LISTENER_WAITING)
    queue.enqueue("import", 2, priority=queue.LISTENER_WAITING)
    claimed = queue.claim("w", ["import"])
    assert claimed.id == first.id
    work = queue.Slice(claimed, "w", None, ("import",), slice_seconds=3600)
    assert not work.should_yield()
    work.slice_seconds = 0
    assert work.should_yield()
    assert not queue.Slice(
        claimed, "w", None, ("import",), yields=False, slice_seconds=0
    ).should_yield()


def test_a_killed_workers_job_is_taken_over_once_its_heartbeat_is_stale(db):
    job = queue.enqueue("work", 7)
    at = utcnow()
    assert queue.claim("dead", ["work"], now=at).id == job.id
    # the worker is killed here: its row stays running, nobody else may take it yet
    assert queue.claim("alive", ["work"], now=at + queue.STALE_AFTER / 2) is None
    assert queue.beat(Job.get_by_id(job.id), "dead", now=at + queue.STALE_AFTER / 2)
    assert queue.claim("alive", ["work"], now=at + queue.STALE_AFTER) is None  # it beat again
    taken = queue.claim("alive", ["work"], now=at + queue.STALE_AFTER * 2)
    assert taken.id == job.id and taken.claimed_by == "alive" and taken.attempts == 2
    # the presumed dead worker wakes up: it can neither beat nor finish a row no longer its own
    assert not queue.beat(taken, "dead")
    assert not queue.complete(taken, "dead")
    assert Job.get_by_id(job.id).state == "running"
    assert queue.complete(taken, "alive")
    assert Job.get_by_id(job.id).state == "done"


def test_a_deferred_job_is_not_claimed_before_run_after(db):
    later = utcnow() + dt.timedelta(hours=2)
    job = queue.enqueue("work", 1, run_after=later)
    assert queue.claim("w", ["work"]) is None
    assert queue.claim("w", ["work"], now=later - dt.timedelta(seconds=1)) is None
    assert queue.claim("w", ["work"], now=later).id == job.id


def test_a_handler_asking_to_wait_is_released_until_then_not_slept_through(db):
    resume = utcnow() + dt.timedelta(hours=3)  # Spotify's long Retry-After
    queue.enqueue("work", 1)
    ran = []
    handlers = {"work": lambda work: ran.append(1) or queue.Again(at=resume)}
    assert queue.run_until_idle(handlers, settings=None) == 1
    row = Job.get()
    assert ran == [1]
    assert (row.state, row.run_after, row.claimed_by, row.attempts) == ("queued", resume, None, 0)


def test_errors_are_retried_with_a_backoff_then_the_job_fails(db):
    job = queue.enqueue("work", 1)

    def broken(work):
        raise RuntimeError("no luck")

    at = utcnow()
    for attempt in range(1, queue.MAX_ATTEMPTS + 1):
        queue.run_once({"work": broken}, None, now=at)
        row = Job.get_by_id(job.id)
        assert row.last_error == "RuntimeError: no luck" and row.attempts == attempt
        if attempt < queue.MAX_ATTEMPTS:
            assert row.state == "queued" and row.run_after > at
            at = row.run_after
    assert row.state == "failed" and row.finished_at is not None
    assert queue.run_once({"work": broken}, None, now=at + dt.timedelta(days=1)) is None


def test_enqueue_reuses_a_queued_row_but_not_a_running_one(db):
    first = queue.enqueue("work", 1, payload={"n": 1})
    again = queue.enqueue("work", 1, payload={"n": 2}, priority=queue.LISTENER_WAITING)
    assert again.id == first.id and Job.select().count() == 1
    row = Job.get_by_id(first.id)
    assert row.payload_data == {"n": 2} and row.priority == queue.LISTENER_WAITING
    queue.claim("w", ["work"])
    assert queue.enqueue("work", 1).id != first.id
    assert queue.active("work", 1).id == first.id  # the running one, oldest first


def test_the_time_zone_rebuild_runs_as_a_queued_job(db):
    user = make_user(timezone="UTC")
    track = make_track()
    for hours in (0, 10, 20, 30):  # 22:00 UTC is the next day in Tokyo
        make_play(user, track, dt.datetime(2026, 3, 1, 12) + dt.timedelta(hours=hours))
    before = sorted(TrackDay.select(TrackDay.day, TrackDay.plays).tuples())
    queue.enqueue("import", 1, priority=queue.BACKGROUND)  # a backfill queued earlier
    timezones.change_timezone(user, "Europe/Paris")
    job = timezones.change_timezone(user, "Asia/Tokyo")  # changed again before it ran
    assert job.priority == queue.LISTENER_WAITING
    assert Job.select().where(Job.kind == timezones.KIND).count() == 1
    ran = queue.run_once({timezones.KIND: timezones.work_slice, "import": lambda w: None}, None)
    assert ran.kind == timezones.KIND and ran.state == "done"  # before the backfill
    assert User.get_by_id(user.id).timezone == "Asia/Tokyo"
    moved = sorted(TrackDay.select(TrackDay.day, TrackDay.plays).tuples())
    assert moved != before
    listening.rebuild(user.id, "Asia/Tokyo")
    assert sorted(TrackDay.select(TrackDay.day, TrackDay.plays).tuples()) == moved
