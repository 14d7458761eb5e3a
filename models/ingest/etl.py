"""The ETL's steps as plain functions over one run: what each Luigi task in ``batch/`` calls.

A run is identified by its hour (``EtlRun.hour``) and treats that hour as its clock: token
expiry times and "deferred until" moments are kept on it, so an hourly cron run, a rerun of an
old hour and a test driving the sandbox clock all agree on what "now" is.  Every step

* asks Spotify only for what is not stored (the cursor for plays; catalogue rows that lack
  details), through one :class:`spotify.client.SpotifyApp` per run and process;
* sorts Spotify's errors by kind (``spotify.errors``): a dead grant (revoked, expired, or no
  longer decryptable) flags that user, a long Retry-After defers the work to a later run (never
  sleeps), other Spotify failures are logged; any other failure is logged as a ``bug`` that
  fails the run's last task; none of them stops another user or step (``step_errors``);
* writes what it did to ``EtlLog`` (new plays, rows, calls and 429s per endpoint, error),
  replacing the row of an earlier attempt of the same step, so a rerun leaves one row per
  (run, user, step).

What an app may do (batch reads, audio features) is learnt from Spotify's answers and kept in
``EtlRun.summary["capabilities"]`` with the hour it was learnt; a refusal learnt within the last
day is believed without asking again, after that Spotify is asked once more.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field

from peewee import JOIN

from models.accounts import grants
from models.ingest import catalogue
from models.schema.db import is_postgresql, naive_utc, utcnow
from models.schema.pacing import BlockPacer, DatabasePacer
from models.schema.tables import EtlLog, EtlRun, OAuthToken, User
from spotify.client import BATCH_SIZES, Capabilities, SpotifyApp, SpotifyClient
from spotify.errors import (
    AudioFeaturesUnavailable,
    RateLimited,
    ReauthorizationNeeded,
    SpotifyError,
)

log = logging.getLogger(__name__)

CAPABILITY_MEMORY = dt.timedelta(hours=24)
SINGLE_READS_PER_STORE = 10  # development mode: store every few single reads
SLOTS_PER_BOOKING = 5  # Web API slots a process books at once from the shared pacer row

DONE, DEFERRED, REAUTH, FAILED, SKIPPED = "done", "deferred", "reauth", "error", "skipped"
BUG = "bug"  # not Spotify's doing: bad data or our code; the run goes on, then exits non-zero


def run_hour(moment: dt.datetime | None = None) -> dt.datetime:
    """The hour a run at ``moment`` (default: now, UTC) belongs to, naive UTC."""
    return naive_utc(moment or utcnow()).replace(minute=0, second=0, microsecond=0)


@dataclass
class StepOutcome:
    """What one step did; becomes one ``EtlLog`` row."""

    status: str = DONE
    new_plays: int = 0
    new_rows: int = 0
    calls: dict = field(default_factory=dict)
    rate_limited: dict = field(default_factory=dict)  # 429 answers per endpoint, among calls
    error: str | None = None
    items: list = field(default_factory=list)  # extract: the raw recently-played items
    outcomes: dict = field(default_factory=dict)  # what it concluded, e.g. verdicts per kind

    def add_calls(self, client: SpotifyClient | None) -> None:
        if client is not None:
            for endpoint, count in client.calls.items():
                self.calls[endpoint] = self.calls.get(endpoint, 0) + count
            for endpoint, count in client.usage.throttled.items():
                self.rate_limited[endpoint] = self.rate_limited.get(endpoint, 0) + count

    def summary(self) -> dict:
        return {
            "status": self.status,
            "new_plays": self.new_plays,
            "new_rows": self.new_rows,
            "api_calls": self.calls,
            "rate_limited": self.rate_limited,
            "error": self.error,
            **({"outcomes": self.outcomes} if self.outcomes else {}),
        }


# -- users -----------------------------------------------------------------------------------
def active_user_ids(first: int | None = None, last: int | None = None) -> list[int]:
    """Users the ETL syncs: they granted access and their grant is not known to be dead; with
    ``first`` and ``last``, those whose id is in that range (one batch of the run's tasks)."""
    query = (
        User.select(User.id).join(OAuthToken).where(User.needs_reauth == False).order_by(User.id)  # noqa: E712 (SQL)
    )
    if first is not None and last is not None:
        query = query.where(User.id.between(first, last))
    return [row[0] for row in query.tuples()]


def defer_user(user_id: int, until: dt.datetime) -> None:
    log.warning("user %s deferred until %s (Spotify rate limit)", user_id, until.isoformat())
    (
        User.update(sync_deferred_until=until)
        .where(
            (User.id == user_id)
            & (User.sync_deferred_until.is_null() | (User.sync_deferred_until < until))
        )
        .execute()
    )


# -- the run ---------------------------------------------------------------------------------
class Run:
    """One run (an hour) in one process: its row, its clock, its Spotify app and clients."""

    def __init__(
        self,
        settings,
        hour: dt.datetime,
        *,
        app: SpotifyApp | None = None,
        call_interval: float = 0.0,
    ):
        self.settings = settings
        self.hour = run_hour(hour)
        self.now = self.hour
        self.call_interval = call_interval
        self._app = app
        self.seeded: set[str] = set()
        self.row = start_run(self.hour)

    @property
    def app(self) -> SpotifyApp:
        """The run's app in this process; its Web API calls take turns with every other ETL
        process's (all ``--workers``, every machine sharing the database) through one pacer
        row, as Spotify counts one rate limit for the app, booked a few slots at a time."""
        if self._app is None:
            pacer = (
                BlockPacer(
                    DatabasePacer(f"spotify:{self.settings.client_id}"[:40], self.call_interval),
                    SLOTS_PER_BOOKING,
                )
                if self.call_interval > 0
                else None
            )
            self._app = SpotifyApp.from_settings(self.settings, pacer=pacer)
            self.seeded = seed_capabilities(self._app.capabilities, self.hour)
        return self._app

    def client_for(self, user_id: int) -> SpotifyClient | None:
        """The user's client on the run's clock (``models.accounts.grants``), or None without
        a usable grant; one that cannot be decrypted raises :class:`ReauthorizationNeeded`."""
        try:
            return grants.client(self.app, user_id, now=self.now)
        except grants.GrantLost as exc:
            raise ReauthorizationNeeded(str(exc), None, "token") from None

    def deferred(self, user: User) -> bool:
        return user.sync_deferred_until is not None and user.sync_deferred_until > self.now

    def defer(self, user_id: int, exc: RateLimited) -> dt.datetime:
        until = self.now + dt.timedelta(seconds=max(1, round(exc.retry_after)))
        defer_user(user_id, until)
        return until

    def record(self, step: str, user_id: int | None, outcome: StepOutcome) -> None:
        """One EtlLog row per (run, user, step): a retried step replaces its earlier row."""
        with catalogue.write_transaction():
            (
                EtlLog.delete()
                .where(
                    (EtlLog.run == self.row.id)
                    & (EtlLog.step == step)
                    & (EtlLog.user.is_null() if user_id is None else EtlLog.user == user_id)
                )
                .execute()
            )
            EtlLog.create(
                run=self.row.id,
                user=user_id,
                step=step,
                status=outcome.status,
                new_plays=outcome.new_plays,
                new_rows=outcome.new_rows,
                api_calls=json.dumps(outcome.calls, sort_keys=True),
                rate_limited=json.dumps(outcome.rate_limited, sort_keys=True),
                error=outcome.error,
                outcomes=json.dumps(outcome.outcomes, sort_keys=True) if outcome.outcomes else None,
            )

    def remember_capabilities(self) -> None:
        if self._app is not None:
            remember_capabilities(self.hour, self._app.capabilities, self.seeded)


def start_run(hour: dt.datetime) -> EtlRun:
    EtlRun.insert(hour=hour).on_conflict_ignore().execute()
    return EtlRun.get(EtlRun.hour == hour)


# -- capabilities remembered between runs ----------------------------------------------------
def remembered_capabilities(hour: dt.datetime) -> dict[str, dict]:
    """``{name: {"allowed": bool, "learnt": iso hour}}`` from the latest runs before ``hour``."""
    remembered: dict[str, dict] = {}
    recent = (
        EtlRun.select(EtlRun.summary)
        .where(
            (EtlRun.hour <= hour)
            & (EtlRun.hour > hour - CAPABILITY_MEMORY)
            & EtlRun.summary.is_null(False)
        )
        .order_by(EtlRun.hour.desc())
    )
    for (summary,) in recent.tuples():
        for name, fact in json.loads(summary).get("capabilities", {}).items():
            remembered.setdefault(name, fact)
    return remembered


def seed_capabilities(capabilities: Capabilities, hour: dt.datetime) -> set[str]:
    """Believe refusals learnt within the last day, so a development-mode app is not asked
    for batch reads or audio features again every hour; returns the names believed."""
    seeded = set()
    for name, fact in remembered_capabilities(hour).items():
        learnt = dt.datetime.fromisoformat(fact["learnt"])
        if fact["allowed"] or learnt <= hour - CAPABILITY_MEMORY:
            continue
        if name == "audio_features":
            capabilities.audio_features = False
        elif name.startswith("batch."):
            capabilities.batch[name.split(".", 1)[1]] = False
        seeded.add(name)
    return seeded


def app_mode_of(facts: dict[str, dict]) -> str | None:
    """The app's mode by ``Capabilities.app_mode`` (the one rule, in ``spotify``) from stored
    facts; None while they tell nothing, so a run keeps the mode it already recorded."""
    mode = Capabilities.from_facts({name: fact["allowed"] for name, fact in facts.items()}).app_mode
    return None if mode == "unknown" else mode


@contextmanager
def locked_run(hour: dt.datetime) -> Iterator[EtlRun]:
    """The run row, locked for a read-modify-write of its summary (workers run in parallel)."""
    with catalogue.write_transaction():
        query = EtlRun.select().where(EtlRun.hour == hour)
        if is_postgresql():
            query = query.for_update()
        yield query.get()


def remember_capabilities(
    hour: dt.datetime, capabilities: Capabilities, seeded: AbstractSet[str] = frozenset()
) -> None:
    """Merge what this process learnt into the run's summary and its ``app_mode``.

    A fact Spotify answered in this run is stamped with this hour; one believed from memory
    (``seeded``) keeps the hour it was learnt, so it expires a day after Spotify last said it.
    """
    stamp = hour.isoformat()
    previous = remembered_capabilities(hour)
    with locked_run(hour) as run:
        summary = run.summary_data
        facts = summary.setdefault("capabilities", {})
        for name, allowed in capabilities.facts().items():
            before = facts.get(name) or previous.get(name)
            believed = before if name in seeded else None  # the fact, believed from memory
            facts[name] = {
                "allowed": allowed,
                "learnt": believed["learnt"] if believed is not None else stamp,
            }
        run.summary = json.dumps(summary, sort_keys=True)
        run.app_mode = app_mode_of({**previous, **facts}) or run.app_mode
        run.save()


# -- per-user steps --------------------------------------------------------------------------
@contextmanager
def step_errors(run: Run, user_id: int | None, outcome: StepOutcome) -> Iterator[None]:
    """Turn Spotify's error kinds, and any other failure, into the outcome.

    Nothing escapes to the other users' tasks or the catalogue steps that wait for them; a
    failure that is not Spotify's (status ``bug``) makes the run's last task fail instead, so
    cron still sees a non-zero exit once everything else is done.
    """
    try:
        yield
    except ReauthorizationNeeded as exc:
        outcome.status, outcome.error = REAUTH, str(exc)
        if user_id is not None:
            grants.flag_reauth(user_id, exc.message)
    except RateLimited as exc:
        outcome.status = DEFERRED
        until = (
            run.defer(user_id, exc)
            if user_id is not None
            else run.now + dt.timedelta(seconds=exc.retry_after)
        )
        outcome.error = f"{exc}; resumes after {until.isoformat()}"
    except SpotifyError as exc:
        log.warning("Spotify error for user %s: %s", user_id, exc)
        outcome.status, outcome.error = FAILED, str(exc)
    except Exception as exc:
        log.exception("ETL step failed for user %s", user_id)
        outcome.status, outcome.error = BUG, f"{type(exc).__name__}: {exc}"


def extract_user(run: Run, user_id: int) -> StepOutcome:
    """Recently played after the user's cursor (the items become the extract target)."""
    outcome = _extract(run, user_id)
    run.record("extract", user_id, outcome)
    return outcome


def _extract(run: Run, user_id: int) -> StepOutcome:
    user = User.get_by_id(user_id)
    if user.needs_reauth:
        return StepOutcome(SKIPPED, error="needs to log in to Spotify again")
    if run.deferred(user):
        return StepOutcome(DEFERRED, error=f"deferred until {user.sync_deferred_until}")
    outcome = StepOutcome()
    client = None
    after = catalogue.to_ms(user.last_played_at) if user.last_played_at else None
    with step_errors(run, user_id, outcome):
        client = run.client_for(user_id)
        if client is None:
            return StepOutcome(SKIPPED, error="no Spotify grant stored")
        recent = client.recently_played(after=after)
        outcome.items = recent.items
        outcome.new_rows = len(recent.items)
        (
            User.update(last_synced_at=utcnow(), sync_deferred_until=None)
            .where(User.id == user_id)
            .execute()
        )
    outcome.add_calls(client)
    return outcome


def load_user(run: Run, user_id: int, items: list[dict]) -> StepOutcome:
    """Store what the extract read; a rerun of the same items adds nothing."""
    extracted = (
        EtlLog.select(EtlLog.status)
        .where((EtlLog.run == run.row.id) & (EtlLog.user == user_id) & (EtlLog.step == "extract"))
        .scalar()
    )
    if extracted not in (DONE, None):
        outcome = StepOutcome(extracted, error="nothing extracted")
        run.record("load", user_id, outcome)
        return outcome
    outcome = StepOutcome()
    with step_errors(run, user_id, outcome):
        result = catalogue.load_recently_played(user_id, items)
        outcome.new_plays, outcome.new_rows = result.new_plays, result.tracks
        if result.gap and result.gap[0] == catalogue.HISTORY_BEGINS:
            outcome.error = (
                f"possible gap: plays before {result.gap[1].isoformat()} are beyond Spotify's "
                "last 50 (a first sync); importing the privacy export brings them"
            )
        elif result.gap:
            outcome.error = (
                f"possible gap: plays between {result.gap[0].isoformat()} and "
                f"{result.gap[1].isoformat()} may be missing"
            )
    run.record("load", user_id, outcome)
    return outcome


# -- steps for all users: the catalogue ------------------------------------------------------
def catalogue_users() -> list[int]:
    """Users whose token may read the catalogue, those synced most recently first."""
    query = (
        User.select(User.id)
        .join(OAuthToken)
        .where(User.needs_reauth == False)  # noqa: E712 (SQL)
        .order_by(User.last_synced_at.desc(nulls="LAST"), User.id)
    )
    return [row[0] for row in query.tuples()]


def with_catalogue_client(
    run: Run, outcome: StepOutcome, work: Callable[[SpotifyClient], None]
) -> None:
    """Run ``work`` with a healthy user's client; if that grant is dead, flag it, try the next.

    Catalogue reads are the app's, not a user's: any user's token will do.  ``work`` stores as
    it goes, so a retry with the next user's client starts where the last one stopped.
    """
    for user_id in catalogue_users():
        user = User.get_by_id(user_id)
        if run.deferred(user):
            continue
        client = None
        try:
            with step_errors(run, None, outcome):
                try:
                    client = run.client_for(user_id)
                    if client is None:  # flagged by another worker since the list was read
                        continue
                    work(client)
                except ReauthorizationNeeded as exc:
                    grants.flag_reauth(user_id, exc.message)
                    continue
            return
        finally:
            outcome.add_calls(client)
    if outcome.status == DONE:
        outcome.status, outcome.error = SKIPPED, "no user with a usable Spotify grant"


def _read_batch_size(client: SpotifyClient, kind: str) -> int:
    """Endpoint maximum for batch reads; a few ids at a time once they are single reads."""
    if client.capabilities.batch.get(kind) is False:
        return SINGLE_READS_PER_STORE
    return BATCH_SIZES[kind]


def _complete_catalogue(
    run: Run, step: str, kind: str, ids: list[str], upsert: Callable, mark_unavailable: Callable
) -> StepOutcome:
    """Read ``ids`` with ``client.<kind>`` (batches, or singles once batches are refused),
    storing every chunk as it comes, so an interrupted step keeps what it read."""
    outcome = StepOutcome()
    remaining = list(ids)  # shared by retries with another user's client

    def fetch(client: SpotifyClient) -> None:
        while remaining:
            chunk = remaining[: _read_batch_size(client, kind)]
            found = getattr(client, kind)(chunk)
            mark_unavailable(k for k, v in found.items() if v is None)
            outcome.new_rows += upsert(v for v in found.values() if v is not None)
            del remaining[: len(chunk)]

    if ids:
        with_catalogue_client(run, outcome, fetch)
    run.remember_capabilities()
    run.record(step, None, outcome)
    return outcome


def complete_tracks(run: Run) -> StepOutcome:
    """Tracks that imports left as stubs: read them (with album and artists) once."""
    return _complete_catalogue(
        run,
        "tracks",
        "tracks",
        catalogue.tracks_lacking_metadata(),
        catalogue.upsert_tracks,
        catalogue.mark_tracks_unavailable,
    )


def fetch_artists(run: Run) -> StepOutcome:
    """Details and genres of every artist stored only as a stub, read once."""
    return _complete_catalogue(
        run,
        "artists",
        "artists",
        catalogue.artists_lacking_details(),
        catalogue.upsert_artists,
        catalogue.mark_artists_unavailable,
    )


def fetch_features(run: Run) -> StepOutcome:
    """Audio features of every track without them, 100 per call.

    A 403 (the app may not read features) marks the remaining tracks ``forbidden``, logs once
    and ends the step successfully; within a day of such a refusal, new tracks are marked
    without asking.  A refusal is retried a day later, with the tracks it marked.
    """
    outcome = StepOutcome()
    known_refused = run.app.capabilities.audio_features is False
    ids = catalogue.tracks_lacking_features(include_forbidden=not known_refused)

    remaining = list(ids)  # shared by retries with another user's client

    def fetch(client: SpotifyClient) -> None:
        while remaining:
            chunk = remaining[: BATCH_SIZES["audio_features"]]
            try:
                found = client.audio_features(chunk)
            except AudioFeaturesUnavailable as exc:
                refused = catalogue.tracks_lacking_features(include_forbidden=True)
                catalogue.mark_audio_features(refused, catalogue.FEATURES_FORBIDDEN)
                outcome.error = f"audio features unavailable to this app: {exc}"
                log.warning("%s; %d track(s) marked forbidden", outcome.error, len(refused))
                return
            outcome.new_rows += catalogue.store_audio_features(found)[catalogue.FEATURES_OK]
            del remaining[: len(chunk)]

    if known_refused:
        catalogue.mark_audio_features(ids, catalogue.FEATURES_FORBIDDEN)
        if ids:
            outcome.error = "audio features unavailable to this app (refused within a day)"
    elif ids:
        with_catalogue_client(run, outcome, fetch)
    run.remember_capabilities()
    run.record("features", None, outcome)
    return outcome


# -- the end of a run ------------------------------------------------------------------------
def finish_run(run: Run) -> dict:
    """Totals of the run's log into ``EtlRun.summary``; status ``done`` or ``partial``."""
    logs = list(EtlLog.select().where(EtlLog.run == run.row.id))
    calls: dict[str, int] = {}
    rate_limited: dict[str, int] = {}
    statuses: dict[str, dict[str, int]] = {}
    for row in logs:
        for endpoint, count in row.api_calls_data.items():
            calls[endpoint] = calls.get(endpoint, 0) + count
        for endpoint, count in row.rate_limited_data.items():
            rate_limited[endpoint] = rate_limited.get(endpoint, 0) + count
        by_status = statuses.setdefault(row.step, {})
        by_status[row.status] = by_status.get(row.status, 0) + 1
    reauth = User.select().join(OAuthToken, JOIN.INNER).where(User.needs_reauth == True).count()  # noqa: E712 (SQL)
    totals = {
        "users": len({row.user_id for row in logs if row.user_id is not None}),
        "new_plays": sum(row.new_plays for row in logs if row.step == "load"),
        "api_calls": dict(sorted(calls.items())),
        "rate_limited": dict(sorted(rate_limited.items())),
        "steps": statuses,
        "needs_reauth": reauth,
        "gaps": sum(1 for row in logs if row.step == "load" and row.status == DONE and row.error),
        "bugs": [
            f"{row.step} (user {row.user_id}): {row.error}" for row in logs if row.status == BUG
        ],
    }
    failed = any(row.status in (FAILED, REAUTH, DEFERRED, BUG) for row in logs)
    with locked_run(run.hour) as row:
        summary = row.summary_data
        summary.update(totals)
        row.summary = json.dumps(summary, sort_keys=True)
        row.status = "partial" if failed else DONE
        row.finished_at = utcnow()
        if row.app_mode is None:
            row.app_mode = app_mode_of(remembered_capabilities(run.hour)) or "unknown"
        row.save()
    return summary
