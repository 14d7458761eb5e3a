"""The taste profile: play-weighted average audio features, their coverage, and genres.

Kept apart from the top lists because its hard part is honesty about missing data: a
development-mode app may not read audio features at all, so averages are None with a reason,
never zeros.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from peewee import JOIN, SQL, Case, fn

from models.periods import Period
from models.schema.tables import (
    PROFILE_FEATURES,
    AudioFeatures,
    FeatureMonth,
    FeatureTotal,
    TrackDay,
)
from models.stats.open_data import OpenProfile, open_profile
from models.stats.sources import (
    Plan,
    as_int,
    bucket_rows,
    clean,
    genres_query,
    per_track,
    plan_for,
    select_from,
    statistic,
    with_shares,
)
from models.summaries.catalogue import MICRO, PENDING, micro_sql


class TasteProfile(TypedDict):
    """What :func:`taste_profile` answers; its docstring says what each value means."""

    features: dict[str, float | None] | None
    features_status: str
    features_reason: str | None
    coverage: float
    genres: list[dict]
    open_data: OpenProfile | None


def _feature_days(condition):
    """The features rows of the track days matching ``condition``, one per track and day,
    as the features summaries sum them (``models.summaries.catalogue``: millionths, pending
    without a features row)."""
    af = AudioFeatures.alias("af")
    columns = [
        fn.COALESCE(af.status, PENDING).alias("status"),
        TrackDay.plays.alias("plays"),
        TrackDay.ms_played.alias("ms_played"),
    ]
    for name in PROFILE_FEATURES:
        columns.append((TrackDay.plays * SQL(micro_sql(f"af.{name}"))).alias(f"sum_{name}"))
        columns.append(
            Case(None, [(getattr(af, name).is_null(False), TrackDay.plays)], 0).alias(f"n_{name}")
        )
    return (
        TrackDay.select(*columns)
        .join(af, JOIN.LEFT_OUTER, on=(af.track == TrackDay.track))
        .where(condition)
    )


def _features_by_status(plan: Plan) -> dict[str, dict]:
    """{features status: {"plays", "ms_played", "sum_<feature>" (sum of plays * value, None if no
    value), "n_<feature>" (plays with a value)}} of the period's plays."""
    counters = (
        "plays",
        "ms_played",
        *(f"{kind}_{name}" for name in PROFILE_FEATURES for kind in ("sum", "n")),
    )
    if plan.all_time or plan.summary_days:
        # The features summaries, whose sums are in millionths (models.summaries.catalogue).
        def columns(model):
            return [model.status, *[getattr(model, name) for name in counters]]

        if plan.all_time:
            rows = (
                FeatureTotal.select(*columns(FeatureTotal))
                .where(FeatureTotal.user == plan.user_id)
                .alias("parts")
            )
        else:
            rows = bucket_rows(plan, FeatureMonth, TrackDay, columns, day_rows=_feature_days)
        found = {}
        for row in (
            select_from(
                [rows],
                [rows.c.status, *[fn.SUM(getattr(rows.c, name)).alias(name) for name in counters]],
            )
            .group_by(rows.c.status)
            .dicts()
        ):
            for name in PROFILE_FEATURES:
                row[f"sum_{name}"] = Decimal(as_int(row[f"sum_{name}"])) / MICRO
            found[row.pop("status")] = row
        return found
    pt = per_track(plan)
    feature_columns = []
    for name in PROFILE_FEATURES:
        value = getattr(AudioFeatures, name)
        feature_columns.append(fn.SUM(pt.c.plays * value).alias(f"sum_{name}"))
        feature_columns.append(
            fn.SUM(Case(None, [(value.is_null(False), pt.c.plays)], 0)).alias(f"n_{name}")
        )
    status = Case(None, [(AudioFeatures.status.is_null(), "pending")], AudioFeatures.status)
    rows = (
        select_from(
            [pt],
            [
                status.alias("label"),
                fn.SUM(pt.c.plays).alias("plays"),
                fn.SUM(pt.c.ms_played).alias("ms_played"),
                *feature_columns,
            ],
        )
        .join(AudioFeatures, JOIN.LEFT_OUTER, on=(AudioFeatures.track == pt.c.track_id))
        .group_by(status)
        .dicts()
    )
    return {row.pop("label"): row for row in rows}


@statistic
def taste_profile(user_id: int, period: Period, genres: int = 20) -> TasteProfile:
    """Play-weighted average audio features and the genre distribution.

    ``{"features": {name: average} | None, "features_status": "ok" | "partial" | "unavailable"
    | "no_data", "features_reason": None | "forbidden" | "missing" | "pending", "coverage":
    share of plays whose track has features, "genres": top_genres(...), "open_data":
    models.stats.open_data.open_profile(...) (None without plays)}``.  Features are None
    (never zeros) when no played track has them: development-mode apps may not read audio
    features ("forbidden"), Spotify may have none ("missing"), or the ETL has not fetched them
    yet ("pending").
    """
    plan = plan_for(user_id, period)
    result: TasteProfile = {
        "features": None,
        "features_status": "no_data",
        "features_reason": None,
        "coverage": 0.0,
        "genres": [],
        "open_data": None,
    }
    if plan.empty:
        return result
    by_status = _features_by_status(plan)
    genre_rows = [clean(row) for row in genres_query(plan, genres, 0).dicts()]
    total = sum(as_int(row["plays"]) for row in by_status.values())
    if not total:
        return result
    result["genres"] = with_shares(genre_rows, total)
    result["open_data"] = open_profile(plan)
    ok = by_status.get("ok")
    covered = as_int(ok["plays"]) if ok else 0
    result["coverage"] = covered / total
    if ok and covered:  # covered is 0 without ok
        result["features"] = {
            # rounded: PostgreSQL keeps features as float4, whose noise is not information
            name: (
                round(float(Decimal(ok[f"sum_{name}"]) / Decimal(ok[f"n_{name}"])), 4)
                if as_int(ok[f"n_{name}"])
                else None
            )
            for name in PROFILE_FEATURES
        }
        result["features_status"] = "ok" if covered == total else "partial"
    else:
        result["features_status"] = "unavailable"
    if covered < total:
        for reason in ("forbidden", "missing", "pending"):
            if reason in by_status:
                result["features_reason"] = reason
                break
    return result
