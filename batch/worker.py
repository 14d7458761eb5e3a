"""``python -m batch.worker``: the process that runs background work from the queue.

History imports started on the web page (and time-zone rebuilds, the MusicBrainz backfill) are
rows in the job queue (``models.jobs.queue``); this process claims them, most urgent first,
runs one slice at a time and releases each, so a web restart never stops an import and several
workers on several machines share the queue without taking the same job twice.  The Procfile's
``worker`` entry runs it, and ``make demo`` starts one.

    python -m batch.worker               # poll forever (SIGTERM/SIGINT stop after the slice)
    python -m batch.worker --until-idle  # run what may run now, then exit (cron, tests)
    python -m batch.worker --once        # one slice at most

Exit status 0; a job's error is recorded on its row (and the import's page), not raised.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import threading

import models
import settings as settings_module
from models.imports import history_import
from models.jobs import (
    charts,
    exclusions,
    listening_context,
    musicbrainz,
    queue,
    sessions,
    timezones,
)

IDLE_WAIT = 2.0  # seconds between polls of an empty queue
log = logging.getLogger("batch.worker")


def handlers(search_interval: float = history_import.SEARCH_INTERVAL) -> dict:
    """Every kind of job this worker runs, with its handler (one place to add a kind)."""
    return {
        history_import.KIND: functools.partial(
            history_import.work_slice, search_interval=search_interval
        ),
        timezones.KIND: timezones.work_slice,
        sessions.KIND: sessions.work_slice,
        charts.KIND: charts.work_slice,
        exclusions.KIND: exclusions.work_slice,
        musicbrainz.KIND: musicbrainz.work_slice,
        listening_context.KIND: listening_context.work_slice,
    }


def run(
    settings,
    *,
    once: bool = False,
    until_idle: bool = False,
    idle_wait: float = IDLE_WAIT,
    stop: threading.Event | None = None,
    search_interval: float = history_import.SEARCH_INTERVAL,
) -> int:
    """The loop: claim, run, release; wait ``idle_wait`` when nothing may run. Returns slices."""
    stop = stop or threading.Event()
    kinds = handlers(search_interval)
    worker = queue.worker_name()
    slices = 0
    while not stop.is_set():
        ran = queue.run_once(kinds, settings, worker=worker, stopping=stop)
        slices += ran is not None
        if ran is None and not once and timezones.queue_stale():
            continue  # a zone changed outside the account page: its rebuild is queued now
        if once or (until_idle and ran is None):
            break
        if ran is None:
            stop.wait(idle_wait)
    return slices


def run_until_idle(settings, search_interval: float = history_import.SEARCH_INTERVAL) -> int:
    """What tests and ``--until-idle`` run: every slice that may run now, in this process."""
    return run(settings, until_idle=True, search_interval=search_interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batch.worker", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="run one slice at most, then exit")
    mode.add_argument(
        "--until-idle", action="store_true", help="run until nothing may run now, then exit"
    )
    parser.add_argument(
        "--idle-wait", type=float, default=IDLE_WAIT, help="seconds between polls when idle"
    )
    parser.add_argument(
        "--search-interval",
        type=float,
        default=history_import.SEARCH_INTERVAL,
        help="seconds between an import's Spotify searches",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_module.load()
    models.init(settings)
    stop = threading.Event()

    def stop_after_slice(signum, _frame):
        log.info("signal %s: stopping after the current slice", signum)
        stop.set()

    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, stop_after_slice)
    slices = run(
        settings,
        once=args.once,
        until_idle=args.until_idle,
        idle_wait=args.idle_wait,
        stop=stop,
        search_interval=args.search_interval,
    )
    log.info("worker stopped after %d slice(s)", slices)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
