"""One error taxonomy for everything Spotify answers, so batch and web act on kinds, not codes.

Every error raised by :mod:`spotify.client` is a :class:`SpotifyError`; its class answers "what
should the caller do now?", and callers ask with ``except``/``isinstance``:

:class:`RetryLater` (:class:`RateLimited`, :class:`SpotifyUnavailable`)
    Nothing is wrong with the user or the request; Spotify is busy or down. A batch job stops
    calling, keeps what it stored, and the next run picks up (``resume_at`` says when).
:class:`ReauthorizationNeeded`
    The user's grant is gone (revoked, or the refresh token expired after ~6 months). Flag the
    user, ask them to log in again, keep serving their stored statistics.
:class:`SpotifyError` itself, :class:`AudioFeaturesUnavailable`, :class:`ClientRejected`
    Spotify refused something for a reason a person can act on or must be told about: the app is
    not allowed (403), a resource does not exist (404), the app's id/secret/redirect URI are wrong.
:class:`SpotifyRequestError`
    Spotify says our request is malformed (400 on the Web API, ``invalid_request`` or
    ``unsupported_grant_type`` on the token endpoint). Retrying will not help; fix the code.
"""

from __future__ import annotations

from datetime import datetime


class SpotifyError(Exception):
    """Spotify answered with an error; ``status`` and ``message`` are Spotify's own."""

    def __init__(self, message: str, status: int | None = None, endpoint: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.endpoint = endpoint

    def __str__(self) -> str:
        where = f" ({self.endpoint})" if self.endpoint else ""
        code = f"{self.status} " if self.status is not None else ""
        return f"Spotify {code}{self.message}{where}"


class RetryLater(SpotifyError):
    """Transient: try again later. ``resume_at`` (UTC) is the earliest sensible retry, if known."""

    resume_at: datetime | None = None


class RateLimited(RetryLater):
    """429 with a Retry-After longer than the client may wait: stop calling until ``resume_at``."""

    def __init__(self, retry_after: float, resume_at: datetime, endpoint: str | None = None):
        super().__init__(f"rate limited, retry after {retry_after:.0f} s", 429, endpoint)
        self.retry_after = retry_after
        self.resume_at = resume_at


class SpotifyUnavailable(RetryLater):
    """5xx or no connection, still failing after the bounded retries."""


class ReauthorizationNeeded(SpotifyError):
    """The refresh token is no longer accepted (``invalid_grant``): the user must log in again."""


class AudioFeaturesUnavailable(SpotifyError):
    """403 on /audio-features: this app may not read features (closed since Nov 2024)."""


class ClientRejected(SpotifyError):
    """The accounts service rejects the app itself (``invalid_client``): check id and secret."""


class SpotifyRequestError(SpotifyError):
    """Spotify calls our request malformed; a bug on our side, never retried."""
