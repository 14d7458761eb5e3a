"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, readable offline.

Each function takes plain numbers and returns ``Markup``.  Colours come from classes styled in
``static/style.css`` (CSP allows the stylesheet, not inline styles); only per-element amounts
(positions, the heat of a cell) are SVG presentation attributes.  Every bar and cell carries a
``<title>``, which browsers show as a tooltip and screen readers read out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_BAR_WIDTH = 56


def _svg(width: int, height: int, label: str, body: list[str], css: str = "chart") -> Markup:
    return Markup(
        f'<svg class="{css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>"
    )


def _empty_note(width: int, height: int, text: str) -> str:
    """The words in the middle of a chart with nothing to draw."""
    return (
        f'<text class="empty" x="{width / 2}" y="{height / 2}" '
        f'text-anchor="middle">{escape(text)}</text>'
    )


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    points: Sequence[tuple[str, float]],
    *,
    label: str,
    describe: Callable[[float], str] = "{:g}".format,
    axis: Callable[[float], str] | None = None,
    width: int = 720,
    height: int = 220,
) -> Markup:
    """Vertical bars, one per ``(x label, value)``, in order (a time series).

    ``describe`` words a value for tooltips; ``axis`` (default ``describe``) for the short
    y-axis labels.
    """
    axis = axis or describe
    left, bottom, top = 60, 28, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max((value for _, value in points), default=0))
    body = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}"/>'
    ]
    for fraction in (0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        body.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 8}" '
            f'y2="{y:.1f}"/><text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(axis(peak * fraction))}</text>'
        )
    count = max(len(points), 1)
    slot = plot_w / count
    every = max(1, round(count / 8))  # at most ~8 x labels, whatever the period
    for index, (x_label, value) in enumerate(points):
        bar_h = plot_h * (value / peak) if peak else 0
        bar_w = max(min(slot * 0.76, MAX_BAR_WIDTH), 1)  # a lone month is a bar, not a wall
        x = left + index * slot + (slot - bar_w) / 2
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{bar_w:.1f}" height="{bar_h:.1f}">'
            f"<title>{escape(x_label)}: {escape(describe(value))}</title></rect>"
        )
        if index % every == 0:
            body.append(
                f'<text class="tick" x="{left + (index + 0.5) * slot:.1f}" '
                f'y="{height - 8}" text-anchor="middle">{escape(x_label)}</text>'
            )
    if not points:
        body.append(_empty_note(width, height, "No plays in this period"))
    return _svg(width, height, label, body)


def heatmap(matrix: Sequence[Sequence[int]], *, label: str) -> Markup:
    """Weekday × hour play counts (7 rows, Monday first, of 24 columns) as shaded cells."""
    cell, left, top = 26, 40, 18
    width, height = left + 24 * cell + 4, top + 7 * cell + 4
    peak = max((count for row in matrix for count in row), default=0)
    body = []
    for hour in range(0, 24, 3):
        body.append(
            f'<text class="tick" x="{left + hour * cell + cell / 2}" y="12" '
            f'text-anchor="middle">{hour:02d}</text>'
        )
    for day, row in enumerate(matrix):
        y = top + day * cell
        body.append(
            f'<text class="tick" x="{left - 6}" y="{y + cell / 2 + 4}" '
            f'text-anchor="end">{WEEKDAYS[day]}</text>'
        )
        for hour, count in enumerate(row):
            heat = 0.08 + 0.92 * count / peak if peak and count else 0
            css = "cell" if count else "cell none"
            plural = "play" if count == 1 else "plays"
            body.append(
                f'<rect class="{css}" x="{left + hour * cell + 1}" y="{y + 1}" '
                f'width="{cell - 2}" height="{cell - 2}" rx="3" '
                f'fill-opacity="{heat:.2f}"><title>{WEEKDAYS[day]} '
                f"{hour:02d}:00: {count} {plural}</title></rect>"
            )
    return _svg(width, height, label, body, css="chart heatmap")


def hbar_chart(
    items: Sequence[tuple[str, float, str]],
    *,
    label: str,
    maximum: float | None = None,
    width: int = 460,
) -> Markup:
    """Horizontal bars for ``(name, value, shown text)``, scaled to ``maximum`` (default the
    largest value): audio features on 0–1, genre shares."""
    row, left, right = 26, 140, 52
    height = max(len(items), 1) * row + 6
    peak = maximum or max((value for _, value, _ in items), default=0) or 1
    body = []
    for index, (name, value, shown) in enumerate(items):
        y = 3 + index * row
        bar_w = (width - left - right) * max(0.0, min(value / peak, 1.0))
        body.append(
            f'<text class="tick name" x="{left - 8}" y="{y + row / 2 + 4}" '
            f'text-anchor="end">{escape(name)}</text>'
            f'<rect class="track-bg" x="{left}" y="{y + 4}" width="{width - left - right}"'
            f' height="{row - 8}" rx="4"/>'
            f'<rect class="bar" x="{left}" y="{y + 4}" width="{bar_w:.1f}" '
            f'height="{row - 8}" rx="4"><title>{escape(name)}: {escape(shown)}</title>'
            f'</rect><text class="tick" x="{width - right + 8}" y="{y + row / 2 + 4}">'
            f"{escape(shown)}</text>"
        )
    return _svg(width, height, label, body, css="chart hbar")


def rank_chart(
    points: Sequence[tuple[int, str, int]],
    *,
    label: str,
    size: int,
    span: int,
    width: int = 720,
    height: int = 200,
) -> Markup:
    """Chart positions over time: ``(week index, week label, position)`` for the charted weeks
    of ``span`` weeks in all, position 1 at the top and ``size`` at the bottom; a line joins
    consecutive weeks and breaks where the item left the chart."""
    left, bottom, top = 36, 28, 10
    plot_w, plot_h = width - left - 12, height - bottom - top
    slot = plot_w / max(span, 1)

    def x_of(index: int) -> float:
        return left + (index + 0.5) * slot

    def y_of(position: int) -> float:
        return top + plot_h * (position - 1) / max(size - 1, 1)

    body = []
    for position in sorted({1, (size + 1) // 2, size}):
        y = y_of(position)
        body.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">#{position}</text>'
        )
    runs: list[list[tuple[float, float]]] = []
    previous = None
    for index, _, position in points:
        if previous is None or index != previous + 1:
            runs.append([])
        runs[-1].append((x_of(index), y_of(position)))
        previous = index
    for run in runs:
        if len(run) > 1:
            coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            body.append(f'<polyline class="rank-line" points="{coordinates}"/>')
    for index, week_label, position in points:
        body.append(
            f'<circle class="rank-dot" cx="{x_of(index):.1f}" cy="{y_of(position):.1f}" r="3">'
            f"<title>Week of {escape(week_label)}: #{position}</title></circle>"
        )
    labelled = {points[0][0]: points[0][1], points[-1][0]: points[-1][1]} if points else {}
    for index, week_label in labelled.items():
        body.append(
            f'<text class="tick" x="{x_of(index):.1f}" y="{height - 8}" '
            f'text-anchor="middle">{escape(week_label)}</text>'
        )
    if not points:
        body.append(_empty_note(width, height, "Not in a weekly chart yet"))
    return _svg(width, height, label, body)
