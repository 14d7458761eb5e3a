"""bench/stats.py --small: the benchmark's own code runs end to end on both engines."""

from __future__ import annotations

import re
import subprocess
import sys

from settings import PROJECT_DIR

ENGINES = ("sqlite", "postgresql")


def test_bench_small_runs_and_reports_the_worst_p95():
    result = subprocess.run(
        [sys.executable, "bench/stats.py", "--small"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,  # the end-to-end part times ~400 requests per engine and zone
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    # The last lines: the worst statistic p95, then the worst end-to-end p95, of each engine.
    for line, (label, engine) in zip(
        lines[-4:],
        [(label, engine) for label in ("statistic", "end-to-end") for engine in ENGINES],
        strict=True,
    ):
        assert re.fullmatch(rf"worst {label} p95 on {engine}: \d+ ms \(.+\)", line), lines[-5:]
    table = result.stdout
    for statistic in (
        "totals",
        "top_tracks",
        "top_artists",
        "top_albums",
        "top_genres",
        "unique_tracks",
        "unique_artists",
        "unique_albums",
        "listening_series",
        "hours_of_day",
        "weekday_hour",
        "taste_profile",
        "history",
        "track_detail",
        "artist_detail",
        "session_stats",
        "discovered",
        "year_in_review",
        "review_image",
        "streaks",
        "calendar",
        "discoveries_per_month",
        "rediscover",
        "album_detail",
        "weekly_chart",
        "chart_history",
        "top_with_movement",
        "affinity",
        "blend5",
        "listeners_track",
        "listeners_artist",
        "weekly_board",
        "totals excluded",
        "history excluded",
    ):
        assert re.search(rf"^{statistic}\s", table, re.MULTILINE), statistic
    assert re.search(r"weekly charts of the [\d,]+-play user built in [\d.]+ s", table)
    # Every measured cell has a p50/p95 for both engines and both zones.
    row = next(line for line in lines if line.startswith("top_artists") and " all " in line)
    assert len(re.findall(r"\d+\.\d/\d+\.\d", row)) == 4, row
    # End to end: every page and endpoint, after new plays and after midnight, on both engines
    # and zones; a page that takes a range once per range of the small run.
    for request, series in (
        ("flask GET /dashboard?range=7d", "e2e"),
        ("flask GET /dashboard?range=all", "e2e 0h"),
        ("flask GET /together/blend?", "e2e"),
        ("flask GET /story", "e2e 0h"),
        ("chalice GET /me/top/artists?range=7d", "e2e"),
        ("chalice GET /me/review?year=", "e2e 0h"),
        ("chalice GET /instance/weekly", "e2e"),
    ):
        row = next(
            line for line in lines if line.startswith(request) and re.search(rf"\s{series}\s", line)
        )
        assert len(re.findall(r"\d+\.\d/\d+\.\d", row)) == 4, row
