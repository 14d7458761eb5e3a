"""MusicBrainz's settings: off unless the operator gave a contact, never on without one, and
never faster than one request per second against musicbrainz.org."""

from __future__ import annotations

import pytest

from musicbrainz.client import MusicBrainzClient
from settings import ConfigError, load

VALID = {"SECRET_KEY": "s" * 32, "CLIENT_ID": "abc", "CLIENT_SECRET": "def"}
CONTACT = "https://tracker.example.org/contact"


def test_enrichment_is_off_until_a_contact_is_set():
    loaded = load(VALID)
    assert loaded.musicbrainz_enrichment is False
    assert loaded.musicbrainz_base_url == "https://musicbrainz.org/ws/2"
    assert loaded.musicbrainz_min_interval == 1.0
    assert load({**VALID, "MUSICBRAINZ_CONTACT": CONTACT}).musicbrainz_enrichment is True
    off = load({**VALID, "MUSICBRAINZ_CONTACT": CONTACT, "MUSICBRAINZ_ENRICHMENT": "off"})
    assert off.musicbrainz_enrichment is False


def test_turning_enrichment_on_without_a_contact_names_the_setting():
    with pytest.raises(ConfigError, match="MUSICBRAINZ_CONTACT"):
        load({**VALID, "MUSICBRAINZ_ENRICHMENT": "on"})
    with pytest.raises(ConfigError, match="MUSICBRAINZ_ENRICHMENT"):
        load({**VALID, "MUSICBRAINZ_ENRICHMENT": "maybe"})


def test_the_interval_is_at_least_a_second_against_musicbrainz_org():
    with pytest.raises(ConfigError, match="MUSICBRAINZ_MIN_INTERVAL"):
        load({**VALID, "MUSICBRAINZ_MIN_INTERVAL": "0.5"})
    with pytest.raises(ConfigError, match="MUSICBRAINZ_MIN_INTERVAL"):
        load({**VALID, "MUSICBRAINZ_MIN_INTERVAL": "0"})
    mirror = load(
        {
            **VALID,
            "MUSICBRAINZ_BASE_URL": "http://127.0.0.1:8901/ws/2/",
            "MUSICBRAINZ_MIN_INTERVAL": "0.04",
        }
    )
    assert mirror.musicbrainz_min_interval == 0.04


def test_the_client_is_built_from_the_settings(musicbrainz_sandbox):
    loaded = load({**VALID, **musicbrainz_sandbox.env(CONTACT)})
    client = MusicBrainzClient.from_settings(loaded)
    assert client.base_url == musicbrainz_sandbox.base_url
    assert client.user_agent == f"SpotifyTracker/{loaded.version} ( {CONTACT} )"
    assert client.pacer.interval == musicbrainz_sandbox.client_interval
    assert loaded.musicbrainz_enrichment is True


def test_the_user_agents_version_is_the_projects():
    import tomllib

    from settings import APP_VERSION, PROJECT_DIR

    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    assert APP_VERSION == project["version"] == load(VALID).version
