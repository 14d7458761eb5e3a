"""What only Spotify's privacy export can tell, and where the history may lack plays.

``/me/listening`` and ``/me/skipped/{tracks|artists}`` (skips and how you listen),
``/me/podcasts`` and ``/me/podcasts/{shows|audiobooks|finished}`` return the ``models.stats``
functions the web's Listening and Podcasts pages show; with no period asked for, all time
(``stats.EXPORT_DEFAULT_RANGE``).  ``/me/gaps`` lists the possible gaps the ETL recorded that
no import has filled yet (the same ``models.ingest.gaps.open_gaps`` the account page and the
dashboard's notice show).
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.api_stats import ask
from chalicelib.errors import NotFound
from chalicelib.params import PAGE_PARAMS, PERIOD_PARAMS
from models import stats
from models.ingest import gaps

export_stats_api = Blueprint(__name__)

GAPS_MESSAGE = (
    "Spotify showed only the last 50 of your plays within each of these intervals (start null: "
    "before your first sync), so plays in them may be missing. Importing your extended "
    "streaming history on the web app's import page fills them."
)


def _ask(*params: str):
    return ask(export_stats_api.current_request, *params)


@export_stats_api.route("/me/gaps")
def open_gaps():
    user, tz, _ = _ask()
    items = [gap.as_dict() for gap in gaps.open_gaps(user.id)]
    return {
        "items": render.jsonable(items, tz),
        "total": len(items),
        "message": GAPS_MESSAGE if items else "No open gaps.",
    }


def _period_of(query, tz):
    return query.period(tz.key, stats.EXPORT_DEFAULT_RANGE)


def _over_period(statistic):
    """``statistic`` of the period asked for, with the period."""
    user, tz, query = _ask(*PERIOD_PARAMS)
    period = _period_of(query, tz)
    return {"period": render.period(period, tz), **render.jsonable(statistic(user.id, period), tz)}


@export_stats_api.route("/me/listening")
def how_you_listen():
    """Skips and how you listen over the period's export-covered streams."""
    return _over_period(stats.how_you_listen)


SKIPPED = {"tracks": stats.most_skipped_tracks, "artists": stats.most_skipped_artists}
PODCAST_LISTS = {
    "shows": stats.top_shows,
    "audiobooks": stats.top_audiobooks,
    "finished": stats.finished_episodes,
}


def _listing(statistic, kind: str, default_limit: int = 10):
    user, tz, query = _ask(*PERIOD_PARAMS, *PAGE_PARAMS)
    period, page = _period_of(query, tz), query.page(default_limit)
    rows = statistic(user.id, period, limit=page.limit + 1, offset=page.offset)
    return {
        "period": render.period(period, tz),
        "kind": kind,
        **page.envelope(
            query, render.jsonable(rows[: page.limit], tz), None, has_more=len(rows) > page.limit
        ),
    }


@export_stats_api.route("/me/skipped/{kind}")
def most_skipped(kind):
    if kind not in SKIPPED:
        raise NotFound(f"No list of skipped {kind!r}: use one of {', '.join(SKIPPED)}.")
    return _listing(SKIPPED[kind], kind)


@export_stats_api.route("/me/podcasts")
def podcast_totals():
    """Podcast and audiobook totals of the period, apart from the music."""
    return _over_period(stats.podcast_totals)


@export_stats_api.route("/me/podcasts/{kind}")
def podcast_list(kind):
    if kind not in PODCAST_LISTS:
        raise NotFound(f"No podcast list {kind!r}: use one of {', '.join(PODCAST_LISTS)}.")
    return _listing(PODCAST_LISTS[kind], kind)
