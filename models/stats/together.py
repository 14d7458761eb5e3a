"""Listening together: shared profiles, affinity, blends and the instance's boards.

Every function here takes the *viewer* and the listeners asked about, and answers only about
listeners who share (``models.accounts.sharing.visible_ids``): an unknown and a private
listener raise the same :class:`NotShared`, so no page, endpoint or count can tell them
apart.  Periods are read in the viewer's time zone (a public link passes its owner as viewer),
and only over periods every listener involved chose to share.

The comparisons rest on one query shape: each listener's per-track or per-artist rows of the
period (``models.stats.sources``: summaries where they answer), computed once per query as a
materialised CTE (:func:`_per_item`), each row with its **share**, the part of that listener's
plays it holds (for artists: of their artist credits, so a listener's shares add up to 1).
What two listeners share is the join of their rows; what one played alone, their rows without
a match in the other's.  From it:

- **affinity** of two listeners = 100 × (0.6 × artist overlap + 0.4 × track overlap), where the
  overlap of a kind is Σ min(share of you, share of them) over the items both played: 1 when two
  listeners divide their listening the same way, 0 when they share nothing (docs/sharing.md);
- a **blend** ranks the items every member played by the average of their shares (``average``)
  or by the smallest (``least``: what the least keen member still gives it).
"""

from __future__ import annotations

import functools
import operator

from peewee import SQL, Select, Value, fn

from models.accounts import sharing
from models.periods import RANGE_KEYS, RANGE_LABELS, Period, PeriodError, parse_period
from models.schema.db import db, is_postgresql
from models.schema.tables import Artist, Track, User
from models.stats.counts import totals
from models.stats.sources import (
    Plan,
    artist_base,
    artist_totals,
    as_int,
    per_track,
    plan_for,
    play_total,
    select_from,
    shown_genres,
    statistic,
    track_base,
    with_catalogue,
    with_track_artists,
)
from models.stats.top import top_albums, top_artists, top_genres, top_tracks

ARTIST_WEIGHT, TRACK_WEIGHT = 0.6, 0.4
BLEND_MODES = ("average", "least")
MAX_BLEND = 5  # members, the viewer included
LIST_SIZE = 10


class NotShared(LookupError):
    """No such listener among those who share (unknown, private, or the admin)."""


class NotOptedIn(PermissionError):
    """The viewer compares only once they share too (affinity and blends are mutual)."""


# --- who and when ------------------------------------------------------------------------------


def shared_listener(listener_id) -> User:
    listener = sharing.visible_listener(listener_id)
    if listener is None:
        raise NotShared("no such listener")
    return listener


def common_periods(user_ids) -> tuple[str, ...]:
    """The range keys every one of ``user_ids`` chose to share, in ``RANGE_KEYS`` order."""
    chosen = [set(sharing.settings_of(user_id).choice.periods) for user_id in user_ids]
    both = functools.reduce(set.__and__, chosen) if chosen else set()
    return tuple(key for key in RANGE_KEYS if key in both)


def period_among(allowed: tuple[str, ...], range_key: str | None, tz: str) -> Period:
    """``range_key`` (default: the first allowed) as a period of ``tz``; a key outside
    ``allowed`` is a :class:`models.accounts.sharing.SharingError` naming ``range``."""
    if not allowed:
        raise sharing.SharingError("range", "these listeners share no period in common")
    key = range_key or allowed[0]
    if key not in allowed:
        labels = ", ".join(f"{k} ({RANGE_LABELS[k]})" for k in allowed)
        raise sharing.SharingError("range", f"not shared: choose one of {labels}")
    return parse_period(key, tz=tz)


def _viewer_shares(viewer: User) -> None:
    if viewer.is_admin or viewer.id not in sharing.visible_ids([viewer.id]):
        raise NotOptedIn("share your own listening first (account page) to compare")


def _who(user: User) -> dict:
    return {"id": user.id, "name": str(user), "image_url": user.image_url}


# --- a shared profile --------------------------------------------------------------------------


def profile_of(owner: User, period: Period, sections, limit: int = LIST_SIZE) -> dict:
    """The chosen ``sections`` of ``owner``'s period: totals and top lists, nothing else."""
    result: dict = {"listener": _who(owner), "period": period, "sections": list(sections)}
    lists = {
        "totals": lambda: totals(owner.id, period),
        "artists": lambda: top_artists(owner.id, period, limit=limit),
        "tracks": lambda: top_tracks(owner.id, period, limit=limit),
        "albums": lambda: top_albums(owner.id, period, limit=limit),
        "genres": lambda: top_genres(owner.id, period, limit=limit),
    }
    for name in sections:
        result[name] = lists[name]()
    return result


def listener_profile(viewer: User, listener_id, range_key: str | None = None) -> dict:
    """What ``viewer`` may see of a listener who shares: their chosen periods and sections,
    over ``range_key`` in the viewer's zone (:class:`NotShared` for anyone else)."""
    owner = shared_listener(listener_id)
    chosen = sharing.settings_of(owner.id).choice
    period = period_among(chosen.periods, range_key, viewer.timezone or "UTC")
    return {**profile_of(owner, period, chosen.sections), "periods": list(chosen.periods)}


def public_profile(link, range_key: str | None = None) -> dict:
    """A public link's profile, in its owner's zone, showing only what the link was made with."""
    chosen = sharing.link_choice(link)
    owner = link.user
    period = period_among(chosen.periods, range_key, owner.timezone or "UTC")
    return {**profile_of(owner, period, chosen.sections), "periods": list(chosen.periods)}


# --- each listener's rows and shares -----------------------------------------------------------


KEYS = {"track": "track_id", "artist": "artist_id"}
PARTS = ("shared", "only_first", "only_second", "genres")  # the parts of a comparison's rows


def _per_item(kind: str, plan: Plan, name: str):
    """CTE ``name``: one listener's rows of ``kind`` over the plan (``track_id`` or
    ``artist_id``, plays, ...), read as every statistic reads them (``per_track`` /
    ``artist_totals``: summaries where they answer, else the raw plays).

    A period's sums are materialised, so a comparison aggregates each listener once; the
    aggregate is the CTE itself, not a select over it, so SQLite expects its thousands of rows
    and joins them through an automatic index (wrapped, it expected a few and compared every
    pair).  All time is one summary's rows, already keyed by (user, item): inlined, a look-up
    of one item is a probe of that primary key instead of an index built over 50,000 rows.
    """
    rows = per_track(plan) if kind == "track" else artist_totals(plan)
    return rows.cte(name, materialized=not plan.all_time)


def _totals(members):
    """CTE ``totals``: one row, ``total_<m>`` the sum of member ``m``'s plays (the divisor of
    their shares), each summed once."""
    sums = [
        select_from([member], [fn.SUM(member.c.plays)]).alias(f"total_{m}")
        for m, member in enumerate(members)
    ]
    return Select(columns=sums).bind(db).cte("totals", materialized=True)


def _total(totals, member: int):
    """Member ``member``'s total as a scalar subquery, computed once per query.  Not a join:
    on PostgreSQL a cross join is a nested loop, which the long periods' ``enable_nestloop =
    off`` prices so high that the query is compiled by JIT (seconds, for a one-row join)."""
    return select_from([totals], [getattr(totals.c, f"total_{member}")])


def _share(plays, total):
    """A share: ``plays`` ÷ ``total`` in double precision on both engines (an exact quotient,
    as Python's ``/`` gives)."""
    return plays.cast("FLOAT") / total


def _smallest(values: list):
    """The smallest of SQL ``values``: ``LEAST`` on PostgreSQL, SQLite's many-argument ``MIN``."""
    return values[0] if len(values) == 1 else (fn.LEAST if is_postgresql() else fn.MIN)(*values)


def _by_id(column):
    """Ties broken by id in code-point order on both engines (Python's order of strings)."""
    return column.collate('"C"') if is_postgresql() else column


# The columns of a comparison's parts, with the type of their NULL where a part has none
# (PostgreSQL would type a bare NULL of a subquery as text, which no UNION matches with numbers).
PART_COLUMNS = {
    "item": "TEXT",
    "source": "TEXT",
    "plays_0": "BIGINT",
    "plays_1": "BIGINT",
    "share_0": "FLOAT",
    "share_1": "FLOAT",
    "overlap": "FLOAT",
}


def _part(number: int, source, columns: dict, order: list):
    """One part of a comparison's ``UNION ALL``: ``(part, item, source, plays_0, plays_1,
    share_0, share_1, overlap)``, absent columns NULL, ranked by ``order``, at most a list."""
    ranked = select_from(
        [source],
        [
            Value(number).alias("part"),
            *[
                columns.get(name, SQL(f"CAST(NULL AS {kind})")).alias(name)
                for name, kind in PART_COLUMNS.items()
            ],
        ],
    )
    if order:
        ranked = ranked.order_by(*order).limit(LIST_SIZE)
    return select_from([ranked.alias(f"part_{number}")], [SQL("*")])


def _only(number: int, key: str, member, both, totals, position: int):
    """The items ``member`` played that are not among ``both`` (the items both listeners
    played, never more than the smaller one's): their top by plays, then their shares."""
    item = getattr(member.c, key)
    missing = select_from([both], [SQL("1")]).where(both.c.item == item)
    top = (
        select_from([member], [item.alias("item"), member.c.plays])
        .where(~fn.EXISTS(missing))
        .order_by(member.c.plays.desc(), _by_id(item))
        .limit(LIST_SIZE)
        .alias(f"only_{position}")
    )
    share = _share(top.c.plays, _total(totals, position))
    columns = {"item": top.c.item, f"plays_{position}": top.c.plays, f"share_{position}": share}
    return _part(number, top, columns, [])


def _shared_genres(first, second):
    """(source, genre) of the lead artists both listeners played, with each one's plays: a play
    counts for each genre of its track's lead artist, as in ``top_genres``."""
    stacked = (
        select_from(
            [first], [first.c.artist_id, first.c.lead_plays.alias("p0"), Value(0).alias("p1")]
        ).where(first.c.lead_plays > 0)
        + select_from(
            [second], [second.c.artist_id, Value(0).alias("p0"), second.c.lead_plays.alias("p1")]
        ).where(second.c.lead_plays > 0)
    ).alias("leads")
    shown = shown_genres()
    per_genre = (
        select_from(
            [stacked],
            [
                shown.c.genre,
                shown.c.source,
                fn.SUM(stacked.c.p0).alias("p0"),
                fn.SUM(stacked.c.p1).alias("p1"),
            ],
        )
        .join(shown, on=(shown.c.artist_id == stacked.c.artist_id))
        .group_by(shown.c.source, shown.c.genre)
        .having((fn.SUM(stacked.c.p0) > 0) & (fn.SUM(stacked.c.p1) > 0))
        .alias("per_genre")
    )
    columns = {"item": per_genre.c.genre, "source": per_genre.c.source}
    columns.update(plays_0=per_genre.c.p0, plays_1=per_genre.c.p1)
    return _part(PARTS.index("genres"), per_genre, columns, [])


def _compared(kind: str, plans) -> dict:
    """Two listeners' overlap of ``kind`` (Σ of the smaller share over the items both played)
    and their top shared, only-first and only-second items (for artists also the genres both
    played), in one query over each listener's rows, read once: ``both`` is the join of the
    two (ranked by the smaller share, the overlap summed over all of it); an "only" list is
    one listener's rows with no match in ``both``, which is never larger than the smaller
    listener's rows, so the larger listener's rows are scanned against a small index."""
    key = KEYS[kind]
    first, second = (_per_item(kind, plan, f"member_{m}") for m, plan in enumerate(plans))
    totals = _totals([first, second])
    both = (
        select_from(
            [first],
            [
                getattr(first.c, key).alias("item"),
                first.c.plays.alias("plays_0"),
                second.c.plays.alias("plays_1"),
                _share(first.c.plays, _total(totals, 0)).alias("share_0"),
                _share(second.c.plays, _total(totals, 1)).alias("share_1"),
            ],
        )
        .join(second, on=(getattr(second.c, key) == getattr(first.c, key)))
        .cte("both", materialized=True)
    )
    least = _smallest([both.c.share_0, both.c.share_1])
    columns = {name: getattr(both.c, name) for name in ("item", "plays_0", "plays_1")}
    columns.update(share_0=both.c.share_0, share_1=both.c.share_1)
    columns["overlap"] = fn.SUM(least).over()
    parts = [
        _part(PARTS.index("shared"), both, columns, [least.desc(), _by_id(both.c.item)]),
        _only(PARTS.index("only_first"), key, first, both, totals, 0),
        _only(PARTS.index("only_second"), key, second, both, totals, 1),
    ]
    if kind == "artist":
        parts.append(_shared_genres(first, second))
    query = functools.reduce(lambda a, b: a + b, parts).with_cte(first, second, totals, both)
    found: dict = {part: [] for part in PARTS}
    for row in query.dicts():
        found[PARTS[row["part"]]].append(row)
    return found


def _as_rows(key: str, rows, count: int, score=None) -> list[dict]:
    """Rows as ``{key, plays: [...], shares: [...], score}``, listeners in order, ranked by
    ``score(row)`` (else the query's ``score``) then id, as the query chose them."""
    shown = []
    for row in rows:
        item = {
            key: row["item"],
            "plays": [as_int(row[f"plays_{m}"]) for m in range(count)],
            "shares": [float(row[f"share_{m}"] or 0.0) for m in range(count)],
        }
        item["score"] = float(row["score"] if score is None else score(item))
        shown.append(item)
    shown.sort(key=lambda row: (-row["score"], row[key]))
    return shown


def _named(kind: str, rows: list[dict]) -> list[dict]:
    """``rows`` with the catalogue's names (and a track's artists), in two or three look-ups
    by primary key however many lists the rows come from."""
    key = KEYS[kind]
    model, base = (Track, track_base) if kind == "track" else (Artist, artist_base)
    found = with_catalogue([{key: row[key]} for row in rows], key, model, base)
    merged = [{**shown, **row} for shown, row in zip(found, rows, strict=True)]
    return with_track_artists(merged) if kind == "track" else merged


def _least(row) -> float:
    return min(row["shares"])


def _compared_lists(kind: str, found: dict) -> tuple[float, list[dict], list[dict], list[dict]]:
    """The overlap and the named shared / only-you / only-them lists of :func:`_compared`."""
    key = KEYS[kind]
    shared = found["shared"]
    overlap = float(shared[0]["overlap"] or 0.0) if shared else 0.0
    lists = [
        _as_rows(key, shared, 2, _least),
        _as_rows(key, found["only_first"], 2, lambda row: row["shares"][0]),
        _as_rows(key, found["only_second"], 2, lambda row: row["shares"][1]),
    ]
    named = _named(kind, [row for part in lists for row in part])
    sizes = [len(part) for part in lists]
    return (
        overlap,
        named[: sizes[0]],
        named[sizes[0] : sizes[0] + sizes[1]],
        named[sizes[0] + sizes[1] :],
    )


def _genre_lists(rows: list[dict], totals: list[int]) -> list[dict]:
    """Shared genres by the smaller share, a genre's share being its plays ÷ the listener's
    plays in the period (as ``top_genres`` gives it)."""
    shared = []
    for row in rows:
        plays = [as_int(row["plays_0"]), as_int(row["plays_1"])]
        shares = [p / total if total else 0.0 for p, total in zip(plays, totals, strict=True)]
        shared.append(
            {
                "genre": row["item"],
                "source": row["source"],
                "plays": plays,
                "shares": shares,
                "score": min(shares),
            }
        )
    shared.sort(key=lambda row: (-row["score"], row["genre"], row["source"]))
    return shared[:LIST_SIZE]


def _ranked(kind: str, plans, *, order: str, limit: int) -> list[dict]:
    """The items every listener played (the join of their rows), by the smallest share
    (``least``) or the average, each listener's rows read once."""
    members = [_per_item(kind, plan, f"member_{m}") for m, plan in enumerate(plans)]
    totals = _totals(members)
    shares = [_share(member.c.plays, _total(totals, m)) for m, member in enumerate(members)]
    if order == "least":
        score = _smallest(shares)
    else:  # the sum ÷ the count, as Python computes ``sum(shares) / count``
        score = functools.reduce(operator.add, shares) / len(shares)
    key = KEYS[kind]
    first = members[0]
    query = select_from(
        [first],
        [
            getattr(first.c, key).alias("item"),
            *[member.c.plays.alias(f"plays_{m}") for m, member in enumerate(members)],
            *[share.alias(f"share_{m}") for m, share in enumerate(shares)],
            score.alias("score"),
        ],
    )
    for member in members[1:]:
        query = query.join(member, on=(getattr(member.c, key) == getattr(first.c, key)))
    rows = list(
        query.order_by(SQL("score").desc(), _by_id(getattr(first.c, key)))
        .limit(limit)
        .with_cte(*members, totals)
        .dicts()
    )
    return _named(kind, _as_rows(key, rows, len(plans)))


# --- affinity ----------------------------------------------------------------------------------


@statistic
def affinity_between(you: User, them: User, period: Period) -> dict:
    """The affinity of two listeners over ``period`` (no visibility check: see :func:`affinity`)."""
    plans = [plan_for(you.id, period), plan_for(them.id, period)]
    lists: dict = {}
    overlaps = {}
    for kind in ("artist", "track"):
        found = _compared(kind, plans)
        overlap, shared, only_you, only_them = _compared_lists(kind, found)
        overlaps[kind] = overlap
        lists[f"shared_{kind}s"] = shared
        lists[f"only_you_{kind}s"] = only_you
        lists[f"only_them_{kind}s"] = only_them
        if kind == "artist":
            totals_of = [play_total(plan) for plan in plans] if found["genres"] else [0, 0]
            lists["shared_genres"] = _genre_lists(found["genres"], totals_of)
    artists, tracks = overlaps["artist"], overlaps["track"]
    score = round(100 * (ARTIST_WEIGHT * artists + TRACK_WEIGHT * tracks))
    return {
        "you": _who(you),
        "them": _who(them),
        "period": period,
        "score": score,
        "artist_overlap": round(artists, 4),
        "track_overlap": round(tracks, 4),
        **lists,
    }


def affinity(viewer: User, listener_id, range_key: str | None = None) -> dict:
    """How alike ``viewer`` and a listener who shares listen, over a period both share."""
    them = shared_listener(listener_id)
    _viewer_shares(viewer)
    if them.id == viewer.id:
        raise sharing.SharingError("listener", "compare yourself with someone else")
    allowed = common_periods([viewer.id, them.id])
    period = period_among(allowed, range_key, viewer.timezone or "UTC")
    return {**affinity_between(viewer, them, period), "periods": list(allowed)}


# --- blends ------------------------------------------------------------------------------------


@statistic
def blend_of(members: list[User], period: Period, mode: str = "average") -> dict:
    """The tracks and artists every member played, ranked by ``mode`` (no visibility check)."""
    if mode not in BLEND_MODES:
        raise sharing.SharingError("mode", f"must be one of {', '.join(BLEND_MODES)}")
    plans = [plan_for(member.id, period) for member in members]
    order = "least" if mode == "least" else "average"
    return {
        "members": [_who(member) for member in members],
        "period": period,
        "mode": mode,
        "tracks": _ranked("track", plans, order=order, limit=25),
        "artists": _ranked("artist", plans, order=order, limit=25),
    }


def blend(viewer: User, listener_ids, range_key: str | None = None, mode: str = "average"):
    """A blend of ``viewer`` and up to four listeners who share (each named once)."""
    ids = list(dict.fromkeys(listener_ids))
    if viewer.id in ids:
        ids.remove(viewer.id)
    if not ids:
        raise sharing.SharingError("with", "choose at least one listener to blend with")
    if len(ids) > MAX_BLEND - 1:
        raise sharing.SharingError("with", f"a blend has at most {MAX_BLEND} listeners")
    others = [shared_listener(listener_id) for listener_id in ids]
    _viewer_shares(viewer)
    members = [viewer, *others]
    allowed = common_periods([member.id for member in members])
    period = period_among(allowed, range_key, viewer.timezone or "UTC")
    return {**blend_of(members, period, mode), "periods": list(allowed)}


# --- on this instance --------------------------------------------------------------------------


def _sharing_users() -> list[User]:
    ids = sharing.visible_ids()
    return list(User.select().where(User.id.in_(list(ids))).order_by(User.id)) if ids else []


def _stacked(parts: list):
    """``UNION ALL`` of per-member ``parts``, tagged with the member's position."""
    tagged = [
        select_from([rows], [Value(member).alias("member"), *columns])
        for member, (rows, columns) in enumerate(parts)
    ]
    return functools.reduce(lambda a, b: a + b, tagged)


@statistic
def listeners_of(kind: str, item_id: str, users: list[User], period: Period) -> list[dict]:
    """Each of ``users``' plays of one track or artist over ``period``, most first (no
    visibility check: see :func:`top_listeners`): one query, each member's rows of that item
    alone, narrowed where they are read (a primary key or its range)."""
    parts = []
    for user in users:
        plan = plan_for(user.id, period)
        rows = (
            per_track(plan, track_ids=[item_id])
            if kind == "track"
            else artist_totals(plan, keys=[item_id])
        )
        parts.append((rows, [rows.c.plays, rows.c.ms_played]))
    found: list[dict] = [
        {"listener": _who(users[int(member)]), "plays": as_int(plays), "ms_played": as_int(ms)}
        for member, plays, ms in _stacked(parts).tuples()
        if as_int(plays) > 0
    ]
    found.sort(key=lambda row: (-row["plays"], -row["ms_played"], row["listener"]["name"]))
    return found


def top_listeners(viewer: User, kind: str, item_id: str, range_key: str | None = None) -> dict:
    """Who among the listeners who share played a track or artist most, over a range key
    in the viewer's zone; ``item`` is None (and the list empty) when none of them did."""
    if kind not in KEYS:
        raise sharing.SharingError("kind", "must be track or artist")
    try:
        period = parse_period(range_key or "all", tz=viewer.timezone or "UTC")
    except PeriodError as exc:
        raise sharing.SharingError(exc.param, exc.message) from None
    users = _sharing_users()
    listeners = listeners_of(kind, item_id, users, period) if users else []
    item = None
    if listeners:
        key = KEYS[kind]
        model, base = (Track, track_base) if kind == "track" else (Artist, artist_base)
        item = with_catalogue([{key: item_id}], key, model, base)[0]
        if kind == "track":
            item = with_track_artists([item])[0]
    return {"kind": kind, "item": item, "period": period, "listeners": listeners}


@statistic
def minutes_of(users: list[User], period: Period) -> list[dict]:
    """Plays and minutes of each of ``users`` over ``period``, most first (no visibility
    check: see :func:`weekly_board`): each member's per-track rows summed, in one query."""
    parts = []
    for user in users:
        rows = per_track(plan_for(user.id, period))
        parts.append((rows, [fn.SUM(rows.c.plays), fn.SUM(rows.c.ms_played)]))
    sums = {int(member): (as_int(p), as_int(ms)) for member, p, ms in _stacked(parts).tuples()}
    board: list[dict] = [
        {
            "listener": _who(user),
            "plays": sums.get(index, (0, 0))[0],
            "ms_played": sums.get(index, (0, 0))[1],
            "minutes": sums.get(index, (0, 0))[1] // 60_000,
        }
        for index, user in enumerate(users)
    ]
    board.sort(key=lambda row: (-row["ms_played"], row["listener"]["name"]))
    return board


def weekly_board(viewer: User) -> dict:
    """Minutes listened over the last 7 days (the viewer's zone) by each listener who shares."""
    period = parse_period("7d", tz=viewer.timezone or "UTC")
    users = _sharing_users()
    return {"period": period, "board": minutes_of(users, period) if users else []}
