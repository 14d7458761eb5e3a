"""A warm Lambda container keeps its database connection, and survives RDS dropping it.

PostgreSQL only (what Lambda talks to): the server end of the kept connection is killed with
pg_terminate_backend, as RDS failovers and idle timeouts do while a container is frozen.
"""

from __future__ import annotations

import psycopg2
import pytest
from chalice.test import Client

import settings as settings_module
from models.schema.db import db as database_proxy
from tests.api_support import Api, load_app, runtime
from tests.environment import POSTGRES_ADMIN_URL, base_environ, empty_all_tables
from tests.factories import make_user


def _terminate(pid: int) -> None:
    connection = psycopg2.connect(POSTGRES_ADMIN_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        connection.close()


@pytest.fixture
def lambda_api(engine_urls, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "spotify-tracker-api-test")
    settings = settings_module.load(
        base_environ(DATABASE_URL=engine_urls["postgresql"], DATA_DIR=str(tmp_path))
    )
    state = runtime()
    state.use(settings)  # no database given: the API connects lazily, as in Lambda
    with Client(load_app()) as client:
        api = Api(client, settings)
        assert api.get("/health").status == 200
        empty_all_tables(state.database())
        yield api, state
    if state._database is not None and not state._database.is_closed():
        state.discard_connection()
    state.use(None)
    database_proxy.initialize(None)


def test_the_connection_is_kept_between_requests_in_lambda(lambda_api):
    api, state = lambda_api
    user = make_user()
    pid = state.database().connection().get_backend_pid()
    assert api.get("/me", user).status == 200
    assert api.get("/me/stats", user).status == 200
    assert state.database().connection().get_backend_pid() == pid


def test_an_idle_connection_the_server_dropped_is_replaced(lambda_api, monkeypatch):
    api, state = lambda_api
    user = make_user()
    pid = state.database().connection().get_backend_pid()
    _terminate(pid)
    monkeypatch.setattr(state, "IDLE_CHECK_SECONDS", 0.0)  # as after a long freeze
    answer = api.get("/me", user)
    assert answer.status == 200, answer
    assert state.database().connection().get_backend_pid() != pid


def test_a_connection_dropped_mid_use_answers_503_json_once(lambda_api):
    api, state = lambda_api
    user = make_user()
    token = api.token(user)
    _terminate(state.database().connection().get_backend_pid())
    failed = api.get("/me", token=token)
    assert failed.status == 503
    assert failed.error["Code"] == "ServiceUnavailableError"
    assert failed.headers["retry-after"] == "5"
    assert api.get("/me", token=token).status == 200
