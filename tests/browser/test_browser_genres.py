"""The genre pages and the open-data profile in a real browser, for a development-mode app
whose genres come from the sandbox MusicBrainz alone (ETL with enrichment on, then the pages
on a phone: no sideways scroll, no console errors, the attribution shown)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import luigi
import pytest

from musicbrainz.sandbox.testing import MusicBrainzSandbox
from tests.browser.pages import console_errors, log_in
from tests.etl_world import run_etl

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


@pytest.fixture
def mb():
    with MusicBrainzSandbox(rate_window=0.01) as sandbox:
        yield sandbox


def test_top_genres_a_genre_and_the_profile_on_a_phone(
    live_app, fresh_sandbox, mb, browser, screenshot
):
    fresh_sandbox.set_clock(dt.datetime.now(dt.UTC))
    fresh_sandbox.control(app_mode="development")
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    problems = console_errors(page, live_app)
    log_in(page, live_app, listener_index=2)
    enriching = dataclasses.replace(
        live_app.settings,
        musicbrainz_base_url=mb.base_url,
        musicbrainz_contact="https://tracker.example.test/contact",
        musicbrainz_enrichment=True,
        musicbrainz_min_interval=mb.client_interval,
    )
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    result = run_etl(enriching, hour)
    assert result.status == luigi.LuigiStatusCode.SUCCESS, result.summary_text

    page.goto(live_app.url + "/genres?range=all")
    rows = page.locator("#top-genres tbody tr")
    assert rows.count() > 0
    assert rows.first.locator(".source").inner_text() == "MusicBrainz"
    assert "Genres, release years and artist facts from MusicBrainz" in page.inner_text(
        "#musicbrainz-attribution"
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the genres page scrolls sideways on a phone"
    screenshot(page, "20-phone-genres")

    genre = rows.first.locator("a").inner_text()
    rows.first.locator("a").click()
    page.wait_for_url("**/genre?**")
    assert page.inner_text("#genre-name").startswith(genre)
    assert (
        page.locator("#genre-artists ~ table tr, section[aria-labelledby=genre-artists] tr").count()
        > 0
    )
    screenshot(page, "21-phone-genre")

    page.goto(live_app.url + "/profile?range=all")
    assert "Audio features are unavailable for this app" in page.inner_text("#features")
    assert page.locator("#open-data svg").count() >= 3  # decades, countries, types, lengths
    assert page.inner_text("#average-length")
    assert "MusicBrainz" in page.inner_text("#musicbrainz-attribution")
    screenshot(page, "22-phone-profile-open-data")
    assert problems == []
