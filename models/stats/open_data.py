"""The open-data half of the taste profile: what MusicBrainz and Spotify's own track objects
still give a development-mode app, where audio features are gone.

Decades (the recording's first release, else its album's release group's), the lead artists'
countries and types, track length and the explicit share, each play-weighted over the period's
plays.  One grouped SQL query over the period's tracks; the few hundred groups it returns are
folded here.  Shares are of the plays whose value is known, with that coverage beside them:
a missing fact is never counted as a value.
"""

from __future__ import annotations

import itertools
from typing import TypedDict

from peewee import JOIN, Case, Cast, fn

from models.schema.tables import (
    LEAD_POSITION,
    AlbumEnrichment,
    ArtistEnrichment,
    Track,
    TrackArtist,
    TrackEnrichment,
)
from models.stats.sources import Plan, as_int, per_track, select_from

# Track lengths, by whole minutes: "under 2", "2-3", ... "7 and over".
LENGTH_MINUTES = (2, 3, 4, 5, 7)
TOP_COUNTRIES = 10


class OpenProfile(TypedDict):
    plays: int
    decades: list[dict]
    decades_coverage: float
    countries: list[dict]
    countries_coverage: float
    artist_types: list[dict]
    artist_types_coverage: float
    lengths: list[dict]
    average_length_ms: int | None
    explicit_share: float | None


def _label_of_minutes(minutes: int) -> str:
    bounds = LENGTH_MINUTES
    if minutes < bounds[0]:
        return f"under {bounds[0]} min"
    for low, high in itertools.pairwise(bounds):
        if minutes < high:
            return f"{low}–{high} min"
    return f"{bounds[-1]} min and over"


def _ranked(counts: dict, key: str, known: int, by_key: bool = False) -> list[dict]:
    items = sorted(counts.items(), key=(lambda i: i[0]) if by_key else (lambda i: (-i[1], i[0])))
    return [{key: name, "plays": plays, "share": plays / known} for name, plays in items]


def open_profile(plan: Plan) -> OpenProfile:
    """The period's plays by decade, lead artist country and type, length and explicitness."""
    pt = per_track(plan)
    year = fn.COALESCE(TrackEnrichment.release_year, AlbumEnrichment.release_year)
    decade = Case(None, [(year.is_null(False), (year / 10) * 10)], None)
    minutes = Track.duration_ms / 60000
    explicit = Case(None, [(Track.explicit == True, 1), (Track.explicit == False, 0)], None)  # noqa: E712
    groups = (
        select_from(
            [pt],
            [
                decade.alias("decade"),
                ArtistEnrichment.country.alias("country"),
                ArtistEnrichment.artist_type.alias("artist_type"),
                minutes.alias("minutes"),
                explicit.alias("explicit"),
                fn.SUM(pt.c.plays).alias("plays"),
                # bigint: years of plays of one track times its length pass 2**31
                fn.SUM(Cast(pt.c.plays, "bigint") * Track.duration_ms).alias("length_ms"),
            ],
        )
        .join(Track, on=(Track.id == pt.c.track_id))
        .join(TrackEnrichment, JOIN.LEFT_OUTER, on=(TrackEnrichment.track == Track.id))
        .join(AlbumEnrichment, JOIN.LEFT_OUTER, on=(AlbumEnrichment.album == Track.album))
        .join(
            TrackArtist,
            JOIN.LEFT_OUTER,
            on=(TrackArtist.track == Track.id) & (TrackArtist.position == LEAD_POSITION),
        )
        .join(ArtistEnrichment, JOIN.LEFT_OUTER, on=(ArtistEnrichment.artist == TrackArtist.artist))
        .group_by(decade, ArtistEnrichment.country, ArtistEnrichment.artist_type, minutes, explicit)
        .dicts()
    )
    total = 0
    decades: dict[int, int] = {}
    countries: dict[str, int] = {}
    types: dict[str, int] = {}
    lengths: dict[int, int] = {}
    length_ms = explicit_plays = explicit_known = 0
    for row in groups:
        plays = as_int(row["plays"])
        total += plays
        if row["decade"] is not None:
            decades[int(row["decade"])] = decades.get(int(row["decade"]), 0) + plays
        if row["country"]:
            countries[row["country"]] = countries.get(row["country"], 0) + plays
        if row["artist_type"]:
            types[row["artist_type"]] = types.get(row["artist_type"], 0) + plays
        if row["minutes"] is not None:
            bucket = min(int(row["minutes"]), LENGTH_MINUTES[-1])
            lengths[bucket] = lengths.get(bucket, 0) + plays
            length_ms += as_int(row["length_ms"])
        if row["explicit"] is not None:
            explicit_known += plays
            explicit_plays += plays * int(row["explicit"])
    timed = sum(lengths.values())
    by_label: dict[str, int] = {}
    for bucket in sorted(lengths):
        label = _label_of_minutes(bucket)
        by_label[label] = by_label.get(label, 0) + lengths[bucket]

    def coverage(counts: dict) -> float:
        return sum(counts.values()) / total if total else 0.0

    return {
        "plays": total,
        "decades": _ranked(decades, "decade", sum(decades.values()), by_key=True),
        "decades_coverage": coverage(decades),
        "countries": _ranked(countries, "country", sum(countries.values()))[:TOP_COUNTRIES],
        "countries_coverage": coverage(countries),
        "artist_types": _ranked(types, "type", sum(types.values())),
        "artist_types_coverage": coverage(types),
        "lengths": [
            {"length": label, "plays": plays, "share": plays / timed}
            for label, plays in by_label.items()
        ],
        "average_length_ms": round(length_ms / timed) if timed else None,
        "explicit_share": explicit_plays / explicit_known if explicit_known else None,
    }
