"""Rank history pages: the weekly charts of any week, and the rank-history panel of the track,
artist and album pages.  Every number comes from ``models.stats`` (``weekly_chart``,
``chart_history``), the functions the JSON API returns."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup

from models import stats
from web import charts
from web.auth import for_listeners_only

bp = Blueprint("rank", __name__)
for_listeners_only(bp)


def week_label(week: dt.date) -> str:
    return f"{week.day} {week:%b %Y}"


def history_chart(history: dict, size: int) -> Markup:
    """An item's chart positions as inline SVG, one slot per week from its first to its last
    week in the chart."""
    weeks = history["weeks"]
    if not weeks:
        return charts.rank_chart([], label="Weekly chart positions", size=size, span=1)
    first = weeks[0]["week"]
    points = [
        ((row["week"] - first).days // 7, week_label(row["week"]), row["position"]) for row in weeks
    ]
    return charts.rank_chart(
        points, label="Weekly chart positions", size=size, span=points[-1][0] + 1
    )


def _week_argument() -> dt.date | None:
    raw = request.args.get("week")
    if not raw:
        return None
    try:
        return stats.parse_week(raw)
    except ValueError as exc:
        abort(400, str(exc))


@bp.get("/charts")
@login_required
def weekly():
    chart = stats.weekly_chart(current_user.id, _week_argument())
    return render_template("rank/charts.html", chart=chart, week_label=week_label)
