"""Listening together: the sharing settings, other listeners' profiles, affinity, blends, the
instance's boards, and public links.

Every answer comes from ``models.stats.together`` (the functions the JSON API calls), which
decides who may be seen: a listener who does not share is a 404 here exactly like one who
does not exist.  Two blueprints: ``sharing`` for logged-in listeners, and ``public`` for the
public links, which need no login, carry ``noindex``, are rate limited per link and per client
address, and link to nothing but their own periods.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models.accounts import sharing
from models.stats import together
from web import charts
from web.account import render_account
from web.auth import client_address, for_listeners_only
from web.errors import render_error
from web.sharing_forms import LinkForm, RevokeForm, SharingForm, account_section

bp = Blueprint("sharing", __name__)
for_listeners_only(bp)
public = Blueprint("public", __name__)

PUBLIC_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",  # the link's key never travels in a Referer
}


def _range() -> str | None:
    return request.args.get("range") or None


def _answer(call, *args):
    """``call(*args)``, with the core's refusals as pages: 404 for a listener one may not see,
    403 until the viewer shares too, 400 for a bad choice."""
    try:
        return call(*args), None
    except together.NotShared:
        abort(404)
    except together.NotOptedIn:
        return None, render_error(
            403,
            "Share your listening first",
            "Comparing is mutual: turn on “Visible to the other listeners” on your account "
            "page, then come back.",
        )
    except sharing.SharingError as exc:
        return None, render_error(400, "That cannot be shown", exc.message)


def _share_chart(rows, name_key: str, label: str):
    if not rows:
        return None
    return charts.hbar_chart(
        [(row[name_key], row["score"], f"{row['score'] * 100:.1f}%") for row in rows[:10]],
        label=label,
    )


@bp.get("/together")
@login_required
def index():
    board = together.weekly_board(current_user.row)
    chart = None
    if board["board"]:
        chart = charts.hbar_chart(
            [
                (row["listener"]["name"], row["minutes"], f"{row['minutes']} min")
                for row in board["board"]
            ],
            label="Minutes listened in the last 7 days",
        )
    return render_template(
        "sharing/index.html",
        me=sharing.settings_of(current_user.id),
        listeners=sharing.visible_listeners(),
        board=board,
        board_chart=chart,
        modes=together.BLEND_MODES,
        max_blend=together.MAX_BLEND,
    )


@bp.get("/together/listeners/<int:listener_id>")
@login_required
def profile(listener_id: int):
    shown, refused = _answer(together.listener_profile, current_user.row, listener_id, _range())
    if refused:
        return refused
    return render_template(
        "sharing/profile.html",
        profile=shown,
        endpoint="sharing.profile",
        args={"listener_id": listener_id},
    )


@bp.get("/together/listeners/<int:listener_id>/affinity")
@login_required
def affinity(listener_id: int):
    shown, refused = _answer(together.affinity, current_user.row, listener_id, _range())
    if refused:
        return refused
    chart = charts.hbar_chart(
        [
            ("Artists", shown["artist_overlap"], f"{shown['artist_overlap'] * 100:.0f}%"),
            ("Tracks", shown["track_overlap"], f"{shown['track_overlap'] * 100:.0f}%"),
        ],
        label="Overlap of your listening",
        maximum=1.0,
    )
    return render_template("sharing/affinity.html", affinity=shown, overlap_chart=chart)


def _blend_ids() -> list[int]:
    ids = []
    for value in request.args.getlist("with"):
        if not value.isdigit() or len(value) > 10:
            abort(404)
        ids.append(int(value))
    return ids


@bp.get("/together/blend")
@login_required
def blend():
    mode = request.args.get("mode") or "average"
    shown, refused = _answer(together.blend, current_user.row, _blend_ids(), _range(), mode)
    if refused:
        return refused
    return render_template(
        "sharing/blend.html",
        blend=shown,
        chart=_share_chart(shown["tracks"], "name", "Blended tracks by score"),
        modes=together.BLEND_MODES,
    )


def _listeners_page(kind: str, item_id: str):
    shown, refused = _answer(together.top_listeners, current_user.row, kind, item_id, _range())
    if refused:
        return refused
    if shown["item"] is None:
        abort(404)
    return render_template("sharing/listeners.html", found=shown, item_id=item_id)


@bp.get("/together/tracks/<track_id>")
@login_required
def track_listeners(track_id: str):
    return _listeners_page("track", track_id)


@bp.get("/together/artists/<artist_id>")
@login_required
def artist_listeners(artist_id: str):
    return _listeners_page("artist", artist_id)


# --- settings, on the account page -------------------------------------------------------------


@bp.post("/account/sharing")
@login_required
def update_settings():
    form = SharingForm(prefix="share")
    if not form.validate_on_submit():
        return render_account(400, sharing_form=form)
    try:
        sharing.update(current_user.row, form.visible.data, form.periods.data, form.sections.data)
    except sharing.SharingError as exc:
        form.periods.errors = [exc.message]
        return render_account(400, sharing_form=form)
    flash(
        "Other listeners of this instance can now see what you chose."
        if form.visible.data
        else "You are hidden from the other listeners.",
        "info",
    )
    return redirect(url_for("account.index") + "#sharing")


@bp.post("/account/sharing/links")
@login_required
def create_link():
    form = LinkForm(prefix="link")
    if not form.validate_on_submit():
        return render_account(400, link_form=form)
    try:
        _, key = sharing.create_link(
            current_user.row, form.periods.data, form.sections.data, form.expires_in_days.data
        )
    except sharing.SharingError as exc:
        form.periods.errors = [exc.message]
        return render_account(400, link_form=form)
    return render_account(
        **account_section(new_link=url_for("public.link", key=key, _external=True))
    )


@bp.post("/account/sharing/links/<int:link_id>/revoke")
@login_required
def revoke_link(link_id: int):
    if not RevokeForm().validate_on_submit():
        return render_account(400)
    if not sharing.revoke_link(current_user.id, link_id):
        abort(404)
    flash("The link no longer works.", "info")
    return redirect(url_for("account.index") + "#sharing")


# --- public links ------------------------------------------------------------------------------


def _public(page, status: int, headers: dict | None = None):
    body = page[0] if isinstance(page, tuple) else page
    return body, status, {**PUBLIC_HEADERS, **(headers or {})}


@public.get("/s/<key>")
def link(key: str):
    """A listener's public profile: no login, only what the link was made with."""
    found = sharing.link_of(key)
    keys = [sharing.address_limit_key(client_address())]
    if found is not None:
        keys.append(sharing.link_limit_key(found))
    try:
        sharing.count_request(keys)
    except sharing.LinkRateLimited as exc:
        page = render_error(429, "Too many requests", "Please wait a minute and reload.")
        return _public(page, 429, {"Retry-After": str(exc.resets_in)})
    if found is None:
        return _public(render_error(404), 404)
    try:
        shown = together.public_profile(found, _range())
    except sharing.SharingError as exc:
        return _public(render_error(400, "That cannot be shown", exc.message), 400)
    page = render_template(
        "sharing/public.html", profile=shown, endpoint="public.link", args={"key": key}
    )
    return _public(page, 200)
