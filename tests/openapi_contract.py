"""Validate sandbox answers against Spotify's OpenAPI description (read, never copied).

The description lives outside the repository: ``tests/spotify_openapi.py`` finds it
(SPOTIFY_OPENAPI_PATH, ``<repo>/../shared/spotify-openapi.yml``, or the copy ``make test``
downloaded into ``.cache/``); without one, every test that validates fails with that module's
message on how to provide it. These documented adjustments are applied:
* development mode: the fields spotify-api.md lists as gone for such apps (all marked
  ``deprecated`` in the description) may be absent, so they are dropped from ``required``;
* batch reads: Spotify documents ``null`` in place of an unknown id, which the description's
  array item schemas do not allow, so those items also accept ``null``;
* cursor paging: ``next`` is "``null`` if none" by the description's own text (and
  spotify-api.md says ``cursors`` is null when there are no items), but its schema types them
  as non-nullable; both are made nullable, and so is a play's ``context`` (spotify-api.md:
  ``context: {...} | null``, Spotify sends null when a track was not played from a context).
Statuses a path does not declare (400, 404, 5xx) are checked against the shared error response.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests import spotify_openapi

NULLABLE_ITEMS = {
    "ManyTracks": "tracks",
    "ManyArtists": "artists",
    "ManyAlbums": "albums",
    "ManyAudioFeatures": "audio_features",
}
DEV_MODE_ABSENT = frozenset(
    {
        "popularity",
        "followers",
        "genres",
        "available_markets",
        "linked_from",
        "email",
        "country",
        "product",
        "explicit_content",
    }
)
ERROR_RESPONSE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    429: "TooManyRequests",
}


@lru_cache(maxsize=1)
def spec() -> dict:
    return load_spec()


def load_spec(repo: Path = spotify_openapi.REPO, environ: Mapping[str, str] = os.environ) -> dict:
    """The parsed description; without one, the calling test fails with how to provide it."""
    try:
        path = spotify_openapi.find(repo, environ)
    except spotify_openapi.Unavailable as missing:
        message = str(missing)
    else:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    # The message is the whole story: a traceback (or, failing inside the except clause, the
    # same message twice as a chained exception) would only bury it.
    pytest.fail(message, pytrace=False)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def deprecated_fields() -> set[str]:
    """Every property name the description marks deprecated, in any schema."""
    names = set()
    for node in _walk(spec()["components"]):
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("deprecated"):
                names.add(name)
    return names


def _or_null(schema: dict) -> dict:
    return {"oneOf": [schema, {"enum": [None]}]}


@lru_cache(maxsize=2)
def components(development: bool) -> dict:
    parts = copy.deepcopy(spec()["components"])
    for response, key in NULLABLE_ITEMS.items():
        array = parts["responses"][response]["content"]["application/json"]["schema"]["properties"][
            key
        ]
        array["items"] = _or_null(array["items"])
    cursor_paging = parts["schemas"]["CursorPagingObject"]["properties"]
    for name in ("next", "cursors"):
        cursor_paging[name] = _or_null(cursor_paging[name])
    play = parts["schemas"]["PlayHistoryObject"]["properties"]
    play["context"] = _or_null(play["context"])
    if development:
        optional = DEV_MODE_ABSENT & deprecated_fields()
        for node in _walk(parts):
            if isinstance(node.get("required"), list):
                node["required"] = [name for name in node["required"] if name not in optional]
    return parts


def _resolve(node: dict, parts: dict) -> dict:
    while "$ref" in node:
        _, section, name = node["$ref"].rsplit("/", 2)
        node = parts[section][name]
    return node


def response_schema(path: str, status: int, development: bool) -> dict:
    parts = components(development)
    declared = spec()["paths"][path]["get"]["responses"]
    response = declared.get(str(status))
    if response is None:
        response = {"$ref": f"#/components/responses/{ERROR_RESPONSE.get(status, 'BadRequest')}"}
    schema = _resolve(response, parts)["content"]["application/json"]["schema"]
    if status >= 500:  # not described per path: Spotify's error object
        schema = {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"$ref": "#/components/schemas/ErrorObject"}},
        }
    return {**schema, "components": parts}


def validate(path: str, status: int, body, development: bool) -> None:
    """Raise jsonschema.ValidationError if ``body`` breaks the description for path/status."""
    validator = OAS30Validator(
        response_schema(path, status, development), format_checker=oas30_format_checker
    )
    validator.validate(body)
