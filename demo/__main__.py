"""``python -m demo`` (what ``make demo`` runs): the whole system on the sandbox Spotify.

It starts the sandbox Spotify and the sandbox MusicBrainz (the same seeded world, as
MusicBrainz knows it), migrates the embedded SQLite database, connects a few sandbox
listeners, imports a sample privacy export, replays the last days' hourly ETL runs against the
sandbox clock so the pages have data, and then serves the web app, the JSON API (``chalice
local``), the background worker (``python -m batch.worker``: the imports started on the page)
and the Luigi scheduler, running the ETL every hour through it like cron would.
Ctrl-C stops everything.

Nothing here is special to the demo except the seeding: every part runs with the same
commands and settings a real deployment uses, only pointed at the sandbox.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLE_EXPORTS = (
    PROJECT_DIR / "demo" / "my_spotify_data_extended.zip",
    PROJECT_DIR / "demo" / "my_spotify_data.zip",
)
ADMIN_EMAIL = "admin@example.test"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--app-mode",
        choices=("extended", "development"),
        default=os.environ.get("APP_MODE", "extended"),
        help="which kind of Spotify app the sandbox plays (env APP_MODE)",
    )
    parser.add_argument(
        "--data-dir", default=os.environ.get("DEMO_DATA_DIR", str(PROJECT_DIR / "data" / "demo"))
    )
    parser.add_argument(
        "--listeners",
        type=int,
        default=3,
        help="sandbox listeners connected before you log in yourself",
    )
    parser.add_argument(
        "--backfill-hours",
        type=int,
        default=72,
        help="hourly ETL runs replayed on the sandbox clock before serving",
    )
    parser.add_argument("--sandbox-port", type=int, default=8900)
    parser.add_argument("--musicbrainz-port", type=int, default=8901)
    parser.add_argument("--web-port", type=int, default=5000)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--scheduler-port", type=int, default=8082)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="start everything, check every service answers, then stop",
    )
    return parser.parse_args(argv)


DEMO_MUSICBRAINZ_WINDOW = 0.1  # the sandbox MusicBrainz's rate window in the demo, seconds


def demo_environ(args, secret_key: str) -> dict[str, str]:
    sandbox = f"http://127.0.0.1:{args.sandbox_port}"
    return {
        "SECRET_KEY": secret_key,
        "CLIENT_ID": "sandbox-client-id",
        "CLIENT_SECRET": "sandbox-client-secret",
        "OAUTH_AUTHORIZE_URL": f"{sandbox}/authorize",
        "OAUTH_TOKEN_URL": f"{sandbox}/api/token",
        "SPOTIFY_API_URL": f"{sandbox}/v1",
        "REDIRECT_URI": f"http://127.0.0.1:{args.web_port}/auth/callback",
        "DATA_DIR": args.data_dir,
        "DATABASE_URL": f"sqlite:///{Path(args.data_dir) / 'spotify_tracker.db'}",
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": "demo-admin-password",
        # The sandbox MusicBrainz, at a tenth of MusicBrainz's pace rule so the demo's backfill
        # takes seconds; against musicbrainz.org the interval is at least 1 s.
        "MUSICBRAINZ_BASE_URL": f"http://127.0.0.1:{args.musicbrainz_port}/ws/2/",
        "MUSICBRAINZ_CONTACT": f"http://127.0.0.1:{args.web_port}/ (Spotify Tracker demo)",
        "MUSICBRAINZ_ENRICHMENT": "on",
        "MUSICBRAINZ_MIN_INTERVAL": f"{DEMO_MUSICBRAINZ_WINDOW * 2:g}",
    }


def demo_secret(data_dir: Path) -> str:
    """One random SECRET_KEY per demo data directory, so stored tokens stay readable."""
    path = data_dir / "demo-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Services:
    """The child processes, stopped together."""

    def __init__(self, environ: dict[str, str], log_dir: Path):
        self.environ = environ
        self.log_dir = log_dir
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], cwd: Path = PROJECT_DIR) -> None:
        # The child writes to its own copy of the file descriptor; ours closes at once.
        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=self.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append((name, process))

    def wait_for(self, name: str, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        process = dict(self.processes)[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} stopped (exit {process.returncode}); see "
                    f"{self.log_dir / (name + '.log')}"
                )
            try:
                requests.get(url, timeout=2)
                return
            except (requests.ConnectionError, requests.Timeout):
                # gunicorn's master accepts connections before its workers have booted: on a
                # busy machine the first answer may take longer than one try waits.
                time.sleep(0.3)
        raise SystemExit(f"{name} did not answer at {url} within {timeout:.0f} s")

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run(command: list[str], environ: dict[str, str]) -> None:
    subprocess.run(command, cwd=PROJECT_DIR, env=environ, check=True)


def seed(args, environ: dict[str, str], sandbox_url: str, start: dt.datetime) -> list:
    """Connect listeners, import a sample export, replay the last hours' ETL runs."""
    os.environ.update(environ)
    import luigi

    import models
    import settings as settings_module
    from batch import SpotifyEtl
    from batch.worker import run_until_idle
    from models.accounts.users import upsert_spotify_user
    from models.imports.history_import import create_job
    from models.schema.tables import Play, User
    from spotify.client import SpotifyApp, TokenSet

    settings = settings_module.load()
    models.init(settings)
    http = requests.Session()
    listeners = http.get(f"{sandbox_url}/_sandbox/listeners", timeout=10).json()["listeners"]
    app = SpotifyApp.from_settings(settings)
    users = []
    for listener in listeners[: args.listeners]:
        grant = http.post(
            f"{sandbox_url}/_sandbox/grant", json={"listener": listener["id"]}, timeout=10
        ).json()
        me = app.client(TokenSet.from_response(grant)).me()
        users.append(upsert_spotify_user(me, grant, now=start.replace(tzinfo=None)))
    app.close()

    first = users[0]
    if not Play.select().where(Play.user == first.id).exists():
        for path in SAMPLE_EXPORTS[:1]:
            create_job(first, path, file_name=path.name)  # queued, as the page does
        run_until_idle(settings)  # what the worker does

    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    # The current hour is left for the first run through the scheduler.
    for hours_back in range(args.backfill_hours, 0, -1):
        hour = now - dt.timedelta(hours=hours_back)
        http.post(
            f"{sandbox_url}/_sandbox/clock",
            json={"set": (hour + dt.timedelta(minutes=5)).isoformat()},
            timeout=10,
        ).raise_for_status()
        result = luigi.build(
            [SpotifyEtl(hour=hour.replace(tzinfo=None))],
            local_scheduler=True,
            detailed_summary=True,
            log_level="WARNING",
        )
        print(f"  ETL run for {hour:%Y-%m-%d %H:00} UTC: {result.status.name.lower()}", flush=True)
    # From now on the sandbox clock follows real time, like Spotify's.
    http.post(
        f"{sandbox_url}/_sandbox/clock",
        json={"set": dt.datetime.now(dt.UTC).isoformat()},
        timeout=10,
    )
    total = Play.select().count()
    print(
        f"  {len(users)} listeners connected, {total} plays stored "
        f"({', '.join(str(u) for u in User.select().where(~User.is_admin))})",
        flush=True,
    )
    print_genres(users[0])
    return users


def share_listeners(users: list, web_url: str) -> str | None:
    """The first two listeners share with each other (so they see their affinity and a blend)
    and the first has a public link; the link's key is shown once, so each start makes a new
    one and revokes the last.  Returns the link's URL."""
    from models.accounts import sharing
    from models.periods import RANGE_KEYS
    from models.schema.tables import SHARING_SECTIONS

    if len(users) < 2:
        return None
    for user in users[:2]:
        sharing.update(user, True, RANGE_KEYS, SHARING_SECTIONS)
    for link in sharing.links_of(users[0].id):
        sharing.revoke_link(users[0].id, link.id)
    _, key = sharing.create_link(users[0], ["4w", "all"], ["totals", "artists", "tracks"])
    print(f"  {users[0]} and {users[1]} share their listening; {users[0]} has a public link")
    return f"{web_url}/s/{key}"


def print_genres(user) -> None:
    """The first listener's top genres after the replay, and where they come from: in a
    development-mode demo they are MusicBrainz's (the profile and the Genres page show them)."""
    from models import stats
    from models.enrich.overview import verdict_counts
    from models.periods import parse_period

    matched = verdict_counts().get("tracks", {}).get("matched", 0)
    genres = stats.top_genres(user.id, parse_period("all", tz=user.timezone), limit=5)
    named = ", ".join(f"{g['genre']} ({g['source']})" for g in genres) or "none yet"
    print(f"  MusicBrainz: {matched} tracks matched; {user}'s top genres: {named}", flush=True)


def check_services(web_url: str, api_url: str, scheduler_url: str) -> None:
    """What ``--smoke`` asserts: each service serves real answers, not just a socket."""
    landing = requests.get(web_url, timeout=10)
    assert landing.status_code == 200 and "Spotify" in landing.text, landing.status_code
    health = requests.get(f"{api_url}/health", timeout=10)
    assert health.status_code == 200, health.text
    unauthorised = requests.get(f"{api_url}/me", timeout=10)
    assert unauthorised.status_code == 401, unauthorised.text
    done = requests.get(
        f"{scheduler_url}/api/task_list", params={"data": '{"status": "DONE"}'}, timeout=10
    ).json()["response"]
    assert any(name.startswith("SpotifyEtl_") for name in done), sorted(done)


def main(argv=None) -> int:
    args = parse_args(argv)
    data_dir = Path(args.data_dir)
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    environ = {**os.environ, **demo_environ(args, demo_secret(data_dir)), "PYTHONUNBUFFERED": "1"}
    sandbox_url = f"http://127.0.0.1:{args.sandbox_port}"
    musicbrainz_url = f"http://127.0.0.1:{args.musicbrainz_port}"
    web_url = f"http://127.0.0.1:{args.web_port}"
    api_url = f"http://127.0.0.1:{args.api_port}"
    scheduler_url = f"http://127.0.0.1:{args.scheduler_port}"
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=args.backfill_hours)).replace(
        minute=0, second=0, microsecond=0
    )

    services = Services(environ, log_dir)
    # `kill`, a closed terminal or a service manager stop the children too, as Ctrl-C does.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, lambda *_: sys.exit(0))
    try:
        print(
            f"Spotify Tracker demo ({args.app_mode}-mode Spotify app), data in {data_dir}",
            flush=True,
        )
        run([sys.executable, "-m", "models.migrate"], environ)
        services.start(
            "sandbox",
            [
                sys.executable,
                "-m",
                "spotify.sandbox",
                "--port",
                str(args.sandbox_port),
                "--app-mode",
                args.app_mode,
                "--clock",
                start.isoformat(),
                "--redirect-uri",
                environ["REDIRECT_URI"],
            ],
        )
        services.wait_for("sandbox", f"{sandbox_url}/_sandbox/clock")
        services.start(
            "musicbrainz",
            [
                sys.executable,
                "-m",
                "musicbrainz.sandbox",
                "--port",
                str(args.musicbrainz_port),
                "--rate-window",
                f"{DEMO_MUSICBRAINZ_WINDOW:g}",
            ],
        )
        services.wait_for("musicbrainz", f"{musicbrainz_url}/_sandbox/control")
        print(
            "Collecting the demo's data (sandbox listeners, a sample export, "
            f"{args.backfill_hours} hourly ETL runs)...",
            flush=True,
        )
        users = seed(args, environ, sandbox_url, start)
        public_link = share_listeners(users, web_url)

        services.start(
            "scheduler",
            [
                str(BIN / "luigid"),
                "--address",
                "127.0.0.1",
                "--port",
                str(args.scheduler_port),
                "--logdir",
                str(log_dir / "luigid"),
                "--state-path",
                str(data_dir / "luigid-state.pickle"),
            ],
        )
        (log_dir / "luigid").mkdir(exist_ok=True)
        services.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "--no-control-socket",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{args.web_port}",
                "web:create_app()",
            ],
        )
        services.start("worker", [sys.executable, "-m", "batch.worker"])
        services.start(
            "api",
            [
                str(BIN / "chalice"),
                "local",
                "--no-autoreload",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.api_port),
            ],
            cwd=PROJECT_DIR / "chalice_app",
        )
        services.wait_for("scheduler", scheduler_url)
        services.wait_for("web", web_url)
        services.wait_for("api", f"{api_url}/health")
        etl_command = [
            str(BIN / "luigi"),
            "--module",
            "batch",
            "SpotifyEtl",
            "--scheduler-port",
            str(args.scheduler_port),
        ]
        run(etl_command, environ)

        print(
            f"""
Spotify Tracker is running on the sandbox Spotify:

  Web app         {web_url}
                  "Log in with Spotify", then pick a sandbox listener (the first
                  {args.listeners} already have data). Admin: {ADMIN_EMAIL} /
                  demo-admin-password at {web_url}/auth/admin
                  Listening story: {web_url}/story, year in review (with its
                  image): {web_url}/review
  Import          sample exports to upload on the account page: {
                ", ".join(str(p.relative_to(PROJECT_DIR)) for p in SAMPLE_EXPORTS)
            }
  Worker          runs the imports started on the page (python -m batch.worker)
  Together        {web_url}/together: the first two listeners share, so each sees
                  their affinity and a blend; a public link (no login): {public_link}
  JSON API        {api_url}  (create a token on the account page, then)
                  curl -H "Authorization: Bearer $TOKEN" "{api_url}/me/stats?range=4w"
  Luigi scheduler {scheduler_url}  (the ETL runs hourly through it)
  Sandbox Spotify {sandbox_url}
  Sandbox MusicBrainz {musicbrainz_url}/ws/2/  (genres for development-mode apps)
  Logs            {log_dir}

Ctrl-C stops everything.""",
            flush=True,
        )
        if args.smoke:
            check_services(web_url, api_url, scheduler_url)
            if public_link:
                shown = requests.get(public_link, timeout=10)
                assert shown.status_code == 200 and "noindex" in shown.text, shown.status_code
            worker = dict(services.processes)["worker"]
            assert worker.poll() is None, f"the worker stopped; see {log_dir / 'worker.log'}"
            print("Smoke check passed: every service answered.", flush=True)
            return 0
        while True:
            next_hour = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(
                minute=5, second=0, microsecond=0
            )
            time.sleep(max(1.0, (next_hour - dt.datetime.now(dt.UTC)).total_seconds()))
            subprocess.run(etl_command, cwd=PROJECT_DIR, env=environ)
    except KeyboardInterrupt:
        print("\nStopping.")
        return 0
    finally:
        services.stop()


if __name__ == "__main__":
    raise SystemExit(main())
