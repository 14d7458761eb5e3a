"""The web app in a real browser: log in through the sandbox's authorize page, run the ETL,
read the dashboard, change the period, open a track page, and use it on a phone."""

from __future__ import annotations

import datetime as dt

import pytest

from models.schema.tables import Play, User
from tests.browser.pages import console_errors, log_in, sync_days

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


@pytest.fixture
def sandbox_now(fresh_sandbox):
    """The sandbox clock at the real time (pages count "the last 4 weeks" from now)."""
    fresh_sandbox.set_clock(dt.datetime.now(dt.UTC))
    return fresh_sandbox


def test_log_in_sync_and_read_the_dashboard(live_app, sandbox_now, browser, screenshot):
    page = browser.new_page()
    problems = console_errors(page, live_app)  # and failed loads:
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )

    log_in(page, live_app)
    assert page.url == live_app.url + "/dashboard"
    welcome = page.inner_text("#welcome")
    assert "There are no plays stored for you yet" in welcome
    assert "The next collection runs at about" in welcome
    screenshot(page, "01-welcome")

    sync_days(live_app, sandbox_now, days=14)
    user = User.get(User.is_admin == False)  # noqa: E712
    stored = Play.select().where(Play.user == user.id).count()
    assert stored > 0

    page.goto(live_app.url + "/dashboard?range=4w")
    assert page.inner_text("h1") == "Last 4 weeks"
    assert page.inner_text("#total-plays") == f"{stored:,}"

    page.click(".ranges >> text=Last 7 days")
    page.wait_for_url("**range=7d")
    assert page.inner_text("h1") == "Last 7 days"
    week = int(page.inner_text("#total-plays").replace(",", ""))
    assert 0 < week < stored
    assert "vs previous period" in page.inner_text("#totals")
    assert page.locator("#top-tracks li").count() == 10
    assert page.locator("svg.heatmap rect.cell:not(.none)").count() > 0
    screenshot(page, "02-dashboard")

    page.click(".ranges >> text=All time")
    page.wait_for_url("**range=all")
    assert page.inner_text("h1") == "All time"
    assert page.inner_text("#total-plays") == f"{stored:,}"

    first = page.locator("#top-tracks li a").first
    name = first.inner_text()
    first.click()
    page.wait_for_url("**/tracks/**")
    assert page.inner_text("#detail-name") == name
    assert int(page.inner_text("#detail-plays")) >= 1
    screenshot(page, "03-track")

    for path, name in (
        ("/tracks?sort=last", "06-tracks"),
        ("/profile", "07-profile"),
        ("/history", "08-history"),
        ("/account", "09-account"),
    ):
        page.goto(live_app.url + path)
        screenshot(page, name)
    assert page.locator("#spotify dd").first.inner_text().endswith("@sandbox.example")
    assert problems == []  # nothing blocked by the Content-Security-Policy, nothing missing


def test_on_a_phone_in_development_mode(live_app, sandbox_now, browser, screenshot):
    sandbox_now.control(app_mode="development")
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_app, listener_index=1)
    sync_days(live_app, sandbox_now, days=3)

    page.goto(live_app.url + "/dashboard?range=4w")
    assert int(page.inner_text("#total-plays").replace(",", "")) > 0
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the dashboard scrolls sideways on a phone"
    screenshot(page, "04-phone-dashboard")
    page.locator("#series-title").scroll_into_view_if_needed()
    screenshot(page, "04-phone-chart", full_page=False)

    page.goto(live_app.url + "/profile")
    assert "Audio features are unavailable for this app" in page.inner_text("#features")
    screenshot(page, "05-phone-profile")


def test_denying_access_then_the_admin_page(live_app, fresh_sandbox, browser, screenshot):
    page = browser.new_page()
    page.goto(live_app.url + "/")
    page.click("#login")
    page.wait_for_url("**/authorize?**")
    page.click("#deny")
    page.wait_for_url(live_app.url + "/**")
    assert "You chose not to give Spotify Tracker access" in page.inner_text("#login-failed")

    page.goto(live_app.url + "/auth/admin")
    page.fill("#email", live_app.settings.first_admin_email)
    page.fill("#password", live_app.settings.first_admin_password)
    page.click("#admin-login button")
    page.wait_for_url(live_app.url + "/admin")
    assert "No ETL run recorded yet" in page.inner_text("main")
    screenshot(page, "10-admin")
