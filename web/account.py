"""The account page: possible gaps in the history, time zone, API tokens, "download my data",
logging out everywhere, revoking API tokens, deleting the account.

Each action is a small form (CSRF-checked); the work is in ``models.accounts`` (``users``,
``export``, ``api_tokens``, ``sessions``), shared with the API and batch.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired

from models.accounts import api_tokens, export, sessions
from models.accounts.users import delete_user
from models.ingest import gaps
from models.jobs.timezones import change_timezone
from models.schema.db import utcnow
from web import exclusions
from web.auth import for_listeners_only
from web.sharing_forms import account_section

bp = Blueprint("account", __name__, url_prefix="/account")
for_listeners_only(bp)
DELETE_WORD = "delete"


@lru_cache(maxsize=1)
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(name for name in available_timezones() if "/" in name or name == "UTC")
    return [(name, name.replace("_", " ")) for name in names]


class TimezoneForm(FlaskForm):
    timezone = SelectField("Time zone", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()


class TokenForm(FlaskForm):
    """No fields: a POST with a CSRF token creates a new API token."""


class ActionForm(FlaskForm):
    """No fields: a CSRF-checked POST (log out everywhere, revoke all API tokens)."""


class DeleteForm(FlaskForm):
    confirm = StringField(f'Type "{DELETE_WORD}" to confirm', validators=[DataRequired()])


def render_account(status: int = 200, **context):
    forms = {
        "timezone_form": TimezoneForm(timezone=current_user.timezone),
        "token_form": TokenForm(),
        "action_form": ActionForm(),
        "gaps": gaps.open_gaps(current_user.id),
        "had_gaps": gaps.filled_count(current_user.id) > 0,
        **exclusions.account_context(current_user.id),
        **account_section(),
    }
    forms.update(context)
    return render_template("account/account.html", **forms), status


@bp.get("")
@login_required
def index():
    return render_account()


@bp.post("/timezone")
@login_required
def timezone():
    form = TimezoneForm()
    if not form.validate_on_submit():
        return render_account(400, timezone_form=form)
    # The rebuild of the summaries is the worker's (seconds for a big history): the page
    # answers at once, and pages read the raw plays until it is done.
    change_timezone(current_user.row, form.timezone.data)
    flash(f"Times are now shown in {form.timezone.data}.", "info")
    return redirect(url_for("account.index"))


@bp.post("/token")
@login_required
def token():
    """Issue a bearer token for the JSON API; it is shown once and never stored."""
    if not TokenForm().validate_on_submit():
        return render_account(400)
    settings = current_app.config["SETTINGS"]
    return render_account(
        api_token=api_tokens.issue(current_user, settings),
        api_token_minutes=settings.access_token_expire_minutes,
    )


@bp.post("/tokens/revoke")
@login_required
def revoke_tokens():
    """Every API token issued so far stops working; the web sessions go on."""
    if not ActionForm().validate_on_submit():
        return render_account(400)
    api_tokens.revoke_all(current_user.row)
    flash("Every API token made so far no longer works.", "info")
    return redirect(url_for("account.index"))


@bp.post("/sessions/end")
@login_required
def end_sessions():
    """Log out of every browser, this one included (API tokens stay: they are revoked apart)."""
    if not ActionForm().validate_on_submit():
        return render_account(400)
    sessions.end_all(current_user.row)
    logout_user()
    session.clear()
    flash("You are logged out everywhere.", "info")
    return redirect(url_for("stats.index"))


EXPORTS = {  # format: (writer, file name stem, media type)
    "csv": (export.export_csv, "spotify-tracker-plays", "text/csv"),
    "json": (export.export_json, "spotify-tracker", "application/json"),
}


@bp.get("/export.<fmt>")
@login_required
def export_data(fmt: str):
    """Download all my data, streamed (plays as CSV, or everything as JSON)."""
    if fmt not in EXPORTS:
        abort(404)
    writer, stem, mimetype = EXPORTS[fmt]
    response = Response(stream_with_context(writer(current_user.row)), mimetype=mimetype)
    filename = f"{stem}-{utcnow():%Y%m%d}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/delete", methods=("GET", "POST"))
@login_required
def delete():
    form = DeleteForm()
    if form.validate_on_submit():
        if form.confirm.data.strip().lower() == DELETE_WORD:
            delete_user(current_user.row)  # its sessions go by cascade, and tokens with the row
            logout_user()
            session.clear()
            flash("Your account and all your listening data were deleted.", "info")
            return redirect(url_for("stats.index"))
        form.confirm.errors.append(f'Type "{DELETE_WORD}" to delete your account.')
    status = 400 if form.is_submitted() else 200
    return render_template("account/delete.html", form=form), status
