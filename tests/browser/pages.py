"""Steps the browser tests share, as a person takes them in the page."""

from __future__ import annotations

import datetime as dt

import luigi

from tests.etl_world import run_etl


def console_errors(page, live_app) -> list[str]:
    """A list that fills with the console errors logged on the app's own pages (a refusal by
    the Content-Security-Policy shows here), each as ``"url: message"``; a test asserts it
    stays empty."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}")
            if message.type == "error" and page.url.startswith(live_app.url)
            else None
        ),
    )
    return problems


def log_in(page, live_app, listener_index: int = 0):
    """Landing page → Spotify's (sandbox) authorize page → approve → back in the app."""
    page.goto(live_app.url + "/")
    page.click("#login")
    page.wait_for_url("**/authorize?**")
    page.select_option("#listener", index=listener_index)
    page.click("#approve")
    page.wait_for_url(live_app.url + "/**")


def sync_days(live_app, sandbox, days: int) -> None:
    """What the hourly cron job collects over ``days`` days, ending at the current hour.

    One run per sandbox day is enough (a sandbox listener plays fewer than 50 tracks a day,
    Spotify's window), and keeps the test short; the clock is moved, never slept.
    """
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    for day in range(days - 1, -1, -1):
        moment = now - dt.timedelta(days=day)
        sandbox.set_clock(moment)
        result = run_etl(live_app.settings, moment.replace(tzinfo=None))
        assert result.status == luigi.LuigiStatusCode.SUCCESS, result.summary_text
