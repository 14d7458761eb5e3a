"""An import started on the web page survives killing the web server: gunicorn only queues it,
and a worker process (``python -m batch.worker``) runs it, over real HTTP and processes."""

from __future__ import annotations

import datetime as dt
import html
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from demo.export import EXTENDED_FOLDER, extended_history, write_zip
from models.schema.tables import ImportJob, Job, Play, User
from settings import PROJECT_DIR
from spotify.sandbox.catalogue import World
from tests.webtools import CSRF_INPUT, HIDDEN_INPUT, web_environ

START = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(environ: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--no-control-socket",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "web:create_app()",
        ],
        cwd=PROJECT_DIR,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            return process
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)  # polling the server's start, not waiting for the code under test
    raise AssertionError("gunicorn did not answer")


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


def log_in(http: requests.Session, url: str, listener_id: str) -> None:
    """The real login: the app's redirect, the sandbox's page, back to the app's callback."""
    authorize = http.get(f"{url}/auth/login", allow_redirects=False)
    assert authorize.status_code == 302
    page = http.get(authorize.headers["Location"])
    form = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(page.text)}
    form.update(decision="approve", listener=listener_id)
    answer = http.post(page.url.split("?")[0], data=form, allow_redirects=False)
    assert answer.status_code == 302
    back = http.get(answer.headers["Location"], allow_redirects=False)
    assert back.status_code == 302 and "/auth/" not in back.headers["Location"]


@pytest.fixture
def served(db, tmp_path, fresh_sandbox):
    port = free_port()
    environ = web_environ(
        db, tmp_path, fresh_sandbox, REDIRECT_URI=f"http://127.0.0.1:{port}/auth/callback"
    )
    environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    environ["PYTHONPATH"] = str(PROJECT_DIR)
    fresh_sandbox.register_redirect_uri(environ["REDIRECT_URI"])
    processes = []
    yield environ, port, processes
    for process in processes:
        kill(process)


def test_an_import_started_on_the_page_survives_killing_the_web_server(served, tmp_path):
    environ, port, processes = served
    url = f"http://127.0.0.1:{port}"
    world = World()
    listener = world.listeners[0]
    archive = write_zip(
        tmp_path / "my_spotify_data.zip",
        {
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": extended_history(
                world, listener, START, END
            )
        },
    )
    expected = len(
        world.plays(listener, int(START.timestamp() * 1000), int(END.timestamp() * 1000))
    )
    processes.append(web := start_web(environ, port))
    http = requests.Session()
    log_in(http, url, listener.id)
    page = http.get(f"{url}/account/import")
    token = next(m for m in CSRF_INPUT.search(page.text).groups() if m)
    uploaded = http.post(
        f"{url}/account/import",
        data={"csrf_token": token},
        files={"export": ("my_spotify_data.zip", archive.read_bytes(), "application/zip")},
        allow_redirects=False,
    )
    assert uploaded.status_code == 302, uploaded.text[-2000:]
    job_id = int(uploaded.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    kill(web)  # a deploy, a crash: SIGKILL, nothing gets to clean up
    job = ImportJob.get_by_id(job_id)
    assert job.status == "checking" and Play.select().count() == 0
    assert Job.get(Job.target == str(job_id)).state == "queued"

    processes.append(start_web(environ, port))
    status = http.get(f"{url}/account/import/{job_id}/status").json()
    assert status["status"] == "checking"
    worker = subprocess.run(
        [sys.executable, "-m", "batch.worker", "--until-idle", "--search-interval", "0"],
        cwd=PROJECT_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]

    user = User.get(User.spotify_id == listener.id)
    assert Play.select().where(Play.user == user.id).count() == expected > 0
    assert ImportJob.get_by_id(job_id).status == "done"
    assert Job.get(Job.target == str(job_id)).state == "done"
    status = http.get(f"{url}/account/import/{job_id}/status").json()
    assert status["status"] == "done" and status["plays_added"] == expected
    shown = http.get(f"{url}/account/import/{job_id}")
    assert 'data-status="done"' in shown.text and "Refresh" not in shown.headers
    assert f'<dd id="plays-added">{expected:,}</dd>' in shown.text
