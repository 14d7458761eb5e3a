"""Helpers for the API tests: the Chalice app in-process, tokens, and `chalice local` over HTTP.

The app is imported from ``chalice_app/app.py`` as Chalice itself does (``chalice_app`` on the
path, module ``app``), once per test process.  ``models`` is the repository's package, the
one ``chalice_app/vendor/models`` links to and the tests' factories use.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chalice.test import Client

from models.accounts import api_tokens

ROOT = Path(__file__).resolve().parent.parent
CHALICE_DIR = ROOT / "chalice_app"
CHALICE_BIN = Path(sys.executable).with_name("chalice")


def load_app():
    """The ``Chalice`` app object of ``chalice_app/app.py``."""
    if str(CHALICE_DIR) not in sys.path:
        sys.path.append(str(CHALICE_DIR))  # after the repository root
    module = sys.modules.get("app")
    if module is None or not str(getattr(module, "__file__", "")).startswith(str(CHALICE_DIR)):
        module = importlib.import_module("app")
    return module.app


def runtime():
    load_app()
    return importlib.import_module("chalicelib.runtime")


@dataclass
class Answer:
    status: int
    body: object
    headers: dict = field(default_factory=dict)

    @property
    def error(self) -> dict:
        assert isinstance(self.body, dict) and "Code" in self.body, self.body
        return self.body


class Api:
    """``chalice.test.Client`` with a bearer token per call and JSON decoding."""

    def __init__(self, client: Client, settings):
        self.client = client
        self.settings = settings

    def token(self, user, **kwargs) -> str:
        return api_tokens.issue(user, self.settings, **kwargs)

    def get(
        self, path: str, user=None, *, token: str | None = None, headers: dict | None = None
    ) -> Answer:
        sent = dict(headers or {})
        if user is not None:
            token = self.token(user)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return self._answer(self.client.http.get(path, headers=sent))

    def request(
        self, method: str, path: str, body: bytes | str = b"", headers: dict | None = None
    ) -> Answer:
        return self._answer(
            self.client.http.request(method, path, headers=headers or {}, body=body)
        )

    def post_form(self, path: str, form: str) -> Answer:
        return self.request(
            "POST", path, form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )

    @staticmethod
    def _answer(response) -> Answer:
        headers = {key.lower(): value for key, value in response.headers.items()}
        try:
            body = json.loads(response.body) if response.body else None
        except ValueError:
            body = response.body
        return Answer(response.status_code, body, headers)


@pytest.fixture
def api(db, settings):
    """The API in-process on the test's database (SQLite or PostgreSQL)."""
    app = load_app()
    runtime().use(settings, db)
    with Client(app) as client:
        yield Api(client, settings)
    runtime().use(None)


def WsgiGateway(app):
    """The Chalice app as a WSGI application: the production adapter of ``chalice_app/wsgi.py``
    (Chalice's local API Gateway), so schemathesis drives the same routing, middleware and
    error handling that gunicorn serves."""
    load_app()
    return importlib.import_module("wsgi").ApiGateway(app)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChaliceLocal:
    """``chalice local --no-autoreload`` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, environ: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("APP_DB_", "DATABASE_URL"))
        }
        env.update(environ)
        # A file, not a pipe: a full pipe would block the server's request log.  It lives as long
        # as the server and is closed by stop(), so no with-block can hold it.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(CHALICE_BIN),
                "local",
                "--no-autoreload",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=CHALICE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("chalice local exited:\n" + self.output())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("chalice local did not start:\n" + self.output())

    def get(
        self,
        path: str,
        token: str | None = None,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict | None = None,
    ) -> Answer:
        request = urllib.request.Request(
            self.url + path, method=method, data=body, headers=dict(headers or {})
        )
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), error.headers
        return Answer(
            status,
            json.loads(raw) if raw else None,
            {key.lower(): value for key, value in got.items()},
        )

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


__all__ = ["Answer", "Api", "ChaliceLocal", "WsgiGateway", "api", "load_app", "runtime"]
