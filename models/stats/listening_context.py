"""Skips and how you listen: what only an extended privacy export tells about each stream.

Spotify's recently-played list says none of it, nor do account-data files, so these figures
cover only the **export-covered streams** of a period: music plays (30 s and more) and short
streams (under 30 s, ``short_stream``) whose entry named its device (``device`` is set: an
extended entry always names its ``platform``, which ``models.imports.listening.device_family``
sorts into a family).  Every answer says which days those were (``coverage``: the first and last
local day with such a stream in the period), so a page never passes an export's year off as the
whole period.

- **Skip rate** (the tracker's rule, the one that decides what counts as a play): short streams
  over all export-covered streams.  Beside it, as given, the export's own ``skipped`` flag
  (share of the streams whose entry said true or false; older exports say nothing) and its
  ``reason_end`` words (``trackdone``, ``fwdbtn``, ``endplay``...).
- **Shuffle share**, **offline share**: of the streams whose entry said true or false.
- **Devices** and **countries** (``conn_country``): streams and listening time each.
- **Most-skipped tracks** and **artists** (a stream counts for each credited artist): short
  streams, streams and the skip rate of each, most short streams first.

Episodes and audiobook chapters are not music and stay out (``models.stats.podcasts``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from peewee import SQL, Case, fn

from models.periods import Period, local_date
from models.schema.tables import Artist, Play, ShortStream, Track, TrackArtist
from models.stats.sources import (
    artist_base,
    as_datetime,
    as_int,
    check_page,
    select_from,
    statistic,
    track_base,
    with_catalogue,
    with_track_artists,
)

FLAGS = ("skipped", "shuffle", "offline")
# The period these pages and endpoints show when none is asked for: all time, since an export
# usually ends months before today (the last 4 weeks, the dashboard's default, would be empty).
EXPORT_DEFAULT_RANGE = "all"


def _union(user_id: int, period: Period, *columns: str):
    """The period's export-covered streams, plays and short streams as one subquery (UNION
    ALL): ``short`` (1 for a short stream), ``ms_played`` and ``columns`` of each.  Each half
    reads its table's ``(user, played_at, ...)`` index range."""
    parts = []
    for model, short in ((Play, 0), (ShortStream, 1)):
        where = (
            (model.user == user_id) & (model.played_at < period.end) & model.device.is_null(False)
        )
        if period.start is not None:
            where &= model.played_at >= period.start
        parts.append(
            model.select(
                SQL(str(short)).alias("short"),
                model.ms_played.alias("ms_played"),
                *(getattr(model, name).alias(name) for name in columns),
            ).where(where)
        )
    return (parts[0] + parts[1]).alias("streams")  # UNION ALL


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 4)


def _ranked(counter: Counter, ms: Counter, key: str, total: int) -> list[dict]:
    return [
        {key: name, "streams": n, "ms_played": ms[name], "share": _share(n, total)}
        for name, n in sorted(counter.items(), key=lambda item: (-item[1], str(item[0])))
    ]


@statistic
def how_you_listen(user_id: int, period: Period) -> dict:
    """Skip rate (under 30 s) beside the export's ``skipped`` and ``reason_end``, shuffle and
    offline shares, devices and countries, over the period's export-covered streams.

    One query: the streams grouped by device, country, ``reason_end`` and length (a few
    hundred groups at most), each group's streams, time and true/told flag counts summed in SQL
    and folded here.  ``coverage`` is None when no export covers any of the period."""
    grouped = _union(user_id, period, "played_at", *FLAGS, "reason_end", "device", "conn_country")
    keys = [grouped.c.short, grouped.c.reason_end, grouped.c.device, grouped.c.conn_country]
    flag_sums = []
    for name in FLAGS:
        column = getattr(grouped.c, name)
        flag_sums += [fn.SUM(Case(None, [(column == True, 1)], 0)), fn.COUNT(column)]  # noqa: E712
    rows = (
        select_from(
            [grouped],
            [
                *keys,
                fn.COUNT(SQL("*")),
                fn.SUM(grouped.c.ms_played),
                fn.MIN(grouped.c.played_at),
                fn.MAX(grouped.c.played_at),
                *flag_sums,
            ],
        )
        .group_by(*keys)
        .tuples()
    )
    streams = short = 0
    flags = {name: [0, 0] for name in FLAGS}  # [true, told]
    reasons: Counter = Counter()
    devices: Counter = Counter()
    device_ms: Counter = Counter()
    countries: Counter = Counter()
    country_ms: Counter = Counter()
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    for is_short, reason, device, country, n, ms, lo, hi, *told in rows:
        n, ms = as_int(n), as_int(ms)
        streams += n
        short += n if as_int(is_short) else 0
        for index, name in enumerate(FLAGS):
            flags[name][0] += as_int(told[2 * index])
            flags[name][1] += as_int(told[2 * index + 1])
        reasons[reason or "unknown"] += n
        devices[device] += n
        device_ms[device] += ms
        countries[country or "ZZ"] += n
        country_ms[country or "ZZ"] += ms
        lo, hi = as_datetime(lo), as_datetime(hi)
        first = lo if first is None or (lo is not None and lo < first) else first
        last = hi if last is None or (hi is not None and hi > last) else last
    return {
        "coverage": _coverage(first, last, period.tz, streams, short),
        "streams": streams,
        "short_streams": short,
        "skip_rate": _share(short, streams),
        "skipped_flag": _flag_figures(flags["skipped"]),
        "shuffle": _flag_figures(flags["shuffle"]),
        "offline": _flag_figures(flags["offline"]),
        "reasons_end": [
            {"reason": reason, "streams": n, "share": _share(n, streams)}
            for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        "devices": _ranked(devices, device_ms, "device", streams),
        "countries": _ranked(countries, country_ms, "country", streams),
    }


def _flag_figures(counts: list[int]) -> dict:
    true, told = counts
    return {"true": true, "told": told, "share": _share(true, told)}


def _coverage(first, last, tz: str, streams: int, short: int) -> dict | None:
    """The first and last local day of the period with an export-covered stream."""
    if first is None or last is None:
        return None
    return {
        "first_day": local_date(first, tz),
        "last_day": local_date(last, tz),
        "streams": streams,
        "plays": streams - short,
        "short_streams": short,
    }


def _skip_rows(rows: Iterable, key: str) -> list[dict]:
    return [
        {
            key: item_id,
            "short_streams": as_int(skips),
            "streams": as_int(n),
            "skip_rate": _share(as_int(skips), as_int(n)),
        }
        for item_id, skips, n in rows
    ]


@statistic
def most_skipped_tracks(
    user_id: int, period: Period, limit: int = 10, offset: int = 0
) -> list[dict]:
    """Tracks by how often they were skipped (short streams) among export-covered streams:
    ``{track_id, name, artists, album_name, image_url, short_streams, streams, skip_rate}``,
    most short streams first; only tracks skipped at least once."""
    check_page(limit, offset)
    streams = _union(user_id, period, "track_id")
    skips = fn.SUM(streams.c.short)
    ranked = _skip_rows(
        select_from([streams], [streams.c.track_id, skips, fn.COUNT(SQL("*"))])
        .group_by(streams.c.track_id)
        .having(skips > 0)
        .order_by(skips.desc(), fn.COUNT(SQL("*")).desc(), streams.c.track_id)
        .limit(limit)
        .offset(offset)
        .tuples(),
        "track_id",
    )
    return with_track_artists(with_catalogue(ranked, "track_id", Track, track_base))


@statistic
def most_skipped_artists(
    user_id: int, period: Period, limit: int = 10, offset: int = 0
) -> list[dict]:
    """Artists by short streams of their tracks (each credited artist counts the stream):
    ``{artist_id, name, image_url, short_streams, streams, skip_rate}``, most skipped first."""
    check_page(limit, offset)
    streams = _union(user_id, period, "track_id")
    per_track = (
        select_from(
            [streams],
            [
                streams.c.track_id.alias("track_id"),
                fn.SUM(streams.c.short).alias("skips"),
                fn.COUNT(SQL("*")).alias("n"),
            ],
        )
        .group_by(streams.c.track_id)
        .alias("per_track")
    )
    skips, n = fn.SUM(per_track.c.skips), fn.SUM(per_track.c.n)
    ranked = _skip_rows(
        TrackArtist.select(TrackArtist.artist, skips, n)
        .join(per_track, on=(per_track.c.track_id == TrackArtist.track))
        .group_by(TrackArtist.artist)
        .having(skips > 0)
        .order_by(skips.desc(), n.desc(), TrackArtist.artist)
        .limit(limit)
        .offset(offset)
        .tuples(),
        "artist_id",
    )
    return with_catalogue(ranked, "artist_id", Artist, artist_base)
