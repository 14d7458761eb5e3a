"""How fast a privacy export imports, against a plain executemany of the same rows.

    python bench/import.py [--plays 100000] [--engines sqlite,postgresql]

Generates an extended streaming history of ``--plays`` counted plays (skips and podcast
episodes in between, as Spotify writes them) from the sandbox's world, zipped like Spotify's
download, then for each engine, on a fresh migrated database:

1. the import, timed end to end: ``history_import.create_job`` (unzip, parse, validate) and
   ``run_job`` (track stubs, ``store_plays`` with its duplicate checks and summaries);
2. the plays deleted, and the same rows inserted again with a plain DB-API ``executemany``
   into the same ``play`` table in one transaction: the floor a bulk insert cannot beat.

Prints plays/s for both and their ratio (targets: at least 0.4 on SQLite, 0.8 on
PostgreSQL), and on PostgreSQL the ratio against a ``COPY`` of the same rows, the engine's real
ingest limit.  The import keeps everything the export holds (the plays' how-you-listen
fields, the skips as short streams, the podcast episodes), and the plain insert writes the
same play columns.  It also prints the Spotify calls needed before the dashboard shows the
imported history's top artists and albums (target 0: the export's names count for provisional
artists and albums at once).
Each engine's run happens in a child process, whose peak resident memory (``VmHWM``, see
:func:`peak_rss`) is the import's and is printed beside its speed (target: 300 MB at 1,000,000
plays).
PostgreSQL is the server of the tests (TEST_POSTGRES_URL or postgres@127.0.0.1:5432); a
database is created for the run and dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.export import EXTENDED_FOLDER, episode_entry, extended_entry, write_zip
from models.schema import crypto
from models.schema.db import connect_url, db
from spotify.sandbox.catalogue import DAY_MS, Stream, World

FILE_ENTRIES = 15_000  # Spotify splits the history into files of about 12 MB
SECRET = "bench-secret-key-0123456789-abcdef"


PLAYS_PER_LAYER = 100_000  # up to this many plays, one sandbox day per calendar day


def generate(plays: int, world: World) -> tuple[list[list[dict]], str, int]:
    """Entries of ``plays`` counted plays, newest day yesterday, split into Spotify's files.

    The sandbox's listener plays about 20 tracks a day, so a million plays of that density
    would go back to 1889, before Spotify (the import refuses such dates).  Past
    ``PLAYS_PER_LAYER`` plays, each calendar day therefore holds the streams of several
    sandbox days (``layers``, so 1,000,000 plays span about 14 years, like a heavy listener's
    decade), merged in time order; a stream that would end in a second already taken, or a
    play of a track within 30 s of a kept play of it, is left out, so the import finds no
    duplicate and stores every counted play generated."""
    listener = world.listeners[0]
    layers = max(1, -(-plays // PLAYS_PER_LAYER))
    day = dt.datetime(2026, 11, 19, tzinfo=dt.UTC).timestamp() * 1000 // DAY_MS
    days, counted, source = [], 0, day
    while counted < plays:
        merged: list[Stream] = []
        for _layer in range(layers):
            shift = int(day - source) * DAY_MS
            start = int(source * DAY_MS)
            merged.extend(
                replace(s, played_at_ms=s.played_at_ms + shift)
                for s in world.streams(listener, start, start + DAY_MS)
            )
            source -= 1
        keep = []
        for stream in reversed(_apart(sorted(merged, key=lambda s: s.played_at_ms))):
            if stream.counted:
                if counted == plays:
                    continue
                counted += 1
            keep.append(stream)
        days.append(list(reversed(keep)))
        day -= 1
    entries: list[dict] = []
    for number, streams in enumerate(reversed(days)):
        entries.extend(extended_entry(world, s, country=listener.country) for s in streams)
        if number % 50 == 0 and streams:  # now and then a podcast episode, kept on its own
            entries.append(episode_entry(streams[0].played_at_ms - 5_000, 900_000))
    files = [entries[i : i + FILE_ENTRIES] for i in range(0, len(entries), FILE_ENTRIES)]
    return files, listener.id, counted


def _apart(streams: list[Stream]) -> list[Stream]:
    """Streams in time order less those the import would take for duplicates of earlier ones:
    the same second (the export's precision), or a play of the same track within 30 s."""
    kept: list[Stream] = []
    seconds: set[int] = set()
    last_play: dict[int, int] = {}
    for stream in streams:
        second = stream.played_at_ms // 1000
        if second in seconds:
            continue
        if stream.counted:
            previous = last_play.get(stream.track)
            if previous is not None and second - previous <= 31:
                continue
            last_play[stream.track] = second
        seconds.add(second)
        kept.append(stream)
    return kept


def postgres_database() -> tuple[str, Callable[[], None]]:
    """A fresh database on the tests' server (TEST_POSTGRES_URL), dropped after the run."""
    from tests.environment import create_postgres_database, drop_postgres_database

    url = create_postgres_database()
    return url, lambda: drop_postgres_database(url)


def complete_catalogue(world: World) -> tuple[float, int]:
    """The database side of the ETL's tracks and features steps after the import: every stub
    track linked to its album and artists (GET /tracks batches of 50) and given its audio
    features (batches of 100), which also brings the users' artist, album and features
    summaries up to date.  Returns the seconds it took and the tracks completed."""
    from models.ingest import catalogue
    from models.schema.tables import Track
    from spotify.sandbox.render import Renderer

    renderer = Renderer(world, "http://sandbox.invalid/", extended=True)
    tracks = [
        world.track_by_id[track_id]
        for (track_id,) in Track.select(Track.id).tuples()
        if track_id in world.track_by_id
    ]
    started = time.perf_counter()
    for start in range(0, len(tracks), 50):
        catalogue.upsert_tracks([renderer.track(t) for t in tracks[start : start + 50]])
    for start in range(0, len(tracks), 100):
        catalogue.store_audio_features(
            {t.id: renderer.audio_features(t) for t in tracks[start : start + 100]}
        )
    return time.perf_counter() - started, len(tracks)


def run_engine(
    engine: str, export_path: Path, spotify_id: str, data_dir: Path, world: Callable[[], World]
) -> dict:
    """One engine's figures; ``world`` makes the sandbox's world (big) only after the import,
    whose peak resident memory is taken before."""
    from models import stats
    from models.imports.history_import import create_job, run_job
    from models.ingest.catalogue import tracks_lacking_metadata
    from models.migrate import router
    from models.periods import parse_period
    from models.schema.tables import (
        HOW_YOU_LISTEN,
        SUMMARY_TABLES,
        EpisodePlay,
        ImportJob,
        Play,
        ShortStream,
        User,
    )

    drop = None
    if engine == "sqlite":
        url = f"sqlite:///{data_dir / 'bench-import.db'}"
    else:
        url, drop = postgres_database()
    database = connect_url(url)
    db.initialize(database)
    try:
        database.connect()
        router().run()
        user = User.create(spotify_id=spotify_id, display_name="Bench")
        started, cpu_started = time.perf_counter(), time.process_time()
        job, export = create_job(user, export_path)
        read_seconds = time.perf_counter() - started
        job = run_job(job.id, export=export)  # no Spotify client: it cannot call Spotify
        import_seconds = time.perf_counter() - started
        import_cpu = time.process_time() - cpu_started
        peak_rss_mb = peak_rss() / 1024
        assert job.status == "done", job.error
        summary_rows = sum(model.select().count() for model in SUMMARY_TABLES)
        everything = parse_period("all", tz="UTC")
        top_artists = stats.top_artists(user.id, everything, limit=10)
        top_albums = stats.top_albums(user.id, everything, limit=10)
        # what the dashboard still lacks would cost one GET /tracks per track (development
        # mode) before the ETL has completed them: none when the tops are already there
        calls = job.report_data.get("searches", 0)
        if not (top_artists and top_albums):
            calls += len(tracks_lacking_metadata())
        kept = (ShortStream.select().count(), EpisodePlay.select().count())
        complete_seconds, completed = complete_catalogue(world())
        columns = (
            "user_id",
            "track_id",
            "played_at",
            "ms_played",
            "context_uri",
            "source",
            *HOW_YOU_LISTEN,
        )
        rows = list(
            Play.select(*(getattr(Play, c.removesuffix("_id")) for c in columns))
            .order_by(Play.played_at)
            .tuples()
        )
        Play.delete().execute()
        marker = "?" if engine == "sqlite" else "%s"
        quoted = ", ".join(f'"{c}"' for c in columns)
        statement = f'INSERT INTO "play" ({quoted}) VALUES ({", ".join([marker] * len(columns))})'
        started, cpu_started = time.perf_counter(), time.process_time()
        with database.atomic():
            database.cursor().executemany(statement, rows)
        plain_seconds = time.perf_counter() - started
        plain_cpu = time.process_time() - cpu_started
        assert Play.select().count() == len(rows) == job.plays_added
        copy_seconds = None
        if engine == "postgresql":
            Play.delete().execute()
            copy_seconds = copy_rows(database, quoted, rows)
            assert Play.select().count() == len(rows)
        return {
            "plays": job.plays_added,
            "import_s": import_seconds,
            "read_s": read_seconds,
            "plain_s": plain_seconds,
            "import_cpu_s": import_cpu,
            "plain_cpu_s": plain_cpu,
            "copy_s": copy_seconds,
            "duplicates": job.duplicates,
            "summary_rows": summary_rows,
            "complete_s": complete_seconds,
            "completed": completed,
            "jobs": ImportJob.select().count(),
            "calls_before_tops": calls,
            "top_artists": len(top_artists),
            "top_albums": len(top_albums),
            "short_streams": kept[0],
            "episodes": kept[1],
            "peak_rss_mb": peak_rss_mb,
        }
    finally:
        database.close()
        if drop:
            drop()
        elif engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{data_dir / 'bench-import.db'}{suffix}").unlink(missing_ok=True)


def copy_rows(database, quoted: str, rows: list[tuple]) -> float:
    """Seconds to load ``rows`` into ``play`` with PostgreSQL's ``COPY`` in one transaction,
    their text written here (tab-separated, ``\\N`` for NULL): the engine's own ingest
    limit, which no INSERT reaches."""

    def text(value) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, str):
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        return str(value)

    started = time.perf_counter()
    buffer = io.StringIO()
    buffer.writelines("\t".join(map(text, row)) + "\n" for row in rows)
    buffer.seek(0)
    with database.atomic():
        database.cursor().copy_expert(f'COPY "play" ({quoted}) FROM STDIN', buffer)
    return time.perf_counter() - started


def peak_rss() -> float:
    """This process's peak resident memory in KiB: ``VmHWM`` where Linux has it, because
    ``resource.getrusage``'s ``ru_maxrss`` survives ``exec`` and a child started by this
    benchmark would report the parent's peak (the generated history), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def measured_in_child(engine: str, export_path: Path, spotify_id: str, data_dir: Path) -> dict:
    """:func:`run_engine` in a fresh interpreter, so its peak resident memory is the import's
    own (``resource.getrusage`` there), not this process's, which holds the generated history."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(export_path), spotify_id, str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", SECRET)},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the {engine} import failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def child(engine: str, export_path: str, spotify_id: str, data_dir: str) -> int:
    crypto.configure(SECRET)
    result = run_engine(engine, Path(export_path), spotify_id, Path(data_dir), World)
    print(json.dumps(result))
    return 0


def export_of(plays: int, world: World, path: Path) -> tuple[Path, str]:
    """The zipped export of ``plays`` plays at ``path`` (generated unless a run made it there
    already, as its side file says) and the listener's Spotify id."""
    facts = path.with_suffix(".json")
    if path.exists() and facts.exists():
        known = json.loads(facts.read_text())
        if known["plays"] == plays:
            print(f"reusing {path}: {known['summary']}")
            return path, known["spotify_id"]
    started = time.perf_counter()
    files, spotify_id, counted = generate(plays, world)
    write_zip(
        path,
        {
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_{index}.json": entries
            for index, entries in enumerate(files)
        },
    )
    summary = (
        f"{sum(len(f) for f in files):,} entries ({counted:,} counted plays) in {len(files)} "
        f"files, {path.stat().st_size / 1e6:.1f} MB zipped"
    )
    print(f"generated {summary}, in {time.perf_counter() - started:.1f} s")
    facts.write_text(json.dumps({"plays": plays, "spotify_id": spotify_id, "summary": summary}))
    return path, spotify_id


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(*argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plays", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--reuse",
        type=Path,
        help="keep the generated export in this file and use it again on later runs with "
        "the same --plays (generating 1,000,000 plays takes minutes)",
    )
    args = parser.parse_args(argv)
    crypto.configure(SECRET)
    world = World()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder_name:
        folder = Path(folder_name)
        export_path, spotify_id = export_of(
            args.plays, world, args.reuse or folder / "my_spotify_data.zip"
        )
        print(
            f"{'engine':<11} {'plays':>8} {'import plays/s':>15} {'executemany plays/s':>20} "
            f"{'ratio':>6}"
        )
        worst = None
        for engine in args.engines.split(","):
            result = measured_in_child(engine, export_path, spotify_id, folder)
            imported = result["plays"] / result["import_s"]
            plain = result["plays"] / result["plain_s"]
            ratio = imported / plain
            worst = ratio if worst is None else min(worst, ratio)
            print(
                f"{engine:<11} {result['plays']:>8,} {imported:>15,.0f} {plain:>20,.0f} "
                f"{ratio:>6.2f}   peak RSS {result['peak_rss_mb']:.0f} MB "
                f"(import {result['import_s']:.2f} s = reading "
                f"{result['read_s']:.2f} s + storing {result['import_s'] - result['read_s']:.2f}"
                f" s; executemany {result['plain_s']:.2f} s)",
                flush=True,
            )
            if engine == "sqlite":  # all its work is in this process: CPU time says it too
                print(
                    f"{'':<11} CPU time of this process: import {result['import_cpu_s']:.2f} s, "
                    f"executemany {result['plain_cpu_s']:.2f} s: ratio "
                    f"{result['plain_cpu_s'] / result['import_cpu_s']:.2f} (on a loaded machine "
                    "the wall-clock ratio above counts others' work too)",
                    flush=True,
                )
            if result["copy_s"] is not None:
                copied = result["plays"] / result["copy_s"]
                print(
                    f"{'':<11} COPY of the same rows {copied:,.0f} plays/s "
                    f"({result['copy_s']:.2f} s): import/COPY ratio {imported / copied:.2f}",
                    flush=True,
                )
            print(
                f"{'':<11} the import also wrote {result['summary_rows']:,} summary rows "
                "(models.summaries.listening) in the same transactions",
                flush=True,
            )
            print(
                f"{'':<11} kept besides: {result['short_streams']:,} short streams, "
                f"{result['episodes']:,} podcast episodes; Spotify calls before the dashboard "
                f"shows top artists and albums: {result['calls_before_tops']} (target 0; "
                f"top {result['top_artists']} artists, {result['top_albums']} albums shown)",
                flush=True,
            )
            print(
                f"{'':<11} completing its {result['completed']:,} tracks afterwards (links and "
                f"features, the ETL's database side) took {result['complete_s']:.2f} s",
                flush=True,
            )
    print(
        f"worst ratio import/executemany: {worst:.2f} (targets: SQLite >= 0.4, PostgreSQL >= 0.8)"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SECRET_KEY", SECRET)
    raise SystemExit(main())
