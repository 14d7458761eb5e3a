"""Configuration: defaults, derived values and one clear message per bad setting."""

from __future__ import annotations

import base64

import pytest

import settings
from settings import ConfigError, load

VALID = {"SECRET_KEY": "s" * 32, "CLIENT_ID": "abc", "CLIENT_SECRET": "def"}


def test_defaults_use_an_embedded_sqlite_file(tmp_path):
    loaded = load({**VALID, "DATA_DIR": str(tmp_path)})
    assert loaded.database_url == f"sqlite:///{tmp_path}/spotify_tracker.db"
    assert loaded.algorithm == "HS256"
    assert loaded.scope == "user-read-private user-read-email user-read-recently-played"
    assert loaded.spotify_api_url == "https://api.spotify.com/v1"
    assert not hasattr(loaded, "b64_client")  # accepted for compatibility, never used


def test_b64_client_is_accepted_only_when_it_matches_the_client_credentials():
    matching = base64.b64encode(b"abc:def").decode()
    assert load({**VALID, "B64_CLIENT": matching}).client_id == "abc"
    with pytest.raises(ConfigError, match="B64_CLIENT"):
        load({**VALID, "B64_CLIENT": base64.b64encode(b"abc:other").decode()})


def test_app_db_variables_build_a_postgresql_url():
    loaded = load(
        {
            **VALID,
            "APP_DB_CONNECTOR": "postgresql",
            "APP_DB_USERNAME": "tracker",
            "APP_DB_PASSWORD": "p@ss/word",
            "APP_DB_HOST": "db.example.test",
            "APP_DB_PORT": "6543",
            "APP_DB_DATABASE": "stats",
        }
    )
    assert loaded.database_url == "postgresql://tracker:p%40ss%2Fword@db.example.test:6543/stats"


def test_database_url_wins_over_app_db_variables():
    loaded = load(
        {**VALID, "DATABASE_URL": "postgresql://u@h:5432/d", "APP_DB_CONNECTOR": "sqlite"}
    )
    assert loaded.database_url == "postgresql://u@h:5432/d"


@pytest.mark.parametrize("name", ["SECRET_KEY", "CLIENT_ID", "CLIENT_SECRET"])
def test_a_missing_required_setting_is_named(name):
    environ = {k: v for k, v in VALID.items() if k != name}
    with pytest.raises(ConfigError, match=f"^{name} is not set"):
        load(environ)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "soon", "ACCESS_TOKEN_EXPIRE_MINUTES='soon' is invalid"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "-5", "must be a positive whole number"),
        ("ALGORITHM", "none", "ALGORITHM='none' is invalid"),
        ("APP_DB_PORT", "99999", "APP_DB_PORT='99999' is invalid"),
        ("OAUTH_TOKEN_URL", "accounts.spotify.com", "OAUTH_TOKEN_URL='accounts.spotify.com'"),
        ("APP_DB_CONNECTOR", "oracle", "APP_DB_CONNECTOR='oracle' is invalid"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL is invalid"),
    ],
)
def test_an_invalid_setting_is_named(name, value, message):
    with pytest.raises(ConfigError, match=message):
        load({**VALID, name: value})


def test_a_bad_secret_is_not_echoed():
    with pytest.raises(ConfigError) as error:
        load({**VALID, "SECRET_KEY": "short"})
    assert "short" not in str(error.value).replace("too short", "")


def test_env_example_documents_every_variable():
    documented = (settings.PROJECT_DIR / ".env.example").read_text()
    for variable in settings.VARIABLES:
        assert f"{variable.name}=" in documented, variable.name


def test_settings_repr_hides_the_admin_password(tmp_path):
    loaded = load({**VALID, "FIRST_ADMIN_PASSWORD": "hunter2-secret", "DATA_DIR": str(tmp_path)})
    assert "hunter2-secret" not in repr(loaded)


def test_readme_configuration_table_lists_every_variable():
    readme = (settings.PROJECT_DIR / "README.md").read_text()
    for variable in settings.VARIABLES:
        assert f"| `{variable.name}` |" in readme, variable.name
