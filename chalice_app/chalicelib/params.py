"""Query parameters: parsed once, strictly, and refused with a 400 that names the parameter.

Every endpoint declares the parameters it takes; any other parameter, a repeated one, or a bad
value is a :class:`BadParameter`, so a typo (``rnage=7d``) is an error rather than a silently
ignored filter.  Periods are parsed by ``models.periods`` in the user's time zone, the same
function the web pages call.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from chalicelib.errors import BadParameter
from models.periods import PeriodError, parse_period

MAX_LIMIT = 200
# Beyond any real listening history; keeps numbers inside a 32-bit database integer.
MAX_OFFSET = 1_000_000
MAX_TEXT = 200
EPOCH_YEAR = 1970
PERIOD_PARAMS = ("range", "from", "to")
PAGE_PARAMS = ("limit", "offset")


class Query:
    """The query string of one request, checked against the parameters the endpoint takes."""

    def __init__(self, request, allowed: tuple[str, ...]):
        self.request = request
        raw = request.query_params
        self.values: dict[str, str] = {}
        for name in raw.keys() if raw is not None else ():
            if name not in allowed:
                raise BadParameter(
                    name, f"unknown parameter (allowed: {', '.join(allowed) or 'none'})"
                )
            given = raw.getlist(name)
            if len(given) > 1:
                raise BadParameter(name, "give this parameter once")
            self.values[name] = given[0]

    def text(
        self, name: str, default: str | None = None, *, allow_empty: bool = False
    ) -> str | None:
        """The parameter's value; given but empty is an error unless ``allow_empty``."""
        value = self.values.get(name)
        if value == "" and not allow_empty:
            raise BadParameter(name, "is empty: give a value or leave the parameter out")
        if value is None or value == "":
            return default
        if len(value) > MAX_TEXT or any(ch < " " for ch in value):
            raise BadParameter(name, f"must be at most {MAX_TEXT} printable characters")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None):
        value = self.text(name, default)
        if value is not None and value not in choices:
            raise BadParameter(name, f"must be one of {', '.join(choices)}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        value = self.text(name)
        if value is None:
            return default
        if not value.isascii() or not value.isdigit():
            raise BadParameter(name, "must be a whole number")
        number = int(value)
        if not minimum <= number <= maximum:
            raise BadParameter(name, f"must be between {minimum} and {maximum}")
        return number

    def period(self, tz: str, default_range: str | None = None):
        """The period asked for; ``default_range`` when neither a range nor dates are given."""
        start, end = self.text("from"), self.text("to")
        range_key = self.text("range", None if start or end else default_range)
        try:
            period = parse_period(range=range_key, from_=start, to=end, tz=tz)
        except PeriodError as exc:
            raise BadParameter(exc.param, exc.message) from None
        if period.last_day is not None and period.last_day.year < EPOCH_YEAR:
            # Before 1970 zones had local mean time offsets with seconds (-04:56:02), which
            # RFC 3339 timestamps cannot carry; nobody streamed anything then anyway.
            raise BadParameter("to", f"dates before {EPOCH_YEAR} are not supported")
        return period

    def page(self, default_limit: int = 50) -> PageRequest:
        return PageRequest(
            limit=self.integer("limit", default_limit, 1, MAX_LIMIT),
            offset=self.integer("offset", 0, 0, MAX_OFFSET),
        )

    def link(self, **changes) -> str:
        """This request's path and query with ``changes`` applied (for ``next`` links)."""
        merged = {**self.values, **{k: str(v) for k, v in changes.items()}}
        path = self.request.context.get("path") or self.request.path
        return f"{path}?{urlencode(merged)}" if merged else path


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int

    def envelope(
        self, query: Query, items: list, total: int | None, has_more: bool | None = None
    ) -> dict:
        """``items`` with their total and the ``next`` link (None on the last page)."""
        if has_more is None:
            has_more = total is not None and self.offset + len(items) < total
        next_link = (
            query.link(limit=self.limit, offset=self.offset + self.limit)
            if has_more and items
            else None
        )
        return {
            "items": items,
            "total": total,
            "limit": self.limit,
            "offset": self.offset,
            "next": next_link,
        }
