"""Statistics pages: the landing page, dashboard, unique tracks/artists, profile, track, artist,
album and history pages.

Every number comes from ``models.stats`` (the same functions the JSON API returns), for the
logged-in user only: a track or artist the user never played is a 404, whoever else played it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models import stats
from models.ingest import gaps
from models.periods import Period, PeriodError, parse_period
from models.schema.tables import CHART_SIZE, PROFILE_FEATURES
from web import charts, exclusions, open_data, rank
from web.auth import for_listeners_only
from web.filters import duration, next_sync

bp = Blueprint("stats", __name__)
for_listeners_only(bp)

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # 50 million plays
# How each of ``models.stats.SORT_KEYS`` (the one list of sorts) reads in the picker.
SORT_LABELS = {
    "plays": "Plays",
    "time": "Listening time",
    "first": "First heard",
    "last": "Last heard",
    "name": "Name",
}
SORTS = {key: SORT_LABELS[key] for key in stats.SORT_KEYS}
# The profile's chart: the features measured from 0 to 1 (tempo, in BPM, is shown beside it).
CHART_FEATURES = tuple(name for name in PROFILE_FEATURES if name != "tempo")


@dataclass
class PeriodChoice:
    """The period a page shows, the picker's state, and the input error if any."""

    period: Period
    error: str | None
    args: dict

    def url(self, endpoint: str, **extra) -> str:
        """A link to ``endpoint`` for the same period (plus ``extra`` query parameters)."""
        return url_for(endpoint, **{**self.args, **extra})


def chosen_period(default: str = "4w") -> PeriodChoice:
    """The period from ``range`` or ``from``/``to`` in the query string, in the user's zone.

    Bad input does not fail the page: it shows the default period with the error next to the
    picker (and the status is 400, see :func:`render_stats`).
    """
    tz = current_user.timezone or "UTC"
    range_key = request.args.get("range") or None
    from_, to = request.args.get("from") or None, request.args.get("to") or None
    if not (range_key or from_ or to):
        range_key = default
    try:
        period = parse_period(range_key, from_, to, tz=tz)
    except PeriodError as exc:
        return PeriodChoice(
            parse_period(default, tz=tz), f"{exc.param}: {exc.message}", {"range": default}
        )
    if period.key == "custom":
        args = {k: v for k, v in (("from", from_), ("to", to)) if v}
    else:
        args = {"range": period.key}
    return PeriodChoice(period, None, args)


def page_number() -> int:
    """The ``page`` parameter; pages past any real listening history are a 404 straight away
    (an offset the database cannot hold would otherwise reach the query)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        abort(400, f"page must be a whole number from 1, got {raw!r}")
    if int(raw) > MAX_PAGE:
        abort(404)
    return int(raw)


def render_stats(template: str, choice: PeriodChoice | None = None, **context):
    status = 400 if choice is not None and choice.error else 200
    return render_template(template, choice=choice, **context), status


def bucket_label(first_day: str, bucket: str) -> str:
    """How a time-series bucket (its first day, ISO) reads under its bar."""
    day = dt.date.fromisoformat(first_day)
    if bucket == "month":
        return day.strftime("%b %Y")
    return f"{day.day} {day:%b}" if bucket == "day" else f"wk {day.day} {day:%b}"


def listening_chart(series: list[dict], bucket: str):
    """Listening time per bucket, in hours once a bar passes two hours (round axis labels)."""
    peak_ms = max((point["ms_played"] for point in series), default=0)
    unit, per = ("h", 3_600_000) if peak_ms >= 7_200_000 else ("min", 60_000)
    return charts.bar_chart(
        [(bucket_label(point["bucket"], bucket), point["ms_played"] / per) for point in series],
        label=f"Listening time per {bucket}",
        axis=lambda v: f"{v:g} {unit}",
        describe=lambda v: duration(round(v * per)),
    )


def has_plays(user_id: int, tz: str) -> bool:
    return stats.totals(user_id, parse_period("all", tz=tz))["plays"] > 0


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("stats.dashboard"))
    return render_template("stats/landing.html", next=request.args.get("next"))


@bp.get("/dashboard")
@login_required
def dashboard():
    choice = chosen_period()
    period, user_id = choice.period, current_user.id
    # Totals (and the previous period's: None for all time) come with the top lists.
    overview = stats.overview(user_id, period)
    if overview["totals"]["plays"] == 0 and not has_plays(user_id, period.tz):
        return render_stats("stats/welcome.html", choice, next_sync=next_sync(current_user))
    series = stats.listening_series(user_id, period)
    return render_stats(
        "stats/dashboard.html",
        choice,
        period=period,
        totals=overview["totals"],
        previous=overview["previous"],
        **{f"top_{kind}": rows for kind, rows in overview["top"].items()},
        series_chart=listening_chart(series, period.bucket),
        bucket=period.bucket,
        heatmap=charts.heatmap(
            stats.weekday_hour(user_id, period), label="Plays by weekday and hour"
        ),
        gaps=gaps.open_gaps(user_id),
    )


def _unique_page(kind: str):
    choice = chosen_period(default="all")
    sort = request.args.get("sort", "plays")
    if sort not in SORTS:
        abort(400, f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    order = request.args.get("order", "asc" if sort == "name" else "desc")
    if order not in ("asc", "desc"):
        abort(400, f"order must be asc or desc, got {order!r}")
    search = (request.args.get("q") or "").strip()[:200] or None
    page = page_number()
    lister = stats.unique_tracks if kind == "tracks" else stats.unique_artists
    result = lister(
        current_user.id,
        choice.period,
        sort=sort,
        descending=order == "desc",
        search=search,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    if page > pages:
        abort(404)
    return render_stats(
        "stats/unique.html",
        choice,
        kind=kind,
        result=result,
        sort=sort,
        order=order,
        search=search or "",
        page=page,
        pages=pages,
        sorts=SORTS,
        endpoint=f"stats.unique_{kind}",
    )


@bp.get("/tracks")
@login_required
def unique_tracks():
    return _unique_page("tracks")


@bp.get("/artists")
@login_required
def unique_artists():
    return _unique_page("artists")


@bp.get("/profile")
@login_required
def profile():
    choice = chosen_period(default="all")
    taste = stats.taste_profile(current_user.id, choice.period)
    feature_chart = None
    if taste["features"]:
        rows = [
            (name.capitalize(), taste["features"][name], f"{taste['features'][name]:.2f}")
            for name in CHART_FEATURES
            if taste["features"].get(name) is not None
        ]
        feature_chart = charts.hbar_chart(rows, label="Average audio features", maximum=1.0)
    genres = taste["genres"][:15]
    genre_chart = (
        charts.hbar_chart(
            [(genre_label(g), g["share"], f"{g['share'] * 100:.0f}%") for g in genres],
            label="Genre distribution",
        )
        if genres
        else None
    )
    return render_stats(
        "stats/profile.html",
        choice,
        taste=taste,
        feature_chart=feature_chart,
        genre_chart=genre_chart,
        open_charts=open_data.open_data_charts(taste["open_data"]),
        average_length=open_data.average_length(taste["open_data"]),
    )


def genre_label(genre: dict) -> str:
    """A genre in a chart: its name, marked when it is MusicBrainz's (the vocabularies differ)."""
    return f"{genre['genre']} (MB)" if genre["source"] == "musicbrainz" else genre["genre"]


def _detail_page(kind: str, detail: dict | None):
    """A track, artist or album page; None (the user never played it) is a 404 whoever else did."""
    if detail is None:
        abort(404)
    series = detail.get("series") or []
    chart = charts.bar_chart(
        [(bucket_label(point["bucket"], "month"), point["plays"]) for point in series],
        label="Plays per month",
    )
    return render_template(
        f"stats/{kind}.html",
        **{kind: detail},
        chart=chart,
        item=detail,
        rank_chart=rank.history_chart(detail["charts"], CHART_SIZE),
        charts_building=stats.charts_building(current_user.id),
        exclusion_form=exclusions.ExclusionForm(),
    )


@bp.get("/tracks/<track_id>")
@login_required
def track(track_id: str):
    detail = stats.track_detail(current_user.id, track_id, tz=current_user.timezone)
    return _detail_page("track", detail)


@bp.get("/artists/<artist_id>")
@login_required
def artist(artist_id: str):
    detail = stats.artist_detail(current_user.id, artist_id, tz=current_user.timezone)
    return _detail_page("artist", detail)


@bp.get("/albums/<album_id>")
@login_required
def album(album_id: str):
    detail = stats.album_detail(current_user.id, album_id, tz=current_user.timezone)
    return _detail_page("album", detail)


@bp.get("/history")
@login_required
def history():
    page = page_number()
    result = stats.history(current_user.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-result.total // PAGE_SIZE))
    if page > pages:
        abort(404)
    return render_template(
        "stats/history.html",
        result=result,
        page=page,
        pages=pages,
        next_sync=next_sync(current_user),
    )
