"""Every statistic Spotify Tracker shows: one function each, called by the pages and the API.

Each function takes a user id and a :class:`models.periods.Period` and aggregates in SQL.  Rows
are plain dicts with JSON-friendly values: datetimes are naive UTC (the caller localises them),
local buckets (days, months, hours) are in the period's time zone, and values Spotify does not
give a development-mode app (popularity, audio features) are None, never 0.

One module per family of statistics, all built on :mod:`models.stats.sources` (where the numbers
come from: summaries or raw plays, and what the families share):

- ``counts``: ``totals``;
- ``top``: ``top_tracks``, ``top_artists``, ``top_albums``, ``top_genres``;
- ``unique``: ``unique_tracks``, ``unique_artists``, ``unique_albums`` (sortable, searchable);
- ``habits``: ``listening_series``, ``hours_of_day``, ``weekday_hour``;
- ``taste``: ``taste_profile``;
- ``plays``: ``history``;
- ``detail``: ``track_detail``, ``artist_detail``;
- ``genres``: ``genre_detail`` (the genre page; every genre statistic reads the one rule
  ``sources.shown_genres``); ``taste`` adds ``open_data.open_profile``.

The shells call them through this package (``from models import stats; stats.top_tracks(...)``),
which is why no module is named like a function: ``models.stats.totals`` is the function.
"""

from models.schema.tables import PROFILE_FEATURES
from models.stats.counts import totals
from models.stats.detail import artist_detail, track_detail
from models.stats.genres import GENRE_SOURCES, genre_detail
from models.stats.habits import hours_of_day, listening_series, weekday_hour
from models.stats.plays import history
from models.stats.sources import SORT_KEYS, Page, from_raw_plays
from models.stats.taste import taste_profile
from models.stats.top import top_albums, top_artists, top_genres, top_tracks
from models.stats.unique import unique_albums, unique_artists, unique_tracks

__all__ = [
    "GENRE_SOURCES",
    "PROFILE_FEATURES",
    "SORT_KEYS",
    "Page",
    "artist_detail",
    "from_raw_plays",
    "genre_detail",
    "history",
    "hours_of_day",
    "listening_series",
    "taste_profile",
    "top_albums",
    "top_artists",
    "top_genres",
    "top_tracks",
    "totals",
    "track_detail",
    "unique_albums",
    "unique_artists",
    "unique_tracks",
    "weekday_hour",
]
