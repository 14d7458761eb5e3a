"""The web app in a real browser: log in through the sandbox's authorize page, run the ETL,
read the dashboard, change the period, open a track page, and use it on a phone."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def log_in(page, live_app, listener_name: str | None = None):
    """Landing page → Spotify's (sandbox) authorize page → approve → back in the app."""
    page.goto(live_app.url + "/")
    page.click("#login")
    page.wait_for_url("**/authorize?**")
    if listener_name:
        page.select_option("#listener", label=listener_name)
    page.click("#approve")
    page.wait_for_url(live_app.url + "/**")


def test_a_new_user_logs_in_and_is_told_when_plays_arrive(live_app, browser, screenshot):
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    log_in(page, live_app)
    assert page.url == live_app.url + "/dashboard"
    welcome = page.inner_text("#welcome")
    assert "There are no plays stored for you yet" in welcome
    assert "The next collection runs at about" in welcome
    screenshot(page, "welcome")
    assert errors == []  # nothing blocked by the Content-Security-Policy


def test_denying_access_at_spotify_shows_a_friendly_page(live_app, browser):
    page = browser.new_page()
    page.goto(live_app.url + "/")
    page.click("#login")
    page.wait_for_url("**/authorize?**")
    page.click("#deny")
    page.wait_for_url(live_app.url + "/**")
    assert "You chose not to give Spotify Tracker access" in page.inner_text("#login-failed")
