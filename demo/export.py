"""Spotify privacy exports generated from the sandbox's world, in Spotify's real file formats.

The sandbox (``spotify.sandbox.catalogue.World``) knows every stream a listener made, skips
included; this module writes them the way Spotify's "Download your data" does, so the demo,
the tests and ``bench/import.py`` import files whose track ids exist in the sandbox catalogue.
Pure and deterministic: the same world, listener and period give the same bytes.

``python -m demo.export`` rewrites ``demo/my_spotify_data.zip`` (account data) and
``demo/my_spotify_data_extended.zip`` (extended streaming history), the samples ``make demo``
offers.
"""

from __future__ import annotations

import json
import random
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from spotify.sandbox.catalogue import Listener, Stream, World, to_ms

DEMO_DIR = Path(__file__).resolve().parent
ACCOUNT_FOLDER = "Spotify Account Data"
EXTENDED_FOLDER = "Spotify Extended Streaming History"
PLATFORMS = ("android", "ios", "windows", "osx", "web_player", "linux")
# The fixed stretches the demo samples cover: the extended one overlaps the account-data one by
# three days, so importing both shows the duplicates being recognised.
DEMO_EXTENDED = (
    datetime(2025, 3, 1, tzinfo=UTC),
    datetime(2025, 3, 11, tzinfo=UTC),
)
DEMO_ACCOUNT = (
    datetime(2025, 3, 8, tzinfo=UTC),
    datetime(2025, 3, 18, tzinfo=UTC),
)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def extended_entry(
    world: World, stream: Stream, *, username: str | None = None, country: str = "SE"
) -> dict:
    """One entry of ``Streaming_History_Audio_*.json`` (``username`` only in older files)."""
    track = world.tracks[stream.track]
    rng = random.Random(stream.played_at_ms)
    entry = extended_entry_template(stream.played_at_ms, stream.ms_played, username=username)
    done = stream.ms_played >= track.duration_ms
    entry.update(
        {
            "platform": rng.choice(PLATFORMS),
            "conn_country": country,
            "ip_addr": f"192.0.2.{rng.randrange(1, 255)}",
            "master_metadata_track_name": track.name,
            "master_metadata_album_artist_name": world.artists[track.artists[0]].name,
            "master_metadata_album_album_name": world.albums[track.album].name,
            "spotify_track_uri": f"spotify:track:{track.id}",
            "reason_start": "trackdone" if rng.random() < 0.8 else "clickrow",
            "reason_end": "trackdone" if done else rng.choice(("fwdbtn", "endplay", "logout")),
            "shuffle": rng.random() < 0.3,
            "skipped": not done,
            "offline_timestamp": stream.played_at_ms // 1000 - stream.ms_played // 1000,
        }
    )
    return entry


def episode_entry(ended_ms: int, ms_played: int) -> dict:
    """A podcast episode inside an audio file: track fields null, as Spotify writes them."""
    entry = extended_entry_template(ended_ms, ms_played)
    entry.update(
        {
            "episode_name": "Episode 12: Sandbox stories",
            "episode_show_name": "The Sandbox Podcast",
            "spotify_episode_uri": "spotify:episode:0000000000000000000012",
        }
    )
    return entry


def extended_entry_template(ended_ms: int, ms_played: int, *, username: str | None = None) -> dict:
    """Every field of an extended-history entry in Spotify's order, media fields null: what a
    track entry or an episode entry then fills in."""
    entry: dict[str, object] = {"ts": _utc(ended_ms).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if username is not None:
        entry["username"] = username
    return entry | {
        "platform": "android",
        "ms_played": ms_played,
        "conn_country": "SE",
        "ip_addr": "192.0.2.1",
        "master_metadata_track_name": None,
        "master_metadata_album_artist_name": None,
        "master_metadata_album_album_name": None,
        "spotify_track_uri": None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "audiobook_title": None,
        "audiobook_uri": None,
        "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": "clickrow",
        "reason_end": "endplay",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "offline_timestamp": ended_ms // 1000,
        "incognito_mode": False,
    }


def account_entry(world: World, stream: Stream) -> dict:
    """One entry of ``StreamingHistory_music_N.json``: names and the minute it ended."""
    track = world.tracks[stream.track]
    return {
        "endTime": _utc(stream.played_at_ms).strftime("%Y-%m-%d %H:%M"),
        "artistName": world.artists[track.artists[0]].name,
        "trackName": track.name,
        "msPlayed": stream.ms_played,
    }


def streams(world: World, listener: Listener, start: datetime, end: datetime) -> list[Stream]:
    return world.streams(listener, to_ms(start), to_ms(end))


def extended_history(
    world: World,
    listener: Listener,
    start: datetime,
    end: datetime,
    *,
    username: str | None = None,
    episodes: int = 0,
) -> list[dict]:
    """The extended history of [start, end): every stream, plus ``episodes`` podcast entries."""
    found = streams(world, listener, start, end)
    entries = [extended_entry(world, s, username=username, country=listener.country) for s in found]
    for k in range(min(episodes, len(found))):
        ended = found[(k * 7919) % len(found)].played_at_ms - 1_000  # beside a real stream
        entries.append(episode_entry(ended, 600_000))
    entries.sort(key=lambda e: e["ts"])
    return entries


def account_history(world: World, listener: Listener, start: datetime, end: datetime) -> list[dict]:
    return [account_entry(world, s) for s in streams(world, listener, start, end)]


def write_zip(path: Path, files: dict[str, list | dict | bytes]) -> Path:
    """A zip like Spotify's: ``{member name: JSON (or raw bytes)}``, deflated, fixed dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else _json_bytes(content)
            info = zipfile.ZipInfo(name, date_time=(2025, 4, 6, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def _json_bytes(entries) -> bytes:
    # Spotify writes pretty-printed JSON with non-ASCII characters as they are.
    return json.dumps(entries, ensure_ascii=False, indent=2).encode("utf-8")


def write_demo_exports(
    world: World | None = None, listener_index: int = 0, directory: Path = DEMO_DIR
) -> tuple[Path, Path]:
    """The two sample zips ``make demo`` offers, for sandbox listener ``listener_index``."""
    world = world or World()
    listener = world.listeners[listener_index]
    account = account_history(world, listener, *DEMO_ACCOUNT)
    extended = extended_history(world, listener, *DEMO_EXTENDED, episodes=5)
    account_zip = write_zip(
        directory / "my_spotify_data.zip",
        {
            f"{ACCOUNT_FOLDER}/StreamingHistory_music_0.json": account,
            f"{ACCOUNT_FOLDER}/StreamingHistory_podcast_0.json": [
                {
                    "endTime": "2025-03-20 08:15",
                    "podcastName": "The Sandbox Podcast",
                    "episodeName": "Episode 12: Sandbox stories",
                    "msPlayed": 600000,
                }
            ],
            f"{ACCOUNT_FOLDER}/Userdata.json": {
                "username": listener.id,
                "country": listener.country,
            },
            f"{ACCOUNT_FOLDER}/Read_Me_First.pdf": b"%PDF-1.4 sample\n",
        },
    )
    extended_zip = write_zip(
        directory / "my_spotify_data_extended.zip",
        {
            f"{EXTENDED_FOLDER}/Streaming_History_Audio_2025.json": extended,
            f"{EXTENDED_FOLDER}/Streaming_History_Video_2025.json": [],
            f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF-1.4 sample\n",
        },
    )
    return account_zip, extended_zip


if __name__ == "__main__":
    for written in write_demo_exports():
        print(written)
