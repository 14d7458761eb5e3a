"""Charts, album pages and exclusions in a real browser, on a desktop and on a phone: log in
through the sandbox, sync two weeks, walk the weekly charts (previous week and back), open an
album from the dashboard, exclude an artist on its page and see it leave the charts."""

from __future__ import annotations

import pytest

from models.schema.tables import User
from tests.browser.pages import console_errors, log_in
from tests.browser.test_browser_web import sandbox_now, sync_days  # noqa: F401 (a fixture)
from tests.workertools import run_worker_until_idle

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_charts_albums_and_exclusions(live_app, sandbox_now, browser, screenshot):  # noqa: F811
    page = browser.new_page()
    problems = console_errors(page, live_app)
    log_in(page, live_app)
    page.goto(live_app.url + "/charts")
    assert page.locator("#charts-empty").count() == 1  # a new listener: when charts appear
    screenshot(page, "11-charts-empty")

    sync_days(live_app, sandbox_now, days=14)
    page.goto(live_app.url + "/charts")
    assert page.locator("#chart-tracks li").count() > 0
    this_week = page.inner_text("#chart-week")
    screenshot(page, "12-charts")
    page.click("a[rel=prev]")
    page.wait_for_url("**/charts?week=**")
    assert page.inner_text("#chart-week") != this_week
    assert page.locator("#chart-artists li").count() > 0

    page.goto(live_app.url + "/dashboard?range=7d")
    assert page.locator("#top-tracks .move").count() > 0  # against the 7 days before
    page.locator("#top-albums li a").first.click()
    page.wait_for_url("**/albums/**")
    assert int(page.inner_text("#detail-plays")) >= 1
    assert page.locator("#album-tracks tr").count() >= 1
    assert page.locator("#rank-history").count() == 1
    screenshot(page, "13-album")

    page.goto(live_app.url + "/charts")
    top_artist = page.locator("#chart-artists li a").first
    name = top_artist.inner_text()
    top_artist.click()
    page.wait_for_url("**/artists/**")
    assert page.locator("svg.chart .rank-dot").count() >= 1
    screenshot(page, "14-artist-rank-history")
    page.click("#exclude button")
    page.wait_for_url("**/account#exclusions")
    assert page.locator("#recomputing").count() == 1
    assert name in page.inner_text("#exclusion-list")
    screenshot(page, "15-account-exclusions")
    run_worker_until_idle(live_app.settings)
    page.goto(live_app.url + "/charts")
    assert name not in page.inner_text("main")  # nor any track crediting them

    page.set_viewport_size({"width": 390, "height": 844})
    for path, shot in (("/charts", "16-phone-charts"), ("/account", "17-phone-account")):
        page.goto(live_app.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone"
        screenshot(page, shot)
    assert User.select().where(User.is_admin == False).count() == 1  # noqa: E712
    assert problems == []
