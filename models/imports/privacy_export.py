"""Reading Spotify's privacy export ("Download your data"): files in, validated plays out.

Pure: no database, no network. ``models.imports.history_import`` stores what this returns.

Accepted as Spotify sends them: the zip, the JSON files inside it, or a folder of them.
- Extended streaming history (``Streaming_History_Audio_*.json``, older ``endsong_N.json``, and
  ``Streaming_History_Video_*.json`` in the same format): entries carry ``ts``, ``ms_played``,
  ``spotify_track_uri`` and the track/artist/album names, or an episode's or an audiobook
  chapter's fields instead, and how the stream was listened to (``models.imports.listening``).
- Account data (``StreamingHistory_music_N.json``, older ``StreamingHistoryN.json``): entries
  carry ``endTime`` (minute precision), ``artistName``, ``trackName``, ``msPlayed``; no ids.
  ``StreamingHistory_podcast_N.json``: ``podcastName`` and ``episodeName`` instead.
Every other file of the export (Userdata.json, Playlist1.json, the PDF...) is ignored unread.

What an entry becomes (:class:`ExportPlay`, its ``kind``): a music play of a track id
(``track``), of a local file known by its names (``local``), of names only that a search must
resolve (``named``: account data), a podcast episode's stream (``episode``) or an audiobook
chapter's (``chapter``).  Music streams under 30 s are kept marked ``short`` (a skip, not a
play), except name-only ones (nothing to tell which track was skipped).  Incognito entries
are left out: the listener chose privacy.  Anything that does not look like what Spotify sends
raises :class:`ExportError` with a message for the person who uploaded it (naming the file and
the entry), before anything is stored.

When a play happened (``played_at``), so an imported play and the same listen read from the
API's recently-played list are one play:
- Spotify stamps an export entry when the stream *ended* (``ts``, ``endTime``), and the API's
  ``played_at`` is that same moment (the sandbox models it so: its plays are stamped when they
  end).  Extended entries therefore keep ``ts`` as ``played_at`` (whole seconds; the API's
  milliseconds differ by less than a second).
- Account-data entries only know the minute (``endTime`` is truncated).  The listen ended
  somewhere in that minute, so ``played_at`` is the middle of the minute (``endTime`` + 30 s):
  at most 30 s from the API's value, which ``models.ingest.plays.PLAY_TOLERANCE`` covers.  Two plays
  ending in the same minute get 1 ms apart so both survive the unique (user, played_at) key.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import re
import tempfile
import weakref
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, overload
from urllib.parse import unquote_plus

import ijson

from models.imports.listening import NOTHING_SAID, Listening, how_you_listen
from models.ingest.catalogue import HISTORY_BEGINS
from models.schema.db import naive_utc, utcnow

MIN_MS_PLAYED = 30_000  # Spotify counts a stream as a play from 30 s on
# Spotify opened to the public in October 2008; earlier timestamps cannot be real plays.
EARLIEST_PLAY = HISTORY_BEGINS
FUTURE_SLACK = timedelta(days=1)  # clocks of phones that played offline drift a little
MINUTE_MIDDLE = timedelta(seconds=30)
TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")

# Kinds of file in an export, recognised by name (case-insensitive, any folder).
EXTENDED = "extended"  # Streaming_History_Audio_*.json, endsong_N.json
ACCOUNT = "account"  # StreamingHistory_music_N.json, StreamingHistoryN.json
VIDEO = "video"  # Streaming_History_Video_*.json: skipped
PODCAST = "podcast"  # StreamingHistory_podcast_N.json: skipped
FILE_KINDS = (
    (re.compile(r"^streaming_history_audio_.*\.json$", re.I), EXTENDED),
    (re.compile(r"^endsong_?\d*\.json$", re.I), EXTENDED),
    (re.compile(r"^streaming_history_video_.*\.json$", re.I), VIDEO),
    (re.compile(r"^streaminghistory_music_?\d*\.json$", re.I), ACCOUNT),
    (re.compile(r"^streaminghistory_?\d*\.json$", re.I), ACCOUNT),
    (re.compile(r"^streaminghistory_podcast_?\d*\.json$", re.I), PODCAST),
)
HISTORY_KINDS = (EXTENDED, ACCOUNT)
# What an entry becomes (ExportPlay.kind).
TRACK, LOCAL, NAMED, EPISODE, CHAPTER = "track", "local", "named", "episode", "chapter"
MUSIC_KINDS = (TRACK, LOCAL, NAMED)
SPOTIFY_URI = re.compile(r"^spotify:([a-z]+):([0-9A-Za-z]{1,62})$")
EXTENDED_KEYS = ("ts", "ms_played")
ACCOUNT_KEYS = ("endTime", "msPlayed")


class ExportError(ValueError):
    """The upload is not a usable Spotify export; ``str()`` is the message for the user."""


@dataclass(frozen=True)
class Limits:
    """How much an upload may hold; checked before anything is decompressed or parsed.

    A year of extended history is one or two files of about 12 MB (roughly 15,000 streams
    each), so these leave room for decades of listening while refusing zip bombs.  A zip inside
    the upload (Spotify's two zips uploaded as one) is held to the same rules as a history
    file, with the upload's size as its own limit, and what it inflates to counts toward the
    total: nesting buys a bomb nothing.
    """

    max_upload_bytes: int = 256 * 1024 * 1024  # the zip or JSON as uploaded; also an inner zip
    max_file_bytes: int = 64 * 1024 * 1024  # one history file, uncompressed
    max_total_bytes: int = 1024 * 1024 * 1024  # inner zips and history files, uncompressed
    max_ratio: int = 100  # uncompressed / compressed, per file (JSON reaches ~15)
    max_files: int = 5_000  # members of a zip and of the zips inside it, of any kind


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class ExportPlay:
    """One kept stream from the export, in the order the import stores them.

    ``kind`` says what it is (module docstring).  ``track_id``: Spotify's id of the track
    (``track``), episode (``episode``, when the entry gave its URI) or chapter (``chapter``);
    None otherwise.  ``names``: (track, album artist, album or None) for music, (episode, show,
    None) for an episode, (chapter, audiobook, None) for a chapter; shared between streams.
    ``parent``: the audiobook's id of a chapter, when given.  ``short``: a music stream under
    30 s.  ``how``: how it was listened to (all None where the entry said nothing).
    """

    played_at: datetime
    ms_played: int
    track_id: str | None
    names: tuple[str, str, str | None]
    kind: str = TRACK
    short: bool = False
    how: Listening = NOTHING_SAID
    parent: str | None = None

    @property
    def needs_search(self) -> bool:
        """Only names say which track it is: resolved after everything else is stored."""
        return self.kind == NAMED


@dataclass
class ExportFile:
    name: str
    kind: str
    entries: int = 0  # streams in the file (plays and skips)
    plays: int = 0  # streams kept from it (plays, short streams, episodes, chapters)


SPOOL_BLOCK = 8_192  # streams per pickled block of a spool: read back one block at a time


class _Spool:
    """Streams of one part of an export, pickled in blocks to an anonymous temporary file
    (closed when this is dropped): memory holds one block, whatever the export's size.  The
    last block stays in memory, so an export of fewer streams opens no file at all."""

    def __init__(self) -> None:
        self.file: IO[bytes] | None = None
        self.blocks: list[tuple[int, int]] = []  # (offset in the file, streams in it)
        self.pending: list[tuple] = []  # the last block, not written yet
        self.count = 0

    def append(self, play: ExportPlay) -> None:
        self.pending.append(
            (
                play.played_at,
                play.ms_played,
                play.track_id,
                play.names,
                play.kind,
                play.short,
                play.how,
                play.parent,
            )
        )
        self.count += 1
        if len(self.pending) >= SPOOL_BLOCK:
            self._write()

    def _write(self) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the export)
            weakref.finalize(self, self.file.close)  # closed, not left to warn, when dropped
        self.file.seek(0, io.SEEK_END)
        self.blocks.append((self.file.tell(), len(self.pending)))
        pickle.dump(self.pending, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.pending = []

    def sizes(self) -> list[int]:
        """Streams in each block, in order, the one in memory last."""
        return [size for _, size in self.blocks] + ([len(self.pending)] if self.pending else [])

    def block(self, number: int) -> list[tuple]:
        if number == len(self.blocks):
            return self.pending
        assert self.file is not None
        self.file.seek(self.blocks[number][0])
        return pickle.load(self.file)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class Plays(Sequence[ExportPlay]):
    """The kept streams of an export, in the order the import stores them (see
    :class:`Export`), spooled to disk as they are read: a decade of history is a million
    streams, about 200 MB as objects, so memory holds a block of them, never the export.

    Appended to by the readers, one part at a time (:meth:`part`); then :meth:`seal`.  Reads
    (index, slice, iteration) unpickle the blocks they touch, the last one kept for the next
    read: the import's chunks take consecutive slices.  What the import report says of the
    streams (counts by kind, first and last music stream) is counted as they are appended.
    """

    PARTS = 4  # direct, account podcasts, extended names only, account data

    def __init__(self) -> None:
        self._parts = [_Spool() for _ in range(self.PARTS)]
        self._starts: list[int] = []  # index of each part's first stream, once sealed
        self._cached: tuple[int, int, list[tuple]] | None = None
        self.kinds: Counter = Counter()
        self.first_played_at: datetime | None = None
        self.last_played_at: datetime | None = None

    def part(self, number: int) -> Callable[[ExportPlay], None]:
        """The appender of part ``number`` (0 to 3, in storing order)."""
        spool = self._parts[number]

        def append(play: ExportPlay) -> None:
            self.kinds["short" if play.short else play.kind] += 1
            if play.kind in MUSIC_KINDS:
                at = play.played_at
                if self.first_played_at is None or at < self.first_played_at:
                    self.first_played_at = at
                if self.last_played_at is None or at > self.last_played_at:
                    self.last_played_at = at
            spool.append(play)

        return append

    def seal(self) -> None:
        start = 0
        self._starts = []
        for spool in self._parts:
            self._starts.append(start)
            start += spool.count

    @property
    def named_from(self) -> int:
        """The index of the first name-only stream (``needs_search``): the parts before are
        stored as they are, the parts from here on each may need a search."""
        return self._starts[2] if self._starts else len(self)

    def __len__(self) -> int:
        return sum(spool.count for spool in self._parts)

    @overload
    def __getitem__(self, index: int) -> ExportPlay: ...

    @overload
    def __getitem__(self, index: slice) -> list[ExportPlay]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            found = list(self._between(start, stop))
            return found if step == 1 else found[::step]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        return next(self._between(position, position + 1))

    def __iter__(self) -> Iterator[ExportPlay]:
        return self._between(0, len(self))

    def _between(self, start: int, stop: int) -> Iterator[ExportPlay]:
        """The streams at indices [start, stop), block by block."""
        for part, spool in enumerate(self._parts):
            base = self._starts[part]
            offset = base
            for number, size in enumerate(spool.sizes()):
                lo, hi = max(start, offset), min(stop, offset + size)
                if lo < hi:
                    rows = self._block(part, number)
                    for row in rows[lo - offset : hi - offset]:
                        yield ExportPlay(*row)
                offset += size
                if offset >= stop:
                    return

    def _block(self, part: int, number: int) -> list[tuple]:
        cached = self._cached
        if cached is not None and cached[:2] == (part, number):
            return cached[2]
        rows = self._parts[part].block(number)
        self._cached = (part, number, rows)
        return rows

    def close(self) -> None:
        """Let go of the spools now (they also go with this object)."""
        for spool in self._parts:
            spool.close()
        self._cached = None


@dataclass
class Export:
    """Everything a validated export holds.  ``plays``: first every stream that needs no
    Spotify call (extended files' entries, account-data podcasts), then the name-only plays.

    The name-only plays go last because each may need a search, which the network can stall:
    everything else is stored before the first one.  And where both kinds of history cover the
    same listen, the account-data copy then finds the play already stored.
    """

    files: list[ExportFile] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    plays: Plays = field(default_factory=Plays)
    skipped: Counter = field(default_factory=Counter)
    usernames: set[str] = field(default_factory=set)

    @property
    def first_played_at(self) -> datetime | None:
        """The first music stream's time (the API's plays are music: gaps are compared)."""
        return self.plays.first_played_at

    @property
    def last_played_at(self) -> datetime | None:
        return self.plays.last_played_at

    @property
    def named(self) -> int:
        """How many streams are known by names only (each may need a search)."""
        return len(self.plays) - self.plays.named_from

    def kinds(self) -> dict[str, int]:
        """Streams kept, by kind; music under 30 s counted as ``short``."""
        return dict(sorted((+self.plays.kinds).items()))

    def summary(self) -> dict:
        """JSON-friendly facts about the export for the import report."""
        first, last = self.first_played_at, self.last_played_at
        return {
            "files": [
                {"name": f.name, "kind": f.kind, "entries": f.entries, "plays": f.plays}
                for f in self.files
            ],
            "ignored_files": self.ignored_files[:50],
            "ignored_file_count": len(self.ignored_files),
            "entries": sum(f.entries for f in self.files),
            "plays": len(self.plays),
            "kinds": self.kinds(),
            # the two parts of the import: stored at once, and name-only plays searched after
            "direct": self.plays.named_from,
            "named": self.named,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": sum(self.skipped.values()),
            "first_played_at": first.isoformat() if first else None,
            "last_played_at": last.isoformat() if last else None,
        }


@dataclass(frozen=True)
class _Member:
    """One file to read: from a zip, a folder or the upload itself."""

    name: str
    size: int
    compressed_size: int | None
    open: Callable[[], IO[bytes]]


def _open_binary(path: Path) -> IO[bytes]:
    return path.open("rb")


def file_kind(name: str) -> str | None:
    base = PurePosixPath(name.replace("\\", "/")).name
    for pattern, kind in FILE_KINDS:
        if pattern.match(base):
            return kind
    return None


def read_export(
    source: str | Path | bytes,
    *,
    username: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
    min_ms_played: int = MIN_MS_PLAYED,
    name: str | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> Export:
    """Read and validate a whole export; raise :class:`ExportError` on anything wrong.

    ``source`` is a path (zip, JSON file or folder) or the uploaded bytes; ``name`` is the
    uploaded file's name, used to recognise a bare JSON file's kind.  ``username`` is the
    Spotify id of the user importing: an extended entry naming another user is refused.
    ``heartbeat`` is called before each history file is read (a worker shows it is alive).

    Memory stays bounded whatever the export's size: files are parsed as they are read, a zip
    inside the upload is spooled to an anonymous temporary file, and so are the validated
    streams (:class:`Plays`, which the returned export holds; the other spools are gone when
    this returns or raises).
    """
    now = now or utcnow()
    with contextlib.ExitStack() as opened:
        return _read(source, username, limits, now, min_ms_played, name, heartbeat, opened)


def _read(source, username, limits, now, min_ms_played, name, heartbeat, opened) -> Export:
    members, bare, inflated = _members(source, limits, name, opened)
    export = Export()
    history = []
    for member in members:
        kind = file_kind(member.name)
        if kind is not None or bare:  # a lone JSON upload is read whatever its name
            history.append((member, kind))
        else:
            export.ignored_files.append(member.name)
    if not history:
        raise ExportError(_no_history_message(members))
    _check_sizes([m for m, _ in history], limits, inflated)
    # Extended files first (they carry ids), each kind in name order: a stable order the
    # resumable import relies on.
    history.sort(key=lambda mk: (mk[1] not in (EXTENDED, VIDEO), mk[0].name))
    read = _Reading(export, username, now, min_ms_played)
    try:
        _read_files(history, read, limits, heartbeat)
    except BaseException:
        export.plays.close()  # the spools go at once, not when the error is collected
        raise
    export.plays.seal()
    return export


def _read_files(history, read: _Reading, limits: Limits, heartbeat) -> None:
    export = read.export
    for member, kind in history:
        if heartbeat is not None:
            heartbeat()
        entries = _Entries(member, limits)
        kind = _content_kind(member.name, kind, entries.first)
        info = ExportFile(member.name, kind)
        export.files.append(info)
        if kind in (EXTENDED, VIDEO):
            info.plays = _read_extended(member.name, entries, read)
        elif kind == ACCOUNT:
            info.plays = _read_account(member.name, entries, read)
        else:
            info.plays = _read_account_podcasts(member.name, entries, read)
        info.entries = entries.count


class _Reading:
    """What the entry readers share across the files of one export: where the streams go,
    in the order the import stores them (the parts of ``export.plays``), and the caches of
    repeated values."""

    def __init__(self, export: Export, username: str | None, now: datetime, min_ms: int):
        self.export = export
        self.username = username
        self.expected = username.casefold() if username else None
        self.now = now
        self.min_ms = min_ms
        plays = export.plays
        self.direct = plays.part(0)  # stored without any Spotify call
        self.account_podcasts = _Minutes(plays.part(1), EPISODE)
        self.named = plays.part(2)  # extended entries with names but no URI
        self.account_plays = _Minutes(plays.part(3), NAMED)
        self.names: dict[tuple, tuple] = {}
        self.listening: dict[tuple, Listening] = {}

    def shared(self, names: tuple) -> tuple:
        """One tuple per distinct names: a history repeats its favourites thousands of times."""
        return self.names.setdefault(names, names)


class _Minutes:
    """Account-data streams at the middle of their minute, 1 ms apart within one minute, as
    they are read (in file order)."""

    def __init__(self, append: Callable[[ExportPlay], None], kind: str):
        self.append_play, self.kind = append, kind
        self.previous: datetime | None = None
        self.offset = 0

    def append(self, stream: tuple[datetime, int, tuple]) -> None:
        ended, ms_played, names = stream
        self.offset = self.offset + 1 if ended == self.previous else 0
        self.previous = ended
        at = ended + MINUTE_MIDDLE + timedelta(milliseconds=self.offset)
        self.append_play(ExportPlay(at, ms_played, None, names, self.kind))


# -- where the files come from ---------------------------------------------------------------
def _members(
    source, limits: Limits, name: str | None, opened: contextlib.ExitStack
) -> tuple[list[_Member], bool, int]:
    """The files to consider, whether the upload is one bare file (not zip or folder), and the
    bytes its inner zips inflated to (they count toward the total)."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > limits.max_upload_bytes:
            raise ExportError(_too_big("The upload", len(source), limits.max_upload_bytes))
        if zipfile.is_zipfile(io.BytesIO(source)):
            return _ZipReader(limits, opened).read(zipfile.ZipFile(io.BytesIO(source)))
        return (
            [_Member(name or "upload.json", len(source), None, lambda: io.BytesIO(source))],
            True,
            0,
        )
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        if len(files) > limits.max_files:
            raise ExportError(f"The folder holds {len(files)} files; an export has far fewer.")
        members = [
            _Member(str(p.relative_to(path)), p.stat().st_size, None, partial(_open_binary, p))
            for p in files
        ]
        return members, False, 0
    if not path.is_file():
        raise ExportError(f"{path} does not exist.")
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise ExportError(_too_big(path.name, size, limits.max_upload_bytes))
    if zipfile.is_zipfile(path):
        return _ZipReader(limits, opened).read(opened.enter_context(zipfile.ZipFile(path)))
    return [_Member(name or path.name, size, None, lambda: path.open("rb"))], True, 0


class _ZipReader:
    """The members of a zip and of the zips inside it, under one budget.

    A zip inside the upload (both of Spotify's zips uploaded as one, or a zip zipped again) is
    opened too, one level deep.  It is checked like a history file before a byte is inflated
    (declared size, compression ratio), inflated in blocks into an anonymous temporary file
    (never into memory), and what it inflates to counts toward ``max_total_bytes`` as it comes.
    The spools close with ``opened``.
    """

    def __init__(self, limits: Limits, opened: contextlib.ExitStack):
        self.limits = limits
        self.opened = opened
        self.inflated = 0  # bytes the inner zips inflated to
        self.files = 0  # members seen, inner zips' included

    def read(self, archive: zipfile.ZipFile) -> tuple[list[_Member], bool, int]:
        members = self.members(archive)
        return members, False, self.inflated

    def members(self, archive: zipfile.ZipFile, prefix: str = "") -> list[_Member]:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        self.files += len(infos)
        if self.files > self.limits.max_files:
            raise ExportError(f"The zip holds {self.files} files; a Spotify export has far fewer.")
        members = []
        for info in infos:
            name = prefix + info.filename
            if info.filename.startswith("__MACOSX/"):
                continue  # Finder's resource forks, not part of the export
            if info.flag_bits & 0x1 and (file_kind(name) or name.lower().endswith(".zip")):
                raise ExportError(f"{name} is encrypted in the zip; upload it unencrypted.")
            if not prefix and name.lower().endswith(".zip"):
                members.extend(self.members(self._inner_zip(archive, info, name), name + "/"))
                continue
            members.append(
                _Member(name, info.file_size, info.compress_size, partial(archive.open, info))
            )
        return members

    def _inner_zip(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
    ) -> zipfile.ZipFile:
        limits = self.limits
        _check_member(name, info.file_size, info.compress_size, limits.max_upload_bytes, limits)
        self.inflated += info.file_size
        if self.inflated > limits.max_total_bytes:
            raise ExportError(
                _too_big("Unzipped, the export", self.inflated, limits.max_total_bytes)
            )
        spool = _spool(self.opened)
        copied = 0
        try:
            with archive.open(info) as stream:
                while block := stream.read(1 << 20):
                    copied += len(block)
                    if copied > info.file_size:  # more than it declared: stop here
                        raise ExportError(_too_big(name, copied, info.file_size))
                    spool.write(block)
            spool.seek(0)
            if not zipfile.is_zipfile(spool):
                raise ExportError(f"{name} is not a zip file that can be read.")
            return self.opened.enter_context(zipfile.ZipFile(spool))
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise ExportError(f"{name} cannot be read from the zip: {exc}") from None


def _spool(opened: contextlib.ExitStack):
    """An anonymous temporary file (no name on disk), closed and gone with ``opened``."""
    return opened.enter_context(tempfile.TemporaryFile())


def _check_member(name: str, size: int, compressed: int | None, limit: int, limits: Limits):
    """One file's declared size against ``limit``, and its compression ratio (a zip bomb
    inflates thousands of times; JSON about 15), before a byte of it is inflated."""
    if size > limit:
        raise ExportError(_too_big(name, size, limit))
    if compressed is not None and size > 1024 * 1024:
        ratio = size / max(compressed, 1)
        if ratio > limits.max_ratio:
            raise ExportError(
                f"{name} would grow {ratio:.0f} times when unzipped; "
                "that is not a Spotify export (a zip bomb?)."
            )


def _check_sizes(members: list[_Member], limits: Limits, inflated: int = 0) -> None:
    """Refuse zip bombs from the sizes the archive declares, before inflating a byte of the
    history files; ``inflated`` is what the inner zips already took, counted in the total."""
    total = inflated
    for member in members:
        _check_member(
            member.name, member.size, member.compressed_size, limits.max_file_bytes, limits
        )
        total += member.size
    if total > limits.max_total_bytes:
        raise ExportError(_too_big("Unzipped, the export", total, limits.max_total_bytes))


class _Capped:
    """A member's stream that stops at its declared size plus one byte (a zip that lies about
    its sizes stops here) and at the file size limit."""

    def __init__(self, stream: IO[bytes], member: _Member, limits: Limits):
        self.stream, self.member, self.limits = stream, member, limits
        self.cap = min(member.size, limits.max_file_bytes) + 1
        self.seen = 0
        self.ahead = b""  # read by starts_with, given back by the next read

    def starts_with(self, text: bytes) -> bool:
        """Whether the first character that is not white space is ``text`` (nothing is lost)."""
        while not self.ahead.lstrip():
            block = self.read(1 << 16)
            if not block:
                return False
            self.ahead += block
        return self.ahead.lstrip().startswith(text)

    def read(self, size: int = -1) -> bytes:
        if self.ahead:  # never more than asked: a reader may take ``size`` bytes on trust
            take = len(self.ahead) if size is None or size < 0 else size
            block, self.ahead = self.ahead[:take], self.ahead[take:]
            return block
        block = self.stream.read(self.cap if size is None or size < 0 else size)
        self.seen += len(block)
        if self.seen >= self.cap:
            raise ExportError(_too_big(self.member.name, self.seen, self.limits.max_file_bytes))
        return block


class _Entries:
    """The entries of one history file, parsed as they are read (ijson), never the whole file
    in memory: a decade of history is a million entries in 60 files of 16,000.  ``first`` (a
    list of the first entry, or empty) tells the kind before the rest is read; ``count`` is
    how many were read so far.  Iterate once.  Every error of the file's form is an
    :class:`ExportError` as :func:`_load_json` words it, raised where it is met: the export is
    read whole (``read_export``) before anything is stored, so nothing is half-imported."""

    def __init__(self, member: _Member, limits: Limits):
        self.member, self.limits, self.count = member, limits, 0
        self._items = self._parse()
        head = next(self._items, None)
        self.first = [] if head is None else [head]

    def __iter__(self) -> Iterator[dict]:
        if self.first:
            self.count += 1
            yield self.first[0]
        for entry in self._items:
            self.count += 1
            yield entry

    def _parse(self) -> Iterator[dict]:
        member = self.member
        try:
            with member.open() as raw:
                stream = _Capped(raw, member, self.limits)
                if not stream.starts_with(b"["):
                    raise ijson.JSONError("not an array")  # worded by _load_json below
                # A file object, not parse events: ijson's C backend then builds the items.
                for entry in ijson.items(stream, "item", use_float=True):
                    if not isinstance(entry, dict):
                        raise ExportError(_NOT_A_LIST.format(name=member.name))
                    yield entry
        except ijson.JSONError as exc:
            _load_json(member, self.limits)  # raises the precise message (line, column)
            raise ExportError(_NOT_A_LIST.format(name=member.name)) from exc
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise ExportError(f"{member.name} cannot be read from the zip: {exc}") from None


_NOT_A_LIST = "{name} is JSON but not a Spotify streaming history: expected a list of streams."


def _load_json(member: _Member, limits: Limits) -> list:
    """The whole file parsed at once: only to word the error of a file streaming refused."""
    # Read at most the declared size plus one byte: a zip that lies about its sizes stops here.
    cap = min(member.size, limits.max_file_bytes) + 1
    try:
        with member.open() as stream:
            raw = stream.read(cap)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ExportError(f"{member.name} cannot be read from the zip: {exc}") from None
    if len(raw) >= cap:
        raise ExportError(_too_big(member.name, len(raw), limits.max_file_bytes))
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise ExportError(f"{member.name} is not JSON text (it is not UTF-8).") from None
    except json.JSONDecodeError as exc:
        raise ExportError(
            f"{member.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ExportError(_NOT_A_LIST.format(name=member.name))
    return data


def _content_kind(name: str, kind: str | None, entries: list[dict]) -> str:
    """The kind the entries show (``entries``: the first, or none); the file name must agree
    when it names one."""
    if not entries:
        return kind or ACCOUNT
    first = entries[0]
    if all(k in first for k in EXTENDED_KEYS):
        found = VIDEO if kind == VIDEO else EXTENDED
    elif all(k in first for k in ACCOUNT_KEYS):
        found = PODCAST if "podcastName" in first or "episodeName" in first else ACCOUNT
    else:
        keys = ", ".join(sorted(first)[:8]) or "none"
        raise ExportError(
            f"{name} is JSON but not a Spotify streaming history: its entries "
            f"have the fields {keys}, not ts/ms_played or endTime/msPlayed."
        )
    if kind is not None and kind != found and not (kind == ACCOUNT and found == PODCAST):
        raise ExportError(
            f"{name} does not hold what its name says: expected "
            f"{_kind_label(kind)}, found {_kind_label(found)} entries."
        )
    return found


# -- the two entry formats -------------------------------------------------------------------
def _read_extended(file_name: str, entries: Iterable[dict], read: _Reading) -> int:
    """The streams of one extended file into ``read``; the loop is the import's hot path
    (a decade of history is a million entries), hence the local names and the fast paths."""
    export = read.export
    earliest, latest = EARLIEST_PLAY, read.now + FUTURE_SLACK
    parse_time = datetime.fromisoformat
    track_ids: dict[str, str | None] = {}  # uri -> id: a history repeats its favourite tracks
    direct, named, skipped, min_ms = read.direct, read.named, export.skipped, read.min_ms
    counted = 0
    for number, entry in enumerate(entries, 1):
        if "ts" not in entry or "ms_played" not in entry:
            missing = "ts" if "ts" not in entry else "ms_played"
            raise ExportError(f"{file_name}, entry {number}: the field {missing!r} is missing.")
        owner = entry.get("username")
        if owner is not None:
            _check_owner(owner, read.expected, read.username, export, file_name, number)
        ts = entry["ts"]
        played_at = None
        if type(ts) is str and ts[-1:] == "Z":
            try:  # the fast path; a try costs less than contextlib.suppress in this loop
                played_at = parse_time(ts[:-1])
            except ValueError:
                played_at = None
        if (
            played_at is None
            or played_at.tzinfo is not None
            or not (earliest <= played_at <= latest)
        ):
            played_at = _timestamp(ts, f"{file_name}, entry {number}", "ts", read.now)
        ms_played = entry["ms_played"]
        if type(ms_played) is not int or ms_played < 0:
            _ms(ms_played, f"{file_name}, entry {number}", "ms_played")
        how = how_you_listen(entry, file_name, number, ExportError, read.listening)
        uri = entry.get("spotify_track_uri")
        track_name = entry.get("master_metadata_track_name")
        artist_name = entry.get("master_metadata_album_artist_name")
        album_name = entry.get("master_metadata_album_album_name")
        _check_names(file_name, number, track_name, artist_name, album_name)
        incognito = entry.get("incognito_mode")
        if incognito is not None and type(incognito) is not bool:
            raise ExportError(f"{file_name}, entry {number}: incognito_mode is not true or false.")
        if uri is None and not (track_name and artist_name):
            spoken = _spoken(file_name, number, entry, played_at, ms_played, how, read)
            if spoken is None:
                skipped["no_track"] += 1
            elif incognito:
                skipped["incognito"] += 1
            else:
                direct(spoken)
                counted += 1
            continue
        if uri is None:
            kind, track_id = NAMED, None
        elif uri in track_ids:
            track_id = track_ids[uri]
            kind = TRACK if track_id is not None else LOCAL
        else:
            track_id = track_ids[uri] = _track_id(uri, f"{file_name}, entry {number}")
            kind = TRACK if track_id is not None else LOCAL
        if incognito:
            skipped["incognito"] += 1  # private sessions stay private, as on Spotify
            continue
        short = ms_played < min_ms
        if kind == LOCAL:
            names = _local_names(uri, track_name, artist_name, album_name)
            if names is None:
                skipped["no_track"] += 1
                continue
        elif kind == NAMED and short:
            skipped["short"] += 1  # names only: nothing says which track was skipped
            continue
        else:
            names = (track_name or "", artist_name or "", album_name)
        play = ExportPlay(played_at, ms_played, track_id, read.shared(names), kind, short, how)
        (named if kind == NAMED else direct)(play)
        counted += 1
    return counted


def _check_names(file_name, number, *names) -> None:
    for value in names:
        if value is not None and type(value) is not str:
            raise ExportError(
                f"{file_name}, entry {number}: a track, artist or album name is {value!r}, "
                "not text."
            )


def _spoken(file_name, number, entry, played_at, ms_played, how, read) -> ExportPlay | None:
    """An episode's or an audiobook chapter's stream, checked; None if the entry is neither."""
    where = f"{file_name}, entry {number}"
    episode_uri, episode = entry.get("spotify_episode_uri"), entry.get("episode_name")
    if episode_uri is not None or episode is not None:
        show = entry.get("episode_show_name")
        episode_id = _uri_id(episode_uri, "episode", where, "spotify_episode_uri")
        if not all(value is None or isinstance(value, str) for value in (episode, show)):
            raise ExportError(f"{where}: episode_name and episode_show_name must be text.")
        names = read.shared(((episode or "").strip(), (show or "").strip(), None))
        return ExportPlay(played_at, ms_played, episode_id, names, EPISODE, how=how)
    book_uri, book = entry.get("audiobook_uri"), entry.get("audiobook_title")
    chapter_uri, chapter = entry.get("audiobook_chapter_uri"), entry.get("audiobook_chapter_title")
    if book_uri is None and book is None and chapter_uri is None and chapter is None:
        return None
    book_id = _uri_id(book_uri, None, where, "audiobook_uri")
    chapter_id = _uri_id(chapter_uri, None, where, "audiobook_chapter_uri")
    if not all(value is None or isinstance(value, str) for value in (book, chapter)):
        raise ExportError(f"{where}: audiobook_title and audiobook_chapter_title must be text.")
    book, chapter = (book or "").strip(), (chapter or "").strip()
    names = read.shared((chapter or book, book, None))
    return ExportPlay(played_at, ms_played, chapter_id, names, CHAPTER, how=how, parent=book_id)


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _uri_id(uri, expected: str | None, where: str, key: str) -> str | None:
    """The id in a Spotify URI (of type ``expected``, if given); None when there is none."""
    if uri is None:
        return None
    match = SPOTIFY_URI.match(uri) if isinstance(uri, str) else None
    if match is None or (expected is not None and match.group(1) != expected):
        raise ExportError(f"{where}: {key} {uri!r} is not a Spotify URI.")
    return match.group(2)


def _local_names(uri, track, artist, album) -> tuple[str, str, str | None] | None:
    """A local file's (track, artist, album) names: the entry's, else those its URI holds
    (``spotify:local:artist:album:track:seconds``, each part URL-encoded)."""
    if track and track.strip():
        return (track.strip(), (artist or "").strip(), (album or "").strip() or None)
    parts = [unquote_plus(part) for part in uri.split(":")[2:]]
    if len(parts) < 3 or not parts[2].strip():
        return None
    return (parts[2].strip(), parts[0].strip(), parts[1].strip() or None)


def _check_owner(owner, expected, username, export, file_name, number) -> None:
    if not isinstance(owner, str):
        raise ExportError(f"{file_name}, entry {number}: username is not text.")
    export.usernames.add(owner)
    if expected is not None and owner.casefold() != expected:
        raise ExportError(
            f"{file_name} is the export of Spotify user {owner!r}, but you are "
            f"signed in as {username!r}: import your own export."
        )


def _track_id(uri, where: str) -> str | None:
    """The id in a track URI; None for a local file (only its names can find a track)."""
    match = TRACK_URI.match(uri) if isinstance(uri, str) else None
    if match is not None:
        return match.group(1)
    if isinstance(uri, str) and uri.startswith("spotify:local:"):
        return None
    raise ExportError(f"{where}: spotify_track_uri {uri!r} is not a Spotify track URI.")


def _account_fields(entry: dict, where: str, names: tuple, read: _Reading) -> tuple:
    """(``endTime``, ``msPlayed``) of an account-data entry, checked, with its ``names`` there."""
    for field_name in ("endTime", "msPlayed", *names):
        if field_name not in entry:
            raise ExportError(f"{where}: the field {field_name!r} is missing.")
    return (
        _timestamp(entry["endTime"], where, "endTime", read.now),
        _ms(entry["msPlayed"], where, "msPlayed"),
    )


def _read_account(file_name: str, entries: Iterable[dict], read: _Reading) -> int:
    export = read.export
    counted = 0
    for number, entry in enumerate(entries, 1):
        where = f"{file_name}, entry {number}"
        ended, ms_played = _account_fields(entry, where, ("artistName", "trackName"), read)
        artist_name, track_name = entry["artistName"], entry["trackName"]
        if not isinstance(artist_name, str) or not isinstance(track_name, str):
            raise ExportError(f"{where}: artistName and trackName must be text.")
        if ms_played < read.min_ms:
            export.skipped["short"] += 1  # names only: nothing says which track was skipped
            continue
        if not artist_name.strip() or not track_name.strip() or artist_name == "Unknown Artist":
            export.skipped["no_track"] += 1
            continue
        read.account_plays.append((ended, ms_played, read.shared((track_name, artist_name, None))))
        counted += 1
    return counted


def _read_account_podcasts(file_name: str, entries: Iterable[dict], read: _Reading) -> int:
    """``StreamingHistory_podcast_N.json``: episodes by show and episode name, every length."""
    counted = 0
    for number, entry in enumerate(entries, 1):
        where = f"{file_name}, entry {number}"
        ended, ms_played = _account_fields(entry, where, ("podcastName", "episodeName"), read)
        show, episode = entry["podcastName"], entry["episodeName"]
        if not isinstance(show, str) or not _text(episode):
            raise ExportError(f"{where}: podcastName and episodeName must be text.")
        names = read.shared((episode.strip(), show.strip(), None))
        read.account_podcasts.append((ended, ms_played, names))
        counted += 1
    return counted


def _timestamp(value, where: str, key: str, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise ExportError(f"{where}: {key} is not a date and time.")
    try:
        if value.endswith("Z"):  # the usual form: parse as naive UTC, the fast path
            moment = datetime.fromisoformat(value[:-1])
        else:
            moment = naive_utc(datetime.fromisoformat(value))
    except ValueError:
        raise ExportError(f"{where}: {key} {value!r} is not a date and time.") from None
    if moment < EARLIEST_PLAY or moment > now + FUTURE_SLACK:
        raise ExportError(
            f"{where}: {key} {value!r} is out of range (before Spotify existed or in the future)."
        )
    return moment


def _ms(value, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ExportError(f"{where}: {key} must be a whole number of milliseconds.")
    return value


# -- messages --------------------------------------------------------------------------------
def _too_big(what: str, size: int, limit: int) -> str:
    return f"{what} is {_mb(size)}, more than the {_mb(limit)} an import may hold."


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def _kind_label(kind: str) -> str:
    return {
        EXTENDED: "extended streaming history",
        ACCOUNT: "account-data streaming history",
        VIDEO: "video history",
        PODCAST: "podcast history",
    }[kind]


def _no_history_message(members: list[_Member]) -> str:
    names = ", ".join(m.name for m in members[:5]) or "nothing"
    more = f" and {len(members) - 5} more" if len(members) > 5 else ""
    return (
        "No Spotify streaming history found (the upload contains " + names + more + "). "
        'Upload the zip from Spotify\'s "Download your data" page, or the '
        "Streaming_History_Audio_*.json / StreamingHistory_music_*.json files inside it."
    )
