"""The history import page: upload, progress, report, refusals, other users, CSRF, resume."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from demo.export import EXTENDED_FOLDER, account_history, extended_history, write_zip
from models.imports import history_import
from models.imports.privacy_export import Limits
from models.schema.tables import ImportJob, Job, Play, Track
from spotify.sandbox.catalogue import World
from tests.environment import everything
from tests.factories import make_user
from tests.webtools import csrf_token, login_as
from tests.workertools import run_worker_until_idle
from tests.zip_bombs import write_nested_bomb

START = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def world():
    return World()


@pytest.fixture
def importer(app):
    return app


def counted(world, listener, start=START, end=END) -> int:
    return len(world.plays(listener, int(start.timestamp() * 1000), int(end.timestamp() * 1000)))


def upload(client, files, token=None):
    """POST the upload form with ``files`` [(name, bytes)] and the page's CSRF token."""
    if token is None:
        token = csrf_token(client.get("/account/import").get_data(as_text=True))
    data = {"export": [(io.BytesIO(content), name) for name, content in files]}
    if token:
        data["csrf_token"] = token
    return client.post("/account/import", data=data, content_type="multipart/form-data")


def wait_for(client, job_id: int) -> dict:
    """Run the worker (the web process only queues the job) and read the job's status."""
    run_worker_until_idle(client.application.config["SETTINGS"])
    return client.get(f"/account/import/{job_id}/status").get_json()


def test_uploading_the_zip_imports_it_and_shows_the_report(importer, client, auth, world):
    user = auth.login_user(0)
    listener = world.listener_by_id[user.spotify_id]
    archive = write_zip(
        importer.config["SETTINGS"].data_dir / "upload.zip",
        {
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": extended_history(
                world, listener, START, END, episodes=2
            ),
            f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF",
        },
    )
    page = client.get("/account/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "Import your Spotify history" in page
    response = upload(client, [("my_spotify_data.zip", archive.read_bytes())])
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    # the web process only queued it, unread: checking, the page follows it until a worker
    # has checked and imported it
    queued = client.get(f"/account/import/{job_id}")
    assert queued.headers["Refresh"] == "2" and 'data-status="checking"' in queued.get_data(
        as_text=True
    )
    assert 'id="resume"' not in queued.get_data(as_text=True)
    assert Play.select().count() == 0
    status = wait_for(client, job_id)
    expected = counted(world, listener)
    assert status["status"] == "done"
    assert status["plays_added"] == expected == Play.select().count()
    assert status["duplicates"] == 0 and status["unresolved"] == 0
    assert status["kept"]["episode"] == 2 and status["named_total"] == 0
    assert status["direct_done"] == status["direct_total"] == status["entries_total"]
    # the stored copy of the upload is deleted once the plays are in
    assert not list((importer.config["SETTINGS"].data_dir / "imports").rglob("*.zip"))
    page = client.get(f"/account/import/{job_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert f'<dd id="plays-added">{expected:,}</dd>' in text
    assert f'<dd id="skipped">{status["skipped"]:,}' in text
    total = status["direct_total"]
    assert f'<dd id="part-direct">{total:,} of {total:,}</dd>' in text
    assert "podcast episodes: 2" in text
    assert f"{status['first_played_at'][:10]} to {status['last_played_at'][:10]}" in text
    # the listing shows it, and the same file again adds nothing
    assert "my_spotify_data.zip" in client.get("/account/import").get_data(as_text=True)
    again = upload(client, [("my_spotify_data.zip", archive.read_bytes())])
    second = wait_for(client, int(again.headers["Location"].rsplit("/", 1)[1]))
    assert second["plays_added"] == 0 and second["duplicates"] == expected
    assert Play.select().count() == expected


def test_account_data_json_files_resolve_through_search(
    importer, client, auth, world, fresh_sandbox
):
    fresh_sandbox.control(app_mode="development")
    user = auth.login_user(1)
    listener = world.listener_by_id[user.spotify_id]
    entries = account_history(world, listener, START, START + dt.timedelta(hours=20))
    half = len(entries) // 2
    response = upload(
        client,
        [
            ("StreamingHistory_music_0.json", json.dumps(entries[:half]).encode()),
            ("StreamingHistory_music_1.json", json.dumps(entries[half:]).encode()),
        ],
    )
    assert response.status_code == 302
    status = wait_for(client, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert status["status"] == "done" and status["unresolved"] == 0
    assert status["plays_added"] == counted(world, listener, START, START + dt.timedelta(hours=20))
    assert status["searches"] > 0
    assert Track.select().where(Track.metadata_fetched_at.is_null()).count() == 0


def job_id_of(response) -> int:
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def but_the_jobs(rows: dict) -> dict:
    """``everything(db)`` without the import's own job and queue rows."""
    return {t: r for t, r in rows.items() if t not in ("import_job", "job")}


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("history.json", b"not json", "not valid JSON"),
        ("history.json", json.dumps({"a": 1}).encode(), "not a Spotify streaming history"),
        (
            "Streaming_History_Audio_2026.json",
            json.dumps([{"ts": "2090-01-01T00:00:00Z", "ms_played": 40_000}]).encode(),
            "out of range",
        ),
    ],
)
def test_a_bad_upload_is_refused_by_the_worker_with_its_message_and_stores_nothing(
    importer, client, db, name, content, message
):
    login_as(client, make_user())
    before = everything(db)
    response = upload(client, [(name, content)])
    # the request stores the file and queues the job without reading it
    assert response.status_code == 302
    job_id = job_id_of(response)
    assert response.headers["Location"].endswith(f"/account/import/{job_id}")
    checking = client.get(f"/account/import/{job_id}")
    assert 'data-status="checking"' in checking.get_data(as_text=True)
    assert checking.headers["Refresh"] == "2"
    at_once = client.get(f"/account/import/{job_id}/status").get_json()
    assert at_once["status"] == "checking" and at_once["percent"] == 0
    status = wait_for(client, job_id)
    assert status["status"] == "refused" and message in status["error"]
    assert status["plays_added"] == 0 and status["finished_at"] is not None
    page = client.get(f"/account/import/{job_id}")
    text = page.get_data(as_text=True)
    assert 'data-status="refused"' in text and message in text and "Refresh" not in page.headers
    assert 'id="resume"' not in text
    assert but_the_jobs(everything(db)) == but_the_jobs(before)
    assert Job.get(Job.target == str(job_id)).state == "done"
    assert not list((importer.config["SETTINGS"].data_dir / "imports").rglob("*.json"))


def test_an_upload_of_another_users_export_is_refused(importer, client, db, world):
    login_as(client, make_user(spotify_id="me"))
    entries = extended_history(
        world, world.listeners[0], START, END, username=world.listeners[0].id
    )
    response = upload(client, [("endsong_0.json", json.dumps(entries).encode())])
    assert response.status_code == 302
    status = wait_for(client, job_id_of(response))
    assert status["status"] == "refused" and "import your own export" in status["error"]
    assert Play.select().count() == 0 and Track.select().count() == 0


def test_a_nested_zip_bomb_upload_is_refused_by_the_worker(importer, client, db, tmp_path):
    """The review's bomb through the page: the request answers at once, the worker refuses."""
    login_as(client, make_user())
    bomb = write_nested_bomb(tmp_path)
    response = upload(client, [("my_spotify_data.zip", bomb.read_bytes())])
    assert response.status_code == 302
    status = wait_for(client, job_id_of(response))
    assert status["status"] == "refused" and "zip bomb" in status["error"]
    assert Play.select().count() == 0
    assert not list((importer.config["SETTINGS"].data_dir / "imports").rglob("*.zip"))


def test_an_export_zipped_inside_a_zip_imports(importer, client, auth, world, tmp_path):
    """Spotify's layout (a folder in the zip), zipped once more: still an export."""
    user = auth.login_user(0)
    listener = world.listener_by_id[user.spotify_id]
    inner = write_zip(
        tmp_path / "my_spotify_data.zip",
        {
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": extended_history(
                world, listener, START, END
            )
        },
    )
    outer = write_zip(tmp_path / "download.zip", {"my_spotify_data.zip": inner.read_bytes()})
    response = upload(client, [("download.zip", outer.read_bytes())])
    status = wait_for(client, job_id_of(response))
    assert status["status"] == "done" and status["entries_total"] > 0
    assert status["plays_added"] == counted(world, listener) == Play.select().count()


def test_an_oversized_upload_is_refused_before_it_is_read(importer, client, db):
    importer.config["IMPORT_LIMITS"] = Limits(max_upload_bytes=50_000)
    login_as(client, make_user())
    response = upload(client, [("big.json", b"[" + b" " * 60_000 + b"]")])
    assert response.status_code == 413
    assert "larger than the" in response.get_data(as_text=True)
    assert ImportJob.select().count() == 0


def test_the_upload_needs_a_csrf_token_and_a_login(importer, client, db):
    response = upload(client, [("a.json", b"[]")], token=False)
    assert response.status_code == 302  # anonymous: to the login page
    assert "next=%2Faccount%2Fimport" in response.headers["Location"]
    login_as(client, make_user())
    before = everything(db)
    refused = upload(client, [("a.json", b"[]")], token=False)
    assert refused.status_code == 400
    assert "expired" in refused.get_data(as_text=True)
    forged = upload(client, [("a.json", b"[]")], token="forged-token")
    assert forged.status_code == 400
    assert everything(db) == before


def test_another_users_job_is_not_found(importer, client, db, tmp_path, world):
    owner, intruder = make_user(spotify_id=world.listeners[0].id), make_user()
    path = write_zip(
        tmp_path / "x.zip",
        {
            "Streaming_History_Audio_2026.json": extended_history(
                world, world.listeners[0], START, END
            )
        },
    )
    job, _ = history_import.create_job(owner, path)
    login_as(client, intruder)
    assert client.get(f"/account/import/{job.id}").status_code == 404
    assert client.get(f"/account/import/{job.id}/status").status_code == 404
    token = csrf_token(client.get("/account/import").get_data(as_text=True))
    resume = client.post(f"/account/import/{job.id}/resume", data={"csrf_token": token})
    assert resume.status_code == 404
    assert "x.zip" not in client.get("/account/import").get_data(as_text=True)
    assert ImportJob.get_by_id(job.id).status == "pending" and Play.select().count() == 0


def test_an_interrupted_import_can_be_resumed_from_its_page(importer, client, db, tmp_path, world):
    user = make_user(spotify_id=world.listeners[0].id)
    path = write_zip(
        tmp_path / "x.zip",
        {
            "Streaming_History_Audio_2026.json": extended_history(
                world, world.listeners[0], START, END
            )
        },
    )
    job, export = history_import.create_job(user, path)
    history_import.run_job(job.id, export=export, chunk_size=10, should_stop=lambda: True)
    assert ImportJob.get_by_id(job.id).entries_done == 10
    login_as(client, user)
    # queued for a worker: nothing to resume by hand
    assert 'id="resume"' not in client.get(f"/account/import/{job.id}").get_data(as_text=True)
    # the queue gave up on it (its workers kept failing): now the listener may resume it
    Job.update(state="failed").where(Job.target == str(job.id)).execute()
    page = client.get(f"/account/import/{job.id}")
    text = page.get_data(as_text=True)
    assert 'id="resume"' in text and "Refresh" not in page.headers
    token = csrf_token(text)
    assert client.post(f"/account/import/{job.id}/resume").status_code == 400  # no CSRF token
    response = client.post(f"/account/import/{job.id}/resume", data={"csrf_token": token})
    assert response.status_code == 302
    status = wait_for(client, job.id)
    assert status["status"] == "done"
    assert status["plays_added"] == counted(world, world.listeners[0]) == Play.select().count()
