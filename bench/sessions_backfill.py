"""Benchmark: building the sessions of plays stored before sessions were kept.

What the ``sessions`` job (``models.jobs.sessions``, queued by migration 080) runs for each
listener: ``rebuild_sessions``, one set-based statement over the user's plays.  The target is
the 1,000,000-play user in at most 60 s on PostgreSQL.  Plays are bench/stats.py's (ten years,
a daily rhythm), loaded with COPY / executemany; the figure is the rebuild alone, and the
incremental update of one ETL batch (50 new plays) after it.

    python bench/sessions_backfill.py                  # 1,000,000 plays, PostgreSQL
    python bench/sessions_backfill.py --plays 20000 --engines sqlite,postgresql
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import BENCH_SECRET, NOW, bulk_insert, engine_database, play_rows
from models.ingest.plays import store_plays
from models.schema import crypto
from models.schema.tables import ListeningSession, User
from models.summaries import listening
from models.summaries.sessions import rebuild_sessions

TRACKS = 2_000


def run(engine: str, plays: int, workdir: Path) -> None:
    with engine_database(engine, workdir):
        rng = random.Random(11)
        bulk_insert(
            "track", [(f"tr{i:020d}", f"Track {i}", None, 200_000, None) for i in range(TRACKS)]
        )
        user = User.create(spotify_id="heavy", timezone="UTC")
        bulk_insert("play", play_rows(user.id, plays, 10, TRACKS, rng))
        listening.rebuild(user.id)
        begin = time.perf_counter()
        rebuild_sessions(user.id)
        took = time.perf_counter() - begin
        count = ListeningSession.select().where(ListeningSession.user == user.id).count()
        print(f"[{engine}] sessions of {plays:,} plays built in {took:.1f} s ({count:,} sessions)")
        batch = [
            {
                "track_id": f"tr{n:020d}",
                "played_at": NOW + dt.timedelta(minutes=4 * n),
                "ms_played": 200_000,
            }
            for n in range(50)
        ]
        begin = time.perf_counter()
        store_plays(user.id, batch, "api")
        took_ms = (time.perf_counter() - begin) * 1000
        print(f"[{engine}] store_plays of 50 new plays, sessions included: {took_ms:.0f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--engines", default="postgresql")
    args = parser.parse_args(argv)
    crypto.configure(BENCH_SECRET)
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as workdir:
        for engine in args.engines.split(","):
            run(engine.strip(), args.plays, Path(workdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
