"""Steps the browser tests share, as a person takes them in the page."""

from __future__ import annotations


def log_in(page, live_app, listener_index: int = 0):
    """Landing page → Spotify's (sandbox) authorize page → approve → back in the app."""
    page.goto(live_app.url + "/")
    page.click("#login")
    page.wait_for_url("**/authorize?**")
    page.select_option("#listener", index=listener_index)
    page.click("#approve")
    page.wait_for_url(live_app.url + "/**")
