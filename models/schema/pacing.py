"""A pacer every process of the machine shares: the ``rate_limit`` row of a remote service.

MusicBrainz allows one request per second per source address, and several processes call it
(Luigi workers, the background worker). :class:`DatabasePacer` implements
:class:`musicbrainz.pacing.Pacer` on one row per service holding when the next request may
start: a process books a slot by moving that time on, inside a transaction that locks the row
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then sleeps until
its slot outside the transaction. Slots are booked one at a time, so no process waits longer
than the others' turns; a ``hold`` (MusicBrainz said ``Retry-After``) moves every process's
next slot at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from models.schema.db import db, is_sqlite
from models.schema.tables import RateLimit

MUSICBRAINZ = "musicbrainz"


class DatabasePacer:
    """A :class:`musicbrainz.pacing.Pacer` for every process sharing the database.

    Use it outside any transaction of the caller's: inside one, the booking becomes a savepoint,
    which on PostgreSQL keeps the row locked (every other process waits) until the caller
    commits, and on SQLite cannot take the write lock up front.
    """

    def __init__(
        self,
        service: str = MUSICBRAINZ,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.service = service
        self.interval = interval
        self._clock = clock

    @contextmanager
    def _locked_next(self) -> Iterator[list[float]]:
        """The row's ``next_at`` as a one-item list, locked until the block ends; what the
        block leaves in the list is written back."""
        sqlite = is_sqlite()
        transaction = db.atomic(lock_type="IMMEDIATE") if sqlite else db.atomic()
        with transaction:
            RateLimit.insert(service=self.service, next_at=0.0).on_conflict_ignore().execute()
            query = RateLimit.select(RateLimit.next_at).where(RateLimit.service == self.service)
            if not sqlite:
                query = query.for_update()
            before = float(query.scalar() or 0.0)
            holder = [before]
            yield holder
            if holder[0] != before:
                RateLimit.update(next_at=holder[0]).where(
                    RateLimit.service == self.service
                ).execute()

    def reserve(self, max_wait: float, slots: int = 1) -> float:
        """Book the next free slot (``slots`` consecutive ones, ``interval`` apart, for
        :class:`BlockPacer`); the seconds until the first."""
        with self._locked_next() as next_at:
            now = self._clock()
            slot = max(now, next_at[0])
            if slot - now <= max_wait:
                next_at[0] = slot + self.interval * slots
            return slot - now

    def hold(self, until: float) -> None:
        with self._locked_next() as next_at:
            next_at[0] = max(next_at[0], until)


class BlockPacer:
    """A :class:`DatabasePacer` booked ``block`` slots at a time, for a process that calls often.

    The Spotify ETL calls about twenty times a second: booking each slot alone would take
    SQLite's write lock as often, and the ETL's own writes (plays, the run log) then wait behind
    it.  A slot left more than one interval behind is given up with the rest of its block (the
    process fell behind: its old slots must not become a burst), and a block ends with the
    process, so at most ``block - 1`` slots a process go unused.
    """

    def __init__(
        self, shared: DatabasePacer, block: int, *, clock: Callable[[], float] = time.time
    ):
        self.shared = shared
        self.block = block
        self._clock = clock
        self._slots: deque[float] = deque()

    @property
    def interval(self) -> float:
        return self.shared.interval

    def reserve(self, max_wait: float) -> float:
        now = self._clock()
        if self._slots and self._slots[0] < now - self.interval:
            self._slots.clear()
        if not self._slots:
            wait = self.shared.reserve(max_wait, slots=self.block)
            if wait > max_wait:
                return wait
            first = now + wait
            self._slots.extend(first + i * self.interval for i in range(self.block))
        return max(0.0, self._slots.popleft() - now)
