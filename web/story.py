"""The listening story pages: streaks, the year calendar, sessions and discoveries (``/story``),
and the year in review (``/review``) with its shareable image (``/review.svg``, ``/review.png``).

Every figure comes from ``models.stats`` (the functions the API's ``/me/story`` and
``/me/review`` return), for the logged-in user only.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user, login_required

from models import stats
from models.periods import PeriodError, local_date
from models.schema.db import utcnow
from models.stats.discoveries import YOUNG_HISTORY_MONTHS, history_months
from web.auth import for_listeners_only
from web.review_image import review_png, review_svg
from web.story_charts import calendar_heatmap, discoveries_chart, sessions_chart

bp = Blueprint("story", __name__)
for_listeners_only(bp)


def _tz() -> str:
    return current_user.timezone or "UTC"


@bp.get("/story")
@login_required
def overview():
    tz, user_id = _tz(), current_user.id
    today = local_date(utcnow(), tz)
    error = None
    year = today.year
    raw_year = request.args.get("year")
    if raw_year:
        if raw_year.isdigit() and 1970 <= int(raw_year) <= today.year:
            year = int(raw_year)
        else:
            error = f"year: expected a year from 1970 to {today.year}, got {raw_year!r}"
    calendar = stats.calendar(user_id, year, tz)
    per_month = stats.discoveries_per_month(user_id, tz)
    sessions = stats.session_stats(user_id, stats.year_period(year, tz))
    months = history_months(user_id)
    return render_template(
        "story/overview.html",
        error=error,
        year=year,
        this_year=today.year,
        streaks=stats.streaks(user_id, tz),
        calendar=calendar,
        calendar_chart=calendar_heatmap(calendar["days"], label=f"Minutes per day in {year}"),
        sessions=sessions,
        sessions_chart=sessions_chart(sessions["per_week"]) if sessions["count"] else None,
        per_month=per_month,
        tracks_chart=discoveries_chart(per_month[-24:], "tracks") if per_month else None,
        artists_chart=discoveries_chart(per_month[-24:], "artists") if per_month else None,
        rediscover=stats.rediscover(user_id, tz)[:20],
        history_months=months,
        young_history=months is not None and months < YOUNG_HISTORY_MONTHS,
    ), (400 if error else 200)


def _review_args() -> dict:
    return {k: v for k in ("year", "from", "to") if (v := request.args.get(k))}


def _review():
    """(review or None, error, period args) for the query string."""
    args = _review_args()
    try:
        period = stats.review_period(args.get("year"), args.get("from"), args.get("to"), _tz())
    except PeriodError as exc:
        return None, f"{exc.param}: {exc.message}", args
    return stats.year_in_review(current_user.id, period), None, args


@bp.get("/review")
@login_required
def review():
    found, error, args = _review()
    today = local_date(utcnow(), _tz())
    this_year_plays = None  # only an empty review's message reads it: a year's totals cost
    if found is not None and not found["totals"]["plays"]:
        this_year = stats.totals(current_user.id, stats.year_period(today.year, _tz()))
        this_year_plays = this_year["plays"]
    return render_template(
        "story/review.html",
        review=found,
        error=error,
        args=args,
        years=list(range(today.year, today.year - 10, -1)),
        image_svg=url_for("story.review_image", fmt="svg", **args),
        image_png=url_for("story.review_image", fmt="png", **args),
        this_year_plays=this_year_plays,
        month_name=month_name,
        young_history=_young_history(),
    ), (400 if error else 200)


def _young_history() -> bool:
    months = history_months(current_user.id)
    return months is not None and months < YOUNG_HISTORY_MONTHS


def month_name(key: str) -> str:
    """ "2025-03" as "March 2025"."""
    return dt.date.fromisoformat(key + "-01").strftime("%B %Y")


@bp.get("/review.<any(svg, png):fmt>")
@login_required
def review_image(fmt: str):
    found, error, _ = _review()
    if found is None:
        return Response(error or "bad period", status=400, mimetype="text/plain")
    svg = review_svg(found, str(current_user.row))
    name = f"review-{found['period']['from']}-{found['period']['to']}.{fmt}"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    if fmt == "svg":
        return Response(svg, mimetype="image/svg+xml", headers=headers)
    return Response(review_png(svg), mimetype="image/png", headers=headers)
