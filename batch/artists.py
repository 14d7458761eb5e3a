"""For all users: details and genres of artists stored only as stubs."""
from __future__ import annotations

from batch import runtime
from batch.base import EtlTask
from batch.tracks import CompleteTracks
from models import etl


class Artists(EtlTask):
    def requires(self):
        return CompleteTracks(hour=self.hour)

    def output(self):
        return self.target("artists.json")

    def run(self):
        outcome = etl.fetch_artists(self.run_context())
        runtime.write_json(self.output(), outcome.summary())
