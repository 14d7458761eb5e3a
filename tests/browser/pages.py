"""Steps the browser tests share, as a person takes them in the page."""

from __future__ import annotations


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
