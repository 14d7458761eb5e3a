"""Privacy, route by route: a listener who does not share never appears to anyone else.

Every route of the web app (Flask's url_map) and of the API (Chalice's routes) is requested,
each method, its path arguments filled with the private listeners' ids, their public link's
id and key (revoked), and the ids of what only they played, as another listener who shares,
as an anonymous visitor, and holding the revoked public link, on SQLite and PostgreSQL.  No
answer may carry a private listener's name, Spotify id, figures or listener id; a route added
later is walked without anyone listing it here.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from models.accounts import sharing
from models.schema.tables import PublicLink, User
from tests.api_support import load_app
from tests.factories import make_album, make_artist, make_play, make_track, make_user
from tests.webtools import ADMIN_EMAIL, csrf_token, login_as
from web.filters import duration

ALL = ("7d", "4w", "6m", "12m", "all")
SECTIONS = ("totals", "artists", "tracks", "albums", "genres")
PRIVATE_PLAYS = 7
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value="|value=")[^"]*"')


class Town:
    """Sam shares; Priya shared, made a public link, then revoked it and stopped sharing;
    Nora never shared.  Priya and Nora play what Sam plays too, and things only they play."""

    def __init__(self):
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        self.sam = make_user(display_name="Sam Sharer", spotify_id="sam-sharer")
        self.priya = make_user(display_name="Priya Private", spotify_id="priya-spotify-id")
        self.nora = make_user(display_name="Nora Never", spotify_id="nora-spotify-id")
        common_artist = make_artist(name="Common Artist")
        self.secret_artist = make_artist(name="Hidden Artist Name")
        album = make_album(name="Common Album")
        self.common = make_track(name="Common Track", artists=[common_artist], album=album)
        self.secret = make_track(
            name="Secret Track Name", artists=[self.secret_artist], album=make_album()
        )
        make_play(self.sam, self.common, now - dt.timedelta(hours=2))
        for n in range(PRIVATE_PLAYS):
            at = now - dt.timedelta(hours=3 + n)
            for listener in (self.priya, self.nora):
                make_play(listener, self.secret, at)
                make_play(listener, self.common, at + dt.timedelta(minutes=10))
        sharing.update(self.sam, True, ALL, SECTIONS)
        sharing.update(self.priya, True, ALL, SECTIONS)
        self.link, self.key = sharing.create_link(self.priya, ALL, SECTIONS)
        assert sharing.revoke_link(self.priya.id, self.link.id)
        sharing.update(self.priya, False, ALL, SECTIONS)
        self.private = (self.priya, self.nora)

    def leaks(self, text: str) -> list[str]:
        """What of the private listeners ``text`` shows."""
        found = [
            word
            for listener in self.private
            for word in (listener.display_name, listener.spotify_id)
            if word in text
        ]
        found += [word for word in ("Secret Track Name", "Hidden Artist Name") if word in text]
        private_ms = PRIVATE_PLAYS * 2 * self.secret.duration_ms
        found += [
            figure for figure in (str(private_ms), str(duration(private_ms))) if figure in text
        ]
        return found

    def listener_ids_in(self, document) -> list[int]:
        """Private ids named as listeners in a JSON answer (``{"id", "name"}`` objects)."""
        found = []
        if isinstance(document, dict):
            listener_id = document.get("id")
            private_ids = {user.id for user in self.private}
            if isinstance(listener_id, int) and listener_id in private_ids and "name" in document:
                found.append(document["id"])
            for value in document.values():
                found += self.listener_ids_in(value)
        elif isinstance(document, list):
            for value in document:
                found += self.listener_ids_in(value)
        return found


@pytest.fixture
def town(db):
    return Town()


def _values(town: Town, name: str, converter: str) -> list[str]:
    """What to put in a path argument: the private listeners' ids, their link's id and key,
    the ids of what only they played."""
    if converter == "IntegerConverter" or name in ("listener_id", "link_id", "job_id"):
        return [str(town.priya.id), str(town.nora.id), str(town.link.id)]
    return {
        "track_id": [town.secret.id, town.common.id],
        "artist_id": [town.secret_artist.id],
        "key": [town.key],
        "fmt": ["json", "csv"],
        "filename": ["style.css"],
        "kind": ["tracks", "artists"],
    }.get(name, [town.key, str(town.priya.id)])


def _web_requests(app, town: Town):
    queries = ["", f"?range=all&with={town.priya.id}&with={town.nora.id}"]
    for rule in app.url_map.iter_rules():
        names = sorted(rule.arguments)
        combos = [{}]
        for name in names:
            combos = [
                {**combo, name: value}
                for combo in combos
                for value in _values(town, name, type(rule._converters[name]).__name__)
            ]
        for combo in combos:
            path = rule.rule
            for name, value in combo.items():
                path = re.sub(rf"<(?:[a-z]+:)?{name}>", value, path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for query in queries if method == "GET" else [""]:
                    yield method, path + query


def _walk_web(app, client, town: Town, viewer=None) -> int:
    walked = 0
    for method, path in _web_requests(app, town):
        data = {}
        if viewer is not None:
            login_as(client, viewer)  # again: a POST may have logged the viewer out
            if method == "POST":
                data["csrf_token"] = csrf_token(client.get("/account").get_data(as_text=True))
        response = client.open(path, method=method, data=data)
        body = response.get_data(as_text=True)
        response.close()  # static files are streamed from an open file
        assert town.leaks(body) == [], (method, path, response.status_code)
        assert response.status_code < 500, (method, path)
        walked += 1
    return walked


def test_every_web_route_hides_private_listeners_from_another_listener(app, client, town):
    assert _walk_web(app, client, town, viewer=town.sam) > 60
    assert PublicLink.select().count() == 0  # nothing of Priya's came back
    assert sharing.visible_ids() == {town.sam.id}


def test_every_web_route_hides_private_listeners_from_anonymous_visitors(app, client, town):
    assert _walk_web(app, client, town) > 60
    login_as(client, User.get(User.email == ADMIN_EMAIL))  # the admin's page lists everyone
    page = client.get("/admin").get_data(as_text=True)
    assert "Priya Private" in page or "priya-spotify-id" in page


def test_a_private_listener_answers_exactly_as_one_who_never_existed(app, client, town):
    login_as(client, town.sam)
    for template in ("/together/listeners/{}", "/together/listeners/{}/affinity"):
        bodies = set()
        for listener_id in (town.priya.id, town.nora.id, 10**6):
            response = client.get(template.format(listener_id))
            assert response.status_code == 404
            bodies.add(CSRF_VALUE.sub("", response.get_data(as_text=True)))
        assert len(bodies) == 1, template
    revoked = client.get(f"/s/{town.key}")
    never = client.get("/s/" + "x" * len(town.key))
    assert revoked.status_code == never.status_code == 404
    # the same page (the logout form's CSRF token is signed with the second: left out)
    assert CSRF_VALUE.sub("", revoked.get_data(as_text=True)) == CSRF_VALUE.sub(
        "", never.get_data(as_text=True)
    )
    assert revoked.headers["X-Robots-Tag"].startswith("noindex")


# -- the API --------------------------------------------------------------------------------


def _api_requests(town: Town):
    app = load_app()
    for path, methods in app.routes.items():
        names = re.findall(r"{(\w+)}", path)
        combos = [{}]
        for name in names:
            combos = [
                {**combo, name: value} for combo in combos for value in _values(town, name, "")
            ]
        for combo in combos:
            filled = path
            for name, value in combo.items():
                filled = filled.replace("{" + name + "}", value)
            for method in methods:
                for query in ("", f"?range=all&with={town.priya.id},{town.nora.id}"):
                    yield method, filled + query


def _walk_api(api, town: Town, headers: dict) -> int:
    walked = 0
    body = json.dumps({"visible": True, "periods": ["all"], "sections": ["totals"]})
    for method, path in _api_requests(town):
        sent = dict(headers)
        if method in ("PUT", "POST"):
            sent["Content-Type"] = "application/json"
        answer = api.request(method, path, body if method in ("PUT", "POST") else b"", sent)
        text = json.dumps(answer.body)
        assert town.leaks(text) == [], (method, path, answer.status)
        assert town.listener_ids_in(answer.body) == [], (method, path)
        assert answer.status < 500, (method, path, answer.body)
        walked += 1
    return walked


def test_every_api_route_hides_private_listeners_from_another_listener(api, town):
    token = api.token(town.sam)
    assert _walk_api(api, town, {"Authorization": f"Bearer {token}"}) > 40
    assert PublicLink.select().where(PublicLink.user == town.priya.id).count() == 0
    listed = api.get("/listeners", town.sam).body["items"]
    assert [entry["id"] for entry in listed] == [town.sam.id]


def test_every_api_route_hides_private_listeners_from_anonymous_callers(api, town):
    assert _walk_api(api, town, {}) > 40


def test_opting_out_hides_at_once_and_unknown_equals_private(api, town):
    sharing.update(town.nora, True, ALL, SECTIONS)
    shown = api.get(f"/listeners/{town.nora.id}?range=all", town.sam)
    assert shown.status == 200 and shown.body["listener"]["name"] == "Nora Never"
    sharing.update(town.nora, False, ALL, SECTIONS)
    answers = [
        api.get(f"/listeners/{listener_id}/affinity", town.sam)
        for listener_id in (town.nora.id, town.priya.id, 999_999)
    ]
    assert {a.status for a in answers} == {404}
    assert len({json.dumps(a.body) for a in answers}) == 1
