"""One request per window for the whole machine: two Luigi workers (two hours' DAGs at once)
and the background worker (the backfill job) call the sandbox MusicBrainz together, paced by
the database (``models.schema.pacing.DatabasePacer``); the sandbox's own request log shows no
two requests closer than its window, and it refused none.  The window is scaled down to 250 ms
so the test does not wait real seconds, and the clients keep twice it: a loaded machine (CI
runs two test processes on two cores) delays a woken process or the sandbox's own stamping of
an arrival by tens, sometimes a hundred, milliseconds, which a 100 ms window did not absorb."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import time

import luigi

from models.jobs import musicbrainz as backfill
from models.schema.pacing import DatabasePacer
from musicbrainz.sandbox.testing import MusicBrainzSandbox
from settings import PROJECT_DIR
from tests.environment import TEST_SECRET_KEY
from tests.factories import make_user
from tests.musicbrainz_support import load_catalogue, tracks_of_every_kind

WINDOW = 0.25
# Twice the window: a loaded test machine wakes a process tens of milliseconds late, which a
# real second absorbs (clients keep 1.25 s there) but a scaled-down window would not.
INTERVAL = f"{WINDOW * 2:g}"
WORKER_CONTACT = "https://worker.example.test/contact"


def test_two_luigi_workers_and_the_background_worker_share_one_pace(
    db, fresh_sandbox, make_settings, tmp_path
):
    from batch import SpotifyEtl, runtime

    with MusicBrainzSandbox(rate_window=WINDOW) as mb:
        paced = {**mb.env(), "MUSICBRAINZ_MIN_INTERVAL": INTERVAL}
        settings = make_settings(DATABASE_URL=db.url, **fresh_sandbox.env(), **paced)
        load_catalogue(mb.world, tracks_of_every_kind(mb.world, 6), make_user())
        backfill.queue_backfill()
        # Everyone's first slot a few seconds from now (as after a Retry-After): the worker
        # and the Luigi workers, each starting on its own, then call at the same time.
        DatabasePacer(interval=float(INTERVAL)).hold(time.time() + 4)
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_DB_", "DATABASE"))}
        environ.update(fresh_sandbox.env())
        environ.update(
            mb.env(contact=WORKER_CONTACT),
            MUSICBRAINZ_MIN_INTERVAL=INTERVAL,
            SECRET_KEY=TEST_SECRET_KEY,
            DATABASE_URL=db.url,
            DATA_DIR=str(tmp_path / "worker"),
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "batch.worker", "--until-idle", "--idle-wait", "0.1"],
            cwd=PROJECT_DIR,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        hour = dt.datetime(2026, 11, 20, 12)
        runtime.use(settings)
        result = luigi.build(
            [SpotifyEtl(hour=hour), SpotifyEtl(hour=hour + dt.timedelta(hours=1))],
            local_scheduler=True,
            workers=2,
            log_level="WARNING",
        )
        assert worker.wait(timeout=120) == 0, worker.stderr.read().decode()[-2000:]
        worker.stderr.close()
        assert result, "the two runs failed"
        log = mb.calls()["log"]

    moments = sorted(entry["at"] for entry in log)
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert {entry["status"] for entry in log} == {200}  # the sandbox refused nothing
    assert min(gaps) >= WINDOW * 0.9  # the sandbox's own rule, slack included
    by_worker = [e["at"] for e in log if WORKER_CONTACT in e["user_agent"]]
    by_luigi = [e["at"] for e in log if WORKER_CONTACT not in e["user_agent"]]
    assert by_worker and by_luigi
    # they called at the same time: each one's calls fall between the other's
    assert min(by_luigi) < max(by_worker) and min(by_worker) < max(by_luigi)
