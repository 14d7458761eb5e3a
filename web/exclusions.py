"""Exclusions on the account page: keep an artist or a track out of your statistics, or let it
back in.  CSRF-checked forms; the work is ``models.jobs.exclusions`` (shared with the API),
which queues the recomputation the pages announce until it is done."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from models.jobs import exclusions
from web.auth import for_listeners_only

bp = Blueprint("exclusions", __name__, url_prefix="/account/exclusions")
for_listeners_only(bp)
KIND_CHOICES = [SelectChoice("artist", "Artist"), SelectChoice("track", "Track")]
# A Spotify link (open.spotify.com/artist/<id>?si=...), URI (spotify:track:<id>) or bare id.
SPOTIFY_ID = re.compile(r"(?:^|[/:])([0-9A-Za-z]{1,64})(?:\?.*)?$")


class ExclusionForm(FlaskForm):
    kind = SelectField("What", choices=KIND_CHOICES, validators=[DataRequired()])
    item = StringField("Spotify link or id", validators=[DataRequired()])


class LiftForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    item = HiddenField(validators=[DataRequired()])


def spotify_id(text: str) -> str | None:
    match = SPOTIFY_ID.search(text.strip())
    return match.group(1) if match else None


def account_context(user_id: int) -> dict:
    """What the account page's exclusions section shows."""
    return {
        "exclusion_form": ExclusionForm(),
        "lift_form": LiftForm(),
        "exclusions": exclusions.exclusions_of(user_id),
        "recomputing": exclusions.recomputing(user_id),
    }


@bp.post("")
@login_required
def add():
    form = ExclusionForm()
    item = spotify_id(form.item.data or "") if form.validate_on_submit() else None
    if item is None:
        flash("Give an artist or a track: its Spotify link, URI or id.", "error")
        return redirect(url_for("account.index", _anchor="exclusions"))
    try:
        exclusions.exclude(current_user.id, form.kind.data, item)
    except exclusions.ExclusionError as exc:
        flash(f"Could not exclude that: {exc}.", "error")
    else:
        flash("Excluded. Your statistics are being recomputed without it.", "info")
    return redirect(url_for("account.index", _anchor="exclusions"))


@bp.post("/lift")
@login_required
def lift():
    form = LiftForm()
    if form.validate_on_submit() and exclusions.include(
        current_user.id, form.kind.data, form.item.data
    ):
        flash("It counts again. Your statistics are being recomputed with it.", "info")
    return redirect(url_for("account.index", _anchor="exclusions"))
