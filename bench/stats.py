"""Benchmark: every statistic, every period, two time zones, on PostgreSQL and SQLite.

Builds a synthetic but realistic database directly with bulk inserts (COPY on PostgreSQL, one
executemany transaction on SQLite): one heavy listener with a million plays over ten years
(60k tracks, 15k artists, 25k albums, Zipf-skewed popularity, a daily rhythm) and 50 other
users with 20k plays each, so filtering by user is real.  Summaries are then built from the raw
plays by ``models.summaries.listening.rebuild``, the same code a time-zone change runs.

For each engine, each time zone (UTC, then Asia/Kolkata after ``set_timezone``), each statistic
and each period (7d, 4w, 12m, all) it times repeated calls of the ``models.stats`` function the
pages and the API call, and prints p50/p95.  When the web app and the API are present it also
times a few requests end to end in-process (Flask test client, chalice.test.Client).  The last
line is ``worst p95 on PostgreSQL: N ms``.

    python bench/stats.py            # full size (about 5-10 minutes on 2 cores)
    python bench/stats.py --small    # the same code on a small database (the test suite)
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import io
import itertools
import math
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import stats
from models.accounts import sessions
from models.accounts.users import set_timezone
from models.periods import parse_period
from models.schema import crypto
from models.schema.db import connect_url, db, is_postgresql
from models.schema.tables import PROFILE_FEATURES, User
from models.summaries import listening

PROJECT_DIR = Path(__file__).resolve().parent.parent

BENCH_SECRET = "bench-secret-key-0123456789-abcdef"
PERIODS = ("7d", "4w", "12m", "all")
ZONES = ("UTC", "Asia/Kolkata")
NOW = dt.datetime(2026, 11, 26, 12, 0)


@dataclass(frozen=True)
class Size:
    tracks: int
    artists: int
    albums: int
    genres: int
    heavy_plays: int
    users: int
    user_plays: int
    years: int
    runs: int


FULL = Size(
    tracks=60_000,
    artists=15_000,
    albums=25_000,
    genres=600,
    heavy_plays=1_000_000,
    users=50,
    user_plays=20_000,
    years=10,
    runs=20,
)
SMALL = Size(
    tracks=1_500,
    artists=400,
    albums=600,
    genres=40,
    heavy_plays=20_000,
    users=3,
    user_plays=2_000,
    years=3,
    runs=3,
)


# --- the synthetic world -----------------------------------------------------------------------

# Plays per hour of the local day: quiet nights, a commute bump, a long evening.
HOUR_WEIGHTS = [2, 1, 0.5, 0.3, 0.3, 0.5, 2, 5, 7, 6, 5, 5, 6, 5, 5, 5, 6, 8, 9, 9, 8, 7, 5, 3]


def catalogue(size: Size, rng: random.Random) -> dict[str, list[tuple]]:
    """Rows for the catalogue tables, as tuples in the models' column order below."""
    genres = [(i + 1, f"genre {i:04d}") for i in range(size.genres)]
    artists = [
        (f"ar{i:020d}", f"Artist {i}", rng.choice([None, rng.randint(0, 100)]), None, None)
        for i in range(size.artists)
    ]
    albums = [
        (
            f"al{i:020d}",
            f"Album {i}",
            "album",
            f"{rng.randint(1960, 2026)}",
            "year",
            rng.randint(6, 18),
            f"https://img.example/{i}.jpg",
        )
        for i in range(size.albums)
    ]
    artist_genres = []
    for i in range(size.artists):
        for genre in rng.sample(range(1, size.genres + 1), rng.choice([0, 1, 1, 2, 2, 3])):
            artist_genres.append((f"ar{i:020d}", genre))
    tracks, track_artists, features = [], [], []
    for i in range(size.tracks):
        track_id = f"tr{i:020d}"
        album = i % size.albums
        tracks.append(
            (
                track_id,
                f"Track {i}",
                f"al{album:020d}",
                rng.randint(90_000, 420_000),
                rng.choice([None, rng.randint(0, 100)]),
            )
        )
        lead = (album * 7) % size.artists
        track_artists.append((track_id, f"ar{lead:020d}", 0))
        if rng.random() < 0.15:
            guest = rng.randrange(size.artists)
            if guest != lead:
                track_artists.append((track_id, f"ar{guest:020d}", 1))
        roll = rng.random()
        if roll < 0.7:
            features.append(
                (
                    track_id,
                    "ok",
                    *(
                        round(rng.uniform(60, 180), 1)
                        if name == "tempo"
                        else round(rng.random(), 3)
                        for name in PROFILE_FEATURES
                    ),
                )
            )
        elif roll < 0.8:
            features.append((track_id, "forbidden", *[None] * len(PROFILE_FEATURES)))
    return dict(
        genre=genres,
        artist=artists,
        album=albums,
        artist_genre=artist_genres,
        track=tracks,
        track_artist=track_artists,
        audio_features=features,
    )


def play_rows(user_id: int, count: int, years: int, tracks: int, rng: random.Random):
    """``count`` plays ending at NOW, with a daily rhythm and Zipf-skewed track choice."""
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(tracks)))
    total_weight = cumulative[-1]
    days = years * 365
    hour_cumulative = list(itertools.accumulate(HOUR_WEIGHTS))
    seen: set[int] = set()
    start = NOW - dt.timedelta(days=days)
    start_epoch = int(start.replace(tzinfo=dt.UTC).timestamp())
    rows: list[tuple] = []
    # The user's taste drifts: the popularity ranking is rotated by year.
    while len(rows) < count:
        day = rng.randrange(days)
        hour = bisect.bisect(hour_cumulative, rng.random() * hour_cumulative[-1])
        second = start_epoch + day * 86_400 + hour * 3600 + rng.randrange(3600)
        if second in seen:
            continue
        seen.add(second)
        rank = bisect.bisect(cumulative, rng.random() * total_weight)
        track = (rank + (day // 365) * 97) % tracks
        played_at = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=second)
        rows.append(
            (user_id, f"tr{track:020d}", played_at, rng.randint(5_000, 300_000), None, "import")
        )
    rows.sort(key=lambda row: row[2])  # in index order, as an import would arrive
    return rows


COLUMNS = {
    "genre": ("id", "name"),
    "artist": ("id", "name", "popularity", "followers", "image_url"),
    "album": (
        "id",
        "name",
        "album_type",
        "release_date",
        "release_date_precision",
        "total_tracks",
        "image_url",
    ),
    "artist_genre": ("artist_id", "genre_id"),
    "track": ("id", "name", "album_id", "duration_ms", "popularity"),
    "track_artist": ("track_id", "artist_id", "position"),
    # only the features the taste profile reads: the ones its benchmark needs
    "audio_features": ("track_id", "status", *PROFILE_FEATURES, "fetched_at"),
    "play": ("user_id", "track_id", "played_at", "ms_played", "context_uri", "source"),
}


def bulk_insert(table: str, rows: list[tuple]) -> None:
    """COPY on PostgreSQL, one executemany on SQLite."""
    columns = COLUMNS[table]
    if table == "audio_features":
        rows = [(*row, NOW) for row in rows]
    if not rows:
        return
    connection = db.connection()
    if is_postgresql():
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN', buffer)
    else:
        marks = ", ".join("?" for _ in columns)
        converted = [
            tuple(v.isoformat(" ") if isinstance(v, dt.datetime) else v for v in row)
            for row in rows
        ]
        connection.executemany(
            f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})', converted
        )


# Secondary indexes of play, dropped during the load and built once afterwards (faster).
PLAY_INDEXES = {
    "play_user_id_track_id_played_at": "(user_id, track_id, played_at)",
    "play_track_id": "(track_id)",
    "play_user_id": "(user_id)",
}


def build(size: Size, seed: int = 7) -> int:
    """Fill the connected, migrated database; return the heavy user's id."""
    rng = random.Random(seed)
    rows = catalogue(size, rng)
    if not is_postgresql():
        db.execute_sql("PRAGMA synchronous = OFF")
    for name in PLAY_INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    with db.atomic():
        for table in (
            "genre",
            "artist",
            "album",
            "artist_genre",
            "track",
            "track_artist",
            "audio_features",
        ):
            bulk_insert(table, rows[table])
        heavy = User.create(spotify_id="heavy", display_name="Heavy Listener", timezone="UTC")
        others = [User.create(spotify_id=f"user{i}", timezone="UTC") for i in range(size.users)]
        bulk_insert("play", play_rows(heavy.id, size.heavy_plays, size.years, size.tracks, rng))
        for user in others:
            bulk_insert("play", play_rows(user.id, size.user_plays, size.years, size.tracks, rng))
    for name, columns in PLAY_INDEXES.items():
        db.execute_sql(f'CREATE INDEX "{name}" ON "play" {columns}')
    if is_postgresql():
        db.execute_sql(
            "SELECT setval(pg_get_serial_sequence('genre', 'id'), (SELECT max(id) FROM genre))"
        )
    for user in [heavy, *others]:
        listening.rebuild(user.id)
    settle()
    if not is_postgresql():
        db.execute_sql("PRAGMA synchronous = NORMAL")
    return heavy.id


def build_reported(engine: str, size: Size) -> int:
    """:func:`build`, printing how long it took; returns the heavy user's id."""
    begin = time.perf_counter()
    heavy = build(size)
    print(
        f"[{engine}] built {size.heavy_plays + size.users * size.user_plays:,} plays "
        f"and summaries in {time.perf_counter() - begin:.1f} s",
        flush=True,
    )
    return heavy


def settle() -> None:
    """What autovacuum does after bulk changes (loading, a time-zone rebuild), done now so it
    does not run during the timings and index-only scans see all-visible pages (the
    PostgreSQL of these machines runs with autovacuum off; RDS runs it), and a checkpoint, so
    the gigabyte just written is not flushed while queries are timed."""
    db.execute_sql("VACUUM ANALYZE" if is_postgresql() else "ANALYZE")
    if is_postgresql():
        try:
            with db.atomic():
                db.execute_sql("CHECKPOINT")
        except Exception:
            pass


# --- timing ------------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def timed(call, runs: int) -> tuple[float, float]:
    call()  # warm the cache as a user's second page view would
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        call()
        samples.append((time.perf_counter() - begin) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def statistic_calls(user_id: int, tz: str):
    """(name, period key or "-", call) for every statistic the pages and API serve."""
    top_track = stats.top_tracks(user_id, parse_period("all", tz=tz, now=NOW), limit=1)
    top_artist = stats.top_artists(user_id, parse_period("all", tz=tz, now=NOW), limit=1)
    per_period = {
        "totals": lambda p: stats.totals(user_id, p),
        "totals previous": lambda p: stats.totals(user_id, p.previous()),
        "top_tracks": lambda p: stats.top_tracks(user_id, p),
        "top_artists": lambda p: stats.top_artists(user_id, p),
        "top_albums": lambda p: stats.top_albums(user_id, p),
        "top_genres": lambda p: stats.top_genres(user_id, p),
        "unique_tracks": lambda p: stats.unique_tracks(user_id, p),
        "unique_tracks name": lambda p: stats.unique_tracks(
            user_id, p, sort="name", descending=False, offset=100
        ),
        "unique_tracks search": lambda p: stats.unique_tracks(user_id, p, search="track 12"),
        "unique_artists": lambda p: stats.unique_artists(user_id, p, sort="last"),
        "unique_albums": lambda p: stats.unique_albums(user_id, p),
        "listening_series": lambda p: stats.listening_series(user_id, p),
        "hours_of_day": lambda p: stats.hours_of_day(user_id, p),
        "weekday_hour": lambda p: stats.weekday_hour(user_id, p),
        "taste_profile": lambda p: stats.taste_profile(user_id, p),
        "history": lambda p: stats.history(user_id, period=p, offset=500),
    }
    for name, call in per_period.items():
        for key in PERIODS:
            period = parse_period(key, tz=tz, now=NOW)
            yield name, key, (lambda call=call, period=period: call(period))
    if top_track:
        track_id = top_track[0]["track_id"]
        yield "track_detail", "-", lambda: stats.track_detail(user_id, track_id)
    if top_artist:
        artist_id = top_artist[0]["artist_id"]
        yield "artist_detail", "-", lambda: stats.artist_detail(user_id, artist_id)


# --- query plans --------------------------------------------------------------------------------

PLANNED = (
    "totals",
    "top_artists",
    "top_genres",
    "unique_tracks name",
    "weekday_hour",
    "taste_profile",
    "artist_detail",
)


@contextmanager
def captured_queries():
    """Record every (sql, params) the shared database runs inside the block."""
    database = db.obj
    original = database.execute_sql
    queries = []

    def recording(sql, params=None, *args, **kwargs):
        queries.append((sql, params))
        return original(sql, params, *args, **kwargs)

    database.execute_sql = recording
    try:
        yield queries
    finally:
        database.execute_sql = original


def plan_of(sql: str, params) -> str:
    if is_postgresql():
        rows = db.execute_sql(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params
        ).fetchall()
        return "\n".join(row[0] for row in rows)
    rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    depth = {0: 0}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("  " * (depth[node] - 1) + detail)
    return "\n".join(lines)


def write_plans(engine: str, user_id: int, tz: str, path: Path) -> None:
    """Append the plans of the heaviest statistics (12m and all time) as Markdown."""
    calls = {(name, key): call for name, key, call in statistic_calls(user_id, tz)}
    with path.open("a") as out:
        for (name, key), call in calls.items():
            if name not in PLANNED or key not in ("12m", "all", "-"):
                continue
            with captured_queries() as queries:
                call()
            for sql, params in queries:
                if (
                    not sql.lstrip().upper().startswith(("SELECT", "WITH"))
                    or 'FROM "listening_summary"' in sql
                ):
                    continue
                out.write(
                    f"\n#### {engine}, {name}, {key}, {tz}\n\n```sql\n{sql}\n```\n\n"
                    f"```\n{plan_of(sql, params)}\n```\n"
                )


# --- end to end through the shells, when they exist ---------------------------------------------


def bench_settings(url: str):
    import settings as settings_module

    return settings_module.load(
        {
            "SECRET_KEY": BENCH_SECRET,
            "CLIENT_ID": "bench",
            "CLIENT_SECRET": "bench",
            "DATABASE_URL": url,
            "DATA_DIR": tempfile.gettempdir(),
        }
    )


def shell_requests(url: str, user_id: int, tz: str):
    """(name, call) for a few requests through the Flask app and the Chalice app."""
    from web import create_app

    calls = []
    app = create_app(bench_settings(url))
    app.config.update(WTF_CSRF_ENABLED=False)
    web_client = app.test_client()
    user = User.get_by_id(user_id)
    # flask-login's session id is the key of a server-side session (models.accounts.sessions).
    with web_client.session_transaction() as session:
        session["_user_id"] = sessions.start(user, dt.timedelta(hours=1))
        session["_fresh"] = True
    for path in (
        "/dashboard?range=all",
        "/dashboard?range=12m",
        "/tracks?range=all",
        "/profile?range=all",
    ):
        calls.append((f"flask GET {path}", _checked(lambda path=path: web_client.get(path))))
    chalice_dir = PROJECT_DIR / "chalice_app"
    if (chalice_dir / "app.py").exists():
        for key, value in {
            "SECRET_KEY": BENCH_SECRET,
            "CLIENT_ID": "bench",
            "CLIENT_SECRET": "bench",
            "DATABASE_URL": url,
        }.items():
            os.environ[key] = value
        sys.path.insert(0, str(chalice_dir))
        try:
            import importlib

            from chalice.test import Client

            from models.accounts import api_tokens

            chalice_app = importlib.import_module("app").app
            try:  # the API keeps its own connection per container: hand it this engine's
                runtime = importlib.import_module("chalicelib.runtime")
                runtime.use(bench_settings(url), db.obj)
            except (ImportError, AttributeError):
                pass
            token = api_tokens.issue(User.get_by_id(user_id), bench_settings(url))
            api_client = Client(chalice_app)
            headers = {"Authorization": f"Bearer {token}"}
            for path in (
                "/me/stats?range=all",
                "/me/top/artists?range=12m",
                "/me/tracks?range=all",
            ):
                calls.append(
                    (
                        f"chalice GET {path}",
                        _checked(lambda path=path: api_client.http.get(path, headers=headers)),
                    )
                )
        except ImportError as exc:
            print(f"(chalice app not measured: {exc})")
        finally:
            sys.path.remove(str(chalice_dir))
    return calls


def _checked(call, status_attr="status_code"):
    def run():
        response = call()
        status = getattr(response, status_attr)
        if status != 200:
            raise RuntimeError(f"end-to-end request answered {status}")
        return response

    return run


# --- engines -----------------------------------------------------------------------------------


@contextmanager
def engine_database(engine: str, workdir: Path):
    """A fresh, migrated database of one engine, dropped afterwards; yields its URL."""
    from models.migrate import router

    if engine == "postgresql":
        from tests.environment import create_postgres_database, drop_postgres_database

        url = create_postgres_database()
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    database = connect_url(url)
    db.initialize(database)
    database.connect(reuse_if_open=True)
    try:
        router().run()
        yield url, database
    finally:
        database.close()
        if engine == "postgresql":
            drop_postgres_database(url)


def run_engine(
    engine: str, size: Size, workdir: Path, end_to_end: bool, explain: Path | None = None
) -> list[tuple]:
    results = []
    with engine_database(engine, workdir) as (url, database):
        heavy = build_reported(engine, size)
        for tz in ZONES:
            if tz != "UTC":
                begin = time.perf_counter()
                set_timezone(User.get_by_id(heavy), tz)
                print(
                    f"[{engine}] set_timezone({tz}) rebuilt the summaries in "
                    f"{time.perf_counter() - begin:.1f} s",
                    flush=True,
                )
                settle()
            for name, key, call in statistic_calls(heavy, tz):
                p50, p95 = timed(call, size.runs)
                results.append((engine, tz, name, key, p50, p95))
                print(
                    f"  {engine} {tz} {name} {key}: p50 {p50:.1f} ms, p95 {p95:.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
            if explain and tz != "UTC":
                write_plans(engine, heavy, tz, explain)
            if end_to_end:
                for name, call in shell_requests(url, heavy, tz):
                    p50, p95 = timed(call, size.runs)
                    results.append((engine, tz, name, "e2e", p50, p95))
                # The shells connect the shared proxy themselves: point it back at this engine.
                db.initialize(database)
    return results


def report(results: list[tuple]) -> float | None:
    print()
    print(
        f"{'statistic':<24} {'period':<6} "
        + " ".join(
            f"{engine[:6] + ' ' + ('UTC' if tz == 'UTC' else 'IST'):>17}"
            for engine in ("sqlite", "postgresql")
            for tz in ZONES
        )
    )
    print(f"{'':<24} {'':<6} " + " ".join(f"{'p50/p95 ms':>17}" for _ in range(4)))
    cells = {(e, tz, n, k): (p50, p95) for e, tz, n, k, p50, p95 in results}
    rows = list(dict.fromkeys((n, k) for _, _, n, k, _, _ in results))
    for name, key in rows:
        line = f"{name:<24} {key:<6} "
        for engine in ("sqlite", "postgresql"):
            for tz in ZONES:
                cell = cells.get((engine, tz, name, key))
                line += f"{'' if cell is None else f'{cell[0]:.1f}/{cell[1]:.1f}':>17} "
        print(line.rstrip())
    print()
    worst: dict[str, tuple] = {}  # {engine: (p95 ms, statistic, key, zone)}
    for engine, tz, name, key, _, p95 in results:
        if key == "e2e":
            continue
        if p95 > worst.get(engine, (0,))[0]:
            worst[engine] = (p95, name, key, tz)
    for engine, (p95, name, key, tz) in worst.items():
        print(f"worst p95 on {engine}: {p95:.0f} ms ({name}, {key}, {tz})")
    e2e = [r for r in results if r[3] == "e2e"]
    if e2e:
        slowest = max(e2e, key=lambda r: r[5])
        print(f"slowest end-to-end p95: {slowest[5]:.0f} ms ({slowest[2]} on {slowest[0]})")
    return worst.get("postgresql", (None,))[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a small database (test suite)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, help="timed runs per cell")
    parser.add_argument(
        "--no-end-to-end", action="store_true", help="skip the Flask and Chalice requests"
    )
    parser.add_argument(
        "--explain",
        type=Path,
        metavar="FILE",
        help="append the query plans of the heavy statistics to FILE",
    )
    args = parser.parse_args(argv)
    size = SMALL if args.small else FULL
    if args.runs:
        size = Size(**{**size.__dict__, "runs": args.runs})
    crypto.configure(BENCH_SECRET)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as workdir:
        for engine in args.engines.split(","):
            results += run_engine(
                engine.strip(), size, Path(workdir), not args.no_end_to_end, args.explain
            )
    worst = report(results)
    print(
        f"worst p95 on PostgreSQL: {worst:.0f} ms"
        if worst is not None
        else "worst p95 on PostgreSQL: not measured"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
