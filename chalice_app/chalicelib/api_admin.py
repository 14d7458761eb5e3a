"""The administrator's endpoints: listeners and ETL runs (403 for anyone else).

They return what the admin page shows, from the same ``models.accounts.admin`` functions, a
page at a time.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import render
from chalicelib.auth import require_admin
from chalicelib.params import PAGE_PARAMS, Query
from models.accounts import admin
from models.periods import display_zone

admin_api = Blueprint(__name__)


def _listing(rows_function, count_function):
    request = admin_api.current_request
    user = require_admin(request)
    query = Query(request, PAGE_PARAMS)
    page = query.page()
    rows = rows_function(limit=page.limit, offset=page.offset)
    return page.envelope(
        query, render.jsonable(rows, display_zone(user.timezone)), count_function()
    )


@admin_api.route("/users")
def users_overview():
    return _listing(admin.users_overview, admin.listener_count)


@admin_api.route("/etl/runs")
def latest_runs():
    return _listing(admin.latest_runs, admin.run_count)
