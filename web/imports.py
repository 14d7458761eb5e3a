"""The history import page: upload a Spotify privacy export, watch it import, read the report.

The work is in ``models.imports.history_import`` (shared with the Luigi task ``ImportHistory``):
this blueprint takes the upload, checks who asks, starts the job in a background thread and shows
its progress.  The pages use no JavaScript (the site's CSP forbids it): a running job's page
refreshes itself, and ``/status`` answers the same counters as JSON for scripts.
"""

from __future__ import annotations

import logging
import threading
from pathlib import PurePosixPath

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

import models
from models.accounts import uploads
from models.imports import history_import
from models.imports.privacy_export import DEFAULT_LIMITS, ExportError
from models.schema.tables import ImportJob
from web.auth import for_listeners_only
from web.security import csrf

bp = Blueprint("imports", __name__, url_prefix="/account/import")
for_listeners_only(bp)  # the admin has no plays of its own to import
log = logging.getLogger(__name__)
REFRESH_SECONDS = 2
_threads: dict[int, threading.Thread] = {}  # jobs this process is running, by id


class UploadForm(FlaskForm):
    """CSRF only: the files are read from ``request.files`` (one zip or several JSON files)."""


class ResumeForm(FlaskForm):
    """A POST with a CSRF token resumes an interrupted import."""


def _limits(app=None):
    """Size limits of an upload; tests set ``IMPORT_LIMITS`` to small ones."""
    return (app or current_app).config.get("IMPORT_LIMITS", DEFAULT_LIMITS)


def _own_job(job_id: int):
    job = history_import.job_of(current_user.id, job_id)
    if job is None:
        abort(404)
    return job


def _render_index(status: int = 200, error: str | None = None):
    jobs = history_import.jobs_of(current_user.id)
    # formdata=None: never read the request body here (after a 413 it must stay unread).
    return render_template(
        "imports/index.html",
        form=UploadForm(formdata=None),
        error=error,
        jobs=[history_import.status_of(j) for j in jobs],
        max_upload_mb=_limits().max_upload_bytes / (1024 * 1024),
    ), status


@bp.get("")
@login_required
def index():
    return _render_index()


@bp.post("")
@csrf.exempt  # checked below, once the upload's own size limit is in place
@login_required
def upload():
    # The site-wide limit suits forms; an export may be far bigger. Set this view's limit
    # before anything reads the body (the CSRF check included).
    request.max_content_length = _limits().max_upload_bytes
    try:
        form = UploadForm()
        if not form.validate_on_submit():
            return _render_index(400, "This form has expired: reload the page and upload again.")
        files = [
            (f.filename or "upload", f.stream)
            for f in request.files.getlist("export")
            if f and f.filename
        ]
    except RequestEntityTooLarge:
        limit_mb = _limits().max_upload_bytes / (1024 * 1024)
        return _render_index(
            413, f"That upload is larger than the {limit_mb:g} MB an import may be."
        )
    if not files:
        return _render_index(400, "Choose your export's zip file (or its JSON files) first.")
    settings = current_app.config["SETTINGS"]
    path = uploads.save_upload(settings.data_dir, current_user.id, files)
    name = ", ".join(PurePosixPath(n.replace("\\", "/")).name for n, _ in files)
    name = name if len(name) <= 200 else f"{len(files)} files"
    try:
        job, export = history_import.create_job(
            current_user.row, path, file_name=name, limits=_limits()
        )
    except (ExportError, history_import.ImportInProgress) as exc:
        path.unlink(missing_ok=True)
        code = 409 if isinstance(exc, history_import.ImportInProgress) else 400
        return _render_index(code, str(exc))
    start(current_app._get_current_object(), job.id, export)
    return redirect(url_for("imports.job", job_id=job.id))


@bp.get("/<int:job_id>")
@login_required
def job(job_id: int):
    found = _own_job(job_id)
    active = found.status in ("pending", "running")
    resumable = not _running_here(found.id) and found.id in {
        j.id for j in history_import.resumable_jobs() if j.user_id == current_user.id
    }
    page = render_template(
        "imports/job.html",
        job=history_import.status_of(found),
        resumable=resumable,
        form=ResumeForm(),
        refreshing=active and not resumable,
    )
    # The page follows a running job without scripts (the site's CSP allows none).
    return page, 200, {"Refresh": str(REFRESH_SECONDS)} if active and not resumable else {}


@bp.get("/<int:job_id>/status")
@login_required
def job_status(job_id: int):
    return jsonify(history_import.status_of(_own_job(job_id)))


@bp.post("/<int:job_id>/resume")
@login_required
def resume(job_id: int):
    found = _own_job(job_id)
    if ResumeForm().validate_on_submit():
        start(current_app._get_current_object(), found.id)
    return redirect(url_for("imports.job", job_id=found.id))


def start(app, job_id: int, export=None) -> threading.Thread:
    """Run the job in a background thread with its own database connection."""
    settings = app.config["SETTINGS"]
    interval = app.config.get("IMPORT_SEARCH_INTERVAL", history_import.SEARCH_INTERVAL)

    def work():
        models.db.connect(reuse_if_open=True)
        try:
            user_id = ImportJob.get_by_id(job_id).user_id
            client = history_import.client_for(settings, user_id, interval)
            ended = history_import.run_job(
                job_id, client=client, export=export, limits=_limits(app)
            )
            uploads.forget_upload(ended, settings.data_dir)
        except Exception:  # run_job marked the job failed; the thread has nobody to tell
            log.exception("import job %s stopped", job_id)
        finally:
            if not models.db.is_closed():
                models.db.close()

    if _running_here(job_id):
        return _threads[job_id]
    thread = _threads[job_id] = threading.Thread(target=work, name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread


def _running_here(job_id: int) -> bool:
    thread = _threads.get(job_id)
    return thread is not None and thread.is_alive()
