"""The JSON API as a WSGI application, for self-hosters: ``gunicorn "wsgi:create_application()"``.

Production's API runs on API Gateway and Lambda (README.md here).  On your own machine,
``chalice local`` is a development server (one Python ``http.server``, no worker management,
no request limits), so the Procfile serves the API with gunicorn instead, through this module:
Chalice's own API Gateway emulation (``chalice.local.LocalGateway``, the part of ``chalice
local`` that turns an HTTP request into the Lambda event and the answer back) does the routing,
middleware and error handling exactly as ``chalice local`` and the tests do; gunicorn does the
HTTP.  The client address API Gateway would put in ``identity.sourceIp`` (the password grant's
limit counts by it) is the connection's, or, with ``TRUSTED_PROXIES`` set, what that many
reverse proxies wrote in ``X-Forwarded-For`` (werkzeug's ProxyFix): never a header alone.
"""

from __future__ import annotations

import base64
import contextvars
import sys
from http import HTTPStatus
from pathlib import Path

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

HERE = Path(__file__).resolve().parent
if str(HERE / "vendor") not in sys.path:
    sys.path.append(str(HERE / "vendor"))  # the shared core, as ``chalice local`` finds it

_source_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("source_ip", default=None)


class _Gateway(LocalGateway):
    def _generate_lambda_event(self, *args, **kwargs):
        event = super()._generate_lambda_event(*args, **kwargs)
        event["requestContext"]["identity"]["sourceIp"] = _source_ip.get()
        return event


class ApiGateway:
    """A Chalice app as a WSGI application, one Lambda event per request."""

    def __init__(self, app):
        self.gateway = _Gateway(app, Config())

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        reset = _source_ip.set(environ.get("REMOTE_ADDR"))
        try:
            response = self.gateway.handle_request(environ["REQUEST_METHOD"], path, headers, body)
            status, out_headers = response["statusCode"], dict(response["headers"])
            payload = response["body"] or b""
            if response.get("isBase64Encoded"):
                payload = base64.b64decode(payload)
            for name, values in (response.get("multiValueHeaders") or {}).items():
                out_headers[name] = ", ".join(values)
        except LocalGatewayException as exc:
            status, out_headers, payload = exc.CODE, dict(exc.headers), exc.body or b""
        finally:
            _source_ip.reset(reset)
        if isinstance(payload, str):
            payload = payload.encode()
        if not any(key.lower() == "content-type" for key in out_headers):
            out_headers["Content-Type"] = "application/json"  # as chalice local and API Gateway
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        start_response(f"{status} {reason}", [(k, str(v)) for k, v in out_headers.items()])
        return [payload]


def create_application():
    """The API for gunicorn: settings from the environment (``chalicelib.runtime``, read
    once), ProxyFix for TRUSTED_PROXIES."""
    from app import app
    from werkzeug.middleware.proxy_fix import ProxyFix

    from chalicelib import runtime

    settings = runtime.settings()
    application = ApiGateway(app)
    if settings.trusted_proxies:
        count = settings.trusted_proxies
        return ProxyFix(application, x_for=count, x_proto=count)
    return application
