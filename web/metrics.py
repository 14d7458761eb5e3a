"""``/metrics``: the operator's figures in the Prometheus text format (``models.operations``).

Not public: with ``METRICS_TOKEN`` empty (the default) the path is a 404 like any unknown page;
with it set, a scrape must send ``Authorization: Bearer <METRICS_TOKEN>`` and anything else gets
a 401 that shows no figure.  A static token, not the API's JWTs, because those expire after
``ACCESS_TOKEN_EXPIRE_MINUTES`` while a Prometheus scrape configuration holds one credential
for months; and a token of its own, so the scraper's secret opens no one's statistics.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from models import operations

bp = Blueprint("metrics", __name__)


def _authorized(expected: str) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), expected.encode()
    )


@bp.get("/metrics")
def metrics():
    expected = current_app.config["SETTINGS"].metrics_token
    if not expected:
        abort(404)
    if not _authorized(expected):
        return Response(
            "a valid metrics token is required\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            mimetype="text/plain",
        )
    # generate_latest writes the 0.0.4 text format; prometheus_client 0.26's CONTENT_TYPE_LATEST
    # names 1.0.0, which only differs for names outside [a-zA-Z0-9_:] (ours are all plain).
    return Response(
        operations.exposition(current_app.extensions["metrics_registry"]),
        200,
        {"Content-Type": CONTENT_TYPE_PLAIN_0_0_4, "Cache-Control": "no-store"},
    )


def init_app(app) -> None:
    """Register the blueprint and the app's registry (one collector, read at each scrape)."""
    app.extensions["metrics_registry"] = operations.registry()
    app.register_blueprint(bp)
