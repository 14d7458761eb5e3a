"""Benchmark: the MusicBrainz enrichment's calls against their lower bound, and its coverage.

From an empty enrichment state, a listener's catalogue (the sandbox world of ``--artists``
artists: 3,000 give about 60k tracks, the size of bench/stats.py's heavy user) is enriched
against the sandbox MusicBrainz over HTTP, its rate window scaled down so that it does not take
the real quarter of an hour, run after run (each within the step's call budget) until a run
asks nothing.  It prints:

* the calls per endpoint, and their lower bound from MusicBrainz's documented per-call limits
  (100 ISRCs or MBIDs per search, 100 results per page, 100 URLs per lookup, 100 genres per
  page, one search per track MusicBrainz knows by names only)::

      ceil(ISRC results / 100 per chunk of 100 ISRCs) recording searches
      + one name search per track without an ISRC MusicBrainz knows
      + ceil(artists unresolved by credits / 100) URL lookups
      + ceil(matched artists / 100) artist searches
      + ceil(matched release groups / 100) release-group searches
      + ceil(genres / 100) genre-list pages

  and the ratio calls / bound (target 1.00), with the wall time at 1 request/s;
* the two parts of the target: the ISRC-known part (everything but the name searches: at most
  1,000 calls for a 1,000,000-play history's catalogue) and name-search calls per track that
  needs one (at most 1);
* coverage: the share of plays whose track ends with a genre, against the share the sandbox
  world makes reachable (its ground truth, with the genre rule's vote minimum), target 100%;
  plays matched to a recording that is not theirs (target 0), plays given a genre the world
  leaves genre-less (target 0), and plays the world's rule calls ambiguous that the
  enrichment matched to their own recording (target 0: the world's rule weighs the ISRC
  evidence a matcher may use, a candidate listing other ISRCs being another recording).

    python bench/musicbrainz.py                 # full size (60k tracks; several minutes)
    python bench/musicbrainz.py --artists 100   # the same code, small (the test suite)
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.enrich import run as enrichment
from models.ingest.catalogue import upsert_artists, upsert_tracks
from models.ingest.plays import store_plays
from models.schema.tables import (
    LEAD_POSITION,
    AlbumEnrichment,
    ArtistEnrichment,
    Track,
    TrackArtist,
    TrackEnrichment,
    TrackTotal,
    User,
)
from models.stats.sources import MUSICBRAINZ_MIN_VOTES
from musicbrainz.client import MusicBrainzClient
from musicbrainz.sandbox.testing import MusicBrainzSandbox
from spotify.sandbox.render import Renderer

BENCH_SECRET = "bench-secret-key-0123456789-abcdef"
RATE_WINDOW = 0.002  # the sandbox's window, scaled down from MusicBrainz's second
FIRST_PLAY = dt.datetime(2016, 1, 1)
NOW = dt.datetime(2026, 11, 26, 12)
PLAYS_TARGET = 1_000_000
ENDPOINTS = ("recording", "url", "artist", "release-group", "genre")


@dataclass
class Figures:
    tracks: int = 0
    plays: int = 0
    runs: int = 0
    calls: dict = field(default_factory=dict)
    bound: dict = field(default_factory=dict)
    name_searches_needed: int = 0
    covered_plays: int = 0
    reachable_plays: int = 0
    wrongly_matched_plays: int = 0  # matched to another track's recording (or none's)
    matched_beyond_world_plays: int = 0  # matched to their own recording on stronger evidence
    genre_on_genreless_plays: int = 0
    seconds: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls[endpoint] for endpoint in ENDPOINTS)

    @property
    def total_bound(self) -> int:
        return sum(self.bound.values())

    @property
    def ratio(self) -> float:
        return round(self.total_calls / self.total_bound, 2) if self.total_bound else 1.0

    @property
    def isrc_part(self) -> int:
        return self.total_calls - self.calls.get("name search", 0)


def load_history(sandbox: MusicBrainzSandbox, user: User, seed: int = 7) -> tuple[int, int]:
    """The whole world's catalogue as a development-mode app stores it (no Spotify genres),
    played by ``user`` with a skewed count per track; (tracks, plays)."""
    world = sandbox.world.spotify
    renderer = Renderer(world, "http://sandbox.invalid/", extended=False)
    upsert_tracks(renderer.track(track) for track in world.tracks)
    upsert_artists({**renderer.artist(a), "genres": []} for a in world.artists)
    rng = random.Random(seed)
    at, plays = FIRST_PLAY, []
    for track in world.tracks:
        for _ in range(1 + int(rng.paretovariate(1.5)) % 12):
            at += dt.timedelta(minutes=3)
            plays.append({"track_id": track.id, "played_at": at, "ms_played": 120_000})
    for start in range(0, len(plays), 50_000):
        store_plays(user.id, plays[start : start + 50_000], "import")
    return len(world.tracks), len(plays)


def enrich_until_done(settings, client: MusicBrainzClient, max_runs: int = 500) -> int:
    """Hourly runs, each within the step's budget, until one asks nothing; how many ran."""
    from models.ingest.etl import Run

    for n in range(max_runs):
        outcome = enrichment.enrich(Run(settings, NOW + dt.timedelta(hours=n)), client=client)
        if outcome.status != "done":
            raise RuntimeError(f"run {n}: {outcome.status}: {outcome.error}")
        if not outcome.calls:
            return n + 1
    raise RuntimeError(f"still calling after {max_runs} runs")


def lower_bound(sandbox: MusicBrainzSandbox, asked_isrcs: list[str]) -> tuple[dict, int]:
    """The fewest calls MusicBrainz's per-call limits allow for this catalogue (see the module's
    docstring), per endpoint, and the number of tracks needing a name search."""
    world = sandbox.world
    isrc_calls = 0
    for start in range(0, len(asked_isrcs), 100):
        results = sum(
            len(world.recordings_by_isrc.get(i, ())) for i in asked_isrcs[start : start + 100]
        )
        isrc_calls += max(1, math.ceil(results / 100))
    known = set(world.recordings_by_isrc)
    searches = sum(
        1
        for (isrc,) in Track.select(Track.isrc)
        .join(TrackTotal, on=(TrackTotal.track == Track.id))
        .tuples()
        if not isrc or isrc.strip().upper() not in known
    )
    matched_artists = ArtistEnrichment.select().where(ArtistEnrichment.mbid.is_null(False)).count()
    url_lookups = _artists_asked_by_url()
    groups = AlbumEnrichment.select().where(AlbumEnrichment.mbid.is_null(False)).count()
    bound = {
        "recording": isrc_calls + searches,
        "url": math.ceil(url_lookups / 100),
        "artist": math.ceil(matched_artists / 100),
        "release-group": math.ceil(groups / 100),
        "genre": math.ceil(len(world.genres) / 100),
    }
    return bound, searches


def _artists_asked_by_url() -> int:
    """Artists whose matched recordings' credits did not resolve them (asked by Spotify URL)."""
    from models.enrich.matching import MATCHED, match_artist
    from models.enrich.run import credit_evidence

    ids = [row[0] for row in ArtistEnrichment.select(ArtistEnrichment.artist).tuples()]
    evidence = credit_evidence(ids)
    return sum(1 for a in ids if match_artist(evidence.get(a, []), None)[0] != MATCHED)


def coverage(sandbox: MusicBrainzSandbox, user: User, figures: Figures) -> None:
    """Plays ending with a genre against those the world makes reachable (see the docstring)."""
    from models import stats
    from models.periods import parse_period
    from models.stats.sources import select_from, shown_genres

    expected = sandbox.world.expected_matches()
    world = sandbox.world.spotify
    lead_of = {t.id: world.artists[t.artists[0]].id for t in world.tracks}
    genre_ok = {
        artist_id
        for artist_id, genres in expected.artist_genres.items()
        if expected.artists.get(artist_id) and any(v >= MUSICBRAINZ_MIN_VOTES for _, v in genres)
    }
    plays = dict(
        TrackTotal.select(TrackTotal.track, TrackTotal.plays)
        .where(TrackTotal.user == user.id)
        .tuples()
    )
    matched = dict(
        TrackEnrichment.select(TrackEnrichment.track, TrackEnrichment.mbid)
        .where(TrackEnrichment.mbid.is_null(False))
        .tuples()
    )
    leads = dict(
        TrackArtist.select(TrackArtist.track, TrackArtist.artist)
        .where(TrackArtist.position == LEAD_POSITION)
        .tuples()
    )
    shown = shown_genres()  # the one genre rule the statistics read
    with_genre = {a for (a,) in select_from([shown], [shown.c.artist_id]).distinct().tuples()}
    for track_id, count in plays.items():
        lead = leads.get(track_id)
        if lead in with_genre:
            figures.covered_plays += count
        if lead_of[track_id] in genre_ok:
            figures.reachable_plays += count
        elif lead in with_genre:
            figures.genre_on_genreless_plays += count
        if track_id in matched and matched[track_id] != expected.tracks[track_id]:
            recording = sandbox.world.recordings.get(matched[track_id])
            if recording is not None and recording.spotify_id == track_id:
                # its own recording, which the world's rule calls ambiguous (the world's rule
                # weighs the ISRC evidence too, so none is expected)
                figures.matched_beyond_world_plays += count
            else:
                figures.wrongly_matched_plays += count
    all_time = parse_period("all", tz="UTC", now=NOW)
    assert stats.taste_profile(user.id, all_time)["genres"] is not None


def measure(settings, sandbox: MusicBrainzSandbox, user: User) -> Figures:
    """Load the history, enrich it to the end, count calls and coverage."""
    figures = Figures()
    figures.tracks, figures.plays = load_history(sandbox, user)
    sandbox.reset()
    client = MusicBrainzClient(
        contact="bench@example.test",
        version="bench",
        base_url=sandbox.base_url,
        interval=sandbox.client_interval,
        timeout=30.0,
    )
    asked = [
        isrc.strip().upper() for _, isrc, _ in enrichment.due_tracks(NOW) if isrc and isrc.strip()
    ]
    started = time.perf_counter()
    figures.runs = enrich_until_done(settings, client)
    figures.seconds = time.perf_counter() - started
    served = sandbox.calls()["calls"]
    figures.calls = {
        endpoint: served.get(f"search:{endpoint}", 0) + served.get(endpoint, 0)
        for endpoint in ENDPOINTS
    }
    figures.bound, figures.name_searches_needed = lower_bound(sandbox, sorted(dict.fromkeys(asked)))
    figures.calls["name search"] = sum(
        1
        for entry in sandbox.calls(endpoint="search:recording")["log"]
        if parse_qs(entry["query"]).get("query", [""])[0].startswith("recording:")
    )
    coverage(sandbox, user, figures)
    return figures


def report(figures: Figures) -> list[str]:
    share = lambda n: n / figures.plays if figures.plays else 0.0  # noqa: E731
    lines = [
        f"catalogue: {figures.tracks} tracks, {figures.plays} plays, enriched in "
        f"{figures.runs} runs ({figures.seconds:.1f} s against the scaled sandbox)",
    ]
    for endpoint in ENDPOINTS:
        lines.append(
            f"calls {endpoint:>14}: {figures.calls[endpoint]:6d}"
            f"   bound {figures.bound[endpoint]:6d}"
        )
    lines += [
        "bound = ceil(ISRC results / 100 per chunk of 100 ISRCs) + tracks without a known ISRC"
        " + ceil(artists unresolved by credits / 100) + ceil(matched artists / 100)"
        " + ceil(matched release groups / 100) + ceil(genres / 100)",
        f"calls {figures.total_calls}, lower bound {figures.total_bound}, ratio {figures.ratio:.2f}"
        " (target 1.00)",
        f"projected wall time at 1 request/s: {figures.total_calls / 60:.1f} min",
        f"ISRC-known part: {figures.isrc_part} calls (target <= 1000 for a 1,000,000-play history)",
        f"name searches: {figures.calls['name search']} for {figures.name_searches_needed} tracks"
        f" needing one: {figures.calls['name search'] / max(1, figures.name_searches_needed):.2f}"
        " per track (target <= 1)",
        f"coverage: {share(figures.covered_plays):.1%} of plays have a genre; the world makes "
        f"{share(figures.reachable_plays):.1%} reachable: "
        f"{figures.covered_plays / max(1, figures.reachable_plays):.1%} of it (target 100%)",
        f"plays matched to a recording not theirs: {figures.wrongly_matched_plays} (target 0); "
        f"plays with a genre the world leaves genre-less: {figures.genre_on_genreless_plays} "
        "(target 0)",
        f"plays the world's rule calls ambiguous, matched to their own recording: "
        f"{figures.matched_beyond_world_plays} (target 0)",
    ]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artists", type=int, default=3000, help="sandbox world size")
    args = parser.parse_args(argv)

    import settings as settings_module
    from models.migrate import router
    from models.schema import crypto
    from models.schema.db import connect_url, db

    crypto.configure(BENCH_SECRET)
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        database = connect_url(url)
        db.initialize(database)
        database.connect()
        router().run()
        settings = settings_module.load(
            {
                "SECRET_KEY": BENCH_SECRET,
                "CLIENT_ID": "bench",
                "CLIENT_SECRET": "bench",
                "DATABASE_URL": url,
                "DATA_DIR": workdir,
            }
        )
        print(f"building the sandbox world of {args.artists} artists...", flush=True)
        with MusicBrainzSandbox(artists=args.artists, rate_window=RATE_WINDOW) as sandbox:
            user = User.create(spotify_id="bench-listener")
            figures = measure(settings, sandbox, user)
        database.close()
    for line in report(figures):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
