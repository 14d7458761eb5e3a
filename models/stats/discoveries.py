"""Discoveries: the first-ever play of each track and artist, new ones per month, what a
period discovered, and artists worth rediscovering.

First plays come from the all-time summaries (``TrackTotal``/``ArtistTotal.first_played_at``,
kept as the minimum by every write, so an old history imported later moves them back exactly),
or from the raw plays on the raw path: ``sources.per_track``/``per_entity`` with ``spans``.
An artist's first play is the first play of any track crediting them.

Rediscover: an artist in your top 20 (by plays) of an earlier local calendar year whom you
have not played in the last :data:`REDISCOVER_MONTHS` months.
"""

from __future__ import annotations

import datetime as dt

from peewee import SQL, Cast, Value, fn

from models.periods import Period, add_months, local_date, local_midnight_utc
from models.schema.db import is_postgresql, utcnow
from models.schema.tables import Artist, ArtistMonth, Track
from models.stats.sources import (
    all_time_plan,
    artist_base,
    as_date,
    as_datetime,
    as_int,
    per_entity,
    per_track,
    plan_for,
    select_from,
    statistic,
    track_base,
    with_catalogue,
    with_track_artists,
)
from models.summaries.listening import LocalTime, play_bounds

REDISCOVER_MONTHS = 6
REDISCOVER_TOP = 20
# Discoveries mean little until the history reaches back: fewer months than this since the
# first play, and the pages say an imported history makes them meaningful.
YOUNG_HISTORY_MONTHS = 3
_KINDS = {"track": "track_id", "artist": "artist_id"}


def first_plays(user_id: int, tz: str, kind: str):
    """Subquery ``(track_id | artist_id, plays, ms_played, first_played_at, ...)``, all time."""
    plan = all_time_plan(user_id, tz)
    if kind == "track":
        return per_track(plan, spans=True)
    return per_entity(plan, "artist", spans=True)


def _first_in(source, period: Period):
    where = source.c.first_played_at < period.end
    if period.start is not None:
        where &= source.c.first_played_at >= period.start
    return where


@statistic
def discoveries_per_month(user_id: int, tz: str) -> list[dict]:
    """``[{"bucket": "YYYY-MM-01", "tracks", "artists"}]``: how many tracks and artists were
    first played in each local month, from the first play's month to the last, zeros kept."""
    bounds = play_bounds(user_id)
    if bounds is None:
        return []
    counted: dict[dt.date, dict] = {}
    for kind, key in _KINDS.items():
        source = first_plays(user_id, tz, kind)
        month = LocalTime(source.c.first_played_at, tz, *bounds).month.alias("month")
        query = select_from([source], [month, fn.COUNT(getattr(source.c, key))]).group_by(
            SQL("month")
        )
        for bucket, n in query.tuples():
            counted.setdefault(as_date(bucket), {"tracks": 0, "artists": 0})[kind + "s"] = n
    first = local_date(bounds[0], tz).replace(day=1)
    last = local_date(bounds[1], tz).replace(day=1)
    series = []
    while first <= last:
        cell = counted.get(first, {"tracks": 0, "artists": 0})
        series.append({"bucket": first.isoformat(), **cell})
        first = add_months(first, 1)
    return series


@statistic
def discovered(user_id: int, period: Period, limit: int = 5) -> dict:
    """What the period discovered: ``{"tracks": n, "artists": n, "top_tracks": [...],
    "top_artists": [...]}``, the tops being the discoveries most played in the period."""
    result: dict = {"tracks": 0, "artists": 0, "top_tracks": [], "top_artists": []}
    plan = plan_for(user_id, period)
    if plan.empty:
        return result
    for kind, key in _KINDS.items():
        source = first_plays(user_id, period.tz, kind)
        if plan.through_last_play or not limit:
            # what was first played in the period was played in it (counted from the first
            # plays alone), and every play of it up to its last is in a period that ends after
            # the last play: their all-time sums are the period's, no sum of the period needed
            played, column = source, getattr(source.c, key)
            where = _first_in(source, period)
        else:
            new = select_from([source], [getattr(source.c, key)]).where(_first_in(source, period))
            # what was first played in the period was played in it: one query ranks the
            # period's plays of the discoveries and counts them all (COUNT(*) OVER the result)
            played = per_track(plan) if kind == "track" else per_entity(plan, "artist")
            column = getattr(played.c, key)
            where = column.in_(new)
        ranked = list(
            select_from(
                [played],
                [
                    column,
                    played.c.plays,
                    played.c.ms_played,
                    fn.COUNT(SQL("*")).over().alias("discovered"),
                ],
            )
            .where(where)
            .order_by(played.c.plays.desc(), played.c.ms_played.desc(), column)
            .limit(max(limit, 1))
            .dicts()
        )
        result[kind + "s"] = as_int(ranked[0]["discovered"]) if ranked else 0
        for row in ranked:
            del row["discovered"]
        ranked = ranked[:limit]
        if kind == "track":
            result["top_tracks"] = with_track_artists(
                with_catalogue(ranked, key, Track, track_base)
            )
        else:
            result["top_artists"] = with_catalogue(ranked, key, Artist, artist_base)
    return result


def history_months(user_id: int, now: dt.datetime | None = None) -> int | None:
    """Whole months between the first play and ``now`` (None without plays)."""
    bounds = play_bounds(user_id)
    if bounds is None:
        return None
    first, today = bounds[0].date(), (now or utcnow()).date()
    return (today.year - first.year) * 12 + today.month - first.month - (today.day < first.day)


def _ranked(rows) -> list:
    """Rank artist rows (year, artist_id, plays, ms_played) within each year as the top lists
    do: plays, then time, then id."""
    rank = fn.ROW_NUMBER().over(
        partition_by=[rows.c.year],
        order_by=[rows.c.plays.desc(), rows.c.ms_played.desc(), rows.c.artist_id],
    )
    numbered = select_from([rows], [rows.c.year, rows.c.artist_id, rank.alias("rank")]).alias(
        "numbered"
    )
    return list(
        select_from([numbered], [numbered.c.year, numbered.c.artist_id, numbered.c.rank])
        .where(numbered.c.rank <= REDISCOVER_TOP)
        .tuples()
    )


def _yearly_top_artists(user_id: int, tz: str, first: int, before: int) -> dict:
    """{artist_id: [{"year", "rank"}]} of every local year ``first`` <= year < ``before`` in
    whose top 20 the artist was.  From the summaries, one query over the artist months (each
    whole local year is twelve of them); on the raw path, each year's per-artist sums."""
    found: dict[str, list[dict]] = {}
    if first >= before:
        return found
    if all_time_plan(user_id, tz).summary_days:
        if is_postgresql():
            year = Cast(fn.date_part("year", ArtistMonth.month), "integer")
        else:
            year = Cast(fn.strftime("%Y", ArtistMonth.month), "INTEGER")
        per_year = (
            ArtistMonth.select(
                year.alias("year"),
                ArtistMonth.artist.alias("artist_id"),
                fn.SUM(ArtistMonth.plays).alias("plays"),
                fn.SUM(ArtistMonth.ms_played).alias("ms_played"),
            )
            .where((ArtistMonth.user == user_id) & (ArtistMonth.month < dt.date(before, 1, 1)))
            .group_by(SQL("year"), ArtistMonth.artist)
            .alias("per_year")
        )
        ranked = _ranked(per_year)
    else:
        ranked = []
        for number in range(first, before):
            period = Period.of_days(dt.date(number, 1, 1), dt.date(number, 12, 31), tz, "year")
            played = per_entity(plan_for(user_id, period), "artist")
            rows = select_from(
                [played],
                [
                    Value(number).alias("year"),
                    played.c.artist_id,
                    played.c.plays,
                    played.c.ms_played,
                ],
            ).alias("per_year")
            ranked += _ranked(rows)
    for number, artist_id, rank in sorted(ranked):
        found.setdefault(artist_id, []).append({"year": int(number), "rank": int(rank)})
    return found


@statistic
def rediscover(user_id: int, tz: str, now: dt.datetime | None = None) -> list[dict]:
    """Artists in your top 20 of an earlier local calendar year, not played in the last six
    months: ``[{"artist_id", "name", "image_url", "years": [{"year", "rank"}], "plays",
    "last_played_at"}]``, most played (all time) first."""
    bounds = play_bounds(user_id)
    if bounds is None:
        return []
    today = local_date(now or utcnow(), tz)
    cutoff = local_midnight_utc(add_months(today, -REDISCOVER_MONTHS), tz)
    years = _yearly_top_artists(user_id, tz, local_date(bounds[0], tz).year, today.year)
    if not years:
        return []
    source = first_plays(user_id, tz, "artist")
    quiet = list(
        select_from([source], [source.c.artist_id, source.c.plays, source.c.last_played_at])
        .where(source.c.artist_id.in_(list(years)) & (source.c.last_played_at < cutoff))
        .order_by(source.c.plays.desc(), source.c.artist_id)
        .dicts()
    )
    rows = with_catalogue(quiet, "artist_id", Artist, artist_base)
    for row in rows:
        row["years"] = years[row["artist_id"]]
        row["last_played_at"] = as_datetime(row["last_played_at"])
    return rows
