"""Logged-in browsers, recorded server-side so that logging out really ends a session.

Flask's session is a signed cookie: anything in it stays valid as long as the cookie is
replayed, so a copy taken before logout would still log in.  Instead the cookie carries a
random key, and the session lives only while its row does: logging out deletes the row,
"log out everywhere" deletes all of the user's rows, deleting the account cascades to them.
Only the key's SHA-256 is stored, so reading the table does not give a working cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from models.schema.db import utcnow
from models.schema.tables import LoginSession, User


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(user: User, lifetime: dt.timedelta, *, now: dt.datetime | None = None) -> str:
    """A new session for ``user``; returns the key to put in the cookie."""
    now = now or utcnow()
    LoginSession.delete().where(LoginSession.expires_at < now).execute()
    key = secrets.token_urlsafe(32)
    LoginSession.create(
        key_hash=_hash(key), user=user.id, created_at=now, expires_at=now + lifetime
    )
    return key


def user_of(key: str, *, now: dt.datetime | None = None) -> User | None:
    """The user of a live session, else None (logged out, expired, or never issued)."""
    if not key or len(key) > 100:
        return None
    now = now or utcnow()
    return (
        User.select()
        .join(LoginSession)
        .where((LoginSession.key_hash == _hash(key)) & (LoginSession.expires_at > now))
        .first()
    )


def upgrade_legacy(cookie_id: str, lifetime: dt.timedelta) -> tuple[User, str] | None:
    """A session cookie from before sessions were kept here (its id was ``<user id>:<spotify
    id>``) becomes a session of this table, so upgrading logs nobody out; returns the user and
    the new key, or None.

    Such a cookie cannot be revoked by itself, so it is honoured only while the user's
    ``legacy_cookies`` is on: set for the accounts that existed at the upgrade (migration 060),
    off for every account made since, and turned off by any logout of that user.
    """
    row_id, _, spotify_id = cookie_id.partition(":")
    if not row_id.isdigit() or not spotify_id:
        return None
    user = User.get_or_none(
        (User.id == int(row_id)) & (User.spotify_id == spotify_id) & User.legacy_cookies
    )
    return (user, start(user, lifetime)) if user is not None else None


def _no_more_legacy_cookies(user_ids) -> None:
    User.update(legacy_cookies=False).where(User.id.in_(user_ids) & User.legacy_cookies).execute()


def end(key: str) -> None:
    """End one session; the user's pre-upgrade cookies (see :func:`upgrade_legacy`) too."""
    owners = LoginSession.select(LoginSession.user).where(LoginSession.key_hash == _hash(key))
    _no_more_legacy_cookies(owners)
    LoginSession.delete().where(LoginSession.key_hash == _hash(key)).execute()


def end_all(user: User) -> int:
    """Log ``user`` out of every browser; returns how many sessions ended."""
    _no_more_legacy_cookies([user.id])
    return LoginSession.delete().where(LoginSession.user == user.id).execute()
