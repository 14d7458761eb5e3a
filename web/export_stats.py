"""Pages of what only Spotify's privacy export tells: skips and how you listen, podcasts and
audiobooks.

Each page calls the ``models.stats`` functions the API's ``/me/listening`` and ``/me/podcasts``
return, for the logged-in listener and the period picked (``web.stats.chosen_period``), and
says which days an export covers; without an export it says what importing one brings.  With no
period asked for they show all time (``stats.EXPORT_DEFAULT_RANGE``): an export ends when it was
requested, usually long before the last 4 weeks.
"""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user, login_required

from models import stats
from web import charts
from web.auth import for_listeners_only
from web.filters import duration, percent
from web.stats import chosen_period, render_stats

bp = Blueprint("export_stats", __name__)
for_listeners_only(bp)

TOP = 10


def share_chart(rows: list[dict], key: str, label: str):
    """Streams per device (or country) as horizontal bars of their share of the streams."""
    return charts.hbar_chart(
        [(str(row[key]), row["share"] or 0, str(percent(row["share"]))) for row in rows],
        label=label,
        maximum=1,
    )


@bp.get("/listening")
@login_required
def listening():
    choice = chosen_period(default=stats.EXPORT_DEFAULT_RANGE)
    user_id, period = current_user.id, choice.period
    figures = stats.how_you_listen(user_id, period)
    return render_stats(
        "export_stats/listening.html",
        choice,
        figures=figures,
        tracks=stats.most_skipped_tracks(user_id, period, limit=TOP),
        artists=stats.most_skipped_artists(user_id, period, limit=TOP),
        device_chart=share_chart(figures["devices"], "device", "Streams by device")
        if figures["devices"]
        else None,
        country_chart=share_chart(figures["countries"], "country", "Streams by country")
        if figures["countries"]
        else None,
    )


@bp.get("/podcasts")
@login_required
def podcasts():
    choice = chosen_period(default=stats.EXPORT_DEFAULT_RANGE)
    user_id, period = current_user.id, choice.period
    shows = stats.top_shows(user_id, period, limit=TOP)
    minutes_chart = (
        charts.hbar_chart(
            [(show["name"], show["ms_played"], duration(show["ms_played"])) for show in shows],
            label="Listening time per show",
        )
        if shows
        else None
    )
    return render_stats(
        "export_stats/podcasts.html",
        choice,
        totals=stats.podcast_totals(user_id, period),
        shows=shows,
        minutes_chart=minutes_chart,
        audiobooks=stats.top_audiobooks(user_id, period, limit=TOP),
        finished=stats.finished_episodes(user_id, period, limit=20),
    )
