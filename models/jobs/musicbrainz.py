"""The MusicBrainz backfill as a queued job: a large history's first enrichment goes on in the
background worker between hourly runs, instead of waiting a quarter of an hour per hour.

The hourly step queues it when it spends its call budget with work left; the worker's
:func:`work_slice` runs one budget's worth (the same step, logged as ``musicbrainz-worker``)
and queues itself again while work is left, or at MusicBrainz's ``Retry-After``.  Every
process keeps MusicBrainz's one request per second together (``DatabasePacer``).
"""

from __future__ import annotations

import datetime as dt

from models.enrich import run as enrichment
from models.ingest.etl import DEFERRED, Run, run_hour
from models.jobs import queue
from models.schema.db import naive_utc
from models.schema.tables import Job

KIND = "musicbrainz"
TARGET = "catalogue"  # one backfill for all users together
STEP = "musicbrainz-worker"


def queue_backfill(at: dt.datetime | None = None) -> Job:
    """Queue the backfill (a queued one is reused: there is only ever one)."""
    return queue.enqueue(KIND, TARGET, run_after=at)


def work_slice(work: queue.Slice) -> queue.Again | None:
    """One call budget of enrichment; again while the budget ran out with work left."""
    outcome = enrichment.enrich(Run(work.settings, run_hour()), step=STEP)
    if outcome.status == DEFERRED and "resumes_at" in outcome.outcomes:
        resumes = dt.datetime.fromisoformat(outcome.outcomes["resumes_at"])
        return queue.Again(at=naive_utc(resumes))
    if outcome.outcomes.get("budget_spent"):
        return queue.Again()
    return None
