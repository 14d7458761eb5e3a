"""Listening together as JSON: your sharing settings and public links, the profiles of
listeners who share, affinity, blends and the instance's boards.

Each endpoint calls the ``models.stats.together`` or ``models.accounts.sharing`` function the
web page calls.  Who may be seen is decided there: a listener who does not share answers the
same 404 as one who does not exist.  The admin is not a listener: 403 on every endpoint here.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import render
from chalicelib.auth import current_user
from chalicelib.errors import ApiError, BadParameter, Forbidden, NotFound
from chalicelib.params import PERIOD_PARAMS, Query
from models.accounts import sharing
from models.periods import display_zone
from models.stats import together

sharing_api = Blueprint(__name__)
NO_SUCH_LISTENER = "No such listener shares their listening here."
MAX_ID = 2**31 - 1


class NotOptedIn(ApiError):
    status = 403
    code = "ForbiddenError"


def _ask(*params: str):
    request = sharing_api.current_request
    user = current_user(request)
    if user.is_admin:
        raise Forbidden("These endpoints are for listeners; the administrator has none.")
    return user, display_zone(user.timezone), Query(request, params)


def _shown(result: dict, tz) -> dict:
    """A core result as JSON: its period with the viewer's offset, rows made JSON-friendly."""
    shown = {key: value for key, value in result.items() if key != "period"}
    return {"period": render.period(result["period"], tz), **render.jsonable(shown, tz)}


def _call(function, *args):
    """The core's refusals as API errors (404 unknown or private, 403, 400 naming the field)."""
    try:
        return function(*args)
    except together.NotShared:
        raise NotFound(NO_SUCH_LISTENER) from None
    except together.NotOptedIn as exc:
        raise NotOptedIn(f"{exc}.") from None
    except sharing.SharingError as exc:
        raise BadParameter(exc.param, exc.message) from None


def _listener_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID:
        raise NotFound(NO_SUCH_LISTENER)
    return int(raw)


# --- your settings -----------------------------------------------------------------------------


def _settings(user, tz) -> dict:
    return {
        **sharing.settings_of(user.id).as_dict(),
        "public_links": render.jsonable(
            [sharing.link_dict(link) for link in sharing.links_of(user.id)], tz
        ),
    }


def _body() -> dict:
    body = sharing_api.current_request.json_body
    if not isinstance(body, dict):
        raise BadParameter("body", "must be a JSON object")
    return body


def _flag(body: dict, name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise BadParameter(name, "must be true or false")
    return value


def _names(body: dict, name: str) -> list:
    value = body.get(name)
    if not isinstance(value, list):
        raise BadParameter(name, "must be a list of names")
    return value


@sharing_api.route("/me/sharing")
def my_sharing():
    user, tz, _ = _ask()
    return _settings(user, tz)


@sharing_api.route("/me/sharing", methods=["PUT"], content_types=["application/json"])
def update_sharing():
    user, tz, _ = _ask()
    body = _body()
    unknown = set(body) - {"visible", "periods", "sections"}
    if unknown:
        raise BadParameter(sorted(unknown)[0], "unknown field")
    _call(
        sharing.update,
        user,
        _flag(body, "visible"),
        _names(body, "periods"),
        _names(body, "sections"),
    )
    return _settings(user, tz)


@sharing_api.route("/me/sharing/links", methods=["POST"], content_types=["application/json"])
def create_link():
    user, tz, _ = _ask()
    body = _body()
    unknown = set(body) - {"periods", "sections", "expires_in_days"}
    if unknown:
        raise BadParameter(sorted(unknown)[0], "unknown field")
    days = body.get("expires_in_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise BadParameter("expires_in_days", "must be a whole number of days, or null")
    link, key = _call(
        sharing.create_link, user, _names(body, "periods"), _names(body, "sections"), days
    )
    return Response(
        body={**render.jsonable(sharing.link_dict(link), tz), "key": key, "path": f"/s/{key}"},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@sharing_api.route("/me/sharing/links/{link_id}", methods=["DELETE"])
def revoke_link(link_id):
    user, _, _ = _ask()
    if not link_id.isascii() or not link_id.isdigit() or int(link_id) > MAX_ID:
        raise NotFound("You have no such public link.")
    if not sharing.revoke_link(user.id, int(link_id)):
        raise NotFound("You have no such public link.")
    return Response(body="", status_code=204)


# --- listeners who share -----------------------------------------------------------------------


@sharing_api.route("/listeners")
def listeners():
    user, tz, _ = _ask()
    return {
        "you_share": sharing.settings_of(user.id).visible,
        "items": render.jsonable(sharing.visible_listeners(), tz),
    }


@sharing_api.route("/listeners/{listener_id}")
def listener_profile(listener_id):
    user, tz, query = _ask("range")
    found = _call(together.listener_profile, user, _listener_id(listener_id), query.text("range"))
    return _shown(found, tz)


@sharing_api.route("/listeners/{listener_id}/affinity")
def affinity(listener_id):
    user, tz, query = _ask("range")
    found = _call(together.affinity, user, _listener_id(listener_id), query.text("range"))
    return _shown(found, tz)


@sharing_api.route("/blend")
def blend():
    user, tz, query = _ask("with", "range", "mode")
    raw = query.text("with")
    if raw is None:
        raise BadParameter("with", "name the listeners to blend with, comma-separated ids")
    parts = raw.split(",")
    if not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts):
        raise BadParameter("with", "must be listener ids separated by commas")
    ids = [int(part) for part in parts]
    if any(listener_id > MAX_ID for listener_id in ids):
        raise NotFound(NO_SUCH_LISTENER)
    mode = query.choice("mode", together.BLEND_MODES, "average")
    found = _call(together.blend, user, ids, query.text("range"), mode)
    return _shown(found, tz)


# --- on this instance --------------------------------------------------------------------------


def _listeners_of(kind: str, item_id: str):
    user, tz, query = _ask(*PERIOD_PARAMS[:1])
    if not (0 < len(item_id) <= 64 and item_id.isascii() and item_id.isalnum()):
        raise NotFound(f"No listener who shares played this {kind}.")
    found = _call(together.top_listeners, user, kind, item_id, query.text("range"))
    if found["item"] is None:
        raise NotFound(f"No listener who shares played this {kind} in this period.")
    return _shown(found, tz)


@sharing_api.route("/instance/tracks/{track_id}/listeners")
def track_listeners(track_id):
    return _listeners_of("track", track_id)


@sharing_api.route("/instance/artists/{artist_id}/listeners")
def artist_listeners(artist_id):
    return _listeners_of("artist", artist_id)


@sharing_api.route("/instance/weekly")
def weekly():
    user, tz, _ = _ask()
    return _shown(together.weekly_board(user), tz)
