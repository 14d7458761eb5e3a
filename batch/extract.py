"""Per user: extract recently played after the stored cursor, then load it.

The extract target is the raw items as JSON lines; the load target its outcome.  Each task
commits to the database first and writes its target last, so a task killed in between runs
again and changes nothing the second time (plays are deduplicated, the cursor never goes back).
"""

from __future__ import annotations

import luigi

from batch import runtime
from batch.base import EtlTask
from models.ingest import etl


class Extract(EtlTask):
    user_id = luigi.IntParameter()

    def output(self):
        return self.target("extract", f"user-{self.user_id}.jsonl")

    def run(self):
        outcome = etl.extract_user(self.run_context(), self.user_id)
        runtime.write_json_lines(self.output(), outcome.items)


class Load(EtlTask):
    user_id = luigi.IntParameter()

    def requires(self):
        return Extract(hour=self.hour, user_id=self.user_id)

    def output(self):
        return self.target("load", f"user-{self.user_id}.json")

    def run(self):
        items = runtime.read_json_lines(self.input())
        outcome = etl.load_user(self.run_context(), self.user_id, items)
        runtime.write_json(self.output(), outcome.summary())


def loads(hour) -> list[Load]:
    """One load (and so one extract) per user the run syncs."""
    runtime.current_settings()
    return [Load(hour=hour, user_id=user_id) for user_id in etl.active_user_ids()]
