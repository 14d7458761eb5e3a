"""The history import page: upload a Spotify privacy export, watch it import, read the report.

The work is in ``models.imports.history_import`` (shared with the Luigi task ``ImportHistory``):
this blueprint takes the upload, checks who asks, stores the file under the upload's own size
limit and records the job (which queues it), then shows its progress.  It never reads the
export: a worker process (``python -m batch.worker``) checks the file (the job is "checking";
a file that is not a usable export ends "refused" with its message on the job's page) and
imports it, never this one, so neither a hostile zip nor a restart of the web server touches
this process's work.  The pages use no JavaScript (the
site's CSP forbids it): a running job's page refreshes itself, and ``/status`` answers the
same counters as JSON for scripts.
"""

from __future__ import annotations

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

from models.accounts import uploads
from models.imports import history_import
from models.imports.privacy_export import DEFAULT_LIMITS
from web.auth import for_listeners_only
from web.security import csrf

bp = Blueprint("imports", __name__, url_prefix="/account/import")
for_listeners_only(bp)  # the admin has no plays of its own to import
REFRESH_SECONDS = 2


class UploadForm(FlaskForm):
    """CSRF only: the files are read from ``request.files`` (one zip or several JSON files)."""


class ResumeForm(FlaskForm):
    """A POST with a CSRF token resumes an interrupted import."""


def _limits():
    """Size limits of an upload; tests set ``IMPORT_LIMITS`` to small ones.  Only the upload's
    own size (``max_upload_bytes``) is checked here; the worker checks the rest."""
    return current_app.config.get("IMPORT_LIMITS", DEFAULT_LIMITS)


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
        job = history_import.accept_upload(current_user.row, path, file_name=name)
    except history_import.ImportInProgress as exc:
        path.unlink(missing_ok=True)
        return _render_index(409, str(exc))
    # Whether the file is a usable export, the job's page says once the worker has checked it.
    return redirect(url_for("imports.job", job_id=job.id))


@bp.get("/<int:job_id>")
@login_required
def job(job_id: int):
    found = _own_job(job_id)
    active = found.status in ("checking", "pending", "running")
    # Resuming is for a job that could go on but that no worker has queued (its queue row
    # failed); a queued one only needs a worker.
    resumable = not history_import.is_queued(found.id) and found.id in {
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
    if ResumeForm().validate_on_submit() and found.status in history_import.ACTIVE:
        history_import.queue_job(found.id)
    return redirect(url_for("imports.job", job_id=found.id))
