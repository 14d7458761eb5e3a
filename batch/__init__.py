"""Luigi batch: ``luigi --module batch SpotifyEtl [--hour 2026-11-26T18] [--local-scheduler]``.

The DAG of one run (an hour), each task with its own file target under
``<DATA_DIR>/etl/<hour>/`` so a rerun skips what is done and ``--workers N`` or several
machines sharing one ``luigid`` divide the work::

    Extract(users) -> Load(users)  (each batch of [etl] users_per_task user ids)
        -> CompleteTracks -> Features, Artists -> MusicBrainzEnrichment -> FinishRun  (all)
    ResumeImports  (history imports left unfinished)

Task bodies call the core (``models.ingest.etl``); there is no SQL or HTTP here.
"""

from __future__ import annotations

import luigi

from batch.artists import Artists
from batch.base import RunHourParameter
from batch.extract import Extract, Load
from batch.features import Features
from batch.finish import FinishRun
from batch.import_history import ImportHistory, ResumeImports
from batch.musicbrainz import MusicBrainzEnrichment
from batch.tracks import CompleteTracks


class SpotifyEtl(luigi.WrapperTask):
    """One ETL run: every user's plays, then the catalogue they need; and history imports that
    were interrupted or told to wait by Spotify go on, so cron needs only this one line."""

    hour = RunHourParameter()

    def requires(self):
        return [FinishRun(hour=self.hour), ResumeImports(hour=self.hour)]


__all__ = [
    "Artists",
    "CompleteTracks",
    "Extract",
    "Features",
    "FinishRun",
    "ImportHistory",
    "Load",
    "MusicBrainzEnrichment",
    "ResumeImports",
    "SpotifyEtl",
]
