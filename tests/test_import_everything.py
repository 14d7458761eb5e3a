"""Everything in the export kept (issue 16, part 1), on SQLite and PostgreSQL.

Real-format exports (``demo.export``'s entries, Spotify's field names and file names) holding
every kind of entry: music, short streams, podcasts in both formats, audiobooks, a video
file, local files, incognito entries, duplicates across files and overlaps with API plays;
the issue's case (an extended history uploaded while Spotify is down); provisional artists
and albums giving way to Spotify's; and the new fields' validation.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from urllib.parse import quote_plus

import luigi
import pytest

from demo.export import (
    ACCOUNT_FOLDER,
    EXTENDED_FOLDER,
    account_history,
    episode_entry,
    extended_entry,
    extended_entry_template,
    write_zip,
)
from models.accounts.export import export_json
from models.accounts.users import delete_user
from models.imports import history_import
from models.imports.history_import import create_job, run_job, status_of
from models.imports.listening import device_family
from models.imports.privacy_export import ExportError, read_export
from models.ingest.catalogue import ensure_track_stubs, load_recently_played
from models.ingest.plays import store_plays
from models.schema.tables import (
    DEVICE_FAMILIES,
    HOW_YOU_LISTEN,
    Album,
    AlbumTotal,
    Artist,
    ArtistTotal,
    Audiobook,
    ChapterPlay,
    Episode,
    EpisodePlay,
    ImportJob,
    Job,
    ListeningSummary,
    LocalTrack,
    Play,
    ShortStream,
    Show,
    Track,
    TrackArtist,
)
from models.summaries import listening
from spotify.sandbox.catalogue import World, to_ms
from tests.etl_world import connect_listener, run_etl
from tests.factories import make_user
from tests.workertools import run_worker_until_idle

START = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 19, 6, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 20, 12)


@pytest.fixture(scope="module")
def world():
    return World()


@pytest.fixture
def linked(db, fresh_sandbox, make_settings):
    luigi.configuration.get_config().set("etl", "call_interval", "0")
    return make_settings(DATABASE_URL=db.url, **fresh_sandbox.env())


def ms(moment: dt.datetime) -> int:
    return to_ms(moment)


def local_entry(ended: dt.datetime, played: int, title="Demo tape", artist="Me", album="Attic"):
    """A local file as the extended history writes it: names, and a ``spotify:local:`` URI."""
    entry = extended_entry_template(ms(ended), played)
    entry.update(
        {
            "platform": "Windows 10 (10.0.19045; x64; AppX)",
            "master_metadata_track_name": title,
            "master_metadata_album_artist_name": artist,
            "master_metadata_album_album_name": album,
            "spotify_track_uri": f"spotify:local:{quote_plus(artist)}:{quote_plus(album)}:"
            f"{quote_plus(title)}:{played // 1000}",
        }
    )
    return entry


def chapter_entry(ended: dt.datetime, played: int) -> dict:
    entry = extended_entry_template(ms(ended), played)
    entry.update(
        {
            "platform": "iOS 17.1 (iPhone15,2)",
            "audiobook_title": "The Sandbox Saga",
            "audiobook_uri": "spotify:show:6VNZ8nVJB5kMIvx0ZD8MDw",
            "audiobook_chapter_uri": "spotify:episode:3QBDLLuvAnAZyuAsYFkaZ2",
            "audiobook_chapter_title": "Chapter 1",
            "reason_end": "trackdone",
        }
    )
    return entry


def music(world, listener, start=START, end=END) -> list[dict]:
    streams = world.streams(listener, ms(start), ms(end))
    return [extended_entry(world, s, country=listener.country) for s in streams]


def naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def counted(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["ms_played"] >= 30_000]


# -- every kind of entry ---------------------------------------------------------------------
def test_every_kind_of_entry_is_kept_in_its_place_once(db, tmp_path, world):
    listener = world.listeners[0]
    user = make_user(spotify_id=listener.id)
    songs = music(world, listener)
    assert len(counted(songs)) > 20 and len(songs) > len(counted(songs))  # plays and skips
    half = len(songs) // 2
    at = START + dt.timedelta(hours=3)
    extra = [
        local_entry(at, 180_000),
        local_entry(at + dt.timedelta(minutes=4), 12_000),  # a skipped local file
        local_entry(at + dt.timedelta(minutes=8), 200_000, title="Other tape"),
        episode_entry(ms(at + dt.timedelta(minutes=20)), 1_500_000),
        episode_entry(ms(at + dt.timedelta(hours=5)), 20_000),
        chapter_entry(at + dt.timedelta(minutes=50), 1_200_000),
        {**songs[0], "ts": "2026-11-18T04:44:44Z", "incognito_mode": True},
        {**episode_entry(ms(at + dt.timedelta(hours=6)), 600_000), "incognito_mode": True},
    ]
    video = {
        **episode_entry(ms(at + dt.timedelta(hours=7)), 700_000),
        "episode_name": "Episode 13: On camera",
        "platform": "Partner android_tv Sony;BRAVIA 4K",
    }
    episode_ended = at + dt.timedelta(minutes=20)
    podcasts = [
        {  # the extended file's episode again, by its minute: one listen
            "endTime": f"{episode_ended:%Y-%m-%d %H:%M}",
            "podcastName": "The Sandbox Podcast",
            "episodeName": "Episode 12: Sandbox stories",
            "msPlayed": 1_500_000,
        },
        {
            "endTime": "2026-11-19 07:10",
            "podcastName": "Another Show",
            "episodeName": "Pilot",
            "msPlayed": 2_000_000,
        },
    ]
    files = {
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": songs[:half] + extra,
        # the last entries of the first file again at the start of the second: duplicates
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_1.json": songs[half - 5 :],
        f"{EXTENDED_FOLDER}/Streaming_History_Video_2026.json": [video],
        f"{ACCOUNT_FOLDER}/StreamingHistory_podcast_0.json": podcasts,
    }
    path = write_zip(tmp_path / "everything.zip", files)
    # ten of the plays were already read from the API, which says nothing of how they ran
    api_plays = counted(songs)[:10]
    ensure_track_stubs(
        {"id": e["spotify_track_uri"].rsplit(":", 1)[1], "name": "x"} for e in api_plays
    )
    store_plays(
        user.id,
        [
            {
                "track_id": e["spotify_track_uri"].rsplit(":", 1)[1],
                "played_at": dt.datetime.fromisoformat(e["ts"][:-1]) + dt.timedelta(seconds=0.4),
                "ms_played": 200_000,
            }
            for e in api_plays
        ],
        "api",
    )

    job, export = create_job(user, path, now=NOW)
    job = run_job(job.id, export=export)
    assert job.status == "done"
    music_plays = len(counted(songs)) + 2  # and the two local files played 30 s or more
    assert Play.select().count() == music_plays
    assert job.plays_added == music_plays - 10
    assert job.duplicates == 10 + 5 - sum(
        1 for e in songs[half - 5 : half] if e["ms_played"] < 30_000
    )
    # the API's plays took the export's fields; every play has them now
    api = list(Play.select().where(Play.source == "api"))
    assert len(api) == 10 and all(p.reason_end and p.device and p.conn_country for p in api)
    assert {p.device for p in Play.select()} <= set(DEVICE_FAMILIES)
    sample = counted(songs)[12]  # not one of the API's
    first = Play.get(Play.played_at == dt.datetime.fromisoformat(sample["ts"][:-1]))
    assert (first.platform, first.device, first.conn_country) == (
        sample["platform"],
        device_family(sample["platform"]),
        listener.country,
    )
    assert (first.shuffle, first.skipped, first.reason_start, first.reason_end) == (
        sample["shuffle"],
        sample["skipped"],
        sample["reason_start"],
        sample["reason_end"],
    )
    # skips: their own rows, never plays, with the same fields
    skips = [e for e in songs if e["ms_played"] < 30_000]
    assert ShortStream.select().count() == len(skips) + 1
    skip = ShortStream.get(ShortStream.played_at == dt.datetime.fromisoformat(skips[0]["ts"][:-1]))
    assert skip.skipped is True and skip.reason_end == skips[0]["reason_end"]
    assert ListeningSummary.get(user=user.id).plays == music_plays  # skips are no plays
    # local files: the listener's own tracks, by name, counted, never Spotify's
    local = list(Track.select().where(Track.is_local))
    assert sorted(t.name for t in local) == ["Demo tape", "Other tape"]
    assert {(lt.artist_name, lt.album_name) for lt in LocalTrack.select()} == {("Me", "Attic")}
    assert not TrackArtist.select().where(TrackArtist.track.in_([t.id for t in local])).exists()
    assert {p.device for p in Play.select().where(Play.track.in_([t.id for t in local]))} == {
        "desktop"
    }
    # podcasts from both formats, one listen once; the video file's episode; the audiobook
    episodes = {(e.show.name, e.name) for e in Episode.select()}
    assert episodes == {
        ("The Sandbox Podcast", "Episode 12: Sandbox stories"),
        ("The Sandbox Podcast", "Episode 13: On camera"),
        ("Another Show", "Pilot"),
    }
    assert EpisodePlay.select().count() == 4
    assert {p.device for p in EpisodePlay.select() if p.episode.name.endswith("camera")} == {"tv"}
    assert Show.select().count() == 2 and Audiobook.get().name == "The Sandbox Saga"
    chapter = ChapterPlay.get()
    assert (chapter.chapter.name, chapter.ms_played, chapter.reason_end) == (
        "Chapter 1",
        1_200_000,
        "trackdone",
    )
    # incognito: nowhere
    hidden = [dt.datetime(2026, 11, 18, 4, 44, 44), naive(at + dt.timedelta(hours=6))]
    for model in (Play, ShortStream, EpisodePlay):
        assert not model.select().where(model.played_at.in_(hidden)).exists()
    assert job.report_data["kept"] == {
        "short": len(skips) + 1,
        "episode": 4,
        "chapter": 1,
        "filled": 10,
    }

    # plays imported before this change have none of the fields: importing again fills them
    Play.update({getattr(Play, name): None for name in HOW_YOU_LISTEN}).execute()
    again, export = create_job(user, path, file_name="again.zip", now=NOW)
    again = run_job(again.id, export=export)
    assert again.plays_added == 0 and Play.select().count() == music_plays
    assert again.report_data["kept"] == {"filled": music_plays}
    assert Play.select().where(Play.device.is_null()).count() == 0
    assert ShortStream.select().count() == len(skips) + 1 and EpisodePlay.select().count() == 4

    # the data export holds all of it; deleting the account deletes all of it
    data = json.loads("".join(export_json(user)))
    assert len(data["plays"]) == music_plays
    assert len(data["short_streams"]) == len(skips) + 1
    assert len(data["episode_plays"]) == 4 and len(data["chapter_plays"]) == 1
    tape = next(p for p in data["plays"] if p["track_name"] == "Demo tape")
    assert tape["local_file"] is True and tape["artists"] == "Me" and tape["track_id"] is None
    assert tape["device"] == "desktop"
    delete_user(user)
    for model in (Play, ShortStream, EpisodePlay, ChapterPlay, LocalTrack):
        assert model.select().count() == 0
    assert not Track.select().where(Track.is_local).exists()
    assert Track.select().count() > 0  # Spotify's catalogue is everyone's: it stays


def test_local_files_from_the_api_are_kept_by_name_and_meet_the_exports(db, tmp_path):
    user = make_user()
    played = dt.datetime(2026, 11, 18, 10, 0, 0)
    item = {
        "played_at": "2026-11-18T10:00:00.250Z",
        "context": None,
        "track": {
            "id": None,
            "is_local": True,
            "name": "Demo tape",
            "uri": "spotify:local:Me:Attic:Demo+tape:180",
            "duration_ms": 180_000,
            "artists": [{"id": None, "name": "Me", "type": "artist"}],
            "album": {"id": None, "name": "Attic", "artists": []},
        },
    }
    result = load_recently_played(user.id, [item])
    assert result.new_plays == 1
    play = Play.get()
    assert play.track.is_local and play.track.name == "Demo tape" and play.source == "api"
    assert (play.track.local_file.get().artist_name, play.track.local_file.get().album_name) == (
        "Me",
        "Attic",
    )
    assert ListeningSummary.get(user=user.id).plays == 1  # counted in the totals
    from models.ingest.catalogue import tracks_lacking_features, tracks_lacking_metadata

    assert play.track_id not in tracks_lacking_metadata() + tracks_lacking_features()
    # the same listen from the export is the same play; another listener's file is theirs
    path = tmp_path / "Streaming_History_Audio_0.json"
    path.write_text(json.dumps([local_entry(played, 180_000)]))
    job, export = create_job(user, path, now=NOW)
    assert export.plays[0].kind == "local"
    assert run_job(job.id, export=export).duplicates == 1 and Play.select().count() == 1
    other = make_user()
    load_recently_played(other.id, [item])
    assert Track.select().where(Track.is_local).count() == 2


# -- never stalled by the network ------------------------------------------------------------
def test_an_extended_history_uploaded_while_spotify_is_down_is_stored_at_once(
    db, linked, tmp_path, world, fresh_sandbox, make_settings
):
    """The issue's case: several extended files, the first starting with local files, and an
    account-data file whose plays need searches.  With Spotify unreachable, every play with a
    track id and every local file is stored in the first run; only the name-only part waits,
    says why, and goes on by itself once Spotify answers (Retry-After respected, no sleep)."""
    listener_id = fresh_sandbox.listeners()[3]["id"]
    user = connect_listener(fresh_sandbox, listener_id)
    listener = world.listener_by_id[listener_id]
    songs = music(world, listener)
    thirds = len(songs) // 3
    locals_first = [
        local_entry(START + dt.timedelta(seconds=40 * n), 90_000, title=f"Tape {n}")
        for n in range(12)
    ]
    later = (END, END + dt.timedelta(hours=24))
    files = {
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": locals_first + songs[:thirds],
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_1.json": songs[thirds : 2 * thirds],
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_2.json": songs[2 * thirds :],
        f"{ACCOUNT_FOLDER}/StreamingHistory_music_0.json": account_history(world, listener, *later),
    }
    path = write_zip(tmp_path / "down.zip", files)
    down = make_settings(
        DATABASE_URL=db.url, **{**fresh_sandbox.env(), "SPOTIFY_API_URL": "http://127.0.0.1:9/v1"}
    )
    client = history_import.client_for(down, user.id, min_interval=0)
    client.backoff = 0  # its bounded retries, without the waits between them
    job, export = create_job(user, path, now=NOW)
    assert status_of(job)["named_total"] > 0
    paused = run_job(job.id, export=export, client=client, chunk_size=50, named_chunk_size=20)
    status = status_of(paused)
    id_plays = len(counted(songs)) + 12
    assert paused.status == "waiting" and Play.select().count() == id_plays
    assert status["direct_done"] == status["direct_total"] and status["named_done"] == 0
    assert (
        paused.error.startswith("No connection to Spotify") and "goes on by itself" in paused.error
    )
    assert paused.resume_at > dt.datetime.utcnow()
    # the worker hands it back to the queue until then: no process sleeps through the wait
    assert run_worker_until_idle(linked) == 1
    queued = Job.get(Job.target == str(job.id))
    assert queued.state == "queued" and queued.run_after == paused.resume_at
    assert run_worker_until_idle(linked) == 0

    # Spotify answers again, but soon asks to wait four hours: the job says so and pauses
    fresh_sandbox.control(rate_limit=3, retry_after=4 * 3600)
    due = dt.datetime.utcnow() - dt.timedelta(seconds=1)
    ImportJob.update(resume_at=due).execute()
    Job.update(run_after=due).execute()
    assert run_worker_until_idle(linked) == 1
    limited = ImportJob.get_by_id(job.id)
    assert (
        limited.status == "waiting" and Play.select().count() == id_plays
    )  # its chunk rolled back
    assert "Spotify asked us to wait (Retry-After 14400 s)" in limited.error
    assert limited.resume_at > dt.datetime.utcnow() + dt.timedelta(hours=3)
    assert Job.get(Job.target == str(job.id)).run_after == limited.resume_at
    fresh_sandbox.control(rate_limit=None, retry_after=None)
    due = dt.datetime.utcnow() - dt.timedelta(seconds=1)
    ImportJob.update(resume_at=due).execute()
    Job.update(run_after=due).execute()
    run_worker_until_idle(linked)
    done = ImportJob.get_by_id(job.id)
    assert done.status == "done" and status_of(done)["named_done"] == status_of(done)["named_total"]
    assert Play.select().count() == id_plays + len(
        [e for e in account_history(world, listener, *later) if e["msPlayed"] >= 30_000]
    )


# -- provisional artists and albums ----------------------------------------------------------
def test_imported_plays_count_for_provisional_artists_until_spotify_names_them(
    db, linked, tmp_path, world, fresh_sandbox
):
    """Development mode: the dashboard's top artists and albums come from the export at once,
    with no Spotify call; the ETL's completion then moves every play to Spotify's artists and
    albums, none counted twice or lost."""
    fresh_sandbox.control(app_mode="development")
    listener_id = fresh_sandbox.listeners()[1]["id"]
    user = connect_listener(fresh_sandbox, listener_id)
    listener = world.listener_by_id[listener_id]
    songs = counted(music(world, listener))
    path = write_zip(
        tmp_path / "ext.zip", {f"{EXTENDED_FOLDER}/Streaming_History_Audio_0.json": songs}
    )
    job, export = create_job(user, path, now=NOW)
    assert run_job(job.id, export=export, client=None).status == "done"  # no client: no call
    from models import stats
    from models.periods import parse_period

    everything = parse_period("all", tz="UTC", now=NOW)
    by_artist = Counter(
        " ".join(e["master_metadata_album_artist_name"].casefold().split()) for e in songs
    )
    top = stats.top_artists(user.id, everything, limit=500)
    assert top and {" ".join(row["name"].casefold().split()) for row in top} == set(by_artist)
    assert sorted(row["plays"] for row in top) == sorted(by_artist.values())
    by_album = Counter(
        (
            e["master_metadata_album_artist_name"].casefold(),
            e["master_metadata_album_album_name"].casefold(),
        )
        for e in songs
    )
    assert sum(row["plays"] for row in stats.top_albums(user.id, everything, limit=500)) == sum(
        by_album.values()
    )
    assert Artist.select().where(Artist.provisional).count() == len(by_artist)

    run_etl(linked, fresh_sandbox.now())
    # every track completed: no provisional artist or album is left, nor any row of theirs
    assert not Artist.select().where(Artist.provisional).exists()
    assert not Album.select().where(Album.provisional).exists()
    provisional_rows = ArtistTotal.select().where(ArtistTotal.artist.startswith("provisional:"))
    assert not provisional_rows.exists()
    # each artist's plays are the plays of the tracks crediting them: counted once each
    credited = Counter()
    for (artist_id,) in (
        Play.select(TrackArtist.artist)
        .join(TrackArtist, on=(TrackArtist.track == Play.track))
        .where(Play.user == user.id)
        .tuples()
    ):
        credited[artist_id] += 1
    assert {
        a.artist: a.plays for a in ArtistTotal.select().where(ArtistTotal.user == user.id)
    } == dict(credited)
    assert (
        sum(a.plays for a in AlbumTotal.select().where(AlbumTotal.user == user.id))
        == Play.select().where(Play.user == user.id).count()
    )
    rows = {m: sorted(m.select().tuples()) for m in (ArtistTotal, AlbumTotal)}
    listening.rebuild(user.id)
    assert {m: sorted(m.select().tuples()) for m in (ArtistTotal, AlbumTotal)} == rows


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("skipped", "yes", "skipped is 'yes', not true, false or null"),
        ("shuffle", 1, "shuffle is 1"),
        ("offline", "false", "offline is 'false'"),
        ("reason_end", 42, "reason_end 42 is not one of Spotify's reasons"),
        ("reason_start", "x" * 40, "reason_start"),
        ("conn_country", "Sweden", "conn_country 'Sweden' is not a two-letter country code"),
        ("platform", 7, "platform is 7, not text"),
        ("incognito_mode", "no", "incognito_mode is not true or false"),
        ("master_metadata_album_album_name", 3, "not text"),
        ("spotify_episode_uri", "https://open.spotify.com/episode/1", "is not a Spotify URI"),
    ],
)
def test_new_fields_with_unexpected_values_are_refused_naming_file_and_entry(field, value, says):
    world = World()
    songs = music(world, world.listeners[0])
    if field.startswith("spotify_episode"):  # an episode's entry
        songs[1] = episode_entry(ms(START), 60_000)
    songs[1] = {**songs[1], field: value}
    name = "Streaming_History_Audio_2026_1.json"
    with pytest.raises(ExportError) as refused:
        read_export(json.dumps(songs).encode(), name=name, now=NOW)
    assert str(refused.value).startswith(f"{name}, entry 2: ") and says in str(refused.value)


def test_a_bad_field_in_a_later_file_stores_nothing(db, tmp_path, world):
    listener = world.listeners[0]
    user = make_user(spotify_id=listener.id)
    songs = music(world, listener)
    files = {
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": songs[:20],
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_1.json": [
            *songs[20:30],
            {**songs[30], "conn_country": 46},
        ],
    }
    with pytest.raises(ExportError, match=r"Audio_2026_1.json, entry 11: conn_country 46"):
        create_job(user, write_zip(tmp_path / "bad.zip", files), now=NOW)
    assert Play.select().count() == 0 and ShortStream.select().count() == 0


@pytest.mark.parametrize(
    ("platform", "family"),
    [
        ("Android OS 9 API 28 (samsung, SM-G960F)", "phone"),
        ("iOS 14.4 (iPhone12,1)", "phone"),
        ("ios", "phone"),
        ("Windows 10 (10.0.19042; x64)", "desktop"),
        ("OS X 10.15.7 [x86 8]", "desktop"),
        ("osx", "desktop"),
        ("Linux [x86-64 0]", "desktop"),
        ("web_player windows 10;chrome 87.0.4280.88;desktop", "web player"),
        ("WebPlayer (websocket RFC6455)", "web player"),
        ("Partner sonos_ceiling Sonos;Beam", "speaker"),
        ("Partner amazon_salmon Amazon;Echo Dot", "speaker"),
        ("Partner google cast_audio", "speaker"),
        ("Partner android_tv Sony;BRAVIA 4K", "tv"),
        ("Partner tizen Samsung;QE55", "tv"),
        ("Partner webos LG;OLED", "tv"),
        ("Android Automotive (Polestar 2)", "car"),
        ("Partner CarPlay", "car"),
        ("PS4", "console"),
        ("Partner xbox_one Microsoft;Xbox One", "console"),
        ("Partner bmw_connected", "other"),
        ("", None),
        (None, None),
    ],
)
def test_platforms_are_sorted_into_device_families(platform, family):
    assert device_family(platform) == family
