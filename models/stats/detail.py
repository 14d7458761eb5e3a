"""The track, artist and album pages: one item as this user heard it, over all time.

They take no period (a detail page is all time, in the user's zone) and answer None for what
the user never played, so the shells answer 404 without a second look-up.
"""

from __future__ import annotations

from peewee import JOIN, SQL, fn

from models.schema.tables import (
    Album,
    Artist,
    Play,
    Track,
    TrackArtist,
    TrackMonth,
)
from models.stats.charts import chart_history
from models.stats.sources import (
    Plan,
    all_time_plan,
    as_date,
    as_datetime,
    as_int,
    clean,
    lookup,
    mine,
    per_track,
    select_from,
    series_of,
    shown_genres,
    track_columns,
    user_total_plays,
    with_album_artists,
    with_track_artists,
)
from models.summaries.listening import LocalTime, play_bounds


def _monthly_series(plan: Plan, track_ids) -> list[dict]:
    """Plays per local month of the given tracks, all time, zero-filled."""
    if plan.summary_days:
        rows = (
            TrackMonth.select(
                TrackMonth.month.alias("day"),
                fn.SUM(TrackMonth.plays).alias("plays"),
                fn.SUM(TrackMonth.ms_played).alias("ms_played"),
            )
            .where((TrackMonth.user == plan.user_id) & TrackMonth.track.in_(track_ids))
            .group_by(TrackMonth.month)
            .tuples()
        )
    else:
        bounds = play_bounds(plan.user_id)
        if bounds is None:
            return []
        local = LocalTime(Play.played_at, plan.period.tz, *bounds)
        rows = (
            Play.select(local.month.alias("day"), fn.COUNT(Play.id), fn.SUM(Play.ms_played))
            .where(mine(plan.user_id) & Play.track.in_(track_ids))
            .group_by(SQL("day"))
            .tuples()
        )
    per_month = {as_date(day): [as_int(plays), as_int(ms)] for day, plays, ms in rows}
    if not per_month:
        return []
    return series_of(per_month, None, None, "month")


@lookup
def track_detail(user_id: int, track_id: str, tz: str | None = None) -> dict | None:
    """One track as this user heard it, or None if they never played it (answer 404).

    ``{track_id, name, artists, album_id, album_name, image_url, duration_ms, popularity,
    explicit, plays, ms_played, first_played_at, last_played_at, share (of all the user's
    plays), series: [{"bucket", "plays", "ms_played"}] per local month, charts: its weekly
    chart positions (``models.stats.charts.chart_history``)}``.
    """
    plan = all_time_plan(user_id, tz)
    if plan.empty:
        return None
    pt = per_track(plan, [track_id], spans=True)
    row = (
        Track.select(
            *track_columns(),
            Track.duration_ms,
            Track.popularity,
            Track.explicit,
            pt.c.plays,
            pt.c.ms_played,
            pt.c.first_played_at,
            pt.c.last_played_at,
        )
        .join(pt, on=(pt.c.track_id == Track.id))
        .join(Album, JOIN.LEFT_OUTER, on=(Album.id == Track.album), src=Track)
        .dicts()
        .first()
    )
    if row is None or not as_int(row["plays"]):
        return None
    clean(row)
    with_track_artists([row])
    total = user_total_plays(user_id)
    row["share"] = row["plays"] / total if total else 0.0
    row["series"] = _monthly_series(plan, [track_id])
    row["charts"] = chart_history(user_id, "track", track_id)
    return row


@lookup
def artist_detail(
    user_id: int, artist_id: str, tz: str | None = None, top: int = 10
) -> dict | None:
    """One artist as this user heard them, or None if never played (answer 404).

    ``{artist_id, name, image_url, popularity, followers, genres: [name], plays, ms_played,
    first_played_at, last_played_at, share, tracks (distinct tracks played), top_tracks:
    [{track_id, name, plays, ms_played}], series: per local month, charts}``.
    """
    artist = (
        Artist.select(Artist.id, Artist.name, Artist.image_url, Artist.popularity, Artist.followers)
        .where(Artist.id == artist_id)
        .dicts()
        .first()
    )
    if artist is None:
        return None
    plan = all_time_plan(user_id, tz)
    if plan.empty:
        return None
    track_ids = TrackArtist.select(TrackArtist.track).where(TrackArtist.artist == artist_id)
    pt = per_track(plan, track_ids, spans=True)
    plays, ms_played, first, last, tracks = (
        select_from(
            [pt],
            [
                fn.SUM(pt.c.plays),
                fn.SUM(pt.c.ms_played),
                fn.MIN(pt.c.first_played_at),
                fn.MAX(pt.c.last_played_at),
                fn.COUNT(pt.c.track_id),
            ],
        )
        .tuples()
        .get()
    )
    if not as_int(plays):
        return None
    pt = per_track(plan, track_ids)
    top_rows = [
        clean(row)
        for row in Track.select(Track.id.alias("track_id"), Track.name, pt.c.plays, pt.c.ms_played)
        .join(pt, on=(pt.c.track_id == Track.id))
        .order_by(pt.c.plays.desc(), pt.c.ms_played.desc(), Track.id)
        .limit(top)
        .dicts()
    ]
    shown = shown_genres()
    genre_rows = list(
        select_from([shown], [shown.c.source, shown.c.genre])
        .where(shown.c.artist_id == artist_id)
        .order_by(shown.c.genre)
        .tuples()
    )
    genres = [name for _, name in genre_rows]
    total = user_total_plays(user_id)
    return {
        "artist_id": artist["id"],
        "name": artist["name"],
        "image_url": artist["image_url"],
        "popularity": artist["popularity"],
        "followers": artist["followers"],
        "genres": genres,
        # one source per artist (models.stats.sources.shown_genres): None without genres
        "genres_source": genre_rows[0][0] if genre_rows else None,
        "plays": as_int(plays),
        "ms_played": as_int(ms_played),
        "first_played_at": as_datetime(first),
        "last_played_at": as_datetime(last),
        "share": as_int(plays) / total if total else 0.0,
        "tracks": as_int(tracks),
        "top_tracks": top_rows,
        "series": _monthly_series(plan, track_ids),
        "charts": chart_history(user_id, "artist", artist_id),
    }


@lookup
def album_detail(user_id: int, album_id: str, tz: str | None = None) -> dict | None:
    """One album as this user heard it, or None if they never played a track of it (404).

    ``{album_id, name, image_url, popularity, album_type, release_date, total_tracks, artists
    (the leads of its tracks), plays, ms_played, first_played_at, last_played_at, share,
    tracks: [{track_id, name, disc_number, track_number, plays, ms_played, first_played_at,
    last_played_at}] (the album's tracks played, in album order), series: per local month,
    charts}``.
    """
    album = (
        Album.select(
            Album.id,
            Album.name,
            Album.image_url,
            Album.popularity,
            Album.album_type,
            Album.release_date,
            Album.total_tracks,
        )
        .where(Album.id == album_id)
        .dicts()
        .first()
    )
    if album is None:
        return None
    plan = all_time_plan(user_id, tz)
    if plan.empty:
        return None
    track_ids = Track.select(Track.id).where(Track.album == album_id)
    pt = per_track(plan, track_ids, spans=True)
    tracks = [
        clean(row)
        for row in Track.select(
            Track.id.alias("track_id"),
            Track.name,
            Track.disc_number,
            Track.track_number,
            pt.c.plays,
            pt.c.ms_played,
            pt.c.first_played_at,
            pt.c.last_played_at,
        )
        .join(pt, on=(pt.c.track_id == Track.id))
        .order_by(
            Track.disc_number.asc(nulls="LAST"),
            Track.track_number.asc(nulls="LAST"),
            Track.name,
            Track.id,
        )
        .dicts()
    ]
    tracks = [row for row in tracks if row["plays"]]
    if not tracks:
        return None
    plays = sum(row["plays"] for row in tracks)
    total = user_total_plays(user_id)
    (with_album,) = with_album_artists([{"album_id": album_id}])
    return {
        "album_id": album["id"],
        "name": album["name"],
        "image_url": album["image_url"],
        "popularity": album["popularity"],
        "album_type": album["album_type"],
        "release_date": album["release_date"],
        "total_tracks": album["total_tracks"],
        "artists": with_album["artists"],
        "plays": plays,
        "ms_played": sum(row["ms_played"] for row in tracks),
        "first_played_at": min(row["first_played_at"] for row in tracks),
        "last_played_at": max(row["last_played_at"] for row in tracks),
        "share": plays / total if total else 0.0,
        "tracks": tracks,
        "series": _monthly_series(plan, track_ids),
        "charts": chart_history(user_id, "album", album_id),
    }
