"""bench/stats.py --small: the benchmark's own code runs end to end on both engines."""

from __future__ import annotations

import re
import subprocess
import sys

from settings import PROJECT_DIR


def test_bench_small_runs_and_reports_the_worst_p95():
    result = subprocess.run(
        [sys.executable, "bench/stats.py", "--small"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"worst p95 on PostgreSQL: \d+ ms", lines[-1]), lines[-5:]
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
