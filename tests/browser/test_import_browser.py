"""The import page in a real browser: both sample zips of demo/ picked at once, queued, run by
the worker, the page following the job by itself until the report shows."""

from __future__ import annotations

import pytest

from demo.export import DEMO_DIR
from models.schema.tables import ImportJob, Play, User
from tests.browser.pages import console_errors, log_in
from tests.workertools import run_worker_until_idle

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db", ["sqlite"], indirect=True)]


def test_import_both_sample_exports_from_the_account_page(
    live_app, fresh_sandbox, browser, screenshot
):
    page = browser.new_page()
    problems = console_errors(page, live_app)
    log_in(page, live_app, listener_index=0)  # the listener the samples were made for
    page.goto(live_app.url + "/account")
    page.click("a[href='/account/import']")
    page.wait_for_url("**/account/import")
    screenshot(page, "import-page")
    page.set_input_files(
        "#export",
        [str(DEMO_DIR / "my_spotify_data.zip"), str(DEMO_DIR / "my_spotify_data_extended.zip")],
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_url("**/account/import/*")
    page.wait_for_selector("#import-status[data-status=checking]")  # queued for the worker
    run_worker_until_idle(live_app.settings)
    page.wait_for_selector("#import-status[data-status=done]", timeout=30_000)
    user = User.get(User.is_admin == False)  # noqa: E712
    job = ImportJob.get(ImportJob.user == user.id)
    stored = Play.select().where(Play.user == user.id).count()
    assert stored == job.plays_added > 300
    assert page.inner_text("#plays-added") == f"{stored:,}"
    # the three days both zips cover are counted once
    assert int(page.inner_text("#duplicates").replace(",", "")) == job.duplicates > 50
    assert page.inner_text("#unresolved") == "0"
    assert page.inner_text("#date-range") == "2025-03-01 to 2025-03-17"
    screenshot(page, "import-report")
    page.click("text=Back to imports")
    assert "my_spotify_data.zip, my_spotify_data_extended.zip" in page.inner_text("#import-jobs")
    assert problems == []
