"""Listening together in a real browser: two listeners opt in on the account page, read their
affinity and a blend, one shares a public link that an anonymous visitor opens, and the link
answers 404 once revoked; the pages are readable on a phone too."""

from __future__ import annotations

import datetime as dt

import luigi
import pytest

from tests.browser.pages import console_errors, log_in
from tests.etl_world import run_etl

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def share(page, live_app) -> None:
    page.goto(live_app.url + "/account#sharing")
    page.check("#share-visible")
    page.click("#sharing-settings button[type=submit]")
    page.wait_for_url(live_app.url + "/account#sharing")


def log_out(page) -> None:
    page.click("header button:has-text('Log out')")


def test_two_listeners_compare_and_share_a_public_link(
    live_app, fresh_sandbox, browser, screenshot
):
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    page = browser.new_page()
    problems = console_errors(page, live_app)
    log_in(page, live_app, 0)
    share(page, live_app)
    first = page.inner_text(".muted strong")
    log_out(page)
    log_in(page, live_app, 1)
    share(page, live_app)
    for day in range(6, -1, -1):  # a week of hourly collection, one run a sandbox day
        fresh_sandbox.set_clock(now - dt.timedelta(days=day))
        result = run_etl(live_app.settings, (now - dt.timedelta(days=day)).replace(tzinfo=None))
        assert result.status == luigi.LuigiStatusCode.SUCCESS, result.summary_text

    page.goto(live_app.url + "/together")
    assert first in page.inner_text("#listeners")
    assert "min" in page.inner_text("#weekly-board")
    screenshot(page, "sharing-01-together")
    page.click("#listeners a:has-text('affinity')")
    score = int(page.inner_text("#affinity-score"))
    assert 0 <= score <= 100
    assert page.locator("#overlap svg").count() == 1
    screenshot(page, "sharing-02-affinity")
    page.goto(live_app.url + "/together")
    page.check("#blend-form input[name=with]")
    page.check("#blend-form input[value=least]")
    page.click("#blend-form button[type=submit]")
    assert "/together/blend?" in page.url and "mode=least" in page.url
    assert page.locator("h1").inner_text().startswith("Blend of")
    screenshot(page, "sharing-03-blend")
    log_out(page)

    log_in(page, live_app, 0)
    page.goto(live_app.url + "/account#sharing")
    page.check("#link-create input[value=all]")
    page.check("#link-create input[value=tracks]")
    page.click("#link-create button[type=submit]")
    link = page.inner_text("#new-link").strip()
    assert "/s/" in link

    visitor = browser.browser.new_context()  # no cookies: an anonymous visitor
    anonymous = visitor.new_page()
    answer = anonymous.goto(link)
    assert answer.status == 200 and answer.headers["x-robots-tag"].startswith("noindex")
    assert anonymous.locator("nav").count() == 0
    assert first in anonymous.inner_text("#public-profile")
    screenshot(anonymous, "sharing-04-public-link")

    page.bring_to_front()
    page.goto(live_app.url + "/account#sharing")
    page.click("#public-links button:has-text('Revoke')")
    page.wait_for_url(live_app.url + "/account#sharing")
    gone = anonymous.goto(link)
    assert gone.status == 404
    screenshot(anonymous, "sharing-05-revoked-link")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_app.url + "/together")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(page, "sharing-06-phone")
    assert problems == []
    visitor.close()
