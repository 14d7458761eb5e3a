"""The listener's endpoints, ``/me/...``: each parses its parameters, calls the statistic of the
same name in ``models.stats`` (the function the web page calls too) and returns its rows.

The user is always the token's user (see ``auth.authenticate``); no endpoint takes a user id,
so one listener's token cannot name another's data.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import current_user
from chalicelib.errors import NotFound
from chalicelib.params import PAGE_PARAMS, PERIOD_PARAMS, Query
from models import stats
from models.periods import DEFAULT_RANGE, display_zone
from models.schema.tables import FEATURES_EXPLAINED

stats_api = Blueprint(__name__)

# For a top list, the number of distinct items is one of the period's totals.
TOP_TOTAL_KEY = {
    "tracks": "unique_tracks",
    "artists": "unique_artists",
    "albums": "unique_albums",
    "genres": None,
}
SPOTIFY_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
FEATURE_MESSAGES = {
    "ok": "Averages over every play in the period.",
    "no_data": "No plays in this period.",
}


def ask(request, *params: str):
    """The request's user, their time zone and its query string, checked against ``params``
    (every ``/me`` endpoint starts here, whichever blueprint it is in)."""
    user = current_user(request)
    return user, display_zone(user.timezone), Query(request, params)


def _ask(*params: str):
    return ask(stats_api.current_request, *params)


@stats_api.route("/me")
def me():
    user, tz, _ = _ask()
    return {
        "id": user.id,
        "spotify_id": user.spotify_id,
        "display_name": user.display_name,
        "email": user.email,
        "country": user.country,
        "product": user.product,
        "image_url": user.image_url,
        "timezone": user.timezone,
        "is_admin": user.is_admin,
        "created_at": render.timestamp(user.created_at, tz),
        "last_played_at": render.timestamp(user.last_played_at, tz),
        "last_synced_at": render.timestamp(user.last_synced_at, tz),
        "sync_deferred_until": render.timestamp(user.sync_deferred_until, tz),
        "needs_reauth": bool(user.needs_reauth),
        "spotify_access": spotify_access(user),
    }


def spotify_access(user) -> dict:
    """Whether the nightly sync can still read this user's Spotify account."""
    if user.needs_reauth:
        return {
            "status": "reauth_required",
            "reason": user.reauth_reason,
            "message": "Spotify access must be renewed: log in again on the web app. "
            "Statistics stored so far stay available; new plays are not "
            "collected until then.",
        }
    return {"status": "ok", "reason": None, "message": "Spotify access is working."}


@stats_api.route("/me/plays")
def history():
    user, tz, query = _ask(*PERIOD_PARAMS, *PAGE_PARAMS)
    period, page = query.period(tz.key, "all"), query.page()
    result = stats.history(user.id, limit=page.limit, offset=page.offset, period=period)
    return {
        "period": render.period(period, tz),
        **page.envelope(query, render.jsonable(result.items, tz), result.total),
    }


def _unique(statistic):
    user, tz, query = _ask(*PERIOD_PARAMS, *PAGE_PARAMS, "sort", "order", "q")
    period, page = query.period(tz.key, DEFAULT_RANGE), query.page()
    sort = query.choice("sort", stats.SORT_KEYS, "plays")
    order = query.choice("order", ("asc", "desc"), "asc" if sort == "name" else "desc")
    result = statistic(
        user.id,
        period,
        sort=sort,
        descending=order == "desc",
        search=query.text("q", allow_empty=True),
        limit=page.limit,
        offset=page.offset,
    )
    return {
        "period": render.period(period, tz),
        "sort": sort,
        "order": order,
        **page.envelope(query, render.jsonable(result.items, tz), result.total),
    }


@stats_api.route("/me/tracks")
def unique_tracks():
    return _unique(stats.unique_tracks)


@stats_api.route("/me/artists")
def unique_artists():
    return _unique(stats.unique_artists)


@stats_api.route("/me/albums")
def unique_albums():
    return _unique(stats.unique_albums)


def _ranked(kind: str, default_limit: int, movement: bool = False):
    user, tz, query = _ask(*PERIOD_PARAMS, *PAGE_PARAMS)
    period, page = query.period(tz.key, DEFAULT_RANGE), query.page(default_limit)
    if movement:  # a top list, as on the dashboard: each row against the previous period
        found = stats.ranked_with_movement(
            user.id, period, kind, limit=page.limit + 1, offset=page.offset
        )[0]
    else:
        found = stats.ranked(user.id, period, kind, limit=page.limit + 1, offset=page.offset)
    rows = found.rows
    # The count of the whole list comes with its page: it is the totals' distinct count.
    total = found.count if TOP_TOTAL_KEY[kind] else None
    items = render.jsonable(rows[: page.limit], tz)
    return {
        "period": render.period(period, tz),
        "kind": kind,
        **page.envelope(query, items, total, has_more=len(rows) > page.limit),
    }


@stats_api.route("/me/genres")
def genres():
    return _ranked("genres", 50)


@stats_api.route("/me/top/{kind}")
def top(kind):
    if kind not in stats.TOP_KINDS:
        raise NotFound(f"No top list of {kind!r}: use one of {', '.join(stats.TOP_KINDS)}.")
    return _ranked(kind, 10, movement=True)


def _detail(statistic, spotify_id: str, what: str):
    user, tz, _ = _ask()
    found = statistic(user.id, spotify_id) if _is_spotify_id(spotify_id) else None
    if found is None:
        raise NotFound(f"You have not played this {what}.")
    return render.jsonable(found, tz)


@stats_api.route("/me/tracks/{track_id}")
def track_detail(track_id):
    return _detail(stats.track_detail, track_id, "track")


@stats_api.route("/me/artists/{artist_id}")
def artist_detail(artist_id):
    return _detail(stats.artist_detail, artist_id, "artist")


@stats_api.route("/me/albums/{album_id}")
def album_detail(album_id):
    return _detail(stats.album_detail, album_id, "album")


def _is_spotify_id(value: str) -> bool:
    return 0 < len(value) <= 64 and set(value) <= SPOTIFY_ID_CHARS


@stats_api.route("/me/stats")
def listening_stats():
    """Totals with the previous period's for comparison, the time series and the clock."""
    user, tz, query = _ask(*PERIOD_PARAMS)
    period = query.period(tz.key, DEFAULT_RANGE)
    totals = stats.totals(user.id, period)
    comparison = None
    if period.start is not None:
        previous = period.previous()
        previous_totals = stats.totals(user.id, previous)
        comparison = {
            "period": render.period(previous, tz),
            "totals": previous_totals,
            "change": {key: _change(totals[key], previous_totals[key]) for key in totals},
        }
    return {
        "period": render.period(period, tz),
        "totals": totals,
        "previous": comparison,
        "series": render.jsonable(stats.listening_series(user.id, period), tz),
        "hours": stats.hours_of_day(user.id, period),
        "weekday_hour": stats.weekday_hour(user.id, period),
    }


def _change(now: int, before: int) -> dict:
    """Absolute and relative change; the relative one is null when there was nothing before."""
    return {
        "difference": now - before,
        "ratio": None if not before else round((now - before) / before, 4),
    }


@stats_api.route("/me/profile")
def taste_profile():
    user, tz, query = _ask(*PERIOD_PARAMS)
    period = query.period(tz.key, DEFAULT_RANGE)
    profile = stats.taste_profile(user.id, period)
    return {
        "period": render.period(period, tz),
        **render.jsonable(profile, tz),
        "features_message": features_message(profile),
    }


def features_message(profile: dict) -> str:
    """Why the averages are what they are, in words a listener understands."""
    status = profile["features_status"]
    if status in FEATURE_MESSAGES:
        return FEATURE_MESSAGES[status]
    why = FEATURES_EXPLAINED.get(profile.get("features_reason"), FEATURES_EXPLAINED[None])
    if status == "partial":
        return f"Averages over the plays whose tracks have audio features (see coverage). {why}"
    return why
