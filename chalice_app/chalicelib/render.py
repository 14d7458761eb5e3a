"""Rows from the core as JSON: timestamps localised to the listener, unknowns kept as null.

``models.stats`` returns naive UTC datetimes and leaves localising to the caller; the API
answers ISO 8601 with the user's UTC offset (``2026-03-01T13:00:00+01:00``), so a client
needs no time zone table and still has the exact instant.  ``None`` stays ``null``: a
popularity Spotify did not give is unknown, never zero.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo


def timestamp(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(tz).isoformat()


def jsonable(value, tz: ZoneInfo):
    """``value`` with datetimes localised, dates as ISO strings and Decimals as numbers."""
    if isinstance(value, dict):
        return {key: jsonable(item, tz) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item, tz) for item in value]
    if isinstance(value, dt.datetime):
        return timestamp(value, tz)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def period(value, tz: ZoneInfo) -> dict:
    """A ``models.periods.Period`` as JSON: key, label, local days, bounds with UTC offset."""
    return {**value.as_dict(), "start": timestamp(value.start, tz), "end": timestamp(value.end, tz)}
