"""The API served by gunicorn (the Procfile's ``api`` line), and its client address."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from werkzeug.security import generate_password_hash
from werkzeug.test import Client

from models.accounts import api_tokens
from tests.api_support import ROOT, free_port, load_app, runtime
from tests.environment import base_environ
from tests.factories import make_user

ADMIN_EMAIL = "admin@example.test"
ADMIN_PASSWORD = "correct horse battery staple"
WRONG = f"grant_type=password&username={ADMIN_EMAIL}&password=wrong"
RIGHT = f"grant_type=password&username={ADMIN_EMAIL}&password={ADMIN_PASSWORD}"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _wsgi_client(settings, db) -> Client:
    load_app()
    runtime().use(settings, db)
    return Client(importlib.import_module("wsgi").create_application())


def _admin():
    make_user(
        spotify_id="admin",
        email=ADMIN_EMAIL,
        is_admin=True,
        password_hash=generate_password_hash(ADMIN_PASSWORD),
    )


def _post(client, form, address, forwarded=None):
    headers = dict(FORM)
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return client.post("/token", data=form, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_the_password_grant_counts_the_connections_address_not_a_header(db, settings):
    _admin()
    client = _wsgi_client(settings, db)
    try:
        for n in range(5):
            assert _post(client, WRONG, "192.0.2.1", forwarded=f"10.9.9.{n}").status_code == 400
        throttled = _post(client, RIGHT, "192.0.2.1", forwarded="10.9.9.99")
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
        assert throttled.json["Code"] == "TooManyRequestsError"
    finally:
        runtime().use(None)


def test_behind_trusted_proxies_the_forwarded_address_counts(db, settings, monkeypatch):
    from dataclasses import replace

    from models.accounts import throttle

    _admin()
    client = _wsgi_client(replace(settings, trusted_proxies=1), db)
    try:
        for _ in range(5):
            assert _post(client, WRONG, "127.0.0.1", forwarded="192.0.2.7").status_code == 400
        assert _post(client, RIGHT, "127.0.0.1", forwarded="192.0.2.7").status_code == 429
        later = throttle.clock() + dt.timedelta(seconds=2)
        monkeypatch.setattr(throttle, "clock", lambda: later)  # the account's wait is over
        assert _post(client, RIGHT, "127.0.0.1", forwarded="192.0.2.8").status_code == 200
    finally:
        runtime().use(None)


def _procfile_api_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("api:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("the Procfile has no api line")


def test_the_procfile_serves_the_api_with_gunicorn(db, settings, tmp_path):
    user = make_user(display_name="Served")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("APP_DB_")}
    env.update(base_environ(DATABASE_URL=db.url, DATA_DIR=str(tmp_path / "data")))
    env.update(API_PORT=str(port), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    command = _procfile_api_command().replace("0.0.0.0", "127.0.0.1")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["sh", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/me",
            headers={"Authorization": f"Bearer {api_tokens.issue(user, settings)}"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read())["display_name"] == "Served"
        assert "Booting worker" in log.read_text()  # gunicorn, not a development server
    finally:
        process.terminate()
        process.wait(timeout=10)
