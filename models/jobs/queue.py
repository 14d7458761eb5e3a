"""The job queue: background work that any number of worker processes share.

Work is a ``Job`` row (kind, target, priority, ``run_after``); a worker *claims* the most urgent
row that may run now, runs one *slice* of it with the handler registered for its kind, and
*releases* it: done, queued again (the handler returned :class:`Again`, e.g. to yield to a more
urgent job or to wait for Spotify's Retry-After), or, after an error, retried later up to
:data:`MAX_ATTEMPTS` claims.  A handler never sleeps through a long wait: it returns
``Again(at=...)`` and the row is not claimed before then.

Two workers never hold the same row.  On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP
LOCKED`` and an UPDATE in one transaction, so concurrent workers on several machines each take
a different row without waiting on each other.  On SQLite the claim runs in a ``BEGIN
IMMEDIATE`` transaction: SQLite's single write lock serialises claims (and all writes), so
several workers are safe but run one write at a time; one worker per machine is the setup.

While a slice runs, a thread beats ``heartbeat_at``; a ``running`` row whose heartbeat is older
than :data:`STALE_AFTER` belonged to a worker that died, and the next claim takes it over.
Every release is conditional on still holding the row, so a worker presumed dead that wakes up
cannot overwrite its successor's state.

We wrote this rather than use a library: procrastinate and pgqueuer need PostgreSQL, huey's
SQL storage and RQ/Celery lose a job whose worker is killed mid-run or need a broker server,
and none of them runs on both the embedded SQLite default and PostgreSQL without a server.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.schema.db import db, is_postgresql, utcnow, write_transaction
from models.schema.tables import Job
from settings import Settings

log = logging.getLogger(__name__)

LISTENER_WAITING = 10  # a listener is looking at a page for this (their import, their zone)
BACKGROUND = 100  # backfills nobody waits for
STALE_AFTER = timedelta(minutes=2)  # a running row whose heartbeat is this old: its worker died
HEARTBEAT_SECONDS = 15.0
SLICE_SECONDS = 30.0  # past this, a slice yields to any other job as urgent as itself
MAX_ATTEMPTS = 3  # claims without progress (errors, or a worker killed) before a job fails
RETRY_BACKOFF = timedelta(seconds=30)  # times the attempt number
ACTIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class Again:
    """A handler's answer: not finished, queue it again (not before ``at``, else at once)."""

    at: datetime | None = None


@dataclass
class Slice:
    """What a handler gets: its row, the worker's settings, and whether to yield now."""

    job: Job
    worker: str
    settings: Settings  # the worker's; the queue only hands it on
    kinds: tuple[str, ...]
    yields: bool = True  # False when the caller runs only this job (``run_until_idle(only=)``)
    stopping: threading.Event | None = None  # the worker was told to stop (SIGTERM)
    slice_seconds: float = SLICE_SECONDS
    started: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict:
        return self.job.payload_data

    def should_yield(self) -> bool:
        """Asked between chunks: True if another job should run before this one goes on.

        A more urgent job that may run now always goes first; once this slice has had
        :data:`SLICE_SECONDS`, one as urgent does too (listeners' imports take turns).  A
        worker told to stop yields at once: its job waits in the queue for the next worker.
        """
        if self.stopping is not None and self.stopping.is_set():
            return True
        if not self.yields:
            return False
        urgent = Job.priority < self.job.priority
        if time.monotonic() - self.started >= self.slice_seconds:
            urgent = Job.priority <= self.job.priority
        waiting = _claimable(utcnow(), self.kinds) & urgent & (Job.id != self.job.id)
        return Job.select(Job.id).where(waiting).exists()


Handler = Callable[[Slice], Again | None]


def enqueue(
    kind: str,
    target,
    *,
    payload: Mapping | None = None,
    priority: int = BACKGROUND,
    run_after: datetime | None = None,
) -> Job:
    """Queue work on ``target``; a row of that kind and target still queued is reused.

    The reused row takes the new payload, the more urgent priority and the earlier
    ``run_after``.  A row already running is not reused (it may be working from the old
    payload), so the new work runs after it; handlers must be harmless to run twice.
    """
    target = str(target)
    data = json.dumps(dict(payload or {}), sort_keys=True)
    run_after = run_after or utcnow()
    with write_transaction():
        queued = (
            Job.select()
            .where((Job.kind == kind) & (Job.target == target) & (Job.state == "queued"))
            .order_by(Job.id)
            .first()
        )
        if queued is None:
            return Job.create(
                kind=kind, target=target, payload=data, priority=priority, run_after=run_after
            )
        queued.payload = data
        queued.priority = min(priority, queued.priority)
        queued.run_after = min(run_after, queued.run_after)
        queued.save(only=[Job.payload, Job.priority, Job.run_after])
        return queued


def active(kind: str, target) -> Job | None:
    """The queued or running row of this kind and target, if any."""
    return (
        Job.select()
        .where((Job.kind == kind) & (Job.target == str(target)) & Job.state.in_(ACTIVE_STATES))
        .order_by(Job.id)
        .first()
    )


def _claimable(now: datetime, kinds: Iterable[str]):
    return Job.kind.in_(list(kinds)) & (
        ((Job.state == "queued") & (Job.run_after <= now))
        | ((Job.state == "running") & (Job.heartbeat_at < now - STALE_AFTER))
    )


def claim(
    worker: str, kinds: Iterable[str], *, now: datetime | None = None, only: int | None = None
) -> Job | None:
    """Take the most urgent row of ``kinds`` that may run now (or row ``only``), or None."""
    now = now or utcnow()
    where = _claimable(now, kinds)
    if only is not None:
        where &= Job.id == only
    with write_transaction():
        query = (
            Job.select(Job.id).where(where).order_by(Job.priority, Job.run_after, Job.id).limit(1)
        )
        if is_postgresql():
            query = query.for_update(skip_locked=True)
        found = query.first()
        if found is None:
            return None
        Job.update(
            state="running", claimed_by=worker, heartbeat_at=now, attempts=Job.attempts + 1
        ).where(Job.id == found.id).execute()
    return Job.get_by_id(found.id)


def _release(job: Job, worker: str, **fields) -> bool:
    """Update the row if this worker still holds it; False if another took it over."""
    with write_transaction():
        return (
            Job.update(**fields)
            .where((Job.id == job.id) & (Job.state == "running") & (Job.claimed_by == worker))
            .execute()
            == 1
        )


def beat(job: Job, worker: str, now: datetime | None = None) -> bool:
    """Refresh the row's heartbeat; False if the row is no longer this worker's."""
    return _release(job, worker, heartbeat_at=now or utcnow())


def complete(job: Job, worker: str) -> bool:
    return _release(job, worker, state="done", finished_at=utcnow(), last_error=None)


def requeue(job: Job, worker: str, at: datetime | None = None) -> bool:
    """Back in the queue after a slice that made progress (so its attempts start again)."""
    return _release(
        job,
        worker,
        state="queued",
        run_after=at or utcnow(),
        claimed_by=None,
        heartbeat_at=None,
        attempts=0,
    )


def fail(job: Job, worker: str, error: str) -> bool:
    """After an error: retried with a backoff, or ``failed`` once it had its attempts."""
    if job.attempts >= MAX_ATTEMPTS:
        return _release(job, worker, state="failed", finished_at=utcnow(), last_error=error)
    return _release(
        job,
        worker,
        state="queued",
        run_after=utcnow() + RETRY_BACKOFF * job.attempts,
        claimed_by=None,
        heartbeat_at=None,
        last_error=error,
    )


class _Heartbeat:
    """A thread beating the row every :data:`HEARTBEAT_SECONDS` while its slice runs.

    It has its own connection (peewee's are per thread); a beat that cannot get SQLite's write
    lock in time is skipped, the next one tries again.
    """

    def __init__(self, job: Job, worker: str, seconds: float = HEARTBEAT_SECONDS):
        self.job, self.worker, self.seconds = job, worker, seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"beat-{job.id}", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.wait(self.seconds):
                try:
                    beat(self.job, self.worker)
                except Exception:  # a locked or lost database: the next beat tries again
                    log.warning("heartbeat of job %s failed", self.job.id, exc_info=True)
        finally:
            if not db.is_closed():
                db.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def worker_name() -> str:
    """host:pid:random, unique across machines and restarts (the row says who holds it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_once(
    handlers: Mapping[str, Handler],
    settings,
    *,
    worker: str | None = None,
    only: int | None = None,
    now: datetime | None = None,
    stopping: threading.Event | None = None,
) -> Job | None:
    """Claim one row, run one slice of it, release it; returns the row as released (or None
    when nothing may run now).  A handler's exception is logged and counted, never raised."""
    worker = worker or worker_name()
    job = claim(worker, handlers, now=now, only=only)
    if job is None:
        return None
    if job.attempts > MAX_ATTEMPTS:  # its workers kept dying on it (killed, out of memory)
        fail(job, worker, job.last_error or "its worker stopped before finishing, every time")
        return Job.get_by_id(job.id)
    work = Slice(job, worker, settings, tuple(handlers), yields=only is None, stopping=stopping)
    with _Heartbeat(job, worker):
        try:
            outcome = handlers[job.kind](work)
        except Exception as exc:
            log.exception("job %s (%s %s) failed", job.id, job.kind, job.target)
            fail(job, worker, f"{type(exc).__name__}: {exc}")
        else:
            if isinstance(outcome, Again):
                requeue(job, worker, outcome.at)
            else:
                complete(job, worker)
    return Job.get_by_id(job.id)


def run_until_idle(
    handlers: Mapping[str, Handler],
    settings,
    *,
    worker: str | None = None,
    only: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Run slices until no row may run now (deferred ones stay queued); returns the count."""
    worker = worker or worker_name()
    slices = 0
    while should_stop is None or not should_stop():
        if run_once(handlers, settings, worker=worker, only=only) is None:
            break
        slices += 1
    return slices
