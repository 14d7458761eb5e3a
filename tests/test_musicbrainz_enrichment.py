"""The MusicBrainz enrichment against the sandbox MusicBrainz over HTTP, on both engines: what
it matches is what the sandbox world says a correct matcher can match, and nothing it says a
matcher must leave alone; reruns ask nothing; faults defer or fail one entity, never the run."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from models import stats
from models.enrich import run as enrichment
from models.enrich.store import backoff
from models.ingest.etl import Run
from models.periods import parse_period
from models.schema.tables import (
    AlbumEnrichment,
    ArtistEnrichment,
    EtlLog,
    MusicBrainzArtistGenre,
    Track,
    TrackEnrichment,
)
from musicbrainz.client import MusicBrainzClient
from musicbrainz.sandbox.testing import MusicBrainzSandbox
from musicbrainz.sandbox.world import mbid
from tests.factories import make_user
from tests.musicbrainz_support import RATE_WINDOW, load_catalogue, mb_client, tracks_of_every_kind

HOUR = dt.datetime(2026, 11, 20, 12)


@pytest.fixture(scope="module")
def mb_sandbox():
    with MusicBrainzSandbox(rate_window=RATE_WINDOW) as sandbox:
        yield sandbox


@pytest.fixture
def mb(mb_sandbox):
    mb_sandbox.reset()
    return mb_sandbox


@pytest.fixture
def catalogue(db, mb):
    """A listener who played tracks of every kind the world has (a few of each)."""
    user = make_user()
    ids = load_catalogue(mb.world, tracks_of_every_kind(mb.world, 4), user)
    return user, ids


def run_step(settings, mb, hour=HOUR, **options):
    client = options.pop("client", None) or mb_client(mb)
    return enrichment.enrich(Run(settings, hour), client=client, **options)


def verdicts(model, key) -> dict:
    return {getattr(row, key + "_id"): row for row in model.select()}


def test_matches_exactly_what_the_world_makes_reachable(settings, mb, catalogue):
    _, track_ids = catalogue
    outcome = run_step(settings, mb)
    assert outcome.status == "done", outcome.error
    expected = mb.world.expected_matches()
    kinds = {expected.track_kinds[t] for t in track_ids}
    assert {"isrc", "name", "absent", "isrc+live", "isrc+credit", "isrc-twins", "homonym"} <= kinds

    tracks = verdicts(TrackEnrichment, "track")
    assert set(tracks) == set(track_ids)  # every played track looked at
    for track_id in track_ids:
        row, want = tracks[track_id], expected.tracks[track_id]
        kind = expected.track_kinds[track_id]
        assert (row.mbid if row.state == "matched" else None) == want, (kind, row.note)
        if kind in ("isrc-twins", "homonym"):
            assert row.state == "ambiguous", kind
    recordings = {r.id: r for r in mb.world.recordings.values()}
    for row in tracks.values():
        if row.state == "matched":
            assert row.release_year == int(recordings[row.mbid].first_release_date[:4])

    # the world's artists reached from this catalogue: credited on one of its matched
    # recordings, or linked from their Spotify URL
    credited = {
        a for t in track_ids if expected.tracks[t] for a in recordings[expected.tracks[t]].artists
    }
    artists = verdicts(ArtistEnrichment, "artist")
    assert len(artists) == ArtistEnrichment.select().count() > 10
    for artist_id, row in artists.items():
        key = mbid("artist", artist_id)
        want = key if key in credited or mb.world.artists[key].spotify_url else None
        assert (row.mbid if row.state == "matched" else None) == want, (row.state, row.note)
        if want:
            assert row.details_fetched
    genres: dict = {}
    for row in MusicBrainzArtistGenre.select():
        genres.setdefault(row.artist_id, []).append((row.name, row.votes))
    for artist_id, row in artists.items():
        if row.state == "matched":
            want = sorted(expected.artist_genres[artist_id], key=lambda g: (-g[1], g[0]))
            assert sorted(genres.get(artist_id, []), key=lambda g: (-g[1], g[0])) == want

    # an album is matched when one of this catalogue's tracks on it is
    reached_albums = {Track.get_by_id(t).album_id for t in track_ids if expected.tracks[t]}
    albums = verdicts(AlbumEnrichment, "album")
    assert len(albums) > 5
    for album_id, row in albums.items():
        want = expected.albums[album_id] if album_id in reached_albums else None
        assert (row.mbid if row.state == "matched" else None) == want, (row.state, row.note)
        assert row.release_year == (expected.album_years[album_id] if want else None)

    logged = EtlLog.get(EtlLog.step == "musicbrainz")
    served = {k.removeprefix("search:"): v for k, v in mb.calls()["calls"].items()}
    assert logged.api_calls_data == {f"musicbrainz.{k}": v for k, v in served.items()}
    assert logged.outcomes_data["track.matched"] == sum(1 for t in track_ids if expected.tracks[t])


def test_a_rerun_asks_nothing_for_what_is_known_and_retries_later_with_backoff(
    settings, mb, catalogue
):
    run_step(settings, mb)
    calls = mb.calls()["calls"]
    again = run_step(settings, mb, hour=HOUR + dt.timedelta(hours=1))
    assert mb.calls()["calls"] == calls and again.calls == {}
    unmatched = TrackEnrichment.select().where(TrackEnrichment.state != "matched").first()
    assert unmatched.next_try_at == HOUR + backoff(1)
    # a day later the unmatched are asked again, and wait longer after that
    run_step(settings, mb, hour=HOUR + backoff(1))
    assert mb.calls()["calls"] != calls
    unmatched = TrackEnrichment.get_by_id(unmatched.track_id)
    assert unmatched.attempts == 2
    assert unmatched.next_try_at == HOUR + backoff(1) + backoff(2) > HOUR + 2 * backoff(1)


class Killed(BaseException):
    """The process dying: not an ``Exception``, so the step's own handler does not see it, and
    the transaction it interrupts rolls back as a killed connection's would."""


class DyingClient(MusicBrainzClient):
    """A client whose process is killed just before its ``dies_at``-th request (requests as the
    enrichment asks them: a paced retry inside one, on a loaded machine, is not another)."""

    def __init__(self, dies_at: float = float("inf"), **options):
        super().__init__(**options)
        self.dies_at = dies_at
        self.requests = 0

    def get(self, endpoint, path, params):
        if self.requests + 1 >= self.dies_at:
            raise Killed(f"killed before request {self.dies_at}")
        self.requests += 1
        return super().get(endpoint, path, params)


def _enrichment_state() -> dict:
    """Every row the enrichment writes (the genre list without its fetch time), and the track
    facts it keeps."""
    from models.schema.tables import MusicBrainzGenreName, TrackFacts

    rows = {
        model.__name__: sorted(model.select().tuples(), key=repr)
        for model in (TrackEnrichment, ArtistEnrichment, AlbumEnrichment, MusicBrainzArtistGenre)
    }
    rows["genre names"] = sorted(name for (name,) in MusicBrainzGenreName.select(
        MusicBrainzGenreName.name).tuples())  # fmt: skip
    rows["TrackFacts"] = sorted(TrackFacts.select().tuples(), key=repr)
    return rows


def _forget_the_enrichment() -> None:
    from models.schema.tables import ENRICHMENT_TABLES
    from models.summaries import track_facts

    for model in ENRICHMENT_TABLES:
        model.delete().execute()
    track_facts.rebuild()


def test_a_run_killed_between_batches_and_run_again_ends_with_everything_once(
    settings, mb, catalogue
):
    """Killed before its first, a middle and its last request (after the batches before it
    committed, inside the transaction of none), the step run again for the same hour ends with
    exactly the rows of a run never interrupted: nothing missing, nothing twice, and the
    rerun asks nothing the killed run had stored (killed before its last request, the rerun
    makes a few requests, not the run's)."""
    reference_client = mb_client(mb, DyingClient)  # never dies: counts its requests
    assert run_step(settings, mb, client=reference_client).status == "done"
    calls = reference_client.requests
    assert calls >= 6  # ISRC batches, name searches, artists, their details, albums
    reference = _enrichment_state()
    assert reference["TrackEnrichment"] and reference["MusicBrainzArtistGenre"]
    for dies_at in (1, calls // 2, calls):
        _forget_the_enrichment()
        mb.reset()
        dying = mb_client(mb, DyingClient, dies_at=dies_at)
        with pytest.raises(Killed):
            run_step(settings, mb, client=dying)
        stored = sum(len(rows) for rows in _enrichment_state().values())
        rerun = mb_client(mb, DyingClient)
        assert run_step(settings, mb, client=rerun).status == "done"
        assert _enrichment_state() == reference, dies_at
        # what the killed run committed is not asked again (name searches are stored every
        # SEARCHES_PER_STORE, so a kill loses at most that many)
        asked = rerun.requests
        assert asked <= calls - (1 if dies_at > 1 else 0), (dies_at, stored, asked)
        assert dies_at < calls or asked < calls // 2, (dies_at, stored, asked)


def test_a_budget_spreads_the_backfill_most_played_first_and_the_next_run_goes_on(settings, mb, db):
    user = make_user()
    indexes = tracks_of_every_kind(mb.world, 3)
    track_ids = load_catalogue(mb.world, indexes, user, plays_of=lambda n: 1 + n % 7)
    first = run_step(settings, mb, budget=3)
    assert sum(first.calls.values()) <= 3 + 1  # the budget, crossed by at most the last call
    looked = judged()
    assert looked and looked != set(track_ids)
    # the ISRCs MusicBrainz does not know are remembered: the next runs search their names
    # without asking the ISRCs again
    waiting = set(track_ids) - looked
    assert waiting <= {row.track_id for row in TrackEnrichment.select()}
    # one ISRC call answered every ISRC MusicBrainz knows; the name searches went to the most
    # played of the rest
    plays = {t: 1 + n % 7 for n, t in enumerate(track_ids)}
    kinds = mb.world.track_kinds
    searched = {t for t in track_ids if kinds[t] in ("name", "absent", "homonym")}
    assert {t for t in track_ids if t not in searched} <= looked
    assert min(plays[t] for t in looked & searched) >= max(plays[t] for t in searched - looked)
    for _ in range(30):
        if run_step(settings, mb).calls == {}:
            break
    assert judged() == set(track_ids)
    searches = [
        entry for entry in mb.calls(endpoint="search:recording")["log"]
        if "isrc" in entry["query"].split("&")[0]
    ]  # fmt: skip
    assert len(searches) == 1  # the one ISRC search of the first run


def judged() -> set[str]:
    """Tracks with a verdict (not waiting for their name search)."""
    return {r.track_id for r in TrackEnrichment.select() if r.method != "byname"}


def test_busy_answers_and_timeouts_defer_and_the_next_run_completes(settings, mb, catalogue, db):
    mb.control(fail_next=5, fail_status=503, retry_after=120)
    deferred = run_step(settings, mb)
    assert deferred.status == "deferred" and "Retry-After" in deferred.error
    mb.control(fail_next=0, delay=0.5, delay_next=3)
    timed_out = run_step(settings, mb, client=mb_client(mb, timeout=0.2, retries=0))
    assert timed_out.status == "deferred" and "timed out" in timed_out.error
    mb.control(delay_next=0)
    assert run_step(settings, mb).status == "done"
    expected = mb.world.expected_matches()
    tracks = verdicts(TrackEnrichment, "track")
    assert {t: (r.mbid if r.state == "matched" else None) for t, r in tracks.items()} == {
        t: expected.tracks[t] for t in catalogue[1]
    }


def test_a_malformed_answer_fails_that_entity_and_the_run_goes_on(settings, mb, catalogue):
    mb.control(malformed_next=1, malformed="bad-entity")
    outcome = run_step(settings, mb)
    assert outcome.status == "done"
    failed = list(TrackEnrichment.select().where(TrackEnrichment.state == "failed"))
    assert len(failed) == 1 and "malformed" in failed[0].note
    assert outcome.outcomes["track.failed"] == 1 and outcome.outcomes["track.matched"] > 10


def test_development_mode_genres_come_from_musicbrainz_with_their_source(settings, mb, catalogue):
    user, _ = catalogue
    run_step(settings, mb)
    period = parse_period("all", tz="UTC", now=HOUR)
    genres = stats.top_genres(user.id, period, limit=50)
    assert genres and {g["source"] for g in genres} == {"musicbrainz"}
    names = {g["genre"] for g in genres}
    assert names <= mb.world.genre_names  # genres only, never a plain tag
    assert not names & {"seen live", "favorites", "awesome"}
    weak = {
        (row.artist_id, row.name)
        for row in MusicBrainzArtistGenre.select().where(MusicBrainzArtistGenre.votes < 2)
    }
    page = stats.genre_detail(user.id, period, "musicbrainz", genres[0]["genre"])
    assert page["plays"] == genres[0]["plays"] and page["artists"] and page["tracks"]
    assert not {(a["artist_id"], genres[0]["genre"]) for a in page["artists"]} & weak
    profile = stats.taste_profile(user.id, period)
    open_data = profile["open_data"]
    assert open_data["decades"] and open_data["countries"] and open_data["artist_types"]
    assert open_data["average_length_ms"] and open_data["explicit_share"] is not None
    assert json.dumps(open_data)  # JSON-ready for the API


def test_a_development_mode_listener_sees_musicbrainz_genres_end_to_end(
    db, fresh_sandbox, mb, make_settings, app, client, api
):
    """The hourly DAG (Luigi, both sandboxes over HTTP) for a development-mode app, which gets
    no genres from Spotify: the enrichment step runs after the artist step, and the profile,
    the top genres and a genre page, on the web and in the API, show MusicBrainz's genres."""
    from urllib.parse import quote

    import luigi

    from models.schema.tables import ArtistGenre
    from tests.etl_world import connect_listeners, naive, run_etl
    from tests.webtools import login_as

    fresh_sandbox.control(app_mode="development")
    settings = make_settings(DATABASE_URL=db.url, **fresh_sandbox.env(), **mb.env())
    (user,) = connect_listeners(fresh_sandbox, 1)
    result = run_etl(settings, naive(fresh_sandbox.now()))
    assert result.status == luigi.LuigiStatusCode.SUCCESS, result.summary_text
    assert ArtistGenre.select().count() == 0  # Spotify sent none
    step = EtlLog.get(EtlLog.step == "musicbrainz")
    assert step.status == "done" and step.outcomes_data["track.matched"] > 0
    assert all(agent.startswith("SpotifyTracker/") for agent in _agents(mb))

    login_as(client, user)
    listing = client.get("/genres?range=all")
    assert listing.status_code == 200
    api_genres = api.get("/me/genres?range=all", user).body["items"]
    assert api_genres and {g["source"] for g in api_genres} == {"musicbrainz"}
    first = api_genres[0]
    page = listing.get_data(as_text=True)
    assert first["genre"] in page and "MusicBrainz" in page and "CC BY-NC-SA" in page
    profile = api.get("/me/profile?range=all", user).body
    assert profile["genres"][0]["source"] == "musicbrainz"
    assert profile["features_status"] == "unavailable" and profile["open_data"]["decades"]
    profile_page = client.get("/profile?range=all").get_data(as_text=True)
    assert "From open data" in profile_page
    assert 'id="decades"' in profile_page and 'id="musicbrainz-attribution"' in profile_page
    query = f"source=musicbrainz&name={quote(first['genre'])}&range=all"
    detail = api.get(f"/me/genre?{query}", user).body
    assert detail["plays"] == first["plays"] and detail["artists"] and detail["tracks"]
    genre_page = client.get(f"/genre?{query}").get_data(as_text=True)
    assert detail["artists"][0]["name"] in genre_page
    assert api.get("/me/genre?source=musicbrainz&name=no-such-genre", user).status == 404


def _agents(mb) -> set[str]:
    return {entry["user_agent"] for entry in mb.calls()["log"]}


def test_the_admin_page_and_the_data_export_show_the_enrichment(
    settings, mb, catalogue, client, auth
):
    from models.accounts.export import iter_plays

    user, _ = catalogue
    run_step(settings, mb)
    auth.admin_login()
    page = client.get("/admin").get_data(as_text=True)
    assert 'id="enrichment"' in page and "track.matched" in page and "recording" in page
    matched = {r.track_id: r.mbid for r in TrackEnrichment.select() if r.state == "matched"}
    exported = {row["track_id"]: row["recording_mbid"] for row in iter_plays(user)}
    assert exported == {track_id: matched.get(track_id) for track_id in exported}
    assert any(exported.values()) and not all(exported.values())
