"""The year in review ("Wrapped") of any year, this year so far, or any custom period.

One function, :func:`year_in_review`, gathers the figures from the other families (totals, top
lists, per-day and per-hour sums, streaks, sessions, discoveries), so the page, the API and the
shareable image show the same numbers.  The period it compares with is the same span one year
earlier (:func:`year_before`): for a whole year the previous year, for a custom period the same
dates a year back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from models.periods import Period, PeriodError, local_date, parse_period, zone
from models.schema.db import utcnow
from models.stats.calendar_days import days_with_plays, longest_run
from models.stats.counts import totals
from models.stats.discoveries import discovered
from models.stats.sessions import longest_sessions
from models.stats.sources import as_int, per_time, plan_for, statistic
from models.stats.top import top_albums, top_artists, top_genres, top_tracks

TOP = 5
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def year_period(year: int, tz: str, now: dt.datetime | None = None) -> Period:
    """Local January 1st to December 31st of ``year``; the current year ends today ("so far").
    A year after this one is refused (:class:`PeriodError` on ``year``)."""
    zone(tz)
    today = local_date(now or utcnow(), tz)
    if not 1970 <= year <= today.year:
        raise PeriodError("year", f"expected a year from 1970 to {today.year}, got {year}")
    last = dt.date(year, 12, 31)
    if year == today.year:
        return Period.of_days(dt.date(year, 1, 1), today, tz, "year", f"{year} so far")
    return Period.of_days(dt.date(year, 1, 1), last, tz, "year", str(year))


def review_period(
    year: str | None, from_: str | None, to: str | None, tz: str, now: dt.datetime | None = None
) -> Period:
    """The period a request for a review asks for: ``year`` (default this year, so far), or a
    custom ``from``/``to`` (local dates; ``to`` defaults to today).  Raises
    :class:`PeriodError` naming the parameter at fault."""
    if year and (from_ or to):
        raise PeriodError("year", "give either year or from/to, not both")
    if from_ or to:
        if not from_:
            raise PeriodError("from", "a custom period needs its first day")
        return parse_period(None, from_, to, tz=tz, now=now)
    if not year:
        return year_period(local_date(now or utcnow(), tz).year, tz, now)
    if not year.strip().isdigit():
        raise PeriodError("year", f"expected a year such as 2025, got {year!r}")
    return year_period(int(year), tz, now)


def _a_year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # February 29th
        return day.replace(year=day.year - 1, day=28)


def year_before(period: Period) -> Period:
    """The same local days one year earlier (the previous year, for a year)."""
    if period.first_day is None or period.last_day is None:
        raise ValueError("a year in review needs a period of whole local days with a start")
    first, last = _a_year_earlier(period.first_day), _a_year_earlier(period.last_day)
    whole_year = (period.first_day.month, period.first_day.day) == (1, 1) and (
        period.last_day.month,
        period.last_day.day,
    ) == (12, 31)
    label = str(first.year) if whole_year else f"{first.isoformat()} – {last.isoformat()}"
    return Period.of_days(first, last, period.tz, "previous", label)


def _best(sums: dict, label) -> dict | None:
    if not sums:
        return None
    key, (plays, ms) = max(sums.items(), key=lambda item: (item[1][1], item[1][0], item[0]))
    return {"key": label(key), "plays": plays, "ms_played": ms}


def _figures(user_id: int, period: Period, top: int) -> dict:
    """Every figure of the review; with ``top`` 0 (the year before) no top lists and no top
    discovery, whose comparison nobody reads (the discoveries are then counted from the first
    plays alone, with no sum of the period)."""
    plan = plan_for(user_id, period)
    days = days_with_plays(user_id, period)
    months: dict = defaultdict(lambda: [0, 0])
    weekdays: dict = defaultdict(lambda: [0, 0])
    for day, (plays, ms) in days.items():
        for bucket, key in ((months, day.replace(day=1)), (weekdays, day.weekday())):
            bucket[key][0] += plays
            bucket[key][1] += ms
    hours = (
        {}
        if plan.empty
        else {
            as_int(row["hour"]): (as_int(row["plays"]), as_int(row["ms_played"]))
            for row in per_time(plan, "hour")
        }
    )
    sessions = longest_sessions(user_id, period, 1)
    found = discovered(user_id, period, limit=top)
    tops = {
        f"top_{kind}": function(user_id, period, limit=top) if top else []
        for kind, function in (
            ("tracks", top_tracks),
            ("artists", top_artists),
            ("albums", top_albums),
            ("genres", top_genres),
        )
    }
    return {
        "period": period.as_dict(),
        "totals": totals(user_id, period),
        **tops,
        "top_month": _best({k: tuple(v) for k, v in months.items()}, lambda d: d.strftime("%Y-%m")),
        "top_weekday": _best({k: tuple(v) for k, v in weekdays.items()}, lambda d: WEEKDAYS[d]),
        "top_day": _best(days, lambda d: d.isoformat()),
        "favourite_hour": _best(hours, lambda h: h),
        "active_days": len(days),
        "longest_streak": longest_run(days),
        "longest_session": sessions[0] if sessions else None,
        "discoveries": found,
    }


@statistic
def year_in_review(user_id: int, period: Period, top: int = TOP) -> dict:
    """Every figure of the review for ``period`` (whole local days), and ``"previous"``: the
    same figures for the same span a year earlier (its top lists and top discovery left
    empty).  Listening
    times are in ms; the "top" month, weekday, day and hour are those with the most listening
    time (ties: more plays)."""
    review = _figures(user_id, period, top)
    review["previous"] = _figures(user_id, year_before(period), 0)
    return review
