"""Podcasts and audiobooks: their own listening, from privacy exports only.

Spotify's recently-played list gives music only, so every episode and chapter stream here came
from an imported export (extended entries with episode or audiobook fields, account data's
``StreamingHistory_podcast_N.json``); ``coverage`` says which local days of the period hold any.
None of it is in the music statistics, and none of these functions reads a music table.

- **Top shows** and **top audiobooks**: by listening time (the minutes per show), with their
  streams and how many different episodes (chapters) were played;
- **Episodes played to the end**: extended entries whose ``reason_end`` is ``trackdone``
  (account-data files give no reason, so their episodes never count as finished);
- every figure over a period (``models.periods``), streams of any length counted (an episode
  is not a song: 20 s of it is still listening to it).
"""

from __future__ import annotations

import datetime as dt

from peewee import SQL, Case, fn

from models.periods import Period, local_date
from models.schema.tables import Audiobook, Chapter, ChapterPlay, Episode, EpisodePlay, Show
from models.stats.sources import as_datetime, as_int, check_page, statistic

FINISHED = "trackdone"  # Spotify's reason_end for a stream that played to its end


def _within(model, user_id: int, period: Period):
    where = (model.user == user_id) & (model.played_at < period.end)
    if period.start is not None:
        where &= model.played_at >= period.start
    return where


def _finished(model, item):
    """COUNT(DISTINCT item) over the streams that played to the end."""
    return fn.COUNT(Case(None, [(model.reason_end == FINISHED, item)], None).distinct())


@statistic
def podcast_totals(user_id: int, period: Period) -> dict:
    """``{coverage, episodes: {streams, ms_played, shows, episodes, finished}, audiobooks:
    {streams, ms_played, books, chapters, finished}}``; ``coverage`` (first and last local day with
    a stream) is None when no export brought any of the period."""
    result: dict = {"coverage": None}
    bounds: list[dt.datetime] = []
    for kind, play, item, parent in (
        ("episodes", EpisodePlay, EpisodePlay.episode, Episode.show),
        ("audiobooks", ChapterPlay, ChapterPlay.chapter, Chapter.audiobook),
    ):
        joined = Episode if play is EpisodePlay else Chapter
        row = (
            play.select(
                fn.COUNT(SQL("*")),
                fn.SUM(play.ms_played),
                fn.COUNT(parent.distinct()),
                fn.COUNT(item.distinct()),
                _finished(play, item),
                fn.MIN(play.played_at),
                fn.MAX(play.played_at),
            )
            .join(joined)
            .where(_within(play, user_id, period))
            .tuples()
            .get()
        )
        streams, ms, parents, items, finished, first, last = row
        result[kind] = {
            "streams": as_int(streams),
            "ms_played": as_int(ms),
            "shows" if kind == "episodes" else "books": as_int(parents),
            kind if kind == "episodes" else "chapters": as_int(items),
            "finished": as_int(finished),
        }
        bounds += [moment for moment in (as_datetime(first), as_datetime(last)) if moment]
    if bounds:
        result["coverage"] = {
            "first_day": local_date(min(bounds), period.tz),
            "last_day": local_date(max(bounds), period.tz),
        }
    return result


def _top(play, joined, parent_model, user_id, period, limit, offset, key, items_key):
    item = play.episode if play is EpisodePlay else play.chapter
    parent = joined.show if joined is Episode else joined.audiobook
    ms = fn.SUM(play.ms_played)
    rows = (
        play.select(
            parent_model.id,
            parent_model.name,
            fn.COUNT(SQL("*")),
            ms,
            fn.COUNT(item.distinct()),
            _finished(play, item),
        )
        .join(joined)
        .join(parent_model, on=(parent_model.id == parent))
        .where(_within(play, user_id, period))
        .group_by(parent_model.id, parent_model.name)
        .order_by(ms.desc(), parent_model.name, parent_model.id)
        .limit(limit)
        .offset(offset)
        .tuples()
    )
    return [
        {
            key: row_id,
            "name": name,
            "streams": as_int(streams),
            "ms_played": as_int(total),
            items_key: as_int(items),
            f"{items_key}_finished": as_int(finished),
        }
        for row_id, name, streams, total, items, finished in rows
    ]


@statistic
def top_shows(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Shows by listening time: ``{show_id, name, streams, ms_played, episodes,
    episodes_finished}``, most listened first."""
    check_page(limit, offset)
    return _top(EpisodePlay, Episode, Show, user_id, period, limit, offset, "show_id", "episodes")


@statistic
def top_audiobooks(user_id: int, period: Period, limit: int = 10, offset: int = 0) -> list[dict]:
    """Audiobooks by listening time: ``{audiobook_id, name, streams, ms_played, chapters,
    chapters_finished}``, most listened first."""
    check_page(limit, offset)
    return _top(
        ChapterPlay, Chapter, Audiobook, user_id, period, limit, offset, "audiobook_id", "chapters"
    )


@statistic
def finished_episodes(user_id: int, period: Period, limit: int = 20, offset: int = 0) -> list[dict]:
    """Episodes played to the end (``reason_end`` ``trackdone``): ``{episode_id, name,
    show_id, show_name, times, last_finished_at}``, most recently finished first."""
    check_page(limit, offset)
    last = fn.MAX(EpisodePlay.played_at)
    rows = (
        EpisodePlay.select(Episode.id, Episode.name, Show.id, Show.name, fn.COUNT(SQL("*")), last)
        .join(Episode)
        .join(Show)
        .where(_within(EpisodePlay, user_id, period) & (EpisodePlay.reason_end == FINISHED))
        .group_by(Episode.id, Episode.name, Show.id, Show.name)
        .order_by(last.desc(), Episode.id)
        .limit(limit)
        .offset(offset)
        .tuples()
    )
    return [
        {
            "episode_id": episode_id,
            "name": name,
            "show_id": show_id,
            "show_name": show_name,
            "times": as_int(times),
            "last_finished_at": as_datetime(at),
        }
        for episode_id, name, show_id, show_name, times, at in rows
    ]
