"""The artist, album and features summaries stay exact when plays and catalogue changes race.

A history import stores plays of stub tracks while the ETL links stubs to their artists and
albums: whichever commits first, each play must be counted once in the artist and album
summaries.  Two threads with their own connections play both orders; the writer that comes
second must wait for the first (PostgreSQL: the advisory lock of ``models.summaries.catalogue``;
SQLite: its write lock) and then see what it committed.
"""

from __future__ import annotations

import datetime as dt
import threading

from models.ingest.catalogue import upsert_tracks, write_transaction
from models.ingest.plays import store_plays
from models.schema.db import db as database_proxy
from models.schema.tables import AlbumTotal, ArtistMonth, ArtistTotal, FeatureTotal
from models.summaries import listening
from tests.factories import make_album, make_artist, make_track, make_user, track_object

PLAYED_AT = dt.datetime(2026, 5, 1, 12, 0)
BLOCKED_FOR = 0.5  # seconds the second writer must still be waiting


def _in_thread(work, started: threading.Event, release: threading.Event | None = None):
    """Run ``work`` in a transaction on the thread's own connection; set ``started`` once it
    has written, then hold the transaction open until ``release``."""
    errors = []

    def run():
        try:
            database_proxy.connect(reuse_if_open=True)
            with write_transaction():
                work()
                started.set()
                if release is not None:
                    assert release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            started.set()
        finally:
            database_proxy.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _race(first, second):
    """``first`` writes and holds its transaction; ``second`` starts and must wait for it."""
    first_wrote, release, second_started = threading.Event(), threading.Event(), threading.Event()
    first_thread, first_errors = _in_thread(first, first_wrote, release)
    assert first_wrote.wait(10)
    second_thread, second_errors = _in_thread(second, second_started)
    second_thread.join(BLOCKED_FOR)
    still_waiting = second_thread.is_alive()
    release.set()
    first_thread.join(10)
    second_thread.join(10)
    assert not first_errors and not second_errors, first_errors + second_errors
    assert still_waiting, "the second writer did not wait for the first"


def _world():
    user = make_user()
    stub = make_track(name="stub", duration_ms=None, metadata_fetched_at=None)
    return user, stub, make_artist(), make_album()


def _assert_counted_once(user, artist, album) -> None:
    assert ArtistTotal.get(user=user.id, artist=artist.id).plays == 1
    assert AlbumTotal.get(user=user.id, album=album.id).plays == 1
    incremental = {
        model: sorted(model.select().where(model.user == user.id).tuples())
        for model in (ArtistTotal, ArtistMonth, AlbumTotal, FeatureTotal)
    }
    listening.rebuild(user.id)
    rebuilt = {
        model: sorted(model.select().where(model.user == user.id).tuples()) for model in incremental
    }
    assert incremental == rebuilt


def test_a_stub_linked_while_its_plays_are_being_stored(db):
    user, stub, artist, album = _world()
    _race(
        lambda: store_plays(
            user.id, [{"track_id": stub.id, "played_at": PLAYED_AT, "ms_played": 90_000}], "import"
        ),
        lambda: upsert_tracks([track_object(stub, [artist], album)]),
    )
    _assert_counted_once(user, artist, album)


def test_plays_stored_while_their_stub_is_being_linked(db):
    user, stub, artist, album = _world()
    _race(
        lambda: upsert_tracks([track_object(stub, [artist], album)]),
        lambda: store_plays(
            user.id, [{"track_id": stub.id, "played_at": PLAYED_AT, "ms_played": 90_000}], "import"
        ),
    )
    _assert_counted_once(user, artist, album)
