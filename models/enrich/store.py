"""The enrichment's writes and its to-do list: verdicts with their backoff, artist genres, and
which tracks are new or due, most played first.

Every write is a bulk upsert keyed by the Spotify id, so recording the same verdicts twice (a
rerun, a run killed after its calls and before its commit) leaves the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from peewee import EXCLUDED, JOIN, chunked, fn

from models.ingest.catalogue import CHUNK, write_transaction
from models.schema.tables import (
    AlbumEnrichment,
    ArtistEnrichment,
    MusicBrainzArtistGenre,
    Track,
    TrackArtist,
    TrackEnrichment,
    TrackTotal,
)
from models.summaries import shown_genres, track_facts

MATCHED, UNMATCHED, AMBIGUOUS, FAILED = "matched", "unmatched", "ambiguous", "failed"
FIRST_RETRY = dt.timedelta(days=1)
LONGEST_RETRY = dt.timedelta(days=60)

BY_NAME = "byname"  # TrackEnrichment.method of a track waiting for its name search

MODELS = {"track": TrackEnrichment, "artist": ArtistEnrichment, "album": AlbumEnrichment}
FACTS_OF = {
    "track": track_facts.refresh,
    "artist": track_facts.refresh_artists,
    "album": track_facts.refresh_albums,
}


def backoff(attempts: int) -> dt.timedelta:
    """How long an entity not matched after ``attempts`` looks waits before the next: a day,
    then doubling up to two months.  MusicBrainz grows by edits, not by the hour, so an
    unmatched track is asked again days later, never in every hourly run."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


@dataclass
class Verdict:
    """What the matcher concluded about one Spotify entity (``id``), with the facts of the
    matched MusicBrainz entity as the columns of the kind's table (``release_year``...)."""

    id: str
    state: str
    mbid: str | None = None
    note: str | None = None
    facts: dict = field(default_factory=dict)


def record(kind: str, verdicts: Iterable[Verdict], now: dt.datetime) -> int:
    """Store ``verdicts`` on tracks, artists or albums (``kind``): one row each, replacing an
    earlier verdict; ``attempts`` counts the looks, and anything not matched gets its next try
    after :func:`backoff`."""
    model = MODELS[kind]
    key = model._meta.primary_key
    by_id = {verdict.id: verdict for verdict in verdicts}
    if not by_id:
        return 0
    ids = sorted(by_id)
    earlier: dict[str, int] = {}
    for chunk in chunked(ids, CHUNK):
        earlier.update(model.select(key, model.attempts).where(key.in_(chunk)).tuples())
    rows = []
    for entity_id in ids:
        verdict = by_id[entity_id]
        attempts = earlier.get(entity_id, 0) + 1
        matched = verdict.state == MATCHED
        rows.append(
            {
                key.name: entity_id,
                "mbid": verdict.mbid if matched else None,
                "state": verdict.state,
                "attempts": attempts,
                "checked_at": now,
                "next_try_at": None if matched else now + backoff(attempts),
                "note": verdict.note,
                **verdict.facts,
            }
        )
    columns = sorted({name for row in rows for name in row} - {key.name})
    for row in rows:  # facts a verdict lacks are cleared (a match that no longer holds)
        for name in columns:
            column = getattr(model, name)
            row.setdefault(name, None if column.null else column.default)
    update = {
        getattr(model, name): getattr(EXCLUDED, getattr(model, name).column_name)
        for name in columns
    }
    with write_transaction():
        for chunk in chunked(rows, CHUNK):
            model.insert_many(chunk).on_conflict(conflict_target=[key], update=update).execute()
        FACTS_OF[kind](ids)  # the open-data profile reads the verdicts' facts from there
    return len(rows)


def await_name_search(track_ids: Iterable[str], now: dt.datetime) -> int:
    """Tracks whose ISRC MusicBrainz does not know: due at once for a name search (a later run
    goes on with it without asking the ISRC again), their attempts unchanged."""
    rows = [
        {
            "track": track_id,
            "state": UNMATCHED,
            "method": BY_NAME,
            "checked_at": now,
            "next_try_at": now,
            "note": "ISRC unknown to MusicBrainz; a search by names is next",
        }
        for track_id in sorted(set(track_ids))
    ]
    model = TrackEnrichment
    update = {
        getattr(model, name): getattr(EXCLUDED, getattr(model, name).column_name)
        for name in ("state", "method", "checked_at", "next_try_at", "note")
    }
    with write_transaction():
        for chunk in chunked(rows, CHUNK):
            model.insert_many(chunk).on_conflict(
                conflict_target=[model.track], update=update
            ).execute()
    return len(rows)


def store_artist_genres(genres: dict[str, Sequence[tuple[str, int]]]) -> int:
    """Replace the MusicBrainz genres of the artists named in ``genres`` ({artist id:
    [(genre name, votes)]}), ranked by votes (most first, ties by name)."""
    rows = []
    for artist_id, named in genres.items():
        votes: dict[str, int] = {}
        for name, count in named:
            name = name.strip().lower()
            if name:
                votes[name] = max(votes.get(name, 0), int(count))
        ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        rows += [
            {"artist": artist_id, "name": name, "votes": count, "rank": rank}
            for rank, (name, count) in enumerate(ranked, start=1)
        ]
    with write_transaction():
        for chunk in chunked(sorted(genres), CHUNK):
            MusicBrainzArtistGenre.delete().where(
                MusicBrainzArtistGenre.artist.in_(chunk)
            ).execute()
        for chunk in chunked(rows, CHUNK):
            MusicBrainzArtistGenre.insert_many(chunk).execute()
        shown_genres.refresh(genres)
    return len(rows)


def _due(model, key, now: dt.datetime):
    """Rows of ``key``'s entity that were never looked at or whose next try has come."""
    return model.state.is_null() | (model.next_try_at.is_null(False) & (model.next_try_at <= now))


def due_tracks(
    now: dt.datetime, limit: int | None = None
) -> list[tuple[str, str | None, str | None]]:
    """(track id, ISRC, method) of played tracks never looked up or due again, most played (by
    all listeners together) first: a large history's first backfill spreads over runs, and the
    plays that matter most get their genres first.  ``method`` is ``BY_NAME`` for a track
    whose ISRC MusicBrainz did not know, waiting for its name search."""
    played = fn.SUM(TrackTotal.plays)
    query = (
        Track.select(Track.id, Track.isrc, TrackEnrichment.method)
        .join(TrackTotal, on=(TrackTotal.track == Track.id))
        .join(TrackEnrichment, JOIN.LEFT_OUTER, on=(TrackEnrichment.track == Track.id))
        # a stub (known only from an import) gets its ISRC from the ETL's track step first
        .where(
            _due(TrackEnrichment, TrackEnrichment.track, now)
            & Track.metadata_fetched_at.is_null(False)
        )
        .group_by(Track.id, Track.isrc, TrackEnrichment.method)
        .order_by(played.desc(), Track.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(query.tuples())


def lead_artists(track_ids: Iterable[str]) -> dict[str, list[str]]:
    """{track id: its artist ids in credit order} for ``track_ids``."""
    found: dict[str, list[str]] = {}
    for chunk in chunked(sorted(set(track_ids)), CHUNK):
        query = (
            TrackArtist.select(TrackArtist.track, TrackArtist.artist)
            .where(TrackArtist.track.in_(chunk))
            .order_by(TrackArtist.track, TrackArtist.position)
            .tuples()
        )
        for track_id, artist_id in query:
            found.setdefault(track_id, []).append(artist_id)
    return found
