"""MusicBrainz ws/2 client: batched reads for a matcher, typed answers, no database.

One :class:`MusicBrainzClient` holds one pooled ``requests.Session``, the base URL (the real
service or the sandbox: see ``musicbrainz.sandbox``), the User-Agent MusicBrainz requires
(``SpotifyTracker/<version> ( <contact> )``), a timeout for every call and a :class:`Pacer`
(:mod:`musicbrainz.pacing`) keeping the whole machine at one request per ``interval``.

Every method asks as many entities per call as MusicBrainz's documented API allows:

=============================  ===============================================  ===========
method                         request                                          per call
=============================  ===============================================  ===========
``recordings_by_isrcs``        ``recording?query=isrc:(A OR B ...)``, paged     100 results
``search_recordings``          ``recording?query=recording:".." AND artist:..``  one track
``artists_by_ids``             ``artist?query=arid:(A OR B ...)``               100 MBIDs
``artists_by_spotify_urls``    ``url?resource=..&resource=..&inc=artist-rels``  100 URLs
``release_groups_by_ids``      ``release-group?query=rgid:(A OR B ...)``        100 MBIDs
``genres``                     ``genre/all?limit=100&offset=N``                 100 genres
=============================  ===============================================  ===========

What search answers carry (read in MusicBrainz's search indexer, metabrainz/sir,
``sir/wscompat/convert.py``, which builds the documents the search server returns): recordings
carry title, length, ``first-release-date``, artist credits, ISRCs, **tags** with counts and
their releases, each with its release group's id, title and types (not the group's first-release
date); artists carry name, sort-name, type, country, life-span, disambiguation and **tags**;
release groups carry title, types, ``first-release-date`` and tags. Search answers carry **no
genres**: MusicBrainz's genres are the curated subset of tags listed by ``genre/all``, so a
caller keeps the tags whose names are genres (:meth:`Artist.genre_tags`). Lookups with
``inc=genres`` do carry them (``Artist.genres``), at one call per entity.

Errors follow :mod:`musicbrainz.errors`. A batch method never raises :class:`GiveUp`: it
returns a :class:`Batch` whose ``failed`` names each entity whose answer was unusable, with the
reason, so one malformed entity never stops the others. :class:`RetryLater` stops the whole
batch (what was answered before it is lost to this call; the caller's state decides what to ask
next time), :class:`Bug` too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

import requests

from musicbrainz.errors import Bug, GiveUp, MusicBrainzError, RetryLater
from musicbrainz.pacing import LocalPacer, Pacer

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://musicbrainz.org/ws/2/"
APP_NAME = "SpotifyTracker"
SEARCH_LIMIT = 100  # the search server's largest page
URL_LOOKUP_LIMIT = 100  # resources in one URL lookup
GENRE_PAGE = 100
BUSY_STATUSES = frozenset({429, 500, 502, 503, 504})
LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/&|])')
ISRC_SHAPE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")

T = TypeVar("T")


# -- answers -------------------------------------------------------------------------------------
# How many slots in a row a late-waking process may miss before it sends anyway.
MISSED_SLOTS = 5


@dataclass(frozen=True)
class Tag:
    """A folksonomy tag and its votes (``count``); genres are the tags on the genre list."""

    name: str
    count: int


@dataclass(frozen=True)
class Genre:
    """A genre: on an entity (``inc=genres``) with its votes; on the genre list ``count`` is 0."""

    id: str
    name: str
    count: int = 0
    disambiguation: str = ""


@dataclass(frozen=True)
class ArtistCredit:
    """One name of a recording's artist credit: the artist, the credited name, the join."""

    artist_id: str
    artist_name: str
    credited_name: str
    joinphrase: str = ""
    disambiguation: str = ""


@dataclass(frozen=True)
class ReleaseGroup:
    """A release group (an album, single, EP...). ``first_release_date`` is a partial date
    ("YYYY", "YYYY-MM" or "YYYY-MM-DD") or None: inside a recording's search answer it is never
    given (search the group by ``rgid`` for it)."""

    id: str
    title: str
    primary_type: str | None = None
    secondary_types: tuple[str, ...] = ()
    first_release_date: str | None = None
    tags: tuple[Tag, ...] = ()
    score: int | None = None

    @property
    def first_release_year(self) -> int | None:
        return year_of(self.first_release_date)


@dataclass(frozen=True)
class Recording:
    """A recording. ``length_ms`` may be None; ``release_groups`` are those of its releases
    (deduplicated, in the answer's order); ``score`` is the search score (0-100) or None."""

    id: str
    title: str
    length_ms: int | None
    first_release_date: str | None
    artist_credits: tuple[ArtistCredit, ...]
    isrcs: tuple[str, ...] = ()
    release_groups: tuple[ReleaseGroup, ...] = ()
    tags: tuple[Tag, ...] = ()
    disambiguation: str = ""
    score: int | None = None

    @property
    def artist_ids(self) -> tuple[str, ...]:
        return tuple(credit.artist_id for credit in self.artist_credits)

    @property
    def first_release_year(self) -> int | None:
        return year_of(self.first_release_date)


@dataclass(frozen=True)
class Artist:
    """An artist. From a search or a URL relationship ``genres`` is empty (see the module's
    docstring: use :meth:`genre_tags`); ``tags`` are empty from a URL relationship too."""

    id: str
    name: str
    sort_name: str
    type: str | None = None
    country: str | None = None
    begin_year: int | None = None
    disambiguation: str = ""
    tags: tuple[Tag, ...] = ()
    genres: tuple[Genre, ...] = ()
    score: int | None = None

    def genre_tags(self, genre_names: Iterable[str]) -> tuple[Tag, ...]:
        """The tags that are genres (named on the genre list), most votes first."""
        names = {name.casefold() for name in genre_names}
        return tuple(
            sorted(
                (t for t in self.tags if t.name.casefold() in names),
                key=lambda t: (-t.count, t.name),
            )
        )


@dataclass
class Batch(Generic[T]):
    """What a batch method learnt about each key asked (each key lands in exactly one of them):

    ``found``: key -> answer; ``unknown``: keys MusicBrainz does not know (a definite "no");
    ``failed``: key -> :class:`GiveUp` naming why the answer for it was unusable (log it).
    """

    found: dict[str, T] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    failed: dict[str, GiveUp] = field(default_factory=dict)


# -- parsing -------------------------------------------------------------------------------------
class Malformed(ValueError):
    """An answer or entity this client cannot read (becomes a :class:`GiveUp`)."""


def year_of(partial_date: str | None) -> int | None:
    """The year of a partial date ("1994", "1994-05", "1994-05-17"), or None."""
    if partial_date and len(partial_date) >= 4 and partial_date[:4].isdigit():
        return int(partial_date[:4])
    return None


def is_mbid(text: str) -> bool:
    """True for a UUID as MusicBrainz writes MBIDs (36 characters, lower or upper case)."""
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def _text(body: dict, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise Malformed(f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise Malformed(f"{key!r} is not text")
    return value


def _list(body: dict, key: str) -> list:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key!r} is not a list")
    return value


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def _mbid(body: dict) -> str:
    mbid = _text(body, "id", required=True)
    assert mbid is not None
    if not is_mbid(mbid):
        raise Malformed(f"id {mbid!r} is not an MBID")
    return mbid


def parse_tags(body: dict) -> tuple[Tag, ...]:
    tags = []
    for raw in _list(body, "tags"):
        raw = _object(raw, "a tag")
        count = raw.get("count", 0)
        if not isinstance(count, int) or isinstance(count, bool):
            raise Malformed("a tag's count is not a number")
        tags.append(Tag(_text(raw, "name", required=True) or "", count))
    return tuple(tags)


def parse_genres(body: dict) -> tuple[Genre, ...]:
    genres = []
    for raw in _list(body, "genres"):
        raw = _object(raw, "a genre")
        count = raw.get("count", 0)
        if not isinstance(count, int) or isinstance(count, bool):
            raise Malformed("a genre's count is not a number")
        genres.append(
            Genre(
                _mbid(raw),
                _text(raw, "name", required=True) or "",
                count,
                _text(raw, "disambiguation") or "",
            )
        )
    return tuple(genres)


def parse_artist(body: Any) -> Artist:
    body = _object(body, "the artist")
    life_span = body.get("life-span") or {}
    begin = _text(_object(life_span, "life-span"), "begin")
    return Artist(
        id=_mbid(body),
        name=_text(body, "name", required=True) or "",
        sort_name=_text(body, "sort-name") or _text(body, "name") or "",
        type=_text(body, "type"),
        country=_text(body, "country"),
        begin_year=year_of(begin),
        disambiguation=_text(body, "disambiguation") or "",
        tags=parse_tags(body),
        genres=parse_genres(body),
        score=_score(body),
    )


def parse_release_group(body: Any) -> ReleaseGroup:
    body = _object(body, "the release group")
    secondary = _list(body, "secondary-types")
    if not all(isinstance(s, str) for s in secondary):
        raise Malformed("secondary-types are not text")
    return ReleaseGroup(
        id=_mbid(body),
        title=_text(body, "title", required=True) or "",
        primary_type=_text(body, "primary-type"),
        secondary_types=tuple(secondary),
        first_release_date=_text(body, "first-release-date") or None,
        tags=parse_tags(body),
        score=_score(body),
    )


def parse_recording(body: Any) -> Recording:
    body = _object(body, "the recording")
    length = body.get("length")
    if length is not None and (not isinstance(length, int) or isinstance(length, bool)):
        raise Malformed("length is not a number of milliseconds")
    credits = []
    for raw in _list(body, "artist-credit"):
        raw = _object(raw, "an artist credit")
        artist = _object(raw.get("artist"), "an artist credit's artist")
        credits.append(
            ArtistCredit(
                artist_id=_mbid(artist),
                artist_name=_text(artist, "name", required=True) or "",
                credited_name=_text(raw, "name") or _text(artist, "name") or "",
                joinphrase=_text(raw, "joinphrase") or "",
                disambiguation=_text(artist, "disambiguation") or "",
            )
        )
    isrcs = _list(body, "isrcs")
    if not all(isinstance(i, str) for i in isrcs):
        raise Malformed("isrcs are not text")
    groups: dict[str, ReleaseGroup] = {}
    for release in _list(body, "releases"):
        release = _object(release, "a release")
        if release.get("release-group") is not None:
            group = parse_release_group(release["release-group"])
            groups.setdefault(group.id, group)
    return Recording(
        id=_mbid(body),
        title=_text(body, "title", required=True) or "",
        length_ms=length,
        first_release_date=_text(body, "first-release-date") or None,
        artist_credits=tuple(credits),
        isrcs=tuple(i.upper() for i in isrcs),
        release_groups=tuple(groups.values()),
        tags=parse_tags(body),
        disambiguation=_text(body, "disambiguation") or "",
        score=_score(body),
    )


def _score(body: dict) -> int | None:
    score = body.get("score")
    if score is None:
        return None
    if isinstance(score, str) and score.isdigit():  # older search servers sent text
        return int(score)
    if not isinstance(score, int) or isinstance(score, bool):
        raise Malformed("score is not a number")
    return score


def quoted(text: str) -> str:
    """``text`` as one Lucene phrase: quoted, its special characters escaped."""
    return '"' + LUCENE_SPECIAL.sub(r"\\\1", text) + '"'


def spotify_artist_url(spotify_id: str) -> str:
    """The URL MusicBrainz keeps in a Spotify artist's streaming relationship."""
    return f"https://open.spotify.com/artist/{spotify_id}"


def chunked(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- the client ----------------------------------------------------------------------------------
class MusicBrainzClient:
    """ws/2 for one process: paced, counted (``calls`` per endpoint), never sleeping long.

    ``pacer``: shared with every other client that must keep the same pace (default: a
    :class:`LocalPacer` of ``interval`` seconds, good for one process only). ``max_wait``: the
    longest the client sleeps for a slot or a ``Retry-After``; anything longer raises
    :class:`RetryLater` at once. ``retries``: extra attempts after a busy answer, a timeout or a
    connection error, each after a short pause; then :class:`RetryLater` with ``until`` =
    ``Retry-After`` or now + ``defer`` seconds.
    """

    def __init__(
        self,
        *,
        contact: str,
        version: str,
        base_url: str = DEFAULT_BASE_URL,
        interval: float = 1.0,
        pacer: Pacer | None = None,
        timeout: float = 10.0,
        max_wait: float = 5.0,
        retries: int = 1,
        defer: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not contact or not contact.strip():
            raise ValueError("MusicBrainz needs a contact (a URL or an e-mail) in the User-Agent")
        self.base_url = base_url.rstrip("/") + "/"
        self.user_agent = f"{APP_NAME}/{version} ( {contact.strip()} )"
        self.pacer: Pacer = pacer if pacer is not None else LocalPacer(interval)
        self.timeout = timeout
        self.max_wait = max_wait
        self.retries = retries
        self.defer = defer
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": self.user_agent, "Accept": "application/json"})
        self.calls: Counter[str] = Counter()
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings, *, pacer: Pacer | None = None, **options) -> MusicBrainzClient:
        """From :class:`settings.Settings` (``musicbrainz_base_url``, ``musicbrainz_contact``,
        ``musicbrainz_min_interval``, ``version``); pass the machine-wide pacer
        (``models.schema.pacing.DatabasePacer``) wherever more than one process may call."""
        return cls(
            contact=settings.musicbrainz_contact,
            version=settings.version,
            base_url=settings.musicbrainz_base_url,
            interval=settings.musicbrainz_min_interval,
            pacer=pacer,
            **options,
        )

    def close(self) -> None:
        self.session.close()

    # -- transport -------------------------------------------------------------------------------
    def get(self, endpoint: str, path: str, params: list[tuple[str, str]] | dict) -> dict | None:
        """One paced GET of ``base_url + path`` with ``fmt=json``; the decoded object, or None
        for a 404. Raises :class:`RetryLater`, :class:`Bug`, or :class:`GiveUp` (400, or a
        body that is not a JSON object)."""
        query = list(params.items()) if isinstance(params, dict) else list(params)
        query.append(("fmt", "json"))
        url = self.base_url + path
        attempt = 0
        while True:
            self._take_slot(endpoint)
            self.calls[endpoint] += 1
            try:
                response = self.session.get(url, params=query, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                why = "timed out" if isinstance(exc, requests.Timeout) else "no connection"
                attempt += 1
                if attempt > self.retries:
                    raise RetryLater(why, self._later(self.defer), None, endpoint) from None
                self._pause(endpoint, attempt, why)
                continue
            status = response.status_code
            if status in BUSY_STATUSES:
                wait = retry_after(response)
                attempt += 1
                if wait is not None and wait > self.max_wait:
                    until = self._later(wait)
                    self.pacer.hold(until.timestamp())
                    raise RetryLater(f"busy, Retry-After {wait:.0f} s", until, status, endpoint)
                if attempt > self.retries:
                    until = self._later(wait if wait is not None else self.defer)
                    raise RetryLater("busy", until, status, endpoint)
                if wait is not None:
                    self.pacer.hold(time.time() + wait)
                else:
                    self._pause(endpoint, attempt, f"{status}")
                continue
            if status == 404:
                return None
            if status == 400:
                raise GiveUp(error_text(response), None, 400, endpoint)
            if status == 403:
                raise Bug(
                    f"refused ({error_text(response)}); User-Agent {self.user_agent!r}",
                    403,
                    endpoint,
                )
            if status >= 400:
                raise Bug(f"unexpected answer: {error_text(response)}", status, endpoint)
            try:
                body = response.json()
            except ValueError:
                raise GiveUp("the answer is not JSON", None, status, endpoint) from None
            if not isinstance(body, dict):
                raise GiveUp("the answer is not a JSON object", None, status, endpoint)
            return body

    def _take_slot(self, endpoint: str) -> None:
        """Book a slot and wait for it.  A process woken well after its slot (a loaded
        machine) books another instead of sending late: a late request lands just before the
        next process's, two requests closer than the pace allows."""
        for _ in range(MISSED_SLOTS):
            booked = time.monotonic()
            delay = self.pacer.reserve(self.max_wait)
            if delay > self.max_wait:
                raise RetryLater(
                    f"paced: next slot in {delay:.0f} s", self._later(delay), None, endpoint
                )
            if delay > 0:
                self._sleep(delay)
            if time.monotonic() - booked - delay <= self.pacer.interval / 2:
                return
            log.info("MusicBrainz slot on %s missed (woken late): booking another", endpoint)

    def _pause(self, endpoint: str, attempt: int, why: str) -> None:
        delay = min(self.max_wait, self.pacer.interval * 2**attempt)
        log.info("MusicBrainz %s on %s: retry %d in %.2fs", why, endpoint, attempt, delay)
        self._sleep(delay)

    @staticmethod
    def _later(seconds: float) -> datetime:
        return utcnow() + timedelta(seconds=seconds)

    # -- searches ----------------------------------------------------------------------------------
    def _search_pages(
        self, entity: str, query: str, *, limit: int = SEARCH_LIMIT, all_pages: bool = True
    ) -> Iterator[dict]:
        """Each result object of a search, following offsets while ``count`` says more."""
        offset = 0
        plural = "release-groups" if entity == "release-group" else f"{entity}s"
        while True:
            try:
                body = self.get(
                    entity, entity, {"query": query, "limit": str(limit), "offset": str(offset)}
                )
            except GiveUp as exc:  # a 400 or a body that is not JSON: name the query
                raise GiveUp(exc.reason, query, exc.status, entity) from None
            if body is None:
                raise GiveUp("the search answered 404", query, 404, entity)
            results = body.get(plural)
            count = body.get("count")
            if not isinstance(results, list) or not isinstance(count, int):
                raise GiveUp(f"the answer has no {plural!r} list or count", query, None, entity)
            yield from results
            offset += len(results)
            if not all_pages or not results or offset >= count:
                return

    def _by_ids(
        self,
        entity: str,
        field_name: str,
        mbids: Iterable[str],
        parse: Callable[[Any], T],
    ) -> Batch[T]:
        batch: Batch[T] = Batch()
        wanted = list(dict.fromkeys(m.lower() for m in mbids if m))
        for bad in [m for m in wanted if not is_mbid(m)]:
            batch.failed[bad] = GiveUp("not an MBID", bad, None, entity)
        valid = [m for m in wanted if is_mbid(m)]
        for chunk in chunked(valid, SEARCH_LIMIT):
            query = f"{field_name}:({' OR '.join(chunk)})"
            unreadable = 0
            try:
                for raw in self._search_pages(entity, query):
                    unreadable += not self._collect(batch, raw, parse, set(chunk), entity)
            except GiveUp as exc:
                for key in chunk:
                    if key not in batch.found:
                        batch.failed.setdefault(key, GiveUp(exc.reason, key, exc.status, entity))
            self._settle(batch, chunk, unreadable, entity)
        return batch

    @staticmethod
    def _settle(batch: Batch, chunk: list[str], unreadable: int, entity: str) -> None:
        """The keys of ``chunk`` still without an answer: unknown to MusicBrainz, unless a
        result that could not be attributed was in the answer (then it may have been theirs)."""
        for key in chunk:
            if key in batch.found or key in batch.failed:
                continue
            if unreadable:
                batch.failed[key] = GiveUp(
                    f"{unreadable} unreadable result(s) in the answer may include it",
                    key,
                    None,
                    entity,
                )
            else:
                batch.unknown.add(key)

    @staticmethod
    def _collect(
        batch: Batch[T], raw: Any, parse: Callable[[Any], T], asked: set, entity: str
    ) -> bool:
        """File one search result under the key it answers; False when it cannot be read
        nor attributed to a key."""
        key = raw.get("id") if isinstance(raw, dict) else None
        try:
            value = parse(raw)
        except Malformed as exc:
            if isinstance(key, str) and key in asked:
                batch.failed[key] = GiveUp(f"malformed answer: {exc}", key, None, entity)
                return True
            log.warning("MusicBrainz %s: skipped a malformed result: %s", entity, exc)
            return False
        if isinstance(key, str) and key in asked:
            batch.found[key] = value
        return True

    def recordings_by_isrcs(self, isrcs: Iterable[str]) -> Batch[list[Recording]]:
        """The recordings carrying each ISRC (several when MusicBrainz has several; ``unknown``
        when none), 100 results per call: ``recording?query=isrc:(A OR B ...)``, paged while the
        answer's ``count`` says more. An ISRC is sent upper-case; a malformed one fails locally.
        """
        batch: Batch[list[Recording]] = Batch()
        wanted = list(dict.fromkeys(i.strip().upper() for i in isrcs if i and i.strip()))
        for bad in [i for i in wanted if not ISRC_SHAPE.match(i)]:
            batch.failed[bad] = GiveUp("not an ISRC", bad, None, "recording")
        valid = [i for i in wanted if ISRC_SHAPE.match(i)]
        for chunk in chunked(valid, SEARCH_LIMIT):
            asked = set(chunk)
            found: dict[str, dict[str, Recording]] = {}
            unreadable = 0
            try:
                for raw in self._search_pages("recording", f"isrc:({' OR '.join(chunk)})"):
                    try:
                        recording = parse_recording(raw)
                    except Malformed as exc:
                        named = _isrcs_named(raw) & asked
                        for key in named:
                            batch.failed[key] = GiveUp(
                                f"malformed recording: {exc}", key, None, "recording"
                            )
                        if not named:
                            unreadable += 1
                            log.warning(
                                "MusicBrainz recording: skipped a malformed result: %s", exc
                            )
                        continue
                    for key in set(recording.isrcs) & asked:
                        found.setdefault(key, {})[recording.id] = recording
            except GiveUp as exc:
                for key in chunk:
                    batch.failed.setdefault(key, GiveUp(exc.reason, key, exc.status, "recording"))
                continue
            for key in chunk:
                if key in found and key not in batch.failed:
                    batch.found[key] = list(found[key].values())
            self._settle(batch, chunk, unreadable, "recording")
        return batch

    def search_recordings(
        self,
        title: str,
        artist: str,
        duration_ms: int | None = None,
        *,
        tolerance_ms: int = 15_000,
        limit: int = 10,
    ) -> list[Recording]:
        """Candidates for one track known by names: ``recording:"title" AND artist:"name"``,
        with ``dur:[a TO b]`` (± ``tolerance_ms``) when the duration is known; best score first.
        The caller judges them (same artist, closest length). Raises :class:`GiveUp` when the
        answer is unusable, naming the query."""
        query = f"recording:{quoted(title)} AND artist:{quoted(artist)}"
        if duration_ms:
            low, high = max(0, duration_ms - tolerance_ms), duration_ms + tolerance_ms
            query += f" AND dur:[{low} TO {high}]"
        found = []
        for raw in self._search_pages("recording", query, limit=limit, all_pages=False):
            try:
                found.append(parse_recording(raw))
            except Malformed as exc:
                raise GiveUp(f"malformed recording: {exc}", query, None, "recording") from None
        return found

    def artists_by_ids(self, mbids: Iterable[str]) -> Batch[Artist]:
        """Artists by MBID, 100 per call (``artist?query=arid:(A OR B ...)``): tags, type,
        country, begin year; no genres (see :meth:`Artist.genre_tags`)."""
        return self._by_ids("artist", "arid", mbids, parse_artist)

    def release_groups_by_ids(self, mbids: Iterable[str]) -> Batch[ReleaseGroup]:
        """Release groups by MBID, 100 per call (``release-group?query=rgid:(...)``): types,
        first-release date, tags."""
        return self._by_ids("release-group", "rgid", mbids, parse_release_group)

    def artists_by_spotify_urls(self, urls: Iterable[str]) -> Batch[list[Artist]]:
        """The MusicBrainz artists linked to each Spotify URL (see :func:`spotify_artist_url`),
        100 URLs per call (``url?resource=...&resource=...&inc=artist-rels``). Usually one
        artist; ``unknown`` when MusicBrainz has no such URL or it links no artist. The artists
        carry id, name, sort-name, type, country and disambiguation only."""
        batch: Batch[list[Artist]] = Batch()
        wanted = list(dict.fromkeys(u.strip() for u in urls if u and u.strip()))
        for chunk in chunked(wanted, URL_LOOKUP_LIMIT):
            params = [("resource", u) for u in chunk] + [("inc", "artist-rels")]
            try:
                body = self.get("url", "url", params)
            except GiveUp as exc:
                for key in chunk:
                    batch.failed[key] = GiveUp(exc.reason, key, exc.status, "url")
                continue
            if body is None:  # one resource asked, and MusicBrainz does not know it
                batch.unknown.update(chunk)
                continue
            if len(chunk) == 1 and "resource" in body:
                objects: Any = [body]
            else:
                objects = body.get("urls")
            if not isinstance(objects, list):
                for key in chunk:
                    batch.failed[key] = GiveUp("the answer has no 'urls' list", key, None, "url")
                continue
            asked = set(chunk)
            for raw in objects:
                resource = raw.get("resource") if isinstance(raw, dict) else None
                if resource not in asked:
                    continue
                try:
                    batch.found[resource] = _linked_artists(raw)
                except Malformed as exc:
                    batch.failed[resource] = GiveUp(
                        f"malformed URL object: {exc}", resource, None, "url"
                    )
            for key in chunk:
                if key not in batch.found and key not in batch.failed:
                    batch.unknown.add(key)
                elif key in batch.found and not batch.found[key]:
                    del batch.found[key]
                    batch.unknown.add(key)
        return batch

    def genres(self) -> list[Genre]:
        """Every genre MusicBrainz curates (``genre/all``, 100 per page; about two thousand)."""
        genres: list[Genre] = []
        offset = 0
        while True:
            body = self.get("genre", "genre/all", {"limit": str(GENRE_PAGE), "offset": str(offset)})
            if body is None:
                raise GiveUp("the genre list answered 404", "genre/all", 404, "genre")
            page, count = body.get("genres"), body.get("genre-count")
            if not isinstance(page, list) or not isinstance(count, int):
                raise GiveUp("the answer has no 'genres' list or count", "genre/all", None, "genre")
            try:
                genres.extend(parse_genres({"genres": page}))
            except Malformed as exc:
                raise GiveUp(f"malformed genre: {exc}", "genre/all", None, "genre") from None
            offset += len(page)
            if not page or offset >= count:
                return genres


def _isrcs_named(raw: Any) -> set[str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("isrcs"), list):
        return set()
    return {i.upper() for i in raw["isrcs"] if isinstance(i, str)}


def _linked_artists(raw: dict) -> list[Artist]:
    artists = []
    for relation in _list(raw, "relations"):
        relation = _object(relation, "a relation")
        if relation.get("target-type") != "artist":
            continue
        artists.append(parse_artist(relation.get("artist")))
    return artists


def retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds (a number of seconds or an HTTP date), or None if absent."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def error_text(response: requests.Response) -> str:
    """MusicBrainz's own words: ``{"error": ..., "help": ...}``, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "error").strip()[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return response.reason or "error"


__all__ = [
    "DEFAULT_BASE_URL",
    "Artist",
    "ArtistCredit",
    "Batch",
    "Bug",
    "Genre",
    "GiveUp",
    "MusicBrainzClient",
    "MusicBrainzError",
    "Recording",
    "ReleaseGroup",
    "RetryLater",
    "Tag",
    "is_mbid",
    "spotify_artist_url",
    "year_of",
]
