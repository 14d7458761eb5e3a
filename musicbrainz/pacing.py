"""Pacing: at most one request per interval, for everyone who shares a pacer.

MusicBrainz counts its rate limit (on average one request per second) per source address, so
every process of a machine must share one pace. The client does not know how: it takes any
object with the :class:`Pacer` interface. :class:`LocalPacer` (here) paces the threads of one
process; ``models.schema.pacing.DatabasePacer`` paces every process that shares the database.

Both work on wall-clock seconds since the epoch (``time.time``), the only clock two processes
share. A pacer never sleeps itself: :meth:`Pacer.reserve` books a slot and says how long to wait
for it, so the client decides whether to sleep (a short wait) or defer (a long one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Pacer(Protocol):
    """Hands out request slots at least ``interval`` seconds apart."""

    interval: float

    def reserve(self, max_wait: float) -> float:
        """Book the next free slot if it is at most ``max_wait`` seconds away.

        Returns the seconds from now until the booked slot (0 when it is now). A value above
        ``max_wait`` means nothing was booked: the next free slot is that far away (an earlier
        :meth:`hold`), and the caller should defer instead of waiting.
        """
        ...

    def hold(self, until: float) -> None:
        """No slot before ``until`` (epoch seconds): MusicBrainz asked everyone to wait."""
        ...


class LocalPacer:
    """A :class:`Pacer` for the threads of one process."""

    def __init__(self, interval: float = 1.0, *, clock: Callable[[], float] = time.time):
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0

    def reserve(self, max_wait: float) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if slot - now > max_wait:
                return slot - now
            self._next = slot + self.interval
            return slot - now

    def hold(self, until: float) -> None:
        with self._lock:
            self._next = max(self._next, until)
