"""How a stream was listened to, read from an extended-history entry: checked, normalised.

Pure: no database, no network.  ``models.imports.privacy_export`` calls :func:`how_you_listen`
for every extended entry it keeps; the fields end up in the columns of
``models.schema.tables._HowYouListen`` (plays, short streams, episode and chapter plays).

The export gives ``skipped``, ``shuffle`` and ``offline`` as true/false (or null, in older
exports: "not said"), ``reason_start``/``reason_end`` as Spotify's short words (``trackdone``,
``fwdbtn``, ``clickrow``...: kept as given, since Spotify adds new ones), ``platform`` as free
text that changed form over the years (``Android OS 9 API 28 (samsung, SM-G960F)``,
``iOS 14.4 (iPhone12,1)``, ``web_player windows 10;chrome 87;desktop``, ``Partner sonos ...``),
kept as given and sorted into a device family by :func:`device_family`, and ``conn_country``
as a two-letter code (``ZZ``: unknown).  Anything else raises ``ExportError`` naming the file
and the entry, before a play is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.schema.tables import DEVICE_FAMILIES

REASON = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # Spotify's words, and the column's width
COUNTRY = re.compile(r"^[A-Z]{2}$")
FLAGS = ("skipped", "shuffle", "offline")
REASONS = ("reason_start", "reason_end")

# Device families, first match wins, tested on the platform text case-folded.  The order
# matters: an Android TV or car system says "android", a web player says its computer's
# system, so the specific families come before phone and desktop.
DEVICE_RULES: tuple[tuple[str, re.Pattern], ...] = (
    ("car", re.compile(r"automotive|carplay|android[ _]?auto|car ?thing|superbird|\bcar\b")),
    ("console", re.compile(r"playstation|\bps[345]\b|xbox|nintendo")),
    (
        "tv",
        re.compile(
            r"\btv\b|_tv|tv_|smart[ _]?tv|tizen|webos|web0s|roku|fire[ _]?tv|apple[ _]?tv|"
            r"tvos|chromecast|bravia|vizio"
        ),
    ),
    (
        "speaker",
        re.compile(
            r"sonos|echo|alexa|amazon|google[ _]?home|\bnest\b|homepod|speaker|bose|"
            r"cast_audio|google[ _]?cast|denon|yamaha|bang|bluesound|libspotify|spotify[ _]?connect"
        ),
    ),
    ("web player", re.compile(r"web[ _]?player|webplayer|\bweb\b|browser")),
    ("phone", re.compile(r"android|\bios\b|iphone|ipad|ipod|windows phone|mobile")),
    ("desktop", re.compile(r"windows|os ?x|macos|\bmac\b|linux|ubuntu|desktop")),
)
assert {family for family, _ in DEVICE_RULES} | {"other"} == set(DEVICE_FAMILIES)


@dataclass(frozen=True, slots=True)
class Listening:
    """The how-you-listen fields of one entry; None where the export said nothing."""

    skipped: bool | None = None
    shuffle: bool | None = None
    offline: bool | None = None
    reason_start: str | None = None
    reason_end: str | None = None
    platform: str | None = None
    device: str | None = None
    conn_country: str | None = None

    def columns(self) -> dict:
        """The fields as the tables' columns hold them."""
        return {name: getattr(self, name) for name in self.__slots__}


NOTHING_SAID = Listening()


def device_family(platform: str | None) -> str | None:
    """The device family of an export's ``platform`` text; None when there is none."""
    if platform is None or not platform.strip():
        return None
    text = platform.casefold()
    for family, rule in DEVICE_RULES:
        if rule.search(text):
            return family
    return "other"


def how_you_listen(
    entry: dict, file_name: str, number: int, error: type[Exception], cache: dict
) -> Listening:
    """The fields of one extended ``entry``, checked; ``file_name``, ``number`` and ``error``
    make the message of a bad value.  ``cache`` holds the answers already given (a history
    repeats a few platforms and countries thousands of times), keyed by the raw values."""
    raw = (
        entry.get("skipped"),
        entry.get("shuffle"),
        entry.get("offline"),
        entry.get("reason_start"),
        entry.get("reason_end"),
        entry.get("platform"),
        entry.get("conn_country"),
    )
    if raw in cache:
        return cache[raw]
    skipped, shuffle, offline, start, end, platform, country = raw
    where = f"{file_name}, entry {number}"
    for name, value in zip(FLAGS, (skipped, shuffle, offline), strict=True):
        if value is not None and type(value) is not bool:
            raise error(f"{where}: {name} is {value!r}, not true, false or null.")
    for name, value in zip(REASONS, (start, end), strict=True):
        if value is not None and not (isinstance(value, str) and REASON.match(value)):
            raise error(f"{where}: {name} {value!r} is not one of Spotify's reasons.")
    if platform is not None and not isinstance(platform, str):
        raise error(f"{where}: platform is {platform!r}, not text.")
    if platform is not None and len(platform) > 1000:
        raise error(f"{where}: platform is {len(platform)} characters long, not a device name.")
    if country is not None and not (isinstance(country, str) and COUNTRY.match(country)):
        raise error(f"{where}: conn_country {country!r} is not a two-letter country code.")
    platform = platform.strip() or None if platform is not None else None
    found = Listening(
        skipped, shuffle, offline, start, end, platform, device_family(platform), country
    )
    found = NOTHING_SAID if found == NOTHING_SAID else found
    if len(cache) < 10_000:
        cache[raw] = found
    return found
