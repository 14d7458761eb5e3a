"""A listener's uploaded privacy exports, kept on disk under ``DATA_DIR/imports/<user>/`` while
their import job needs them, and removed with the job's end or the account.

The rule of which files are ours to delete lives here, below both the import jobs that store
uploads and the account deletion that removes them.
"""

from __future__ import annotations

import re
import shutil
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO

from models.schema.tables import ImportJob

UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(zip|json)$")  # how save_upload names its copies


def save_upload(data_dir: str | Path, user_id: int, files: Sequence[tuple[str, IO[bytes]]]) -> Path:
    """Store uploaded file(s) under ``data_dir/imports/<user>/`` for the job to (re)read.

    ``files`` are (file name, readable binary stream).  One file is kept as it came; several
    (the JSON files of an export, picked one by one) are packed into one zip, so a job always
    reads one stored file.
    """
    folder = Path(data_dir) / "imports" / str(user_id)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = uuid.uuid4().hex
    if len(files) == 1:
        name, stream = files[0]
        suffix = ".zip" if name.lower().endswith(".zip") else ".json"
        target = folder / f"{stamp}{suffix}"
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        return target
    target = folder / f"{stamp}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, stream) in enumerate(files):
            member = PurePosixPath(name.replace("\\", "/")).name or f"file{index}.json"
            with archive.open(f"{index:03d}/{member}", "w") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
    return target


def is_stored_upload(path: str | Path, user_id: int) -> bool:
    """Whether ``path`` is a copy :func:`save_upload` made for ``user_id`` (and so ours to
    delete), not a file of the admin's that the Luigi task was pointed at."""
    path = Path(path)
    return (
        path.parent.name == str(user_id)
        and path.parent.parent.name == "imports"
        and UPLOAD_NAME.match(path.name) is not None
    )


def forget_upload(job: ImportJob, data_dir: str | Path) -> bool:
    """Delete the stored copy of an upload once its job is over (done, failed or refused): the
    plays are stored, and a listener's export should not stay on the server.  Files outside
    ``data_dir/imports`` (an admin's path given to the Luigi task) are never touched."""
    if job.status not in ("done", "failed", "refused"):
        return False
    uploads = (Path(data_dir) / "imports").resolve()
    path = Path(job.file_path).resolve()
    if uploads not in path.parents or not path.is_file():
        return False
    path.unlink()
    return True
