"""The sandbox MusicBrainz as a Flask app: ws/2 at MusicBrainz's paths, and ``/_sandbox``.

Every ws/2 request passes MusicBrainz's rules in the order its front end applies them, then the
faults the knobs switched on, and is counted and logged whatever it answered:

1. a missing or generic User-Agent (a bare library's: python-requests, curl, ...) → 403;
2. a second request within the rate window (one per ``rate_window`` s, default 1) → 503;
3. ``fail_next`` → ``fail_status`` (503), with ``Retry-After`` if ``retry_after`` is set;
4. ``delay`` (before answering, for client timeouts);
5. without ``fmt=json`` or ``Accept: application/json`` → 406: MusicBrainz would answer XML,
   which the sandbox does not speak (it says so in the body, so a client bug is plain);
6. an invalid MBID → 400 ``{"error": "Invalid mbid."}``; unknown → 404 ``{"error": "Not
   Found", "help": ...}``; a query outside the Lucene subset → 400;
7. ``malformed_next`` → the answer is broken the way ``malformed`` says.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from flask import Blueprint, Flask, Response, request

from musicbrainz.sandbox import control
from musicbrainz.sandbox.lucene import QueryError
from musicbrainz.sandbox.render import Renderer
from musicbrainz.sandbox.state import EXTENSION, SandboxState, current_state

GENERIC_AGENTS = re.compile(
    r"^(python-requests|python-urllib|python-httpx|aiohttp|curl|wget|java|go-http-client|okhttp"
    r"|libwww-perl|axios|node-fetch|mozilla/5\.0 \(compatible\)$)",
    re.IGNORECASE,
)
MBID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
RATE_MESSAGE = (
    "Your requests are exceeding the allowable rate limit. Please see "
    "https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting for more information."
)
AGENT_MESSAGE = (
    "Your requests are being blocked: send a meaningful User-Agent naming your application, "
    "its version and a contact (https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting)."
)
SEARCH_LIMIT, SEARCH_DEFAULT = 100, 25
URL_LIMIT = 100

ws = Blueprint("ws2", __name__, url_prefix="/ws/2")


class WsError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("error"))
        self.status = status
        self.body = body


def error(status: int, body: dict, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def not_found() -> WsError:
    return WsError(404, {"error": "Not Found", "help": HELP})


def wants_json() -> bool:
    fmt = request.args.get("fmt")
    if fmt is not None:
        return fmt == "json"
    return "application/json" in request.headers.get("Accept", "")


def inc_words() -> set[str]:
    return {w for w in re.split(r"[+ ]", request.args.get("inc", "")) if w}


def ws_view(endpoint: str) -> Callable:
    """Wrap a ws/2 view in the rules and faults above, and count and log it."""

    def wrap(view: Callable[..., dict | Response]) -> Callable:
        @wraps(view)
        def run(*args, **kwargs):
            state = current_state()
            arrived = time.time()
            agent = request.headers.get("User-Agent", "")
            response = _answer(state, endpoint, agent, view, args, kwargs)
            with state.lock:
                state.record(
                    arrived,
                    endpoint,
                    request.path,
                    request.query_string.decode(),
                    response.status_code,
                    agent,
                )
            return response

        return run

    return wrap


def _answer(state: SandboxState, endpoint: str, agent: str, view, args, kwargs) -> Response:
    with state.lock:
        knobs = state.knobs
        if not agent.strip() or GENERIC_AGENTS.match(agent.strip()):
            return error(403, {"error": AGENT_MESSAGE})
        if state.over_rate(time.monotonic()):
            return error(503, {"error": RATE_MESSAGE})
        if knobs.fail_next > 0:
            knobs.fail_next -= 1
            headers = {}
            if knobs.retry_after is not None:
                headers["Retry-After"] = f"{knobs.retry_after:g}"
            return error(knobs.fail_status, {"error": RATE_MESSAGE}, headers)
        delay = 0.0
        if knobs.delay_next > 0 and knobs.delay:
            knobs.delay_next -= 1
            delay = knobs.delay
        malformed = None
        if knobs.malformed_next > 0:
            knobs.malformed_next -= 1
            malformed = knobs.malformed
    if delay:
        time.sleep(delay)
    if not wants_json() and not (endpoint == "genre" and request.args.get("fmt") == "txt"):
        return Response(
            '<?xml version="1.0" encoding="UTF-8"?><error><text>The sandbox MusicBrainz '
            "answers JSON only: add fmt=json or Accept: application/json (MusicBrainz itself "
            "would answer XML).</text></error>",
            status=406,
            mimetype="application/xml",
        )
    try:
        body = view(*args, **kwargs)
    except WsError as exc:
        return error(exc.status, exc.body)
    except QueryError as exc:
        return error(400, {"error": f"Invalid query: {exc}", "help": HELP})
    if isinstance(body, Response):
        return body
    if malformed:
        return _break(body, malformed)
    return Response(json.dumps(body), mimetype="application/json")


def _break(body: dict, how: str) -> Response:
    """The answer broken as ``how`` (see ``state.Knobs``)."""
    if how == "not-json":
        return Response(json.dumps(body)[:40], mimetype="application/json")
    lists = [k for k, v in body.items() if isinstance(v, list)]
    if how == "no-list":
        for key in lists:
            del body[key]
    elif how == "bad-entity":
        entities = body[lists[0]] if lists and body[lists[0]] else [body]
        entities[0]["id"] = 42
        entities[0]["length"] = "long"
    return Response(json.dumps(body), mimetype="application/json")


def checked_mbid(key: str) -> str:
    if not MBID.match(key):
        raise WsError(400, {"error": "Invalid mbid."})
    return key.lower()


def paging() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", SEARCH_DEFAULT))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise WsError(400, {"error": "limit and offset must be numbers", "help": HELP}) from None
    return max(1, min(SEARCH_LIMIT, limit)), max(0, offset)


def created() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- lookups ---------------------------------------------------------------------------------------
# Each entity type: where the world keeps it and how it is rendered; for the searchable ones,
# also their index and the answer's list name.
LOOKUPS = {
    "artist": ("artists", "artist"),
    "recording": ("recordings", "recording"),
    "release": ("releases", "release"),
    "release-group": ("release_groups", "release_group"),
}
SEARCHES = {
    "artist": ("artists", "artist_search", "artist_index", "artists"),
    "recording": ("recordings", "recording_search", "recording_index", "recordings"),
    "release-group": (
        "release_groups", "release_group_search", "release_group_index", "release-groups",
    ),
}  # fmt: skip


def lookup(kind: str, key: str) -> dict:
    """``/ws/2/<kind>/<mbid>?inc=...``: 400 for an invalid MBID, 404 for an unknown one."""
    state = current_state()
    table, render = LOOKUPS[kind]
    entity = getattr(state.world, table).get(checked_mbid(key))
    if entity is None:
        raise not_found()
    return getattr(Renderer(state.world), render)(entity, inc_words())


def search(kind: str) -> dict:
    """``/ws/2/<kind>?query=...&limit=&offset=``: the hits of the entity's index, best first."""
    state = current_state()
    table, render, index, plural = SEARCHES[kind]
    entities, renderer = getattr(state.world, table), Renderer(state.world)
    return _search(
        getattr(state, index),
        plural,
        lambda key, score: getattr(renderer, render)(entities[key], score),
    )


for _kind in LOOKUPS:
    ws.add_url_rule(
        f"/{_kind}/<key>",
        f"lookup_{_kind}",
        ws_view(f"lookup:{_kind}")(lambda key, kind=_kind: lookup(kind, key)),
    )
for _kind in SEARCHES:
    _view = ws_view(f"search:{_kind}")(lambda kind=_kind: search(kind))
    ws.add_url_rule(f"/{_kind}", f"search_{_kind}", _view)
    ws.add_url_rule(f"/{_kind}/", f"search_{_kind}_slash", _view)


@ws.get("/isrc/<isrc>")
@ws_view("isrc")
def lookup_isrc(isrc):
    state = current_state()
    if not re.match(r"^[A-Za-z]{2}[A-Za-z0-9]{3}\d{7}$", isrc):
        raise WsError(400, {"error": "Invalid isrc.", "help": HELP})
    keys = state.world.recordings_by_isrc.get(isrc.upper())
    if not keys:
        raise not_found()
    render = Renderer(state.world)
    return {
        "isrc": isrc.upper(),
        "recordings": [render.recording(state.world.recordings[k], inc_words()) for k in keys],
    }


@ws.get("/url")
@ws_view("url")
def lookup_url():
    state = current_state()
    resources = request.args.getlist("resource")
    if not resources:
        raise WsError(400, {"error": "Give a resource (or an MBID in the path).", "help": HELP})
    if len(resources) > URL_LIMIT:
        raise WsError(400, {"error": f"At most {URL_LIMIT} resources.", "help": HELP})
    render = Renderer(state.world)
    known = [r for r in dict.fromkeys(resources) if r in state.world.artist_by_spotify_url]
    if len(resources) == 1:
        if not known:
            raise not_found()
        return render.url(known[0], inc_words())
    urls = [render.url(r, inc_words()) for r in known]
    return {"url-count": len(urls), "url-offset": 0, "urls": urls}


@ws.get("/genre/all")
@ws_view("genre")
def genre_list():
    state = current_state()
    genres = state.world.genres
    if request.args.get("fmt") == "txt":
        return Response("\n".join(name for _, name in genres) + "\n", mimetype="text/plain")
    try:
        limit = int(request.args.get("limit", len(genres)))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise WsError(400, {"error": "limit and offset must be numbers", "help": HELP}) from None
    page = genres[max(0, offset) : max(0, offset) + max(1, limit)]
    return {
        "genre-count": len(genres),
        "genre-offset": offset,
        "genres": [{"id": key, "name": name, "disambiguation": ""} for key, name in page],
    }


# -- searches --------------------------------------------------------------------------------------
def _search(index, plural: str, render: Callable[[str, int], dict]) -> dict:
    query = request.args.get("query")
    if not query:
        raise WsError(
            400, {"error": "Browse requests need a linked entity; give query=.", "help": HELP}
        )
    limit, offset = paging()
    hits = index.search(query)
    return {
        "created": created(),
        "count": len(hits),
        "offset": offset,
        plural: [render(key, score) for key, score in hits[offset : offset + limit]],
    }


def create_app(state: SandboxState) -> Flask:
    """The sandbox as a Flask app around ``state`` (see :mod:`musicbrainz.sandbox.testing`)."""
    app = Flask("musicbrainz.sandbox")
    app.extensions[EXTENSION] = state
    app.register_blueprint(ws)
    app.register_blueprint(control.bp)
    app.register_error_handler(404, lambda _e: error(404, {"error": "Not Found", "help": HELP}))
    app.register_error_handler(
        405, lambda _e: error(405, {"error": "Method not allowed", "help": HELP})
    )
    return app
