"""For all users: open data from MusicBrainz (genres, release years, artist facts) for what is
new or due, after the artist step so that Spotify's own genres are known first."""

from __future__ import annotations

from batch.artists import Artists
from batch.base import AllUsersStep
from models.enrich import run as enrichment


class MusicBrainzEnrichment(AllUsersStep):
    step = enrichment.STEP
    work = staticmethod(enrichment.enrich)

    def requires(self):
        return Artists(hour=self.hour)
