"""``/me/genre``: one genre's artists and tracks in a period, the web's genre page as JSON.

A genre is named by its source (``spotify`` or ``musicbrainz``: the two vocabularies are kept
apart) and its name, as ``/me/genres`` lists them; both are query parameters, since genre
names hold spaces, slashes and ampersands.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import current_user
from chalicelib.errors import NotFound
from chalicelib.params import PERIOD_PARAMS, Query
from models import stats
from models.periods import display_zone

genres_api = Blueprint(__name__)


@genres_api.route("/me/genre")
def genre_detail():
    request = genres_api.current_request
    user = current_user(request)
    tz = display_zone(user.timezone)
    query = Query(request, (*PERIOD_PARAMS, "source", "name"))
    source = query.choice("source", stats.GENRE_SOURCES)
    name = query.text("name")
    if source is None or name is None:
        raise NotFound("Name a genre: source (spotify or musicbrainz) and name.")
    period = query.period(tz.key, "all")
    found = stats.genre_detail(user.id, period, source, name)
    if found is None:
        raise NotFound("You have not played this genre in the period.")
    return {"period": render.period(period, tz), **render.jsonable(found, tz)}
