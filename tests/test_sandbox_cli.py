"""``python -m spotify.sandbox`` starts a working sandbox with one command."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_one_command_starts_the_sandbox():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spotify.sandbox",
            "--port",
            str(port),
            "--seed",
            "3",
            "--listeners",
            "12",
            "--app-mode",
            "development",
            "--redirect-uri",
            "http://127.0.0.1:7777/cb",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                listeners = requests.get(url + "/_sandbox/listeners", timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert len(listeners["listeners"]) == 12
        assert (
            requests.get(url + "/_sandbox/control", timeout=5).json()["app_mode"] == "development"
        )
        page = requests.get(
            url + "/authorize",
            timeout=5,
            params={
                "client_id": "sandbox-client-id",
                "response_type": "code",
                "redirect_uri": "http://127.0.0.1:7777/cb",
                "state": "s",
            },
        )
        assert page.status_code == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert f"SPOTIFY_API_URL=http://127.0.0.1:{port}/v1" in output
