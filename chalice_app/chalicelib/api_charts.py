"""Rank history endpoints: ``/me/charts`` (a week's charts); the detail endpoints carry an
item's chart positions (``charts``) and ``/me/top/{kind}`` its rows' movement, from the same
``models.stats`` functions the web pages call."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import current_user
from chalicelib.errors import BadParameter
from chalicelib.params import Query
from models import stats
from models.periods import display_zone

charts_api = Blueprint(__name__)


@charts_api.route("/me/charts")
def weekly_chart():
    request = charts_api.current_request
    user = current_user(request)
    query = Query(request, ("week",))
    raw = query.text("week")
    week = None
    if raw is not None:
        try:
            week = stats.parse_week(raw)
        except ValueError as exc:
            raise BadParameter("week", str(exc).removeprefix("week ")) from None
    return render.jsonable(stats.weekly_chart(user.id, week), display_zone(user.timezone))
