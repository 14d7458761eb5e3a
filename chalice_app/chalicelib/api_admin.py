"""The administrator's endpoints: every account and the ETL runs (403 for anyone else)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import require_admin
from chalicelib.params import PAGE_PARAMS, Query
from models import admin

admin_api = Blueprint(__name__)


def _listing(listing_function):
    request = admin_api.current_request
    user = require_admin(request)
    query = Query(request, PAGE_PARAMS)
    page = query.page()
    listing = listing_function(limit=page.limit, offset=page.offset)
    return page.envelope(query, render.jsonable(listing.items, render.zone(user.timezone)),
                         listing.total)


@admin_api.route("/users")
def users_overview():
    return _listing(admin.users_overview)


@admin_api.route("/etl/runs")
def etl_runs():
    return _listing(admin.etl_runs)
