"""A small run of bench/musicbrainz.py: the enrichment makes exactly the fewest calls and gives
a genre to every play the sandbox world makes reachable, and to no other."""

from __future__ import annotations

import importlib

import pytest

from musicbrainz.sandbox.testing import MusicBrainzSandbox
from tests.factories import make_user


@pytest.fixture(scope="module")
def small_world():
    bench = importlib.import_module("bench.musicbrainz")
    with MusicBrainzSandbox(artists=40, rate_window=bench.RATE_WINDOW) as sandbox:
        yield bench, sandbox


def test_calls_equal_the_lower_bound_and_coverage_is_complete(settings, small_world):
    bench, sandbox = small_world
    figures = bench.measure(settings, sandbox, make_user())
    assert figures.tracks > 500 and figures.plays > figures.tracks
    assert figures.calls == {**figures.bound, "name search": figures.name_searches_needed}
    assert figures.ratio == 1.0 and figures.name_searches_needed > 0
    assert figures.reachable_plays > 0 and figures.covered_plays == figures.reachable_plays
    assert figures.wrongly_matched_plays == 0 and figures.genre_on_genreless_plays == 0
    assert figures.matched_beyond_world_plays == 0  # the world weighs the ISRC evidence too
    assert any("ratio 1.00" in line for line in bench.report(figures))
