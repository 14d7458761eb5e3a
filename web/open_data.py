"""The profile's open-data charts (inline SVG, like every chart): what MusicBrainz and Spotify's
track objects still say about a development-mode listener's music, from
``models.stats.open_data``."""

from __future__ import annotations

from markupsafe import Markup

from web import charts
from web.filters import duration


def open_data_charts(open_data: dict | None) -> dict[str, Markup]:
    """The profile's open-data charts (inline SVG): decades, countries, artist types, lengths."""
    if not open_data or not open_data["plays"]:
        return {}
    found: dict[str, Markup] = {}
    if open_data["decades"]:
        found["decades"] = charts.bar_chart(
            [(f"{row['decade']}s", row["share"] * 100) for row in open_data["decades"]],
            label="Plays by decade of release",
            describe=lambda v: f"{v:.0f}%",
        )
    for key, label, name in (
        ("countries", "Plays by the lead artist's country", "country"),
        ("artist_types", "Plays by the lead artist's type", "type"),
        ("lengths", "Plays by track length", "length"),
    ):
        if open_data[key]:
            found[key] = charts.hbar_chart(
                [(row[name], row["share"], f"{row['share'] * 100:.0f}%") for row in open_data[key]],
                label=label,
            )
    return found


def average_length(open_data: dict | None) -> str | None:
    if not open_data or open_data["average_length_ms"] is None:
        return None
    return str(duration(open_data["average_length_ms"]))
