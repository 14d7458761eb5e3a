"""What the admin page shows of the enrichment: the verdicts stored per kind, and the recent
runs' MusicBrainz calls and outcomes (from the run log)."""

from __future__ import annotations

from peewee import SQL, fn

from models.schema.tables import AlbumEnrichment, ArtistEnrichment, EtlLog, EtlRun, TrackEnrichment

STEP = "musicbrainz"  # the run log's step name (models.enrich.run.STEP)


def verdict_counts() -> dict[str, dict[str, int]]:
    """{"tracks"|"artists"|"albums": {state: rows}}."""
    found: dict[str, dict[str, int]] = {}
    for kind, model in (
        ("tracks", TrackEnrichment),
        ("artists", ArtistEnrichment),
        ("albums", AlbumEnrichment),
    ):
        rows = model.select(model.state, fn.COUNT(SQL("*"))).group_by(model.state).tuples()
        found[kind] = {state: int(count) for state, count in rows}
    return found


def recent_steps(limit: int = 10) -> list[dict]:
    """The latest runs' enrichment steps: hour, status, calls per endpoint, verdicts, error."""
    query = (
        EtlLog.select(EtlLog, EtlRun.hour)
        .join(EtlRun, on=(EtlRun.id == EtlLog.run))
        .where(EtlLog.step == STEP)
        .order_by(EtlRun.hour.desc())
        .limit(limit)
    )
    return [
        {
            "hour": row.run.hour,
            "status": row.status,
            "calls": row.api_calls_data,
            "outcomes": row.outcomes_data,
            "error": row.error,
        }
        for row in query
    ]
