"""For all users: details and genres of artists stored only as stubs."""

from __future__ import annotations

from batch.base import AllUsersStep
from batch.tracks import CompleteTracks
from models.ingest import etl


class Artists(AllUsersStep):
    step = "artists"
    work = staticmethod(etl.fetch_artists)

    def requires(self):
        return CompleteTracks(hour=self.hour)
