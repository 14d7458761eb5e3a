"""Property-based: schemathesis drives every operation of /openapi.json, in-process.

Requests go through Chalice's own local API Gateway (``WsgiGateway``), on PostgreSQL (which
refuses what SQLite lets pass: NUL characters, integers beyond 64 bits), with a valid token for a
listener who has plays, an unknown-genre artist and no audio features.  Every answer must be a
non-5xx whose status, headers and body the document describes.  Example counts are small: this
runs in the normal suite.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_support import WsgiGateway, load_app
from tests.factories import make_album, make_artist, make_play, make_track, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# /openapi.json needs no database: the document is read once, when this module loads.
schema = schemathesis.openapi.from_wsgi("/openapi.json", WsgiGateway(load_app()))


@pytest.fixture
def listener_token(api):
    # An admin with plays: every operation, /users and /etl/runs included, can answer 200.
    listener = make_user(timezone="America/New_York", needs_reauth=True, is_admin=True)
    artist = make_artist(name="Nina")
    track = make_track(artists=[artist], album=make_album(), popularity=None)
    start = dt.datetime.now() - dt.timedelta(days=3)
    for hours in range(0, 48, 7):
        make_play(listener, track, start + dt.timedelta(hours=hours))
    return api.token(listener)


@schema.parametrize()
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # the stricter engine (NUL, ints)
@hypothesis_settings(
    max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_every_operation_answers_as_documented(case, listener_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {listener_token}"}, checks=CHECKS)


# Negative mode: parameters outside the document (bad ranges, dates, numbers, kinds, empty
# values...) must be refused with a documented 4xx, never answered 2xx or 5xx.  /health takes
# no input at all, so there is nothing invalid to send it.
refusals = schemathesis.openapi.from_wsgi("/openapi.json", WsgiGateway(load_app())).exclude(
    path="/health"
)
refusals.config.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE])


@refusals.parametrize()
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@hypothesis_settings(
    max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_invalid_requests_are_refused_as_documented(case, listener_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {listener_token}"},
        checks=[*CHECKS, negative_data_rejection],
    )
