"""A small run of bench/etl_calls.py: the ETL makes exactly the fewest calls, in both modes."""

from __future__ import annotations

import importlib

import pytest


def load_bench():
    return importlib.import_module("bench.etl_calls")


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_calls_equal_the_lower_bound(db, fresh_sandbox, make_settings, mode):
    bench = load_bench()
    settings = make_settings(DATABASE_URL=db.url, **fresh_sandbox.env())
    figures = bench.measure(
        settings, fresh_sandbox, bench.run_hours(days=1, every=6), mode, listeners=5
    )
    assert figures.notes == []  # every run succeeded, every visible play was stored
    assert figures.plays > 5 * 50
    assert {e: figures.calls[e] for e in bench.ENDPOINTS if figures.calls[e]} == {
        e: figures.bound[e] for e in bench.ENDPOINTS if figures.bound[e]
    }
    assert figures.ratio == 1.0 and figures.rate_limited == 0
    if mode == "development":
        assert figures.calls["artist"] > 0 and figures.calls["audio_features"] == 1
    else:
        assert figures.calls["artist"] == 0 and figures.calls["artists"] > 0
