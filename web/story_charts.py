"""The listening story's charts as inline SVG, in the style of ``web.charts``: the year
calendar (a cell per day, shaded by minutes) and bars of new tracks and artists per month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

from web.charts import WEEKDAYS, _svg, bar_chart
from web.filters import duration

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def calendar_heatmap(days: Sequence[dict], *, label: str) -> Markup:
    """One column per week (from Monday), one row per weekday; a day's cell is shaded by its
    listening time, with the date, minutes and plays in its tooltip."""
    if not days:
        return _svg(10, 10, label, [], css="chart calendar")
    cell, left, top = 13, 30, 16
    first = days[0]["day"]
    start = first - dt.timedelta(days=first.weekday())
    weeks = (days[-1]["day"] - start).days // 7 + 1
    width, height = left + weeks * cell + 4, top + 7 * cell + 4
    peak = max((d["ms_played"] for d in days), default=0)
    body = [
        f'<text class="tick" x="{left - 4}" y="{top + row * cell + 10}" '
        f'text-anchor="end">{WEEKDAYS[row]}</text>'
        for row in (0, 2, 4, 6)
    ]
    for d in days:
        day: dt.date = d["day"]
        week = (day - start).days // 7
        if day.day == 1:
            body.append(
                f'<text class="tick" x="{left + week * cell}" y="11">{MONTHS[day.month - 1]}</text>'
            )
        ms = d["ms_played"]
        heat = 0.15 + 0.85 * ms / peak if peak and ms else 0
        css = "cell" if ms or d["plays"] else "cell none"
        body.append(
            f'<rect class="{css}" x="{left + week * cell + 1}" '
            f'y="{top + day.weekday() * cell + 1}" width="{cell - 2}" height="{cell - 2}" rx="2" '
            f'fill-opacity="{heat:.2f}"><title>{day.isoformat()}: {escape(duration(ms))}, '
            f"{d['plays']} plays</title></rect>"
        )
    return _svg(width, height, label, body, css="chart heatmap calendar")


def discoveries_chart(series: Sequence[dict], kind: str) -> Markup:
    """Bars of the tracks or artists first played in each month."""
    return bar_chart(
        [(dt.date.fromisoformat(p["bucket"]).strftime("%b %Y"), p[kind]) for p in series],
        label=f"New {kind} per month",
        describe=lambda v: f"{v:g} new {kind}",
        axis="{:g}".format,
    )


def sessions_chart(per_week: Sequence[dict]) -> Markup:
    return bar_chart(
        [(f"wk {p['bucket'][5:]}", p["sessions"]) for p in per_week],
        label="Listening sessions per week",
        describe=lambda v: f"{v:g} sessions",
        axis="{:g}".format,
    )
