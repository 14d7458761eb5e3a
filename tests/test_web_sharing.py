"""The Together pages, the account page's sharing forms and public links, on both engines."""

from __future__ import annotations

import datetime as dt
import re

from models.accounts import sharing
from models.schema.tables import PublicLink
from tests.webtools import csrf_token, login_as, page_context
from tests.week_world import World

ALL = ["7d", "4w", "6m", "12m", "all"]
SECTIONS = ["totals", "artists", "tracks", "albums", "genres"]


def _form(client, path="/account") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def _new_link(client, **fields) -> str:
    token = _form(client)
    data = {"csrf_token": token, "link-csrf_token": token, **fields}
    page = client.post("/account/sharing/links", data=data)
    assert page.status_code == 200, page.get_data(as_text=True)[-500:]
    url = re.search(r'id="new-link">([^<]+)<', page.get_data(as_text=True)).group(1)
    return url.replace("http://localhost", "")


def test_sharing_is_off_until_the_form_turns_it_on(client, db):
    world = World()
    login_as(client, world.ada)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="sharing"' in page and 'id="share-visible"' in page
    assert (
        'checked id="share-visible"' not in page and not sharing.settings_of(world.ada.id).visible
    )
    refused = client.post("/account/sharing", data={"share-visible": "y", "share-periods": "all"})
    assert refused.status_code == 400 and not sharing.settings_of(world.ada.id).visible  # CSRF
    token = _form(client)
    saved = client.post(
        "/account/sharing",
        data={
            "share-csrf_token": token,
            "share-visible": "y",
            "share-periods": ["all", "4w"],
            "share-sections": ["artists"],
        },
    )
    assert saved.status_code == 302
    assert sharing.settings_of(world.ada.id).as_dict() == {
        "visible": True,
        "periods": ["4w", "all"],
        "sections": ["artists"],
    }
    bad = client.post(
        "/account/sharing",
        data={"share-csrf_token": token, "share-visible": "y", "share-periods": ["forever"]},
    )
    assert bad.status_code == 400 and sharing.settings_of(world.ada.id).choice.sections == (
        "artists",
    )


def test_another_listener_sees_only_the_chosen_sections_in_their_zone(app, client, db):
    world = World()
    world.bob.timezone = "Asia/Kolkata"
    world.bob.save()
    sharing.update(world.ada, True, ["all"], ["artists", "totals"])
    login_as(client, world.bob)
    with page_context(app) as rendered:
        page = client.get(f"/together/listeners/{world.ada.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    shown = rendered[-1]["profile"]
    assert shown["period"].tz == "Asia/Kolkata" and shown["totals"]["plays"] == 9
    assert "Xenia" in text and 'id="shared-tracks"' not in text and "Second Album" not in text
    assert client.get(f"/together/listeners/{world.ada.id}?range=4w").status_code == 400
    sharing.update(world.ada, False, ["all"], ["artists"])
    assert client.get(f"/together/listeners/{world.ada.id}").status_code == 404


def test_affinity_and_blend_pages_show_the_core_figures(app, client, db):
    world = World()
    for listener in (world.ada, world.bob):
        sharing.update(listener, True, ALL, SECTIONS)
    login_as(client, world.ada)
    with page_context(app) as rendered:
        page = client.get(f"/together/listeners/{world.bob.id}/affinity?range=all")
    assert page.status_code == 200
    affinity = rendered[-1]["affinity"]
    text = page.get_data(as_text=True)
    assert f'id="affinity-score">{affinity["score"]}<' in text and "<svg" in text
    assert "Three" in text.split('id="shared-tracks"')[1].split("</ol>")[0]
    blend = client.get(f"/together/blend?with={world.bob.id}&mode=least&range=all")
    assert blend.status_code == 200 and "Three" in blend.get_data(as_text=True)
    hub = client.get("/together").get_data(as_text=True)
    assert 'id="blend-form"' in hub and "Bob" in hub


def test_comparing_asks_the_viewer_to_share_first(client, db):
    world = World()
    sharing.update(world.bob, True, ALL, SECTIONS)
    login_as(client, world.ada)
    page = client.get(f"/together/listeners/{world.bob.id}/affinity")
    assert page.status_code == 403 and "Share your listening first" in page.get_data(as_text=True)
    hub = client.get("/together").get_data(as_text=True)
    assert 'id="not-sharing"' in hub and "Bob" in hub
    sharing.update(world.bob, False, ALL, SECTIONS)  # nobody shares now: the empty states
    hub = client.get("/together").get_data(as_text=True)
    assert 'id="nobody"' in hub and "Nobody shares their listening yet." in hub


def test_a_public_link_shows_its_choice_to_anyone_until_revoked(client, db):
    world = World()
    login_as(client, world.ada)
    path = _new_link(client, **{"link-periods": ["all"], "link-sections": ["tracks"]})
    key = path.rsplit("/", 1)[1]
    assert len(key) >= 32 and PublicLink.get().key_hash != key
    account = client.get("/account").get_data(as_text=True)
    assert key not in account and 'id="public-links"' in account  # shown once, never again
    anonymous = client.application.test_client()
    page = anonymous.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex' in text
    assert "One" in text and "Xenia" in text and 'id="shared-artists"' not in text
    links = re.findall(r'href="([^"]+)"', text)
    assert links and all(link.startswith((f"/s/{key}", "/static/")) for link in links)
    link_id = PublicLink.get().id
    revoked = client.post(
        f"/account/sharing/links/{link_id}/revoke", data={"csrf_token": _form(client)}
    )
    assert revoked.status_code == 302
    assert anonymous.get(path).status_code == 404
    _, expired = sharing.create_link(world.ada, ["all"], ["totals"], 1, now=dt.datetime(2020, 1, 1))
    assert anonymous.get(f"/s/{expired}").status_code == 404


def test_public_links_are_rate_limited_per_link_and_address(client, db, monkeypatch):
    world = World()
    _, key = sharing.create_link(world.ada, ["all"], ["totals"])
    monkeypatch.setattr(sharing, "LINK_LIMIT", 3)
    statuses = [client.get(f"/s/{key}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get(f"/s/{key}")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # the same address guessing keys is counted too
    assert client.get("/s/guess").status_code == 429


def test_access_logs_never_show_a_public_links_key():
    import logging

    from web.security import MaskSecrets

    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s',
        ("127.0.0.1", "GET /s/Zk3_secret-Key?range=all HTTP/1.1", "200"),
        None,
    )
    MaskSecrets().filter(record)
    line = record.getMessage()
    assert "Zk3_secret-Key" not in line and "GET /s/***?range=all" in line
