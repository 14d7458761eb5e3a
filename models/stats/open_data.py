"""The open-data half of the taste profile: what MusicBrainz and Spotify's own track objects
still give a development-mode app, where audio features are gone.

Decades (the recording's first release, else its album's release group's), the lead artists'
countries and types, track length and the explicit share, each play-weighted over the period's
plays.  One grouped SQL query joins the period's per-track sums to each track's facts
(``TrackFacts``, kept by ``models.summaries.track_facts``); the few hundred groups it returns
are folded here.  (Summing per track first beats joining every month row: a year of a heavy
listener is 200k month rows but 40k tracks.)  Shares are of the plays whose value is known,
with that coverage beside them: a missing fact is never counted as a value.
"""

from __future__ import annotations

import itertools
from typing import TypedDict

from peewee import JOIN, Cast, fn

from models.schema.tables import TrackFacts
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
    facts = TrackFacts
    groups = (
        select_from(
            [pt],
            [
                facts.decade,
                facts.country,
                facts.artist_type,
                facts.minutes,
                facts.explicit,
                fn.SUM(pt.c.plays).alias("plays"),
                # bigint: years of plays of one track times its length pass 2**31
                fn.SUM(Cast(pt.c.plays, "bigint") * facts.duration_ms).alias("length_ms"),
            ],
        )
        .join(facts, JOIN.LEFT_OUTER, on=(facts.track == pt.c.track_id))
        .group_by(facts.decade, facts.country, facts.artist_type, facts.minutes, facts.explicit)
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
            explicit_plays += plays if row["explicit"] else 0
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
