"""For all users: complete the tracks that imports left as stubs (album, artists, duration)."""

from __future__ import annotations

from batch.base import AllUsersStep
from batch.extract import loads
from models.ingest import etl


class CompleteTracks(AllUsersStep):
    """After every user's load, before features and artists, which then cover these tracks."""

    step = "tracks"
    work = staticmethod(etl.complete_tracks)

    def requires(self):
        return loads(self.hour)
