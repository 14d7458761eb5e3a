"""The ETL under Spotify's failures and its 2026 rules, against the sandbox's fault knobs."""

from __future__ import annotations

import datetime as dt
import time

import luigi

from models.schema.tables import (
    Artist,
    AudioFeatures,
    EtlLog,
    EtlRun,
    OAuthToken,
    Play,
    Track,
    User,
)
from tests.etl_world import connect_listener, connect_listeners, naive, run_etl, stored, truth

HOUR = dt.timedelta(hours=1)


def last_window(sandbox, user, now):
    """The plays a sync at ``now`` can see: the listener's last 50."""
    plays = truth(sandbox, user, now - dt.timedelta(days=30), now + dt.timedelta(seconds=1))
    return set(sorted(plays)[-50:])


def set_clock(sandbox, moment):
    sandbox.set_clock(moment.replace(tzinfo=dt.UTC))


def test_healthy_users_complete_under_429s_5xx_expired_tokens_and_a_revoked_grant(
    etl, fresh_sandbox
):
    users = connect_listeners(fresh_sandbox, 5)
    revoked = users[2]
    hour = naive(fresh_sandbox.now())
    fresh_sandbox.control(
        rate_limit=4,
        rate_window=1.0,
        error_rate=0.15,
        expire_tokens=True,
        revoked=[revoked.spotify_id],
        audio_features=False,
    )
    result = run_etl(etl, hour)
    assert result.status == luigi.LuigiStatusCode.SUCCESS

    calls = fresh_sandbox.calls()
    assert (
        calls["rate_limited"] > 0
        and calls["statuses"].get("500", 0)
        + calls["statuses"].get("502", 0)
        + calls["statuses"].get("503", 0)
        > 0
    )
    for user in users:
        if user is revoked:
            assert stored(user) == []
        else:
            got = stored(user)
            assert len(got) == len(set(got)) == 50 and set(got) == last_window(
                fresh_sandbox, user, hour
            )
    flagged = User.get_by_id(revoked.id)
    assert flagged.needs_reauth and "revoked" in flagged.reauth_reason.lower()
    assert User.select().where(User.needs_reauth == True).count() == 1  # noqa: E712
    # Features closed: every track is marked forbidden once, nothing else is lost.
    assert (
        AudioFeatures.select().where(AudioFeatures.status == "forbidden").count()
        == Track.select().count()
        > 0
    )
    features_log = EtlLog.get(EtlLog.step == "features")
    assert features_log.status == "done" and "unavailable" in features_log.error
    run = EtlRun.get()
    assert run.status == "partial" and run.summary_data["needs_reauth"] == 1
    reauth_log = EtlLog.get(EtlLog.user == revoked.id, EtlLog.step == "extract")
    assert reauth_log.status == "reauth" and reauth_log.api_calls_data["token"] == 1

    # The next hour, Spotify is healthy again: the flagged user is left alone, others go on.
    fresh_sandbox.control(rate_limit=None, error_rate=0.0)
    set_clock(fresh_sandbox, hour + HOUR)
    assert run_etl(etl, hour + HOUR).status == luigi.LuigiStatusCode.SUCCESS
    assert Play.select().count() == len(
        {p for u in users if u is not revoked for p in truth(fresh_sandbox, u, min(stored(u))[0])}
    )
    assert (
        not EtlLog.select()
        .where(EtlLog.user == revoked.id, EtlLog.run == EtlRun.get(EtlRun.hour == hour + HOUR))
        .exists()
    )


def test_development_mode_reads_singles_and_stores_missing_fields_as_null(etl, fresh_sandbox):
    fresh_sandbox.control(app_mode="development")
    users = connect_listeners(fresh_sandbox, 2)
    hour = naive(fresh_sandbox.now())
    assert run_etl(etl, hour).status == luigi.LuigiStatusCode.SUCCESS
    for user in users:
        assert set(stored(user)) == last_window(fresh_sandbox, user, hour)
    artists = Artist.select().count()
    calls = fresh_sandbox.calls()["calls"]
    # One batch read learns the 403; then one single read per artist never seen, no more.
    assert calls["artists"] == 1 and calls["artist"] == artists
    assert calls["audio_features"] == 1 and "tracks" not in calls and "track" not in calls
    assert Artist.select().where(Artist.details_fetched_at.is_null()).count() == 0
    assert (
        Artist.select()
        .where(Artist.popularity.is_null(False) | Artist.followers.is_null(False))
        .count()
        == 0
    )
    assert Track.select().where(Track.popularity.is_null(False)).count() == 0
    assert Track.select().where(Track.duration_ms.is_null()).count() == 0  # still sent
    assert AudioFeatures.select().where(AudioFeatures.status != "forbidden").count() == 0
    run = EtlRun.get()
    assert run.app_mode == "development"
    assert run.summary_data["capabilities"]["batch.artists"]["allowed"] is False

    # Within a day the refusals are believed: new artists are read one by one at once.
    set_clock(fresh_sandbox, hour + 6 * HOUR)
    run_etl(etl, hour + 6 * HOUR)
    after = fresh_sandbox.calls()["calls"]
    assert after["artists"] == 1 and after["audio_features"] == 1
    assert after["artist"] == Artist.select().count()
    assert EtlRun.get(EtlRun.hour == hour + 6 * HOUR).app_mode == "development"
    assert AudioFeatures.select().count() == Track.select().count()


def test_a_refresh_token_expiring_between_runs_flags_that_user_only(etl, fresh_sandbox):
    early = connect_listener(fresh_sandbox, fresh_sandbox.listeners()[0]["id"])
    start = naive(fresh_sandbox.now())
    set_clock(fresh_sandbox, start + HOUR)
    others = connect_listeners(fresh_sandbox, 2, start=1)
    fresh_sandbox.control(refresh_token_lifetime=int(3.5 * 3600))
    assert run_etl(etl, start + HOUR).status == luigi.LuigiStatusCode.SUCCESS
    assert not User.get_by_id(early.id).needs_reauth  # its refresh token still works

    later = start + 4 * HOUR  # the early login's refresh token died half an hour ago
    set_clock(fresh_sandbox, later)
    assert run_etl(etl, later).status == luigi.LuigiStatusCode.SUCCESS
    flagged = User.get_by_id(early.id)
    assert flagged.needs_reauth and "expired" in flagged.reauth_reason.lower()
    for user in others:
        assert not User.get_by_id(user.id).needs_reauth
        first = min(stored(user))[0]
        assert set(stored(user)) == truth(
            fresh_sandbox, user, first, later + dt.timedelta(seconds=1)
        )
    assert len(stored(early)) == len(set(stored(early))) >= 50  # kept, not deleted

    # Logging in again (what the web's callback stores) clears the flag; the next run catches up.
    tokens = fresh_sandbox.grant(early.spotify_id)
    OAuthToken.update(
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        expires_at=later + HOUR,
    ).where(OAuthToken.user == early.id).execute()
    User.update(needs_reauth=False, reauth_reason=None).where(User.id == early.id).execute()
    set_clock(fresh_sandbox, later + HOUR)
    run_etl(etl, later + HOUR)
    first = min(stored(early))[0]
    assert set(stored(early)) == truth(
        fresh_sandbox, early, first, later + HOUR + dt.timedelta(seconds=1)
    )


def test_a_retry_after_of_hours_defers_without_sleeping_and_the_next_run_catches_up(
    etl, fresh_sandbox
):
    users = connect_listeners(fresh_sandbox, 3)
    hour = naive(fresh_sandbox.now())
    run_etl(etl, hour)
    fresh_sandbox.control(rate_limit=1, rate_window=30.0, retry_after=3 * 3600)
    later = hour + 5 * HOUR
    set_clock(fresh_sandbox, later)
    began = time.monotonic()
    assert run_etl(etl, later).status == luigi.LuigiStatusCode.SUCCESS
    assert time.monotonic() - began < 10  # no sleeping through the Retry-After
    # The sandbox's window (real seconds) still holds the first run's calls: Spotify says
    # "come back in 3 h" at once or after one call; either way nobody waits.
    run = EtlRun.get(EtlRun.hour == later)
    extracts = {
        row.user_id: row.status
        for row in EtlLog.select().where(EtlLog.step == "extract", EtlLog.run == run)
    }
    deferred = {
        u.id: naive(u.sync_deferred_until)
        for u in User.select()
        if u.sync_deferred_until is not None
    }
    assert deferred and set(deferred.values()) == {later + 3 * HOUR}
    assert {user for user, status in extracts.items() if status == "deferred"} == set(deferred)
    assert set(extracts.values()) <= {"done", "deferred"} and run.status == "partial"
    assert fresh_sandbox.calls()["calls"]["429:recently_played"] == 1  # then no more asking

    fresh_sandbox.control(rate_limit=None, retry_after=None)
    set_clock(fresh_sandbox, later + HOUR)
    calls_before = fresh_sandbox.calls()["calls"]["recently_played"]
    run_etl(etl, later + HOUR)  # still deferred: no call for them
    assert fresh_sandbox.calls()["calls"]["recently_played"] == calls_before + len(users) - len(
        deferred
    )
    resume = later + 3 * HOUR
    set_clock(fresh_sandbox, resume)
    run_etl(etl, resume)
    for user in users:
        assert User.get_by_id(user.id).sync_deferred_until is None
        first = min(stored(user))[0]
        got = stored(user)
        assert len(got) == len(set(got))
        assert set(got) == truth(fresh_sandbox, user, first, resume + dt.timedelta(seconds=1))


def test_a_catalogue_step_goes_on_with_another_grant_when_one_dies(etl, fresh_sandbox):
    from models.ingest import etl as steps
    from models.ingest.catalogue import artists_lacking_details

    users = connect_listeners(fresh_sandbox, 2)
    run = steps.Run(etl, naive(fresh_sandbox.now()))
    for user in users:
        steps.load_user(run, user.id, steps.extract_user(run, user.id).items)
    lacking = artists_lacking_details()
    first_choice = User.get_by_id(steps.catalogue_users()[0])
    fresh_sandbox.control(revoked=[first_choice.spotify_id])  # dies between the two steps

    outcome = steps.fetch_artists(run)
    assert outcome.status == "done" and outcome.new_rows == len(lacking) > 0
    assert artists_lacking_details() == []
    assert User.get_by_id(first_choice.id).needs_reauth
    assert [u.needs_reauth for u in User.select().where(User.id != first_choice.id)] == [False]
    assert outcome.calls["token"] == 1  # the dead grant's one refusal, then the other grant


def test_one_users_bad_data_fails_only_that_user_and_the_exit_code(etl, fresh_sandbox):
    from batch import Extract, runtime
    from batch.extract import loads

    users = connect_listeners(fresh_sandbox, 3)
    hour = naive(fresh_sandbox.now())
    runtime.use(etl)
    extracts = [load.requires() for load in loads(hour)]
    luigi.build(extracts, local_scheduler=True, log_level="ERROR")
    batch = next(e for e in extracts if e.first_user_id <= users[1].id <= e.last_user_id)
    lines = runtime.read_json_lines(batch.output())
    for line in lines:  # an item Spotify would never send: no played_at
        if line["user_id"] == users[1].id:
            line["items"].append({"track": {"id": "0000000000000000000000"}})
    batch.output().remove()
    runtime.write_json_lines(batch.output(), lines)
    assert isinstance(batch, Extract)

    result = run_etl(etl, hour)
    assert result.status == luigi.LuigiStatusCode.FAILED  # cron sees it
    from batch import Artists, Features, FinishRun

    done = [*loads(hour), Features(hour=hour), Artists(hour=hour)]
    assert all(task.complete() for task in done) and not FinishRun(hour=hour).complete()
    log = EtlLog.get(EtlLog.user == users[1].id, EtlLog.step == "load")
    assert log.status == "bug" and "KeyError" in log.error
    assert stored(users[1]) == [] and User.get_by_id(users[1].id).last_played_at is None
    for user in (users[0], users[2]):
        assert set(stored(user)) == last_window(fresh_sandbox, user, hour)
    assert Artist.select().where(Artist.details_fetched_at.is_null()).count() == 0
    run = EtlRun.get()
    assert run.status == "partial" and "KeyError" in run.summary_data["bugs"][0]


def test_a_grant_that_cannot_be_decrypted_asks_that_user_to_log_in_again(etl, fresh_sandbox):
    from models.schema import crypto

    users = connect_listeners(fresh_sandbox, 2)
    crypto.configure("a-secret-key-from-another-install")  # as if SECRET_KEY had changed
    OAuthToken.update(access_token="x", refresh_token="y").where(
        OAuthToken.user == users[0].id
    ).execute()
    crypto.configure(etl.secret_key)
    hour = naive(fresh_sandbox.now())
    assert run_etl(etl, hour).status == luigi.LuigiStatusCode.SUCCESS
    flagged = User.get_by_id(users[0].id)
    assert flagged.needs_reauth and "decrypted" in flagged.reauth_reason
    assert set(stored(users[1])) == last_window(fresh_sandbox, users[1], hour)
