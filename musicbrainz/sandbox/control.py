"""``/_sandbox/*``: knobs, counters, the request log and the ground truth, for tests and demos.

Nothing here exists at MusicBrainz and none of it is rate limited or counted. Tests switch
faults on here instead of mocking, read the request log to prove pacing across processes, and
compare what a matcher stored with :meth:`MusicBrainzWorld.expected_matches`.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request

from musicbrainz.sandbox.state import current_state

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def bad(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response


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
            except ValueError as exc:
                return bad(str(exc))
        return jsonify(state.control())


@bp.get("/calls")
def calls():
    """``{"calls": {endpoint: n}, "statuses": {status: n}, "log": [...]}``; ``?endpoint=``
    keeps one endpoint's log, ``?since=<epoch s>`` the log from then on."""
    state = current_state()
    with state.lock:
        log = sorted(state.log, key=lambda entry: entry["at"])  # arrival order
        calls, statuses = dict(state.calls), dict(state.statuses)
    if request.args.get("endpoint"):
        log = [entry for entry in log if entry["endpoint"] == request.args["endpoint"]]
    if request.args.get("since"):
        since = float(request.args["since"])
        log = [entry for entry in log if entry["at"] >= since]
    return jsonify({"calls": calls, "statuses": statuses, "log": log})


@bp.post("/reset")
def reset():
    state = current_state()
    with state.lock:
        state.reset()
    return jsonify({"ok": True})


@bp.get("/expected")
def expected():
    """The ground truth of :meth:`MusicBrainzWorld.expected_matches` (large: for demos and
    tools in other processes; tests in-process call the world directly)."""
    state = current_state()
    body = asdict(state.world.expected_matches())
    return Response(json.dumps(body), mimetype="application/json")
