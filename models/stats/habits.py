"""When the user listens: the series over a period, the hours of the day, weekday x hour.

All three read the same per-local-time sums (``sources.per_time``: ``HourSlot``, or the raw
plays bucketed in the period's zone), so a period's hours add up to its series.
"""

from __future__ import annotations

import datetime as dt

from models.periods import Period, local_date
from models.stats.sources import as_date, as_int, per_time, plan_for, series_of, statistic


def period_days(period: Period) -> tuple[dt.date | None, dt.date]:
    if period.last_day is not None:  # period.whole_days
        return period.first_day, period.last_day
    first = local_date(period.start, period.tz) if period.start else None
    return first, local_date(period.end - dt.timedelta(microseconds=1), period.tz)


@statistic
def listening_series(user_id: int, period: Period, bucket: str | None = None) -> list[dict]:
    """Plays and listening time per local day, week (from Monday) or month:
    ``[{"bucket": "YYYY-MM-DD" (the bucket's first day), "plays", "ms_played"}]``, oldest
    first, with empty buckets as zeros; ``bucket`` defaults to ``period.bucket``.  All time
    starts at the first play."""
    bucket = bucket or period.bucket
    plan = plan_for(user_id, period)
    if plan.empty:
        return []
    per_day = {
        as_date(row["day"]): [as_int(row["plays"]), as_int(row["ms_played"])]
        for row in per_time(plan, "day")
    }
    first, last = period_days(period)
    if first is None and not per_day:
        return []
    return series_of(per_day, first, last, bucket)


@statistic
def hours_of_day(user_id: int, period: Period) -> list[dict]:
    """24 rows ``{"hour": 0..23 (local), "plays", "ms_played"}``."""
    plan = plan_for(user_id, period)
    found = {} if plan.empty else {as_int(row["hour"]): row for row in per_time(plan, "hour")}
    return [
        {
            "hour": hour,
            "plays": as_int(found.get(hour, {}).get("plays")),
            "ms_played": as_int(found.get(hour, {}).get("ms_played")),
        }
        for hour in range(24)
    ]


@statistic
def weekday_hour(user_id: int, period: Period) -> list[list[int]]:
    """Play counts as 7 rows (Monday first) of 24 local hours."""
    plan = plan_for(user_id, period)
    matrix = [[0] * 24 for _ in range(7)]
    if not plan.empty:
        for row in per_time(plan, "weekday", "hour"):
            matrix[as_int(row["weekday"])][as_int(row["hour"])] += as_int(row["plays"])
    return matrix
