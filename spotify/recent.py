"""What Spotify's recently-played window can show, and when plays may lie outside it.

Pure rules with no I/O and no ``requests``, so the client and the ETL's load (``models.ingest``)
apply the same one: the client to what it just read, the load to the cursor it holds locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

RECENT_WINDOW = 50  # Spotify shows only a listener's last 50 plays

Instant = TypeVar("Instant", int, datetime)  # ms since the epoch, or datetimes: one kind throughout


def possible_gap(
    after: Instant | None, played: Sequence[Instant]
) -> tuple[Instant | None, Instant] | None:
    """``(after, oldest shown)`` when plays older than what Spotify showed may be missing.

    Spotify shows the last 50 plays.  When all 50 it showed are newer than the cursor
    ``after``, plays between the cursor and the oldest of them may never have been seen.  With
    no cursor (a first sync) a full window is a gap too, ``(None, oldest)``: older plays exist
    that Spotify will never show again, and only the privacy-export import can bring them;
    saying so is how the listener learns to import.  Fewer than 50 shows everything since
    ``after`` (or since the account began), so there is no gap.
    """
    if len(played) < RECENT_WINDOW:
        return None
    oldest = min(played)
    if after is not None and oldest <= after:
        return None
    return (after, oldest)
