"""The pieces every ETL task shares: the run-hour parameter and a target under the run's dir."""

from __future__ import annotations

import datetime as dt

import luigi

from batch import runtime
from models.ingest.etl import run_hour


class RunHourParameter(luigi.DateHourParameter):
    """The run's date-hour (UTC); no value means the current hour, computed when parsed."""

    def __init__(self, default: dt.datetime | None = None, **kwargs):
        # None is the default that normalize() turns into the current hour; luigi's types allow
        # a default of the parameter's own type only, but it hands any default to normalize().
        super().__init__(default=default, **kwargs)  # type: ignore[arg-type]

    def normalize(self, value):
        return super().normalize(run_hour() if value is None else value)


class EtlTask(luigi.Task):
    """A task of one run: ``hour`` names the run, and the target lives in its directory."""

    hour = RunHourParameter()

    def run_context(self):
        return runtime.run_for(self.hour)

    def target(self, *parts: str) -> luigi.LocalTarget:
        return luigi.LocalTarget(runtime.target_path(self.hour, *parts))


class AllUsersStep(EtlTask):
    """A step for all users at once: one ``models.ingest.etl`` function, its outcome as the
    target."""

    step = ""  # the target's name: <run dir>/<step>.json

    @staticmethod
    def work(run):
        raise NotImplementedError

    def output(self):
        return self.target(f"{self.step}.json")

    def run(self):
        outcome = self.work(self.run_context())
        runtime.write_json(self.output(), outcome.summary())
