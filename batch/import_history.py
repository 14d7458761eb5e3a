"""Imports from the command line, and resuming the ones the web started.

``luigi --module batch ImportHistory --user <spotify id or user id> --path <export>``: for large
exports and for admins, imports a Spotify privacy export (zip, JSON file or folder) for one user
with ``models.imports.history_import``, the same code as the web page.  The database work
commits chunk by chunk; the target (the job's report) is written last, so a run that was killed
or told by Spotify to wait is simply run again and resumes where it stopped.

``luigi --module batch ResumeImports``: finishes the jobs that stopped (a worker died
mid-import, or Spotify's Retry-After has passed); cron can run it with the ETL.

Both run the worker's code (``models.jobs.queue`` with ``history_import.work_slice``) in this
process, so an import runs the same way wherever it runs, and a worker process
(``python -m batch.worker``) never takes the same job at the same time.
"""

from __future__ import annotations

import json
from pathlib import Path

import luigi

from batch import runtime
from batch.base import RunHourParameter
from models.imports import history_import
from models.jobs import queue
from models.schema.tables import ImportJob, User


class ImportFailed(RuntimeError):
    """The export was refused or the job could not finish; the message says why."""


def find_user(key: str) -> User:
    """By Spotify id first (some are all digits), then by numeric user id."""
    user = User.get_or_none(User.spotify_id == key)
    if user is None and key.isdigit():
        user = User.get_or_none(User.id == int(key))
    if user is None:
        raise ImportFailed(f"No user {key!r}: give a Spotify id or a user id.")
    return user


class ImportHistory(luigi.Task):
    """Import one export for one user; rerunning it resumes or, once done, does nothing."""

    user = luigi.Parameter(description="the user's Spotify id, or their numeric user id")
    path = luigi.Parameter(description="the export: Spotify's zip, a JSON file or a folder")

    def _digest(self) -> str:
        if not hasattr(self, "_sha256"):
            if not Path(self.path).exists():
                raise ImportFailed(f"{self.path} does not exist.")
            self._sha256 = history_import.file_digest(self.path)
        return self._sha256

    def output(self):
        folder = Path(runtime.current_settings().data_dir) / "imports" / "done"
        safe_user = "".join(c if c.isalnum() else "_" for c in str(self.user))
        return luigi.LocalTarget(str(folder / f"{safe_user}-{self._digest()[:16]}.json"))

    def run(self):
        settings = runtime.current_settings()
        user = find_user(str(self.user))
        job = (
            ImportJob.select()
            .where(
                (ImportJob.user == user.id)
                & (ImportJob.file_sha256 == self._digest())
                & ImportJob.status.in_(history_import.ACTIVE)
            )
            .order_by(ImportJob.id.desc())
            .first()
        )
        if job is None:
            try:
                job, _ = history_import.create_job(user, self.path)
            except (history_import.ExportError, history_import.ImportInProgress) as exc:
                raise ImportFailed(str(exc)) from None
        row = history_import.queue_job(job.id)
        queue.run_until_idle(
            {history_import.KIND: history_import.work_slice}, settings, only=row.id
        )
        job = ImportJob.get_by_id(job.id)
        if job.status == "waiting":
            raise ImportFailed(
                f"Spotify asked to wait until {job.resume_at} UTC: run this "
                "task again after that to resume the import."
            )
        if job.status == "running":
            raise ImportFailed("Another process is running this import right now.")
        if job.status != "done":
            raise ImportFailed(job.error or f"the import ended {job.status}")
        with self.output().open("w") as out:
            json.dump(history_import.status_of(job), out, indent=2)


class ResumeImports(luigi.Task):
    """Resume every import that can go on now; one target per hour it ran for."""

    hour = RunHourParameter(default=None)

    def output(self):
        folder = Path(runtime.current_settings().data_dir) / "imports" / "resumed"
        return luigi.LocalTarget(str(folder / f"{self.hour:%Y-%m-%dT%H}.json"))

    def run(self):
        settings = runtime.current_settings()
        jobs = [job.id for job in history_import.resumable_jobs()]
        for job_id in jobs:
            history_import.queue_job(job_id)
        queue.run_until_idle({history_import.KIND: history_import.work_slice}, settings)
        outcome = {
            str(job.id): job.status for job in ImportJob.select().where(ImportJob.id.in_(jobs))
        }
        runtime.write_json(self.output(), {"jobs": outcome})
