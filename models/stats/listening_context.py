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
import functools
from collections import Counter
from collections.abc import Iterable

from peewee import SQL, fn

from models.periods import Period, local_date, local_midnight_utc
from models.schema.tables import (
    Artist,
    ContextMonth,
    Play,
    ShortStream,
    SkipMonth,
    SkipTotal,
    Track,
    TrackArtist,
)
from models.stats.sources import (
    artist_base,
    as_datetime,
    as_int,
    check_page,
    month_and_day_ranges,
    select_from,
    statistic,
    summary_zone,
    track_base,
    with_catalogue,
    with_track_artists,
)
from models.summaries.listening_context import (
    FLAGS,
    STREAM_COLUMNS,
    context_groups,
    covered_streams,
    on_backlog,
)

# The period these pages and endpoints show when none is asked for: all time, since an export
# usually ends months before today (the last 4 weeks, the dashboard's default, would be empty).
EXPORT_DEFAULT_RANGE = "all"


def _month_sums() -> tuple:
    """``ContextMonth``'s sums in ``context_groups``' order, after its three keys."""
    m = ContextMonth
    flags = [fn.SUM(getattr(m, f"{name}_{said}")) for name in FLAGS for said in ("true", "told")]
    return (
        fn.SUM(m.streams),
        fn.SUM(m.short_streams),
        fn.SUM(m.ms_played),
        *flags,
        fn.MIN(m.first_played_at),
        fn.MAX(m.last_played_at),
    )


def _summary_ranges(user_id: int, period: Period):
    """Where the period's covered streams are read from: None for the raw streams (another
    zone than the summaries', a hand-made period, summaries not built yet), else the whole
    local months ``(lo, hi)`` (or None) of ``ContextMonth``/``SkipMonth`` and the UTC instants
    ``[(start, end), ...]`` of the days at either end, read raw."""
    if not period.whole_days or summary_zone(user_id) != period.tz or on_backlog(user_id):
        return None
    months, days = month_and_day_ranges(period)
    edges = [
        (local_midnight_utc(lo, period.tz), local_midnight_utc(hi, period.tz))
        for lo, hi in days
        if lo < hi
    ]
    return months, edges


def _in_months(model, user_id: int, months):
    lo, hi = months
    where = (model.user == user_id) & (model.month < hi)
    return where if lo is None else where & (model.month >= lo)


def _context_rows(user_id: int, period: Period) -> list[tuple]:
    """The period's covered streams as ``context_groups`` rows: the raw streams grouped, or
    the whole months' ``ContextMonth`` rows summed and the edge days' raw streams grouped."""
    ranges = _summary_ranges(user_id, period)
    if ranges is None:
        return list(
            context_groups(
                covered_streams(user_id, period.start, period.end, *STREAM_COLUMNS)
            ).tuples()
        )
    months, edges = ranges
    rows: list[tuple] = []
    if months is not None:
        keys = (ContextMonth.device, ContextMonth.country, ContextMonth.reason_end)
        rows.extend(
            ContextMonth.select(*keys, *_month_sums())
            .where(_in_months(ContextMonth, user_id, months))
            .group_by(*keys)
            .tuples()
        )
    for start, end in edges:
        streams = covered_streams(user_id, start, end, *STREAM_COLUMNS)
        rows.extend(context_groups(streams).tuples())
    return rows


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

    Read from the export's monthly summaries (``models.summaries.listening_context``) and the
    edge days' raw streams, or all raw, grouped by device, country and ``reason_end`` (a few
    hundred groups at most) and folded here.  ``coverage`` is None when no export covers any
    of the period."""
    streams = short = 0
    flags = {name: [0, 0] for name in FLAGS}  # [true, told]
    reasons: Counter = Counter()
    devices: Counter = Counter()
    device_ms: Counter = Counter()
    countries: Counter = Counter()
    country_ms: Counter = Counter()
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    for device, country, reason, n, skips, ms, *told, lo, hi in _context_rows(user_id, period):
        n, ms = as_int(n), as_int(ms)
        streams += n
        short += as_int(skips)
        for index, name in enumerate(FLAGS):
            flags[name][0] += as_int(told[2 * index])
            flags[name][1] += as_int(told[2 * index + 1])
        reasons[reason] += n
        devices[device] += n
        device_ms[device] += ms
        countries[country] += n
        country_ms[country] += ms
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


def _nothing_after(user_id: int, end: dt.datetime) -> bool:
    """Whether the user has no play or short stream at or after ``end`` (two index probes)."""
    return not any(
        model.select().where((model.user == user_id) & (model.played_at >= end)).exists()
        for model in (Play, ShortStream)
    )


def _per_track(user_id: int, period: Period):
    """Subquery ``per_track``: (track_id, skips, n), the short streams and covered streams of
    each track streamed in the period: ``SkipTotal`` for all time, else the whole months'
    ``SkipMonth`` rows and the edge days' raw streams, or the raw streams."""

    def raw(start, end):
        streams = covered_streams(user_id, start, end, "track_id")
        return select_from(
            [streams],
            [
                streams.c.track_id.alias("track_id"),
                fn.SUM(streams.c.short).alias("skips"),
                fn.COUNT(SQL("*")).alias("n"),
            ],
        ).group_by(streams.c.track_id)

    ranges = _summary_ranges(user_id, period)
    if ranges is None:
        return raw(period.start, period.end).alias("per_track")
    if period.start is None and _nothing_after(user_id, period.end):
        return (
            SkipTotal.select(
                SkipTotal.track.alias("track_id"),
                SkipTotal.short_streams.alias("skips"),
                SkipTotal.streams.alias("n"),
            )
            .where(SkipTotal.user == user_id)
            .alias("per_track")
        )
    months, edges = ranges
    parts = [raw(start, end) for start, end in edges]
    if months is not None:
        parts.append(
            SkipMonth.select(
                SkipMonth.track.alias("track_id"),
                SkipMonth.short_streams.alias("skips"),
                SkipMonth.streams.alias("n"),
            ).where(_in_months(SkipMonth, user_id, months))
        )
    rows = functools.reduce(lambda a, b: a + b, parts).alias("parts")  # UNION ALL
    return (
        select_from(
            [rows],
            [
                rows.c.track_id.alias("track_id"),
                fn.SUM(rows.c.skips).alias("skips"),
                fn.SUM(rows.c.n).alias("n"),
            ],
        )
        .group_by(rows.c.track_id)
        .alias("per_track")
    )


@statistic
def most_skipped_tracks(
    user_id: int, period: Period, limit: int = 10, offset: int = 0
) -> list[dict]:
    """Tracks by how often they were skipped (short streams) among export-covered streams:
    ``{track_id, name, artists, album_name, image_url, short_streams, streams, skip_rate}``,
    most short streams first; only tracks skipped at least once."""
    check_page(limit, offset)
    per_track = _per_track(user_id, period)
    skips, n = per_track.c.skips, per_track.c.n
    ranked = _skip_rows(
        select_from([per_track], [per_track.c.track_id, skips, n])
        .where(skips > 0)
        .order_by(skips.desc(), n.desc(), per_track.c.track_id)
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
    per_track = _per_track(user_id, period)
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
