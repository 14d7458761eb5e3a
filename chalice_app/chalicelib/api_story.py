"""The listening story's endpoints: ``/me/story`` (streaks, the year calendar, sessions,
discoveries, rediscover) and ``/me/review`` (the year in review, with the addresses of its
image).  Each calls the ``models.stats`` functions the web pages call, for the token's user.

The image is drawn by the web app (``web/review_image.py``, ``/review.svg`` and
``/review.png``), whose address is the origin of ``REDIRECT_URI`` (the web app's login
callback); the API returns its address, not the picture.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from chalice import Blueprint

from chalicelib import render, runtime
from chalicelib.api_stats import _ask
from chalicelib.errors import BadParameter
from models import stats
from models.periods import PeriodError, local_date
from models.schema.db import utcnow
from models.stats.discoveries import YOUNG_HISTORY_MONTHS, history_months

story_api = Blueprint(__name__)


@story_api.route("/me/story")
def story():
    user, tz, query = _ask("year")
    today = local_date(utcnow(), tz.key)
    year = query.integer("year", today.year, 1970, today.year)
    months = history_months(user.id)
    return render.jsonable(
        {
            "year": year,
            "streaks": stats.streaks(user.id, tz.key),
            "calendar": stats.calendar(user.id, year, tz.key),
            "sessions": stats.session_stats(user.id, stats.year_period(year, tz.key)),
            "discoveries_per_month": stats.discoveries_per_month(user.id, tz.key),
            "rediscover": stats.rediscover(user.id, tz.key),
            "history_months": months,
            "young_history": months is not None and months < YOUNG_HISTORY_MONTHS,
        },
        tz,
    )


def image_urls(args: dict) -> dict:
    """The web app's addresses of the review's image, SVG and PNG."""
    parts = urlsplit(runtime.settings().redirect_uri)
    suffix = f"?{urlencode(args)}" if args else ""
    base = f"{parts.scheme}://{parts.netloc}"
    return {"svg": f"{base}/review.svg{suffix}", "png": f"{base}/review.png{suffix}"}


@story_api.route("/me/review")
def review():
    user, tz, query = _ask("year", "from", "to")
    args = {k: v for k in ("year", "from", "to") if (v := query.text(k))}
    try:
        period = stats.review_period(args.get("year"), args.get("from"), args.get("to"), tz.key)
    except PeriodError as exc:
        raise BadParameter(exc.param, exc.message) from None
    found = stats.year_in_review(user.id, period)
    found["period"] = render.period(period, tz)
    found["previous"]["period"] = render.period(stats.year_before(period), tz)
    return {**render.jsonable(found, tz), "image": image_urls(args)}
