"""Streaks and the year calendar: runs of local days with plays, and minutes per day.

Both read the per-local-day sums every other statistic reads (``sources.per_time``: the
``HourSlot`` summaries in the zone they are bucketed in, else the raw plays bucketed in SQL), so
a day on the calendar is a day of the streaks.  A day counts when it has a music play.  The
current streak counts today once there is a play today; until then it runs through yesterday
(a streak is not broken before the day is over).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from models.periods import Period, local_date
from models.schema.db import utcnow
from models.stats.sources import all_time_plan, as_date, as_int, per_time, plan_for, statistic


def days_with_plays(user_id: int, period: Period) -> dict[dt.date, tuple[int, int]]:
    """{local day: (plays, ms_played)} of the period's days with plays."""
    plan = plan_for(user_id, period, aggregate=False)
    if plan.empty:
        return {}
    return {
        as_date(row["day"]): (as_int(row["plays"]), as_int(row["ms_played"]))
        for row in per_time(plan, "day")
    }


def all_days_with_plays(user_id: int, tz: str) -> dict[dt.date, tuple[int, int]]:
    plan = all_time_plan(user_id, tz)
    if plan.empty:
        return {}
    return {
        as_date(row["day"]): (as_int(row["plays"]), as_int(row["ms_played"]))
        for row in per_time(plan, "day")
    }


def runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive days, ``(first, last)``, oldest first."""
    found: list[list[dt.date]] = []
    for day in sorted(days):
        if found and day - found[-1][1] == dt.timedelta(days=1):
            found[-1][1] = day
        else:
            found.append([day, day])
    return [(first, last) for first, last in found]


def _as_streak(run: tuple[dt.date, dt.date] | None) -> dict:
    if run is None:
        return {"days": 0, "first": None, "last": None}
    first, last = run
    return {"days": (last - first).days + 1, "first": first, "last": last}


def longest_run(days: Iterable[dt.date]) -> dict:
    """``{"days", "first", "last"}`` of the longest run (the earliest of equal ones)."""
    best = None
    for run in runs(days):
        if best is None or run[1] - run[0] > best[1] - best[0]:
            best = run
    return _as_streak(best)


def current_run(days: Iterable[dt.date], today: dt.date) -> dict:
    """The run ending today, else the one ending yesterday, else none."""
    found = runs(days)
    last = found[-1] if found else None
    if last is not None and last[1] >= today - dt.timedelta(days=1) and last[1] <= today:
        return _as_streak(last)
    return _as_streak(None)


@statistic
def streaks(user_id: int, tz: str, now: dt.datetime | None = None) -> dict:
    """``{"current": {"days", "first", "last"}, "longest": {...}, "today": local date,
    "played_today": bool}`` over all time, in ``tz``.  ``now``: naive UTC (tests pin it)."""
    today = local_date(now or utcnow(), tz)
    days = [day for day in all_days_with_plays(user_id, tz) if day <= today]
    return {
        "current": current_run(days, today),
        "longest": longest_run(days),
        "today": today,
        "played_today": today in days,
    }


@statistic
def calendar(user_id: int, year: int, tz: str) -> dict:
    """Every local day of ``year``: ``{"year", "days": [{"day", "plays", "ms_played"}]
    (January 1st first, days without plays as zeros), "max_ms", "active_days"}``."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    found = days_with_plays(user_id, Period.of_days(first, last, tz, "year", str(year)))
    days = []
    day = first
    while day <= last:
        plays, ms = found.get(day, (0, 0))
        days.append({"day": day, "plays": plays, "ms_played": ms})
        day += dt.timedelta(days=1)
    return {
        "year": year,
        "days": days,
        "max_ms": max((ms for _, ms in found.values()), default=0),
        "active_days": len(found),
    }
