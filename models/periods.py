"""Periods: the stretch of time a statistic covers, as whole local days in the user's time zone.

A period is half-open, ``[start, end)``, in naive UTC like every timestamp in the database.  Every
period this module builds starts and ends at a local midnight of its time zone, so "the last 7
days" in Asia/Kolkata runs from 18:30 UTC to 18:30 UTC, and a play at 23:30 UTC falls on the next
local day.  Whole local days are also what lets ``models.stats`` answer from per-day summaries
instead of scanning a million plays; a hand-built ``Period`` with other bounds is still answered
exactly, from the raw plays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.schema.db import naive_utc, utcnow

RANGE_DAYS = {"7d": 7, "4w": 28}
RANGE_MONTHS = {"6m": 6, "12m": 12}
RANGE_LABELS = {
    "7d": "Last 7 days",
    "4w": "Last 4 weeks",
    "6m": "Last 6 months",
    "12m": "Last 12 months",
    "all": "All time",
}
RANGE_KEYS = tuple(RANGE_LABELS)
DEFAULT_RANGE = "4w"


class PeriodError(ValueError):
    """Bad period input; ``param`` names the request parameter at fault (range, from, to, tz)."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or PeriodError("tz") naming the bad value."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise PeriodError("tz", f"unknown time zone {tz!r}") from None


def display_zone(tz: str | None) -> ZoneInfo:
    """The zone to show a user's stored times in: theirs, or UTC when it is empty or unknown.

    Unlike :func:`zone` this never fails: a zone name stored long ago may vanish from a newer
    tzdata, and a page or an API answer must still render (in UTC, which is still exact).  The
    web's filters and the API's renderer both use it, so both fall back the same way.
    """
    try:
        return zone(tz or "UTC")
    except PeriodError:
        return ZoneInfo("UTC")


def local_midnight_utc(day: dt.date, tz: str) -> dt.datetime:
    """The naive UTC instant at which ``day`` begins in ``tz``.

    Midnight exists on every day of every current zone except a few historical DST starts; for
    those, zoneinfo's fold=0 reading (the instant before the gap, shifted) is used consistently.
    """
    return naive_utc(dt.datetime.combine(day, dt.time(0), tzinfo=zone(tz)))


def local_date(instant: dt.datetime, tz: str) -> dt.date:
    """The local calendar date of a naive UTC instant."""
    return instant.replace(tzinfo=dt.UTC).astimezone(zone(tz)).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_first - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in naive UTC; ``start`` None means since the first play.

    ``first_day``/``last_day`` (inclusive) are the local dates the period covers when it is made
    of whole local days (always, when built by :func:`parse_period`), else None.
    """

    start: dt.datetime | None
    end: dt.datetime
    tz: str = "UTC"
    label: str = ""
    key: str = "custom"
    first_day: dt.date | None = field(default=None, compare=False)
    last_day: dt.date | None = field(default=None, compare=False)

    @classmethod
    def of_days(
        cls,
        first_day: dt.date | None,
        last_day: dt.date,
        tz: str,
        key: str = "custom",
        label: str | None = None,
    ) -> Period:
        """The whole local days ``first_day``..``last_day`` (inclusive) of ``tz``."""
        start = None if first_day is None else local_midnight_utc(first_day, tz)
        end = local_midnight_utc(last_day + dt.timedelta(days=1), tz)
        if label is None:
            label = (
                f"{first_day.isoformat()} – {last_day.isoformat()}"
                if first_day
                else f"Until {last_day.isoformat()}"
            )
        return cls(start, end, tz, label, key, first_day, last_day)

    @property
    def whole_days(self) -> bool:
        return self.last_day is not None

    @property
    def days(self) -> int | None:
        """Length in local days (None for all time)."""
        if self.first_day is None or self.last_day is None:
            return None
        return (self.last_day - self.first_day).days + 1

    @property
    def bucket(self) -> str:
        """Time-series granularity that gives a readable number of points for this length."""
        days = self.days
        if days is None or days > 200:
            return "month"
        if days > 62:
            return "week"
        return "day"

    def previous(self) -> Period:
        """The period of the same number of local days just before this one.

        All time has nothing before it: its previous period is empty (start == end).
        """
        if self.start is None:
            return Period(self.end, self.end, self.tz, "Nothing before all time", "previous")
        days = self.days  # None unless made of whole local days (all time returned above)
        if self.first_day is None or days is None:
            length = self.end - self.start
            return Period(self.start - length, self.start, self.tz, "Previous period", "previous")
        last = self.first_day - dt.timedelta(days=1)
        first = last - dt.timedelta(days=days - 1)
        return Period.of_days(first, last, self.tz, "previous", "Previous period")

    def contains(self, instant: dt.datetime) -> bool:
        return (self.start is None or instant >= self.start) and instant < self.end

    def as_dict(self) -> dict:
        """JSON-friendly description, for API responses and templates."""
        return {
            "key": self.key,
            "label": self.label,
            "tz": self.tz,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
            "from": self.first_day.isoformat() if self.first_day else None,
            "to": self.last_day.isoformat() if self.last_day else None,
            "bucket": self.bucket,
        }


def _parse_date(param: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (ValueError, AttributeError, TypeError):
        raise PeriodError(param, f"expected a date as YYYY-MM-DD, got {value!r}") from None


def parse_period(
    range: str | None = None,
    from_: str | None = None,
    to: str | None = None,
    tz: str = "UTC",
    now: dt.datetime | None = None,
) -> Period:
    """The period a request asks for: a ``range`` key, or ``from``/``to`` local dates.

    ``range`` is one of 7d, 4w, 6m, 12m, all (default 4w); each ends with today (local) included.
    ``from``/``to`` are ISO dates in ``tz``, both inclusive; either may be left out (from the
    first play; until today).  Giving both a range and dates is an error, as is ``from`` after
    ``to``.  ``now`` is a naive UTC instant (tests pin it).  Raises :class:`PeriodError` naming the
    parameter at fault.
    """
    zone(tz)
    today = local_date(now or utcnow(), tz)
    from_ = from_ or None
    to = to or None
    if range is not None and range != "" and (from_ or to):
        raise PeriodError("range", "give either range or from/to, not both")
    if from_ or to:
        first = _parse_date("from", from_) if from_ else None
        last = _parse_date("to", to) if to else today
        if first is not None and first > last:
            raise PeriodError("from", f"{first.isoformat()} is after to={last.isoformat()}")
        if first is not None and first.year < 1970:
            raise PeriodError("from", "dates before 1970 are not supported")
        if last.year > 9998:
            raise PeriodError("to", "date too far in the future")
        return Period.of_days(first, last, tz)
    key = range or DEFAULT_RANGE
    if key not in RANGE_LABELS:
        raise PeriodError("range", f"expected one of {', '.join(RANGE_KEYS)}, got {key!r}")
    if key == "all":
        first = None
    elif key in RANGE_DAYS:
        first = today - dt.timedelta(days=RANGE_DAYS[key] - 1)
    else:
        first = add_months(today, -RANGE_MONTHS[key]) + dt.timedelta(days=1)
    return Period.of_days(first, today, tz, key, RANGE_LABELS[key])


def utc_offset_spans(
    tz: str, lo: dt.datetime, hi: dt.datetime
) -> list[tuple[dt.datetime | None, int]]:
    """The UTC offsets of ``tz`` between two naive UTC instants, as ``[(until, seconds), ...]``.

    Each span holds until its ``until`` instant (exclusive); the last has ``until`` None.  This is
    how SQL buckets plays into local time on SQLite, which has no time-zone database: the
    offsets are found here with zoneinfo and handed to the query as a CASE over instants.
    Transitions are found by sampling each day and bisecting to the second (no zone changes
    its offset twice within a day).
    """
    info = zone(tz)

    def offset(instant: dt.datetime) -> int:
        local = instant.replace(tzinfo=dt.UTC).astimezone(info).replace(tzinfo=None)
        return int((local - instant).total_seconds())

    spans: list[tuple[dt.datetime | None, int]] = []
    current = offset(lo)
    cursor = lo
    step = dt.timedelta(days=1)
    while cursor < hi:
        probe = min(cursor + step, hi)
        changed = offset(probe)
        if changed != current:
            low, high = cursor, probe  # offset(low) == current, offset(high) != current
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    middle = low + dt.timedelta(seconds=1)
                if offset(middle) == current:
                    low = middle
                else:
                    high = middle
            spans.append((high, current))
            current = offset(high)
            cursor = high
        else:
            cursor = probe
    spans.append((None, current))
    return spans
