"""Endpoints anyone may call: ``/health`` for load balancers and ``/openapi.json``."""

from __future__ import annotations

from chalice import Blueprint, Response
from peewee import InterfaceError, OperationalError

from chalicelib import runtime
from chalicelib.errors import error_response
from chalicelib.openapi import document

meta_api = Blueprint(__name__)


@meta_api.route("/health")
def health():
    """200 when the database answers a query, 503 (JSON) when it does not."""
    try:
        runtime.database().execute_sql("SELECT 1").fetchone()
    except (OperationalError, InterfaceError):
        runtime.discard_connection()
        return error_response(
            503,
            "ServiceUnavailableError",
            "The database does not answer.",
            headers={"Retry-After": "5"},
        )
    return {"status": "ok", "database": "ok"}


@meta_api.route("/openapi.json")
def openapi():
    path = meta_api.current_request.context.get("path") or "/openapi.json"
    base_path = path[: -len("/openapi.json")] if path.endswith("/openapi.json") else ""
    return Response(body=document(base_path), headers={"Cache-Control": "public, max-age=300"})
