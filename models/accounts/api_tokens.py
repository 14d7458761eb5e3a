"""Bearer tokens for the JSON API: JWTs signed with a key derived from SECRET_KEY / ALGORITHM.

A token names its account by id, Spotify id and the account's ``token_epoch`` (claim ``tep``);
"revoke all API tokens" raises the epoch, so every token issued before stops working at once
while the listener's web sessions go on (and logging out leaves their scripts running).  A
lifetime never exceeds ``settings.MAX_TOKEN_MINUTES``.

The web account page issues them and the Chalice authorizer verifies them; both call this
module so that issuer, audience and the accepted algorithms are decided in one place.  Decoding
pins the single configured algorithm, so ``alg: none`` and algorithm-confusion tokens fail.
Tokens signed before a rotation (``SECRET_KEY_FALLBACKS``) or before keys were derived (the raw
SECRET_KEY) still verify until they expire; see ``models.schema.crypto``.
"""

from __future__ import annotations

import datetime as dt

import jwt

from models.schema import crypto
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
    key = crypto.signing_key(crypto.API_TOKEN_SIGNING, settings.secret_key)
    return jwt.encode(claims, key, algorithm=settings.algorithm)


def _verified_claims(token: str, settings) -> dict:
    """The token's claims once signature, algorithm, expiry, issuer and audience hold.

    PyJWT checks one key per call: each accepted key is tried in turn, newest first, until one
    verifies the signature; any other fault refuses the token at once.
    """
    keys = crypto.verifying_keys(
        crypto.API_TOKEN_SIGNING, settings.secret_key, settings.secret_key_fallbacks
    )
    try:
        for key in keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[settings.algorithm],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "sub", "iss", "aud", "sid"]},
                )
                break
            except jwt.InvalidSignatureError:
                continue
        else:
            raise jwt.InvalidSignatureError("Signature verification failed")
        claims["sub"] = int(claims["sub"])
        return claims
    except jwt.ExpiredSignatureError:
        raise InvalidApiToken("token expired") from None
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidApiToken(f"invalid token: {exc}") from None


def user_of(token: str, settings) -> User:
    """The account a valid token was issued to; refused when that account is gone, even if a
    newer account now has the same id."""
    claims = _verified_claims(token, settings)
    user = User.get_or_none(User.id == claims["sub"])
    if user is None or user.spotify_id != claims["sid"]:
        raise InvalidApiToken("the token's account no longer exists")
    # A token from before epochs existed has none: it counts as epoch 0, the first.
    if claims.get("tep", 0) != user.token_epoch:
        raise InvalidApiToken("the token was revoked")
    return user


def revoke_all(user: User) -> None:
    """End every API token issued to ``user`` so far (tokens issued later work)."""
    User.update(token_epoch=User.token_epoch + 1).where(User.id == user.id).execute()
    user.token_epoch = User.get_by_id(user.id).token_epoch
