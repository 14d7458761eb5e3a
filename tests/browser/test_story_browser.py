"""The listening story in a real browser: after a few days of hourly syncs, the story page's
streaks, calendar and sessions, the year in review with its image (shown, and downloaded as
PNG), both readable on a phone with nothing refused by the Content-Security-Policy."""

from __future__ import annotations

import datetime as dt

import pytest

from models import stats
from models.schema.tables import User
from tests.browser.pages import console_errors, log_in, sync_days

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_story_and_year_in_review_in_a_browser(live_app, fresh_sandbox, browser, screenshot):
    fresh_sandbox.set_clock(dt.datetime.now(dt.UTC))
    page = browser.new_page()
    problems = console_errors(page, live_app)
    log_in(page, live_app)
    page.goto(live_app.url + "/story")
    assert page.locator("#calendar-empty").is_visible()  # before the first sync
    screenshot(page, "20-story-empty")
    sync_days(live_app, fresh_sandbox, days=3)

    page.goto(live_app.url + "/story")
    listener = User.get(User.is_admin == False)  # noqa: E712 (peewee)
    expected = stats.streaks(listener.id, listener.timezone)["longest"]["days"]
    assert expected >= 3 and page.inner_text("#longest-streak").split()[0] == str(expected)
    assert page.locator("#calendar svg rect.cell:not(.none)").count() >= 2
    assert page.locator("#longest-sessions li").count() >= 1
    page.locator("#longest-sessions details summary").first.click()  # opens without JS
    assert page.locator("#longest-sessions details ol li").first.is_visible()
    screenshot(page, "21-story")

    page.goto(live_app.url + "/review")
    plays = int(page.inner_text("#review-plays").replace(",", ""))
    assert plays > 0
    image = page.locator("#review-image img")
    image.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('#review-image img').complete")
    assert image.evaluate("img => img.naturalWidth") == 1080  # the SVG loaded and drew
    screenshot(page, "22-review")
    with page.expect_download() as download:
        page.click("#download-png")
    assert download.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (("/story", "23-phone-story"), ("/review", "24-phone-review")):
        page.goto(live_app.url + path)
        assert no_sideways_scroll(page), f"{path} scrolls sideways on a phone"
        screenshot(page, name)
    assert problems == []
