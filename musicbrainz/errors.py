"""One error taxonomy for everything MusicBrainz answers: a caller acts on the kind, never a code.

Every error raised by :mod:`musicbrainz.client` is a :class:`MusicBrainzError`:

:class:`RetryLater`
    MusicBrainz is busy (503/429, with or without ``Retry-After``), slow (a timeout) or out of
    reach (a connection error). Nothing is wrong with the request: stop calling, keep what was
    stored, and ask again at ``until`` (UTC) or later. A job defers; it never sleeps that long.
:class:`GiveUp`
    This one entity (or this one question) cannot be answered: MusicBrainz does not know it
    (404), calls the request invalid (400, e.g. an invalid MBID), or answered something this
    client cannot read (a malformed body or entity). ``key`` names the entity asked for and
    ``reason`` says why; the caller logs it and goes on with the others. Batch methods do not
    raise it: they return it per key in :attr:`musicbrainz.client.Batch.failed`.
:class:`Bug`
    Our fault, never retried: MusicBrainz refused our User-Agent (403) or answered a 4xx this
    client does not expect. Fix the configuration or the code.
"""

from __future__ import annotations

from datetime import datetime


class MusicBrainzError(Exception):
    """MusicBrainz answered with an error, or not at all; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None, endpoint: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.endpoint = endpoint

    def __str__(self) -> str:
        where = f" ({self.endpoint})" if self.endpoint else ""
        code = f"{self.status} " if self.status is not None else ""
        return f"MusicBrainz {code}{self.message}{where}"


class RetryLater(MusicBrainzError):
    """Transient: ask again at ``until`` (aware UTC) or later."""

    def __init__(
        self,
        message: str,
        until: datetime,
        status: int | None = None,
        endpoint: str | None = None,
    ):
        super().__init__(message, status, endpoint)
        self.until = until


class GiveUp(MusicBrainzError):
    """This entity cannot be answered: ``key`` (the ISRC, MBID, URL or query) and ``reason``."""

    def __init__(
        self,
        reason: str,
        key: str | None = None,
        status: int | None = None,
        endpoint: str | None = None,
    ):
        super().__init__(reason if key is None else f"{key}: {reason}", status, endpoint)
        self.reason = reason
        self.key = key


class Bug(MusicBrainzError):
    """Our request is wrong for every entity (a refused User-Agent, an unexpected 4xx)."""
