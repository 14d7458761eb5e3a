"""For all users: complete the tracks that imports left as stubs (album, artists, duration)."""
from __future__ import annotations

from batch import runtime
from batch.base import EtlTask
from batch.extract import loads
from models import etl


class CompleteTracks(EtlTask):
    """After every user's load, before features and artists, which then cover these tracks."""

    def requires(self):
        return loads(self.hour)

    def output(self):
        return self.target("tracks.json")

    def run(self):
        outcome = etl.complete_tracks(self.run_context())
        runtime.write_json(self.output(), outcome.summary())
