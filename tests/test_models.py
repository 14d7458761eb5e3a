"""Constraints that keep the data exact, cascades, and encryption at rest."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import IntegrityError

from models.accounts.users import delete_user
from models.schema.crypto import TokenDecryptionError, configure
from models.schema.tables import (
    Artist,
    AudioFeatures,
    EtlLog,
    EtlRun,
    OAuthToken,
    Play,
    SyncGap,
    Track,
    TrackArtist,
    User,
)
from tests.factories import make_artist, make_play, make_track, make_user

AT = dt.datetime(2026, 3, 1, 12, 0, 0)


def test_a_duplicate_play_is_refused(db):
    user, track = make_user(), make_track()
    make_play(user, track, AT)
    with pytest.raises(IntegrityError), db.atomic():
        make_play(user, track, AT)
    assert Play.select().count() == 1


def test_a_duplicate_play_is_ignored_by_bulk_insert(db):
    user, track = make_user(), make_track()
    row = dict(user=user.id, track=track.id, played_at=AT, ms_played=1000, source="api")
    Play.insert_many([row, row]).on_conflict_ignore().execute()
    Play.insert_many([row]).on_conflict_ignore().execute()
    assert Play.select().count() == 1


def test_two_users_may_play_at_the_same_instant(db):
    track = make_track()
    make_play(make_user(), track, AT)
    make_play(make_user(), track, AT)
    assert Play.select().count() == 2


def test_deleting_a_user_removes_all_their_rows_and_nobody_elses(db):
    keep, gone = make_user(), make_user()
    artist = make_artist()
    track = make_track(artists=[artist])
    run = EtlRun.create(hour=AT)
    for user in (keep, gone):
        make_play(user, track, AT)
        OAuthToken.create(user=user, refresh_token=f"refresh-{user.id}")
        EtlLog.create(run=run, user=user, step="extract", new_plays=1)
        SyncGap.create(user=user, gap_start=AT, gap_end=AT + dt.timedelta(hours=1))

    delete_user(gone)

    assert User.get_or_none(User.id == gone.id) is None
    for table in (Play, OAuthToken, EtlLog, SyncGap):
        assert table.select().where(table.user == gone.id).count() == 0
        assert table.select().where(table.user == keep.id).count() == 1
    # The shared catalogue stays: other users still point at it.
    assert Track.select().count() == 1 and Artist.select().count() == 1
    assert TrackArtist.select().count() == 1 and EtlRun.select().count() == 1


def test_refresh_token_is_encrypted_at_rest(db):
    user = make_user()
    OAuthToken.create(user=user, refresh_token="AQD-plain-refresh", access_token="BQ-access")
    raw = db.execute_sql("SELECT refresh_token, access_token FROM oauth_token").fetchone()
    assert "AQD-plain-refresh" not in raw[0] and "BQ-access" not in raw[1]
    token = OAuthToken.get(OAuthToken.user == user)
    assert token.refresh_token == "AQD-plain-refresh"
    assert token.access_token == "BQ-access"


def test_token_encrypted_under_another_secret_is_refused(db):
    user = make_user()
    OAuthToken.create(user=user, refresh_token="AQD-plain-refresh")
    configure("a-different-secret-key-entirely")
    with pytest.raises(TokenDecryptionError):
        _ = OAuthToken.get(OAuthToken.user == user).refresh_token


def test_audio_features_marker_keeps_values_null(db):
    track = make_track()
    AudioFeatures.create(track=track, status="forbidden")
    row = AudioFeatures.get_by_id(track.id)
    assert row.status == "forbidden" and row.energy is None and row.tempo is None
