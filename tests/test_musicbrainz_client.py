"""The MusicBrainz client against the sandbox MusicBrainz over real HTTP: batching (calls counted
by the sandbox), the error taxonomy, and pacing, in one process and across processes (measured
on the sandbox's own request log, with its rate window scaled down: no real seconds waited).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE

import pytest

from musicbrainz.client import MusicBrainzClient, spotify_artist_url
from musicbrainz.errors import Bug, GiveUp, RetryLater
from musicbrainz.pacing import LocalPacer
from musicbrainz.sandbox.world import HOMONYM, NAME_ONLY, mbid

REPO = Path(__file__).resolve().parent.parent
CONTACT = "https://tracker.example.test/contact"


class Sleeps:
    """Records what the client would sleep, sleeping only the short waits for real."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(min(seconds, 0.2))


def client_for(sandbox, **options) -> MusicBrainzClient:
    options.setdefault("interval", sandbox.client_interval)
    return MusicBrainzClient(contact=CONTACT, version="0.1.0", base_url=sandbox.base_url, **options)


@pytest.fixture
def mb(fresh_musicbrainz):
    return fresh_musicbrainz


# -- batching --------------------------------------------------------------------------------------
def test_recordings_by_isrcs_ask_100_per_call_and_tell_known_from_unknown(mb):
    world = mb.world
    tracks = world.spotify.tracks[:250]
    isrcs = list(dict.fromkeys(t.isrc for t in tracks))
    found = client_for(mb).recordings_by_isrcs([*isrcs, isrcs[0].lower()])
    known = {i for i in isrcs if i in world.recordings_by_isrc}
    assert set(found.found) == known and found.unknown == set(isrcs) - known and not found.failed
    for isrc, recordings in found.found.items():
        assert {r.id for r in recordings} == set(world.recordings_by_isrc[isrc])
    several = [r for r in found.found.values() if len(r) > 1]
    assert several  # one ISRC, several recordings: all of them come back
    results = [
        sum(len(world.recordings_by_isrc.get(i, ())) for i in isrcs[s : s + 100])
        for s in range(0, len(isrcs), 100)
    ]
    assert mb.answered() == {"search:recording": sum(max(1, math.ceil(n / 100)) for n in results)}
    assert len(isrcs) > 200 and mb.answered()["search:recording"] == 3


def test_more_results_than_a_page_are_followed_by_offset(mb):
    world = mb.world
    shared = [i for i, keys in world.recordings_by_isrc.items() if len(keys) > 1][:100]
    results = sum(len(world.recordings_by_isrc[i]) for i in shared)
    assert len(shared) == 100 and results >= 200
    found = client_for(mb).recordings_by_isrcs(shared)
    assert {i: {r.id for r in recs} for i, recs in found.found.items()} == {
        i: set(world.recordings_by_isrc[i]) for i in shared
    }
    assert mb.answered() == {"search:recording": math.ceil(results / 100)}
    offsets = [e["query"].split("offset=")[1].split("&")[0] for e in mb.calls()["log"]]
    assert offsets[:2] == ["0", "100"]


def test_a_recording_answer_carries_what_a_matcher_needs(mb):
    world = mb.world
    track = next(t for t in world.spotify.tracks if world.track_kinds[t.id] == "isrc")
    (recording,) = client_for(mb).recordings_by_isrcs([track.isrc]).found[track.isrc]
    assert recording.id == mbid("recording", track.id) and recording.title == track.name
    assert abs(recording.length_ms - track.duration_ms) <= 4_000
    assert recording.artist_ids == tuple(
        mbid("artist", world.spotify.artists[a].id) for a in track.artists
    )
    group = world.release_groups[mbid("release-group", world.spotify.albums[track.album].id)]
    assert group.id in [g.id for g in recording.release_groups]
    assert recording.first_release_year == int(group.first_release_date[:4])
    assert recording.score == 100 and recording.isrcs == (track.isrc,)


def test_artists_release_groups_and_urls_in_batches_of_100(mb):
    world = mb.world
    client = client_for(mb)
    artists = list(world.artists)[:150]
    found = client.artists_by_ids([*artists, "not-an-mbid"])
    assert set(found.found) == set(artists) and set(found.failed) == {"not-an-mbid"}
    sample = found.found[artists[0]]
    truth = world.artists[artists[0]]
    assert (sample.name, sample.type, sample.country) == (truth.name, truth.type, truth.country)
    assert [(t.name, t.count) for t in sample.tags] == list(truth.tags)
    assert sample.genres == ()  # search answers carry tags, never genres
    genre_names = [g.name for g in client.genres()]
    assert {t.name for t in sample.genre_tags(genre_names)} == {
        name for name, _ in world.genres_of(truth.tags)
    }
    groups = list(world.release_groups)[:120]
    assert set(client.release_groups_by_ids(groups).found) == set(groups)
    spotify_artists = world.spotify.artists[:150]
    urls = [spotify_artist_url(a.id) for a in spotify_artists]
    linked = client.artists_by_spotify_urls(urls)
    expected = {
        spotify_artist_url(a.id): mbid("artist", a.id)
        for a in spotify_artists
        if world.artists[mbid("artist", a.id)].spotify_url
    }
    assert {url: [a.id for a in got] for url, got in linked.found.items()} == {
        url: [key] for url, key in expected.items()
    }
    assert linked.unknown == set(urls) - set(expected)
    assert mb.answered() == {
        "search:artist": 2,
        "search:release-group": 2,
        "url": 2,
        "genre": 1,
    }


def test_one_url_asked_alone_known_or_not(mb):
    world = mb.world
    client = client_for(mb)
    linked = next(a for a in world.artists.values() if a.spotify_url)
    url = spotify_artist_url(linked.spotify_id)
    assert [a.id for a in client.artists_by_spotify_urls([url]).found[url]] == [linked.id]
    nobody = spotify_artist_url("nobody")
    assert client.artists_by_spotify_urls([nobody]).unknown == {nobody}


def test_search_by_names_finds_the_one_and_shows_the_homonyms(mb):
    world = mb.world
    spotify = world.spotify
    client = client_for(mb)
    track = next(t for t in spotify.tracks if world.track_kinds[t.id] == NAME_ONLY)
    hits = client.search_recordings(
        track.name, spotify.artists[track.artists[0]].name, track.duration_ms
    )
    assert mbid("recording", track.id) in [h.id for h in hits]
    twin = next(t for t in spotify.tracks if world.track_kinds[t.id] == HOMONYM)
    name = spotify.artists[twin.artists[0]].name
    candidates = client.search_recordings(twin.name, name, twin.duration_ms)
    same_title = [c for c in candidates if c.title == twin.name]
    assert len({c.artist_ids[0] for c in same_title}) == 2
    assert {c.artist_credits[0].artist_name for c in same_title} == {name}


def test_an_unusable_search_answer_gives_up_naming_the_query(mb):
    mb.control(malformed_next=1, malformed="not-json")
    with pytest.raises(GiveUp) as gave_up:
        client_for(mb).search_recordings('Odd "Title" (Live)', "Some - Artist", 200_000)
    assert gave_up.value.key.startswith('recording:"Odd \\"Title\\" \\(Live\\)"')
    assert "not JSON" in gave_up.value.reason
    # the escaped query is one the search understands (and finds nothing for)
    assert client_for(mb).search_recordings('Odd "Title" (Live)', "Some - Artist") == []


def test_the_user_agent_names_the_app_its_version_and_the_contact(mb):
    client_for(mb).genres()
    (entry,) = mb.calls()["log"]
    assert entry["user_agent"] == f"SpotifyTracker/0.1.0 ( {CONTACT} )"
    with pytest.raises(ValueError, match="contact"):
        MusicBrainzClient(contact=" ", version="0.1.0")


# -- errors ----------------------------------------------------------------------------------------
def test_503_without_retry_after_retries_briefly_then_defers(mb):
    sleeps = Sleeps()
    mb.control(fail_next=1)
    client = client_for(mb, sleep=sleeps, retries=1)
    assert client.genres()  # one 503, one short pause, then the answer
    assert len(sleeps.calls) >= 1 and max(sleeps.calls) <= client.max_wait
    mb.control(fail_next=5)
    before = datetime.now(UTC)
    with pytest.raises(RetryLater) as deferred:
        client_for(mb, sleep=Sleeps(), retries=1, defer=600).genres()
    assert deferred.value.status == 503
    assert before + timedelta(seconds=590) < deferred.value.until
    assert [e["status"] for e in mb.calls()["log"]][-2:] == [503, 503]


def test_a_long_retry_after_defers_at_once_and_holds_the_pacer(mb):
    sleeps = Sleeps()
    pacer = LocalPacer(mb.client_interval)
    mb.control(fail_next=1, retry_after=3600)
    client = client_for(mb, sleep=sleeps, pacer=pacer)
    before = datetime.now(UTC)
    with pytest.raises(RetryLater) as deferred:
        client.genres()
    until = deferred.value.until
    assert before + timedelta(seconds=3590) < until < before + timedelta(seconds=3610)
    assert all(s < 1 for s in sleeps.calls)  # never slept through it
    with pytest.raises(RetryLater):  # the pacer remembers: no request before then
        client.genres()
    assert len(mb.calls()["log"]) == 1


def test_a_short_retry_after_is_waited_and_the_call_completes(mb):
    mb.control(fail_next=1, retry_after=0.05)
    client = client_for(mb, sleep=Sleeps())
    assert client.genres()
    assert [e["status"] for e in mb.calls()["log"]] == [503, 200]


def test_a_timeout_defers(mb):
    mb.control(delay=0.5, delay_next=2)
    with pytest.raises(RetryLater) as deferred:
        client_for(mb, timeout=0.1, retries=1, sleep=Sleeps()).genres()
    assert deferred.value.status is None and "timed out" in deferred.value.message
    time.sleep(0.6)  # the delayed answers reach the log once sent: not into the next test's


def test_a_refused_user_agent_or_an_unexpected_4xx_is_a_bug(mb):
    for status in (403, 418):
        mb.control(fail_next=1, fail_status=status)
        with pytest.raises(Bug) as bug:
            client_for(mb).genres()
        assert bug.value.status == status


def test_a_malformed_answer_fails_its_entities_only(mb):
    world = mb.world
    artists = list(world.artists)[:150]
    mb.control(malformed_next=1, malformed="not-json")
    broken = client_for(mb).artists_by_ids(artists)
    assert set(broken.failed) == set(artists[:100])  # the first call's entities
    assert all("not JSON" in f.reason for f in broken.failed.values())
    assert set(broken.found) == set(artists[100:])
    mb.control(malformed_next=1, malformed="bad-entity")
    isrcs = [t.isrc for t in world.spotify.tracks[:100] if t.isrc in world.recordings_by_isrc]
    partial = client_for(mb).recordings_by_isrcs(isrcs)
    assert len(partial.failed) == 1 and len(partial.found) == len(isrcs) - 1
    (failure,) = partial.failed.values()
    assert "malformed" in failure.reason and failure.key in isrcs
    mb.control(malformed_next=1, malformed="bad-entity")
    artists = list(world.artists)[:5]  # the broken one cannot be told: none is "unknown"
    unsure = client_for(mb).artists_by_ids(artists)
    assert len(unsure.found) == 4 and len(unsure.failed) == 1 and not unsure.unknown
    assert "unreadable" in next(iter(unsure.failed.values())).reason
    mb.control(malformed_next=1, malformed="no-list")
    empty = client_for(mb).release_groups_by_ids(list(world.release_groups)[:3])
    assert len(empty.failed) == 3 and not empty.found and not empty.unknown


# -- pacing ----------------------------------------------------------------------------------------
def gaps(log: list[dict]) -> list[float]:
    times = [entry["at"] for entry in log]
    return [b - a for a, b in itertools.pairwise(times)]


def test_one_process_keeps_the_pace(mb):
    client = client_for(mb)
    for artist in list(mb.world.artists)[:12]:
        client.artists_by_ids([artist])
    log = mb.calls()["log"]
    assert [e["status"] for e in log] == [200] * 12
    assert min(gaps(log)) >= mb.rate_window * (1 - mb.rate_slack)
    assert log[-1]["at"] - log[0]["at"] >= 11 * mb.client_interval * 0.9


def test_a_process_woken_after_its_slot_books_another_instead_of_sending_late(mb):
    """A loaded machine wakes a sleeper late: sending then would land just before the next
    process's request.  The client books the next slot instead, and the sandbox sees its
    requests a full pace apart."""
    from musicbrainz.pacing import LocalPacer

    pacer = LocalPacer(mb.client_interval)
    booked = []
    reserve = pacer.reserve

    def counting(max_wait):
        booked.append(max_wait)
        return reserve(max_wait)

    pacer.reserve = counting  # type: ignore[method-assign]
    oversleep = iter([mb.client_interval])  # the first wait overshoots by a whole interval

    def late_sleep(seconds):
        time.sleep(seconds + next(oversleep, 0.0))

    client = client_for(mb, pacer=pacer, sleep=late_sleep)
    client.artists_by_ids([next(iter(mb.world.artists))])  # slot now: no sleep, on time
    client.artists_by_ids([list(mb.world.artists)[1]])  # slept past its slot: booked again
    assert len(booked) == 3
    log = mb.calls()["log"]
    assert [e["status"] for e in log] == [200, 200]
    assert min(gaps(log)) >= mb.client_interval * 0.9


CALLER = """
import sys
from models.schema.db import init
from models.schema.pacing import DatabasePacer
from musicbrainz.client import MusicBrainzClient
from musicbrainz.pacing import LocalPacer

url, base, interval, shared, start, *mbids = sys.argv[1:]
init(url)
pacer = DatabasePacer(interval=float(interval)) if shared == "db" else LocalPacer(float(interval))
client = MusicBrainzClient(contact="pacing@example.test", version="0.1.0", base_url=base,
                           pacer=pacer, retries=0)
import time
time.sleep(max(0.0, float(start) - time.time()))
refused = 0
for key in mbids:
    try:
        client.artists_by_ids([key])
    except Exception as exc:
        refused += 1
        print(repr(exc), file=sys.stderr)
print(refused)
"""


# Two processes on two loaded cores wake late now and then (tens of ms): the window is 1/20 of
# MusicBrainz's second and the sandbox forgives half a window of jitter between two arrivals;
# the average pace is checked on its own (MusicBrainz's rule is one request per second on
# average).
PACING_WINDOW = 0.05
PACING_INTERVAL = PACING_WINDOW * 1.5


def run_two_callers(mb, url: str, shared: str) -> tuple[list[dict], list]:
    keys = list(mb.world.artists)
    start = time.time() + 1.5  # both processes up and waiting: they really call at once
    commands = [
        [sys.executable, "-c", CALLER, url, mb.base_url, f"{PACING_INTERVAL}", shared, f"{start}",
         *keys[n * 12 : n * 12 + 12]]
        for n in range(2)
    ]  # fmt: skip
    processes = [
        subprocess.Popen(command, cwd=REPO, stdout=PIPE, stderr=PIPE, text=True)
        for command in commands
    ]
    refused = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        refused.append((int(out), err))
    return mb.calls(since=start - 0.1)["log"], refused


def test_two_processes_share_the_pace_through_the_database(db, fresh_musicbrainz):
    mb = fresh_musicbrainz
    mb.control(rate_window=PACING_WINDOW, rate_slack=0.5)
    log, refused = run_two_callers(mb, db.url, "db")
    assert refused == [(0, ""), (0, "")]
    assert [e["status"] for e in log] == [200] * 24
    assert len({e["query"] for e in log}) == 24
    assert min(gaps(log)) >= PACING_WINDOW * 0.5
    assert log[-1]["at"] - log[0]["at"] >= 23 * PACING_INTERVAL * 0.95


def test_two_processes_pacing_themselves_alone_go_over_the_rate(fresh_musicbrainz, tmp_path):
    """The counter-proof: the same two callers, each with only its own pacer, get 503s."""
    fresh_musicbrainz.control(rate_window=PACING_WINDOW, rate_slack=0.5)
    unused = f"sqlite:///{tmp_path / 'unused.db'}"  # LocalPacer: no database involved
    log, refused = run_two_callers(fresh_musicbrainz, unused, "local")
    assert 503 in [e["status"] for e in log] and sum(n for n, _ in refused) > 0


def test_the_database_pacer_books_slots_and_holds(db):
    from models.schema.pacing import DatabasePacer
    from models.schema.tables import RateLimit

    now = [1000.0]
    pacer = DatabasePacer(interval=1.0, clock=lambda: now[0])
    assert [pacer.reserve(5) for _ in range(3)] == [0.0, 1.0, 2.0]
    assert pacer.reserve(2.5) == 3.0  # too far: nothing booked
    assert pacer.reserve(5) == 3.0
    pacer.hold(2000.0)
    assert pacer.reserve(5) == 1000.0
    assert RateLimit.get_by_id("musicbrainz").next_at == 2000.0
    other = DatabasePacer("another-service", 1.0, clock=lambda: now[0])
    assert other.reserve(5) == 0.0
