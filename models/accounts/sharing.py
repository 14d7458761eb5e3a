"""Who may see whom: a listener's sharing settings, their public links, and the links' limit.

Private by default, and decided here only, so every page, endpoint and board follows one rule:

- A listener is **visible** to the other listeners of the instance only while their
  ``SharingSettings.visible`` is on (no row: off).  :func:`visible_ids` is the one filter
  every shared statistic applies; turning it off hides them at the next request.  The admin is
  never a listener (no plays) and never visible; the admin's own pages list everyone as before.
- A **public link** is a random key (``secrets.token_urlsafe``) shown once; only its SHA-256 is
  stored, like a login session, so the table gives no working link.  It shows only the periods
  and sections chosen when it was made, may expire, and revoking deletes its row: the link
  answers 404 at once, exactly like a key that never existed.
- Public links are **rate limited** per link and per client address (:data:`LINK_LIMIT`
  requests a minute each), counted in ``LinkHit`` so the limit holds across gunicorn workers.

Time comes from :data:`clock` (or a ``now`` argument), so tests move it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

from models.accounts.throttle import address_key
from models.periods import RANGE_KEYS
from models.schema.db import db, utcnow
from models.schema.tables import SHARING_SECTIONS, LinkHit, PublicLink, SharingSettings, User

LINK_LIMIT = 60  # requests a minute, per link and per client address
MAX_LINKS = 10  # live public links per listener
MAX_LINK_DAYS = 366
DEFAULT_PERIODS = ("4w", "12m", "all")
clock = utcnow


class SharingError(ValueError):
    """A bad sharing choice; ``param`` names the field at fault."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class LinkRateLimited(Exception):
    """Too many requests for this link or from this address; retry in ``resets_in`` s."""

    def __init__(self, resets_in: float):
        self.resets_in = max(1, math.ceil(resets_in))
        super().__init__(f"too many requests: try again in {self.resets_in} seconds")


@dataclass(frozen=True)
class Choice:
    """What a profile shows: range keys (in ``RANGE_KEYS`` order) and sections."""

    periods: tuple[str, ...]
    sections: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"periods": list(self.periods), "sections": list(self.sections)}


@dataclass(frozen=True)
class Sharing:
    visible: bool
    choice: Choice

    def as_dict(self) -> dict:
        return {"visible": self.visible, **self.choice.as_dict()}


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in (text or "").split(",") if part)


def choice(periods, sections) -> Choice:
    """The checked choice (order normalised); :class:`SharingError` names a bad value."""
    periods, sections = list(periods or ()), list(sections or ())
    for name, given, allowed in (
        ("periods", periods, RANGE_KEYS),
        ("sections", sections, SHARING_SECTIONS),
    ):
        if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
            raise SharingError(name, "must be a list of names")
        unknown = [value for value in given if value not in allowed]
        if unknown:
            raise SharingError(name, f"unknown {unknown[0]!r}: use {', '.join(allowed)}")
        if not given:
            raise SharingError(name, "choose at least one")
    return Choice(
        tuple(key for key in RANGE_KEYS if key in periods),
        tuple(name for name in SHARING_SECTIONS if name in sections),
    )


def _row_choice(row) -> Choice:
    return Choice(_split(row.periods), _split(row.sections))


DEFAULT = Sharing(False, Choice(DEFAULT_PERIODS, SHARING_SECTIONS))


def settings_of(user_id: int) -> Sharing:
    row = SharingSettings.get_or_none(SharingSettings.user == user_id)
    return DEFAULT if row is None else Sharing(bool(row.visible), _row_choice(row))


def update(user: User, visible: bool, periods, sections) -> Sharing:
    """Set what ``user`` shares with the other listeners; takes effect at the next request."""
    if user.is_admin:
        raise SharingError("visible", "the administrator is not a listener")
    checked = choice(periods, sections)
    values = {
        "visible": bool(visible),
        "periods": ",".join(checked.periods),
        "sections": ",".join(checked.sections),
        "updated_at": clock(),
    }
    SharingSettings.insert(user=user.id, **values).on_conflict(
        conflict_target=[SharingSettings.user],
        update={getattr(SharingSettings, name): value for name, value in values.items()},
    ).execute()
    return Sharing(bool(visible), checked)


def visible_ids(among=None) -> set[int]:
    """The ids of the listeners who share with the others (of ``among``, if given)."""
    query = (
        SharingSettings.select(SharingSettings.user)
        .join(User)
        .where(SharingSettings.visible & ~User.is_admin)
    )
    if among is not None:
        query = query.where(SharingSettings.user.in_(list(among)))
    return {user_id for (user_id,) in query.tuples()}


def visible_listener(user_id) -> User | None:
    """The listener ``user_id`` if they share, else None: an unknown and a private listener
    are the same None, so no caller can tell them apart."""
    if not isinstance(user_id, int) or user_id < 1 or user_id > 2**31 - 1:
        return None
    if user_id not in visible_ids([user_id]):
        return None
    return User.get_or_none(User.id == user_id)


def visible_listeners() -> list[dict]:
    """``[{id, name, image_url, periods}]`` of every listener who shares, by name."""
    rows = (
        SharingSettings.select(SharingSettings, User)
        .join(User)
        .where(SharingSettings.visible & ~User.is_admin)
    )
    listeners = [
        {
            "id": row.user.id,
            "name": str(row.user),
            "image_url": row.user.image_url,
            "periods": list(_split(row.periods)),
        }
        for row in rows
    ]
    return sorted(listeners, key=lambda entry: (entry["name"].lower(), entry["id"]))


# --- public links ------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_link(
    user: User, periods, sections, expires_in_days: int | None = None, *, now=None
) -> tuple[PublicLink, str]:
    """A new public link of ``user``; returns the row and the key (shown once, never stored)."""
    if user.is_admin:
        raise SharingError("periods", "the administrator is not a listener")
    checked = choice(periods, sections)
    if expires_in_days is not None and (
        not isinstance(expires_in_days, int)
        or isinstance(expires_in_days, bool)
        or not 1 <= expires_in_days <= MAX_LINK_DAYS
    ):
        raise SharingError("expires_in_days", f"must be a whole number from 1 to {MAX_LINK_DAYS}")
    now = now or clock()
    with db.atomic():
        PublicLink.delete().where(
            (PublicLink.user == user.id) & (PublicLink.expires_at <= now)
        ).execute()
        if PublicLink.select().where(PublicLink.user == user.id).count() >= MAX_LINKS:
            raise SharingError("periods", f"at most {MAX_LINKS} links: revoke one first")
        key = secrets.token_urlsafe(24)
        link = PublicLink.create(
            key_hash=_hash(key),
            user=user.id,
            periods=",".join(checked.periods),
            sections=",".join(checked.sections),
            created_at=now,
            expires_at=None if expires_in_days is None else now + dt.timedelta(expires_in_days),
        )
    return link, key


def links_of(user_id: int, *, now=None) -> list[PublicLink]:
    """The live links of a listener, newest first."""
    now = now or clock()
    return list(
        PublicLink.select()
        .where(
            (PublicLink.user == user_id)
            & (PublicLink.expires_at.is_null() | (PublicLink.expires_at > now))
        )
        .order_by(PublicLink.created_at.desc(), PublicLink.id.desc())
    )


def link_choice(link: PublicLink) -> Choice:
    return _row_choice(link)


def link_dict(link: PublicLink) -> dict:
    return {
        "id": link.id,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        **link_choice(link).as_dict(),
    }


def revoke_link(user_id: int, link_id) -> bool:
    """Delete one of ``user_id``'s links (another's link id changes nothing); True if gone."""
    if not isinstance(link_id, int):
        return False
    deleted = (
        PublicLink.delete()
        .where((PublicLink.id == link_id) & (PublicLink.user == user_id))
        .execute()
    )
    return deleted > 0


def link_of(key: str, *, now=None) -> PublicLink | None:
    """The live link of ``key``, else None (never made, revoked, expired, owner gone)."""
    if not key or len(key) > 100:
        return None
    now = now or clock()
    return (
        PublicLink.select(PublicLink, User)
        .join(User)
        .where(
            (PublicLink.key_hash == _hash(key))
            & (PublicLink.expires_at.is_null() | (PublicLink.expires_at > now))
            & ~User.is_admin
        )
        .first()
    )


def count_request(keys: list[str], *, now=None) -> None:
    """Count one request against each key this minute; :class:`LinkRateLimited` past
    :data:`LINK_LIMIT` (the request is counted either way: hammering does not reset it)."""
    now = now or clock()
    minute = now.replace(second=0, microsecond=0)
    with db.atomic():
        LinkHit.delete().where(LinkHit.minute < minute - dt.timedelta(minutes=5)).execute()
        for key in keys:
            LinkHit.insert(key=key, minute=minute, hits=1).on_conflict(
                conflict_target=[LinkHit.key, LinkHit.minute],
                update={LinkHit.hits: LinkHit.hits + 1},
            ).execute()
        worst = (
            LinkHit.select(LinkHit.hits)
            .where(LinkHit.key.in_(keys) & (LinkHit.minute == minute))
            .order_by(LinkHit.hits.desc())
            .scalar()
        )
    if worst is not None and worst > LINK_LIMIT:
        raise LinkRateLimited((minute + dt.timedelta(minutes=1) - now).total_seconds())


def address_limit_key(address: str | None) -> str:
    return address_key(address)


def link_limit_key(link: PublicLink) -> str:
    return f"link:{link.id}"


# --- the data export ---------------------------------------------------------------------------


def export_of(user: User) -> dict:
    """The sharing settings and live links (never their keys) for "download my data"."""
    return {
        **settings_of(user.id).as_dict(),
        "public_links": [
            {
                **link_dict(link),
                "created_at": link.created_at.isoformat(),
                "expires_at": link.expires_at.isoformat() if link.expires_at else None,
            }
            for link in links_of(user.id)
        ],
    }
