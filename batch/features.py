"""For all users: audio features of tracks that lack them (a 403 is recorded, not a failure)."""

from __future__ import annotations

from batch.base import AllUsersStep
from batch.tracks import CompleteTracks
from models.ingest import etl


class Features(AllUsersStep):
    step = "features"
    work = staticmethod(etl.fetch_features)

    def requires(self):
        return CompleteTracks(hour=self.hour)
