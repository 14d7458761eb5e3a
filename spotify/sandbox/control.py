"""``/_sandbox/*``: knobs, clock, counters and ground truth, for tests and demos.

Nothing here exists at Spotify. Tests switch faults on through these endpoints instead of
mocking, move the clock instead of sleeping, and compare what the tracker stored with the
listeners' ground truth (``/_sandbox/listeners/<id>/plays``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from flask import Blueprint, Response, jsonify, request

from spotify.sandbox.accounts import ALL_SCOPES
from spotify.sandbox.catalogue import Stream, World, iso_ms, to_ms
from spotify.sandbox.errors import api_error, token_error
from spotify.sandbox.state import Grant, current_state

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def bad(message: str) -> Response:
    return api_error(400, message)


@bp.route("/control", methods=["GET", "POST"])
def control():
    state = current_state()
    with state.lock:
        if request.method == "POST":
            changes = request.get_json(silent=True)
            if not isinstance(changes, dict):
                return bad("send a JSON object of knobs")
            try:
                state.knobs.update(changes)
            except (ValueError, TypeError) as exc:
                return bad(str(exc))
            if changes.get("expire_tokens"):
                now = state.clock.now_ms()
                for record in state.access_tokens.values():
                    record["expires_ms"] = min(record["expires_ms"], now)
        return jsonify(asdict(state.knobs))


@bp.route("/clock", methods=["GET", "POST"])
def clock():
    state = current_state()
    with state.lock:
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            try:
                if "set" in body:
                    state.clock.set(
                        to_ms(datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")))
                    )
                if "advance" in body:
                    state.clock.advance(float(body["advance"]))
            except ValueError as exc:
                return bad(f"bad clock change: {exc}")
        now = state.clock.now_ms()
        return jsonify({"now": iso_ms(now), "now_ms": now})


@bp.get("/calls")
def calls():
    state = current_state()
    with state.lock:
        log = list(state.log)
        if request.args.get("endpoint"):
            log = [c for c in log if c["endpoint"] == request.args["endpoint"]]
        return jsonify(
            {
                "calls": dict(state.calls),
                "statuses": dict(state.statuses),
                "rate_limited": state.statuses.get("429", 0),
                "log": log,
            }
        )


@bp.post("/reset")
def reset():
    state = current_state()
    state.reset()
    return jsonify({"ok": True})


@bp.post("/redirect_uris")
def redirect_uris():
    state = current_state()
    uri = (request.get_json(silent=True) or {}).get("uri")
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        return bad('send {"uri": "http(s)://..."}')
    with state.lock:
        state.redirect_uris.add(uri)
        return jsonify({"redirect_uris": sorted(state.redirect_uris)})


@bp.post("/grant")
def grant():
    state = current_state()
    world = state.world
    body = request.get_json(silent=True) or {}
    with state.lock:
        who = world.listener(str(body.get("listener", "")))
        if who is None:
            return bad("unknown listener")
        if not state.may_authorize(who.id):
            return token_error(
                "access_denied",
                "The app is in development mode and has reached its user limit",
                403,
            )
        state.authorize(who.id)
        scope = body.get("scope") or ALL_SCOPES
        state.calls["grant"] += 1
        return jsonify(state.issue(Grant(who.id, state.client_id, scope, state.clock.now_ms())))


@bp.get("/listeners")
def listeners():
    state = current_state()
    world = state.world
    return jsonify(
        {
            "listeners": [
                {
                    "id": who.id,
                    "account_id": who.account_id,
                    "display_name": who.display_name,
                    "email": who.email,
                    "country": who.country,
                    "product": who.product,
                    "authorized": who.id in state.authorized,
                }
                for who in world.listeners
            ]
        }
    )


@bp.get("/listeners/<key>/plays")
def plays(key):
    state = current_state()
    world = state.world
    who = world.listener(key)
    if who is None:
        return api_error(404, "unknown listener")
    try:
        start = to_ms(datetime.fromisoformat(request.args["from"].replace("Z", "+00:00")))
        end = (
            to_ms(datetime.fromisoformat(request.args["to"].replace("Z", "+00:00")))
            if request.args.get("to")
            else state.clock.now_ms() + 1
        )
    except (KeyError, ValueError):
        return bad("give from=ISO and optionally to=ISO")
    if request.args.get("skips") in ("1", "true"):
        found = world.streams(who, start, end)
    else:
        found = world.plays(who, start, end)
    return jsonify(
        {
            "listener": who.id,
            "from": iso_ms(start),
            "to": iso_ms(end),
            "plays": [ground_truth(world, s) for s in found],
        }
    )


def ground_truth(world: World, stream: Stream) -> dict:
    """A stream as the test helper reports it (flat, with names for import tests)."""
    track = world.tracks[stream.track]
    return {
        "played_at": iso_ms(stream.played_at_ms),
        "played_at_ms": stream.played_at_ms,
        "track_id": track.id,
        "track_name": track.name,
        "ms_played": stream.ms_played,
        "artist_names": [world.artists[a].name for a in track.artists],
        "album_name": world.albums[track.album].name,
        "context_uri": (
            f"spotify:{stream.context_type}:{stream.context_id}" if stream.context_type else None
        ),
    }
