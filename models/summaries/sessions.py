"""Listening sessions, kept in step with the plays (``ListeningSession`` rows).

A session is a run of consecutive plays of one user in which each play starts less than
:data:`SESSION_GAP` (20 minutes) after the previous play ended (its start plus ``ms_played``);
docs/listening-story.md states the rule.  Instants count in whole milliseconds (Spotify's
resolution), so both engines and the tests' rebuild in Python draw the same boundaries.

One set-based statement (:func:`_insert_sessions`: window functions over the plays, both
engines) builds the sessions of a stretch of plays.  :func:`rebuild_sessions` runs it over all
of a user's plays (the backlog job, bulk loads, story-b's exclusion rebuild);
:func:`record_plays` runs it, in ``store_plays``'s transaction, over the smallest stretch that
new plays can change: the stored sessions around them and every play they hold.  A late older
play can so join a session, merge two, or start its own, anywhere in time.  Every reader of
the plays goes through :func:`session_plays`, the one place to filter which plays count.
"""

from __future__ import annotations

import datetime as dt

from peewee import SQL, Cast, NodeList, fn

from models.schema.db import db, is_postgresql
from models.schema.tables import ListeningSession, Play, SessionBacklog
from models.summaries import exclusions
from models.summaries.listening import lock_user

SESSION_GAP = dt.timedelta(minutes=20)
_GAP_MS = SESSION_GAP // dt.timedelta(milliseconds=1)


def session_plays(user_id: int):
    """The plays sessions are made of: a user's music plays (podcasts and skips live in their
    own tables), less the artists and tracks the user excludes from their statistics."""
    query = Play.select().where(Play.user == user_id)
    if exclusions.has_exclusions(user_id):
        query = query.where(exclusions.kept_plays(user_id))
    return query


def epoch_ms(field):
    """SQL for an instant column as whole milliseconds since 1970 (truncated), both engines."""
    if is_postgresql():
        epoch = NodeList((SQL("EXTRACT(EPOCH FROM"), field, SQL(")")), glue=" ")
        return Cast(fn.floor(epoch * 1000), "bigint")
    # SQLite stores 'YYYY-MM-DD HH:MM:SS[.ffffff]': whole seconds, then the first 3 digits
    return Cast(fn.strftime("%s", field), "INTEGER") * 1000 + Cast(
        fn.substr(field, 21, 3), "INTEGER"
    )


def _insert_sessions(user_id: int, lo: dt.datetime | None = None, hi: dt.datetime | None = None):
    """Insert the sessions of the user's plays with ``lo <= played_at <= hi`` (all if None),
    the first of them opening a session: the caller makes sure a session starts there."""
    plays = session_plays(user_id).select(
        Play.played_at.alias("played_at"),
        Play.ms_played.alias("ms_played"),
        epoch_ms(Play.played_at).alias("start_ms"),
    )
    if lo is not None and hi is not None:
        plays = plays.where((Play.played_at >= lo) & (Play.played_at <= hi))
    sql, params = plays.sql()
    param = db.param
    db.execute_sql(
        f"WITH ordered AS ({sql}), "
        "marked AS (SELECT played_at, ms_played, start_ms, CASE WHEN start_ms - "
        f"LAG(start_ms + ms_played) OVER (ORDER BY played_at) < {_GAP_MS} THEN 0 ELSE 1 END "
        "AS opens FROM ordered), "
        "numbered AS (SELECT played_at, ms_played, start_ms, SUM(opens) OVER (ORDER BY "
        "played_at ROWS UNBOUNDED PRECEDING) AS session FROM marked) "
        "INSERT INTO listening_session (user_id, started_at, last_played_at, length_ms, plays, "
        f"ms_played) SELECT {param}, MIN(played_at), MAX(played_at), "
        "MAX(start_ms + ms_played) - MIN(start_ms), COUNT(*), SUM(ms_played) "
        "FROM numbered GROUP BY session",
        [*params, user_id],
    )


def sessions_pending(user_id: int) -> bool:
    """True while the user's sessions are still to be built from plays stored before them."""
    return SessionBacklog.select().where(SessionBacklog.user == user_id).exists()


def rebuild_sessions(user_id: int) -> None:
    """Recompute every session of one user from the raw plays, in one transaction, and take
    the user off the backlog.  Holds the user's write lock (``lock_user``) so no
    ``store_plays`` interleaves."""
    with db.atomic():
        lock_user(user_id)
        ListeningSession.delete().where(ListeningSession.user == user_id).execute()
        _insert_sessions(user_id)
        SessionBacklog.delete().where(SessionBacklog.user == user_id).execute()


def _session_at(user_id: int, instant: dt.datetime, after: bool):
    """(started_at, last_played_at) of the latest session starting at or before ``instant``,
    or with ``after`` the first starting after it; None if there is none."""
    mine = ListeningSession.user == user_id
    if after:
        where, order = mine & (ListeningSession.started_at > instant), ListeningSession.started_at
    else:
        where = mine & (ListeningSession.started_at <= instant)
        order = ListeningSession.started_at.desc()
    return (
        ListeningSession.select(ListeningSession.started_at, ListeningSession.last_played_at)
        .where(where)
        .order_by(order)
        .limit(1)
        .tuples()
        .first()
    )


def record_plays(user_id: int, first: dt.datetime, last: dt.datetime) -> None:
    """Bring the sessions up to date with new plays (already inserted) between ``first`` and
    ``last``; call inside the transaction of ``store_plays``, which holds the user's lock.

    Only sessions within one gap of a new play can change: the one that starts at or before
    ``first``, those starting up to ``last`` and the one after.  Their plays and the new ones
    form a stretch that begins and ends at a session boundary nothing new crosses, so
    rebuilding that stretch alone gives what a rebuild of everything would.
    """
    if sessions_pending(user_id):
        return  # the backlog job builds them all, new plays included
    lo, hi = first, last
    before = _session_at(user_id, first, after=False)
    if before is not None:
        lo = min(lo, before[0])
    for found in (_session_at(user_id, last, after=False), _session_at(user_id, last, True)):
        if found is not None:
            hi = max(hi, found[1])
    ListeningSession.delete().where(
        (ListeningSession.user == user_id)
        & (ListeningSession.started_at >= lo)
        & (ListeningSession.started_at <= hi)
    ).execute()
    _insert_sessions(user_id, lo, hi)
