"""What only Spotify's privacy export can tell, and where the history may lack plays.

``/me/gaps`` lists the possible gaps the ETL recorded that no import has filled yet (the same
``models.ingest.gaps.open_gaps`` the account page and the dashboard's notice show).
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import current_user
from chalicelib.params import Query
from models.ingest import gaps
from models.periods import display_zone

export_stats_api = Blueprint(__name__)

GAPS_MESSAGE = (
    "Spotify showed only the last 50 of your plays within each of these intervals (start null: "
    "before your first sync), so plays in them may be missing. Importing your extended "
    "streaming history on the web app's import page fills them."
)


def _ask(*params: str):
    """The user, their time zone and the query string, checked against ``params``."""
    request = export_stats_api.current_request
    user = current_user(request)
    return user, display_zone(user.timezone), Query(request, params)


@export_stats_api.route("/me/gaps")
def open_gaps():
    user, tz, _ = _ask()
    items = [gap.as_dict() for gap in gaps.open_gaps(user.id)]
    return {
        "items": render.jsonable(items, tz),
        "total": len(items),
        "message": GAPS_MESSAGE if items else "No open gaps.",
    }
