"""One JSON shape for every error the API returns: ``{"Code", "Message"}`` (+ ``param``).

Chalice's own errors (``NotFoundError``, 405, 415, 500) already answer ``{"Code", "Message"}``;
:class:`ApiError` adds the name of the offending query parameter to 400s, which Chalice's
classes cannot carry.  It subclasses ``ChaliceUnhandledError`` because that is the one kind of
exception Chalice lets through to middleware instead of turning it into a 500 itself.
"""

from __future__ import annotations

import logging

from chalice import Blueprint, Response
from chalice.app import ChaliceUnhandledError
from peewee import InterfaceError, OperationalError

from chalicelib import runtime

log = logging.getLogger("spotify_tracker.api")

JSON_HEADERS = {"Content-Type": "application/json"}

# API Gateway and Chalice answer an unknown path with 403 "Missing Authentication Token"
# before any code runs; these catch-all routes (one per depth the API uses, plus one) make
# it the promised 404 JSON.  Concrete routes always win over them.
NOT_FOUND_ROUTES = ("/", "/{p1}", "/{p1}/{p2}", "/{p1}/{p2}/{p3}", "/{p1}/{p2}/{p3}/{p4}")
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

not_found_routes = Blueprint(__name__)


def error_response(
    status: int, code: str, message: str, headers: dict | None = None, **extra
) -> Response:
    body = {"Code": code, "Message": message}
    body.update({key: value for key, value in extra.items() if value is not None})
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


class ApiError(ChaliceUnhandledError):
    """An error a view raises; :func:`handle_errors` turns it into its JSON response."""

    status = 400
    code = "BadRequestError"

    def __init__(
        self, message: str, *, param: str | None = None, headers: dict | None = None, **extra
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> Response:
        return error_response(
            self.status, self.code, self.message, self.headers, param=self.param, **self.extra
        )


class BadParameter(ApiError):
    """A query or form parameter is invalid; ``param`` names it."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}", param=param)


class Unauthorized(ApiError):
    status = 401
    code = "UnauthorizedError"

    def __init__(self, message: str, *, error: str = "invalid_token"):
        # RFC 6750: a missing token gets a bare challenge, a bad one says why.
        challenge = 'Bearer realm="spotify-tracker"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    status = 403
    code = "ForbiddenError"


class NotFound(ApiError):
    status = 404
    code = "NotFoundError"


def handle_errors(event, get_response):
    """Outermost middleware: API errors and lost database connections become JSON."""
    try:
        return get_response(event)
    except ApiError as error:
        return error.response()
    except (OperationalError, InterfaceError):
        log.exception("database unavailable for %s", event.path)
        runtime.discard_connection()
        return error_response(
            503,
            "ServiceUnavailableError",
            "The database is unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        )
    finally:
        runtime.release()


def _unknown_path(**_parts):
    request = not_found_routes.current_request
    raise NotFound(
        f"No such endpoint: {request.method} {request.context.get('path', '')}. "
        "See /openapi.json for the endpoints."
    )


for _route in NOT_FOUND_ROUTES:
    not_found_routes.route(_route, methods=ALL_METHODS)(_unknown_path)
