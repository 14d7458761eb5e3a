"""Possible gaps in a listener's history: which are open, and how an import fills them.

The ETL's load records a gap (``sync_gap``) when Spotify's whole 50-play window was newer than
the stored cursor (the rule is ``spotify.recent.possible_gap``; ``catalogue.load_recently_played``
writes the row): plays between the two may never have been seen.  A first sync that saw a full
window records one starting at :data:`HISTORY_BEGINS` ("everything before these 50").  Only the
privacy export can bring such plays back, so the account page, the dashboard, the admin page and
``GET /me/gaps`` show every open gap, and an import calls :func:`cover` once, when all its plays
are stored, with the interval its export covers:

- an export covering the gap's whole interval **fills** it (``filled_at`` is set; the row stays,
  so the data export still tells what happened);
- one covering an end of it **shortens** it to what is still uncovered;
- one lying inside it leaves two shorter gaps, before and after what it covered.

An extended streaming history holds every play since the account began, so for a first-sync gap
it counts as covering from ``HISTORY_BEGINS``; account data (one year) covers only from its first
play.  Bounds compare within ``PLAY_TOLERANCE``: the gap's ends are plays the tracker stored, and
the export's copy of such a play may be stamped up to 30 s apart.  Calling :func:`cover` again
with the same interval changes nothing (what it covered is no longer inside an open gap).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.ingest.plays import PLAY_TOLERANCE
from models.schema.db import naive_utc, utcnow
from models.schema.tables import SyncGap, User

# Before Spotify opened to anyone: a gap starting here is "since the account began" (a first
# sync's).  Imported by the ETL's load, which records gaps, and by the export reader, which
# refuses plays older than it.  Here so the API can read gaps without the catalogue writers.
HISTORY_BEGINS = dt.datetime(2008, 1, 1)


@dataclass(frozen=True)
class OpenGap:
    """One open gap: plays after ``start`` and before ``end`` may be missing.

    ``start`` is None for a first-sync gap: everything before ``end`` (Spotify's oldest shown
    play when the tracker first synced) is missing until an export is imported."""

    start: dt.datetime | None
    end: dt.datetime
    detected_at: dt.datetime

    def as_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "since_account_began": self.start is None,
            "detected_at": self.detected_at,
        }


@dataclass(frozen=True)
class Covered:
    """What one import did to the listener's open gaps."""

    filled: int = 0
    shortened: int = 0


def _open(gap: SyncGap) -> OpenGap:
    start = None if gap.gap_start <= HISTORY_BEGINS else gap.gap_start
    return OpenGap(start=start, end=gap.gap_end, detected_at=gap.detected_at)


def open_gaps(user_id: int) -> list[OpenGap]:
    """The listener's open gaps, oldest first (the ``(user, gap_start)`` index serves it)."""
    query = (
        SyncGap.select()
        .where((SyncGap.user == user_id) & SyncGap.filled_at.is_null())
        .order_by(SyncGap.gap_start)
    )
    return [_open(gap) for gap in query]


def filled_count(user_id: int) -> int:
    """How many of the listener's gaps imports have filled."""
    return (
        SyncGap.select().where((SyncGap.user == user_id) & SyncGap.filled_at.is_null(False)).count()
    )


def open_gaps_by_user() -> list[dict]:
    """For the admin page: every listener with open gaps, and those gaps, most gaps first."""
    query = (
        SyncGap.select(SyncGap, User)
        .join(User)
        .where(SyncGap.filled_at.is_null())
        .order_by(User.id, SyncGap.gap_start)
    )
    users: dict[int, dict] = {}
    for gap in query:
        entry = users.setdefault(
            gap.user.id,
            {
                "user_id": gap.user.id,
                "spotify_id": gap.user.spotify_id,
                "display_name": gap.user.display_name,
                "gaps": [],
            },
        )
        entry["gaps"].append(_open(gap))
    return sorted(users.values(), key=lambda entry: (-len(entry["gaps"]), entry["spotify_id"]))


def cover(
    user_id: int, first: dt.datetime, last: dt.datetime, *, since_account_began: bool = False
) -> Covered:
    """Fill or shorten the open gaps an import's plays from ``first`` to ``last`` cover.

    ``since_account_began``: the export is an extended history, which starts at the account's
    first play, so nothing before ``first`` exists to be missing.  Call it inside the
    transaction that finishes the import, so a killed import that resumes covers them then.
    """
    first, last = naive_utc(first), naive_utc(last)
    if since_account_began:
        first = HISTORY_BEGINS
    filled = shortened = 0
    now = utcnow()
    query = SyncGap.select().where(
        (SyncGap.user == user_id)
        & SyncGap.filled_at.is_null()
        & (SyncGap.gap_start < last)
        & (SyncGap.gap_end > first)
    )
    for gap in list(query):
        covers_start = first <= gap.gap_start + PLAY_TOLERANCE
        covers_end = last >= gap.gap_end - PLAY_TOLERANCE
        if covers_start and covers_end:
            SyncGap.update(filled_at=now).where(SyncGap.id == gap.id).execute()
            filled += 1
            continue
        if covers_start:
            SyncGap.update(gap_start=last).where(SyncGap.id == gap.id).execute()
        elif covers_end:
            SyncGap.update(gap_end=first).where(SyncGap.id == gap.id).execute()
        else:  # the import lies inside the gap: what is before it and what is after it
            SyncGap.update(gap_end=first).where(SyncGap.id == gap.id).execute()
            (
                SyncGap.insert(
                    user=user_id, gap_start=last, gap_end=gap.gap_end, detected_at=gap.detected_at
                )
                .on_conflict_ignore()
                .execute()
            )
        shortened += 1
    return Covered(filled=filled, shortened=shortened)
