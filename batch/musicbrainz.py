"""For all users: open data from MusicBrainz (genres, release years, artist facts) for what is
new or due, after the artist step so that Spotify's own genres are known first."""

from __future__ import annotations

from batch import runtime
from batch.artists import Artists
from batch.base import AllUsersStep
from models.enrich import run as enrichment
from models.jobs import musicbrainz as backfill


class MusicBrainzEnrichment(AllUsersStep):
    """Within the run's call budget; a backfill that needs more goes on in the background
    worker (``models.jobs.musicbrainz``) until the next run."""

    step = enrichment.STEP
    work = staticmethod(enrichment.enrich)

    def requires(self):
        return Artists(hour=self.hour)

    def run(self):
        outcome = self.work(self.run_context())
        if outcome.outcomes.get("budget_spent"):
            backfill.queue_backfill()
        runtime.write_json(self.output(), outcome.summary())
