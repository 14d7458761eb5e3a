"""How many Spotify calls the ETL makes, beside the fewest any ETL could make, in both app modes.

    python -m bench.etl_calls [--listeners 120] [--days 3] [--every 1] [--mode both]
                              [--rate-limit N] [--workers N] [--scheduler local|luigid]
                              [--profile] [--database-url URL]

For each app mode it starts a sandbox Spotify (``spotify.sandbox``) with ``--listeners``
listeners who all log in, then runs the real Luigi DAG (``batch.SpotifyEtl``, local scheduler)
every ``--every`` hours of sandbox clock for ``--days`` days, on a fresh database (a temporary
SQLite file unless ``--database-url`` names an empty one).  It prints, per endpoint, the calls
the sandbox counted and the lower bound computed from the sandbox's own world, independently of
the ETL:

* ``recently_played``: one page per user and run (Spotify shows at most 50 plays, one page);
* ``token``: one refresh per user and run whose access token (1 h) has expired by then;
* ``audio_features``: per run, ceil(tracks first seen in that run / 100), extended mode; in
  development mode one call, to learn that features are closed;
* ``artists``: per run, ceil(artists first seen / 50), extended mode; in development mode one
  batch call to learn it is refused, and ``artist``: one single read per artist first seen;
* ``tracks``/``track``: 0 (recently-played items carry full track objects).

then their ratio (target 1.00), the 429 answers at the sandbox's rate limit (default: the
sandbox's own default; ``--rate-limit N`` sets N calls per 30 s and paces the ETL to match), and
the wall time: in all, a run (the first, a first sync of every listener, apart) and per
listener.  ``--scheduler luigid`` runs the DAG through a real central scheduler (``luigid`` on a
free port, started and stopped by the benchmark; its own CPU seconds are printed) instead of
the local one.  The sandbox serves from its own process, as Spotify would, so its work does not
compete with the ETL's scheduling for this process's interpreter.

``--profile`` runs every process that schedules or runs tasks under cProfile (the task
processes ``--workers N`` forks too) and splits the time: inside the tasks' ``run()`` (Spotify
HTTP, pacing waits, database, the rest) and outside it (Luigi's scheduling: dependency and
completion checks, the RPCs to luigid, forking task processes).  The profiler slows Python
down, so time runs without it.  The ETL re-asks a refused capability once a day, so
development-mode runs over several days land a few calls above the bound.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import logging
import math
import multiprocessing
import os
import pstats
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import luigi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import settings as settings_module
from musicbrainz.sandbox.testing import MusicBrainzSandbox
from spotify.sandbox.catalogue import to_ms
from spotify.sandbox.testing import SandboxServer

START = dt.datetime(2026, 11, 2, 0, 0)
TOKEN_LIFETIME = dt.timedelta(hours=1)
TOKEN_LEEWAY = dt.timedelta(seconds=60)  # the client refreshes a token this close to expiry
ENDPOINTS = ("recently_played", "token", "audio_features", "artists", "artist", "tracks", "track")


@dataclass
class Split:
    """Where the profiled runs' time went (cProfile's wall-clock seconds, summed over the
    scheduling process and the task processes)."""

    processes: int = 0
    total: float = 0.0  # every profiled process, start to end
    bodies: float = 0.0  # inside the tasks' run()
    http: float = 0.0  # Spotify: requests' Session.request, less luigid RPCs
    pacing: float = 0.0  # sleeping until a Spotify call's slot (spotify.client)
    database: float = 0.0  # peewee execute_sql, commit, connect
    rpc: float = 0.0  # the worker's requests to luigid (luigi.rpc)
    idle: float = 0.0  # the scheduling process waiting for a task process to finish

    def add(self, stats: pstats.Stats) -> None:
        timings = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}

        def cumulative(test) -> float:
            return sum(t[3] for (path, _, name), t in timings.items() if test(path, name))

        def sep(*parts: str) -> str:
            return os.sep + os.sep.join(parts)

        self.processes += 1
        self.total += stats.total_tt  # type: ignore[attr-defined]
        self.bodies += cumulative(lambda p, n: n == "run" and sep("batch", "") in p)
        rpc = cumulative(lambda p, n: n == "_request" and p.endswith(sep("luigi", "rpc.py")))
        self.rpc += rpc
        self.http += (
            cumulative(lambda p, n: n == "request" and p.endswith(sep("requests", "sessions.py")))
            - rpc
        )
        # the client sleeps until its booked slot (in ``send``; the booking itself is database)
        self.pacing += sum(
            caller[3]
            for (_, _, name), t in timings.items()
            if name == "<built-in method time.sleep>"
            for (caller_path, _, _), caller in t[4].items()
            if caller_path.endswith(sep("spotify", "client.py"))
        )
        self.database += cumulative(
            lambda p, n: p.endswith("peewee.py") and n in ("execute_sql", "commit", "_connect")
        )
        # luigi's worker loop blocks on the queue of finished task processes and sleeps between
        # asks for work: time spent waiting, counted where luigi's own code waits.
        self.idle += sum(
            caller[3]
            for (path, _, name), t in timings.items()
            if name == "<built-in method time.sleep>"
            or (name == "get" and path.endswith("queues.py"))
            for (caller_path, _, _), caller in t[4].items()
            if sep("luigi", "") in caller_path
        )

    @property
    def scheduling(self) -> float:
        """Outside the task bodies and not idle: Luigi's own work, RPCs included."""
        return self.total - self.bodies - self.idle

    def lines(self, wall: float, runs: int) -> list[str]:
        other = self.bodies - self.http - self.pacing - self.database
        busy = self.bodies + self.scheduling
        return [
            f"profile ({self.processes} processes, cProfile wall-clock seconds a run): "
            f"task bodies {self.bodies / runs:.2f} (Spotify HTTP {self.http / runs:.2f}, "
            f"pacing {self.pacing / runs:.2f}, database {self.database / runs:.2f}, "
            f"other {other / runs:.2f}); scheduling {self.scheduling / runs:.2f} "
            f"(luigid RPC {self.rpc / runs:.2f}); idle {self.idle / runs:.2f}",
            f"scheduling share: {self.scheduling / busy:.0%} of the busy time "
            f"(HTTP and pacing {(self.http + self.pacing) / busy:.0%}, "
            f"database {self.database / busy:.0%}); profiled wall {wall / runs:.1f} s a run",
        ]


@dataclass
class Figures:
    mode: str
    listeners: int
    runs: int
    calls: Counter
    bound: Counter
    rate_limited: int
    seconds: float
    plays: int = 0
    notes: list[str] = field(default_factory=list)
    run_seconds: list[float] = field(default_factory=list)
    scheduler: str = "local"
    workers: int = 1
    luigid_cpu: float | None = None  # seconds of CPU luigid used over all runs
    cpu_seconds: float = 0.0  # CPU of this process and the task processes it forked, all runs
    split: Split | None = None

    @property
    def total(self) -> int:
        return sum(self.calls[e] for e in ENDPOINTS)

    @property
    def total_bound(self) -> int:
        return sum(self.bound[e] for e in ENDPOINTS)

    @property
    def ratio(self) -> float:
        return self.total / self.total_bound if self.total_bound else float("nan")


def run_hours(days: float, every: float) -> list[dt.datetime]:
    count = int(days * 24 / every)
    return [START + dt.timedelta(hours=every * n) for n in range(count)]


def lower_bound(
    world, listener_ids: list[str], hours: list[dt.datetime], mode: str
) -> tuple[Counter, int]:
    """The fewest calls that read every visible play and complete the catalogue each run."""
    bound: Counter = Counter()
    listeners = [world.listener_by_id[i] for i in listener_ids]
    cursors: dict[str, int] = {}
    token_expiry = dict.fromkeys(listener_ids, hours[0] + TOKEN_LIFETIME)  # granted at the start
    seen_tracks: set[int] = set()
    seen_artists: set[int] = set()
    plays = 0
    for hour in hours:
        now_ms = to_ms(hour.replace(tzinfo=dt.UTC))
        new_tracks: set[int] = set()
        for listener in listeners:
            bound["recently_played"] += 1
            if hour >= token_expiry[listener.id] - TOKEN_LEEWAY:
                bound["token"] += 1
                token_expiry[listener.id] = hour + TOKEN_LIFETIME
            visible = world.last_plays(listener, now_ms)
            cursor = cursors.get(listener.id)
            fresh = [s for s in visible if cursor is None or s.played_at_ms > cursor]
            if fresh:
                cursors[listener.id] = max(s.played_at_ms for s in fresh)
            plays += len(fresh)
            new_tracks.update(s.track for s in fresh if s.track not in seen_tracks)
        new_artists: set[int] = set()
        for t in new_tracks:
            track = world.tracks[t]
            new_artists.update(
                a
                for a in (*track.artists, *world.albums[track.album].artists)
                if a not in seen_artists
            )
        seen_tracks |= new_tracks
        seen_artists |= new_artists
        if mode == "extended":
            bound["audio_features"] += math.ceil(len(new_tracks) / 100)
            bound["artists"] += math.ceil(len(new_artists) / 50)
        else:
            bound["artist"] += len(new_artists)
    if mode == "development":
        bound["audio_features"] = 1 if seen_tracks else 0  # learn once that they are closed
        bound["artists"] = 1 if seen_artists else 0  # learn once that batch reads are refused
    return bound, plays


def cpu_used() -> float:
    """CPU seconds of this process and of its finished children (the task processes luigi
    forked and joined; the sandbox's process is still running, so it is not among them)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def profiled_task_processes(directory: Path) -> Iterator[None]:
    """Each task process luigi forks (``--workers N``) runs under cProfile, its stats saved in
    ``directory``; the scheduling process is profiled by the caller."""
    from luigi.worker import TaskProcess

    plain = TaskProcess.run

    def run(self):
        if not self.use_multiprocessing:  # in the scheduling process: profiled already
            return plain(self)
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(plain, self)
        finally:
            profiler.dump_stats(str(directory / f"task-{os.getpid()}-{time.monotonic_ns()}.prof"))

    TaskProcess.run = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        TaskProcess.run = plain  # type: ignore[method-assign]


def measure(
    settings,
    sandbox: SandboxServer,
    hours: list[dt.datetime],
    mode: str,
    *,
    listeners: int,
    workers: int = 1,
    rate_limit: int | None = None,
    luigid=None,
    profile_dir: Path | None = None,
) -> Figures:
    """Run the ETL at each hour against ``sandbox`` on the (migrated, empty) database, through
    ``luigid`` (a :class:`tests.etl_world.CentralScheduler`) or the local scheduler."""
    from batch import SpotifyEtl, runtime
    from models.schema.tables import Play
    from tests.etl_world import connect_listeners

    runtime.use(settings)
    sandbox.reset()
    sandbox.control(app_mode=mode, max_users=max(listeners, 5), rate_limit=rate_limit)
    sandbox.set_clock(hours[0].replace(tzinfo=dt.UTC))
    users = connect_listeners(sandbox, listeners)
    interval = 30.0 / rate_limit * 1.05 if rate_limit else 0.0
    luigi.configuration.get_config().set("etl", "call_interval", str(interval))
    scheduler = (
        {"scheduler_host": "127.0.0.1", "scheduler_port": luigid.port}
        if luigid is not None
        else {"local_scheduler": True}
    )
    luigid_before = luigid.cpu_seconds() if luigid is not None else 0.0
    profiler = cProfile.Profile() if profile_dir is not None else None
    failed = []
    run_seconds = []
    cpu_before = cpu_used()
    with profiled_task_processes(profile_dir) if profile_dir is not None else nullcontext():
        for hour in hours:
            sandbox.set_clock(hour.replace(tzinfo=dt.UTC))
            runtime.use(settings)
            began = time.monotonic()
            if profiler is not None:
                profiler.enable()
            result = luigi.build(
                [SpotifyEtl(hour=hour)],
                workers=workers,
                detailed_summary=True,
                log_level="ERROR",
                **scheduler,
            )
            if profiler is not None:
                profiler.disable()
            run_seconds.append(time.monotonic() - began)
            if result.status not in (luigi.LuigiStatusCode.SUCCESS,):
                failed.append(f"{hour:%Y-%m-%dT%H}: {result.status.name}")
    cpu_seconds = cpu_used() - cpu_before
    counted = sandbox.calls()
    calls = Counter({k: v for k, v in counted["calls"].items() if not k.startswith("429:")})
    bound, plays = lower_bound(sandbox.state.world, [u.spotify_id for u in users], hours, mode)
    figures = Figures(
        mode,
        listeners,
        len(hours),
        calls,
        bound,
        counted["rate_limited"],
        sum(run_seconds),
        plays=Play.select().count(),
        run_seconds=run_seconds,
        scheduler="luigid" if luigid is not None else "local",
        workers=workers,
        luigid_cpu=luigid.cpu_seconds() - luigid_before if luigid is not None else None,
        cpu_seconds=cpu_seconds,
    )
    if profiler is not None and profile_dir is not None:
        split = Split()
        profiler.create_stats()
        split.add(pstats.Stats(profiler))
        for path in sorted(profile_dir.glob("task-*.prof")):
            split.add(pstats.Stats(str(path)))
        figures.split = split
    if figures.plays != plays:
        figures.notes.append(f"stored {figures.plays} plays, the sandbox showed {plays}")
    figures.notes.extend(f"run {f}" for f in failed)
    return figures


def report(figures: Figures) -> str:
    lines = [
        f"== {figures.mode} mode: {figures.listeners} listeners, {figures.runs} runs, "
        f"{figures.plays} plays stored; {figures.scheduler} scheduler, "
        f"--workers {figures.workers} ==",
        f"{'endpoint':<18}{'calls':>8}{'bound':>8}{'ratio':>8}",
    ]
    for endpoint in ENDPOINTS:
        calls, bound = figures.calls[endpoint], figures.bound[endpoint]
        if calls or bound:
            ratio = f"{calls / bound:.2f}" if bound else "-"
            lines.append(f"{endpoint:<18}{calls:>8}{bound:>8}{ratio:>8}")
    lines.append(f"{'total':<18}{figures.total:>8}{figures.total_bound:>8}{figures.ratio:>8.3f}")
    lines.append(
        f"429 answers: {figures.rate_limited}   wall time: {figures.seconds:.1f} s "
        f"({figures.seconds / figures.runs:.2f} s a run)"
    )
    first, *later = figures.run_seconds or [figures.seconds]
    lines.append(
        f"first run (every listener's first sync): {first:.1f} s; "
        + (
            f"later runs: median {statistics.median(later):.1f} s, max {max(later):.1f} s, "
            f"{statistics.median(later) / figures.listeners * 1000:.1f} ms a listener"
            if later
            else "no later runs"
        )
    )
    lines.append(
        f"CPU a run: ETL processes {figures.cpu_seconds / figures.runs:.2f} s"
        + (
            f", luigid {figures.luigid_cpu / figures.runs:.2f} s"
            if figures.luigid_cpu is not None
            else ""
        )
        + f"   (load average {os.getloadavg()[0]:.1f})"
    )
    if figures.split is not None:
        lines.extend(figures.split.lines(figures.seconds, figures.runs))
    lines.extend(f"note: {note}" for note in figures.notes)
    return "\n".join(lines)


@contextmanager
def sandbox_process(**options) -> Iterator[SandboxServer]:
    """A sandbox serving from a child process, as Spotify serves from elsewhere: its work does
    not compete with the ETL's scheduling for this process's interpreter.  This process keeps
    the twin (the same seed makes the same world) for the lower bound and drives the server over
    HTTP, as it would one in a thread."""
    sandbox = SandboxServer(**options)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def serve() -> None:
        sandbox.start()
        sender.send(sandbox.url)
        threading.Event().wait()  # until terminated

    process = context.Process(target=serve, name="sandbox-spotify", daemon=True)
    process.start()
    try:
        sandbox.url = receiver.recv()
        yield sandbox
    finally:
        process.terminate()
        process.join(timeout=10)
        sandbox.stop()


def musicbrainz_report(mb) -> str:
    """The sandbox MusicBrainz's calls per endpoint and the enrichment's verdicts, as its
    steps logged them."""
    from models.schema.tables import EtlLog

    calls = Counter(mb.calls()["calls"])
    outcomes: Counter = Counter()
    steps: Counter = Counter()
    for log in EtlLog.select().where(EtlLog.step == "musicbrainz"):
        steps[log.status] += 1
        outcomes.update({k: v for k, v in (log.outcomes_data or {}).items() if "." in k})
    per_endpoint = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
    return (
        f"musicbrainz: {sum(calls.values())} calls ({per_endpoint}); "
        f"steps {dict(steps)}; verdicts {dict(sorted(outcomes.items()))}"
    )


def fresh_database(url: str | None, workdir: Path) -> str:
    from models.migrate import router
    from models.schema.db import init

    url = url or f"sqlite:///{workdir / 'bench.db'}"
    init(url)
    router().run()
    return url


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.etl_calls",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--listeners", type=int, default=120)
    parser.add_argument("--days", type=float, default=3)
    parser.add_argument("--every", type=float, default=1, help="hours between runs")
    parser.add_argument("--mode", choices=("extended", "development", "both"), default="both")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help="sandbox calls per 30 s (default: the sandbox's default)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--scheduler",
        choices=("local", "luigid"),
        default="local",
        help="luigi's local scheduler, or a real luigid the benchmark starts on a free port",
    )
    parser.add_argument(
        "--profile", action="store_true", help="split the time with cProfile (slower runs)"
    )
    parser.add_argument(
        "--musicbrainz",
        action="store_true",
        help="also run the MusicBrainz enrichment step, against a sandbox MusicBrainz of the same "
        "world (its one-request-a-second rule scaled to one per 20 ms, so the step's own work is "
        "timed, not its pacing); compare the wall time with a run without it",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY database to use (default: a temporary SQLite file)",
    )
    args = parser.parse_args(argv)
    from tests.etl_world import central_scheduler

    logging.basicConfig(level=logging.ERROR)  # figures only; the run log is in the database
    modes = ("extended", "development") if args.mode == "both" else (args.mode,)
    hours = run_hours(args.days, args.every)
    with (
        tempfile.TemporaryDirectory(prefix="etl-bench-") as tmp,
        sandbox_process(
            listeners=args.listeners, clock_start=hours[0].replace(tzinfo=dt.UTC)
        ) as sandbox,
        MusicBrainzSandbox(rate_window=0.01) if args.musicbrainz else nullcontext() as mb,
    ):
        for mode in modes:
            workdir = Path(tmp) / mode
            workdir.mkdir()
            profile_dir = workdir / "profiles" if args.profile else None
            if profile_dir is not None:
                profile_dir.mkdir()
            url = fresh_database(args.database_url if len(modes) == 1 else None, workdir)
            settings = settings_module.load(
                {
                    **sandbox.env(),
                    **(mb.env() if mb is not None else {}),
                    "SECRET_KEY": secrets.token_urlsafe(32),
                    "DATABASE_URL": url,
                    "DATA_DIR": str(workdir / "data"),
                }
            )
            with (
                central_scheduler(workdir) if args.scheduler == "luigid" else nullcontext()
            ) as luigid:
                figures = measure(
                    settings,
                    sandbox,
                    hours,
                    mode,
                    listeners=args.listeners,
                    workers=args.workers,
                    rate_limit=args.rate_limit,
                    luigid=luigid,
                    profile_dir=profile_dir,
                )
            print(report(figures), flush=True)
            if mb is not None:
                print(musicbrainz_report(mb), flush=True)
                mb.reset()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
