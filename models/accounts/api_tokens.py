"""Bearer tokens for the JSON API: JWTs signed with SECRET_KEY / ALGORITHM.

A token names its account by id, Spotify id and the account's ``token_epoch`` (claim ``tep``);
"revoke all API tokens" raises the epoch, so every token issued before stops working at once
while the listener's web sessions go on (and logging out leaves their scripts running).  A
lifetime never exceeds ``settings.MAX_TOKEN_MINUTES``.

The web account page issues them and the Chalice authorizer verifies them; both call this
module so that issuer, audience and the accepted algorithms are decided in one place.  Decoding
pins the single configured algorithm, so ``alg: none`` and algorithm-confusion tokens fail.
"""

from __future__ import annotations

import datetime as dt

import jwt

from models.schema.tables import User
from settings import MAX_TOKEN_MINUTES

ISSUER = "spotify-tracker"
AUDIENCE = "spotify-tracker-api"


class InvalidApiToken(Exception):
    """The token is missing, malformed, forged, expired or for another audience."""


def issue(
    user: User, settings, *, now: dt.datetime | None = None, minutes: int | None = None
) -> str:
    """A token for the user; it names the Spotify account too (``sid``), because SQLite may
    give a deleted user's id to the next new user and the token must not follow the id."""
    now = now or dt.datetime.now(dt.UTC)
    minutes = min(minutes or settings.access_token_expire_minutes, MAX_TOKEN_MINUTES)
    lifetime = dt.timedelta(minutes=minutes)
    claims = {
        "sub": str(user.id),
        "sid": user.spotify_id,
        "tep": user.token_epoch,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=settings.algorithm)


def _verified_claims(token: str, settings) -> dict:
    """The token's claims once signature, algorithm, expiry, issuer and audience hold."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[settings.algorithm],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "sid", "tep"]},
        )
        claims["sub"] = int(claims["sub"])
        return claims
    except jwt.ExpiredSignatureError:
        raise InvalidApiToken("token expired") from None
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidApiToken(f"invalid token: {exc}") from None


def verify(token: str, settings) -> int:
    """The user id the token was issued to; raises :class:`InvalidApiToken` otherwise."""
    return _verified_claims(token, settings)["sub"]


def user_of(token: str, settings) -> User:
    """The account a valid token was issued to; refused when that account is gone, even if a
    newer account now has the same id."""
    claims = _verified_claims(token, settings)
    user = User.get_or_none(User.id == claims["sub"])
    if user is None or user.spotify_id != claims["sid"]:
        raise InvalidApiToken("the token's account no longer exists")
    if claims["tep"] != user.token_epoch:
        raise InvalidApiToken("the token was revoked")
    return user


def revoke_all(user: User) -> None:
    """End every API token issued to ``user`` so far (tokens issued later work)."""
    User.update(token_epoch=User.token_epoch + 1).where(User.id == user.id).execute()
    user.token_epoch = User.get_by_id(user.id).token_epoch
