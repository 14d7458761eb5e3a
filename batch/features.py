"""For all users: audio features of tracks that lack them (a 403 is recorded, not a failure)."""
from __future__ import annotations

from batch import runtime
from batch.base import EtlTask
from batch.tracks import CompleteTracks
from models import etl


class Features(EtlTask):
    def requires(self):
        return CompleteTracks(hour=self.hour)

    def output(self):
        return self.target("features.json")

    def run(self):
        outcome = etl.fetch_features(self.run_context())
        runtime.write_json(self.output(), outcome.summary())
