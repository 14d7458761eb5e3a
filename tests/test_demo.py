"""`make demo` runs `python -m demo`: its smoke mode starts every service on free ports,
seeds data from the sandbox, runs the ETL through a real luigid and checks each answers."""

from __future__ import annotations

import socket
import subprocess
import sys

from settings import PROJECT_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_starts_every_service_with_data(tmp_path):
    ports = [str(free_port()) for _ in range(5)]
    command = [
        sys.executable,
        "-m",
        "demo",
        "--smoke",
        "--backfill-hours",
        "3",
        "--data-dir",
        str(tmp_path / "demo"),
        "--sandbox-port",
        ports[0],
        "--web-port",
        ports[1],
        "--api-port",
        ports[2],
        "--scheduler-port",
        ports[3],
        "--musicbrainz-port",
        ports[4],
    ]
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Smoke check passed" in result.stdout
    assert "3 listeners connected" in result.stdout
    plays = int(result.stdout.split("listeners connected, ")[1].split(" plays")[0])
    assert plays > 100
    assert f"http://127.0.0.1:{ports[1]}" in result.stdout
