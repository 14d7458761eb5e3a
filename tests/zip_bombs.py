"""Zip bombs for the import's limits, built at test time: large when inflated, small on disk."""

from __future__ import annotations

import zipfile
from pathlib import Path

MIB = 1024 * 1024


def write_blocks(stream, size: int, block: bytes) -> None:
    """``size`` bytes of ``block`` repeated, written without holding them all."""
    while size > 0:
        stream.write(block[:size])
        size -= len(block)


def write_nested_bomb(folder) -> Path:
    """The review's bomb: four inner zips each holding 40 MiB of zeros, small on disk."""
    inner = folder / "inner.zip"
    with (
        zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive,
        archive.open("Streaming_History_Audio_2020_0.json", "w") as out,
    ):
        write_blocks(out, 40 * MIB, bytes(MIB))
    bomb = folder / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(4):
            archive.write(inner, f"{number}/my_spotify_data.zip")
    inner.unlink()
    return bomb
