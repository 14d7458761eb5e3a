"""Every statistic Spotify Tracker shows: one function each, called by the pages and the API.

Each function takes a user id and a :class:`models.periods.Period` and aggregates in SQL.  Rows
are plain dicts with JSON-friendly values: datetimes are naive UTC (the caller localises them),
local buckets (days, months, hours) are in the period's time zone, and values Spotify does not
give a development-mode app (popularity, audio features) are None, never 0.

One module per family of statistics, all built on :mod:`models.stats.sources` (where the numbers
come from: summaries or raw plays, and what the families share):

- ``counts``: ``totals``; ``dashboard``: ``overview`` (the dashboard's totals and top lists, one
  pass per list and period);
- ``top``: ``top_tracks``, ``top_artists``, ``top_albums``, ``top_genres``, and ``ranked``
  (a page of one with the whole list's sums);
- ``unique``: ``unique_tracks``, ``unique_artists``, ``unique_albums`` (sortable, searchable);
- ``habits``: ``listening_series``, ``hours_of_day``, ``weekday_hour``;
- ``taste``: ``taste_profile``;
- ``plays``: ``history``;
- ``detail``: ``track_detail``, ``artist_detail``, ``album_detail``;
- ``charts``: ``weekly_chart``, ``chart_history``, ``top_with_movement`` (rank history).
- the listening story (docs/listening-story.md): ``sessions`` (``session_stats``), ``streaks``
  (``streaks``, ``calendar``), ``discoveries`` (``discoveries_per_month``, ``discovered``,
  ``rediscover``), ``review`` (``year_in_review``, over all the others).
- ``together``: listening together (shared profiles, affinity, blends, boards), imported as
  ``from models.stats import together``: each function there takes the viewer and applies
  ``models.accounts.sharing``'s rule of who may be seen.
- ``listening_context`` (export only): ``how_you_listen``, ``most_skipped_tracks``,
  ``most_skipped_artists``;
- ``podcasts`` (export only, never music): ``podcast_totals``, ``top_shows``,
  ``top_audiobooks``, ``finished_episodes``.
- ``genres``: ``genre_detail`` (the genre page; every genre statistic reads the one rule
  ``sources.shown_genres``); ``taste`` adds ``open_data.open_profile``.

The shells call them through this package (``from models import stats; stats.top_tracks(...)``),
which is why no module is named like a function: ``models.stats.totals`` is the function.
"""

from models.schema.tables import PROFILE_FEATURES
from models.stats.calendar_days import calendar, streaks
from models.stats.charts import (
    chart_history,
    charts_building,
    parse_week,
    ranked_with_movement,
    top_with_movement,
    weekly_chart,
    with_movement,
)
from models.stats.counts import totals
from models.stats.dashboard import overview, totals_of
from models.stats.detail import album_detail, artist_detail, track_detail
from models.stats.discoveries import discovered, discoveries_per_month, rediscover
from models.stats.genres import GENRE_SOURCES, genre_detail
from models.stats.habits import hours_of_day, listening_series, weekday_hour
from models.stats.listening_context import (
    EXPORT_DEFAULT_RANGE,
    how_you_listen,
    most_skipped_artists,
    most_skipped_tracks,
)
from models.stats.plays import history
from models.stats.podcasts import finished_episodes, podcast_totals, top_audiobooks, top_shows
from models.stats.review import review_period, year_before, year_in_review, year_period
from models.stats.sessions import session_stats
from models.stats.sources import SORT_KEYS, Page, from_raw_plays
from models.stats.taste import taste_profile
from models.stats.top import (
    TOP_KINDS,
    Ranked,
    ranked,
    top_albums,
    top_artists,
    top_genres,
    top_tracks,
)
from models.stats.unique import unique_albums, unique_artists, unique_tracks

__all__ = [
    "EXPORT_DEFAULT_RANGE",
    "GENRE_SOURCES",
    "PROFILE_FEATURES",
    "SORT_KEYS",
    "TOP_KINDS",
    "Page",
    "Ranked",
    "album_detail",
    "artist_detail",
    "calendar",
    "chart_history",
    "charts_building",
    "discovered",
    "discoveries_per_month",
    "finished_episodes",
    "from_raw_plays",
    "genre_detail",
    "history",
    "hours_of_day",
    "how_you_listen",
    "listening_series",
    "most_skipped_artists",
    "most_skipped_tracks",
    "overview",
    "parse_week",
    "podcast_totals",
    "ranked",
    "ranked_with_movement",
    "rediscover",
    "review_period",
    "session_stats",
    "streaks",
    "taste_profile",
    "top_albums",
    "top_artists",
    "top_audiobooks",
    "top_genres",
    "top_shows",
    "top_tracks",
    "top_with_movement",
    "totals",
    "totals_of",
    "track_detail",
    "unique_albums",
    "unique_artists",
    "unique_tracks",
    "weekday_hour",
    "weekly_chart",
    "with_movement",
    "year_before",
    "year_in_review",
    "year_period",
]
