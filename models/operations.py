"""The operator's figures, read from the database at scrape time, for ``/metrics``.

Every process (the hourly ETL, several web workers, Lambda) writes its outcome to the database
(``etl_run``, ``etl_log``, ``user``, ``import_job``, the summaries), so the figures are read
from there, not counted in this process's memory: a process-local counter would show only the
requests one gunicorn worker happened to serve.  :class:`OperationsCollector` is a
prometheus_client collector that runs the queries of :func:`read_figures` each time it is
collected; :func:`exposition` renders it in the Prometheus text format.

Each query is an aggregate over an index or over a table with one row per person: the plays
stored are the sum of ``listening_summary`` (one row per user, kept in step with the plays by
``models.ingest.plays.store_plays``), never a count of ``play``; the last run is the newest
``etl_run.hour`` (unique index) and its steps are read through ``etl_log``'s run index.
``user`` and ``import_job`` are counted whole: a self-hosted tracker has tens or hundreds of
them, not millions.

Placed above ``models.ingest`` (it reads which users the ETL syncs from ``models.ingest.etl``)
and imported only by the shells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from peewee import fn
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from models.ingest.etl import active_user_ids
from models.schema.tables import IMPORT_STATUSES, EtlLog, EtlRun, ImportJob, ListeningSummary, User

PREFIX = "spotify_tracker"
# The statuses models.ingest.etl gives a run: running until FinishRun, then done or partial.
RUN_STATUSES = ("running", "done", "partial")


@dataclass
class LastRun:
    """The newest ETL run (by the hour it ran for) and what its steps recorded so far."""

    hour: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    app_mode: str
    steps: dict[tuple[str, str], int] = field(default_factory=dict)  # (step, status): rows
    new_plays: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # Spotify calls per endpoint
    rate_limited: dict[str, int] = field(default_factory=dict)  # 429 answers per endpoint


@dataclass
class Figures:
    last_run: LastRun | None
    last_success_at: dt.datetime | None  # finished_at of the newest run whose status is done
    plays_stored: int
    listeners: int
    needs_reauth: int  # listeners flagged to log in to Spotify again
    never_synced: int  # listeners the ETL syncs who have no successful sync yet
    oldest_sync_at: dt.datetime | None  # the least recent last_synced_at of those it syncs
    import_jobs: dict[str, int]  # every status of IMPORT_STATUSES, 0 when none


def _moment(value) -> dt.datetime | None:
    """A naive UTC datetime from a column or an aggregate (SQLite returns MIN/MAX as text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _last_run() -> LastRun | None:
    run = EtlRun.select().order_by(EtlRun.hour.desc()).first()
    if run is None:
        return None
    hour, started_at = _moment(run.hour), _moment(run.started_at)
    assert hour is not None and started_at is not None  # NOT NULL columns
    last = LastRun(
        hour=hour,
        started_at=started_at,
        finished_at=_moment(run.finished_at),
        status=run.status,
        app_mode=run.app_mode or "unknown",
    )
    query = EtlLog.select(
        EtlLog.step, EtlLog.status, EtlLog.new_plays, EtlLog.api_calls, EtlLog.rate_limited
    ).where(EtlLog.run == run.id)
    for row in query:
        last.steps[(row.step, row.status)] = last.steps.get((row.step, row.status), 0) + 1
        if row.step == "load":
            last.new_plays += row.new_plays
        for endpoint, count in row.api_calls_data.items():
            last.calls[endpoint] = last.calls.get(endpoint, 0) + count
        for endpoint, count in row.rate_limited_data.items():
            last.rate_limited[endpoint] = last.rate_limited.get(endpoint, 0) + count
    return last


def read_figures() -> Figures:
    """Every figure ``/metrics`` reports, as the database holds them now."""
    last_success = (
        EtlRun.select(EtlRun.finished_at)
        .where(EtlRun.status == "done")
        .order_by(EtlRun.hour.desc())
        .limit(1)
        .scalar()
    )
    listeners, needs_reauth = (
        User.select(
            fn.COUNT(User.id),
            fn.COALESCE(fn.SUM(User.needs_reauth.cast("integer")), 0),
        )
        .where(~User.is_admin)
        .tuples()
        .get()
    )
    synced = active_user_ids()
    oldest, never = (
        User.select(
            fn.MIN(User.last_synced_at),
            fn.COUNT(User.id) - fn.COUNT(User.last_synced_at),
        )
        .where(User.id.in_(synced))
        .tuples()
        .get()
        if synced
        else (None, 0)
    )
    jobs = dict.fromkeys(IMPORT_STATUSES, 0)
    for status, count in (
        ImportJob.select(ImportJob.status, fn.COUNT(ImportJob.id))
        .group_by(ImportJob.status)
        .tuples()
    ):
        jobs[status] = count
    return Figures(
        last_run=_last_run(),
        last_success_at=_moment(last_success),
        plays_stored=int(
            ListeningSummary.select(fn.COALESCE(fn.SUM(ListeningSummary.plays), 0)).scalar()
        ),
        listeners=int(listeners),
        needs_reauth=int(needs_reauth),
        never_synced=int(never),
        oldest_sync_at=_moment(oldest),
        import_jobs=jobs,
    )


def _seconds(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _gauge(name: str, documentation: str, value: float | None = None, labels=()):
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=list(labels) or None)
    if value is not None:
        family.add_metric([], value)
    return family


def _moment_gauge(name: str, documentation: str, moment: dt.datetime | None):
    """A gauge of a moment in Unix seconds; no sample when there is no such moment (absent
    rather than 0, which a dashboard would read as 1970)."""
    return _gauge(name, documentation, None if moment is None else _seconds(moment))


class OperationsCollector:
    """A prometheus_client collector: :func:`read_figures` as metric families, on each scrape.

    Everything is a gauge: the figures are read, not counted here, and may go down (a deleted
    account takes its plays; a rerun replaces a step's log row).
    """

    def collect(self) -> Iterator[Metric]:
        figures = read_figures()
        yield from self._runs(figures)
        yield _gauge("plays_stored", "Plays stored, all listeners.", figures.plays_stored)
        yield _gauge("listeners", "Listener accounts (the admin excluded).", figures.listeners)
        yield _gauge(
            "listeners_needing_relogin",
            "Listeners whose Spotify grant is dead (expired or revoked): they must log in again.",
            figures.needs_reauth,
        )
        yield _gauge(
            "listeners_never_synced",
            "Listeners the ETL syncs who have had no successful sync yet.",
            figures.never_synced,
        )
        yield _moment_gauge(
            "oldest_sync_timestamp_seconds",
            "The least recent successful sync among the listeners the ETL syncs (absent: none).",
            figures.oldest_sync_at,
        )
        jobs = _gauge("import_jobs", "History import jobs by state.", labels=["status"])
        for status, count in figures.import_jobs.items():
            jobs.add_metric([status], count)
        yield jobs

    def _runs(self, figures: Figures) -> Iterator[Metric]:
        yield _moment_gauge(
            "etl_last_success_timestamp_seconds",
            "When the newest ETL run that ended done (every step fine) finished.",
            figures.last_success_at,
        )
        run = figures.last_run
        hour = _gauge("etl_last_run_hour_timestamp_seconds", "The hour the newest ETL run is for.")
        started = _gauge("etl_last_run_start_timestamp_seconds", "When the newest run started.")
        finished = _gauge(
            "etl_last_run_finish_timestamp_seconds",
            "When the newest run finished (absent while it runs or if it died).",
        )
        status = _gauge(
            "etl_last_run_status",
            "The newest run's status: 1 for it, 0 for the others.",
            labels=["status"],
        )
        mode = _gauge(
            "etl_last_run_app_mode",
            "The Spotify app mode the newest run found (extended, development, unknown).",
            labels=["app_mode"],
        )
        steps = _gauge(
            "etl_last_run_steps",
            "The newest run's step outcomes, by step and status.",
            labels=["step", "status"],
        )
        new_plays = _gauge("etl_last_run_new_plays", "Plays the newest run stored.")
        calls = _gauge(
            "etl_last_run_spotify_calls",
            "Spotify calls the newest run made, by endpoint (429 answers included).",
            labels=["endpoint"],
        )
        limited = _gauge(
            "etl_last_run_spotify_rate_limited",
            "Spotify 429 (rate limit) answers the newest run received, by endpoint.",
            labels=["endpoint"],
        )
        if run is not None:
            hour.add_metric([], _seconds(run.hour))
            started.add_metric([], _seconds(run.started_at))
            if run.finished_at is not None:
                finished.add_metric([], _seconds(run.finished_at))
            for name in dict.fromkeys((*RUN_STATUSES, run.status)):
                status.add_metric([name], 1 if name == run.status else 0)
            mode.add_metric([run.app_mode], 1)
            for (step, outcome), count in sorted(run.steps.items()):
                steps.add_metric([step, outcome], count)
            new_plays.add_metric([], run.new_plays)
            for endpoint, count in sorted(run.calls.items()):
                calls.add_metric([endpoint], count)
            for endpoint in sorted(run.calls.keys() | run.rate_limited.keys()):
                limited.add_metric([endpoint], run.rate_limited.get(endpoint, 0))
        yield from (hour, started, finished, status, mode, steps, new_plays, calls, limited)


def registry() -> CollectorRegistry:
    """A registry of its own holding only :class:`OperationsCollector` (no process metrics:
    those of one web worker say nothing about the others)."""
    own = CollectorRegistry(auto_describe=False)
    own.register(OperationsCollector())
    return own


def exposition(collectors: CollectorRegistry | None = None) -> bytes:
    """The figures in the Prometheus text format, version 0.0.4 (plain metric names only)."""
    return generate_latest(collectors or registry())
