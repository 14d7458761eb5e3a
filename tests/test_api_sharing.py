"""The sharing endpoints: settings and links, profiles, affinity, blends and boards, each
answer checked against its OpenAPI schema, and equal to what the Together pages show."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from models.accounts import sharing
from models.schema.tables import PublicLink
from tests.api_support import load_app
from tests.factories import make_user
from tests.webtools import login_as, page_context
from tests.week_world import World

ALL = ["7d", "4w", "6m", "12m", "all"]
SECTIONS = ["totals", "artists", "tracks", "albums", "genres"]
JSON = {"Content-Type": "application/json"}


def documented(path: str, method: str, status: str, body) -> None:
    """``body`` matches the document's schema of that answer (its ``$ref``s resolved)."""
    load_app()
    from chalicelib.openapi import document

    described = document()
    answer = described["paths"][path][method]["responses"][status]
    described["x-answer"] = answer["content"]["application/json"]["schema"]
    resource = Resource.from_contents(described, default_specification=DRAFT202012)
    validator = Draft202012Validator(
        {"$ref": "urn:api#/x-answer"}, registry=Registry().with_resource("urn:api", resource)
    )
    errors = sorted(error.message for error in validator.iter_errors(body))
    assert errors == [], errors


@pytest.fixture
def world(api):
    world = World()
    for listener in (world.ada, world.bob):
        sharing.update(listener, True, ALL, SECTIONS)
    return world


def _bearer(api, user) -> dict:
    return {"Authorization": f"Bearer {api.token(user)}"}


def test_settings_and_links_round_trip(api):
    ada = make_user()
    me = api.get("/me/sharing", ada)
    assert me.body == {
        "visible": False,
        "periods": ["4w", "12m", "all"],
        "sections": SECTIONS,
        "public_links": [],
    }
    headers = {**_bearer(api, ada), **JSON}
    body = json.dumps({"visible": True, "periods": ["all"], "sections": ["tracks"]})
    saved = api.request("PUT", "/me/sharing", body, headers)
    assert saved.status == 200 and saved.body["visible"] is True
    documented("/me/sharing", "put", "200", saved.body)
    bad = api.request("PUT", "/me/sharing", json.dumps({"visible": "yes"}), headers)
    assert (bad.status, bad.error["param"]) == (400, "visible")
    wrong = json.dumps({"visible": True, "periods": ["ever"], "sections": ["tracks"]})
    refused = api.request("PUT", "/me/sharing", wrong, headers)
    assert (refused.status, refused.error["param"]) == (400, "periods")
    assert sharing.settings_of(ada.id).choice.periods == ("all",)  # the bad input lost nothing

    made = api.request(
        "POST",
        "/me/sharing/links",
        json.dumps({"periods": ["all"], "sections": ["totals"], "expires_in_days": 30}),
        headers,
    )
    assert made.status == 201 and made.body["path"] == f"/s/{made.body['key']}"
    documented("/me/sharing/links", "post", "201", made.body)
    assert PublicLink.get().key_hash != made.body["key"]
    listed = api.get("/me/sharing", ada).body["public_links"]
    assert [link["id"] for link in listed] == [made.body["id"]] and "key" not in listed[0]
    documented("/me/sharing", "get", "200", api.get("/me/sharing", ada).body)
    other = make_user()
    stolen = api.request("DELETE", f"/me/sharing/links/{made.body['id']}", b"", _bearer(api, other))
    assert stolen.status == 404 and PublicLink.select().count() == 1
    gone = api.request("DELETE", f"/me/sharing/links/{made.body['id']}", b"", _bearer(api, ada))
    assert gone.status == 204 and PublicLink.select().count() == 0


def test_profile_affinity_blend_and_boards_answer_as_documented(api, world):
    ada = world.ada
    listed = api.get("/listeners", ada).body
    assert listed["you_share"] is True and [e["name"] for e in listed["items"]] == ["Ada", "Bob"]
    documented("/listeners", "get", "200", listed)
    for path, doc in (
        (f"/listeners/{world.bob.id}?range=all", "/listeners/{listener_id}"),
        (f"/listeners/{world.bob.id}/affinity?range=all", "/listeners/{listener_id}/affinity"),
        (f"/blend?with={world.bob.id}&range=all&mode=least", "/blend"),
        (
            f"/instance/tracks/{world.three.id}/listeners?range=all",
            "/instance/tracks/{track_id}/listeners",
        ),
        (f"/instance/artists/{world.y.id}/listeners", "/instance/artists/{artist_id}/listeners"),
        ("/instance/weekly", "/instance/weekly"),
    ):
        answer = api.get(path, ada)
        assert answer.status == 200, (path, answer.body)
        documented(doc, "get", "200", answer.body)
    affinity = api.get(f"/listeners/{world.bob.id}/affinity?range=all", ada).body
    assert [row["name"] for row in affinity["shared_tracks"]] == ["Three"]
    assert affinity["shared_tracks"][0]["plays"] == [2, 5]
    listeners = api.get(f"/instance/artists/{world.y.id}/listeners?range=all", ada).body
    assert [(row["listener"]["name"], row["plays"]) for row in listeners["listeners"]] == [
        ("Bob", 6),
        ("Ada", 4),
    ]


def test_bad_input_and_the_admin_are_refused(api, world):
    ada = world.ada
    assert api.get("/blend", ada).error["param"] == "with"
    assert api.get("/blend?with=x", ada).error["param"] == "with"
    assert api.get(f"/blend?with={world.bob.id}&mode=loud", ada).error["param"] == "mode"
    assert api.get(f"/listeners/{world.bob.id}?range=forever", ada).error["param"] == "range"
    assert api.get("/listeners/abc", ada).status == 404
    assert api.get(f"/listeners/{ada.id}/affinity", ada).error["param"] == "listener"
    admin = make_user(is_admin=True)
    assert api.get("/listeners", admin).status == 403
    assert api.get("/me/sharing").status == 401


def test_the_api_and_the_pages_agree(api, app, client, world):
    login_as(client, world.ada)
    for path, page_path, key in (
        (
            f"/listeners/{world.bob.id}/affinity?range=all",
            f"/together/listeners/{world.bob.id}/affinity?range=all",
            "affinity",
        ),
        (
            f"/blend?with={world.bob.id}&range=all",
            f"/together/blend?with={world.bob.id}&range=all",
            "blend",
        ),
    ):
        with page_context(app) as rendered:
            assert client.get(page_path).status_code == 200
        shown = rendered[-1][key]
        answer = api.get(path, world.ada).body
        for name in ("score", "shared_tracks", "shared_artists", "tracks", "artists"):
            if name in shown:
                assert json.loads(json.dumps(shown[name], default=str)) == answer[name], name
