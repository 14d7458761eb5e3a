"""Genre pages: the top genres of a period and one genre's artists and tracks.

Genres come from ``models.stats`` like every number (the one rule: Spotify's genres where
Spotify sent an artist any, else MusicBrainz's), each with its source; a page showing any
MusicBrainz genre carries its attribution and licence.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user, login_required

from models import stats
from web.auth import for_listeners_only
from web.stats import chosen_period, render_stats

bp = Blueprint("genres", __name__)
for_listeners_only(bp)

TOP_GENRES = 100
SOURCE_LABELS = {"spotify": "Spotify", "musicbrainz": "MusicBrainz"}
ATTRIBUTION = (
    "Genres, release years and artist facts from MusicBrainz (musicbrainz.org); genres and "
    "tags are MusicBrainz supplementary data under CC BY-NC-SA 3.0, the rest CC0."
)


def uses_musicbrainz(genres: list[dict]) -> bool:
    return any(row.get("source") == "musicbrainz" for row in genres)


@bp.app_context_processor
def genre_words() -> dict:
    """What every page showing genres needs: the sources' names and the attribution."""
    return {
        "source_labels": SOURCE_LABELS,
        "uses_musicbrainz": uses_musicbrainz,
        "attribution": ATTRIBUTION,
    }


@bp.get("/genres")
@login_required
def top():
    choice = chosen_period()
    genres = stats.top_genres(current_user.id, choice.period, limit=TOP_GENRES)
    return render_stats("genres/top.html", choice, genres=genres)


@bp.get("/genre")
@login_required
def genre():
    """One genre, named in the query (``source``, ``name``) so the period picker keeps it."""
    source, name = request.args.get("source", ""), request.args.get("name", "")
    if source not in stats.GENRE_SOURCES or not name:
        abort(404)
    choice = chosen_period(default="all")
    detail = stats.genre_detail(current_user.id, choice.period, source, name)
    if detail is None:
        abort(404)
    return render_stats("genres/genre.html", choice, genre=detail)
