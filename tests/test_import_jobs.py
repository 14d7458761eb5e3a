"""Importing a privacy export into the database (models.imports.history_import), on SQLite and
PostgreSQL.

Exports are generated from the sandbox's world (demo/export.py), so their track ids and names
are the sandbox catalogue's; API plays come from the sandbox over HTTP through the real ETL.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import luigi
import pytest

from demo.export import (
    ACCOUNT_FOLDER,
    EXTENDED_FOLDER,
    account_history,
    extended_history,
    write_zip,
)
from models.accounts import uploads
from models.imports import history_import
from models.imports.history_import import ImportInProgress, create_job, run_job, status_of
from models.imports.privacy_export import ExportError, Limits
from models.schema.tables import ImportJob, Play, Track, User
from spotify.sandbox.catalogue import World
from tests.environment import everything
from tests.etl_world import connect_listener, naive, run_etl, truth
from tests.factories import make_artist, make_track, make_user

START = dt.datetime(2026, 11, 17, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)  # the sandbox's clock in tests


@pytest.fixture
def linked(db, fresh_sandbox, make_settings):
    """Settings pointing at this test's database and the sandbox; no pacing between calls."""
    luigi.configuration.get_config().set("etl", "call_interval", "0")
    return make_settings(DATABASE_URL=db.url, **fresh_sandbox.env())


@pytest.fixture(scope="module")
def world():
    return World()  # the sandbox's default world: same ids as the `sandbox` fixture's


@pytest.fixture
def listener(world):
    return world.listeners[0]


def extended_zip(tmp_path, world, listener, start=START, end=END, name="extended.zip", **options):
    entries = extended_history(world, listener, start, end, **options)
    return write_zip(
        tmp_path / name, {f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": entries}
    )


def account_zip(tmp_path, world, listener, start=START, end=END, name="account.zip"):
    entries = account_history(world, listener, start, end)
    return write_zip(tmp_path / name, {f"{ACCOUNT_FOLDER}/StreamingHistory_music_0.json": entries})


def world_truth(world, listener, start=START, end=END) -> set:
    """The listener's counted plays as (played_at to the second, track id)."""
    return {
        (
            dt.datetime.fromtimestamp(s.played_at_ms // 1000, dt.UTC).replace(tzinfo=None),
            world.tracks[s.track].id,
        )
        for s in world.plays(listener, int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    }


def sandbox_user(sandbox, world, index: int):
    """Sandbox listener ``index`` as a user who logged in (a stored grant), and the listener."""
    listener_id = sandbox.listeners()[index]["id"]
    return connect_listener(sandbox, listener_id), world.listener_by_id[listener_id]


def song_of(world, track_id) -> tuple[str, str]:
    track = world.track_by_id[track_id]
    return track.name, world.artists[track.artists[0]].name


def stored_plays(user) -> set:
    return {
        (p.played_at.replace(microsecond=0), p.track_id)
        for p in Play.select().where(Play.user == user.id)
    }


def import_file(user, path, **options):
    job, export = create_job(user, path)
    return run_job(job.id, export=export, **options)


def test_extended_history_stores_every_counted_play_with_track_stubs(db, tmp_path, world, listener):
    user = make_user(spotify_id=listener.id)
    path = extended_zip(tmp_path, world, listener, episodes=3)
    job = import_file(user, path)
    expected = world_truth(world, listener)
    assert job.status == "done" and job.error is None
    assert job.plays_added == len(expected) and job.duplicates == 0 and job.unresolved == 0
    assert stored_plays(user) == expected
    assert {p.source for p in Play.select()} == {"import"}
    # tracks are stubs (id + name) until the ETL's tracks step completes them
    ids = {track_id for _, track_id in expected}
    stubs = list(Track.select().where(Track.id.in_(ids)))
    assert len(stubs) == len(ids)
    assert all(t.metadata_fetched_at is None and t.name for t in stubs)
    assert stubs[0].name == world.track_by_id[stubs[0].id].name
    report = status_of(job)
    skips = sum(
        1
        for s in world.streams(listener, int(START.timestamp() * 1000), int(END.timestamp() * 1000))
        if not s.counted
    )
    # short streams and episodes are kept, apart from the plays
    assert report["skipped_by_reason"] == {}
    assert job.report_data["kept"] == {"short": skips, "episode": 3}
    assert report["percent"] == 100 and report["entries_done"] == len(expected) + skips + 3
    first = min(at for at, _ in expected)
    assert report["first_played_at"] == first.isoformat()


def test_importing_the_same_file_twice_adds_nothing(db, tmp_path, world, listener):
    user = make_user(spotify_id=listener.id)
    path = extended_zip(tmp_path, world, listener)
    first = import_file(user, path)
    before = everything(db)
    second = import_file(user, path)
    assert second.plays_added == 0 and second.duplicates == first.plays_added > 0
    after = everything(db)
    assert after["play"] == before["play"] and after["track"] == before["track"]


@pytest.mark.parametrize("app_mode", ["extended", "development"])
def test_import_and_api_plays_of_the_same_listen_are_one_play(
    db, linked, tmp_path, world, fresh_sandbox, app_mode
):
    """API plays (ms precision) first, then the extended export (seconds) and account data
    (minutes) of the same days: only the plays the API could not show are added."""
    fresh_sandbox.control(app_mode=app_mode)
    user, listener = sandbox_user(fresh_sandbox, world, 0)
    result = run_etl(linked, naive(fresh_sandbox.now()))
    assert result.status.name == "SUCCESS"
    assert Play.select().where(Play.user == user.id).count() == 50
    extended = import_file(user, extended_zip(tmp_path, world, listener))
    expected = truth(fresh_sandbox, user, START)
    assert extended.duplicates == 50
    assert extended.plays_added == len(expected) - 50
    assert Play.select().where(Play.user == user.id).count() == len(expected)
    # the next hour's ETL completes the stubs (artists linked), so names resolve without search;
    # with batch reads closed (development mode) it reads each stub once, singly
    stubs = Track.select().where(Track.metadata_fetched_at.is_null()).count()
    assert stubs > 0
    before = fresh_sandbox.calls()["calls"]
    fresh_sandbox.advance(hours=1)
    assert run_etl(linked, naive(fresh_sandbox.now())).status.name == "SUCCESS"
    assert Track.select().where(Track.metadata_fetched_at.is_null()).count() == 0
    calls = fresh_sandbox.calls()["calls"]
    single_reads = calls.get("track", 0) - before.get("track", 0)
    assert single_reads == (stubs if app_mode == "development" else 0)
    account = import_file(user, account_zip(tmp_path, world, listener))
    assert account.plays_added == 0 and account.unresolved == 0
    assert account.duplicates == len(expected)


def test_one_upload_with_both_kinds_resolves_account_data_from_the_extended_part(
    db, tmp_path, world, listener
):
    user = make_user(spotify_id=listener.id)
    both = write_zip(
        tmp_path / "both.zip",
        {
            f"{ACCOUNT_FOLDER}/StreamingHistory_music_0.json": account_history(
                world, listener, START, END
            ),
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": extended_history(
                world, listener, START - dt.timedelta(days=1), END
            ),
        },
    )
    job = import_file(user, both)
    assert job.unresolved == 0
    assert job.duplicates == len(world_truth(world, listener))
    assert stored_plays(user) == world_truth(world, listener, START - dt.timedelta(days=1))


def test_api_plays_after_an_import_are_recognised(db, linked, tmp_path, world, fresh_sandbox):
    """The other order: account data first (mid-minute played_at), then the API's plays."""
    user, listener = sandbox_user(fresh_sandbox, world, 1)
    client = history_import.client_for(linked, user.id, min_interval=0)
    since = END - dt.timedelta(days=2)  # the API's last 50 plays are within these two days
    account = import_file(user, account_zip(tmp_path, world, listener, since), client=client)
    expected = truth(fresh_sandbox, user, since)
    assert account.unresolved == 0 and account.plays_added == len(expected)
    # Names alone cannot tell the album version of a song from the single of the same name:
    # search picks the most popular, and those plays may differ from the API's track.
    true_track = {at.replace(microsecond=0): t for at, t in expected}
    guessed = {p.played_at: p.track_id for p in Play.select()}
    wrong = {at for at, t in guessed.items() if t != _true_track_near(true_track, at)}
    assert len(wrong) <= len(expected) // 10
    assert run_etl(linked, naive(fresh_sandbox.now())).status.name == "SUCCESS"
    # The API shows the last 50 plays: each one since the import's start is the same listen
    # as an imported play, and only added where that play got the other version of the song.
    last_50 = sorted(expected)[-50:]
    api_added = [p.played_at for p in Play.select().where(Play.source == "api")]
    assert len(api_added) < len([at for at, _ in last_50 if at >= naive(since)])
    for at in api_added:
        assert at < naive(since) or any(abs(at - w) <= dt.timedelta(seconds=31) for w in wrong)
    assert Play.select().where(Play.user == user.id).count() == len(expected) + len(api_added)


def _true_track_near(true_track: dict, moment: dt.datetime) -> str | None:
    """The track that really ended within 30 s of ``moment`` (an account-data play's time)."""
    for at, track_id in true_track.items():
        if abs(at - moment) <= dt.timedelta(seconds=31):
            return track_id
    return None


def test_account_data_resolves_names_of_stored_tracks_case_insensitively(db, tmp_path):
    user = make_user()
    band = make_artist(name="The Beatles")
    song = make_track(artists=[band], name="Here Comes the Sun")
    other = make_track(artists=[make_artist(name="Nina Simone")], name="Feeling Good")
    entries = [
        {
            "endTime": "2024-05-01 10:00",
            "artistName": "the beatles",
            "trackName": "HERE COMES THE SUN",
            "msPlayed": 185_000,
        },
        {
            "endTime": "2024-05-01 10:04",
            "artistName": "Nina Simone",
            "trackName": "Feeling Good",
            "msPlayed": 170_000,
        },
        {
            "endTime": "2024-05-01 10:08",
            "artistName": "Nobody Known",
            "trackName": "Lost Song",
            "msPlayed": 170_000,
        },
        {
            "endTime": "2024-05-01 10:12",
            "artistName": "Nobody Known",
            "trackName": "Lost Song",
            "msPlayed": 90_000,
        },
    ]
    path = tmp_path / "StreamingHistory_music_0.json"
    path.write_text(json.dumps(entries))
    job = import_file(user, path)
    assert job.status == "done"
    assert job.plays_added == 2 and job.unresolved == 2
    assert [(p.track_id, p.played_at) for p in Play.select().order_by(Play.played_at)] == [
        (song.id, dt.datetime(2024, 5, 1, 10, 0, 30)),
        (other.id, dt.datetime(2024, 5, 1, 10, 4, 30)),
    ]
    assert status_of(job)["unresolved_tracks"] == [
        {"track": "Lost Song", "artist": "Nobody Known", "plays": 2}
    ]
    assert status_of(job)["search_error"] == history_import.NO_SEARCH  # no Spotify grant


@pytest.mark.parametrize("app_mode", ["extended", "development"])
def test_account_data_is_resolved_through_search_in_both_app_modes(
    db, linked, tmp_path, world, fresh_sandbox, app_mode
):
    fresh_sandbox.control(app_mode=app_mode)
    user, listener = sandbox_user(fresh_sandbox, world, 2)
    start, end = START, START + dt.timedelta(hours=14)
    entries = account_history(world, listener, start, end)
    entries.append(
        {
            "endTime": "2026-11-18 09:00",
            "artistName": "Nobody Known",
            "trackName": "Not On Spotify",
            "msPlayed": 100_000,
        }
    )
    path = write_zip(
        tmp_path / "account.zip", {f"{ACCOUNT_FOLDER}/StreamingHistory_music_0.json": entries}
    )
    client = history_import.client_for(linked, user.id, min_interval=0)
    job, export = create_job(user, path)
    job = run_job(job.id, export=export, client=client)
    expected = world_truth(world, listener, start, end)
    assert job.status == "done"
    assert job.plays_added == len(expected) and job.unresolved == 1
    # every play on a track of its true name and artist (the true one unless the artist has
    # two songs of that name), at most 30 s from when it really ended
    stored = sorted((p.played_at, p.track_id) for p in Play.select())
    assert len(stored) == len(expected)
    for (at, got), (true_at, true_id) in zip(stored, sorted(expected), strict=True):
        assert abs(at - true_at) <= dt.timedelta(seconds=31)
        assert song_of(world, got) == song_of(world, true_id)
    assert sum(
        got == true_id for (_, got), (_, true_id) in zip(stored, sorted(expected), strict=True)
    ) >= 0.9 * len(expected)
    # one search per distinct (track, artist), then stored tracks are complete, not stubs
    distinct = {(e["trackName"], e["artistName"]) for e in entries if e["msPlayed"] >= 30_000}
    assert status_of(job)["searches"] == len(distinct)
    answered = [c for c in fresh_sandbox.calls("search")["log"] if c["status"] == 200]
    assert len(answered) == len(distinct)
    if app_mode == "development":
        assert all(int(c["query"]["limit"]) <= 10 for c in answered)
    assert Track.select().where(Track.metadata_fetched_at.is_null()).count() == 0
    # a second import of the same file finds everything stored: no search at all
    searches_before = fresh_sandbox.calls()["calls"]["search"]
    again = import_file(user, path, client=client)
    assert again.plays_added == 0 and again.duplicates == len(expected)
    assert fresh_sandbox.calls()["calls"]["search"] - searches_before == 1  # the unknown song


BAD_EXPORTS = {
    "not json": b"this is not json at all",
    "another shape": json.dumps({"playlists": [{"name": "Mix"}]}).encode(),
    "zip of other files": "zip-other",
    "zip bomb": "zip-bomb",
    "oversized": "oversized",
    "timestamp out of range": json.dumps(
        [{"ts": "2099-01-01T00:00:00Z", "ms_played": 60_000, "spotify_track_uri": None}]
    ).encode(),
    "another user's export": "other-user",
    "bad entry after good ones": "bad-late",
}


def bad_export(kind, tmp_path, world, listener) -> tuple:
    content = BAD_EXPORTS[kind]
    limits = Limits()
    if isinstance(content, bytes):
        path = tmp_path / "upload.json"
        path.write_bytes(content)
        return path, limits
    if content == "zip-other":
        return write_zip(
            tmp_path / "x.zip", {"a/notes.txt": b"hello", "b/cat.jpg": b"\xff"}
        ), limits
    if content == "zip-bomb":
        return write_zip(
            tmp_path / "bomb.zip",
            {"Streaming_History_Audio_1.json": b"[" + b" " * 30_000_000 + b"]"},
        ), limits
    entries = extended_history(world, listener, START, END)
    if content == "oversized":
        return extended_zip(tmp_path, world, listener), Limits(max_upload_bytes=2_000)
    if content == "other-user":
        entries = extended_history(world, listener, START, END, username="someone.else")
    if content == "bad-late":
        entries[-1]["ms_played"] = "lots"
    return write_zip(tmp_path / "e.zip", {"Streaming_History_Audio_2026_0.json": entries}), limits


def bad_export_after_an_import(db, tmp_path, world, listener, kind):
    """A listener with twelve hours imported, a bad export of ``kind`` for them, its limits,
    and every table's rows before the bad export is tried."""
    user = make_user(spotify_id=listener.id)
    import_file(
        user,
        extended_zip(
            tmp_path, world, listener, START, START + dt.timedelta(hours=12), name="earlier.zip"
        ),
    )
    path, limits = bad_export(kind, tmp_path, world, listener)
    return user, path, limits, everything(db)


@pytest.mark.parametrize("kind", sorted(BAD_EXPORTS))
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    db, tmp_path, world, listener, kind
):
    user, path, limits, before = bad_export_after_an_import(db, tmp_path, world, listener, kind)
    with pytest.raises(ExportError) as refused:
        create_job(user, path, limits=limits)
    assert len(str(refused.value)) > 20
    assert everything(db) == before


def but_the_jobs(rows: dict) -> dict:
    """``everything(db)`` without the import's own job and queue rows."""
    return {t: r for t, r in rows.items() if t not in ("import_job", "job")}


@pytest.mark.parametrize("kind", sorted(BAD_EXPORTS))
def test_an_accepted_upload_is_checked_first_and_a_bad_one_is_refused_storing_nothing(
    db, tmp_path, world, listener, kind
):
    """What the page does: record the job unread; the worker's check refuses it, no play in."""
    user, path, limits, before = bad_export_after_an_import(db, tmp_path, world, listener, kind)
    job = history_import.accept_upload(user, path, file_name="upload")
    assert job.status == "checking" and job.entries_total == 0
    assert history_import.is_queued(job.id)
    with pytest.raises(ImportInProgress):  # a file being checked is an unfinished import
        history_import.accept_upload(user, path)
    ended = run_job(job.id, limits=limits)
    assert ended.status == "refused" and len(ended.error) > 20 and ended.finished_at
    assert ended.entries_done == 0 and ended.plays_added == 0
    assert status_of(ended)["error"] == ended.error
    assert but_the_jobs(everything(db)) == but_the_jobs(before)
    assert history_import.active_job(user.id) is None and not history_import.resumable_jobs()


def test_an_accepted_upload_that_reads_well_is_imported_by_the_same_run(
    db, tmp_path, world, listener
):
    user = make_user(spotify_id=listener.id)
    job = history_import.accept_upload(user, extended_zip(tmp_path, world, listener))
    done = run_job(job.id, chunk_size=40)
    assert done.status == "done" and done.entries_total == done.entries_done > 40
    assert done.report_data["plays"] == done.entries_total
    assert stored_plays(user) == world_truth(world, listener)


def test_a_check_is_not_taken_twice_and_a_dead_checker_is_taken_over(db, tmp_path, world, listener):
    user = make_user(spotify_id=listener.id)
    job = history_import.accept_upload(user, extended_zip(tmp_path, world, listener))
    now = history_import.utcnow()
    # another worker started checking it a moment ago: this one leaves it alone
    ImportJob.update(started_at=now, updated_at=now).where(ImportJob.id == job.id).execute()
    left = run_job(job.id)
    assert left.status == "checking" and Play.select().count() == 0
    assert not history_import.resumable_jobs()
    # that worker died (no heartbeat for STALE_AFTER): the next run checks and imports
    stale = now - history_import.STALE_AFTER - dt.timedelta(seconds=1)
    ImportJob.update(updated_at=stale).where(ImportJob.id == job.id).execute()
    assert [j.id for j in history_import.resumable_jobs()] == [job.id]
    assert run_job(job.id).status == "done"
    assert stored_plays(user) == world_truth(world, listener)


def test_resume_after_an_interruption_continues_where_it_stopped(
    db, tmp_path, world, listener, monkeypatch
):
    user = make_user(spotify_id=listener.id)
    path = extended_zip(tmp_path, world, listener)
    job, export = create_job(user, path)
    total = job.entries_total
    assert total > 60

    def plays_in(streams):
        return sum(1 for p in streams if not p.short)

    # the process dies while storing the third chunk: that chunk rolls back, two stay
    calls = []
    real_store = history_import.store_rows

    def dying_store(user_id, plays, source):
        calls.append(len(plays))
        if len(calls) == 3:
            raise KeyboardInterrupt  # not an Exception: nothing gets to mark the job
        return real_store(user_id, plays, source)

    monkeypatch.setattr(history_import, "store_rows", dying_store)
    with pytest.raises(KeyboardInterrupt):
        run_job(job.id, export=export, chunk_size=20)
    monkeypatch.setattr(history_import, "store_rows", real_store)
    job = ImportJob.get_by_id(job.id)
    assert job.status == "running" and job.entries_done == 40
    assert Play.select().count() == job.plays_added == plays_in(export.plays[:40])
    # a live job is not taken over; a dead one (no heartbeat for STALE_AFTER) is
    assert run_job(job.id, chunk_size=20).entries_done == 40
    ImportJob.update(updated_at=job.updated_at - history_import.STALE_AFTER).execute()
    assert [j.id for j in history_import.resumable_jobs()] == [job.id]
    resumed = run_job(job.id, chunk_size=20)  # re-reads the stored file
    assert resumed.status == "done" and resumed.entries_done == total
    assert resumed.plays_added == plays_in(export.plays) and resumed.duplicates == 0
    assert stored_plays(user) == world_truth(world, listener)


def test_a_stopped_job_goes_back_to_pending_and_finishes_later(db, tmp_path, world, listener):
    user = make_user(spotify_id=listener.id)
    job, export = create_job(user, extended_zip(tmp_path, world, listener))
    stopped = run_job(job.id, export=export, chunk_size=50, should_stop=lambda: True)
    assert stopped.status == "pending" and stopped.entries_done == 50
    with pytest.raises(ImportInProgress):
        create_job(user, extended_zip(tmp_path, world, listener, name="other.zip"))
    done = run_job(job.id, export=export, chunk_size=50)
    assert done.status == "done" and done.entries_done == job.entries_total
    assert done.plays_added == sum(1 for p in export.plays if not p.short)


def test_a_long_retry_after_pauses_the_job_which_resumes_later(
    db, linked, tmp_path, world, fresh_sandbox
):
    user, listener = sandbox_user(fresh_sandbox, world, 3)
    path = account_zip(tmp_path, world, listener, START, START + dt.timedelta(hours=20))
    client = history_import.client_for(linked, user.id, min_interval=0)
    job, export = create_job(user, path)
    fresh_sandbox.control(rate_limit=3, retry_after=4 * 3600)
    waiting = run_job(job.id, export=export, client=client)
    assert waiting.status == "waiting" and waiting.resume_at is not None
    assert waiting.resume_at > dt.datetime.utcnow() + dt.timedelta(hours=3)
    assert Play.select().count() == waiting.plays_added  # nothing half-stored
    assert run_job(job.id, client=client).status == "waiting"  # not before resume_at
    fresh_sandbox.control(rate_limit=None, retry_after=None)
    ImportJob.update(resume_at=dt.datetime.utcnow() - dt.timedelta(seconds=1)).execute()
    client = history_import.client_for(linked, user.id, min_interval=0)
    done = run_job(job.id, client=client)
    assert done.status == "done"
    assert done.plays_added == len(
        world_truth(world, listener, START, START + dt.timedelta(hours=20))
    )


def test_an_expired_grant_leaves_names_unresolved_and_says_why(
    db, linked, tmp_path, world, fresh_sandbox
):
    user, listener = sandbox_user(fresh_sandbox, world, 4)
    fresh_sandbox.control(revoked=[user.spotify_id])
    client = history_import.client_for(linked, user.id, min_interval=0)
    job = import_file(
        user,
        account_zip(tmp_path, world, listener, START, START + dt.timedelta(hours=12)),
        client=client,
    )
    assert job.status == "done" and job.plays_added == 0 and job.unresolved > 0
    assert "Refresh token revoked" in status_of(job)["search_error"]
    assert all(c["status"] != 200 for c in fresh_sandbox.calls("search")["log"])
    assert User.get_by_id(user.id).needs_reauth


def test_a_job_whose_file_vanished_fails_with_a_message(db, tmp_path, world, listener):
    user = make_user(spotify_id=listener.id)
    path = extended_zip(tmp_path, world, listener)
    job, _ = create_job(user, path)
    path.unlink()
    failed = run_job(job.id)
    assert failed.status == "failed" and "no longer stored" in failed.error
    assert Play.select().count() == 0


def test_jobs_are_only_visible_to_their_owner(db, tmp_path, world, listener):
    owner, other = make_user(spotify_id=listener.id), make_user()
    job, _ = create_job(owner, extended_zip(tmp_path, world, listener))
    assert history_import.job_of(owner.id, job.id).id == job.id
    assert history_import.job_of(other.id, job.id) is None
    assert history_import.jobs_of(other.id) == []


def test_several_json_files_are_stored_as_one_zip(tmp_path, world, listener):
    entries = extended_history(world, listener, START, START + dt.timedelta(hours=6))
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(entries[:5]))
    second.write_text(json.dumps(entries[5:]))
    with first.open("rb") as one, second.open("rb") as two:
        stored = uploads.save_upload(
            tmp_path / "data",
            7,
            [
                ("Streaming_History_Audio_2026_0.json", one),
                ("C:\\Users\\me\\Streaming_History_Audio_2026_1.json", two),
            ],
        )
    assert stored.parent == tmp_path / "data" / "imports" / "7"
    with zipfile.ZipFile(stored) as archive:
        assert [n.split("/", 1)[1] for n in archive.namelist()] == [
            "Streaming_History_Audio_2026_0.json",
            "Streaming_History_Audio_2026_1.json",
        ]


def test_only_finished_uploads_under_the_data_dir_are_forgotten(db, tmp_path, world, listener):
    user = make_user(spotify_id=listener.id)
    upload_dir = tmp_path / "data" / "imports" / str(user.id)
    upload_dir.mkdir(parents=True)
    stored = extended_zip(upload_dir, world, listener)
    elsewhere = extended_zip(tmp_path, world, listener, name="admin-copy.zip")
    job, export = create_job(user, stored)
    assert not uploads.forget_upload(job, tmp_path / "data")  # still to import
    done = run_job(job.id, export=export)
    assert uploads.forget_upload(done, tmp_path / "data") and not stored.exists()
    other = import_file(user, elsewhere)
    assert not uploads.forget_upload(other, tmp_path / "data") and elsewhere.exists()
