"""A small world computed by hand, for the API's tests and the API-against-web comparison.

Ada (UTC) plays in the week 2026-03-01 (a Sunday) .. 2026-03-07:
  track one   (artist X, album A1, 200 s) at Mar 1 10:00, Mar 2 10:00, Mar 6 21:00, Mar 7 23:59:59
  track two   (artists X+Y, album A2, 100 s) at Mar 3 12:00, Mar 4 12:30
  track three (artist Y, album A2, 300 s) at Mar 5 08:00
Near misses: track one at Feb 28 23:59:59 (the previous week) and track three at Mar 8 00:00
(just after).  Bob plays track three five times and track four, which Ada never played.
So for the week: 7 plays, 1 300 000 ms; tracks one 4 > two 2 > three 1; artists X 6 > Y 3;
albums A1 4 > A2 3; previous week: 1 play of 200 000 ms.
"""

from __future__ import annotations

import datetime as dt

from tests.factories import make_album, make_artist, make_play, make_track, make_user

WEEK = "from=2026-03-01&to=2026-03-07"
T = dt.datetime


class World:
    def __init__(self):
        self.ada = make_user(display_name="Ada", timezone="UTC")
        self.bob = make_user(display_name="Bob", timezone="UTC")
        self.x = make_artist(name="Xenia", popularity=None)
        self.y = make_artist(name="Yusuf", popularity=61)
        self.a1 = make_album(name="First Album")
        self.a2 = make_album(name="Second Album")
        self.one = make_track(
            name="One", artists=[self.x], album=self.a1, duration_ms=200_000, popularity=None
        )
        self.two = make_track(
            name="Two", artists=[self.x, self.y], album=self.a2, duration_ms=100_000, popularity=40
        )
        self.three = make_track(name="Three", artists=[self.y], album=self.a2, duration_ms=300_000)
        self.four = make_track(name="Four", artists=[self.y], album=self.a2)
        for at in (
            T(2026, 3, 1, 10),
            T(2026, 3, 2, 10),
            T(2026, 3, 6, 21),
            T(2026, 3, 7, 23, 59, 59),
            T(2026, 2, 28, 23, 59, 59),
        ):
            make_play(self.ada, self.one, at)
        for at in (T(2026, 3, 3, 12), T(2026, 3, 4, 12, 30)):
            make_play(self.ada, self.two, at)
        for at in (T(2026, 3, 5, 8), T(2026, 3, 8, 0)):
            make_play(self.ada, self.three, at)
        for day in range(1, 6):
            make_play(self.bob, self.three, T(2026, 3, day, 15))
        make_play(self.bob, self.four, T(2026, 3, 2, 9))
