"""The sandbox's error answers, in the shape each Spotify service sends them.

The Web API answers ``{"error": {"status", "message"}}``, the Accounts service's token endpoint
``{"error", "error_description"}`` (OAuth's shape), and the authorize page, which cannot trust a
redirect URI it has not checked, shows a page of its own.
"""

from __future__ import annotations

import html

from flask import Response, jsonify


def api_error(status: int, message: str, headers: dict | None = None) -> Response:
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def token_error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


class ApiError(Exception):
    """Raised by a Web API view; ``web_api.api_view`` answers it with :func:`api_error`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_page(title: str, message: str, status: int) -> Response:
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="error">{html.escape(message)}</p></body></html>'
    )
    return Response(body, status=status, mimetype="text/html")
