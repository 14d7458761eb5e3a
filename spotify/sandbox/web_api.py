"""The Web API paths the tracker uses (``/v1/...``), and the image host the objects link to.

Every ``/v1`` view goes through :func:`api_view`, the one place that does what Spotify does
before an endpoint's own work: injected faults, the rolling rate limit, the bearer token and its
scope, then JSON errors and the call accounting ``/_sandbox/calls`` reports. A view receives the
listener and grant of the token and returns a dict (or raises :class:`ApiError`).
"""

from __future__ import annotations

import hashlib
import re
from functools import wraps
from typing import overload
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from spotify.sandbox.catalogue import Listener
from spotify.sandbox.errors import ApiError, api_error
from spotify.sandbox.render import Renderer
from spotify.sandbox.state import Grant, SandboxState, current_state

BATCH_LIMITS = {"tracks": 50, "artists": 50, "albums": 20, "audio_features": 100}
ID_PATTERN = re.compile(r"^[0-9A-Za-z]{22}$")
QUERY_TOKEN = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")

bp = Blueprint("web_api", __name__, url_prefix="/v1")
images = Blueprint("images", __name__, url_prefix="/images")


def renderer() -> Renderer:
    state = current_state()
    return Renderer(state.world, request.host_url, state.extended)


def api_view(endpoint: str, scope: str | None = None):
    """Wraps a Web API view: faults, rate limit, bearer auth, JSON errors, accounting."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            state = current_state()
            with state.lock:
                response = _answer(state, view, scope, args, kwargs)
                state.record(endpoint, response.status_code)
                return response

        return wrapper

    return decorate


def _answer(state: SandboxState, view, scope, args, kwargs) -> Response:
    fault = state.injected_fault()
    if fault:
        return api_error(*fault)
    retry_after = state.rate_limited()
    if retry_after is not None:
        return api_error(429, "API rate limit exceeded", {"Retry-After": str(retry_after)})
    header = request.headers.get("Authorization", "")
    if not header:
        return api_error(401, "No token provided")
    token = header[7:] if header.startswith("Bearer ") else ""
    record = state.access_tokens.get(token)
    if record is None or record["grant"].listener in state.knobs.revoked:
        return api_error(401, "Invalid access token")
    if record["expires_ms"] <= state.clock.now_ms():
        return api_error(401, "The access token expired")
    grant: Grant = record["grant"]
    if scope and scope not in grant.scope.split():
        return api_error(403, "Insufficient client scope")
    try:
        result = view(state.world.listener_by_id[grant.listener], grant, *args, **kwargs)
    except ApiError as exc:
        return api_error(exc.status, exc.message)
    return result if isinstance(result, Response) else jsonify(result)


# -- the user --------------------------------------------------------------------------------
@bp.get("/me")
@api_view("me")
def me(who: Listener, grant: Grant):
    return renderer().me(who, grant.scope)


@bp.get("/me/player/recently-played")
@api_view("recently_played", scope="user-read-recently-played")
def recently_played(who: Listener, grant: Grant):
    """At most the last 50 plays, paged by ``after`` (newer) or ``before`` (older) cursors."""
    state = current_state()
    limit = _int_arg("limit", 20, 1, 50, "Invalid limit")
    after = _int_arg("after", None, 0, None, "Invalid after cursor")
    before = _int_arg("before", None, 0, None, "Invalid before cursor")
    if after is not None and before is not None:
        raise ApiError(400, "Only one of after and before may be given")
    visible = state.world.last_plays(who, state.clock.now_ms())  # newest first, at most 50
    if after is not None:
        newer = [s for s in visible if s.played_at_ms > after]
        page = newer[-limit:]  # the ones right after the cursor
        more = len(newer) > len(page)
    else:
        older = [s for s in visible if before is None or s.played_at_ms < before]
        page = older[:limit]
        more = len(older) > len(page)
    base = f"{request.host_url}v1/me/player/recently-played"
    cursors = None
    next_url = None
    if page:
        cursors = {"after": str(page[0].played_at_ms), "before": str(page[-1].played_at_ms)}
        if more:
            cursor = (
                {"after": cursors["after"]} if after is not None else {"before": cursors["before"]}
            )
            next_url = f"{base}?{urlencode({**cursor, 'limit': limit})}"
    render = renderer()
    return {
        "items": [render.play(s) for s in page],
        "next": next_url,
        "cursors": cursors,
        "limit": limit,
        "href": request.url,
    }


# -- the catalogue ---------------------------------------------------------------------------
def batch_read(kind: str, lookup: dict, render_one):
    """``?ids=`` up to the endpoint's maximum; unknown ids answer ``null`` in their place.
    Development-mode apps are refused every batch read but audio features (checked by its
    view)."""
    if kind != "audio_features" and not current_state().extended:
        raise ApiError(403, "Forbidden")
    ids = _ids_arg(BATCH_LIMITS[kind])
    return {kind: [render_one(lookup[i]) if i in lookup else None for i in ids]}


def single_read(lookup: dict, spotify_id: str, render_one):
    found = lookup.get(_one_id(spotify_id))
    if found is None:
        raise ApiError(404, "Resource not found")
    return render_one(found)


@bp.get("/audio-features")
@api_view("audio_features")
def audio_features(who: Listener, grant: Grant):
    state = current_state()
    if not (state.extended and state.knobs.audio_features):
        raise ApiError(403, "Forbidden")
    return batch_read("audio_features", state.world.track_by_id, renderer().audio_features)


def _catalogue_routes(kind: str, single: str) -> None:
    """``/v1/<kind>?ids=`` (batch) and ``/v1/<kind>/<id>``, e.g. ``tracks`` and ``track``: the
    world's ``<single>_by_id`` lookup, the renderer's ``<single>`` method."""

    def batch(who: Listener, grant: Grant):
        world = current_state().world
        return batch_read(kind, getattr(world, f"{single}_by_id"), getattr(renderer(), single))

    def one(who: Listener, grant: Grant, spotify_id: str):
        world = current_state().world
        return single_read(
            getattr(world, f"{single}_by_id"), spotify_id, getattr(renderer(), single)
        )

    batch.__name__, one.__name__ = kind, single
    bp.get(f"/{kind}")(api_view(kind)(batch))
    bp.get(f"/{kind}/<spotify_id>")(api_view(single)(one))


for _kind, _single in (("tracks", "track"), ("artists", "artist"), ("albums", "album")):
    _catalogue_routes(_kind, _single)


# -- search ----------------------------------------------------------------------------------
@bp.get("/search")
@api_view("search")
def search(who: Listener, grant: Grant):
    """Tracks and artists by field filters (``track:"..." artist:...``) and plain words.
    Development-mode apps get at most 10 results a page (5 by default), as Spotify gives them."""
    state = current_state()
    q = request.args.get("q", "")
    if not q.strip():
        raise ApiError(400, "No search query")
    types = [t for t in request.args.get("type", "").split(",") if t]
    if not types:
        raise ApiError(400, "Missing parameter type")
    if any(t not in SEARCH_TYPES for t in types):
        raise ApiError(400, "Bad search type field")
    limit = _int_arg(
        "limit",
        5 if not state.extended else 20,
        1,
        50 if state.extended else 10,
        "Invalid limit",
    )
    offset = _int_arg("offset", 0, 0, 1000, "Invalid offset")
    filters, words = _parse_query(q)
    render = renderer()
    body = {}
    for kind in types:
        if kind == "track":
            tracks = state.world.search_tracks(
                filters.get("track"), filters.get("artist"), filters.get("album"), words
            )
            total = len(tracks)
            items = [render.track(t) for t in tracks[offset : offset + limit]]
        elif kind == "artist":
            artists = state.world.search_artists(filters.get("artist"), words)
            total = len(artists)
            items = [render.artist(a) for a in artists[offset : offset + limit]]
        else:  # the sandbox has no other kinds of things: honest empty results
            total, items = 0, []
        body[kind + "s"] = _paging(q, kind, items, total, limit, offset)
    return body


def _paging(q, kind, items, total, limit, offset):
    def page_url(at):
        return (
            f"{request.host_url}v1/search?"
            f"{urlencode({'q': q, 'type': kind, 'offset': at, 'limit': limit})}"
        )

    return {
        "href": page_url(offset),
        "items": items,
        "limit": limit,
        "offset": offset,
        "total": total,
        "next": page_url(offset + limit) if offset + limit < total else None,
        "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
    }


def _parse_query(q: str) -> tuple[dict[str, str], list[str]]:
    filters: dict[str, str] = {}
    words: list[str] = []
    for key_q, value_q, key, value, quoted, word in QUERY_TOKEN.findall(q):
        if key_q or key:
            filters[(key_q or key).lower()] = value_q or value
        else:
            words.append(quoted or word)
    return filters, words


# -- parameters ------------------------------------------------------------------------------
@overload
def _int_arg(name: str, default: int, low: int, high: int | None, message: str) -> int: ...
@overload
def _int_arg(name: str, default: None, low: int, high: int | None, message: str) -> int | None: ...
def _int_arg(
    name: str, default: int | None, low: int, high: int | None, message: str
) -> int | None:
    """The query argument ``name`` as an int in ``low..high``, else ``default``: an int
    whenever ``default`` is one."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, message) from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, message)
    return value


def _ids_arg(maximum: int) -> list[str]:
    raw = request.args.get("ids")
    if raw is None:
        raise ApiError(400, "Missing required parameter: ids")
    ids = [i for i in raw.split(",") if i]
    if not ids:
        raise ApiError(400, "Missing required parameter: ids")
    if len(ids) > maximum:
        raise ApiError(400, "Too many ids requested")
    for spotify_id in ids:
        _one_id(spotify_id)
    return ids


def _one_id(spotify_id: str) -> str:
    if not ID_PATTERN.match(spotify_id):
        raise ApiError(400, "Invalid base62 id")
    return spotify_id


# -- images (Spotify's image CDN) ------------------------------------------------------------
@images.get("/<kind>/<key>.svg")
def image(kind: str, key: str):
    """A small deterministic picture for every image URL the objects carry."""
    digest = hashlib.sha1((kind + key).encode()).hexdigest()
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 2 2">'
        f'<rect width="2" height="2" fill="#{digest[:6]}"/>'
        f'<rect width="1" height="1" fill="#{digest[6:12]}"/>'
        f'<rect x="1" y="1" width="1" height="1" fill="#{digest[12:18]}"/></svg>'
    )
    return Response(svg, mimetype="image/svg+xml")
