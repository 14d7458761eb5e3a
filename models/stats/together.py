"""Listening together: shared profiles, affinity, blends and the instance's boards.

Every function here takes the *viewer* and the listeners asked about, and answers only about
listeners who share (``models.accounts.sharing.visible_ids``): an unknown and a private
listener raise the same :class:`NotShared`, so no page, endpoint or count can tell them
apart.  Periods are read in the viewer's time zone (a public link passes its owner as viewer),
and only over periods every listener involved chose to share.

The comparisons rest on one query shape, :func:`_members`: the per-track or per-artist rows of
each listener's period (``models.stats.sources``: summaries where they answer), each with its
**share**, the part of that listener's plays it holds (for artists: of their artist credits,
so a listener's shares add up to 1), stacked with ``UNION ALL`` and grouped by item.  From it:

- **affinity** of two listeners = 100 × (0.6 × artist overlap + 0.4 × track overlap), where the
  overlap of a kind is Σ min(share of you, share of them) over the items both played: 1 when two
  listeners divide their listening the same way, 0 when they share nothing (docs/sharing.md);
- a **blend** ranks the items every member played by the average of their shares (``average``)
  or by the smallest (``least``: what the least keen member still gives it).
"""

from __future__ import annotations

import functools

from peewee import SQL, Case, fn

from models.accounts import sharing
from models.periods import RANGE_KEYS, RANGE_LABELS, Period, PeriodError, parse_period
from models.schema.tables import Artist, Track, User
from models.stats.counts import totals
from models.stats.sources import (
    artist_base,
    artist_totals,
    as_int,
    per_track,
    plan_for,
    select_from,
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
GENRE_SCAN = 200  # genres of each listener compared (a listener rarely has more with plays)


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


# --- the stacked shares ------------------------------------------------------------------------


KEYS = {"track": "track_id", "artist": "artist_id"}


def _rows_of(kind: str, plan, only: str | None = None):
    """Per-item rows (key, plays, ms_played) of one listener's plan; ``only`` narrows the
    per-track rows at their source (the per-artist rows are narrowed by :func:`_members`)."""
    if kind == "track":
        return per_track(plan, track_ids=None if only is None else [only])
    return artist_totals(plan)


def _members(kind: str, plans, only: str | None = None):
    """``UNION ALL`` of (key, member, plays, ms_played, share) over the listeners' plans,
    member being the plan's position; ``only`` keeps one item."""
    key = KEYS[kind]
    parts = []
    for member, plan in enumerate(plans):
        if plan.empty:
            continue
        rows = _rows_of(kind, plan, only)
        column = getattr(rows.c, key)
        share = (rows.c.plays * 1.0) / fn.SUM(rows.c.plays).over()
        part = select_from(
            [rows],
            [
                column.alias("item"),
                SQL(str(int(member))).alias("member"),
                rows.c.plays.alias("plays"),
                rows.c.ms_played.alias("ms_played"),
                share.alias("share"),
            ],
        )
        if only is not None and kind == "artist":
            part = part.where(column == only)
        parts.append(part)
    if not parts:
        return None
    return functools.reduce(lambda a, b: a + b, parts).alias("members")


def _per_member(stacked, name: str, count: int) -> list:
    return [
        fn.MAX(Case(None, [(stacked.c.member == m, getattr(stacked.c, name))], None)).alias(
            f"{name}_{m}"
        )
        for m in range(count)
    ]


def _grouped(stacked, count: int):
    return select_from(
        [stacked],
        [
            stacked.c.item,
            fn.COUNT(stacked.c.member).alias("members"),
            fn.MIN(stacked.c.share).alias("least"),
            fn.SUM(stacked.c.share).alias("share_sum"),
            fn.SUM(stacked.c.plays).alias("plays"),
            fn.MIN(stacked.c.member).alias("first_member"),
            *_per_member(stacked, "plays", count),
            *_per_member(stacked, "share", count),
        ],
    ).group_by(stacked.c.item)


def _as_rows(kind: str, rows, count: int, score) -> list[dict]:
    """Grouped rows as ``{key, plays: [...], shares: [...], score}``, listeners in order."""
    return [
        {
            KEYS[kind]: row["item"],
            "plays": [as_int(row[f"plays_{m}"]) for m in range(count)],
            "shares": [float(row[f"share_{m}"] or 0.0) for m in range(count)],
            "score": float(score(row)),
        }
        for row in rows
    ]


def _named(kind: str, rows: list[dict]) -> list[dict]:
    """``rows`` with the catalogue's names (and a track's artists), in two or three look-ups
    by primary key however many lists the rows come from."""
    key = KEYS[kind]
    model, base = (Track, track_base) if kind == "track" else (Artist, artist_base)
    found = with_catalogue([{key: row[key]} for row in rows], key, model, base)
    merged = [{**shown, **row} for shown, row in zip(found, rows, strict=True)]
    return with_track_artists(merged) if kind == "track" else merged


def _compared(kind: str, plans) -> tuple[float, list[dict], list[dict], list[dict]]:
    """Two listeners' overlap of ``kind`` (Σ of the smaller share over the items both played)
    and their top shared, only-first and only-second items, in one query: the grouped rows
    ranked within "both" / "only 0" / "only 1" (by the smaller share, which for an item only
    one played is their share: their plays' order), the overlap summed over all of them."""
    stacked = _members(kind, plans)
    if stacked is None:
        return 0.0, [], [], []
    grouped = _grouped(stacked, 2).alias("grouped")
    both = grouped.c.members == 2
    ranked = select_from(
        [grouped],
        [
            SQL('"grouped".*'),
            fn.SUM(Case(None, [(both, grouped.c.least)], 0)).over().alias("overlap"),
            fn.ROW_NUMBER()
            .over(
                partition_by=[Case(None, [(both, -1)], grouped.c.first_member)],
                order_by=[grouped.c.least.desc(), grouped.c.item],
            )
            .alias("position"),
        ],
    ).alias("ranked")
    rows = list(
        select_from([ranked], [SQL('"ranked".*')])
        .where(ranked.c.position <= LIST_SIZE)
        .order_by(ranked.c.position)
        .dicts()
    )
    overlap = float(rows[0]["overlap"] or 0.0) if rows else 0.0
    lists: list[list[dict]] = [[], [], []]
    for row in rows:
        lists[0 if row["members"] == 2 else 1 + int(row["first_member"])].append(row)
    named = _named(kind, [r for part in lists for r in _as_rows(kind, part, 2, _least)])
    sizes = [len(part) for part in lists]
    shared, only_first = named[: sizes[0]], named[sizes[0] : sizes[0] + sizes[1]]
    return overlap, shared, only_first, named[sizes[0] + sizes[1] :]


def _least(row) -> float:
    return row["least"]


def _ranked(kind: str, plans, *, order: str, limit: int) -> list[dict]:
    """The items every listener played, by the smallest share (``least``) or the average."""
    stacked = _members(kind, plans)
    if stacked is None:
        return []
    count = len(plans)
    grouped = _grouped(stacked, count).having(fn.COUNT(stacked.c.member) == count)
    rank = SQL("least") if order == "least" else SQL("share_sum")
    rows = list(grouped.order_by(rank.desc(), stacked.c.item).limit(limit).dicts())
    score = _least if order == "least" else (lambda row: row["share_sum"] / count)
    return _named(kind, _as_rows(kind, rows, count, score))


def _genres_compared(plans_users, period: Period):
    """Shared genres (both have them, by the smaller share) and each one's own."""
    first, second = (
        {row["genre"]: row for row in top_genres(user_id, period, limit=GENRE_SCAN)}
        for user_id in plans_users
    )
    shared = [
        {
            "genre": genre,
            "plays": [first[genre]["plays"], second[genre]["plays"]],
            "shares": [first[genre]["share"], second[genre]["share"]],
            "score": min(first[genre]["share"], second[genre]["share"]),
        }
        for genre in first.keys() & second.keys()
    ]
    shared.sort(key=lambda row: (-row["score"], row["genre"]))
    return shared[:LIST_SIZE]


# --- affinity ----------------------------------------------------------------------------------


@statistic
def affinity_between(you: User, them: User, period: Period) -> dict:
    """The affinity of two listeners over ``period`` (no visibility check: see :func:`affinity`)."""
    plans = [plan_for(you.id, period), plan_for(them.id, period)]
    lists: dict = {}
    overlaps = {}
    for kind in ("artist", "track"):
        overlap, shared, only_you, only_them = _compared(kind, plans)
        overlaps[kind] = overlap
        lists[f"shared_{kind}s"] = shared
        lists[f"only_you_{kind}s"] = only_you
        lists[f"only_them_{kind}s"] = only_them
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
        "shared_genres": _genres_compared((you.id, them.id), period),
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


@statistic
def _listeners_of(kind: str, item_id: str, users: list[User], period: Period) -> list[dict]:
    plans = [plan_for(user.id, period) for user in users]
    stacked = _members(kind, plans, only=item_id)
    if stacked is None:
        return []
    rows = (
        select_from(
            [stacked], [stacked.c.member, stacked.c.plays, stacked.c.ms_played, stacked.c.share]
        )
        .where(stacked.c.plays > 0)
        .dicts()
    )
    found: list[dict] = [
        {
            "listener": _who(users[int(row["member"])]),
            "plays": as_int(row["plays"]),
            "ms_played": as_int(row["ms_played"]),
        }
        for row in rows
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
    listeners = _listeners_of(kind, item_id, users, period) if users else []
    item = None
    if listeners:
        key = KEYS[kind]
        model, base = (Track, track_base) if kind == "track" else (Artist, artist_base)
        item = with_catalogue([{key: item_id}], key, model, base)[0]
        if kind == "track":
            item = with_track_artists([item])[0]
    return {"kind": kind, "item": item, "period": period, "listeners": listeners}


@statistic
def _minutes_of(users: list[User], period: Period) -> list[dict]:
    plans = [plan_for(user.id, period) for user in users]
    stacked = _members("track", plans)
    sums: dict[int, tuple[int, int]] = {}
    if stacked is not None:
        query = select_from(
            [stacked],
            [stacked.c.member, fn.SUM(stacked.c.plays), fn.SUM(stacked.c.ms_played)],
        ).group_by(stacked.c.member)
        sums = {int(member): (as_int(p), as_int(ms)) for member, p, ms in query.tuples()}
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
    return {"period": period, "board": _minutes_of(users, period) if users else []}
