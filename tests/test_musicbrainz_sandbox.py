"""The sandbox MusicBrainz: its world agrees with the sandbox Spotify's, its answers keep ws/2's
shapes, and it enforces MusicBrainz's rules, over real HTTP.

The shapes are those of musicbrainz-server's own web-service tests
(``t/lib/t/MusicBrainz/Server/Controller/WS/2/JSON/Lookup*.pm``, ``GenreList.pm``) and of the
search server's documents (metabrainz/sir ``wscompat/convert.py``): the key sets below are
theirs, so a sandbox answer drifting from MusicBrainz's fails here.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from musicbrainz.sandbox.world import (
    ABSENT,
    HOMONYM,
    ISRC,
    ISRC_LIVE,
    ISRC_OTHER_CREDIT,
    ISRC_TWINS,
    NAME_ONLY,
    mbid,
)

REPO = Path(__file__).resolve().parent.parent
AGENT = {"User-Agent": "SpotifyTrackerTests/1.0 ( tests@example.test )"}
# musicbrainz-server's LookupArtist / BrowseArtists expectations (no inc)
ARTIST_KEYS = {
    "id", "name", "sort-name", "disambiguation", "type", "type-id", "country", "area",
    "begin-area", "end-area", "life-span", "gender", "gender-id", "ipis", "isnis",
}  # fmt: skip
RECORDING_KEYS = {"id", "title", "length", "disambiguation", "video", "first-release-date"}
RELATION_KEYS = {
    "attribute-ids", "attribute-values", "attributes", "begin", "direction", "end", "ended",
    "source-credit", "target-credit", "target-type", "type", "type-id",
}  # fmt: skip
RELATED_ARTIST_KEYS = {"id", "name", "sort-name", "disambiguation", "country", "type", "type-id"}
RELEASE_GROUP_KEYS = {
    "id", "title", "primary-type", "primary-type-id", "secondary-types", "secondary-type-ids",
    "first-release-date", "disambiguation",
}  # fmt: skip


def ws(sandbox, path: str, headers=AGENT, **params) -> requests.Response:
    params.setdefault("fmt", "json")
    return requests.get(f"{sandbox.base_url}{path}", params=params, headers=headers, timeout=30)


@pytest.fixture
def mb(fresh_musicbrainz):
    """The sandbox without its rate rule (tests of the rule switch it back on)."""
    fresh_musicbrainz.control(enforce_rate=False)
    return fresh_musicbrainz


# -- the world -----------------------------------------------------------------------------------
def test_every_spotify_entity_has_an_mbid_and_recordings_carry_the_isrcs(musicbrainz_sandbox):
    world = musicbrainz_sandbox.world
    spotify = world.spotify
    assert all(mbid("artist", a.id) in world.artists for a in spotify.artists)
    assert all(mbid("release-group", a.id) in world.release_groups for a in spotify.albums)
    kinds = world.track_kinds
    for track in spotify.tracks:
        recording = world.recordings.get(mbid("recording", track.id))
        if kinds[track.id] == ABSENT:
            assert recording is None
            continue
        assert recording is not None and recording.title == track.name
        assert abs(recording.length - track.duration_ms) <= 4_000
        carries = kinds[track.id] in (ISRC, ISRC_LIVE, ISRC_OTHER_CREDIT, ISRC_TWINS)
        assert recording.isrcs == ((track.isrc,) if carries else ())


def test_the_world_has_what_real_data_has(musicbrainz_sandbox):
    world = musicbrainz_sandbox.world
    spotify = world.spotify
    kinds = list(world.track_kinds.values())
    for kind in (ISRC, NAME_ONLY, ABSENT, ISRC_LIVE, ISRC_OTHER_CREDIT, ISRC_TWINS, HOMONYM):
        assert kinds.count(kind) >= 2, kind
    # one ISRC on several recordings; one ISRC Spotify gives two tracks, unknown to MusicBrainz
    assert any(len(keys) > 1 for keys in world.recordings_by_isrc.values())
    shared = {}
    for track in spotify.tracks:
        shared.setdefault(track.isrc, []).append(track)
    twice = [tracks for tracks in shared.values() if len(tracks) > 1]
    assert twice and all(t.isrc not in world.recordings_by_isrc for ts in twice for t in ts)
    # two artists with one name, told apart by a disambiguation
    names: dict[str, list] = {}
    for artist in world.artists.values():
        names.setdefault(artist.name, []).append(artist)
    homonyms = [
        g for g in names.values() if len(g) > 1 and any(not a.spotify_id for a in g)
        and any(a.spotify_id for a in g)
    ]  # fmt: skip
    assert len(homonyms) >= 2 and all(any(a.disambiguation for a in g) for g in homonyms)
    # genres, tags without genres, nothing at all
    genre_names = world.genre_names
    profiles = [
        (bool(world.genres_of(a.tags)), bool(a.tags))
        for a in world.artists.values()
        if a.spotify_id
    ]
    assert {(True, True), (False, True), (False, False)} <= set(profiles)
    assert any(count == 1 for a in world.artists.values() for name, count in a.tags)
    assert {"seen live"} <= {n for a in world.artists.values() for n, _ in a.tags} - genre_names
    # lengths a few seconds off, reissues older than Spotify's date, types and countries
    assert any(
        r.spotify_id and r.length != spotify.track_by_id[r.spotify_id].duration_ms
        for r in world.recordings.values()
    )
    assert any(
        g.spotify_id
        and g.first_release_date[:4] < spotify.album_by_id[g.spotify_id].release_date[:4]
        for g in world.release_groups.values()
    )
    assert {a.type for a in world.artists.values()} >= {"Person", "Group", None}
    assert None in {a.country for a in world.artists.values()}


def test_expected_matches_follow_the_documented_rule(musicbrainz_sandbox):
    world = musicbrainz_sandbox.world
    spotify = world.spotify
    expected = world.expected_matches()
    for track in spotify.tracks:
        kind, found = expected.track_kinds[track.id], expected.tracks[track.id]
        if kind in (ISRC, ISRC_LIVE, ISRC_OTHER_CREDIT):
            assert found == mbid("recording", track.id)
        elif kind in (ABSENT, ISRC_TWINS, HOMONYM, "name-ambiguous"):
            assert found is None, kind
        else:
            assert kind == NAME_ONLY and found == mbid("recording", track.id)
    matched_albums = {spotify.tracks[t].album for t in range(len(spotify.tracks))
                      if expected.tracks[spotify.tracks[t].id]}  # fmt: skip
    for album in spotify.albums:
        if album.index in matched_albums:
            group = world.release_groups[mbid("release-group", album.id)]
            assert expected.albums[album.id] == group.id
            assert expected.album_years[album.id] == int(group.first_release_date[:4])
        else:
            assert expected.albums[album.id] is None
    reached = [a for a in spotify.artists if expected.artists[a.id]]
    assert 0 < len(reached) <= len(spotify.artists)
    assert all(
        expected.artist_genres[a.id] == world.genres_of(world.artists[mbid("artist", a.id)].tags)
        for a in reached
    )
    share = sum(1 for v in expected.tracks.values() if v) / len(expected.tracks)
    assert 0.7 < share < 0.95


def test_the_ground_truth_is_served_for_other_processes(mb):
    served = requests.get(f"{mb.url}/_sandbox/expected", timeout=30).json()
    expected = mb.world.expected_matches()
    assert served["tracks"] == expected.tracks and served["albums"] == expected.albums
    assert served["artist_genres"] == {
        key: [list(genre) for genre in genres] for key, genres in expected.artist_genres.items()
    }


def test_the_same_seed_gives_the_same_world():
    from musicbrainz.sandbox.state import make_state

    one, two = make_state(7, 40).world, make_state(7, 40).world
    assert one.recordings == two.recordings and one.artists == two.artists
    assert make_state(8, 40).world.recordings != one.recordings


# -- shapes ----------------------------------------------------------------------------------------
def test_artist_lookup_has_the_serializers_keys_and_inc_lists(mb):
    world = mb.world
    artist = next(a for a in world.artists.values() if world.genres_of(a.tags) and a.spotify_url)
    plain = ws(mb, f"artist/{artist.id}").json()
    assert set(plain) == ARTIST_KEYS
    assert set(plain["life-span"]) == {"begin", "end", "ended"}
    full = ws(mb, f"artist/{artist.id}", inc="genres+tags+url-rels").json()
    assert set(full) == ARTIST_KEYS | {"genres", "tags", "relations"}
    assert full["genres"] and all(
        set(g) == {"id", "name", "count", "disambiguation"} for g in full["genres"]
    )
    assert {g["name"] for g in full["genres"]} <= {t["name"] for t in full["tags"]}
    assert all(set(t) == {"name", "count"} for t in full["tags"])
    (link,) = full["relations"]
    assert link["url"]["resource"] == f"https://open.spotify.com/artist/{artist.spotify_id}"
    assert set(link) == RELATION_KEYS | {"url"}


def test_isrc_lookup_lists_every_recording_of_the_isrc(mb):
    world = mb.world
    isrc, keys = next((i, k) for i, k in world.recordings_by_isrc.items() if len(k) > 1)
    body = ws(mb, f"isrc/{isrc}").json()
    assert set(body) == {"isrc", "recordings"} and body["isrc"] == isrc
    assert {r["id"] for r in body["recordings"]} == set(keys)
    assert all(set(r) == RECORDING_KEYS for r in body["recordings"])
    with_credits = ws(mb, f"isrc/{isrc}", inc="artist-credits+releases").json()["recordings"][0]
    assert set(with_credits) == RECORDING_KEYS | {"artist-credit", "releases"}
    credit = with_credits["artist-credit"][0]
    assert set(credit) == {"name", "joinphrase", "artist"}
    assert set(credit["artist"]) == RELATED_ARTIST_KEYS
    unknown = ws(mb, "isrc/SBX999900001")
    assert unknown.status_code == 404 and unknown.json()["error"] == "Not Found"


def test_url_lookup_one_or_many_resources(mb):
    world = mb.world
    linked = [a for a in world.artists.values() if a.spotify_url][:2]
    urls = [f"https://open.spotify.com/artist/{a.spotify_id}" for a in linked]
    one = ws(mb, "url", resource=urls[0], inc="artist-rels").json()
    assert set(one) == {"id", "resource", "relations"} and one["resource"] == urls[0]
    (relation,) = one["relations"]
    assert set(relation) == RELATION_KEYS | {"artist"}
    assert relation["target-type"] == "artist" and relation["direction"] == "backward"
    assert set(relation["artist"]) == RELATED_ARTIST_KEYS
    assert relation["artist"]["id"] == linked[0].id
    nowhere = "https://open.spotify.com/artist/nobody"
    many = ws(mb, "url", resource=[*urls, nowhere], inc="artist-rels").json()
    assert set(many) == {"url-count", "url-offset", "urls"} and many["url-count"] == 2
    assert [u["resource"] for u in many["urls"]] == urls
    assert ws(mb, "url", resource=nowhere).status_code == 404
    none = ws(mb, "url", resource=[nowhere, nowhere + "2"], inc="artist-rels").json()
    assert none == {"url-count": 0, "url-offset": 0, "urls": []}


def test_release_group_and_release_lookups(mb):
    world = mb.world
    group = next(g for g in world.release_groups.values() if g.spotify_id)
    body = ws(mb, f"release-group/{group.id}", inc="artist-credits+releases+tags").json()
    assert set(body) == RELEASE_GROUP_KEYS | {"artist-credit", "releases", "tags"}
    assert body["first-release-date"] == group.first_release_date
    release = ws(mb, f"release/{group.releases[0]}", inc="recordings+release-groups").json()
    assert release["release-group"]["id"] == group.id
    tracks = release["media"][0]["tracks"]
    listed = world.releases[group.releases[0]].recordings
    assert [t["recording"]["id"] for t in tracks] == list(listed)


def test_genre_list_pages(mb):
    world = mb.world
    first = ws(mb, "genre/all", limit=10, offset=0).json()
    assert set(first) == {"genre-count", "genre-offset", "genres"}
    assert first["genre-count"] == len(world.genres) and len(first["genres"]) == 10
    assert all(set(g) == {"id", "name", "disambiguation"} for g in first["genres"])
    rest = ws(mb, "genre/all", limit=100, offset=10).json()["genres"]
    assert [g["name"] for g in first["genres"] + rest] == [name for _, name in world.genres]
    text = ws(mb, "genre/all", fmt="txt").text.split()
    assert "pop" in text


# -- search ----------------------------------------------------------------------------------------
def test_search_by_many_isrcs_pages_with_counts_and_scores(mb):
    world = mb.world
    isrcs = list(world.recordings_by_isrc)[:60]
    wanted = {k for i in isrcs for k in world.recordings_by_isrc[i]}
    query = f"isrc:({' OR '.join(isrcs)})"
    first = ws(mb, "recording", query=query, limit=40).json()
    assert set(first) == {"created", "count", "offset", "recordings"}
    assert first["count"] == len(wanted) and len(first["recordings"]) == 40
    second = ws(mb, "recording", query=query, limit=40, offset=40).json()
    assert {r["id"] for r in first["recordings"] + second["recordings"]} == wanted
    assert {r["score"] for r in first["recordings"]} == {100}
    hit = first["recordings"][0]
    assert {"id", "score", "title", "artist-credit", "isrcs"} <= set(hit) and "genres" not in hit
    if "releases" in hit:
        assert {"id", "primary-type"} <= set(hit["releases"][0]["release-group"])


def test_search_by_title_artist_and_duration(mb):
    world = mb.world
    spotify = world.spotify
    track = next(t for t in spotify.tracks if world.track_kinds[t.id] == NAME_ONLY)
    artist = spotify.artists[track.artists[0]].name
    low, high = track.duration_ms - 15_000, track.duration_ms + 15_000
    query = f'recording:"{track.name}" AND artist:"{artist}" AND dur:[{low} TO {high}]'
    hits = ws(mb, "recording", query=query).json()["recordings"]
    assert mbid("recording", track.id) in [h["id"] for h in hits]
    assert hits[0]["score"] == 100
    far = f'recording:"{track.name}" AND artist:"{artist}" AND dur:[{high + 1} TO {high + 9}]'
    assert ws(mb, "recording", query=far).json()["count"] == 0
    homonym = next(t for t in spotify.tracks if world.track_kinds[t.id] == HOMONYM)
    name = spotify.artists[homonym.artists[0]].name
    both = ws(mb, "recording", query=f'recording:"{homonym.name}" AND artist:"{name}"').json()
    credited = {r["artist-credit"][0]["artist"]["id"] for r in both["recordings"]}
    assert len(credited) >= 2  # two artists of one name: a names search cannot tell


def test_search_artists_and_release_groups_by_ids(mb):
    world = mb.world
    artists = list(world.artists)[:5]
    body = ws(mb, "artist", query=f"arid:({' OR '.join(artists)})", limit=100).json()
    assert {a["id"] for a in body["artists"]} == set(artists) and body["count"] == 5
    assert all("genres" not in a for a in body["artists"])
    tagged = [a for a in body["artists"] if world.artists[a["id"]].tags]
    assert all(set(t) == {"count", "name"} for a in tagged for t in a["tags"])
    groups = list(world.release_groups)[:3]
    found = ws(mb, "release-group", query=f"rgid:({' OR '.join(groups)})").json()
    assert {g["id"] for g in found["release-groups"]} == set(groups)
    assert all("first-release-date" in g for g in found["release-groups"])


def test_a_query_outside_the_subset_is_a_400(mb):
    for query in ("recording:tit*", "NOT artist:x", '"unterminated', "dur:[a TO b]"):
        response = ws(mb, "recording", query=query)
        assert response.status_code == 400, query
        assert response.json()["error"].startswith("Invalid query")


# -- rules -----------------------------------------------------------------------------------------
def test_no_or_a_generic_user_agent_is_refused(mb):
    artist = next(iter(mb.world.artists))
    for agent in ("", "python-requests/2.32.3", "curl/8.5.0"):
        response = ws(mb, f"artist/{artist}", headers={"User-Agent": agent})
        assert response.status_code == 403, agent
        assert "User-Agent" in response.json()["error"]
    assert ws(mb, f"artist/{artist}").status_code == 200


def test_invalid_and_unknown_mbids(mb):
    bad = ws(mb, "artist/not-an-mbid")
    assert (bad.status_code, bad.json()) == (400, {"error": "Invalid mbid."})
    unknown = ws(mb, "recording/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "Not Found",
        "help": "For usage, please see: https://musicbrainz.org/development/mmd",
    }


def test_json_needs_fmt_or_accept(mb):
    artist = next(iter(mb.world.artists))
    url = f"{mb.base_url}artist/{artist}"
    refused = requests.get(url, headers=AGENT, timeout=10)
    assert refused.status_code == 406 and "fmt=json" in refused.text
    accepted = requests.get(url, headers={**AGENT, "Accept": "application/json"}, timeout=10)
    assert accepted.status_code == 200 and accepted.json()["id"] == artist


def test_more_than_one_request_per_window_is_a_503(fresh_musicbrainz):
    mb = fresh_musicbrainz
    mb.control(rate_window=5.0)
    artist = next(iter(mb.world.artists))
    assert ws(mb, f"artist/{artist}").status_code == 200
    second = ws(mb, f"artist/{artist}")
    assert second.status_code == 503
    assert "exceeding the allowable rate limit" in second.json()["error"]
    statuses = [entry["status"] for entry in mb.calls("lookup:artist")["log"]]
    assert statuses == [200, 503]


# -- controls --------------------------------------------------------------------------------------
def test_faults_delays_and_malformed_answers_on_demand(mb):
    artist = next(iter(mb.world.artists))
    mb.control(fail_next=2, retry_after=7)
    first = ws(mb, f"artist/{artist}")
    assert first.status_code == 503 and first.headers["Retry-After"] == "7"
    mb.control(retry_after=None)
    assert "Retry-After" not in ws(mb, f"artist/{artist}").headers
    assert ws(mb, f"artist/{artist}").status_code == 200
    mb.control(delay=0.3, delay_next=1)
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{mb.base_url}artist/{artist}", params={"fmt": "json"}, headers=AGENT, timeout=0.1
        )
    time.sleep(0.3)  # the delayed answer is logged once the server has sent it
    mb.control(malformed_next=1, malformed="not-json")
    with pytest.raises(ValueError):
        ws(mb, f"artist/{artist}").json()
    assert ws(mb, f"artist/{artist}").json()["id"] == artist
    counted = mb.calls()
    assert counted["calls"]["lookup:artist"] == 6 and counted["statuses"]["503"] == 2
    log = counted["log"]
    assert [entry["status"] for entry in log] == [503, 503, 200, 200, 200, 200]
    assert all(entry["user_agent"] == AGENT["User-Agent"] for entry in log)
    assert log == sorted(log, key=lambda entry: entry["at"])


def test_unknown_knobs_are_refused(mb):
    response = requests.post(f"{mb.url}/_sandbox/control", json={"speed": 3}, timeout=5)
    assert response.status_code == 400 and "speed" in response.json()["error"]


# -- the command -----------------------------------------------------------------------------------
def test_one_command_starts_the_sandbox_and_prints_the_base_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "musicbrainz.sandbox", "--port", str(port), "--seed", "3",
         "--artists", "40"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = process.stdout.readline() + process.stdout.readline()
        assert f"MUSICBRAINZ_BASE_URL=http://127.0.0.1:{port}/ws/2/" in banner
        deadline = time.monotonic() + 20
        while True:
            try:
                body = requests.get(
                    f"http://127.0.0.1:{port}/ws/2/genre/all",
                    params={"fmt": "json", "limit": 5},
                    headers=AGENT,
                    timeout=2,
                ).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert body["genre-count"] > 50 and len(body["genres"]) == 5
        from musicbrainz.sandbox.state import make_state

        world = make_state(3, 40).world
        track = world.spotify.tracks[0]
        time.sleep(1.0)  # the command keeps MusicBrainz's one request per second
        found = requests.get(
            f"http://127.0.0.1:{port}/ws/2/recording/{mbid('recording', track.id)}",
            params={"fmt": "json"},
            headers=AGENT,
            timeout=5,
        )
        assert found.status_code == (404 if world.track_kinds[track.id] == ABSENT else 200)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
