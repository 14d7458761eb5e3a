"""Per batch of users: extract recently played after each user's stored cursor, then load it.

One task per batch and step, not per user: a Luigi task costs about as much to schedule (a
luigid round trip or three, a forked process with its own database connection under
``--workers N``) as one user's extract or load takes, so per-user tasks spent most of a run
scheduling (docs/query-plans.md, "The hourly run at instance scale").  A batch is a fixed range
of user ids (``[etl] users_per_task`` of them, :func:`user_batches`), so every machine that
schedules the same hour names the same tasks and ``luigid`` hands each to one worker; each user
still gets their own ``EtlLog`` rows and their own error handling.

The extract target is one JSON line per user (``{"user_id", "items"}``, the raw items); the
load target the users' outcomes.  Each task commits to the database first and writes its target
last, so a task killed in between runs again and changes nothing the second time (plays are
deduplicated, the cursor never goes back).
"""

from __future__ import annotations

import luigi

from batch import runtime
from batch.base import EtlTask
from models.ingest import etl


class UserBatchTask(EtlTask):
    """A step for the active users whose id is in ``[first_user_id, last_user_id]``."""

    first_user_id = luigi.IntParameter()
    last_user_id = luigi.IntParameter()

    def batch_name(self) -> str:
        return f"users-{self.first_user_id}-{self.last_user_id}"


class Extract(UserBatchTask):
    def output(self):
        return self.target("extract", f"{self.batch_name()}.jsonl")

    def run(self):
        run = self.run_context()
        extracted = [
            {"user_id": user_id, "items": etl.extract_user(run, user_id).items}
            for user_id in etl.active_user_ids(self.first_user_id, self.last_user_id)
        ]
        runtime.write_json_lines(self.output(), extracted)


class Load(UserBatchTask):
    def requires(self):
        return Extract(
            hour=self.hour, first_user_id=self.first_user_id, last_user_id=self.last_user_id
        )

    def output(self):
        return self.target("load", f"{self.batch_name()}.json")

    def run(self):
        run = self.run_context()
        outcomes = {
            str(line["user_id"]): etl.load_user(run, line["user_id"], line["items"]).summary()
            for line in runtime.read_json_lines(self.input())
        }
        runtime.write_json(self.output(), {"users": outcomes})


def users_per_task() -> int:
    """Users in one extract or load task (luigi.cfg ``[etl] users_per_task``)."""
    return max(1, luigi.configuration.get_config().getint("etl", "users_per_task", 100))


def user_batches(user_ids: list[int], size: int) -> list[tuple[int, int]]:
    """The id ranges ``[k * size + 1, (k + 1) * size]`` that hold at least one of ``user_ids``:
    fixed by the ids alone, so two machines scheduling the same hour agree on them."""
    return sorted({((i - 1) // size * size + 1, (i - 1) // size * size + size) for i in user_ids})


def loads(hour) -> list[Load]:
    """One load (and so one extract) per batch of the users the run syncs."""
    runtime.current_settings()
    return [
        Load(hour=hour, first_user_id=first, last_user_id=last)
        for first, last in user_batches(etl.active_user_ids(), users_per_task())
    ]
