"""/metrics: the operator's figures after real ETL runs against the sandbox, on both engines,
equal to the database and to what the sandbox served; and nobody without the token sees them."""

from __future__ import annotations

import datetime as dt

import luigi
import pytest
from prometheus_client.parser import text_string_to_metric_families

import settings as settings_module
from models.accounts import api_tokens
from models.accounts.users import ensure_first_admin
from models.schema.tables import EtlLog, EtlRun, ImportJob, Play, User
from settings import ConfigError
from tests.etl_world import connect_listeners, naive, run_etl
from tests.webtools import web_environ

TOKEN = "metrics-token-for-the-tests-0123456789"
HOUR = dt.timedelta(hours=1)
PREFIX = "spotify_tracker_"


@pytest.fixture
def metrics_settings(db, tmp_path, fresh_sandbox):
    """One configuration for the web app and the ETL: this test's database, the sandbox."""
    luigi.configuration.get_config().set("etl", "call_interval", "0")
    return settings_module.load(web_environ(db, tmp_path, fresh_sandbox, METRICS_TOKEN=TOKEN))


@pytest.fixture
def web(metrics_settings):
    from web import create_app

    app = create_app(metrics_settings)
    app.config.update(TESTING=True)
    ensure_first_admin(metrics_settings)
    return app.test_client()


def scrape(web, token: str = TOKEN) -> dict[str, dict[tuple, float]]:
    """``{metric name without the prefix: {labels as sorted pairs: value}}``, parsed by
    prometheus_client's own parser."""
    response = web.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    figures: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        assert family.name.startswith(PREFIX), family.name
        samples = figures.setdefault(family.name.removeprefix(PREFIX), {})
        for sample in family.samples:
            samples[tuple(sorted(sample.labels.items()))] = sample.value
    return figures


def value(figures, name):
    return figures[name][()]


def by_label(figures, name, label):
    return {dict(labels)[label]: v for labels, v in figures[name].items()}


def seconds(moment: dt.datetime) -> float:
    return naive(moment).replace(tzinfo=dt.UTC).timestamp()


def served_since(sandbox, before: dict) -> dict[str, int]:
    """Calls the sandbox answered (``endpoint`` and ``429:endpoint``) since ``before``."""
    now = sandbox.calls()["calls"]
    return {k: n - before.get(k, 0) for k, n in now.items() if n - before.get(k, 0)}


def test_figures_equal_the_database_after_runs_with_a_revoked_grant_and_429s(
    web, metrics_settings, fresh_sandbox
):
    users = connect_listeners(fresh_sandbox, 3)
    revoked = users[2]
    hour = naive(fresh_sandbox.now())
    assert run_etl(metrics_settings, hour).status == luigi.LuigiStatusCode.SUCCESS

    # The next hour Spotify answers invalid_grant for one listener: flagged, the run partial.
    fresh_sandbox.set_clock((hour + HOUR).replace(tzinfo=dt.UTC))
    fresh_sandbox.control(expire_tokens=True, revoked=[revoked.spotify_id])
    assert run_etl(metrics_settings, hour + HOUR).status == luigi.LuigiStatusCode.SUCCESS

    # The hour after, Spotify rate-limits with a Retry-After of hours: 429s, users deferred.
    last = hour + 2 * HOUR
    fresh_sandbox.set_clock(last.replace(tzinfo=dt.UTC))
    fresh_sandbox.control(rate_limit=1, rate_window=30.0, retry_after=3 * 3600)
    before = fresh_sandbox.calls()["calls"]
    assert run_etl(metrics_settings, last).status == luigi.LuigiStatusCode.SUCCESS
    served = served_since(fresh_sandbox, before)

    for status in ("pending", "done", "done", "failed"):
        ImportJob.create(
            user=users[0],
            status=status,
            file_name="my_spotify_data.zip",
            file_path="/nowhere",
            file_sha256="0" * 64,
        )

    figures = scrape(web)

    # Plays stored: read from the summaries, equal to the plays table itself.
    assert value(figures, "plays_stored") == Play.select().count() >= 100
    # Listeners, the flagged one, and the oldest sync among those the ETL still syncs.
    assert value(figures, "listeners") == 3
    assert User.get_by_id(revoked.id).needs_reauth
    assert value(figures, "listeners_needing_relogin") == 1
    synced = [User.get_by_id(u.id).last_synced_at for u in users if u is not revoked]
    assert value(figures, "oldest_sync_timestamp_seconds") == seconds(min(synced))
    assert value(figures, "listeners_never_synced") == 0

    # The last run: its hour, times and outcome, as its row says.
    run = EtlRun.get(EtlRun.hour == last)
    assert run.status == "partial"
    assert value(figures, "etl_last_run_hour_timestamp_seconds") == seconds(last)
    assert value(figures, "etl_last_run_start_timestamp_seconds") == seconds(run.started_at)
    assert value(figures, "etl_last_run_finish_timestamp_seconds") == seconds(run.finished_at)
    assert by_label(figures, "etl_last_run_status", "status") == {
        "running": 0,
        "done": 0,
        "partial": 1,
    }
    assert by_label(figures, "etl_last_run_app_mode", "app_mode") == {run.app_mode: 1}
    logs = list(EtlLog.select().where(EtlLog.run == run))
    steps = {}
    for row in logs:
        steps[(row.step, row.status)] = steps.get((row.step, row.status), 0) + 1
    assert {
        (dict(labels)["step"], dict(labels)["status"]): v
        for labels, v in figures["etl_last_run_steps"].items()
    } == steps
    assert steps[("extract", "deferred")] == 2
    assert value(figures, "etl_last_run_new_plays") == sum(
        row.new_plays for row in logs if row.step == "load"
    )
    # The newest done run is the first hour's (the second was partial: the revoked grant).
    first = EtlRun.get(EtlRun.hour == hour)
    assert first.status == "done"
    assert value(figures, "etl_last_success_timestamp_seconds") == seconds(first.finished_at)

    # Calls and 429s per endpoint: the run log's, and exactly what the sandbox served.
    calls = by_label(figures, "etl_last_run_spotify_calls", "endpoint")
    limited = by_label(figures, "etl_last_run_spotify_rate_limited", "endpoint")
    assert calls == {k: n for k, n in served.items() if not k.startswith("429:")}
    assert {k: n for k, n in limited.items() if n} == {
        k.removeprefix("429:"): n for k, n in served.items() if k.startswith("429:")
    }
    assert sum(limited.values()) >= 1
    assert set(limited) == set(calls)  # 0 for the endpoints that were not refused
    assert run.summary_data["rate_limited"] == {k: n for k, n in limited.items() if n}

    assert by_label(figures, "import_jobs", "status") == {
        "checking": 0,
        "pending": 1,
        "running": 0,
        "waiting": 0,
        "done": 2,
        "failed": 1,
        "refused": 0,
    }


def test_before_any_run_the_figures_say_so(web, db):
    figures = scrape(web)
    assert value(figures, "plays_stored") == 0 and value(figures, "listeners") == 0
    for name in ("etl_last_run_hour_timestamp_seconds", "etl_last_success_timestamp_seconds"):
        assert figures.get(name, {}) == {}, name  # declared, without a sample


def refused(response) -> bool:
    return response.status_code == 401 and PREFIX not in response.get_data(as_text=True)


def test_only_the_metrics_token_opens_it(web, metrics_settings, db):
    listener = User.create(spotify_id="listener-1", display_name="A listener")
    admin = User.get(User.is_admin)
    listener_jwt = api_tokens.issue(listener, metrics_settings)
    admin_jwt = api_tokens.issue(admin, metrics_settings)

    assert refused(web.get("/metrics"))
    for authorization in (
        "Bearer not-a-token",
        f"Bearer {listener_jwt}",  # the API's tokens open the API, not the operator's figures
        f"Bearer {admin_jwt}",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
    ):
        response = web.get("/metrics", headers={"Authorization": authorization})
        assert refused(response), authorization
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert value(scrape(web), "listeners") == 1


def test_without_a_metrics_token_the_path_does_not_exist(db, tmp_path, sandbox):
    from web import create_app

    app = create_app(settings_module.load(web_environ(db, tmp_path, sandbox)))
    response = app.test_client().get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert PREFIX not in response.get_data(as_text=True)


def test_a_short_metrics_token_is_refused_at_start_up(make_settings):
    assert make_settings().metrics_token == ""
    with pytest.raises(ConfigError, match="METRICS_TOKEN=\\(hidden\\) is invalid"):
        make_settings(METRICS_TOKEN="short")
