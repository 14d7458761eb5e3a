"""Spotify Accounts service and Web API client: one method per endpoint, no database.

Two objects, because Spotify limits and classifies *apps*, not users:

* :class:`SpotifyApp` holds what one Spotify app shares across all its users in a process: the
  base URLs and credentials, one pooled ``requests.Session``, the pacer spacing Web API calls
  (Spotify counts the rate limit per app over a rolling 30 s window: a :class:`Pacer` for the
  threads of one process, or a :class:`SharedPacer` for several processes and machines), the
  :class:`Capabilities` learnt at run time (development or extended mode, never configured),
  the "blocked until" time after a long 429, and call counters. It also refreshes tokens; the
  login's authorization code exchange is the web's, through authlib.
* :class:`SpotifyClient` is one user's view: a :class:`TokenSet` and a callback that receives
  refreshed tokens (the caller stores them, encrypted; this module never touches the database).

Pointing the app at the sandbox is only a matter of its URLs (see ``from_settings``).
Errors follow the taxonomy in :mod:`spotify.errors`. Tokens and secrets never reach the logs.
"""

from __future__ import annotations

import base64
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Protocol

import requests

from spotify.errors import (
    AudioFeaturesUnavailable,
    ClientRejected,
    RateLimited,
    ReauthorizationNeeded,
    SpotifyError,
    SpotifyRequestError,
    SpotifyUnavailable,
)
from spotify.recent import possible_gap

log = logging.getLogger(__name__)

SPOTIFY_TOKEN_URL = "https://accounts.spotify.com/api/token"
SPOTIFY_API_URL = "https://api.spotify.com/v1"
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
BATCH_SIZES = {"tracks": 50, "artists": 50, "albums": 20, "audio_features": 100}
SINGLE_OF = {"tracks": "track", "artists": "artist", "albums": "album"}
DEV_SEARCH_LIMIT = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


def mask(secret: str | None) -> str:
    """What a log may show of a token or secret: enough to tell two apart, not to use one."""
    if not secret:
        return "<none>"
    return secret[:4] + "…" if len(secret) > 12 else "…"


def played_at_ms(item: dict) -> int:
    """Milliseconds since the epoch of a recently-played item's ``played_at``."""
    moment = datetime.fromisoformat(item["played_at"].replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def chunked(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class TokenSet:
    """A user's Spotify tokens. ``repr`` masks them, so a logged object leaks nothing."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None  # None or naive (as a database may return it) are accepted
    scope: str = ""
    token_type: str = "Bearer"

    def __post_init__(self) -> None:
        self.access_token = self.access_token or ""
        if isinstance(self.expires_at, str):
            self.expires_at = datetime.fromisoformat(self.expires_at)
        if self.expires_at is None:  # e.g. only a refresh token is stored: refresh first
            self.expires_at = datetime(1970, 1, 1, tzinfo=UTC)
        elif self.expires_at.tzinfo is None:  # stored as naive UTC
            self.expires_at = self.expires_at.replace(tzinfo=UTC)

    @classmethod
    def from_response(
        cls, body: dict, *, now: datetime | None = None, previous_refresh_token: str | None = None
    ) -> TokenSet:
        """From a /api/token answer; a refresh answer without refresh_token keeps the old one."""
        now = now or utcnow()
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or previous_refresh_token,
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
            scope=body.get("scope", ""),
            token_type=body.get("token_type", "Bearer"),
        )

    @property
    def _expiry(self) -> datetime:
        """``expires_at`` as ``__post_init__`` left it: always set, always aware."""
        assert self.expires_at is not None  # only the constructor's argument may be None
        return self.expires_at

    def expired(self, now: datetime | None = None, leeway: float = 60.0) -> bool:
        return (now or utcnow()) >= self._expiry - timedelta(seconds=leeway)

    def to_dict(self) -> dict:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self._expiry.isoformat(),
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TokenSet:
        return cls(
            data.get("access_token") or "",
            data.get("refresh_token"),
            data.get("expires_at"),
            data.get("scope", ""),
            data.get("token_type", "Bearer"),
        )

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={mask(self.access_token)!r}, "
            f"refresh_token={mask(self.refresh_token)!r}, "
            f"expires_at={self._expiry.isoformat()!r}, scope={self.scope!r})"
        )


class Pacer:
    """Keeps at least ``min_interval`` seconds between the starts of calls, across threads.

    Use :meth:`for_app` so every client of one Spotify app in the process shares one pacer.
    """

    _registry: ClassVar[dict[str, Pacer]] = {}
    _registry_lock = threading.Lock()

    def __init__(
        self,
        min_interval: float = 0.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.min_interval = min_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_slot = 0.0

    @classmethod
    def for_app(cls, client_id: str, min_interval: float = 0.0) -> Pacer:
        with cls._registry_lock:
            pacer = cls._registry.get(client_id)
            if pacer is None:
                pacer = cls._registry[client_id] = cls(min_interval)
            else:
                pacer.min_interval = min_interval
            return pacer

    @property
    def interval(self) -> float:
        return self.min_interval

    def reserve(self, max_wait: float = math.inf) -> float:
        """Book the next free slot if it is at most ``max_wait`` seconds away; returns the
        seconds from now until it (:class:`SharedPacer`'s contract)."""
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot)
            if slot - now <= max_wait:
                self._next_slot = slot + self.min_interval
            return slot - now

    def wait(self) -> float:
        """Block until this call may start; returns the seconds waited."""
        delay = self.reserve()
        if delay:
            self._sleep(delay)
        return delay


class SharedPacer(Protocol):
    """Slots at least ``interval`` apart for every process that shares it (several Luigi
    workers, several machines): ``models.schema.pacing.DatabasePacer`` keeps them in the
    database.  :class:`Pacer` is the one-process kind."""

    @property
    def interval(self) -> float: ...

    def reserve(self, max_wait: float) -> float:
        """Book the next slot if at most ``max_wait`` seconds away; the seconds until it."""
        ...


@dataclass
class Capabilities:
    """What this app may do, learnt from Spotify's answers (never from configuration).

    ``batch[kind]`` is True once a batch read of tracks/artists/albums worked, False once one
    answered 403 (a development-mode app: single reads from then on).  :meth:`facts` and
    :meth:`from_facts` are the flat ``{name: allowed}`` form a caller keeps between processes
    (the ETL's run log), so :attr:`app_mode` judges remembered and fresh answers alike.
    """

    batch: dict[str, bool] = field(default_factory=dict)
    audio_features: bool | None = None
    search_limit: int | None = None  # largest search limit Spotify accepted, once learnt

    @property
    def app_mode(self) -> str:
        """``"development"``, ``"extended"`` or ``"unknown"`` (nothing telling learnt yet).

        The one rule: any refused batch read, or a search limited to development mode's 10,
        means development mode; an accepted batch read means extended.  Audio features tell
        nothing (Spotify closed them to most extended apps too).
        """
        if False in self.batch.values() or self.search_limit == DEV_SEARCH_LIMIT:
            return "development"
        if True in self.batch.values():
            return "extended"
        return "unknown"

    def facts(self) -> dict[str, bool]:
        """``{"batch.<kind>" | "audio_features" | "search.wide": allowed}`` for what is known."""
        known = {f"batch.{kind}": allowed for kind, allowed in self.batch.items()}
        if self.audio_features is not None:
            known["audio_features"] = self.audio_features
        if self.search_limit is not None:
            known["search.wide"] = self.search_limit > DEV_SEARCH_LIMIT
        return known

    @classmethod
    def from_facts(cls, facts: dict[str, bool]) -> Capabilities:
        """The inverse of :meth:`facts` (unknown names are ignored)."""
        capabilities = cls()
        for name, allowed in facts.items():
            if name.startswith("batch."):
                capabilities.batch[name.split(".", 1)[1]] = allowed
            elif name == "audio_features":
                capabilities.audio_features = allowed
            elif name == "search.wide" and not allowed:
                capabilities.search_limit = DEV_SEARCH_LIMIT
        return capabilities


@dataclass
class Usage:
    """Calls per endpoint name, 429s per endpoint, and seconds slept waiting for Retry-After."""

    calls: Counter = field(default_factory=Counter)
    throttled: Counter = field(default_factory=Counter)
    waited: float = 0.0

    @property
    def rate_limited(self) -> int:
        return sum(self.throttled.values())


@dataclass
class RecentlyPlayed:
    """Plays newer than the cursor, newest first, and what the ETL needs to record a gap.

    ``possible_gap``: the rule of :func:`spotify.recent.possible_gap` (a full window newer than
    the cursor, or a full window on a first sync). ``cursor``: the newest ``played_at`` in ms (the
    ``after`` to use next time), or the given ``after`` when nothing new came.
    """

    items: list[dict]
    possible_gap: bool
    cursor: int | None
    pages: int = 1


class SpotifyApp:
    """One Spotify app (client id) as used by this process: shared by all users' clients."""

    def __init__(
        self,
        client_id: str,
        client_secret: str = "",
        *,
        token_url: str = SPOTIFY_TOKEN_URL,
        api_url: str = SPOTIFY_API_URL,
        min_interval: float = 0.0,
        pacer: SharedPacer | None = None,
        max_retry_wait: float = 30.0,
        max_total_wait: float = 120.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 15.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.api_url = api_url.rstrip("/")
        # Spotify counts its rate limit per app, over the Web API only (the Accounts service
        # that refreshes tokens is not in that window, nor paced here).
        self.pacer: SharedPacer = pacer or Pacer.for_app(client_id, min_interval)
        self.max_retry_wait = max_retry_wait
        self.max_total_wait = max_total_wait
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = timeout
        self.session = session or requests.Session()
        self.capabilities = Capabilities()
        self.usage = Usage()
        self.blocked_until: datetime | None = None
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings, **options) -> SpotifyApp:
        """From :class:`settings.Settings` (its client id/secret, token and API URLs)."""
        return cls(
            settings.client_id,
            settings.client_secret,
            token_url=settings.oauth_token_url,
            api_url=settings.spotify_api_url,
            **options,
        )

    def client(
        self, tokens: TokenSet | dict, on_tokens: Callable[[TokenSet], None] | None = None
    ) -> SpotifyClient:
        return SpotifyClient(self, tokens, on_tokens)

    def close(self) -> None:
        self.session.close()

    # -- Accounts service --------------------------------------------------------------------
    def refresh(self, refresh_token: str, usage: Usage | None = None) -> TokenSet:
        """New tokens; raises :class:`ReauthorizationNeeded` on ``invalid_grant``."""
        body = self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, usage
        )
        return TokenSet.from_response(body, previous_refresh_token=refresh_token)

    def _token_request(self, form: dict, usage: Usage | None) -> dict:
        headers = {}
        if self.client_secret:
            credentials = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        else:  # a PKCE public client: identified by client_id, proven by the verifier
            form = {**form, "client_id": self.client_id}
        response = self.send(
            "token", "POST", self.token_url, data=form, headers=headers, usage=usage, paced=False
        )
        if response.status_code != 200:
            raise accounts_error(response)
        return response.json()

    # -- transport ---------------------------------------------------------------------------
    def send(
        self,
        endpoint: str,
        method: str,
        url: str,
        *,
        usage: Usage | None = None,
        paced: bool = True,
        **kwargs,
    ) -> requests.Response:
        """One logical call: paced (Web API calls), counted, retried on 429/5xx/connection
        errors (bounded).

        Returns the response for any other status; raises :class:`RateLimited` or
        :class:`SpotifyUnavailable` once the bounds are reached.
        """
        usages = [self.usage] + ([usage] if usage is not None else [])
        budget = usages[-1]
        attempt = 0
        while True:
            self._check_blocked(endpoint)
            if paced:
                delay = self.pacer.reserve(math.inf)
                if delay > 0:
                    time.sleep(delay)
            for u in usages:
                u.calls[endpoint] += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise SpotifyUnavailable(
                        f"no connection: {type(exc).__name__}", None, endpoint
                    ) from None
                self._backoff(endpoint, attempt, "connection error")
                continue
            status = response.status_code
            if status == 429:
                for u in usages:
                    u.throttled[endpoint] += 1
                wait = retry_after_seconds(response)
                if wait > self.max_retry_wait or budget.waited + wait > self.max_total_wait:
                    resume_at = utcnow() + timedelta(seconds=wait)
                    self.blocked_until = max(self.blocked_until or resume_at, resume_at)
                    log.warning(
                        "Spotify rate limit on %s: Retry-After %ss, resuming after %s",
                        endpoint,
                        wait,
                        resume_at.isoformat(),
                    )
                    raise RateLimited(wait, resume_at, endpoint)
                log.info("Spotify 429 on %s: waiting %ss", endpoint, wait)
                budget.waited += wait
                self._sleep(wait)
                continue
            if status in TRANSIENT_STATUSES:
                attempt += 1
                if attempt > self.max_retries:
                    raise SpotifyUnavailable(error_message(response), status, endpoint)
                self._backoff(endpoint, attempt, str(status))
                continue
            log.debug("Spotify %s %s -> %s", method, endpoint, status)
            return response

    def _check_blocked(self, endpoint: str) -> None:
        if self.blocked_until is None:
            return
        remaining = (self.blocked_until - utcnow()).total_seconds()
        if remaining > 0:
            raise RateLimited(remaining, self.blocked_until, endpoint)
        self.blocked_until = None

    def _backoff(self, endpoint: str, attempt: int, why: str) -> None:
        delay = min(self.max_retry_wait, self.backoff * 2 ** (attempt - 1)) * random.uniform(
            0.5, 1.0
        )
        log.info("Spotify %s on %s: retry %d in %.2fs", why, endpoint, attempt, delay)
        self._sleep(delay)


def retry_after_seconds(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or "error"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or response.reason)
    if isinstance(error, str):
        return f"{error}: {body.get('error_description', '')}".rstrip(": ")
    return response.reason or "error"


def accounts_error(response: requests.Response) -> SpotifyError:
    """Map a /api/token error body (``{"error": code, "error_description": ...}``)."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    message = error_message(response)
    if code == "invalid_grant":
        return ReauthorizationNeeded(message, response.status_code, "token")
    if code == "invalid_client":
        return ClientRejected(message, response.status_code, "token")
    if response.status_code == 400:
        return SpotifyRequestError(message, response.status_code, "token")
    return SpotifyError(message, response.status_code, "token")


def api_error(response: requests.Response, endpoint: str) -> SpotifyError:
    message = error_message(response)
    if response.status_code == 400:
        return SpotifyRequestError(message, 400, endpoint)
    return SpotifyError(message, response.status_code, endpoint)


class SpotifyClient:
    """One user's Web API client. Refreshes tokens itself and hands new ones to ``on_tokens``."""

    def __init__(
        self,
        app: SpotifyApp,
        tokens: TokenSet | dict,
        on_tokens: Callable[[TokenSet], None] | None = None,
    ):
        self.app = app
        self.tokens = tokens if isinstance(tokens, TokenSet) else TokenSet.from_dict(tokens)
        self.on_tokens = on_tokens
        self.usage = Usage()

    @property
    def calls(self) -> Counter:
        """Calls this client made, by endpoint name (``recently_played``, ``tracks``, ...)."""
        return self.usage.calls

    @property
    def rate_limited(self) -> int:
        """429 answers this client received."""
        return self.usage.rate_limited

    @property
    def capabilities(self) -> Capabilities:
        return self.app.capabilities

    @property
    def app_mode(self) -> str:
        return self.app.capabilities.app_mode

    # -- tokens and requests -----------------------------------------------------------------
    def refresh(self) -> TokenSet:
        if not self.tokens.refresh_token:
            raise ReauthorizationNeeded("no refresh token stored", None, "token")
        self.tokens = self.app.refresh(self.tokens.refresh_token, self.usage)
        log.info("Spotify tokens refreshed (access %s)", mask(self.tokens.access_token))
        if self.on_tokens is not None:
            self.on_tokens(self.tokens)
        return self.tokens

    def get(self, endpoint: str, path_or_url: str, params: dict | None = None) -> dict:
        """GET a Web API path (or a ``next`` URL Spotify gave); refresh once on 401."""
        url = path_or_url if path_or_url.startswith("http") else self.app.api_url + path_or_url
        if self.tokens.expired():
            self.refresh()
        refreshed = False
        while True:
            response = self.app.send(
                endpoint,
                "GET",
                url,
                params=params,
                usage=self.usage,
                headers={"Authorization": f"Bearer {self.tokens.access_token}"},
            )
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.refresh()
                continue
            if response.status_code == 401:
                raise ReauthorizationNeeded(error_message(response), 401, endpoint)
            if response.status_code >= 400:
                raise api_error(response, endpoint)
            return response.json()

    # -- endpoints ---------------------------------------------------------------------------
    def me(self) -> dict:
        """The user's profile. ``email``, ``country``, ``product`` may be absent (dev mode)."""
        return self.get("me", "/me")

    def recently_played(
        self, after: int | None = None, *, limit: int = 50, max_pages: int = 10
    ) -> RecentlyPlayed:
        """Plays after ``after`` (ms), following ``next`` until Spotify has no more."""
        params = {"limit": limit}
        if after is not None:
            params["after"] = int(after)
        page = self.get("recently_played", "/me/player/recently-played", params)
        items: dict[str, dict] = {}
        pages = 1
        while True:
            for item in page.get("items") or []:
                items.setdefault(item["played_at"], item)
            next_url = page.get("next")
            if not next_url or pages >= max_pages or not page.get("items"):
                break
            page = self.get("recently_played", next_url)
            pages += 1
        ordered = sorted(items.values(), key=played_at_ms, reverse=True)
        if after is not None:  # never trust a page to respect the cursor
            ordered = [item for item in ordered if played_at_ms(item) > after]
        gap = possible_gap(after, [played_at_ms(item) for item in ordered]) is not None
        cursor = played_at_ms(ordered[0]) if ordered else after
        return RecentlyPlayed(ordered, gap, cursor, pages)

    def tracks(self, ids: Iterable[str]) -> dict[str, dict | None]:
        """Track objects by id (None for ids Spotify does not know), 50 per call."""
        return self._many("tracks", ids)

    def artists(self, ids: Iterable[str]) -> dict[str, dict | None]:
        """Artist objects by id, 50 per call. ``popularity``/``followers`` may be absent."""
        return self._many("artists", ids)

    def albums(self, ids: Iterable[str]) -> dict[str, dict | None]:
        """Album objects by id, 20 per call."""
        return self._many("albums", ids)

    def track(self, track_id: str) -> dict | None:
        return self._one("track", f"/tracks/{track_id}")

    def artist(self, artist_id: str) -> dict | None:
        return self._one("artist", f"/artists/{artist_id}")

    def album(self, album_id: str) -> dict | None:
        return self._one("album", f"/albums/{album_id}")

    def audio_features(self, ids: Iterable[str]) -> dict[str, dict | None]:
        """Features by track id, 100 per call; :class:`AudioFeaturesUnavailable` on 403."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        if self.capabilities.audio_features is False:
            raise AudioFeaturesUnavailable(
                "audio features are closed to this app", 403, "audio_features"
            )
        found: dict[str, dict | None] = {}
        for chunk in chunked(wanted, BATCH_SIZES["audio_features"]):
            try:
                body = self.get("audio_features", "/audio-features", {"ids": ",".join(chunk)})
            except SpotifyError as exc:
                if exc.status == 403:
                    self.capabilities.audio_features = False
                    raise AudioFeaturesUnavailable(exc.message, 403, "audio_features") from None
                raise
            self.capabilities.audio_features = True
            # Spotify answers one object (or null) per id asked, in order.
            found.update(zip(chunk, body.get("audio_features") or [], strict=False))
        return found

    def search_tracks(self, query: str, limit: int | None = None) -> list[dict]:
        """``GET /search?type=track``; learns a development-mode limit of 10 from a 400."""
        wanted = limit or self.capabilities.search_limit or 20
        if self.capabilities.search_limit:
            wanted = min(wanted, self.capabilities.search_limit)
        try:
            body = self.get("search", "/search", {"q": query, "type": "track", "limit": wanted})
        except SpotifyRequestError:
            if wanted <= DEV_SEARCH_LIMIT:
                raise
            self.capabilities.search_limit = DEV_SEARCH_LIMIT
            log.info("Spotify search refused limit %d: using %d", wanted, DEV_SEARCH_LIMIT)
            return self.search_tracks(query, DEV_SEARCH_LIMIT)
        return [t for t in (body.get("tracks") or {}).get("items") or [] if t]

    def find_track(self, track_name: str, artist_name: str) -> dict | None:
        """The track an imported play (names only) refers to, or None if nothing matches well.

        A match needs the same name (ignoring case, punctuation and a "- Remastered"-style
        suffix) and one artist with the same name; the most popular of those wins.
        """
        results = self.search_tracks(
            f'track:"{_unquoted(track_name)}" artist:"{_unquoted(artist_name)}"'
        )
        name, artist = _comparable(track_name), _comparable(artist_name)
        matches = [
            t
            for t in results
            if _comparable(t.get("name", "")) == name
            and any(_comparable(a.get("name", "")) == artist for a in t.get("artists", []))
        ]
        if not matches:
            return None
        return max(matches, key=lambda t: t.get("popularity") or 0)

    # -- batching ----------------------------------------------------------------------------
    def _many(self, kind: str, ids: Iterable[str]) -> dict[str, dict | None]:
        """Batch reads up to the endpoint's maximum; single reads once the batch is forbidden."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        found: dict[str, dict | None] = {}
        for chunk in chunked(wanted, BATCH_SIZES[kind]):
            if self.capabilities.batch.get(kind) is False:
                break
            try:
                body = self.get(kind, f"/{kind}", {"ids": ",".join(chunk)})
            except SpotifyError as exc:
                if exc.status != 403:
                    raise
                self.capabilities.batch[kind] = False
                log.info("Spotify refused batch %s (development-mode app): single reads", kind)
                break
            self.capabilities.batch[kind] = True
            found.update(zip(chunk, body.get(kind) or [], strict=False))
        single = SINGLE_OF[kind]
        for spotify_id in wanted:
            if spotify_id not in found:
                found[spotify_id] = self._one(single, f"/{kind}/{spotify_id}")
        return found

    def _one(self, endpoint: str, path: str) -> dict | None:
        try:
            return self.get(endpoint, path)
        except SpotifyError as exc:
            if exc.status == 404:
                return None
            raise


def _unquoted(text: str) -> str:
    """A name safe inside a quoted search filter (a quote would end the filter)."""
    return text.replace('"', " ").strip()


def _comparable(text: str) -> str:
    text = text.casefold()
    for marker in (" - ", " ("):
        if marker in text:
            text = text.split(marker, 1)[0]
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())
