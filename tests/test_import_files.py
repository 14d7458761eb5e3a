"""Reading the privacy export (models.imports.privacy_export): formats, played_at, and refusals.

No database here: these are the pure rules; tests/test_import_jobs.py stores what they read.
"""

from __future__ import annotations

import io
import json
import os
import tracemalloc
import zipfile
from datetime import datetime

import pytest

from models.imports.privacy_export import (
    ACCOUNT,
    EXTENDED,
    PODCAST,
    VIDEO,
    ExportError,
    Limits,
    file_kind,
    read_export,
)
from tests.zip_bombs import MIB, write_blocks, write_nested_bomb

NOW = datetime(2026, 11, 20, 12, 0)
TRACK_A = "4uLU6hMCjMI75M1A2tKUQC"
TRACK_B = "0VjIjW4GlUZAMYd2vXMi3b"


def extended(ts, track_id=TRACK_A, ms=200_000, **extra):
    entry = {
        "ts": ts,
        "platform": "android",
        "ms_played": ms,
        "conn_country": "SE",
        "ip_addr": "192.0.2.1",
        "master_metadata_track_name": "Song",
        "master_metadata_album_artist_name": "Band",
        "master_metadata_album_album_name": "LP",
        "spotify_track_uri": f"spotify:track:{track_id}" if track_id else None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": None,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
    }
    entry.update(extra)
    return entry


def account(end, artist="Band", track="Song", ms=200_000):
    return {"endTime": end, "artistName": artist, "trackName": track, "msPlayed": ms}


def zipped(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content if isinstance(content, bytes) else json.dumps(content))
    return buffer.getvalue()


def read(source, **kwargs):
    kwargs.setdefault("now", NOW)
    return read_export(source, **kwargs)


def test_file_kinds_are_recognised_by_name_in_any_folder():
    assert (
        file_kind("Spotify Extended Streaming History/Streaming_History_Audio_2019-2020_0.json")
        == EXTENDED
    )
    assert file_kind("MyData/endsong_3.json") == EXTENDED
    assert file_kind("x/Streaming_History_Video_2021.json") == VIDEO
    assert file_kind("Spotify Account Data/StreamingHistory_music_0.json") == ACCOUNT
    assert file_kind("MyData/StreamingHistory2.json") == ACCOUNT
    assert file_kind("StreamingHistory_podcast_0.json") == PODCAST
    assert file_kind("Spotify Account Data/Userdata.json") is None


def test_extended_entries_keep_ts_as_played_at_and_keep_every_kind_of_stream():
    entries = [
        extended("2024-01-31T23:59:58Z"),
        extended("2024-02-01T00:03:10Z", TRACK_B, ms=30_000),  # exactly 30 s: counts
        extended("2024-02-01T00:03:20Z", ms=29_999),  # a skip
        extended(
            "2024-02-01T00:40:00Z",
            None,
            master_metadata_track_name=None,
            master_metadata_album_artist_name=None,
            master_metadata_album_album_name=None,
            episode_name="Ep 1",
            spotify_episode_uri="spotify:episode:abc",
        ),
        extended(
            "2024-02-01T01:00:00Z",
            None,
            master_metadata_track_name=None,
            master_metadata_album_artist_name=None,
            audiobook_uri="spotify:audiobook:x",
        ),
        extended("2024-02-01T02:00:00Z", incognito_mode=True),
        extended(
            "2024-02-01T03:00:00Z",
            None,
            master_metadata_track_name="My Demo",
            master_metadata_album_artist_name="Me",
        ),  # a local file: names only
    ]
    export = read(json.dumps(entries).encode(), name="Streaming_History_Audio_2024_0.json")
    # every stream that needs no search first, in the file's order; names only last
    assert [(p.played_at, p.kind, p.short, p.track_id, p.ms_played) for p in export.plays] == [
        (datetime(2024, 1, 31, 23, 59, 58), "track", False, TRACK_A, 200_000),
        (datetime(2024, 2, 1, 0, 3, 10), "track", False, TRACK_B, 30_000),
        (datetime(2024, 2, 1, 0, 3, 20), "track", True, TRACK_A, 29_999),  # a skip, kept
        (datetime(2024, 2, 1, 0, 40, 0), "episode", False, "abc", 200_000),
        (datetime(2024, 2, 1, 1, 0, 0), "chapter", False, None, 200_000),
        (datetime(2024, 2, 1, 3, 0, 0), "named", False, None, 200_000),
    ]
    assert export.plays[0].names == ("Song", "Band", "LP")
    assert export.plays[3].names == ("Ep 1", "", None)
    assert export.plays[4].parent == "x"
    assert export.plays[5].names[:2] == ("My Demo", "Me")
    assert export.plays[0].how.reason_end == "trackdone" and export.plays[0].how.device == "phone"
    assert dict(export.skipped) == {"incognito": 1}
    summary = export.summary()
    assert summary["entries"] == 7 and summary["plays"] == 6 and summary["skipped_total"] == 1
    assert summary["kinds"] == {"chapter": 1, "episode": 1, "named": 1, "short": 1, "track": 2}
    assert summary["direct"] == 5 and summary["named"] == 1
    assert summary["first_played_at"] == "2024-01-31T23:59:58"
    assert summary["last_played_at"] == "2024-02-01T03:00:00"


def test_account_entries_are_placed_mid_minute_and_kept_apart_within_a_minute():
    entries = [
        account("2024-01-31 23:59"),
        account("2024-01-31 23:59", track="Other"),
        account("2024-02-01 00:01", ms=5_000),
        account("2024-02-01 00:02"),
    ]
    export = read(json.dumps(entries).encode(), name="StreamingHistory_music_0.json")
    assert [p.played_at for p in export.plays] == [
        datetime(2024, 1, 31, 23, 59, 30),
        datetime(2024, 1, 31, 23, 59, 30, 1000),
        datetime(2024, 2, 1, 0, 2, 30),
    ]
    assert all(p.track_id is None for p in export.plays)
    assert export.plays[1].names == ("Other", "Band", None)
    assert export.skipped["short"] == 1


def test_min_ms_played_is_configurable():
    entries = [extended("2024-01-01T10:00:00Z", ms=45_000)]
    assert [p.short for p in read(json.dumps(entries).encode(), min_ms_played=60_000).plays] == [
        True
    ]
    assert [p.short for p in read(json.dumps(entries).encode()).plays] == [False]


def test_a_spotify_zip_reads_history_video_and_podcasts_and_ignores_the_rest():
    data = zipped(
        {
            "Spotify Extended Streaming History/Streaming_History_Audio_2023_1.json": [
                extended("2023-06-01T10:00:00Z", TRACK_B)
            ],
            "Spotify Extended Streaming History/Streaming_History_Audio_2023_0.json": [
                extended("2023-05-01T10:00:00Z")
            ],
            "Spotify Extended Streaming History/Streaming_History_Video_2023.json": [
                extended("2023-05-01T11:00:00Z")
            ],
            "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF",
            "Spotify Account Data/StreamingHistory_music_0.json": [account("2023-07-01 09:00")],
            "Spotify Account Data/StreamingHistory_podcast_0.json": [
                {
                    "endTime": "2023-07-01 10:00",
                    "podcastName": "P",
                    "episodeName": "E",
                    "msPlayed": 900_000,
                }
            ],
            "Spotify Account Data/Userdata.json": {"username": "someone"},
            "__MACOSX/._Userdata.json": b"\0\0",
        }
    )
    export = read(data)
    # extended files first, in name order (the video file's track entry is a play), then the
    # account-data podcast, then the name-only plays: a fixed order to resume by
    assert [(p.played_at.month, p.played_at.hour, p.kind) for p in export.plays] == [
        (5, 10, "track"),
        (6, 10, "track"),
        (5, 11, "track"),
        (7, 10, "episode"),
        (7, 9, "named"),
    ]
    kinds = {f.name.rsplit("/", 1)[1]: f.kind for f in export.files}
    assert kinds == {
        "Streaming_History_Audio_2023_0.json": EXTENDED,
        "Streaming_History_Audio_2023_1.json": EXTENDED,
        "Streaming_History_Video_2023.json": VIDEO,
        "StreamingHistory_music_0.json": ACCOUNT,
        "StreamingHistory_podcast_0.json": PODCAST,
    }
    assert sorted(export.ignored_files) == [
        "Spotify Account Data/Userdata.json",
        "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf",
    ]


def test_a_folder_of_json_files_reads_like_the_zip(tmp_path):
    folder = tmp_path / "MyData"
    folder.mkdir()
    (folder / "endsong_0.json").write_text(json.dumps([extended("2021-03-01T10:00:00Z")]))
    (folder / "StreamingHistory0.json").write_text(json.dumps([account("2021-03-02 10:00")]))
    export = read(folder)
    assert [p.track_id for p in export.plays] == [TRACK_A, None]


def test_the_owner_of_an_extended_export_must_be_the_importing_user():
    entries = [extended("2020-01-01T10:00:00Z", username="alice")]
    assert read(json.dumps(entries).encode(), username="ALICE").usernames == {"alice"}
    with pytest.raises(ExportError, match=r"export of Spotify user 'alice'.*signed in as 'bob'"):
        read(json.dumps(entries).encode(), username="bob")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n....", "not JSON text"),
        (b'{"endTime": ', "not valid JSON \\(line 1"),
        (b'{"a": 1}', "not a Spotify streaming history: expected a list"),
        (b"[1, 2]", "expected a list of streams"),
        (json.dumps([{"name": "x", "value": 3}]).encode(), "fields name, value"),
        (
            json.dumps([extended("2020-01-01T10:00:00Z"), {"ts": "2020-01-02T10:00:00Z"}]).encode(),
            "entry 2: the field 'ms_played' is missing",
        ),
        (json.dumps([extended("2020-13-01T10:00:00Z")]).encode(), "not a date and time"),
        (json.dumps([extended("2031-01-01T10:00:00Z")]).encode(), "out of range"),
        (json.dumps([extended("1999-01-01T10:00:00Z")]).encode(), "out of range"),
        (json.dumps([extended("2020-01-01T10:00:00Z", ms=-5)]).encode(), "whole number"),
        (json.dumps([extended("2020-01-01T10:00:00Z", ms="12")]).encode(), "whole number"),
        (
            json.dumps(
                [extended("2020-01-01T10:00:00Z", spotify_track_uri="spotify:album:x")]
            ).encode(),
            "not a Spotify track URI",
        ),
        (json.dumps([account("2020-01-01 10:00", track=None)]).encode(), "must be text"),
    ],
)
def test_bad_json_is_refused_with_a_message_naming_the_problem(content, message):
    with pytest.raises(ExportError, match=message):
        read(content, name="history.json")


def test_a_file_whose_name_and_content_disagree_is_refused():
    data = zipped({"Streaming_History_Audio_2020_0.json": [account("2020-01-01 10:00")]})
    with pytest.raises(ExportError, match="does not hold what its name says"):
        read(data)


def test_a_zip_without_streaming_history_is_refused():
    data = zipped({"photos/cat.jpg": b"\xff\xd8\xff", "notes.txt": b"hello"})
    with pytest.raises(ExportError, match=r"No Spotify streaming history found.*cat\.jpg"):
        read(data)


def test_a_zip_bomb_is_refused_from_its_declared_sizes():
    bomb = zipped({"Streaming_History_Audio_2020_0.json": b"[" + b" " * 20_000_000 + b"]"})
    assert len(bomb) < 100_000
    with pytest.raises(ExportError, match="zip bomb"):
        read(bomb)
    with pytest.raises(ExportError, match=r"more than the 1\.0 MB"):
        read(bomb, limits=Limits(max_file_bytes=1024 * 1024, max_ratio=10_000))


def test_an_oversized_upload_is_refused_before_reading(tmp_path):
    big = tmp_path / "Streaming_History_Audio_2020_0.json"
    big.write_text(json.dumps([extended("2020-01-01T10:00:00Z")] * 50))
    with pytest.raises(ExportError, match="more than the 2000 bytes"):
        read(big, limits=Limits(max_upload_bytes=2000))
    with pytest.raises(ExportError, match="more than the 2000 bytes"):
        read(big.read_bytes(), limits=Limits(max_upload_bytes=2000))


def test_the_demo_samples_are_current_and_import_cleanly(tmp_path):
    """demo/*.zip are what ``python -m demo.export`` writes, and both read as valid exports."""
    from demo.export import DEMO_DIR, write_demo_exports

    written = write_demo_exports(directory=tmp_path)
    for path in written:
        assert path.read_bytes() == (DEMO_DIR / path.name).read_bytes(), (
            f"demo/{path.name} is stale: run python -m demo.export"
        )
    account, extended = (read(DEMO_DIR / p.name) for p in written)
    assert 150 <= len(account.plays) <= 400 and 150 <= len(extended.plays) <= 400
    assert {p.kind for p in account.plays} == {"named", "episode"}
    assert {p.kind for p in extended.plays} == {"track", "episode"}
    assert extended.kinds()["episode"] == 5 and account.kinds()["episode"] == 1
    assert [f.kind for f in account.files] == [ACCOUNT, PODCAST]


def test_both_spotify_zips_inside_one_upload_are_read():
    inner_extended = zipped(
        {
            "Spotify Extended Streaming History/Streaming_History_Audio_2023_0.json": [
                extended("2023-05-01T10:00:00Z")
            ]
        }
    )
    inner_account = zipped(
        {"Spotify Account Data/StreamingHistory_music_0.json": [account("2023-07-01 09:00")]}
    )
    export = read(
        zipped(
            {
                "000/my_spotify_data_extended.zip": inner_extended,
                "001/my_spotify_data.zip": inner_account,
            }
        )
    )
    assert [p.track_id for p in export.plays] == [TRACK_A, None]
    assert export.files[0].name == (
        "000/my_spotify_data_extended.zip/Spotify Extended Streaming"
        " History/Streaming_History_Audio_2023_0.json"
    )
    bomb = zipped({"Streaming_History_Audio_2020_0.json": b"[" + b" " * 20_000_000 + b"]"})
    with pytest.raises(ExportError, match="zip bomb"):
        read(zipped({"inner.zip": bomb}))


# -- zips inside the upload: the same limits, counted in the total, never held in memory --------
@pytest.fixture(scope="module")
def nested_bomb(tmp_path_factory):
    return write_nested_bomb(tmp_path_factory.mktemp("bomb"))


def peak_memory(read_it) -> tuple[object, int]:
    """What ``read_it()`` returns or raises, and the peak of Python memory it allocated."""
    tracemalloc.start()
    try:
        try:
            outcome = read_it()
        except ExportError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_inner_zips_of_zeros_are_refused_as_a_bomb_without_inflating_them(nested_bomb):
    assert nested_bomb.stat().st_size < 1 * MIB
    refused, peak = peak_memory(lambda: read(nested_bomb))
    assert isinstance(refused, ExportError) and "zip bomb" in str(refused)
    assert "0/my_spotify_data.zip would grow" in str(refused)
    assert peak < 8 * MIB, f"reading the bomb took {peak / MIB:.0f} MiB"


def test_an_inner_zip_whose_own_ratio_is_over_the_limit_is_refused():
    """The inner zip's members are stored (ratio 1): only the inner zip itself inflates."""
    entries = [extended(f"2020-01-{1 + i % 28:02d}T10:00:00Z") for i in range(6_000)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("Streaming_History_Audio_2020_0.json", json.dumps(entries))
    inner = buffer.getvalue()
    assert len(inner) > 1 * MIB
    upload = zipped({"my_spotify_data.zip": inner})
    with zipfile.ZipFile(io.BytesIO(upload)) as archive:
        info = archive.getinfo("my_spotify_data.zip")
    ratio = info.file_size / info.compress_size
    with pytest.raises(ExportError, match=r"my_spotify_data.zip would grow .* zip bomb"):
        read(upload, limits=Limits(max_ratio=int(ratio) - 1))
    assert len(read(upload, limits=Limits(max_ratio=int(ratio) + 1)).plays) == 6_000


def test_what_inner_zips_inflate_to_counts_toward_the_total():
    history = json.dumps([extended("2020-01-01T10:00:00Z")] * 200).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Audio_2020.json", history
        )
        archive.writestr("ReadMeFirst.pdf", os.urandom(2 * MIB), zipfile.ZIP_STORED)
    inner = buffer.getvalue()
    upload = zipped({"my_spotify_data.zip": inner})
    total = len(inner) + len(history)  # the inner zip as inflated, then its history file
    with pytest.raises(ExportError, match=r"Unzipped, the export is .* more than the"):
        read(upload, limits=Limits(max_total_bytes=total - 1))
    assert len(read(upload, limits=Limits(max_total_bytes=total)).plays) == 200
    # the inner zip alone over the total is refused before it is inflated
    with pytest.raises(ExportError, match="Unzipped, the export"):
        read(upload, limits=Limits(max_total_bytes=len(inner) - 1))


def test_an_inner_zip_is_spooled_to_disk_not_read_into_memory(tmp_path):
    """A large (incompressible, so not a bomb) inner zip costs no memory, and leaves no file."""
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(
            "Spotify Account Data/StreamingHistory_music_0.json",
            json.dumps([account("2023-07-01 09:00")]),
        )
        with archive.open("Spotify Account Data/ReadMeFirst.pdf", "w") as out:
            write_blocks(out, 24 * MIB, os.urandom(MIB))
    upload = tmp_path / "upload.zip"
    with zipfile.ZipFile(upload, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(inner, "my_spotify_data.zip")
    open_files = len(os.listdir("/proc/self/fd"))
    export, peak = peak_memory(lambda: read(upload))
    assert [p.names for p in export.plays] == [("Song", "Band", None)]
    assert export.ignored_files == ["my_spotify_data.zip/Spotify Account Data/ReadMeFirst.pdf"]
    assert peak < 8 * MIB, f"reading the export took {peak / MIB:.0f} MiB"
    assert len(os.listdir("/proc/self/fd")) == open_files  # the spool and the zips are closed


def test_a_zip_in_a_zip_in_spotifys_folder_layout_is_read():
    inner = zipped(
        {
            "Spotify Extended Streaming History/Streaming_History_Audio_2023_0.json": [
                extended("2023-05-01T10:00:00Z"),
                extended("2023-05-01T11:00:00Z", track_id=TRACK_B),
            ],
            "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF",
        }
    )
    export = read(zipped({"my_spotify_data/my_spotify_data.zip": inner}))
    assert [p.track_id for p in export.plays] == [TRACK_A, TRACK_B]
    assert export.files[0].name.startswith("my_spotify_data/my_spotify_data.zip/Spotify Extended")


def test_a_history_file_is_streamed_not_read_whole_into_memory():
    """A file of Spotify's usual 16,000 entries is parsed as it is read: what reading it
    allocates beyond the plays it keeps is a small part of the file's parsed size."""
    entries = [
        extended(f"2023-05-{1 + n // 1000:02d}T{n % 24:02d}:{n % 60:02d}:{n % 59:02d}Z", ms=200_000)
        for n in range(16_000)
    ]
    # Every entry counted but one field-heavy file: parsed whole, it takes tens of MiB.
    text = json.dumps(entries).encode()
    whole, whole_peak = peak_memory(lambda: json.loads(text))
    assert isinstance(whole, list) and whole_peak > 20 * MIB
    source = zipped({"Spotify Extended Streaming History/Streaming_History_Audio_1.json": text})
    export, peak = peak_memory(lambda: read(source))
    assert not isinstance(export, ExportError), export
    assert export.files[0].entries == 16_000
    kept = len(export.plays)
    assert kept > 15_000
    assert peak < whole_peak / 2, (
        f"reading took {peak / MIB:.0f} MiB, parsing whole {whole_peak / MIB:.0f}"
    )


def test_the_streams_are_spooled_in_blocks_and_read_back_in_storing_order(monkeypatch):
    """A large export's streams go to disk in blocks (memory holds one), and every way the
    import reads them back (slices, indexes, iteration) gives the order of storing: extended
    streams, account podcasts, extended names only, account plays."""
    from models.imports import privacy_export

    upload = zipped(
        {
            "StreamingHistory_music_0.json": [
                account(f"2023-07-01 09:{minute:02d}") for minute in range(20)
            ]
            + [account("2023-07-01 09:19", track="Other")],  # same minute: 1 ms later
            "StreamingHistory_podcast_0.json": [
                {
                    "endTime": f"2023-07-02 10:{minute:02d}",
                    "podcastName": "Show",
                    "episodeName": f"Ep {minute}",
                    "msPlayed": 600_000,
                }
                for minute in range(5)
            ],
            "Streaming_History_Audio_0.json": [
                extended(f"2024-01-01T10:{minute:02d}:00Z", ms=10_000 if minute % 4 else 200_000)
                for minute in range(30)
            ]
            + [
                extended(f"2024-01-02T10:{minute:02d}:00Z", None)  # names, no URI
                for minute in range(7)
            ],
        }
    )
    in_memory = read(upload)
    assert in_memory.plays._parts[0].file is None  # small: no file at all
    monkeypatch.setattr(privacy_export, "SPOOL_BLOCK", 4)
    spooled = read(upload)
    plays = spooled.plays
    assert all(part.file is not None for part in plays._parts)
    expected = list(in_memory.plays)
    assert [p.kind for p in expected] == ["track"] * 30 + ["episode"] * 5 + ["named"] * 28
    assert list(plays) == expected and len(plays) == len(expected) == 63
    assert plays.named_from == 35 and spooled.named == 28
    assert expected[-1].played_at - expected[-2].played_at == privacy_export.timedelta(
        seconds=0, milliseconds=1
    )
    for start, end in ((0, 63), (3, 9), (4, 8), (29, 36), (35, 63), (62, 63), (10, 10)):
        assert plays[start:end] == expected[start:end]
    assert plays[0] == expected[0] and plays[-1] == expected[-1] and plays[37] == expected[37]
    with pytest.raises(IndexError):
        plays[63]
    assert spooled.summary() == in_memory.summary()
    assert spooled.summary()["kinds"] == {"episode": 5, "named": 28, "short": 22, "track": 8}
    plays.close()
    assert all(part.file is None for part in plays._parts)
