"""``/me/exclusions``: the artists and tracks a listener keeps out of their statistics, read,
added (PUT) and lifted (DELETE) through ``models.jobs.exclusions``, as the account page does."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import current_user
from chalicelib.errors import BadParameter, NotFound
from models.jobs import exclusions
from models.periods import display_zone

exclusions_api = Blueprint(__name__)


def _listing(user) -> dict:
    return {
        "items": render.jsonable(exclusions.exclusions_of(user.id), display_zone(user.timezone)),
        "recomputing": exclusions.recomputing(user.id),
    }


@exclusions_api.route("/me/exclusions")
def list_exclusions():
    return _listing(current_user(exclusions_api.current_request))


@exclusions_api.route("/me/exclusions/{kind}/{item_id}", methods=["PUT"])
def exclude(kind, item_id):
    user = current_user(exclusions_api.current_request)
    try:
        exclusions.exclude(user.id, kind, item_id)
    except exclusions.ExclusionError as exc:
        raise BadParameter("kind" if "kind" in str(exc) else "item_id", str(exc)) from None
    return _listing(user)


@exclusions_api.route("/me/exclusions/{kind}/{item_id}", methods=["DELETE"])
def lift(kind, item_id):
    user = current_user(exclusions_api.current_request)
    if exclusions.include(user.id, kind, item_id) is None:
        raise NotFound(f"You have not excluded this {kind}.")
    return _listing(user)
