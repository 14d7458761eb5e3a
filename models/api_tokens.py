"""Bearer tokens for the JSON API: JWTs signed with SECRET_KEY / ALGORITHM.

The web account page issues them and the Chalice authorizer verifies them; both call this
module so that issuer, audience and the accepted algorithms are decided in one place.  Decoding
pins the single configured algorithm, so ``alg: none`` and algorithm-confusion tokens fail.
"""
from __future__ import annotations

import datetime as dt

import jwt

ISSUER = "spotify-tracker"
AUDIENCE = "spotify-tracker-api"


class InvalidApiToken(Exception):
    """The token is missing, malformed, forged, expired or for another audience."""


def issue(user_id: int, settings, *, now: dt.datetime | None = None,
          minutes: int | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    lifetime = dt.timedelta(minutes=minutes or settings.access_token_expire_minutes)
    claims = {
        "sub": str(user_id),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=settings.algorithm)


def verify(token: str, settings) -> int:
    """The user id the token was issued to; raises :class:`InvalidApiToken` otherwise."""
    try:
        claims = jwt.decode(
            token, settings.secret_key, algorithms=[settings.algorithm], audience=AUDIENCE,
            issuer=ISSUER, options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        return int(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise InvalidApiToken("token expired") from None
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidApiToken(f"invalid token: {exc}") from None
