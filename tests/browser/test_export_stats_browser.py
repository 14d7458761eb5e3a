"""The Listening and Podcasts pages and the gap notice in Chromium, on a desktop and a phone:
no script, no sideways scrolling, the charts drawn; screenshots in test-artifacts/."""

from __future__ import annotations

import datetime as dt
import random

from models.schema.tables import SyncGap, User
from tests.browser.pages import console_errors, log_in
from tests.export_world import build


def test_listening_podcasts_and_gaps_on_a_desktop_and_a_phone(live_app, browser, screenshot):
    page = browser.new_page()
    problems = console_errors(page, live_app)
    log_in(page, live_app)
    user = User.select().where(User.is_admin == False).get()  # noqa: E712 (SQL)
    build(random.Random(11), user)
    SyncGap.create(
        user=user, gap_start=dt.datetime(2026, 11, 1, 8), gap_end=dt.datetime(2026, 11, 1, 20)
    )

    page.goto(live_app.url + "/listening")
    assert page.inner_text("#skip-rate").endswith("%")
    assert "covers" in page.inner_text("#coverage")
    assert page.locator("#devices svg rect.bar").count() > 0
    screenshot(page, "20-listening")
    page.goto(live_app.url + "/podcasts")
    assert page.locator("#top-shows tbody tr").count() > 0
    assert "Kept apart from your music" in page.inner_text("main")
    screenshot(page, "21-podcasts")
    page.goto(live_app.url + "/dashboard?range=all")
    assert "Spotify showed only the last 50 of your plays between" in page.inner_text("#gap-notice")
    page.click("#gap-notice a.button")
    page.wait_for_url("**/account/import")
    screenshot(page, "22-gap-notice-leads-to-import")

    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (("/listening", "23-phone-listening"), ("/podcasts", "24-phone-podcasts")):
        page.goto(live_app.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone"
        screenshot(page, name)
    page.goto(live_app.url + "/account")
    assert page.locator("#account-gaps li").count() == 1
    screenshot(page, "25-phone-account-gaps")
    assert problems == []


def test_without_an_export_the_pages_say_what_one_brings(live_app, browser, screenshot):
    page = browser.new_page()
    log_in(page, live_app, listener_index=1)
    for path, name in (("/listening", "26-listening-empty"), ("/podcasts", "27-podcasts-empty")):
        page.goto(live_app.url + path)
        assert "No export covers this period" in page.inner_text("#empty-state")
        screenshot(page, name)
