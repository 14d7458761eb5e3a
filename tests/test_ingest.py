"""models/ingest/catalogue.py: converters on the sandbox's own JSON, and upserts on both engines."""

from __future__ import annotations

import datetime as dt

from models.ingest import catalogue
from models.schema.tables import (
    Album,
    Artist,
    ArtistGenre,
    AudioFeatures,
    Genre,
    Play,
    SyncGap,
    Track,
    TrackArtist,
    User,
)
from tests.etl_world import naive, sandbox_client, truth
from tests.factories import make_user

AT = dt.datetime(2026, 11, 20, 12, 0)


def recent_items(sandbox, listener=0):
    listener_id = sandbox.listeners()[listener]["id"]
    return listener_id, sandbox_client(sandbox, listener_id).recently_played().items


def test_converters_keep_what_spotify_sent_and_null_what_it_did_not(fresh_sandbox):
    _, items = recent_items(fresh_sandbox)
    track = items[0]["track"]
    row = catalogue.track_row(track, AT)
    assert row["id"] == track["id"] and row["album"] == track["album"]["id"]
    assert row["popularity"] == track["popularity"] and row["isrc"] == track["external_ids"]["isrc"]
    assert [link["artist"] for link in catalogue.track_artist_rows(track)] == [
        a["id"] for a in track["artists"]
    ]
    album = catalogue.album_row(track["album"])
    assert album["image_url"].endswith("size=300")  # the 300 px image, not the 640 one

    fresh_sandbox.control(app_mode="development")
    _, dev_items = recent_items(fresh_sandbox)
    dev_track = dev_items[0]["track"]
    assert "popularity" not in dev_track
    assert catalogue.track_row(dev_track, AT)["popularity"] is None
    played = catalogue.play_row(dev_items[0])
    assert played["played_at"] == naive(
        dt.datetime.fromisoformat(dev_items[0]["played_at"].replace("Z", "+00:00"))
    )
    assert played["ms_played"] == dev_track["duration_ms"]


def test_a_local_file_is_not_a_play_and_ids_missing_are_skipped():
    item = {
        "track": {"id": None, "name": "my mp3", "is_local": True, "artists": [{"id": None}]},
        "played_at": "2026-11-20T10:00:00.000Z",
        "context": None,
    }
    assert catalogue.play_row(item) is None
    assert catalogue.catalogue_of([item["track"], None], AT).tracks == {}


def test_an_upsert_never_replaces_a_known_value_with_a_missing_one(db, fresh_sandbox):
    listener_id, items = recent_items(fresh_sandbox)
    track = items[0]["track"]
    catalogue.upsert_tracks([track])
    fresh_sandbox.control(app_mode="development")
    client = sandbox_client(fresh_sandbox, listener_id)
    dev_track = client.track(track["id"])
    assert "popularity" not in dev_track
    catalogue.upsert_tracks([dev_track])
    stored = Track.get_by_id(track["id"])
    assert stored.popularity == track["popularity"] and stored.name == track["name"]
    assert Album.get_by_id(track["album"]["id"]).name == track["album"]["name"]
    assert [
        (link.artist_id, link.position)
        for link in TrackArtist.select()
        .where(TrackArtist.track == track["id"])
        .order_by(TrackArtist.position)
    ] == [(a["id"], n) for n, a in enumerate(track["artists"])]


def test_artists_details_and_genres_upserted_once_each(db, fresh_sandbox):
    listener_id, items = recent_items(fresh_sandbox)
    catalogue.upsert_tracks(item["track"] for item in items)
    stubs = catalogue.artists_lacking_details()
    assert stubs and Artist.get_by_id(stubs[0]).popularity is None
    client = sandbox_client(fresh_sandbox, listener_id)
    found = client.artists(stubs)
    assert catalogue.upsert_artists(found.values()) == len(stubs)
    assert catalogue.artists_lacking_details() == []
    first = found[stubs[0]]
    assert Artist.get_by_id(first["id"]).followers == first["followers"]["total"]
    genres = sorted(
        g.name for g in Genre.select().join(ArtistGenre).where(ArtistGenre.artist == first["id"])
    )
    assert genres == sorted(first["genres"])
    # A development-mode answer without genres or popularity keeps what was stored.
    bare = {"id": first["id"], "name": first["name"], "genres": [], "images": []}
    catalogue.upsert_artists([bare])
    assert Artist.get_by_id(first["id"]).popularity == first["popularity"]
    assert ArtistGenre.select().where(ArtistGenre.artist == first["id"]).count() == len(genres)
    assert Genre.select().count() == len({g for a in found.values() for g in a["genres"]})


def test_features_rows_ok_missing_and_forbidden(db, fresh_sandbox):
    listener_id, items = recent_items(fresh_sandbox)
    catalogue.upsert_tracks(item["track"] for item in items)
    ids = catalogue.tracks_lacking_features()
    answers = sandbox_client(fresh_sandbox, listener_id).audio_features(ids[:-1])
    answers[ids[-2]] = None  # Spotify answers null for some ids
    counts = catalogue.store_audio_features(answers)
    assert counts == {"ok": len(ids) - 2, "missing": 1}
    assert catalogue.tracks_lacking_features() == [ids[-1]]
    catalogue.mark_audio_features([ids[-1]], catalogue.FEATURES_FORBIDDEN)
    assert catalogue.tracks_lacking_features(include_forbidden=False) == []
    assert catalogue.tracks_lacking_features() == [ids[-1]]
    row = AudioFeatures.get_by_id(ids[0])
    assert row.status == "ok" and row.energy == answers[ids[0]]["energy"]
    assert AudioFeatures.get_by_id(ids[-2]).energy is None


def test_track_stubs_are_completed_but_never_overwrite(db, fresh_sandbox):
    _listener_id, items = recent_items(fresh_sandbox)
    known, other = items[0]["track"], items[1]["track"]
    catalogue.upsert_tracks([known])
    catalogue.ensure_track_stubs(
        [
            {"id": known["id"], "name": "wrong"},
            {"id": other["id"], "name": other["name"], "artist_name": "x", "album_name": "y"},
        ]
    )
    assert Track.get_by_id(known["id"]).name == known["name"]
    assert catalogue.tracks_lacking_metadata() == [other["id"]]
    catalogue.mark_tracks_unavailable([other["id"]])
    assert catalogue.tracks_lacking_metadata() == []


def test_load_is_idempotent_moves_the_cursor_forward_only_and_records_gaps(db, fresh_sandbox):
    listener_id, items = recent_items(fresh_sandbox)
    user = make_user(spotify_id=listener_id)
    first = catalogue.load_recently_played(user.id, items)
    newest = max(catalogue.parse_played_at(i["played_at"]) for i in items)
    oldest = min(catalogue.parse_played_at(i["played_at"]) for i in items)
    assert first.new_plays == len(items) == 50 and first.cursor == newest
    # A first sync that sees a full window: the plays before it are for the export import.
    assert first.gap == (catalogue.HISTORY_BEGINS, oldest)
    assert [(naive(g.gap_start), naive(g.gap_end)) for g in SyncGap.select()] == [first.gap]
    SyncGap.delete().execute()
    assert catalogue.load_recently_played(user.id, items).new_plays == 0
    older = catalogue.load_recently_played(user.id, items[10:])
    assert older.new_plays == 0 and older.cursor == newest
    assert naive(User.get_by_id(user.id).last_played_at) == newest
    assert {(naive(p.played_at), p.track_id) for p in Play.select()} == truth(
        fresh_sandbox, user, oldest
    )

    # 50 plays all newer than the cursor: the plays in between may be lost.
    User.update(last_played_at=oldest - dt.timedelta(days=3)).execute()
    Play.delete().execute()
    result = catalogue.load_recently_played(user.id, items)
    assert result.gap == (oldest - dt.timedelta(days=3), oldest)
    gap = SyncGap.get()
    assert (naive(gap.gap_start), naive(gap.gap_end)) == result.gap
