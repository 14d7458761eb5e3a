"""The year in review as a shareable image, drawn here on the server: SVG, and PNG from it.

The SVG is self-contained: no external image, stylesheet or web font, only presentation
attributes and a generic font stack (DejaVu Sans is what Debian's cairo finds), so it renders
the same in a browser, an image viewer and cairosvg.  Every text comes from the figures of
``models.stats.year_in_review``; names are escaped.  The PNG is cairosvg's rendering of that
SVG (cairosvg needs the system's libcairo2; ``make install`` installs it).  Rasterising takes
longer than computing the figures, so the last PNGs drawn are kept, keyed by their SVG: the
figures are computed for every request, and only a drawing of the same figures is reused.
"""

from __future__ import annotations

import functools

from markupsafe import escape

from web.filters import duration

WIDTH, HEIGHT = 1080, 1350  # 4:5, the portrait size social feeds show whole
FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
BACKGROUND, PANEL, ACCENT, TEXT, MUTED = "#121212", "#1e1e1e", "#1db954", "#ffffff", "#b3b3b3"


def _text(x, y, content, size, fill=TEXT, weight="normal", anchor="start") -> str:
    return (
        f'<text x="{x}" y="{y}" font-family="{FONT}" font-size="{size}" fill="{fill}" '
        f'font-weight="{weight}" text-anchor="{anchor}">{escape(content)}</text>'
    )


def _clip(name: str, length: int = 30) -> str:
    return name if len(name) <= length else name[: length - 1] + "…"


def _hours(ms: int) -> str:
    return f"{ms / 3_600_000:,.0f} h" if ms >= 36_000_000 else str(duration(ms))


def _change(now: int, before: int) -> str:
    if not before:
        return "first year here" if now else ""
    return f"{(now - before) / before:+.0%} vs a year earlier"


def review_svg(review: dict, listener: str) -> str:
    """The image of one review (``year_in_review``'s dict) for ``listener``."""
    totals, previous = review["totals"], review["previous"]["totals"]
    label = review["period"]["label"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)} in review">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{BACKGROUND}"/>',
        f'<rect x="0" y="0" width="{WIDTH}" height="12" fill="{ACCENT}"/>',
        _text(72, 130, f"{label} in review", 64, weight="bold"),
        _text(72, 185, _clip(listener, 40), 34, MUTED),
    ]
    cards = [
        (
            "Minutes",
            f"{totals['ms_played'] // 60_000:,}",
            _change(totals["ms_played"], previous["ms_played"]),
        ),
        ("Plays", f"{totals['plays']:,}", _change(totals["plays"], previous["plays"])),
        (
            "Longest streak",
            f"{review['longest_streak']['days']} days",
            f"{review['active_days']} days with music",
        ),
        (
            "Longest session",
            _hours(review["longest_session"]["length_ms"]) if review["longest_session"] else "–",
            f"{review['discoveries']['artists']:,} new artists",
        ),
    ]
    for index, (title, value, note) in enumerate(cards):
        x, y = 72 + (index % 2) * 480, 240 + (index // 2) * 190
        parts += [
            f'<rect x="{x}" y="{y}" width="456" height="166" rx="18" fill="{PANEL}"/>',
            _text(x + 28, y + 50, title, 28, MUTED),
            _text(x + 28, y + 112, value, 56, ACCENT, "bold"),
            _text(x + 28, y + 148, note, 22, MUTED),
        ]
    lists = [
        ("Top artists", [row["name"] or "?" for row in review["top_artists"]]),
        ("Top tracks", [row["name"] or "?" for row in review["top_tracks"]]),
    ]
    for column, (title, names) in enumerate(lists):
        x = 72 + column * 480
        parts.append(_text(x, 680, title, 34, TEXT, "bold"))
        if not names:
            parts.append(_text(x, 730, "No plays in this period", 26, MUTED))
        for rank, name in enumerate(names[:5], 1):
            y = 730 + (rank - 1) * 56
            parts += [
                _text(x, y, f"{rank}", 28, ACCENT, "bold"),
                _text(x + 44, y, _clip(name, 24), 28),
            ]
    facts = []
    if review["top_genres"]:
        facts.append(("Top genre", review["top_genres"][0]["genre"]))
    if review["top_month"]:
        facts.append(("Top month", review["top_month"]["key"]))
    if review["top_weekday"]:
        facts.append(("Favourite day", review["top_weekday"]["key"]))
    if review["favourite_hour"]:
        facts.append(("Favourite hour", f"{review['favourite_hour']['key']:02d}:00"))
    top_new = review["discoveries"]["top_artists"]
    if top_new:
        facts.append(("Top discovery", top_new[0]["name"] or "?"))
    for index, (title, value) in enumerate(facts):
        y = 1050 + index * 48
        parts += [_text(72, y, title, 26, MUTED), _text(400, y, _clip(value, 36), 26)]
    parts.append(_text(WIDTH - 72, HEIGHT - 40, "Spotify Tracker", 22, MUTED, anchor="end"))
    parts.append("</svg>")
    return "".join(parts)


# A drawing is ~100 kB: a few dozen per worker are the reviews being looked at and shared now.
DRAWN_PNGS = 32


@functools.lru_cache(maxsize=DRAWN_PNGS)
def review_png(svg: str) -> bytes:
    """The PNG rendering of :func:`review_svg`'s image (the same SVG: the same drawing, reused
    from the last :data:`DRAWN_PNGS`; the SVG is all the image depends on)."""
    import cairosvg  # here: the SVG and the pages need no libcairo

    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=WIDTH)
