"""How values read on a page: local times, durations, counts, and "unknown" for withheld data.

The database holds naive UTC; a listener reads their own time zone (``User.timezone``).  A value
Spotify did not send (NULL, e.g. popularity for a development-mode app) reads "unknown", never 0.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user
from markupsafe import Markup

from models.accounts import grants
from models.jobs.timezones import recomputing
from models.periods import RANGE_LABELS, display_zone
from models.schema.db import utcnow
from models.schema.tables import FEATURES_EXPLAINED

UNKNOWN = Markup(
    '<span class="unknown" title="Spotify does not give this to this app">unknown</span>'
)
# Spotify refresh tokens stop working about six months after login: warn a couple of weeks ahead.
GRANT_WARNING = dt.timedelta(days=14)


def user_zone() -> ZoneInfo:
    return display_zone(getattr(current_user, "timezone", None))


def to_local(moment: dt.datetime | str | None) -> dt.datetime | None:
    """A naive-UTC datetime (or ISO string) in the listener's time zone."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(user_zone())


def local(moment, fmt: str = "%Y-%m-%d %H:%M") -> str | Markup:
    shown = to_local(moment)
    return "never" if shown is None else shown.strftime(fmt)


def duration(ms: int | None) -> str | Markup:
    """Listening time: "2 d 3 h", "5 h 12 min", "3 min", "40 s"."""
    if ms is None:
        return UNKNOWN
    seconds = int(ms) // 1000
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def number(value) -> str | Markup:
    if value is None:
        return UNKNOWN
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def plays(count) -> str:
    """ "1 play", "1,234 plays"."""
    return f"{int(count):,} play" + ("" if count == 1 else "s")


def percent(share) -> str | Markup:
    if share is None:
        return UNKNOWN
    return f"{share * 100:.1f}%" if share < 0.1 else f"{share * 100:.0f}%"


def change(current, previous) -> dict | None:
    """``{"text": "+12% vs previous period", "direction": "up"|"down"|"same"}``."""
    if current is None or previous is None:
        return None
    if previous == 0:
        return (
            {"text": "none in the previous period", "direction": "up"}
            if current
            else {"text": "same as the previous period", "direction": "same"}
        )
    ratio = (current - previous) / previous
    if abs(ratio) < 0.005:
        return {"text": "same as the previous period", "direction": "same"}
    return {"text": f"{ratio:+.0%} vs previous period", "direction": "up" if ratio > 0 else "down"}


def next_sync(user=None, now: dt.datetime | None = None) -> dt.datetime:
    """When the hourly ETL run (at the top of the hour) will next collect ``user``'s plays,
    naive UTC: the next run, or the first one after Spotify's long Retry-After ends."""
    now = now or utcnow()
    deferred = getattr(user, "sync_deferred_until", None)
    if deferred is not None and deferred > now:
        now = deferred - dt.timedelta(microseconds=1)
    return now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def grant_expires_soon(user, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the user's Spotify grant will stop working, if that is within the warning window."""
    expires = grants.expires_at(user)
    return expires if expires and expires - (now or utcnow()) < GRANT_WARNING else None


def init_app(app: Flask) -> None:
    app.add_template_filter(local)
    app.add_template_filter(duration)
    app.add_template_filter(number)
    app.add_template_filter(percent)
    app.add_template_filter(plays)
    app.add_template_global(change)
    # Constants, not functions: add_template_global is typed for callables.
    app.jinja_env.globals.update(
        UNKNOWN=UNKNOWN, PERIOD_RANGES=RANGE_LABELS, FEATURES_EXPLAINED=FEATURES_EXPLAINED
    )

    @app.context_processor
    def account_state():
        """What the banner in ``base.html`` needs on every page."""
        if not current_user.is_authenticated or current_user.is_admin:
            return {}
        return {
            "grant_expires": None
            if current_user.needs_reauth
            else grant_expires_soon(current_user),
            "recomputing": recomputing(current_user.id),
        }
