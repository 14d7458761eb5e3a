"""Running the background worker inside a test, the way ``python -m batch.worker`` does."""

from __future__ import annotations


def run_worker_until_idle(settings) -> int:
    """Every queued slice that may run now, in this process (no pacing of Spotify searches:
    the sandbox does not limit them); returns how many slices ran."""
    from batch.worker import run_until_idle

    return run_until_idle(settings, search_interval=0)
