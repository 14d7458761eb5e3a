"""Helpers for the ETL tests and benchmark: sandbox listeners as users, runs, ground truth."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import luigi
import pytest

from models.ingest.catalogue import parse_played_at
from models.schema.tables import (
    Album,
    Artist,
    ArtistGenre,
    AudioFeatures,
    Genre,
    OAuthToken,
    Play,
    SyncGap,
    Track,
    TrackArtist,
    User,
)


@pytest.fixture
def etl(db, fresh_sandbox, make_settings):
    """Settings pointing at this test's database and the sandbox; no pacing between calls, and
    luigi.cfg's batches of users (a test may set ``users_per_task`` smaller)."""
    luigi.configuration.get_config().set("etl", "call_interval", "0")
    luigi.configuration.get_config().set("etl", "users_per_task", "100")
    return make_settings(DATABASE_URL=db.url, **fresh_sandbox.env())


def naive(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def connect_listener(sandbox, listener_id: str) -> User:
    """A user who logged in as ``listener_id`` now (sandbox clock), with a stored grant."""
    tokens = sandbox.grant(listener_id)
    now = naive(sandbox.now())
    user = User.create(spotify_id=listener_id, display_name=listener_id)
    OAuthToken.create(
        user=user,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        scope=tokens["scope"],
        expires_at=now + dt.timedelta(seconds=tokens["expires_in"]),
        granted_at=now,
        updated_at=now,
    )
    return user


def connect_listeners(sandbox, count: int, start: int = 0) -> list[User]:
    listeners = sandbox.listeners()[start : start + count]
    return [connect_listener(sandbox, listener["id"]) for listener in listeners]


def sandbox_client(sandbox, listener_id: str, app_mode: str | None = None):
    """A Spotify client of a fresh grant for ``listener_id`` (JSON straight from the sandbox)."""
    from spotify.client import SpotifyApp, TokenSet

    app = SpotifyApp(
        sandbox.client_id,
        sandbox.client_secret,
        token_url=sandbox.token_url,
        api_url=sandbox.api_url,
    )
    return app.client(TokenSet.from_response(sandbox.grant(listener_id)))


def run_etl(settings, hour: dt.datetime, workers: int = 1):
    """One ETL run in this process (local scheduler); returns luigi's LuigiRunResult."""
    from batch import SpotifyEtl, runtime

    runtime.use(settings)
    return luigi.build(
        [SpotifyEtl(hour=naive(hour))],
        local_scheduler=True,
        detailed_summary=True,
        workers=workers,
        log_level="WARNING",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def task_list(port: int, status: str) -> dict:
    """luigid's tasks in ``status`` (its JSON API), by task id."""
    query = quote(json.dumps({"status": status}))
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=10
    ) as response:
        return json.load(response)["response"]


@dataclass
class CentralScheduler:
    """A running ``luigid``: its port, and its own CPU time (for the benchmark)."""

    port: int
    process: subprocess.Popen

    def cpu_seconds(self) -> float:
        """User + system CPU seconds luigid has used so far (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def central_scheduler(workdir: Path) -> Iterator[CentralScheduler]:
    """A real ``luigid`` on a free port, its logs and state under ``workdir``."""
    port = free_port()
    (workdir / "luigid-logs").mkdir(parents=True, exist_ok=True)  # luigid does not create it
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "luigid"),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--logdir",
            str(workdir / "luigid-logs"),
            "--state-path",
            str(workdir / "luigid-state.pickle"),
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
        while True:
            try:
                task_list(port, "DONE")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no luigid"
                time.sleep(0.1)
        yield CentralScheduler(port, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def truth(sandbox, user: User, start: dt.datetime, end: dt.datetime | None = None) -> set:
    """The listener's counted plays ending in [start, end): {(played_at, track_id)}."""
    return {
        (parse_played_at(p["played_at"]), p["track_id"])
        for p in sandbox.plays(user.spotify_id, start, end)
    }


def stored(user: User) -> list[tuple[dt.datetime, str]]:
    return [
        (naive(p.played_at), p.track_id)
        for p in Play.select().where(Play.user == user.id).order_by(Play.played_at)
    ]


def snapshot() -> dict:
    """The data a run produces, without timestamps of when it ran: equal for equal outcomes."""

    def rows(model, *columns, order=None):
        query = model.select(*columns).order_by(*(order or columns))
        return [
            tuple(naive(v) if isinstance(v, dt.datetime) else v for v in row)
            for row in query.tuples()
        ]

    return {
        "plays": [
            tuple(naive(v) if isinstance(v, dt.datetime) else v for v in row)
            for row in Play.select(
                User.spotify_id,
                Play.played_at,
                Play.track,
                Play.ms_played,
                Play.context_uri,
                Play.source,
            )
            .join(User)
            .order_by(User.spotify_id, Play.played_at)
            .tuples()
        ],
        "tracks": rows(
            Track,
            Track.id,
            Track.name,
            Track.album,
            Track.duration_ms,
            Track.popularity,
            Track.isrc,
        ),
        "albums": rows(Album, Album.id, Album.name, Album.release_date, Album.image_url),
        "artists": rows(
            Artist,
            Artist.id,
            Artist.name,
            Artist.popularity,
            Artist.followers,
            Artist.details_fetched_at.is_null(),
        ),
        "links": rows(TrackArtist, TrackArtist.track, TrackArtist.artist, TrackArtist.position),
        "genres": [
            tuple(r)
            for r in ArtistGenre.select(ArtistGenre.artist, Genre.name)
            .join(Genre)
            .order_by(ArtistGenre.artist, Genre.name)
            .tuples()
        ],
        "features": rows(
            AudioFeatures, AudioFeatures.track, AudioFeatures.status, AudioFeatures.energy
        ),
        "users": rows(User, User.spotify_id, User.last_played_at, User.needs_reauth),
        "gaps": [
            tuple(naive(v) if isinstance(v, dt.datetime) else v for v in row)
            for row in SyncGap.select(User.spotify_id, SyncGap.gap_start, SyncGap.gap_end)
            .join(User)
            .order_by(User.spotify_id, SyncGap.gap_start)
            .tuples()
        ],
    }
