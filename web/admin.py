"""The admin page: listeners, their last sync and re-authorisation flags, the open gaps in their
histories, the latest ETL runs with the Spotify app mode each detected.  Anyone but the admin
gets a 404."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from models.accounts.admin import latest_runs, users_overview
from models.enrich import overview as enrichment
from models.ingest.gaps import open_gaps_by_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("")
@login_required
def index():
    if not current_user.is_admin:
        abort(404)
    runs = latest_runs(limit=10)
    return render_template(
        "admin/index.html",
        users=users_overview(),
        gaps=open_gaps_by_user(),
        runs=runs,
        app_mode=next((r["app_mode"] for r in runs if r["app_mode"] != "unknown"), "unknown"),
        verdicts=enrichment.verdict_counts(),
        enrichment_steps=enrichment.recent_steps(),
    )
