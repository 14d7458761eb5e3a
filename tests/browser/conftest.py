"""Browser tests: the app served over real HTTP, Debian's Chromium driven by Playwright.

The app runs in a werkzeug server thread on a free port; its REDIRECT_URI is that port's
callback, registered in the sandbox like a redirect URI in a Spotify app's dashboard.
Screenshots go to ``test-artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import settings as settings_module
from tests.webtools import web_environ

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveApp:
    url: str
    settings: object
    app: object


@pytest.fixture
def live_app(db, tmp_path, fresh_sandbox):
    from models.accounts.users import ensure_first_admin
    from web import create_app

    server = make_server("127.0.0.1", 0, lambda environ, start: [], threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = settings_module.load(
        web_environ(db, tmp_path, fresh_sandbox, REDIRECT_URI=f"{url}/auth/callback")
    )
    fresh_sandbox.register_redirect_uri(settings.redirect_uri)
    app = create_app(settings)
    ensure_first_admin(settings)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="web-under-test", daemon=True)
    thread.start()
    try:
        yield LiveApp(url, settings, app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def browser(tmp_path):
    """A fresh Chromium profile (persistent context in a new user-data-dir) for one test."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path / "chromium-profile"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` saves a full-page PNG under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save
