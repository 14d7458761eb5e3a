"""Importing a Spotify privacy export for one user: a resumable job, chunk by chunk.

``models.imports.privacy_export`` reads and validates the files; this module stores what they
hold.  No play is stored before the whole export is valid, so bad input adds nothing.  An
upload from the web page is recorded at once by :func:`accept_upload` as a job that is
``checking`` (the request never reads the export: a large or hostile zip costs the worker, not
the web process); the worker validates it first and either marks it ``refused``, with the
message the listener sees, or goes on importing.  :func:`create_job`, for callers that run the
import themselves (the Luigi task, the demo), validates before it records anything, so a
refused export leaves no job.  :func:`run_job` then works through the export's counted
plays in a fixed order, one chunk per transaction: the chunk's track stubs, its plays (through
``models.ingest.plays.store_rows``, the only writer of plays, which recognises a play already
stored by the API or an earlier import) and the job's progress counters commit together.  A job
that is interrupted (process killed, Spotify's long Retry-After) resumes at the first chunk not
committed, and is ``done`` only once every chunk is.

Jobs run in a worker process, never in the web process: both functions queue the job
(``models.jobs.queue``, kind :data:`KIND`) in the transaction that records it, and the worker
runs :func:`work_slice`, which imports until the job ends or a more urgent job is waiting, then
re-queues it.  The Luigi tasks ``ImportHistory`` and ``ResumeImports`` run the same handler.

Plays with a track id (extended history) are stored at once with a track stub; the ETL's
tracks step fills in the rest in batches.  Plays known only by names (account data, local
files) are resolved by :class:`TrackResolver`: stored tracks first (one query per chunk), then
Spotify's search (``SpotifyClient.find_track``: paced, within a development-mode app's search
limit), one call per distinct (track, artist) pair, and a hit stored as a full track.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from peewee import Case, chunked, fn

from models.accounts import grants, uploads
from models.imports.listening import NOTHING_SAID
from models.imports.privacy_export import (
    CHAPTER,
    DEFAULT_LIMITS,
    EPISODE,
    EXTENDED,
    LOCAL,
    TRACK,
    Export,
    ExportError,
    ExportPlay,
    Limits,
    read_export,
)
from models.ingest import gaps, streams
from models.ingest.catalogue import ensure_track_stubs, upsert_tracks, write_transaction
from models.ingest.plays import Row, store_rows
from models.ingest.provisional import fold as _fold
from models.jobs import queue
from models.schema.db import naive_utc, utcnow
from models.schema.tables import (
    HOW_YOU_LISTEN,
    Artist,
    ImportJob,
    Job,
    Play,
    Track,
    TrackArtist,
    User,
)
from spotify.errors import RateLimited, ReauthorizationNeeded, RetryLater, SpotifyError

log = logging.getLogger(__name__)

SOURCE = "import"
KIND = "import"  # the queue's kind of an import job
# Plays with track ids per transaction.  Each SQLite commit past 1,000 WAL pages checkpoints,
# rewriting the same index pages again: 5,000 a chunk spent 0.5 s of a 100k import committing.
CHUNK_SIZE = 25_000
NAMED_CHUNK_SIZE = 200  # name-only plays: each may wait on a search, so commit (and show) often
STALE_AFTER = timedelta(minutes=5)  # a running job whose heartbeat is older died
HEARTBEAT_SECONDS = 20.0
RETRY_DEFAULT = timedelta(minutes=15)  # when Spotify is down and gave no Retry-After
# An account-data play is placed mid-minute; the same listen stored with an exact time is
# within 30 s of it, so a stored play of a candidate track this close is that listen.
NEAR = timedelta(seconds=60)
UNRESOLVED_KEPT = 2_000  # unresolved names remembered in the report (not searched again)
# Seconds between searches: Spotify limits an app over a rolling 30 s window, and an account-data
# history can need thousands of searches, so they are spread out instead of burst.
SEARCH_INTERVAL = 0.25
ACTIVE = ("checking", "pending", "running", "waiting")
NO_SEARCH = (
    "Spotify could not be asked about tracks known only by name (no Spotify login "
    "for this account, or it needs renewing)."
)


class ImportInProgress(Exception):
    """The user already has an import running; one at a time keeps progress readable."""


# -- jobs ------------------------------------------------------------------------------------
def file_digest(path: str | Path) -> str:
    """SHA-256 of a file, or of a folder's files (names and contents), to know it on resume."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def accept_upload(user: User, path: str | Path, *, file_name: str | None = None) -> ImportJob:
    """Record a job that is ``checking`` the stored upload at ``path``, and queue it.

    What the web page calls: the export is not read here (only hashed, to know it again), so
    the request answers at once whatever the file holds; the worker validates it before it
    stores a play (:func:`run_job`), and a refused file ends the job ``refused`` with its
    message.  Raises :class:`ImportInProgress` if an import of the user's is unfinished.
    """
    return _record(user, Path(path), file_name, status="checking")


def create_job(
    user: User,
    path: str | Path,
    *,
    file_name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> tuple[ImportJob, Export]:
    """Validate the export at ``path`` for ``user`` and record a pending job for it.

    For callers that run the import in their own process (the Luigi task, the demo, tests):
    the export is read here.  Raises :class:`ExportError` (nothing recorded) for anything that
    is not a usable export of this user's, and :class:`ImportInProgress` if one of theirs is
    still running.
    """
    path = Path(path)
    export = read_export(path, username=user.spotify_id, limits=limits, now=now, name=file_name)
    job = _record(
        user,
        path,
        file_name,
        status="pending",
        entries_total=len(export.plays),
        report=json.dumps(export.summary()),
    )
    return job, export


def _record(user: User, path: Path, file_name: str | None, **fields) -> ImportJob:
    """The job row and its queue row in one transaction: no job is ever recorded that no
    worker will run."""
    digest, size = file_digest(path), _size(path)
    with write_transaction():
        if active_job(user.id) is not None:
            raise ImportInProgress(
                "An import of yours is not finished yet: wait for it (or "
                "resume it from its page) before starting another."
            )
        job = ImportJob.create(
            user=user,
            file_name=file_name or path.name,
            file_path=str(path.resolve()),
            file_sha256=digest,
            file_size=size,
            **fields,
        )
        queue_job(job.id)
    return job


def queue_job(job_id: int, run_after: datetime | None = None) -> Job:
    """Queue the import for a worker (again): a listener waits for it."""
    return queue.enqueue(KIND, job_id, priority=queue.LISTENER_WAITING, run_after=run_after)


def is_queued(job_id: int) -> bool:
    """Whether a worker has the job queued or running (the page offers no resume then)."""
    return queue.active(KIND, job_id) is not None


def work_slice(work: queue.Slice, *, search_interval: float = SEARCH_INTERVAL):
    """The queue's handler: import until the job ends or another job should go first.

    Returns ``queue.Again`` while the job is unfinished: at once after yielding, at
    ``resume_at`` when Spotify asked to wait, and, when another process holds the job, at the
    moment its heartbeat would be stale (a live holder finishes it; a dead one is taken over).
    """
    job = ImportJob.get_or_none(ImportJob.id == int(work.job.target))
    if job is None:  # deleted with its account
        return None
    client = client_for(work.settings, job.user_id, search_interval)
    ended = run_job(job.id, client=client, should_stop=work.should_yield)
    uploads.forget_upload(ended, work.settings.data_dir)
    if ended.status == "pending":
        return queue.Again()
    if ended.status == "waiting":
        return queue.Again(at=ended.resume_at)
    if ended.status in ("checking", "running"):  # another process holds it
        return queue.Again(at=max(ended.updated_at + STALE_AFTER, utcnow()))
    return None


def active_job(user_id: int, now: datetime | None = None) -> ImportJob | None:
    """The user's unfinished job that is still alive (a dead ``running`` one does not count)."""
    stale = (now or utcnow()) - STALE_AFTER
    return (
        ImportJob.select()
        .where(
            (ImportJob.user == user_id)
            & ImportJob.status.in_(ACTIVE)
            & ((ImportJob.status != "running") | (ImportJob.updated_at >= stale))
        )
        .order_by(ImportJob.id.desc())
        .first()
    )


def jobs_of(user_id: int, limit: int = 20) -> list[ImportJob]:
    return list(
        ImportJob.select()
        .where(ImportJob.user == user_id)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    )


def job_of(user_id: int, job_id: int) -> ImportJob | None:
    """The job if it belongs to ``user_id``; None otherwise (the shells answer 404)."""
    return ImportJob.get_or_none((ImportJob.id == job_id) & (ImportJob.user == user_id))


def _may_start(now: datetime):
    """Jobs that may (re)start: pending, waiting past ``resume_at``, running but dead, and
    checking if nobody started the check or its checker died."""
    stale = ImportJob.updated_at < now - STALE_AFTER
    return (
        (ImportJob.status == "pending")
        | ((ImportJob.status == "checking") & (ImportJob.started_at.is_null() | stale))
        | (
            (ImportJob.status == "waiting")
            & (ImportJob.resume_at.is_null() | (ImportJob.resume_at <= now))
        )
        | ((ImportJob.status == "running") & stale)
    )


def resumable_jobs(now: datetime | None = None) -> list[ImportJob]:
    """Jobs to (re)start now, oldest first (``ResumeImports``, the page's resume button)."""
    return list(ImportJob.select().where(_may_start(now or utcnow())).order_by(ImportJob.id))


def status_of(job: ImportJob) -> dict:
    """What the page and its polling endpoint show: counters, percentage, report when done."""
    report = job.report_data
    total = job.entries_total
    direct = report.get("direct", total)  # jobs from before the two parts: all direct
    return {
        "id": job.id,
        "status": job.status,
        "file_name": job.file_name,
        "entries_total": total,
        "entries_done": job.entries_done,
        "percent": _percent(job),
        # the two parts: streams stored as they are, then name-only plays searched for
        "direct_total": direct,
        "direct_done": min(job.entries_done, direct),
        "named_total": total - direct,
        "named_done": max(job.entries_done - direct, 0),
        "kept": report.get("kept", {}),
        "kinds": report.get("kinds", {}),
        "plays_added": job.plays_added,
        "duplicates": job.duplicates,
        "unresolved": job.unresolved,
        "skipped": report.get("skipped_total", 0),
        "skipped_by_reason": report.get("skipped", {}),
        "first_played_at": report.get("first_played_at"),
        "last_played_at": report.get("last_played_at"),
        "unresolved_tracks": report.get("unresolved_tracks", [])[:50],
        "searches": report.get("searches", 0),
        "search_error": report.get("search_error"),
        "gaps_filled": report.get("gaps_filled", 0),
        "gaps_shortened": report.get("gaps_shortened", 0),
        "error": job.error,
        "resume_at": job.resume_at.isoformat() if job.resume_at else None,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _percent(job: ImportJob) -> float:
    if job.status in ("checking", "refused"):  # no count of plays yet, or none to come
        return 0
    if job.entries_total == 0:
        return 100
    return round(100 * job.entries_done / job.entries_total, 1)


def _claim(job_id: int, now: datetime) -> bool:
    """Mark the job running if nobody else runs it (one UPDATE, so two workers cannot both win).

    A job being checked stays ``checking`` (the page says so) until its file is found valid.
    """
    with write_transaction():
        claimed = (
            ImportJob.update(
                status=Case(ImportJob.status, [("checking", "checking")], "running"),
                updated_at=now,
                error=None,
                resume_at=None,
                started_at=fn.COALESCE(ImportJob.started_at, now),
            )
            .where((ImportJob.id == job_id) & _may_start(now))
            .execute()
        )
    return claimed == 1


def _finish(job_id: int, **fields) -> None:
    fields.setdefault("updated_at", utcnow())
    with write_transaction():
        ImportJob.update(**fields).where(ImportJob.id == job_id).execute()


class _LostClaim(Exception):
    """Another worker took the job over (ours was presumed dead): stop without writing."""


def run_job(
    job_id: int,
    *,
    client=None,
    export: Export | None = None,
    chunk_size: int = CHUNK_SIZE,
    named_chunk_size: int = NAMED_CHUNK_SIZE,
    should_stop: Callable[[], bool] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ImportJob:
    """Import (or resume) job ``job_id``; returns the job as it ended.

    ``client`` is a ``spotify.client.SpotifyClient`` for the job's user, used to search for
    plays known only by names; without one those stay unresolved.  ``export`` skips re-reading
    the file when the caller just validated it.  ``should_stop`` is asked between chunks: a
    stopped job goes back to ``pending`` and resumes from where it stopped.

    A ``checking`` job (an upload from the page) reads and validates its file first: a file
    that is not a usable export ends ``refused`` with the message for the listener, nothing
    stored; a valid one goes on at once with the export just read.

    Ends ``done``; ``waiting`` when Spotify asked us to stop calling (``resume_at`` says until
    when); ``failed`` if the stored file is gone or changed.  Unexpected errors mark the job
    ``failed`` and propagate.
    """
    if not _claim(job_id, utcnow()):
        return ImportJob.get_by_id(job_id)
    job = ImportJob.get_by_id(job_id)
    checking = job.status == "checking"
    try:
        if checking:
            export = _check(job, limits)
            job = ImportJob.get_by_id(job_id)
        elif export is None:
            export = _reread(job, limits)
        _import_chunks(job, export, client, chunk_size, named_chunk_size, should_stop)
    except RetryLater as exc:
        resume_at = naive_utc(exc.resume_at) if exc.resume_at else utcnow() + RETRY_DEFAULT
        log.info("import %s waits for Spotify until %s", job_id, resume_at)
        _finish(job_id, status="waiting", resume_at=resume_at, error=wait_message(exc, resume_at))
    except ExportError as exc:
        status = "refused" if checking else "failed"
        _finish(job_id, status=status, error=str(exc), finished_at=utcnow())
    except _LostClaim:
        log.warning("import %s was taken over by another worker", job_id)
    except Exception as exc:
        log.exception("import %s failed", job_id)
        _finish(
            job_id,
            status="failed",
            error=f"Internal error: {type(exc).__name__}",
            finished_at=utcnow(),
        )
        raise
    return ImportJob.get_by_id(job_id)


def wait_message(exc: RetryLater, resume_at: datetime) -> str:
    """What a paused import tells the listener: what happened, and when it goes on."""
    when = f"{resume_at:%Y-%m-%d %H:%M} UTC"
    if isinstance(exc, RateLimited):
        what = f"Spotify asked us to wait (Retry-After {exc.retry_after:.0f} s) until {when}"
    elif exc.status is None:
        what = f"No connection to Spotify ({exc.message}); trying again at {when}"
    else:
        what = f"Spotify is unavailable (HTTP {exc.status}); trying again at {when}"
    return (
        f"{what}. Only the plays known by name alone wait for it: everything else is stored. "
        "The import goes on by itself."
    )


def _check(job: ImportJob, limits: Limits) -> Export:
    """Validate a ``checking`` job's upload (what the page's request once did) and record what
    it holds; the job is then ``running``, under this worker's claim."""
    export = _read_stored(job, limits, now=job.created_at)
    with write_transaction():
        moved = (
            ImportJob.update(
                status="running",
                entries_total=len(export.plays),
                report=json.dumps(export.summary()),
                updated_at=utcnow(),
            )
            .where((ImportJob.id == job.id) & (ImportJob.status == "checking"))
            .execute()
        )
    if moved != 1:
        raise _LostClaim()
    return export


def _reread(job: ImportJob, limits: Limits) -> Export:
    # A day later than the check's "now": an entry valid then is valid now.
    export = _read_stored(job, limits, now=job.created_at + timedelta(days=1))
    if len(export.plays) != job.entries_total:
        raise ExportError("The stored file no longer reads the same; upload it again.")
    return export


def _read_stored(job: ImportJob, limits: Limits, now: datetime) -> Export:
    path = Path(job.file_path)
    if not path.exists():
        raise ExportError("The uploaded file is no longer stored; upload it again.")
    if file_digest(path) != job.file_sha256:
        raise ExportError("The stored file changed since it was uploaded; upload it again.")
    return read_export(
        path,
        username=job.user.spotify_id,
        limits=limits,
        name=job.file_name,
        now=now,
        heartbeat=lambda: _beat(job.id),
    )


def _chunks(total: int, named_from: int, start: int, size: int, named_size: int):
    """(start, end) of each chunk from ``start``: the same boundaries on every run.

    A chunk holds streams of one part (stored at once before ``named_from``, names only to
    search from there on), so the extended part of an export is committed before the account
    data that may repeat it.
    """
    position = start
    while position < total:
        named = position >= named_from
        end = min(position + (named_size if named else size), total)
        if not named:
            end = min(end, named_from)
        yield position, end
        position = end


class _Chunk:
    """The rows one chunk of the export writes, by table, built before its transaction."""

    def __init__(self) -> None:
        self.plays: list[Row] = []
        self.how_values: dict[int, tuple] = {}
        self.kept_alive: list = []
        self.stubs: dict[str, dict] = {}
        self.short: list[dict] = []
        self.local: list[ExportPlay] = []
        self.episodes: list[ExportPlay] = []
        self.chapters: list[ExportPlay] = []
        self.unresolved = 0

    def add(self, play: ExportPlay, track_id: str | None) -> None:
        kind = play.kind
        if kind == EPISODE:
            self.episodes.append(play)
        elif kind == CHAPTER:
            self.chapters.append(play)
        elif kind == LOCAL:
            self.local.append(play)
        elif track_id is None:
            self.unresolved += 1
        else:
            if kind == TRACK and track_id not in self.stubs:
                self.stubs[track_id] = {
                    "id": track_id,
                    "name": play.names[0],
                    "artist_name": play.names[1],
                    "album_name": play.names[2],
                }
            if play.short:
                self.short.append(_row(play, track_id))
            else:
                self.plays.append(self._play_row(play, track_id))

    def _play_row(self, play: ExportPlay, track_id: str) -> Row:
        """The row ``store_rows`` takes; the how-you-listen values of an export repeat (a few
        hundred distinct among 100,000s of plays), so each is made once per chunk."""
        how = play.how
        values = self.how_values.get(id(how))
        if values is None:
            values = () if how is NOTHING_SAID else tuple(getattr(how, n) for n in HOW_YOU_LISTEN)
            self.how_values[id(how)] = values
            self.kept_alive.append(how)  # its id stays its own while the chunk lives
        return (track_id, play.played_at, play.ms_played, None, values)

    def store(self, user_id: int) -> tuple[tuple[int, int], Counter]:
        """Write the chunk (in the caller's transaction): (plays added, duplicates, other
        streams kept by kind)."""
        kept: Counter = Counter()
        ensure_track_stubs(self.stubs.values())
        if self.local:
            ids = streams.ensure_local_tracks(user_id, {p.names for p in self.local})
            for play in self.local:
                if play.short:
                    self.short.append(_row(play, ids[play.names]))
                else:
                    self.plays.append(self._play_row(play, ids[play.names]))
        stored = store_rows(user_id, self.plays, SOURCE) if self.plays else None
        kept["short"] += streams.store_short_streams(user_id, self.short)
        if self.episodes:
            episode_ids = streams.ensure_episodes((p.names, p.track_id) for p in self.episodes)
            rows = [_row(p, episode_ids[p.names]) for p in self.episodes]
            kept["episode"] += streams.store_episode_plays(user_id, rows)
        if self.chapters:
            keys = [(p.names, p.track_id, p.parent) for p in self.chapters]
            chapter_ids = streams.ensure_chapters(keys)
            rows = [_row(p, chapter_ids[k]) for p, k in zip(self.chapters, keys, strict=True)]
            kept["chapter"] += streams.store_chapter_plays(user_id, rows)
        if stored is not None:
            kept["filled"] += stored.filled
        return (stored.added, stored.duplicates) if stored else (0, 0), kept


def _row(play: ExportPlay, key: str) -> dict:
    """The row ``streams``' writers take (``key``: the track, episode or chapter id)."""
    return {
        "key": key,
        "played_at": play.played_at,
        "ms_played": play.ms_played,
        "how": None if play.how is NOTHING_SAID else play.how.columns(),
    }


def _import_chunks(job, export, client, chunk_size, named_chunk_size, should_stop) -> None:
    report = job.report_data
    resolver = TrackResolver(
        job.user_id, client, report.get("unresolved_tracks", []), heartbeat=lambda: _beat(job.id)
    )
    plays = export.plays
    if export.named:
        resolver.learn(plays)
    searches = report.get("searches", 0)
    chunks = _chunks(len(plays), plays.named_from, job.entries_done, chunk_size, named_chunk_size)
    for start, end in chunks:
        chunk = plays[start:end]
        # Only a chunk of name-only plays may call Spotify: the rest is stored as it is.
        track_ids = (
            resolver.resolve(chunk) if chunk[0].needs_search else [p.track_id for p in chunk]
        )
        rows = _Chunk()
        for play, track_id in zip(chunk, track_ids, strict=True):
            rows.add(play, track_id)
        report["unresolved_tracks"] = resolver.unresolved_report()
        report["searches"] = searches + resolver.searches
        if resolver.search_error:
            report["search_error"] = resolver.search_error
        with write_transaction():
            (added, duplicates), kept = rows.store(job.user_id)
            report["kept"] = dict(Counter(report.get("kept", {})) + kept)
            moved = (
                ImportJob.update(
                    entries_done=end,
                    updated_at=utcnow(),
                    report=json.dumps(report),
                    plays_added=ImportJob.plays_added + added,
                    duplicates=ImportJob.duplicates + duplicates,
                    unresolved=ImportJob.unresolved + rows.unresolved,
                )
                .where(
                    (ImportJob.id == job.id)
                    & (ImportJob.entries_done == start)
                    & (ImportJob.status == "running")
                )
                .execute()
            )
            if moved != 1:
                raise _LostClaim()  # rolls the chunk back: the other worker stores it
        if should_stop is not None and end < len(plays) and should_stop():
            _finish(job.id, status="pending")
            return
    _finish_done(job.id, job.user_id, export)


def _finish_done(job_id: int, user_id: int, export: Export) -> None:
    """The job is done, and the sync gaps its export covers are filled or shortened with it
    (``models.ingest.gaps.cover``: one transaction, so a resumed job covers them too)."""
    with write_transaction():
        report = ImportJob.get_by_id(job_id).report_data
        first, last = export.first_played_at, export.last_played_at
        if first is not None and last is not None:
            covered = gaps.cover(
                user_id,
                first,
                last,
                since_account_began=any(f.kind == EXTENDED for f in export.files),
            )
            report["gaps_filled"], report["gaps_shortened"] = covered.filled, covered.shortened
        _finish(job_id, status="done", finished_at=utcnow(), report=json.dumps(report))


def _beat(job_id: int) -> None:
    ImportJob.update(updated_at=utcnow()).where(ImportJob.id == job_id).execute()


# -- names to tracks -------------------------------------------------------------------------
def _closest(played_at: datetime, candidates: list[str], near: dict[str, list]) -> str:
    """The candidate with a stored play nearest ``played_at`` (within NEAR), else the first."""
    best, best_gap = candidates[0], NEAR
    for track_id in candidates:
        for other in near.get(track_id, ()):
            gap = abs(other - played_at)
            if gap <= best_gap:
                best, best_gap = track_id, gap
    return best


class TrackResolver:
    """Track ids for export plays: their own id, a stored track of that name, or a search hit.

    One (track, artist) name can fit several tracks (the album version and the single): each
    play then takes the candidate with a stored play within :data:`NEAR` of it (the same
    listen, stored from the API or the export's extended part), else the one the user played
    most.  Answers are remembered for the whole run; names that found nothing are kept in the
    job's report so a resumed job does not search for them again.
    """

    def __init__(
        self,
        user_id: int,
        client=None,
        unresolved: Iterable[dict] = (),
        heartbeat: Callable[[], None] | None = None,
    ):
        self.user_id = user_id
        self.client = client
        self.heartbeat = heartbeat
        self.known: dict[tuple[str, str], list[str]] = {}  # candidates, best first; [] = none
        self.unresolved_plays: dict[tuple[str, str], list] = {}
        for item in unresolved:
            key = (_fold(item["track"]), _fold(item["artist"]))
            self.known[key] = []
            self.unresolved_plays[key] = [item["track"], item["artist"], item.get("plays", 0)]
        self.searches = 0
        self.search_error: str | None = None
        self._last_beat = time.monotonic()

    def learn(self, plays: Iterable[ExportPlay]) -> None:
        """Names and ids the export's own extended entries pair up, for its name-only plays
        (an upload with both kinds of history: the account data then needs no search)."""
        counts: dict[tuple[str, str], Counter] = {}
        folded: dict[tuple, tuple[str, str]] = {}
        for play in plays:
            if play.kind == TRACK:
                key = folded.get(play.names)
                if key is None:
                    key = folded[play.names] = (_fold(play.names[0]), _fold(play.names[1]))
                counts.setdefault(key, Counter())[play.track_id] += 1
        for key, ids in counts.items():
            if not self.known.get(key):
                self.known[key] = [i for i, _ in sorted(ids.items(), key=lambda c: (-c[1], c[0]))]
                self.unresolved_plays.pop(key, None)

    def resolve(self, plays: list[ExportPlay]) -> list[str | None]:
        keys = [(_fold(p.names[0]), _fold(p.names[1])) if p.needs_search else None for p in plays]
        wanted: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        for play, key in zip(plays, keys, strict=True):
            if key is not None and key not in self.known:
                wanted.setdefault(key, play.names)
        if wanted:
            self.known.update(self._stored(wanted))
            for key, names in wanted.items():
                if key not in self.known:
                    found = self._search(names)
                    self.known[key] = [found] if found else []
        near = self._stored_near(
            [
                p
                for p, k in zip(plays, keys, strict=True)
                if k is not None and len(self.known[k]) > 1
            ],
            {t for k in keys if k is not None for t in self.known[k]},
        )
        resolved: list[str | None] = []
        for play, key in zip(plays, keys, strict=True):
            if key is None:
                resolved.append(play.track_id)
                continue
            candidates = self.known[key]
            if not candidates:
                entry = self.unresolved_plays.setdefault(key, [play.names[0], play.names[1], 0])
                entry[2] += 1
                resolved.append(None)
            else:
                resolved.append(_closest(play.played_at, candidates, near))
        return resolved

    def unresolved_report(self) -> list[dict]:
        items = sorted(self.unresolved_plays.values(), key=lambda e: (-e[2], e[1], e[0]))
        return [{"track": t, "artist": a, "plays": n} for t, a, n in items[:UNRESOLVED_KEPT]]

    def _stored(self, wanted: dict[tuple[str, str], tuple]) -> dict[tuple[str, str], list[str]]:
        """Stored tracks by track and artist name, case-insensitively; the user's own first.

        Names are matched exactly or by SQL LOWER() (ASCII-only on SQLite), then compared again
        with Python's casefold, so both engines give the same answer.
        """
        names = sorted({n[0] for n in wanted.values()} | {n[0].lower() for n in wanted.values()})
        candidates: dict[tuple[str, str], list[str]] = {}
        for batch in chunked(names, 400):
            query = (
                Track.select(Track.id, Track.name, Artist.name)
                .join(TrackArtist, on=TrackArtist.track == Track.id)
                .join(Artist, on=Artist.id == TrackArtist.artist)
                .where(Track.name.in_(batch) | fn.LOWER(Track.name).in_(batch))
            )
            for track_id, track_name, artist_name in query.tuples():
                key = (_fold(track_name), _fold(artist_name))
                if key in wanted and track_id not in candidates.get(key, ()):
                    candidates.setdefault(key, []).append(track_id)
        ambiguous = sorted({t for ids in candidates.values() if len(ids) > 1 for t in ids})
        plays_of = {}
        for batch in chunked(ambiguous, 400):
            plays_of.update(
                Play.select(Play.track, fn.COUNT(Play.id))
                .where((Play.user == self.user_id) & Play.track.in_(batch))
                .group_by(Play.track)
                .tuples()
            )
        return {
            key: sorted(ids, key=lambda t: (-plays_of.get(t, 0), t))
            for key, ids in candidates.items()
        }

    def _stored_near(self, plays: list[ExportPlay], track_ids: set[str]) -> dict[str, list]:
        """Stored plays of ``track_ids`` around ``plays``: {track id: [played_at, ...]}."""
        if not plays:
            return {}
        low = min(p.played_at for p in plays) - NEAR
        high = max(p.played_at for p in plays) + NEAR
        near: dict[str, list] = {}
        for batch in chunked(sorted(track_ids), 400):
            query = Play.select(Play.track, Play.played_at).where(
                (Play.user == self.user_id)
                & Play.track.in_(batch)
                & (Play.played_at >= low)
                & (Play.played_at <= high)
            )
            for track_id, played_at in query.tuples():
                near.setdefault(track_id, []).append(played_at)
        return near

    def _search(self, names: tuple) -> str | None:
        """One search call (``SpotifyClient.find_track``); a hit is stored at once."""
        if self.client is None:
            self.search_error = NO_SEARCH
        if self.search_error is not None:
            return None
        self._maybe_beat()
        self.searches += 1
        try:
            track = self.client.find_track(names[0], names[1])
        except RetryLater:
            raise
        except SpotifyError as exc:
            # Not worth failing the import over: the rest stays unresolved and the report says
            # why.  A dead grant also flags the user, as the ETL does, so the site asks them to
            # log in again.
            self.search_error = f"Spotify refused: {exc}"
            log.warning("search stopped for user %s: %s", self.user_id, exc)
            if isinstance(exc, ReauthorizationNeeded):
                grants.flag_reauth(self.user_id, exc.message)
            return None
        if track is None:
            return None
        upsert_tracks([track])
        return track["id"]

    def _maybe_beat(self) -> None:
        if self.heartbeat and time.monotonic() - self._last_beat > HEARTBEAT_SECONDS:
            self.heartbeat()
            self._last_beat = time.monotonic()


def client_for(settings, user_id: int, min_interval: float = SEARCH_INTERVAL):
    """A Spotify client for the user's stored grant (``models.accounts.grants``), or None: no
    grant, the user must log in again, or the grant cannot be decrypted (the user is flagged).

    The import searches Spotify at its own pace (``min_interval``), so it has its own app.
    """
    from spotify.client import SpotifyApp  # loads requests: only when a client is wanted

    try:
        return grants.client(SpotifyApp.from_settings(settings, min_interval=min_interval), user_id)
    except grants.GrantLost:
        return None
