"""The hourly enrichment step, for all users together: ask MusicBrainz only for what is new or
due, within a per-run call budget, most played first, and store each batch's verdicts as it
comes (so a killed run keeps what it learnt and the next one goes on from there).

The order follows the evidence: tracks (ISRCs in batches of 100, then a name search for each
track without a known ISRC), then artists (through the stored credits of their matched
recordings, then the Spotify URL relationships of those still unresolved), their details and
genres (100 per search, genres being the tags on MusicBrainz's genre list), then albums (the
release group most of their matched recordings share, 100 per search for the first-release
date).  An artist or album is considered once every played track of it has been looked at.

MusicBrainz's errors (``musicbrainz.errors``): ``RetryLater`` ends the step as ``deferred``
(the pacer holds the machine until then; nothing sleeps), ``GiveUp`` marks that one entity
``failed`` (logged, retried after the backoff) and the step goes on, ``Bug`` ends it as a bug.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from peewee import JOIN, chunked, fn

from models.enrich import matching
from models.enrich.store import (
    BY_NAME,
    FAILED,
    MATCHED,
    UNMATCHED,
    Verdict,
    await_name_search,
    due_tracks,
    record,
    store_artist_genres,
)
from models.ingest.catalogue import CHUNK, write_transaction
from models.ingest.etl import BUG, DEFERRED, SKIPPED, Run, StepOutcome
from models.schema.pacing import DatabasePacer
from models.schema.tables import (
    LEAD_POSITION,
    Album,
    AlbumEnrichment,
    Artist,
    ArtistEnrichment,
    ArtistTotal,
    MusicBrainzGenreName,
    Track,
    TrackArtist,
    TrackEnrichment,
    TrackTotal,
)
from musicbrainz.client import (
    SEARCH_LIMIT,
    URL_LOOKUP_LIMIT,
    MusicBrainzClient,
    Recording,
    spotify_artist_url,
)
from musicbrainz.errors import Bug, GiveUp, RetryLater

log = logging.getLogger(__name__)

STEP = "musicbrainz"
CALLS_PER_RUN = 900  # 15 minutes of an hourly run at one request per second
GENRE_LIST_AGE = dt.timedelta(days=30)
SEARCHES_PER_STORE = 20  # name searches are stored a few at a time


@dataclass
class Tally:
    """Verdicts of this run per kind and state: the step's ``outcomes`` in the run log."""

    counts: dict

    def add(self, kind: str, verdicts: Iterable[Verdict]) -> list[Verdict]:
        verdicts = list(verdicts)
        for verdict in verdicts:
            key = f"{kind}.{verdict.state}"
            self.counts[key] = self.counts.get(key, 0) + 1
            if verdict.state == FAILED:
                log.warning("MusicBrainz: %s %s failed: %s", kind, verdict.id, verdict.note)
        return verdicts


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _track_facts(recording: Recording, method: str) -> dict:
    return {
        "method": method,
        "release_year": recording.first_release_year,
        "credits": _json([[c.artist_id, c.artist_name] for c in recording.artist_credits]),
        "release_groups": _json([[group.id, group.title] for group in recording.release_groups]),
    }


def _verdict_of(track_id: str, match: matching.Match, method: str) -> Verdict:
    if match.state == MATCHED and match.chosen is not None:
        return Verdict(track_id, MATCHED, match.chosen.id, facts=_track_facts(match.chosen, method))
    return Verdict(track_id, match.state, note=match.note)


def _title_and_lead(title: str, lead: str) -> tuple[str, str]:
    return matching.normal(title), matching.normal(lead)


def spotify_tracks(track_ids: list[str]) -> dict[str, matching.SpotifyTrack]:
    """What the matcher needs of each track: title, artists' names in credit order, length."""
    names: dict[str, list[str]] = {}
    for chunk in chunked(track_ids, CHUNK):
        query = (
            TrackArtist.select(TrackArtist.track, Artist.name)
            .join(Artist, on=(Artist.id == TrackArtist.artist))
            .where(TrackArtist.track.in_(chunk))
            .order_by(TrackArtist.track, TrackArtist.position)
            .tuples()
        )
        for track_id, name in query:
            names.setdefault(track_id, []).append(name)
    found = {}
    for chunk in chunked(track_ids, CHUNK):
        for track_id, title, duration, isrc in (
            Track.select(Track.id, Track.name, Track.duration_ms, Track.isrc)
            .where(Track.id.in_(chunk))
            .tuples()
        ):
            found[track_id] = matching.SpotifyTrack(
                track_id, title, tuple(names.get(track_id, ())), duration, isrc
            )
    return found


class Enrichment:
    """One step's work with one client: the budget, the clock, the tally."""

    def __init__(self, client: MusicBrainzClient, now: dt.datetime, budget: int, tally: Tally):
        self.client = client
        self.now = now
        self.budget = budget
        self.tally = tally
        self._spent_before = sum(client.calls.values())
        self.exhausted = False  # the budget ran out with work left: more runs will follow
        self._namesakes: dict[tuple[str, str], list[matching.SpotifyTrack]] | None = None

    def left(self) -> int:
        left = self.budget - (sum(self.client.calls.values()) - self._spent_before)
        if left <= 0:
            self.exhausted = True
        return left

    def store(self, kind: str, verdicts: Iterable[Verdict]) -> None:
        record(kind, self.tally.add(kind, verdicts), self.now)

    def run(self) -> None:
        self.tracks()
        self.artists()
        self.artist_details()
        self.albums()

    # -- tracks ---------------------------------------------------------------------------------
    def tracks(self) -> None:
        due = due_tracks(self.now)
        if not due:
            return
        known = spotify_tracks([t for t, _, _ in due])
        order = {track_id: n for n, (track_id, _, _) in enumerate(due)}
        with_isrc = [
            (t, isrc.strip().upper()) for t, isrc, method in due
            if isrc and isrc.strip() and method != BY_NAME
        ]  # fmt: skip
        by_name = [t for t, isrc, method in due if method == BY_NAME or not (isrc and isrc.strip())]
        for chunk in chunked(with_isrc, SEARCH_LIMIT):
            if self.left() <= 0:
                break
            tracks_of: dict[str, list[str]] = {}
            for track_id, isrc in chunk:
                tracks_of.setdefault(isrc, []).append(track_id)
            batch = self.client.recordings_by_isrcs(list(tracks_of))
            verdicts, unknown = [], []
            for isrc, track_ids in tracks_of.items():
                for track_id in track_ids:
                    if isrc in batch.failed:
                        verdicts.append(Verdict(track_id, FAILED, note=batch.failed[isrc].reason))
                    elif isrc in batch.found:
                        match = matching.match_by_isrc(known[track_id], batch.found[isrc])
                        verdicts.append(_verdict_of(track_id, match, "isrc"))
                    else:  # unknown to MusicBrainz: the names may still find it
                        unknown.append(track_id)
            with write_transaction():
                self.store("track", verdicts)
                await_name_search(unknown, self.now)
            by_name += unknown
        # most played first among all that need a name search
        self.search_names(sorted(by_name, key=order.__getitem__), known)

    def search_names(self, track_ids: list[str], known: dict[str, matching.SpotifyTrack]):
        verdicts: list[Verdict] = []
        for track_id in track_ids:
            if self.left() <= 0:
                break
            track = known[track_id]
            if not track.title or not track.artists:
                verdicts.append(Verdict(track_id, UNMATCHED, note="no title or artist to search"))
                continue
            try:
                candidates = self.client.search_recordings(
                    track.title, track.artists[0], track.duration_ms
                )
            except GiveUp as exc:
                verdicts.append(Verdict(track_id, FAILED, note=exc.reason))
            else:
                match = matching.match_by_names(track, candidates)
                if match.chosen is not None:
                    key = _title_and_lead(track.title, track.artists[0])
                    match = matching.closest_claimant(
                        track, match.chosen, self.namesakes().get(key, ())
                    )
                verdicts.append(_verdict_of(track_id, match, "search"))
            if len(verdicts) >= SEARCHES_PER_STORE:
                self.store("track", verdicts)
                verdicts = []
        self.store("track", verdicts)

    def namesakes(self) -> dict[tuple[str, str], list[matching.SpotifyTrack]]:
        """The played catalogue by (title, lead artist), read once a run when a name search
        finds something: the rivals of :func:`matching.closest_claimant`."""
        if self._namesakes is None:
            self._namesakes = {}
            query = (
                Track.select(Track.id, Track.name, Track.duration_ms, Track.isrc, Artist.name)
                .join(TrackArtist, on=(TrackArtist.track == Track.id))
                .join(Artist, on=(Artist.id == TrackArtist.artist))
                .where(
                    (TrackArtist.position == LEAD_POSITION)
                    & Track.id.in_(TrackTotal.select(TrackTotal.track))
                )
                .tuples()
            )
            for track_id, title, duration, isrc, lead in query:
                key = _title_and_lead(title, lead)
                self._namesakes.setdefault(key, []).append(
                    matching.SpotifyTrack(track_id, title, (lead,), duration, isrc)
                )
        return self._namesakes

    # -- artists --------------------------------------------------------------------------------
    def artists(self) -> None:
        due = _ready(
            TrackArtist.artist,
            TrackArtist.track,
            ArtistEnrichment,
            ArtistEnrichment.artist,
            self.now,
        )
        if not due:
            return
        evidence = credit_evidence(due)
        verdicts: dict[str, Verdict] = {}
        unresolved = []
        for artist_id in due:
            state, mbid, note = matching.match_artist(evidence.get(artist_id, []), None)
            if state == MATCHED:
                verdicts[artist_id] = Verdict(artist_id, MATCHED, mbid)
            else:
                unresolved.append(artist_id)
        self.store("artist", verdicts.values())
        for chunk in chunked(unresolved, URL_LOOKUP_LIMIT):
            if self.left() <= 0:
                break
            urls = {spotify_artist_url(artist_id): artist_id for artist_id in chunk}
            batch = self.client.artists_by_spotify_urls(list(urls))
            found = []
            for url, artist_id in urls.items():
                if url in batch.failed:
                    found.append(Verdict(artist_id, FAILED, note=batch.failed[url].reason))
                    continue
                state, mbid, note = matching.match_artist(
                    evidence.get(artist_id, []), batch.found.get(url, [])
                )
                found.append(Verdict(artist_id, state, mbid, note))
            self.store("artist", found)

    def artist_details(self) -> None:
        waiting = [
            (artist_id, mbid)
            for artist_id, mbid in ArtistEnrichment.select(
                ArtistEnrichment.artist, ArtistEnrichment.mbid
            )
            .join(ArtistTotal, JOIN.LEFT_OUTER, on=(ArtistTotal.artist == ArtistEnrichment.artist))
            .where(
                (ArtistEnrichment.state == MATCHED) & (ArtistEnrichment.details_fetched == False)  # noqa: E712 (SQL)
            )
            .group_by(ArtistEnrichment.artist, ArtistEnrichment.mbid)
            .order_by(fn.SUM(ArtistTotal.plays).desc(nulls="LAST"), ArtistEnrichment.artist)
            .tuples()
        ]
        if not waiting or self.left() <= 0:
            return
        genre_names = self.genre_names()
        for chunk in chunked(waiting, SEARCH_LIMIT):
            if self.left() <= 0:
                break
            batch = self.client.artists_by_ids([mbid for _, mbid in chunk])
            verdicts: list[Verdict] = []
            genres: dict[str, Sequence[tuple[str, int]]] = {}
            for artist_id, mbid in chunk:
                mbid = mbid.lower()
                if mbid in batch.found:
                    artist = batch.found[mbid]
                    facts = {
                        "artist_type": artist.type,
                        "country": artist.country,
                        "begin_year": artist.begin_year,
                        "details_fetched": True,
                    }
                    verdicts.append(Verdict(artist_id, MATCHED, mbid, facts=facts))
                    genres[artist_id] = [(t.name, t.count) for t in artist.genre_tags(genre_names)]
                elif mbid in batch.failed:
                    verdicts.append(Verdict(artist_id, FAILED, note=batch.failed[mbid].reason))
                else:
                    verdicts.append(Verdict(artist_id, UNMATCHED, note=f"{mbid} not found"))
            with write_transaction():
                store_artist_genres(genres)
                self.store("artist", verdicts)

    def genre_names(self) -> set[str]:
        """MusicBrainz's genre list, from the table while it is younger than a month."""
        fresh = self.now - GENRE_LIST_AGE
        names = {
            name
            for (name,) in MusicBrainzGenreName.select(MusicBrainzGenreName.name)
            .where(MusicBrainzGenreName.fetched_at > fresh)
            .tuples()
        }
        if names:
            return names
        names = {genre.name for genre in self.client.genres()}
        with write_transaction():
            MusicBrainzGenreName.delete().execute()
            rows = [{"name": name, "fetched_at": self.now} for name in sorted(names)]
            for chunk in chunked(rows, CHUNK):
                MusicBrainzGenreName.insert_many(chunk).on_conflict_ignore().execute()
        return names

    # -- albums ---------------------------------------------------------------------------------
    def albums(self) -> None:
        due = _ready(Track.album, Track.id, AlbumEnrichment, AlbumEnrichment.album, self.now)
        if not due:
            return
        groups: dict[str, list[list[list[str]]]] = {album_id: [] for album_id in due}
        names: dict[str, str] = {}
        for chunk in chunked(due, CHUNK):
            names.update(Album.select(Album.id, Album.name).where(Album.id.in_(chunk)).tuples())
        for chunk in chunked(due, CHUNK):
            for album_id, release_groups in (
                Track.select(Track.album, TrackEnrichment.release_groups)
                .join(TrackEnrichment, on=(TrackEnrichment.track == Track.id))
                .where(Track.album.in_(chunk) & (TrackEnrichment.state == MATCHED))
                .tuples()
            ):
                groups[album_id].append(json.loads(release_groups or "[]"))
        chosen, verdicts = {}, []
        for album_id in due:
            state, mbid, note = matching.match_release_group(
                names.get(album_id, ""), groups[album_id]
            )
            if state == MATCHED and mbid:
                chosen[album_id] = mbid
            else:
                verdicts.append(Verdict(album_id, state, note=note))
        self.store("album", verdicts)
        pending = list(chosen.items())
        for chunk in chunked(pending, SEARCH_LIMIT):
            if self.left() <= 0:
                break
            batch = self.client.release_groups_by_ids([mbid for _, mbid in chunk])
            found = []
            for album_id, mbid in chunk:
                if mbid in batch.found:
                    group = batch.found[mbid]
                    facts = {
                        "primary_type": group.primary_type,
                        "release_year": group.first_release_year,
                    }
                    found.append(Verdict(album_id, MATCHED, mbid, facts=facts))
                elif mbid in batch.failed:
                    found.append(Verdict(album_id, FAILED, note=batch.failed[mbid].reason))
                else:
                    found.append(Verdict(album_id, UNMATCHED, note=f"{mbid} not found"))
            self.store("album", found)


def _ready(entity, track, enrichment, key, now: dt.datetime) -> list[str]:
    """Entities (artists via ``TrackArtist``, albums via ``Track.album``) of played tracks,
    never judged or due again, every played track of which has been looked at; most played
    first.  ``entity`` and ``track`` are the linking table's columns."""
    link = entity.model
    played = TrackTotal.select(TrackTotal.track).distinct().alias("played")
    looked = fn.COUNT(TrackEnrichment.track)
    query = (
        link.select(entity.alias("entity_id"))
        .join(played, on=(played.c.track_id == track))
        .join(TrackEnrichment, JOIN.LEFT_OUTER, on=(TrackEnrichment.track == track))
        .join(enrichment, JOIN.LEFT_OUTER, on=(key == entity))
        .where(
            entity.is_null(False) & (enrichment.state.is_null() | (enrichment.next_try_at <= now))
        )
        .group_by(entity)
        .having(looked == fn.COUNT(track))
    )
    ids = [row[0] for row in query.tuples()]
    if not ids:
        return []
    plays: dict[str, int] = {}
    if link is TrackArtist:  # albums come in id order: their tracks were asked by plays
        for chunk in chunked(ids, CHUNK):
            for artist_id, count in (
                ArtistTotal.select(ArtistTotal.artist, fn.SUM(ArtistTotal.plays))
                .where(ArtistTotal.artist.in_(chunk))
                .group_by(ArtistTotal.artist)
                .tuples()
            ):
                plays[artist_id] = int(count or 0)
    return sorted(ids, key=lambda i: (-plays.get(i, 0), i))


def credit_evidence(artist_ids: list[str]) -> dict[str, list[str | None]]:
    """{artist id: the MBID each of its matched recordings credits it with (None: none fits)}."""
    evidence: dict[str, list[str | None]] = {}
    wanted = set(artist_ids)
    for chunk in chunked(artist_ids, CHUNK):
        tracks = TrackArtist.select(TrackArtist.track).where(TrackArtist.artist.in_(chunk))
        rows = (
            TrackArtist.select(
                TrackArtist.track,
                TrackArtist.artist,
                TrackArtist.position,
                Artist.name,
                TrackEnrichment.credits,
            )
            .join(Artist, on=(Artist.id == TrackArtist.artist))
            .switch(TrackArtist)
            .join(TrackEnrichment, on=(TrackEnrichment.track == TrackArtist.track))
            .where(TrackArtist.track.in_(tracks) & (TrackEnrichment.state == MATCHED))
            .order_by(TrackArtist.track, TrackArtist.position)
            .tuples()
        )
        per_track: dict[str, list[tuple]] = {}
        for track_id, artist_id, _position, name, credits in rows:
            per_track.setdefault(track_id, []).append(
                (artist_id, name, json.loads(credits or "[]"))
            )
        for credited in per_track.values():
            for position, (artist_id, name, credits) in enumerate(credited):
                if artist_id in wanted:
                    mbid = matching.credited_artist(name, position, len(credited), credits)
                    evidence.setdefault(artist_id, []).append(mbid)
    return evidence


def client_for(settings) -> MusicBrainzClient | None:
    """The configured client, paced for the whole machine (every process calling MusicBrainz
    shares ``models.schema.pacing.DatabasePacer``), or None when enrichment is off."""
    if not settings.musicbrainz_enrichment:
        return None
    pacer = DatabasePacer(interval=settings.musicbrainz_min_interval)
    return MusicBrainzClient.from_settings(settings, pacer=pacer)


def enrich(
    run: Run,
    client: MusicBrainzClient | None = None,
    budget: int = CALLS_PER_RUN,
    make_client: Callable = client_for,
    step: str = STEP,
) -> StepOutcome:
    """The step: enrich what is new or due, record the outcome as the run's ``step`` log row
    (calls per endpoint, verdicts per kind; ``budget_spent`` when work is left for later,
    ``resumes_at`` when MusicBrainz asked to wait), never raising."""
    outcome = StepOutcome()
    tally = Tally(outcome.outcomes)
    if client is None:
        client = make_client(run.settings)
    if client is None:
        outcome.status, outcome.error = SKIPPED, "MusicBrainz enrichment is off"
        run.record(step, None, outcome)
        return outcome
    before = dict(client.calls)
    work = Enrichment(client, run.now, budget, tally)
    try:
        work.run()
        if work.exhausted:
            outcome.outcomes["budget_spent"] = 1
    except RetryLater as exc:
        outcome.status = DEFERRED
        outcome.error = f"{exc}; resumes after {exc.until.isoformat()}"
        outcome.outcomes["resumes_at"] = exc.until.isoformat()
    except Bug as exc:
        log.error("MusicBrainz step: %s", exc)
        outcome.status, outcome.error = BUG, str(exc)
    except Exception as exc:
        log.exception("MusicBrainz step failed")
        outcome.status, outcome.error = BUG, f"{type(exc).__name__}: {exc}"
    for endpoint, count in client.calls.items():
        spent = count - before.get(endpoint, 0)
        if spent:
            outcome.calls[f"musicbrainz.{endpoint}"] = spent
    outcome.new_rows = sum(v for k, v in tally.counts.items() if "." in k)
    run.record(step, None, outcome)
    return outcome
