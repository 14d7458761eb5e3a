"""Helpers of the listening-story tests: the definitions rebuilt in Python from the raw plays."""

from __future__ import annotations

import datetime as dt

from models.schema.tables import Play
from models.summaries.sessions import SESSION_GAP

EPOCH = dt.datetime(1970, 1, 1)
MS = dt.timedelta(milliseconds=1)


def sessions_from_raw_plays(user_id: int) -> list[tuple]:
    """The sessions by the definition, in Python: (started_at, last_played_at, length_ms,
    plays, ms_played), oldest first."""
    found: list[list] = []
    previous_end = None
    for played_at, ms in (
        Play.select(Play.played_at, Play.ms_played)
        .where(Play.user == user_id)
        .order_by(Play.played_at)
        .tuples()
    ):
        start = (played_at - EPOCH) // MS
        if previous_end is None or start - previous_end >= SESSION_GAP // MS:
            found.append([played_at, played_at, start, start + ms, 0, 0])
        session = found[-1]
        session[1] = played_at
        session[3] = max(session[3], start + ms)
        session[4] += 1
        session[5] += ms
        previous_end = start + ms
    return [(first, last, end - start, n, ms) for first, last, start, end, n, ms in found]


def local_days_from_raw_plays(user_id: int, tz: str) -> dict[dt.date, list[int]]:
    """{local day: [plays, ms_played]} counted in Python from the raw plays."""
    from models.periods import local_date

    days: dict[dt.date, list[int]] = {}
    for played_at, ms in (
        Play.select(Play.played_at, Play.ms_played).where(Play.user == user_id).tuples()
    ):
        cell = days.setdefault(local_date(played_at, tz), [0, 0])
        cell[0] += 1
        cell[1] += ms
    return days


def first_plays_from_raw_plays(user_id: int) -> tuple[dict, dict]:
    """({track_id: first played_at}, {artist_id: first played_at}) from the raw plays."""
    from models.schema.tables import TrackArtist

    tracks: dict = {}
    for track_id, played_at in (
        Play.select(Play.track, Play.played_at).where(Play.user == user_id).tuples()
    ):
        if track_id not in tracks or played_at < tracks[track_id]:
            tracks[track_id] = played_at
    artists: dict = {}
    for track_id, artist_id in TrackArtist.select(TrackArtist.track, TrackArtist.artist).tuples():
        if track_id in tracks and (
            artist_id not in artists or tracks[track_id] < artists[artist_id]
        ):
            artists[artist_id] = tracks[track_id]
    return tracks, artists


def longest_run_from_days(days) -> dict:
    """The longest run of consecutive days (the earliest of equal ones), counted by hand."""
    best = {"days": 0, "first": None, "last": None}
    ordered = sorted(days)
    for i, day in enumerate(ordered):
        if i and ordered[i - 1] == day - dt.timedelta(days=1):
            continue  # not the start of a run
        length = 1
        while day + dt.timedelta(days=length) in days:
            length += 1
        if length > best["days"]:
            best = {"days": length, "first": day, "last": day + dt.timedelta(days=length - 1)}
    return best


def _artist_plays(user_id: int):
    from models.schema.tables import TrackArtist

    credits: dict = {}
    for track_id, artist_id in TrackArtist.select(TrackArtist.track, TrackArtist.artist).tuples():
        credits.setdefault(track_id, []).append(artist_id)
    query = Play.select(Play.track, Play.played_at, Play.ms_played).where(Play.user == user_id)
    for track_id, played_at, ms in query.tuples():
        for artist_id in credits.get(track_id, []):
            yield artist_id, played_at, ms


def artist_year_sums(user_id: int, tz: str, year: int) -> dict:
    """{artist_id: [plays, ms_played]} of one local calendar year, from the raw plays."""
    from models.periods import local_date

    sums: dict = {}
    for artist_id, played_at, ms in _artist_plays(user_id):
        if local_date(played_at, tz).year == year:
            cell = sums.setdefault(artist_id, [0, 0])
            cell[0] += 1
            cell[1] += ms
    return sums


def last_artist_plays(user_id: int) -> dict:
    """{artist_id: last played_at} from the raw plays."""
    last: dict = {}
    for artist_id, played_at, _ in _artist_plays(user_id):
        last[artist_id] = max(last.get(artist_id, played_at), played_at)
    return last


def all_play_instants(user_id: int) -> list[dt.datetime]:
    return [at for (at,) in Play.select(Play.played_at).where(Play.user == user_id).tuples()]
