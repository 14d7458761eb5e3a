"""The sandbox MusicBrainz's state: the world and its search indexes, knobs, counters, the log.

One :class:`SandboxState` per server (``create_app(state)`` keeps it in the app's extensions);
the server is threaded, so views take ``state.lock`` around what they read and change together.
The rate rule uses real time, since it is about how fast requests really arrive.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields
from functools import cached_property

from flask import current_app

from musicbrainz.sandbox.search import SearchIndex
from musicbrainz.sandbox.world import MusicBrainzWorld
from spotify.sandbox.catalogue import World

EXTENSION = "musicbrainz_sandbox"
LOG_SIZE = 100_000
MALFORMED_KINDS = ("not-json", "bad-entity", "no-list")


@dataclass
class Knobs:
    """Everything ``POST /_sandbox/control`` changes; ``POST /_sandbox/reset`` restores them.

    ``rate_window``: MusicBrainz's rule, one request per window per source (seconds; a request
    arriving less than ``rate_window * (1 - rate_slack)`` after the last accepted one answers
    503; the slack absorbs the network's jitter). ``fail_next``: the next N ws/2 requests
    answer ``fail_status`` with ``Retry-After: retry_after`` when that is set. ``delay``:
    seconds to wait before answering each of the next ``delay_next`` requests (to provoke
    client timeouts). ``malformed_next``: the next N answers are ``malformed`` (``not-json``:
    a broken body; ``bad-entity``: the first entity of the answer loses its id; ``no-list``: a
    search answer without its list).
    """

    rate_window: float = 1.0
    rate_slack: float = 0.1
    enforce_rate: bool = True
    fail_next: int = 0
    fail_status: int = 503
    retry_after: float | None = None
    delay: float = 0.0
    delay_next: int = 0
    malformed_next: int = 0
    malformed: str = "not-json"

    def update(self, changes: dict) -> None:
        """Apply knob changes, all or nothing; unknown names or wrong kinds raise ValueError."""
        known = {f.name: f for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(sorted(unknown))}")
        defaults = Knobs()
        for name, value in changes.items():
            default = getattr(defaults, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if name == "retry_after":
                valid = value is None or (number and value >= 0)
            elif name == "malformed":
                valid = value in MALFORMED_KINDS
            elif isinstance(default, bool):
                valid = isinstance(value, bool)
            else:
                valid = number and value >= 0
            if not valid:
                raise ValueError(f"{name}={value!r} is not a valid value")
        for name, value in changes.items():
            setattr(self, name, value)


class SandboxState:
    """The whole mutable sandbox around one :class:`MusicBrainzWorld`."""

    def __init__(self, world: MusicBrainzWorld):
        self.world = world
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.knobs = Knobs()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.log: deque[dict] = deque(maxlen=LOG_SIZE)
        self.last_accepted = 0.0

    def control(self) -> dict:
        return asdict(self.knobs)

    def over_rate(self, now: float) -> bool:
        """True when this request comes too soon after the last accepted one (then it is
        refused and does not count as accepted); else it becomes the last accepted one."""
        knobs = self.knobs
        if knobs.enforce_rate and now - self.last_accepted < knobs.rate_window * (
            1 - knobs.rate_slack
        ):
            return True
        self.last_accepted = now
        return False

    def record(
        self, at: float, endpoint: str, path: str, query: str, status: int, agent: str
    ) -> None:
        """Count and log one answered request; ``at`` is when it arrived (epoch seconds)."""
        self.calls[endpoint] += 1
        self.statuses[str(status)] += 1
        self.log.append(
            {
                "at": at,
                "endpoint": endpoint,
                "path": path,
                "query": query,
                "status": status,
                "user_agent": agent,
            }
        )

    def warm(self) -> SandboxState:
        """Build the search indexes now: built inside a request, they would hold the
        interpreter long enough to bunch the requests queued behind it (a false 503)."""
        _ = self.recording_index, self.artist_index, self.release_group_index
        return self

    # -- search indexes, built on first use --------------------------------------------------------
    @cached_property
    def recording_index(self) -> SearchIndex:
        world = self.world
        index = SearchIndex(
            "recording",
            ("rid", "isrc", "arid", "rgid", "reid"),
            ("recording", "artist", "artistname", "creditname", "release", "releasegroup", "tag"),
            ("dur",),
        )
        for r in world.recordings.values():
            names = [world.artists[a].name for a in r.artists]
            groups = world.release_groups_of_recording[r.id]
            index.add(
                r.id,
                {
                    "rid": [r.id],
                    "isrc": list(r.isrcs),
                    "arid": list(r.artists),
                    "rgid": list(groups),
                    "reid": list(r.releases),
                    "recording": [r.title],
                    "artist": [*names, " ".join(names)],
                    "artistname": names,
                    "creditname": names,
                    "release": [world.releases[x].title for x in r.releases],
                    "releasegroup": [world.release_groups[g].title for g in groups],
                    "tag": [t for t, _ in r.tags],
                    "dur": [r.length],
                },
            )
        return index

    @cached_property
    def artist_index(self) -> SearchIndex:
        index = SearchIndex(
            "artist", ("arid", "country", "type"), ("artist", "sortname", "name", "tag")
        )
        for a in self.world.artists.values():
            index.add(
                a.id,
                {
                    "arid": [a.id],
                    "country": [a.country] if a.country else [],
                    "type": [a.type] if a.type else [],
                    "artist": [a.name],
                    "name": [a.name],
                    "sortname": [a.sort_name],
                    "tag": [t for t, _ in a.tags],
                },
            )
        return index

    @cached_property
    def release_group_index(self) -> SearchIndex:
        world = self.world
        index = SearchIndex(
            "releasegroup",
            ("rgid", "arid", "reid", "primarytype"),
            ("releasegroup", "artist", "release", "tag"),
        )
        for g in world.release_groups.values():
            index.add(
                g.id,
                {
                    "rgid": [g.id],
                    "arid": list(g.artists),
                    "reid": list(g.releases),
                    "primarytype": [g.primary_type] if g.primary_type else [],
                    "releasegroup": [g.title],
                    "artist": [world.artists[a].name for a in g.artists],
                    "release": [world.releases[r].title for r in g.releases],
                    "tag": [t for t, _ in g.tags],
                },
            )
        return index


def make_state(seed: int = 42, artists: int = 300) -> SandboxState:
    """The sandbox for the sandbox Spotify's world of ``seed`` (and its size in artists)."""
    return SandboxState(MusicBrainzWorld(World(seed, listeners=1, artists=artists)))


def current_state() -> SandboxState:
    return current_app.extensions[EXTENSION]
