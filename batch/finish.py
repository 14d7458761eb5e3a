"""The run's last task: totals into ``EtlRun`` (status, app mode, calls) and old targets pruned."""

from __future__ import annotations

from batch import runtime
from batch.artists import Artists
from batch.base import EtlTask
from batch.features import Features
from batch.musicbrainz import MusicBrainzEnrichment
from models.ingest import etl


class StepsFailed(RuntimeError):
    """Some step failed for a reason that is not Spotify's; everything else was done."""


class FinishRun(EtlTask):
    def requires(self):
        return [
            Features(hour=self.hour),
            Artists(hour=self.hour),
            MusicBrainzEnrichment(hour=self.hour),
        ]

    def output(self):
        return self.target("run.json")

    def run(self):
        summary = etl.finish_run(self.run_context())
        runtime.prune_targets(self.hour)
        if summary["bugs"]:  # fail without a target: luigi exits non-zero, a rerun retries
            raise StepsFailed("; ".join(summary["bugs"]))
        runtime.write_json(self.output(), summary)
