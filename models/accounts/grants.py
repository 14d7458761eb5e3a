"""A user's Spotify grant: the one module that stores, loads, refreshes and gives it up.

The web login stores a fresh grant (:func:`store`); the ETL and the history import get a client
for it (:func:`client`), whose refreshed tokens come back through :func:`saver`; a grant Spotify
no longer accepts, or one that cannot be decrypted any more (SECRET_KEY changed with no
fallback), flags the user to log in again (:func:`flag_reauth`) and keeps their data; the next
login overwrites it.  A grant read with an old key is re-encrypted under the current one.  So
"a Spotify client for this user" means the same thing in every shell.

This module ships to Lambda with the rest of ``models/`` and must not import ``spotify`` or
``requests`` (tests/test_layers.py walks the API's imports): the caller passes its
``spotify.client.SpotifyApp``, and the tokens travel as the plain dict ``TokenSet.from_dict``
takes, read back from any object with a ``TokenSet``'s attributes.

Times: a caller may keep its own clock (the ETL's run hour, so a rerun of an old hour or a test
on the sandbox clock agrees on what "now" is).  ``expires_at`` is stored on that clock and
moved to real time for the client, which compares it with the wall clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from peewee import Value, fn

from models.schema import crypto
from models.schema.crypto import TokenDecryptionError
from models.schema.db import db, utcnow
from models.schema.tables import OAuthToken, User

log = logging.getLogger(__name__)

# Spotify refresh tokens stop working about six months after the login that issued them.
GRANT_LIFETIME = dt.timedelta(days=182)
UNDECRYPTABLE = "the stored Spotify grant cannot be decrypted (SECRET_KEY changed)"


class GrantLost(Exception):
    """The stored grant can never be used again; the user is already flagged to log in."""


def store(user: User, token: dict, *, now: dt.datetime | None = None) -> None:
    """Save a fresh login's tokens for ``user`` (encrypted), keeping a refresh token we have
    when the answer omits one (Spotify may, and then the old one stays valid).

    ``token`` is the token endpoint's answer (``access_token``, ``refresh_token``,
    ``expires_in``, ``scope``).  ``granted_at`` restarts the grant's six months.  A stored
    grant that cannot be decrypted any more is overwritten: logging in is how its user repairs
    it, so it must never stand in the way.
    """
    now = now or utcnow()
    with db.atomic():
        exists = OAuthToken.select().where(OAuthToken.user == user.id).exists()
        refresh_token = token.get("refresh_token") or (
            _stored_refresh_token(user) if exists else None
        )
        if not refresh_token:
            raise ValueError("Spotify returned no refresh token and none is stored")
        expires_in = token.get("expires_in")
        fields = {
            "access_token": token.get("access_token"),
            "refresh_token": refresh_token,
            "expires_at": now + dt.timedelta(seconds=int(expires_in)) if expires_in else None,
            "scope": token.get("scope") or "",
            "granted_at": now,
            "updated_at": now,
        }
        if not exists:
            OAuthToken.create(user=user.id, **fields)
        else:
            OAuthToken.update(**fields).where(OAuthToken.user == user.id).execute()


def _stored_refresh_token(user: User) -> str | None:
    """The stored refresh token, or None when it cannot be decrypted (SECRET_KEY changed)."""
    try:
        return (
            OAuthToken.select(OAuthToken.refresh_token).where(OAuthToken.user == user.id).scalar()
        )
    except TokenDecryptionError:
        log.warning("user %s: the stored grant cannot be decrypted; replacing it", user.id)
        return None


def load(user_id: int, *, now: dt.datetime | None = None) -> dict | None:
    """The stored grant as the client takes it, or None when none is stored.

    ``expires_at`` is moved from the caller's clock ``now`` to real time; a grant without an
    access token reads as expired, so the client refreshes before its first call.  A grant that
    cannot be decrypted is as good as revoked: the user is flagged and :class:`GrantLost` raised.
    """
    now = now or utcnow()
    try:
        token = _with_ciphertexts(user_id).get_or_none()
    except TokenDecryptionError:
        flag_reauth(user_id, UNDECRYPTABLE)
        raise GrantLost(UNDECRYPTABLE) from None
    if token is None:
        return None
    _reencrypt_if_old(token)
    real_now = dt.datetime.now(dt.UTC)
    if token.expires_at and token.access_token:
        expires_at = real_now + (token.expires_at - now)
    else:
        expires_at = real_now - dt.timedelta(days=1)
    return {
        "access_token": token.access_token or "",
        "refresh_token": token.refresh_token,
        "expires_at": expires_at,
        "scope": token.scope or "",
    }


def _with_ciphertexts(user_id: int):
    """The user's grant, decrypted, and as stored (``stored_access``, ``stored_refresh``)."""
    return (
        OAuthToken.select(OAuthToken, _ciphertext(OAuthToken.access_token).alias("stored_access"))
        .select_extend(_ciphertext(OAuthToken.refresh_token).alias("stored_refresh"))
        .where(OAuthToken.user == user_id)
    )


def _ciphertext(field):
    """``field`` as stored, not decrypted (peewee converts a function's value unless told not)."""
    return fn.COALESCE(field, None).coerce(False)


def _reencrypt_if_old(token: OAuthToken) -> None:
    """Write a grant read with an old key (a SECRET_KEY_FALLBACKS entry, or the derivation from
    before keys were derived per purpose) again under the current key, so the old keys can be
    dropped once every grant has been used.  Only if the row is still what was read: a
    refresh or a login writing meanwhile wins and is already under the current key."""
    stored = [token.stored_access, token.stored_refresh]
    if all(value is None or crypto.is_current(value) for value in stored):
        return
    OAuthToken.update(access_token=token.access_token, refresh_token=token.refresh_token).where(
        (OAuthToken.user == token.user_id)
        & _still(OAuthToken.access_token, token.stored_access)
        & _still(OAuthToken.refresh_token, token.stored_refresh)
    ).execute()
    log.info("user %s: stored grant re-encrypted under the current SECRET_KEY", token.user_id)


def _still(field, ciphertext: str | None):
    """The column still holds ``ciphertext`` (compared as stored: no encryption of the value)."""
    return field.is_null() if ciphertext is None else field == Value(ciphertext, converter=False)


def saver(user_id: int, *, now: dt.datetime | None = None) -> Callable[[object], None]:
    """The client's ``on_tokens`` callback: store refreshed tokens, expiry on the clock ``now``.

    A refresh answer may omit the refresh token or the scope; the stored ones stay then.
    """
    clock = now

    def save(tokens) -> None:
        remaining = tokens.expires_at - dt.datetime.now(dt.UTC)
        changes = {
            OAuthToken.access_token: tokens.access_token,
            OAuthToken.expires_at: (clock or utcnow()) + remaining,
            OAuthToken.updated_at: utcnow(),
        }
        if tokens.refresh_token:
            changes[OAuthToken.refresh_token] = tokens.refresh_token
        if tokens.scope:
            changes[OAuthToken.scope] = tokens.scope
        OAuthToken.update(changes).where(OAuthToken.user == user_id).execute()

    return save


def client(app, user_id: int, *, now: dt.datetime | None = None):
    """A ``spotify.client.SpotifyClient`` of ``app`` for the user's grant, or None when no grant
    is stored or the user must log in again first; :class:`GrantLost` if it cannot be read."""
    if User.select(User.needs_reauth).where(User.id == user_id).scalar():
        return None
    tokens = load(user_id, now=now)
    if tokens is None:
        return None
    return app.client(tokens, saver(user_id, now=now))


def flag_reauth(user_id: int, reason: str) -> None:
    """The grant is refused or unreadable: the user must log in again; their data stays."""
    log.warning("user %s must log in to Spotify again: %s", user_id, reason)
    User.update(needs_reauth=True, reauth_reason=reason).where(User.id == user_id).execute()


def expires_at(user: User) -> dt.datetime | None:
    """When ``user``'s Spotify grant is expected to stop working (None: no grant stored)."""
    granted_at = OAuthToken.select(OAuthToken.granted_at).where(OAuthToken.user == user.id).scalar()
    return granted_at + GRANT_LIFETIME if granted_at else None
