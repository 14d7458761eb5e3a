"""The server-drawn SVG charts: values become proportional shapes, and text is escaped."""

from __future__ import annotations

import re

from web import charts


def heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]


def test_bars_are_proportional_and_the_axis_is_round():
    svg = str(charts.bar_chart([("Mon", 10), ("Tue", 40), ("Wed", 0)], label="Plays"))
    tall, short, empty = heights(svg)[1], heights(svg)[0], heights(svg)[2]
    assert abs(short / tall - 0.25) < 0.01 and empty == 0
    assert ">50<" in svg and ">25<" in svg  # 40 rounds up to a 50 axis
    assert "<title>Tue: 40</title>" in svg


def test_an_empty_series_says_so():
    assert "No plays in this period" in charts.bar_chart([], label="Plays")


def test_heatmap_has_a_cell_per_weekday_hour_shaded_by_count():
    matrix = [[0] * 24 for _ in range(7)]
    matrix[0][9], matrix[6][23] = 4, 2
    svg = str(charts.heatmap(matrix, label="When"))
    cells = re.findall(
        r'<rect class="(cell[^"]*)"[^>]*fill-opacity="([\d.]+)"><title>([^<]+)<', svg
    )
    assert len(cells) == 168
    shaded = {title: float(opacity) for css, opacity, title in cells if css == "cell"}
    assert shaded == {"Mon 09:00: 4 plays": 1.0, "Sun 23:00: 2 plays": 0.54}


def test_labels_are_escaped():
    svg = str(
        charts.hbar_chart([("<script>alert(1)</script>", 0.5, "50%")], label="x & y", maximum=1.0)
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="x &amp; y"' in svg
    bar = re.search(r'<rect class="bar"[^>]* width="([\d.]+)"', svg)
    background = re.search(r'<rect class="track-bg"[^>]* width="([\d.]+)"', svg)
    assert abs(float(bar.group(1)) / float(background.group(1)) - 0.5) < 0.01


def test_bucket_labels_read_as_days_weeks_and_months():
    from web.stats import bucket_label

    assert bucket_label("2026-11-05", "day") == "5 Nov"
    assert bucket_label("2026-11-02", "week") == "wk 2 Nov"
    assert bucket_label("2026-11-01", "month") == "Nov 2026"
