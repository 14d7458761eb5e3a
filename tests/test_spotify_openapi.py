"""How the contract tests get Spotify's OpenAPI description on a machine without ../shared.

``tests/spotify_openapi.py`` is run as ``make test`` runs it (a subprocess, no site-packages) from
a copy of the repository's ``tests/`` in a temporary folder, which has no ``../shared`` beside
it. Its download is pointed at a local HTTP server serving this machine's own copy, so nothing
here needs the internet.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests import openapi_contract, spotify_openapi

SCRIPT = Path(spotify_openapi.__file__)


@pytest.fixture(scope="module")
def pinned() -> bytes:
    """The pinned description as found here (../shared, SPOTIFY_OPENAPI_PATH or the cache)."""
    try:
        path = spotify_openapi.find()
    except spotify_openapi.Unavailable as missing:
        message = str(missing)
    else:
        data = path.read_bytes()
        assert spotify_openapi._sha256(data) == spotify_openapi.PINNED_SHA256, path
        assert len(data) == spotify_openapi.PINNED_SIZE
        return data
    pytest.fail(message, pytrace=False)  # outside the except: the message once, not chained


class Served:
    """A local server answering every GET with ``body``; ``requests`` counts them."""

    def __init__(self, body: bytes):
        served = self
        self.body = body
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                served.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fixed-spotify-open-api.yml"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def serve() -> Iterator:
    servers: list[Served] = []

    def start(body: bytes) -> Served:
        servers.append(Served(body))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A URL on a local port bound but not listening: connecting is refused, at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/fixed-spotify-open-api.yml"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A repository with only ``tests/spotify_openapi.py`` and no ``../shared`` beside it."""
    repo = tmp_path / "clone"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "tests" / SCRIPT.name)
    assert not spotify_openapi.shared_path(repo).exists()
    return repo


def run_script(repo: Path, url: str, **extra: str) -> subprocess.CompletedProcess:
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in (spotify_openapi.PATH_VARIABLE, spotify_openapi.URL_VARIABLE)
    }
    environ.update({spotify_openapi.URL_VARIABLE: url, **extra})
    # -I -S: no PYTHONPATH, no site-packages; the script must need the standard library only.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(repo / "tests" / SCRIPT.name)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_downloads_once_into_the_cache_and_the_tests_read_it(clone, serve, pinned):
    served = serve(pinned)

    first = run_script(clone, served.url)
    assert first.returncode == 0, first.stderr
    cached = spotify_openapi.cached_path(clone)
    assert cached.parent == clone / ".cache"
    assert cached.read_bytes() == pinned
    assert cached.stat().st_mode & 0o777 == 0o644
    assert str(cached) in first.stdout
    assert served.requests == 1
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no .part left behind

    again = run_script(clone, served.url)
    assert again.returncode == 0, again.stderr
    assert served.requests == 1  # the cache survives between runs: no second download

    # What the contract tests read, with no network and no ../shared: the cached copy.
    assert spotify_openapi.find(clone, environ={}) == cached
    loaded = openapi_contract.load_spec(clone, environ={})
    assert "/me/player/recently-played" in loaded["paths"]


def test_a_file_with_one_byte_changed_is_refused_and_nothing_cached(clone, serve, pinned):
    changed = bytearray(pinned)
    changed[1000] ^= 0x01
    served = serve(bytes(changed))

    result = run_script(clone, served.url)

    assert result.returncode == 1
    assert served.requests == 1
    assert "is not the pinned file" in result.stderr
    assert spotify_openapi.PINNED_SHA256 in result.stderr
    assert "nothing was cached" in result.stderr
    assert not (clone / ".cache").exists() or not any((clone / ".cache").iterdir())
    with pytest.raises(spotify_openapi.Unavailable):
        spotify_openapi.find(clone, environ={})


def test_a_longer_file_is_refused(clone, serve, pinned):
    served = serve(pinned + b"\n")

    result = run_script(clone, served.url)

    assert result.returncode == 1
    assert f"{spotify_openapi.PINNED_SIZE + 1} bytes" in result.stderr
    assert not spotify_openapi.cached_path(clone).exists()


def test_no_copy_and_no_network_says_how_to_provide_the_file(clone, closed_url):
    result = run_script(clone, closed_url)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"downloading {closed_url} failed" in result.stderr
    assert "refused" in result.stderr.lower()
    for advice in (spotify_openapi.PATH_VARIABLE, spotify_openapi.PINNED_URL, "make test"):
        assert advice in result.stderr
    assert not spotify_openapi.cached_path(clone).exists()


def test_contract_tests_fail_with_that_message_not_a_file_not_found(clone):
    with pytest.raises(pytest.fail.Exception) as failed:
        openapi_contract.load_spec(clone, environ={})

    assert failed.value.pytrace is False  # the message alone, not a traceback into the helper
    message = str(failed.value)
    assert message.startswith("Spotify's OpenAPI description is not available")
    assert str(spotify_openapi.shared_path(clone)) in message
    assert str(spotify_openapi.cached_path(clone)) in message
    assert f"{spotify_openapi.PATH_VARIABLE}=/path/to/it" in message


def test_a_changed_cached_copy_is_not_read(clone, pinned):
    cached = spotify_openapi.cached_path(clone)
    cached.parent.mkdir()
    cached.write_bytes(pinned[:-1])

    with pytest.raises(spotify_openapi.Unavailable, match="has changed: delete it"):
        spotify_openapi.find(clone, environ={})


def test_a_named_file_wins_and_a_missing_one_is_an_error(clone, tmp_path, serve, pinned):
    named = tmp_path / "my-spotify-openapi.yml"
    named.write_bytes(pinned)
    assert spotify_openapi.find(clone, {spotify_openapi.PATH_VARIABLE: str(named)}) == named

    missing = str(tmp_path / "nowhere.yml")
    served = serve(pinned)
    result = run_script(clone, served.url, **{spotify_openapi.PATH_VARIABLE: missing})
    assert result.returncode == 1
    assert f"{spotify_openapi.PATH_VARIABLE} names no file: {missing}" in result.stderr
    assert served.requests == 0  # never quietly replaced by a download
    assert not spotify_openapi.cached_path(clone).exists()


def test_a_shared_copy_beside_the_repository_is_taken_without_a_download(clone, serve, pinned):
    shared = spotify_openapi.shared_path(clone)
    shared.parent.mkdir()
    shared.write_bytes(pinned)
    served = serve(pinned)

    result = run_script(clone, served.url)

    assert result.returncode == 0, result.stderr
    assert str(shared) in result.stdout
    assert served.requests == 0
    assert not (clone / ".cache").exists()
